//! The lost-parcel procedure (seed 000 §5, « livré mais pas reçu ») as
//! dated steps, per carrier: what `advise` prints and what a lost-parcel
//! case card's checklist holds, from one computation so that the two never
//! disagree. Pure, like the rules.
//!
//! Readings (docs/rules.md): a step « si la date d'expédition est
//! supérieure à N jours » starts the day after D+N, as the delivery rules
//! count; the letter's attestation comes 10 days after the neighbours were
//! asked (D+21); a proof of delivery is sent at least 24 h after the
//! delivery (seed 004 ③), counted in hours, not business days.

use chrono::{Days, NaiveDate};

use super::Judge;
use crate::domain::{Carrier, Parcel, TrackingStatus};
use crate::fr::{self, advice as a};

/// When a step of the procedure applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepWhen {
    /// Until that day included (« patientez »).
    Until(NaiveDate),
    /// From that day on.
    From(NaiveDate),
    /// When the case is looked at (the day it opens, for a checklist).
    Now,
    /// On the customer's answer: no date.
    Then,
}

/// One step of the lost-parcel procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostStep {
    pub when: StepWhen,
    pub text: &'static str,
}

impl LostStep {
    /// The step's date, `today` standing for [`StepWhen::Now`].
    pub fn day(&self, today: NaiveDate) -> Option<NaiveDate> {
        match self.when {
            StepWhen::Until(d) | StepWhen::From(d) => Some(d),
            StepWhen::Now => Some(today),
            StepWhen::Then => None,
        }
    }
}

/// One item of a case card's checklist: its name holds the step's date
/// (item due dates are a paid Trello feature, docs/apis.md), `due` is the
/// same day for the card's due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistStep {
    pub name: String,
    pub due: Option<NaiveDate>,
}

fn plus(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_days(Days::new(u64::from(n))).unwrap_or(d)
}

impl<'a> Judge<'a> {
    /// The procedure's steps for `p`, in the seed's order. A parcel not
    /// (yet) read « livré » still gets them (the customer says it is
    /// missing): its proof of delivery waits for the neighbours' step.
    pub fn lost_steps(&self, p: &Parcel) -> Vec<LostStep> {
        let step = |when, text| LostStep { when, text };
        let d = self.cal.local_date(p.shipped_at);
        let delivered = (p.status() == Some(TrackingStatus::Delivered))
            .then(|| p.last_event().map(|e| e.at))
            .flatten();
        // A day after the delivery: seed 004 ③'s « au moins 24h ».
        let proof_day = delivered.map(|l| self.cal.local_date(l + chrono::Duration::hours(24)));
        match p.carrier {
            // A letter is never scanned « livré »: the steps count from its
            // shipment.
            Carrier::Letter => {
                let wait = self.cfg.delivery_letter.threshold;
                vec![
                    step(StepWhen::Until(plus(d, wait)), a::LETTER_WAIT),
                    step(StepWhen::From(plus(d, wait + 1)), a::LETTER_NEIGHBOURS),
                    step(StepWhen::From(plus(d, wait * 2 + 1)), a::LETTER_ATTESTATION),
                    step(StepWhen::Then, a::LETTER_FRESHDESK),
                ]
            }
            Carrier::Colissimo => {
                let wait = self.cfg.delivery_colissimo.threshold;
                let neighbours = plus(d, wait + 1);
                let proof = proof_day.map_or(neighbours, |p| p.max(neighbours));
                vec![
                    step(StepWhen::Until(plus(d, wait)), a::COLISSIMO_WAIT),
                    step(StepWhen::From(neighbours), a::COLISSIMO_NEIGHBOURS),
                    step(StepWhen::From(proof), a::COLISSIMO_PROOF),
                    step(StepWhen::Then, a::COLISSIMO_ATTESTATION),
                    step(StepWhen::Then, a::COLISSIMO_CLAIM),
                ]
            }
            Carrier::Chronopost => {
                let proof = proof_day.map_or(self.today, |p| p.max(self.today));
                vec![
                    step(StepWhen::Now, a::CHRONOPOST_CHECK),
                    step(StepWhen::From(proof), a::CHRONOPOST_PROOF),
                    step(StepWhen::Then, a::CHRONOPOST_DENIAL),
                    step(StepWhen::Then, a::CHRONOPOST_FRESHDESK),
                ]
            }
            Carrier::Other | Carrier::Foreign => vec![step(StepWhen::Now, a::OTHER_LOST)],
        }
    }

    /// The checklist of a lost-parcel case opened now: one item per step,
    /// numbered (so that each name is unique within the checklist, which
    /// is what settles a write whose answer was lost) and dated.
    pub fn lost_checklist(&self, p: &Parcel) -> Vec<ChecklistStep> {
        self.lost_steps(p)
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let due = s.day(self.today);
                ChecklistStep {
                    name: a::checklist_item(i + 1, due.map(fr::date).as_deref(), s.text),
                    due,
                }
            })
            .collect()
    }
}

/// The card's due date: the date of the first dated step not ticked yet,
/// none once every dated step is ticked. `ticked[i]` is item i's state.
pub fn case_due(steps: &[ChecklistStep], ticked: &[bool]) -> Option<NaiveDate> {
    steps
        .iter()
        .enumerate()
        .find(|(i, s)| s.due.is_some() && !ticked.get(*i).copied().unwrap_or(false))
        .and_then(|(_, s)| s.due)
}
