//! The store's trees as typed accessors: `meta` (cursor, last writing
//! pass, undecodable orders), `orders`, `parcels`, `cards` and the
//! `journal`; writes of orders and parcels keep the indexes of
//! `index.rs` in step. Values go in and out as the records of `records.rs`,
//! converted at this boundary (`convert.rs`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::records as r;
use super::{
    CardRecord, CardStatus, Intent, IntentId, META_CURSOR, META_LAST_WRITE, META_UNDECODABLE,
    ParcelRecord, State, StateError, UndecodableOrder, decode, encode, parcel_key, sled_err,
    u64_key,
};
use crate::domain::{Case, ProblemKey};
use crate::domain::{Order, OrderState};

impl State {
    // ----- meta ---------------------------------------------------------

    /// The Magento cursor: orders updated at or after it are pulled next.
    pub fn cursor(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        self.get_json(&self.meta, "meta", META_CURSOR)
    }

    pub fn set_cursor(&self, at: DateTime<Utc>) -> Result<(), StateError> {
        self.put_json(&self.meta, "meta", META_CURSOR, &at)
    }

    /// The instant (`now`) of the last pass that wrote to the board: a pass
    /// earlier than it must write nothing (time only moves forward).
    pub fn last_write_at(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        self.get_json(&self.meta, "meta", META_LAST_WRITE)
    }

    /// Forgets the last writing pass's instant (`colisync once
    /// --reset-clock`, the way out of a mistaken `--now` in the future);
    /// returns what it was. Flushed: the admin's decision must survive a
    /// crash of the pass that follows.
    pub fn forget_last_write_at(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        let last = self.last_write_at()?;
        self.meta
            .remove(META_LAST_WRITE.as_bytes())
            .map_err(sled_err("forgetting the last pass's instant"))?;
        self.flush()?;
        Ok(last)
    }

    /// Records `at` as the last writing pass's instant; never moves it back.
    pub fn note_write_at(&self, at: DateTime<Utc>) -> Result<(), StateError> {
        match self.last_write_at()? {
            Some(last) if last >= at => Ok(()),
            _ => self.put_json(&self.meta, "meta", META_LAST_WRITE, &at),
        }
    }

    /// When the last process's recent Trello requests completed (see
    /// `TrelloClient::resume_requests`); empty when none was kept.
    pub fn trello_recent(&self) -> Result<Vec<DateTime<Utc>>, StateError> {
        Ok(self
            .get_json(&self.meta, "meta", super::META_TRELLO_RECENT)?
            .unwrap_or_default())
    }

    pub fn set_trello_recent(&self, at: &[DateTime<Utc>]) -> Result<(), StateError> {
        self.put_json(&self.meta, "meta", super::META_TRELLO_RECENT, &at)
    }

    /// Orders that could not be decoded, by entity id (see
    /// [`UndecodableOrder`]).
    pub(crate) fn undecodable_orders(&self) -> Result<BTreeMap<u64, UndecodableOrder>, StateError> {
        let set: Option<r::UndecodableOrders> =
            self.get_json(&self.meta, "meta", META_UNDECODABLE)?;
        Ok(set
            .unwrap_or_default()
            .into_iter()
            .map(|(id, u)| (id, u.into()))
            .collect())
    }

    pub(crate) fn set_undecodable_orders(
        &self,
        set: &BTreeMap<u64, UndecodableOrder>,
    ) -> Result<(), StateError> {
        let set: r::UndecodableOrders = set.iter().map(|(id, u)| (*id, u.into())).collect();
        self.put_json(&self.meta, "meta", META_UNDECODABLE, &set)
    }

    // ----- orders -------------------------------------------------------

    pub fn order(&self, entity_id: u64) -> Result<Option<Order>, StateError> {
        let key = entity_id.to_string();
        match self
            .orders
            .get(entity_id.to_be_bytes())
            .map_err(sled_err(format!("reading orders/{key}")))?
        {
            Some(bytes) => decode::<r::Order>("orders", &key, &bytes).map(|o| Some(o.into())),
            None => Ok(None),
        }
    }

    pub fn put_order(&self, order: &Order) -> Result<(), StateError> {
        let key = order.entity_id.to_string();
        let bytes = encode("orders", &key, &r::Order::from(order))?;
        self.orders
            .insert(order.entity_id.to_be_bytes(), bytes)
            .map_err(sled_err(format!("writing orders/{key}")))?;
        super::index::index_order(&self.open_index, &self.order_times, order)
    }

    /// Every order the rules must judge on a pass: all but cancelled and
    /// closed orders (which fire nothing). Shipped (`complete`) orders stay:
    /// their parcels are judged through them until the order is closed or
    /// falls out of the snapshot. An undecodable order is logged (with its
    /// key) and skipped rather than failing the whole pass.
    pub fn open_orders(&self) -> Result<Vec<Order>, StateError> {
        let mut out = Vec::new();
        for entry in self.orders.iter() {
            let (k, v) = entry.map_err(sled_err("iterating orders"))?;
            let key = u64_key(&k).map_or_else(|| format!("{k:?}"), |id| id.to_string());
            match decode::<r::Order>("orders", &key, &v).map(Order::from) {
                Ok(order) if matches!(order.state, OrderState::Canceled | OrderState::Closed) => {}
                Ok(order) => out.push(order),
                Err(e) => tracing::error!(error = %e, "skipping undecodable order"),
            }
        }
        Ok(out)
    }

    /// Forgets orders last updated before `cutoff` (and their parcels): the
    /// snapshot covers `magento.lookback_days`, no more. An order whose
    /// problem still has an open card is kept whatever its age: forgetting
    /// it would "resolve" a problem that is still there (an original
    /// cartridge order waiting for months, a parcel lost for good).
    pub fn prune_orders(&self, cutoff: DateTime<Utc>) -> Result<usize, StateError> {
        let open_cards: BTreeSet<String> = self
            .cards()?
            .into_iter()
            .filter(|(_, r)| r.status == CardStatus::Open)
            .map(|(k, _)| k.increment_id().to_owned())
            .collect();
        let mut removed = 0;
        // Through `order_times`: only the expired orders are decoded.
        for id in self.orders_updated_before(cutoff)? {
            let key = id.to_string();
            let Ok(Some(order)) = self.order(id) else {
                continue;
            };
            if order.updated_at < cutoff && !open_cards.contains(&order.increment_id) {
                for p in self.parcels_of(&order)? {
                    self.remove_parcel(&p.key())?;
                }
                let k = id.to_be_bytes();
                self.orders
                    .remove(k)
                    .map_err(sled_err(format!("removing orders/{key}")))?;
                for tree in [&self.open_index, &self.order_times] {
                    tree.remove(k)
                        .map_err(sled_err(format!("unindexing orders/{key}")))?;
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    // ----- parcels ------------------------------------------------------

    pub fn parcel(&self, key: &ProblemKey) -> Result<Option<ParcelRecord>, StateError> {
        let record: Option<r::ParcelRecord> =
            self.get_json(&self.parcels, "parcels", &key.to_string())?;
        Ok(record.map(Into::into))
    }

    /// The record stored under exactly `key` (a legacy form included).
    pub(super) fn get_parcel_raw(&self, key: &str) -> Result<Option<r::ParcelRecord>, StateError> {
        self.get_json(&self.parcels, "parcels", key)
    }

    pub fn put_parcel(&self, record: &ParcelRecord) -> Result<(), StateError> {
        let key = record.key();
        let shown = key.to_string();
        self.put_json(
            &self.parcels,
            "parcels",
            &shown,
            &r::ParcelRecord::from(record),
        )?;
        super::index::index_parcel(&self.due, &shown, record)?;
        self.remove_legacy(&self.parcels, "parcels", &key)
    }

    /// Forgets a parcel Magento no longer has (its track was replaced or
    /// deleted). Its card record, if any, stays: the plan resolves it.
    pub fn remove_parcel(&self, key: &ProblemKey) -> Result<(), StateError> {
        for tree in [&self.parcels, &self.due] {
            tree.remove(key.to_string().as_bytes())
                .map_err(sled_err(format!("removing parcels/{key}")))?;
        }
        self.remove_legacy(&self.parcels, "parcels", key)
    }

    /// Records a parcel as Magento describes it (a shipment and its track),
    /// keeping what La Poste said and the poll schedule if it is known
    /// already. Returns the stored record.
    pub fn upsert_parcel(
        &self,
        parcel: crate::domain::Parcel,
        now: DateTime<Utc>,
    ) -> Result<ParcelRecord, StateError> {
        let record = match self.parcel(&parcel_key(&parcel))? {
            Some(mut known) => {
                let tracking = known.parcel.tracking.take();
                known.parcel = crate::domain::Parcel { tracking, ..parcel };
                known
            }
            None => ParcelRecord::new(parcel, now),
        };
        self.put_parcel(&record)?;
        Ok(record)
    }

    /// The parcels of one order (by its shipments' parcels' keys).
    pub fn parcels_of(&self, order: &Order) -> Result<Vec<ParcelRecord>, StateError> {
        let prefix = ProblemKey::parcel_prefix(&order.increment_id);
        let legacy = format!("parcel/{}/", order.increment_id);
        let mut prefixes = vec![prefix];
        if legacy != prefixes[0] {
            prefixes.push(legacy);
        }
        let mut out: BTreeMap<ProblemKey, (bool, ParcelRecord)> = BTreeMap::new();
        for prefix in &prefixes {
            for entry in self.parcels.scan_prefix(prefix.as_bytes()) {
                let (k, v) = entry.map_err(sled_err("iterating parcels"))?;
                let key = String::from_utf8_lossy(&k).into_owned();
                match decode::<r::ParcelRecord>("parcels", &key, &v).map(ParcelRecord::from) {
                    // An increment id containing '/' could share the prefix.
                    Ok(r) if r.parcel.order_entity_id == order.entity_id => {
                        keep_canonical(&mut out, &key, r.key(), r)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "skipping undecodable parcel"),
                }
            }
        }
        Ok(out.into_values().map(|(_, r)| r).collect())
    }

    /// Every parcel record (the pass's snapshot).
    pub fn parcels(&self) -> Result<Vec<ParcelRecord>, StateError> {
        let mut out: BTreeMap<ProblemKey, (bool, ParcelRecord)> = BTreeMap::new();
        for entry in self.parcels.iter() {
            let (k, v) = entry.map_err(sled_err("iterating parcels"))?;
            let key = String::from_utf8_lossy(&k).into_owned();
            match decode::<r::ParcelRecord>("parcels", &key, &v).map(ParcelRecord::from) {
                Ok(r) => keep_canonical(&mut out, &key, r.key(), r),
                Err(e) => tracing::error!(error = %e, "skipping undecodable parcel"),
            }
        }
        Ok(out.into_values().map(|(_, r)| r).collect())
    }

    /// Parcels whose next poll is due at `now` (see [`poll`]).
    pub fn parcels_due(&self, now: DateTime<Utc>) -> Result<Vec<ParcelRecord>, StateError> {
        Ok(self
            .parcels()?
            .into_iter()
            .filter(|r| r.is_due(now))
            .collect())
    }

    // ----- cards --------------------------------------------------------

    pub fn card(&self, key: &ProblemKey) -> Result<Option<CardRecord>, StateError> {
        let record: Option<r::CardRecord> =
            self.get_json(&self.cards, "cards", &key.to_string())?;
        Ok(record.map(Into::into))
    }

    pub fn put_card(&self, key: &ProblemKey, record: &CardRecord) -> Result<(), StateError> {
        self.put_json(
            &self.cards,
            "cards",
            &key.to_string(),
            &r::CardRecord::from(record),
        )?;
        self.remove_legacy(&self.cards, "cards", key)
    }

    /// Every card record. A record that cannot be decoded (or whose key is
    /// not a problem key) is logged and skipped: the planner then finds the
    /// card on the board by its marker and adopts it again.
    pub fn cards(&self) -> Result<BTreeMap<ProblemKey, CardRecord>, StateError> {
        let mut out: BTreeMap<ProblemKey, (bool, CardRecord)> = BTreeMap::new();
        for entry in self.cards.iter() {
            let (k, v) = entry.map_err(sled_err("iterating cards"))?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let parsed = key
                .parse::<ProblemKey>()
                .map_err(|message| StateError::Decode {
                    tree: "cards",
                    key: key.clone(),
                    message,
                });
            let decoded = |pk| {
                let record = decode::<r::CardRecord>("cards", &key, &v)?;
                Ok((pk, CardRecord::from(record)))
            };
            match parsed.and_then(decoded) {
                Ok((pk, record)) => keep_canonical(&mut out, &key, pk, record),
                Err(e) => tracing::error!(error = %e, "skipping undecodable card record"),
            }
        }
        Ok(out.into_iter().map(|(k, (_, r))| (k, r)).collect())
    }

    // ----- cases --------------------------------------------------------

    /// Every case. A record that cannot be decoded is logged and skipped
    /// (its card stays as it is: nothing resolves a case but a lead).
    pub fn cases(&self) -> Result<BTreeMap<ProblemKey, Case>, StateError> {
        let mut out = BTreeMap::new();
        for entry in self.cases.iter() {
            let (k, v) = entry.map_err(sled_err("iterating cases"))?;
            let key = String::from_utf8_lossy(&k).into_owned();
            match decode::<r::CaseRecord>("cases", &key, &v) {
                Ok(record) => {
                    let case = Case::from(record);
                    out.insert(case.key(), case);
                }
                Err(e) => tracing::error!(error = %e, "skipping undecodable case record"),
            }
        }
        Ok(out)
    }

    /// Writes a case (not flushed: the pass flushes).
    pub fn put_case(&self, case: &Case) -> Result<(), StateError> {
        self.put_json(
            &self.cases,
            "cases",
            &case.key().to_string(),
            &r::CaseRecord::from(case),
        )
    }

    // ----- journal ------------------------------------------------------

    /// Writes an intent (not flushed: the caller flushes before the Trello
    /// call, see `plan::apply`).
    pub fn begin_intent(&self, intent: &Intent) -> Result<IntentId, StateError> {
        let id = self
            .db
            .generate_id()
            .map_err(sled_err("generating intent id"))?;
        self.put_intent(IntentId(id), intent)?;
        Ok(IntentId(id))
    }

    /// Rewrites an intent in place (progress of a multi-step action).
    pub(crate) fn put_intent(&self, id: IntentId, intent: &Intent) -> Result<(), StateError> {
        let bytes = encode("journal", &id.0.to_string(), &r::Intent::from(intent))?;
        self.journal
            .insert(id.0.to_be_bytes(), bytes)
            .map_err(sled_err(format!("writing journal/{}", id.0)))?;
        Ok(())
    }

    /// Removes a settled intent, and in the same transaction records the
    /// card outcome if there is one: the two reach the disk together or not
    /// at all. Not flushed.
    pub fn settle_intent(
        &self,
        id: IntentId,
        outcome: Option<(&ProblemKey, &CardRecord)>,
    ) -> Result<(), StateError> {
        let card = match outcome {
            Some((key, record)) => {
                let k = key.to_string();
                let bytes = encode("cards", &k, &r::CardRecord::from(record))?;
                Some((k.clone(), key.legacy_form(), bytes))
            }
            None => None,
        };
        (&self.cards, &self.journal)
            .transaction(|(cards, journal)| {
                if let Some((k, legacy, bytes)) = &card {
                    cards.insert(k.as_bytes(), bytes.as_slice())?;
                    if let Some(legacy) = legacy {
                        cards.remove(legacy.as_bytes())?;
                    }
                }
                journal.remove(&id.0.to_be_bytes())?;
                Ok::<(), ConflictableTransactionError<std::convert::Infallible>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(never) => match never {},
                TransactionError::Storage(source) => StateError::Sled {
                    context: format!("settling journal/{}", id.0),
                    source,
                },
            })
    }

    /// Intents begun and not settled, oldest first: settled at the start of
    /// every pass. An undecodable intent is reported as an error (it names
    /// its id) so that the operator sees it; it stays in the journal.
    pub fn pending_intents(&self) -> Result<Vec<(IntentId, Intent)>, StateError> {
        let mut out = Vec::new();
        for entry in self.journal.iter() {
            let (k, v) = entry.map_err(sled_err("iterating journal"))?;
            let Some(id) = u64_key(&k) else {
                return Err(StateError::Decode {
                    tree: "journal",
                    key: format!("{k:?}"),
                    message: "not an intent id".into(),
                });
            };
            let intent = decode::<r::Intent>("journal", &id.to_string(), &v)?;
            out.push((IntentId(id), intent.into()));
        }
        Ok(out)
    }

    // ----- helpers ------------------------------------------------------

    /// Drops the record a key had under its form from before the encoding,
    /// once it is written under today's.
    fn remove_legacy(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &ProblemKey,
    ) -> Result<(), StateError> {
        if let Some(legacy) = key.legacy_form() {
            tree.remove(legacy.as_bytes())
                .map_err(sled_err(format!("removing {name}/{legacy}")))?;
        }
        Ok(())
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &str,
    ) -> Result<Option<T>, StateError> {
        match tree
            .get(key.as_bytes())
            .map_err(sled_err(format!("reading {name}/{key}")))?
        {
            Some(bytes) => decode(name, key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn put_json<T: Serialize>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        key: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let bytes = encode(name, key, value)?;
        tree.insert(key.as_bytes(), bytes)
            .map_err(sled_err(format!("writing {name}/{key}")))?;
        Ok(())
    }
}

/// Collects a record read under `stored` (a tree's key) for `key`: when a
/// key has a record under today's form and one under its form from before
/// the encoding, today's is the one written last by this build.
fn keep_canonical<T>(
    out: &mut BTreeMap<ProblemKey, (bool, T)>,
    stored: &str,
    key: ProblemKey,
    record: T,
) {
    let canonical = stored == key.to_string();
    match out.get(&key) {
        Some((true, _)) if !canonical => {}
        _ => {
            out.insert(key, (canonical, record));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Severity;

    #[test]
    fn records_under_a_key_written_before_the_encoding_are_read_then_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let t = Utc::now();
        let key = ProblemKey::Order {
            increment_id: "Müller*1".into(),
        };
        let legacy = key.legacy_form().expect("the encoding changes it");
        let record = |id: &str| CardRecord {
            card_id: id.into(),
            list_id: "l".into(),
            fingerprint: String::new(),
            rule: None,
            severity: Severity::Late,
            status: CardStatus::Open,
            filed_at: t,
            updated_at: t,
            label_ids: vec![],
            due: None,
            stage: None,
        };
        let old = record("old");
        state
            .cards
            .insert(
                legacy.as_bytes(),
                encode("cards", &legacy, &r::CardRecord::from(&old)).unwrap(),
            )
            .unwrap();
        assert_eq!(state.cards().unwrap().get(&key), Some(&old));
        state.put_card(&key, &record("new")).unwrap();
        assert!(state.cards.get(legacy.as_bytes()).unwrap().is_none());
        assert_eq!(state.cards().unwrap().get(&key), Some(&record("new")));

        // A parcel record likewise, found by its order.
        let p = crate::domain::Parcel {
            order_entity_id: 9,
            order_increment_id: "Müller*1".into(),
            shipment_id: 3,
            tracking_number: "A/B".into(),
            carrier: crate::domain::Carrier::Colissimo,
            shipped_at: t,
            tracking: None,
        };
        let rec = ParcelRecord::new(p, t);
        let legacy = rec.key().legacy_form().expect("the encoding changes it");
        state
            .parcels
            .insert(
                legacy.as_bytes(),
                encode("parcels", &legacy, &r::ParcelRecord::from(&rec)).unwrap(),
            )
            .unwrap();
        assert_eq!(state.parcels().unwrap(), vec![rec.clone()]);
        state.put_parcel(&rec).unwrap();
        assert!(state.parcels.get(legacy.as_bytes()).unwrap().is_none());
        assert_eq!(state.parcels().unwrap(), vec![rec.clone()]);
        state.remove_parcel(&rec.key()).unwrap();
        assert!(state.parcels().unwrap().is_empty());
    }
}
