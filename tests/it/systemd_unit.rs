//! The shipped unit keeps what it promises: no core dumps (they would hold
//! the secrets), a private state directory, no restart loop on exit 78.

fn unit() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/colisync.service");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn value(key: &str) -> Option<String> {
    unit().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

#[test]
fn no_core_dumps() {
    assert_eq!(value("LimitCORE").as_deref(), Some("0"));
}

#[test]
fn private_state_and_no_restart_on_a_bad_configuration() {
    assert_eq!(value("StateDirectoryMode").as_deref(), Some("0700"));
    assert_eq!(value("UMask").as_deref(), Some("0077"));
    assert_eq!(value("RestartPreventExitStatus").as_deref(), Some("78"));
}
