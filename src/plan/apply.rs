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
//!
//! # Writes in flight
//!
//! [`apply`] runs up to [`ApplyOptions::max_in_flight`] actions at once,
//! each for a different card, so that Trello's latency does not set the
//! pace (the client's rate limiter does). Actions are grouped into lanes:
//! every action of one key, and every action naming one card id, in one
//! lane, in plan order; lanes run side by side, polled by the pass's own
//! task (no spawned task, so the borrows of the state and the board stay
//! as they are). Each action keeps the protocol above on its own: intent
//! and flush, steps, settle and flush; sled's flush makes everything
//! written so far durable, whichever lane calls it. A pending write blocks
//! its key's later actions (they are in its lane); a fatal error stops
//! every lane from starting another action, those in flight finish; a stop
//! request likewise. Labels are looked up and created by one lane at a
//! time so that a missing label is created once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

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
    /// actions in hand are always settled before the pass stops.
    pub stop: Option<Arc<AtomicBool>>,
    /// Actions carried out at once, each for a different card (1: one at
    /// a time, in plan order). The client's rate limiter paces them.
    pub max_in_flight: usize,
}

/// Writes in flight by default: enough to keep Trello's 100 requests per
/// 10 s busy at a few hundred milliseconds a request (the limiter, not
/// this, sets the pace).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

impl ApplyOptions {
    pub fn new(now: DateTime<Utc>) -> Self {
        ApplyOptions {
            now,
            #[cfg(feature = "test-hooks")]
            crash: None,
            stop: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
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
    let labels_lock = tokio::sync::Mutex::new(());
    for (id, intent) in pending {
        let action = Action::from(intent.action.clone());
        let mut run = Run {
            board,
            state,
            now,
            labels_lock: &labels_lock,
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

/// What the lanes of one [`apply`] share.
struct Shared<'a> {
    /// Journal intents pending before this pass: their keys' actions wait.
    pending_before: &'a BTreeSet<ProblemKey>,
    /// Counts, and failures tagged with their action's index (sorted into
    /// plan order at the end): written as each action ends, so that what
    /// the lanes did before a crash is in the report.
    acc: Mutex<(ApplyReport, Vec<(usize, ApplyFailure)>)>,
    /// A fatal error: no lane starts another action.
    fatal: AtomicBool,
    /// Actions started, for the stop message; whether it was logged.
    started: AtomicUsize,
    stop_logged: AtomicBool,
    /// Held across "look up, create if missing" of labels, so that two
    /// lanes never create the same missing label twice.
    labels: tokio::sync::Mutex<()>,
}

impl Shared<'_> {
    fn with<T>(&self, f: impl FnOnce(&mut ApplyReport, &mut Vec<(usize, ApplyFailure)>) -> T) -> T {
        let mut g = self.acc.lock().unwrap_or_else(|e| e.into_inner());
        let (report, failures) = &mut *g;
        f(report, failures)
    }

    fn fail(&self, index: usize, action: &Action, message: impl Into<String>) {
        let mut one = ApplyReport::default();
        one.fail(action, message);
        self.with(|_, failures| failures.extend(one.failures.into_iter().map(|f| (index, f))));
    }
}

/// The actions of `actions` grouped into lanes, each in plan order: all of
/// one key, and all naming one card, in the same lane (so one card's
/// writes keep their order); lanes ordered by their first action. With
/// `max_in_flight` 1, one lane: exactly the plan's order.
fn lanes(actions: &[Action], max_in_flight: usize) -> Vec<Vec<usize>> {
    if max_in_flight <= 1 {
        return vec![(0..actions.len()).collect()];
    }
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..actions.len()).collect();
    let mut by_key: HashMap<&ProblemKey, usize> = HashMap::new();
    let mut by_card: HashMap<String, usize> = HashMap::new();
    for (i, action) in actions.iter().enumerate() {
        let join = |other: usize, parent: &mut Vec<usize>| {
            let (a, b) = (root(parent, other), root(parent, i));
            // The earlier action's root stays the root: lanes keep the
            // index of their first action.
            let (lo, hi) = (a.min(b), a.max(b));
            parent[hi] = lo;
        };
        if let Some(&j) = by_key.get(action.key()) {
            join(j, &mut parent);
        } else {
            by_key.insert(action.key(), i);
        }
        if let Some(card) = initial_card_id(action) {
            if let Some(&j) = by_card.get(&card) {
                join(j, &mut parent);
            } else {
                by_card.insert(card, i);
            }
        }
    }
    let mut lanes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..actions.len() {
        let r = root(&mut parent, i);
        lanes.entry(r).or_default().push(i);
    }
    lanes.into_values().collect()
}

/// Carries out `actions` (see the module docs for the protocol), up to
/// `opts.max_in_flight` actions at once, each for a different card: the
/// actions of one key or one card run one after another in plan order, in
/// one lane; each action follows the journal protocol on its own. Never
/// stops at a failed action; a fatal error stops launching actions (those
/// in flight finish); a simulated crash drops every lane at its current
/// await, as a killed process would (the crashing lane's unflushed notes
/// are lost if asked; the other lanes' notes, written without a flush, are
/// kept: losing those is not simulated). Intents still pending in the
/// journal block their key's actions. Failures are reported in plan order.
pub async fn apply<B: BoardWriter>(
    actions: &[Action],
    board: &B,
    state: &State,
    opts: &ApplyOptions,
) -> ApplyReport {
    let pending_before: BTreeSet<ProblemKey> = match state.pending_intents() {
        Ok(p) => p.into_iter().map(|(_, i)| i.key).collect(),
        Err(e) => {
            return ApplyReport {
                fatal: Some(ApplyFatal::state(e)),
                ..ApplyReport::default()
            };
        }
    };
    let shared = Shared {
        pending_before: &pending_before,
        acc: Mutex::new((ApplyReport::default(), Vec::new())),
        fatal: AtomicBool::new(false),
        started: AtomicUsize::new(0),
        stop_logged: AtomicBool::new(false),
        labels: tokio::sync::Mutex::new(()),
    };
    let max = opts.max_in_flight.max(1);
    let mut waiting = lanes(actions, max).into_iter();
    let mut running = FuturesUnordered::new();
    #[cfg(feature = "test-hooks")]
    let mut crashed = false;
    #[cfg(not(feature = "test-hooks"))]
    let crashed = false;
    loop {
        while running.len() < max && !shared.fatal.load(Ordering::SeqCst) {
            let Some(lane) = waiting.next() else { break };
            running.push(run_lane(lane, actions, board, state, opts, &shared));
        }
        match running.next().await {
            None => break,
            Some(LaneEnd::Finished) => {}
            #[cfg(feature = "test-hooks")]
            Some(LaneEnd::Crashed) => {
                crashed = true;
                break;
            }
        }
    }
    // Dropping the lanes still running is the crash: they stop where they
    // are, mid-request or between two steps, and write nothing more.
    drop(running);
    let (mut report, mut failures) = shared.acc.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort_by_key(|(i, _)| *i);
    report.failures = failures.into_iter().map(|(_, f)| f).collect();
    if crashed {
        #[cfg(feature = "test-hooks")]
        {
            report.crashed = true;
        }
        return report;
    }
    if let Err(e) = state.flush() {
        report.fatal.get_or_insert(ApplyFatal::state(e));
    }
    report
}

enum LaneEnd {
    Finished,
    /// Tests only: a simulated crash.
    #[cfg(feature = "test-hooks")]
    Crashed,
}

/// One lane's actions, one after another. A pending write blocks the rest
/// of its key's actions, as across passes.
async fn run_lane<B: BoardWriter>(
    lane: Vec<usize>,
    actions: &[Action],
    board: &B,
    state: &State,
    opts: &ApplyOptions,
    shared: &Shared<'_>,
) -> LaneEnd {
    let mut blocked: BTreeSet<ProblemKey> = BTreeSet::new();
    for index in lane {
        let action = &actions[index];
        if shared.fatal.load(Ordering::SeqCst) {
            break;
        }
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            if !shared.stop_logged.swap(true, Ordering::SeqCst) {
                tracing::info!(
                    left = actions.len() - shared.started.load(Ordering::SeqCst),
                    "stopping: the remaining actions wait for the next pass"
                );
            }
            break;
        }
        shared.started.fetch_add(1, Ordering::SeqCst);
        if shared.pending_before.contains(action.key()) || blocked.contains(action.key()) {
            shared.fail(
                index,
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
            labels_lock: &shared.labels,
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
            Outcome::Done => shared.with(|r, _| r.count(action)),
            Outcome::Dropped => {}
            Outcome::Failed(m) => shared.fail(index, action, m),
            Outcome::Pending(m) => {
                shared.with(|r, _| r.pending += 1);
                blocked.insert(action.key().clone());
                shared.fail(index, action, m);
            }
            Outcome::Fatal(m) => {
                shared.fail(index, action, m.to_string());
                shared.with(|r, _| {
                    r.fatal.get_or_insert(m);
                });
                shared.fatal.store(true, Ordering::SeqCst);
                break;
            }
            #[cfg(feature = "test-hooks")]
            Outcome::Crashed => return LaneEnd::Crashed,
        }
    }
    LaneEnd::Finished
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
