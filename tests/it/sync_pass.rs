//! End-to-end passes against the three fakes: the sample shop
//! files exactly the cards the rules call for, and a second pass writes
//! nothing.

use colisync::daemon::Stop;
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::state::State;
use colisync_testkit::sample::{demo_shop, reference_now};
use colisync_testkit::world::World;

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

/// SIGTERM during a pass: the creates in flight (writes are pipelined)
/// are finished and recorded, the rest waits, and the next pass files
/// exactly what was left.
#[tokio::test]
async fn a_stop_finishes_the_action_in_hand_and_the_next_pass_completes() {
    use colisync_testkit::Fault;
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
    let filed = world.trello.cards().len();
    assert!(
        (1..9).contains(&filed),
        "only the creates in flight: {filed}"
    );
    assert_eq!(
        report.apply.created, filed,
        "the cards in flight were recorded"
    );
    assert!(engine.state().pending_intents().unwrap().is_empty());

    world.trello.faults().clear();
    let report = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    assert_eq!(report.apply.created, 9 - filed);
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

/// A number La Poste refuses (400) is recorded as unknown to the carrier:
/// the pass succeeds, `tracking_not_found` files a card so that a lead fixes
/// the number, and the refused number is not asked again on every pass.
#[tokio::test]
async fn a_number_la_poste_refuses_files_tracking_not_found_without_failing_passes() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    world.laposte.reject("6A20260518007");
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path()).await;
    let report = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    let card = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with("Cmd 100007"))
        .expect("a card for the refused number");
    assert!(card.name.contains("introuvable"), "{}", card.name);

    let asked = world.laposte.requested_ids().len();
    let later = reference_now() + chrono::Duration::minutes(15);
    let report = engine.run_pass(later, &Stop::default(), false).await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    assert_eq!(
        world.laposte.requested_ids().len(),
        asked,
        "asked again at once"
    );
}

/// An order put on hold ends its problems with a comment that says so.
#[tokio::test]
async fn an_order_put_on_hold_resolves_its_card_saying_why() {
    use colisync::domain::OrderState;

    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path()).await;
    let report = engine
        .run_pass(reference_now(), &Stop::default(), false)
        .await;
    assert!(report.is_success(), "{:?}", report.all_errors());

    let mut order = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100001")
        .cloned()
        .unwrap();
    order.state = OrderState::Holded;
    order.status = "holded".into();
    order.updated_at = reference_now() + chrono::Duration::minutes(5);
    world.magento.update_order(&order);
    let later = reference_now() + chrono::Duration::minutes(15);
    let report = engine.run_pass(later, &Stop::default(), false).await;
    assert!(report.is_success(), "{:?}", report.all_errors());
    assert_eq!(report.apply.resolved, 1);
    let card = world
        .trello
        .cards()
        .into_iter()
        .find(|c| c.name.starts_with("Cmd 100001"))
        .unwrap();
    let comments = world.trello.comments(&card.id);
    assert!(
        comments.iter().any(|c| c.contains("mise en attente")),
        "{comments:?}"
    );
}

/// `colisync once` runs one process a pass: the next process counts the
/// Trello requests the last one made recently (kept in the state) instead
/// of starting with the whole window free.
#[tokio::test]
async fn the_next_process_counts_the_last_ones_recent_trello_requests() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let made = {
        let mut engine = engine(&world, dir.path()).await;
        let report = engine
            .run_pass(reference_now(), &Stop::default(), false)
            .await;
        assert!(report.is_success(), "{:?}", report.all_errors());
        let kept = engine.state().trello_recent().unwrap();
        assert!(!kept.is_empty());
        assert!(kept.len() <= world.trello.request_count());
        kept.len()
    };
    // A new engine, as a new process would build (the fake's window, 10 s,
    // outlasts this test's passes).
    let engine = engine(&world, dir.path()).await;
    let windows = engine.trello().rate_windows();
    assert_eq!(windows.len(), 2, "the key's and the token's");
    for w in windows {
        assert!(w.used() >= 1 && w.used() as usize <= made, "{}", w.used());
    }
}
