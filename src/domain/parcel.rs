//! Parcels and what the carrier said about them: the carrier, the
//! normalised tracking status, the last snapshot, and how an order's
//! shipments become parcels ([`parcels_of`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::classify::Classifier;
use super::order::{Order, Track};
use super::tracking_number::{can_track, is_placeholder_number};

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
        }
    }

    pub(crate) fn last_event(&self) -> Option<&TrackingEvent> {
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
    pub(crate) fn shipment_of_key_part(part: &str) -> Option<u64> {
        part.strip_prefix(UNTRACKED_PREFIX)?.parse().ok()
    }

    pub fn status(&self) -> Option<TrackingStatus> {
        self.tracking.as_ref().map(|t| t.status)
    }

    /// Whether La Poste's Suivi API can follow this parcel: a carrier of La
    /// Poste's group (the API's `holder` is 1 courrier, 3 Chronopost or 4
    /// Colissimo, nothing else) and a number it accepts. Only these are
    /// ever polled, and only these can be « introuvable ».
    pub(crate) fn laposte_tracks(&self) -> bool {
        self.carrier != Carrier::Foreign && can_track(&self.tracking_number)
    }

    pub(crate) fn last_event(&self) -> Option<&TrackingEvent> {
        self.tracking.as_ref().and_then(|t| t.last_event())
    }
}

/// How the key of a parcel without number starts: `shipment-<entity id>`.
const UNTRACKED_PREFIX: &str = "shipment-";

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
