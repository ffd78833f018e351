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
