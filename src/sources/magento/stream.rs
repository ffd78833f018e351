//! The incremental pull's list entries as they come, page by page: each
//! one is decoded (with its shipments and invoices) once `page_size` of
//! them wait, and its raw JSON dropped. A first pass over a large shop
//! would otherwise hold every raw order, shipment and invoice of the shop
//! as `serde_json::Value`s at once, many times the size of the decoded
//! orders.
//!
//! It keeps the meaning of merging every page first and decoding at the
//! end ([`super::decode::merge_page`], then leaving out the orders the
//! caller has unchanged): a later copy of an order replaces the earlier
//! one; an identical copy (the last instant of a page read again by key)
//! is not news and costs nothing; the batches of ids for shipments and
//! invoices are the same `page_size` ids in the same order, so the
//! requests are those of decoding at the end. Only a copy that differs
//! from one already decoded (an order saved in the admin during the pull)
//! is decoded again, its shipments and invoices asked for again with a
//! later batch.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::decode::{as_u64, parse_updated_at};
use super::errors::Decoded;
use crate::domain::Order;

/// Where the latest copy of an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting in [`Stream::pending`] for its batch.
    Pending,
    /// Decoded (an order, or rejected).
    Done,
    /// The caller already has it at this `updated_at`: left out.
    Unchanged,
}

/// What the pull last saw of one order, without its JSON.
#[derive(Debug)]
struct Seen {
    /// A digest of the latest copy, to tell a copy served again from an
    /// order changed during the pull without keeping the copy.
    digest: u64,
    updated_at: Option<DateTime<Utc>>,
    stage: Stage,
}

/// The pull's entries, merged and decoded as they come.
#[derive(Debug, Default)]
pub(super) struct Stream {
    /// Entries waiting for their shipments and invoices, in the order they
    /// were first seen (entries without `entity_id` included, so that the
    /// decoder reports them).
    pending: Vec<Value>,
    /// Entries of `pending` that have an `entity_id`: what a batch counts.
    pending_ids: usize,
    seen: HashMap<u64, Seen>,
    /// The greatest `updated_at` of the entries without `entity_id`.
    newest_without_id: Option<DateTime<Utc>>,
    orders: HashMap<u64, Order>,
    decoded: Decoded,
    unchanged: usize,
}

/// What the whole pull gave, once every entry is decoded.
pub(super) struct Streamed {
    pub(super) decoded: Decoded,
    pub(super) max_updated_at: Option<DateTime<Utc>>,
    pub(super) unchanged: usize,
}

impl Stream {
    /// Adds one page's entries; returns how many were new or changed since
    /// their earlier copy (as [`super::decode::merge_page`] counts them).
    pub(super) fn add_page(
        &mut self,
        items: Vec<Value>,
        unchanged: &impl Fn(u64, DateTime<Utc>) -> bool,
    ) -> usize {
        let mut fresh = 0;
        for item in items {
            let at = parse_updated_at(&item);
            let Some(id) = item.get("entity_id").and_then(as_u64) else {
                self.newest_without_id = self.newest_without_id.max(at);
                self.pending.push(item);
                fresh += 1;
                continue;
            };
            let digest = digest(&item);
            let before = match self.seen.get_mut(&id) {
                Some(seen) if seen.digest == digest => continue,
                Some(seen) => {
                    seen.digest = digest;
                    seen.updated_at = at;
                    Some(seen.stage)
                }
                None => None,
            };
            fresh += 1;
            match before {
                Some(Stage::Pending) => self.drop_pending(id),
                Some(Stage::Done) => self.drop_decoded(id),
                Some(Stage::Unchanged) => self.unchanged -= 1,
                None => {}
            }
            let stage = if at.is_some_and(|at| unchanged(id, at)) {
                self.unchanged += 1;
                Stage::Unchanged
            } else {
                self.pending.push(item);
                self.pending_ids += 1;
                Stage::Pending
            };
            self.seen
                .entry(id)
                .and_modify(|s| s.stage = stage)
                .or_insert(Seen {
                    digest,
                    updated_at: at,
                    stage,
                });
        }
        fresh
    }

    /// The next batch of `size` ids' entries, if that many wait (or every
    /// entry left, when `all`).
    pub(super) fn next_batch(&mut self, size: usize, all: bool) -> Option<Vec<Value>> {
        if self.pending.is_empty() || (!all && self.pending_ids < size) {
            return None;
        }
        let mut with_id = 0;
        let mut end = 0;
        while end < self.pending.len() {
            let has_id = self.pending[end]
                .get("entity_id")
                .and_then(as_u64)
                .is_some();
            if has_id && with_id == size {
                break;
            }
            with_id += usize::from(has_id);
            end += 1;
        }
        self.pending_ids -= with_id;
        Some(self.pending.drain(..end).collect())
    }

    /// Takes in a batch as decoded.
    pub(super) fn add_decoded(&mut self, d: Decoded) {
        for order in d.orders {
            if let Some(seen) = self.seen.get_mut(&order.entity_id) {
                seen.stage = Stage::Done;
            }
            self.orders.insert(order.entity_id, order);
        }
        for e in &d.rejected {
            if let Some(seen) = e.entity_id.and_then(|id| self.seen.get_mut(&id)) {
                seen.stage = Stage::Done;
            }
        }
        self.decoded.rejected.extend(d.rejected);
        self.decoded.flawed.extend(d.flawed);
    }

    pub(super) fn finish(mut self) -> Streamed {
        let max_updated_at = self
            .seen
            .values()
            .filter_map(|s| s.updated_at)
            .max()
            .max(self.newest_without_id);
        let mut orders: Vec<Order> = self.orders.into_values().collect();
        orders.sort_by_key(|o| (o.updated_at, o.entity_id));
        self.decoded.orders = orders;
        Streamed {
            decoded: self.decoded,
            max_updated_at,
            unchanged: self.unchanged,
        }
    }

    fn drop_pending(&mut self, id: u64) {
        if let Some(i) = self
            .pending
            .iter()
            .position(|v| v.get("entity_id").and_then(as_u64) == Some(id))
        {
            self.pending.remove(i);
            self.pending_ids -= 1;
        }
    }

    /// Forgets what an earlier copy decoded to: only the latest copy counts.
    fn drop_decoded(&mut self, id: u64) {
        self.orders.remove(&id);
        self.decoded.rejected.retain(|e| e.entity_id != Some(id));
        self.decoded.flawed.retain(|e| e.entity_id != Some(id));
    }
}

/// A digest of a JSON value that equal values share whatever the order of
/// their objects' keys (`Value`'s equality ignores it).
fn digest(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    hash_value(v, &mut h);
    h.finish()
}

fn hash_value(v: &Value, h: &mut DefaultHasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => {
            // The three kinds `Number`'s equality tells apart.
            if let Some(u) = n.as_u64() {
                (2u8, u).hash(h)
            } else if let Some(i) = n.as_i64() {
                (3u8, i).hash(h)
            } else {
                (4u8, n.as_f64().map(f64::to_bits)).hash(h)
            }
        }
        Value::String(s) => (5u8, s).hash(h),
        Value::Array(items) => {
            (6u8, items.len()).hash(h);
            for item in items {
                hash_value(item, h);
            }
        }
        Value::Object(map) => {
            let entries = map.iter().fold(0u64, |sum, (k, v)| {
                let mut e = DefaultHasher::new();
                k.hash(&mut e);
                hash_value(v, &mut e);
                sum.wrapping_add(e.finish())
            });
            (7u8, map.len(), entries).hash(h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_share_a_digest_and_changed_ones_do_not() {
        let a = json!({"entity_id": 1, "updated_at": "2026-05-01 10:00:00", "items": [{"qty": 1}]});
        let same: Value = serde_json::from_str(
            r#"{"items":[{"qty":1}],"updated_at":"2026-05-01 10:00:00","entity_id":1}"#,
        )
        .expect("json");
        assert_eq!(digest(&a), digest(&same));
        let changed =
            json!({"entity_id": 1, "updated_at": "2026-05-01 10:00:00", "items": [{"qty": 1.0}]});
        assert_ne!(digest(&a), digest(&changed));
        let moved =
            json!({"entity_id": 1, "updated_at": "2026-05-01 10:00:01", "items": [{"qty": 1}]});
        assert_ne!(digest(&a), digest(&moved));
    }

    #[test]
    fn batches_count_ids_and_a_changed_copy_replaces_the_waiting_one() {
        let mut s = Stream::default();
        let never = |_: u64, _: DateTime<Utc>| false;
        let page = vec![
            json!({"entity_id": 1, "updated_at": "2026-05-01 10:00:00"}),
            json!({"updated_at": "2026-05-01 10:00:00"}),
            json!({"entity_id": 2, "updated_at": "2026-05-01 10:00:01"}),
        ];
        assert_eq!(s.add_page(page, &never), 3);
        // Served again, one of them changed.
        let again = vec![
            json!({"entity_id": 2, "updated_at": "2026-05-01 10:00:01"}),
            json!({"entity_id": 1, "updated_at": "2026-05-01 10:00:05"}),
        ];
        assert_eq!(s.add_page(again, &never), 1);
        let batch = s.next_batch(2, false).expect("two ids wait");
        let ids: Vec<Option<u64>> = batch
            .iter()
            .map(|v| v.get("entity_id").and_then(as_u64))
            .collect();
        assert_eq!(ids, vec![None, Some(2), Some(1)]);
        assert!(s.next_batch(2, true).is_none());
        let done = s.finish();
        assert_eq!(
            done.max_updated_at,
            parse_updated_at(&json!({"updated_at": "2026-05-01 10:00:05"}))
        );
    }
}
