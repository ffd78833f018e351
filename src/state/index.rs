//! The store's indexes: which orders still have work (`open_orders`), when
//! each order was last updated (`order_times`), and which parcels La Poste
//! may still be asked about (`due`). They let a pass read only its open
//! work and let pruning find expired orders, without decoding every order
//! of the store. The records stay the truth: an index entry only says
//! where to look, and whoever reads through it checks the record.
//!
//! Maintained by every write of an order or a parcel (`trees.rs`); the one
//! removal from `open_orders` that is not a write is
//! [`State::settle_orders`], which the pass calls for orders its judge
//! found with nothing left to do. Built from the records by the schema
//! step that introduced them (`migrate.rs`).

use chrono::{DateTime, Utc};

use super::{ParcelRecord, State, StateError, sled_err, u64_key};
use crate::domain::{Order, OrderState};

/// Tree names, also used by the migration that builds them.
pub(super) const OPEN_ORDERS: &str = "open_orders";
pub(super) const ORDER_TIMES: &str = "order_times";
pub(super) const DUE: &str = "due";

/// Whether an order goes in `open_orders` when it is written: every order
/// the rules may judge. Cancelled and closed orders fire nothing and were
/// never loaded for judging; every other order is open until a pass judges
/// it settled (pessimistic: new evidence reopens it).
pub(super) fn indexed_open(order: &Order) -> bool {
    !matches!(order.state, OrderState::Canceled | OrderState::Closed)
}

/// Whether a parcel goes in `due`: one La Poste may still be asked about
/// (a schedule, or never polled yet). A final parcel or one La Poste
/// cannot follow is never due again.
pub(super) fn indexed_due(record: &ParcelRecord) -> bool {
    record.parcel.laposte_tracks()
        && (record.next_poll_at.is_some() || record.parcel.tracking.is_none())
}

/// `updated_at` as 12 bytes: seconds (big-endian, sign bit flipped so that
/// byte order is time order) and nanoseconds. Exact, so that "unchanged"
/// compares equal exactly as the decoded order would.
pub(super) fn time_bytes(at: DateTime<Utc>) -> [u8; 12] {
    let mut out = [0u8; 12];
    let secs = (at.timestamp() as u64) ^ (1 << 63);
    out[..8].copy_from_slice(&secs.to_be_bytes());
    out[8..].copy_from_slice(&at.timestamp_subsec_nanos().to_be_bytes());
    out
}

fn time_of(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let secs = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?) ^ (1 << 63);
    let nanos = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    DateTime::from_timestamp(secs as i64, nanos)
}

/// The index entries of one order write, applied to the trees given (the
/// store's, or the migration's).
pub(super) fn index_order(
    open: &sled::Tree,
    times: &sled::Tree,
    order: &Order,
) -> Result<(), StateError> {
    let key = order.entity_id.to_be_bytes();
    let ctx = || format!("indexing orders/{}", order.entity_id);
    times
        .insert(key, &time_bytes(order.updated_at))
        .map_err(sled_err(ctx()))?;
    if indexed_open(order) {
        open.insert(key, order.increment_id.as_bytes())
            .map_err(sled_err(ctx()))?;
    } else {
        open.remove(key).map_err(sled_err(ctx()))?;
    }
    Ok(())
}

/// The `due` entry of one parcel write.
pub(super) fn index_parcel(
    due: &sled::Tree,
    key: &str,
    record: &ParcelRecord,
) -> Result<(), StateError> {
    let ctx = || format!("indexing parcels/{key}");
    if indexed_due(record) {
        due.insert(key.as_bytes(), &record.parcel.order_entity_id.to_be_bytes())
            .map_err(sled_err(ctx()))?;
    } else {
        due.remove(key.as_bytes()).map_err(sled_err(ctx()))?;
    }
    Ok(())
}

impl State {
    /// The orders a pass judges: those of `open_orders`, decoded. An entry
    /// whose record is gone or cancelled/closed is skipped (the record is
    /// the truth); an undecodable order is logged and skipped, as
    /// [`State::open_orders`] does.
    pub fn active_orders(&self) -> Result<Vec<Order>, StateError> {
        let mut out = Vec::new();
        for entry in self.open_index.iter() {
            let (k, _) = entry.map_err(sled_err("iterating open_orders"))?;
            let Some(id) = u64_key(&k) else {
                continue;
            };
            match self.order(id) {
                Ok(Some(order)) if indexed_open(&order) => out.push(order),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "skipping undecodable order"),
            }
        }
        Ok(out)
    }

    /// Entity ids in `open_orders`.
    pub fn active_order_ids(&self) -> Result<Vec<u64>, StateError> {
        let mut out = Vec::new();
        for entry in self.open_index.iter() {
            let (k, _) = entry.map_err(sled_err("iterating open_orders"))?;
            out.extend(u64_key(&k));
        }
        Ok(out)
    }

    /// Takes orders out of `open_orders`: the pass judged them and found
    /// nothing left to do (see `pass::judge`). A later write of the order
    /// puts it back.
    pub fn settle_orders(&self, ids: &[u64]) -> Result<(), StateError> {
        for id in ids {
            self.open_index
                .remove(id.to_be_bytes())
                .map_err(sled_err(format!("settling orders/{id}")))?;
        }
        Ok(())
    }

    /// The stored order's `updated_at`, from `order_times` (no decode):
    /// what the pull compares with Magento's to skip unchanged orders.
    pub fn stored_updated_at(&self, entity_id: u64) -> Result<Option<DateTime<Utc>>, StateError> {
        Ok(self
            .order_times
            .get(entity_id.to_be_bytes())
            .map_err(sled_err(format!("reading order_times/{entity_id}")))?
            .and_then(|b| time_of(&b)))
    }

    /// Parcels in `due` (La Poste may still be asked about them), decoded.
    pub fn followed_parcels(&self) -> Result<Vec<ParcelRecord>, StateError> {
        let mut out = Vec::new();
        for entry in self.due.iter() {
            let (k, _) = entry.map_err(sled_err("iterating due"))?;
            let Ok(key) = String::from_utf8(k.to_vec()).map(|s| s.parse()) else {
                continue;
            };
            let Ok(key) = key else { continue };
            // A record still under its key's form from before the
            // encoding is found under that form.
            let found = match self.parcel(&key) {
                Ok(None) => match key.legacy_form() {
                    Some(legacy) => self
                        .get_parcel_raw(&legacy)
                        .map(|r| r.map(ParcelRecord::from)),
                    None => Ok(None),
                },
                other => other,
            };
            match found {
                Ok(Some(r)) => out.push(r),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "skipping undecodable parcel"),
            }
        }
        Ok(out)
    }

    /// Entity ids of orders updated before `cutoff`, from `order_times`.
    pub(super) fn orders_updated_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<u64>, StateError> {
        let mut out = Vec::new();
        for entry in self.order_times.iter() {
            let (k, v) = entry.map_err(sled_err("iterating order_times"))?;
            if let (Some(id), Some(at)) = (u64_key(&k), time_of(&v)) {
                if at < cutoff {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bytes_round_trip_and_sort_by_time() {
        let a = DateTime::from_timestamp(-5, 7).unwrap();
        let b = DateTime::from_timestamp(1_700_000_000, 999_999_999).unwrap();
        assert_eq!(time_of(&time_bytes(a)), Some(a));
        assert_eq!(time_of(&time_bytes(b)), Some(b));
        assert!(time_bytes(a) < time_bytes(b));
    }
}
