//! End-to-end: leads own the board. After a
//! lead moves a card to a list of their own, archives cards and puts their
//! own label on another, the next day's pass updates texts without moving
//! the card back, does not re-file an archived problem unless it became
//! more severe (then a new card naming the archived one, which stays
//! archived), keeps the lead's label and never deletes anything.

use crate::common_sync;

use colisync::domain::{ProblemKey, Severity};
use colisync_testkit::sample::demo_shop;
use colisync_testkit::trello::FakeCard;
use colisync_testkit::world::World;
use common_sync::*;

#[tokio::test]
async fn next_day_pass_respects_moves_archives_and_labels() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let first: Vec<FakeCard> = world.trello.cards();
    assert_eq!(first.len(), 9);

    let moved_key = key("parcel/100005/6A20260511001"); // Colissimo 8 j → 9 j, late
    let archived_key = key("order/100003"); // original 11 → 12 j ouvrés, still late
    let worse_key = key("order/100001"); // compatible 1 → 2 j ouvrés: critical
    let labelled_key = key("parcel/100011/shipment-5011"); // letter 14 j → 15 j

    // The lead's doings.
    let en_cours = world.trello.add_list("En cours");
    let moved = card_of(&world, &moved_key);
    world.trello.move_card(&moved.id, &en_cours);
    let archived = card_of(&world, &archived_key);
    world.trello.archive_card(&archived.id);
    let worse = card_of(&world, &worse_key);
    world.trello.archive_card(&worse.id);
    let vip = world.trello.add_label("VIP", Some("pink"));
    let labelled = card_of(&world, &labelled_key);
    world.trello.add_label_to_card(&labelled.id, &vip);
    let lead_lists = world.trello.lists();
    let lead_labels = world.trello.labels();

    // Next day: delays grow, titles change.
    let before = world.trello.request_count();
    let report = ok_pass(&mut engine, at_days(1)).await;
    let kinds: Vec<(String, &str)> = report
        .actions
        .iter()
        .map(|a| (a.key().to_string(), a.kind()))
        .collect();
    println!("{kinds:#?}");

    // The moved card: text updated, still in the lead's list.
    let m = world.trello.card(&moved.id).unwrap();
    assert_eq!(m.id_list, en_cours, "moved back: {m:#?}");
    assert!(!m.closed);
    assert_ne!(m.name, moved.name, "text not updated");
    assert!(m.name.contains("9 j"), "{}", m.name);
    assert_eq!(cards_of(&world, &moved_key).len(), 1);

    // The archived card whose problem did not get worse: left archived, not
    // re-filed, not updated.
    let a = world.trello.card(&archived.id).unwrap();
    assert!(a.closed, "unarchived: {a:#?}");
    assert_eq!(a.name, archived.name, "an archived card was rewritten");
    assert_eq!(cards_of(&world, &archived_key).len(), 1, "re-filed");

    // The archived card whose problem became critical: the old card stays
    // archived (colisync never unarchives), a new card is filed in the
    // intake list, with a comment naming the archived one (plan docs).
    let w = world.trello.card(&worse.id).unwrap();
    assert!(w.closed, "unarchived: {w:#?}");
    assert_eq!(w.name, worse.name);
    let worse_cards = cards_of(&world, &worse_key);
    assert_eq!(worse_cards.len(), 2, "{worse_cards:#?}");
    let new = worse_cards.iter().find(|c| c.id != worse.id).unwrap();
    assert!(!new.closed);
    assert_eq!(list_name(&world, new), "Retard d'expédition");
    assert!(new.name.contains("2 j ouvrés"), "{}", new.name);
    let label_names: Vec<String> = new
        .id_labels
        .iter()
        .filter_map(|id| world.trello.labels().into_iter().find(|l| &l.id == id))
        .map(|l| l.name)
        .collect();
    assert!(
        label_names
            .iter()
            .any(|n| n == Severity::Critical.label_fr()),
        "no critical label: {label_names:?}"
    );
    let notes = world.trello.comments(&new.id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains(&worse.id), "{notes:?}");

    // The labelled card: text updated, the lead's label kept.
    let l = world.trello.card(&labelled.id).unwrap();
    assert!(l.name.contains("15 j"), "{}", l.name);
    assert!(l.id_labels.contains(&vip), "lead's label removed: {l:#?}");
    assert_eq!(l.id_list, labelled.id_list);

    // Nothing deleted or archived by colisync; lists and labels kept.
    let now_cards = world.trello.cards();
    for c in &first {
        let after = now_cards.iter().find(|n| n.id == c.id);
        assert!(after.is_some(), "card {} deleted", c.name);
        if c.id != archived.id && c.id != worse.id {
            assert!(!after.unwrap().closed, "colisync archived {}", c.name);
        }
    }
    for l in &lead_lists {
        assert!(world.trello.lists().contains(l), "list {l:?} changed");
    }
    for l in &lead_labels {
        assert!(world.trello.labels().contains(l), "label {l:?} changed");
    }
    let writes = writes_since(&world, before);
    assert!(
        writes
            .iter()
            .all(|r| r.method == "POST" || r.method == "PUT"),
        "{writes:#?}"
    );
    assert_no_duplicate_except(&world, &worse_key);

    // A third pass the same day: nothing new, nothing written.
    let before = world.trello.request_count();
    let report = ok_pass(&mut engine, at_days(1)).await;
    assert!(report.actions.is_empty(), "{:#?}", report.actions);
    assert!(writes_since(&world, before).is_empty());
    // Only the pass's board read, by design two requests: the board with
    // its lists and labels nested (which also resolves its id), and one
    // page of cards.
    assert_eq!(world.trello.request_count() - before, 2);
    let m = world.trello.card(&moved.id).unwrap();
    assert_eq!(m.id_list, en_cours);
}

/// Every key has one card, except `allowed` (an archived card and its
/// replacement).
fn assert_no_duplicate_except(world: &World, allowed: &ProblemKey) {
    for (k, n) in marker_counts(world) {
        if &k != allowed {
            assert_eq!(n, 1, "{k} has {n} cards");
        }
    }
}

/// The replacement card for a problem that got more severe: its create is
/// reset (not filed, outcome unknown). colisync must not take the archived
/// card carrying the same marker for the new one: it files the new card,
/// with its note on the new card, not on the archived one.
#[tokio::test]
async fn a_reset_replacement_create_is_not_mistaken_for_the_archived_card() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let worse_key = key("order/100001");
    let worse = card_of(&world, &worse_key);
    world.trello.archive_card(&worse.id);

    // The day after, the first create is the replacement (keys in order;
    // orders 100002 and 100004 become late too); its first send is reset
    // before Trello handles it.
    world
        .trello
        .faults()
        .once("POST", "/1/cards", colisync_testkit::Fault::Reset);
    let r = ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(r.actions[0].key(), &worse_key, "{:#?}", r.actions);
    assert_eq!(r.apply.created, 3, "{:#?}", r.actions);
    assert_no_duplicate_except(&world, &worse_key);
    let cards = cards_of(&world, &worse_key);
    assert_eq!(cards.len(), 2, "{cards:#?}");
    let new = cards.iter().find(|c| c.id != worse.id).unwrap();
    assert!(!new.closed);
    assert!(world.trello.comments(&worse.id).is_empty());
    assert_eq!(world.trello.comments(&new.id).len(), 1);
    let rec = engine.state().card(&worse_key).unwrap().unwrap();
    assert_eq!(rec.card_id, new.id);
}
