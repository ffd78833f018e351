//! Poll policy for parcels: when La Poste should next be asked about a
//! parcel. A pure function of the parcel, how many polls in a row saw no
//! change, and `now`; the state module stores its result in
//! [`ParcelRecord::next_poll_at`] so that one pass only polls what is due.
//!
//! The policy, in words (the table test in `tests/it/state_poll.rs` is the
//! reference):
//! - only parcels La Poste's Suivi API can follow are polled
//!   ([`Parcel::laposte_tracks`]): a letter is polled when it carries a La
//!   Poste number (lettre suivie), never without one; a carrier outside La
//!   Poste's group (DPD, GLS, ...) is never polled; nor is a number La
//!   Poste cannot track (not 11-15 letters and digits once trimmed: the
//!   client never sends it, so polling it would only fail the pass every
//!   time; the rules file it as a tracking anomaly instead);
//! - a record never polled and with no schedule, although La Poste can
//!   follow it, was written under an older policy (letters were never
//!   polled): it is due at once;
//! - a final parcel (delivered, delivered back to the sender `DI2`, or La
//!   Poste's `isFinal`) is never polled again;
//! - a parcel never polled yet is due at once;
//! - during the first [`FRESH_PERIOD`] after shipment every [`FRESH_INTERVAL`]
//!   (the 24 h `tracking_not_found` and Chronopost's 24 h guarantee need it);
//! - afterwards every [`BASE_INTERVAL`], doubling every two polls in a row
//!   that saw nothing new, capped at [`MAX_INTERVAL`] (so a stuck parcel is
//!   still seen well within the 48 h of `tracking_stuck`).

use chrono::{DateTime, Duration, Utc};

use crate::domain::ProblemKey;
use crate::domain::{Parcel, TrackingSnapshot, TrackingStatus};

/// How long after shipment a parcel counts as recently shipped.
pub(crate) const FRESH_PERIOD: Duration = Duration::days(3);
/// Poll interval of a recently shipped parcel.
pub(crate) const FRESH_INTERVAL: Duration = Duration::hours(1);
/// Poll interval after the fresh period, before any back-off.
pub(crate) const BASE_INTERVAL: Duration = Duration::hours(2);
/// Longest interval between two polls of a parcel still on its way.
pub(crate) const MAX_INTERVAL: Duration = Duration::hours(24);

/// A parcel as the state keeps it: the parcel (with its last tracking
/// snapshot) and its polling schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ParcelRecord {
    pub parcel: Parcel,
    /// When La Poste should next be asked; `None` means never (a parcel
    /// La Poste cannot follow, or a final one).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Polls in a row that brought no new event: drives the back-off.
    pub polls_unchanged: u32,
    /// Last time a poll brought something new (or when the record was
    /// created): lets an operator see how long a parcel has been silent.
    pub last_change_at: DateTime<Utc>,
}

impl ParcelRecord {
    /// A parcel seen for the first time (from a Magento shipment).
    pub fn new(parcel: Parcel, now: DateTime<Utc>) -> ParcelRecord {
        let next_poll_at = next_poll_at(&parcel, 0, now);
        ParcelRecord {
            parcel,
            next_poll_at,
            polls_unchanged: 0,
            last_change_at: now,
        }
    }

    /// The problem key of this parcel's delivery-phase card, also its key in
    /// the state: the tracking number, or `shipment-<entity id>` for an
    /// untracked letter (see [`ProblemKey::Parcel`]).
    pub fn key(&self) -> ProblemKey {
        parcel_key(&self.parcel)
    }

    /// Whether La Poste should be asked about this parcel at `now`. A
    /// number La Poste cannot track is never due, whatever a record
    /// written before that check says.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        if !self.parcel.laposte_tracks() {
            return false;
        }
        match self.next_poll_at {
            Some(at) => at <= now,
            None => self.parcel.tracking.is_none(),
        }
    }

    /// Records the answer of a poll made at `now` and schedules the next one.
    pub fn record_poll(&mut self, snapshot: TrackingSnapshot, now: DateTime<Utc>) {
        let changed = match &self.parcel.tracking {
            None => true,
            Some(old) => old.status != snapshot.status || old.events != snapshot.events,
        };
        if changed {
            self.polls_unchanged = 0;
            self.last_change_at = now;
        } else {
            self.polls_unchanged = self.polls_unchanged.saturating_add(1);
        }
        self.parcel.tracking = Some(snapshot);
        self.next_poll_at = next_poll_at(&self.parcel, self.polls_unchanged, now);
    }
}

/// The problem key of a parcel (see [`ParcelRecord::key`]).
pub fn parcel_key(parcel: &Parcel) -> ProblemKey {
    ProblemKey::Parcel {
        increment_id: parcel.order_increment_id.clone(),
        parcel: parcel.key_part(),
    }
}

/// Whether the carrier will say nothing more about this parcel.
pub fn is_final(parcel: &Parcel) -> bool {
    parcel.tracking.as_ref().is_some_and(|t| {
        t.is_final
            || t.status == TrackingStatus::Delivered
            || t.last_event().is_some_and(|e| e.code == "DI2")
    })
}

/// When to poll next, from a poll made (or a record created) at `now`;
/// `None` means never. See the module documentation for the policy.
pub fn next_poll_at(
    parcel: &Parcel,
    polls_unchanged: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !parcel.laposte_tracks() || is_final(parcel) {
        return None;
    }
    if parcel.tracking.is_none() {
        return Some(now);
    }
    Some(now + poll_interval(now - parcel.shipped_at, polls_unchanged))
}

/// The interval between two polls of a trackable, non-final parcel shipped
/// `age` ago after `polls_unchanged` polls without news.
pub fn poll_interval(age: Duration, polls_unchanged: u32) -> Duration {
    if age < FRESH_PERIOD {
        return FRESH_INTERVAL;
    }
    // Double every two unchanged polls: 2 h, 2 h, 4 h, 4 h, 8 h, 8 h, 16 h,
    // 16 h, then the 24 h cap. The shift is bounded so it cannot overflow.
    let doublings = (polls_unchanged / 2).min(8);
    let hours = BASE_INTERVAL.num_hours() << doublings;
    Duration::hours(hours).min(MAX_INTERVAL)
}
