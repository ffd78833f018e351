//! The configuration of the pickup rule, the return's window and the
//! carrier's-estimate trigger: defaults, accepted keys, refusals naming the
//! key.

use std::path::Path;

use colisync::config::{self, RulesConfig};

fn no_env(_: &str) -> Option<String> {
    None
}

fn valid_plus(extra: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/valid.toml"),
    )
    .unwrap();
    format!("{text}\n{extra}\n")
}

fn first_problem(text: &str) -> (String, String) {
    match config::parse_with_env(text, Path::new("config.toml"), &no_env) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => {
            let p = &e.problems()[0];
            (p.key.clone(), p.message.clone())
        }
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = config::parse_with_env(&valid_plus(""), Path::new("c.toml"), &no_env).unwrap();
    let r = &c.rules;
    assert_eq!(r.pickup.threshold, 5);
    assert_eq!(r.pickup.list, "Retard de livraison");
    assert!(r.pickup.enabled);
    assert_eq!(r.pickup_keep.keep_days, 10);
    assert_eq!(r.pickup_keep.keep_days_chronopost, 8);
    assert_eq!(r.return_window.min_days, 10);
    assert_eq!(r.return_window.days, 20);
    for (name, rule) in r.iter() {
        assert!(!rule.estimate, "{name}: the estimate trigger is opt-in");
    }
    assert_eq!(*r, {
        let mut d = RulesConfig::seed_defaults();
        d.shipping_compatible = r.shipping_compatible.clone();
        d
    });
}

#[test]
fn the_new_keys_are_read() {
    let text = valid_plus(
        "[rules.delivery_colissimo]\nestimate = true\n\
         [rules.delivery_chronopost]\nestimate = false\n\
         [rules.pickup]\nbusiness_days = 3\nkeep_days = 12\nkeep_days_chronopost = 7\nlist = \"À retirer\"\n\
         [rules.return_to_sender]\nmin_days = 5\ndays = 25\n",
    );
    let c = config::parse_with_env(&text, Path::new("c.toml"), &no_env).unwrap();
    let estimate = |name: &str| {
        c.rules
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r.estimate)
    };
    assert_eq!(estimate("delivery_colissimo"), Some(true));
    assert_eq!(estimate("delivery_chronopost"), Some(false));
    assert_eq!(estimate("delivery_letter"), Some(false));
    assert_eq!(c.rules.pickup.threshold, 3);
    assert_eq!(c.rules.pickup.list, "À retirer");
    assert_eq!(c.rules.pickup_keep.keep_days, 12);
    assert_eq!(c.rules.pickup_keep.keep_days_chronopost, 7);
    assert_eq!(c.rules.return_window.min_days, 5);
    assert_eq!(c.rules.return_window.days, 25);
}

#[test]
fn wrong_values_and_keys_are_refused_by_name() {
    // `estimate` belongs to the delivery rules only.
    let (key, msg) = first_problem(&valid_plus("[rules.tracking_stuck]\nestimate = true\n"));
    assert!(msg.contains("estimate"), "{key}: {msg}");
    let (_, msg) = first_problem(&valid_plus("[rules.pickup]\ndays = 5\n"));
    assert!(msg.contains("unknown field"), "{msg}");
    let (key, msg) = first_problem(&valid_plus("[rules.pickup]\nkeep_days = 0\n"));
    assert_eq!(key, "rules.pickup.keep_days", "{msg}");
    let (key, _) = first_problem(&valid_plus("[rules.pickup]\nbusiness_days = 0\n"));
    assert_eq!(key, "rules.pickup.business_days");
    let (key, msg) = first_problem(&valid_plus(
        "[rules.return_to_sender]\nmin_days = 21\ndays = 20\n",
    ));
    assert_eq!(key, "rules.return_to_sender.min_days");
    assert!(
        msg.contains("more than rules.return_to_sender.days"),
        "{msg}"
    );
    let (key, msg) = first_problem(&valid_plus("[rules.pickup]\nlist = \"Résolu\"\n"));
    assert_eq!(key, "trello.resolved_list", "{msg}");
}
