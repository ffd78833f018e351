//! Benchmarks. Not tests (timings on a shared machine are no verdict):
//! `colisync bench` or the examples print the reports (BENCHMARKS.md).
//!
//! - `judge`: a synthetic shop of N open orders judged on one thread, as
//!   every pass does (time-based rules fire without any change upstream,
//!   so judge runs over every open order on every pass). Target: 100,000
//!   orders in under 200 ms on one core.
//!   `cargo run --release -p colisync-cli --example bench_judge`.
//! - `sync`: one real pass of the engine filing N cards against the fakes,
//!   the Trello fake enforcing its 100 requests / 10 s window, then a
//!   second pass. Targets: at most 1.05 Trello requests per card,
//!   no 429, at least 90 % of the limit's throughput; the second pass
//!   writes nothing. `cargo run --release -p colisync-cli --example bench_sync`.

use std::collections::BTreeMap;
use std::fmt;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

use colisync::config::RulesConfig;
use colisync::domain::calendar::Calendar;
use colisync::domain::{
    Carrier, Classifier, Customer, Item, Order, OrderState, Parcel, Shipment, Track, TrackingEvent,
    TrackingSnapshot, parcels_of,
};
use colisync::http::RetryPolicy;
use colisync::pass::{Engine, Stop};
use colisync::rules::{Judge, judge};
use colisync::state::State;
use colisync::tracking::status::normalise;
use colisync_testkit::sample::{late_orders, reference_now};
use colisync_testkit::world::World;
use colisync_testkit::{LoggedRequest, route_of};

/// What [`judge_bench`] measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub(crate) orders: usize,
    pub(crate) parcels: usize,
    pub(crate) findings: usize,
    pub(crate) runs: usize,
    /// Best of `runs` passes of [`Judge::findings`] over every order (what
    /// the daemon does each pass).
    pub(crate) best: Duration,
    pub(crate) median: Duration,
    /// One pass of the traced [`judge`] (what `explain` does, per order).
    pub(crate) traced: Duration,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = |d: Duration| d.as_nanos() as f64 / self.orders.max(1) as f64;
        writeln!(
            f,
            "judge: {} open orders, {} parcels, {} findings, one thread",
            self.orders, self.parcels, self.findings
        )?;
        writeln!(
            f,
            "  findings pass: best {:.1} ms, median {:.1} ms of {} runs ({:.0} ns/order)",
            self.best.as_secs_f64() * 1e3,
            self.median.as_secs_f64() * 1e3,
            self.runs,
            per(self.best)
        )?;
        write!(
            f,
            "  with traces:   {:.1} ms ({:.0} ns/order)",
            self.traced.as_secs_f64() * 1e3,
            per(self.traced)
        )
    }
}

/// Tiny deterministic generator (xorshift): the same shop every run, and
/// no dependency on `rand`'s API.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The instant the synthetic shop is judged at.
pub(crate) fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A synthetic shop of `n` open orders with their parcels: unshipped
/// compatible (40 %) and original (10 %) orders, shipped letters (15 %),
/// Colissimo (25 %) and Chronopost (10 %) parcels with 0 to 5 events,
/// validated or shipped up to a month before [`bench_now`].
pub(crate) fn synthetic_shop(n: usize) -> Vec<(Order, Vec<Parcel>)> {
    let classifier = Classifier::seed_defaults();
    let now = bench_now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let codes = ["PC1", "ET1", "ET2", "MD2", "AG1", "ND1", "RE1", "DI1"];
    (0..n)
        .map(|i| {
            let kind = rng.below(100);
            let validated = now - chrono::Duration::minutes(rng.below(30 * 24 * 60) as i64);
            let original = (40..50).contains(&kind) || rng.below(10) == 0;
            let mut items = vec![Item {
                sku: format!("CMP-{}", rng.below(500)),
                name: "Cartouche compatible".into(),
                qty: 1.0,
                qty_to_ship: None,
            }];
            if original {
                items.push(Item {
                    sku: format!("ORI-{}", rng.below(500)),
                    name: "Cartouche d'origine".into(),
                    qty: 1.0,
                    qty_to_ship: None,
                });
            }
            let (method, carrier) = match kind {
                0..50 => ("colissimo_homecl", Carrier::Colissimo),
                50..65 => ("flatrate_flatrate", Carrier::Letter),
                65..90 => ("colissimo_homecl", Carrier::Colissimo),
                _ => ("chronopost_13", Carrier::Chronopost),
            };
            let mut order = Order {
                entity_id: i as u64 + 1,
                increment_id: format!("{}", 100_000 + i),
                state: OrderState::Processing,
                status: "processing".into(),
                customer: Customer {
                    firstname: "Jeanne".into(),
                    lastname: "Dupont".into(),
                    email: "jeanne@example.fr".into(),
                },
                items,
                shipping_method: Some(method.into()),
                created_at: validated,
                updated_at: validated,
                invoices: vec![validated],
                status_history: vec![],
                shipments: vec![],
            };
            if kind < 50 {
                return (order, Vec::new());
            }
            let shipped = validated + chrono::Duration::hours(rng.below(48) as i64);
            let shipped = shipped.min(now);
            order.state = OrderState::Complete;
            order.shipments = vec![Shipment {
                entity_id: i as u64 + 1,
                created_at: shipped,
                tracks: if carrier == Carrier::Letter {
                    vec![]
                } else {
                    vec![Track {
                        number: format!("6A{:011}", i),
                        carrier_code: "custom".into(),
                        title: String::new(),
                        created_at: shipped,
                    }]
                },
            }];
            let mut parcels = parcels_of(&order, &classifier);
            if carrier != Carrier::Letter {
                let count = rng.below(6) as usize;
                let mut at = shipped;
                let mut events: Vec<TrackingEvent> = (0..count)
                    .map(|k| {
                        at += chrono::Duration::hours(2 + rng.below(40) as i64);
                        let code = if k == 0 {
                            "DR1"
                        } else {
                            codes[rng.below(codes.len() as u64) as usize]
                        };
                        TrackingEvent {
                            code: code.into(),
                            label: "Événement".into(),
                            at: at.min(now),
                        }
                    })
                    .collect();
                events.reverse(); // newest first
                for p in &mut parcels {
                    p.tracking = Some(TrackingSnapshot {
                        fetched_at: now,
                        status: normalise(&events),
                        events: events.clone(),
                        is_final: false,
                        product: None,
                    });
                }
            }
            (order, parcels)
        })
        .collect()
}

/// Judges a synthetic shop of `orders` open orders on this thread: best
/// and median of several passes, and one traced pass.
pub fn judge_bench(orders: usize) -> BenchReport {
    let shop = synthetic_shop(orders);
    let cal = Calendar::france();
    let cfg = RulesConfig::seed_defaults();
    let classifier = Classifier::seed_defaults();
    let now = bench_now();
    let parcels = shop.iter().map(|(_, p)| p.len()).sum();

    let runs = 7;
    let mut times = Vec::with_capacity(runs);
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let judge = Judge::new(&cal, &cfg, &classifier, now);
        let mut count = 0;
        for (order, parcels) in &shop {
            count += black_box(judge.findings(black_box(order), parcels)).len();
        }
        times.push(start.elapsed());
        findings = count;
    }
    times.sort();

    let start = Instant::now();
    for (order, parcels) in &shop {
        black_box(judge(order, parcels, &cal, &cfg, &classifier, now));
    }
    let traced = start.elapsed();

    BenchReport {
        orders,
        parcels,
        findings,
        runs,
        best: times[0],
        median: times[runs / 2],
        traced,
    }
}

/// The Trello fake's rate limit the sync benchmark runs under (Trello's
/// own: 100 requests per 10 s per token).
pub(crate) const SYNC_BENCH_LIMIT: (u32, Duration) = (100, Duration::from_secs(10));

/// What [`sync_bench`] measured.
#[derive(Debug, Clone)]
pub struct SyncBenchReport {
    /// Late orders in the shop (each calls for one card).
    pub(crate) orders: u32,
    pub(crate) limit: (u32, Duration),
    // ---- pass 1
    /// Cards on the fake board after pass 1.
    pub(crate) cards: usize,
    /// Every request that reached the Trello fake in pass 1 (429s
    /// included).
    pub(crate) trello_requests: usize,
    /// Pass 1 requests per route (`"POST /1/cards"` → n).
    pub(crate) trello_routes: BTreeMap<String, usize>,
    /// 429s the fake answered (pass 1 and 2).
    pub(crate) rate_limited: usize,
    /// Wall time of `run_pass` (pull, judge, board read, apply).
    pub(crate) pass1_wall: Duration,
    /// From the first to the last Trello request of pass 1.
    pub(crate) trello_span: Duration,
    /// From the first to the last `POST /1/cards`.
    pub(crate) create_span: Duration,
    /// Trello requests sent inside `create_span` (both ends included).
    pub(crate) requests_in_create_span: usize,
    /// The most requests the fake saw in any window of `limit.1`.
    pub(crate) max_in_window: usize,
    pub(crate) pass1_errors: Vec<String>,
    // ---- pass 2
    pub(crate) pass2_wall: Duration,
    pub(crate) pass2_trello: usize,
    pub(crate) pass2_trello_writes: usize,
    pub(crate) pass2_trello_routes: BTreeMap<String, usize>,
    pub(crate) pass2_magento: usize,
    pub(crate) pass2_laposte: usize,
    pub(crate) pass2_actions: usize,
    pub(crate) pass2_errors: Vec<String>,
}

impl SyncBenchReport {
    /// The limit as a sustained rate, requests per second.
    pub(crate) fn limit_rate(&self) -> f64 {
        f64::from(self.limit.0) / self.limit.1.as_secs_f64()
    }

    pub(crate) fn requests_per_card(&self) -> f64 {
        self.trello_requests as f64 / self.cards.max(1) as f64
    }

    /// Requests per second between the first and the last `POST /1/cards`
    /// (n requests over that span count n − 1 intervals): the write phase,
    /// where the limiter sets the pace.
    pub(crate) fn write_rate(&self) -> f64 {
        rate(self.requests_in_create_span, self.create_span)
    }

    /// Requests per second between the first and the last Trello request.
    pub(crate) fn trello_rate(&self) -> f64 {
        rate(self.trello_requests, self.trello_span)
    }

    /// [`Self::write_rate`] as a percentage of the limit's sustained rate.
    pub(crate) fn write_percent_of_limit(&self) -> f64 {
        100.0 * self.write_rate() / self.limit_rate()
    }

    pub(crate) fn trello_percent_of_limit(&self) -> f64 {
        100.0 * self.trello_rate() / self.limit_rate()
    }
}

fn rate(requests: usize, span: Duration) -> f64 {
    if requests < 2 || span.is_zero() {
        return 0.0;
    }
    (requests - 1) as f64 / span.as_secs_f64()
}

impl fmt::Display for SyncBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let routes = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} ×{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "sync: {} late orders, Trello fake limited to {} requests / {} s ({:.1} req/s)",
            self.orders,
            self.limit.0,
            self.limit.1.as_secs_f64(),
            self.limit_rate()
        )?;
        writeln!(
            f,
            "  pass 1: {} cards filed in {:.1} s; {} Trello requests ({:.3} per card), {} × 429",
            self.cards,
            self.pass1_wall.as_secs_f64(),
            self.trello_requests,
            self.requests_per_card(),
            self.rate_limited
        )?;
        writeln!(f, "    routes: {}", routes(&self.trello_routes))?;
        writeln!(
            f,
            "    write phase: {} requests in {:.2} s between the first and last card create = {:.2} req/s, {:.1} % of the limit",
            self.requests_in_create_span,
            self.create_span.as_secs_f64(),
            self.write_rate(),
            self.write_percent_of_limit()
        )?;
        writeln!(
            f,
            "    all Trello requests: {:.2} s first to last = {:.2} req/s, {:.1} % of the limit; at most {} in any {} s window",
            self.trello_span.as_secs_f64(),
            self.trello_rate(),
            self.trello_percent_of_limit(),
            self.max_in_window,
            self.limit.1.as_secs_f64()
        )?;
        if !self.pass1_errors.is_empty() {
            writeln!(f, "    errors: {:?}", self.pass1_errors)?;
        }
        writeln!(
            f,
            "  pass 2: {:.0} ms, {} actions; Trello {} requests ({} writes), Magento {}, La Poste {}",
            ms(self.pass2_wall),
            self.pass2_actions,
            self.pass2_trello,
            self.pass2_trello_writes,
            self.pass2_magento,
            self.pass2_laposte
        )?;
        write!(
            f,
            "    Trello routes: {}",
            routes(&self.pass2_trello_routes)
        )?;
        if !self.pass2_errors.is_empty() {
            write!(f, "\n    errors: {:?}", self.pass2_errors)?;
        }
        Ok(())
    }
}

/// Requests per `"METHOD route"`.
fn per_route(requests: &[LoggedRequest]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in requests {
        *m.entry(format!("{} {}", r.method, route_of(&r.path)))
            .or_insert(0) += 1;
    }
    m
}

/// The most arrival times within any half-open window `[t, t + window)`,
/// the fake's accounting.
fn max_in_window(times: &[tokio::time::Instant], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while t.duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// A fresh state directory under the system's temporary directory,
/// removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "colisync-bench-sync-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One real pass filing `cards` cards (a shop of `cards` late orders)
/// against the fakes, the Trello fake enforcing [`SYNC_BENCH_LIMIT`] and the
/// engine using the default retry policy, then a second pass at the same
/// instant. Takes about `cards / 9.4` seconds: the limit sets the pace.
pub async fn sync_bench(cards: u32) -> anyhow::Result<SyncBenchReport> {
    let limit = SYNC_BENCH_LIMIT;
    let world = World::start(&late_orders(cards), Some(limit)).await?;
    let dir = TempDir::new()?;
    let config = world.config(&dir.0);
    let state = State::open(&dir.0)?;
    let mut engine = Engine::with_retry(config, state, RetryPolicy::default())?;
    let now = reference_now();
    let stop = Stop::default();

    // ---- pass 1
    let started = Instant::now();
    let first = engine.run_pass(now, &stop, false).await;
    let pass1_wall = started.elapsed();
    let pass1: Vec<LoggedRequest> = world.trello.requests().all();
    let times: Vec<tokio::time::Instant> = pass1.iter().map(|r| r.at).collect();
    let span = |rs: &[&LoggedRequest]| match (rs.first(), rs.last()) {
        (Some(a), Some(b)) => b.at.duration_since(a.at),
        _ => Duration::ZERO,
    };
    let creates: Vec<&LoggedRequest> = pass1
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/1/cards")
        .collect();
    let all: Vec<&LoggedRequest> = pass1.iter().collect();
    let requests_in_create_span = match (creates.first(), creates.last()) {
        (Some(a), Some(b)) => pass1
            .iter()
            .filter(|r| r.at >= a.at && r.at <= b.at)
            .count(),
        _ => 0,
    };
    let cards_filed = world.trello.cards().len();

    // ---- pass 2
    let magento_before = world.magento.request_log().len();
    let laposte_before = world.laposte.request_log().len();
    let started = Instant::now();
    let second = engine.run_pass(now, &stop, false).await;
    let pass2_wall = started.elapsed();
    let pass2: Vec<LoggedRequest> = world
        .trello
        .requests()
        .all()
        .into_iter()
        .skip(pass1.len())
        .collect();

    Ok(SyncBenchReport {
        orders: cards,
        limit,
        cards: cards_filed,
        trello_requests: pass1.len(),
        trello_routes: per_route(&pass1),
        rate_limited: world.trello.rate_limited_count(),
        pass1_wall,
        trello_span: span(&all),
        create_span: span(&creates),
        requests_in_create_span,
        max_in_window: max_in_window(&times, limit.1),
        pass1_errors: first.all_errors(),
        pass2_wall,
        pass2_trello: pass2.len(),
        pass2_trello_writes: pass2.iter().filter(|r| r.method != "GET").count(),
        pass2_trello_routes: per_route(&pass2),
        pass2_magento: world.magento.request_log().len() - magento_before,
        pass2_laposte: world.laposte.request_log().len() - laposte_before,
        pass2_actions: second.actions.len(),
        pass2_errors: second.all_errors(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bench_runs_and_finds_problems() {
        let r = judge_bench(300);
        assert_eq!(r.orders, 300);
        assert!(r.findings > 0 && r.findings < 300, "{r}");
        assert!(r.to_string().contains("300 open orders"));
    }
}
