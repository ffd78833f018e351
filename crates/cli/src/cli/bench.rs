//! `colisync bench`: the benchmarks of BENCHMARKS.md, printed. Timings are
//! measured here and written down there, never asserted by tests.

use std::io::Write;
use std::process::ExitCode;

use crate::bench::{judge_bench, sync_bench};

use super::commands::runtime;

pub(crate) fn bench(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    writeln!(out, "{}", judge_bench(100_000))?;
    writeln!(out)?;
    writeln!(
        out,
        "sync: 250 late orders against the Trello fake at 100 requests / 10 s (about 30 s)…"
    )?;
    let report = runtime()?.block_on(sync_bench(250))?;
    writeln!(out, "{report}")?;
    Ok(ExitCode::SUCCESS)
}
