//! The command line: what an admin types, parsed with clap, and dispatch to
//! the commands.
//!
//! The outermost shell around the pipeline. `main.rs` only parses
//! [`Cli`], calls [`init_logging`] and [`run`], and turns the result into an
//! exit code with [`exit_code`]. Commands that only read the configuration
//! (`check-config`, `calendar`) live here; the ones that run the pipeline
//! (`run`, `once`, `explain`, `demo`, `bench`) are dispatched to the daemon.
//!
//! Output conventions: results on stdout, logs and errors on stderr, never a
//! secret on either. A configuration error exits with 78 (`EX_CONFIG`), so
//! that systemd's `RestartPreventExitStatus=78` stops a crash loop on a bad
//! file; any other failure exits with 1.

mod bench;
pub mod commands;
mod demo;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use colisync::config::{self, Config, ConfigError, MagentoAuth};
use colisync::domain::calendar::{self, Calendar};

/// Where the configuration is read from when neither `--config` nor
/// `COLISYNC_CONFIG` says otherwise.
pub(crate) const DEFAULT_CONFIG: &str = "/etc/colisync/config.toml";

/// Exit status for an unusable configuration (sysexits.h `EX_CONFIG`).
pub(crate) const EXIT_CONFIG: u8 = 78;

/// Files one Trello card per shipping delay, delivery delay or tracking
/// anomaly of a Magento 2 shop shipping with La Poste.
#[derive(Debug, Parser)]
#[command(name = "colisync", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file [default: /etc/colisync/config.toml].
    // An Option, not a default value: `calendar` must know whether the admin
    // named a file (then it shows the file's extra days) or not.
    #[arg(long, global = true, env = "COLISYNC_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// How logs are written to stderr: text (no timestamps under the
    /// journal) or json (one object a line, with the pass id) [default:
    /// daemon.log_format of the configuration, else text].
    #[arg(long, global = true, env = "COLISYNC_LOG_FORMAT", value_enum)]
    pub log_format: Option<crate::logging::LogFormat>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the daemon: a pass on every tick of daemon.schedule, until SIGTERM
    /// (SIGHUP reloads the configuration).
    Run,
    /// Run one pass now and exit.
    Once {
        /// Print the plan (cards to create, update, resolve) without writing
        /// to Trello or the state.
        #[arg(long)]
        dry_run: bool,
        /// Judge as if it were this instant, e.g. 2026-05-19T10:00:00+02:00.
        #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
        /// Forget the instant of the last pass that wrote to the board, so
        /// that this pass may write although it is earlier: after a pass run
        /// by mistake with a `--now` in the future, or a clock that was set
        /// ahead. Cards already written at the later instant are rewritten.
        #[arg(long, conflicts_with = "dry_run")]
        reset_clock: bool,
    },
    /// Validate the configuration and print what colisync understood.
    CheckConfig {
        /// Then try each service with the real credentials, read only, and
        /// exit 0 only when everything a pass needs works.
        #[arg(long)]
        online: bool,
    },
    /// Explain why an order has (or has not) a card, without touching the
    /// state: fetch the order and its parcels and judge them now.
    Explain {
        /// Order number (Magento increment id), e.g. 100023.
        order: String,
        /// Judge as if it were this instant (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
    },
    /// Say, in French, what each procedure says for an order today (delay,
    /// address change, lost parcel, return), with the dates computed, for
    /// an agent answering the customer. Needs no state.
    Advise {
        /// Order number (Magento increment id), e.g. 100023.
        order: String,
        /// Advise as if it were this instant (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
    },
    /// Open a case for the team, for an order without a colisync card to
    /// put a label on: the request goes to cases.inbox_dir and the daemon
    /// files its card in the cases list at its next pass. Opens neither the
    /// state nor any network connection; reads only [cases] of the file.
    Case {
        /// Order number (Magento increment id), e.g. 100023.
        order: String,
        /// perdu (« livré mais pas reçu ») or adresse (a change of address).
        #[arg(value_parser = ["perdu", "adresse"])]
        kind: String,
        /// The parcel concerned (its tracking number), for a lost parcel;
        /// by default the order's last parcel.
        #[arg(long, value_name = "NUMBER")]
        parcel: Option<String>,
    },
    /// Print the French public holidays of YEAR; with --config, also the
    /// configured extra closed days and re-opened days.
    Calendar {
        /// A Gregorian year, e.g. 2027.
        #[arg(value_parser = clap::value_parser!(i32).range(1583..=200_000))]
        year: i32,
    },
    /// A whole pass against built-in fake Magento, La Poste and Trello
    /// services and a sample shop: no account needed.
    Demo,
    /// Measure a pass over a large generated shop against the fakes.
    Bench {
        /// `judge`, `backfill`, `first`, `idle`, or `all` (the judge over
        /// 100,000 orders, then 250-card backfills at 0 and 150 ms a Trello
        /// answer). `first` runs a first pass over each shop of --shops on an
        /// empty state, `idle` that pass then a second with nothing
        /// changed, each pass a child `colisync once`.
        #[arg(long, default_value = "all", value_parser = ["all", "judge", "backfill", "first", "idle"])]
        scenario: String,
        /// Orders within lookback_days of each shop of the first and idle
        /// scenarios (1,000 of them open, the rest delivered).
        #[arg(long, value_delimiter = ',', default_values_t = [1_000u32, 10_000])]
        shops: Vec<u32>,
        /// Open orders of the judge scenario.
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        /// Cards to file in the backfill scenario.
        #[arg(long, default_value_t = 250)]
        cards: u32,
        /// How long the Trello fake holds back each answer (backfill).
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
    },
}

impl Cli {
    /// The configuration file to read: `--config`, else `COLISYNC_CONFIG`,
    /// else [`DEFAULT_CONFIG`].
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: expected RFC 3339, e.g. 2026-05-19T10:00:00+02:00"))
}

/// Logs in text; see `ops::logging` (the binary passes `--log-format`).
pub fn init_logging() {
    crate::logging::init(crate::logging::LogFormat::Text);
}

/// Runs the command; `Ok` carries the exit code of a command that finished
/// (possibly reporting failures), `Err` a command that could not run.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::CheckConfig { online } => {
            let path = cli.config_path();
            let (config, warnings) = config::load_with_warnings(&path)?;
            check_config_summary(&mut out, &path, &config, Utc::now())?;
            if !warnings.is_empty() {
                let mut err = std::io::stderr().lock();
                for line in config::render_warnings(&path, &warnings).lines() {
                    writeln!(err, "colisync: warning: {line}")?;
                }
            }
            if *online {
                let report = commands::runtime()?
                    .block_on(colisync::ops::online::check(&config, Utc::now()));
                report.write(&mut out, &config.scrubber())?;
                if !report.passes() {
                    return Ok(ExitCode::FAILURE);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar { year } => {
            let cal = match &cli.config {
                Some(path) => Some(Calendar::new(&config::load_calendar(path)?)),
                None => None,
            };
            print_calendar(&mut out, *year, cal.as_ref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            let path = cli.config_path();
            // A configuration error stays one, for its exit code.
            commands::runtime()?
                .block_on(colisync::daemon::run(&path))
                .map_err(|e| match e {
                    colisync::daemon::DaemonError::Config(c) => anyhow::Error::from(c),
                    e => anyhow::Error::from(e),
                })
        }
        Command::Once {
            dry_run,
            now,
            reset_clock,
        } => {
            let config = config::load(&cli.config_path())?;
            commands::once(config, *now, *dry_run, *reset_clock, &mut out)
        }
        Command::Explain { order, now } => {
            let config = config::load(&cli.config_path())?;
            commands::explain(config, order, *now, &mut out)
        }
        Command::Advise { order, now } => {
            let config = config::load(&cli.config_path())?;
            commands::advise(config, order, *now, &mut out)
        }
        Command::Case {
            order,
            kind,
            parcel,
        } => {
            let cases = config::load_cases(&cli.config_path())?;
            let kind: colisync::domain::CaseKind =
                kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let path = colisync::pass::inbox::write_request(
                &cases.inbox_dir,
                order,
                kind,
                parcel.as_deref(),
                Utc::now(),
            )?;
            writeln!(out, "{}", colisync::fr::cases::REQUEST_SAVED)?;
            writeln!(out, "({})", path.display())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => demo::demo(&mut out),
        Command::Bench {
            scenario,
            shops,
            orders,
            cards,
            latency_ms,
        } => bench::bench(&mut out, scenario, shops, *orders, *cards, *latency_ms),
    }
}

/// The exit code for an error returned by [`run`].
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if err.downcast_ref::<ConfigError>().is_some() {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

/// What `check-config` prints: enough for the admin to see what colisync
/// understood (board, lists, thresholds, schedule with its next runs, state
/// directory), and no secret.
pub(crate) fn check_config_summary(
    out: &mut dyn Write,
    path: &Path,
    c: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let tz = c.calendar.timezone;
    writeln!(out, "{}: configuration OK", path.display())?;
    writeln!(
        out,
        "board:          {} ({})",
        c.trello.board, c.trello.base_url
    )?;
    writeln!(out, "resolved list:  {}", c.trello.resolved_list)?;
    writeln!(out, "rules:")?;
    for (name, rule) in c.rules.iter() {
        if !rule.enabled {
            writeln!(out, "  {name:<20} disabled")?;
            continue;
        }
        let when = match threshold_unit(name) {
            Some(unit) => format!(
                "after {} {unit}, critical at x{}",
                rule.threshold, rule.critical_factor
            ),
            None => "on the carrier's report".to_owned(),
        };
        writeln!(out, "  {name:<20} -> {:<22} {when}", rule.list)?;
    }
    writeln!(out, "schedule:       {} ({tz})", c.daemon.schedule_text)?;
    for next in c.daemon.schedule.after(&now.with_timezone(&tz)).take(3) {
        writeln!(
            out,
            "  next run:     {}",
            next.format("%a %Y-%m-%d %H:%M:%S %Z")
        )?;
    }
    writeln!(
        out,
        "calendar:       cutoff {}, {} extra closed day(s), {} re-opened day(s)",
        c.calendar.cutoff.format("%H:%M"),
        c.calendar.extra_closed_days.len(),
        c.calendar.extra_open_days.len()
    )?;
    writeln!(out, "state dir:      {}", c.daemon.state_dir.display())?;
    if let Some(addr) = c.daemon.listen {
        writeln!(out, "listen:         http://{addr}/healthz, /metrics")?;
    }
    let auth = match c.magento.auth {
        MagentoAuth::Bearer(_) => "integration token",
        MagentoAuth::OAuth1 { .. } => "OAuth 1.0a",
    };
    writeln!(out, "magento:        {} ({auth})", c.magento.base_url)?;
    writeln!(out, "la poste:       {}", c.laposte.base_url)?;
    Ok(())
}

/// The unit of each rule's threshold key, as written in the config.
fn threshold_unit(rule: &str) -> Option<&'static str> {
    match rule {
        "shipping_compatible" | "shipping_original" | "delivery_chronopost" | "pickup" => {
            Some("business day(s)")
        }
        "delivery_letter" | "delivery_colissimo" | "delivery_other" => Some("day(s)"),
        "tracking_not_found" | "tracking_stuck" => Some("hour(s)"),
        _ => None,
    }
}

/// What `calendar YEAR` prints: one line per public holiday, sorted; with a
/// configured calendar also its extra closed days and re-opened days, each
/// marked with the key it comes from.
pub(crate) fn print_calendar(
    out: &mut dyn Write,
    year: i32,
    cal: Option<&Calendar>,
) -> anyhow::Result<()> {
    let mut lines: Vec<(NaiveDate, String)> = calendar::public_holidays(year)
        .into_iter()
        .map(|(d, h)| (d, h.name_fr().to_owned()))
        .collect();
    if let Some(cal) = cal {
        for d in cal.extra_open_days(year) {
            match lines.iter_mut().find(|(h, _)| *h == d) {
                Some((_, name)) => name.push_str(" (ouvert: extra_open_days)"),
                None => lines.push((
                    d,
                    format!(
                        "{} (ouvert: extra_open_days)",
                        colisync::fr::weekday_name(d)
                    ),
                )),
            }
        }
        for d in cal.extra_closed_days(year) {
            match lines.iter_mut().find(|(h, _)| *h == d) {
                Some((_, name)) => name.push_str(" (fermé: extra_closed_days)"),
                None => lines.push((d, "Fermé (extra_closed_days)".to_owned())),
            }
        }
    }
    lines.sort();
    for (d, name) in lines {
        writeln!(out, "{}  {name}", d.format("%Y-%m-%d")).context("writing to stdout")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use colisync::config::CalendarConfig;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_every_subcommand() {
        let cli = Cli::try_parse_from([
            "colisync",
            "once",
            "--dry-run",
            "--now",
            "2026-05-19T10:00:00+02:00",
        ])
        .unwrap();
        match cli.command {
            Command::Once { dry_run, now, .. } => {
                assert!(dry_run);
                assert_eq!(now.unwrap().to_rfc3339(), "2026-05-19T08:00:00+00:00");
            }
            other => panic!("{other:?}"),
        }
        let cli =
            Cli::try_parse_from(["colisync", "explain", "100023", "--config", "x.toml"]).unwrap();
        assert!(
            matches!(cli.command, Command::Explain { ref order, now: None } if order == "100023")
        );
        assert_eq!(cli.config_path(), Path::new("x.toml"));
        assert!(Cli::try_parse_from(["colisync", "once", "--now", "yesterday"]).is_err());
        assert!(Cli::try_parse_from(["colisync", "calendar", "99999999"]).is_err());
        for cmd in ["run", "check-config", "demo", "bench"] {
            Cli::try_parse_from(["colisync", cmd]).unwrap();
        }
    }

    #[test]
    fn calendar_marks_configured_days() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let cal = Calendar::new(&CalendarConfig {
            timezone: chrono_tz::Europe::Paris,
            cutoff: chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            extra_closed_days: vec![d(2027, 12, 24), d(2026, 12, 24)],
            extra_open_days: vec![d(2027, 5, 17), d(2027, 6, 5)],
        });
        let mut out = Vec::new();
        print_calendar(&mut out, 2027, Some(&cal)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 13, "{text}");
        assert!(lines.contains(&"2027-05-17  Lundi de Pentecôte (ouvert: extra_open_days)"));
        assert!(lines.contains(&"2027-06-05  samedi (ouvert: extra_open_days)"));
        assert!(lines.contains(&"2027-12-24  Fermé (extra_closed_days)"));
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
    }
}
