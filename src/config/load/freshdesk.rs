//! The `[freshdesk]` table of the configuration: raw keys and their checks.
//!
//! Part of the config stage (`load.rs` calls [`Checker::freshdesk`] when the
//! table is present; an absent table means no Freshdesk at all). Kept apart
//! from the other tables because Freshdesk is optional and has checks of its
//! own: the key becomes an HTTP Basic user (no `:`), the base URL must be the
//! account's root (the client appends `api/v2/…`), and escalations need a
//! group and an internal requester address.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::Checker;
use super::raw::{RawSecret, S};
use super::values::{check_url, describe_value};
use crate::config::{FreshdeskConfig, GroupRef, RulesConfig, defaults};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreshdesk {
    base_url: S<String>,
    api_key: S<String>,
    api_key_file: S<String>,
    api_key_env: S<String>,
    /// A group name (string) or id (integer, or a string of digits).
    escalation_group: S<toml::Value>,
    escalation_rules: Option<Spanned<Vec<Spanned<String>>>>,
    requester_email: S<String>,
    order_number_field: S<String>,
    ticket_lookback_days: S<i64>,
    requests_per_minute: S<i64>,
    timeout_secs: S<i64>,
}

impl Checker<'_> {
    pub(super) fn freshdesk(&mut self, raw: &RawFreshdesk) -> Option<FreshdeskConfig> {
        let base_url = self.freshdesk_base_url(&raw.base_url);
        let api_key = self.required_secret(&RawSecret {
            table: "freshdesk",
            name: "api_key",
            inline: &raw.api_key,
            file: &raw.api_key_file,
            env: &raw.api_key_env,
        });
        let api_key = match api_key {
            // HTTP Basic is `user:password`: a colon would cut the key.
            Some(k) if k.expose().contains(':') => {
                let span = [&raw.api_key, &raw.api_key_file, &raw.api_key_env]
                    .into_iter()
                    .flatten()
                    .map(|s| s.span())
                    .next();
                self.err(
                    "freshdesk.api_key",
                    span,
                    "the key contains a `:`, which HTTP Basic cannot carry in its user part: \
                     a Freshdesk API key has none (Profile settings → View API key)",
                );
                None
            }
            other => other,
        };
        let rules = self.escalation_rules(&raw.escalation_rules);
        let group = self.escalation_group(&raw.escalation_group);
        let requester = self.requester_email(&raw.requester_email);
        if rules.as_ref().is_some_and(|r| !r.is_empty()) {
            if raw.escalation_group.is_none() {
                self.err(
                    "freshdesk.escalation_group",
                    None,
                    "missing: the group escalations go to, by name (\"Niveau 2\") or id; \
                     or set escalation_rules = [] for private notes only",
                );
            }
            if raw.requester_email.is_none() {
                self.err(
                    "freshdesk.requester_email",
                    None,
                    "missing: the internal address colisync opens escalation tickets for \
                     (never the customer's, so that Freshdesk notifies no customer); or set \
                     escalation_rules = [] for private notes only",
                );
            }
        }
        let order_number_field = match &raw.order_number_field {
            None => Some(None),
            Some(f) if is_custom_field_name(f.get_ref()) => Some(Some(f.get_ref().clone())),
            Some(f) => {
                self.err(
                    "freshdesk.order_number_field",
                    Some(f.span()),
                    format!(
                        "{:?} is not a custom ticket field's API name: those are `cf_` then \
                         lower-case letters, digits or `_` (GET /api/v2/ticket_fields lists them)",
                        f.get_ref()
                    ),
                );
                None
            }
        };
        let lookback = self.int(
            "freshdesk.ticket_lookback_days",
            &raw.ticket_lookback_days,
            i64::from(defaults::FRESHDESK_TICKET_LOOKBACK_DAYS),
            1,
            365,
        );
        let rpm = self.int(
            "freshdesk.requests_per_minute",
            &raw.requests_per_minute,
            i64::from(defaults::FRESHDESK_REQUESTS_PER_MINUTE),
            1,
            1000,
        );
        let timeout = self.int(
            "freshdesk.timeout_secs",
            &raw.timeout_secs,
            defaults::FRESHDESK_TIMEOUT_SECS as i64,
            1,
            3600,
        );
        Some(FreshdeskConfig {
            base_url: base_url?,
            api_key: api_key?,
            escalation_group: group?,
            escalation_rules: rules?,
            requester_email: requester?,
            order_number_field: order_number_field?,
            ticket_lookback_days: lookback? as u32,
            requests_per_minute: rpm? as u32,
            timeout: Duration::from_secs(timeout? as u64),
        })
    }

    fn freshdesk_base_url(&mut self, raw: &S<String>) -> Option<Url> {
        let key = "freshdesk.base_url";
        let Some(s) = raw else {
            self.err(
                key,
                None,
                "missing: the account's Freshdesk address, e.g. \"https://yourshop.freshdesk.com\"",
            );
            return None;
        };
        let url = match check_url(s.get_ref()) {
            Ok(u) => u,
            Err(msg) => {
                self.err(key, Some(s.span()), msg);
                return None;
            }
        };
        if url.path() != "/" && !url.path().is_empty() {
            self.err(
                key,
                Some(s.span()),
                format!(
                    "{:?} has a path ({:?}): give the account's root only, colisync adds \
                     /api/v2/ itself",
                    crate::http::redact_url(&url),
                    url.path()
                ),
            );
            return None;
        }
        let host = url.host_str().unwrap_or_default();
        if url.scheme() != "https" || !host.ends_with(".freshdesk.com") {
            // A warning, not an error: tests and the demo use a local fake.
            self.warn(
                key,
                Some(s.span()),
                format!(
                    "{:?} is not an https://….freshdesk.com address: Freshdesk's API v2 \
                     answers only on the account's Freshdesk domain, not on a custom domain",
                    crate::http::redact_url(&url)
                ),
            );
        }
        Some(url)
    }

    fn escalation_rules(
        &mut self,
        raw: &Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Option<Vec<String>> {
        let Some(list) = raw else {
            return Some(
                defaults::FRESHDESK_ESCALATION_RULES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            );
        };
        let known: Vec<&'static str> = RulesConfig::seed_defaults()
            .iter()
            .map(|(n, _)| n)
            .collect();
        let mut out = Vec::new();
        let mut ok = true;
        for (i, r) in list.get_ref().iter().enumerate() {
            if known.contains(&r.get_ref().as_str()) {
                if !out.contains(r.get_ref()) {
                    out.push(r.get_ref().clone());
                }
            } else {
                ok = false;
                self.err(
                    format!("freshdesk.escalation_rules[{i}]"),
                    Some(r.span()),
                    format!(
                        "{:?} is not a rule; the rules are {}",
                        r.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
        ok.then_some(out)
    }

    fn escalation_group(&mut self, raw: &S<toml::Value>) -> Option<Option<GroupRef>> {
        let key = "freshdesk.escalation_group";
        let Some(v) = raw else {
            return Some(None);
        };
        match v.get_ref() {
            toml::Value::Integer(n) if *n > 0 => Some(Some(GroupRef::Id(*n as u64))),
            toml::Value::String(s) if !s.trim().is_empty() => {
                let s = s.trim();
                match s.parse::<u64>() {
                    Ok(n) if n > 0 => Some(Some(GroupRef::Id(n))),
                    _ => Some(Some(GroupRef::Name(s.to_owned()))),
                }
            }
            other => {
                self.err(
                    key,
                    Some(v.span()),
                    format!(
                        "{} is neither a group name nor a positive group id",
                        describe_value(other)
                    ),
                );
                None
            }
        }
    }

    fn requester_email(&mut self, raw: &S<String>) -> Option<Option<String>> {
        let Some(s) = raw else {
            return Some(None);
        };
        let v = s.get_ref().trim();
        if looks_like_email(v) {
            Some(Some(v.to_owned()))
        } else {
            self.err(
                "freshdesk.requester_email",
                Some(s.span()),
                format!(
                    "{v:?} is not an e-mail address (one `@`, no spaces): the team's own \
                     address, e.g. \"sav@shop.example\""
                ),
            );
            None
        }
    }
}

/// `cf_` then lower-case ASCII letters, digits or `_`: how Freshdesk names
/// custom ticket fields in the API.
fn is_custom_field_name(s: &str) -> bool {
    s.strip_prefix("cf_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// One `@` between two non-empty parts, a dot in the domain, no whitespace:
/// enough to catch a pasted name or a missing domain, not a full RFC 5322.
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_field_names() {
        assert!(is_custom_field_name("cf_order_number"));
        assert!(is_custom_field_name("cf_n2"));
        for bad in [
            "order_number",
            "cf_",
            "cf_Order",
            "cf_order-number",
            "cf order",
        ] {
            assert!(!is_custom_field_name(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("sav@shop.example"));
        for bad in [
            "sav",
            "sav@",
            "@shop.example",
            "s av@shop.example",
            "sav@shop",
            "a@b@c.fr",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
