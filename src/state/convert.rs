//! The store's boundary: conversions between the types the rest of
//! colisync hands the store (domain facts, the rules' keys and ids, the
//! store's own API types) and the records it writes (`records.rs`). Every
//! field is named on both sides, so a change on either side is a compile
//! error here rather than a silent change of the disk format.

use super::records as r;
use super::{CardRecord, CardStatus, Intent, ParcelRecord, UndecodableOrder};
use crate::domain::{
    Carrier, CarrierInfo, Customer, EstimateChange, Item, Order, OrderState, Parcel, RemovalPoint,
    Shipment, StatusChange, Track, TrackingEvent, TrackingSnapshot, TrackingStatus,
};
use crate::domain::{Case, CaseKind, CaseRequest, CaseStep, CaseVia};
use crate::domain::{ProblemKey, ReturnStage, RuleId, Severity};

/// Both directions of a field-less enum whose variants have the same names
/// on both sides.
macro_rules! same_variants {
    ($ours:ty, $rec:ty, [$($v:ident),* $(,)?]) => {
        impl From<$ours> for $rec {
            fn from(x: $ours) -> $rec {
                match x { $(<$ours>::$v => <$rec>::$v),* }
            }
        }
        impl From<$rec> for $ours {
            fn from(x: $rec) -> $ours {
                match x { $(<$rec>::$v => <$ours>::$v),* }
            }
        }
    };
}

same_variants!(
    Carrier,
    r::Carrier,
    [Letter, Colissimo, Chronopost, Other, Foreign]
);
same_variants!(
    TrackingStatus,
    r::TrackingStatus,
    [
        Unknown,
        InfoReceived,
        InTransit,
        OutForDelivery,
        AwaitingPickup,
        DeliveryFailed,
        Problem,
        ReturnToSender,
        Delivered,
    ]
);
same_variants!(CardStatus, r::CardStatus, [Open, Resolved, Archived]);
same_variants!(Severity, r::Severity, [Late, Critical]);
same_variants!(ReturnStage, r::ReturnStage, [Returning, Back]);
same_variants!(
    RuleId,
    r::Rule,
    [
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
        LostParcel,
        AddressChange,
    ]
);
same_variants!(CaseKind, r::CaseKind, [Lost, Address]);

impl From<&ProblemKey> for r::Key {
    fn from(k: &ProblemKey) -> r::Key {
        match k {
            ProblemKey::Order { increment_id } => r::Key::Order {
                increment_id: increment_id.clone(),
            },
            ProblemKey::Parcel {
                increment_id,
                parcel,
            } => r::Key::Parcel {
                increment_id: increment_id.clone(),
                parcel: parcel.clone(),
            },
            ProblemKey::Case { increment_id, kind } => r::Key::Case {
                increment_id: increment_id.clone(),
                kind: (*kind).into(),
            },
        }
    }
}

impl From<r::Key> for ProblemKey {
    fn from(k: r::Key) -> ProblemKey {
        match k {
            r::Key::Order { increment_id } => ProblemKey::Order { increment_id },
            r::Key::Parcel {
                increment_id,
                parcel,
            } => ProblemKey::Parcel {
                increment_id,
                parcel,
            },
            r::Key::Case { increment_id, kind } => ProblemKey::Case {
                increment_id,
                kind: kind.into(),
            },
        }
    }
}

// ----- orders -----------------------------------------------------------

impl From<&OrderState> for r::OrderState {
    fn from(s: &OrderState) -> r::OrderState {
        match s {
            OrderState::New => r::OrderState::New,
            OrderState::PendingPayment => r::OrderState::PendingPayment,
            OrderState::Processing => r::OrderState::Processing,
            OrderState::Complete => r::OrderState::Complete,
            OrderState::Closed => r::OrderState::Closed,
            OrderState::Canceled => r::OrderState::Canceled,
            OrderState::Holded => r::OrderState::Holded,
            OrderState::PaymentReview => r::OrderState::PaymentReview,
            OrderState::Other(s) => r::OrderState::Other(s.clone()),
        }
    }
}

impl From<r::OrderState> for OrderState {
    fn from(s: r::OrderState) -> OrderState {
        match s {
            r::OrderState::New => OrderState::New,
            r::OrderState::PendingPayment => OrderState::PendingPayment,
            r::OrderState::Processing => OrderState::Processing,
            r::OrderState::Complete => OrderState::Complete,
            r::OrderState::Closed => OrderState::Closed,
            r::OrderState::Canceled => OrderState::Canceled,
            r::OrderState::Holded => OrderState::Holded,
            r::OrderState::PaymentReview => OrderState::PaymentReview,
            r::OrderState::Other(s) => OrderState::Other(s),
        }
    }
}

impl From<&Order> for r::Order {
    fn from(o: &Order) -> r::Order {
        r::Order {
            entity_id: o.entity_id,
            increment_id: o.increment_id.clone(),
            state: (&o.state).into(),
            status: o.status.clone(),
            customer: r::Customer {
                firstname: o.customer.firstname.clone(),
                lastname: o.customer.lastname.clone(),
                email: o.customer.email.clone(),
            },
            items: o
                .items
                .iter()
                .map(|i| r::Item {
                    sku: i.sku.clone(),
                    name: i.name.clone(),
                    qty: i.qty,
                    qty_to_ship: i.qty_to_ship,
                })
                .collect(),
            shipping_method: o.shipping_method.clone(),
            created_at: o.created_at,
            updated_at: o.updated_at,
            invoices: o.invoices.clone(),
            status_history: o
                .status_history
                .iter()
                .map(|h| r::StatusChange {
                    status: h.status.clone(),
                    at: h.at,
                })
                .collect(),
            shipments: o
                .shipments
                .iter()
                .map(|s| r::Shipment {
                    entity_id: s.entity_id,
                    created_at: s.created_at,
                    tracks: s
                        .tracks
                        .iter()
                        .map(|t| r::Track {
                            number: t.number.clone(),
                            carrier_code: t.carrier_code.clone(),
                            title: t.title.clone(),
                            created_at: t.created_at,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<r::Order> for Order {
    fn from(o: r::Order) -> Order {
        Order {
            entity_id: o.entity_id,
            increment_id: o.increment_id,
            state: o.state.into(),
            status: o.status,
            customer: Customer {
                firstname: o.customer.firstname,
                lastname: o.customer.lastname,
                email: o.customer.email,
            },
            items: o
                .items
                .into_iter()
                .map(|i| Item {
                    sku: i.sku,
                    name: i.name,
                    qty: i.qty,
                    qty_to_ship: i.qty_to_ship,
                })
                .collect(),
            shipping_method: o.shipping_method,
            created_at: o.created_at,
            updated_at: o.updated_at,
            invoices: o.invoices,
            status_history: o
                .status_history
                .into_iter()
                .map(|h| StatusChange {
                    status: h.status,
                    at: h.at,
                })
                .collect(),
            shipments: o
                .shipments
                .into_iter()
                .map(|s| Shipment {
                    entity_id: s.entity_id,
                    created_at: s.created_at,
                    tracks: s
                        .tracks
                        .into_iter()
                        .map(|t| Track {
                            number: t.number,
                            carrier_code: t.carrier_code,
                            title: t.title,
                            created_at: t.created_at,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

// ----- parcels ----------------------------------------------------------

impl From<&TrackingSnapshot> for r::TrackingSnapshot {
    fn from(t: &TrackingSnapshot) -> r::TrackingSnapshot {
        r::TrackingSnapshot {
            fetched_at: t.fetched_at,
            status: t.status.into(),
            events: t
                .events
                .iter()
                .map(|e| r::TrackingEvent {
                    code: e.code.clone(),
                    label: e.label.clone(),
                    at: e.at,
                })
                .collect(),
            is_final: t.is_final,
            product: t.product.clone(),
            info: (&t.info).into(),
        }
    }
}

impl From<r::TrackingSnapshot> for TrackingSnapshot {
    fn from(t: r::TrackingSnapshot) -> TrackingSnapshot {
        TrackingSnapshot {
            fetched_at: t.fetched_at,
            status: t.status.into(),
            events: t
                .events
                .into_iter()
                .map(|e| TrackingEvent {
                    code: e.code,
                    label: e.label,
                    at: e.at,
                })
                .collect(),
            is_final: t.is_final,
            product: t.product,
            info: t.info.into(),
        }
    }
}

impl From<&CarrierInfo> for r::CarrierInfo {
    fn from(i: &CarrierInfo) -> r::CarrierInfo {
        r::CarrierInfo {
            estimated_delivery: i.estimated_delivery,
            estimated_on: i.estimated_on,
            delivered_at: i.delivered_at,
            removal_point: i.removal_point.as_ref().map(|p| r::RemovalPoint {
                name: p.name.clone(),
                kind: p.kind.clone(),
            }),
            estimate_history: i
                .estimate_history
                .iter()
                .map(|c| r::EstimateChange {
                    estimate: c.estimate,
                    seen_at: c.seen_at,
                })
                .collect(),
        }
    }
}

impl From<r::CarrierInfo> for CarrierInfo {
    fn from(i: r::CarrierInfo) -> CarrierInfo {
        CarrierInfo {
            estimated_delivery: i.estimated_delivery,
            estimated_on: i.estimated_on,
            delivered_at: i.delivered_at,
            removal_point: i.removal_point.map(|p| RemovalPoint {
                name: p.name,
                kind: p.kind,
            }),
            estimate_history: i
                .estimate_history
                .into_iter()
                .map(|c| EstimateChange {
                    estimate: c.estimate,
                    seen_at: c.seen_at,
                })
                .collect(),
        }
    }
}

impl From<&ParcelRecord> for r::ParcelRecord {
    fn from(p: &ParcelRecord) -> r::ParcelRecord {
        let q = &p.parcel;
        r::ParcelRecord {
            parcel: r::Parcel {
                order_entity_id: q.order_entity_id,
                order_increment_id: q.order_increment_id.clone(),
                shipment_id: q.shipment_id,
                tracking_number: q.tracking_number.clone(),
                carrier: q.carrier.into(),
                shipped_at: q.shipped_at,
                tracking: q.tracking.as_ref().map(Into::into),
            },
            next_poll_at: p.next_poll_at,
            polls_unchanged: p.polls_unchanged,
            last_change_at: p.last_change_at,
        }
    }
}

impl From<r::ParcelRecord> for ParcelRecord {
    fn from(p: r::ParcelRecord) -> ParcelRecord {
        let q = p.parcel;
        ParcelRecord {
            parcel: Parcel {
                order_entity_id: q.order_entity_id,
                order_increment_id: q.order_increment_id,
                shipment_id: q.shipment_id,
                tracking_number: q.tracking_number,
                carrier: q.carrier.into(),
                shipped_at: q.shipped_at,
                tracking: q.tracking.map(Into::into),
            },
            next_poll_at: p.next_poll_at,
            polls_unchanged: p.polls_unchanged,
            last_change_at: p.last_change_at,
        }
    }
}

// ----- cards, journal, meta ---------------------------------------------

impl From<&CardRecord> for r::CardRecord {
    fn from(c: &CardRecord) -> r::CardRecord {
        r::CardRecord {
            card_id: c.card_id.clone(),
            list_id: c.list_id.clone(),
            fingerprint: c.fingerprint.clone(),
            rule: c.rule.map(Into::into),
            severity: c.severity.into(),
            status: c.status.into(),
            filed_at: c.filed_at,
            updated_at: c.updated_at,
            label_ids: c.label_ids.clone(),
            due: c.due,
            stage: c.stage.map(Into::into),
        }
    }
}

impl From<r::CardRecord> for CardRecord {
    fn from(c: r::CardRecord) -> CardRecord {
        CardRecord {
            card_id: c.card_id,
            list_id: c.list_id,
            fingerprint: c.fingerprint,
            rule: c.rule.map(Into::into),
            severity: c.severity.into(),
            status: c.status.into(),
            filed_at: c.filed_at,
            updated_at: c.updated_at,
            label_ids: c.label_ids,
            due: c.due,
            stage: c.stage.map(Into::into),
        }
    }
}

impl From<&Intent> for r::Intent {
    fn from(i: &Intent) -> r::Intent {
        r::Intent {
            key: (&i.key).into(),
            action: i.action.clone(),
            started_at: i.started_at,
            card_id: i.card_id.clone(),
            steps_done: i.steps_done,
            label_ids: i.label_ids.clone(),
            checklist_id: i.checklist_id.clone(),
        }
    }
}

impl From<r::Intent> for Intent {
    fn from(i: r::Intent) -> Intent {
        Intent {
            key: i.key.into(),
            action: i.action,
            started_at: i.started_at,
            card_id: i.card_id,
            steps_done: i.steps_done,
            label_ids: i.label_ids,
            checklist_id: i.checklist_id,
        }
    }
}

impl From<&UndecodableOrder> for r::UndecodableOrder {
    fn from(u: &UndecodableOrder) -> r::UndecodableOrder {
        r::UndecodableOrder {
            increment_id: u.increment_id.clone(),
            problem: u.problem.clone(),
            first_seen: u.first_seen,
        }
    }
}

impl From<r::UndecodableOrder> for UndecodableOrder {
    fn from(u: r::UndecodableOrder) -> UndecodableOrder {
        UndecodableOrder {
            increment_id: u.increment_id,
            problem: u.problem,
            first_seen: u.first_seen,
        }
    }
}

// ----- cases ------------------------------------------------------------

impl From<&Case> for r::CaseRecord {
    fn from(c: &Case) -> r::CaseRecord {
        r::CaseRecord {
            increment_id: c.increment_id.clone(),
            kind: c.kind.into(),
            parcel: c.parcel.clone(),
            opened_at: c.opened_at,
            requests: c
                .requests
                .iter()
                .map(|q| r::CaseRequest {
                    at: q.at,
                    via: match &q.via {
                        CaseVia::Label { card_id, label_id } => r::CaseVia::Label {
                            card_id: card_id.clone(),
                            label_id: label_id.clone(),
                        },
                        CaseVia::Cli { request_id } => r::CaseVia::Cli {
                            request_id: request_id.clone(),
                        },
                    },
                })
                .collect(),
            closed_at: c.closed_at,
            closed_how: c.closed_how.clone(),
            steps: c
                .steps
                .iter()
                .map(|s| r::CaseStep {
                    name: s.name.clone(),
                    due: s.due,
                })
                .collect(),
            consumed_labels: c.consumed_labels.iter().cloned().collect(),
            ticked: c.ticked.iter().cloned().collect(),
            ticked_at_open: c.ticked_at_open.iter().cloned().collect(),
            seen_badges: c.seen_badges,
        }
    }
}

impl From<r::CaseRecord> for Case {
    fn from(c: r::CaseRecord) -> Case {
        Case {
            increment_id: c.increment_id,
            kind: c.kind.into(),
            parcel: c.parcel,
            opened_at: c.opened_at,
            requests: c
                .requests
                .into_iter()
                .map(|q| CaseRequest {
                    at: q.at,
                    via: match q.via {
                        r::CaseVia::Label { card_id, label_id } => {
                            CaseVia::Label { card_id, label_id }
                        }
                        r::CaseVia::Cli { request_id } => CaseVia::Cli { request_id },
                    },
                })
                .collect(),
            closed_at: c.closed_at,
            closed_how: c.closed_how,
            steps: c
                .steps
                .into_iter()
                .map(|s| CaseStep {
                    name: s.name,
                    due: s.due,
                })
                .collect(),
            consumed_labels: c.consumed_labels.into_iter().collect(),
            ticked: c.ticked.into_iter().collect(),
            ticked_at_open: c.ticked_at_open.into_iter().collect(),
            seen_badges: c.seen_badges,
        }
    }
}
