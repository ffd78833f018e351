//! What La Poste says about a parcel besides its events: its estimated and
//! actual delivery dates, the pickup point it waits at, and how the
//! estimate moved from one poll to the next.
//!
//! Decoded by `tracking::laposte` (`estimDate`, `deliveryDate`,
//! `contextData.removalPoint`), carried over between polls by the state's
//! `record_poll` (the only place that sees the old and the new answer, hence
//! the only one that can build the history), read by the rules (pickup,
//! the opt-in estimate trigger) and shown on cards by `board::render`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How many changes of the estimate a snapshot keeps: enough to show a
/// lead that the carrier kept pushing the date back, bounded so that a
/// parcel whose estimate flips every poll cannot grow its record for ever.
pub(crate) const ESTIMATE_HISTORY_CAP: usize = 10;

/// The carrier's extra facts on one parcel. Every field is optional: La
/// Poste gives them only for some parcels, and snapshots stored before
/// they were decoded read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierInfo {
    /// `estimDate`, as sent.
    #[serde(default)]
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// The estimate as a date, read in the offset La Poste wrote it in:
    /// the API sends a midnight or 02:00 instant that means a day, not an
    /// hour (see docs/apis.md), so its own calendar date is the estimate.
    #[serde(default)]
    pub estimated_on: Option<NaiveDate>,
    /// `deliveryDate`.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// `contextData.removalPoint`, when the parcel goes to a counter or a
    /// pickup point.
    #[serde(default)]
    pub removal_point: Option<RemovalPoint>,
    /// Each estimate seen, oldest first; a new entry only when the date
    /// changes (or first appears).
    #[serde(default)]
    pub estimate_history: Vec<EstimateChange>,
}

/// Where the parcel can be collected. La Poste's open API gives a name and
/// a type (`BDP` post office, `A2P` relay shop, ...), no address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalPoint {
    pub name: String,
    /// `type`, raw.
    #[serde(default)]
    pub kind: Option<String>,
}

/// One estimate and when colisync first saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateChange {
    pub estimate: NaiveDate,
    pub seen_at: DateTime<Utc>,
}

impl CarrierInfo {
    /// `new`'s facts with the history of `old` carried over: one entry is
    /// appended when the estimated date differs from the last one recorded.
    /// A poll without an estimate keeps the history as it was (absence is
    /// no change of the carrier's mind).
    pub(crate) fn carry_over(
        old: Option<&CarrierInfo>,
        mut new: CarrierInfo,
        now: DateTime<Utc>,
    ) -> Self {
        let mut history = old.map(|o| o.estimate_history.clone()).unwrap_or_default();
        if let Some(day) = new.estimated_on
            && history.last().map(|c| c.estimate) != Some(day)
        {
            history.push(EstimateChange {
                estimate: day,
                seen_at: now,
            });
        }
        if history.len() > ESTIMATE_HISTORY_CAP {
            history.drain(..history.len() - ESTIMATE_HISTORY_CAP);
        }
        new.estimate_history = history;
        new
    }

    /// Whether the estimate's date differs between two answers.
    pub(crate) fn estimate_changed(old: &CarrierInfo, new: &CarrierInfo) -> bool {
        old.estimated_on != new.estimated_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, d, h, 0, 0)
            .single()
            .expect("t")
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, d).expect("d")
    }

    fn with(on: Option<NaiveDate>) -> CarrierInfo {
        CarrierInfo {
            estimated_on: on,
            ..CarrierInfo::default()
        }
    }

    #[test]
    fn history_records_each_new_date_once() {
        let first = CarrierInfo::carry_over(None, with(Some(day(12))), at(10, 8));
        assert_eq!(first.estimate_history.len(), 1);
        // Same date (another hour in the instant does not matter: the date does).
        let same = CarrierInfo::carry_over(Some(&first), with(Some(day(12))), at(11, 8));
        assert_eq!(same.estimate_history, first.estimate_history);
        let moved = CarrierInfo::carry_over(Some(&same), with(Some(day(14))), at(12, 8));
        assert_eq!(
            moved.estimate_history,
            vec![
                EstimateChange {
                    estimate: day(12),
                    seen_at: at(10, 8)
                },
                EstimateChange {
                    estimate: day(14),
                    seen_at: at(12, 8)
                },
            ]
        );
        // No estimate in an answer: history kept, nothing appended.
        let gone = CarrierInfo::carry_over(Some(&moved), with(None), at(13, 8));
        assert_eq!(gone.estimate_history, moved.estimate_history);
        assert!(CarrierInfo::estimate_changed(&moved, &gone));
        assert!(!CarrierInfo::estimate_changed(&first, &same));
    }

    #[test]
    fn history_is_capped_oldest_dropped() {
        let mut info = CarrierInfo::default();
        for d in 1..=(ESTIMATE_HISTORY_CAP as u32 + 3) {
            info = CarrierInfo::carry_over(Some(&info), with(Some(day(d))), at(d, 8));
        }
        assert_eq!(info.estimate_history.len(), ESTIMATE_HISTORY_CAP);
        assert_eq!(info.estimate_history[0].estimate, day(4));
    }
}
