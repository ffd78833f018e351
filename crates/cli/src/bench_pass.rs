//! Whole-pass benchmarks (`colisync bench --scenario first|idle`): the
//! three fakes started here around a shop of a chosen size, and each pass
//! run by a child `colisync once` process, so that the CPU time (the
//! child's own `getrusage`, read by `wait4`), the peak resident memory
//! (the child's own `VmHWM`, see [`wait4`]) and the
//! state left on disk are the pass's alone, not the fakes' nor the
//! harness's. Figures are printed as measured and against their targets;
//! BENCHMARKS.md holds the results. Not a test: timings on a shared machine
//! are no verdict.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use colisync_testkit::sample::{reference_now, sized_shop};
use colisync_testkit::world::World;

/// Orders with work left in every benchmarked shop, whatever its size.
pub const OPEN_ORDERS: u32 = 1_000;

/// La Poste's rate for the benchmark's child passes: well above the
/// default so that a first pass over 100,000 parcels measures colisync, not
/// the configured pace (the fake has no rate limit).
const BENCH_LAPOSTE_RPS: u32 = 1_000;

/// The targets the figures are printed against.
pub const IDLE_CPU_TARGET: Duration = Duration::from_millis(300);
pub const IDLE_RSS_TARGET_MIB: f64 = 64.0;
pub const FIRST_RSS_TARGET_MIB: f64 = 256.0;
pub const STATE_TARGET_MIB: f64 = 100.0;
pub const IDLE_REQUESTS_TARGET: usize = 3;

/// One child pass, as measured.
#[derive(Debug, Clone)]
pub struct PassFigures {
    /// `"first"`, `"idle"` or `"idle again"`.
    pub name: &'static str,
    pub exit_code: Option<i32>,
    pub wall: Duration,
    /// User plus system time of the child.
    pub cpu: Duration,
    pub user: Duration,
    pub system: Duration,
    /// The child's peak resident set (its `VmHWM`, see [`wait4`]), MiB.
    pub max_rss_mib: f64,
    /// The state directory after the pass: bytes of its files, and the
    /// blocks the file system gave them, MiB.
    pub state_mib: f64,
    pub state_allocated_mib: f64,
    pub magento: usize,
    pub laposte: usize,
    pub trello: usize,
    /// The last lines the child printed (its pass report), for a failed
    /// pass.
    pub output_tail: String,
}

/// What [`pass_bench`] measured for one shop.
#[derive(Debug, Clone)]
pub struct PassBenchReport {
    pub orders: u32,
    pub open: u32,
    pub parcels: usize,
    pub passes: Vec<PassFigures>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `measured` against a ceiling: "ok" or by how much it is missed.
fn verdict(measured: f64, target: f64) -> String {
    if measured < target {
        format!("met ({:.0} % of the target)", 100.0 * measured / target)
    } else {
        format!("MISSED by {:.1}×", measured / target)
    }
}

impl fmt::Display for PassFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  {} pass: exit {}, wall {:.2} s",
            self.name,
            self.exit_code
                .map_or_else(|| "by signal".to_owned(), |c| c.to_string()),
            self.wall.as_secs_f64()
        )?;
        let cpu = self.cpu.as_secs_f64();
        if self.name.starts_with("idle") {
            writeln!(
                f,
                "    CPU {:.3} s (user {:.3}, system {:.3}); target < {:.1} s: {}",
                cpu,
                self.user.as_secs_f64(),
                self.system.as_secs_f64(),
                IDLE_CPU_TARGET.as_secs_f64(),
                verdict(cpu, IDLE_CPU_TARGET.as_secs_f64())
            )?;
        } else {
            writeln!(
                f,
                "    CPU {:.3} s (user {:.3}, system {:.3}); no target",
                cpu,
                self.user.as_secs_f64(),
                self.system.as_secs_f64()
            )?;
        }
        let rss_target = if self.name.starts_with("idle") {
            IDLE_RSS_TARGET_MIB
        } else {
            FIRST_RSS_TARGET_MIB
        };
        writeln!(
            f,
            "    peak RSS {:.1} MiB; target < {rss_target:.0} MiB: {}",
            self.max_rss_mib,
            verdict(self.max_rss_mib, rss_target)
        )?;
        writeln!(
            f,
            "    state {:.1} MiB ({:.1} MiB allocated); target < {STATE_TARGET_MIB:.0} MiB: {}",
            self.state_mib,
            self.state_allocated_mib,
            verdict(self.state_mib, STATE_TARGET_MIB)
        )?;
        write!(
            f,
            "    requests: Magento {}, La Poste {}, Trello {}",
            self.magento, self.laposte, self.trello
        )?;
        if self.name.starts_with("idle") {
            let worst = self.magento.max(self.laposte).max(self.trello);
            let all = self.magento + self.laposte + self.trello;
            let judge = |n: usize| {
                if n <= IDLE_REQUESTS_TARGET {
                    "met".to_owned()
                } else {
                    format!("MISSED ({n})")
                }
            };
            write!(
                f,
                "; target ≤ {IDLE_REQUESTS_TARGET} per service: {}; {all} in all, target ≤ {IDLE_REQUESTS_TARGET}: {}",
                judge(worst),
                judge(all)
            )?;
        }
        if self.exit_code != Some(0) {
            write!(
                f,
                "\n    the pass failed; its last output:\n{}",
                self.output_tail
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for PassBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pass: a shop of {} orders within lookback_days ({} open, {} parcels), each pass a child `colisync once`",
            self.orders, self.open, self.parcels
        )?;
        for p in &self.passes {
            write!(f, "\n{p}")?;
        }
        Ok(())
    }
}

/// Sums the sizes of the files under `dir`: (bytes, allocated bytes).
fn dir_size(dir: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            let (a, b) = dir_size(&entry.path())?;
            total.0 += a;
            total.1 += b;
        } else {
            total.0 += meta.len();
            total.1 += meta.blocks() * 512;
        }
    }
    Ok(total)
}

/// What `wait4` gave back for a child.
struct Waited {
    exit_code: Option<i32>,
    user: Duration,
    system: Duration,
    max_rss_kib: i64,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// Reaps the child `pid` and returns its own resource usage. `std`'s
/// `Child::wait` gives only the exit status, and `getrusage(RUSAGE_CHILDREN)`
/// keeps the largest peak RSS of every child reaped so far, so the idle
/// pass's would hide behind the first's.
///
/// The peak RSS is not `ru_maxrss`: Linux carries the high-water mark of
/// the memory a process replaces at `execve` into its `maxrss`
/// (`exec_mmap` → `setmax_mm_hiwater_rss`), and a child spawned from this
/// process starts in a copy of (or, spawned with `CLONE_VM`, in) this
/// process's memory, which holds the fakes and the whole shop: `ru_maxrss`
/// was this process's size, not the pass's. The peak is read instead from
/// the child's own `VmHWM` (`/proc/<pid>/status`, the high-water mark of
/// the memory `execve` gave it), polled every 2 ms until it exits; the mark
/// only grows, so the last reading is its peak but for the last 2 ms.
fn wait4(pid: u32) -> std::io::Result<Waited> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let status_file = format!("/proc/{pid}/status");
    let mut hwm_kib: i64 = 0;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            hwm_kib = hwm_kib.max(kib);
        }
        // SAFETY: both pointers are to live locals of the right types; the
        // pid is that of a child this process spawned and has not reaped.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid as libc::pid_t {
            break;
        }
        if r == 0 {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(Waited {
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        max_rss_kib: hwm_kib,
    })
}

/// `VmHWM` of a `/proc/<pid>/status`, in KiB.
fn vm_hwm_kib(status: &str) -> Option<i64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `colisync --config CONFIG once --now NOW` as a child and measures
/// it. `exe` is the `colisync` binary.
async fn child_pass(
    name: &'static str,
    exe: &Path,
    config: &Path,
    work: &Path,
    world: &World,
    state_dir: &Path,
) -> anyhow::Result<PassFigures> {
    let magento = world.magento.request_log().len();
    let laposte = world.laposte.request_log().len();
    let trello = world.trello.requests().len();
    let out_path = work.join(format!("{name}.out"));
    let out = File::create(&out_path)?;
    let err = out.try_clone()?;
    let started = Instant::now();
    let child = Command::new(exe)
        .arg("--config")
        .arg(config)
        .arg("once")
        .arg("--now")
        .arg(reference_now().to_rfc3339())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let pid = child.id();
    // The fakes run on this runtime: wait on a blocking thread.
    let waited = tokio::task::spawn_blocking(move || wait4(pid))
        .await
        .context("waiting for the child pass")?
        .context("wait4 on the child pass")?;
    drop(child);
    let wall = started.elapsed();
    let (bytes, allocated) = dir_size(state_dir)?;
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    let output_tail = lines[lines.len().saturating_sub(20)..].join("\n");
    Ok(PassFigures {
        name,
        exit_code: waited.exit_code,
        wall,
        cpu: waited.user + waited.system,
        user: waited.user,
        system: waited.system,
        max_rss_mib: waited.max_rss_kib as f64 / 1024.0,
        state_mib: mib(bytes),
        state_allocated_mib: mib(allocated),
        magento: world.magento.request_log().len() - magento,
        laposte: world.laposte.request_log().len() - laposte,
        trello: world.trello.requests().len() - trello,
        output_tail,
    })
}

/// The `colisync` binary the child passes run: this process when it is
/// `colisync` (`colisync bench`), else `COLISYNC_BIN`.
fn colisync_exe() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("COLISYNC_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().context("finding the colisync binary")?;
    anyhow::ensure!(
        exe.file_stem().is_some_and(|s| s == "colisync"),
        "{} is not the colisync binary: set COLISYNC_BIN to it",
        exe.display()
    );
    Ok(exe)
}

/// Starts the fakes around [`sized_shop`]`(orders, OPEN_ORDERS)`, with
/// Trello's 100 requests / 10 s enforced, writes the admin's configuration
/// for them, and runs a first pass on an empty state then, when `idle`,
/// two more at the same instant, when nothing has changed. Each pass is a
/// child `colisync once`.
pub async fn pass_bench(orders: u32, idle: bool) -> anyhow::Result<PassBenchReport> {
    let shop = sized_shop(orders, OPEN_ORDERS);
    let world = World::start(&shop, Some((100, Duration::from_secs(10)))).await?;
    let work = tempfile::Builder::new()
        .prefix("colisync-bench-pass-")
        .tempdir()
        .context("creating the benchmark's directory")?;
    let state_dir = work.path().join("state");
    let toml = world
        .config_toml(&state_dir, "", "page_size = 300")
        .replacen(
            "[laposte]\n",
            &format!("[laposte]\nrequests_per_second = {BENCH_LAPOSTE_RPS}\n"),
            1,
        );
    let config = work.path().join("config.toml");
    std::fs::write(&config, toml)?;
    let exe = colisync_exe()?;
    let mut passes =
        vec![child_pass("first", &exe, &config, work.path(), &world, &state_dir).await?];
    if idle {
        // Twice: sled replays at open what the previous process wrote
        // since its last snapshot, so the pass after a first pass pays for
        // the first pass's writes, and only the next shows a quiet pass
        // after a quiet one.
        passes.push(child_pass("idle", &exe, &config, work.path(), &world, &state_dir).await?);
        passes
            .push(child_pass("idle again", &exe, &config, work.path(), &world, &state_dir).await?);
    }
    Ok(PassBenchReport {
        orders,
        open: OPEN_ORDERS.min(orders),
        parcels: shop.parcels.len(),
        passes,
    })
}
