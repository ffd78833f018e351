//! Issue 5's throughput target, as counts (the timing is the benchmark's,
//! `cargo run --release -p colisync-cli --example bench_sync`,
//! BENCHMARKS.md): a shop of 250 late orders files exactly 250 cards in one
//! pass, about one Trello request per card and no 429; the next pass writes
//! nothing and makes only a handful of requests per service.
//!
//! The rate limit (fake and client alike) is raised so that the test runs
//! in seconds: the request counts do not depend on it.

use std::time::Duration;

use colisync::daemon::Stop;
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::state::State;
use colisync_testkit::route_of;
use colisync_testkit::sample::{late_orders, reference_now};
use colisync_testkit::world::World;

const CARDS: usize = 250;
/// Board reads and one-off setup of a first pass on an empty board: board
/// id, lists, labels, cards, the missing intake lists and labels.
const SETUP: usize = 12;
/// "A handful" per service for a pass with nothing to do.
const HANDFUL: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pass_files_250_cards_at_one_request_each_and_the_next_writes_nothing() {
    let limit = (1000, Duration::from_secs(1));
    let world = World::start(&late_orders(CARDS as u32), Some(limit))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = world.config(dir.path());
    config.trello.rate_limit = limit.0;
    config.trello.rate_window = limit.1;
    let state = State::open(dir.path()).unwrap();
    let mut engine = Engine::with_retry(config, state, RetryPolicy::fast()).unwrap();

    let first = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(first.is_success(), "{:?}", first.all_errors());
    assert_eq!(world.trello.cards().len(), CARDS);
    assert_eq!(first.apply.created, CARDS);
    let routes = world.trello.requests().per_route();
    let requests = world.trello.request_count();
    println!("pass 1: {requests} Trello requests: {routes:?}");
    assert_eq!(routes.get("POST /1/cards"), Some(&CARDS), "{routes:#?}");
    // ≤ 1.05 per card, and the extra requests are the pass's fixed cost,
    // not a per-card one.
    assert!(
        requests <= CARDS + SETUP && requests * 100 <= CARDS * 105,
        "{requests} Trello requests for {CARDS} cards: {routes:#?}"
    );
    assert_eq!(world.trello.rate_limited_count(), 0);

    let trello_before = world.trello.request_count();
    let magento_before = world.magento.request_log().len();
    let laposte_before = world.laposte.request_log().len();
    let second = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(second.is_success(), "{:?}", second.all_errors());
    assert!(second.actions.is_empty(), "{:#?}", second.actions);
    let pass2: Vec<_> = world
        .trello
        .requests()
        .all()
        .into_iter()
        .skip(trello_before)
        .collect();
    println!(
        "pass 2: Trello {:?}, Magento {}, La Poste {}",
        pass2
            .iter()
            .map(|r| format!("{} {}", r.method, route_of(&r.path)))
            .collect::<Vec<_>>(),
        world.magento.request_log().len() - magento_before,
        world.laposte.request_log().len() - laposte_before
    );
    let writes: Vec<_> = pass2.iter().filter(|r| r.method != "GET").collect();
    assert!(writes.is_empty(), "{writes:#?}");
    assert!(pass2.len() <= HANDFUL, "{pass2:#?}");
    let magento = world.magento.request_log().len() - magento_before;
    let laposte = world.laposte.request_log().len() - laposte_before;
    assert!(magento <= HANDFUL, "{magento} Magento requests in pass 2");
    assert!(laposte <= HANDFUL, "{laposte} La Poste requests in pass 2");
    assert_eq!(world.trello.cards().len(), CARDS);
    assert_eq!(world.trello.rate_limited_count(), 0);
}
