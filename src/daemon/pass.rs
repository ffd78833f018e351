//! One pass of the pipeline: pull → judge → plan → apply (ARCHITECTURE.md).
//!
//! [`Engine`] owns the three clients, the state and the pure parts' inputs
//! (calendar, classifier, rule config). `run_pass` is what `colisync once`,
//! each daemon tick, the demo and the benchmark call. A failure in one stage
//! is reported and the pass goes on with what it has: a Magento outage
//! still lets time-based rules fire from the snapshot; a La Poste outage
//! keeps the last known tracking; a failed Trello write leaves its intent in
//! the journal for the next pass. What a failure leaves unknown is never
//! taken for an answer: a card is resolved only on evidence that its problem
//! ended (`PlanInput::ended`), the cards of an order that could not be
//! looked up and parcels never tracked whose poll failed get no plan at all.
//!
//! In `--dry-run` nothing is written anywhere: the snapshot is loaded from
//! the state, updated in memory only, and the plan is returned instead of
//! applied.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::board::render::{self, RenderContext};
use crate::board::trello::{self, NewCard, TrelloClient, TrelloError};
use crate::board::{BoardCard, BoardLabel, CardContent, LabelSpec, parse_marker};
use crate::calendar::Calendar;
use crate::config::Config;
use crate::daemon::Stop;
use crate::domain::{
    self, Carrier, Classifier, Order, OrderState, Parcel, TrackingSnapshot, TrackingStatus,
};
use crate::http::{Idempotent, RetryPolicy};
use crate::plan::{
    self, Action, ApplyOptions, ApplyReport, BoardSnapshot, BoardWriter, CardRead, CardUpdate,
    Desired, ListTarget, PlanInput, WriteError,
};
use crate::rules::{Judge, ProblemKey};
use crate::sources::magento::MagentoClient;
use crate::state::{CardRecord, CardStatus, ParcelRecord, State};
use crate::tracking::laposte::{LaPosteClient, TrackError};

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
    /// Everything that failed, in plain words, without secrets.
    pub errors: Vec<String>,
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
    /// notes): what this pass wrote; its failures are in `errors`.
    pub writeback: crate::writeback::apply::WritebackReport,
    /// `--dry-run`: the notes this plan would write, and those pending.
    pub writeback_plan: Vec<writeback::PlannedWrite>,
}

impl PassReport {
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.apply.is_success()
    }

    pub fn writes_by_action(&self) -> Vec<(&'static str, u64)> {
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

    /// Every failure, the Trello ones included.
    pub fn all_errors(&self) -> Vec<String> {
        let mut all = self.errors.clone();
        all.extend(
            self.apply
                .failures
                .iter()
                .map(|f| format!("{} {}: {}", f.action, f.key, f.message)),
        );
        all.extend(self.apply.fatal.iter().map(|f| format!("trello: {f}")));
        all
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

mod writeback;
pub use writeback::{PlannedWrite, render_writeback_table};

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

impl Engine {
    pub fn new(config: Config, state: State) -> anyhow::Result<Self> {
        Self::with_retry(config, state, RetryPolicy::default())
    }

    /// With a custom retry policy (tests and the demo use short delays).
    pub fn with_retry(config: Config, state: State, retry: RetryPolicy) -> anyhow::Result<Self> {
        let magento = MagentoClient::new(&config.magento)?.with_retry(retry.clone());
        let laposte = LaPosteClient::new(&config.laposte)?.with_retry(retry.clone());
        let trello = TrelloClient::with_retry(&config.trello, retry.clone())?;
        let freshdesk = match &config.freshdesk {
            Some(f) => Some(crate::sources::freshdesk::FreshdeskClient::new(f)?.with_retry(retry)),
            None => None,
        };
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
            writeback_crash: None,
        })
    }

    /// SIGHUP: new settings and clients, same state.
    pub fn reconfigure(&mut self, config: Config) -> anyhow::Result<()> {
        let magento = MagentoClient::new(&config.magento)?;
        let laposte = LaPosteClient::new(&config.laposte)?;
        let trello = TrelloClient::new(&config.trello)?;
        let freshdesk = match &config.freshdesk {
            Some(f) => Some(crate::sources::freshdesk::FreshdeskClient::new(f)?),
            None => None,
        };
        self.freshdesk = freshdesk;
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
    pub fn recover_state(self, cause: &str) -> anyhow::Result<Engine> {
        let state = self.state.recover_from_corruption(&cause)?;
        Ok(Engine { state, ..self })
    }

    pub fn trello(&self) -> &TrelloClient {
        &self.trello
    }

    /// One pass at `now`. Never panics on outside data; every failure ends
    /// up in the report.
    pub async fn run_pass(&mut self, now: DateTime<Utc>, stop: &Stop, dry_run: bool) -> PassReport {
        let mut report = PassReport {
            now: Some(now),
            dry_run,
            ..PassReport::default()
        };
        let board = TrelloBoard::new(&self.trello);

        // Time only moves forward: a pass earlier than the last one that
        // wrote (a clock stepped back, a mistaken `--now`) would judge the
        // delays shorter than the board already shows them and rewrite the
        // cards backwards. It writes nothing, not even a settle.
        match self.state.last_write_at() {
            Ok(Some(last)) if now < last => {
                let why = format!(
                    "this pass's instant {} is earlier than the last pass that wrote to the board ({}): \
                     the clock stepped back, or --now is mistaken; nothing is written until the \
                     clock passes that instant (or `colisync once --reset-clock` after a mistaken --now)",
                    now.to_rfc3339(),
                    last.to_rfc3339()
                );
                report.clock_behind = Some(why.clone());
                if !dry_run {
                    report.errors.push(why);
                    return report;
                }
            }
            Ok(_) => {}
            Err(e) => {
                if e.is_corruption() {
                    report.state_corrupt = Some(e.to_string());
                }
                report
                    .errors
                    .push(format!("reading the last pass's instant: {e}"));
                return report;
            }
        }

        // Journal first: a write whose outcome is unknown from the previous
        // pass must be settled before the board is read for the plan.
        if !dry_run {
            let settled = plan::settle_pending(&board, &self.state, now).await;
            merge_applied(&mut report.apply, settled);
            if let Some(fatal) = &report.apply.fatal {
                report.errors.push(format!("settling the journal: {fatal}"));
                // The applier reports errors as text: ask the journal again
                // so that a corrupt store is recovered from (moved aside,
                // cards adopted back) instead of failing every pass here.
                if let Some(e) = self
                    .state
                    .pending_intents()
                    .err()
                    .filter(crate::state::StateError::is_corruption)
                {
                    report.state_corrupt = Some(e.to_string());
                }
                return report;
            }
            // Notes journaled by a pass that stopped before arming them:
            // armed or dropped on what the settled journal recorded,
            // before this pass writes cards of its own.
            self.arm_writebacks(&mut report);
        }

        let mut snapshot = match Snapshot::load(&self.state) {
            Ok(s) => s,
            Err(e) => {
                if e.is_corruption() {
                    report.state_corrupt = Some(e.to_string());
                }
                report.errors.push(format!("reading the state: {e}"));
                return report;
            }
        };
        self.pull_orders(now, dry_run, &mut snapshot, &mut report)
            .await;
        if stop.is_raised() {
            report.stopped = true;
            return report;
        }
        self.recheck_tracks(now, dry_run, &mut snapshot, &mut report)
            .await;

        // The board before judging: the orders of its open cards must be in
        // the snapshot (looked up when the pull did not bring them back), so
        // that a card is judged on what Magento says, never on an absence.
        let read = self.read_board(dry_run, &mut report).await;
        let unknown_orders = match &read {
            Some(read) => {
                self.look_up_card_orders(now, dry_run, read, &mut snapshot, &mut report)
                    .await
            }
            None => BTreeSet::new(),
        };
        self.track_parcels(now, dry_run, &mut snapshot, &mut report)
            .await;
        if stop.is_raised() {
            report.stopped = true;
            return report;
        }
        let Some(read) = read else {
            return report;
        };

        let (desired, mut ended) = self.judge_all(now, &snapshot, &mut report);
        snapshot.add_gone_parcels(&read.records, &self.classifier, &mut ended);
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
        board.remember_labels(&input.board.labels);
        report.actions = plan::plan(&input);
        let followups = self.followups_of(&report.actions);
        if dry_run {
            self.plan_writebacks(&followups, &mut report);
            return report;
        }
        if !self.enqueue_writebacks(followups, &snapshot, now, &mut report) {
            return report;
        }
        if report.actions.iter().any(Action::writes_board) {
            // Before the first write: a crash in the middle still counts.
            if let Err(e) = self
                .state
                .note_write_at(now)
                .and_then(|()| self.state.flush())
            {
                report
                    .errors
                    .push(format!("storing this pass's instant: {e}; nothing applied"));
                return report;
            }
        }
        let mut opts = ApplyOptions::new(now);
        opts.stop = Some(stop.flag());
        let applied = plan::apply(&report.actions, &board, &self.state, &opts).await;
        report.stopped = stop.is_raised();
        merge_applied(&mut report.apply, applied);
        self.run_writebacks(now, &mut report).await;
        let horizon = now - chrono::Duration::days(i64::from(self.config.magento.lookback_days));
        match self.state.prune_orders(horizon) {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "forgot orders older than magento.lookback_days"),
            Err(e) => report.errors.push(format!("pruning old orders: {e}")),
        }
        if let Err(e) = self.state.flush() {
            report.errors.push(format!("flushing the state: {e}"));
        }
        report
    }

    /// The orders of the board's open cards that the snapshot does not have
    /// (the state was lost, or the order is older than `lookback_days` and
    /// was never pulled again), looked up in Magento and added to the
    /// snapshot with their parcels, which are then polled as usual. Returns
    /// the increment ids whose lookup failed: nothing is planned for their
    /// cards this pass.
    async fn look_up_card_orders(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        read: &BoardRead,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) -> BTreeSet<String> {
        let known: BTreeSet<&str> = snapshot
            .orders
            .values()
            .map(|o| o.increment_id.as_str())
            .collect();
        let resolved_id = read.resolved_list.id.as_deref();
        // Open cards: recorded as open, or (not recorded) carrying a marker,
        // not archived, outside the resolved list: adoption candidates.
        let mut wanted: BTreeSet<String> = read
            .records
            .iter()
            .filter(|(_, r)| r.status == CardStatus::Open)
            .map(|(k, _)| k.increment_id().to_owned())
            .collect();
        wanted.extend(
            read.cards
                .iter()
                .filter(|c| !c.closed && resolved_id != Some(c.id_list.as_str()))
                .filter_map(|c| parse_marker(&c.desc))
                .filter(|k| !read.records.contains_key(k))
                .map(|k| k.increment_id().to_owned()),
        );
        wanted.retain(|id| !known.contains(id.as_str()));
        if wanted.is_empty() {
            return BTreeSet::new();
        }
        let wanted: Vec<String> = wanted.into_iter().collect();
        let (orders, rejected) = match self.magento.orders_by_increment_ids(&wanted).await {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(format!(
                    "looking up the orders of {} open cards the pull did not bring back: {e}; \
                     nothing done for those cards this pass",
                    wanted.len()
                ));
                return wanted.into_iter().collect();
            }
        };
        let mut unknown = BTreeSet::new();
        for bad in rejected {
            report.errors.push(format!(
                "magento: {bad}; nothing done for its cards this pass"
            ));
            match &bad.increment_id {
                Some(id) => {
                    unknown.insert(id.clone());
                }
                // Nothing tells which card it is: hold them all.
                None => unknown.extend(wanted.iter().cloned()),
            }
        }
        tracing::info!(
            asked = wanted.len(),
            found = orders.len(),
            "looked up the orders of open cards missing from the snapshot"
        );
        for order in orders
            .into_iter()
            .filter(|o| !unknown.contains(&o.increment_id))
        {
            if !dry_run {
                if let Err(e) = self.state.put_order(&order) {
                    report
                        .errors
                        .push(format!("storing order {}: {e}", order.increment_id));
                }
            }
            self.take_in(order, now, dry_run, snapshot, report);
        }
        unknown
    }

    /// Orders changed since the cursor (Magento), into the snapshot, and
    /// the orders earlier passes could not decode, read again by id: the
    /// cursor has moved past those, so without their ids in the state they
    /// would be reported once and then never judged again. Each one that
    /// still does not decode is a pass error, every pass, until it does.
    async fn pull_orders(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let cursor = match self.state.cursor() {
            Ok(Some(c)) => c,
            Ok(None) => self.magento.initial_cursor(now),
            Err(e) => {
                report
                    .errors
                    .push(format!("reading the Magento cursor: {e}"));
                return;
            }
        };
        let mut pulled = match self.magento.orders_updated_since(cursor).await {
            Ok(p) => p,
            Err(e) => {
                // The snapshot still judges: time-based rules fire anyway.
                // (The error names Magento itself.)
                report.errors.push(e.to_string());
                return;
            }
        };
        // The cursor may move past a bad order only once its id is safe in
        // the state.
        let mut hold_cursor = false;
        let known_bad = match self.state.undecodable_orders() {
            Ok(set) => set,
            Err(e) => {
                report
                    .errors
                    .push(format!("reading the undecodable Magento orders: {e}"));
                hold_cursor = true;
                BTreeMap::new()
            }
        };
        let seen: BTreeSet<u64> = pulled
            .orders
            .iter()
            .map(|o| o.entity_id)
            .chain(pulled.rejected.iter().filter_map(|e| e.entity_id))
            .collect();
        let again: Vec<u64> = known_bad
            .keys()
            .copied()
            .filter(|id| !seen.contains(id))
            .collect();
        let mut refetched: BTreeSet<u64> = BTreeSet::new();
        let mut refetch_failed = false;
        if !again.is_empty() {
            match self.magento.orders_by_id(&again).await {
                Ok(more) => {
                    refetched.extend(more.orders.iter().map(|o| o.entity_id));
                    pulled.orders.extend(more.orders);
                    pulled.rejected.extend(more.rejected);
                    pulled.flawed.extend(more.flawed);
                }
                Err(e) => {
                    refetch_failed = true;
                    report.errors.push(format!(
                        "reading again {} Magento order(s) that could not be decoded: {e}",
                        again.len()
                    ));
                }
            }
        }

        let mut bad: BTreeMap<u64, crate::state::UndecodableOrder> = BTreeMap::new();
        let mut without_id = 0;
        for e in pulled.undecodable() {
            let since = e
                .entity_id
                .and_then(|id| known_bad.get(&id))
                .map(|k| format!(" (since {})", k.first_seen.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            report.errors.push(format!("magento: {e}{since}"));
            let Some(id) = e.entity_id else {
                // Nothing to ask Magento for again: reported this once.
                without_id += 1;
                continue;
            };
            bad.entry(id)
                .and_modify(|b| {
                    b.problem.push_str("; ");
                    b.problem.push_str(&e.to_string());
                })
                .or_insert_with(|| crate::state::UndecodableOrder {
                    increment_id: e.increment_id.clone(),
                    problem: e.to_string(),
                    first_seen: known_bad.get(&id).map_or(now, |k| k.first_seen),
                });
        }
        for (id, old) in &known_bad {
            if bad.contains_key(id) {
                continue;
            }
            if seen.contains(id) || refetched.contains(id) {
                tracing::info!(entity_id = id, increment_id = ?old.increment_id, "a Magento order decodes again");
            } else if refetch_failed {
                // Not read this pass: still bad as far as anyone knows.
                bad.insert(*id, old.clone());
            } else {
                tracing::info!(entity_id = id, increment_id = ?old.increment_id, "an undecodable Magento order is gone from Magento");
            }
        }
        report.undecodable_orders = bad.len() + without_id;

        report.orders_pulled = pulled.orders.len();
        // An order that could not be stored must be pulled again: the
        // cursor stays before the first such order (one read again by id
        // stays in the set instead: it may be older than the cursor).
        let mut unstored: Option<DateTime<Utc>> = None;
        for order in pulled.orders {
            if !dry_run {
                if let Err(e) = self.state.put_order(&order) {
                    report
                        .errors
                        .push(format!("storing order {}: {e}", order.increment_id));
                    if refetched.contains(&order.entity_id) {
                        if let Some(old) = known_bad.get(&order.entity_id) {
                            bad.entry(order.entity_id).or_insert_with(|| old.clone());
                        }
                    } else {
                        unstored =
                            Some(unstored.map_or(order.updated_at, |u| u.min(order.updated_at)));
                    }
                    continue;
                }
            }
            self.take_in(order, now, dry_run, snapshot, report);
        }
        if !dry_run && bad != known_bad {
            if let Err(e) = self.state.set_undecodable_orders(&bad) {
                report
                    .errors
                    .push(format!("storing the undecodable Magento orders: {e}"));
                hold_cursor = true;
            }
        }
        let next_cursor = match (pulled.max_updated_at, unstored) {
            (Some(max), Some(first_lost)) => {
                Some(max.min(first_lost - chrono::Duration::seconds(1)))
            }
            (max, _) => max,
        };
        if let (false, false, Some(max)) = (dry_run, hold_cursor, next_cursor) {
            if let Err(e) = self.state.set_cursor(max) {
                report
                    .errors
                    .push(format!("storing the Magento cursor: {e}"));
            }
        }
    }

    /// An order just read from Magento (pulled, looked up for a card, or its
    /// shipments read again), into the snapshot with its parcels: the one
    /// way in, so that every path reconciles the parcels and marks the
    /// order's shipments as fresh. Storing the order is the caller's, which
    /// knows what a failure to store means for it.
    fn take_in(
        &self,
        order: Order,
        now: DateTime<Utc>,
        dry_run: bool,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        self.reconcile_parcels(&order, now, dry_run, snapshot, report);
        snapshot.pulled.insert(order.entity_id);
        snapshot.orders.insert(order.entity_id, order);
    }

    /// The parcels of `order` as Magento describes them now, into the
    /// snapshot: new shipments and tracks become parcels to poll; known
    /// parcels keep their tracking and poll schedule; a parcel Magento no
    /// longer has (a track replaced, a number added to a shipment that had
    /// none, a track deleted) is forgotten, and the reason is kept so that
    /// its card is resolved saying why. Magento's shipment list for the
    /// order is the evidence: the caller read it successfully.
    fn reconcile_parcels(
        &self,
        order: &Order,
        now: DateTime<Utc>,
        dry_run: bool,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let parcels = domain::parcels_of(order, &self.classifier);
        let keys: BTreeSet<ProblemKey> = parcels.iter().map(crate::state::parcel_key).collect();
        let gone: Vec<ProblemKey> = snapshot
            .parcels
            .iter()
            .filter(|(k, r)| r.parcel.order_entity_id == order.entity_id && !keys.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            let Some(old) = snapshot.parcels.remove(&key) else {
                continue;
            };
            let why = gone_reason(
                &old.parcel.tracking_number,
                Some(old.parcel.shipment_id),
                &parcels,
            );
            tracing::info!(parcel = %key, reason = %why, "Magento no longer has this parcel");
            if !dry_run {
                if let Err(e) = self.state.remove_parcel(&key) {
                    report.errors.push(format!("forgetting parcel {key}: {e}"));
                }
            }
            snapshot.forgotten.insert(key, why);
        }
        for parcel in parcels {
            let key = crate::state::parcel_key(&parcel);
            let record = match snapshot.parcels.remove(&key) {
                Some(mut r) => {
                    let tracking = r.parcel.tracking.take();
                    r.parcel = Parcel { tracking, ..parcel };
                    r
                }
                None => ParcelRecord::new(parcel, now),
            };
            if !dry_run {
                if let Err(e) = self.state.put_parcel(&record) {
                    report.errors.push(format!("storing parcel {key}: {e}"));
                }
            }
            snapshot.parcels.insert(key, record);
        }
    }

    /// Tracking numbers added later: Magento's "add tracking number" writes
    /// the track alone, without moving the order's `updated_at`
    /// (`TrackRepository::save`), so the incremental pull never sees it.
    /// The shipments of open orders whose La Poste parcel has no number La
    /// Poste can track are read again, at most [`RECHECK_MAX_BATCHES`]
    /// batches of `page_size` orders a pass, taking turns when there are
    /// more. Letters without number are not: an envoi simple has none by
    /// nature, and re-reading every letter would cost requests on every
    /// quiet pass; nor are other carriers' parcels, which La Poste never
    /// tracks anyway.
    async fn recheck_tracks(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let mut waiting: Vec<u64> = snapshot
            .parcels
            .values()
            .filter(|r| {
                matches!(r.parcel.carrier, Carrier::Colissimo | Carrier::Chronopost)
                    && !r.parcel.laposte_tracks()
                    && !snapshot.pulled.contains(&r.parcel.order_entity_id)
            })
            .map(|r| r.parcel.order_entity_id)
            .filter(|id| snapshot.orders.get(id).is_some_and(Order::is_open))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if waiting.is_empty() {
            return;
        }
        let cap = (self.config.magento.page_size as usize).max(1) * RECHECK_MAX_BATCHES;
        if waiting.len() > cap {
            // Take turns: a different window every quarter of an hour, so
            // that every order is re-read within len / cap quarters.
            let turn = usize::try_from(now.timestamp().max(0) / 900).unwrap_or(0);
            let start = turn.wrapping_mul(cap) % waiting.len();
            waiting.rotate_left(start);
            waiting.truncate(cap);
        }
        let answer = match self.magento.shipments_of(&waiting).await {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(format!("re-reading shipments: {e}"));
                return;
            }
        };
        let mut unreadable = BTreeSet::new();
        for bad in &answer.rejected {
            report.errors.push(format!("magento: {bad}"));
            unreadable.insert(bad.order_id);
        }
        report.shipments_rechecked = waiting.len();
        for id in waiting {
            // A shipment that could not be decoded is missing from the list:
            // that is no evidence its parcels are gone. Nor is an empty list
            // (Magento's admin cannot delete a shipment).
            let Some(shipments) = answer
                .by_order
                .get(&id)
                .filter(|s| !s.is_empty() && !unreadable.contains(&id))
            else {
                continue;
            };
            let Some(order) = snapshot.orders.get(&id) else {
                continue;
            };
            if &order.shipments == shipments {
                continue;
            }
            let mut order = order.clone();
            order.shipments = shipments.clone();
            if !dry_run {
                if let Err(e) = self.state.put_order(&order) {
                    report
                        .errors
                        .push(format!("storing order {}: {e}", order.increment_id));
                    continue;
                }
            }
            self.take_in(order, now, dry_run, snapshot, report);
        }
    }

    /// Parcels due a poll (La Poste), into the snapshot.
    async fn track_parcels(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        snapshot: &mut Snapshot,
        report: &mut PassReport,
    ) {
        let due: Vec<String> = snapshot
            .parcels
            .values()
            .filter(|r| r.is_due(now) && !r.parcel.tracking_number.is_empty())
            .map(|r| r.parcel.tracking_number.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if due.is_empty() {
            return;
        }
        let by_number: HashMap<String, Vec<ProblemKey>> =
            snapshot
                .parcels
                .iter()
                .fold(HashMap::new(), |mut m, (k, r)| {
                    m.entry(r.parcel.tracking_number.to_uppercase())
                        .or_default()
                        .push(k.clone());
                    m
                });
        let mut key_refused = false;
        for (number, result) in self.laposte.track(&due, now).await {
            let snap = match result {
                Ok(s) => s,
                // La Poste refuses the number itself (400): asking again
                // will not help. It is recorded as unknown to the carrier,
                // which files `tracking_not_found` after 24 h so that a lead
                // fixes the number, and the poll backs off like any parcel
                // that does not change.
                Err(TrackError::BadNumber { message }) => {
                    tracing::warn!(number = %number, reason = %message, "La Poste refuses this tracking number");
                    TrackingSnapshot::unknown(now)
                }
                // A refused key fails every number alike (the client asked
                // once and stopped): one error for the pass, naming the
                // setting to fix, instead of one per parcel.
                Err(e) if e.is_fatal() => {
                    if !key_refused {
                        key_refused = true;
                        report
                            .errors
                            .push(format!("{e}; check laposte.api_key in the configuration"));
                    }
                    continue;
                }
                Err(e) => {
                    report.errors.push(format!("tracking {number}: {e}"));
                    continue;
                }
            };
            report.parcels_polled += 1;
            for key in by_number.get(&number.to_uppercase()).into_iter().flatten() {
                if let Some(record) = snapshot.parcels.get_mut(key) {
                    record.record_poll(snap.clone(), now);
                    if !dry_run {
                        if let Err(e) = self.state.put_parcel(record) {
                            report.errors.push(format!("storing parcel {key}: {e}"));
                        }
                    }
                }
            }
        }
    }

    /// Every open order of the snapshot through the rules; the cards they
    /// call for, and the problems the snapshot has positive evidence of
    /// having ended (with why): the only ones whose cards get resolved.
    fn judge_all(
        &self,
        now: DateTime<Utc>,
        snapshot: &Snapshot,
        report: &mut PassReport,
    ) -> (BTreeMap<ProblemKey, Desired>, BTreeMap<ProblemKey, String>) {
        let judge = Judge::new(&self.calendar, &self.config.rules, &self.classifier, now);
        let parcels_by_order = snapshot.parcels_by_order();
        let mut desired = BTreeMap::new();
        let mut ended = snapshot.forgotten.clone();
        for order in snapshot.orders.values() {
            let parcels = parcels_by_order
                .get(&order.entity_id)
                .cloned()
                .unwrap_or_default();
            report.orders_judged += 1;
            for finding in judge.findings(order, &parcels) {
                *report.findings.entry(finding.rule.as_str()).or_default() += 1;
                let parcel = match &finding.key {
                    ProblemKey::Parcel { parcel, .. } => {
                        parcels.iter().find(|p| &p.key_part() == parcel)
                    }
                    ProblemKey::Order { .. } => None,
                };
                let content = render::render(&finding, order, parcel, &self.render_ctx);
                let fingerprint = render::fingerprint(&content);
                desired.insert(
                    finding.key.clone(),
                    Desired {
                        finding,
                        content,
                        fingerprint,
                    },
                );
            }
            // Reasons for the resolve comment of problems that ended. The
            // planner frames them as "Problème terminé : {reason}. (colisync, …)"
            // (plan::DEFAULT_END_REASON is the model): lower case, no final
            // period, or the comment ends in "..".
            let order_key = ProblemKey::Order {
                increment_id: order.increment_id.clone(),
            };
            if let Some(why) = order_state_reason(order) {
                ended.insert(order_key, why.to_owned());
            } else if order.is_fully_shipped() {
                ended.insert(order_key, "commande expédiée".to_owned());
            }
            for p in &parcels {
                let key = ProblemKey::Parcel {
                    increment_id: order.increment_id.clone(),
                    parcel: p.key_part(),
                };
                let why = match (p.status(), order_state_reason(order)) {
                    (Some(TrackingStatus::Delivered), _) => "colis livré",
                    (_, Some(why)) => why,
                    _ => continue,
                };
                ended.insert(key, why.to_owned());
            }
        }
        (desired, ended)
    }

    /// Lists, labels and cards of the board (and the missing intake lists
    /// created), and the state's card records: what the plan compares the
    /// findings with.
    async fn read_board(&self, dry_run: bool, report: &mut PassReport) -> Option<BoardRead> {
        let fail = |report: &mut PassReport, what: &str, e: TrelloError| {
            report
                .errors
                .push(format!("{what} of the Trello board: {e}"));
            None
        };
        let lists = match self.trello.lists().await {
            Ok(l) => l,
            Err(e) => return fail(report, "reading the lists", e),
        };
        let labels = match self.trello.labels().await {
            Ok(l) => l,
            Err(e) => return fail(report, "reading the labels", e),
        };
        let cards = match self.trello.cards().await {
            Ok(c) => c,
            Err(e) => return fail(report, "reading the cards", e),
        };

        let mut by_name: BTreeMap<String, String> = lists
            .iter()
            .filter(|l| !l.closed)
            .map(|l| (l.name.clone(), l.id.clone()))
            .collect();
        let mut wanted: BTreeSet<String> = self
            .config
            .rules
            .iter()
            .filter(|(_, r)| r.enabled)
            .map(|(_, r)| r.list.clone())
            .collect();
        wanted.insert(self.config.trello.resolved_list.clone());
        let missing: Vec<String> = wanted
            .iter()
            .filter(|n| !by_name.contains_key(*n))
            .cloned()
            .collect();
        for name in missing {
            if dry_run {
                tracing::info!(list = %name, "the list is missing on the board; a real pass creates it");
                continue;
            }
            match self.trello.create_list(&name).await {
                Ok(l) => {
                    tracing::info!(list = %name, "created the missing list on the board");
                    by_name.insert(l.name, l.id);
                }
                Err(e) => report
                    .errors
                    .push(format!("trello: creating the list {name:?}: {e}")),
            }
        }
        let resolved_name = self.config.trello.resolved_list.clone();
        let resolved_list = ListTarget {
            id: by_name.get(&resolved_name).cloned(),
            name: resolved_name.clone(),
        };
        // Every rule's list is an intake list, a disabled rule's too: cards
        // filed there before the rule was disabled still move to the
        // resolved list when their problem ends.
        let every_rule_list: BTreeSet<String> = self
            .config
            .rules
            .iter()
            .map(|(_, r)| r.list.clone())
            .collect();
        let intake_lists = by_name
            .into_iter()
            .filter(|(name, _)| *name != resolved_name && every_rule_list.contains(name))
            .collect();
        let records = match self.state.cards() {
            Ok(r) => r,
            Err(e) => {
                if e.is_corruption() {
                    report.state_corrupt = Some(e.to_string());
                }
                report.errors.push(format!("reading the card records: {e}"));
                return None;
            }
        };
        Some(BoardRead {
            cards,
            labels,
            intake_lists,
            resolved_list,
            records,
        })
    }

    /// The plan's input; a recorded card the listing did not show is read
    /// by id first.
    #[allow(clippy::too_many_arguments)]
    async fn plan_input(
        &self,
        now: DateTime<Utc>,
        desired: BTreeMap<ProblemKey, Desired>,
        ended: BTreeMap<ProblemKey, String>,
        read: BoardRead,
        unknown_orders: BTreeSet<String>,
        snapshot: &Snapshot,
        report: &mut PassReport,
    ) -> PlanInput {
        let BoardRead {
            cards,
            labels,
            intake_lists,
            resolved_list,
            records,
        } = read;
        let mut input = PlanInput {
            desired,
            records,
            board: BoardSnapshot {
                cards,
                labels,
                reads: BTreeMap::new(),
            },
            intake_lists,
            resolved_list,
            ended,
            unknown_orders,
            unknown_parcels: snapshot.unknown_parcels(),
            own_label_names: render::own_label_names(),
            // Stamped on the comments, so that each one is unique.
            now,
        };
        // A recorded card the listing did not show is read by id before the
        // plan concludes anything from its absence.
        for card_id in plan::cards_to_read(&input) {
            let read = match self.trello.card_on_board(&card_id).await {
                Ok(Some(card)) => {
                    tracing::warn!(card = %card_id, "a recorded card missing from the board listing is on the board");
                    CardRead::Found(card)
                }
                Ok(None) => CardRead::Gone,
                Err(e) => {
                    report.errors.push(format!(
                        "reading the card {card_id} (not in the board listing): {e}; \
                         nothing done for it this pass"
                    ));
                    CardRead::Failed
                }
            };
            input.board.reads.insert(card_id, read);
        }
        input
    }
}

/// Why an order's problems end because of the order's own state (the rules
/// fire nothing for these states).
fn order_state_reason(order: &Order) -> Option<&'static str> {
    match order.state {
        OrderState::Canceled => Some("commande annulée"),
        OrderState::Closed => Some("commande close (remboursée)"),
        OrderState::Holded => Some("commande mise en attente (on hold)"),
        _ => None,
    }
}

/// The orders and parcels the pass judges: the state's snapshot, updated by
/// this pass's pulls (in memory only in a dry run).
#[derive(Debug, Default)]
struct Snapshot {
    orders: BTreeMap<u64, Order>,
    parcels: BTreeMap<ProblemKey, ParcelRecord>,
    /// Orders this pass read from Magento (their shipments are fresh).
    pulled: BTreeSet<u64>,
    /// Parcels Magento no longer has, with why: their cards are resolved.
    forgotten: BTreeMap<ProblemKey, String>,
}

/// The board and the card records as read before judging.
#[derive(Debug)]
struct BoardRead {
    cards: Vec<BoardCard>,
    labels: Vec<BoardLabel>,
    intake_lists: BTreeMap<String, String>,
    resolved_list: ListTarget,
    records: BTreeMap<ProblemKey, CardRecord>,
}

/// At most this many `page_size` batches of orders have their shipments
/// read again per pass (see [`Engine::recheck_tracks`]).
const RECHECK_MAX_BATCHES: usize = 2;

impl Snapshot {
    fn load(state: &State) -> Result<Self, crate::state::StateError> {
        let orders = state
            .open_orders()?
            .into_iter()
            .map(|o| (o.entity_id, o))
            .collect();
        let parcels = state.parcels()?.into_iter().map(|r| (r.key(), r)).collect();
        Ok(Snapshot {
            orders,
            parcels,
            ..Snapshot::default()
        })
    }

    /// Parcels La Poste can follow whose tracking is still unknown after
    /// this pass's polls (never polled successfully): judging them on dates
    /// alone would file or re-case their cards from missing data.
    fn unknown_parcels(&self) -> BTreeSet<ProblemKey> {
        self.parcels
            .iter()
            .filter(|(_, r)| r.parcel.laposte_tracks() && r.parcel.tracking.is_none())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Evidence that Magento no longer has a recorded parcel: its order is
    /// in the snapshot, with shipments read successfully, and none of them
    /// is that parcel any more. `reconcile_parcels` gives the precise
    /// reason in the pass that saw the change; this keeps the evidence for
    /// a later pass when that resolve did not get through.
    fn add_gone_parcels(
        &self,
        records: &BTreeMap<ProblemKey, CardRecord>,
        classifier: &Classifier,
        ended: &mut BTreeMap<ProblemKey, String>,
    ) {
        let by_increment: HashMap<&str, &Order> = self
            .orders
            .values()
            .map(|o| (o.increment_id.as_str(), o))
            .collect();
        for (key, rec) in records {
            if rec.status != CardStatus::Open || !matches!(key, ProblemKey::Parcel { .. }) {
                continue;
            }
            let Some(order) = by_increment.get(key.increment_id()) else {
                continue;
            };
            let parcels = domain::parcels_of(order, classifier);
            let has = parcels.iter().any(|p| &crate::state::parcel_key(p) == key);
            if let (false, ProblemKey::Parcel { parcel, .. }) = (has, key) {
                let shipment = Parcel::shipment_of_key_part(parcel);
                let number = if shipment.is_some() {
                    ""
                } else {
                    parcel.as_str()
                };
                ended
                    .entry(key.clone())
                    .or_insert_with(|| gone_reason(number, shipment, &parcels));
            }
        }
    }

    fn parcels_by_order(&self) -> HashMap<u64, Vec<Parcel>> {
        let mut m: HashMap<u64, Vec<Parcel>> = HashMap::new();
        for r in self.parcels.values() {
            m.entry(r.parcel.order_entity_id)
                .or_default()
                .push(r.parcel.clone());
        }
        m
    }
}

/// Why a parcel Magento no longer describes is gone, for its resolve
/// comment: its shipment got a number (or another one), its number was a
/// placeholder all along (`N/A`: the shipment is now followed as one
/// without number, on that parcel's card), or the parcel really left the
/// order. `number` is the gone parcel's (empty for `shipment-<id>`), and
/// `shipment` its shipment when known.
fn gone_reason(number: &str, shipment: Option<u64>, parcels_now: &[Parcel]) -> String {
    let squeezed: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if !squeezed.is_empty() && domain::is_placeholder_number(&squeezed) {
        return format!(
            "« {number} » n'est pas un numéro de suivi : l'envoi est suivi comme envoi sans numéro"
        );
    }
    let successor = parcels_now
        .iter()
        .filter(|p| shipment.is_none_or(|s| p.shipment_id == s))
        .map(|p| p.tracking_number.as_str())
        .find(|n| !n.is_empty());
    match (number.is_empty(), successor) {
        (true, Some(n)) => format!("numéro de suivi ajouté dans Magento : {n}"),
        (false, Some(n)) => format!("numéro de suivi remplacé dans Magento par {n}"),
        (_, None) => "ce colis n'est plus dans la commande Magento".to_owned(),
    }
}

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
    into.crashed |= r.crashed;
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

fn write_error(e: TrelloError) -> WriteError {
    if e.is_fatal() {
        WriteError::Fatal(e.to_string())
    } else if e.outcome_is_unknown() {
        WriteError::Unknown(e.to_string())
    } else {
        WriteError::Definite(e.to_string())
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
}
