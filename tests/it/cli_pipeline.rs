//! The pipeline commands as an admin runs them (`once`, `once --dry-run`,
//! `explain`, `demo`), as separate processes against the fakes served by
//! this test process.

use std::path::Path;

use assert_cmd::Command;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::trello::FakeTrelloOptions;
use colisync_testkit::world::{LAPOSTE_KEY, MAGENTO_TOKEN, World};

const NOW: &str = "2026-05-19T10:00:00+02:00";

fn config_toml(world: &World, state_dir: &Path) -> String {
    world.config_toml(state_dir, "", "")
}

fn colisync(config: &Path) -> Command {
    let mut cmd = Command::new(crate::common::colisync_bin());
    cmd.env_remove("COLISYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("COLISYNC_LOG", "warn")
        .arg("--config")
        .arg(config);
    cmd
}

fn secrets() -> Vec<String> {
    let t = FakeTrelloOptions::default();
    vec![MAGENTO_TOKEN.into(), LAPOSTE_KEY.into(), t.key, t.token]
}

fn assert_no_secret(text: &str) {
    for s in secrets() {
        assert!(!text.contains(&s), "a secret leaked:\n{text}");
    }
}

/// Runs a blocking command while the fakes keep serving on this runtime.
async fn run(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_writes_nothing_and_shows_no_secret() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();

    let mut cmd = colisync(&config);
    cmd.args(["once", "--dry-run", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Dry run: nothing was written"), "{stdout}");
    for key in [
        "order/100001",
        "order/100003",
        "parcel/100010/XY202605060FR",
    ] {
        assert!(stdout.contains(key), "{key} missing from\n{stdout}");
    }
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    assert!(!state_dir.exists(), "a dry run created the state directory");
    let writes = world
        .trello
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_files_cards_then_explain_says_why() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();

    let mut cmd = colisync(&config);
    cmd.args(["once", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("9 created"), "{stdout}");
    assert_eq!(world.trello.cards().len(), 9);

    // The order of docs/rules.md's worked example: exactly 10 business days.
    let mut cmd = colisync(&config);
    cmd.args(["explain", "100004", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("shipping_original"), "{stdout}");
    assert!(stdout.contains("No card"), "{stdout}");
    assert_no_secret(&stdout);

    let mut cmd = colisync(&config);
    cmd.args(["explain", "100003", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("on the board as card"), "{stdout}");

    let mut cmd = colisync(&config);
    cmd.args(["explain", "999999", "--now", NOW]);
    let out = run(cmd).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("999999"));
}

#[test]
fn demo_runs_without_any_account() {
    let out = Command::new(crate::common::colisync_bin())
        .env("COLISYNC_LOG", "warn")
        .arg("demo")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("Retour expéditeur"), "{stdout}");
    assert!(stdout.contains("Trello writes in this pass: 0"), "{stdout}");
    // Order 100001 shipped, 100005 delivered, 100019 collected.
    assert!(stdout.contains("Résolu (3)"), "{stdout}");
    for shown in [
        "Cmd 100019 · À retirer · Colissimo · 6 j ouvrés",
        "TABAC DE LA GARE",
        "Problème terminé : colis retiré au point de retrait.",
        "Cmd 100020 · Retour expéditeur · Colissimo · en retour",
        "Cmd 100020 · Retour expéditeur · Colissimo · revenu",
        "💬 Le colis est revenu à l'expéditeur le mer. 20 mai 2026",
        "5,95 € avec La Poste ou Colissimo, 9,95 € avec Chronopost",
    ] {
        assert!(stdout.contains(shown), "{shown}: {stdout}");
    }
    assert!(stdout.contains("got a private note"), "{stdout}");
    assert!(
        stdout.contains("order 100001's history (customer not notified: true)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("E-mails Freshdesk would have sent to a customer: 0"),
        "{stdout}"
    );
}

/// A number La Poste refuses (returnCode 400) is an unknown parcel for the
/// pass, which files `tracking_not_found` after 24 h: `explain`, which needs
/// no state, must judge it the same way, not as a parcel never asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_judges_a_refused_number_as_the_pass_does() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    world.laposte.reject("6A20260518007");
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();

    let mut cmd = colisync(&config);
    cmd.args(["once", "--dry-run", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("parcel/100007/6A20260518007"),
        "the pass files it:\n{stdout}"
    );

    let mut cmd = colisync(&config);
    cmd.args(["explain", "100007", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Card for parcel/100007/6A20260518007"),
        "explain must agree with the pass:\n{stdout}"
    );
    assert!(!stdout.contains("No card"), "{stdout}");
    assert!(!state_dir.exists(), "explain created the state directory");
}

/// A lettre suivie (a flatrate method, a track with a La Poste number) is
/// polled like a parcel: delivered, it gets no card, whatever its age. The
/// pass and `explain` must agree on it: both ask La Poste, neither files
/// the 10-day letter card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_and_the_pass_agree_on_a_delivered_lettre_suivie() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let mut order = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100011")
        .cloned()
        .unwrap();
    let shipped = order.shipments[0].created_at;
    order.shipments[0].tracks = vec![colisync::domain::Track {
        number: "1L20260505011".into(),
        carrier_code: "custom".into(),
        title: "Lettre suivie".into(),
        created_at: shipped,
    }];
    world.magento.update_order(&order);
    world.laposte.set_parcel(
        "1L20260505011",
        "Lettre suivie",
        vec![colisync::domain::TrackingEvent {
            code: "DI1".into(),
            label: "Votre courrier a été distribué.".into(),
            at: shipped + chrono::Duration::days(2),
        }],
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();

    let asked = |world: &World| {
        world
            .laposte
            .requested_ids()
            .iter()
            .flatten()
            .filter(|id| id.as_str() == "1L20260505011")
            .count()
    };
    let mut cmd = colisync(&config);
    cmd.args(["once", "--dry-run", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert_eq!(asked(&world), 1, "the pass polls the lettre suivie");
    assert!(
        !stdout.contains("parcel/100011"),
        "delivered: the pass files nothing for it:\n{stdout}"
    );

    let mut cmd = colisync(&config);
    cmd.args(["explain", "100011", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert_eq!(asked(&world), 2, "explain asks La Poste as the pass does");
    assert!(
        stdout.contains("No card"),
        "explain must agree with the pass:\n{stdout}"
    );
}

/// SIGTERM during `once`: the create in flight finishes and is recorded,
/// the process exits non-zero (the pass is not done), and the next `once`
/// files the rest without a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stops_cleanly_on_sigterm() {
    use colisync_testkit::Fault;
    use std::time::Duration;

    let world = World::start(&demo_shop(), None).await.unwrap();
    world
        .trello
        .faults()
        .always("POST", "/1/cards", Fault::Slow(Duration::from_millis(300)));
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();

    let mut child = std::process::Command::new(crate::common::colisync_bin())
        .env("COLISYNC_LOG", "warn")
        .arg("--config")
        .arg(&config)
        .args(["once", "--now", NOW])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Bounded wait for the first card (not a timing assertion).
    for _ in 0..300 {
        if !world.trello.cards().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!world.trello.cards().is_empty(), "no card was ever created");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(1), "stopped early: not a success");
    let filed = world.trello.cards().len();
    assert!((1..9).contains(&filed), "{filed} cards after the stop");

    world.trello.faults().clear();
    let mut cmd = colisync(&config);
    cmd.args(["once", "--now", NOW]);
    let out = run(cmd).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        world.trello.cards().len(),
        9,
        "the rest filed, nothing twice"
    );
}

/// A pass run by mistake with a `--now` in the future would block every
/// real pass until the clock reaches it: `once --reset-clock` is the way
/// out, and only it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_reset_clock_is_the_way_out_of_a_mistaken_future_now() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();
    let once = |args: &[&str]| {
        let mut cmd = colisync(&config);
        cmd.arg("once").args(args);
        run(cmd)
    };
    // The mistake: a day ahead.
    let out = once(&["--now", "2026-05-20T10:00:00+02:00"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let filed = world.trello.cards().len();
    let writes = world.trello.request_count();

    // The real day: refused, nothing written, the reason and the way out said.
    let out = once(&["--now", NOW]).await;
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("earlier than the last pass"), "{said}");
    assert!(said.contains("--reset-clock"), "{said}");
    assert_eq!(world.trello.request_count(), writes, "not even a read");

    // The admin resets the clock: the pass runs at its own instant.
    let out = once(&["--now", NOW, "--reset-clock"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Forgot the last writing pass's instant"),
        "{stdout}"
    );
    assert_eq!(world.trello.cards().len(), filed, "no duplicate");
    // And from there time moves forward again as usual.
    let out = once(&["--now", "2026-05-19T10:15:00+02:00"]).await;
    assert!(out.status.success());
    // --reset-clock never goes with --dry-run.
    let out = once(&["--dry-run", "--reset-clock"]).await;
    assert!(!out.status.success());
}

/// `advise` needs no state: against the fakes, with no state directory, it
/// prints each procedure's advice in French, touches neither the state nor
/// the board, and fails on an unknown order as `explain` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advise_speaks_french_without_a_state() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml(&world, &state_dir)).unwrap();

    // Originals validated exactly 10 business days ago: still in time.
    let mut cmd = colisync(&config);
    cmd.args(["advise", "100004", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    for needle in [
        "Retard d'expédition",
        "10 j ouvrés sur 10",
        "« Origine – délai »",
        "Modification d'adresse",
        "informez un lead tout de suite",
        "Colis perdu (livré mais pas reçu)",
        "Aucun retour en cours.",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from\n{stdout}");
    }
    // The demo's Chronopost parcel on its way back.
    let mut cmd = colisync(&config);
    cmd.args(["advise", "100010", "--now", NOW]);
    let out = run(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("en retour depuis le"), "{stdout}");
    assert!(
        stdout.contains("retourné à l'expéditeur : voir « Retour expéditeur »"),
        "{stdout}"
    );
    assert_no_secret(&stdout);

    let mut cmd = colisync(&config);
    cmd.args(["advise", "999999", "--now", NOW]);
    let out = run(cmd).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("999999"));

    assert!(!state_dir.exists(), "advise created the state directory");
    let writes = world
        .trello
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.method != "GET")
        .count();
    assert_eq!(writes, 0);
}
