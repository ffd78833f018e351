//! Apply (ARCHITECTURE.md, steps 2 and 9 to 10): what a real pass does
//! around the plan. Before planning, the journal is settled; after, the
//! pull's changes are stored, the missing lists created, the pass's instant
//! stored and the actions applied by `plan::apply`, each one journaled;
//! then old orders are forgotten. [`TrelloBoard`] is the Trello client as
//! `plan::apply` sees it (`plan::BoardWriter`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::error::PassError;
use super::snapshot;
use super::{Engine, PassReport, PlanBoard, Planned, Stop, merge_applied};
use crate::board::trello::{self, NewCard, TrelloClient, TrelloError};
use crate::board::{BoardCard, BoardChecklist, BoardLabel, CardContent, LabelSpec, parse_marker};
use crate::domain::ProblemKey;
use crate::http::Idempotent;
use crate::plan::{
    self, Action, ApplyOptions, ApplyReport, BoardWriter, CardUpdate, Cause, WriteError,
};

impl Engine {
    /// A real pass: settle, plan, apply.
    pub(super) async fn pass(&self, now: DateTime<Utc>, stop: &Stop) -> PassReport {
        let board = TrelloBoard::new(&self.trello);
        let settled = match self.settle(now, &board).await {
            Ok(settled) => settled,
            Err(report) => return report,
        };
        let mut planned = self.plan(now, stop).await;
        merge_applied(&mut planned.report.apply, settled);
        // Notes journaled by a pass that stopped before arming them: armed
        // or dropped on what the settled journal recorded, before this pass
        // writes cards of its own.
        self.arm_writebacks(&mut planned.report);
        self.apply(planned, &board, stop).await
    }

    /// Steps 1 and 2: refuse to go back in time (nothing written, not even
    /// a settle), then settle the journal: a write whose outcome is unknown
    /// from the previous pass must be settled before the board is read for
    /// the plan. `Err` is the report of a pass that stops here.
    async fn settle(
        &self,
        now: DateTime<Utc>,
        board: &TrelloBoard<'_>,
    ) -> Result<ApplyReport, PassReport> {
        let mut report = PassReport::at(now);
        match self.clock_check(now) {
            Ok(None) => {}
            Ok(Some(behind)) => {
                report.clock_behind = Some(behind.to_string());
                report.errors.push(behind);
                return Err(report);
            }
            Err(e) => {
                report.state_failed("reading the last pass's instant", e);
                return Err(report);
            }
        }
        let settled = plan::settle_pending(board, &self.state, now).await;
        let Some(fatal) = settled.fatal.clone() else {
            return Ok(settled);
        };
        // A corrupt store is recovered from (moved aside, cards adopted
        // back) instead of failing every pass here.
        if let Some(e) = fatal.state_error().filter(|e| e.is_corruption()) {
            report.state_corrupt = Some(e.to_string());
        }
        report
            .errors
            .push(PassError::apply("settling the journal", fatal));
        merge_applied(&mut report.apply, settled);
        Err(report)
    }

    /// Steps 9 and 10 for a planned pass: store what the pull changed,
    /// create the missing lists (and plan again with them), store the
    /// pass's instant if it writes, apply each action (intent → flush →
    /// Trello → record and settle → flush), forget old orders.
    ///
    /// The pull's changes are stored here rather than as the pull made
    /// them: a crash before this point loses only what the next pass reads
    /// again (the cursor never moved), and they are stored, in the pull's
    /// order, before anything is written to Trello.
    async fn apply(&self, planned: Planned, board: &TrelloBoard<'_>, stop: &Stop) -> PassReport {
        let Planned {
            mut report,
            writes,
            board: plan_board,
            cases,
        } = planned;
        snapshot::persist(&self.state, writes, &mut report);
        self.persist_cases(cases, &mut report);
        let Some(PlanBoard {
            mut input,
            missing_lists,
            orders,
        }) = plan_board
        else {
            self.flush(&mut report);
            return report;
        };
        if self
            .create_lists(&missing_lists, &mut input, &mut report)
            .await
        {
            report.actions = plan::plan(&input);
        }
        board.remember_labels(&input.board.labels);
        if report.actions.iter().any(Action::writes_board) {
            // Before the first write: a crash in the middle still counts.
            if let Err(e) = self
                .state
                .note_write_at(now_of(&report))
                .and_then(|()| self.state.flush())
            {
                report.errors.push(
                    PassError::state("storing this pass's instant", e).then("; nothing applied"),
                );
                return report;
            }
        }
        let now = now_of(&report);
        let followups = self.followups_of(&report.actions);
        if !self.enqueue_writebacks(followups, &orders, now, &mut report) {
            return report;
        }
        let mut opts = ApplyOptions::new(now);
        opts.stop = Some(stop.flag());
        opts.max_in_flight = self.max_in_flight;
        let applied = plan::apply(&report.actions, board, &self.state, &opts).await;
        report.stopped = stop.is_raised();
        merge_applied(&mut report.apply, applied);
        self.run_writebacks(now, &mut report).await;
        let horizon = now - chrono::Duration::days(i64::from(self.config.magento.lookback_days));
        match self.state.prune_orders(horizon) {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "forgot orders older than magento.lookback_days"),
            Err(e) => report
                .errors
                .push(PassError::state("pruning old orders", e)),
        }
        self.flush(&mut report);
        report
    }

    fn flush(&self, report: &mut PassReport) {
        if let Err(e) = self.state.flush() {
            report
                .errors
                .push(PassError::state("flushing the state", e));
        }
    }
}

/// The instant of a planned pass (always set by `plan`).
fn now_of(report: &PassReport) -> DateTime<Utc> {
    report.now.unwrap_or_default()
}

/// The Trello client as the applier sees it. Labels are resolved from the
/// board read at the start of the pass (one read, not one per card) and
/// created when missing.
pub struct TrelloBoard<'a> {
    trello: &'a TrelloClient,
    /// (name, colour) → label id.
    labels: Mutex<HashMap<(String, String), String>>,
}

impl<'a> TrelloBoard<'a> {
    pub fn new(trello: &'a TrelloClient) -> Self {
        TrelloBoard {
            trello,
            labels: Mutex::new(HashMap::new()),
        }
    }

    /// The board's labels as read at the start of the pass, so that
    /// [`BoardWriter::ensure_labels`] reuses them instead of creating
    /// duplicates. Public for tests that drive `plan::apply` with this
    /// writer (crash simulations).
    pub fn remember_labels(&self, labels: &[BoardLabel]) {
        let mut map = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        for l in labels {
            map.entry((l.name.clone(), l.color.clone().unwrap_or_default()))
                .or_insert_with(|| l.id.clone());
        }
    }
}

/// The Trello error, whole, as the kind of write failure it is.
fn write_error(e: TrelloError) -> WriteError {
    if e.is_fatal() {
        WriteError::Fatal(Cause::new(e))
    } else if e.outcome_is_unknown() {
        WriteError::Unknown(Cause::new(e))
    } else {
        WriteError::Definite(Cause::new(e))
    }
}

impl BoardWriter for TrelloBoard<'_> {
    async fn ensure_labels(&self, specs: &[LabelSpec]) -> Result<Vec<String>, WriteError> {
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            let key = (spec.name.clone(), spec.color.clone());
            let known = self
                .labels
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned();
            let id = match known {
                Some(id) => id,
                None => {
                    // A label creation is harmless to repeat: at worst a
                    // duplicate label no card uses.
                    let l = self
                        .trello
                        .create_label(&spec.name, &spec.color)
                        .await
                        .map_err(write_error)?;
                    self.labels
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key, l.id.clone());
                    l.id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    async fn create_card(
        &self,
        list_id: &str,
        content: &CardContent,
        label_ids: &[String],
    ) -> Result<BoardCard, WriteError> {
        let card = NewCard {
            name: content.title.clone(),
            desc: content.description.clone(),
            id_labels: label_ids.to_vec(),
            due: content.due,
        };
        self.trello
            .create_card(list_id, &card)
            .await
            .map_err(write_error)
    }

    async fn update_card(&self, card_id: &str, update: &CardUpdate) -> Result<(), WriteError> {
        let u = trello::CardUpdate {
            name: update.name.clone(),
            desc: update.desc.clone(),
            id_list: update.id_list.clone(),
            due: update.due,
            id_labels: update.id_labels.clone(),
            closed: None,
        };
        // A PUT of the full desired fields is idempotent: safe to retry.
        self.trello
            .update_card(card_id, &u, Idempotent::Yes)
            .await
            .map(|_| ())
            .map_err(write_error)
    }

    async fn add_comment(&self, card_id: &str, text: &str) -> Result<(), WriteError> {
        self.trello
            .add_comment(card_id, text)
            .await
            .map(|_| ())
            .map_err(write_error)
    }

    async fn find_card_by_marker(&self, key: &ProblemKey) -> Result<Option<BoardCard>, WriteError> {
        let cards = self.trello.cards().await.map_err(write_error)?;
        Ok(cards
            .into_iter()
            .find(|c| parse_marker(&c.desc).as_ref() == Some(key)))
    }

    async fn recent_comments(&self, card_id: &str) -> Result<Vec<String>, WriteError> {
        self.trello.comments(card_id).await.map_err(write_error)
    }

    async fn create_checklist(&self, card_id: &str, name: &str) -> Result<String, WriteError> {
        self.trello
            .create_checklist(card_id, name)
            .await
            .map(|c| c.id)
            .map_err(write_error)
    }

    async fn add_check_item(
        &self,
        checklist_id: &str,
        name: &str,
        due: Option<DateTime<Utc>>,
    ) -> Result<String, WriteError> {
        self.trello
            .add_check_item(checklist_id, name, due)
            .await
            .map(|i| i.id)
            .map_err(write_error)
    }

    async fn card_checklists(&self, card_id: &str) -> Result<Vec<BoardChecklist>, WriteError> {
        self.trello
            .card_checklists(card_id)
            .await
            .map_err(write_error)
    }
}
