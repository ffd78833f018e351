//! One pass of the pipeline: pull → judge → plan → apply (ARCHITECTURE.md,
//! "A pass, step by step"). The one pipeline `colisync once`, each daemon
//! tick, `explain`, the demo and the benchmark call.
//!
//! [`Engine`] owns the three clients, the state and the pure parts' inputs
//! (calendar, classifier, rule config). One file per stage: [`pull`]
//! (Magento orders, shipments re-read, the orders of open cards, La Poste
//! polls, into the [`snapshot`]), [`judge`] (rules and rendering),
//! [`board`] (the board read), [`apply`] (the Trello adapter of
//! `plan::BoardWriter`, and the journaled apply); [`explain`] runs pull and
//! judge for one order. Errors are [`PassError`]s; the French texts of the
//! pass are in `fr::pass`.
//!
//! [`Engine::plan`] pulls, reads the board, judges and plans, writing
//! nothing: a dry run is a plan not applied. A real pass settles the
//! journal first, then plans, then applies: stores what the pull changed,
//! creates the missing lists, applies the actions.
//!
//! A failure in one stage is reported and the pass goes on with what it
//! has: a Magento outage still lets time-based rules fire from the
//! snapshot; a La Poste outage keeps the last known tracking; a failed
//! Trello write leaves its intent in the journal for the next pass. What a
//! failure leaves unknown is never taken for an answer: a card is resolved
//! only on evidence that its problem ended (`PlanInput::ended`), the cards
//! of an order that could not be looked up and parcels never tracked whose
//! poll failed get no plan at all.

pub mod apply;
mod board;
mod cases;
pub mod error;
pub mod explain;
pub mod inbox;
mod judge;
mod pull;
mod snapshot;
mod stop;
mod writeback;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::board::render::RenderContext;
use crate::board::trello::TrelloClient;
use crate::config::Config;
use crate::domain::calendar::Calendar;
use crate::domain::{Classifier, ProblemKey};
use crate::http::RetryPolicy;
use crate::plan::{self, Action, ApplyReport, PlanInput};
use crate::sources::magento::MagentoClient;
use crate::state::{State, StateError};
use crate::tracking::laposte::LaPosteClient;

pub use apply::TrelloBoard;
pub use error::{PassError, Service};
pub use explain::{Explained, ExplainedCard, Note};
pub use stop::{SignalWatch, Stop};
pub use writeback::{PlannedWrite, render_writeback_table};

use snapshot::{Snapshot, Write};

/// What one pass did, for the log summary, the exit code and `/metrics`.
#[derive(Debug, Default)]
pub struct PassReport {
    pub now: Option<DateTime<Utc>>,
    pub dry_run: bool,
    pub orders_pulled: usize,
    pub parcels_polled: usize,
    /// Orders whose shipments were read again for tracks added later.
    pub shipments_rechecked: usize,
    pub orders_judged: usize,
    /// Magento orders (with their invoices, shipments, status history)
    /// that could not be decoded, entirely or in part, as this pass saw
    /// them: each is also in `errors`, on every pass until Magento sends it
    /// right.
    pub undecodable_orders: usize,
    pub findings: BTreeMap<&'static str, u64>,
    /// The plan (always kept: `--dry-run` prints it, a real pass logs its
    /// size).
    pub actions: Vec<Action>,
    pub apply: ApplyReport,
    /// Everything that failed, typed by what failed (`Display`: in plain
    /// words, without secrets).
    pub errors: Vec<PassError>,
    /// Set when the pass stopped early (SIGTERM).
    pub stopped: bool,
    /// Why this pass wrote nothing: its `now` is earlier than the last pass
    /// that wrote (a clock stepped back, a mistaken `--now`). A real pass
    /// fails with it; a dry run still plans, and says so.
    pub clock_behind: Option<String>,
    /// sled reported its files corrupt (the error): the daemon moves the
    /// directory aside and starts over empty (cards are adopted back from
    /// the board).
    pub state_corrupt: Option<String>,
    /// The write-back notes (Magento order comments, Freshdesk private
    /// notes and escalations): what this pass wrote; failures are in
    /// `errors`.
    pub writeback: crate::writeback::apply::WritebackReport,
    /// `--dry-run`: the notes this plan would write, and those pending.
    pub writeback_plan: Vec<PlannedWrite>,
}

impl PassReport {
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.apply.is_success()
    }

    pub(crate) fn writes_by_action(&self) -> Vec<(&'static str, u64)> {
        let a = &self.apply;
        [
            ("create", a.created),
            ("update", a.updated),
            ("reopen", a.reopened),
            ("resolve", a.resolved),
            ("comment", a.commented),
        ]
        .into_iter()
        .map(|(k, n)| (k, n as u64))
        .collect()
    }

    fn at(now: DateTime<Utc>) -> Self {
        PassReport {
            now: Some(now),
            ..PassReport::default()
        }
    }

    /// Every failure, the Trello writes' included, each naming its service
    /// once.
    pub fn all_errors(&self) -> Vec<String> {
        let mut all: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        all.extend(
            self.apply
                .failures
                .iter()
                .map(|f| format!("{} {}: {}", f.action, f.key, f.message)),
        );
        all.extend(self.apply.fatal.iter().map(ToString::to_string));
        all
    }

    /// A state failure that ends the pass: when sled says its files are
    /// corrupt, the daemon starts over on an empty state.
    fn state_failed(&mut self, doing: &str, e: StateError) {
        if e.is_corruption() {
            self.state_corrupt = Some(e.to_string());
        }
        self.errors.push(PassError::state(doing, e));
    }

    /// One structured line per pass (vector's convention: one summary, not
    /// a line per order).
    pub fn log_summary(&self) {
        let a = &self.apply;
        tracing::info!(
            ok = self.is_success(),
            dry_run = self.dry_run,
            orders_pulled = self.orders_pulled,
            parcels_polled = self.parcels_polled,
            shipments_rechecked = self.shipments_rechecked,
            orders_judged = self.orders_judged,
            findings = self.findings.values().sum::<u64>(),
            actions = self.actions.len(),
            created = a.created,
            updated = a.updated,
            resolved = a.resolved,
            reopened = a.reopened,
            adopted = a.adopted,
            failures = self.all_errors().len(),
            "pass done"
        );
        for e in self.all_errors() {
            tracing::warn!(error = %e, "pass problem");
        }
    }
}

/// The clients, the state and the settings of the pure stages.
pub struct Engine {
    config: Config,
    calendar: Calendar,
    classifier: Classifier,
    render_ctx: RenderContext,
    magento: MagentoClient,
    laposte: LaPosteClient,
    trello: TrelloClient,
    /// `None` without `[freshdesk]`.
    freshdesk: Option<crate::sources::freshdesk::FreshdeskClient>,
    state: State,
    /// Trello writes carried out at once (see `ApplyOptions::max_in_flight`).
    max_in_flight: usize,
    /// Tests only: where a simulated crash stops the write-back.
    writeback_crash: Option<crate::writeback::apply::WriteCrash>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A pass planned and not applied: what the pull found and changed, the
/// board as read, the plan.
#[derive(Debug)]
pub(crate) struct Planned {
    report: PassReport,
    /// What the pull changed, for the state (stored when applied).
    writes: Vec<Write>,
    /// None when the pass cannot plan (the board could not be read, the
    /// pass was stopped): applying then only stores the pull's changes.
    board: Option<PlanBoard>,
    /// The cases as this pass changed them (requests, ticks, closes), for
    /// the state, and the inbox files to remove once they are stored.
    cases: cases::CaseWrites,
}

#[derive(Debug)]
struct PlanBoard {
    input: PlanInput,
    /// Lists colisync files into that the board lacks: a real pass creates
    /// them before it applies, and plans again with their ids.
    missing_lists: Vec<String>,
    /// The snapshot's orders as the write-back notes need them.
    orders: BTreeMap<String, crate::state::outbox::OrderRef>,
}

impl Planned {
    /// The report of a dry run: this plan, never applied.
    pub(crate) fn into_dry_run(self) -> PassReport {
        PassReport {
            dry_run: true,
            ..self.report
        }
    }
}

impl Engine {
    pub fn new(config: Config, state: State) -> Result<Self, PassError> {
        Self::with_retry(config, state, RetryPolicy::default())
    }

    /// With a custom retry policy (tests and the demo use short delays).
    pub fn with_retry(config: Config, state: State, retry: RetryPolicy) -> Result<Self, PassError> {
        let magento = MagentoClient::new(&config.magento)?.with_retry(retry.clone());
        let laposte = LaPosteClient::new(&config.laposte)?.with_retry(retry.clone());
        let trello = TrelloClient::with_retry(&config.trello, retry.clone())?;
        let freshdesk = freshdesk_client(&config)?.map(|f| f.with_retry(retry));
        // The Trello requests of the process before this one (`once` runs
        // one process a pass) still count in Trello's window.
        match state.trello_recent() {
            Ok(at) => trello.resume_requests(&at),
            Err(e) => tracing::warn!(error = %e, "reading the last process's Trello requests"),
        }
        Ok(Engine {
            calendar: Calendar::new(&config.calendar),
            classifier: Classifier::new(&config.magento, &config.carriers),
            render_ctx: RenderContext::new(
                config.magento.admin_url.clone(),
                config.calendar.timezone,
            ),
            magento,
            laposte,
            trello,
            freshdesk,
            state,
            config,
            max_in_flight: plan::DEFAULT_MAX_IN_FLIGHT,
            writeback_crash: None,
        })
    }

    /// How many Trello writes a pass carries out at once (at least 1; 1:
    /// one at a time in plan order, as tests with faults in arrival order
    /// need).
    pub fn set_max_in_flight(&mut self, n: usize) {
        self.max_in_flight = n.max(1);
    }

    /// SIGHUP: new settings and clients, same state.
    pub(crate) fn reconfigure(&mut self, config: Config) -> Result<(), PassError> {
        let magento = MagentoClient::new(&config.magento)?;
        let laposte = LaPosteClient::new(&config.laposte)?;
        let trello = TrelloClient::new(&config.trello)?;
        self.freshdesk = freshdesk_client(&config)?;
        self.calendar = Calendar::new(&config.calendar);
        self.classifier = Classifier::new(&config.magento, &config.carriers);
        self.render_ctx =
            RenderContext::new(config.magento.admin_url.clone(), config.calendar.timezone);
        self.magento = magento;
        self.laposte = laposte;
        self.trello = trello;
        self.config = config;
        Ok(())
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// After a pass that found the state corrupt: the same engine on an
    /// empty state, the corrupt directory moved aside (no crash loop under
    /// systemd; the next pass adopts the cards from the board).
    pub(crate) fn recover_state(self, cause: &str) -> Result<Engine, PassError> {
        let state = self.state.recover_from_corruption(&cause)?;
        Ok(Engine { state, ..self })
    }

    pub fn trello(&self) -> &TrelloClient {
        &self.trello
    }

    /// One pass at `now`: planned and applied, or (`dry_run`) planned only.
    /// Never panics on outside data; every failure ends up in the report.
    pub async fn run_pass(&mut self, now: DateTime<Utc>, stop: &Stop, dry_run: bool) -> PassReport {
        if dry_run {
            let mut report = self.plan(now, stop).await.into_dry_run();
            let followups = self.followups_of(&report.actions);
            self.plan_writebacks(&followups, &mut report);
            report
        } else {
            let mut report = self.pass(now, stop).await;
            self.keep_trello_window(&mut report);
            report
        }
    }

    /// Leaves this process's recent Trello requests for the next one.
    fn keep_trello_window(&self, report: &mut PassReport) {
        let recent = self.trello.recent_requests();
        if let Err(e) = self
            .state
            .set_trello_recent(&recent)
            .and_then(|()| self.state.flush())
        {
            report.errors.push(PassError::state(
                "storing the pass's recent Trello requests",
                e,
            ));
        }
    }

    /// Pull, read the board, judge, plan (steps 1 and 3 to 8), writing
    /// nothing anywhere (the snapshot is loaded from the state and updated
    /// in memory only). A pass whose instant is behind the last writing
    /// pass still plans, and says so (`clock_behind`).
    pub(crate) async fn plan(&self, now: DateTime<Utc>, stop: &Stop) -> Planned {
        let mut report = PassReport::at(now);
        fn planned(
            report: PassReport,
            writes: Vec<Write>,
            board: Option<PlanBoard>,
            cases: cases::CaseWrites,
        ) -> Planned {
            Planned {
                report,
                writes,
                board,
                cases,
            }
        }
        match self.clock_check(now) {
            Ok(None) => {}
            Ok(Some(behind)) => report.clock_behind = Some(behind.to_string()),
            Err(e) => {
                report.state_failed("reading the last pass's instant", e);
                return planned(report, Vec::new(), None, Default::default());
            }
        }
        let mut snapshot = match Snapshot::load(&self.state) {
            Ok(s) => s,
            Err(e) => {
                report.state_failed("reading the state", e);
                return planned(report, Vec::new(), None, Default::default());
            }
        };
        // The inbox before the board: a request of `colisync case` is
        // planned in this very pass.
        let mut cw = self.load_cases(now, &mut report);
        self.pull_orders(now, &mut snapshot, &mut report).await;
        if stop.is_raised() {
            report.stopped = true;
            return planned(report, snapshot.writes, None, cw);
        }
        self.recheck_tracks(now, &mut snapshot, &mut report).await;

        // The board before judging: the orders of its open cards must be in
        // the snapshot (looked up when the pull did not bring them back), so
        // that a card is judged on what Magento says, never on an absence.
        let read = self.read_board(&mut report).await;
        let unknown_orders = match &read {
            Some(read) => {
                self.case_triggers(now, read, &mut cw);
                let case_orders = cw.open_orders();
                self.look_up_card_orders(now, read, &case_orders, &mut snapshot, &mut report)
                    .await
            }
            None => Default::default(),
        };
        self.track_parcels(now, &mut snapshot, &mut report).await;
        if stop.is_raised() {
            report.stopped = true;
            return planned(report, snapshot.writes, None, cw);
        }
        let Some(read) = read else {
            return planned(report, snapshot.writes, None, cw);
        };

        cw.unknown_orders = unknown_orders.clone();
        let (mut desired, mut ended) = self.judge_all(now, &snapshot, &mut report);
        snapshot.add_gone_parcels(&read.records, &self.classifier, &mut ended);
        self.judge_cases(
            now,
            &read,
            &snapshot,
            &mut cw,
            &mut desired,
            &mut ended,
            &mut report,
        )
        .await;
        // After the cases: an order with a case stays open work.
        match self.state.pending_intents() {
            Ok(pending) => {
                let pending = pending
                    .iter()
                    .map(|(_, i)| i.key.increment_id().to_owned())
                    .collect();
                let settled = self.settled_orders(&snapshot, &desired, &read.records, &pending);
                if !settled.is_empty() {
                    snapshot.writes.push(Write::Settle(settled));
                }
            }
            // Not knowing what is pending, nothing is taken out of the
            // open work this pass (the apply reports the journal).
            Err(e) => tracing::warn!(error = %e, "reading the journal to settle orders"),
        }
        let mut missing_lists = read.missing_lists.clone();
        // The cases' list only once a case needs it: a board without cases
        // gets no new list.
        let cases_list = &self.config.cases.list;
        if desired.keys().any(|k| matches!(k, ProblemKey::Case { .. }))
            && !read.intake_lists.contains_key(cases_list)
            && !missing_lists.contains(cases_list)
        {
            missing_lists.push(cases_list.clone());
        }
        let input = self
            .plan_input(
                now,
                desired,
                ended,
                read,
                unknown_orders,
                &snapshot,
                &mut report,
            )
            .await;
        report.actions = plan::plan(&input);
        let board = PlanBoard {
            input,
            missing_lists,
            orders: self.order_refs(&snapshot),
        };
        planned(report, snapshot.writes, Some(board), cw)
    }

    /// Time only moves forward: a pass earlier than the last one that
    /// wrote (a clock stepped back, a mistaken `--now`) would judge the
    /// delays shorter than the board already shows them and rewrite the
    /// cards backwards. `Some` when `now` is behind.
    fn clock_check(&self, now: DateTime<Utc>) -> Result<Option<PassError>, StateError> {
        Ok(match self.state.last_write_at()? {
            Some(last) if now < last => Some(PassError::ClockBehind { now, last }),
            _ => None,
        })
    }
}

/// The Freshdesk client of `[freshdesk]`, if the table is there.
fn freshdesk_client(
    config: &Config,
) -> Result<Option<crate::sources::freshdesk::FreshdeskClient>, PassError> {
    match &config.freshdesk {
        None => Ok(None),
        Some(f) => crate::sources::freshdesk::FreshdeskClient::new(f)
            .map(Some)
            .map_err(|e| PassError::Writeback {
                service: Service::Freshdesk,
                text: e.to_string(),
            }),
    }
}

/// Adds what `r` did to `into`.
fn merge_applied(into: &mut ApplyReport, r: ApplyReport) {
    into.created += r.created;
    into.updated += r.updated;
    into.reopened += r.reopened;
    into.resolved += r.resolved;
    into.commented += r.commented;
    into.adopted += r.adopted;
    into.marked_archived += r.marked_archived;
    into.settled += r.settled;
    into.pending = r.pending;
    into.failures.extend(r.failures);
    if into.fatal.is_none() {
        into.fatal = r.fatal;
    }
    #[cfg(feature = "test-hooks")]
    {
        into.crashed |= r.crashed;
    }
}
