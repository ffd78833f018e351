//! The shared words of colisync: orders, parcels and tracking snapshots,
//! tracking numbers, how the shop's codes classify (`Classifier`), the
//! problem keys, rules' ids and severities, and the business calendar.
//!
//! Every stage imports from here (sources and tracking produce these
//! types, state stores them, rules judge them, the renderer and the planner
//! read them); this module imports nothing else of the crate, only std and
//! external crates, so that it stays a vocabulary of facts already decoded
//! and typed: instants are `DateTime<Utc>` (Magento's zone-less UTC strings
//! are parsed at the edge), carriers and product kinds are enums.
//!
//! What needs another module is written there, as inherent methods of these
//! types: building a `Calendar` or a `Classifier` from the configuration
//! and the defaults (`config`), a rule's settings (`config`), French names
//! (`fr`).

pub mod calendar;
mod carrier_info;
mod case;
mod classify;
mod order;
mod parcel;
mod problem;
mod tracking_number;

pub use carrier_info::{CarrierInfo, EstimateChange, RemovalPoint};
pub use case::{Case, CaseRequest, CaseStep, CaseVia};
pub use classify::Classifier;
pub use order::{Customer, Item, Order, OrderState, ProductKind, Shipment, StatusChange, Track};
pub use parcel::{Carrier, Parcel, TrackingEvent, TrackingSnapshot, TrackingStatus, parcels_of};
pub use problem::{CaseKind, ProblemKey, ReturnStage, RuleId, Severity, ThresholdUnit};
pub use tracking_number::{can_track, is_placeholder_number, is_valid_number, tracking_url};
