//! `return_to_sender` in two stages, on the same card: « en retour » while
//! the carrier brings the parcel back (RE1), « revenu » once it is back at
//! the sender (DI2, or La Poste's `isFinal` after a return event).
//!
//! The start S is the oldest return event. Seed 004 ④: « Un retour prend
//! entre 10 et 20 jours pour nous revenir »: the card is due at the end of
//! S + `days` (20), calendar days, and says « entre le S+min_days et le
//! S+days ». Still not back after that day: `critical`.

use chrono::{DateTime, Days, Utc};

use super::{Extra, Fire, Judge, Tracer, status_en};
use crate::domain::{Parcel, RuleId, Severity, TrackingStatus};
use crate::fr::{self, facts, stages};
use crate::rules::Delay;
use crate::tracking::status::status_of_code;

pub use crate::domain::ReturnStage;

/// The title's last part.
fn label_fr(stage: ReturnStage) -> &'static str {
    match stage {
        ReturnStage::Returning => stages::RETURN_TITLE_RETURNING,
        ReturnStage::Back => stages::RETURN_TITLE_BACK,
    }
}

/// The stage of a returning parcel and, when it is back, since when. The
/// return's start is the oldest return event.
pub fn stage_of(p: &Parcel) -> Option<(ReturnStage, Option<DateTime<Utc>>)> {
    let snap = p.tracking.as_ref()?;
    let returning = snap
        .events
        .iter()
        .any(|e| status_of_code(&e.code) == TrackingStatus::ReturnToSender);
    if !returning {
        return None;
    }
    if let Some(di2) = snap.events.iter().find(|e| e.code == "DI2") {
        return Some((ReturnStage::Back, Some(di2.at)));
    }
    if snap.is_final {
        let at = snap
            .info
            .delivered_at
            .or_else(|| snap.last_event().map(|e| e.at));
        return Some((ReturnStage::Back, at));
    }
    Some((ReturnStage::Returning, None))
}

impl<'a> Judge<'a> {
    pub(super) fn return_to_sender(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = RuleId::ReturnToSender;
        self.enabled(rule, t)?;
        let status = p.status();
        let fired = status == Some(TrackingStatus::ReturnToSender);
        let stage = stage_of(p).filter(|_| fired);
        t.note(Some(rule), fired, || {
            format!(
                "tracking status {}: {}",
                status_en(status),
                match stage {
                    Some((ReturnStage::Back, _)) => "back at the shop",
                    Some((ReturnStage::Returning, _)) => "returning to the shop",
                    None => "not returning",
                }
            )
        });
        if !fired {
            return None;
        }
        let (stage, back_at) = stage.unwrap_or((ReturnStage::Returning, None));
        // The first event that started the return (events are newest first).
        let since = p.tracking.as_ref().and_then(|s| {
            s.events
                .iter()
                .rev()
                .find(|e| status_of_code(&e.code) == TrackingStatus::ReturnToSender)
                .map(|e| e.at)
        });
        let window = self.cfg.return_window;
        let start = since.map(|s| self.cal.local_date(s));
        let plus = |n: u32| start.and_then(|d| d.checked_add_days(Days::new(u64::from(n))));
        let (earliest, latest) = (plus(window.min_days), plus(window.days));
        let mut facts = Vec::with_capacity(3);
        if let Some(at) = since {
            facts.push(facts::returning_since(&self.fmt_dt(at)));
        }
        match stage {
            ReturnStage::Returning => {
                if let (Some(a), Some(b)) = (earliest, latest) {
                    facts.push(stages::return_expected(
                        window.min_days,
                        window.days,
                        &fr::date(a),
                        &fr::date(b),
                    ));
                }
            }
            ReturnStage::Back => facts.push(stages::return_back_since(
                back_at.map(|at| self.fmt_dt(at)).as_deref(),
            )),
        }
        facts.push(self.status_fact(p));
        let overdue = stage == ReturnStage::Returning && latest.is_some_and(|l| self.today > l);
        Some(Fire {
            rule,
            severity: if overdue {
                Severity::Critical
            } else {
                Severity::Late
            },
            delay: Delay::None,
            deadline: since,
            facts,
            extra: Extra {
                due: latest.map(|l| self.cal.end_of_day(l)),
                detail: Some(label_fr(stage).to_owned()),
                stage: Some(stage),
                stage_note: match stage {
                    ReturnStage::Returning => None,
                    ReturnStage::Back => Some(stages::return_back_since(
                        back_at.map(|at| self.fmt_dt(at)).as_deref(),
                    )),
                },
                procedure: Some(match stage {
                    ReturnStage::Returning => stages::return_returning(
                        self.cfg.return_window.min_days,
                        self.cfg.return_window.days,
                    ),
                    ReturnStage::Back => stages::return_back(),
                }),
            },
        })
    }
}
