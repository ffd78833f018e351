//! `colisync bench`: the benchmarks of BENCHMARKS.md, printed. Timings are
//! measured here and written down there, never asserted by tests.

use std::io::Write;
use std::process::ExitCode;

use crate::bench::judge_bench;

pub fn bench(out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    writeln!(out, "{}", judge_bench(100_000))?;
    Ok(ExitCode::SUCCESS)
}
