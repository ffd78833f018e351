//! `pickup` (« À retirer »): a parcel waiting at a counter or a pickup
//! point (AG1) for more than `business_days` of the shop's business days
//! gets a card naming the point and the day La Poste will send it back.
//!
//! Readings (docs/rules.md):
//! - The wait starts at the oldest AG1 of the unbroken run of AG1 events
//!   at the head of the events (a second notice does not restart it).
//! - « plus de » `business_days`: exactly that many is still quiet.
//! - The return day counts La Poste's « jours ouvrables », Monday to
//!   Saturday less French public holidays, from the AG1 day; the shop's own
//!   closed or open days do not apply (the point, not the warehouse, keeps
//!   the parcel). 10 for Colissimo, 8 for Chronopost (a relay); « vers le »
//!   on the card, since La Poste may start counting the next day.
//! - `critical` once the return day is 2 ouvrables away or less.

use chrono::{Datelike, NaiveDate, Weekday};

use super::{Extra, Fire, Judge, Tracer, status_en};
use crate::domain::calendar::holiday;
use crate::domain::{Carrier, Parcel, RuleId, Severity, TrackingEvent, TrackingStatus};
use crate::fr::{self, stages};
use crate::rules::Delay;

/// Whether La Poste counts `d` as a « jour ouvrable »: Monday to Saturday,
/// not a French public holiday.
pub(crate) fn is_ouvrable(d: NaiveDate) -> bool {
    d.weekday() != Weekday::Sun && holiday(d).is_none()
}

/// The `n`-th La Poste ouvrable after `d` (`n = 0` gives `d`).
pub(crate) fn add_ouvrables(d: NaiveDate, n: u32) -> NaiveDate {
    let mut day = d;
    let mut left = n;
    while left > 0 {
        match day.succ_opt() {
            Some(next) => day = next,
            None => return day,
        }
        if is_ouvrable(day) {
            left -= 1;
        }
    }
    day
}

/// La Poste ouvrables after `since` up to and including `until` (0 when
/// `until` is not later).
pub(crate) fn ouvrables_between(since: NaiveDate, until: NaiveDate) -> i64 {
    since
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= until)
        .filter(|d| is_ouvrable(*d))
        .count() as i64
}

/// The first AG1 of the run of AG1 events the parcel's history ends with
/// (events newest first). `None` unless the newest event is an AG1.
pub(crate) fn waiting_since(events_newest_first: &[TrackingEvent]) -> Option<&TrackingEvent> {
    events_newest_first
        .iter()
        .take_while(|e| e.code == "AG1")
        .last()
}

impl<'a> Judge<'a> {
    pub(super) fn pickup(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::Pickup;
        let rc = self.enabled(rule, t)?;
        let status = p.status();
        let snap = p.tracking.as_ref();
        let since = snap
            .filter(|_| status == Some(TrackingStatus::AwaitingPickup))
            .and_then(|s| waiting_since(&s.events));
        let Some(since) = since else {
            t.note(Some(rule), false, || {
                format!(
                    "tracking status {}: not waiting at a pickup point",
                    status_en(status)
                )
            });
            return None;
        };
        let day = self.cal.local_date(since.at);
        let waited = self.cal.business_days_between(day, self.today);
        let th = i64::from(rc.threshold);
        let keep = match p.carrier {
            Carrier::Chronopost => self.cfg.pickup_keep.keep_days_chronopost,
            _ => self.cfg.pickup_keep.keep_days,
        };
        let back = add_ouvrables(day, keep);
        let fired = waited > th;
        t.note(Some(rule), fired, || {
            format!(
                "waiting at the pickup point since {}, {} business {} (more than {} fires); \
                 La Poste sends it back around {} ({} ouvrables, Mon-Sat): {}",
                fr::date_en(day),
                waited,
                if waited.abs() == 1 { "day" } else { "days" },
                th,
                fr::date_en(back),
                keep,
                if fired { "fires" } else { "not yet" }
            )
        });
        if !fired {
            return None;
        }
        let left = ouvrables_between(self.today, back);
        let severity = if left <= 2 {
            Severity::Critical
        } else {
            Severity::Late
        };
        let point = stages::pickup_where(snap.and_then(|s| s.info.removal_point.as_ref()));
        let facts = vec![
            stages::pickup_waiting(&point, &self.fmt_dt(since.at), waited),
            stages::pickup_return_day(&fr::date(back), keep),
            self.status_fact(p),
        ];
        let from = self
            .cal
            .add_business_days(day, rc.threshold.saturating_add(1));
        Some(Fire {
            rule,
            severity,
            delay: Delay::BusinessDays(waited),
            deadline: Some(self.cal.start_of_day(from)),
            facts,
            extra: Extra {
                due: Some(self.cal.start_of_day(back)),
                ..Extra::default()
            },
        })
    }
}
