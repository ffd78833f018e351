//! The daemon: when passes run, how they stop, how the config reloads.
//!
//! The outer shell of the pipeline (ARCHITECTURE.md). [`crate::pass`] ties
//! the stages together for one pass; this module decides when a pass starts (the
//! cron schedule, in the configured timezone), and speaks to systemd.
//!
//! ## Shutdown and reload protocol
//!
//! Signals never interrupt a Trello write. SIGTERM (or Ctrl-C) raises the
//! shared [`Stop`] flag (its one watcher, `Stop::watch_signals`); a running
//! pass checks it between actions, finishes the action in hand (journal
//! settled, state flushed) and returns; the loop then exits. Between passes
//! SIGTERM exits at once.
//!
//! SIGHUP reloads the configuration file. A file that does not validate is
//! logged and ignored: the daemon keeps running with the old one. The state
//! directory is kept open across reloads (sled allows one opener per
//! process); a changed `state_dir` is reported and takes effect on restart,
//! and so does a changed `listen` (the /healthz server keeps its socket).
//!
//! Each tick is computed from the schedule after the end of the previous
//! pass, so a pass longer than the interval skips ticks instead of queueing
//! them. In Europe/Paris a tick inside the spring DST gap does not happen
//! and one inside the autumn overlap happens twice: harmless, since passes
//! are idempotent.

pub mod health;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::{self, Config, ConfigError, Problem};
use crate::pass::{Engine, PassError, PassReport};
use crate::plan::ApplyFatal;
use crate::secret::Scrubber;
use crate::state::{State, StateError};
use health::Health;

pub use crate::pass::Stop;

/// Longer than any healthy pass: 5,000 cards at Trello's 10 requests a
/// second take under 10 minutes.
const MAX_PASS: Duration = Duration::from_secs(3600);

/// Why the daemon could not start or go on (a pass's own failures are in
/// its report, not here).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file, or `daemon.listen`: exit 78.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("opening the state in {}: {error}", dir.display())]
    State { dir: PathBuf, error: StateError },
    #[error("starting over after the state was found corrupt: {0}")]
    Recover(PassError),
    #[error(transparent)]
    Engine(#[from] PassError),
    #[error("{doing}: {error}")]
    Io {
        doing: &'static str,
        error: std::io::Error,
    },
}

/// The next tick of the schedule strictly after `after`.
pub(crate) fn next_tick(config: &Config, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = config.calendar.timezone;
    config
        .daemon
        .schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// Removes every configured secret from what a pass reports, before it is
/// logged, shown on `/healthz` or printed: the last line of defence behind
/// the HTTP layer's scrubbing of upstream bodies (an error built from text
/// that did not come through it still gets here).
pub fn scrub_report(report: &mut PassReport, scrubber: &Scrubber) {
    if scrubber.is_empty() {
        return;
    }
    let scrub = |s: &mut String| {
        if let std::borrow::Cow::Owned(clean) = scrubber.scrub(s) {
            *s = clean;
        }
    };
    report.errors.iter_mut().for_each(|e| e.scrub(scrubber));
    report
        .apply
        .failures
        .iter_mut()
        .for_each(|f| scrub(&mut f.message));
    if let Some(f) = report.apply.fatal.as_mut() {
        // Only the cleaned text is kept, under the same service.
        if let std::borrow::Cow::Owned(clean) = scrubber.scrub(&f.to_string()) {
            *f = match f {
                ApplyFatal::Board(_) => ApplyFatal::Board(clean.into()),
                ApplyFatal::State { .. } => ApplyFatal::State {
                    doing: "",
                    error: clean.into(),
                },
            };
        }
    }
    if let Some(c) = report.state_corrupt.as_mut() {
        scrub(c);
    }
}

/// Binds `daemon.listen`. A refusal (address in use, not of this host,
/// privileged port) is the configuration's: exit 78, so that systemd does
/// not restart into the same refusal, and before the state is opened.
pub(crate) fn bind_listen(
    config_path: &Path,
    addr: std::net::SocketAddr,
) -> Result<std::net::TcpListener, ConfigError> {
    let refused = |message: String| ConfigError::Invalid {
        origin: config_path.to_owned(),
        problems: vec![Problem {
            line: None,
            column: None,
            key: "daemon.listen".to_owned(),
            message,
        }],
    };
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "is already in use (another colisync, or another service): choose a free port"
                    .to_owned()
            }
            std::io::ErrorKind::AddrNotAvailable => "is not an address of this host".to_owned(),
            _ => format!("cannot be listened on: {e}"),
        };
        refused(format!("{addr} {why}"))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| refused(format!("{addr}: cannot be listened on: {e}")))?;
    Ok(listener)
}

/// `colisync run`.
pub async fn run(config_path: &Path) -> Result<ExitCode, DaemonError> {
    let (config, warnings) = config::load_with_warnings(config_path)?;
    if !warnings.is_empty() {
        let text = config::render_warnings(config_path, &warnings);
        for line in text.lines() {
            tracing::warn!("{line}");
        }
    }
    let listener = match config.daemon.listen {
        Some(addr) => Some(bind_listen(config_path, addr)?),
        None => None,
    };
    let scrubber = config.scrubber();
    let state = State::open(&config.daemon.state_dir).map_err(|error| DaemonError::State {
        dir: config.daemon.state_dir.clone(),
        error,
    })?;
    let mut engine = Engine::new(config.clone(), state)?;
    let mut config = config;
    let mut scrubber = scrubber;

    let health = Health::default();
    health.set_started(Utc::now());
    if let Some(listener) = listener {
        let bound =
            health::serve_listener(listener, health.clone()).map_err(|error| DaemonError::Io {
                doing: "serving /healthz on daemon.listen",
                error,
            })?;
        tracing::info!(%bound, "serving /healthz and /metrics");
    }

    let stop = Stop::default();
    let _signals = stop.watch_signals().map_err(|error| DaemonError::Io {
        doing: "installing the SIGTERM and SIGINT handlers",
        error,
    })?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|error| DaemonError::Io {
        doing: "installing the SIGHUP handler",
        error,
    })?;

    // The watchdog is pinged from its own task: a pass may legitimately take
    // minutes (Trello's rate limit) while the loop below waits on it. The
    // task stops pinging when a pass has run for longer than any pass
    // should (every request has a timeout and bounded retries), so systemd
    // restarts a daemon that is stuck, not one that is busy.
    if let Some(every) = watchdog_interval() {
        let health = health.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if health.pass_running_for().is_none_or(|d| d < MAX_PASS) {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                } else {
                    tracing::error!(
                        "a pass has been running for over an hour; letting the watchdog restart colisync"
                    );
                }
            }
        });
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!(schedule = %config.daemon.schedule_text, "colisync started");

    // The first pass runs at start, then on the schedule: an admin who just
    // enabled the unit sees at once whether it works.
    let mut first_pass = true;
    loop {
        let Some(next) = next_tick(&config, Utc::now()) else {
            tracing::error!(schedule = %config.daemon.schedule_text, "the schedule has no future run; stopping");
            break;
        };
        let next = if std::mem::take(&mut first_pass) {
            Utc::now()
        } else {
            next
        };
        health.set_next_pass(Some(next));
        tracing::info!(next = %next.with_timezone(&config.calendar.timezone), "next pass");
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.raised() => break,
            _ = sighup.recv() => {
                reload(config_path, &mut config, &mut engine);
                scrubber = config.scrubber();
                continue;
            }
        }

        let started = Utc::now();
        let clock = std::time::Instant::now();
        health.set_pass_running(Some(clock));
        let mut reload_after = false;
        let span = crate::ops::logging::pass_span(started);
        let mut report = {
            let pass = tracing::Instrument::instrument(
                engine.run_pass(started, &stop, false),
                span.clone(),
            );
            tokio::pin!(pass);
            loop {
                tokio::select! {
                    report = &mut pass => break report,
                    // The configuration does not change under a running pass.
                    _ = sighup.recv() => {
                        tracing::info!("SIGHUP: the configuration will be reloaded after this pass");
                        reload_after = true;
                    }
                }
            }
        };
        health.set_pass_running(None);
        scrub_report(&mut report, &scrubber);
        health.record_pass(&report, clock.elapsed().as_secs_f64(), Utc::now());
        span.in_scope(|| report.log_summary());
        // A state that cannot be read leaves the last numbers (the pass
        // reports that failure itself).
        if let Ok(cards) = engine.state().cards() {
            crate::metrics::global().record_open_cards(
                cards
                    .values()
                    .filter(|r| r.status == crate::state::CardStatus::Open)
                    .map(|r| r.rule),
            );
        }
        if let Some(cause) = &report.state_corrupt {
            engine = engine.recover_state(cause).map_err(DaemonError::Recover)?;
        }
        if stop.is_raised() {
            break;
        }
        if reload_after {
            reload(config_path, &mut config, &mut engine);
            scrubber = config.scrubber();
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("colisync stopped");
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP: a valid file replaces the config, an invalid one is reported.
fn reload(path: &Path, config: &mut Config, engine: &mut Engine) {
    // systemd 253+ wants the monotonic time next to RELOADING=1.
    let mut reloading = vec![sd_notify::NotifyState::Reloading];
    reloading.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
    let _ = sd_notify::notify(&reloading);
    match config::load(path) {
        Ok(new) => {
            if new.daemon.state_dir != config.daemon.state_dir {
                tracing::warn!(
                    old = %config.daemon.state_dir.display(),
                    new = %new.daemon.state_dir.display(),
                    "daemon.state_dir changed: it takes effect on restart"
                );
            }
            if new.daemon.listen != config.daemon.listen {
                tracing::warn!(
                    old = ?config.daemon.listen,
                    new = ?new.daemon.listen,
                    "daemon.listen changed: it takes effect on restart"
                );
            }
            match engine.reconfigure(new.clone()) {
                Ok(()) => {
                    *config = new;
                    tracing::info!(path = %path.display(), "configuration reloaded");
                }
                Err(e) => {
                    tracing::error!(error = %e, "reload refused; keeping the old configuration")
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "reload refused; keeping the old configuration");
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
}

/// Half the watchdog period systemd asked for, if it asked.
fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .map(|d| d / 2)
        .filter(|d| !d.is_zero())
}
