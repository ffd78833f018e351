//! End-to-end: the write-back notes. A card filed writes one comment on
//! the Magento order and one private note on the customer's open Freshdesk
//! ticket; a resolution one more of each; a crash at each step and a lost
//! answer leave exactly one; 429s are waited out; a customer without a
//! ticket gets none and no error; Freshdesk down fails that part of the
//! pass and the rest goes on; a reopening says so in both places; each
//! ticket written on is linked once on its card. Requests are counted,
//! never timed.

use crate::common_sync;

use colisync::config::FreshdeskConfig;
use colisync::domain::{OrderState, Shipment, Track};
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::pass::Stop;
use colisync::secret::Secret;
use colisync::state::State;
use colisync::writeback::apply::WriteCrash;
use colisync_testkit::Fault;
use colisync_testkit::freshdesk::FakeFreshdesk;
use colisync_testkit::sample::{demo_shop, reference_now};
use colisync_testkit::world::World;
use common_sync::*;
use serde_json::Map;

const FD_KEY: &str = "fd-e2e-key-Qm29";
const CAMILLE: &str = "camille.martin@example.fr";
const COMMENTS: &str = "/rest/V1/orders/";

struct Setup {
    world: World,
    fd: FakeFreshdesk,
    ticket: u64,
    agent_note: u64,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let fd = FakeFreshdesk::start(FD_KEY, reference_now()).await.unwrap();
    // Camille (order 100001, a shipping delay) wrote in; nobody else did.
    let camille = fd.add_contact("Camille Martin", CAMILLE);
    let ticket = fd.add_ticket(
        camille,
        "Où en est ma commande 100001 ?",
        2,
        reference_now() - chrono::Duration::days(1),
        Map::new(),
    );
    fd.add_ticket(camille, "Ancienne question", 5, reference_now(), Map::new());
    let agent_note = fd.add_agent_note(ticket, "<p>Cliente rappelée, attend son colis.</p>");
    Setup {
        world,
        fd,
        ticket,
        agent_note,
        dir: tempfile::tempdir().unwrap(),
    }
}

fn engine_of(s: &Setup) -> Engine {
    let mut config = s.world.config(s.dir.path());
    config.magento.order_notes = true;
    config.freshdesk = Some(FreshdeskConfig {
        base_url: s.fd.base_url(),
        api_key: Secret::new(FD_KEY),
        escalation_group: None,
        escalation_rules: Vec::new(),
        requester_email: None,
        order_number_field: None,
        ticket_lookback_days: 90,
        requests_per_minute: 1000,
        timeout: std::time::Duration::from_millis(500),
    });
    let state = State::open(s.dir.path()).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

/// colisync's notes on the ticket.
fn our_notes(s: &Setup) -> Vec<String> {
    s.fd.notes_of(s.ticket)
        .into_iter()
        .filter_map(|n| n["body_text"].as_str().map(str::to_owned))
        .filter(|t| t.contains("colisync-note:"))
        .collect()
}

/// colisync's comments on an order (by entity id).
fn our_comments(s: &Setup, entity_id: u64) -> Vec<String> {
    s.world
        .magento
        .comments_of(entity_id)
        .into_iter()
        .filter_map(|c| c["comment"].as_str().map(str::to_owned))
        .filter(|c| c.contains("colisync-note:"))
        .collect()
}

/// The card comments linking `ticket`, on the card of `k`.
fn links_on(s: &Setup, k: &str, ticket: u64) -> Vec<String> {
    let card = card_of(&s.world, &key(k));
    s.world
        .trello
        .comments(&card.id)
        .into_iter()
        .filter(|c| c.contains(&format!("colisync-link:freshdesk-ticket:{ticket}")))
        .collect()
}

fn ticket_url(s: &Setup, ticket: u64) -> String {
    format!("{}a/tickets/{ticket}", s.fd.base_url())
}

fn comment_posts(s: &Setup) -> usize {
    s.world
        .magento
        .request_log()
        .all()
        .iter()
        .filter(|r| {
            r.method == "POST" && r.path.starts_with(COMMENTS) && r.path.ends_with("/comments")
        })
        .count()
}

fn entity_of(increment_id: &str) -> u64 {
    demo_shop()
        .orders
        .iter()
        .find(|o| o.increment_id == increment_id)
        .map(|o| o.entity_id)
        .unwrap()
}

fn assert_nobody_told(s: &Setup) {
    assert!(
        s.fd.notifications().is_empty(),
        "{:?}",
        s.fd.notifications()
    );
    assert_eq!(s.world.magento.customer_emails(), 0);
    for forbidden in ["/reply", "/outbound_email", "/api/v2/conversations"] {
        assert!(
            s.fd.requests()
                .all()
                .iter()
                .all(|r| !r.path.contains(forbidden)),
            "{forbidden} called"
        );
    }
    let agent =
        s.fd.conversations_of(s.ticket)
            .into_iter()
            .find(|c| c["id"] == s.agent_note)
            .expect("the agent's note is still there");
    assert_eq!(agent["body"], "<p>Cliente rappelée, attend son colis.</p>");
}

#[tokio::test]
async fn a_filed_card_writes_one_order_comment_and_one_private_note() {
    let s = setup().await;
    let mut engine = engine_of(&s);
    let r = ok_pass(&mut engine, at_days(0)).await;
    let cards = s.world.trello.cards();
    assert_eq!(cards.len(), 9);
    // One comment per card, on its order; the order's status unchanged.
    assert_eq!(r.writeback.magento_notes, 9);
    assert_eq!(comment_posts(&s), 9);
    let e1 = entity_of("100001");
    let comments = our_comments(&s, e1);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let card = card_of(&s.world, &key("order/100001"));
    assert!(
        comments[0].contains(&format!("https://trello.com/c/{}", card.id)),
        "{}",
        comments[0]
    );
    assert_eq!(
        s.world.magento.raw_order(e1).unwrap()["status"],
        "processing"
    );
    // Camille's open ticket gets one private note; the closed one none;
    // the customers without a contact get nothing and no error.
    assert_eq!(r.writeback.freshdesk_notes, 1);
    assert_eq!(r.writeback.no_ticket, 8);
    let notes = our_notes(&s);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(":filed:") && notes[0].contains("trello.com/c/"),
        "{}",
        notes[0]
    );
    assert!(s.fd.notes_of(s.ticket).iter().all(|n| n["private"] == true));
    assert_nobody_told(&s);
    // The ticket is linked on Camille's card, once; no other card gets one.
    assert_eq!(r.writeback.ticket_links, 1);
    let links = links_on(&s, "order/100001", s.ticket);
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].contains(&ticket_url(&s, s.ticket)), "{}", links[0]);
    assert!(!links[0].contains(FD_KEY));

    // A second pass writes nothing more.
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(
        (r.writeback.magento_notes, r.writeback.freshdesk_notes),
        (0, 0)
    );
    assert_eq!(comment_posts(&s), 9);
    assert_eq!(our_notes(&s).len(), 1);
    assert_eq!(r.writeback.ticket_links, 0);
    assert_eq!(links_on(&s, "order/100001", s.ticket).len(), 1);
}

#[tokio::test]
async fn a_resolution_adds_one_more_of_each() {
    let s = setup().await;
    let mut engine = engine_of(&s);
    ok_pass(&mut engine, at_days(0)).await;
    let posts = comment_posts(&s);
    // Order 100001 ships.
    let mut order = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100001")
        .unwrap();
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
    s.world.magento.update_order(&order);
    let r = ok_pass(&mut engine, at_hours(3)).await;
    assert_eq!(r.apply.resolved, 1);
    assert_eq!(comment_posts(&s), posts + 1);
    let comments = our_comments(&s, entity_of("100001"));
    assert!(
        comments.iter().any(|c| c.contains(":resolved:")),
        "{comments:?}"
    );
    let notes = our_notes(&s);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[1].contains(":resolved:"));
    assert_nobody_told(&s);
    // The ticket was linked when the card was filed: not again.
    assert_eq!(links_on(&s, "order/100001", s.ticket).len(), 1);
}

/// Order 100001 shipped at hour 2 (its card resolved at hour 3).
async fn ship_100001(s: &Setup, engine: &mut Engine) {
    let mut order = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100001")
        .unwrap();
    order.state = OrderState::Complete;
    order.status = "complete".into();
    order.updated_at = at_hours(2);
    order.shipments = vec![Shipment {
        entity_id: 7001,
        created_at: at_hours(2),
        tracks: Vec::new(),
    }];
    s.world.magento.update_order(&order);
    let r = ok_pass(engine, at_hours(3)).await;
    assert_eq!(r.apply.resolved, 1, "{:?}", r.actions);
}

/// Then its shipment withdrawn at hour 4: the problem is back.
fn withdraw_100001(s: &Setup) {
    let mut order = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100001")
        .unwrap();
    order.updated_at = at_hours(4);
    s.world.magento.update_order(&order);
}

#[tokio::test]
async fn a_reopening_says_so_on_the_order_and_the_ticket() {
    let s = setup().await;
    let mut engine = engine_of(&s);
    ok_pass(&mut engine, at_days(0)).await;
    ship_100001(&s, &mut engine).await;
    withdraw_100001(&s);
    let posts = comment_posts(&s);
    let r = ok_pass(&mut engine, at_hours(5)).await;
    assert_eq!(r.apply.reopened, 1, "{:?}", r.actions);
    assert_eq!(
        (r.writeback.magento_notes, r.writeback.freshdesk_notes),
        (1, 1)
    );
    assert_eq!(comment_posts(&s), posts + 1);
    let comments = our_comments(&s, entity_of("100001"));
    let reopened: Vec<_> = comments
        .iter()
        .filter(|c| c.contains(":reopened:"))
        .collect();
    assert_eq!(reopened.len(), 1, "{comments:?}");
    assert!(reopened[0].contains("revenu"), "{}", reopened[0]);
    let notes = our_notes(&s);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[2].contains(":reopened:") && notes[2].contains("revenu"));
    assert_eq!(links_on(&s, "order/100001", s.ticket).len(), 1);
    assert_nobody_told(&s);
    // Nothing more on the next pass.
    ok_pass(&mut engine, at_hours(6)).await;
    assert_eq!(our_notes(&s).len(), 3);
    assert_eq!(comment_posts(&s), posts + 1);
}

#[tokio::test]
async fn a_crash_while_reopening_leaves_exactly_one_note_of_it() {
    for at in [
        WriteCrash::BeforeCard,
        WriteCrash::AfterCard,
        WriteCrash::Called,
    ] {
        let s = setup().await;
        let mut engine = engine_of(&s);
        ok_pass(&mut engine, at_days(0)).await;
        ship_100001(&s, &mut engine).await;
        withdraw_100001(&s);
        engine.set_writeback_crash(Some(at));
        let r = engine.run_pass(at_hours(5), &Stop::default(), false).await;
        assert!(r.writeback.crashed, "{at:?}");
        drop(engine);
        let mut engine = engine_of(&s);
        ok_pass(&mut engine, at_hours(6)).await;
        ok_pass(&mut engine, at_hours(7)).await;
        let reopened = |v: Vec<String>| v.into_iter().filter(|n| n.contains(":reopened:")).count();
        assert_eq!(reopened(our_notes(&s)), 1, "{at:?}: {:?}", our_notes(&s));
        assert_eq!(reopened(our_comments(&s, entity_of("100001"))), 1, "{at:?}");
    }
}

#[tokio::test]
async fn a_crash_at_each_step_leaves_exactly_one_of_each() {
    for at in [
        WriteCrash::BeforeCard,
        WriteCrash::AfterCard,
        WriteCrash::Called,
        WriteCrash::Linked,
    ] {
        let s = setup().await;
        let mut engine = engine_of(&s);
        engine.set_writeback_crash(Some(at));
        let r = engine.run_pass(at_days(0), &Stop::default(), false).await;
        assert!(r.writeback.crashed, "{at:?}");
        drop(engine);
        // The restarted daemon.
        let mut engine = engine_of(&s);
        ok_pass(&mut engine, at_hours(1)).await;
        ok_pass(&mut engine, at_hours(2)).await;
        assert_eq!(s.world.trello.cards().len(), 9, "{at:?}");
        assert_eq!(our_notes(&s).len(), 1, "{at:?}: {:?}", our_notes(&s));
        for n in 1..=9 {
            let inc = format!("{}", 100_000 + n);
            if let Some(o) = demo_shop().orders.iter().find(|o| o.increment_id == inc) {
                assert!(our_comments(&s, o.entity_id).len() <= 1, "{at:?} {inc}");
            }
        }
        assert_eq!(our_comments(&s, entity_of("100001")).len(), 1, "{at:?}");
        assert_eq!(
            links_on(&s, "order/100001", s.ticket).len(),
            1,
            "{at:?}: one link on the card"
        );
        assert_nobody_told(&s);
    }
}

#[tokio::test]
async fn a_lost_link_answer_is_settled_by_reading_the_card_back() {
    let s = setup().await;
    // Freshdesk down: the cards are filed, the notes wait.
    s.fd.faults().always("*", "/api/v2", Fault::Status(503));
    let mut engine = engine_of(&s);
    pass(&mut engine, at_days(0)).await;
    assert!(links_on(&s, "order/100001", s.ticket).is_empty());
    s.fd.faults().clear();
    let card = card_of(&s.world, &key("order/100001"));
    let path = format!("/1/cards/{}/actions/comments", card.id);
    s.world
        .trello
        .faults()
        .once("POST", &path, Fault::LoseAnswer);
    let r = ok_pass(&mut engine, at_hours(1)).await;
    assert_eq!(r.writeback.ticket_links, 1);
    assert_eq!(links_on(&s, "order/100001", s.ticket).len(), 1);
    assert_eq!(
        s.world.trello.requests().count("POST", &path),
        1,
        "found by reading back, not written again"
    );
    ok_pass(&mut engine, at_hours(2)).await;
    assert_eq!(s.world.trello.requests().count("POST", &path), 1);
}

#[tokio::test]
async fn trello_down_while_linking_keeps_the_note_and_links_later() {
    let s = setup().await;
    s.fd.faults().always("*", "/api/v2", Fault::Status(503));
    let mut engine = engine_of(&s);
    pass(&mut engine, at_days(0)).await;
    s.fd.faults().clear();
    let card = card_of(&s.world, &key("order/100001"));
    let path = format!("/1/cards/{}/actions", card.id);
    s.world
        .trello
        .faults()
        .always("*", &path, Fault::Status(503));
    let r = pass(&mut engine, at_hours(1)).await;
    assert!(!r.is_success());
    assert_eq!(our_notes(&s).len(), 1, "the note is written");
    assert!(links_on(&s, "order/100001", s.ticket).is_empty());
    s.world.trello.faults().clear();
    let notes_posted = s.fd.requests().count("POST", "/api/v2/tickets/");
    let r = ok_pass(&mut engine, at_hours(2)).await;
    assert_eq!(r.writeback.ticket_links, 1);
    assert_eq!(links_on(&s, "order/100001", s.ticket).len(), 1);
    assert_eq!(our_notes(&s).len(), 1, "the note is not written again");
    assert_eq!(
        s.fd.requests().count("POST", "/api/v2/tickets/"),
        notes_posted
    );
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_reading_back() {
    let s = setup().await;
    s.fd.faults().once(
        "POST",
        &format!("/api/v2/tickets/{}/notes", s.ticket),
        Fault::LoseAnswer,
    );
    let e1 = entity_of("100001");
    s.world.magento.faults().once(
        "POST",
        &format!("/rest/V1/orders/{e1}/comments"),
        Fault::LoseAnswer,
    );
    let mut engine = engine_of(&s);
    ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(our_notes(&s).len(), 1);
    assert_eq!(our_comments(&s, e1).len(), 1);
    assert_eq!(
        s.fd.requests()
            .count("POST", &format!("/api/v2/tickets/{}/notes", s.ticket)),
        1,
        "found by reading back, not written again"
    );
}

#[tokio::test]
async fn a_429_is_waited_out() {
    let s = setup().await;
    let path = format!("/api/v2/tickets/{}/notes", s.ticket);
    s.fd.faults().once(
        "POST",
        &path,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    s.fd.faults().once(
        "GET",
        "/api/v2/contacts",
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let mut engine = engine_of(&s);
    ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(s.fd.requests().count("POST", &path), 2);
    assert_eq!(our_notes(&s).len(), 1);
}

#[tokio::test]
async fn freshdesk_down_fails_its_part_and_the_rest_goes_on() {
    let s = setup().await;
    s.fd.faults().always("*", "/api/v2", Fault::Status(503));
    let mut engine = engine_of(&s);
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert!(
        r.all_errors().iter().any(|e| e.contains("freshdesk")),
        "{:?}",
        r.all_errors()
    );
    assert_eq!(s.world.trello.cards().len(), 9, "the cards are filed");
    assert_eq!(r.writeback.magento_notes, 9, "Magento is not held up");
    assert!(our_notes(&s).is_empty());

    s.fd.faults().clear();
    let r = ok_pass(&mut engine, at_hours(1)).await;
    assert_eq!(r.writeback.freshdesk_notes, 1);
    assert_eq!(our_notes(&s).len(), 1);
    ok_pass(&mut engine, at_hours(2)).await;
    assert_eq!(our_notes(&s).len(), 1);
    assert_eq!(comment_posts(&s), 9);
}

#[tokio::test]
async fn a_refused_key_stops_freshdesk_only() {
    let s = setup().await;
    let mut engine = {
        let mut config = s.world.config(s.dir.path());
        config.magento.order_notes = true;
        config.freshdesk = Some(FreshdeskConfig {
            base_url: s.fd.base_url(),
            api_key: Secret::new("wrong-key"),
            escalation_group: None,
            escalation_rules: Vec::new(),
            requester_email: None,
            order_number_field: None,
            ticket_lookback_days: 90,
            requests_per_minute: 1000,
            timeout: std::time::Duration::from_millis(500),
        });
        Engine::with_retry(
            config,
            State::open(s.dir.path()).unwrap(),
            RetryPolicy::fast(),
        )
        .unwrap()
    };
    let r = pass(&mut engine, at_days(0)).await;
    assert!(
        r.all_errors()
            .iter()
            .any(|e| e.contains("freshdesk.api_key")),
        "{:?}",
        r.all_errors()
    );
    assert_eq!(s.world.trello.cards().len(), 9);
    assert_eq!(r.writeback.magento_notes, 9);
    // One refused request, then the Freshdesk part stops for the pass.
    assert_eq!(s.fd.requests().count("GET", "/api/v2/contacts"), 1);
}

#[tokio::test]
async fn a_dry_run_lists_the_notes_and_calls_neither() {
    let s = setup().await;
    let mut engine = engine_of(&s);
    let r = engine.run_pass(at_days(0), &Stop::default(), true).await;
    assert_eq!(r.writeback_plan.len(), 18, "{:#?}", r.writeback_plan);
    let table = colisync::pass::render_writeback_table(&r.writeback_plan);
    assert!(table.contains("freshdesk:notes") && table.contains("magento:order-note"));
    assert!(table.contains("linked once on its card"), "{table}");
    assert!(!table.contains('@'), "no e-mail address: {table}");
    assert!(
        s.fd.requests().is_empty(),
        "a dry run never calls Freshdesk"
    );
    assert_eq!(comment_posts(&s), 0);
    assert_eq!(
        s.world.trello.requests().count("POST", "/1/cards"),
        0,
        "nor comments on Trello"
    );
}

#[tokio::test]
async fn without_the_options_nothing_is_written_anywhere_else() {
    let s = setup().await;
    let mut engine = engine(&s.world, s.dir.path());
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(s.world.trello.cards().len(), 9);
    assert_eq!(r.writeback, Default::default());
    assert_eq!(comment_posts(&s), 0);
    assert!(s.fd.requests().is_empty());
}

#[tokio::test]
async fn an_echoed_freshdesk_key_never_reaches_the_report() {
    let s = setup().await;
    s.fd.faults().always(
        "*",
        "/api/v2",
        Fault::EchoCredentials {
            status: 503,
            content_type: "application/json".into(),
            template: r#"{"code":"down","message":"key {creds} / {creds_pct}"}"#.into(),
        },
    );
    let mut engine = engine_of(&s);
    let mut r = pass(&mut engine, at_days(0)).await;
    colisync::daemon::scrub_report(&mut r, &engine_config_scrubber(&s));
    let shown = format!("{:?} {:?}", r.all_errors(), r);
    assert!(
        r.all_errors().iter().any(|e| e.contains("freshdesk")),
        "{shown}"
    );
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{FD_KEY}:X"));
    assert!(
        !shown.contains(FD_KEY) && !shown.contains(&basic),
        "{shown}"
    );
}

fn engine_config_scrubber(s: &Setup) -> colisync::secret::Scrubber {
    let mut config = s.world.config(s.dir.path());
    config.freshdesk = Some(FreshdeskConfig {
        base_url: s.fd.base_url(),
        api_key: Secret::new(FD_KEY),
        escalation_group: None,
        escalation_rules: Vec::new(),
        requester_email: None,
        order_number_field: None,
        ticket_lookback_days: 90,
        requests_per_minute: 1000,
        timeout: std::time::Duration::from_millis(500),
    });
    config.scrubber()
}

fn escalating_engine(s: &Setup, group: &str) -> Engine {
    let mut config = s.world.config(s.dir.path());
    config.freshdesk = Some(FreshdeskConfig {
        base_url: s.fd.base_url(),
        api_key: Secret::new(FD_KEY),
        escalation_group: Some(colisync::config::GroupRef::Name(group.into())),
        escalation_rules: vec![
            "tracking_problem".into(),
            "tracking_not_found".into(),
            "tracking_stuck".into(),
        ],
        requester_email: Some("sav@shop.example".into()),
        order_number_field: None,
        ticket_lookback_days: 90,
        requests_per_minute: 1000,
        timeout: std::time::Duration::from_millis(500),
    });
    Engine::with_retry(
        config,
        State::open(s.dir.path()).unwrap(),
        RetryPolicy::fast(),
    )
    .unwrap()
}

fn email_of(increment_id: &str) -> String {
    demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == increment_id)
        .map(|o| o.customer.email)
        .unwrap()
}

#[tokio::test]
async fn tracking_anomalies_are_escalated_once_never_in_a_customers_name() {
    let s = setup().await;
    let group = s.fd.add_group("Niveau 2");
    // Order 100009's customer has an open ticket: it is assigned, not doubled.
    let who = s.fd.add_contact("Client 9", &email_of("100009"));
    let theirs =
        s.fd.add_ticket(who, "Mon colis ?", 3, reference_now(), Map::new());
    // The first ticket opened loses its answer: found again by its subject.
    s.fd.faults()
        .once("POST", "/api/v2/tickets", Fault::LoseAnswer);
    let mut engine = escalating_engine(&s, "niveau 2");
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(r.writeback.escalations, 3, "{:?}", r.writeback);
    let opened = s.fd.tickets_of("sav@shop.example");
    assert_eq!(opened.len(), 2, "{opened:#?}");
    for t in &opened {
        assert_eq!(t["group_id"], group);
        assert!(
            t["subject"]
                .as_str()
                .unwrap()
                .starts_with("[colisync parcel/1000")
        );
    }
    let assigned = s.fd.ticket_json(theirs).unwrap();
    assert_eq!(assigned["group_id"], group);
    assert_eq!(
        assigned["status"], 3,
        "the customer's ticket keeps its status"
    );
    assert!(s.fd.notes_of(theirs).iter().any(|n| {
        n["body_text"]
            .as_str()
            .unwrap()
            .contains("colisync-ticket:")
    }));
    // Each escalation's ticket is linked on its card, once.
    let linked = |id: u64| {
        s.world
            .trello
            .cards()
            .iter()
            .map(|c| {
                s.world
                    .trello
                    .comments(&c.id)
                    .iter()
                    .filter(|t| t.contains(&ticket_url(&s, id)))
                    .count()
            })
            .sum::<usize>()
    };
    for t in opened
        .iter()
        .filter_map(|t| t["id"].as_u64())
        .chain([theirs])
    {
        assert_eq!(linked(t), 1, "ticket {t}");
    }
    // Only the internal address was ever written to.
    let to: Vec<String> = s.fd.notifications().into_iter().map(|n| n.to).collect();
    assert!(to.iter().all(|t| t == "sav@shop.example"), "{to:?}");

    // Later passes never escalate again.
    ok_pass(&mut engine, at_hours(1)).await;
    ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(s.fd.tickets_of("sav@shop.example").len(), 2);
    let creates =
        s.fd.requests()
            .all()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/api/v2/tickets")
            .count();
    assert_eq!(creates, 2, "the lost answer was found again, not resent");
}

#[tokio::test]
async fn an_unknown_group_is_reported_and_nothing_is_opened() {
    let s = setup().await;
    s.fd.add_group("Niveau 1");
    let mut engine = escalating_engine(&s, "Niveau 2");
    let r = pass(&mut engine, at_days(0)).await;
    assert!(
        r.all_errors()
            .iter()
            .any(|e| e.contains("\"Niveau 2\" is not a group") && e.contains("Niveau 1")),
        "{:?}",
        r.all_errors()
    );
    assert!(s.fd.tickets_of("sav@shop.example").is_empty());
    assert_eq!(s.world.trello.cards().len(), 9);
}
