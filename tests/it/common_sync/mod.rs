//! Helpers shared by the end-to-end tests of the sync engine (`sync_*.rs`):
//! an engine on the three fakes, and ways to look at the fake board.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use colisync::board::parse_marker;
use colisync::daemon::Stop;
use colisync::domain::ProblemKey;
use colisync::http::RetryPolicy;
use colisync::pass::{Engine, PassReport};
use colisync::state::State;
use colisync_testkit::LoggedRequest;
use colisync_testkit::sample::reference_now;
use colisync_testkit::trello::FakeCard;
use colisync_testkit::world::World;

/// An engine on `world` with its state in `dir` (fast retries).
pub fn engine(world: &World, dir: &Path) -> Engine {
    let config = world.config(dir);
    let state = State::open(dir).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

/// An engine whose Trello client paces itself for a 100-requests-per-100-ms
/// window instead of Trello's 10 s (about 1 ms between requests instead of
/// 0.1 s, and 0.1 s of pause after a 429 without Retry-After): for tests
/// that run many passes against a fake enforcing no rate limit.
pub fn fast_engine(world: &World, dir: &Path) -> Engine {
    let mut config = world.config(dir);
    config.trello.rate_window = std::time::Duration::from_millis(100);
    let state = State::open(dir).expect("state opens");
    Engine::with_retry(config, state, RetryPolicy::fast()).expect("engine")
}

/// `reference_now()` plus some hours.
pub fn at_hours(h: i64) -> DateTime<Utc> {
    reference_now() + Duration::hours(h)
}

/// `reference_now()` plus some days.
pub fn at_days(d: i64) -> DateTime<Utc> {
    reference_now() + Duration::days(d)
}

/// A real (not dry) pass.
pub async fn pass(engine: &mut Engine, now: DateTime<Utc>) -> PassReport {
    engine.run_pass(now, &Stop::default(), false).await
}

/// A real pass that must succeed.
pub async fn ok_pass(engine: &mut Engine, now: DateTime<Utc>) -> PassReport {
    let r = pass(engine, now).await;
    assert!(r.is_success(), "pass failed: {:#?}", r.all_errors());
    r
}

/// The Trello requests after the first `skip`, other than reads.
pub fn writes_since(world: &World, skip: usize) -> Vec<LoggedRequest> {
    world
        .trello
        .requests()
        .all()
        .into_iter()
        .skip(skip)
        .filter(|r| r.method != "GET")
        .collect()
}

/// The problem key a card's marker line carries.
pub fn key_of(card: &FakeCard) -> Option<ProblemKey> {
    parse_marker(&card.desc)
}

pub fn key(s: &str) -> ProblemKey {
    s.parse().expect("a problem key")
}

/// Every card (open and archived) carrying `key`'s marker, oldest first.
pub fn cards_of(world: &World, key: &ProblemKey) -> Vec<FakeCard> {
    world
        .trello
        .cards()
        .into_iter()
        .filter(|c| key_of(c).as_ref() == Some(key))
        .collect()
}

/// The only card carrying `key`'s marker.
pub fn card_of(world: &World, key: &ProblemKey) -> FakeCard {
    let cards = cards_of(world, key);
    assert_eq!(cards.len(), 1, "cards of {key}: {cards:#?}");
    cards.into_iter().next().expect("one card")
}

/// How many cards carry each marker.
pub fn marker_counts(world: &World) -> BTreeMap<ProblemKey, usize> {
    let mut m = BTreeMap::new();
    for c in world.trello.cards() {
        if let Some(k) = key_of(&c) {
            *m.entry(k).or_insert(0) += 1;
        }
    }
    m
}

/// Fails if any problem key has more than one card.
pub fn assert_no_duplicate(world: &World) {
    let dups: Vec<_> = marker_counts(world)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(dups.is_empty(), "duplicate cards: {dups:?}");
}

/// What a board shows, comparable across two fakes (ids differ): per card,
/// its title, list name, whether archived, label names, sorted.
pub fn board_view(world: &World) -> Vec<(String, String, bool, Vec<String>)> {
    let lists: BTreeMap<String, String> = world
        .trello
        .lists()
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let labels: BTreeMap<String, String> = world
        .trello
        .labels()
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let mut v: Vec<_> = world
        .trello
        .cards()
        .into_iter()
        .map(|c| {
            let mut ls: Vec<String> = c
                .id_labels
                .iter()
                .map(|id| labels.get(id).cloned().unwrap_or_else(|| id.clone()))
                .collect();
            ls.sort();
            (
                c.name,
                lists.get(&c.id_list).cloned().unwrap_or(c.id_list),
                c.closed,
                ls,
            )
        })
        .collect();
    v.sort();
    v
}

/// Titles of all cards, sorted.
pub fn titles(world: &World) -> BTreeSet<String> {
    world.trello.cards().into_iter().map(|c| c.name).collect()
}

/// The id of the list named `name` on the fake board.
pub fn list_id(world: &World, name: &str) -> String {
    world
        .trello
        .lists()
        .into_iter()
        .find(|l| l.name == name && !l.closed)
        .unwrap_or_else(|| panic!("no list {name:?}"))
        .id
}

/// The name of the list a card sits in.
pub fn list_name(world: &World, card: &FakeCard) -> String {
    world
        .trello
        .lists()
        .into_iter()
        .find(|l| l.id == card.id_list)
        .map(|l| l.name)
        .unwrap_or_default()
}

/// Everything a lead sees, ids aside: the cards (title, list, archived,
/// label names) and per card title its comments; lists and labels.
#[derive(Debug, PartialEq)]
pub struct View {
    pub cards: Vec<(String, String, bool, Vec<String>)>,
    pub comments: BTreeMap<String, Vec<String>>,
    pub lists: Vec<String>,
    pub labels: Vec<String>,
}

pub fn view(world: &World) -> View {
    let mut lists: Vec<String> = world.trello.lists().into_iter().map(|l| l.name).collect();
    lists.sort();
    let mut labels: Vec<String> = world.trello.labels().into_iter().map(|l| l.name).collect();
    labels.sort();
    labels.dedup(); // a label whose creation answer was lost may exist twice, unused
    View {
        cards: board_view(world),
        comments: world
            .trello
            .cards()
            .into_iter()
            .map(|c| (c.name.clone(), world.trello.comments(&c.id)))
            .collect(),
        lists,
        labels,
    }
}
