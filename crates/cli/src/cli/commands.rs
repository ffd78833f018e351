//! The commands that run the pipeline: `once`, `explain`, `demo`, `bench`
//! (and `run`, which hands over to the daemon loop).
//!
//! Each builds what it needs from the validated config, runs on a tokio
//! runtime built here (the rest of the CLI is synchronous), and writes its
//! result to the given output. Nothing here knows a rule or a Trello route:
//! it only calls the pipeline's stages.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};

use colisync::config::Config;
use colisync::pass::{Engine, Note, PassReport, Stop};
use colisync::plan::render_plan_table;
use colisync::state::State;

/// A multi-threaded runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The state a command works on. A dry run must not write to the state
/// directory at all (sled writes even when only opened), so it works on a
/// throwaway copy; the copy also lets it run while the daemon holds the
/// directory's lock.
pub(crate) struct CommandState {
    pub(crate) state: State,
    /// Keeps the copy alive for the command's duration.
    _scratch: Option<tempfile::TempDir>,
}

impl CommandState {
    /// For a command that writes nothing (`explain`, `advise`): a copy of
    /// the state; without one, an empty state (no snapshot to fall back on).
    fn copy_or_empty(dir: &Path) -> anyhow::Result<CommandState> {
        match CommandState::open(dir, true) {
            Ok(opened) => Ok(opened),
            Err(_) => CommandState::empty(),
        }
    }

    pub(crate) fn open(dir: &Path, read_only: bool) -> anyhow::Result<CommandState> {
        if !read_only {
            let state = State::open(dir)
                .with_context(|| format!("opening the state in {}", dir.display()))?;
            return Ok(CommandState {
                state,
                _scratch: None,
            });
        }
        let scratch = tempfile::Builder::new()
            .prefix("colisync-readonly-")
            .tempdir()
            .context("creating a scratch directory")?;
        let copy = scratch.path().join("state");
        if dir.exists() {
            copy_dir(dir, &copy)
                .with_context(|| format!("copying the state in {} to read it", dir.display()))?;
        }
        let state = State::open(&copy).context("opening the copy of the state")?;
        Ok(CommandState {
            state,
            _scratch: Some(scratch),
        })
    }
}

impl CommandState {
    /// An empty throwaway state.
    pub(crate) fn empty() -> anyhow::Result<CommandState> {
        let scratch = tempfile::Builder::new()
            .prefix("colisync-empty-")
            .tempdir()
            .context("creating a scratch directory")?;
        let state = State::open(&scratch.path().join("state")).context("opening an empty state")?;
        Ok(CommandState {
            state,
            _scratch: Some(scratch),
        })
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        // Old corrupt states moved aside inside the directory are not the
        // state: no need to copy them.
        if entry.file_name().to_string_lossy().starts_with("corrupt-") {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `colisync once [--dry-run] [--now]`.
pub(crate) fn once(
    config: Config,
    now: Option<DateTime<Utc>>,
    dry_run: bool,
    reset_clock: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let opened = CommandState::open(&config.daemon.state_dir, dry_run)?;
        if reset_clock {
            if let Some(last) = opened.state.forget_last_write_at()? {
                writeln!(
                    out,
                    "Forgot the last writing pass's instant ({}): this pass may write.",
                    last.to_rfc3339()
                )?;
            }
        }
        let scrubber = config.scrubber();
        let mut engine = Engine::new(config, opened.state)?;
        let now = now.unwrap_or_else(Utc::now);
        // As in the daemon: SIGTERM or Ctrl-C lets the Trello write in hand
        // finish and be recorded, then the pass stops.
        let stop = Stop::default();
        let signals = stop
            .watch_signals()
            .context("installing the SIGTERM and SIGINT handlers")?;
        let mut report = engine.run_pass(now, &stop, dry_run).await;
        drop(signals);
        colisync::daemon::scrub_report(&mut report, &scrubber);
        print_report(out, &report)?;
        Ok(exit_code(&report))
    })
}

/// Non-zero when anything failed, or when a signal stopped the pass before
/// the end (the rest waits for the next pass: the work is not done).
pub(crate) fn exit_code(report: &PassReport) -> ExitCode {
    if report.is_success() && !report.stopped {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The plan (dry run) or what was written, then every failure.
pub fn print_report(out: &mut dyn Write, report: &PassReport) -> anyhow::Result<()> {
    if report.dry_run {
        writeln!(
            out,
            "Dry run: nothing was written to Trello or to the state."
        )?;
        if let Some(why) = &report.clock_behind {
            writeln!(
                out,
                "A real pass at this instant would write nothing and fail: {why}."
            )?;
        }
        if report.actions.is_empty() {
            writeln!(out, "Nothing to do: the board is up to date.")?;
        } else {
            write!(out, "{}", render_plan_table(&report.actions))?;
        }
        write!(
            out,
            "{}",
            colisync::pass::render_writeback_table(&report.writeback_plan)
        )?;
    } else {
        let a = &report.apply;
        writeln!(
            out,
            "Pass done: {} orders pulled, {} parcels polled, {} orders judged, {} problems.",
            report.orders_pulled,
            report.parcels_polled,
            report.orders_judged,
            report.findings.values().sum::<u64>()
        )?;
        writeln!(
            out,
            "Trello: {} created, {} updated, {} resolved, {} reopened, {} adopted, {} comments.",
            a.created, a.updated, a.resolved, a.reopened, a.adopted, a.commented
        )?;
    }
    let errors = report.all_errors();
    if !errors.is_empty() {
        writeln!(out, "{} problem(s) during the pass:", errors.len())?;
        for e in errors {
            writeln!(out, "  - {e}")?;
        }
    }
    if report.stopped {
        writeln!(
            out,
            "Stopped early on request; the rest waits for the next pass."
        )?;
    }
    Ok(())
}

/// `colisync explain ORDER [--now]`: the pass's pull and judge stages for
/// one order (`Engine::explain`), with the trace, and what card the state
/// knows of. Falls back to the state's snapshot when Magento or La Poste
/// cannot be reached.
pub fn explain(
    config: Config,
    order_number: &str,
    now: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let now = now.unwrap_or_else(Utc::now);
        let opened = CommandState::copy_or_empty(&config.daemon.state_dir)?;
        let tz = config.calendar.timezone;
        let engine = Engine::new(config, opened.state)?;
        let explained = engine.explain(order_number, now).await?;
        print_notes(&explained.notes, out)?;
        let order = &explained.order;
        writeln!(
            out,
            "Order {} ({} / {}), customer {}, judged at {}",
            order.increment_id,
            order.state.as_str(),
            order.status,
            order.customer_name(),
            now.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")
        )?;
        for p in &explained.parcels {
            writeln!(
                out,
                "  parcel {} ({}), shipped {}, tracking: {}",
                p.key_part(),
                p.carrier.as_str(),
                p.shipped_at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                p.status().map_or("not asked", |s| s.as_str())
            )?;
        }
        writeln!(out, "Rules:")?;
        for line in &explained.judgement.trace {
            writeln!(out, "  {} {line}", if line.fired { "!" } else { "-" })?;
        }
        if explained.cards.is_empty() {
            writeln!(out, "No card: no rule fires for this order now.")?;
        }
        for card in &explained.cards {
            writeln!(
                out,
                "Card for {} in « {} »: {}",
                card.key, card.list, card.title
            )?;
            match &card.record {
                Some(r) => writeln!(out, "  on the board as card {} ({:?})", r.card_id, r.status)?,
                None => writeln!(out, "  not filed yet (the next pass files it)")?,
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// What `explain` and `advise` had to do without.
fn print_notes(notes: &[Note], out: &mut dyn Write) -> anyhow::Result<()> {
    for note in notes {
        match note {
            Note::MagentoUnreachable(e) => writeln!(
                out,
                "Magento could not be asked ({e}); using the local snapshot."
            )?,
            Note::NumberRefused { number, message } => {
                writeln!(out, "La Poste refuses the number {number} ({message}).")?
            }
            Note::KeyRefused(e) => writeln!(
                out,
                "La Poste refused the API key ({e}); check laposte.api_key."
            )?,
            Note::NotAsked { number, error } => {
                writeln!(out, "La Poste could not be asked for {number} ({error}).")?
            }
            Note::LocalTracking => writeln!(out, "  using the tracking known locally.")?,
        }
    }
    Ok(())
}

/// `colisync advise ORDER [--now]`: in French, what each procedure says for
/// this order today (`Engine::advise`), on the order and parcels `explain`
/// pulls. Needs no state, like `explain`.
pub fn advise(
    config: Config,
    order_number: &str,
    now: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let now = now.unwrap_or_else(Utc::now);
        let opened = CommandState::copy_or_empty(&config.daemon.state_dir)?;
        let tz = config.calendar.timezone;
        let engine = Engine::new(config, opened.state)?;
        let explained = engine.explain(order_number, now).await?;
        print_notes(&explained.notes, out)?;
        let order = &explained.order;
        writeln!(
            out,
            "Commande {} ({}), client {}, le {}",
            order.increment_id,
            order.status,
            order.customer_name(),
            now.with_timezone(&tz).format("%d/%m/%Y %H:%M")
        )?;
        for section in engine.advise(order, &explained.parcels, now) {
            writeln!(out, "\n{}", section.title)?;
            for line in &section.lines {
                writeln!(out, "  {line}")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
