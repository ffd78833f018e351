//! The configuration contract: one TOML file, validated completely before
//! anything runs.
//!
//! This module turns the admin's file into a [`Config`] whose every value is
//! already checked and typed (a parsed cron schedule, a `Tz`, `NaiveDate`s,
//! URLs, [`Secret`]s). Everything downstream takes these types and never sees
//! TOML. Loading lives in `load/`: raw serde structs with
//! `deny_unknown_fields`, spans kept for the checks made after parsing, so
//! that every error names the key and, where the parser can tell, the line.
//! Every default is in `defaults.rs`. The domain's values that the file
//! describes (the `Calendar`, the `Classifier`, a rule's settings) are
//! built here, at the end of this file: the domain imports nothing of the
//! configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use url::Url;

use crate::domain::calendar::Calendar;
use crate::domain::{Classifier, RuleId};
use crate::secret::{Scrubber, Secret};

pub mod defaults;
mod load;
pub use load::{
    ConfigError, MAGENTO_MAX_PAGE_SIZE, Problem, load, load_calendar, load_cases,
    load_with_warnings, log_format_of, parse, parse_with_env, render_warnings,
};

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub daemon: DaemonConfig,
    pub calendar: CalendarConfig,
    pub magento: MagentoConfig,
    pub carriers: CarriersConfig,
    pub laposte: LaPosteConfig,
    pub trello: TrelloConfig,
    pub rules: RulesConfig,
    /// `[freshdesk]`, absent when the table is: no Freshdesk at all.
    pub freshdesk: Option<FreshdeskConfig>,
    pub cases: CasesConfig,
}

/// How a label name compares with a configured one: a lead types it by
/// hand, so spaces around it and case do not count.
pub(crate) fn same_label(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl CasesConfig {
    /// The kind of case a board label opens, if it is one of `[cases]`'s.
    pub fn kind_of_label(&self, name: &str) -> Option<crate::domain::CaseKind> {
        if same_label(name, &self.lost_label) {
            Some(crate::domain::CaseKind::Lost)
        } else if same_label(name, &self.address_label) {
            Some(crate::domain::CaseKind::Address)
        } else {
            None
        }
    }
}

/// `[cases]`: the cases people open (docs/rules.md, « Dossiers clients »).
#[derive(Debug, Clone, PartialEq)]
pub struct CasesConfig {
    /// The list case cards are filed into (created if missing).
    pub list: String,
    /// The labels a lead opens a case with, on any colisync card of the
    /// order (compared trimmed, ignoring case).
    pub lost_label: String,
    pub address_label: String,
    /// Where `colisync case` leaves its requests for the next pass.
    pub inbox_dir: PathBuf,
}

impl Config {
    /// Every secret of the file: what no output may repeat, whichever
    /// upstream echoed it.
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut all = vec![&self.trello.key, &self.trello.token, &self.laposte.api_key];
        match &self.magento.auth {
            MagentoAuth::Bearer(token) => all.push(token),
            MagentoAuth::OAuth1 {
                consumer_key,
                consumer_secret,
                access_token,
                access_token_secret,
            } => all.extend([
                consumer_key,
                consumer_secret,
                access_token,
                access_token_secret,
            ]),
        }
        if let Some(f) = &self.freshdesk {
            all.push(&f.api_key);
        }
        all
    }

    /// A [`Scrubber`] of [`Config::secrets`].
    pub fn scrubber(&self) -> Scrubber {
        Scrubber::new(self.secrets())
    }
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Parsed six- or seven-field cron expression, evaluated in
    /// `calendar.timezone`.
    pub schedule: cron::Schedule,
    /// The expression as the admin wrote it, for messages.
    pub schedule_text: String,
    pub state_dir: PathBuf,
    /// Where `/healthz` and `/metrics` are served, if anywhere.
    pub listen: Option<SocketAddr>,
    /// How the daemon's logs look (`--log-format` and `COLISYNC_LOG_FORMAT`
    /// win over it).
    pub log_format: LogFormat,
}

/// `daemon.log_format`: `text` (for a person, and the journal) or `json`
/// (one object a line, for a log shipper).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// The spelling of the configuration file and the command line.
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CalendarConfig {
    pub timezone: Tz,
    /// Orders validated strictly before this local time ship the same
    /// business day.
    pub cutoff: NaiveTime,
    pub extra_closed_days: Vec<NaiveDate>,
    pub extra_open_days: Vec<NaiveDate>,
}

/// How colisync authenticates to Magento: whichever the config gives.
#[derive(Debug, Clone)]
pub enum MagentoAuth {
    /// Integration access token sent as `Authorization: Bearer` (needs
    /// `oauth/consumer/enable_integration_as_bearer` since 2.4.4).
    Bearer(Secret),
    /// OAuth 1.0a, HMAC-SHA256, the default for integrations since 2.4.4.
    OAuth1 {
        consumer_key: Secret,
        consumer_secret: Secret,
        access_token: Secret,
        access_token_secret: Secret,
    },
}

#[derive(Debug, Clone)]
pub struct MagentoConfig {
    /// Shop root; REST lives under `{base_url}/rest/V1/`.
    pub base_url: Url,
    pub auth: MagentoAuth,
    /// Magento admin root, for the "open the order" link on cards.
    pub admin_url: Url,
    /// How far back the first pull looks.
    pub lookback_days: u32,
    /// SKU globs of original cartridges; every other item is compatible.
    pub original_skus: Vec<glob::Pattern>,
    /// Order statuses that mean "payment accepted" when an order has no
    /// invoice (the status-history fallback of docs/rules.md).
    pub validated_statuses: Vec<String>,
    /// Orders per page of the incremental pull.
    pub page_size: u32,
    /// Overlap subtracted from the cursor, so that orders updated in the same
    /// second as the last one seen are not missed.
    pub overlap: Duration,
    pub timeout: Duration,
    /// Opt-in: a status-history comment on the order when a card is filed,
    /// changes case or is resolved (never notified, never on the storefront).
    pub order_notes: bool,
}

/// Shipping method code globs, per carrier.
#[derive(Debug, Clone)]
pub struct CarriersConfig {
    pub letter: Vec<glob::Pattern>,
    pub colissimo: Vec<glob::Pattern>,
    pub chronopost: Vec<glob::Pattern>,
}

#[derive(Debug, Clone)]
pub struct LaPosteConfig {
    /// API root; Suivi v2 lives under `{base_url}/suivi/v2/`.
    pub base_url: Url,
    pub api_key: Secret,
    /// Client-side limit (the real one is undocumented).
    pub requests_per_second: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct TrelloConfig {
    /// API root; REST lives under `{base_url}/1/`.
    pub base_url: Url,
    pub key: Secret,
    pub token: Secret,
    /// Board id (24 hex) or short link (8 chars).
    pub board: String,
    pub resolved_list: String,
    /// Requests allowed per `rate_window` for the token (Trello: 100 / 10 s).
    pub rate_limit: u32,
    pub rate_window: Duration,
    pub timeout: Duration,
}

/// The Freshdesk group escalations go to, as the admin named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Id(u64),
    /// Resolved by `GET /api/v2/groups` (exact name first, then ignoring
    /// case) when it is needed.
    Name(String),
}

/// `[freshdesk]`: private notes on the customer's open tickets, and
/// escalations to a group (docs/apis.md, Freshdesk).
#[derive(Debug, Clone)]
pub struct FreshdeskConfig {
    /// The account's Freshdesk domain, e.g. `https://yourshop.freshdesk.com`;
    /// the API lives under `{base_url}/api/v2/`.
    pub base_url: Url,
    /// Sent as HTTP Basic user, with `X` as password.
    pub api_key: Secret,
    /// Where escalations go; `None` only when `escalation_rules` is empty.
    pub escalation_group: Option<GroupRef>,
    /// Config names of the rules whose cards are escalated (the « Anomalie
    /// de suivi » rules by default).
    pub escalation_rules: Vec<String>,
    /// Requester of every ticket colisync opens: an internal address, never
    /// the customer's, so that no Freshdesk notification reaches a customer.
    pub requester_email: Option<String>,
    /// The ticket field (`cf_…`) where the shop keeps the order number.
    pub order_number_field: Option<String>,
    /// How far back a customer's tickets are listed (`updated_since`).
    pub ticket_lookback_days: u32,
    /// Client-side limit, kept below the plan's (the answers'
    /// `X-RateLimit-*` headers are honoured too).
    pub requests_per_minute: u32,
    pub timeout: Duration,
}

/// One seed rule's settings. What `threshold` counts depends on the rule
/// (see [`RuleId::threshold_unit`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    pub enabled: bool,
    /// Trello list the rule files into (an "intake" list).
    pub list: String,
    pub threshold: u32,
    /// Severity becomes `critical` once the delay reaches
    /// `critical_factor × threshold`.
    pub critical_factor: f64,
    /// Delivery rules only: also fire once the carrier's own estimated
    /// delivery date has passed (opt-in; the seeds' thresholds stay).
    pub estimate: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RulesConfig {
    pub shipping_compatible: RuleConfig,
    pub(crate) shipping_original: RuleConfig,
    pub(crate) delivery_letter: RuleConfig,
    pub(crate) delivery_colissimo: RuleConfig,
    pub(crate) delivery_chronopost: RuleConfig,
    /// Off by default: colisync cannot see the tracking of a carrier other
    /// than La Poste's, so only a date rule the admin chose applies.
    pub delivery_other: RuleConfig,
    pub(crate) tracking_not_found: RuleConfig,
    pub(crate) tracking_stuck: RuleConfig,
    pub(crate) tracking_problem: RuleConfig,
    pub return_to_sender: RuleConfig,
    /// A parcel waiting at a counter or pickup point (`[rules.pickup]`).
    pub pickup: RuleConfig,
    pub pickup_keep: PickupKeep,
    pub return_window: ReturnWindow,
    /// The cases' card settings, built from `[cases]` (its list; always
    /// enabled): not a `[rules.*]` table, so not in [`RulesConfig::iter`].
    pub(crate) cases: RuleConfig,
}

/// How long La Poste keeps a parcel at a counter or pickup point before
/// sending it back, in La Poste's « jours ouvrables » (Monday to Saturday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickupKeep {
    pub keep_days: u32,
    pub keep_days_chronopost: u32,
}

/// How long a return takes to come back (seed 004: « entre 10 et 20
/// jours »), calendar days from the first return event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnWindow {
    pub min_days: u32,
    pub days: u32,
}

impl RulesConfig {
    /// Every rule with its config key, in the order of docs/rules.md's tables.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &RuleConfig)> {
        [
            ("shipping_compatible", &self.shipping_compatible),
            ("shipping_original", &self.shipping_original),
            ("delivery_letter", &self.delivery_letter),
            ("delivery_colissimo", &self.delivery_colissimo),
            ("delivery_chronopost", &self.delivery_chronopost),
            ("delivery_other", &self.delivery_other),
            ("tracking_not_found", &self.tracking_not_found),
            ("tracking_stuck", &self.tracking_stuck),
            ("tracking_problem", &self.tracking_problem),
            ("return_to_sender", &self.return_to_sender),
            ("pickup", &self.pickup),
        ]
        .into_iter()
    }
}

// The domain knows nothing of the configuration: what builds its values
// from the validated file is written here.

impl Calendar {
    /// The calendar `[calendar]` describes.
    pub fn new(cfg: &CalendarConfig) -> Self {
        Calendar::from_parts(
            cfg.timezone,
            cfg.cutoff,
            cfg.extra_closed_days.iter().copied(),
            cfg.extra_open_days.iter().copied(),
        )
    }
}

impl Classifier {
    /// The classifier of `magento.original_skus`, `magento.validated_statuses`
    /// and the `[carriers]` globs.
    pub fn new(magento: &MagentoConfig, carriers: &CarriersConfig) -> Self {
        Classifier {
            original_skus: magento.original_skus.clone(),
            letter: carriers.letter.clone(),
            colissimo: carriers.colissimo.clone(),
            chronopost: carriers.chronopost.clone(),
            validated_statuses: magento.validated_statuses.clone(),
        }
    }
}

impl RuleId {
    /// This rule's settings.
    pub(crate) fn config(self, cfg: &RulesConfig) -> &RuleConfig {
        match self {
            RuleId::ShippingCompatible => &cfg.shipping_compatible,
            RuleId::ShippingOriginal => &cfg.shipping_original,
            RuleId::ReturnToSender => &cfg.return_to_sender,
            RuleId::TrackingProblem => &cfg.tracking_problem,
            RuleId::TrackingNotFound => &cfg.tracking_not_found,
            RuleId::DeliveryLetter => &cfg.delivery_letter,
            RuleId::DeliveryColissimo => &cfg.delivery_colissimo,
            RuleId::DeliveryChronopost => &cfg.delivery_chronopost,
            RuleId::DeliveryOther => &cfg.delivery_other,
            RuleId::TrackingStuck => &cfg.tracking_stuck,
            RuleId::Pickup => &cfg.pickup,
            RuleId::LostParcel | RuleId::AddressChange => &cfg.cases,
        }
    }
}
