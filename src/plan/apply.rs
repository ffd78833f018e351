//! Apply: carries out a plan against the Trello board, every write
//! journaled in the state, so that a crash at any instant, a lost answer or
//! a failing Trello leaves no duplicate card and loses no problem.
//!
//! **Architecture invariant:** only this module writes to Trello, through a
//! [`BoardWriter`] (implemented for the real client by `board::trello`, and
//! by in-memory fakes in tests).
//!
//! # The journal protocol
//!
//! Each action that writes to Trello runs as:
//!
//! 1. **Intent.** Write an [`Intent`] (the key and the whole action) to the
//!    journal and **flush**. From here on, a crash leaves a trace saying
//!    "this write may have happened".
//! 2. **Call Trello**, one step at a time: create the card, or update it,
//!    then the comment(s) the action carries. After each step the intent's
//!    progress (`steps_done`, the card id a create returned, and the label
//!    ids a create or PUT wrote, for the record) is written without a
//!    flush: losing it only costs a board read when resuming.
//! 3. **Record and settle.** In one sled transaction, record the outcome in
//!    the `cards` tree and remove the intent; then **flush**.
//!
//! A step's answer can be lost (timeout, connection reset, 5xx after the
//! request was sent: [`WriteError::Unknown`]). Steps are settled by reading
//! before any retry:
//!
//! - *create* is not idempotent: look for a card carrying the key's marker
//!   ([`BoardWriter::find_card_by_marker`]). Found open: it is ours, record
//!   it (an archived one is the older card this create replaces). Not
//!   found: retry the create once; if that answer is lost too, leave the
//!   intent for the next pass.
//! - *update* (`PUT /cards/{id}`) is idempotent: retried once as is.
//! - *comment* is not idempotent: look at the card's recent comments for the
//!   exact text ([`BoardWriter::recent_comments`]) before posting it again.
//!   Every comment colisync posts ends with "(colisync, <pass instant>)"
//!   (`plan::comment_signature`, to the second) and names what
//!   happened, so the same text twice is the same comment. If the comments
//!   cannot be read the intent stays pending: a comment is posted at most
//!   once, and at least once as soon as Trello answers again.
//!
//! At the start of every pass, **before the board is read and the plan
//! made**, [`settle_pending`] resumes every intent left in the journal (by a
//! crash or an unsettled lost answer) the same way: the step that was in
//! flight is treated as "outcome unknown". A create whose card is not on the
//! board is dropped instead of retried: the plan made right after decides
//! afresh whether the problem still needs a card. [`apply`] refuses to act on
//! a key whose intent is still pending, so nothing is done twice.
//!
//! A [`WriteError::Definite`] failure (4xx, nothing written) settles the
//! intent: if the first step failed nothing changed and the next pass plans
//! the same action again; if a later step failed (a comment after an update)
//! the outcome of the steps done is recorded and the failure reported. A
//! [`WriteError::Fatal`] one (401: bad key or token) stops the pass. In every
//! case the pass goes on with the next action and the report lists what
//! failed, so the command can exit non-zero after finishing everything else.

use std::collections::BTreeSet;
use std::future::Future;

use chrono::{DateTime, Utc};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Action;
use crate::board::{BoardCard, BoardChecklist, CardContent, LabelSpec};
use crate::domain::ProblemKey;
use crate::state::{Intent, State};

mod error;
mod run;
mod steps;

pub use error::{ApplyFatal, Cause};
use run::{Outcome, Run};

/// Why a Trello write failed, as far as its effect is concerned. Each kind
/// carries the writer's own error, whose text names its service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Trello refused the request (4xx other than 401/429-exhausted, invalid
    /// id, unknown list): nothing was written.
    #[error("{0}")]
    Definite(Cause),
    /// The request may or may not have taken effect (timeout, connection
    /// reset, 5xx after the request was sent).
    #[error("outcome unknown: {0}")]
    Unknown(Cause),
    /// Nothing will work this pass (401 invalid key or token, missing
    /// scopes): stop writing.
    #[error("{0}")]
    Fatal(Cause),
}

/// A change to an existing card: every `Some` field is set, the others are
/// left as they are (`PUT /cards/{id}` with only these parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardUpdate {
    pub name: Option<String>,
    pub desc: Option<String>,
    /// `Some(Some(d))` when colisync renders a due date, `Some(None)` to
    /// clear the due date colisync wrote earlier (still on the card, so no
    /// lead changed it); `None` leaves the card's due date alone.
    pub due: Option<Option<DateTime<Utc>>>,
    /// The complete label set (Trello's `PUT` replaces it): the leads'
    /// labels plus colisync's.
    pub id_labels: Option<Vec<String>>,
    pub id_list: Option<String>,
}

/// What apply needs from the board. Implemented by the lead for the real
/// Trello client (rate-limited, secrets in headers) and by test fakes.
///
/// Errors must say whether the write may have happened ([`WriteError`]);
/// read errors are reported as `Unknown` (retry later) or `Fatal`.
pub trait BoardWriter: Sync {
    /// Ids of labels with these names and colours, creating the missing
    /// ones on the board.
    fn ensure_labels(
        &self,
        labels: &[LabelSpec],
    ) -> impl Future<Output = Result<Vec<String>, WriteError>> + Send;

    /// `POST /cards` with name, desc, due and idLabels in one request.
    fn create_card(
        &self,
        list_id: &str,
        content: &CardContent,
        label_ids: &[String],
    ) -> impl Future<Output = Result<BoardCard, WriteError>> + Send;

    /// `PUT /cards/{id}` with the fields set in `update`.
    fn update_card(
        &self,
        card_id: &str,
        update: &CardUpdate,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// `POST /cards/{id}/actions/comments`.
    fn add_comment(
        &self,
        card_id: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Reads the board (open and archived cards) for a card whose marker
    /// line carries `key`; the newest if several.
    fn find_card_by_marker(
        &self,
        key: &ProblemKey,
    ) -> impl Future<Output = Result<Option<BoardCard>, WriteError>> + Send;

    /// The texts of the card's most recent comments (the last 50 is plenty:
    /// only colisync's own last comments are looked for).
    fn recent_comments(
        &self,
        card_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, WriteError>> + Send;

    /// `POST /cards/{id}/checklists`: an empty checklist at the bottom of
    /// the card; its id.
    fn create_checklist(
        &self,
        card_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<String, WriteError>> + Send;

    /// `POST /checklists/{id}/checkItems`: an item at the bottom; its id.
    fn add_check_item(
        &self,
        checklist_id: &str,
        name: &str,
        due: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<String, WriteError>> + Send;

    /// The card's checklists with their items, to settle a checklist write
    /// whose outcome is unknown.
    fn card_checklists(
        &self,
        card_id: &str,
    ) -> impl Future<Output = Result<Vec<BoardChecklist>, WriteError>> + Send;
}

/// A point of the protocol where a test makes [`apply`] stop as if the
/// process had been killed. Only with the `test-hooks` feature, which the
/// shipped binary never enables.
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashAt {
    /// The intent is on disk, Trello not called yet.
    IntentFlushed,
    /// The action's n-th Trello write (0-based: create or update, then
    /// comments) returned; its outcome not recorded yet.
    TrelloCalled(u8),
    /// Outcome recorded and intent settled, not flushed yet.
    Recorded,
}

/// Fault injection for tests: stop at `at` while applying action number
/// `action` (its index in the slice given to [`apply`]).
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    pub action: usize,
    pub at: CrashAt,
    /// Also lose what was written to the state after the last flush (sled
    /// may or may not have written it when a process is killed): the
    /// action's progress notes and, at `Recorded`, the settle itself.
    pub lose_unflushed: bool,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The pass's instant, stamped on records and intents.
    pub now: DateTime<Utc>,
    /// Tests only: simulate a crash (see [`CrashPoint`]).
    #[cfg(feature = "test-hooks")]
    pub crash: Option<CrashPoint>,
    /// Raised by SIGTERM: checked between actions, never inside one, so the
    /// action in hand is always settled before the pass stops.
    pub stop: Option<Arc<AtomicBool>>,
}

impl ApplyOptions {
    pub fn new(now: DateTime<Utc>) -> Self {
        ApplyOptions {
            now,
            #[cfg(feature = "test-hooks")]
            crash: None,
            stop: None,
        }
    }
}

/// One action that did not (fully) happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyFailure {
    pub key: String,
    pub action: &'static str,
    pub message: String,
}

/// What a call to [`apply`] or [`settle_pending`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub created: usize,
    pub updated: usize,
    pub reopened: usize,
    pub resolved: usize,
    pub commented: usize,
    pub adopted: usize,
    pub marked_archived: usize,
    /// Journal intents from an earlier pass brought to an end.
    pub settled: usize,
    /// Intents still in the journal (outcome unknown): settled next pass.
    pub pending: usize,
    pub failures: Vec<ApplyFailure>,
    /// Set when a fatal error (bad credentials, unwritable state) stopped
    /// the pass.
    pub fatal: Option<ApplyFatal>,
    /// Tests only: a simulated crash stopped apply.
    #[cfg(feature = "test-hooks")]
    pub crashed: bool,
}

impl ApplyReport {
    /// Whether the pass should exit zero.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty() && self.fatal.is_none() && self.pending == 0
    }

    fn count(&mut self, action: &Action) {
        match action {
            Action::Create { .. } => self.created += 1,
            Action::Update { .. } => self.updated += 1,
            Action::Reopen { .. } => self.reopened += 1,
            Action::Resolve { .. } => self.resolved += 1,
            Action::Comment { .. } => self.commented += 1,
            Action::Adopt { .. } => self.adopted += 1,
            Action::MarkArchived { .. } => self.marked_archived += 1,
        }
    }

    fn fail(&mut self, action: &Action, message: impl Into<String>) {
        let f = ApplyFailure {
            key: action.key().to_string(),
            action: action.kind(),
            message: message.into(),
        };
        tracing::warn!(key = %f.key, action = f.action, error = %f.message, "action failed");
        self.failures.push(f);
    }
}

/// Resumes every intent left in the journal. Call it at the start of each
/// pass, before reading the board for the plan (see the module docs).
pub async fn settle_pending<B: BoardWriter>(
    board: &B,
    state: &State,
    now: DateTime<Utc>,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    let pending = match state.pending_intents() {
        Ok(p) => p,
        Err(e) => {
            report.fatal = Some(ApplyFatal::state(e));
            return report;
        }
    };
    for (id, intent) in pending {
        let action = Action::from(intent.action.clone());
        let mut run = Run {
            board,
            state,
            now,
            #[cfg(feature = "test-hooks")]
            crash: None,
            #[cfg(feature = "test-hooks")]
            lose_unflushed: false,
        };
        match run.execute(&action, id, intent, true).await {
            Outcome::Done | Outcome::Dropped => report.settled += 1,
            Outcome::Failed(m) => {
                report.settled += 1;
                report.fail(&action, m);
            }
            Outcome::Pending(m) => {
                report.pending += 1;
                report.fail(&action, m);
            }
            Outcome::Fatal(m) => {
                report.fatal = Some(m);
                break;
            }
            // No crash point is set when settling.
            #[cfg(feature = "test-hooks")]
            Outcome::Crashed => report.crashed = true,
        }
    }
    if let Err(e) = state.flush() {
        report.fatal.get_or_insert(ApplyFatal::state(e));
    }
    report
}

/// Carries out `actions` in order (see the module docs for the protocol).
/// Never stops at a failed action; stops at a fatal error or a simulated
/// crash. Intents still pending in the journal block their key's actions.
pub async fn apply<B: BoardWriter>(
    actions: &[Action],
    board: &B,
    state: &State,
    opts: &ApplyOptions,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    let mut blocked: BTreeSet<ProblemKey> = match state.pending_intents() {
        Ok(p) => p.into_iter().map(|(_, i)| i.key).collect(),
        Err(e) => {
            report.fatal = Some(ApplyFatal::state(e));
            return report;
        }
    };
    for (index, action) in actions.iter().enumerate() {
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            tracing::info!(
                left = actions.len() - index,
                "stopping: the remaining actions wait for the next pass"
            );
            break;
        }
        if blocked.contains(action.key()) {
            report.fail(
                action,
                "an earlier write for this problem is not settled yet; retried next pass",
            );
            continue;
        }
        #[cfg(feature = "test-hooks")]
        let crash = opts.crash.filter(|c| c.action == index);
        let mut run = Run {
            board,
            state,
            now: opts.now,
            #[cfg(feature = "test-hooks")]
            crash: crash.map(|c| c.at),
            #[cfg(feature = "test-hooks")]
            lose_unflushed: crash.is_some_and(|c| c.lose_unflushed),
        };
        let outcome = if action.writes_board() {
            let intent = Intent {
                key: action.key().clone(),
                action: action.into(),
                started_at: opts.now,
                card_id: initial_card_id(action),
                steps_done: 0,
                label_ids: None,
                checklist_id: None,
            };
            match state.begin_intent(&intent).and_then(|id| {
                state.flush()?;
                Ok(id)
            }) {
                #[cfg(feature = "test-hooks")]
                Ok(_) if run.crash_at(CrashAt::IntentFlushed) => Outcome::Crashed,
                Ok(id) => run.execute(action, id, intent, false).await,
                Err(e) => Outcome::Fatal(ApplyFatal::State {
                    doing: "cannot journal the write: ",
                    error: Cause::new(e),
                }),
            }
        } else {
            run.record_state_only(action)
        };
        match outcome {
            Outcome::Done => report.count(action),
            Outcome::Dropped => {}
            Outcome::Failed(m) => report.fail(action, m),
            Outcome::Pending(m) => {
                report.pending += 1;
                blocked.insert(action.key().clone());
                report.fail(action, m);
            }
            Outcome::Fatal(m) => {
                report.fail(action, m.to_string());
                report.fatal = Some(m);
                break;
            }
            #[cfg(feature = "test-hooks")]
            Outcome::Crashed => {
                report.crashed = true;
                return report;
            }
        }
    }
    if let Err(e) = state.flush() {
        report.fatal.get_or_insert(ApplyFatal::state(e));
    }
    report
}

fn initial_card_id(action: &Action) -> Option<String> {
    match action {
        Action::Create { .. } => None,
        Action::Update { card_id, .. }
        | Action::Reopen { card_id, .. }
        | Action::Resolve { card_id, .. }
        | Action::Adopt { card_id, .. }
        | Action::MarkArchived { card_id, .. }
        | Action::Comment { card_id, .. } => Some(card_id.clone()),
    }
}
