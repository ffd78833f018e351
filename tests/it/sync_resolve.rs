//! End-to-end: when a problem ends (order
//! shipped, parcel delivered, order cancelled) colisync comments why and
//! moves the card to the resolved list if it still sits in an intake list;
//! a card a lead moved elsewhere only gets the comment. Resolved cards are
//! then left alone.

use crate::common_sync;

use chrono::Duration;
use colisync::domain::{OrderState, Shipment, Track, TrackingEvent};
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

fn delivered(at: chrono::DateTime<chrono::Utc>) -> Vec<TrackingEvent> {
    vec![
        TrackingEvent {
            code: "DI1".into(),
            label: "Votre colis est livré.".into(),
            at,
        },
        TrackingEvent {
            code: "PC1".into(),
            label: "Votre colis a été pris en charge par La Poste.".into(),
            at: at - Duration::days(3),
        },
    ]
}

#[tokio::test]
async fn shipped_delivered_and_cancelled_problems_resolve_their_cards() {
    let shop = demo_shop();
    let world = World::start(&shop, None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(world.trello.cards().len(), 9);

    let shipped_key = key("order/100001");
    let cancelled_key = key("order/100003");
    let delivered_key = key("parcel/100005/6A20260511001");
    let moved_key = key("parcel/100009/6A20260513009");
    let shipped = card_of(&world, &shipped_key);
    let cancelled = card_of(&world, &cancelled_key);
    let delivered_card = card_of(&world, &delivered_key);
    let moved = card_of(&world, &moved_key);

    // A lead takes the incident card into a list of their own.
    let en_cours = world.trello.add_list("En cours");
    world.trello.move_card(&moved.id, &en_cours);

    // Order 100001 ships at 12:00 (its updated_at moves past the cursor).
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
    // Order 100003 is cancelled.
    let mut order = shop
        .orders
        .iter()
        .find(|o| o.increment_id == "100003")
        .unwrap()
        .clone();
    order.state = OrderState::Canceled;
    order.status = "canceled".into();
    order.updated_at = at_hours(3);
    world.magento.update_order(&order);
    // Parcels 6A20260511001 and 6A20260513009 are delivered. They were
    // polled at the first pass; shipped more than 3 days ago, they are due
    // again 2 h later (state::poll): the next pass is 5 h later.
    world
        .laposte
        .set_parcel("6A20260511001", "Colissimo", delivered(at_hours(1)), true);
    world
        .laposte
        .set_parcel("6A20260513009", "Colissimo", delivered(at_hours(1)), true);

    let before = world.trello.request_count();
    let report = ok_pass(&mut engine, at_hours(5)).await;
    assert_eq!(report.apply.resolved, 4, "{:#?}", report.actions);
    assert_eq!(report.apply.created, 0, "{:#?}", report.actions);

    let resolved = list_id(&world, "Résolu");
    let expect = [
        (&shipped, "commande expédiée", true),
        (&cancelled, "commande annulée", true),
        (&delivered_card, "colis livré", true),
        (&moved, "colis livré", false),
    ];
    for (card, why, moves) in expect {
        let now = world.trello.card(&card.id).unwrap();
        assert!(!now.closed, "{now:#?}");
        assert_eq!(
            world.trello.comments(&card.id),
            vec![format!(
                "Problème terminé : {why}. {}",
                colisync::plan::comment_signature(at_hours(5), chrono_tz::Europe::Paris)
            )],
            "{}",
            card.name
        );
        if moves {
            assert_eq!(now.id_list, resolved, "{} not moved to Résolu", card.name);
        } else {
            assert_eq!(
                now.id_list, en_cours,
                "{} moved out of the lead's list",
                card.name
            );
        }
        // Text and labels left as they were.
        assert_eq!(now.name, card.name);
        assert_eq!(now.desc, card.desc);
        assert_eq!(now.id_labels, card.id_labels);
    }
    // The other cards did not move; nothing was filed for the new parcel.
    assert_eq!(world.trello.cards().len(), 9);
    assert_no_duplicate(&world);
    let writes = writes_since(&world, before);
    assert_eq!(writes.len(), 4 + 3, "4 comments, 3 moves: {writes:#?}");

    // Later passes leave resolved cards alone, even when a lead drags a
    // resolved card back into an intake list.
    let retard = list_id(&world, "Retard d'expédition");
    world.trello.move_card(&shipped.id, &retard);
    let before = world.trello.request_count();
    let report = ok_pass(&mut engine, at_hours(5)).await;
    assert!(report.actions.is_empty(), "{:#?}", report.actions);
    assert!(writes_since(&world, before).is_empty());
    // Hours later other delays grow (their cards are updated), but the
    // resolved problems get no action.
    let ended = [&shipped_key, &cancelled_key, &delivered_key, &moved_key];
    for h in [9, 30] {
        let report = ok_pass(&mut engine, at_hours(h)).await;
        let touched: Vec<_> = report
            .actions
            .iter()
            .filter(|a| ended.contains(&a.key()))
            .collect();
        assert!(touched.is_empty(), "{touched:#?}");
    }
    assert_eq!(world.trello.card(&shipped.id).unwrap().id_list, retard);
    for card in [&shipped, &cancelled, &delivered_card, &moved] {
        assert_eq!(world.trello.comments(&card.id).len(), 1, "{}", card.name);
    }
    assert_eq!(world.trello.card(&moved.id).unwrap().id_list, en_cours);
    assert_no_duplicate(&world);
}
