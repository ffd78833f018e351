//! The seed procedures as pure rules: (order, parcels, calendar, config, now)
//! → findings, with a trace of the reasoning.
//!
//! Architecture invariant: rules never read the clock or do I/O. `now` is a
//! parameter; everything they know comes in as arguments.
//!
//! Sits between pull (which builds [`crate::domain::Order`]s and
//! [`crate::domain::Parcel`]s) and plan (which turns findings into card
//! actions, rendered by [`crate::board::render`]). `judge.rs` has the
//! driver, priority, severity and trace, `judge/shipping.rs` the shipping
//! rules, `judge/parcel.rs` the parcel rules, `judge/pickup.rs`, `judge/returns.rs`
//! and `judge/estimate.rs` the pickup rule, a return's two stages and the
//! carrier's-estimate trigger; their French texts are in
//! [`crate::fr`],
//! their ids, keys and severities in [`crate::domain`].

mod judge;

pub use judge::{
    AdviceSection, ChecklistStep, Judge, Judgement, LostStep, ReturnStage, StepWhen, TraceLine,
    case_due, case_parcel, judge, stage_of,
};
#[cfg(test)]
pub(crate) use judge::{add_ouvrables, ouvrables_between};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Carrier, ProblemKey, ProductKind, RuleId, Severity};

/// How late, in the unit the rule counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delay {
    BusinessDays(i64),
    Days(i64),
    Hours(i64),
    /// Fact-based rules (problem, return): no delay to show.
    None,
}

/// One problem the team must handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub key: ProblemKey,
    pub severity: Severity,
    /// The intake list this rule files into (from config).
    pub list: String,
    pub delay: Delay,
    /// When the problem became a problem (the threshold instant or day).
    pub deadline: Option<DateTime<Utc>>,
    pub product: ProductKind,
    pub carrier: Option<Carrier>,
    /// Tracking number, for delivery-phase findings.
    pub tracking_number: Option<String>,
    /// The facts that made it fire, in plain French, for the card.
    pub facts: Vec<String>,
    /// What the team must do, from the seeds, in French.
    pub procedure: String,
    /// Local (Paris) dates shown on the card.
    pub validated_on: Option<NaiveDate>,
    pub shipped_on: Option<NaiveDate>,
    /// The card's due date when the rule sets one itself (a return's
    /// expected arrival, a pickup's return day); `None` keeps the rule's
    /// deadline logic (see `board::render`).
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
    /// What the title adds after the carrier (a return's stage).
    #[serde(default)]
    pub detail: Option<String>,
    /// A return's stage (`None` for every other rule). The card record
    /// keeps it: the same rule in another stage is a change a lead must
    /// see, which the planner comments with [`Finding::stage_note`].
    #[serde(default)]
    pub stage: Option<ReturnStage>,
    /// The comment's text when the card enters this stage from another
    /// (« Le colis est revenu à l'expéditeur le … »).
    #[serde(default)]
    pub stage_note: Option<String>,
}

#[cfg(test)]
mod tests;
