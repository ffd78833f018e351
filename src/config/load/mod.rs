//! Loading the configuration file: TOML text → validated [`Config`].
//!
//! First stage of every command (config → calendar → pull → judge → plan →
//! apply). Two passes:
//!
//! 1. serde into raw structs that mirror the file (`deny_unknown_fields`, so
//!    a typo like `state_dirr` is an error, not a silently ignored key).
//!    Every value checked afterwards is kept as `toml::Spanned` so that its
//!    error can point at file:line:column.
//! 2. checks that serde cannot express (cron, timezone, cutoff, dates, URLs,
//!    globs, secrets, list names). They do not stop at the first problem:
//!    the admin gets every error of the file in one report, one line each,
//!    `config.toml:3:1: daemon.schedule: ...`.
//!
//! Files: this one (the entry points, the problems and their rendering),
//! `raw.rs` (pass 1), `check.rs`, `check_services.rs` and `check_fields.rs`
//! (pass 2: the checker, its sections and its field checks), `values.rs`
//! (pure value checks), `serde_errors.rs` (serde's errors located and
//! named).
//!
//! Architecture invariant: no error message contains a secret. Secret values
//! are only read into [`Secret`], serde's own messages about a secret key are
//! replaced (they may quote the value), and no source line is ever echoed.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::{
    CalendarConfig, CarriersConfig, Config, DaemonConfig, LaPosteConfig, LogFormat, MagentoAuth,
    MagentoConfig, PickupKeep, ReturnWindow, RuleConfig, RulesConfig, TrelloConfig, defaults,
};
use crate::secret::Secret;

mod cases;
mod check;
mod check_fields;
mod check_services;
mod freshdesk;
mod raw;
mod serde_errors;
mod values;

use check::Checker;
use raw::*;
use serde_errors::*;
use values::*;

/// The largest `magento.page_size` accepted: with the REST input limits of
/// Magento 2.4.7+ enabled (`webapi/validation/input_limit_enabled`), a
/// `searchCriteria[pageSize]` above `webapi/validation/maximum_page_size`
/// (300 unless the shop changed it) is answered 400 "Maximum SearchCriteria
/// pageSize is 300" (magento/magento2
/// `lib/internal/Magento/Framework/Webapi/Validator/SearchCriteriaValidator.php`,
/// `IOLimit/IOLimitConfigProvider.php`; Adobe's "Input limiting",
/// developer.adobe.com/commerce/webapi/get-started/api-security/). The
/// order-id batches of shipments and invoices are this size too.
pub const MAGENTO_MAX_PAGE_SIZE: u32 = 300;

/// Keys whose value is a secret: serde's messages about them are replaced,
/// since "invalid type: integer `123456`" would print the value.
const SECRET_KEYS: &[&str] = &[
    "token",
    "consumer_key",
    "consumer_secret",
    "access_token",
    "access_token_secret",
    "api_key",
    "key",
];

/// One problem found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column, when the parser can tell.
    pub line: Option<usize>,
    pub(crate) column: Option<usize>,
    /// Dotted key, e.g. `daemon.schedule` or `magento.original_skus[1]`.
    /// Empty for a syntax error outside any key.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "{l}:{}: ", self.column.unwrap_or(1))?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Why the configuration cannot be used. Its `Display` is what the admin
/// reads: one line per problem, `file:line:column: key: message`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, permissions). The I/O error is
    /// part of the message rather than a `source`, so that printing the
    /// error chain does not say it twice.
    #[error("{}: cannot read the configuration file: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}", render_problems(origin, problems))]
    Invalid {
        origin: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems found (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

fn render_problems(origin: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&origin.display().to_string());
        if let Some(line) = p.line {
            out.push_str(&format!(":{line}"));
            if let Some(col) = p.column {
                out.push_str(&format!(":{col}"));
            }
        }
        out.push_str(": ");
        if !p.key.is_empty() {
            out.push_str(&p.key);
            out.push_str(": ");
        }
        out.push_str(&p.message);
    }
    out
}

/// `daemon.log_format` of the file at `path`, read before logging starts
/// (so before the whole file is checked): `None` when the file cannot be
/// read or parsed or says nothing valid. A wrong value is reported by the
/// full check that every command runs next.
pub fn log_format_of(path: &Path) -> Option<super::LogFormat> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: toml::Table = toml::from_str(&text).ok()?;
    super::LogFormat::parse(value.get("daemon")?.get("log_format")?.as_str()?)
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with_warnings(path).map(|(config, _)| config)
}

/// [`load`], and what is usable but unwise: secrets that other accounts
/// of the host can read (the file itself when it holds a secret inline, a
/// `_file`), `/healthz` served beyond loopback. `check-config` prints them,
/// the daemon logs them at start.
pub fn load_with_warnings(path: &Path) -> Result<(Config, Vec<Problem>), ConfigError> {
    let text = read(path)?;
    let checked = check_text(&text, path, &|name| std::env::var(name).ok())?;
    let mut warnings = checked.warnings;
    if let Some(first) = checked.inline_secrets.first() {
        if let Some(mode) = world_readable(path) {
            warnings.insert(
                0,
                Problem {
                    line: None,
                    column: None,
                    key: first.clone(),
                    message: format!(
                        "the configuration file is readable by every account of the host \
                         (mode {mode:04o}) and holds secrets inline ({}): chmod 600 it, or \
                         move them to _file secrets (e.g. systemd credentials)",
                        checked.inline_secrets.join(", ")
                    ),
                },
            );
        }
    }
    Ok((checked.config, warnings))
}

/// The permission bits of `path` when others may read it.
fn world_readable(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o004 != 0).then_some(mode)
}

/// One line per warning, like the errors: `file:line:column: key: message`.
pub fn render_warnings(origin: &Path, warnings: &[Problem]) -> String {
    render_problems(origin, warnings)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        error,
    })
}

/// Reads the file and validates only what the calendar needs, so that
/// `colisync calendar` works for someone who cannot read the secrets. The
/// whole file must still be well-formed TOML with known keys.
pub fn load_calendar(path: &Path) -> Result<CalendarConfig, ConfigError> {
    let text = read(path)?;
    let invalid = |problems| ConfigError::Invalid {
        origin: path.to_owned(),
        problems,
    };
    let raw: RawConfig =
        toml::from_str(&text).map_err(|e| invalid(vec![serde_problem(&text, &e)]))?;
    let mut cx = Checker {
        text: &text,
        env: &|_| None,
        // No secret is read for the calendar.
        credentials: PathBuf::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        inline_secrets: Vec::new(),
    };
    match cx.calendar(&raw.calendar) {
        Some(c) if cx.problems.is_empty() => Ok(c),
        _ => Err(invalid(cx.problems)),
    }
}

/// Reads the file and validates only `[cases]` (and the resolved list it
/// must differ from), so that an agent's `colisync case`, which only drops
/// a request in the inbox, works without reading the secrets. The whole
/// file must still be well-formed TOML with known keys.
pub fn load_cases(path: &Path) -> Result<super::CasesConfig, ConfigError> {
    let text = read(path)?;
    let invalid = |problems| ConfigError::Invalid {
        origin: path.to_owned(),
        problems,
    };
    let raw: RawConfig =
        toml::from_str(&text).map_err(|e| invalid(vec![serde_problem(&text, &e)]))?;
    let mut cx = Checker {
        text: &text,
        env: &|_| None,
        credentials: PathBuf::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        inline_secrets: Vec::new(),
    };
    match cx.cases(&raw.cases, None) {
        Some(c) if cx.problems.is_empty() => Ok(c),
        _ => Err(invalid(cx.problems)),
    }
}

/// Validates configuration text. `origin` names the file in messages;
/// an absolute `<secret>_file` path is opened as given, a bare name is a
/// credential (see [`credentials_dir`]); `<secret>_env` variables are read
/// from the process environment.
pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
    parse_with_env(text, origin, &|name| std::env::var(name).ok())
}

/// [`parse`] with the environment given as a lookup function, so tests can
/// exercise `_env` secrets without mutating the process environment.
pub fn parse_with_env(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    check_text(text, origin, env).map(|c| c.config)
}

/// What checking a file found besides its errors.
struct Checked {
    config: Config,
    warnings: Vec<Problem>,
    /// Keys of the secrets written in the file itself.
    inline_secrets: Vec<String>,
}

fn check_text(
    text: &str,
    origin: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Checked, ConfigError> {
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let problem = serde_problem(text, &e);
            return Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                problems: vec![problem],
            });
        }
    };
    let mut cx = Checker {
        text,
        env,
        credentials: credentials_dir(origin, env),
        problems: Vec::new(),
        warnings: Vec::new(),
        inline_secrets: Vec::new(),
    };
    let config = cx.check(raw);
    // Report in file order, so the list reads along the file; problems
    // without a position (missing keys) come last.
    cx.problems
        .sort_by_key(|p| (p.line.is_none(), p.line, p.column));
    match config {
        Some(config) if cx.problems.is_empty() => Ok(Checked {
            config,
            warnings: cx.warnings,
            inline_secrets: cx.inline_secrets,
        }),
        _ => Err(ConfigError::Invalid {
            origin: origin.to_owned(),
            problems: cx.problems,
        }),
    }
}

/// Where a relative `<secret>_file` name is looked up: systemd's
/// `$CREDENTIALS_DIRECTORY` inside the service (what `LoadCredential=`
/// fills), else `credentials/` next to the configuration file — for
/// `/etc/colisync/config.toml`, `/etc/colisync/credentials/`, the very files
/// the unit loads. So the same file works for the daemon and for an admin
/// running `check-config`, `once` or `explain` as root.
pub(crate) fn credentials_dir(origin: &Path, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => origin
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("credentials"),
    }
}
