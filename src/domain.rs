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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub name: String,
    pub qty: f64,
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
    Other,
}

/// Normalised tracking status (API-NOTES.md has the mapping).
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
}

impl TrackingSnapshot {
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
