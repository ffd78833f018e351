//! End-to-end: passes under
//! injected faults (Trello, Magento, La Poste: lost answers, 5xx, 429,
//! resets, truncated JSON) converge, in a bounded number of passes, to
//! exactly the board a clean run produces: same cards, same lists, same
//! labels, same comments, no duplicate; the pass after that writes nothing.
//! A bad Trello token fails the pass without a retry storm.

use crate::common_sync;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use colisync::domain::TrackingEvent;
use colisync::http::RetryPolicy;
use colisync::pass::{Engine, PassReport};
use colisync::secret::Secret;
use colisync::state::State;
use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

/// At most this many passes to converge.
const MAX_PASSES: usize = 5;

/// An engine whose Trello client waits 1 s (not the 10 s of the real
/// window) after a 429 without Retry-After, so that the test stays quick;
/// the fake enforces no rate limit here.
fn fault_engine(world: &World, dir: &Path) -> Engine {
    let mut config = world.config(dir);
    config.trello.rate_window = Duration::from_secs(1);
    let state = State::open(dir).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

/// Runs passes at `now` until one succeeds; returns how many it took.
async fn converge(engine: &mut Engine, now: DateTime<Utc>) -> (usize, PassReport) {
    let mut failures = Vec::new();
    for n in 1..=MAX_PASSES {
        let r = pass(engine, now).await;
        if r.is_success() {
            println!("converged in {n} passes; failures before: {failures:#?}");
            return (n, r);
        }
        failures.push(r.all_errors());
    }
    panic!("no successful pass in {MAX_PASSES}: {failures:#?}");
}

/// What happens in the world between the two days of the timeline: parcel
/// 6A20260511001 is delivered (its card is resolved: a comment and a move).
fn overnight(world: &World) {
    world.laposte.set_parcel(
        "6A20260511001",
        "Colissimo",
        vec![TrackingEvent {
            code: "DI1".into(),
            label: "Votre colis est livré.".into(),
            at: at_hours(20),
        }],
        true,
    );
}

/// The board of a clean run of the timeline (with or without the
/// overnight delivery).
async fn clean_view(deliver: bool) -> View {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fault_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    if deliver {
        overnight(&world);
    }
    ok_pass(&mut engine, at_days(1)).await;
    let v = view(&world);
    assert_eq!(v.cards.len(), 11, "{v:#?}");
    let comments = v.comments.values().flatten().count();
    assert_eq!(comments, usize::from(deliver), "{v:#?}");
    v
}

/// Converged: the clean board, no duplicate, and a further pass writes
/// nothing.
async fn assert_converged(world: &World, engine: &mut Engine, now: DateTime<Utc>, deliver: bool) {
    assert_no_duplicate(world);
    assert_eq!(view(world), clean_view(deliver).await);
    let before = world.trello.request_count();
    let r = ok_pass(engine, now).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    let writes = writes_since(world, before);
    assert!(writes.is_empty(), "{writes:#?}");
}

#[tokio::test]
async fn trello_faults_converge_to_the_clean_board() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fault_engine(&world, dir.path());
    let f = world.trello.faults();

    // Day one: the creates, a list and a label write and the reads go
    // wrong in every way. (Seen in the reports: a create whose answer is
    // lost twice, reset then truncated, stays in the journal and is settled
    // from the board by the next pass.)
    f.once(
        "GET",
        "/1/boards/",
        Fault::TooManyRequests { retry_after: None },
    );
    f.once("POST", "/1/lists", Fault::LoseAnswer);
    f.once("POST", "/1/boards/", Fault::LoseAnswer); // a label
    f.once("POST", "/1/cards", Fault::LoseAnswer);
    f.once("POST", "/1/cards", Fault::Status(503));
    f.once(
        "POST",
        "/1/cards",
        Fault::TooManyRequests { retry_after: None },
    );
    f.once("POST", "/1/cards", Fault::Reset);
    f.once("POST", "/1/cards", Fault::TruncatedJson);
    f.once("POST", "/1/cards", Fault::LoseAnswer);
    // Board reads fail past the retries: the first pass fails before
    // planning (faults fire in order on the first matching requests).
    f.times(4, "GET", "/1/boards/", Fault::Status(502));
    f.once(
        "POST",
        "/1/cards",
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let (n, _) = converge(&mut engine, at_days(0)).await;
    println!("day one converged in {n} passes");
    assert_eq!(f.pending(), 0, "some faults never fired");
    assert_no_duplicate(&world);
    assert_eq!(world.trello.cards().len(), 9);

    // Day two: updates (PUT), a resolve (comment, then move) and creates.
    overnight(&world);
    f.times(4, "PUT", "/1/cards/", Fault::Status(503));
    f.once("PUT", "/1/cards/", Fault::Reset);
    f.once("PUT", "/1/cards/", Fault::TruncatedJson);
    f.once("PUT", "/1/cards/", Fault::LoseAnswer);
    f.once("POST", "/1/cards/", Fault::LoseAnswer); // the resolve comment
    f.times(4, "GET", "/1/cards/", Fault::Reset); // and reading it back
    f.once("POST", "/1/cards", Fault::LoseAnswer);
    f.once("GET", "/1/boards/", Fault::TruncatedJson);
    let (n, _) = converge(&mut engine, at_days(1)).await;
    println!("day two converged in {n} passes");
    assert_eq!(f.pending(), 0, "some faults never fired");
    assert_converged(&world, &mut engine, at_days(1), true).await;
}

#[tokio::test]
async fn magento_read_faults_converge_to_the_clean_board() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fault_engine(&world, dir.path());
    let f = world.magento.faults();
    f.times(4, "GET", "/rest/V1/orders", Fault::Status(503));
    f.once("GET", "/rest/V1/orders", Fault::TruncatedJson);
    f.times(4, "GET", "/rest/V1/shipments", Fault::Reset);
    f.once("GET", "/rest/V1/invoices", Fault::TruncatedJson);
    let (n, _) = converge(&mut engine, at_days(0)).await;
    assert!(n >= 2, "the faults should have failed a pass");
    assert_eq!(f.pending(), 0);
    assert_no_duplicate(&world);
    assert_eq!(world.trello.cards().len(), 9);

    overnight(&world);
    f.times(4, "GET", "/rest/V1/orders", Fault::Reset);
    f.once("GET", "/rest/V1/shipments", Fault::Status(500));
    let (n, _) = converge(&mut engine, at_days(1)).await;
    println!("day two converged in {n} passes");
    assert_eq!(f.pending(), 0);
    assert_converged(&world, &mut engine, at_days(1), true).await;
}

/// La Poste faults once the parcels have been polled: the last known
/// tracking is kept through the outage. (On a fresh state there is none:
/// nothing is planned for a parcel never tracked whose poll failed, so its
/// card waits for La Poste to answer; tests/it/sync_evidence.rs covers that
/// case after a state loss. The first day here only has faults the retries
/// absorb.)
#[tokio::test]
async fn la_poste_read_faults_converge_to_the_clean_board() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fault_engine(&world, dir.path());
    let f = world.laposte.faults();
    f.once("GET", "/suivi/", Fault::Status(503));
    f.once("GET", "/suivi/", Fault::Reset);
    f.once("GET", "/suivi/", Fault::TruncatedJson);
    let (n, _) = converge(&mut engine, at_days(0)).await;
    assert_eq!(n, 1, "retries absorb single faults");
    assert_eq!(f.pending(), 0);

    // A day-long outage: 503s, then a truncated answer, then resets.
    f.times(4, "GET", "/suivi/", Fault::Status(503));
    f.times(4, "GET", "/suivi/", Fault::TruncatedJson);
    f.times(4, "GET", "/suivi/", Fault::Reset);
    let (n, _) = converge(&mut engine, at_days(1)).await;
    assert!(n >= 2, "the outage should have failed a pass");
    assert_eq!(f.pending(), 0);
    assert_converged(&world, &mut engine, at_days(1), false).await;
}

#[tokio::test]
async fn a_wrong_trello_token_fails_the_pass_without_a_retry_storm() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = world.config(dir.path());
    let token = config.trello.token.expose().to_owned();
    config.trello.token = Secret::new("0".repeat(64));
    let state = State::open(dir.path()).unwrap();
    let mut engine = Engine::with_retry(config, state, RetryPolicy::fast()).unwrap();
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    let errors = r.all_errors().join("\n");
    assert!(errors.contains("unauthorized"), "{errors}");
    assert!(!errors.contains(&token) && !errors.contains(&"0".repeat(64)));
    let n = world.trello.request_count();
    assert!(
        n <= 2,
        "{n} requests with a bad token: {:?}",
        world.trello.requests().per_route()
    );
    assert!(world.trello.cards().is_empty());
    // Each later pass asks once again, no more.
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert!(world.trello.request_count() - n <= 2);
}

#[tokio::test]
async fn a_401_in_the_middle_of_apply_stops_it_and_the_next_pass_completes() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fault_engine(&world, dir.path());
    // The token is refused on the first create (revoked, then restored).
    world
        .trello
        .faults()
        .once("POST", "/1/cards", Fault::Status(401));
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert!(r.apply.fatal.is_some(), "{:#?}", r.apply);
    // One refused create, then apply stopped: no retry, no other write.
    assert_eq!(world.trello.requests().count("POST", "/1/cards"), 1);
    assert!(world.trello.cards().is_empty());

    let (n, _) = converge(&mut engine, at_days(0)).await;
    assert_eq!(n, 1);
    assert_no_duplicate(&world);
    assert_eq!(world.trello.cards().len(), 9);
}

/// Against the fake enforcing Trello's real limit (100 requests / 10 s per
/// token), with the client's real pacing: an injected 429 is waited out
/// (Retry-After honoured), the fake's own limiter never refuses a request,
/// and the board is the clean one.
#[tokio::test]
async fn a_429_under_the_real_rate_limit_is_waited_out_without_tripping_the_limiter() {
    let world = World::start(&demo_shop(), Some((100, Duration::from_secs(10))))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    world.trello.faults().once(
        "POST",
        "/1/cards",
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let started = std::time::Instant::now();
    ok_pass(&mut engine, at_days(0)).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(world.trello.faults().pending(), 0);
    assert_eq!(world.trello.rate_limited_count(), 0);
    assert_eq!(world.trello.cards().len(), 9);
    assert_no_duplicate(&world);
}

#[tokio::test]
async fn a_trello_401_names_trello_once() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fault_engine(&world, dir.path());
    world
        .trello
        .faults()
        .once("POST", "/1/cards", Fault::Status(401));
    let r = pass(&mut engine, at_days(0)).await;
    let fatal = r.apply.fatal.as_ref().expect("the 401 stops apply");
    assert!(fatal.state_error().is_none(), "{fatal:?}");
    let errors = r.all_errors();
    assert!(
        errors.iter().any(|e| e.contains("unauthorized")),
        "{errors:#?}"
    );
    for e in &errors {
        assert_eq!(e.matches("trello").count(), 1, "{errors:#?}");
    }
}

#[tokio::test]
async fn a_state_failure_is_the_states_not_trellos() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A journal entry that is no intent: settling the journal fails on the
    // state, before anything is asked of Trello.
    drop(State::open(dir.path()).unwrap());
    {
        // sled lets go of its lock a moment after the drop.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let db = loop {
            match sled::open(dir.path()) {
                Ok(db) => break db,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("{e}"),
            }
        };
        db.open_tree("journal")
            .unwrap()
            .insert(7u64.to_be_bytes(), b"not json".to_vec())
            .unwrap();
        db.flush().unwrap();
    }
    let mut engine = fault_engine(&world, dir.path());
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert!(
        r.errors
            .iter()
            .any(|e| e.service() == colisync::pass::Service::State && e.state_error().is_some()),
        "{:#?}",
        r.errors
    );
    let fatal = r.apply.fatal.as_ref().expect("the state stops apply");
    assert!(fatal.state_error().is_some(), "{fatal:?}");
    let errors = r.all_errors();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("state: cannot decode journal/7")),
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| !e.contains("trello")), "{errors:#?}");
    assert_eq!(world.trello.request_count(), 0);
}
