//! End-to-end: the cases people open (« Dossiers clients »), on the fakes.
//! Each kind opened from a label and from `colisync case` (the binary, as
//! an agent runs it), followed over several days while the lead ticks the
//! checklist in the fake and the order moves on, and resolved only by the
//! lead's hand; a quiet pass costs no checklist read; a crash while the
//! checklist is written leaves one checklist; a dry run records nothing.

use crate::common;
use crate::common_sync;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use colisync::daemon::Stop;
use colisync::domain::{OrderState, Shipment, Track};
use colisync::pass::TrelloBoard;
use colisync::plan::{self, Action, ApplyOptions, CrashAt, CrashPoint};
use colisync_testkit::sample::demo_shop;
use colisync_testkit::trello::FakeCard;
use colisync_testkit::world::{World, inbox_dir};
use common_sync::*;

fn paris(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Paris
        .with_ymd_and_hms(2026, 5, d, h, m, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// `colisync case ORDER KIND` as an agent runs it, against the world's
/// configuration file; its stdout.
async fn colisync_case(world: &World, state_dir: &Path, args: &[&str]) -> String {
    let config = state_dir.with_extension("toml");
    std::fs::write(&config, world.config_toml(state_dir, "", "")).unwrap();
    let mut cmd = Command::new(common::colisync_bin());
    cmd.env_remove("COLISYNC_CONFIG")
        .env("COLISYNC_LOG", "warn")
        .arg("--config")
        .arg(&config)
        .arg("case")
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn inbox_files(state_dir: &Path) -> usize {
    std::fs::read_dir(inbox_dir(state_dir))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0)
}

/// The Trello requests after the first `skip`.
fn requests_since(world: &World, skip: usize) -> Vec<(String, String)> {
    world
        .trello
        .requests()
        .all()
        .into_iter()
        .skip(skip)
        .map(|r| (r.method, r.path))
        .collect()
}

fn checklist_reads(reqs: &[(String, String)]) -> usize {
    reqs.iter()
        .filter(|(m, p)| m == "GET" && p.ends_with("/checklists"))
        .count()
}

fn item_names(world: &World, card: &FakeCard) -> Vec<String> {
    let lists = world.trello.checklists(&card.id);
    assert_eq!(lists.len(), 1, "one checklist on {}", card.name);
    lists[0].items.iter().map(|i| i.name.clone()).collect()
}

fn resolves_of(actions: &[Action], k: &colisync::domain::ProblemKey) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Resolve { key, .. } if key == k))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_parcel_case_from_colisync_case_is_followed_and_ends_only_by_the_lead() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let mut engine = fast_engine(&world, &state_dir);
    ok_pass(&mut engine, at_days(0)).await;
    let k = key("case/100012/perdu");
    assert!(cards_of(&world, &k).is_empty());

    // Order 100012: Colissimo shipped Tue 12 May, delivered Wed 13 May;
    // no card (nothing late). The agent opens the case from the shell.
    let out = colisync_case(&world, &state_dir, &["100012", "perdu"]).await;
    assert!(out.contains("Demande enregistrée"), "{out}");
    assert_eq!(inbox_files(&state_dir), 1);

    // A dry run plans the card and its checklist, and records nothing.
    let before = world.trello.request_count();
    let dry = engine.run_pass(at_hours(1), &Stop::default(), true).await;
    assert!(dry.is_success(), "{:#?}", dry.all_errors());
    let create = dry
        .actions
        .iter()
        .find(|a| a.key() == &k)
        .expect("the dry run plans the case");
    let Action::Create {
        checklist: Some(cl),
        list,
        ..
    } = create
    else {
        panic!("{create:#?}");
    };
    assert_eq!(list.name, "Dossiers clients");
    assert_eq!(cl.items.len(), 5);
    assert!(writes_since(&world, before).is_empty());
    assert_eq!(inbox_files(&state_dir), 1, "a dry run keeps the request");
    assert!(engine.state().cases().unwrap().is_empty());

    // The pass files it: inbox emptied, one card in « Dossiers clients »,
    // the Colissimo procedure as a checklist with the seed's dates.
    let r = ok_pass(&mut engine, at_hours(1)).await;
    assert_eq!(inbox_files(&state_dir), 0);
    assert_eq!(r.apply.created, 1, "{:#?}", r.actions);
    let card = card_of(&world, &k);
    assert!(
        card.name
            .starts_with("Cmd 100012 · Dossier client · colis perdu · Colissimo"),
        "{}",
        card.name
    );
    assert_eq!(list_name(&world, &card), "Dossiers clients");
    let names = item_names(&world, &card);
    assert_eq!(names.len(), 5, "{names:#?}");
    assert!(
        names[0].starts_with("1. mar. 19 mai 2026 — Demandez au client de patienter"),
        "{names:#?}"
    );
    assert!(names[1].starts_with("2. mer. 20 mai 2026 — "), "{names:#?}");
    assert!(names[2].starts_with("3. mer. 20 mai 2026 — "), "{names:#?}");
    assert!(
        names[3].starts_with("4. Si le client conteste"),
        "{names:#?}"
    );
    assert_eq!(card.due, Some(paris(19, 0, 0)), "due: step 1's day");
    assert!(card.desc.contains("Livré le"), "{}", card.desc);

    // A quiet pass: no write, no checklist read.
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_hours(2)).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert_eq!(checklist_reads(&requests_since(&world, before)), 0);

    // The next day the lead ticks steps 1 and 2: one read, one update, the
    // due date moves to step 3 (Wed 20 May).
    assert!(world.trello.tick_check_item(&card.id, "1."));
    assert!(world.trello.tick_check_item(&card.id, "2."));
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(1)).await;
    let reqs = requests_since(&world, before);
    assert_eq!(checklist_reads(&reqs), 1, "{reqs:#?}");
    let case_updates = r
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Update { key, .. } if key == &k))
        .count();
    assert_eq!(case_updates, 1, "{:#?}", r.actions);
    let card = card_of(&world, &k);
    assert_eq!(card.due, Some(paris(20, 0, 0)));
    assert!(card.desc.contains("Fait : 1. "), "{}", card.desc);
    assert!(card.desc.contains("À faire : 3. "), "{}", card.desc);
    assert_eq!(world.trello.checklists(&card.id).len(), 1);

    // Meanwhile Magento closes the order, then it is cancelled: the data
    // never ends a case.
    let order = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100012")
        .unwrap();
    for (state, status, h) in [
        (OrderState::Closed, "closed", 26),
        (OrderState::Canceled, "canceled", 28),
    ] {
        let mut o = order.clone();
        o.state = state.clone();
        o.status = status.into();
        o.updated_at = at_hours(h);
        world.magento.update_order(&o);
        let r = ok_pass(&mut engine, at_hours(h + 1)).await;
        assert_eq!(
            resolves_of(&r.actions, &k),
            0,
            "{state:?}: {:#?}",
            r.actions
        );
        assert!(engine.state().cases().unwrap()[&k].is_open());
    }
    let mut o = order.clone();
    o.updated_at = at_hours(30);
    world.magento.update_order(&o);

    // The lead ticks the rest: resolved « procédure cochée », moved to
    // Résolu.
    for n in ["3.", "4.", "5."] {
        assert!(world.trello.tick_check_item(&card.id, n));
    }
    let r = ok_pass(&mut engine, at_days(2)).await;
    assert_eq!(resolves_of(&r.actions, &k), 1, "{:#?}", r.actions);
    let card = card_of(&world, &k);
    assert_eq!(list_name(&world, &card), "Résolu");
    let comments = world.trello.comments(&card.id);
    assert!(
        comments.iter().any(|c| c.contains("procédure cochée")),
        "{comments:#?}"
    );
    assert!(!engine.state().cases().unwrap()[&k].is_open());
    let r = ok_pass(&mut engine, at_days(3)).await;
    assert!(r.actions.iter().all(|a| a.key() != &k), "{:#?}", r.actions);
    assert_no_duplicate(&world);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_case_from_a_label_follows_the_order_and_reopens_with_the_label() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    // Order 100001: validated Mon 18 May 10:00, not shipped: its shipping
    // card. The lead puts « Changement d'adresse » on it.
    let order_card = card_of(&world, &key("order/100001"));
    let label = world.trello.add_label("Changement d'adresse", Some("pink"));
    world.trello.add_label_to_card(&order_card.id, &label);

    let r = ok_pass(&mut engine, at_hours(1)).await;
    let k = key("case/100001/adresse");
    assert_eq!(r.apply.created, 1, "{:#?}", r.actions);
    let card = card_of(&world, &k);
    assert!(
        card.name
            .starts_with("Cmd 100001 · Dossier client · changement d'adresse"),
        "{}",
        card.name
    );
    assert_eq!(list_name(&world, &card), "Dossiers clients");
    assert_eq!(item_names(&world, &card).len(), 2);
    // Validated, not shipped: a lead now, before today's cutoff.
    assert_eq!(card.due, Some(paris(19, 16, 0)));
    assert!(card.desc.contains("informez un lead"), "{}", card.desc);
    // The label stays on the order card: no second request, no write.
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_hours(2)).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());
    assert!(
        world
            .trello
            .card(&order_card.id)
            .unwrap()
            .id_labels
            .contains(&label),
        "the lead's label stays"
    );

    // The order ships before the change was handled: the shipping card
    // resolves as before, the case card says it left, with the link.
    let mut shipped = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100001")
        .unwrap();
    shipped.state = OrderState::Complete;
    shipped.status = "complete".into();
    shipped.updated_at = at_hours(3);
    shipped.shipments = vec![Shipment {
        entity_id: 7001,
        created_at: at_hours(3),
        tracks: vec![Track {
            number: "6A20260519001".into(),
            carrier_code: "colissimo".into(),
            title: "Colissimo".into(),
            created_at: at_hours(3),
        }],
    }];
    world.magento.update_order(&shipped);
    let r = ok_pass(&mut engine, at_hours(4)).await;
    assert_eq!(
        resolves_of(&r.actions, &key("order/100001")),
        1,
        "{:#?}",
        r.actions
    );
    assert_eq!(resolves_of(&r.actions, &k), 0, "{:#?}", r.actions);
    let card = card_of(&world, &k);
    assert!(
        card.desc
            .contains("avant que le changement d'adresse ne soit traité"),
        "{}",
        card.desc
    );
    assert!(card.desc.contains("6A20260519001"), "{}", card.desc);
    assert_eq!(card.due, None, "shipped: no cutoff to meet");

    // The lead moves the card to Résolu: resolved, comment only.
    let resolved = list_id(&world, "Résolu");
    world.trello.move_card(&card.id, &resolved);
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_hours(5)).await;
    assert_eq!(resolves_of(&r.actions, &k), 1, "{:#?}", r.actions);
    let writes = writes_since(&world, before);
    assert!(
        writes.iter().all(|w| w.method == "POST"),
        "comment only: {writes:#?}"
    );
    assert!(!engine.state().cases().unwrap()[&k].is_open());

    // The lead takes the label off, a pass runs, the lead puts it back:
    // the case reopens on the same card, back in « Dossiers clients ».
    world.trello.remove_label_from_card(&order_card.id, &label);
    let r = ok_pass(&mut engine, at_hours(6)).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    world.trello.add_label_to_card(&order_card.id, &label);
    let r = ok_pass(&mut engine, at_hours(7)).await;
    assert!(
        r.actions
            .iter()
            .any(|a| matches!(a, Action::Reopen { key, .. } if key == &k)),
        "{:#?}",
        r.actions
    );
    let card = card_of(&world, &k);
    assert_eq!(list_name(&world, &card), "Dossiers clients");
    assert_eq!(cards_of(&world, &k).len(), 1);
    // Ticking everything (from scratch) closes it again.
    world.trello.tick_check_item(&card.id, "1.");
    world.trello.tick_check_item(&card.id, "2.");
    let r = ok_pass(&mut engine, at_hours(8)).await;
    assert_eq!(resolves_of(&r.actions, &k), 1, "{:#?}", r.actions);
    assert_no_duplicate(&world);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_case_from_a_label_on_a_parcel_card_and_an_address_case_from_colisync_case() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let mut engine = fast_engine(&world, &state_dir);
    ok_pass(&mut engine, at_days(0)).await;
    // A Colissimo parcel card of the board (late, in transit); the lead
    // labels it « Non reçu » (another spelling of the case).
    let parcel_card = world
        .trello
        .cards()
        .into_iter()
        .find(|c| {
            matches!(key_of(c), Some(colisync::domain::ProblemKey::Parcel { .. }))
                && c.name.contains("Colissimo")
        })
        .expect("a Colissimo parcel card");
    let Some(colisync::domain::ProblemKey::Parcel {
        increment_id,
        parcel,
    }) = key_of(&parcel_card)
    else {
        unreachable!()
    };
    let label = world.trello.add_label("  non REÇU ", Some("red"));
    world.trello.add_label_to_card(&parcel_card.id, &label);
    // And an agent asks for an address change on the pending-payment
    // order, which has no card.
    colisync_case(&world, &state_dir, &["100016", "adresse"]).await;
    let r = ok_pass(&mut engine, at_hours(1)).await;
    assert_eq!(r.apply.created, 2, "{:#?}", r.actions);
    let lost = card_of(&world, &key(&format!("case/{increment_id}/perdu")));
    assert!(lost.desc.contains(&parcel), "{}", lost.desc);
    assert!(
        lost.desc.contains("n'indique pas encore « livré »"),
        "{}",
        lost.desc
    );
    assert!(!item_names(&world, &lost).is_empty());
    let addr = card_of(&world, &key("case/100016/adresse"));
    assert!(addr.desc.contains("repasser"), "{}", addr.desc);
    assert_eq!(addr.due, None);

    // The order gets validated: the card now asks for a lead before the
    // next cutoff.
    let mut o = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100016")
        .unwrap();
    o.state = OrderState::Processing;
    o.status = "processing".into();
    o.invoices = vec![at_hours(2)];
    o.updated_at = at_hours(2);
    world.magento.update_order(&o);
    let r = ok_pass(&mut engine, at_hours(3)).await;
    assert!(r.apply.updated >= 1, "{:#?}", r.actions);
    let addr = card_of(&world, &key("case/100016/adresse"));
    assert!(addr.desc.contains("informez un lead"), "{}", addr.desc);
    assert_eq!(addr.due, Some(paris(19, 16, 0)));
    assert_no_duplicate(&world);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_the_checklist_is_written_leaves_one_checklist() {
    let k = key("case/100012/perdu");
    // create card, checklist, then 5 items: crash after each call.
    for n in 0..7 {
        let world = World::start(&demo_shop(), None).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let mut engine = fast_engine(&world, &state_dir);
        ok_pass(&mut engine, at_days(0)).await;
        colisync_case(&world, &state_dir, &["100012", "perdu"]).await;
        // The cases' list is created by a real pass; this one only applies.
        world.trello.add_list("Dossiers clients");
        // The request recorded by a pass whose only action crashes.
        let dry = engine.run_pass(at_hours(1), &Stop::default(), true).await;
        let actions: Vec<Action> = dry.actions.into_iter().filter(|a| a.key() == &k).collect();
        assert_eq!(actions.len(), 1);
        {
            let board = TrelloBoard::new(engine.trello());
            board.remember_labels(&engine.trello().labels().await.unwrap());
            let opts = ApplyOptions {
                now: at_hours(1),
                crash: Some(CrashPoint {
                    action: 0,
                    at: CrashAt::TrelloCalled(n),
                    lose_unflushed: n % 2 == 1,
                }),
                stop: None,
                max_in_flight: 1,
            };
            let r = plan::apply(&actions, &board, engine.state(), &opts).await;
            assert!(r.crashed, "TrelloCalled({n}) did not crash: {r:#?}");
        }
        drop(engine);
        let mut engine = fast_engine(&world, &state_dir);
        ok_pass(&mut engine, at_hours(2)).await;
        let cards = cards_of(&world, &k);
        assert_eq!(cards.len(), 1, "TrelloCalled({n})");
        let names = item_names(&world, &cards[0]);
        assert_eq!(names.len(), 5, "TrelloCalled({n}): {names:#?}");
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(unique, names);
        let r = ok_pass(&mut engine, at_hours(3)).await;
        assert!(r.actions.is_empty(), "TrelloCalled({n}): {:#?}", r.actions);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_state_loss_a_case_card_gets_its_case_back_without_a_second_card_or_checklist() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let mut engine = fast_engine(&world, &state_dir);
    ok_pass(&mut engine, at_days(0)).await;
    colisync_case(&world, &state_dir, &["100012", "perdu"]).await;
    ok_pass(&mut engine, at_hours(1)).await;
    let k = key("case/100012/perdu");
    let card = card_of(&world, &k);
    assert!(world.trello.tick_check_item(&card.id, "1."));
    drop(engine);

    // A new, empty state: the card is adopted and its case rebuilt from it.
    let mut engine = fast_engine(&world, &dir.path().join("state-new"));
    let r = ok_pass(&mut engine, at_hours(2)).await;
    assert!(
        !r.actions
            .iter()
            .any(|a| matches!(a, Action::Create { key, .. } if key == &k)),
        "{:#?}",
        r.actions
    );
    assert_eq!(cards_of(&world, &k).len(), 1);
    assert_eq!(item_names(&world, &card).len(), 5);
    let case = engine.state().cases().unwrap()[&k].clone();
    assert!(case.is_open());
    assert_eq!(case.steps.len(), 5);
    assert_eq!(
        case.steps[1].due,
        chrono::NaiveDate::from_ymd_opt(2026, 5, 20),
        "the dates are read back from the names"
    );
    // Step 1 was ticked before the loss: the card says so. (Its due date
    // stays as it was: after a state loss nothing tells colisync's due date
    // from a lead's, and an adopted card's is kept as a lead's.)
    assert!(
        card_of(&world, &k).desc.contains("Fait : 1. "),
        "{}",
        card_of(&world, &k).desc
    );

    // The lead ticks the rest: resolved by their hand, as before.
    for n in ["2.", "3.", "4.", "5."] {
        assert!(world.trello.tick_check_item(&card.id, n));
    }
    let r = ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(resolves_of(&r.actions, &k), 1, "{:#?}", r.actions);
    assert_no_duplicate(&world);
}

/// A lead archives an open case card: colisync leaves it archived, and
/// only a new request files the case again, on a new card with its own
/// checklist naming the archived one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_case_card_is_filed_again_only_on_a_new_request() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let mut engine = fast_engine(&world, &state_dir);
    ok_pass(&mut engine, at_days(0)).await;
    let k = key("case/100012/perdu");
    colisync_case(&world, &state_dir, &["100012", "perdu"]).await;
    let r = ok_pass(&mut engine, at_hours(1)).await;
    assert_eq!(r.apply.created, 1, "{:#?}", r.actions);
    let first = card_of(&world, &k);

    world.trello.archive_card(&first.id);
    let r = ok_pass(&mut engine, at_hours(2)).await;
    assert!(
        r.actions
            .iter()
            .all(|a| a.key() != &k || matches!(a, Action::MarkArchived { .. })),
        "{:#?}",
        r.actions
    );
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_hours(3)).await;
    assert!(r.actions.iter().all(|a| a.key() != &k), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());

    // The customer calls again: a new request, a new card.
    colisync_case(&world, &state_dir, &["100012", "perdu"]).await;
    let r = ok_pass(&mut engine, at_hours(4)).await;
    assert_eq!(r.apply.created, 1, "{:#?}", r.actions);
    let open: Vec<FakeCard> = cards_of(&world, &k)
        .into_iter()
        .filter(|c| !c.closed)
        .collect();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_ne!(open[0].id, first.id);
    assert_eq!(item_names(&world, &open[0]).len(), 5);
    let comments = world.trello.comments(&open[0].id);
    assert!(
        comments
            .iter()
            .any(|c| c.contains("Dossier demandé à nouveau") && c.contains(&first.id)),
        "{comments:#?}"
    );
    let r = ok_pass(&mut engine, at_hours(5)).await;
    assert!(r.actions.iter().all(|a| a.key() != &k), "{:#?}", r.actions);
}
