//! End-to-end passes over several days for the pickup rule and the two
//! stages of a return, against the fakes (the demo shop), counting cards,
//! never timings.

use crate::common_sync;

use chrono::{DateTime, TimeZone, Utc};
use colisync::domain::TrackingEvent;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

fn paris(m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris
        .with_ymd_and_hms(2026, m, d, h, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc)
}

fn ev(code: &str, at: DateTime<Utc>) -> TrackingEvent {
    TrackingEvent {
        code: code.into(),
        label: format!("{code} label"),
        at,
    }
}

/// Order 100013 waits at a pickup point since Sat 16 May (AG1). Business
/// days after it: 18-22 May, then 26 (25 May is Whit Monday): 5 on Mon 25
/// (quiet, its delivery-delay card stays), 6 on Tue 26: the same card
/// becomes « À retirer », naming the point and the return day (10 La Poste
/// ouvrables: Fri 29 May). Collected on the 27th: resolved.
#[tokio::test]
async fn a_parcel_waiting_at_a_pickup_point_gets_its_card_then_resolves_when_collected() {
    let world = World::start(&demo_shop(), None).await.expect("fakes");
    world
        .laposte
        .set_removal_point("6A20260513013", "TABAC DE LA GARE", "A2P");
    let dir = tempfile::tempdir().expect("dir");
    let mut engine = engine(&world, dir.path());
    let k = key("parcel/100013/6A20260513013");

    ok_pass(&mut engine, paris(5, 25, 10)).await;
    let card = card_of(&world, &k);
    assert!(card.name.contains("Retard de livraison"), "{}", card.name);
    assert!(
        card.desc
            .contains("**Point de retrait** : TABAC DE LA GARE (relais)"),
        "{}",
        card.desc
    );

    ok_pass(&mut engine, paris(5, 26, 10)).await;
    assert_eq!(cards_of(&world, &k).len(), 1);
    let card = card_of(&world, &k);
    assert_eq!(card.name, "Cmd 100013 · À retirer · Colissimo · 6 j ouvrés");
    assert!(
        card.desc
            .contains("au point de retrait TABAC DE LA GARE (relais) depuis le sam. 16 mai 2026"),
        "{}",
        card.desc
    );
    assert!(
        card.desc.contains("vers le ven. 29 mai 2026"),
        "{}",
        card.desc
    );
    assert_eq!(card.due, Some(paris(5, 29, 0)));
    assert_eq!(list_name(&world, &card), "Retard de livraison");

    world.laposte.set_parcel(
        "6A20260513013",
        "Colissimo",
        vec![
            ev("DI1", paris(5, 27, 11)),
            ev("AG1", paris(5, 16, 9)),
            ev("PC1", paris(5, 13, 18)),
        ],
        true,
    );
    ok_pass(&mut engine, paris(5, 27, 14)).await;
    let card = card_of(&world, &k);
    assert_eq!(list_name(&world, &card), "Résolu");
    assert_no_duplicate(&world);
}

/// Order 100010's Chronopost parcel returns since Mon 11 May (RE1): a card
/// « en retour », due the end of 31 May. Back on the 20th (DI2): the same
/// card, updated to « revenu » with the re-shipping procedure, and one
/// comment saying so (the rule did not change: without it the new title
/// would go unnoticed); no second card.
#[tokio::test]
async fn a_return_is_one_card_in_two_stages() {
    let world = World::start(&demo_shop(), None).await.expect("fakes");
    let dir = tempfile::tempdir().expect("dir");
    let mut engine = engine(&world, dir.path());
    let k = key("parcel/100010/XY202605060FR");

    ok_pass(&mut engine, at_hours(0)).await;
    let card = card_of(&world, &k);
    assert_eq!(
        card.name,
        "Cmd 100010 · Retour expéditeur · Chronopost · en retour"
    );
    assert_eq!(card.due, Some(paris(6, 1, 0)));
    assert!(
        card.desc
            .contains("retour attendu entre le jeu. 21 mai 2026 et le dim. 31 mai 2026"),
        "{}",
        card.desc
    );
    assert!(!card.desc.contains("9,95 €"));

    world.laposte.set_parcel(
        "XY202605060FR",
        "Chronopost",
        vec![
            ev("DI2", paris(5, 20, 9)),
            ev("ET3", paris(5, 12, 4)),
            ev("RE1", paris(5, 11, 9)),
            ev("ND1", paris(5, 7, 10)),
        ],
        true,
    );
    let before = world.trello.request_count();
    ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(cards_of(&world, &k).len(), 1);
    let card = card_of(&world, &k);
    assert_eq!(
        card.name,
        "Cmd 100010 · Retour expéditeur · Chronopost · revenu"
    );
    // One update of this card, one comment on it.
    let on_card: Vec<_> = writes_since(&world, before)
        .into_iter()
        .filter(|r| r.path.contains(&card.id))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        on_card,
        [
            format!("PUT /1/cards/{}", card.id),
            format!("POST /1/cards/{}/actions/comments", card.id)
        ],
        "{on_card:#?}"
    );
    assert_eq!(
        world.trello.comments(&card.id),
        [
            "Le colis est revenu à l'expéditeur le mer. 20 mai 2026 à 09:00. \
          (colisync, mer. 20 mai 2026 à 10:00:00)"
        ]
    );
    assert_eq!(card.due, Some(paris(6, 1, 0)));
    for needle in [
        "revenu à l'expéditeur le mer. 20 mai 2026",
        "Monetico",
        "9,95 €",
        "hors frais de port",
        "bon état",
    ] {
        assert!(card.desc.contains(needle), "{needle}: {}", card.desc);
    }
    assert_eq!(list_name(&world, &card), "Retour expéditeur");
    // A quiet pass writes nothing more.
    let before = world.trello.request_count();
    ok_pass(&mut engine, at_days(1)).await;
    assert!(writes_since(&world, before).is_empty());
}

/// The « revenu » comment rides on the card's update, journaled: its answer
/// lost, the pass settles it by reading the card's comments back, and no
/// later pass posts it again.
#[tokio::test]
async fn a_return_back_is_commented_once_when_the_answer_is_lost() {
    let shop = colisync_testkit::sample::demo_shop_with_stages();
    let world = World::start(&shop, None).await.expect("fakes");
    let dir = tempfile::tempdir().expect("dir");
    let mut engine = engine(&world, dir.path());
    let k = key("parcel/100020/6A20260504020");
    ok_pass(&mut engine, at_hours(0)).await;
    let card = card_of(&world, &k);
    assert!(card.name.ends_with("· en retour"), "{}", card.name);
    assert!(world.trello.comments(&card.id).is_empty());

    let mut back = colisync_testkit::sample::return_events();
    back.insert(0, ev("DI2", paris(5, 20, 8)));
    world
        .laposte
        .set_parcel("6A20260504020", "Colissimo", back, true);
    world.trello.faults().once(
        "POST",
        &format!("/1/cards/{}/actions/comments", card.id),
        colisync_testkit::Fault::LoseAnswer,
    );
    pass(&mut engine, at_days(1)).await;
    assert_eq!(
        world.trello.faults().fired(),
        1,
        "the comment's answer was lost"
    );
    ok_pass(&mut engine, at_days(1) + chrono::Duration::minutes(15)).await;
    ok_pass(&mut engine, at_days(2)).await;
    let card = card_of(&world, &k);
    assert!(card.name.ends_with("· revenu"), "{}", card.name);
    let comments = world.trello.comments(&card.id);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].starts_with("Le colis est revenu à l'expéditeur le mer. 20 mai 2026 à 08:00."),
        "{comments:#?}"
    );
    assert_eq!(cards_of(&world, &k).len(), 1);
}
