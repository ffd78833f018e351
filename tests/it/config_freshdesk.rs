//! The `[freshdesk]` table and `[magento] order_notes`: the example's
//! commented table works once uncommented, the defaults, and each mistake
//! named with its key, the key never quoted.

use crate::common;

use std::path::Path;

use colisync::config::{self, GroupRef};

fn no_env(_: &str) -> Option<String> {
    None
}

/// The shipped example with its `[freshdesk]` table uncommented, and the
/// key file written next to the other credentials.
fn example_with_freshdesk(dir: &Path) -> String {
    let text = common::example_with_credentials(dir);
    std::fs::write(dir.join("credentials/freshdesk-api-key"), "SEKRET-fd-key\n").unwrap();
    let start = text
        .find("# [freshdesk]")
        .expect("the example documents [freshdesk]");
    let end = start + text[start..].find("\n\n").expect("table end");
    let table: String = text[start..end]
        .lines()
        .map(|l| {
            let l = l.strip_prefix("# ").unwrap_or(l);
            // Only the key lines and the header are uncommented.
            if l.starts_with('[') || l.contains(" = ") {
                l.to_owned()
            } else {
                format!("# {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("{}{}{}", &text[..start], table, &text[end..])
}

fn parse(text: &str, dir: &Path) -> Result<config::Config, config::ConfigError> {
    config::parse_with_env(text, &dir.join("config.toml"), &no_env)
}

#[test]
fn the_example_leaves_freshdesk_and_order_notes_off() {
    let tmp = tempfile::tempdir().unwrap();
    let c = parse(&common::example_with_credentials(tmp.path()), tmp.path()).unwrap();
    assert!(c.freshdesk.is_none());
    assert!(!c.magento.order_notes);
}

#[test]
fn the_examples_freshdesk_table_parses_with_its_documented_values() {
    let tmp = tempfile::tempdir().unwrap();
    let text = example_with_freshdesk(tmp.path());
    let c = parse(&text, tmp.path()).unwrap();
    let f = c.freshdesk.as_ref().expect("[freshdesk]");
    assert_eq!(f.base_url.as_str(), "https://yourshop.freshdesk.com/");
    assert_eq!(f.api_key.expose(), "SEKRET-fd-key");
    assert_eq!(f.escalation_group, Some(GroupRef::Name("Niveau 2".into())));
    assert_eq!(
        f.escalation_rules,
        ["tracking_problem", "tracking_not_found", "tracking_stuck"]
    );
    assert_eq!(f.requester_email.as_deref(), Some("sav@shop.example"));
    assert_eq!(f.order_number_field.as_deref(), Some("cf_order_number"));
    assert_eq!(f.ticket_lookback_days, 90);
    assert_eq!(f.requests_per_minute, 40);
    assert!(c.secrets().iter().any(|s| s.expose() == "SEKRET-fd-key"));

    // The example's values are the defaults.
    let minimal = text.replace("escalation_rules = [\"tracking_problem\", \"tracking_not_found\", \"tracking_stuck\"]\n", "")
        .replace("ticket_lookback_days = 90\n", "")
        .replace("requests_per_minute = 40\n", "");
    let d = parse(&minimal, tmp.path()).unwrap();
    let d = d.freshdesk.unwrap();
    assert_eq!(d.escalation_rules, f.escalation_rules);
    assert_eq!((d.ticket_lookback_days, d.requests_per_minute), (90, 40));

    let on = text.replace("order_notes = false", "order_notes = true");
    assert!(parse(&on, tmp.path()).unwrap().magento.order_notes);
}

/// Parses the example with `[freshdesk]` edited by `edit`; the problems.
fn problems(edit: impl Fn(String) -> String) -> Vec<config::Problem> {
    let tmp = tempfile::tempdir().unwrap();
    let text = edit(example_with_freshdesk(tmp.path()));
    match parse(&text, tmp.path()) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("SEKRET"), "a secret in {shown}");
            e.problems().to_vec()
        }
    }
}

fn named(problems: &[config::Problem], key: &str, fragment: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.key == key && p.message.contains(fragment)),
        "no {key} problem with {fragment:?} in {problems:?}"
    );
}

#[test]
fn each_mistake_is_named() {
    let p = problems(|t| t.replace("api_key_file = \"freshdesk-api-key\"\n", ""));
    named(&p, "freshdesk.api_key", "missing secret");
    let p = problems(|t| {
        t.replace(
            "api_key_file = \"freshdesk-api-key\"",
            "api_key = \"SEKRET:with-colon\"",
        )
    });
    named(&p, "freshdesk.api_key", "`:`");
    let p = problems(|t| {
        t.replace(
            "https://yourshop.freshdesk.com\"",
            "https://yourshop.freshdesk.com/api/v2\"",
        )
    });
    named(&p, "freshdesk.base_url", "adds /api/v2/ itself");
    let p = problems(|t| t.replace("\"tracking_stuck\"]", "\"tracking_stuk\"]"));
    named(&p, "freshdesk.escalation_rules[2]", "is not a rule");
    let p = problems(|t| t.replace("\"cf_order_number\"", "\"Order number\""));
    named(&p, "freshdesk.order_number_field", "cf_");
    let p = problems(|t| t.replace("\"sav@shop.example\"", "\"sav\""));
    named(&p, "freshdesk.requester_email", "not an e-mail");
    let p = problems(|t| t.replace("requester_email = \"sav@shop.example\"\n", ""));
    named(&p, "freshdesk.requester_email", "never the customer's");
    let p = problems(|t| t.replace("escalation_group = \"Niveau 2\"\n", ""));
    named(&p, "freshdesk.escalation_group", "missing");
    let p = problems(|t| t.replace("escalation_group = \"Niveau 2\"", "escalation_group = -3"));
    named(&p, "freshdesk.escalation_group", "positive group id");
    let p = problems(|t| t.replace("requests_per_minute = 40", "requests_per_minute = 0"));
    named(&p, "freshdesk.requests_per_minute", "out of range");
}

#[test]
fn notes_only_needs_neither_group_nor_requester() {
    let p = problems(|t| {
        t.replace("escalation_group = \"Niveau 2\"\n", "")
            .replace("requester_email = \"sav@shop.example\"\n", "")
            .replace(
                "escalation_rules = [\"tracking_problem\", \"tracking_not_found\", \"tracking_stuck\"]",
                "escalation_rules = []",
            )
    });
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn a_group_by_id_and_a_local_url_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let text = example_with_freshdesk(tmp.path())
        .replace("escalation_group = \"Niveau 2\"", "escalation_group = 42")
        .replace(
            "https://yourshop.freshdesk.com\"",
            "http://127.0.0.1:8080\"",
        );
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let (c, warnings) = config::load_with_warnings(&path).unwrap();
    assert_eq!(
        c.freshdesk.unwrap().escalation_group,
        Some(GroupRef::Id(42))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.key == "freshdesk.base_url" && w.message.contains("custom domain")),
        "{warnings:?}"
    );
}
