//! End-to-end (issue "Never lose a problem: resolve only on evidence";
//! architecture invariant: a card is resolved only on evidence that its
//! problem ended, never on missing data). A lost state followed by an
//! upstream failure writes nothing, and the board then converges to the
//! clean run's; a problem older than `lookback_days` keeps its card after a
//! state loss; a lead's edited or removed marker takes no card over; a pass
//! earlier than the last writing one writes nothing.

use crate::common_sync;

use std::path::{Path, PathBuf};

use colisync::daemon::Stop;
use colisync::domain::{OrderState, Shipment, Track, TrackingEvent};
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::plan::Action;
use colisync::state::{CardStatus, State};
use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

/// An engine on `world` with its state in `dir` and `lookback_days`.
fn engine_with_lookback(world: &World, dir: &Path, lookback_days: u32) -> Engine {
    let mut config = world.config(dir);
    config.magento.lookback_days = lookback_days;
    config.trello.rate_window = std::time::Duration::from_millis(100);
    let state = State::open(dir).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

/// Parcel 6A20260511001 is delivered overnight (as in tests/it/sync_faults.rs).
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

/// The board of a clean run: day 0, then (after the overnight delivery)
/// day 1.
async fn clean_views() -> (View, View) {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let day0 = view(&world);
    overnight(&world);
    ok_pass(&mut engine, at_days(1)).await;
    (day0, view(&world))
}

/// How the state is lost.
#[derive(Debug, Clone, Copy)]
enum Loss {
    /// A fresh state directory.
    Fresh,
    /// The directory moved aside (what corruption recovery does).
    MovedAside,
}

fn lose_state(engine: Engine, dir: &Path, loss: Loss) -> PathBuf {
    drop(engine);
    match loss {
        Loss::Fresh => tempfile::tempdir().unwrap().keep(),
        Loss::MovedAside => {
            let aside = dir.with_extension("aside");
            std::fs::rename(dir, &aside).expect("move the state aside");
            dir.to_path_buf()
        }
    }
}

/// One upstream failure, injected for as long as it lasts.
#[derive(Debug, Clone, Copy)]
enum Outage {
    MagentoOrders503,
    MagentoTruncatedJson,
    MagentoShipments404,
    LaPoste503,
}

fn start(world: &World, outage: Outage) {
    match outage {
        Outage::MagentoOrders503 => {
            world
                .magento
                .faults()
                .always("GET", "/rest/V1/orders", Fault::Status(503))
        }
        Outage::MagentoTruncatedJson => {
            world
                .magento
                .faults()
                .always("GET", "/rest/V1/orders", Fault::TruncatedJson)
        }
        Outage::MagentoShipments404 => {
            world
                .magento
                .faults()
                .always("GET", "/rest/V1/shipments", Fault::Status(404))
        }
        Outage::LaPoste503 => world
            .laposte
            .faults()
            .always("GET", "/suivi/", Fault::Status(503)),
    }
}

fn end(world: &World) {
    world.magento.faults().clear();
    world.laposte.faults().clear();
}

async fn state_loss_then(outage: Outage, loss: Loss) {
    let (clean_day0, clean_day1) = clean_views().await;
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap().keep();
    let mut engine = fast_engine(&world, &dir);
    ok_pass(&mut engine, at_days(0)).await;
    let before_view = view(&world);
    assert_eq!(before_view, clean_day0);

    let dir = lose_state(engine, &dir, loss);
    let mut engine = fast_engine(&world, &dir);
    start(&world, outage);
    let before = world.trello.request_count();
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success(), "{outage:?}: the outage must fail the pass");
    if !matches!(outage, Outage::LaPoste503) {
        // The open cards' orders could not be looked up either: said so.
        let errors = r.all_errors().join("\n");
        assert!(errors.contains("looking up the orders"), "{errors}");
    }
    let writes = writes_since(&world, before);
    assert!(writes.is_empty(), "{outage:?} after {loss:?}: {writes:#?}");
    assert!(
        !r.actions.iter().any(Action::writes_board),
        "{outage:?}: {:#?}",
        r.actions
    );
    assert_eq!(view(&world), before_view, "{outage:?}: a card moved");
    // A second pass still in the outage: the same.
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert!(writes_since(&world, before).is_empty(), "{outage:?}");

    // The service is back: nothing to write, the clean board.
    end(&world);
    let before = world.trello.request_count();
    ok_pass(&mut engine, at_days(0)).await;
    let writes = writes_since(&world, before);
    assert!(writes.is_empty(), "{outage:?}: {writes:#?}");
    assert_eq!(view(&world), clean_day0, "{outage:?}");
    // And the next day is the clean run's next day.
    overnight(&world);
    ok_pass(&mut engine, at_days(1)).await;
    assert_no_duplicate(&world);
    assert_eq!(view(&world), clean_day1, "{outage:?}");
}

#[tokio::test]
async fn a_lost_state_then_magento_503_writes_nothing() {
    state_loss_then(Outage::MagentoOrders503, Loss::Fresh).await;
}

#[tokio::test]
async fn a_state_moved_aside_then_truncated_json_writes_nothing() {
    state_loss_then(Outage::MagentoTruncatedJson, Loss::MovedAside).await;
}

#[tokio::test]
async fn a_lost_state_then_shipments_404_writes_nothing() {
    state_loss_then(Outage::MagentoShipments404, Loss::Fresh).await;
}

#[tokio::test]
async fn a_state_moved_aside_then_la_poste_503_writes_nothing() {
    state_loss_then(Outage::LaPoste503, Loss::MovedAside).await;
}

/// Order 100003 (an original cartridge waiting since 29 April, last
/// updated on 4 May) is older than a 10-day `lookback_days`: after a state
/// loss the pull does not bring it back. Its open card makes the pass look
/// it up; it is judged, still late, and its card stays open (updated as its
/// delay grows). It is resolved only once Magento says the order ended.
#[tokio::test]
async fn after_a_state_loss_an_order_older_than_lookback_keeps_its_card() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_with_lookback(&world, dir.path(), 90);
    ok_pass(&mut engine, at_days(0)).await;
    let old_key = key("order/100003");
    let card = card_of(&world, &old_key);
    let list = list_name(&world, &card);
    drop(engine);

    let fresh = tempfile::tempdir().unwrap();
    let mut engine = engine_with_lookback(&world, fresh.path(), 10);
    for d in [0, 1, 2] {
        let r = ok_pass(&mut engine, at_days(d)).await;
        assert!(
            !r.actions
                .iter()
                .any(|a| a.key() == &old_key && a.kind() == "resolve"),
            "day {d}: {:#?}",
            r.actions
        );
        let now = world.trello.card(&card.id).unwrap();
        assert!(!now.closed);
        assert_eq!(list_name(&world, &now), list, "day {d}");
        assert!(world.trello.comments(&card.id).is_empty(), "day {d}");
        assert_eq!(cards_of(&world, &old_key).len(), 1);
        let rec = engine.state().card(&old_key).unwrap().expect("adopted");
        assert_eq!(rec.card_id, card.id);
        assert_eq!(rec.status, CardStatus::Open);
    }
    assert!(
        engine.state().order(3).unwrap().is_some(),
        "kept in the state"
    );

    // Magento says it ended: cancelled (its updated_at moves).
    let mut order = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100003")
        .unwrap()
        .clone();
    order.state = OrderState::Canceled;
    order.status = "canceled".into();
    order.updated_at = at_days(2) + chrono::Duration::hours(1);
    world.magento.update_order(&order);
    let r = ok_pass(&mut engine, at_days(2) + chrono::Duration::hours(2)).await;
    assert!(
        r.actions
            .iter()
            .any(|a| a.key() == &old_key && a.kind() == "resolve"),
        "{:#?}",
        r.actions
    );
    let now = world.trello.card(&card.id).unwrap();
    assert_eq!(list_name(&world, &now), "Résolu");
    let comments = world.trello.comments(&card.id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("commande annulée"), "{comments:?}");
}

/// A lead edits the marker of one card into another ongoing problem's key
/// and removes the marker of another. Over three passes every ongoing
/// problem keeps exactly one card, the one it had; nothing is resolved.
#[tokio::test]
async fn an_edited_or_removed_marker_keeps_one_card_per_problem() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let initial = engine.state().cards().unwrap();
    assert_eq!(initial.len(), 9);

    let typo = card_of(&world, &key("parcel/100005/6A20260511001"));
    world.trello.set_card_desc(
        &typo.id,
        &typo
            .desc
            .replace("parcel/100005/6A20260511001", "order/100001"),
    );
    // And one into the key of a problem that has no card yet (order
    // 100002 becomes late on day 1).
    let early = card_of(&world, &key("parcel/100009/6A20260513009"));
    world.trello.set_card_desc(
        &early.id,
        &early
            .desc
            .replace("parcel/100009/6A20260513009", "order/100002"),
    );
    let bare = card_of(&world, &key("order/100003"));
    let stripped: String = bare
        .desc
        .lines()
        .filter(|l| !l.contains("colisync-key"))
        .collect::<Vec<_>>()
        .join("\n");
    world.trello.set_card_desc(&bare.id, &stripped);

    for (n, now) in [at_hours(1), at_days(1), at_days(2)]
        .into_iter()
        .enumerate()
    {
        let r = ok_pass(&mut engine, now).await;
        assert!(
            !r.actions.iter().any(|a| a.kind() == "resolve"),
            "pass {n}: {:#?}",
            r.actions
        );
        let records = engine.state().cards().unwrap();
        for (k, rec) in &initial {
            let now_rec = &records[k];
            assert_eq!(now_rec.card_id, rec.card_id, "pass {n}: {k} changed card");
            assert_eq!(now_rec.status, CardStatus::Open, "pass {n}: {k}");
            let card = world.trello.card(&rec.card_id).unwrap();
            assert!(!card.closed);
            assert_ne!(list_name(&world, &card), "Résolu", "pass {n}: {k}");
        }
        // One card per recorded problem: no card filed for the edited keys,
        // and no two records share a card.
        let ids: std::collections::BTreeSet<&String> =
            records.values().map(|r| &r.card_id).collect();
        assert_eq!(ids.len(), records.len(), "pass {n}: {records:#?}");
        for k in [
            "order/100001",
            "parcel/100005/6A20260511001",
            "order/100003",
            "parcel/100009/6A20260513009",
            "order/100002",
        ] {
            let k = key(k);
            if !records.contains_key(&k) {
                assert_eq!(n, 0, "{k} has no card after day 0");
                continue;
            }
            let claimed = world
                .trello
                .cards()
                .into_iter()
                .filter(|c| {
                    c.id == records[&k].card_id
                        || (key_of(c).as_ref() == Some(&k) && !ids.contains(&c.id))
                })
                .count();
            assert_eq!(claimed, 1, "pass {n}: {k}");
        }
        assert!(world.trello.comments(&typo.id).is_empty(), "pass {n}");
        assert!(world.trello.comments(&bare.id).is_empty(), "pass {n}");
        assert!(world.trello.comments(&early.id).is_empty(), "pass {n}");
    }
    // Order 100002 got a card of its own; the card whose marker a lead
    // edited into its key (an incident card, whose text does not change)
    // still carries that marker and is still parcel 100009's card.
    let records = engine.state().cards().unwrap();
    let own = &records[&key("order/100002")].card_id;
    assert_ne!(own, &early.id);
    assert_eq!(
        records[&key("parcel/100009/6A20260513009")].card_id,
        early.id
    );
    // The delays of the other two grew: rewritten, their markers with them.
    for card in [&typo, &bare] {
        let now = world.trello.card(&card.id).unwrap();
        assert_eq!(
            key_of(&now).as_ref(),
            initial
                .iter()
                .find(|(_, r)| r.card_id == card.id)
                .map(|(k, _)| k)
        );
    }
}

/// Time only moves forward: a pass at T, then at T − 1 day (writes nothing,
/// fails saying why; a dry run still plans and says so), then at T again
/// (nothing new).
#[tokio::test]
async fn a_pass_earlier_than_the_last_writing_one_writes_nothing() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(1)).await;
    let board = view(&world);
    assert_eq!(
        engine.state().last_write_at().unwrap(),
        Some(at_days(1)),
        "the writing pass's instant is stored"
    );

    let before = world.trello.request_count();
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    let errors = r.all_errors().join("\n");
    assert!(errors.contains("earlier than the last pass"), "{errors}");
    assert!(errors.contains("--now"), "{errors}");
    assert!(r.actions.is_empty());
    assert_eq!(
        world.trello.request_count(),
        before,
        "not even a read or a settle"
    );
    assert_eq!(view(&world), board);

    // A dry run at T − 1 still plans, and says a real pass would not write.
    let r = engine.run_pass(at_days(0), &Stop::default(), true).await;
    assert!(r.clock_behind.is_some());
    let mut out = Vec::new();
    colisync_cli::cli::commands::print_report(&mut out, &r).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Dry run"), "{out}");
    assert!(out.contains("would write nothing"), "{out}");
    assert!(writes_since(&world, before).is_empty());

    let r = ok_pass(&mut engine, at_days(1)).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());
    assert_eq!(view(&world), board);
}

/// A finding that disappears while its order is still open, with nothing
/// saying the problem ended (here: its rule is disabled), is no evidence:
/// the card stays as it is, no write. It is resolved when Magento says the
/// order shipped.
#[tokio::test]
async fn a_disabled_rule_leaves_its_cards_alone_until_evidence() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let k = key("order/100001");
    let card = card_of(&world, &k);
    drop(engine);

    let mut config = world.config(dir.path());
    config.trello.rate_window = std::time::Duration::from_millis(100);
    config.rules.shipping_compatible.enabled = false;
    let state = State::open(dir.path()).unwrap();
    let mut engine = Engine::with_retry(config, state, RetryPolicy::fast()).unwrap();
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_hours(1)).await;
    assert!(r.actions.iter().all(|a| a.key() != &k), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());
    assert_eq!(world.trello.card(&card.id).unwrap(), card);

    // Magento: shipped. Evidence: resolved.
    let mut order = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100001")
        .unwrap()
        .clone();
    order.state = OrderState::Complete;
    order.status = "complete".into();
    order.updated_at = at_hours(2);
    order.shipments = vec![Shipment {
        entity_id: 7001,
        created_at: at_hours(2),
        tracks: vec![Track {
            number: "6A20260519001".into(),
            carrier_code: "colissimo".into(),
            title: "Colissimo".into(),
            created_at: at_hours(2),
        }],
    }];
    world.magento.update_order(&order);
    let r = ok_pass(&mut engine, at_hours(3)).await;
    assert!(
        r.actions
            .iter()
            .any(|a| a.key() == &k && a.kind() == "resolve"),
        "{:#?}",
        r.actions
    );
    let comments = world.trello.comments(&card.id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("commande expédiée"), "{comments:?}");
}
