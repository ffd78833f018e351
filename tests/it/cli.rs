//! The `colisync` binary as an admin runs it: `calendar`, `check-config`,
//! exit codes, and no secret on stdout or stderr.

use crate::common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn colisync() -> Command {
    let mut cmd = Command::new(crate::common::colisync_bin());
    // The tests must not depend on the environment they run in.
    cmd.env_remove("COLISYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("COLISYNC_LOG");
    cmd
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config.toml.example")
        .display()
        .to_string()
}

#[test]
fn calendar_2027_prints_the_eleven_holidays_without_any_config() {
    let out = colisync().args(["calendar", "2027"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 11, "{stdout}");
    assert_eq!(lines[0], "2027-01-01  Jour de l'an");
    assert_eq!(lines[1], "2027-03-29  Lundi de Pâques");
    assert_eq!(lines[5], "2027-05-17  Lundi de Pentecôte");
    assert_eq!(lines[10], "2027-12-25  Noël");
}

#[test]
fn calendar_with_config_marks_extra_days_and_needs_no_secret() {
    // The example's secret files do not exist here: calendar does not read them.
    colisync()
        .args(["calendar", "2027", "--config", &example()])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2027-05-17  Lundi de Pentecôte (ouvert: extra_open_days)",
        ));
    colisync()
        .args(["--config", &example(), "calendar", "2026"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2026-12-24  Fermé (extra_closed_days)",
        ));
}

#[test]
fn calendar_rejects_a_year_out_of_range() {
    colisync().args(["calendar", "900000"]).assert().failure();
}

#[test]
fn check_config_accepts_the_example() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, common::example_with_credentials(tmp.path())).unwrap();
    let out = colisync()
        .args(["check-config", "--config"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("board:          AbCd1234"))
        .stdout(predicate::str::contains(
            "shipping_compatible  -> Retard d'expédition",
        ))
        .stdout(predicate::str::contains("after 1 business day(s)"))
        .stdout(predicate::str::contains(
            "state dir:      /var/lib/colisync",
        ))
        .stdout(predicate::str::contains("SEKRET").not());
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.matches("next run:").count(), 3, "{stdout}");
}

#[test]
fn check_config_reads_secrets_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    let text = common::example_with_credentials(tmp.path()).replace(
        "token_file = \"trello-token\"",
        "token_env = \"COLISYNC_TEST_TRELLO_TOKEN\"",
    );
    std::fs::write(&path, text).unwrap();
    colisync()
        .env("COLISYNC_CONFIG", &path)
        .arg("check-config")
        .assert()
        .failure()
        .code(78)
        .stderr(predicate::str::contains("trello.token_env"));
    colisync()
        .env("COLISYNC_CONFIG", &path)
        .env("COLISYNC_TEST_TRELLO_TOKEN", "SEKRET-from-env")
        .arg("check-config")
        .assert()
        .success()
        .stdout(predicate::str::contains("SEKRET").not());
}

#[test]
fn check_config_rejects_a_broken_file_naming_key_and_line() {
    let broken = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs/broken/cron_numeric_weekday.toml");
    colisync()
        .arg("check-config")
        .arg("--config")
        .arg(&broken)
        .assert()
        .code(78)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "cron_numeric_weekday.toml:5:12: daemon.schedule:",
        ))
        .stderr(predicate::str::contains("Mon-Fri"))
        .stderr(predicate::str::contains("SEKRET").not());
}

#[test]
fn check_config_names_a_missing_file() {
    colisync()
        .args(["check-config", "--config", "/nonexistent/colisync.toml"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("/nonexistent/colisync.toml"));
}

#[test]
fn default_config_path_is_etc() {
    colisync()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("/etc/colisync/config.toml"));
}

fn valid_toml() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/valid.toml"))
        .unwrap()
}

/// valid.toml with its state in `state_dir` and `listen`, written 0600.
fn config_with_listen(tmp: &Path, state_dir: &Path, listen: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let text = valid_toml().replacen(
        "state_dir = \"/var/lib/colisync\"",
        &format!(
            "state_dir = {:?}\nlisten = \"{listen}\"",
            state_dir.display().to_string()
        ),
        1,
    );
    let path = tmp.join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn run_refuses_a_listen_address_in_use_with_78_before_creating_the_state() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    let path = config_with_listen(tmp.path(), &state_dir, &addr.to_string());
    colisync()
        .arg("--config")
        .arg(&path)
        .arg("run")
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(78)
        .stderr(predicate::str::contains("daemon.listen"))
        .stderr(predicate::str::contains("already in use"))
        .stderr(predicate::str::contains("SEKRET").not());
    assert!(
        !state_dir.exists(),
        "the state was opened before the refusal"
    );
    drop(taken);
}

#[test]
fn check_config_warns_of_listen_beyond_loopback_and_of_a_readable_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = config_with_listen(tmp.path(), &tmp.path().join("state"), "0.0.0.0:9187");
    colisync()
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .assert()
        .success()
        .stderr(predicate::str::contains("warning:"))
        .stderr(predicate::str::contains("daemon.listen"))
        .stderr(predicate::str::contains("not a loopback address"))
        .stderr(predicate::str::contains("readable by every account").not())
        .stderr(predicate::str::contains("SEKRET").not());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    colisync()
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .assert()
        .success()
        .stderr(predicate::str::contains("readable by every account"))
        .stderr(predicate::str::contains("SEKRET").not());
}
