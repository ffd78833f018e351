//! The orders and parcels a pass judges: the state's snapshot as loaded at
//! the start of the pass, updated in memory by the pull, and the writes
//! that update brings to the state, kept in the order the pull made them.
//!
//! Planning a pass writes nothing: a dry run is a plan not applied. A real
//! pass stores these writes first thing when it applies ([`persist`]),
//! replayed in order so that the rules that tie them hold as they did when
//! the pull wrote them at once: the Magento cursor moves only past orders
//! stored, an order read again by id that could not be stored stays on the
//! undecodable list, and the cursor is held when that list cannot be read
//! or stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::PassReport;
use super::error::PassError;
use crate::domain::ProblemKey;
use crate::domain::{self, Classifier, Order, Parcel};
use crate::fr::pass::gone_reason;
use crate::state::{CardRecord, CardStatus, ParcelRecord, State, StateError, UndecodableOrder};

/// The snapshot of a pass.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub(crate) orders: BTreeMap<u64, Order>,
    pub(crate) parcels: BTreeMap<ProblemKey, ParcelRecord>,
    /// Orders this pass read from Magento (their shipments are fresh).
    pub(crate) pulled: BTreeSet<u64>,
    /// Parcels Magento no longer has, with why: their cards are resolved.
    pub(crate) forgotten: BTreeMap<ProblemKey, String>,
    /// What the pull changed, for the state, in order.
    pub(crate) writes: Vec<Write>,
}

/// One change the pull made to the snapshot, for the state.
#[derive(Debug)]
pub(super) enum Write {
    Order {
        order: Order,
        if_lost: IfLost,
    },
    Parcel(ParcelRecord),
    ForgetParcel(ProblemKey),
    /// The undecodable orders as the pull found them (`bad`), stored when
    /// they differ from what the state held (`known`).
    Undecodable {
        bad: BTreeMap<u64, UndecodableOrder>,
        known: BTreeMap<u64, UndecodableOrder>,
    },
    /// The Magento cursor after the pull: the newest `updated_at` seen,
    /// unless an order could not be stored or `hold` (the undecodable
    /// orders could not be read).
    Cursor {
        newest: Option<DateTime<Utc>>,
        hold: bool,
    },
    /// Orders judged with nothing left to do: out of the open index, so
    /// that later passes neither load nor judge them.
    Settle(Vec<u64>),
}

/// What an order that could not be stored means.
#[derive(Debug)]
pub(super) enum IfLost {
    /// Pulled by time: the cursor stays before it, so that it is pulled
    /// again.
    PullAgain,
    /// Read again by id (it did not decode before): it stays on the
    /// undecodable list, read again next pass.
    StaysUndecodable(UndecodableOrder),
    /// Read for another reason (a card's order, shipments re-read): the
    /// next pass reads it again anyway.
    Nothing,
}

impl Snapshot {
    /// The open work only: the orders of the state's open index with their
    /// parcels, and the parcels La Poste may still be asked about (those
    /// of cancelled orders included, polled as before). Orders an earlier
    /// pass judged settled are neither read nor decoded; one that Magento
    /// brings back is read with its parcels then ([`Snapshot::take_stored_parcels`]).
    pub(crate) fn load(state: &State) -> Result<Self, StateError> {
        let mut parcels = BTreeMap::new();
        let mut orders = BTreeMap::new();
        for order in state.active_orders()? {
            for r in state.parcels_of(&order)? {
                parcels.insert(r.key(), r);
            }
            orders.insert(order.entity_id, order);
        }
        for r in state.followed_parcels()? {
            parcels.entry(r.key()).or_insert(r);
        }
        Ok(Snapshot {
            orders,
            parcels,
            ..Snapshot::default()
        })
    }

    /// Before an order the snapshot lacks is taken in: its stored parcels,
    /// so that reconciling keeps their tracking and schedule and sees which
    /// ones Magento no longer has, exactly as if it had been loaded.
    pub(crate) fn take_stored_parcels(&mut self, state: &State, order: &Order) {
        if self.orders.contains_key(&order.entity_id) {
            return;
        }
        match state.parcels_of(order) {
            Ok(stored) => {
                for r in stored {
                    self.parcels.entry(r.key()).or_insert(r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, order = %order.increment_id, "reading the stored parcels of an order")
            }
        }
    }

    /// Parcels La Poste can follow whose tracking is still unknown after
    /// this pass's polls (never polled successfully): judging them on dates
    /// alone would file or re-case their cards from missing data.
    pub(crate) fn unknown_parcels(&self) -> BTreeSet<ProblemKey> {
        self.parcels
            .iter()
            .filter(|(_, r)| r.parcel.laposte_tracks() && r.parcel.tracking.is_none())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Evidence that Magento no longer has a recorded parcel: its order is
    /// in the snapshot, with shipments read successfully, and none of them
    /// is that parcel any more. `reconcile_parcels` gives the precise
    /// reason in the pass that saw the change; this keeps the evidence for
    /// a later pass when that resolve did not get through.
    pub(crate) fn add_gone_parcels(
        &self,
        records: &BTreeMap<ProblemKey, CardRecord>,
        classifier: &Classifier,
        ended: &mut BTreeMap<ProblemKey, String>,
    ) {
        let by_increment: HashMap<&str, &Order> = self
            .orders
            .values()
            .map(|o| (o.increment_id.as_str(), o))
            .collect();
        for (key, rec) in records {
            if rec.status != CardStatus::Open || !matches!(key, ProblemKey::Parcel { .. }) {
                continue;
            }
            let Some(order) = by_increment.get(key.increment_id()) else {
                continue;
            };
            let parcels = domain::parcels_of(order, classifier);
            let has = parcels.iter().any(|p| &crate::state::parcel_key(p) == key);
            if let (false, ProblemKey::Parcel { parcel, .. }) = (has, key) {
                let shipment = Parcel::shipment_of_key_part(parcel);
                let number = if shipment.is_some() {
                    ""
                } else {
                    parcel.as_str()
                };
                ended
                    .entry(key.clone())
                    .or_insert_with(|| gone_reason(number, shipment, &parcels));
            }
        }
    }

    pub(crate) fn parcels_by_order(&self) -> HashMap<u64, Vec<Parcel>> {
        let mut m: HashMap<u64, Vec<Parcel>> = HashMap::new();
        for r in self.parcels.values() {
            m.entry(r.parcel.order_entity_id)
                .or_default()
                .push(r.parcel.clone());
        }
        m
    }
}

/// Stores the pull's writes, in order; each failure is reported and the
/// rest goes on.
pub(super) fn persist(state: &State, writes: Vec<Write>, report: &mut PassReport) {
    // The first `updated_at` of a pulled order that could not be stored.
    let mut unstored: Option<DateTime<Utc>> = None;
    // Orders read again by id that could not be stored: still undecodable.
    let mut still_bad: Vec<(u64, UndecodableOrder)> = Vec::new();
    let mut hold_cursor = false;
    for write in writes {
        match write {
            Write::Order { order, if_lost } => {
                let Err(e) = state.put_order(&order) else {
                    continue;
                };
                report.errors.push(PassError::state(
                    format!("storing order {}", order.increment_id),
                    e,
                ));
                match if_lost {
                    IfLost::PullAgain => {
                        unstored =
                            Some(unstored.map_or(order.updated_at, |u| u.min(order.updated_at)));
                    }
                    IfLost::StaysUndecodable(old) => still_bad.push((order.entity_id, old)),
                    IfLost::Nothing => {}
                }
            }
            Write::Parcel(record) => {
                if let Err(e) = state.put_parcel(&record) {
                    report.errors.push(PassError::state(
                        format!("storing parcel {}", record.key()),
                        e,
                    ));
                }
            }
            Write::ForgetParcel(key) => {
                if let Err(e) = state.remove_parcel(&key) {
                    report
                        .errors
                        .push(PassError::state(format!("forgetting parcel {key}"), e));
                }
            }
            Write::Undecodable { mut bad, known } => {
                for (id, old) in still_bad.drain(..) {
                    bad.entry(id).or_insert(old);
                }
                if bad != known {
                    if let Err(e) = state.set_undecodable_orders(&bad) {
                        report.errors.push(PassError::state(
                            "storing the undecodable Magento orders",
                            e,
                        ));
                        hold_cursor = true;
                    }
                }
            }
            Write::Settle(ids) => {
                if let Err(e) = state.settle_orders(&ids) {
                    report
                        .errors
                        .push(PassError::state("marking settled orders", e));
                }
            }
            Write::Cursor { newest, hold } => {
                let next = match (newest, unstored) {
                    (Some(max), Some(first_lost)) => {
                        Some(max.min(first_lost - chrono::Duration::seconds(1)))
                    }
                    (max, _) => max,
                };
                if let (false, false, Some(next)) = (hold, hold_cursor, next) {
                    if let Err(e) = state.set_cursor(next) {
                        report
                            .errors
                            .push(PassError::state("storing the Magento cursor", e));
                    }
                }
            }
        }
    }
}
