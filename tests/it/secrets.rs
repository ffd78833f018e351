//! No secret in any output, even when an upstream echoes it: the fakes
//! quote the credentials they received in their error bodies (raw and
//! percent-encoded), and neither the pass report, nor `/healthz`, nor the
//! log, nor the daemon's stderr may repeat them.

use crate::common_sync;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use colisync::config::Config;
use colisync::daemon::health::Health;
use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

/// Every spelling of every secret of `config` that must not appear.
fn spellings(config: &Config) -> Vec<String> {
    let mut all = Vec::new();
    for s in config.secrets() {
        let v = s.expose().to_owned();
        all.push(
            percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        all.push(v.to_ascii_uppercase());
        all.push(v);
    }
    all
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    let upper = text.to_ascii_uppercase();
    for s in secrets {
        assert!(
            !upper.contains(&s.to_ascii_uppercase()),
            "{what} leaks a secret: {text}"
        );
    }
}

/// The upstreams' own ways of quoting a credential back.
fn echo(world: &World, service: &str) {
    let (faults, status, content_type, template) = match service {
        "trello" => (
            world.trello.faults(),
            401,
            "text/plain",
            "Token {creds} has expired (request ?key={creds_pct})",
        ),
        "laposte" => (
            world.laposte.faults(),
            401,
            "application/json",
            r#"{"code":"UNAUTHORIZED","message":"Invalid apikey {creds} / {creds_pct}"}"#,
        ),
        _ => (
            world.magento.faults(),
            400,
            "application/json",
            r#"{"message":"Bad request for consumer %1: %2","parameters":["{creds}","{creds_pct}"]}"#,
        ),
    };
    faults.always(
        "*",
        "/",
        Fault::EchoCredentials {
            status,
            content_type: content_type.to_owned(),
            template: template.to_owned(),
        },
    );
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

#[tokio::test]
async fn echoed_secrets_of_each_service_never_reach_the_report_health_or_log() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = spellings(&world.config(dir.path()));
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for (day, service) in [(3, "trello"), (6, "laposte"), (9, "magento")] {
        world.trello.faults().clear();
        world.laposte.faults().clear();
        world.magento.faults().clear();
        echo(&world, service);
        let report = pass(&mut engine, at_days(day)).await;
        report.log_summary();
        let errors = report.all_errors();
        let joined = errors.join("\n");
        assert!(
            !report.is_success(),
            "{service}: the echo did not fail the pass"
        );
        // The fake did quote them: colisync saw the text and scrubbed it.
        assert!(
            joined.contains("[redacted]"),
            "{service}: no echo reached the report: {joined}"
        );
        assert_clean(&format!("{service}: report"), &joined, &secrets);
        assert_clean(
            &format!("{service}: report (Debug)"),
            &format!("{report:?}"),
            &secrets,
        );

        let health = Health::default();
        health.record_pass(&report, 0.1, at_days(day));
        let (_, body) = health.render_health();
        assert!(body.contains("[redacted]"), "{service}: {body}");
        assert_clean(&format!("{service}: /healthz"), &body, &secrets);
    }
    let logged = logs.text();
    assert!(logged.contains("[redacted]"), "{logged}");
    assert_clean("the log", &logged, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_never_shows_an_echoed_secret_on_healthz_or_stderr() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let secrets = spellings(&world.config(&state_dir));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        world.config_toml(
            &state_dir,
            &format!("schedule = \"*/2 * * * * *\"\nlisten = \"{listen}\""),
            "lookback_days = 3650",
        ),
    )
    .unwrap();
    for service in ["trello", "laposte", "magento"] {
        echo(&world, service);
    }

    let mut child = Command::new(crate::common::colisync_bin())
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("COLISYNC_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr as it comes, so that a full pipe never blocks the daemon.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let url = format!("http://{listen}/healthz");
    let start = Instant::now();
    let mut body = String::new();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(resp) = reqwest::get(&url).await {
            body = resp.text().await.unwrap_or_default();
            if body.contains("[redacted]") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = wait(&mut child, Duration::from_secs(30));
    let logged = reader.join().unwrap();
    assert!(status.is_some(), "the daemon did not stop");
    assert!(body.contains("degraded"), "{body}");
    assert!(
        body.contains("[redacted]"),
        "no echo reached /healthz: {body}"
    );
    assert_clean("/healthz", &body, &secrets);
    assert!(logged.contains("[redacted]"), "{logged}");
    assert_clean("stderr", &logged, &secrets);
}

fn wait(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}

#[test]
fn the_last_line_of_defence_scrubs_every_error_of_a_report() {
    use colisync::board::trello::TrelloError;
    use colisync::pass::{PassError, PassReport, Service};
    use colisync::plan::{ApplyFailure, ApplyFatal};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let world = rt.block_on(World::start(&demo_shop(), None)).unwrap();
    let config = world.config(dir.path());
    let secrets = spellings(&config);
    let key = config.trello.key.expose().to_owned();
    let token = config.laposte.api_key.expose().to_owned();
    let mut report = PassReport {
        errors: vec![PassError::trello(
            format!("built elsewhere: {key}"),
            TrelloError::NotFound { what: "x".into() },
        )],
        state_corrupt: Some(format!("x{token}y")),
        ..PassReport::default()
    };
    report.apply.failures.push(ApplyFailure {
        key: "order/1".into(),
        action: "create",
        message: format!("echo {token}"),
    });
    report.apply.fatal = Some(ApplyFatal::Board(format!("fatal {key}").into()));
    colisync::daemon::scrub_report(&mut report, &config.scrubber());
    assert_clean("scrubbed report", &format!("{report:?}"), &secrets);
    assert_eq!(
        report.all_errors(),
        vec![
            "built elsewhere: [redacted]: trello: not found: x".to_owned(),
            "create order/1: echo [redacted]".to_owned(),
            "fatal [redacted]".to_owned(),
        ]
    );
    // Scrubbed, an error still says which service failed.
    assert_eq!(report.errors[0].service(), Service::Trello);
}
