//! A board of more than one page (1000 cards) read as Trello really pages
//! it: `before=<id>` compares creation seconds (trello-archive/api-docs
//! issue 68), and many cards share a second. No card is missed, none is
//! taken for archived because a listing did not show it, and after the
//! state directory is lost every card is adopted back without a duplicate.
//! Everything is counted in requests, never timed.

use crate::common_sync;

use std::collections::BTreeMap;
use std::time::Duration;

use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::plan::Action;
use colisync::state::State;
use colisync_testkit::Fault;
use colisync_testkit::sample::{demo_shop, late_orders, reference_now};
use colisync_testkit::trello::FakeClock;
use colisync_testkit::world::World;
use common_sync::*;

const ORDERS: usize = 1200;
const LEAD_CARDS: usize = 60;
const LEAD_ARCHIVED: usize = 20;
const COLISYNC_ARCHIVED: usize = 30;
/// 2026-05-19 08:00:00 UTC.
const START: u32 = 1_779_177_600;

/// An engine whose Trello client paces itself for `limit` (the fake's).
fn engine_at(world: &World, dir: &std::path::Path, limit: (u32, Duration)) -> Engine {
    let mut config = world.config(dir);
    config.trello.rate_limit = limit.0;
    config.trello.rate_window = limit.1;
    let state = State::open(dir).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

/// Trello requests per route since the first `skip`.
fn routes_since(world: &World, skip: usize) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in world.trello.requests().all().into_iter().skip(skip) {
        let route = colisync_testkit::route_of(&r.path);
        *m.entry(format!("{} {route}", r.method)).or_insert(0) += 1;
    }
    m
}

fn count(routes: &BTreeMap<String, usize>, route: &str) -> usize {
    routes.get(route).copied().unwrap_or(0)
}

/// Calls of the board's card listing, any filter.
fn listing_calls(routes: &BTreeMap<String, usize>) -> usize {
    routes
        .iter()
        .filter(|(r, _)| r.starts_with("GET /1/boards/{id}/cards"))
        .map(|(_, n)| n)
        .sum()
}

const CARD_READ: &str = "GET /1/cards/{id}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_past_1000_cards_sharing_seconds_is_read_whole_and_adopted_back_whole() {
    let limit = (1000, Duration::from_secs(1));
    let world = World::start(&late_orders(ORDERS as u32), Some(limit))
        .await
        .unwrap();
    // 450 ids a second: every page boundary falls inside a crowded second.
    world.trello.set_clock(FakeClock::Manual {
        second: START,
        ids_per_second: Some(450),
    });
    // The leads' own cards, some archived, in a list of theirs.
    let theirs = world.trello.add_list("En cours (équipe)");
    for i in 0..LEAD_CARDS {
        let id = world
            .trello
            .add_card(&theirs, &format!("Appeler le client {i}"), "Voir avec Léa");
        if i < LEAD_ARCHIVED {
            world.trello.archive_card(&id);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine_at(&world, dir.path(), limit);
    let first = ok_pass(&mut engine, reference_now()).await;
    assert_eq!(first.apply.created, ORDERS);
    assert_eq!(world.trello.cards().len(), ORDERS + LEAD_CARDS);
    assert_no_duplicate(&world);
    let seconds: std::collections::BTreeSet<String> = world
        .trello
        .cards()
        .iter()
        .map(|c| c.id[..8].to_owned())
        .collect();
    assert!(
        seconds.len() >= 3 && seconds.len() <= 4,
        "cards share few seconds: {seconds:?}"
    );

    // The old paging (newest 1000, then before the oldest id of them) on
    // this very board misses cards: the bug is there to be missed.
    let old_way = old_paging(&world).await;
    assert!(
        old_way < ORDERS + LEAD_CARDS,
        "{old_way}: the fake no longer reproduces issue 68"
    );

    // A lead archives some of colisync's cards.
    let colisync_cards: Vec<_> = world
        .trello
        .cards()
        .into_iter()
        .filter(|c| key_of(c).is_some())
        .collect();
    assert_eq!(colisync_cards.len(), ORDERS);
    for c in colisync_cards.iter().step_by(ORDERS / COLISYNC_ARCHIVED) {
        world.trello.archive_card(&c.id);
    }

    // The next pass sees every card in the listing: the archived ones are
    // recorded as such and no card needs reading by id.
    let skip = world.trello.request_count();
    let second = ok_pass(&mut engine, reference_now()).await;
    let routes = routes_since(&world, skip);
    assert_eq!(
        second.apply.marked_archived, COLISYNC_ARCHIVED,
        "{routes:?}"
    );
    assert_eq!(
        second.actions.len(),
        COLISYNC_ARCHIVED,
        "{:#?}",
        second.actions
    );
    assert_eq!(count(&routes, CARD_READ), 0, "{routes:?}");
    assert!(writes_since(&world, skip).is_empty());

    // A quiet pass: nothing to do, no card read, two pages of listing.
    let skip = world.trello.request_count();
    let quiet = ok_pass(&mut engine, reference_now()).await;
    let routes = routes_since(&world, skip);
    assert!(quiet.actions.is_empty(), "{:#?}", quiet.actions);
    assert_eq!(count(&routes, CARD_READ), 0, "{routes:?}");
    let pages = listing_calls(&routes);
    assert!(
        (2..=3).contains(&pages),
        "{pages} listing calls: {routes:?}"
    );
    assert!(writes_since(&world, skip).is_empty());

    // The state directory is lost: a fresh one adopts every card back.
    drop(engine);
    let before_loss = view(&world);
    let fresh = tempfile::tempdir().unwrap();
    let mut engine = engine_at(&world, fresh.path(), limit);
    let skip = world.trello.request_count();
    let adopted = ok_pass(&mut engine, reference_now()).await;
    let routes = routes_since(&world, skip);
    assert_eq!(adopted.apply.created, 0, "{routes:?}");
    assert_eq!(adopted.apply.adopted, ORDERS, "{routes:?}");
    let archived_adopted = adopted
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Adopt {
                    status: colisync::state::CardStatus::Archived,
                    ..
                }
            )
        })
        .count();
    assert_eq!(archived_adopted, COLISYNC_ARCHIVED);
    assert_eq!(count(&routes, "POST /1/cards"), 0, "{routes:?}");
    assert!(writes_since(&world, skip).is_empty(), "{routes:?}");
    assert_eq!(count(&routes, CARD_READ), 0, "{routes:?}");
    assert_eq!(view(&world), before_loss);
    assert_no_duplicate(&world);
    assert_eq!(world.trello.cards().len(), ORDERS + LEAD_CARDS);

    // And it stays quiet.
    let skip = world.trello.request_count();
    let r = ok_pass(&mut engine, reference_now()).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, skip).is_empty());
    assert_eq!(world.trello.rate_limited_count(), 0);
}

/// What paging with `sort=-id&before=<oldest id of the page>` (colisync's
/// old way) gets from the fake: how many distinct cards.
async fn old_paging(world: &World) -> usize {
    let cfg = world.trello.config();
    let http = reqwest::Client::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut before: Option<String> = None;
    loop {
        let mut url = world
            .trello
            .base_url()
            .join(&format!(
                "1/boards/{}/cards/all?limit=1000&sort=-id&fields=id",
                world.trello.board_id()
            ))
            .unwrap();
        if let Some(b) = &before {
            url.query_pairs_mut().append_pair("before", b);
        }
        let page: Vec<serde_json::Value> = http
            .get(url)
            .header(
                "Authorization",
                format!(
                    "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
                    cfg.key.expose(),
                    cfg.token.expose()
                ),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<String> = page
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        let full = ids.len() >= 1000;
        let oldest = ids.iter().min().cloned();
        seen.extend(ids);
        match oldest {
            Some(o) if full && before.as_ref().is_none_or(|b| o < *b) => before = Some(o),
            _ => break,
        }
    }
    seen.len()
}

/// A card a lead deleted is read once, found gone, and recorded like an
/// archived one; it is not read again on the passes after.
#[tokio::test]
async fn a_deleted_card_is_read_once_then_left_alone() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let gone = card_of(&world, &key("order/100003"));
    world.trello.delete_card(&gone.id);

    let skip = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(0)).await;
    let routes = routes_since(&world, skip);
    assert_eq!(count(&routes, CARD_READ), 1, "{routes:?}");
    assert!(
        matches!(r.actions.as_slice(), [Action::MarkArchived { card_id, .. }] if *card_id == gone.id),
        "{:#?}",
        r.actions
    );
    assert!(writes_since(&world, skip).is_empty());

    let skip = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(0)).await;
    let routes = routes_since(&world, skip);
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert_eq!(count(&routes, CARD_READ), 0, "{routes:?}");
    assert!(
        cards_of(&world, &key("order/100003")).is_empty(),
        "not re-filed"
    );
}

/// When reading a missing card fails, nothing is done for it this pass (the
/// error is reported); the next pass, with Trello answering, settles it.
#[tokio::test]
async fn a_failed_read_of_a_missing_card_changes_nothing_for_it() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let gone = card_of(&world, &key("order/100003"));
    world.trello.delete_card(&gone.id);
    world
        .trello
        .faults()
        .always("GET", &format!("/1/cards/{}", gone.id), Fault::Status(503));

    let skip = world.trello.request_count();
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert!(
        r.errors
            .iter()
            .any(|e| e.service() == colisync::pass::Service::Trello
                && e.to_string().contains(&gone.id)),
        "{:#?}",
        r.errors
    );
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, skip).is_empty());

    world.trello.faults().clear();
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert!(
        matches!(r.actions.as_slice(), [Action::MarkArchived { .. }]),
        "{:#?}",
        r.actions
    );
    assert!(
        cards_of(&world, &key("order/100003")).is_empty(),
        "not re-filed"
    );
}
