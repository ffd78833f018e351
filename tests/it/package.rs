//! The Debian package as declared in crates/cli/Cargo.toml (`cargo deb` builds it):
//! every asset exists and lands where Debian expects it, with its mode;
//! the unit, /etc/colisync and its credentials/ are set up; the committed
//! man pages and completions are those the clap definitions generate; the
//! shipped alerting rules pass `promtool check rules` and the unit
//! `systemd-analyze verify` where those tools are installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use colisync_cli::assets;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The package that builds the binary, whose manifest declares the `.deb`;
/// its asset paths are relative to it.
fn pkg() -> PathBuf {
    root().join("crates/cli")
}

fn deb() -> toml::Value {
    let text = std::fs::read_to_string(pkg().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    manifest["package"]["metadata"]["deb"].clone()
}

fn assets_list() -> Vec<(String, String, String)> {
    deb()["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_array().unwrap();
            let s = |i: usize| a[i].as_str().unwrap().to_owned();
            (s(0), s(1), s(2))
        })
        .collect()
}

fn installs(dest: &str) -> (String, String) {
    let (src, _, mode) = assets_list()
        .into_iter()
        .find(|(_, d, _)| d == dest)
        .unwrap_or_else(|| panic!("nothing installed to {dest}"));
    (src, mode)
}

#[test]
fn the_package_holds_what_an_admin_needs() {
    assert_eq!(
        installs("usr/bin/"),
        ("target/release/colisync".into(), "755".into())
    );
    let docs: Vec<String> = assets_list()
        .into_iter()
        .filter(|(_, d, _)| d == "usr/share/doc/colisync/")
        .map(|(s, _, _)| s)
        .collect();
    assert!(
        docs.contains(&"../../config.toml.example".to_owned()),
        "{docs:?}"
    );
    assert_eq!(installs("usr/share/man/man1/").0, "../../contrib/man/*.1");
    installs("usr/share/bash-completion/completions/");
    installs("usr/share/zsh/vendor-completions/");
    installs("usr/share/fish/vendor_completions.d/");
    for (src, dest, mode) in assets_list() {
        if src.starts_with("target/") {
            continue;
        }
        let matches = if let Some(dir) = src.strip_suffix("/*.1") {
            std::fs::read_dir(pkg().join(dir))
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "1")
                })
                .count()
        } else {
            usize::from(pkg().join(&src).is_file())
        };
        assert!(matches > 0, "asset {src} -> {dest} has no file");
        assert_eq!(mode, "644", "{src}");
    }
}

#[test]
fn the_unit_is_installed_but_waits_for_the_configuration() {
    let units = &deb()["systemd-units"];
    assert_eq!(units["unit-scripts"].as_str(), Some("../../systemd/"));
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
    assert!(root().join("systemd/colisync.service").is_file());
    let unit = std::fs::read_to_string(root().join("systemd/colisync.service")).unwrap();
    assert!(
        unit.lines()
            .any(|l| l.starts_with("ExecStart=/usr/bin/colisync ")),
        "the unit must start the packaged binary"
    );
}

#[test]
fn postinst_creates_the_configuration_directories_root_only() {
    let dir = deb()["maintainer-scripts"].as_str().unwrap().to_owned();
    let script = std::fs::read_to_string(pkg().join(dir).join("postinst")).unwrap();
    assert!(script.contains("#DEBHELPER#"), "cargo-deb needs the token");
    assert!(script.contains("install -d -m 0750 -o root -g root /etc/colisync\n"));
    assert!(script.contains("install -d -m 0700 -o root -g root /etc/colisync/credentials\n"));
}

fn same_or_bless(path: &Path, fresh: &[u8]) {
    if std::env::var_os("COLISYNC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, fresh).unwrap();
        return;
    }
    let committed = std::fs::read(path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: run COLISYNC_BLESS=1 cargo test --test it package::",
        path.display()
    );
}

#[test]
fn man_pages_and_completions_match_the_command_line() {
    let scratch = tempfile::tempdir().unwrap();
    assets::write_man_pages(scratch.path()).unwrap();
    let mut pages = 0;
    for entry in std::fs::read_dir(scratch.path()).unwrap() {
        let entry = entry.unwrap();
        let fresh = std::fs::read(entry.path()).unwrap();
        same_or_bless(
            &root().join(assets::MAN_DIR).join(entry.file_name()),
            &fresh,
        );
        pages += 1;
    }
    assert!(pages >= 8, "one page per subcommand and the main one");
    let main = std::fs::read_to_string(root().join(assets::MAN_DIR).join("colisync.1")).unwrap();
    assert!(main.contains("check\\-config"), "{main}");
    for (shell, name) in assets::SHELLS {
        let fresh = assets::completion(shell);
        same_or_bless(&root().join(assets::COMPLETIONS_DIR).join(name), &fresh);
    }
    let check =
        std::fs::read_to_string(root().join(assets::MAN_DIR).join("colisync-check-config.1"))
            .unwrap();
    assert!(check.contains("online"), "{check}");
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn alerting_rules_pass_promtool() {
    if !tool("promtool") {
        eprintln!("promtool not installed (apt-get install prometheus): rules not checked");
        return;
    }
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(root().join("contrib/prometheus/colisync.rules.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_grafana_dashboard_is_json_naming_only_exported_series() {
    let text = std::fs::read_to_string(root().join("contrib/grafana/colisync.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let exported = colisync::metrics::Metrics::new().encode();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let name = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| w.starts_with("colisync_"))
                .unwrap();
            let family = name.trim_end_matches("_bucket");
            assert!(exported.contains(family), "{name} is not exported");
        }
    }
}

#[test]
fn the_unit_verifies_where_systemd_analyze_exists() {
    if !tool("systemd-analyze") {
        eprintln!("systemd-analyze not installed: unit not verified");
        return;
    }
    // verify wants the ExecStart binary to exist: point it at this build.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("systemd/colisync.service"))
        .unwrap()
        .replace(
            "/usr/bin/colisync",
            &crate::common::colisync_bin().display().to_string(),
        );
    let path = dir.path().join("colisync.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Outside a booted systemd, verify also complains about the machine
    // (no /run/systemd/system, missing targets): only lines naming the unit
    // file itself are the unit's problems.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("colisync.service:"))
        .collect();
    assert!(ours.is_empty(), "{stderr}");
}
