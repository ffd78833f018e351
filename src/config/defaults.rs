//! The default of every configuration key that has one, in one place:
//! what `load` fills in for a key left out, what `config.toml.example`
//! documents (tests/it/config.rs checks that the example's values are
//! these), and the seeds' calendar, classifier and rules that tests, the
//! demo and the benchmark build without a file.

use chrono::NaiveTime;
use chrono_tz::Tz;

use super::{PickupKeep, ReturnWindow, RuleConfig, RulesConfig};
use crate::domain::Classifier;
use crate::domain::calendar::Calendar;
use crate::fr::{
    LABEL_CASE_ADDRESS, LABEL_CASE_LOST, LIST_CASES, LIST_DELIVERY, LIST_RESOLVED, LIST_RETURN,
    LIST_SHIPPING, LIST_TRACKING,
};

pub const SCHEDULE: &str = "0 */15 7-20 * * Mon-Sat";
pub const STATE_DIR: &str = "/var/lib/colisync";
pub const LOG_FORMAT: super::LogFormat = super::LogFormat::Text;
pub const TIMEZONE: &str = "Europe/Paris";
pub(crate) const CUTOFF: &str = "16:00";
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
/// `[magento] order_notes`: off, write-back is opt-in.
pub const ORDER_NOTES: bool = false;
/// `[freshdesk] escalation_rules`: the « Anomalie de suivi » rules, whose
/// procedures say to raise a tracking error in Freshdesk for investigation.
pub const FRESHDESK_ESCALATION_RULES: &[&str] =
    &["tracking_problem", "tracking_not_found", "tracking_stuck"];
pub const FRESHDESK_TICKET_LOOKBACK_DAYS: u32 = 90;
/// Below the smallest per-minute budget the plans are said to have
/// (docs/apis.md): the answers' headers are what really counts.
pub const FRESHDESK_REQUESTS_PER_MINUTE: u32 = 40;
pub const FRESHDESK_TIMEOUT_SECS: u64 = 30;
pub const RESOLVED_LIST: &str = LIST_RESOLVED;
/// Every rule's `critical_factor` unless the admin sets one.
pub const CRITICAL_FACTOR: f64 = 2.0;
/// `[rules.pickup] threshold`: business days at the counter before a card.
pub const PICKUP_THRESHOLD: u32 = 5;
/// `[rules.pickup] keep_days`: La Poste's ouvrables of keeping at a counter
/// (Colissimo: 10).
pub const PICKUP_KEEP_DAYS: u32 = 10;
/// `[rules.pickup] keep_days_chronopost`: a Chronopost relay keeps 8.
pub const PICKUP_KEEP_DAYS_CHRONOPOST: u32 = 8;
/// `[rules.return_to_sender] min_days` and `days`: a return comes back in
/// 10 to 20 days (seed 004).
pub const RETURN_MIN_DAYS: u32 = 10;
pub const RETURN_DAYS: u32 = 20;
/// `[cases]`: the list case cards go to and the labels that open them.
pub const CASES_LIST: &str = LIST_CASES;
pub const CASES_LOST_LABEL: &str = LABEL_CASE_LOST;
pub const CASES_ADDRESS_LABEL: &str = LABEL_CASE_ADDRESS;
/// `[cases] inbox_dir`: outside the 0700 state directory, so that agents
/// can drop requests while the daemon holds the state.
pub const CASES_INBOX_DIR: &str = "/var/lib/colisync-inbox";

/// [`TIMEZONE`] as a zone.
pub fn timezone() -> Tz {
    TIMEZONE
        .parse()
        .expect("the default timezone is an IANA name chrono-tz knows")
}

/// [`CUTOFF`] as a time.
pub fn cutoff() -> NaiveTime {
    NaiveTime::parse_from_str(CUTOFF, "%H:%M").expect("the default cutoff is a valid HH:MM")
}

fn globs(patterns: &[&str]) -> Vec<glob::Pattern> {
    patterns
        .iter()
        .filter_map(|g| glob::Pattern::new(g).ok())
        .collect()
}

impl Calendar {
    /// The default calendar ([`TIMEZONE`], [`CUTOFF`], no extra days): the
    /// seeds' calendar.
    pub fn france() -> Self {
        Calendar::from_parts(timezone(), cutoff(), [], [])
    }
}

impl Classifier {
    /// The defaults of `config.toml.example`: [`ORIGINAL_SKUS`] originals,
    /// [`LETTER`] letters, the carrier and method codes of the official
    /// Colissimo and Chronopost modules, [`VALIDATED_STATUSES`]. For tests,
    /// the demo and the benchmark.
    pub fn seed_defaults() -> Self {
        Classifier {
            original_skus: globs(ORIGINAL_SKUS),
            letter: globs(LETTER),
            colissimo: globs(COLISSIMO),
            chronopost: globs(CHRONOPOST),
            validated_statuses: VALIDATED_STATUSES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl super::CasesConfig {
    /// `[cases]` left out.
    pub fn seed_defaults() -> Self {
        super::CasesConfig {
            list: CASES_LIST.to_owned(),
            lost_label: CASES_LOST_LABEL.to_owned(),
            address_label: CASES_ADDRESS_LABEL.to_owned(),
            inbox_dir: CASES_INBOX_DIR.into(),
        }
    }
}

impl RulesConfig {
    /// The seeds' numbers (docs/rules.md); what an admin gets for
    /// every key they leave out.
    pub fn seed_defaults() -> Self {
        let rule = |list: &str, threshold: u32| RuleConfig {
            enabled: true,
            list: list.to_owned(),
            threshold,
            critical_factor: CRITICAL_FACTOR,
            estimate: false,
        };
        RulesConfig {
            shipping_compatible: rule(LIST_SHIPPING, 1),
            shipping_original: rule(LIST_SHIPPING, 10),
            delivery_letter: rule(LIST_DELIVERY, 10),
            delivery_colissimo: rule(LIST_DELIVERY, 7),
            delivery_chronopost: rule(LIST_DELIVERY, 1),
            delivery_other: RuleConfig {
                enabled: false,
                ..rule(LIST_DELIVERY, 0)
            },
            tracking_not_found: rule(LIST_TRACKING, 24),
            tracking_stuck: rule(LIST_TRACKING, 48),
            tracking_problem: rule(LIST_TRACKING, 0),
            return_to_sender: rule(LIST_RETURN, 0),
            // The delivery list: a new list on every board would be a cost
            // and a change nobody asked for; leads may point it elsewhere.
            pickup: rule(LIST_DELIVERY, PICKUP_THRESHOLD),
            pickup_keep: PickupKeep {
                keep_days: PICKUP_KEEP_DAYS,
                keep_days_chronopost: PICKUP_KEEP_DAYS_CHRONOPOST,
            },
            return_window: ReturnWindow {
                min_days: RETURN_MIN_DAYS,
                days: RETURN_DAYS,
            },
            cases: rule(LIST_CASES, 0),
        }
    }
}
