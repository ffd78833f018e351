//! End-to-end passes against the three fakes (issue 5): the sample shop
//! files exactly the cards the rules call for, and a second pass writes
//! nothing.

use colisync::daemon::Stop;
use colisync::daemon::pass::Engine;
use colisync::fakes::sample::{demo_shop, reference_now};
use colisync::fakes::world::World;
use colisync::http::RetryPolicy;
use colisync::state::State;

async fn engine(world: &World, dir: &std::path::Path) -> Engine {
    let config = world.config(dir);
    let state = State::open(dir).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

#[tokio::test]
async fn first_pass_files_every_rule_once_and_second_pass_writes_nothing() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path()).await;
    let report = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    let mut titles: Vec<String> = world.trello.cards().into_iter().map(|c| c.name).collect();
    titles.sort();
    for t in &titles {
        println!("{t}");
    }
    assert_eq!(titles.len(), 9, "{titles:#?}");

    let before = world.trello.request_count();
    let report = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    assert!(report.actions.is_empty(), "{:#?}", report.actions);
    let writes: Vec<_> = world
        .trello
        .requests()
        .all()
        .into_iter()
        .skip(before)
        .filter(|r| r.method != "GET")
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
}

/// SIGTERM during a pass: the create in flight is finished and recorded,
/// the rest waits, and the next pass files exactly what was left.
#[tokio::test]
async fn a_stop_finishes_the_action_in_hand_and_the_next_pass_completes() {
    use colisync::fakes::Fault;
    use std::time::Duration;

    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path()).await;
    // The fake creates the card, then takes its time to answer: the stop
    // arrives while the first create is in flight.
    world
        .trello
        .faults()
        .always("POST", "/1/cards", Fault::Slow(Duration::from_millis(150)));
    let stop = Stop::default();
    let watcher = async {
        while world.trello.cards().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.raise();
    };
    let (report, ()) = tokio::join!(engine.run_pass(reference_now(), &stop, false), watcher);
    assert!(report.stopped, "{report:?}");
    assert_eq!(world.trello.cards().len(), 1, "only the create in flight");
    assert_eq!(report.apply.created, 1, "the card in flight was recorded");
    assert!(engine.state().pending_intents().unwrap().is_empty());

    world.trello.faults().clear();
    let report = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    assert_eq!(report.apply.created, 8);
    let mut keys: Vec<_> = world
        .trello
        .cards()
        .iter()
        .filter_map(|c| colisync::board::parse_marker(&c.desc))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 9);
    assert_eq!(world.trello.cards().len(), 9);
}
