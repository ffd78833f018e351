//! A fake Trello REST API (the routes colisync uses), in process on
//! 127.0.0.1, for the tests and `colisync demo`.
//!
//! It behaves like the real service as docs/apis.md describes it: the
//! `Authorization: OAuth oauth_consumer_key="…", oauth_token="…"` header is
//! checked (401 plain-text `invalid key` / `invalid token`, JSON
//! `{"message":"missing scopes"}` for an empty token); ids are validated
//! (400 `invalid id`, 400 `invalid value for idList`, 404 `could not find
//! the board that the card belongs to`, 404 `The requested resource was not
//! found.`); names, descriptions and comments over 16384 characters are
//! refused; card listings cap `limit` at 1000 and page with `before` as
//! Trello does, bug included (see [`list_cards`]); the per-token sliding window (100 requests / 10 s by default)
//! answers 429 `API_TOKEN_LIMIT_EXCEEDED` and every answer carries the
//! `x-rate-limit-api-token-*` headers. Parameters are read from the query
//! string or a JSON body, as Trello does. Credentials in the query string
//! are ignored (and counted) so that a client relying on them fails.
//!
//! State: one board with lists, labels, cards and comments. Ids are built
//! like Trello's (Mongo ObjectIds): the creation second in the first 8 hex
//! digits, then a fixed "machine" part and a counter, so ids grow with
//! creation and everything created in one second shares its first 8 digits.
//! The second comes from the fake's clock: ten ids a second from a fixed
//! instant unless a test sets it ([`FakeTrello::set_clock`], [`FakeClock`]). Tests seed and inspect the
//! board directly ([`FakeTrello::add_list`], [`FakeTrello::cards`], …) and
//! act as a lead would ([`FakeTrello::move_card`],
//! [`FakeTrello::archive_card`], [`FakeTrello::delete_card`]).
//! Faults come from the shared infrastructure: `fake.faults().once("POST",
//! "/1/cards", Fault::LoseAnswer)` (see [the crate root](crate)).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use crate::{FakeServer, Faults, RequestLog, lock};
use colisync::config::TrelloConfig;
use colisync::secret::Secret;

/// Trello's text limit (name, desc, comment), in UTF-16 units as its
/// JavaScript counts.
const TEXT_LIMIT: usize = 16384;
const NOT_FOUND: &str = "The requested resource was not found.";

/// A card as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeCard {
    pub id: String,
    pub(crate) short_link: String,
    pub id_list: String,
    pub name: String,
    pub desc: String,
    pub closed: bool,
    pub id_labels: Vec<String>,
    pub due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeList {
    pub id: String,
    pub name: String,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeLabel {
    pub id: String,
    pub name: String,
    pub color: Option<String>,
}

/// A checklist on a card, with its items in `pos` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeChecklist {
    pub id: String,
    pub id_card: String,
    pub name: String,
    pub pos: u64,
    pub items: Vec<FakeCheckItem>,
}

/// One item of a checklist. `state` is Trello's word: `complete` or
/// `incomplete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeCheckItem {
    pub id: String,
    pub name: String,
    pub state: String,
    pub pos: u64,
    pub due: Option<DateTime<Utc>>,
}

impl FakeCheckItem {
    pub fn is_complete(&self) -> bool {
        self.state == "complete"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeComment {
    pub id: String,
    pub(crate) id_card: String,
    pub text: String,
}

/// Everything on the fake's board, with the id counter and clock so that a
/// board loaded from it hands out new ids after the old ones: what
/// [`FakeTrello::dump_board`] writes and [`FakeTrello::load_board`] reads
/// (the board of the state written by an older colisync, `tests/data/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardDump {
    pub id: String,
    pub short_link: String,
    pub name: String,
    pub lists: Vec<FakeList>,
    pub labels: Vec<FakeLabel>,
    pub cards: Vec<FakeCard>,
    pub comments: Vec<FakeComment>,
    /// Absent from the dumps written before the fake had checklists.
    #[serde(default)]
    pub checklists: Vec<FakeChecklist>,
    pub counter: u64,
    pub clock: FakeClock,
    pub ids_in_second: u32,
}

/// Where the fake takes the creation second of a new id from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FakeClock {
    /// The machine's clock, as Trello's servers use theirs.
    Wall,
    /// A second set by the test (Unix seconds). With `ids_per_second`, the
    /// second moves on by one after that many ids (a steady creation rate);
    /// without, every id is created in that second.
    Manual {
        second: u32,
        ids_per_second: Option<u32>,
    },
}

impl FakeClock {
    /// Where a fake starts: 2020-07-26 (the `5f1e0c00` prefix of the ids the
    /// tests have always seen), ten ids a second: the most one token can
    /// create under Trello's 100 requests per 10 s. Deterministic, so that
    /// two fakes fed the same requests hand out the same ids.
    pub(crate) const DEFAULT: FakeClock = FakeClock::Manual {
        second: 0x5f1e_0c00,
        ids_per_second: Some(10),
    };
}

/// Ids of this fake's "server process": the middle 10 hex digits of an
/// ObjectId (random per process on Trello).
const MACHINE: u64 = 0x000c_0115_0a7e;

/// How the fake starts.
#[derive(Debug, Clone)]
pub struct FakeTrelloOptions {
    pub key: String,
    pub token: String,
    /// Requests per window per token; `None` disables the limit.
    pub rate_limit: Option<(u32, Duration)>,
}

impl Default for FakeTrelloOptions {
    fn default() -> Self {
        FakeTrelloOptions {
            key: "fakekey0123456789abcdef0123456789".to_owned(),
            token: "faketoken0123456789abcdef0123456789abcdef0123456789abcdef01234567".to_owned(),
            rate_limit: Some((100, Duration::from_secs(10))),
        }
    }
}

#[derive(Debug)]
struct Board {
    id: String,
    short_link: String,
    name: String,
    lists: Vec<FakeList>,
    labels: Vec<FakeLabel>,
    cards: Vec<FakeCard>,
    comments: Vec<FakeComment>,
    checklists: Vec<FakeChecklist>,
    /// The counter part of ids (the last 6 hex digits).
    counter: u64,
    clock: FakeClock,
    /// Ids made in the current second of a ticking manual clock.
    ids_in_second: u32,
    key: String,
    token: String,
    rate_limit: Option<(u32, Duration)>,
    /// Arrival times of the requests counted in the sliding window.
    window: VecDeque<Instant>,
    rate_limited: usize,
    query_credentials: usize,
}

impl Board {
    fn next_id(&mut self) -> String {
        self.counter += 1;
        let second = match &mut self.clock {
            FakeClock::Wall => u32::try_from(Utc::now().timestamp().max(0)).unwrap_or(u32::MAX),
            FakeClock::Manual {
                second,
                ids_per_second,
            } => {
                if ids_per_second.is_some_and(|n| self.ids_in_second >= n) {
                    *second = second.saturating_add(1);
                    self.ids_in_second = 0;
                }
                self.ids_in_second += 1;
                *second
            }
        };
        format!("{second:08x}{MACHINE:010x}{:06x}", self.counter & 0xff_ffff)
    }

    fn next_short_link(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut n = self.counter.wrapping_mul(2_654_435_761) ^ 0x5bd1_e995;
        let mut s = String::with_capacity(8);
        for _ in 0..7 {
            s.push(ALPHABET[(n % ALPHABET.len() as u64) as usize] as char);
            n /= ALPHABET.len() as u64;
            n = n.wrapping_add(7_919);
        }
        // Always one digit, so that `route_of` recognises it as an id.
        s.push(char::from(b'2' + (self.counter % 8) as u8));
        s
    }

    /// A card by id or short link, as Trello accepts either in a path.
    fn card_by_ref(&self, id: &str) -> Option<&FakeCard> {
        self.cards.iter().find(|c| c.id == id || c.short_link == id)
    }

    fn checklists_of(&self, card_id: &str) -> Vec<FakeChecklist> {
        let mut lists: Vec<FakeChecklist> = self
            .checklists
            .iter()
            .filter(|c| c.id_card == card_id)
            .cloned()
            .collect();
        lists.sort_by_key(|c| c.pos);
        for l in &mut lists {
            l.items.sort_by_key(|i| i.pos);
        }
        lists
    }

    fn card_mut(&mut self, id: &str) -> Option<&mut FakeCard> {
        self.cards.iter_mut().find(|c| c.id == id)
    }
}

type Shared = Arc<Mutex<Board>>;

/// A refusal built by a validation helper (boxed: a `Response` is large).
type Refused = Box<Response>;

/// The fake Trello. Stops when dropped.
pub struct FakeTrello {
    server: FakeServer,
    state: Shared,
}

impl FakeTrello {
    /// Starts with default credentials and Trello's real rate limit.
    ///
    /// # Panics
    /// If no port can be bound on 127.0.0.1 (tests only; the demo uses
    /// [`FakeTrello::try_start`]).
    pub async fn start() -> FakeTrello {
        FakeTrello::try_start(FakeTrelloOptions::default())
            .await
            .expect("bind a port on 127.0.0.1 for the fake Trello")
    }

    pub async fn try_start(opts: FakeTrelloOptions) -> io::Result<FakeTrello> {
        let mut board = Board {
            id: String::new(),
            short_link: String::new(),
            name: "Colisync".to_owned(),
            lists: Vec::new(),
            labels: Vec::new(),
            cards: Vec::new(),
            comments: Vec::new(),
            checklists: Vec::new(),
            counter: 0,
            clock: FakeClock::DEFAULT,
            ids_in_second: 0,
            key: opts.key,
            token: opts.token,
            rate_limit: opts.rate_limit,
            window: VecDeque::new(),
            rate_limited: 0,
            query_credentials: 0,
        };
        board.id = board.next_id();
        board.short_link = board.next_short_link();
        let state: Shared = Arc::new(Mutex::new(board));
        let router = Router::new()
            .route("/1/boards/{board}", get(get_board))
            .route("/1/boards/{board}/lists", get(get_lists))
            .route("/1/lists", post(post_list))
            .route("/1/boards/{board}/labels", get(get_labels).post(post_label))
            .route("/1/boards/{board}/cards", get(get_cards_default))
            .route("/1/boards/{board}/cards/{filter}", get(get_cards))
            .route("/1/cards", post(post_card))
            .route("/1/cards/{id}", get(get_card).put(put_card))
            .route("/1/cards/{id}/actions", get(get_card_actions))
            .route("/1/cards/{id}/actions/comments", post(post_comment))
            .route("/1/cards/{id}/idLabels", post(post_card_label))
            .route(
                "/1/cards/{id}/checklists",
                get(get_card_checklists).post(post_card_checklist),
            )
            .route("/1/checklists", post(post_checklist))
            .route("/1/checklists/{id}", get(get_checklist))
            .route("/1/checklists/{id}/checkItems", post(post_check_item))
            .route("/1/cards/{id}/checkItem/{item}", put(put_check_item))
            .layer(middleware::from_fn_with_state(state.clone(), auth_and_rate))
            .with_state(state.clone());
        let server = FakeServer::start(router).await?;
        server.faults().set_too_many_requests_body(
            "application/json",
            r#"{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}"#,
        );
        Ok(FakeTrello { server, state })
    }

    /// `http://127.0.0.1:PORT/` (REST under `/1/`).
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// A configuration pointing at this fake: its key and token, the board
    /// by short link, the fake's rate limit, a 5 s timeout.
    pub fn config(&self) -> TrelloConfig {
        let b = lock(&self.state);
        let (rate_limit, rate_window) = b.rate_limit.unwrap_or((100, Duration::from_secs(10)));
        TrelloConfig {
            base_url: self.base_url(),
            key: Secret::new(b.key.clone()),
            token: Secret::new(b.token.clone()),
            board: b.short_link.clone(),
            resolved_list: "Résolu".to_owned(),
            rate_limit,
            rate_window,
            timeout: Duration::from_secs(5),
        }
    }

    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    pub fn requests(&self) -> &RequestLog {
        self.server.requests()
    }

    /// Holds back every answer by `latency` (Trello answers in about
    /// 100-250 ms; see [`FakeServer::set_latency`]).
    pub fn set_latency(&self, latency: Duration) {
        self.server.set_latency(latency);
    }

    /// The most requests the fake was answering at once (since the last
    /// reset).
    pub fn max_in_flight(&self) -> usize {
        self.server.max_in_flight()
    }

    pub fn reset_max_in_flight(&self) {
        self.server.reset_max_in_flight();
    }

    /// Requests that reached the server (faulted ones included).
    pub fn request_count(&self) -> usize {
        self.server.requests().len()
    }

    /// 429s the fake's rate limiter answered (injected faults excluded).
    pub fn rate_limited_count(&self) -> usize {
        lock(&self.state).rate_limited
    }

    /// Requests that carried `key=` or `token=` in their query string.
    pub fn query_credentials_count(&self) -> usize {
        lock(&self.state).query_credentials
    }

    /// Changes (or with `None` disables) the per-token rate limit.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        let mut b = lock(&self.state);
        b.rate_limit = limit;
        b.window.clear();
    }

    pub fn board_id(&self) -> String {
        lock(&self.state).id.clone()
    }

    /// Sets where the creation second of the next ids comes from.
    pub fn set_clock(&self, clock: FakeClock) {
        let mut b = lock(&self.state);
        b.clock = clock;
        b.ids_in_second = 0;
    }

    /// Adds an open list; returns its id.
    pub fn add_list(&self, name: &str) -> String {
        let mut b = lock(&self.state);
        let id = b.next_id();
        b.lists.push(FakeList {
            id: id.clone(),
            name: name.to_owned(),
            closed: false,
        });
        id
    }

    /// Archives a list, as a lead would.
    pub fn archive_list(&self, list_id: &str) {
        let mut b = lock(&self.state);
        if let Some(l) = b.lists.iter_mut().find(|l| l.id == list_id) {
            l.closed = true;
        }
    }

    /// Adds a label to the board; returns its id.
    pub fn add_label(&self, name: &str, color: Option<&str>) -> String {
        let mut b = lock(&self.state);
        let id = b.next_id();
        b.labels.push(FakeLabel {
            id: id.clone(),
            name: name.to_owned(),
            color: color.map(str::to_owned),
        });
        id
    }

    /// Adds a card directly (seeding); returns its id.
    pub fn add_card(&self, list_id: &str, name: &str, desc: &str) -> String {
        let mut b = lock(&self.state);
        let id = b.next_id();
        let short_link = b.next_short_link();
        b.cards.push(FakeCard {
            id: id.clone(),
            short_link,
            id_list: list_id.to_owned(),
            name: name.to_owned(),
            desc: desc.to_owned(),
            closed: false,
            id_labels: Vec::new(),
            due: None,
        });
        id
    }

    pub fn lists(&self) -> Vec<FakeList> {
        lock(&self.state).lists.clone()
    }

    pub fn labels(&self) -> Vec<FakeLabel> {
        lock(&self.state).labels.clone()
    }

    /// Every card, oldest first.
    pub fn cards(&self) -> Vec<FakeCard> {
        lock(&self.state).cards.clone()
    }

    pub fn card(&self, id: &str) -> Option<FakeCard> {
        lock(&self.state).cards.iter().find(|c| c.id == id).cloned()
    }

    /// Comment texts of a card, oldest first.
    pub fn comments(&self, card_id: &str) -> Vec<String> {
        lock(&self.state)
            .comments
            .iter()
            .filter(|c| c.id_card == card_id)
            .map(|c| c.text.clone())
            .collect()
    }

    /// A lead moves a card to another list.
    pub fn move_card(&self, card_id: &str, list_id: &str) {
        if let Some(c) = lock(&self.state).card_mut(card_id) {
            c.id_list = list_id.to_owned();
        }
    }

    /// A lead archives a card.
    pub fn archive_card(&self, card_id: &str) {
        if let Some(c) = lock(&self.state).card_mut(card_id) {
            c.closed = true;
        }
    }

    /// A lead deletes a card (and its comments go with it).
    pub fn delete_card(&self, card_id: &str) {
        let mut b = lock(&self.state);
        b.cards.retain(|c| c.id != card_id);
        b.comments.retain(|c| c.id_card != card_id);
        b.checklists.retain(|c| c.id_card != card_id);
    }

    /// A lead puts a label on a card.
    pub fn add_label_to_card(&self, card_id: &str, label_id: &str) {
        if let Some(c) = lock(&self.state).card_mut(card_id) {
            if !c.id_labels.iter().any(|l| l == label_id) {
                c.id_labels.push(label_id.to_owned());
            }
        }
    }

    /// A lead takes a label off a card.
    pub fn remove_label_from_card(&self, card_id: &str, label_id: &str) {
        if let Some(c) = lock(&self.state).card_mut(card_id) {
            c.id_labels.retain(|l| l != label_id);
        }
    }

    /// A lead edits a description.
    pub fn set_card_desc(&self, card_id: &str, desc: &str) {
        if let Some(c) = lock(&self.state).card_mut(card_id) {
            c.desc = desc.to_owned();
        }
    }

    /// The checklists of a card, in `pos` order, items in `pos` order.
    pub fn checklists(&self, card_id: &str) -> Vec<FakeChecklist> {
        lock(&self.state).checklists_of(card_id)
    }

    /// A lead ticks the first item of the card whose name starts with
    /// `item_prefix`; false when there is none.
    pub fn tick_check_item(&self, card_id: &str, item_prefix: &str) -> bool {
        self.set_item_state(card_id, item_prefix, "complete")
    }

    /// A lead unticks an item (see [`FakeTrello::tick_check_item`]).
    pub fn untick_check_item(&self, card_id: &str, item_prefix: &str) -> bool {
        self.set_item_state(card_id, item_prefix, "incomplete")
    }

    fn set_item_state(&self, card_id: &str, item_prefix: &str, state: &str) -> bool {
        let mut b = lock(&self.state);
        let item = b
            .checklists
            .iter_mut()
            .filter(|c| c.id_card == card_id)
            .flat_map(|c| c.items.iter_mut())
            .find(|i| i.name.starts_with(item_prefix));
        match item {
            Some(i) => {
                i.state = state.to_owned();
                true
            }
            None => false,
        }
    }

    /// A lead deletes a checklist.
    pub fn delete_checklist(&self, checklist_id: &str) {
        lock(&self.state)
            .checklists
            .retain(|c| c.id != checklist_id);
    }

    /// The whole board (see [`BoardDump`]).
    pub fn dump_board(&self) -> BoardDump {
        let b = lock(&self.state);
        BoardDump {
            id: b.id.clone(),
            short_link: b.short_link.clone(),
            name: b.name.clone(),
            lists: b.lists.clone(),
            labels: b.labels.clone(),
            cards: b.cards.clone(),
            comments: b.comments.clone(),
            checklists: b.checklists.clone(),
            counter: b.counter,
            clock: b.clock,
            ids_in_second: b.ids_in_second,
        }
    }

    /// Replaces the board by a dump (credentials, rate limit and request
    /// log stay the fake's own).
    pub fn load_board(&self, dump: BoardDump) {
        let mut b = lock(&self.state);
        b.id = dump.id;
        b.short_link = dump.short_link;
        b.name = dump.name;
        b.lists = dump.lists;
        b.labels = dump.labels;
        b.cards = dump.cards;
        b.comments = dump.comments;
        b.checklists = dump.checklists;
        b.counter = dump.counter;
        b.clock = dump.clock;
        b.ids_in_second = dump.ids_in_second;
    }
}

// ---------------------------------------------------------------- helpers

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}

fn bad(body: &str) -> Response {
    text(StatusCode::BAD_REQUEST, body)
}

fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, NOT_FOUND)
}

fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_short_link(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn too_long(s: &str) -> bool {
    s.encode_utf16().count() > TEXT_LIMIT
}

/// Parameters from the query string and a JSON body, body winning (Trello
/// accepts either).
struct Params(HashMap<String, Value>);

impl Params {
    fn parse(query: HashMap<String, String>, body: &Bytes) -> Result<Params, Refused> {
        let mut m: HashMap<String, Value> = query
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        if !body.is_empty() {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(o)) => m.extend(o),
                Ok(_) | Err(_) => return Err(Box::new(bad("invalid json"))),
            }
        }
        Ok(Params(m))
    }

    /// `None`: absent. `Some(None)`: null.
    fn value(&self, k: &str) -> Option<Option<String>> {
        match self.0.get(k)? {
            Value::Null => Some(None),
            Value::String(s) if s == "null" => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            Value::Array(a) => Some(Some(
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            other => Some(Some(other.to_string())),
        }
    }

    fn string(&self, k: &str) -> Option<String> {
        self.value(k).flatten()
    }
}

fn parse_due(v: &str) -> Result<DateTime<Utc>, ()> {
    DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| ())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn card_json(c: &FakeCard, b: &Board, fields: Option<&str>) -> Value {
    let board_id = &b.id;
    let lists = b.checklists_of(&c.id);
    let items: Vec<&FakeCheckItem> = lists.iter().flat_map(|l| l.items.iter()).collect();
    let checked: Vec<&&FakeCheckItem> = items.iter().filter(|i| i.is_complete()).collect();
    let comments = b.comments.iter().filter(|m| m.id_card == c.id).count();
    let due = c
        .due
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true));
    // As the board listing of tests/fixtures/trello/a-straube-board-cards.json
    // shows them: `checkItemStates` holds the ticked items only.
    let full = json!({
        "idChecklists": lists.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        "checkItemStates": checked
            .iter()
            .map(|i| json!({ "idCheckItem": i.id, "state": "complete" }))
            .collect::<Vec<_>>(),
        "badges": {
            "checkItems": items.len(),
            "checkItemsChecked": checked.len(),
            "comments": comments,
            "due": due,
            "dueComplete": false,
        },
        "id": c.id,
        "name": c.name,
        "desc": c.desc,
        "idList": c.id_list,
        "idBoard": board_id,
        "closed": c.closed,
        "idLabels": c.id_labels,
        "due": c.due.map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "dueComplete": false,
        "shortLink": c.short_link,
        "shortUrl": format!("https://trello.com/c/{}", c.short_link),
    });
    select_fields(full, fields)
}

/// Keeps `id` and the fields asked for (`fields=all` or absent: all).
fn select_fields(full: Value, fields: Option<&str>) -> Value {
    let (Some(fields), Value::Object(o)) = (fields, &full) else {
        return full;
    };
    if fields == "all" {
        return full;
    }
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let kept = o
        .iter()
        .filter(|(k, _)| *k == "id" || wanted.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

fn list_json(l: &FakeList, board_id: &str) -> Value {
    json!({ "id": l.id, "name": l.name, "closed": l.closed, "idBoard": board_id, "pos": 16384 })
}

fn label_json(l: &FakeLabel, board_id: &str) -> Value {
    json!({ "id": l.id, "idBoard": board_id, "name": l.name, "color": l.color })
}

/// Resolves `{board}` (id or short link) to this fake's board.
fn check_board(b: &Board, board: &str) -> Result<(), Refused> {
    if !is_id(board) && !is_short_link(board) {
        return Err(Box::new(bad("invalid id")));
    }
    if board == b.id || board == b.short_link {
        Ok(())
    } else {
        Err(Box::new(not_found()))
    }
}

/// Validates an `idList` for a card: malformed → 400, unknown → 404.
fn check_list(b: &Board, id_list: Option<&str>) -> Result<(), Refused> {
    let Some(id) = id_list.filter(|id| is_id(id)) else {
        return Err(Box::new(bad("invalid value for idList")));
    };
    if b.lists.iter().any(|l| l.id == id) {
        Ok(())
    } else {
        Err(Box::new(text(
            StatusCode::NOT_FOUND,
            "could not find the board that the card belongs to",
        )))
    }
}

fn check_labels(b: &Board, value: &str) -> Result<Vec<String>, Refused> {
    let ids: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids
        .iter()
        .all(|id| is_id(id) && b.labels.iter().any(|l| &l.id == id))
    {
        Ok(ids)
    } else {
        Err(Box::new(bad("invalid value for idLabels")))
    }
}

// ---------------------------------------------------- auth and rate limit

/// Checks the `Authorization: OAuth …` header, then counts the request in
/// the token's sliding window; adds the `x-rate-limit-api-token-*` headers
/// to every answer.
async fn auth_and_rate(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let (key, token) = oauth_params(req.headers());
    let query_has_credentials = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p.starts_with("key=") || p.starts_with("token="))
    });
    let limit_info = {
        let mut b = lock(&state);
        if query_has_credentials {
            b.query_credentials += 1;
        }
        if key.as_deref() != Some(b.key.as_str()) {
            return text(StatusCode::UNAUTHORIZED, "invalid key");
        }
        match token.as_deref() {
            None | Some("") => {
                return (
                    StatusCode::UNAUTHORIZED,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"message":"missing scopes"}"#,
                )
                    .into_response();
            }
            Some(t) if t != b.token => return text(StatusCode::UNAUTHORIZED, "invalid token"),
            Some(_) => {}
        }
        match b.rate_limit {
            None => None,
            Some((limit, window)) => {
                let now = Instant::now();
                while b
                    .window
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    b.window.pop_front();
                }
                let used = b.window.len() as u32;
                if used >= limit {
                    b.rate_limited += 1;
                    let mut resp = (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::CONTENT_TYPE, "application/json")],
                        r#"{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}"#,
                    )
                        .into_response();
                    add_rate_headers(resp.headers_mut(), limit, window, 0);
                    return resp;
                }
                b.window.push_back(now);
                Some((limit, window, limit - used - 1))
            }
        }
    };
    let mut resp = next.run(req).await;
    if let Some((limit, window, remaining)) = limit_info {
        add_rate_headers(resp.headers_mut(), limit, window, remaining);
    }
    resp
}

fn add_rate_headers(h: &mut HeaderMap, limit: u32, window: Duration, remaining: u32) {
    h.insert(
        "x-rate-limit-api-token-interval-ms",
        HeaderValue::from(window.as_millis() as u64),
    );
    h.insert("x-rate-limit-api-token-max", HeaderValue::from(limit));
    h.insert(
        "x-rate-limit-api-token-remaining",
        HeaderValue::from(remaining),
    );
}

/// `OAuth oauth_consumer_key="K", oauth_token="T"` → (K, T).
fn oauth_params(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return (None, None);
    };
    let Some(rest) = v.trim().strip_prefix("OAuth ") else {
        return (None, None);
    };
    let (mut key, mut token) = (None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim() {
            "oauth_consumer_key" => key = Some(v),
            "oauth_token" => token = Some(v),
            _ => {}
        }
    }
    (key, token)
}

// ---------------------------------------------------------------- routes

type Q = Query<HashMap<String, String>>;

async fn get_board(State(s): State<Shared>, Path(board): Path<String>, Query(q): Q) -> Response {
    let b = lock(&s);
    if let Err(r) = check_board(&b, &board) {
        return *r;
    }
    let full = json!({ "id": b.id, "name": b.name, "shortLink": b.short_link, "closed": false });
    let mut board = select_fields(full, q.get("fields").map(String::as_str));
    // Lists and labels as nested resources (Trello's "Nested Resources"
    // guide): `lists` none/open/closed/all with `list_fields`, `labels`
    // none/all with `label_fields` and `labels_limit` (0-1000, default 50).
    // Neither is nested unless asked for.
    let lists = match q.get("lists").map(String::as_str) {
        None | Some("none") => None,
        Some(f @ ("open" | "closed" | "all")) => Some(f),
        Some(_) => return bad("invalid value for lists"),
    };
    let labels = match q.get("labels").map(String::as_str) {
        None | Some("none") => false,
        Some("all") => true,
        Some(_) => return bad("invalid value for labels"),
    };
    let labels_limit = match q.get("labels_limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if n <= 1000 => n,
        Some(_) => return bad("invalid value for labels_limit"),
    };
    if let Value::Object(o) = &mut board {
        if let Some(filter) = lists {
            let fields = q.get("list_fields").map(String::as_str);
            let nested: Vec<Value> = b
                .lists
                .iter()
                .filter(|l| match filter {
                    "open" => !l.closed,
                    "closed" => l.closed,
                    _ => true,
                })
                .map(|l| select_fields(list_json(l, &b.id), fields))
                .collect();
            o.insert("lists".into(), Value::Array(nested));
        }
        if labels {
            let fields = q.get("label_fields").map(String::as_str);
            let nested: Vec<Value> = b
                .labels
                .iter()
                .take(labels_limit)
                .map(|l| select_fields(label_json(l, &b.id), fields))
                .collect();
            o.insert("labels".into(), Value::Array(nested));
        }
    }
    axum::Json(board).into_response()
}

async fn get_lists(State(s): State<Shared>, Path(board): Path<String>, Query(q): Q) -> Response {
    let b = lock(&s);
    if let Err(r) = check_board(&b, &board) {
        return *r;
    }
    let filter = q.get("filter").map_or("all", String::as_str);
    let keep = |l: &&FakeList| match filter {
        "open" => !l.closed,
        "closed" => l.closed,
        _ => true,
    };
    let lists: Vec<Value> = b
        .lists
        .iter()
        .filter(keep)
        .map(|l| list_json(l, &b.id))
        .collect();
    axum::Json(lists).into_response()
}

async fn post_list(State(s): State<Shared>, Query(q): Q, body: Bytes) -> Response {
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let name = p.string("name").unwrap_or_default();
    if name.is_empty() || too_long(&name) {
        return bad("invalid value for name");
    }
    match p.string("idBoard") {
        Some(id) if is_id(&id) && id == b.id => {}
        Some(id) if is_id(&id) => return not_found(),
        _ => return bad("invalid value for idBoard"),
    }
    let id = b.next_id();
    let list = FakeList {
        id,
        name,
        closed: false,
    };
    b.lists.push(list.clone());
    axum::Json(list_json(&list, &b.id)).into_response()
}

async fn get_labels(State(s): State<Shared>, Path(board): Path<String>, Query(q): Q) -> Response {
    let b = lock(&s);
    if let Err(r) = check_board(&b, &board) {
        return *r;
    }
    // Trello's default page of labels is 50, at most 1000.
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if n <= 1000 => n,
        Some(_) => return bad("invalid value for limit"),
    };
    let labels: Vec<Value> = b
        .labels
        .iter()
        .take(limit)
        .map(|l| label_json(l, &b.id))
        .collect();
    axum::Json(labels).into_response()
}

async fn post_label(
    State(s): State<Shared>,
    Path(board): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    if let Err(r) = check_board(&b, &board) {
        return *r;
    }
    let name = p.string("name").unwrap_or_default();
    if too_long(&name) {
        return bad("invalid value for name");
    }
    const COLORS: [&str; 10] = [
        "green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black",
    ];
    let color = match p.value("color") {
        None | Some(None) => None,
        Some(Some(c)) if COLORS.contains(&c.as_str()) => Some(c),
        Some(Some(_)) => return bad("invalid value for color"),
    };
    let id = b.next_id();
    let label = FakeLabel { id, name, color };
    b.labels.push(label.clone());
    axum::Json(label_json(&label, &b.id)).into_response()
}

async fn get_cards_default(state: State<Shared>, Path(board): Path<String>, q: Q) -> Response {
    list_cards(state, board, "visible".to_owned(), q)
}

async fn get_cards(
    state: State<Shared>,
    Path((board, filter)): Path<(String, String)>,
    q: Q,
) -> Response {
    list_cards(state, board, filter, q)
}

/// `GET /boards/{id}/cards/{filter}` as Trello answers it (the sources are
/// cited at `TrelloClient::cards`): at most `limit` (≤ 1000) cards, the
/// newest that match; `before` (an id or a date) keeps the cards created
/// before that id's *second*, not before the id itself
/// (trello-archive/api-docs issue 68: paging by `before=<id>` misses the
/// cards created in the boundary's second); the page comes in board order
/// (lists left to right, newest card on top, as colisync files with
/// `pos=top`), not in id order. `sort` is ignored: nothing public says
/// Trello honours it here. `since` keeps the cards created after that
/// second (by analogy with `before`; unverified, and colisync sends none).
fn list_cards(
    State(s): State<Shared>,
    board: String,
    filter: String,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let b = lock(&s);
    if let Err(r) = check_board(&b, &board) {
        return *r;
    }
    let keep: fn(&FakeCard) -> bool = match filter.as_str() {
        "all" => |_| true,
        "open" | "visible" => |c| !c.closed,
        "closed" => |c| c.closed,
        _ => return bad("invalid value for filter"),
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 1000,
        Some(Ok(n)) if n <= 1000 => n,
        Some(_) => return bad("invalid value for limit"),
    };
    // `Err(name)`: that parameter is malformed.
    let bound = |name: &'static str| match q.get(name) {
        None => Ok(None),
        Some(v) => bound_second(v).map(Some).ok_or(name),
    };
    let (before, since) = match (bound("before"), bound("since")) {
        (Ok(before), Ok(since)) => (before, since),
        (Err(name), _) | (_, Err(name)) => return bad(&format!("invalid value for {name}")),
    };
    let mut cards: Vec<(usize, &FakeCard)> = b
        .cards
        .iter()
        .enumerate()
        .filter(|(_, c)| keep(c))
        .filter(|(_, c)| before.is_none_or(|bf| id_second(&c.id) < bf))
        .filter(|(_, c)| since.is_none_or(|sn| id_second(&c.id) > sn))
        .collect();
    // The newest `limit` (same-length lowercase hex: string order is id
    // order)…
    cards.sort_by(|(_, a), (_, c)| c.id.cmp(&a.id));
    cards.truncate(limit);
    // …answered in board order.
    let list_pos = |id: &str| {
        b.lists
            .iter()
            .position(|l| l.id == id)
            .unwrap_or(usize::MAX)
    };
    cards.sort_by_key(|(i, c)| (list_pos(&c.id_list), std::cmp::Reverse(*i)));
    let fields = q.get("fields").map(String::as_str);
    let out: Vec<Value> = cards
        .into_iter()
        .map(|(_, c)| card_json(c, &b, fields))
        .collect();
    axum::Json(out).into_response()
}

/// The creation second of an id (its first 8 hex digits).
fn id_second(id: &str) -> u32 {
    id.get(..8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

/// A `before`/`since` value, an id or a date, as a Unix second.
fn bound_second(v: &str) -> Option<u32> {
    if is_id(v) {
        return Some(id_second(v));
    }
    let date = DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|d| d.timestamp())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp())
        })?;
    u32::try_from(date).ok()
}

async fn get_card(State(s): State<Shared>, Path(id): Path<String>, Query(q): Q) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    let b = lock(&s);
    match b.card_by_ref(&id) {
        Some(c) => {
            axum::Json(card_json(c, &b, q.get("fields").map(String::as_str))).into_response()
        }
        None => not_found(),
    }
}

/// `GET /1/cards/{id}/actions?filter=commentCard`: the card's comments,
/// newest first, as Trello lists actions (`limit` defaults to 50).
async fn get_card_actions(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    let b = lock(&s);
    let Some(card_id) = b.card_by_ref(&id).map(|c| c.id.clone()) else {
        return not_found();
    };
    let wants_comments = q
        .get("filter")
        .is_none_or(|f| f.split(',').any(|f| f == "commentCard" || f == "all"));
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .min(1000);
    let actions: Vec<_> = if wants_comments {
        b.comments
            .iter()
            .rev()
            .filter(|c| c.id_card == card_id)
            .take(limit)
            .map(|c| {
                json!({
                    "id": c.id,
                    "type": "commentCard",
                    "data": { "text": c.text, "card": { "id": card_id } },
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    axum::Json(actions).into_response()
}

async fn post_card(State(s): State<Shared>, Query(q): Q, body: Bytes) -> Response {
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let id_list = p.string("idList");
    if let Err(r) = check_list(&b, id_list.as_deref()) {
        return *r;
    }
    let name = p.string("name").unwrap_or_default();
    if too_long(&name) {
        return bad("invalid value for name");
    }
    let desc = p.string("desc").unwrap_or_default();
    if too_long(&desc) {
        return bad("invalid value for desc");
    }
    let id_labels = match p.string("idLabels") {
        None => Vec::new(),
        Some(v) => match check_labels(&b, &v) {
            Ok(ids) => ids,
            Err(r) => return *r,
        },
    };
    let due = match p.string("due") {
        None => None,
        Some(v) => match parse_due(&v) {
            Ok(d) => Some(d),
            Err(()) => return bad("invalid value for due"),
        },
    };
    let id = b.next_id();
    let short_link = b.next_short_link();
    let card = FakeCard {
        id,
        short_link,
        id_list: id_list.unwrap_or_default(),
        name,
        desc,
        closed: false,
        id_labels,
        due,
    };
    b.cards.push(card.clone());
    axum::Json(card_json(&card, &b, None)).into_response()
}

async fn put_card(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let Some(mut card) = b.card_by_ref(&id).cloned() else {
        return not_found();
    };
    // Validate everything first: a refused PUT changes nothing.
    if let Some(l) = p.value("idList") {
        if let Err(r) = check_list(&b, l.as_deref()) {
            return *r;
        }
        card.id_list = l.unwrap_or_default();
    }
    if let Some(n) = p.value("name") {
        let n = n.unwrap_or_default();
        if n.is_empty() || too_long(&n) {
            return bad("invalid value for name");
        }
        card.name = n;
    }
    if let Some(d) = p.value("desc") {
        let d = d.unwrap_or_default();
        if too_long(&d) {
            return bad("invalid value for desc");
        }
        card.desc = d;
    }
    if let Some(d) = p.value("due") {
        card.due = match d {
            None => None,
            Some(v) if v.is_empty() => None,
            Some(v) => match parse_due(&v) {
                Ok(d) => Some(d),
                Err(()) => return bad("invalid value for due"),
            },
        };
    }
    if let Some(l) = p.value("idLabels") {
        card.id_labels = match check_labels(&b, &l.unwrap_or_default()) {
            Ok(ids) => ids,
            Err(r) => return *r,
        };
    }
    if let Some(c) = p.value("closed") {
        match c.as_deref().and_then(parse_bool) {
            Some(c) => card.closed = c,
            None => return bad("invalid value for closed"),
        }
    }
    if let Some(slot) = b.card_mut(&card.id) {
        *slot = card.clone();
    }
    axum::Json(card_json(&card, &b, None)).into_response()
}

async fn post_comment(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let Some(card_id) = b.card_by_ref(&id).map(|c| c.id.clone()) else {
        return not_found();
    };
    let text_value = p.string("text").unwrap_or_default();
    if text_value.trim().is_empty() || too_long(&text_value) {
        return bad("invalid value for text");
    }
    let action_id = b.next_id();
    b.comments.push(FakeComment {
        id: action_id.clone(),
        id_card: card_id.clone(),
        text: text_value.clone(),
    });
    axum::Json(json!({
        "id": action_id,
        "type": "commentCard",
        "date": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": { "text": text_value, "card": { "id": card_id } },
    }))
    .into_response()
}

async fn post_card_label(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let value = p.string("value").unwrap_or_default();
    if !is_id(&value) || !b.labels.iter().any(|l| l.id == value) {
        return bad("invalid value for value");
    }
    let Some(card) = b
        .cards
        .iter_mut()
        .find(|c| c.id == id || c.short_link == id)
    else {
        return not_found();
    };
    if card.id_labels.contains(&value) {
        return bad("that label is already on the card");
    }
    card.id_labels.push(value);
    axum::Json(card.id_labels.clone()).into_response()
}

// ------------------------------------------------------------ checklists
//
// Shapes as Trello sends them (a card with its checklist pasted from a real
// answer, docs/apis.md): a checklist is `{id, name, idBoard, idCard, pos,
// checkItems}`, an item `{id, name, nameData, pos, state, idChecklist, due,
// dueReminder, idMember}`; items are ticked through the card
// (`PUT /1/cards/{id}/checkItem/{idCheckItem}`).

const ITEM_FIELDS_DEFAULT: &str = "name,nameData,pos,state,due,dueReminder,idMember";

fn item_json(i: &FakeCheckItem, checklist_id: &str, fields: Option<&str>) -> Value {
    let full = json!({
        "id": i.id,
        "name": i.name,
        "nameData": null,
        "pos": i.pos,
        "state": i.state,
        "idChecklist": checklist_id,
        "due": i.due.map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "dueReminder": null,
        "idMember": null,
    });
    select_fields(full, Some(fields.unwrap_or(ITEM_FIELDS_DEFAULT)))
}

fn checklist_json(c: &FakeChecklist, board_id: &str, q: &HashMap<String, String>) -> Value {
    let mut full = json!({
        "id": c.id,
        "name": c.name,
        "idBoard": board_id,
        "idCard": c.id_card,
        "pos": c.pos,
    });
    let with_items = q.get("checkItems").is_none_or(|v| v != "none");
    let full = if let Value::Object(o) = &mut full {
        if with_items {
            let fields = q.get("checkItem_fields").map(String::as_str);
            let mut items = c.items.clone();
            items.sort_by_key(|i| i.pos);
            o.insert(
                "checkItems".into(),
                Value::Array(items.iter().map(|i| item_json(i, &c.id, fields)).collect()),
            );
        }
        full
    } else {
        full
    };
    let fields = q.get("fields").map(String::as_str);
    // `checkItems` is a parameter, not a field: `fields=` never drops it.
    let items = full.get("checkItems").cloned();
    let mut out = select_fields(full, fields);
    if let (Some(items), Value::Object(o)) = (items, &mut out) {
        o.insert("checkItems".into(), items);
    }
    out
}

/// `pos`: `top`, `bottom` or a positive number (Trello's three forms).
fn parse_pos<T>(
    v: Option<String>,
    existing: impl Iterator<Item = T>,
    pos_of: impl Fn(&T) -> u64,
) -> Result<u64, Refused> {
    let all: Vec<u64> = existing.map(|e| pos_of(&e)).collect();
    let max = all.iter().copied().max().unwrap_or(0);
    let min = all.iter().copied().min().unwrap_or(16384);
    match v.as_deref() {
        None | Some("bottom") => Ok(max + 16384),
        Some("top") => Ok(min / 2),
        Some(n) => match n.parse::<f64>() {
            Ok(f) if f.is_finite() && f >= 0.0 => Ok(f.round() as u64),
            _ => Err(Box::new(bad("invalid value for pos"))),
        },
    }
}

fn new_checklist(b: &mut Board, card_id: String, p: &Params) -> Result<FakeChecklist, Refused> {
    let name = p.string("name").unwrap_or_else(|| "Checklist".to_owned());
    if name.is_empty() || too_long(&name) {
        return Err(Box::new(bad("invalid value for name")));
    }
    let pos = parse_pos(
        p.string("pos"),
        b.checklists.iter().filter(|c| c.id_card == card_id),
        |c| c.pos,
    )?;
    let checklist = FakeChecklist {
        id: b.next_id(),
        id_card: card_id,
        name,
        pos,
        items: Vec::new(),
    };
    b.checklists.push(checklist.clone());
    Ok(checklist)
}

/// `POST /1/cards/{id}/checklists` (`name`, `pos`).
async fn post_card_checklist(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let Some(card_id) = b.card_by_ref(&id).map(|c| c.id.clone()) else {
        return not_found();
    };
    match new_checklist(&mut b, card_id, &p) {
        Ok(c) => axum::Json(checklist_json(&c, &b.id, &HashMap::new())).into_response(),
        Err(r) => *r,
    }
}

/// `POST /1/checklists` (`idCard` required, `name`, `pos`).
async fn post_checklist(State(s): State<Shared>, Query(q): Q, body: Bytes) -> Response {
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let card_id = match p.string("idCard") {
        Some(id) if is_id(&id) => match b.card_by_ref(&id) {
            Some(c) => c.id.clone(),
            None => return not_found(),
        },
        _ => return bad("invalid value for idCard"),
    };
    match new_checklist(&mut b, card_id, &p) {
        Ok(c) => axum::Json(checklist_json(&c, &b.id, &HashMap::new())).into_response(),
        Err(r) => *r,
    }
}

/// `GET /1/cards/{id}/checklists` (`checkItems`, `checkItem_fields`,
/// `fields`).
async fn get_card_checklists(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) {
        return bad("invalid id");
    }
    if q.get("checkItems")
        .is_some_and(|v| v != "all" && v != "none")
    {
        return bad("invalid value for checkItems");
    }
    let b = lock(&s);
    let Some(card_id) = b.card_by_ref(&id).map(|c| c.id.clone()) else {
        return not_found();
    };
    let out: Vec<Value> = b
        .checklists_of(&card_id)
        .iter()
        .map(|c| checklist_json(c, &b.id, &q))
        .collect();
    axum::Json(out).into_response()
}

/// `GET /1/checklists/{id}`.
async fn get_checklist(State(s): State<Shared>, Path(id): Path<String>, Query(q): Q) -> Response {
    if !is_id(&id) {
        return bad("invalid id");
    }
    let b = lock(&s);
    match b.checklists.iter().find(|c| c.id == id) {
        Some(c) => axum::Json(checklist_json(c, &b.id, &q)).into_response(),
        None => not_found(),
    }
}

/// `POST /1/checklists/{id}/checkItems` (`name` required, `pos`,
/// `checked`, `due`).
async fn post_check_item(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !is_id(&id) {
        return bad("invalid id");
    }
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let Some(at) = b.checklists.iter().position(|c| c.id == id) else {
        return not_found();
    };
    let name = p.string("name").unwrap_or_default();
    if name.is_empty() || too_long(&name) {
        return bad("invalid value for name");
    }
    let state = match p.string("checked").as_deref().map(parse_bool) {
        None | Some(Some(false)) => "incomplete",
        Some(Some(true)) => "complete",
        Some(None) => return bad("invalid value for checked"),
    };
    let due = match p.string("due") {
        None => None,
        Some(v) => match parse_due(&v) {
            Ok(d) => Some(d),
            Err(()) => return bad("invalid value for due"),
        },
    };
    let pos = match parse_pos(p.string("pos"), b.checklists[at].items.iter(), |i| i.pos) {
        Ok(pos) => pos,
        Err(r) => return *r,
    };
    let item = FakeCheckItem {
        id: b.next_id(),
        name,
        state: state.to_owned(),
        pos,
        due,
    };
    b.checklists[at].items.push(item.clone());
    axum::Json(item_json(&item, &id, Some("all"))).into_response()
}

/// `PUT /1/cards/{id}/checkItem/{idCheckItem}` (`state`, `name`, `pos`,
/// `due`): the item must be on a checklist of that card.
async fn put_check_item(
    State(s): State<Shared>,
    Path((id, item_id)): Path<(String, String)>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if !is_id(&id) && !is_short_link(&id) || !is_id(&item_id) {
        return bad("invalid id");
    }
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let mut b = lock(&s);
    let Some(card_id) = b.card_by_ref(&id).map(|c| c.id.clone()) else {
        return not_found();
    };
    let Some((ci, ii)) = b.checklists.iter().enumerate().find_map(|(ci, c)| {
        (c.id_card == card_id)
            .then(|| {
                c.items
                    .iter()
                    .position(|i| i.id == item_id)
                    .map(|ii| (ci, ii))
            })
            .flatten()
    }) else {
        return not_found();
    };
    let mut item = b.checklists[ci].items[ii].clone();
    if let Some(st) = p.string("state") {
        item.state = match st.as_str() {
            "complete" | "true" => "complete".to_owned(),
            "incomplete" | "false" => "incomplete".to_owned(),
            _ => return bad("invalid value for state"),
        };
    }
    if let Some(n) = p.string("name") {
        if too_long(&n) {
            return bad("invalid value for name");
        }
        item.name = n;
    }
    if let Some(d) = p.value("due") {
        item.due = match d {
            None => None,
            Some(v) if v.is_empty() => None,
            Some(v) => match parse_due(&v) {
                Ok(d) => Some(d),
                Err(()) => return bad("invalid value for due"),
            },
        };
    }
    let checklist_id = b.checklists[ci].id.clone();
    b.checklists[ci].items[ii] = item.clone();
    axum::Json(item_json(&item, &checklist_id, Some("all"))).into_response()
}
