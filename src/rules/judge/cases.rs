//! The cards of the cases people open (« Dossiers clients »): the
//! checklist decided when a case is first judged, and the card it calls
//! for at each pass. Pure, like the rules: `now` is the judge's.
//!
//! A case's finding never ends by itself: nothing the shop or the carrier
//! says (delivered, shipped, cancelled) closes a case; only a lead's hand
//! does (`plan::cases::evidence`). So there is no « ended » here.

use chrono::{DateTime, Utc};

use super::Judge;
use super::lost::{ChecklistStep, case_due};
use crate::domain::{
    Carrier, Case, CaseKind, CaseStep, Order, Parcel, Severity, TrackingStatus, tracking_url,
};
use crate::fr::{self, advice as a, cases as w};
use crate::rules::{Delay, Finding};

/// The parcel a case is about: the one it names (by key part or tracking
/// number), else the order's last shipped.
pub fn case_parcel<'p>(case: &Case, parcels: &'p [Parcel]) -> Option<&'p Parcel> {
    match &case.parcel {
        Some(named) => parcels
            .iter()
            .find(|p| &p.key_part() == named || p.tracking_number.eq_ignore_ascii_case(named)),
        None => parcels.iter().max_by_key(|p| p.shipped_at),
    }
}

impl<'a> Judge<'a> {
    /// The checklist of a case judged for the first time, the judge's `now`
    /// being that moment. `None` for a lost case whose order has no parcel
    /// yet (nothing to follow: the case waits).
    pub fn case_steps(&self, case: &Case, parcels: &[Parcel]) -> Option<Vec<CaseStep>> {
        let steps: Vec<ChecklistStep> = match case.kind {
            CaseKind::Lost => self.lost_checklist(case_parcel(case, parcels)?),
            CaseKind::Address => [w::ADDRESS_HANDLED, w::ADDRESS_TOLD]
                .iter()
                .enumerate()
                .map(|(i, text)| ChecklistStep {
                    name: a::checklist_item(i + 1, None, text),
                    due: None,
                })
                .collect(),
        };
        Some(
            steps
                .into_iter()
                .map(|s| CaseStep {
                    name: s.name,
                    due: s.due,
                })
                .collect(),
        )
    }

    /// The card an open case calls for now. `ticked[i]`: whether the
    /// lead ticked item i of colisync's checklist (as last read). `None`
    /// while the case has no steps (see [`Judge::case_steps`]).
    pub fn case_finding(
        &self,
        case: &Case,
        order: &Order,
        parcels: &[Parcel],
        ticked: &[bool],
    ) -> Option<Finding> {
        if case.steps.is_empty() {
            return None;
        }
        let rule = case.kind.rule();
        let parcel = case_parcel(case, parcels);
        let mut facts = vec![w::opened_on(&self.fmt_dt(case.opened_at))];
        let mut procedure: Vec<String> = vec![fr::procedure(rule, 0, &self.cutoff)];
        let mut due: Option<DateTime<Utc>> = None;
        match case.kind {
            CaseKind::Lost => {
                let p = parcel?;
                let delivered = (p.status() == Some(TrackingStatus::Delivered))
                    .then(|| p.last_event().map(|e| e.at))
                    .flatten();
                facts.push(match delivered {
                    Some(at) => w::delivered_on(&self.fmt_dt(at)),
                    None => w::NOT_DELIVERED.to_owned(),
                });
                if matches!(p.carrier, Carrier::Other | Carrier::Foreign) {
                    procedure.push(w::NO_WRITTEN_PROCEDURE.to_owned());
                }
                let steps: Vec<ChecklistStep> = case
                    .steps
                    .iter()
                    .map(|s| ChecklistStep {
                        name: s.name.clone(),
                        due: s.due,
                    })
                    .collect();
                due = case_due(&steps, ticked).map(|d| self.cal.start_of_day(d));
            }
            CaseKind::Address => {
                let handled = ticked.first().copied().unwrap_or(false);
                match self.validated(order) {
                    None if parcels.is_empty() => facts.push(w::STATE_NOT_VALIDATED.to_owned()),
                    Some(validated) if !order.is_fully_shipped() => {
                        let day = self.next_shipping_day(validated);
                        facts.push(w::state_waiting(&fr::date(day), &self.cutoff));
                        due = Some(self.cal.local_instant(day, self.cal.cutoff()));
                    }
                    _ => {}
                }
                for p in parcels {
                    facts.push(w::state_shipped(
                        p.carrier.label_fr(),
                        &self.fmt_dt(p.shipped_at),
                    ));
                    // « It follows the order »: gone before the change was
                    // handled.
                    if p.shipped_at > case.opened_at && !handled {
                        let link = tracking_url(p.carrier, &p.tracking_number);
                        facts.push(w::left_before_handled(
                            &self.fmt_dt(p.shipped_at),
                            p.carrier.label_fr(),
                            link.as_deref(),
                        ));
                    }
                }
                procedure.extend(self.advise_address(order, parcels));
            }
        }
        facts.push(w::STEPS.to_owned());
        for (i, s) in case.steps.iter().enumerate() {
            facts.push(w::step_line(
                &s.name,
                ticked.get(i).copied().unwrap_or(false),
            ));
        }
        procedure.push(w::CLOSES_BY_LEAD.to_owned());
        Some(Finding {
            rule,
            key: case.key(),
            severity: Severity::Late,
            list: rule.config(self.cfg).list.clone(),
            delay: Delay::None,
            deadline: None,
            product: self.classifier.order_kind(order),
            carrier: parcel.map(|p| p.carrier),
            tracking_number: parcel
                .map(|p| p.tracking_number.clone())
                .filter(|n| !n.is_empty()),
            facts,
            procedure: procedure.join("\n- "),
            validated_on: self.validated(order).map(|v| self.cal.local_date(v)),
            shipped_on: parcel.map(|p| self.cal.local_date(p.shipped_at)),
            due,
            detail: Some(w::kind_fr(case.kind).to_owned()),
            stage: None,
            stage_note: None,
        })
    }
}
