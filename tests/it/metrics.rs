//! `/metrics` scraped from a running daemon and parsed with a Prometheus
//! text parser: every series an admin alerts on is there, with bounded
//! labels; the first pass runs at start, not at the next tick.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use prometheus_parse::{Scrape, Value};

struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn value(v: &Value) -> f64 {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => *x,
        Value::Histogram(h) => h.iter().map(|c| c.count).fold(0.0, f64::max),
        Value::Summary(_) => f64::NAN,
    }
}

fn sum(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let hits: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| value(&s.value))
        .collect();
    (!hits.is_empty()).then(|| hits.iter().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_hold_every_series() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    // One 429 from Trello, retried by the daemon.
    world.trello.faults().once(
        "GET",
        "/1/boards",
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("config.toml");
    // A tick once a year: only the pass at start can have run.
    let toml = world.config_toml(
        &dir.path().join("state"),
        &format!("schedule = \"0 0 3 1 Jan *\"\nlisten = \"{listen}\""),
        "lookback_days = 3650",
    );
    std::fs::write(&config, toml).unwrap();
    let child = Command::new(crate::common::colisync_bin())
        .arg("--config")
        .arg(&config)
        .args(["--log-format", "json", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = Guard(child);

    let url = format!("http://{listen}/metrics");
    let start = Instant::now();
    let mut text = String::new();
    // A bound, not a timing assertion: a broken daemon must not hang the test.
    while start.elapsed() < Duration::from_secs(90) {
        if let Ok(resp) = reqwest::get(&url).await {
            text = resp.text().await.unwrap_or_default();
            if text.contains("colisync_passes_total{outcome=\"ok\"} 1") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let s = |m: &str, l: &[(&str, &str)]| {
        sum(&scrape, m, l).unwrap_or_else(|| panic!("{m} {l:?} missing:\n{text}"))
    };

    assert_eq!(
        s("colisync_passes_total", &[("outcome", "ok")]),
        1.0,
        "{text}"
    );
    assert_eq!(s("colisync_passes_total", &[("outcome", "failed")]), 0.0);
    // The histogram: parsed as one, its count equal to the passes.
    assert!(
        scrape
            .samples
            .iter()
            .any(|x| x.metric == "colisync_pass_duration_seconds"
                && matches!(x.value, Value::Histogram(_))),
        "{text}"
    );
    assert_eq!(s("colisync_pass_duration_seconds_count", &[]), 1.0);
    assert!(s("colisync_findings", &[]) >= 9.0);
    s("colisync_findings", &[("rule", "delivery_colissimo")]);
    let created = s("colisync_trello_writes_total", &[("action", "create")]);
    assert_eq!(created as usize, world.trello.cards().len());
    assert_eq!(
        s("colisync_open_cards", &[]) as usize,
        world.trello.cards().len()
    );
    s("colisync_open_cards", &[("kind", "shipping")]);
    assert!(
        s(
            "colisync_api_requests_total",
            &[("service", "trello"), ("class", "2xx")]
        ) > 0.0
    );
    assert!(
        s(
            "colisync_api_requests_total",
            &[("service", "magento"), ("class", "2xx")]
        ) > 0.0
    );
    assert!(
        s(
            "colisync_api_requests_total",
            &[("service", "laposte"), ("class", "2xx")]
        ) > 0.0
    );
    assert_eq!(
        s("colisync_api_rate_limited_total", &[("service", "trello")]),
        1.0
    );
    assert!(
        s(
            "colisync_api_rate_limit_wait_seconds_total",
            &[("service", "trello")]
        ) > 0.0
    );
    assert!(s("colisync_laposte_numbers_polled_total", &[]) > 0.0);
    assert_eq!(s("colisync_undecodable_orders", &[]), 0.0);
    assert!(s("colisync_last_success_timestamp_seconds", &[]) > 1.7e9);
    assert_eq!(
        s(
            "colisync_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Bounded labels only: no order number, no tracking number.
    for sample in &scrape.samples {
        for (k, v) in sample.labels.iter() {
            assert!(
                [
                    "outcome", "rule", "kind", "action", "service", "class", "version", "le"
                ]
                .contains(&k.as_str()),
                "unbounded label {k}={v}"
            );
        }
    }
}
