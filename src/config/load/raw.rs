//! Pass 1 of loading: the file as serde sees it, every checked value kept
//! with its span.

use super::*;

pub(super) type S<T> = Option<Spanned<T>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) daemon: RawDaemon,
    #[serde(default)]
    pub(super) calendar: RawCalendar,
    #[serde(default)]
    pub(super) magento: RawMagento,
    #[serde(default)]
    pub(super) carriers: RawCarriers,
    #[serde(default)]
    pub(super) laposte: RawLaPoste,
    #[serde(default)]
    pub(super) trello: RawTrello,
    #[serde(default)]
    pub(super) rules: RawRules,
    pub(super) freshdesk: Option<super::freshdesk::RawFreshdesk>,
    #[serde(default)]
    pub(super) cases: RawCases,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCases {
    pub(super) list: S<String>,
    pub(super) lost_label: S<String>,
    pub(super) address_label: S<String>,
    pub(super) inbox_dir: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    pub(super) schedule: S<String>,
    pub(super) state_dir: S<String>,
    pub(super) listen: S<String>,
    pub(super) log_format: S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) timezone: S<String>,
    pub(super) cutoff: S<String>,
    /// Strings `"YYYY-MM-DD"` or bare TOML dates: both are accepted.
    pub(super) extra_closed_days: Option<Vec<Spanned<toml::Value>>>,
    pub(super) extra_open_days: Option<Vec<Spanned<toml::Value>>>,
}

/// One secret in its three spellings: inline, `_file`, `_env`.
pub(super) struct RawSecret<'a> {
    pub(super) table: &'static str,
    pub(super) name: &'static str,
    pub(super) inline: &'a S<String>,
    pub(super) file: &'a S<String>,
    pub(super) env: &'a S<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMagento {
    pub(super) base_url: S<String>,
    pub(super) token: S<String>,
    pub(super) token_file: S<String>,
    pub(super) token_env: S<String>,
    pub(super) consumer_key: S<String>,
    pub(super) consumer_key_file: S<String>,
    pub(super) consumer_key_env: S<String>,
    pub(super) consumer_secret: S<String>,
    pub(super) consumer_secret_file: S<String>,
    pub(super) consumer_secret_env: S<String>,
    pub(super) access_token: S<String>,
    pub(super) access_token_file: S<String>,
    pub(super) access_token_env: S<String>,
    pub(super) access_token_secret: S<String>,
    pub(super) access_token_secret_file: S<String>,
    pub(super) access_token_secret_env: S<String>,
    pub(super) admin_url: S<String>,
    pub(super) lookback_days: S<i64>,
    pub(super) original_skus: Option<Vec<Spanned<String>>>,
    pub(super) validated_statuses: Option<Vec<Spanned<String>>>,
    pub(super) page_size: S<i64>,
    pub(super) overlap_secs: S<i64>,
    pub(super) timeout_secs: S<i64>,
    pub(super) order_notes: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCarriers {
    pub(super) letter: Option<Vec<Spanned<String>>>,
    pub(super) colissimo: Option<Vec<Spanned<String>>>,
    pub(super) chronopost: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLaPoste {
    pub(super) base_url: S<String>,
    pub(super) api_key: S<String>,
    pub(super) api_key_file: S<String>,
    pub(super) api_key_env: S<String>,
    pub(super) requests_per_second: S<i64>,
    pub(super) timeout_secs: S<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrello {
    pub(super) base_url: S<String>,
    pub(super) key: S<String>,
    pub(super) key_file: S<String>,
    pub(super) key_env: S<String>,
    pub(super) token: S<String>,
    pub(super) token_file: S<String>,
    pub(super) token_env: S<String>,
    pub(super) board: S<String>,
    pub(super) resolved_list: S<String>,
    pub(super) rate_limit: S<i64>,
    pub(super) rate_window_secs: S<i64>,
    pub(super) timeout_secs: S<i64>,
}

/// What the checks need of one `[rules.<rule>]` table, whatever its unit.
pub(super) struct RuleView<'a> {
    pub(super) enabled: Option<bool>,
    pub(super) list: &'a S<String>,
    pub(super) critical_factor: &'a S<f64>,
    /// The threshold's key (named after its unit) and value.
    pub(super) threshold: Option<(&'static str, &'a S<i64>)>,
}

/// A rule table whose threshold key is named after its unit (`days`,
/// `business_days`, `hours`): writing the wrong unit is an unknown key.
macro_rules! raw_rule {
    ($(#[$doc:meta])* $name:ident, $unit:ident $(, $extra:ident: $ty:ty)*) => {
        $(#[$doc])*
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            pub(super) enabled: Option<bool>,
            pub(super) list: S<String>,
            pub(super) critical_factor: S<f64>,
            pub(super) $unit: S<i64>,
            $(pub(super) $extra: $ty,)*
        }

        impl $name {
            pub(super) fn view(&self) -> RuleView<'_> {
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
    /// A delivery rule counting calendar days; `estimate` opts in to the
    /// carrier's estimated date as an earlier trigger.
    RawDeliveryDays,
    days,
    estimate: Option<bool>
);
raw_rule!(
    /// A delivery rule counting business days (Chronopost), with `estimate`.
    RawDeliveryBusinessDays,
    business_days,
    estimate: Option<bool>
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
pub(super) struct RawRuleFact {
    pub(super) enabled: Option<bool>,
    pub(super) list: S<String>,
}

impl RawRuleFact {
    pub(super) fn view(&self) -> RuleView<'_> {
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
pub(super) struct RawRules {
    #[serde(default)]
    pub(super) shipping_compatible: RawRuleBusinessDays,
    #[serde(default)]
    pub(super) shipping_original: RawRuleBusinessDays,
    #[serde(default)]
    pub(super) delivery_letter: RawDeliveryDays,
    #[serde(default)]
    pub(super) delivery_colissimo: RawDeliveryDays,
    #[serde(default)]
    pub(super) delivery_chronopost: RawDeliveryBusinessDays,
    #[serde(default)]
    pub(super) delivery_other: RawDeliveryDays,
    #[serde(default)]
    pub(super) tracking_not_found: RawRuleHours,
    #[serde(default)]
    pub(super) tracking_stuck: RawRuleHours,
    #[serde(default)]
    pub(super) tracking_problem: RawRuleFact,
    #[serde(default)]
    pub(super) return_to_sender: RawRuleReturn,
    #[serde(default)]
    pub(super) pickup: RawRulePickup,
}

/// `[rules.return_to_sender]`: a fact rule, plus how long a return takes
/// to come back (the card's due date and its « entre le … et le … »).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuleReturn {
    pub(super) enabled: Option<bool>,
    pub(super) list: S<String>,
    pub(super) min_days: S<i64>,
    pub(super) days: S<i64>,
}

/// `[rules.pickup]`: business days waiting before a card, and how many La
/// Poste « jours ouvrables » the point keeps the parcel.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRulePickup {
    pub(super) enabled: Option<bool>,
    pub(super) list: S<String>,
    pub(super) business_days: S<i64>,
    pub(super) keep_days: S<i64>,
    pub(super) keep_days_chronopost: S<i64>,
}
