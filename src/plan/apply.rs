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
use crate::board::{BoardCard, CardContent, LabelSpec};
use crate::rules::ProblemKey;
use crate::state::{CardRecord, CardStatus, Intent, IntentId, State, StateError};

/// Why a Trello write failed, as far as its effect is concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Trello refused the request (4xx other than 401/429-exhausted, invalid
    /// id, unknown list): nothing was written.
    #[error("{0}")]
    Definite(String),
    /// The request may or may not have taken effect (timeout, connection
    /// reset, 5xx after the request was sent).
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Nothing will work this pass (401 invalid key or token, missing
    /// scopes): stop writing.
    #[error("{0}")]
    Fatal(String),
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
}

/// A point of the protocol where a test makes [`apply`] stop as if the
/// process had been killed.
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
    pub fatal: Option<String>,
    /// Tests only: a simulated crash stopped apply.
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
            report.fatal = Some(e.to_string());
            return report;
        }
    };
    let labels_lock = tokio::sync::Mutex::new(());
    for (id, intent) in pending {
        let action = intent.action.clone();
        let mut run = Run {
            board,
            state,
            now,
            crash: None,
            lose_unflushed: false,
            labels_lock: &labels_lock,
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
            Outcome::Crashed => report.crashed = true,
        }
    }
    if let Err(e) = state.flush() {
        report.fatal.get_or_insert(e.to_string());
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
                fatal: Some(e.to_string()),
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
    let mut crashed = false;
    loop {
        while running.len() < max && !shared.fatal.load(Ordering::SeqCst) {
            let Some(lane) = waiting.next() else { break };
            running.push(run_lane(lane, actions, board, state, opts, &shared));
        }
        match running.next().await {
            None => break,
            Some(LaneEnd::Finished) => {}
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
        report.crashed = true;
        return report;
    }
    if let Err(e) = state.flush() {
        report.fatal.get_or_insert(e.to_string());
    }
    report
}

enum LaneEnd {
    Finished,
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
        let crash = opts.crash.filter(|c| c.action == index);
        let mut run = Run {
            board,
            state,
            now: opts.now,
            crash: crash.map(|c| c.at),
            lose_unflushed: crash.is_some_and(|c| c.lose_unflushed),
            labels_lock: &shared.labels,
        };
        let outcome = if action.writes_board() {
            let intent = Intent {
                key: action.key().clone(),
                action: action.clone(),
                started_at: opts.now,
                card_id: initial_card_id(action),
                steps_done: 0,
                label_ids: None,
            };
            match state.begin_intent(&intent).and_then(|id| {
                state.flush()?;
                Ok(id)
            }) {
                Ok(_) if run.crash_at(CrashAt::IntentFlushed) => Outcome::Crashed,
                Ok(id) => run.execute(action, id, intent, false).await,
                Err(e) => Outcome::Fatal(format!("cannot journal the write: {e}")),
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
                shared.fail(index, action, m.clone());
                shared.with(|r, _| {
                    r.fatal.get_or_insert(m);
                });
                shared.fatal.store(true, Ordering::SeqCst);
                break;
            }
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

/// How one action ended.
enum Outcome {
    /// Done and recorded.
    Done,
    /// A resumed create whose card never reached the board: intent dropped,
    /// the next plan decides.
    Dropped,
    /// Settled without (fully) happening.
    Failed(String),
    /// Left in the journal, outcome unknown.
    Pending(String),
    /// Stop the pass.
    Fatal(String),
    /// Simulated crash (tests).
    Crashed,
}

/// One Trello write of an action.
enum Step<'a> {
    CreateCard {
        list_id: Option<&'a str>,
        list_name: &'a str,
        content: &'a CardContent,
    },
    Put {
        content: Option<&'a CardContent>,
        keep_label_ids: &'a [String],
        move_to: Option<&'a str>,
        /// The content has no due date: clear colisync's old one.
        clear_due: bool,
        /// The card's due date is a lead's: never written.
        lead_due: bool,
    },
    Comment(&'a str),
}

/// The steps of an action, in order. Deterministic: `Intent::steps_done`
/// indexes into it across a crash.
fn steps(action: &Action) -> Vec<Step<'_>> {
    fn move_id(t: &Option<super::ListTarget>) -> Option<&str> {
        t.as_ref().and_then(|t| t.id.as_deref())
    }
    let mut out = Vec::new();
    match action {
        Action::Create {
            list,
            content,
            note,
            ..
        } => {
            out.push(Step::CreateCard {
                list_id: list.id.as_deref(),
                list_name: &list.name,
                content,
            });
            out.extend(note.as_deref().map(Step::Comment));
        }
        Action::Update {
            content,
            keep_label_ids,
            move_to,
            comment,
            clear_due,
            lead_due,
            ..
        } => {
            out.push(Step::Put {
                content: Some(content),
                keep_label_ids,
                move_to: move_id(move_to),
                clear_due: *clear_due,
                lead_due: *lead_due,
            });
            out.extend(comment.as_deref().map(Step::Comment));
        }
        Action::Reopen {
            content,
            keep_label_ids,
            move_to,
            comment,
            clear_due,
            lead_due,
            ..
        } => {
            if content.is_some() || move_id(move_to).is_some() {
                out.push(Step::Put {
                    content: content.as_ref(),
                    keep_label_ids,
                    move_to: move_id(move_to),
                    clear_due: *clear_due,
                    lead_due: *lead_due,
                });
            }
            out.push(Step::Comment(comment));
        }
        Action::Resolve {
            comment, move_to, ..
        } => {
            out.extend(comment.as_deref().map(Step::Comment));
            if let Some(id) = move_id(move_to) {
                out.push(Step::Put {
                    content: None,
                    keep_label_ids: &[],
                    move_to: Some(id),
                    clear_due: false,
                    lead_due: true,
                });
            }
        }
        Action::Comment { text, .. } => out.push(Step::Comment(text)),
        Action::Adopt { .. } | Action::MarkArchived { .. } => {}
    }
    out
}

/// A failed step.
enum StepError {
    Definite(String),
    Pending(String),
    Fatal(String),
    /// Resumed create, no card on the board.
    Gone,
}

impl From<WriteError> for StepError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Definite(m) => StepError::Definite(m),
            WriteError::Unknown(m) => StepError::Pending(format!("outcome unknown: {m}")),
            WriteError::Fatal(m) => StepError::Fatal(m),
        }
    }
}

struct Run<'a, B> {
    board: &'a B,
    state: &'a State,
    now: DateTime<Utc>,
    /// Tests: where to simulate a crash in this action.
    crash: Option<CrashAt>,
    /// Tests: skip the unflushed writes the simulated crash would lose.
    lose_unflushed: bool,
    /// Shared by the lanes of one apply (see [`Shared::labels`]).
    labels_lock: &'a tokio::sync::Mutex<()>,
}

impl<B: BoardWriter> Run<'_, B> {
    /// Steps 2 and 3 of the protocol for one journaled action. `resuming`:
    /// the step at `intent.steps_done` may already have happened.
    async fn execute(
        &mut self,
        action: &Action,
        id: IntentId,
        mut intent: Intent,
        resuming: bool,
    ) -> Outcome {
        let steps = steps(action);
        // colisync's label ids as last written, for the record; when
        // resuming, what the steps already done wrote (saved with them).
        let mut our_labels: Option<Vec<String>> = intent.label_ids.clone();
        let start = usize::from(intent.steps_done);
        let mut failure: Option<StepError> = None;
        for (i, step) in steps.iter().enumerate().skip(start) {
            // Resuming, the step in flight may have happened; so may any
            // later comment (progress is written without a flush), and a
            // comment is not idempotent: check them all before posting.
            let unknown = resuming && (i == start || matches!(step, Step::Comment(_)));
            let result = self
                .step(
                    action,
                    step,
                    intent.card_id.as_deref(),
                    unknown,
                    &mut our_labels,
                )
                .await;
            match result {
                Ok(card_id) => {
                    if self.crash_at(CrashAt::TrelloCalled(u8::try_from(i).unwrap_or(u8::MAX))) {
                        return Outcome::Crashed;
                    }
                    if card_id.is_some() {
                        intent.card_id = card_id;
                    }
                    intent.steps_done = u8::try_from(i + 1).unwrap_or(u8::MAX);
                    intent.label_ids.clone_from(&our_labels);
                    if self.lose_unflushed {
                        continue;
                    }
                    if let Err(e) = self.state.put_intent(id, &intent) {
                        return Outcome::Fatal(e.to_string());
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let done = usize::from(intent.steps_done);
        let fatal = matches!(failure, Some(StepError::Fatal(_)));
        let message = match failure {
            None => None,
            Some(StepError::Gone) => {
                return match self.settle(id, None) {
                    Ok(()) => Outcome::Dropped,
                    Err(e) => Outcome::Fatal(e.to_string()),
                };
            }
            Some(StepError::Pending(m)) => return Outcome::Pending(m),
            Some(StepError::Definite(m)) if done == 0 => {
                return match self.settle(id, None) {
                    Ok(()) => Outcome::Failed(m),
                    Err(e) => Outcome::Fatal(e.to_string()),
                };
            }
            Some(StepError::Fatal(m)) if done == 0 => {
                return match self.settle(id, None) {
                    Ok(()) => Outcome::Fatal(m),
                    Err(e) => Outcome::Fatal(e.to_string()),
                };
            }
            Some(StepError::Definite(m) | StepError::Fatal(m)) => Some(m),
        };
        // The main effect happened: record it (even if a later step failed).
        let record = match self.outcome_record(action, &intent, done, our_labels).await {
            Ok(r) => r,
            Err(e) => return Outcome::Fatal(e.to_string()),
        };
        let key = action.key();
        if self.lose_unflushed && self.crash_at(CrashAt::Recorded) {
            return Outcome::Crashed;
        }
        if let Err(e) = self
            .state
            .settle_intent(id, record.as_ref().map(|r| (key, r)))
        {
            return Outcome::Fatal(e.to_string());
        }
        if self.crash_at(CrashAt::Recorded) {
            return Outcome::Crashed;
        }
        if let Err(e) = self.state.flush() {
            return Outcome::Fatal(e.to_string());
        }
        match message {
            None => Outcome::Done,
            Some(m) if fatal => Outcome::Fatal(m),
            Some(m) => Outcome::Failed(format!("partly done: {m}")),
        }
    }

    /// Whether the simulated crash is set for this point (then it is used).
    fn crash_at(&mut self, at: CrashAt) -> bool {
        if self.crash == Some(at) {
            self.crash = None;
            true
        } else {
            false
        }
    }

    fn settle(
        &self,
        id: IntentId,
        record: Option<(&ProblemKey, &CardRecord)>,
    ) -> Result<(), StateError> {
        self.state.settle_intent(id, record)?;
        self.state.flush()
    }

    /// Runs one step; returns the card id a create produced.
    async fn step(
        &self,
        action: &Action,
        step: &Step<'_>,
        card_id: Option<&str>,
        unknown: bool,
        our_labels: &mut Option<Vec<String>>,
    ) -> Result<Option<String>, StepError> {
        match step {
            Step::CreateCard {
                list_id,
                list_name,
                content,
            } => {
                if unknown {
                    return match self.created_card(action.key()).await {
                        Ok(Some(card)) => {
                            *our_labels = Some(card.id_labels.clone());
                            Ok(Some(card.id))
                        }
                        Ok(None) => Err(StepError::Gone),
                        Err(e) => Err(StepError::Pending(format!(
                            "cannot read the board to settle a create: {e}"
                        ))),
                    };
                }
                let Some(list_id) = list_id else {
                    return Err(StepError::Definite(format!(
                        "intake list {list_name:?} does not exist on the board"
                    )));
                };
                let labels = self.labels(content).await?;
                let mut retried = false;
                loop {
                    match self.board.create_card(list_id, content, &labels).await {
                        Ok(card) => {
                            *our_labels = Some(labels);
                            return Ok(Some(card.id));
                        }
                        Err(WriteError::Unknown(m)) => {
                            match self.created_card(action.key()).await {
                                Ok(Some(card)) => {
                                    *our_labels = Some(card.id_labels.clone());
                                    return Ok(Some(card.id));
                                }
                                Ok(None) if !retried => retried = true,
                                Ok(None) => {
                                    return Err(StepError::Pending(format!(
                                        "create outcome unknown twice ({m}); settled next pass"
                                    )));
                                }
                                Err(e) => {
                                    return Err(StepError::Pending(format!(
                                        "create outcome unknown ({m}) and the board cannot be \
                                         read ({e}); settled next pass"
                                    )));
                                }
                            }
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Step::Put {
                content,
                keep_label_ids,
                move_to,
                clear_due,
                lead_due,
            } => {
                let card_id = card_id.ok_or_else(|| StepError::Definite("no card id".into()))?;
                let mut update = CardUpdate {
                    id_list: move_to.map(str::to_owned),
                    ..CardUpdate::default()
                };
                if let Some(content) = content {
                    let ours = self.labels(content).await?;
                    let mut all: Vec<String> = keep_label_ids.to_vec();
                    all.extend(
                        ours.iter()
                            .filter(|id| !keep_label_ids.contains(id))
                            .cloned(),
                    );
                    update.name = Some(content.title.clone());
                    update.desc = Some(content.description.clone());
                    update.due = match content.due {
                        _ if *lead_due => None,
                        Some(due) => Some(Some(due)),
                        None if *clear_due => Some(None),
                        None => None,
                    };
                    update.id_labels = Some(all);
                    *our_labels = Some(ours);
                }
                // Idempotent: a lost answer is retried once as is.
                match self.board.update_card(card_id, &update).await {
                    Err(WriteError::Unknown(_)) => {
                        self.board.update_card(card_id, &update).await?;
                        Ok(None)
                    }
                    r => r.map(|()| None).map_err(StepError::from),
                }
            }
            Step::Comment(text) => {
                let card_id = card_id.ok_or_else(|| StepError::Definite("no card id".into()))?;
                if unknown && self.has_comment(card_id, text).await? {
                    return Ok(None);
                }
                match self.board.add_comment(card_id, text).await {
                    Ok(()) => Ok(None),
                    Err(WriteError::Unknown(m)) => {
                        if self.has_comment(card_id, text).await? {
                            return Ok(None);
                        }
                        match self.board.add_comment(card_id, text).await {
                            Ok(()) => Ok(None),
                            Err(WriteError::Unknown(m2)) => Err(StepError::Pending(format!(
                                "comment outcome unknown twice ({m}; {m2}); settled next pass"
                            ))),
                            Err(e) => Err(e.into()),
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The card a create of `key` whose outcome is unknown produced, if it
    /// reached the board. Only an open card counts: a create is planned
    /// only when the key has no live card, so an archived card with the
    /// same marker is the older card this one replaces (a problem that got
    /// more severe, or came back after resolution), never the new one.
    /// Taking it for the new card (the board read returns the newest marker
    /// card, which is the archived one when the create did not happen)
    /// recorded the archived card as filed and lost the problem.
    async fn created_card(&self, key: &ProblemKey) -> Result<Option<BoardCard>, WriteError> {
        Ok(self
            .board
            .find_card_by_marker(key)
            .await?
            .filter(|card| !card.closed))
    }

    async fn has_comment(&self, card_id: &str, text: &str) -> Result<bool, StepError> {
        match self.board.recent_comments(card_id).await {
            Ok(comments) => Ok(comments.iter().any(|c| c == text)),
            Err(WriteError::Fatal(m)) => Err(StepError::Fatal(m)),
            Err(e) => Err(StepError::Pending(format!(
                "cannot read the card's comments to settle a comment: {e}"
            ))),
        }
    }

    /// Label ids for the content's labels. Creating a missing label is not a
    /// card write: whatever went wrong, nothing happened to the card.
    async fn labels(&self, content: &CardContent) -> Result<Vec<String>, StepError> {
        let _one_at_a_time = self.labels_lock.lock().await;
        self.board
            .ensure_labels(&content.labels)
            .await
            .map_err(|e| match e {
                WriteError::Fatal(m) => StepError::Fatal(m),
                e => StepError::Definite(format!("labels: {e}")),
            })
    }

    /// The card record after `action` with its first `done` steps done.
    async fn outcome_record(
        &self,
        action: &Action,
        intent: &Intent,
        done: usize,
        our_labels: Option<Vec<String>>,
    ) -> Result<Option<CardRecord>, StateError> {
        let now = self.now;
        let key = action.key();
        // An undecodable record is replaced by what this action knows.
        let existing = self.state.card(key).ok().flatten();
        let card_id = intent.card_id.clone().unwrap_or_default();
        let base = |status| {
            existing.clone().unwrap_or(CardRecord {
                card_id: card_id.clone(),
                list_id: String::new(),
                fingerprint: String::new(),
                rule: None,
                severity: crate::rules::Severity::Late,
                status,
                filed_at: now,
                updated_at: now,
                label_ids: Vec::new(),
                due: None,
            })
        };
        let moved = |t: &Option<super::ListTarget>| t.as_ref().and_then(|t| t.id.clone());
        Ok(match action {
            Action::Create {
                rule,
                severity,
                fingerprint,
                list,
                content,
                ..
            } => Some(CardRecord {
                card_id,
                list_id: list.id.clone().unwrap_or_default(),
                fingerprint: fingerprint.clone(),
                rule: Some(*rule),
                severity: *severity,
                status: CardStatus::Open,
                filed_at: now,
                updated_at: now,
                label_ids: our_labels.unwrap_or_default(),
                due: content.due,
            }),
            Action::Update {
                rule,
                severity,
                fingerprint,
                move_to,
                ..
            }
            | Action::Reopen {
                rule,
                severity,
                fingerprint,
                move_to,
                ..
            } => {
                let b = base(CardStatus::Open);
                // Rewritten content: the card now shows its due date, or no
                // due date of colisync's (cleared, or a lead's left alone).
                let written = match action {
                    Action::Update { content, .. } => Some(content),
                    Action::Reopen { content, .. } => content.as_ref(),
                    _ => None,
                };
                // A lead's due date was not written: colisync's last one
                // stays on record, so the card stays the lead's.
                let lead_due = matches!(
                    action,
                    Action::Update { lead_due: true, .. } | Action::Reopen { lead_due: true, .. }
                );
                let due = match written {
                    Some(c) if !lead_due => c.due,
                    _ => b.due,
                };
                Some(CardRecord {
                    card_id,
                    list_id: moved(move_to).unwrap_or(b.list_id.clone()),
                    fingerprint: fingerprint.clone(),
                    rule: Some(*rule),
                    severity: *severity,
                    status: CardStatus::Open,
                    updated_at: now,
                    label_ids: our_labels.unwrap_or(b.label_ids.clone()),
                    due,
                    ..b
                })
            }
            Action::Resolve {
                move_to, from_list, ..
            } => {
                let b = base(CardStatus::Resolved);
                // Where the card is without the move (as read for the plan;
                // journals written before that field: the record's).
                let stayed = if from_list.is_empty() {
                    b.list_id.clone()
                } else {
                    from_list.clone()
                };
                // The move is the last step: done only if all steps are.
                let list_id = if done >= steps(action).len() {
                    moved(move_to).unwrap_or(stayed)
                } else {
                    stayed
                };
                Some(CardRecord {
                    card_id,
                    list_id,
                    status: CardStatus::Resolved,
                    updated_at: now,
                    ..b
                })
            }
            Action::Comment { .. } | Action::Adopt { .. } | Action::MarkArchived { .. } => None,
        })
    }

    /// Adopt and mark-archived only touch the state (flushed at the end of
    /// the pass: losing them costs nothing, the next plan emits them again).
    fn record_state_only(&self, action: &Action) -> Outcome {
        let result = match action {
            Action::Adopt {
                key,
                card_id,
                list_id,
                rule,
                severity,
                status,
                fingerprint,
                label_ids,
                due,
                ..
            } => {
                let filed_at = match self.state.card(key) {
                    Ok(Some(r)) if r.card_id == *card_id => r.filed_at,
                    _ => self.now,
                };
                self.state.put_card(
                    key,
                    &CardRecord {
                        card_id: card_id.clone(),
                        list_id: list_id.clone(),
                        fingerprint: fingerprint.clone(),
                        rule: *rule,
                        severity: *severity,
                        status: *status,
                        filed_at,
                        updated_at: self.now,
                        label_ids: label_ids.clone(),
                        due: *due,
                    },
                )
            }
            Action::MarkArchived { key, card_id, .. } => match self.state.card(key) {
                Ok(Some(mut r)) if r.card_id == *card_id => {
                    r.status = CardStatus::Archived;
                    r.updated_at = self.now;
                    self.state.put_card(key, &r)
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}
