//! The shop's world as colisync sees it: orders, their items and shipments,
//! and parcels with their last tracking snapshot.
//!
//! These types are produced by the sources (Magento, La Poste), stored by the
//! state module, and read by the rules. They hold facts only, already
//! decoded and typed: instants are `DateTime<Utc>` (Magento's zone-less UTC
//! strings are parsed at the edge), carriers and product kinds are enums.
//! Classification (which carrier, which product kind) is a pure function of
//! these facts and the configured globs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod carrier_info;
pub use carrier_info::{CarrierInfo, ESTIMATE_HISTORY_CAP, EstimateChange, RemovalPoint};

/// Magento order state (the coarse one; `status` is the shop's own label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    New,
    PendingPayment,
    Processing,
    /// Shipped (Magento says complete once everything is shipped, not
    /// delivered).
    Complete,
    Closed,
    Canceled,
    Holded,
    PaymentReview,
    /// A state this version does not know, kept verbatim.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Customer {
    pub firstname: String,
    pub lastname: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Item {
    pub sku: String,
    pub name: String,
    pub qty: f64,
    /// How many of this item are still to leave the warehouse, as Magento
    /// counts them (`qty_ordered - max(qty_shipped, qty_refunded) -
    /// qty_canceled`, 0 for virtual products, the parent and children of a
    /// configurable or bundle product counted once). `None` when Magento
    /// did not say (and in snapshots stored before it was kept): the order
    /// then counts as shipped as soon as one shipment exists.
    #[serde(default)]
    pub qty_to_ship: Option<f64>,
}

impl Item {
    /// An item whose shipping quantities are not known.
    pub fn new(sku: impl Into<String>, name: impl Into<String>, qty: f64) -> Self {
        Item {
            sku: sku.into(),
            name: name.into(),
            qty,
            qty_to_ship: None,
        }
    }

    /// Still waiting in the warehouse (some quantity left to ship).
    pub fn is_waiting(&self) -> bool {
        self.qty_to_ship.is_some_and(|q| q > 0.0)
    }
}

/// One entry of the order's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: String,
    pub at: DateTime<Utc>,
}

/// A tracking number attached to a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub number: String,
    /// Magento's carrier code (`colissimo`, `chronopost`, often `custom`).
    pub carrier_code: String,
    /// Free text title, the only hint when `carrier_code` is `custom`.
    pub title: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub entity_id: u64,
    /// Shipped time.
    pub created_at: DateTime<Utc>,
    pub tracks: Vec<Track>,
}

/// An order with everything the rules need, as last pulled from Magento.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub entity_id: u64,
    /// The order number people use.
    pub increment_id: String,
    pub state: OrderState,
    pub status: String,
    pub customer: Customer,
    pub items: Vec<Item>,
    /// Shipping method code, e.g. `colissimo_homecl`.
    pub shipping_method: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `created_at` of every invoice (payment accepted).
    pub invoices: Vec<DateTime<Utc>>,
    pub status_history: Vec<StatusChange>,
    pub shipments: Vec<Shipment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Compatible,
    Original,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// Envoi simple: no tracking.
    Letter,
    Colissimo,
    Chronopost,
    /// Not recognised: no glob, code or title says which carrier. Polled
    /// when its number is one La Poste accepts (it may well be a Colissimo
    /// parcel under an unmapped method), judged by every parcel rule.
    Other,
    /// A carrier outside La Poste's group, named by the track or the method
    /// (DPD, GLS, UPS, Mondial Relay, Colis Privé...): La Poste knows
    /// nothing of it, so it is never polled and never « introuvable ».
    Foreign,
}

/// Normalised tracking status (docs/apis.md has the mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    /// The carrier does not know the number yet (La Poste returnCode 104).
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

/// One carrier event, raw code kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    pub code: String,
    pub label: String,
    pub at: DateTime<Utc>,
}

/// What the carrier said the last time the parcel was polled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingSnapshot {
    pub fetched_at: DateTime<Utc>,
    pub status: TrackingStatus,
    /// Newest first, as La Poste sends them.
    pub events: Vec<TrackingEvent>,
    /// La Poste's `isFinal`.
    pub is_final: bool,
    /// Carrier's product label (`Colissimo`, `Chronopost`, `Lettre suivie`).
    pub product: Option<String>,
    /// Estimated and actual delivery, pickup point, estimate history.
    #[serde(default)]
    pub info: CarrierInfo,
}

impl TrackingSnapshot {
    /// The carrier does not know the number (yet): no event at all.
    pub fn unknown(fetched_at: DateTime<Utc>) -> Self {
        TrackingSnapshot {
            fetched_at,
            status: TrackingStatus::Unknown,
            events: Vec::new(),
            is_final: false,
            product: None,
            info: CarrierInfo::default(),
        }
    }

    pub fn last_event(&self) -> Option<&TrackingEvent> {
        self.events.first()
    }
}

/// A tracked (or untracked, for letters) parcel of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    pub order_entity_id: u64,
    pub order_increment_id: String,
    /// The Magento shipment this parcel is; identifies untracked letters.
    pub shipment_id: u64,
    /// Empty for an envoi simple without tracking number.
    pub tracking_number: String,
    pub carrier: Carrier,
    pub shipped_at: DateTime<Utc>,
    /// `None` until La Poste has been asked (and always for letters).
    pub tracking: Option<TrackingSnapshot>,
}

impl Carrier {
    /// The carrier's name as the team writes it (card titles, labels).
    pub fn label_fr(self) -> &'static str {
        match self {
            Carrier::Letter => "Lettre",
            Carrier::Colissimo => "Colissimo",
            Carrier::Chronopost => "Chronopost",
            Carrier::Other => "Autre transporteur",
            Carrier::Foreign => "Hors La Poste",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Carrier::Letter => "letter",
            Carrier::Colissimo => "colissimo",
            Carrier::Chronopost => "chronopost",
            Carrier::Other => "other",
            Carrier::Foreign => "foreign",
        }
    }
}

impl ProductKind {
    /// How the seeds name the kind: « cartouches compatibles / d'origine ».
    pub fn label_fr(self) -> &'static str {
        match self {
            ProductKind::Compatible => "compatible",
            ProductKind::Original => "origine",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Compatible => "compatible",
            ProductKind::Original => "original",
        }
    }
}

impl TrackingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingStatus::Unknown => "unknown",
            TrackingStatus::InfoReceived => "info_received",
            TrackingStatus::InTransit => "in_transit",
            TrackingStatus::OutForDelivery => "out_for_delivery",
            TrackingStatus::AwaitingPickup => "awaiting_pickup",
            TrackingStatus::DeliveryFailed => "delivery_failed",
            TrackingStatus::Problem => "problem",
            TrackingStatus::ReturnToSender => "return_to_sender",
            TrackingStatus::Delivered => "delivered",
        }
    }
}

impl OrderState {
    /// Magento's state code, as in the REST API.
    pub fn as_str(&self) -> &str {
        match self {
            OrderState::New => "new",
            OrderState::PendingPayment => "pending_payment",
            OrderState::Processing => "processing",
            OrderState::Complete => "complete",
            OrderState::Closed => "closed",
            OrderState::Canceled => "canceled",
            OrderState::Holded => "holded",
            OrderState::PaymentReview => "payment_review",
            OrderState::Other(s) => s,
        }
    }
}

impl Order {
    /// When payment was accepted (docs/rules.md): the earliest invoice,
    /// else the earliest status-history entry whose status is one of
    /// `validated_statuses`. Magento lists history newest first, and not
    /// always: the minimum is taken rather than trusting the order.
    pub fn validated_at(&self, validated_statuses: &[String]) -> Option<DateTime<Utc>> {
        if let Some(first) = self.invoices.iter().min() {
            return Some(*first);
        }
        self.status_history
            .iter()
            .filter(|h| validated_statuses.iter().any(|s| s == &h.status))
            .map(|h| h.at)
            .min()
    }

    /// Whether the order can still have a problem: not cancelled, closed
    /// (refunded) or on hold. Complete orders are open: shipped is not
    /// delivered.
    pub fn is_open(&self) -> bool {
        !matches!(
            self.state,
            OrderState::Canceled | OrderState::Closed | OrderState::Holded
        )
    }

    /// Waiting for the payment (« en attente de règlement ») or its review:
    /// not validated, whatever the history says.
    pub fn awaits_payment(&self) -> bool {
        matches!(
            self.state,
            OrderState::PendingPayment | OrderState::PaymentReview
        )
    }

    /// At least one shipment exists (the order may be partly shipped).
    pub fn has_shipments(&self) -> bool {
        !self.shipments.is_empty()
    }

    /// Every physical item has left: the shipping phase is over. Magento's
    /// `complete` state says so by itself (State.php sets it only when
    /// nothing is left to ship). Otherwise the items' quantities decide; an
    /// order whose items carry no quantities (Magento omitted them, or a
    /// snapshot stored before they were kept) falls back to "a shipment
    /// exists". An order of virtual items only has nothing to ship.
    pub fn is_fully_shipped(&self) -> bool {
        if self.state == OrderState::Complete {
            return true;
        }
        // Quantities decide only when Magento gave them for every item: an
        // item without one is no evidence that it left.
        if !self.items.is_empty() && self.items.iter().all(|i| i.qty_to_ship.is_some()) {
            return !self.items.iter().any(Item::is_waiting);
        }
        self.has_shipments()
    }

    /// Part of the order has shipped, part still waits.
    pub fn is_partly_shipped(&self) -> bool {
        self.has_shipments() && !self.is_fully_shipped()
    }

    /// The items still to ship (empty when quantities are unknown).
    pub fn items_waiting(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.is_waiting())
    }

    pub fn customer_name(&self) -> String {
        let c = &self.customer;
        match (c.firstname.trim(), c.lastname.trim()) {
            ("", "") => String::new(),
            (f, "") => f.to_owned(),
            ("", l) => l.to_owned(),
            (f, l) => format!("{f} {l}"),
        }
    }
}

impl Parcel {
    /// The parcel part of its problem key: the tracking number, or
    /// `shipment-<id>` for an untracked letter.
    pub fn key_part(&self) -> String {
        if self.tracking_number.is_empty() {
            format!("{UNTRACKED_PREFIX}{}", self.shipment_id)
        } else {
            self.tracking_number.clone()
        }
    }

    /// The shipment a [`Parcel::key_part`] names when the parcel has no
    /// number (`shipment-<id>`); `None` for a tracking number.
    pub fn shipment_of_key_part(part: &str) -> Option<u64> {
        part.strip_prefix(UNTRACKED_PREFIX)?.parse().ok()
    }

    pub fn status(&self) -> Option<TrackingStatus> {
        self.tracking.as_ref().map(|t| t.status)
    }

    /// Whether La Poste's Suivi API can follow this parcel: a carrier of La
    /// Poste's group (the API's `holder` is 1 courrier, 3 Chronopost or 4
    /// Colissimo, nothing else) and a number it accepts. Only these are
    /// ever polled, and only these can be « introuvable ».
    pub fn laposte_tracks(&self) -> bool {
        self.carrier != Carrier::Foreign && can_track(&self.tracking_number)
    }

    pub fn last_event(&self) -> Option<&TrackingEvent> {
        self.tracking.as_ref().and_then(|t| t.last_event())
    }
}

/// How the key of a parcel without number starts: `shipment-<entity id>`.
const UNTRACKED_PREFIX: &str = "shipment-";

/// Whether La Poste could accept this number: 11 to 15 ASCII alphanumerics
/// (Swagger SUIVI, `idShip`).
pub fn is_valid_number(number: &str) -> bool {
    (11..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether La Poste can ever be asked about `number` as Magento holds it:
/// the La Poste client sends numbers trimmed and upper-cased, and never
/// sends one that is not [`is_valid_number`]. A parcel whose number fails
/// this will never get an answer.
pub fn can_track(number: &str) -> bool {
    is_valid_number(&number.trim().to_ascii_uppercase())
}

/// Product kind and carrier from the configured globs: the only place that
/// knows how SKUs and shipping method codes are spelled in this shop.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// `magento.original_skus`: an item matching one is an original
    /// cartridge, every other item is compatible.
    pub original_skus: Vec<glob::Pattern>,
    pub letter: Vec<glob::Pattern>,
    pub colissimo: Vec<glob::Pattern>,
    pub chronopost: Vec<glob::Pattern>,
    /// `magento.validated_statuses`, for [`Order::validated_at`]; kept here
    /// so that the rules get everything about "how this shop spells things"
    /// in one argument.
    pub validated_statuses: Vec<String>,
}

impl Classifier {
    pub fn new(
        magento: &crate::config::MagentoConfig,
        carriers: &crate::config::CarriersConfig,
    ) -> Self {
        Classifier {
            original_skus: magento.original_skus.clone(),
            letter: carriers.letter.clone(),
            colissimo: carriers.colissimo.clone(),
            chronopost: carriers.chronopost.clone(),
            validated_statuses: magento.validated_statuses.clone(),
        }
    }

    /// The defaults of `config.toml.example` (`config::defaults`): `ORI-*`
    /// originals, `flatrate_*` letters, the carrier and method codes of the
    /// official Colissimo and Chronopost modules, validated statuses
    /// `processing` and `complete`. For tests, the demo and the benchmark.
    pub fn seed_defaults() -> Self {
        let pats = |globs: &[&str]| {
            globs
                .iter()
                .filter_map(|g| glob::Pattern::new(g).ok())
                .collect::<Vec<_>>()
        };
        Classifier {
            original_skus: pats(&["ORI-*"]),
            letter: pats(&["flatrate_*"]),
            colissimo: pats(crate::config::defaults::COLISSIMO),
            chronopost: pats(crate::config::defaults::CHRONOPOST),
            validated_statuses: vec!["processing".into(), "complete".into()],
        }
    }

    pub fn product_kind(&self, sku: &str) -> ProductKind {
        if self.original_skus.iter().any(|p| p.matches(sku)) {
            ProductKind::Original
        } else {
            ProductKind::Compatible
        }
    }

    /// Seed 000 §1: an order with any original item waits for it, so it
    /// follows the original rule.
    pub fn order_kind(&self, order: &Order) -> ProductKind {
        self.items_kind(&order.items)
    }

    /// The kind of a set of items: original as soon as one is.
    pub fn items_kind<'i>(&self, items: impl IntoIterator<Item = &'i Item>) -> ProductKind {
        if items
            .into_iter()
            .any(|i| self.product_kind(&i.sku) == ProductKind::Original)
        {
            ProductKind::Original
        } else {
            ProductKind::Compatible
        }
    }

    /// What the shipping rules wait for: the items still in the warehouse
    /// when part of the order has left (compatible cartridges shipped, the
    /// original one still awaited: the original rule), else every item.
    pub fn waiting_kind(&self, order: &Order) -> ProductKind {
        if order.items_waiting().next().is_some() {
            self.items_kind(order.items_waiting())
        } else {
            self.order_kind(order)
        }
    }

    /// The carrier of a shipping method code by the `[carriers]` globs.
    pub fn carrier_of_method(&self, method: &str) -> Option<Carrier> {
        let hit = |pats: &[glob::Pattern]| pats.iter().any(|p| p.matches(method));
        if hit(&self.chronopost) {
            Some(Carrier::Chronopost)
        } else if hit(&self.colissimo) {
            Some(Carrier::Colissimo)
        } else if hit(&self.letter) {
            Some(Carrier::Letter)
        } else {
            None
        }
    }

    /// The carrier of a parcel: the order's shipping method code by the
    /// globs first (what the admin configured), else the track's Magento
    /// carrier code, else words in its free-text title (`custom` +
    /// "Colissimo Expert"), else `Other`. An untracked shipment of an
    /// unclassified method is a letter: nothing else ships without a number.
    ///
    /// A track, or else a shipping method, that names a carrier outside La
    /// Poste's group (DPD, GLS, UPS, Mondial Relay, Colis Privé, ...) is
    /// `Other` first of all: the parcel really left with that carrier,
    /// whatever the method's glob says, and La Poste knows nothing of it.
    pub fn carrier(&self, shipping_method: Option<&str>, track: Option<&Track>) -> Carrier {
        let foreign = track
            .map(|t| names_foreign_carrier(&t.carrier_code) || names_foreign_carrier(&t.title))
            .unwrap_or(false);
        if foreign {
            return Carrier::Foreign;
        }
        let by_method = shipping_method.and_then(|m| self.carrier_of_method(m));
        if by_method.is_none() && shipping_method.is_some_and(names_foreign_carrier) {
            return Carrier::Foreign;
        }
        // A track without a number (a placeholder such as `N/A`) says
        // nothing but, at most, its carrier's name: the shipment is an
        // untracked one, a letter unless the method or that name says more.
        if let Some(t) = track.filter(|t| t.number.trim().is_empty()) {
            return by_method
                .or_else(|| self.carrier_of_track(t))
                .unwrap_or(Carrier::Letter);
        }
        let Some(track) = track else {
            return by_method.unwrap_or(Carrier::Letter);
        };
        match by_method {
            // A letter has no tracking number by definition (docs/rules.md): a
            // tracked parcel of a letter method was upgraded by the shop,
            // and the track says to which carrier.
            Some(Carrier::Letter) if !track.number.trim().is_empty() => {
                if let Some(c) = self.carrier_of_track(track) {
                    if c != Carrier::Letter {
                        return c;
                    }
                }
                return Carrier::Letter;
            }
            Some(c) => return c,
            None => {}
        }
        self.carrier_of_track(track).unwrap_or(Carrier::Other)
    }

    /// The carrier a track names: its Magento carrier code by the globs,
    /// else words in the code or the free-text title.
    fn carrier_of_track(&self, track: &Track) -> Option<Carrier> {
        if let Some(c) = self.carrier_of_method(&track.carrier_code) {
            return Some(c);
        }
        for text in [&track.carrier_code, &track.title] {
            let t = text.to_lowercase();
            if t.contains("chronopost") {
                return Some(Carrier::Chronopost);
            }
            if t.contains("colissimo") {
                return Some(Carrier::Colissimo);
            }
        }
        let title = track.title.to_lowercase();
        if title.contains("lettre") {
            // Lettre suivie: the seeds' letter delay applies.
            return Some(Carrier::Letter);
        }
        None
    }
}

/// Carriers outside La Poste's group that French shops ship with, as their
/// names appear in Magento carrier codes, method codes and track titles,
/// squeezed to lower-case letters and digits. The short names (`ups`,
/// `dpd`, ...) must be a whole word of the text; the long ones may be
/// part of a code (`mondialrelay_pickup`, `dpdfrpredict`).
const FOREIGN_CARRIER_WORDS: &[&str] = &["dpd", "gls", "ups", "dhl", "tnt", "usps"];
const FOREIGN_CARRIER_NAMES: &[&str] = &[
    "mondialrelay",
    "colisprive",
    "relaiscolis",
    "fedex",
    "geodis",
    "kuehne",
    "dbschenker",
    "dpdfr",
    "dpdpredict",
    "dpdrelais",
    "upsstandard",
];

/// Whether `text` (a carrier code, a method code or a track title) names a
/// carrier that La Poste does not track.
fn names_foreign_carrier(text: &str) -> bool {
    let lower = text.to_lowercase().replace(['é', 'è', 'ê'], "e");
    let squeezed: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    // « Relais Colissimo », « Chronopost Relais »: La Poste's own, whatever
    // else the text says.
    if ["colissimo", "chronopost", "chrono", "laposte", "lettre"]
        .iter()
        .any(|n| squeezed.contains(n))
    {
        return false;
    }
    if FOREIGN_CARRIER_NAMES.iter().any(|n| squeezed.contains(n)) {
        return true;
    }
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| FOREIGN_CARRIER_WORDS.contains(&w))
}

/// What people type in Magento's tracking number field to say there is
/// none, compared case-insensitively with whitespace removed (as
/// [`parcels_of`] removes it from numbers). Every entry is safe because no
/// carrier's number looks like it: La Poste's are 11 to 15 letters and
/// digits, DPD's, GLS's, UPS's and the others' 8 or more characters, always
/// with digits. English and French ways of saying "none" or "not known"
/// (`nc` non communiqué, `nr` non renseigné), the usual fillers (`x`, `0`),
/// and the spellings with dots a hand types. Anything without a single
/// letter or digit (`-`, `--`, `/`, `?`, `…`) is a placeholder too.
/// Deliberately not here: words that could begin a real reference, and
/// anything of three characters or more that holds a digit other than 0.
const PLACEHOLDER_NUMBERS: &[&str] = &[
    "n/a",
    "n.a",
    "n.a.",
    "na",
    "n/d",
    "nd",
    "none",
    "null",
    "nil",
    "nan",
    "undefined",
    "no",
    "non",
    "x",
    "xx",
    "xxx",
    "aucun",
    "aucune",
    "néant",
    "neant",
    "rien",
    "sans",
    "sansnuméro",
    "sansnumero",
    "sanssuivi",
    "pasdenuméro",
    "pasdenumero",
    "pasdesuivi",
    "nc",
    "n.c",
    "n.c.",
    "nr",
    "n.r",
    "n.r.",
    "tbd",
];

/// Whether a tracking number (whitespace already removed) is a
/// placeholder for "no number" (see [`PLACEHOLDER_NUMBERS`]): the shipment
/// is then an untracked one, keyed `shipment-<id>`.
pub fn is_placeholder_number(number: &str) -> bool {
    let lower = number.to_lowercase();
    !lower.chars().any(char::is_alphanumeric)
        || lower.chars().all(|c| c == '0')
        || PLACEHOLDER_NUMBERS.contains(&lower.as_str())
}

/// The parcels of an order as its shipments describe them, without tracking
/// yet (the sync engine merges the stored snapshots in by
/// [`Parcel::key_part`]). One parcel per distinct tracking number; a
/// shipment without any number (placeholders such as `N/A` count as none,
/// see [`is_placeholder_number`]) is one untracked parcel keyed
/// `shipment-<id>`. Shipped time is the shipment's `created_at`.
pub fn parcels_of(order: &Order, classifier: &Classifier) -> Vec<Parcel> {
    let method = order.shipping_method.as_deref();
    let mut parcels: Vec<Parcel> = Vec::with_capacity(order.shipments.len());
    for shipment in &order.shipments {
        let parcel = |number: &str, track: Option<&Track>| Parcel {
            order_entity_id: order.entity_id,
            order_increment_id: order.increment_id.clone(),
            shipment_id: shipment.entity_id,
            tracking_number: number.to_owned(),
            carrier: classifier.carrier(method, track),
            shipped_at: shipment.created_at,
            tracking: None,
        };
        let mut any = false;
        // A placeholder still tells the carrier ("DPD", number "N/A").
        let mut placeholder: Option<Track> = None;
        for track in &shipment.tracks {
            // Numbers are typed by hand in Magento: spaces creep in, and so
            // do placeholders for "no number" (`N/A`, `-`, `néant`).
            let number: String = track
                .number
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if number.is_empty() {
                continue;
            }
            if is_placeholder_number(&number) {
                placeholder.get_or_insert_with(|| Track {
                    number: String::new(),
                    ..track.clone()
                });
                continue;
            }
            any = true;
            if parcels.iter().any(|p| p.tracking_number == number) {
                continue;
            }
            parcels.push(parcel(&number, Some(track)));
        }
        if !any {
            parcels.push(parcel("", placeholder.as_ref()));
        }
    }
    parcels
}
