//! `cargo run --release -p colisync-cli --example bench_judge [ORDERS]`:
//! times the rules over a synthetic shop (default 100,000 open orders) on
//! one thread.

fn main() {
    let orders = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    println!("{}", colisync_cli::bench::judge_bench(orders));
}
