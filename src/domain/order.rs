//! Orders as colisync reads them from Magento: state, customer, items,
//! status history, invoices and shipments with their tracks.

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
    pub(crate) fn is_waiting(&self) -> bool {
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

impl ProductKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProductKind::Compatible => "compatible",
            ProductKind::Original => "original",
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
    pub(crate) fn is_open(&self) -> bool {
        !matches!(
            self.state,
            OrderState::Canceled | OrderState::Closed | OrderState::Holded
        )
    }

    /// Waiting for the payment (« en attente de règlement ») or its review:
    /// not validated, whatever the history says.
    pub(crate) fn awaits_payment(&self) -> bool {
        matches!(
            self.state,
            OrderState::PendingPayment | OrderState::PaymentReview
        )
    }

    /// At least one shipment exists (the order may be partly shipped).
    pub(crate) fn has_shipments(&self) -> bool {
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
