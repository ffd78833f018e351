//! Every state failure at open has a way out: a garbled or unsupported sled
//! `conf` file is recovered like corruption (moved aside, started empty,
//! the pass adopts the cards back from the board without duplicating
//! them); and the state is private (0700 directory, 0600 files) whatever
//! the umask of whoever runs colisync.

use crate::common_sync;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::state::State;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

/// A state with a cursor, flushed and closed.
fn filled_state(dir: &Path) {
    let state = State::open(dir).unwrap();
    state.set_cursor(chrono::Utc::now()).unwrap();
    state.flush().unwrap();
}

/// A `conf` sled parses but refuses: another on-disk format version.
fn unsupported_conf() -> Vec<u8> {
    let mut conf = b"segment_size: 524288\nuse_compression: false\nversion: 9.9\n".to_vec();
    // sled only warns about a wrong checksum.
    conf.extend_from_slice(&[0, 0, 0, 0]);
    conf
}

fn assert_recovered(dir: &Path, what: &str) {
    let state = State::open(dir).unwrap_or_else(|e| panic!("{what}: {e}"));
    let aside = state
        .recovered_from()
        .unwrap_or_else(|| panic!("{what}: not moved aside"))
        .to_owned();
    assert!(aside.join("conf").exists(), "{what}: {aside:?}");
    assert_eq!(state.cursor().unwrap(), None, "{what}: not started empty");
    drop(state);
    // The fresh state opens again without recovery.
    let again = State::open(dir).unwrap();
    assert!(again.recovered_from().is_none(), "{what}: recovered twice");
}

#[test]
fn a_garbled_conf_file_is_moved_aside_and_the_state_started_empty() {
    for (what, conf) in [
        (
            "binary garbage",
            b"\xff\xfe\x00garbled\x01\x02 conf \xc3\x28".to_vec(),
        ),
        (
            "text garbage",
            b"this is not a sled conf file\nat all\n".to_vec(),
        ),
        ("a conf sled does not support", unsupported_conf()),
    ] {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("state");
        filled_state(&dir);
        std::fs::write(dir.join("conf"), conf).unwrap();
        assert_recovered(&dir, what);
    }
}

#[tokio::test]
async fn after_a_garbled_conf_the_pass_adopts_the_cards_back_without_duplicates() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("state");
    {
        let mut engine = engine(&world, &dir);
        ok_pass(&mut engine, at_days(0)).await;
    }
    let filed = world.trello.cards().len();
    assert!(filed > 0);
    std::fs::write(dir.join("conf"), unsupported_conf()).unwrap();

    let state = State::open(&dir).unwrap();
    assert!(state.recovered_from().is_some());
    let mut engine =
        Engine::with_retry(world.config(&dir), state, RetryPolicy::fast()).expect("engine");
    let report = ok_pass(&mut engine, at_days(0)).await;
    assert!(report.apply.adopted > 0, "{:?}", report.apply);
    assert_eq!(report.apply.created, 0, "{:?}", report.apply);
    assert_eq!(world.trello.cards().len(), filed, "a card was filed twice");
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        }
        out.push(p);
    }
}

#[test]
fn the_state_directory_is_0700_and_its_files_0600() {
    let parent = tempfile::tempdir().unwrap();
    // An admin's shell: files readable by all unless colisync sees to it.
    let dir = parent.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("conf"), b"").unwrap();
    std::fs::set_permissions(dir.join("conf"), std::fs::Permissions::from_mode(0o644)).unwrap();
    filled_state(&dir);
    let fresh = parent.path().join("fresh/state");
    filled_state(&fresh);
    for d in [&dir, &fresh] {
        assert_eq!(mode(d), 0o700, "{d:?}");
        let mut all = Vec::new();
        walk(d, &mut all);
        assert!(!all.is_empty());
        for p in all {
            let want = if p.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&p), want, "{p:?}");
        }
    }
}
