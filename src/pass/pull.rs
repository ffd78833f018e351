//! Pull: what Magento and La Poste say now, into the pass's snapshot
//! (ARCHITECTURE.md, steps 3, 5 and 6). Orders changed since the cursor
//! and those earlier passes could not decode; the shipments of open orders
//! waiting for a number (tracks added later do not move `updated_at`); the
//! orders of open cards the snapshot lacks; the polls of the parcels due.
//!
//! Nothing here writes: each change is made to the snapshot in memory and
//! kept as a [`Write`] that a real pass stores when it applies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::board::BoardRead;
use super::error::PassError;
use super::snapshot::{IfLost, Snapshot, Write};
use super::{Engine, PassReport};
use crate::board::parse_marker;
use crate::domain::ProblemKey;
use crate::domain::{self, Carrier, Order, Parcel, TrackingSnapshot};
use crate::fr::pass::gone_reason;
use crate::state::{CardStatus, ParcelRecord, UndecodableOrder};
use crate::tracking::laposte::{LaPosteClient, TrackError};

/// At most this many `page_size` batches of orders have their shipments
/// read again per pass (see [`Engine::recheck_tracks`]).
const RECHECK_MAX_BATCHES: usize = 2;

/// What La Poste said of one number, as the pass takes it (and `explain`,
/// which must judge as the pass does).
#[derive(Debug)]
pub(super) enum Polled {
    Tracked(TrackingSnapshot),
    /// La Poste refuses the number itself (400): asking again will not
    /// help. It is taken as unknown to the carrier (`snapshot`), which
    /// files `tracking_not_found` after 24 h so that a lead fixes the
    /// number, and the poll backs off like any parcel that does not change.
    Refused {
        snapshot: TrackingSnapshot,
        message: String,
    },
    /// The API key was refused: every number fails alike (the client asked
    /// once and stopped); `first` on the first of them, to say it once.
    KeyRefused {
        error: TrackError,
        first: bool,
    },
    Failed(TrackError),
}

/// Polls `numbers` (La Poste's batches), in La Poste's answer order.
pub(super) async fn poll(
    laposte: &LaPosteClient,
    numbers: &[String],
    now: DateTime<Utc>,
) -> Vec<(String, Polled)> {
    let mut key_refused = false;
    let mut out = Vec::new();
    for (number, result) in laposte.track(numbers, now).await {
        let polled = match result {
            Ok(snap) => Polled::Tracked(snap),
            Err(TrackError::BadNumber { message }) => Polled::Refused {
                snapshot: TrackingSnapshot::unknown(now),
                message,
            },
            Err(error) if error.is_fatal() => {
                let first = !key_refused;
                key_refused = true;
                Polled::KeyRefused { error, first }
            }
            Err(e) => Polled::Failed(e),
        };
        out.push((number, polled));
    }
    out
}

impl Engine {
    /// Orders changed since the cursor (Magento), into the snapshot, and
    /// the orders earlier passes could not decode, read again by id: the
    /// cursor has moved past those, so without their ids in the state they
    /// would be reported once and then never judged again. Each one that
    /// still does not decode is a pass error, every pass, until it does.
    pub(super) async fn pull_orders(
        &self,
        now: DateTime<Utc>,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let cursor = match self.state.cursor() {
            Ok(Some(c)) => c,
            Ok(None) => self.magento.initial_cursor(now),
            Err(e) => {
                report
                    .errors
                    .push(PassError::state("reading the Magento cursor", e));
                return;
            }
        };
        // The cursor may move past a bad order only once its id is safe in
        // the state.
        let mut hold_cursor = false;
        let known_bad = match self.state.undecodable_orders() {
            Ok(set) => set,
            Err(e) => {
                report.errors.push(PassError::state(
                    "reading the undecodable Magento orders",
                    e,
                ));
                hold_cursor = true;
                BTreeMap::new()
            }
        };
        // The overlap re-reads the newest orders every pass: one already
        // in the snapshot at the same `updated_at` is left out before its
        // shipments and invoices are asked for (a track added later is the
        // re-read of shipments' job, which such an order stays eligible
        // for, not being marked as pulled).
        // An order judged settled is not in the snapshot: its stored
        // `updated_at` comes from the state's index, not decoded.
        let unchanged = |id: u64, at: DateTime<Utc>| {
            !known_bad.contains_key(&id)
                && match snapshot.orders.get(&id) {
                    Some(o) => o.updated_at == at,
                    None => matches!(self.state.stored_updated_at(id), Ok(Some(s)) if s == at),
                }
        };
        let pulled = self
            .magento
            .orders_updated_since_except(cursor, unchanged)
            .await;
        let mut pulled = match pulled {
            Ok(p) => p,
            Err(e) => {
                // The snapshot still judges: time-based rules fire anyway.
                // (The error names Magento itself.)
                report.errors.push(PassError::magento("", e));
                return;
            }
        };
        let seen: BTreeSet<u64> = pulled
            .orders
            .iter()
            .map(|o| o.entity_id)
            .chain(pulled.rejected.iter().filter_map(|e| e.entity_id))
            .collect();
        let again: Vec<u64> = known_bad
            .keys()
            .copied()
            .filter(|id| !seen.contains(id))
            .collect();
        let mut refetched: BTreeSet<u64> = BTreeSet::new();
        let mut refetch_failed = false;
        if !again.is_empty() {
            match self.magento.orders_by_id(&again).await {
                Ok(more) => {
                    refetched.extend(more.orders.iter().map(|o| o.entity_id));
                    pulled.orders.extend(more.orders);
                    pulled.rejected.extend(more.rejected);
                    pulled.flawed.extend(more.flawed);
                }
                Err(e) => {
                    refetch_failed = true;
                    report.errors.push(PassError::magento(
                        format!(
                            "reading again {} Magento order(s) that could not be decoded",
                            again.len()
                        ),
                        e,
                    ));
                }
            }
        }

        let mut bad: BTreeMap<u64, UndecodableOrder> = BTreeMap::new();
        let mut without_id = 0;
        for e in pulled.undecodable() {
            let since = e
                .entity_id
                .and_then(|id| known_bad.get(&id))
                .map(|k| format!(" (since {})", k.first_seen.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            report.errors.push(PassError::order(e.clone(), since));
            let Some(id) = e.entity_id else {
                // Nothing to ask Magento for again: reported this once.
                without_id += 1;
                continue;
            };
            bad.entry(id)
                .and_modify(|b| {
                    b.problem.push_str("; ");
                    b.problem.push_str(&e.to_string());
                })
                .or_insert_with(|| UndecodableOrder {
                    increment_id: e.increment_id.clone(),
                    problem: e.to_string(),
                    first_seen: known_bad.get(&id).map_or(now, |k| k.first_seen),
                });
        }
        for (id, old) in &known_bad {
            if bad.contains_key(id) {
                continue;
            }
            if seen.contains(id) || refetched.contains(id) {
                tracing::info!(entity_id = id, increment_id = ?old.increment_id, "a Magento order decodes again");
            } else if refetch_failed {
                // Not read this pass: still bad as far as anyone knows.
                bad.insert(*id, old.clone());
            } else {
                tracing::info!(entity_id = id, increment_id = ?old.increment_id, "an undecodable Magento order is gone from Magento");
            }
        }
        report.undecodable_orders = bad.len() + without_id;

        // Every order the pull brought back, those already stored unchanged
        // included.
        report.orders_pulled = pulled.orders.len() + pulled.unchanged;
        for order in pulled.orders {
            // An order that could not be stored must be pulled again: the
            // cursor stays before the first such order (one read again by
            // id stays in the set instead: it may be older than the cursor).
            let if_lost = if refetched.contains(&order.entity_id) {
                match known_bad.get(&order.entity_id) {
                    Some(old) => IfLost::StaysUndecodable(old.clone()),
                    None => IfLost::Nothing,
                }
            } else {
                IfLost::PullAgain
            };
            snapshot.writes.push(Write::Order {
                order: order.clone(),
                if_lost,
            });
            self.take_in(order, now, snapshot);
        }
        snapshot.writes.push(Write::Undecodable {
            bad,
            known: known_bad,
        });
        snapshot.writes.push(Write::Cursor {
            newest: pulled.max_updated_at,
            hold: hold_cursor,
        });
    }

    /// An order just read from Magento (pulled, looked up for a card, or its
    /// shipments read again), into the snapshot with its parcels: the one
    /// way in, so that every path reconciles the parcels and marks the
    /// order's shipments as fresh. Storing the order is the caller's, which
    /// knows what a failure to store means for it.
    fn take_in(&self, order: Order, now: DateTime<Utc>, snapshot: &mut Snapshot) {
        snapshot.take_stored_parcels(&self.state, &order);
        self.reconcile_parcels(&order, now, snapshot);
        snapshot.pulled.insert(order.entity_id);
        snapshot.orders.insert(order.entity_id, order);
    }

    /// The parcels of `order` as Magento describes them now, into the
    /// snapshot: new shipments and tracks become parcels to poll; known
    /// parcels keep their tracking and poll schedule; a parcel Magento no
    /// longer has (a track replaced, a number added to a shipment that had
    /// none, a track deleted) is forgotten, and the reason is kept so that
    /// its card is resolved saying why. Magento's shipment list for the
    /// order is the evidence: the caller read it successfully.
    fn reconcile_parcels(&self, order: &Order, now: DateTime<Utc>, snapshot: &mut Snapshot) {
        let parcels = domain::parcels_of(order, &self.classifier);
        let keys: BTreeSet<ProblemKey> = parcels.iter().map(crate::state::parcel_key).collect();
        // The order's parcels are the keys of its increment id, next to
        // one another in the map: a range, not a scan of every parcel
        // (which made a first pass quadratic in the shop's size).
        let first = ProblemKey::Parcel {
            increment_id: order.increment_id.clone(),
            parcel: String::new(),
        };
        let gone: Vec<ProblemKey> = snapshot
            .parcels
            .range(first..)
            .take_while(|(k, _)| k.increment_id() == order.increment_id)
            .filter(|(k, r)| r.parcel.order_entity_id == order.entity_id && !keys.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            let Some(old) = snapshot.parcels.remove(&key) else {
                continue;
            };
            let why = gone_reason(
                &old.parcel.tracking_number,
                Some(old.parcel.shipment_id),
                &parcels,
            );
            tracing::info!(parcel = %key, reason = %why, "Magento no longer has this parcel");
            snapshot.writes.push(Write::ForgetParcel(key.clone()));
            snapshot.forgotten.insert(key, why);
        }
        for parcel in parcels {
            let key = crate::state::parcel_key(&parcel);
            let record = match snapshot.parcels.remove(&key) {
                Some(mut r) => {
                    let tracking = r.parcel.tracking.take();
                    r.parcel = Parcel { tracking, ..parcel };
                    r
                }
                None => ParcelRecord::new(parcel, now),
            };
            snapshot.writes.push(Write::Parcel(record.clone()));
            snapshot.parcels.insert(key, record);
        }
    }

    /// Tracking numbers added later: Magento's "add tracking number" writes
    /// the track alone, without moving the order's `updated_at`
    /// (`TrackRepository::save`), so the incremental pull never sees it.
    /// The shipments of open orders whose La Poste parcel has no number La
    /// Poste can track are read again, at most [`RECHECK_MAX_BATCHES`]
    /// batches of `page_size` orders a pass, taking turns when there are
    /// more. Letters without number are not: an envoi simple has none by
    /// nature, and re-reading every letter would cost requests on every
    /// quiet pass; nor are other carriers' parcels, which La Poste never
    /// tracks anyway.
    pub(super) async fn recheck_tracks(
        &self,
        now: DateTime<Utc>,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let mut waiting: Vec<u64> = snapshot
            .parcels
            .values()
            .filter(|r| {
                matches!(r.parcel.carrier, Carrier::Colissimo | Carrier::Chronopost)
                    && !r.parcel.laposte_tracks()
                    && !snapshot.pulled.contains(&r.parcel.order_entity_id)
            })
            .map(|r| r.parcel.order_entity_id)
            .filter(|id| snapshot.orders.get(id).is_some_and(Order::is_open))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if waiting.is_empty() {
            return;
        }
        let cap = (self.config.magento.page_size as usize).max(1) * RECHECK_MAX_BATCHES;
        if waiting.len() > cap {
            // Take turns: a different window every quarter of an hour, so
            // that every order is re-read within len / cap quarters.
            let turn = usize::try_from(now.timestamp().max(0) / 900).unwrap_or(0);
            let start = turn.wrapping_mul(cap) % waiting.len();
            waiting.rotate_left(start);
            waiting.truncate(cap);
        }
        let answer = match self.magento.shipments_of(&waiting).await {
            Ok(r) => r,
            Err(e) => {
                report
                    .errors
                    .push(PassError::magento("re-reading shipments", e));
                return;
            }
        };
        let mut unreadable = BTreeSet::new();
        for bad in &answer.rejected {
            report.errors.push(PassError::shipment(bad.clone()));
            unreadable.insert(bad.order_id);
        }
        report.shipments_rechecked = waiting.len();
        for id in waiting {
            // A shipment that could not be decoded is missing from the list:
            // that is no evidence its parcels are gone. Nor is an empty list
            // (Magento's admin cannot delete a shipment).
            let Some(shipments) = answer
                .by_order
                .get(&id)
                .filter(|s| !s.is_empty() && !unreadable.contains(&id))
            else {
                continue;
            };
            let Some(order) = snapshot.orders.get(&id) else {
                continue;
            };
            if &order.shipments == shipments {
                continue;
            }
            let mut order = order.clone();
            order.shipments = shipments.clone();
            snapshot.writes.push(Write::Order {
                order: order.clone(),
                if_lost: IfLost::Nothing,
            });
            self.take_in(order, now, snapshot);
        }
    }

    /// The orders of the board's open cards that the snapshot does not have
    /// (the state was lost, or the order is older than `lookback_days` and
    /// was never pulled again), looked up in Magento and added to the
    /// snapshot with their parcels, which are then polled as usual. Returns
    /// the increment ids whose lookup failed: nothing is planned for their
    /// cards this pass.
    pub(super) async fn look_up_card_orders(
        &self,
        now: DateTime<Utc>,
        read: &BoardRead,
        case_orders: &BTreeSet<String>,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) -> BTreeSet<String> {
        let known: BTreeSet<&str> = snapshot
            .orders
            .values()
            .map(|o| o.increment_id.as_str())
            .collect();
        let resolved_id = read.resolved_list.id.as_deref();
        // Open cards: recorded as open, or (not recorded) carrying a marker,
        // not archived, outside the resolved list: adoption candidates.
        let mut wanted: BTreeSet<String> = read
            .records
            .iter()
            .filter(|(_, r)| r.status == CardStatus::Open)
            .map(|(k, _)| k.increment_id().to_owned())
            .collect();
        wanted.extend(
            read.cards
                .iter()
                .filter(|c| !c.closed && resolved_id != Some(c.id_list.as_str()))
                .filter_map(|c| parse_marker(&c.desc))
                .filter(|k| !read.records.contains_key(k))
                .map(|k| k.increment_id().to_owned()),
        );
        // The orders of open cases, which may have no card yet.
        wanted.extend(case_orders.iter().cloned());
        wanted.retain(|id| !known.contains(id.as_str()));
        if wanted.is_empty() {
            return BTreeSet::new();
        }
        let wanted: Vec<String> = wanted.into_iter().collect();
        let (orders, rejected) = match self.magento.orders_by_increment_ids(&wanted).await {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(
                    PassError::magento(
                        format!(
                            "looking up the orders of {} open cards the pull did not bring back",
                            wanted.len()
                        ),
                        e,
                    )
                    .then("; nothing done for those cards this pass"),
                );
                return wanted.into_iter().collect();
            }
        };
        let mut unknown = BTreeSet::new();
        for bad in rejected {
            match &bad.increment_id {
                Some(id) => {
                    unknown.insert(id.clone());
                }
                // Nothing tells which card it is: hold them all.
                None => unknown.extend(wanted.iter().cloned()),
            }
            report.errors.push(PassError::order(
                bad,
                "; nothing done for its cards this pass",
            ));
        }
        tracing::info!(
            asked = wanted.len(),
            found = orders.len(),
            "looked up the orders of open cards missing from the snapshot"
        );
        for order in orders
            .into_iter()
            .filter(|o| !unknown.contains(&o.increment_id))
        {
            snapshot.writes.push(Write::Order {
                order: order.clone(),
                if_lost: IfLost::Nothing,
            });
            self.take_in(order, now, snapshot);
        }
        unknown
    }

    /// Parcels due a poll (La Poste), into the snapshot.
    pub(super) async fn track_parcels(
        &self,
        now: DateTime<Utc>,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let due: Vec<String> = snapshot
            .parcels
            .values()
            .filter(|r| r.is_due(now) && !r.parcel.tracking_number.is_empty())
            .map(|r| r.parcel.tracking_number.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if due.is_empty() {
            return;
        }
        let by_number: HashMap<String, Vec<ProblemKey>> =
            snapshot
                .parcels
                .iter()
                .fold(HashMap::new(), |mut m, (k, r)| {
                    m.entry(r.parcel.tracking_number.to_uppercase())
                        .or_default()
                        .push(k.clone());
                    m
                });
        for (number, polled) in poll(&self.laposte, &due, now).await {
            let snap = match polled {
                Polled::Tracked(s) => s,
                Polled::Refused { snapshot, message } => {
                    tracing::warn!(number = %number, reason = %message, "La Poste refuses this tracking number");
                    snapshot
                }
                // One error for the pass, naming the setting to fix,
                // instead of one per parcel.
                Polled::KeyRefused { error, first } => {
                    if first {
                        report.errors.push(
                            PassError::laposte("", error)
                                .then("; check laposte.api_key in the configuration"),
                        );
                    }
                    continue;
                }
                Polled::Failed(e) => {
                    report
                        .errors
                        .push(PassError::laposte(format!("tracking {number}"), e));
                    continue;
                }
            };
            report.parcels_polled += 1;
            for key in by_number.get(&number.to_uppercase()).into_iter().flatten() {
                if let Some(record) = snapshot.parcels.get_mut(key) {
                    record.record_poll(snap.clone(), now);
                    snapshot.writes.push(Write::Parcel(record.clone()));
                }
            }
        }
    }
}
