//! `judge` benchmark: a synthetic shop of N open orders judged on one
//! thread, as every pass does (DESIGN.md: time-based rules fire without any
//! change upstream, so judge runs over every open order on every pass).
//!
//! Not a test (timings on a shared machine are no verdict): `colisync
//! bench` or `cargo run --release --example bench_judge` print the report.
//! Target (issue 3): 100,000 orders in under 200 ms on one core.

use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

use crate::calendar::Calendar;
use crate::config::RulesConfig;
use crate::domain::{
    Carrier, Classifier, Customer, Item, Order, OrderState, Parcel, Shipment, Track, TrackingEvent,
    TrackingSnapshot, parcels_of,
};
use crate::rules::{Judge, judge};
use crate::tracking::status::normalise;

/// What [`judge_bench`] measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub orders: usize,
    pub parcels: usize,
    pub findings: usize,
    pub runs: usize,
    /// Best of `runs` passes of [`Judge::findings`] over every order (what
    /// the daemon does each pass).
    pub best: Duration,
    pub median: Duration,
    /// One pass of the traced [`judge`] (what `explain` does, per order).
    pub traced: Duration,
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
pub fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A synthetic shop of `n` open orders with their parcels: unshipped
/// compatible (40 %) and original (10 %) orders, shipped letters (15 %),
/// Colissimo (25 %) and Chronopost (10 %) parcels with 0 to 5 events,
/// validated or shipped up to a month before [`bench_now`].
pub fn synthetic_shop(n: usize) -> Vec<(Order, Vec<Parcel>)> {
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
            }];
            if original {
                items.push(Item {
                    sku: format!("ORI-{}", rng.below(500)),
                    name: "Cartouche d'origine".into(),
                    qty: 1.0,
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
