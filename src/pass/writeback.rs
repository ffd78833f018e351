//! The pass's part of the write-back: which notes this plan asks for, their
//! journaling before the card writes, and the outbox applied after them
//! (`writeback::apply` holds the protocol).
//!
//! Part of the pass (ARCHITECTURE.md, step 11): the pass gains only a few
//! calls: [`Engine::arm_writebacks`] after the journal's settle,
//! [`Engine::followups_of`] after planning, [`Engine::plan_writebacks`]
//! in a dry run, [`Engine::enqueue_writebacks`] before `plan::apply` and
//! [`Engine::run_writebacks`] after it.

use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use super::error::{PassError, Service};
use super::snapshot::Snapshot;
use super::{Engine, PassReport};
use crate::plan::Action;
use crate::state::outbox::OrderRef;
use crate::writeback::apply::{self, WriteCrash, Writers};
use crate::writeback::{self as wb, FollowUp, Targets};

/// One note as `--dry-run` lists it: no e-mail address, no note body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWrite {
    pub key: String,
    pub target: &'static str,
    pub event: String,
    /// "planned" (this plan), or "pending" (in the outbox from a pass before).
    pub source: &'static str,
}

/// The dry-run table of the notes, after the plan's.
pub fn render_writeback_table(rows: &[PlannedWrite]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let w = |f: fn(&PlannedWrite) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let (wk, wt, we) = (
        w(|r| r.key.chars().count(), "KEY"),
        w(|r| r.target.len(), "TARGET"),
        w(|r| r.event.len(), "EVENT"),
    );
    let mut out = format!("{:wk$}  {:wt$}  {:we$}  WHEN\n", "KEY", "TARGET", "EVENT");
    for r in rows {
        out.push_str(&format!(
            "{:wk$}  {:wt$}  {:we$}  {}\n",
            r.key, r.target, r.event, r.source
        ));
    }
    out.push_str(&format!("{} Magento/Freshdesk note(s).\n", rows.len()));
    // Which tickets a note goes on is only known by asking Freshdesk, which
    // a dry run never does: the links are announced, not listed.
    if rows.iter().any(|r| r.target.starts_with("freshdesk")) {
        out.push_str(
            "Each Freshdesk ticket they go on is linked once on its card (a Trello comment).\n",
        );
    }
    out
}

impl Engine {
    fn writeback_targets(&self) -> Targets {
        Targets {
            order_notes: self.config.magento.order_notes,
            freshdesk: self.freshdesk.is_some(),
            escalate: self
                .config
                .freshdesk
                .as_ref()
                .map(|f| f.escalation_rules.clone())
                .unwrap_or_default(),
        }
    }

    /// Tests only: stop the write-back at `at`, as a crash would.
    #[cfg(feature = "test-hooks")]
    pub fn set_writeback_crash(&mut self, at: Option<WriteCrash>) {
        self.writeback_crash = at;
    }

    /// The notes this plan asks for (none when no target is on).
    pub(super) fn followups_of(&self, actions: &[Action]) -> Vec<FollowUp> {
        let targets = self.writeback_targets();
        if targets == Targets::default() {
            return Vec::new();
        }
        let prior = |key: &crate::domain::ProblemKey| {
            self.state
                .card(key)
                .ok()
                .flatten()
                .map(|r| (r.rule, r.card_id))
        };
        wb::followups(actions, &prior, &targets)
    }

    pub(super) fn plan_writebacks(&self, followups: &[FollowUp], report: &mut PassReport) {
        report.writeback_plan = followups
            .iter()
            .map(|f| PlannedWrite {
                key: f.key.to_string(),
                target: f.target.as_str(),
                event: f.event.slug(),
                source: "planned",
            })
            .collect();
        match self.state.pending_writes() {
            Ok(pending) => report
                .writeback_plan
                .extend(pending.into_iter().map(|(_, w)| PlannedWrite {
                    key: w.follow_up.key.to_string(),
                    target: w.follow_up.target.as_str(),
                    event: w.follow_up.event.slug(),
                    source: "pending",
                })),
            Err(e) => report
                .errors
                .push(PassError::state("reading the write-back outbox", e)),
        }
    }

    /// The orders of the snapshot by increment id, as the notes need them
    /// (empty when no write-back target is on).
    pub(super) fn order_refs(&self, snapshot: &Snapshot) -> BTreeMap<String, OrderRef> {
        if self.writeback_targets() == Targets::default() {
            return BTreeMap::new();
        }
        snapshot
            .orders
            .values()
            .map(|o| {
                (
                    o.increment_id.clone(),
                    OrderRef {
                        entity_id: o.entity_id,
                        increment_id: o.increment_id.clone(),
                        email: o.customer.email.clone(),
                    },
                )
            })
            .collect()
    }

    /// Journals the notes before the card writes; false when the pass must
    /// stop (the state refused, or a simulated crash).
    pub(super) fn enqueue_writebacks(
        &self,
        followups: Vec<FollowUp>,
        orders: &BTreeMap<String, OrderRef>,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> bool {
        if followups.is_empty() {
            return true;
        }
        let order_of = |increment_id: &str| orders.get(increment_id).cloned();
        if let Err(e) = apply::enqueue(
            &self.state,
            followups,
            &order_of,
            now,
            &mut report.writeback,
        ) {
            report.errors.push(
                PassError::state("journaling the write-back notes", e).then("; nothing applied"),
            );
            return false;
        }
        take_failures(report);
        if self.writeback_crash == Some(WriteCrash::BeforeCard) {
            report.writeback.crashed = true;
            return false;
        }
        true
    }

    /// Arms (or drops) the notes an earlier pass left unarmed.
    pub(super) fn arm_writebacks(&self, report: &mut PassReport) {
        if let Err(e) = apply::arm(&self.state, &mut report.writeback) {
            report.errors.push(PassError::state("write-back outbox", e));
        }
    }

    /// Arms and writes the outbox's notes, after the card writes.
    pub(super) async fn run_writebacks(&self, now: DateTime<Utc>, report: &mut PassReport) {
        if self.writeback_crash == Some(WriteCrash::AfterCard) {
            report.writeback.crashed = true;
            return;
        }
        let targets = self.writeback_targets();
        let writers = Writers {
            magento: targets.order_notes.then_some(&self.magento),
            freshdesk: self.freshdesk.as_ref().zip(self.config.freshdesk.as_ref()),
            trello: Some(&self.trello),
        };
        let r = apply::apply_outbox(&self.state, writers, now, self.writeback_crash).await;
        let w = &mut report.writeback;
        w.failures.extend(r.failures);
        w.magento_notes += r.magento_notes;
        w.freshdesk_notes += r.freshdesk_notes;
        w.escalations += r.escalations;
        w.ticket_links += r.ticket_links;
        w.no_ticket += r.no_ticket;
        w.dropped += r.dropped;
        w.pending += r.pending;
        w.crashed |= r.crashed;
        take_failures(report);
    }
}

/// The write-back's failures become the pass's errors (scrubbed, counted,
/// in the exit code like every other).
fn take_failures(report: &mut PassReport) {
    for (target, text) in std::mem::take(&mut report.writeback.failures) {
        let service = match target {
            Some(crate::writeback::WriteTarget::MagentoOrderNote) => Service::Magento,
            Some(_) => Service::Freshdesk,
            None => Service::State,
        };
        report.errors.push(PassError::Writeback { service, text });
    }
}
