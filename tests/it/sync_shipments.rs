//! End-to-end: shipments as Magento really records them. A lettre suivie is
//! followed on La Poste like a parcel; a parcel of another carrier is never
//! sent to La Poste; a partial shipment keeps the shipping rules on what
//! still waits; a tracking number added to a shipment later (without the
//! order's `updated_at` moving) is found, and the card about the missing
//! number resolved with the reason.

use crate::common_sync;

use chrono::Duration;
use colisync::domain::{Order, Track, TrackingEvent};
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::state::State;
use colisync_testkit::sample::{SampleShop, demo_shop, reference_now};
use colisync_testkit::world::World;
use common_sync::*;

fn ev(code: &str, label: &str, at: chrono::DateTime<chrono::Utc>) -> TrackingEvent {
    TrackingEvent {
        code: code.into(),
        label: label.into(),
        at,
    }
}

fn order_of(shop: &SampleShop, increment_id: &str) -> Order {
    shop.orders
        .iter()
        .find(|o| o.increment_id == increment_id)
        .cloned()
        .expect("sample order")
}

/// How many times La Poste was asked about `number`.
fn asked(world: &World, number: &str) -> usize {
    world
        .laposte
        .requested_ids()
        .iter()
        .flatten()
        .filter(|id| id.as_str() == number)
        .count()
}

#[tokio::test]
async fn a_lettre_suivie_is_followed_on_la_poste() {
    // Order 100011 is an envoi simple shipped Tue 5 May: 14 days on the
    // reference day, a `delivery_letter` card while it has no number.
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let mut letter = order_of(&shop, "100011");
    let shipped = letter.shipments[0].created_at;
    let number = "1L20260505011";
    letter.shipments[0].tracks = vec![Track {
        number: number.into(),
        carrier_code: "custom".into(),
        title: "Lettre suivie".into(),
        created_at: shipped,
    }];
    world.magento.update_order(&letter);
    world.laposte.set_parcel(
        number,
        "Lettre suivie",
        vec![ev(
            "PC1",
            "Votre courrier a été pris en charge.",
            shipped + Duration::hours(3),
        )],
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(asked(&world, number), 1, "polled like a parcel");
    let key = key(&format!("parcel/100011/{number}"));
    let card = card_of(&world, &key);
    assert!(card.name.contains("Retard de livraison"), "{}", card.name);
    assert!(card.desc.contains("Lettre suivie") || card.desc.contains(number));

    // It comes back to the shop: the same card, now a return.
    world.laposte.set_parcel(
        number,
        "Lettre suivie",
        vec![
            ev(
                "RE1",
                "Votre courrier retourne à l'expéditeur.",
                at_days(1) - Duration::hours(2),
            ),
            ev(
                "PC1",
                "Votre courrier a été pris en charge.",
                shipped + Duration::hours(3),
            ),
        ],
        false,
    );
    ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(cards_of(&world, &key).len(), 1);
    assert!(card_of(&world, &key).name.contains("Retour expéditeur"));
    assert_no_duplicate(&world);
}

#[tokio::test]
async fn a_delivered_lettre_suivie_gets_no_card() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let mut letter = order_of(&shop, "100011");
    let shipped = letter.shipments[0].created_at;
    letter.shipments[0].tracks = vec![Track {
        number: "1L20260505011".into(),
        carrier_code: "custom".into(),
        title: "Lettre suivie".into(),
        created_at: shipped,
    }];
    world.magento.update_order(&letter);
    world.laposte.set_parcel(
        "1L20260505011",
        "Lettre suivie",
        vec![ev(
            "DI1",
            "Votre courrier a été distribué.",
            shipped + Duration::days(2),
        )],
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let keys = marker_counts(&world);
    assert!(
        !keys.keys().any(|k| k.increment_id() == "100011"),
        "{keys:?}"
    );
    assert_eq!(
        world.trello.cards().len(),
        8,
        "the demo's nine less the letter"
    );
    // Delivered is final: never asked again.
    ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(asked(&world, "1L20260505011"), 1);
}

/// A DPD parcel shipped Thu 7 May (12 days before the reference day) with a
/// number of La Poste's shape.
fn dpd_order(shop: &SampleShop) -> Order {
    let mut o = order_of(shop, "100005");
    o.entity_id = 20;
    o.increment_id = "100020".into();
    o.shipping_method = Some("dpdfrpredict_dpdfrpredict".into());
    let at = reference_now() - Duration::days(12);
    o.shipments[0].entity_id = 5020;
    o.shipments[0].created_at = at;
    o.shipments[0].tracks = vec![Track {
        number: "25012345678901".into(),
        carrier_code: "dpd".into(),
        title: "DPD Predict".into(),
        created_at: at,
    }];
    o.updated_at = at;
    o
}

#[tokio::test]
async fn a_parcel_of_another_carrier_is_never_sent_to_la_poste() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    world.magento.insert_order(&dpd_order(&shop));
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    for day in 0..3 {
        ok_pass(&mut engine, at_days(day)).await;
    }
    assert_eq!(asked(&world, "25012345678901"), 0);
    // No « Autre transporteur · introuvable », no delivery card by default.
    assert!(
        !marker_counts(&world)
            .keys()
            .any(|k| k.increment_id() == "100020")
    );
    assert_no_duplicate(&world);

    // The admin chooses a threshold for other carriers: 10 days.
    let dir = tempfile::tempdir().unwrap();
    let world = World::start(&shop, None).await.unwrap();
    world.magento.insert_order(&dpd_order(&shop));
    let mut config = world.config(dir.path());
    config.rules.delivery_other.enabled = true;
    config.rules.delivery_other.threshold = 10;
    let state = State::open(dir.path()).unwrap();
    let mut engine = Engine::with_retry(config, state, RetryPolicy::fast()).unwrap();
    ok_pass(&mut engine, at_days(0)).await;
    let card = card_of(&world, &key("parcel/100020/25012345678901"));
    assert!(card.name.contains("Hors La Poste"), "{}", card.name);
    assert!(card.name.contains("Retard de livraison"), "{}", card.name);
    assert!(card.desc.contains("hors La Poste"), "{}", card.desc);
    assert_eq!(asked(&world, "25012345678901"), 0);
}

/// An order of a compatible and an original cartridge, validated Wed 29
/// April 11:00 (11 business days before the reference day), not shipped:
/// the demo's order 100003 before its first shipment.
fn mixed_order(shop: &SampleShop) -> Order {
    let mut o = order_of(shop, "100003");
    o.entity_id = 21;
    o.increment_id = "100021".into();
    o.shipments.clear();
    for item in &mut o.items {
        item.qty_to_ship = None;
    }
    o
}

fn ship_payload(item_ids: &[u64], number: &str) -> serde_json::Value {
    serde_json::json!({
        "items": item_ids.iter().map(|id| serde_json::json!({"order_item_id": id, "qty": 1})).collect::<Vec<_>>(),
        "notify": false,
        "tracks": if number.is_empty() {
            serde_json::json!([])
        } else {
            serde_json::json!([{"track_number": number, "title": "Colissimo", "carrier_code": "colissimo"}])
        },
    })
}

#[tokio::test]
async fn a_partial_shipment_keeps_the_shipping_card_until_everything_left() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    world.magento.insert_order(&mixed_order(&shop));
    // The compatible cartridge (item 0) left on Mon 4 May and was delivered.
    let at = reference_now() - Duration::days(15);
    world
        .magento
        .ship(21, &ship_payload(&[21_000], "6A20260504021"), at)
        .expect("partial shipment");
    world.laposte.set_parcel(
        "6A20260504021",
        "Colissimo",
        vec![ev("DI1", "Votre colis est livré.", at + Duration::days(1))],
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let order_key = key("order/100021");
    let card = card_of(&world, &order_key);
    assert!(
        card.name.contains("Retard d'expédition · origine"),
        "{}",
        card.name
    );
    assert!(card.desc.contains("Expédition partielle"), "{}", card.desc);
    let original_sku = &order_of(&shop, "100003").items[1].sku;
    assert!(original_sku.starts_with("ORI-"));
    let waiting = card
        .desc
        .lines()
        .find(|l| l.contains("toujours en attente"))
        .expect("the waiting items are named");
    assert!(waiting.contains(original_sku.as_str()), "{waiting}");
    assert!(!waiting.contains("CMP-"), "{waiting}");
    // The delivered part files nothing.
    assert!(
        !marker_counts(&world)
            .keys()
            .any(|k| k.to_string().starts_with("parcel/100021/"))
    );

    // The original cartridge leaves: now the order is shipped, the card
    // resolved saying so.
    world
        .magento
        .ship(21, &ship_payload(&[21_001], "6A20260519021"), at_hours(2))
        .expect("rest of the order");
    ok_pass(&mut engine, at_hours(3)).await;
    let card = card_of(&world, &order_key);
    assert_eq!(list_name(&world, &card), "Résolu");
    let comments = world.trello.comments(&card.id).join("\n");
    assert!(comments.contains("commande expédiée"), "{comments}");
    assert_no_duplicate(&world);
}

#[tokio::test]
async fn a_tracking_number_added_later_is_found_and_the_anomaly_resolved() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    // A Colissimo order shipped Mon 18 May 08:00 without a number: 26 h
    // later nobody can follow it (« introuvable », no number in Magento).
    let mut o = order_of(&shop, "100002");
    o.entity_id = 22;
    o.increment_id = "100022".into();
    world.magento.insert_order(&o);
    let shipped = reference_now() - Duration::hours(26);
    let shipment = world
        .magento
        .ship(22, &ship_payload(&[22_000], ""), shipped)
        .expect("shipment without number");
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let old_key = key(&format!("parcel/100022/shipment-{shipment}"));
    let old = card_of(&world, &old_key);
    assert!(old.name.contains("introuvable"), "{}", old.name);

    // The warehouse adds the number: the track alone, the order's
    // updated_at does not move.
    let number = "6A20260518022";
    world
        .magento
        .add_track(
            22,
            shipment,
            &Track {
                number: number.into(),
                carrier_code: "colissimo".into(),
                title: "Colissimo".into(),
                created_at: at_hours(1),
            },
        )
        .expect("track");
    world.laposte.set_parcel(
        number,
        "Colissimo",
        vec![ev(
            "PC1",
            "Votre colis a été pris en charge par La Poste.",
            shipped + Duration::hours(6),
        )],
        false,
    );
    let r = ok_pass(&mut engine, at_hours(2)).await;
    // The incremental pull brings only the overlap's newest order (100002),
    // not this one: its shipments are read again for the missing number.
    assert_eq!(r.shipments_rechecked, 1);
    assert_eq!(asked(&world, number), 1, "the new number is polled");
    let old = card_of(&world, &old_key);
    assert_eq!(list_name(&world, &old), "Résolu");
    let comments = world.trello.comments(&old.id).join("\n");
    assert!(
        comments.contains(&format!("numéro de suivi ajouté dans Magento : {number}")),
        "{comments}"
    );
    // Picked up on time: the parcel is scanned, no card for it.
    assert!(!marker_counts(&world).contains_key(&key(&format!("parcel/100022/{number}"))));

    // Once the number is known there is nothing left to re-read.
    let r = ok_pass(&mut engine, at_hours(3)).await;
    assert_eq!(r.shipments_rechecked, 0);
    assert_no_duplicate(&world);
}
