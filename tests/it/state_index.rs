//! The store's indexes: a pass loads and judges only the open work. Orders
//! delivered in full are taken out of the open index once judged, are not
//! loaded by later passes, and come back when Magento changes them; the
//! store's own accessors keep the indexes in step with every write.

use colisync::daemon::Stop;
use colisync::domain::{OrderState, TrackingSnapshot};
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::state::{ParcelRecord, State};
use colisync_testkit::sample::{reference_now, sized_shop};
use colisync_testkit::world::World;

use crate::state_store::{at, order, parcel};

#[test]
fn writes_keep_the_open_index_the_order_times_and_the_followed_parcels() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let open = order(1, OrderState::Processing);
    state.put_order(&open).unwrap();
    state.put_order(&order(2, OrderState::Canceled)).unwrap();
    state.put_order(&order(3, OrderState::Complete)).unwrap();
    // Cancelled and closed orders are never loaded for judging.
    assert_eq!(state.active_order_ids().unwrap(), vec![1, 3]);
    assert_eq!(state.stored_updated_at(2).unwrap(), Some(at(9)));
    assert_eq!(state.stored_updated_at(9).unwrap(), None);

    state.settle_orders(&[3]).unwrap();
    assert_eq!(state.active_order_ids().unwrap(), vec![1]);
    let loaded: Vec<u64> = state
        .active_orders()
        .unwrap()
        .iter()
        .map(|o| o.entity_id)
        .collect();
    assert_eq!(loaded, vec![1]);
    // Written again (Magento changed it): open again.
    state.put_order(&order(3, OrderState::Complete)).unwrap();
    assert_eq!(state.active_order_ids().unwrap(), vec![1, 3]);

    // A parcel never polled is followed; once final it is not.
    let mut p = ParcelRecord::new(parcel(&open, "6A12345678901"), at(9));
    state.put_parcel(&p).unwrap();
    assert_eq!(state.followed_parcels().unwrap(), vec![p.clone()]);
    p.record_poll(TrackingSnapshot::unknown(at(10)), at(10));
    assert!(p.next_poll_at.is_some());
    state.put_parcel(&p).unwrap();
    assert_eq!(state.followed_parcels().unwrap(), vec![p.clone()]);
    p.next_poll_at = None;
    state.put_parcel(&p).unwrap();
    assert!(state.followed_parcels().unwrap().is_empty());
    p.next_poll_at = Some(at(11));
    state.put_parcel(&p).unwrap();
    state.remove_parcel(&p.key()).unwrap();
    assert!(state.followed_parcels().unwrap().is_empty());

    // Pruning through the order times: the index entries go with the order.
    state.put_parcel(&p).unwrap();
    assert_eq!(state.prune_orders(at(10)).unwrap(), 3);
    assert!(state.active_order_ids().unwrap().is_empty());
    assert_eq!(state.stored_updated_at(1).unwrap(), None);
    assert!(state.followed_parcels().unwrap().is_empty());
}

/// 40 orders, of which 20 have work: 1 never shipped (one card), 19 in
/// transit; 20 shipped weeks ago and delivered.
#[tokio::test]
async fn delivered_orders_are_judged_once_then_neither_loaded_nor_judged() {
    let world = World::start(&sized_shop(40, 20), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let mut engine =
        Engine::with_retry(world.config(dir.path()), state, RetryPolicy::fast()).unwrap();
    let now = reference_now();
    let first = engine.run_pass(now, &Stop::default(), false).await;
    assert!(first.is_success(), "{:?}", first.all_errors());
    assert_eq!(first.orders_judged, 40);
    assert_eq!(world.trello.cards().len(), 1);
    // The 20 delivered orders left the open index.
    assert_eq!(engine.state().active_order_ids().unwrap().len(), 20);
    assert_eq!(engine.state().open_orders().unwrap().len(), 40);

    let second = engine.run_pass(now, &Stop::default(), false).await;
    assert!(second.is_success(), "{:?}", second.all_errors());
    assert_eq!(second.orders_judged, 20, "only the open work is judged");
    assert!(second.actions.is_empty(), "{:#?}", second.actions);
    assert_eq!(world.trello.cards().len(), 1);

    // Time-based rules still fire for the open orders: two weeks later
    // the parcels in transit since the day before are late.
    let later = now + chrono::Duration::days(14);
    let third = engine.run_pass(later, &Stop::default(), false).await;
    assert_eq!(third.orders_judged, 20);
    assert!(world.trello.cards().len() > 1, "late parcels filed");
}
