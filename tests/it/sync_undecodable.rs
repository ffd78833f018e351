//! End-to-end: an order Magento sends broken is reported on every pass,
//! not once (the cursor moves past it, its id stays in the state and it is
//! read again by id), while the other orders are judged; it is judged and
//! no longer reported once Magento sends it right. A bad status-history
//! entry drops only that entry.

use crate::common_sync;

use colisync::domain::Order;
use colisync::domain::ProblemKey;
use colisync_testkit::sample::{SampleShop, demo_shop};
use colisync_testkit::world::World;
use common_sync::*;
use serde_json::json;

fn order_of(shop: &SampleShop, increment_id: &str) -> Order {
    shop.orders
        .iter()
        .find(|o| o.increment_id == increment_id)
        .cloned()
        .expect("sample order")
}

/// A copy of the late order 100001 under another id, last updated two days
/// before the reference day: after the first pass only a read by id can
/// bring it back.
fn late_copy(shop: &SampleShop, entity_id: u64) -> Order {
    let mut o = order_of(shop, "100001");
    o.entity_id = entity_id;
    o.increment_id = format!("{}", 100_000 + entity_id);
    o.updated_at = at_days(-2);
    o
}

fn errors_naming(r: &colisync::pass::PassReport, what: &str) -> Vec<String> {
    r.all_errors()
        .into_iter()
        .filter(|e| e.contains(what))
        .collect()
}

#[tokio::test]
async fn a_bad_timestamp_is_reported_every_pass_until_fixed() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let good = late_copy(&shop, 990);
    world.magento.insert_order(&good);
    let mut raw = world.magento.raw_order(990).expect("stored");
    raw["created_at"] = json!("2026-05-18T10:00:00+02:00");
    world.magento.insert_raw_order(990, raw);

    let dir = tempfile::tempdir().unwrap();
    let mut e = fast_engine(&world, dir.path());
    let bad_key = ProblemKey::Order {
        increment_id: "100990".into(),
    };
    let other = key("order/100001");
    for h in 0..3 {
        let r = pass(&mut e, at_hours(h)).await;
        let errs = errors_naming(&r, "100990");
        assert_eq!(errs.len(), 1, "pass {h}: {:#?}", r.all_errors());
        assert!(errs[0].contains("created_at"), "{}", errs[0]);
        assert!(!r.is_success());
        assert_eq!(r.undecodable_orders, 1, "pass {h}");
        // Everything else is judged and filed as usual.
        assert_eq!(r.all_errors().len(), 1, "{:#?}", r.all_errors());
        assert_eq!(cards_of(&world, &other).len(), 1);
        assert!(cards_of(&world, &bad_key).is_empty());
    }

    // Fixed in Magento, without its updated_at moving: read again by id.
    world.magento.insert_order(&good);
    let r = ok_pass(&mut e, at_hours(3)).await;
    assert_eq!(r.undecodable_orders, 0);
    assert_eq!(cards_of(&world, &bad_key).len(), 1, "judged once fixed");
    let r = ok_pass(&mut e, at_hours(4)).await;
    assert_eq!(r.undecodable_orders, 0);
    assert!(errors_naming(&r, "100990").is_empty());
    assert_no_duplicate(&world);
}

#[tokio::test]
async fn a_bad_status_change_drops_only_that_entry() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let good = late_copy(&shop, 991);
    world.magento.insert_order(&good);
    let mut raw = world.magento.raw_order(991).expect("stored");
    raw["status_histories"]
        .as_array_mut()
        .expect("a history")
        .push(json!({"status": "holded", "created_at": "bientôt", "comment": "x"}));
    world.magento.insert_raw_order(991, raw);

    let dir = tempfile::tempdir().unwrap();
    let mut e = fast_engine(&world, dir.path());
    let k = ProblemKey::Order {
        increment_id: "100991".into(),
    };
    for h in 0..3 {
        let r = pass(&mut e, at_hours(h)).await;
        let errs = errors_naming(&r, "100991");
        assert_eq!(errs.len(), 1, "pass {h}: {:#?}", r.all_errors());
        assert!(errs[0].contains("status_histories"), "{}", errs[0]);
        assert_eq!(r.undecodable_orders, 1);
        // The order itself is judged on what is left.
        assert_eq!(cards_of(&world, &k).len(), 1, "pass {h}");
    }
    let stored = e.state().order(991).unwrap().expect("stored");
    assert_eq!(stored.status_history, good.status_history);

    world.magento.insert_order(&good);
    let r = ok_pass(&mut e, at_hours(3)).await;
    assert_eq!(r.undecodable_orders, 0);
    assert_eq!(cards_of(&world, &k).len(), 1);
}
