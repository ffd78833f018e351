//! The shipping phase (seed 000 §1): compatible cartridges the same or
//! next business day, originals within their business days.

use super::*;

impl<'a> Judge<'a> {
    // ----- Shipping phase (seed 000 §1) -----

    pub(super) fn shipping_compatible(
        &self,
        validated: DateTime<Utc>,
        partly: bool,
        t: &mut Tracer,
    ) -> Option<Fire> {
        let rule = RuleId::ShippingCompatible;
        let rc = self.enabled(rule, t)?;
        let due = self.cal.due_ship_day(validated);
        let passed = self.cal.business_days_between(due, self.today);
        let th = i64::from(rc.threshold);
        let late = self.today > due && passed >= th;
        let before_cutoff = due == self.cal.local_date(validated);
        t.note(Some(rule), late, || {
            format!(
                "validated {} ({}), due to ship {}; {} business {} passed since, threshold {}: {}",
                fr::datetime_en(validated, self.cal.timezone()),
                if before_cutoff {
                    format!("a business day, before the {} cutoff", self.cutoff)
                } else {
                    format!("after the {} cutoff or not a business day", self.cutoff)
                },
                fr::date_en(due),
                passed.max(0),
                plural(passed, "day has", "days have"),
                th,
                if late { "late" } else { "not late" }
            )
        });
        if !late {
            return None;
        }
        let from = if th == 0 {
            due.succ_opt().unwrap_or(due)
        } else {
            self.cal.add_business_days(due, rc.threshold)
        };
        let facts = vec![
            facts::validated_due_to_ship(
                &self.fmt_dt(validated),
                before_cutoff,
                &self.cutoff,
                &fr::date(due),
            ),
            facts::not_shipped_since_due(partly, &fr::date(self.today), passed, th),
        ];
        Some(Fire {
            rule,
            severity: severity(passed, rc),
            delay: Delay::BusinessDays(passed),
            deadline: Some(self.cal.start_of_day(from)),
            facts,
        })
    }

    pub(super) fn shipping_original(
        &self,
        validated: DateTime<Utc>,
        partly: bool,
        t: &mut Tracer,
    ) -> Option<Fire> {
        let rule = RuleId::ShippingOriginal;
        let rc = self.enabled(rule, t)?;
        let day = self.cal.local_date(validated);
        let passed = self.cal.business_days_between(day, self.today);
        let th = i64::from(rc.threshold);
        let late = passed > th;
        t.note(Some(rule), late, || {
            format!(
                "{} business {} after validation on {}, threshold {}: {}",
                passed,
                plural(passed, "day", "days"),
                fr::date_en(day),
                th,
                if late { "late" } else { "not late" }
            )
        });
        if !late {
            return None;
        }
        let from = self
            .cal
            .add_business_days(day, rc.threshold.saturating_add(1));
        let facts = vec![
            facts::originals_validated(&self.fmt_dt(validated)),
            facts::not_shipped_since_validation(partly, &fr::date(self.today), passed, th),
        ];
        Some(Fire {
            rule,
            severity: severity(passed, rc),
            delay: Delay::BusinessDays(passed),
            deadline: Some(self.cal.start_of_day(from)),
            facts,
        })
    }
}
