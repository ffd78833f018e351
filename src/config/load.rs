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
    CalendarConfig, CarriersConfig, Config, DaemonConfig, LaPosteConfig, MagentoAuth,
    MagentoConfig, RuleConfig, RulesConfig, TrelloConfig,
};
use crate::secret::Secret;

mod freshdesk;

/// Default values of the keys that have one (config.toml.example documents each).
pub mod defaults {
    pub const SCHEDULE: &str = "0 */15 7-20 * * Mon-Sat";
    pub const STATE_DIR: &str = "/var/lib/colisync";
    pub const TIMEZONE: &str = "Europe/Paris";
    pub const CUTOFF: &str = "16:00";
    pub const LOOKBACK_DAYS: u32 = 90;
    pub const ORIGINAL_SKUS: &[&str] = &["ORI-*"];
    pub const VALIDATED_STATUSES: &[&str] = &["processing", "complete"];
    pub const PAGE_SIZE: u32 = 100;
    pub const OVERLAP_SECS: u64 = 120;
    pub const MAGENTO_TIMEOUT_SECS: u64 = 30;
    pub const LETTER: &[&str] = &["flatrate_*"];
    /// The official La Poste Colissimo module (ColissimoPlugin/Magento_2,
    /// `Model/Carrier/Colissimo.php`): carrier `colissimo`, methods
    /// `colissimo_domiciless`, `_domicileas`, `_domicileasddp`, `_pr`,
    /// `_expert`, `_expertddp`, `_flashss`, `_flashas`; La Poste's older
    /// "Colissimo Simplicité" module: `colissimosimplicite_colissimosimplicite`.
    /// No trailing `_` in the globs, so that a track's bare carrier code
    /// (`colissimo`) matches too.
    pub const COLISSIMO: &[&str] = &["colissimo*"];
    /// The official Chronopost module (PH2M/chronopost-chronorelais,
    /// `etc/config.xml`, `Model/Carrier/*.php`): carriers `chronopost`,
    /// `chronopostc10`, `chronopostc18`, `chronopostsrdv`, `chronoexpress`,
    /// `chronosameday`, `chronorelais`, `chronorelaiseur`, `chronorelaisdom`,
    /// `chronocclassic`, `chronofresh`, each with one method named after
    /// itself (`AbstractChronopost::collectRates`: `chronorelais_chronorelais`);
    /// its tracks carry the bare code. Checked before the Colissimo globs.
    pub const CHRONOPOST: &[&str] = &[
        "chronopost*",
        "chronorelais*",
        "chronoexpress*",
        "chronosameday*",
        "chronocclassic*",
        "chronofresh*",
    ];
    pub const LAPOSTE_BASE_URL: &str = "https://api.laposte.fr";
    pub const LAPOSTE_RPS: u32 = 5;
    pub const LAPOSTE_TIMEOUT_SECS: u64 = 20;
    pub const TRELLO_BASE_URL: &str = "https://api.trello.com";
    pub const TRELLO_RATE_LIMIT: u32 = 100;
    pub const TRELLO_RATE_WINDOW_SECS: u64 = 10;
    pub const TRELLO_TIMEOUT_SECS: u64 = 30;
}

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
    pub column: Option<usize>,
    /// Dotted key, e.g. `daemon.schedule` or `magento.original_skus[1]`.
    /// Empty for a syntax error outside any key.
    pub key: String,
    pub message: String,
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
pub fn credentials_dir(origin: &Path, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => origin
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("credentials"),
    }
}

// ---------------------------------------------------------------------------
// Pass 1: the file as serde sees it.

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    daemon: RawDaemon,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    magento: RawMagento,
    #[serde(default)]
    carriers: RawCarriers,
    #[serde(default)]
    laposte: RawLaPoste,
    #[serde(default)]
    trello: RawTrello,
    #[serde(default)]
    rules: RawRules,
    freshdesk: Option<freshdesk::RawFreshdesk>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    schedule: S<String>,
    state_dir: S<String>,
    listen: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: S<String>,
    cutoff: S<String>,
    /// Strings `"YYYY-MM-DD"` or bare TOML dates: both are accepted.
    extra_closed_days: Option<Vec<Spanned<toml::Value>>>,
    extra_open_days: Option<Vec<Spanned<toml::Value>>>,
}

/// One secret in its three spellings: inline, `_file`, `_env`.
struct RawSecret<'a> {
    table: &'static str,
    name: &'static str,
    inline: &'a S<String>,
    file: &'a S<String>,
    env: &'a S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMagento {
    base_url: S<String>,
    token: S<String>,
    token_file: S<String>,
    token_env: S<String>,
    consumer_key: S<String>,
    consumer_key_file: S<String>,
    consumer_key_env: S<String>,
    consumer_secret: S<String>,
    consumer_secret_file: S<String>,
    consumer_secret_env: S<String>,
    access_token: S<String>,
    access_token_file: S<String>,
    access_token_env: S<String>,
    access_token_secret: S<String>,
    access_token_secret_file: S<String>,
    access_token_secret_env: S<String>,
    admin_url: S<String>,
    lookback_days: S<i64>,
    original_skus: Option<Vec<Spanned<String>>>,
    validated_statuses: Option<Vec<Spanned<String>>>,
    page_size: S<i64>,
    overlap_secs: S<i64>,
    timeout_secs: S<i64>,
    order_notes: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCarriers {
    letter: Option<Vec<Spanned<String>>>,
    colissimo: Option<Vec<Spanned<String>>>,
    chronopost: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLaPoste {
    base_url: S<String>,
    api_key: S<String>,
    api_key_file: S<String>,
    api_key_env: S<String>,
    requests_per_second: S<i64>,
    timeout_secs: S<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTrello {
    base_url: S<String>,
    key: S<String>,
    key_file: S<String>,
    key_env: S<String>,
    token: S<String>,
    token_file: S<String>,
    token_env: S<String>,
    board: S<String>,
    resolved_list: S<String>,
    rate_limit: S<i64>,
    rate_window_secs: S<i64>,
    timeout_secs: S<i64>,
}

/// What the checks need of one `[rules.<rule>]` table, whatever its unit.
struct RuleView<'a> {
    enabled: Option<bool>,
    list: &'a S<String>,
    critical_factor: &'a S<f64>,
    /// The threshold's key (named after its unit) and value.
    threshold: Option<(&'static str, &'a S<i64>)>,
}

/// A rule table whose threshold key is named after its unit (`days`,
/// `business_days`, `hours`): writing the wrong unit is an unknown key.
macro_rules! raw_rule {
    ($(#[$doc:meta])* $name:ident, $unit:ident) => {
        $(#[$doc])*
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct $name {
            enabled: Option<bool>,
            list: S<String>,
            critical_factor: S<f64>,
            $unit: S<i64>,
        }

        impl $name {
            fn view(&self) -> RuleView<'_> {
                RuleView {
                    enabled: self.enabled,
                    list: &self.list,
                    critical_factor: &self.critical_factor,
                    threshold: Some((stringify!($unit), &self.$unit)),
                }
            }
        }
    };
}

raw_rule!(
    /// A rule whose threshold counts business days.
    RawRuleBusinessDays,
    business_days
);
raw_rule!(
    /// A rule whose threshold counts calendar days.
    RawRuleDays,
    days
);
raw_rule!(
    /// A rule whose threshold counts elapsed hours.
    RawRuleHours,
    hours
);

/// A rule that fires on a fact (problem, return): no threshold, hence no
/// delay to grow critical either.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRuleFact {
    enabled: Option<bool>,
    list: S<String>,
}

impl RawRuleFact {
    fn view(&self) -> RuleView<'_> {
        RuleView {
            enabled: self.enabled,
            list: &self.list,
            critical_factor: &None,
            threshold: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    shipping_compatible: RawRuleBusinessDays,
    #[serde(default)]
    shipping_original: RawRuleBusinessDays,
    #[serde(default)]
    delivery_letter: RawRuleDays,
    #[serde(default)]
    delivery_colissimo: RawRuleDays,
    #[serde(default)]
    delivery_chronopost: RawRuleBusinessDays,
    #[serde(default)]
    delivery_other: RawRuleDays,
    #[serde(default)]
    tracking_not_found: RawRuleHours,
    #[serde(default)]
    tracking_stuck: RawRuleHours,
    #[serde(default)]
    tracking_problem: RawRuleFact,
    #[serde(default)]
    return_to_sender: RawRuleFact,
}

// ---------------------------------------------------------------------------
// Pass 2: checks with spans.

struct Checker<'a> {
    text: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Where bare `_file` names are found (an absolute path replaces it).
    credentials: PathBuf,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    inline_secrets: Vec<String>,
}

impl Checker<'_> {
    fn problem(
        &self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Problem {
        let (line, column) = match span {
            Some(r) => {
                let (l, c) = line_col(self.text, r.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Problem {
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }

    fn err(
        &mut self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let p = self.problem(key, span, message);
        self.problems.push(p);
    }

    fn warn(
        &mut self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let p = self.problem(key, span, message);
        self.warnings.push(p);
    }

    /// Builds the config; `None` if something required could not be built
    /// (the problems say why). Even then every other key is checked.
    fn check(&mut self, raw: RawConfig) -> Option<Config> {
        let calendar = self.calendar(&raw.calendar);
        let tz = calendar
            .as_ref()
            .map_or(chrono_tz::Europe::Paris, |c| c.timezone);
        let daemon = self.daemon(&raw.daemon, tz);
        let magento = self.magento(&raw.magento);
        let carriers = CarriersConfig {
            letter: self.globs("carriers.letter", &raw.carriers.letter, defaults::LETTER),
            colissimo: self.globs(
                "carriers.colissimo",
                &raw.carriers.colissimo,
                defaults::COLISSIMO,
            ),
            chronopost: self.globs(
                "carriers.chronopost",
                &raw.carriers.chronopost,
                defaults::CHRONOPOST,
            ),
        };
        let laposte = self.laposte(&raw.laposte);
        let trello = self.trello(&raw.trello);
        let rules = self.rules(&raw.rules);
        if let (Some(t), Some(r)) = (&trello, &rules) {
            self.resolved_list_distinct(&raw.trello, t, r);
        }
        let freshdesk = raw.freshdesk.as_ref().map(|f| self.freshdesk(f));
        Some(Config {
            daemon: daemon?,
            calendar: calendar?,
            magento: magento?,
            carriers,
            laposte: laposte?,
            trello: trello?,
            rules: rules?,
            freshdesk: match freshdesk {
                None => None,
                Some(f) => Some(f?),
            },
        })
    }

    // --- [daemon] ---------------------------------------------------------

    fn daemon(&mut self, raw: &RawDaemon, tz: Tz) -> Option<DaemonConfig> {
        let (text, span) = match &raw.schedule {
            Some(s) => (s.get_ref().clone(), Some(s.span())),
            None => (defaults::SCHEDULE.to_owned(), None),
        };
        let schedule = match parse_schedule(&text, tz) {
            Ok(s) => Some(s),
            Err(msg) => {
                self.err("daemon.schedule", span, msg);
                None
            }
        };
        let state_dir = match &raw.state_dir {
            Some(s) if s.get_ref().trim().is_empty() => {
                self.err("daemon.state_dir", Some(s.span()), "must not be empty");
                PathBuf::new()
            }
            Some(s) => PathBuf::from(s.get_ref()),
            None => PathBuf::from(defaults::STATE_DIR),
        };
        let listen = match &raw.listen {
            None => None,
            Some(s) => match SocketAddr::from_str(s.get_ref()) {
                Ok(a) if a.ip().is_loopback() => Some(a),
                Ok(a) => {
                    self.warn(
                        "daemon.listen",
                        Some(s.span()),
                        format!(
                            "{a} is not a loopback address: /healthz and /metrics need no \
                             login, so anyone who can reach it reads them; prefer \
                             127.0.0.1 behind a proxy, or firewall the port"
                        ),
                    );
                    Some(a)
                }
                Err(_) => {
                    self.err(
                        "daemon.listen",
                        Some(s.span()),
                        format!(
                            "{:?} is not an address and port, e.g. \"127.0.0.1:9187\"",
                            s.get_ref()
                        ),
                    );
                    None
                }
            },
        };
        Some(DaemonConfig {
            schedule: schedule?,
            schedule_text: text,
            state_dir,
            listen,
        })
    }

    // --- [calendar] -------------------------------------------------------

    fn calendar(&mut self, raw: &RawCalendar) -> Option<CalendarConfig> {
        let timezone = match &raw.timezone {
            None => Some(chrono_tz::Europe::Paris),
            Some(s) => match Tz::from_str(s.get_ref()) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    self.err(
                        "calendar.timezone",
                        Some(s.span()),
                        format!(
                            "unknown timezone {:?}: use an IANA name such as \"Europe/Paris\"",
                            s.get_ref()
                        ),
                    );
                    None
                }
            },
        };
        let cutoff = match &raw.cutoff {
            None => parse_hhmm(defaults::CUTOFF),
            Some(s) => {
                let t = parse_hhmm(s.get_ref());
                if t.is_none() {
                    self.err(
                        "calendar.cutoff",
                        Some(s.span()),
                        format!(
                            "{:?} is not a time HH:MM (24 h), e.g. \"16:00\"",
                            s.get_ref()
                        ),
                    );
                }
                t
            }
        };
        let closed = self.dates("calendar.extra_closed_days", &raw.extra_closed_days);
        let open = self.dates("calendar.extra_open_days", &raw.extra_open_days);
        // A day both closed and re-opened is a contradiction the admin must
        // resolve; the calendar would silently pick "closed".
        if let Some(list) = &raw.extra_open_days {
            let closed_set: BTreeSet<NaiveDate> = closed.iter().copied().collect();
            for (i, (v, d)) in list.iter().zip(open_dates_aligned(list)).enumerate() {
                if let Some(d) = d
                    && closed_set.contains(&d)
                {
                    self.err(
                        format!("calendar.extra_open_days[{i}]"),
                        Some(v.span()),
                        format!("{d} is also in calendar.extra_closed_days: keep it in one list"),
                    );
                }
            }
        }
        Some(CalendarConfig {
            timezone: timezone?,
            cutoff: cutoff?,
            extra_closed_days: closed,
            extra_open_days: open,
        })
    }

    fn dates(&mut self, key: &str, raw: &Option<Vec<Spanned<toml::Value>>>) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for (i, v) in raw.iter().flatten().enumerate() {
            match value_as_date(v.get_ref()) {
                Some(d) => out.push(d),
                None => self.err(
                    format!("{key}[{i}]"),
                    Some(v.span()),
                    format!(
                        "{} is not a date \"YYYY-MM-DD\"",
                        describe_value(v.get_ref())
                    ),
                ),
            }
        }
        out
    }

    // --- [magento] --------------------------------------------------------

    fn magento(&mut self, raw: &RawMagento) -> Option<MagentoConfig> {
        let base_url = self.required_url("magento.base_url", &raw.base_url);
        let admin_url = match (&raw.admin_url, &base_url) {
            (Some(s), _) => self.url("magento.admin_url", s),
            (None, Some(base)) => join_path(base, "admin"),
            (None, None) => None,
        };
        let auth = self.magento_auth(raw);
        let lookback_days = self.int(
            "magento.lookback_days",
            &raw.lookback_days,
            defaults::LOOKBACK_DAYS as i64,
            1,
            3650,
        );
        let page_size = match &raw.page_size {
            Some(v) if *v.get_ref() > i64::from(MAGENTO_MAX_PAGE_SIZE) => {
                self.err(
                    "magento.page_size",
                    Some(v.span()),
                    format!(
                        "{} is more than {MAGENTO_MAX_PAGE_SIZE}: Magento 2.4.7 and later, once \
                         \"Web API Limits\" are on (Stores > Configuration > Services), refuse \
                         any page larger than their \"Maximum Page Size\", {MAGENTO_MAX_PAGE_SIZE} \
                         by default, and every pull would fail; use {MAGENTO_MAX_PAGE_SIZE} or less",
                        v.get_ref()
                    ),
                );
                None
            }
            _ => self.int(
                "magento.page_size",
                &raw.page_size,
                defaults::PAGE_SIZE as i64,
                1,
                i64::from(MAGENTO_MAX_PAGE_SIZE),
            ),
        };
        let overlap = self.int(
            "magento.overlap_secs",
            &raw.overlap_secs,
            defaults::OVERLAP_SECS as i64,
            0,
            86_400,
        );
        let timeout = self.int(
            "magento.timeout_secs",
            &raw.timeout_secs,
            defaults::MAGENTO_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        let original_skus = self.globs(
            "magento.original_skus",
            &raw.original_skus,
            defaults::ORIGINAL_SKUS,
        );
        let validated_statuses = match &raw.validated_statuses {
            None => defaults::VALIDATED_STATUSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    self.err(
                        "magento.validated_statuses",
                        None,
                        "must name at least one status (e.g. \"processing\")",
                    );
                }
                let mut out = Vec::new();
                for (i, s) in list.iter().enumerate() {
                    if s.get_ref().trim().is_empty() {
                        self.err(
                            format!("magento.validated_statuses[{i}]"),
                            Some(s.span()),
                            "must not be empty",
                        );
                    } else {
                        out.push(s.get_ref().trim().to_owned());
                    }
                }
                out
            }
        };
        Some(MagentoConfig {
            base_url: base_url?,
            auth: auth?,
            admin_url: admin_url?,
            lookback_days: lookback_days? as u32,
            original_skus,
            validated_statuses,
            page_size: page_size? as u32,
            overlap: Duration::from_secs(overlap? as u64),
            timeout: Duration::from_secs(timeout? as u64),
            order_notes: raw.order_notes.unwrap_or(false),
        })
    }

    fn magento_auth(&mut self, raw: &RawMagento) -> Option<MagentoAuth> {
        let token = RawSecret {
            table: "magento",
            name: "token",
            inline: &raw.token,
            file: &raw.token_file,
            env: &raw.token_env,
        };
        let oauth = [
            RawSecret {
                table: "magento",
                name: "consumer_key",
                inline: &raw.consumer_key,
                file: &raw.consumer_key_file,
                env: &raw.consumer_key_env,
            },
            RawSecret {
                table: "magento",
                name: "consumer_secret",
                inline: &raw.consumer_secret,
                file: &raw.consumer_secret_file,
                env: &raw.consumer_secret_env,
            },
            RawSecret {
                table: "magento",
                name: "access_token",
                inline: &raw.access_token,
                file: &raw.access_token_file,
                env: &raw.access_token_env,
            },
            RawSecret {
                table: "magento",
                name: "access_token_secret",
                inline: &raw.access_token_secret,
                file: &raw.access_token_secret_file,
                env: &raw.access_token_secret_env,
            },
        ];
        let oauth_given: Vec<bool> = oauth.iter().map(RawSecret::given).collect();
        let any_oauth = oauth_given.iter().any(|g| *g);
        if token.given() && any_oauth {
            self.err(
                "magento.token",
                token.first_span(),
                "give either the integration token or the four OAuth 1.0a values, not both",
            );
            return None;
        }
        if token.given() {
            return self.secret(&token).map(MagentoAuth::Bearer);
        }
        if !any_oauth {
            self.err(
                "magento.token",
                None,
                "missing secret: set token (or token_file / token_env), or the four OAuth 1.0a \
                 values consumer_key, consumer_secret, access_token, access_token_secret",
            );
            return None;
        }
        let mut values = Vec::new();
        for (s, given) in oauth.iter().zip(oauth_given) {
            if given {
                values.push(self.secret(s));
            } else {
                self.err(
                    format!("magento.{}", s.name),
                    None,
                    format!(
                        "missing secret: OAuth 1.0a needs all four of consumer_key, \
                         consumer_secret, access_token, access_token_secret (set {0}, {0}_file or {0}_env)",
                        s.name
                    ),
                );
                values.push(None);
            }
        }
        let mut it = values.into_iter();
        let (ck, cs, at, ats) = (it.next()??, it.next()??, it.next()??, it.next()??);
        Some(MagentoAuth::OAuth1 {
            consumer_key: ck,
            consumer_secret: cs,
            access_token: at,
            access_token_secret: ats,
        })
    }

    // --- [laposte] --------------------------------------------------------

    fn laposte(&mut self, raw: &RawLaPoste) -> Option<LaPosteConfig> {
        let base_url = self.url_or_default(
            "laposte.base_url",
            &raw.base_url,
            defaults::LAPOSTE_BASE_URL,
        );
        let api_key = self.required_secret(&RawSecret {
            table: "laposte",
            name: "api_key",
            inline: &raw.api_key,
            file: &raw.api_key_file,
            env: &raw.api_key_env,
        });
        let rps = self.int(
            "laposte.requests_per_second",
            &raw.requests_per_second,
            defaults::LAPOSTE_RPS as i64,
            1,
            1000,
        );
        let timeout = self.int(
            "laposte.timeout_secs",
            &raw.timeout_secs,
            defaults::LAPOSTE_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        Some(LaPosteConfig {
            base_url: base_url?,
            api_key: api_key?,
            requests_per_second: rps? as u32,
            timeout: Duration::from_secs(timeout? as u64),
        })
    }

    // --- [trello] ---------------------------------------------------------

    fn trello(&mut self, raw: &RawTrello) -> Option<TrelloConfig> {
        let base_url =
            self.url_or_default("trello.base_url", &raw.base_url, defaults::TRELLO_BASE_URL);
        let key = self.required_secret(&RawSecret {
            table: "trello",
            name: "key",
            inline: &raw.key,
            file: &raw.key_file,
            env: &raw.key_env,
        });
        let token = self.required_secret(&RawSecret {
            table: "trello",
            name: "token",
            inline: &raw.token,
            file: &raw.token_file,
            env: &raw.token_env,
        });
        let board = match &raw.board {
            None => {
                self.err(
                    "trello.board",
                    None,
                    "missing: the board id (24 hex characters) or short link (8 characters, \
                     from https://trello.com/b/<short link>/...)",
                );
                None
            }
            Some(s) if is_board_ref(s.get_ref()) => Some(s.get_ref().clone()),
            Some(s) => {
                self.err(
                    "trello.board",
                    Some(s.span()),
                    format!(
                        "{:?} is neither a board id (24 hex characters) nor a short link \
                         (8 letters or digits, from https://trello.com/b/<short link>/...)",
                        s.get_ref()
                    ),
                );
                None
            }
        };
        let resolved_list = self.list_name(
            "trello.resolved_list",
            &raw.resolved_list,
            super::LIST_RESOLVED,
        );
        let rate_limit = self.int(
            "trello.rate_limit",
            &raw.rate_limit,
            defaults::TRELLO_RATE_LIMIT as i64,
            1,
            10_000,
        );
        let window = self.int(
            "trello.rate_window_secs",
            &raw.rate_window_secs,
            defaults::TRELLO_RATE_WINDOW_SECS as i64,
            1,
            3600,
        );
        let timeout = self.int(
            "trello.timeout_secs",
            &raw.timeout_secs,
            defaults::TRELLO_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        Some(TrelloConfig {
            base_url: base_url?,
            key: key?,
            token: token?,
            board: board?,
            resolved_list: resolved_list?,
            rate_limit: rate_limit? as u32,
            rate_window: Duration::from_secs(window? as u64),
            timeout: Duration::from_secs(timeout? as u64),
        })
    }

    // --- [rules.*] --------------------------------------------------------

    fn rules(&mut self, r: &RawRules) -> Option<RulesConfig> {
        let d = RulesConfig::seed_defaults();
        let shipping_compatible = self.rule(
            "shipping_compatible",
            &d.shipping_compatible,
            r.shipping_compatible.view(),
        );
        let shipping_original = self.rule(
            "shipping_original",
            &d.shipping_original,
            r.shipping_original.view(),
        );
        let delivery_letter = self.rule(
            "delivery_letter",
            &d.delivery_letter,
            r.delivery_letter.view(),
        );
        let delivery_colissimo = self.rule(
            "delivery_colissimo",
            &d.delivery_colissimo,
            r.delivery_colissimo.view(),
        );
        let delivery_chronopost = self.rule(
            "delivery_chronopost",
            &d.delivery_chronopost,
            r.delivery_chronopost.view(),
        );
        let delivery_other = self.rule_other(&d.delivery_other, &r.delivery_other);
        let tracking_not_found = self.rule(
            "tracking_not_found",
            &d.tracking_not_found,
            r.tracking_not_found.view(),
        );
        let tracking_stuck =
            self.rule("tracking_stuck", &d.tracking_stuck, r.tracking_stuck.view());
        let tracking_problem = self.rule(
            "tracking_problem",
            &d.tracking_problem,
            r.tracking_problem.view(),
        );
        let return_to_sender = self.rule(
            "return_to_sender",
            &d.return_to_sender,
            r.return_to_sender.view(),
        );
        Some(RulesConfig {
            shipping_compatible: shipping_compatible?,
            shipping_original: shipping_original?,
            delivery_letter: delivery_letter?,
            delivery_colissimo: delivery_colissimo?,
            delivery_chronopost: delivery_chronopost?,
            delivery_other: delivery_other?,
            tracking_not_found: tracking_not_found?,
            tracking_stuck: tracking_stuck?,
            tracking_problem: tracking_problem?,
            return_to_sender: return_to_sender?,
        })
    }

    /// `[rules.delivery_other]`: colisync has no tracking for these
    /// carriers, so no threshold is the seeds' to give. The rule is on once
    /// the admin writes `days` (unless `enabled = false`); `enabled = true`
    /// without `days` is refused rather than guessed.
    fn rule_other(&mut self, default: &RuleConfig, raw: &RawRuleDays) -> Option<RuleConfig> {
        let mut rc = self.rule("delivery_other", default, raw.view())?;
        let has_days = raw.days.is_some();
        rc.enabled = raw.enabled.unwrap_or(has_days);
        if rc.enabled && !has_days {
            self.err(
                "rules.delivery_other.enabled",
                None,
                "delivery_other has no default threshold: set rules.delivery_other.days \
                 (days since shipment before a parcel of another carrier counts as late)",
            );
            return None;
        }
        Some(rc)
    }

    fn rule(&mut self, name: &str, default: &RuleConfig, v: RuleView<'_>) -> Option<RuleConfig> {
        let list = self.list_name(&format!("rules.{name}.list"), v.list, &default.list);
        let critical_factor = match v.critical_factor {
            None => Some(default.critical_factor),
            Some(f) if f.get_ref().is_finite() && *f.get_ref() >= 1.0 => Some(*f.get_ref()),
            Some(f) => {
                self.err(
                    format!("rules.{name}.critical_factor"),
                    Some(f.span()),
                    format!(
                        "{} is not a valid factor: it must be at least 1 (2.0 = critical at twice the threshold)",
                        f.get_ref()
                    ),
                );
                None
            }
        };
        let threshold = match v.threshold {
            None => Some(default.threshold),
            Some((unit, n)) => self
                .int(
                    &format!("rules.{name}.{unit}"),
                    n,
                    default.threshold as i64,
                    1,
                    100_000,
                )
                .map(|n| n as u32),
        };
        Some(RuleConfig {
            enabled: v.enabled.unwrap_or(default.enabled),
            list: list?,
            threshold: threshold?,
            critical_factor: critical_factor?,
        })
    }

    /// The resolved list must not be an intake list: the daemon moves cards
    /// only while they sit in an intake list, so a shared name would make it
    /// move resolved cards back and forth.
    fn resolved_list_distinct(&mut self, raw: &RawTrello, t: &TrelloConfig, r: &RulesConfig) {
        for (name, rule) in r.iter() {
            if rule.list == t.resolved_list {
                self.err(
                    "trello.resolved_list",
                    raw.resolved_list.as_ref().map(|s| s.span()),
                    format!(
                        "{:?} is also the list of rules.{name}: the resolved list must differ from every rule's list",
                        t.resolved_list
                    ),
                );
                return;
            }
        }
    }

    // --- shared checks ----------------------------------------------------

    fn list_name(&mut self, key: &str, raw: &S<String>, default: &str) -> Option<String> {
        match raw {
            None => Some(default.to_owned()),
            Some(s) if s.get_ref().trim().is_empty() => {
                self.err(key, Some(s.span()), "a Trello list name must not be empty");
                None
            }
            Some(s) => Some(s.get_ref().trim().to_owned()),
        }
    }

    fn int(&mut self, key: &str, raw: &S<i64>, default: i64, min: i64, max: i64) -> Option<i64> {
        match raw {
            None => Some(default),
            Some(v) if (min..=max).contains(v.get_ref()) => Some(*v.get_ref()),
            Some(v) => {
                self.err(
                    key,
                    Some(v.span()),
                    format!("{} is out of range: expected {min} to {max}", v.get_ref()),
                );
                None
            }
        }
    }

    fn globs(
        &mut self,
        key: &str,
        raw: &Option<Vec<Spanned<String>>>,
        default: &[&str],
    ) -> Vec<glob::Pattern> {
        let mut out = Vec::new();
        match raw {
            None => {
                for g in default {
                    if let Ok(p) = glob::Pattern::new(g) {
                        out.push(p);
                    }
                }
            }
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    match glob::Pattern::new(s.get_ref()) {
                        Ok(p) => out.push(p),
                        Err(e) => self.err(
                            format!("{key}[{i}]"),
                            Some(s.span()),
                            format!("{:?} is not a valid glob: {}", s.get_ref(), e.msg),
                        ),
                    }
                }
            }
        }
        out
    }

    fn url(&mut self, key: &str, s: &Spanned<String>) -> Option<Url> {
        match check_url(s.get_ref()) {
            Ok(u) => Some(u),
            Err(msg) => {
                self.err(key, Some(s.span()), msg);
                None
            }
        }
    }

    fn required_url(&mut self, key: &str, raw: &S<String>) -> Option<Url> {
        match raw {
            Some(s) => self.url(key, s),
            None => {
                self.err(
                    key,
                    None,
                    "missing: the shop's root URL, e.g. \"https://shop.example.fr\"",
                );
                None
            }
        }
    }

    fn url_or_default(&mut self, key: &str, raw: &S<String>, default: &str) -> Option<Url> {
        match raw {
            Some(s) => self.url(key, s),
            None => Url::parse(default).ok(),
        }
    }

    fn required_secret(&mut self, s: &RawSecret<'_>) -> Option<Secret> {
        if !s.given() {
            self.err(
                format!("{}.{}", s.table, s.name),
                None,
                format!(
                    "missing secret: set {0}, {0}_file (e.g. a systemd credential) or {0}_env",
                    s.name
                ),
            );
            return None;
        }
        self.secret(s)
    }

    /// Resolves a secret given in exactly one of its three spellings.
    /// Messages name the key, the file or the variable, never the value.
    fn secret(&mut self, s: &RawSecret<'_>) -> Option<Secret> {
        let key = format!("{}.{}", s.table, s.name);
        let given: Vec<&str> = [
            (s.inline.is_some(), ""),
            (s.file.is_some(), "_file"),
            (s.env.is_some(), "_env"),
        ]
        .iter()
        .filter(|(g, _)| *g)
        .map(|(_, suffix)| *suffix)
        .collect();
        if given.len() > 1 {
            let names: Vec<String> = given.iter().map(|sfx| format!("{}{sfx}", s.name)).collect();
            self.err(
                key,
                s.first_span(),
                format!(
                    "secret given more than once ({}): keep one",
                    names.join(", ")
                ),
            );
            return None;
        }
        if let Some(v) = s.inline {
            if v.get_ref().trim().is_empty() {
                self.err(key, Some(v.span()), "secret is empty");
                return None;
            }
            if let Some(why) = header_unsafe(v.get_ref()) {
                self.err(key, Some(v.span()), format!("the secret {why}"));
                return None;
            }
            self.inline_secrets.push(key);
            return Some(Secret::new(v.get_ref().clone()));
        }
        if let Some(f) = s.file {
            let fkey = format!("{key}_file");
            let path = self.credentials.join(f.get_ref());
            return match std::fs::read_to_string(&path) {
                Err(e) => {
                    self.err(
                        fkey,
                        Some(f.span()),
                        format!("cannot read secret file {path:?}: {e}"),
                    );
                    None
                }
                Ok(content) => {
                    // systemd credentials and `echo x > file` end with a
                    // newline that is not part of the secret.
                    let value = content.trim_end_matches(['\n', '\r']);
                    if value.trim().is_empty() {
                        self.err(
                            fkey,
                            Some(f.span()),
                            format!("secret file {path:?} is empty"),
                        );
                        None
                    } else if let Some(why) = header_unsafe(value) {
                        self.err(
                            fkey,
                            Some(f.span()),
                            format!(
                                "the secret in {path:?} {why} (only the file's final line \
                                 end is ignored)"
                            ),
                        );
                        None
                    } else {
                        if let Some(mode) = world_readable(&path) {
                            self.warn(
                                fkey,
                                Some(f.span()),
                                format!(
                                    "secret file {path:?} is readable by every account of the \
                                     host (mode {mode:04o}): chmod 600 it"
                                ),
                            );
                        }
                        Some(Secret::new(value))
                    }
                }
            };
        }
        if let Some(e) = s.env {
            let ekey = format!("{key}_env");
            let var = e.get_ref();
            return match (self.env)(var) {
                None => {
                    self.err(
                        ekey,
                        Some(e.span()),
                        format!("environment variable {var:?} is not set"),
                    );
                    None
                }
                Some(v) if v.trim().is_empty() => {
                    self.err(
                        ekey,
                        Some(e.span()),
                        format!("environment variable {var:?} is empty"),
                    );
                    None
                }
                Some(v) => match header_unsafe(&v) {
                    Some(why) => {
                        self.err(
                            ekey,
                            Some(e.span()),
                            format!("the secret in environment variable {var:?} {why}"),
                        );
                        None
                    }
                    None => Some(Secret::new(v)),
                },
            };
        }
        None
    }
}

impl RawSecret<'_> {
    fn given(&self) -> bool {
        self.inline.is_some() || self.file.is_some() || self.env.is_some()
    }

    fn first_span(&self) -> Option<Range<usize>> {
        [self.inline, self.file, self.env]
            .into_iter()
            .flatten()
            .map(|s| s.span())
            .min_by_key(|r| r.start)
    }
}

// ---------------------------------------------------------------------------
// Value checks, pure.

/// Parses the cron expression the way the `cron` crate will run it, with the
/// two traps of that crate turned into errors the admin can act on.
pub(crate) fn parse_schedule(text: &str, tz: Tz) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if !text.trim_start().starts_with('@') {
        if fields.len() == 5 {
            return Err(format!(
                "{text:?} has 5 fields: colisync's cron needs six or seven fields, seconds first \
                 (e.g. \"0 {text}\" for the same times at second 0)"
            ));
        }
        if fields.len() < 6 || fields.len() > 7 {
            return Err(format!(
                "{text:?} has {} fields: write six or seven fields, seconds first: \
                 sec min hour day-of-month month day-of-week [year], e.g. \"{}\"",
                fields.len(),
                defaults::SCHEDULE
            ));
        }
        // The cron crate counts Sunday = 1, unlike crontab (Monday = 1):
        // "1-5" would silently mean Sunday to Thursday. Only names are
        // unambiguous. Digits after '/' are a step, not a day.
        let dow = fields[5];
        let days_part: String = dow
            .split(',')
            .map(|item| item.split('/').next().unwrap_or(""))
            .collect();
        if days_part.chars().any(|c| c.is_ascii_digit()) {
            return Err(format!(
                "day-of-week {dow:?} is numeric, and this cron counts Sunday = 1 (so 1-5 would be \
                 Sunday to Thursday): write day names instead, e.g. Mon-Fri or Mon-Sat"
            ));
        }
    }
    let schedule = cron::Schedule::from_str(text).map_err(|e| {
        // The crate's message repeats the expression with a caret under it
        // over several lines; its last line says what is wrong.
        let shown = e.to_string();
        let why = shown
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        format!("{text:?} is not a valid cron expression: {why}")
    })?;
    if schedule.upcoming(tz).next().is_none() {
        return Err(format!("{text:?} never fires"));
    }
    Ok(schedule)
}

/// Strict `HH:MM`, 24 h.
pub(crate) fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// Strict `YYYY-MM-DD`.
fn parse_ymd(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn value_as_date(v: &toml::Value) -> Option<NaiveDate> {
    match v {
        toml::Value::String(s) => parse_ymd(s),
        // A bare TOML local date (2026-12-24, no time, no offset).
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    }
}

/// The dates of `extra_open_days`, index-aligned with the raw list (`None`
/// where a date was invalid, already reported).
fn open_dates_aligned(list: &[Spanned<toml::Value>]) -> Vec<Option<NaiveDate>> {
    list.iter().map(|v| value_as_date(v.get_ref())).collect()
}

fn describe_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => format!("{} {}", other.type_str(), other),
    }
}

/// Why a secret would fail as an HTTP header value, if it would: the
/// request would be refused at every start (a newline pasted with it, a
/// tab, a control character), or the value would not be the secret (spaces
/// around it are dropped by HTTP). Never quotes the value.
fn header_unsafe(v: &str) -> Option<String> {
    let what = |c: char| match c {
        '\n' | '\r' => "a line break".to_owned(),
        '\t' => "a tab".to_owned(),
        c if c.is_control() => format!("a control character (U+{:04X})", u32::from(c)),
        _ => format!("a non-ASCII character (U+{:04X})", u32::from(c)),
    };
    if let Some(c) = v.chars().find(|c| c.is_control() || !c.is_ascii()) {
        return Some(format!(
            "contains {}, which an HTTP header cannot carry: write the secret alone on \
             one line",
            what(c)
        ));
    }
    if v.trim() != v {
        return Some("starts or ends with spaces, which HTTP drops: remove them".to_owned());
    }
    None
}

/// The URL as an error may show it: no userinfo, query or fragment (where
/// credentials are put), since the text is printed and logged.
fn shown_url(s: &str) -> String {
    let cut = s.find(['?', '#']).unwrap_or(s.len());
    let mut head = s.get(..cut).unwrap_or_default().to_owned();
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head
        .get(authority_start..)
        .and_then(|rest| rest.find('/'))
        .map_or(head.len(), |i| authority_start + i);
    if let Some(at) = head
        .get(authority_start..authority_end)
        .and_then(|a| a.rfind('@'))
    {
        head.replace_range(authority_start..=authority_start + at, "");
    }
    if cut < s.len() {
        head.push_str("?…");
    }
    head
}

fn check_url(s: &str) -> Result<Url, String> {
    let shown = shown_url(s);
    let url = Url::parse(s).map_err(|e| format!("{shown:?} is not a URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{shown:?} must start with https:// (or http://)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{shown:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials belong in the secret keys, never in a URL that is logged.
        return Err(format!(
            "{shown:?} must not contain a user or password (not shown): use the secret keys"
        ));
    }
    // Any query at all: a base URL needs none, and a query is where
    // credentials go (`?key=…&token=…`); telling them apart by name would
    // miss the next spelling.
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{shown:?} must not carry a query or fragment (not shown): credentials belong in \
             the secret keys"
        ));
    }
    Ok(url)
}

/// `base` + `/segment`, whether or not `base` ends with a slash.
fn join_path(base: &Url, segment: &str) -> Option<Url> {
    let mut u = base.clone();
    let path = format!("{}/{segment}", u.path().trim_end_matches('/'));
    u.set_path(&path);
    Some(u)
}

/// A Trello board id (24 hex) or short link (8 alphanumerics).
fn is_board_ref(s: &str) -> bool {
    (s.len() == 24 && s.chars().all(|c| c.is_ascii_hexdigit()))
        || (s.len() == 8 && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

// ---------------------------------------------------------------------------
// serde's errors, located and named.

fn serde_problem(text: &str, e: &toml::de::Error) -> Problem {
    let span = e.span();
    let (line, column) = match &span {
        Some(r) => {
            let (l, c) = line_col(text, r.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    let mut key = span
        .as_ref()
        .map(|r| key_at(text, r.clone()))
        .unwrap_or_default();
    if let (true, Some(r)) = (key.is_empty(), &span) {
        key = key_on_line(text, r.start);
    }
    let last = key.rsplit('.').next().unwrap_or("");
    let quotes_value = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|m| e.message().contains(m));
    let message = if SECRET_KEYS.contains(&last) && quotes_value {
        // serde would quote the offending value; it may be the secret.
        "wrong type: a secret must be a string (value not shown)".to_owned()
    } else {
        // serde names Rust types; the admin knows TOML's.
        let m = e.message().trim();
        // "expected struct RawMagento" would leak our internals.
        let m = match m.find("expected struct ") {
            Some(i) => format!("{}expected a table", &m[..i]),
            None => m.to_owned(),
        };
        m.replace("expected i64", "expected an integer")
            .replace("expected a sequence", "expected an array")
            .replace("expected f64", "expected a number")
            .replace("expected a boolean", "expected true or false")
    };
    Problem {
        line,
        column,
        key,
        message,
    }
}

/// The dotted key whose name or value covers `span` (the narrowest one), for
/// naming the key in serde's errors, which only give a position.
fn key_at(text: &str, span: Range<usize>) -> String {
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return String::new();
    };
    let mut best: Option<(usize, String)> = None;
    walk_table(doc.get_ref(), "", span.start, &mut best);
    best.map(|(_, k)| k).unwrap_or_default()
}

fn walk_table(
    t: &toml::de::DeTable<'_>,
    prefix: &str,
    pos: usize,
    best: &mut Option<(usize, String)>,
) {
    for (k, v) in t.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        consider(k.span(), &path, pos, best);
        walk_value(v, &path, pos, best);
    }
}

fn walk_value(
    v: &Spanned<toml::de::DeValue<'_>>,
    path: &str,
    pos: usize,
    best: &mut Option<(usize, String)>,
) {
    consider(v.span(), path, pos, best);
    match v.get_ref() {
        toml::de::DeValue::Table(t) => walk_table(t, path, pos, best),
        toml::de::DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                walk_value(item, &format!("{path}[{i}]"), pos, best);
            }
        }
        _ => {}
    }
}

fn consider(span: Range<usize>, path: &str, pos: usize, best: &mut Option<(usize, String)>) {
    if span.start <= pos && pos < span.end.max(span.start + 1) {
        let width = span.end - span.start;
        if best.as_ref().is_none_or(|(w, _)| width < *w) {
            *best = Some((width, path.to_owned()));
        }
    }
}

/// For a syntax error (the document cannot be walked): the bare key written
/// before `=` on the error's line, under the last `[table]` header above it.
/// Only the key name is taken from the line, never its value.
fn key_on_line(text: &str, pos: usize) -> String {
    let before = text.get(..pos.min(text.len())).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let Some((k, _)) = line.split_once('=') else {
        return String::new();
    };
    let k = k.trim();
    let bare = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !bare(k) {
        return String::new();
    }
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
        .filter(|t| bare(t));
    match table {
        Some(t) => format!("{t}.{k}"),
        None => k.to_owned(),
    }
}

/// 1-based line and column (in characters) of byte offset `pos`.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = text.get(..pos).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
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
