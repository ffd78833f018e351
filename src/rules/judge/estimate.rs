//! The carrier's own date as an earlier trigger of the delivery rules
//! (opt-in per rule: `estimate = true` in `[rules.delivery_*]`).
//!
//! With it on, a parcel not delivered whose estimated day E (La Poste's
//! `estimDate`, read as a day) satisfies « shipment day ≤ E < today » fires
//! the carrier's delivery rule, under the same rule id: the card does not
//! change case when the seed's threshold passes later, only its facts. An
//! estimate before the shipment day is nonsense and ignored; one far in the
//! future only means the seed's threshold decides. The seed rule runs
//! first, so once its delay has run out it is the one that speaks.

use chrono::Days;

use super::{Extra, Fire, Judge, Tracer, severity};
use crate::domain::{Carrier, Parcel, RuleId, Severity};
use crate::fr::{self, stages};
use crate::rules::Delay;

impl<'a> Judge<'a> {
    pub(super) fn delivery_by_estimate(&self, p: &Parcel, t: &mut Tracer) -> Option<Fire> {
        let rule = match p.carrier {
            Carrier::Colissimo => RuleId::DeliveryColissimo,
            Carrier::Chronopost => RuleId::DeliveryChronopost,
            Carrier::Letter => RuleId::DeliveryLetter,
            Carrier::Other | Carrier::Foreign => RuleId::DeliveryOther,
        };
        let rc = rule.config(self.cfg);
        if !rc.enabled || !rc.estimate {
            return None;
        }
        let estimate = p.tracking.as_ref().and_then(|s| s.info.estimated_on);
        let Some(e) = estimate else {
            t.note(Some(rule), false, || {
                "estimate: the carrier gives no estimated delivery date".into()
            });
            return None;
        };
        let shipped = self.cal.local_date(p.shipped_at);
        if e < shipped {
            t.note(Some(rule), false, || {
                format!(
                    "estimate: {} is before the shipment day {}: ignored",
                    fr::date_en(e),
                    fr::date_en(shipped)
                )
            });
            return None;
        }
        let passed = e < self.today;
        t.note(Some(rule), passed, || {
            format!(
                "estimate: the carrier announced delivery for {}, not delivered on {}: {}",
                fr::date_en(e),
                fr::date_en(self.today),
                if passed { "passed" } else { "not passed yet" }
            )
        });
        if !passed {
            return None;
        }
        let days = (self.today - shipped).num_days();
        let until = match p.carrier {
            Carrier::Chronopost => stages::estimate_until_guarantee(&fr::date(
                self.cal.add_business_days(shipped, rc.threshold),
            )),
            _ => stages::estimate_until_delay(
                rc.threshold,
                &fr::date(
                    shipped
                        .checked_add_days(Days::new(u64::from(rc.threshold)))
                        .unwrap_or(shipped),
                ),
            ),
        };
        let facts = vec![
            stages::estimate_passed(p.carrier.label_fr(), &fr::date(e)),
            stages::estimate_shipped(&self.fmt_dt(p.shipped_at), days, &until),
            self.status_fact(p),
        ];
        let next = e.succ_opt().unwrap_or(e);
        Some(Fire {
            rule,
            severity: match p.carrier {
                Carrier::Chronopost => Severity::Late,
                _ => severity(days, rc),
            },
            delay: Delay::Days(days),
            deadline: Some(self.cal.start_of_day(next)),
            facts,
            extra: Extra {
                procedure: Some(stages::estimate_procedure(rule, rc.threshold)),
                ..Extra::default()
            },
        })
    }
}
