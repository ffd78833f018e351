//! End-to-end: increment ids and tracking numbers as shops really type them
//! (spaces, line breaks, slashes, unicode, backticks, Markdown, `%`,
//! placeholders such as `N/A`) file one card each, pass after pass, and a
//! fresh state adopts those cards back instead of filing them again.

use crate::common_sync;

use colisync::domain::ProblemKey;
use colisync::domain::{Order, Track};
use colisync_testkit::sample::{SampleShop, demo_shop};
use colisync_testkit::world::World;
use common_sync::*;

fn order_of(shop: &SampleShop, increment_id: &str) -> Order {
    shop.orders
        .iter()
        .find(|o| o.increment_id == increment_id)
        .cloned()
        .expect("sample order")
}

/// Orders of the demo shop copied under odd numbers, with the key each one's
/// card must carry.
fn odd_orders(shop: &SampleShop) -> Vec<(Order, ProblemKey)> {
    let mut out = Vec::new();
    // Not shipped, one business day late (like 100001).
    let late = order_of(shop, "100001");
    for (n, inc) in [
        "2026 0042",
        "2026\n0043",
        "FR/2026/44",
        "Müller-45",
        "100`46",
        "100%47",
        "**48** [x](y)",
        "49 ",
    ]
    .into_iter()
    .enumerate()
    {
        let mut o = late.clone();
        o.entity_id = 900 + n as u64;
        o.increment_id = inc.to_owned();
        let key = ProblemKey::Order {
            increment_id: inc.to_owned(),
        };
        out.push((o, key));
    }
    // Shipped in Colissimo eight days ago, still on its way (like 100005).
    let shipped = order_of(shop, "100005");
    for (n, (inc, number, part)) in [
        ("P 51", "A/B", "A/B".to_owned()),
        ("100052", "N/A", format!("shipment-{}", 7052)),
        ("100053", "n/a ", format!("shipment-{}", 7053)),
        ("1000/54", "6A 2026 0511 054", "6A20260511054".to_owned()),
        ("100055", "6A%2F`55*", "6A%2F`55*".to_owned()),
    ]
    .into_iter()
    .enumerate()
    {
        let mut o = shipped.clone();
        o.entity_id = 950 + n as u64;
        o.increment_id = inc.to_owned();
        let at = o.shipments[0].created_at;
        o.shipments[0].entity_id = 7051 + n as u64;
        o.shipments[0].tracks = vec![Track {
            number: number.to_owned(),
            carrier_code: "colissimo".into(),
            title: "Colissimo".into(),
            created_at: at,
        }];
        let key = ProblemKey::Parcel {
            increment_id: inc.to_owned(),
            parcel: part,
        };
        out.push((o, key));
    }
    out
}

#[tokio::test]
async fn odd_keys_file_one_card_each_and_are_adopted_after_a_state_loss() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let odd = odd_orders(&shop);
    for (o, _) in &odd {
        world.magento.insert_order(o);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut e = fast_engine(&world, dir.path());
    for h in 0..3 {
        ok_pass(&mut e, at_hours(h)).await;
        for (_, key) in &odd {
            assert_eq!(
                cards_of(&world, key).len(),
                1,
                "pass {h}: cards of {key:?}: {:#?}",
                world.trello.cards()
            );
        }
        assert_no_duplicate(&world);
    }
    let before = world.trello.cards().len();
    drop(e);

    // State lost: a fresh directory adopts every card by its marker.
    let fresh = tempfile::tempdir().unwrap();
    let mut e = fast_engine(&world, fresh.path());
    let r = ok_pass(&mut e, at_hours(3)).await;
    assert_eq!(r.apply.created, 0, "{:#?}", r.actions);
    assert!(r.apply.adopted >= odd.len(), "adopted {}", r.apply.adopted);
    assert_eq!(world.trello.cards().len(), before);
    for (_, key) in &odd {
        assert_eq!(cards_of(&world, key).len(), 1, "after adoption: {key:?}");
    }
    let r = ok_pass(&mut e, at_hours(4)).await;
    assert_eq!(r.apply.created, 0);
    assert_no_duplicate(&world);
}
