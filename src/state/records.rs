//! The store's disk format, schema 6: the shape of every value in every
//! tree, owned by the store and by nothing else (docs/state.md).
//!
//! The rest of colisync hands the store its own types (`domain::Order`,
//! [`super::ParcelRecord`], [`super::CardRecord`], the planner's actions);
//! the store converts them to these records at its boundary
//! (`convert.rs`, and `plan::journal` for the planner's actions, since the
//! store does not know the planner) and only these are serialised. Renaming
//! a field of a domain or planner type therefore cannot change what is on
//! disk: the conversion stops compiling instead.
//!
//! Why full records rather than a versioned wrapper around the domain
//! types: the domain's serde derives are also what its tests and tools
//! print, and the planner's actions embed the renderer's `CardContent`;
//! a wrapper would have kept all of them part of the disk format. The
//! records are plain data, a frozen copy of the JSON schema 1 wrote (same
//! field and variant names), so that the migration from schema 1 is a
//! matter of filling in the fields schema 1 let serde default (see
//! `migrate.rs`) and nothing here needs `#[serde(default)]`.
//!
//! Changing any of these shapes is a new schema: bump
//! [`super::SCHEMA_VERSION`], add a step to [`super::MIGRATIONS`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

// ----- orders -----------------------------------------------------------

/// `orders/<entity id>`: an order as last pulled from Magento.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Order {
    pub entity_id: u64,
    pub increment_id: String,
    pub state: OrderState,
    pub status: String,
    pub customer: Customer,
    pub items: Vec<Item>,
    pub shipping_method: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub invoices: Vec<DateTime<Utc>>,
    pub status_history: Vec<StatusChange>,
    pub shipments: Vec<Shipment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OrderState {
    New,
    PendingPayment,
    Processing,
    Complete,
    Closed,
    Canceled,
    Holded,
    PaymentReview,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub firstname: String,
    pub lastname: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Item {
    pub sku: String,
    pub name: String,
    pub qty: f64,
    pub qty_to_ship: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatusChange {
    pub status: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shipment {
    pub entity_id: u64,
    pub created_at: DateTime<Utc>,
    pub tracks: Vec<Track>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Track {
    pub number: String,
    pub carrier_code: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
}

// ----- parcels ----------------------------------------------------------

/// `parcels/<problem key>`: a parcel and its poll schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelRecord {
    pub parcel: Parcel,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub polls_unchanged: u32,
    pub last_change_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    pub order_entity_id: u64,
    pub order_increment_id: String,
    pub shipment_id: u64,
    pub tracking_number: String,
    pub carrier: Carrier,
    pub shipped_at: DateTime<Utc>,
    pub tracking: Option<TrackingSnapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    Letter,
    Colissimo,
    Chronopost,
    Other,
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingSnapshot {
    pub fetched_at: DateTime<Utc>,
    pub status: TrackingStatus,
    pub events: Vec<TrackingEvent>,
    pub is_final: bool,
    pub product: Option<String>,
    /// Schema 3: what La Poste says besides its events.
    pub info: CarrierInfo,
}

/// Schema 3: the carrier's estimated and actual delivery, the pickup point
/// and the estimate's history (empty for snapshots migrated from schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierInfo {
    pub estimated_delivery: Option<DateTime<Utc>>,
    pub estimated_on: Option<NaiveDate>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub removal_point: Option<RemovalPoint>,
    pub estimate_history: Vec<EstimateChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalPoint {
    pub name: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateChange {
    pub estimate: NaiveDate,
    pub seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    Unknown,
    InfoReceived,
    InTransit,
    OutForDelivery,
    AwaitingPickup,
    DeliveryFailed,
    Problem,
    ReturnToSender,
    Delivered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    pub code: String,
    pub label: String,
    pub at: DateTime<Utc>,
}

// ----- cards ------------------------------------------------------------

/// `cards/<problem key>`: what colisync knows about a problem's card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CardRecord {
    pub card_id: String,
    pub list_id: String,
    pub fingerprint: String,
    pub rule: Option<Rule>,
    pub severity: Severity,
    pub status: CardStatus,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub label_ids: Vec<String>,
    pub due: Option<DateTime<Utc>>,
    /// Schema 5: the return's stage the card last showed.
    pub stage: Option<ReturnStage>,
}

/// Schema 5: a return's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStage {
    Returning,
    Back,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Open,
    Resolved,
    Archived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    ShippingCompatible,
    ShippingOriginal,
    ReturnToSender,
    TrackingProblem,
    TrackingNotFound,
    DeliveryLetter,
    DeliveryColissimo,
    DeliveryChronopost,
    DeliveryOther,
    TrackingStuck,
    Pickup,
    /// Schema 5: the cases people open.
    LostParcel,
    AddressChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Late,
    Critical,
}

// ----- journal ----------------------------------------------------------

/// `journal/<intent id>`: one Trello write being carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Intent {
    pub key: Key,
    pub action: IntentAction,
    pub started_at: DateTime<Utc>,
    pub card_id: Option<String>,
    pub steps_done: u8,
    pub label_ids: Option<Vec<String>>,
    /// Schema 4: the id of the checklist the steps done created.
    pub checklist_id: Option<String>,
}

/// A problem key as the journal writes it (trees are keyed by its
/// `Display` form instead).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Key {
    Order {
        increment_id: String,
    },
    Parcel {
        increment_id: String,
        parcel: String,
    },
    /// Schema 5.
    Case {
        increment_id: String,
        kind: CaseKind,
    },
}

/// Schema 5: what a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Lost,
    Address,
}

/// The journal's record of a planned action: everything a pass after a
/// crash needs to settle it without the plan that produced it. The planner
/// converts its `plan::Action` to and from this (`plan::journal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IntentAction {
    Create {
        key: Key,
        rule: Rule,
        severity: Severity,
        fingerprint: String,
        list: ListTarget,
        content: CardContent,
        note: Option<String>,
        /// Schema 4: the checklist written on the new card, if any.
        checklist: Option<Checklist>,
        /// Schema 5: the return's stage the new card shows.
        stage: Option<ReturnStage>,
    },
    Update {
        key: Key,
        card_id: String,
        rule: Rule,
        severity: Severity,
        fingerprint: String,
        content: CardContent,
        keep_label_ids: Vec<String>,
        move_to: Option<ListTarget>,
        comment: Option<String>,
        clear_due: bool,
        lead_due: bool,
        /// Schema 5.
        stage: Option<ReturnStage>,
    },
    Reopen {
        key: Key,
        card_id: String,
        rule: Rule,
        severity: Severity,
        fingerprint: String,
        content: Option<CardContent>,
        keep_label_ids: Vec<String>,
        move_to: Option<ListTarget>,
        comment: String,
        clear_due: bool,
        lead_due: bool,
        /// Schema 5.
        stage: Option<ReturnStage>,
    },
    Resolve {
        key: Key,
        card_id: String,
        rule: Option<Rule>,
        title: String,
        comment: Option<String>,
        move_to: Option<ListTarget>,
        from_list: String,
    },
    Adopt {
        key: Key,
        card_id: String,
        list_id: String,
        rule: Option<Rule>,
        severity: Severity,
        status: CardStatus,
        fingerprint: String,
        label_ids: Vec<String>,
        title: String,
        due: Option<DateTime<Utc>>,
        /// Schema 5.
        stage: Option<ReturnStage>,
    },
    MarkArchived {
        key: Key,
        card_id: String,
        title: String,
    },
    Comment {
        key: Key,
        card_id: String,
        text: String,
    },
}

/// Schema 4: a checklist to write on a card, its items in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    pub name: String,
    pub items: Vec<CheckItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    pub name: String,
    pub due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTarget {
    pub name: String,
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardContent {
    pub title: String,
    pub description: String,
    pub labels: Vec<Label>,
    pub due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub(crate) name: String,
    pub(crate) color: String,
}

// ----- outbox -----------------------------------------------------------

/// `outbox/<write id>`: one write-back note being carried out (a Magento
/// order comment, Freshdesk private notes, an escalation). The same JSON
/// schema 4 wrote when these shapes lived beside the outbox's code, so
/// that entries written then read the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WriteIntent {
    pub follow_up: FollowUp,
    pub order: OrderRef,
    pub marker: String,
    pub created_at: DateTime<Utc>,
    pub card_id: Option<String>,
    pub tickets_done: BTreeSet<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FollowUp {
    pub key: Key,
    pub target: WriteTarget,
    pub event: WriteEvent,
    pub title: String,
    pub details: Vec<String>,
    pub card_before: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WriteTarget {
    MagentoOrderNote,
    FreshdeskNotes,
    FreshdeskEscalation,
}

/// `reopened` was added within schema 4: a variant more, no record
/// written before it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WriteEvent {
    Filed,
    CaseChanged { from: Rule, to: Rule },
    Resolved,
    Reopened,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderRef {
    pub entity_id: u64,
    pub increment_id: String,
    pub email: String,
}

// ----- cases ------------------------------------------------------------

/// Schema 5, `cases/<problem key>` (`case/100023/perdu`): a case a person
/// opened, and what the pass saw of the lead's hand on its card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CaseRecord {
    pub increment_id: String,
    pub kind: CaseKind,
    pub parcel: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub requests: Vec<CaseRequest>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_how: Option<String>,
    pub steps: Vec<CaseStep>,
    /// (card id, label id) pairs.
    pub consumed_labels: Vec<(String, String)>,
    pub ticked: Vec<String>,
    pub ticked_at_open: Vec<String>,
    /// (items, items ticked) of the card's `badges`.
    pub seen_badges: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CaseRequest {
    pub at: DateTime<Utc>,
    pub via: CaseVia,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub(crate) enum CaseVia {
    Label { card_id: String, label_id: String },
    Cli { request_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CaseStep {
    pub name: String,
    pub due: Option<NaiveDate>,
}

// ----- meta -------------------------------------------------------------

/// `meta/undecodable_orders`, by entity id.
pub(crate) type UndecodableOrders = BTreeMap<u64, UndecodableOrder>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UndecodableOrder {
    pub(crate) increment_id: Option<String>,
    pub(crate) problem: String,
    pub(crate) first_seen: DateTime<Utc>,
}
