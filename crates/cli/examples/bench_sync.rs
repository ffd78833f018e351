//! `cargo run --release -p colisync-cli --example bench_sync [CARDS]`: one
//! pass filing CARDS cards (default 250) against the fakes, the Trello fake
//! enforcing 100 requests / 10 s, then a second pass (BENCHMARKS.md, "Sync
//! pass").

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cards = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(250);
    println!("{}", colisync_cli::bench::sync_bench(cards).await?);
    Ok(())
}
