//! `[cases]`, the cases people open: its defaults and the checks on its
//! list and labels; `load_cases` reads it without the secrets, for
//! `colisync case`.

use std::path::{Path, PathBuf};

use colisync::config;

fn valid() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs");
    std::fs::read_to_string(dir.join("valid.toml")).unwrap()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn with_cases(table: &str) -> String {
    format!("{}\n[cases]\n{table}\n", valid())
}

/// The problem of `key`, which must be there.
fn problem(text: &str, key: &str) -> String {
    match config::parse_with_env(text, Path::new("config.toml"), &no_env) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e
            .problems()
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.message.clone())
            .unwrap_or_else(|| panic!("no problem names {key}: {e}")),
    }
}

#[test]
fn defaults_when_the_table_is_left_out() {
    let c = config::parse_with_env(&valid(), Path::new("config.toml"), &no_env).unwrap();
    assert_eq!(c.cases.list, "Dossiers clients");
    assert_eq!(c.cases.lost_label, "Non reçu");
    assert_eq!(c.cases.address_label, "Changement d'adresse");
    assert_eq!(c.cases.inbox_dir, PathBuf::from("/var/lib/colisync-inbox"));
    assert_eq!(
        c.cases.kind_of_label("  non REÇU "),
        Some(colisync::domain::CaseKind::Lost)
    );
    assert_eq!(c.cases.kind_of_label("Colissimo"), None);
}

#[test]
fn set_values_are_taken() {
    let text = with_cases(
        "list = \"Clients\"\nlost_label = \"Perdu\"\naddress_label = \"Adresse\"\ninbox_dir = \"/srv/inbox\"",
    );
    let c = config::parse_with_env(&text, Path::new("config.toml"), &no_env).unwrap();
    assert_eq!(c.cases.list, "Clients");
    assert_eq!(c.cases.inbox_dir, PathBuf::from("/srv/inbox"));
    assert_eq!(
        c.cases.kind_of_label("adresse"),
        Some(colisync::domain::CaseKind::Address)
    );
}

#[test]
fn a_label_colisync_puts_on_its_cards_is_refused() {
    let m = problem(
        &with_cases("lost_label = \" colissimo \""),
        "cases.lost_label",
    );
    assert!(m.contains("colisync puts on its own cards"), "{m}");
    let m = problem(
        &with_cases("address_label = \"Critique\""),
        "cases.address_label",
    );
    assert!(m.contains("own cards"), "{m}");
}

#[test]
fn the_two_labels_must_differ_and_not_be_empty() {
    let m = problem(
        &with_cases("lost_label = \"Client\"\naddress_label = \"CLIENT \""),
        "cases.address_label",
    );
    assert!(m.contains("its own label"), "{m}");
    let m = problem(&with_cases("lost_label = \"  \""), "cases.lost_label");
    assert!(m.contains("empty"), "{m}");
}

#[test]
fn the_list_is_not_the_resolved_list_and_the_inbox_is_absolute() {
    let m = problem(&with_cases("list = \"Résolu\""), "cases.list");
    assert!(m.contains("resolved_list"), "{m}");
    let m = problem(&with_cases("inbox_dir = \"inbox\""), "cases.inbox_dir");
    assert!(m.contains("absolute"), "{m}");
}

#[test]
fn an_unknown_key_is_refused() {
    let text = with_cases("item_due = true");
    let err = config::parse_with_env(&text, Path::new("config.toml"), &no_env).unwrap_err();
    assert!(err.to_string().contains("item_due"), "{err}");
}

#[test]
fn load_cases_reads_only_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    // No secret at all: `colisync case` still works.
    std::fs::write(&path, "[cases]\ninbox_dir = \"/srv/inbox\"\n").unwrap();
    let c = config::load_cases(&path).unwrap();
    assert_eq!(c.inbox_dir, PathBuf::from("/srv/inbox"));
    std::fs::write(&path, "[cases]\nlost_label = \"Retard\"\n").unwrap();
    assert!(config::load_cases(&path).is_ok());
    std::fs::write(&path, "[cases]\nlost_label = \"En retard\"\n").unwrap();
    assert!(config::load_cases(&path).is_err());
}
