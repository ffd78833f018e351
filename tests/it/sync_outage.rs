//! End-to-end: the exit code is non-zero when any part of the pass failed,
//! after finishing everything else. With Magento down, a
//! pass still judges the snapshot in the state (time-based rules keep
//! firing), applies what it can to Trello, and reports failure.

use crate::common_sync;

use colisync::plan::Action;
use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

#[tokio::test]
async fn magento_down_still_judges_the_snapshot_applies_and_fails_the_pass() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(world.trello.cards().len(), 9);
    let cursor = engine.state().cursor().unwrap();
    assert!(cursor.is_some());

    world
        .magento
        .faults()
        .always("GET", "/rest/V1/orders", Fault::Status(503));
    let magento_before = world.magento.request_log().len();
    let r = pass(&mut engine, at_days(1)).await;

    // Failed, and says why (without the failure of anything else).
    assert!(!r.is_success());
    let errors = r.all_errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("magento"), "{errors:#?}");
    assert!(errors[0].contains("503"), "{errors:#?}");
    // Bounded retries, no storm.
    let asked = world.magento.request_log().len() - magento_before;
    assert!((1..=4).contains(&asked), "{asked} Magento requests");

    // Judged from the snapshot: every open order of the state.
    assert_eq!(r.orders_pulled, 0);
    assert!(r.orders_judged >= 13, "{}", r.orders_judged);
    // The day after, orders 100002 and 100004 became late (time alone):
    // filed. The other delays grew: cards updated.
    for k in ["order/100002", "order/100004"] {
        assert!(
            r.actions
                .iter()
                .any(|a| matches!(a, Action::Create { key, .. } if key == &common_sync::key(k))),
            "{k}: {:#?}",
            r.actions
        );
        let c = card_of(&world, &key(k));
        assert_eq!(list_name(&world, &c), "Retard d'expédition");
    }
    assert!(r.apply.is_success(), "{:#?}", r.apply);
    assert_eq!(r.apply.created, 2);
    assert!(r.apply.updated >= 4, "{:#?}", r.apply);
    let c = card_of(&world, &key("order/100001"));
    assert!(c.name.ends_with("2 j ouvrés"), "{}", c.name);
    assert_eq!(world.trello.cards().len(), 11);
    // The cursor did not move past orders it could not read.
    assert_eq!(engine.state().cursor().unwrap(), cursor);

    // Magento back: the pass succeeds and has nothing to add.
    world.magento.faults().clear();
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(1)).await;
    assert!(r.orders_pulled > 0);
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());
    assert_no_duplicate(&world);
}

#[tokio::test]
async fn magento_down_on_the_first_pass_files_nothing_and_fails() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    world
        .magento
        .faults()
        .always("GET", "/rest/V1/orders", Fault::Status(503));
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert_eq!(r.orders_judged, 0);
    assert!(world.trello.cards().is_empty());
    assert_eq!(engine.state().cursor().unwrap(), None);

    world.magento.faults().clear();
    ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(world.trello.cards().len(), 9);
}
