//! `colisync run` as systemd runs it: passes on the schedule, `/healthz` and
//! `/metrics`, SIGHUP with a broken file keeps the old configuration,
//! SIGTERM stops cleanly.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;

fn config_toml(world: &World, state_dir: &Path, listen: &str) -> String {
    world.config_toml(
        state_dir,
        &format!("schedule = \"*/2 * * * * *\"\nlisten = \"{listen}\""),
        // The sample shop lives in May 2026: look back far enough to see it.
        "lookback_days = 3650",
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn get(url: &str) -> Option<(u16, String)> {
    let resp = reqwest::get(url).await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}

/// Polls until `check` holds or `limit` passes (a bound, not a timing
/// assertion: it only keeps a broken daemon from hanging the test).
async fn eventually<F: FnMut() -> bool>(limit: Duration, mut check: F) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_schedule_reloads_and_stops_cleanly() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("config.toml");
    let listen = format!("127.0.0.1:{}", free_port());
    std::fs::write(&config, config_toml(&world, &state_dir, &listen)).unwrap();

    let child = Command::new(crate::common::colisync_bin())
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("COLISYNC_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Guard(child);

    assert!(
        eventually(Duration::from_secs(60), || !world.trello.cards().is_empty()).await,
        "the daemon filed no card"
    );
    let health_url = format!("http://{listen}/healthz");
    let mut health = None;
    for _ in 0..100 {
        health = get(&health_url).await;
        if health
            .as_ref()
            .is_some_and(|(_, b)| b.contains("last_pass_end\":\""))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = health.expect("/healthz answers");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    let (_, metrics) = get(&format!("http://{listen}/metrics")).await.unwrap();
    assert!(
        metrics.contains("colisync_passes_total{outcome=\"ok\"}"),
        "{metrics}"
    );
    // Judged at the real clock, the whole May 2026 sample shop is late: a
    // card per problem, each filed once.
    let filed = world.trello.cards().len();
    assert!(filed >= 9, "{filed} cards");
    assert!(
        metrics.contains(&format!(
            "colisync_trello_writes_total{{action=\"create\"}} {filed}"
        )),
        "{metrics}"
    );

    // A broken file on reload is refused; the daemon keeps running.
    std::fs::write(&config, "[daemon]\nschedule = \"every minute\"\n").unwrap();
    signal(&child.0, "-HUP");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "SIGHUP with a bad file killed the daemon"
    );
    assert!(get(&health_url).await.is_some());

    signal(&child.0, "-TERM");
    let mut status = None;
    for _ in 0..300 {
        status = child.0.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = status.expect("the daemon stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    // No duplicate after all those passes.
    assert_eq!(world.trello.cards().len(), filed);
}
