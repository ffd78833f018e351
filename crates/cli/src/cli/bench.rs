//! `colisync bench`: the benchmarks of BENCHMARKS.md, printed. Timings are
//! measured here and written down there, never asserted by tests.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::bench::{judge_bench, sync_bench_with};
use crate::bench_pass::pass_bench;

use super::commands::runtime;

pub(crate) fn bench(
    out: &mut dyn Write,
    scenario: &str,
    shops: &[u32],
    orders: usize,
    cards: u32,
    latency_ms: u64,
) -> anyhow::Result<ExitCode> {
    if matches!(scenario, "all" | "judge") {
        writeln!(out, "{}", judge_bench(orders))?;
        writeln!(out)?;
    }
    let latencies: Vec<u64> = match scenario {
        "all" => vec![0, 150],
        "backfill" => vec![latency_ms],
        _ => Vec::new(),
    };
    for latency in latencies {
        writeln!(
            out,
            "backfill: {cards} late orders against the Trello fake at 100 requests / 10 s, {latency} ms an answer (about {} s)…",
            u64::from(cards) / 10 + 2
        )?;
        let report = runtime()?.block_on(sync_bench_with(cards, Duration::from_millis(latency)))?;
        writeln!(out, "{report}")?;
        writeln!(out)?;
    }
    if matches!(scenario, "first" | "idle") {
        for &size in shops {
            writeln!(out, "pass: building a shop of {size} orders…")?;
            let report = runtime()?.block_on(pass_bench(size, scenario == "idle"))?;
            writeln!(out, "{report}")?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
