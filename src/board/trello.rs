//! The Trello REST client: the only code that talks to Trello.
//!
//! Built on the shared HTTP layer ([`crate::http`]). What is Trello-specific
//! lives here:
//!
//! - credentials only in the `Authorization: OAuth oauth_consumer_key="…",
//!   oauth_token="…"` header, never in a URL (Trello also accepts
//!   `?key=&token=`, which leaks them into every log that prints a URL);
//! - name, desc and comment text sent as a JSON body and cut to Trello's
//!   16384-character limit visibly, the description keeping its marker line
//!   (see [`fit_description`]);
//! - one rate limiter per client (clones share it) under Trello's sliding
//!   window of `rate_limit` requests per `rate_window` per token (see
//!   [`trello_quota`]), plus the `x-rate-limit-api-token-*` headers and 429s;
//! - Trello's plain-text errors mapped to [`TrelloError`]: an unknown list
//!   tells the caller to re-resolve lists by name, a 401 is fatal.
//!
//! Retry safety: reads retry. `PUT /cards/{id}` retries when the caller
//! says it sends the full desired state ([`Idempotent::Yes`]); creating a
//! card, a list, a label or a comment never retries once sent: on a
//! timeout, reset or 5xx the error's [`TrelloError::outcome_is_unknown`] is
//! true and the caller settles it by reading the board (marker line).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use governor::{Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use crate::board::{BoardCard, BoardLabel, BoardList, MARKER_PREFIX};
use crate::config::TrelloConfig;
use crate::http::{
    self, ApiClient, ApiSettings, Call, HttpError, Idempotent, RateHeaders, RetryPolicy,
};

/// Trello's limit on a card name, a description and a comment, in
/// characters. Counted here in UTF-16 code units (what Trello's JavaScript
/// counts), which is never fewer than Unicode characters.
pub const TEXT_LIMIT: usize = 16384;

/// Cards per page of the board listing (Trello's maximum).
pub const PAGE_SIZE: usize = 1000;

/// The card fields colisync reads.
const CARD_FIELDS: &str = "id,name,desc,idList,closed,idLabels,due";

/// Errors of the Trello client. Display and Debug never hold the key, the
/// token or a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrelloError {
    /// The list does not exist (any more): re-resolve lists by name.
    #[error("trello: unknown list {list_id}: {message}")]
    UnknownList { list_id: String, message: String },
    /// Bad key or token, or missing scopes. Fatal: fix the config.
    #[error("trello: unauthorized (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The board, card or other resource does not exist.
    #[error("trello: not found: {what}")]
    NotFound { what: String },
    /// Trello refused the request (malformed id, invalid value).
    #[error("trello: bad request on {what}: {message}")]
    BadRequest { what: String, message: String },
    /// Still rate limited after the retries allowed.
    #[error("trello: rate limited{}", .retry_after.map(|d| format!(" (retry after {} s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// The key or token cannot be put in a header (bad characters).
    #[error("trello: key or token contains characters not allowed in an HTTP header")]
    BadCredentials,
    /// The board listing cannot be complete (see [`TrelloClient::cards`]):
    /// better no listing than one with cards missing.
    #[error("trello: the board's cards cannot all be listed: {reason}")]
    Incomplete { reason: String },
    /// Anything else from the HTTP layer: timeouts, resets, 5xx, decoding.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl TrelloError {
    /// For a write: may Trello have applied it although we got this error?
    /// Then read the board before writing again.
    pub fn outcome_is_unknown(&self) -> bool {
        match self {
            TrelloError::Http(e) => http::outcome_is_unknown(e),
            _ => false,
        }
    }

    /// No point in going on with this configuration (bad credentials).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            TrelloError::Unauthorized { .. } | TrelloError::BadCredentials
        )
    }
}

/// Maps an HTTP-layer error to a Trello one, reading Trello's plain-text
/// messages. `list_id` is the list the request named, if any.
fn map_error(e: HttpError, what: &str, list_id: Option<&str>) -> TrelloError {
    match e {
        HttpError::Unauthorized {
            status, message, ..
        } => TrelloError::Unauthorized {
            status,
            message: json_message(&message).unwrap_or(message),
        },
        HttpError::RateLimited { retry_after, .. } => TrelloError::RateLimited { retry_after },
        HttpError::Status {
            status,
            body_excerpt,
            ..
        } if status == 400 || status == 404 => {
            let message = json_message(&body_excerpt).unwrap_or(body_excerpt);
            let lower = message.to_ascii_lowercase();
            let unknown_list = lower.contains("invalid value for idlist")
                || lower.contains("could not find the board that the card belongs to");
            match (unknown_list, list_id, status) {
                (true, Some(id), _) => TrelloError::UnknownList {
                    list_id: id.to_owned(),
                    message,
                },
                (_, _, 404) => TrelloError::NotFound {
                    what: what.to_owned(),
                },
                _ => TrelloError::BadRequest {
                    what: what.to_owned(),
                    message,
                },
            }
        }
        other => TrelloError::Http(other),
    }
}

/// `{"message": "missing scopes"}` → `missing scopes`.
fn json_message(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(v.get("message")?.as_str()?.to_owned())
}

/// The governor quota that keeps a client under Trello's sliding window of
/// `limit` requests per `window`.
///
/// A GCRA limiter with burst `b` and one request per `p` lets at most
/// `b + window/p` requests through in any interval of length `window`.
/// Trello counts a sliding window, so that sum must stay below `limit`,
/// with one request of margin for network jitter: `b = max(1, limit/20)`
/// and `window/p = limit − b − 1`. For 100 / 10 s: bursts of 5, then 94
/// per 10 s (94 % of the limit) and never more than 99 in any 10 s.
/// Limits below 3 get one request per window.
pub fn trello_quota(limit: u32, window: Duration) -> Quota {
    let burst = (limit / 20).max(1);
    let window = window.max(Duration::from_millis(1));
    let period = match limit.saturating_sub(burst + 1) {
        // Limits of 1 or 2: one request per window and a bit, never two.
        0 => window + window / 10,
        rate => window / rate,
    };
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// A card to create.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewCard {
    pub name: String,
    /// Markdown; its last line is the marker.
    pub desc: String,
    pub id_labels: Vec<String>,
    pub due: Option<DateTime<Utc>>,
}

/// Fields to change on a card. `PUT` replaces exactly the fields sent and
/// leaves the others alone; `None` means "not sent".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardUpdate {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub id_list: Option<String>,
    /// `Some(None)` clears the due date.
    pub due: Option<Option<DateTime<Utc>>>,
    /// Replaces the whole label set.
    pub id_labels: Option<Vec<String>>,
    pub closed: Option<bool>,
}

/// A card as Trello sends it; every field optional (fields=… may leave
/// some out).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CardJson {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    desc: Option<String>,
    #[serde(default)]
    id_list: Option<String>,
    #[serde(default)]
    closed: Option<bool>,
    #[serde(default)]
    id_labels: Option<Vec<String>>,
    #[serde(default)]
    due: Option<DateTime<Utc>>,
    #[serde(default)]
    id_board: Option<String>,
}

impl From<CardJson> for BoardCard {
    fn from(c: CardJson) -> Self {
        BoardCard {
            id: c.id,
            name: c.name.unwrap_or_default(),
            desc: c.desc.unwrap_or_default(),
            id_list: c.id_list.unwrap_or_default(),
            closed: c.closed.unwrap_or(false),
            id_labels: c.id_labels.unwrap_or_default(),
            due: c.due,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ListJson {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    closed: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct LabelJson {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    color: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdJson {
    id: String,
}

/// The Trello client of one board. Cheap to clone: clones share the
/// connection pool, the rate limiter and the resolved board id.
#[derive(Debug, Clone)]
pub struct TrelloClient {
    api: ApiClient,
    /// The board as configured: id or short link.
    board: String,
    /// The 24-hex id, resolved once.
    board_id: Arc<OnceCell<String>>,
}

impl TrelloClient {
    /// A client with the default retry policy (seconds of backoff).
    pub fn new(cfg: &TrelloConfig) -> Result<Self, TrelloError> {
        Self::with_retry(cfg, RetryPolicy::default())
    }

    /// A client with another retry policy (tests: [`RetryPolicy::fast`]).
    pub fn with_retry(cfg: &TrelloConfig, retry: RetryPolicy) -> Result<Self, TrelloError> {
        let auth = format!(
            "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
            cfg.key.expose(),
            cfg.token.expose()
        );
        let mut auth = HeaderValue::from_str(&auth).map_err(|_| TrelloError::BadCredentials)?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let limiter = RateLimiter::direct(trello_quota(cfg.rate_limit, cfg.rate_window));
        let mut settings = ApiSettings::new("trello", cfg.base_url.clone());
        settings.timeout = cfg.timeout;
        settings.default_headers = headers;
        settings.limiter = Some(Arc::new(limiter));
        settings.retry = retry;
        // Without Retry-After, a 429 means the sliding window is full:
        // waiting one whole window is the only wait sure to clear it.
        settings.rate_limited_pause = cfg.rate_window;
        settings.rate_headers = Some(RateHeaders {
            remaining: HeaderName::from_static("x-rate-limit-api-token-remaining"),
            interval_ms: Some(HeaderName::from_static(
                "x-rate-limit-api-token-interval-ms",
            )),
        });
        Ok(TrelloClient {
            api: ApiClient::new(settings)?,
            board: cfg.board.clone(),
            board_id: Arc::new(OnceCell::new()),
        })
    }

    async fn send(
        &self,
        call: Call,
        what: &str,
        list_id: Option<&str>,
    ) -> Result<http::Reply, TrelloError> {
        self.api
            .send(&call)
            .await
            .map_err(|e| map_error(e, what, list_id))
    }

    /// The board's 24-hex id (`GET /1/boards/{board}?fields=id,name`),
    /// resolved from the configured id or short link once.
    pub async fn board_id(&self) -> Result<String, TrelloError> {
        let id = self
            .board_id
            .get_or_try_init(|| async {
                let call = Call::get("1/boards")
                    .segment(&self.board)
                    .query("fields", "id,name");
                let reply = self.send(call, "board", None).await?;
                let board: IdJson = reply.json("board")?;
                Ok::<_, TrelloError>(board.id)
            })
            .await?;
        Ok(id.clone())
    }

    /// Open lists of the board.
    pub async fn lists(&self) -> Result<Vec<BoardList>, TrelloError> {
        let id = self.board_id().await?;
        let call = Call::get("1/boards")
            .segment(id)
            .segment("lists")
            .query("filter", "open")
            .query("fields", "id,name,closed");
        let lists: Vec<ListJson> = self.send(call, "lists", None).await?.json("lists")?;
        Ok(lists
            .into_iter()
            .map(|l| BoardList {
                id: l.id,
                name: l.name.unwrap_or_default(),
                closed: l.closed.unwrap_or(false),
            })
            .collect())
    }

    /// Creates a list at the bottom of the board. Not retried once sent.
    pub async fn create_list(&self, name: &str) -> Result<BoardList, TrelloError> {
        let id = self.board_id().await?;
        let call = Call::post("1/lists").json(json!({
            "name": fit_name(name),
            "idBoard": id,
            "pos": "bottom",
        }));
        let l: ListJson = self.send(call, "new list", None).await?.json("new list")?;
        Ok(BoardList {
            id: l.id,
            name: l.name.unwrap_or_default(),
            closed: l.closed.unwrap_or(false),
        })
    }

    /// Labels of the board (up to 1000; Trello's default page is 50).
    pub async fn labels(&self) -> Result<Vec<BoardLabel>, TrelloError> {
        let id = self.board_id().await?;
        let call = Call::get("1/boards")
            .segment(id)
            .segment("labels")
            .query("fields", "id,name,color")
            .query("limit", "1000");
        let labels: Vec<LabelJson> = self.send(call, "labels", None).await?.json("labels")?;
        Ok(labels.into_iter().map(label_from).collect())
    }

    /// Creates a label on the board. Not retried once sent.
    pub async fn create_label(&self, name: &str, color: &str) -> Result<BoardLabel, TrelloError> {
        let id = self.board_id().await?;
        let call = Call::post("1/boards")
            .segment(id)
            .segment("labels")
            .json(json!({ "name": fit_name(name), "color": color }));
        let l: LabelJson = self
            .send(call, "new label", None)
            .await?
            .json("new label")?;
        Ok(label_from(l))
    }

    /// Every card of the board, open and archived, newest first.
    ///
    /// How Trello pages this listing, from public sources (its reference
    /// documents no parameter of `GET /boards/{id}/cards/{filter}`):
    ///
    /// - A call answers at most 1000 cards (`limit`), the newest ones that
    ///   match: `limit=1` answers the newest card, `limit=1&before=<that
    ///   card's id>` the one created before it (gist.github.com/hakunin/
    ///   3c25a4c4ae30a2c2c299, "How to paginate Trello API response";
    ///   trelloR's `get_resource` docs: "newest results are retrieved
    ///   first"). The answer itself is in board order (lists left to right,
    ///   cards top to bottom), not id order: the same gist, the real listing
    ///   in tests/fixtures/trello, and the workaround posted in
    ///   trello-archive/api-docs issue 68, which sorts each page itself. So
    ///   nothing here relies on the order of a page.
    /// - `before` takes "a date string … or a mongo object ID. Only objects
    ///   created before this date will be returned" (Trello's swagger.v3,
    ///   `GET /boards/{boardId}/actions`). trello-archive/api-docs issue 68
    ///   ("Paging With Objects Created In Same Second Returns Incorrect
    ///   Results", open, label bug): the comparison is by the id's creation
    ///   second (its first 8 hex digits), so `before=<oldest id of a page>`
    ///   skips the cards of that second the page did not hold.
    /// - No public source shows that `sort=-id` is honoured here: not sent.
    ///
    /// So each page asks for the cards created before a whole second: the
    /// boundary is the smallest id of the second after the oldest card of
    /// the last full page, which means the same under a second-resolution
    /// comparison and an exact one. That page's oldest second comes again
    /// on the next page (duplicates dropped by id). When a full page
    /// holds one second only, `before` cannot see past it: that second is
    /// read again split by `filter=open` and `filter=closed`; if either half
    /// still fills a page, the listing fails ([`TrelloError::Incomplete`])
    /// rather than answer a board with cards missing. Every page moves the
    /// boundary back by at least one second, so the loop ends; an answer
    /// holding cards at or after the boundary (a server ignoring `before`)
    /// fails the listing instead of looping.
    pub async fn cards(&self) -> Result<Vec<BoardCard>, TrelloError> {
        let id = self.board_id().await?;
        let mut found: HashMap<String, BoardCard> = HashMap::new();
        // Cards created before this second; `None`: no bound yet.
        let mut before: Option<u32> = None;
        loop {
            let page = self.cards_page(&id, "all", before).await?;
            let full = page.len() >= PAGE_SIZE;
            let span = seconds_span(&page)?;
            keep_new(&mut found, page);
            let Some((oldest, newest)) = span.filter(|_| full) else {
                break;
            };
            // A server that ignored `before` would answer the same page
            // again and again: stop rather than loop.
            if before.is_some_and(|b| newest >= b) {
                return Err(TrelloError::Incomplete {
                    reason: format!(
                        "Trello answered cards created at or after the bound asked ({newest:08x})"
                    ),
                });
            }
            if oldest < newest {
                before = Some(oldest + 1);
                continue;
            }
            // A full page of one second: there may be more of it, which no
            // `before` can reach. Read that second in two halves.
            for filter in ["open", "closed"] {
                let half = self
                    .cards_page(&id, filter, Some(oldest.saturating_add(1)))
                    .await?;
                let crowded = half.len() >= PAGE_SIZE
                    && seconds_span(&half)?.is_some_and(|(o, _)| o == oldest);
                if crowded {
                    return Err(TrelloError::Incomplete {
                        reason: format!(
                            "more than {PAGE_SIZE} cards ({filter}) were created in the same \
                             second ({oldest:08x}), which Trello's paging cannot tell apart"
                        ),
                    });
                }
                keep_new(&mut found, half);
            }
            if oldest == 0 {
                break;
            }
            before = Some(oldest);
        }
        let mut out: Vec<BoardCard> = found.into_values().collect();
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    /// One page of the board's cards created before the second `before`.
    async fn cards_page(
        &self,
        board_id: &str,
        filter: &str,
        before: Option<u32>,
    ) -> Result<Vec<CardJson>, TrelloError> {
        let mut call = Call::get("1/boards")
            .segment(board_id)
            .segment("cards")
            .segment(filter)
            .query("fields", CARD_FIELDS)
            .query("limit", PAGE_SIZE.to_string());
        if let Some(b) = before {
            call = call.query("before", first_id_of_second(b));
        }
        Ok(self
            .send(call, "board cards", None)
            .await?
            .json("board cards")?)
    }

    /// A card colisync knows by id, if it is still on this board: `None`
    /// when Trello answers 404 (deleted) or the card now belongs to another
    /// board (a lead moved it there). Archived cards are answered like open
    /// ones, `closed: true`.
    pub async fn card_on_board(&self, id: &str) -> Result<Option<BoardCard>, TrelloError> {
        let board = self.board_id().await?;
        let call = Call::get("1/cards")
            .segment(id)
            .query("fields", format!("{CARD_FIELDS},idBoard"));
        let c: CardJson = match self.send(call, "card", None).await {
            Ok(reply) => reply.json("card")?,
            Err(TrelloError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if c.id_board.as_deref().is_some_and(|b| b != board) {
            return Ok(None);
        }
        Ok(Some(c.into()))
    }

    /// One card, archived or not.
    pub async fn card(&self, id: &str) -> Result<BoardCard, TrelloError> {
        let call = Call::get("1/cards")
            .segment(id)
            .query("fields", CARD_FIELDS);
        let c: CardJson = self.send(call, "card", None).await?.json("card")?;
        Ok(c.into())
    }

    /// Creates a card in one request (labels and due date included). Not
    /// retried once sent: on an error with `outcome_is_unknown()`, look for
    /// the card's marker on the board before filing it again.
    pub async fn create_card(
        &self,
        list_id: &str,
        card: &NewCard,
    ) -> Result<BoardCard, TrelloError> {
        let mut body = Map::new();
        body.insert("idList".into(), Value::String(list_id.to_owned()));
        body.insert("name".into(), Value::String(fit_name(&card.name)));
        body.insert("desc".into(), Value::String(fit_description(&card.desc)));
        body.insert("pos".into(), Value::String("top".into()));
        if !card.id_labels.is_empty() {
            body.insert("idLabels".into(), Value::String(card.id_labels.join(",")));
        }
        if let Some(due) = card.due {
            body.insert("due".into(), Value::String(due_text(due)));
        }
        let call = Call::post("1/cards").json(Value::Object(body));
        let c: CardJson = self
            .send(call, "new card", Some(list_id))
            .await?
            .json("new card")?;
        Ok(c.into())
    }

    /// Changes the fields given. `idempotent`: [`Idempotent::Yes`] when the
    /// update sets absolute values (the full desired state), so that sending
    /// it twice is harmless and it can be retried on timeouts and 5xx.
    pub async fn update_card(
        &self,
        id: &str,
        update: &CardUpdate,
        idempotent: Idempotent,
    ) -> Result<BoardCard, TrelloError> {
        let mut body = Map::new();
        if let Some(n) = &update.name {
            body.insert("name".into(), Value::String(fit_name(n)));
        }
        if let Some(d) = &update.desc {
            body.insert("desc".into(), Value::String(fit_description(d)));
        }
        if let Some(l) = &update.id_list {
            body.insert("idList".into(), Value::String(l.clone()));
        }
        if let Some(due) = &update.due {
            body.insert(
                "due".into(),
                due.map_or(Value::Null, |d| Value::String(due_text(d))),
            );
        }
        if let Some(labels) = &update.id_labels {
            body.insert("idLabels".into(), Value::String(labels.join(",")));
        }
        if let Some(c) = update.closed {
            body.insert("closed".into(), Value::Bool(c));
        }
        let call = Call::put("1/cards")
            .segment(id)
            .json(Value::Object(body))
            .idempotent(idempotent);
        let c: CardJson = self
            .send(call, "card update", update.id_list.as_deref())
            .await?
            .json("updated card")?;
        Ok(c.into())
    }

    /// Adds a comment; returns the comment action's id. Not retried once
    /// sent (a second send is a second comment).
    pub async fn add_comment(&self, card_id: &str, text: &str) -> Result<String, TrelloError> {
        let call = Call::post("1/cards")
            .segment(card_id)
            .segment("actions")
            .segment("comments")
            .json(json!({ "text": fit_text(text) }));
        let a: IdJson = self.send(call, "comment", None).await?.json("comment")?;
        Ok(a.id)
    }

    /// The card's most recent comments (up to 50), newest first: what the
    /// applier reads to settle a comment whose answer was lost.
    pub async fn comments(&self, card_id: &str) -> Result<Vec<String>, TrelloError> {
        #[derive(serde::Deserialize)]
        struct ActionJson {
            #[serde(default)]
            data: Option<ActionData>,
        }
        #[derive(serde::Deserialize)]
        struct ActionData {
            #[serde(default)]
            text: Option<String>,
        }
        let call = Call::get("1/cards")
            .segment(card_id)
            .segment("actions")
            .query("filter", "commentCard")
            .query("limit", "50");
        let actions: Vec<ActionJson> = self.send(call, "comments", None).await?.json("comments")?;
        Ok(actions
            .into_iter()
            .filter_map(|a| a.data.and_then(|d| d.text))
            .collect())
    }

    /// Puts a label on a card. Idempotent: Trello answers 400 "that label
    /// is already on the card" to a repeat, which counts as success, so it
    /// is retried like a read.
    pub async fn add_label(&self, card_id: &str, label_id: &str) -> Result<(), TrelloError> {
        let call = Call::post("1/cards")
            .segment(card_id)
            .segment("idLabels")
            .json(json!({ "value": label_id }))
            .idempotent(Idempotent::Yes);
        match self.send(call, "card label", None).await {
            Ok(_) => Ok(()),
            Err(TrelloError::BadRequest { message, .. })
                if message.to_ascii_lowercase().contains("already on the card") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The creation second of a Trello id: its first 8 hex digits, as in a
/// Mongo ObjectId (trello-archive/api-docs issue 68).
pub fn id_second(id: &str) -> Option<u32> {
    let head = id.get(..8)?;
    if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(head, 16).ok()
}

/// The smallest id of a second: `before=` this id asks for the cards
/// created before that second, whether Trello compares whole ids or, as it
/// does, their seconds.
fn first_id_of_second(second: u32) -> String {
    format!("{second:08x}0000000000000000")
}

/// The oldest and newest creation seconds of a page (`None` when empty).
fn seconds_span(page: &[CardJson]) -> Result<Option<(u32, u32)>, TrelloError> {
    let mut span: Option<(u32, u32)> = None;
    for c in page {
        let Some(s) = id_second(&c.id) else {
            return Err(TrelloError::Incomplete {
                reason: format!("a card id is not a Trello id: {:?}", c.id),
            });
        };
        span = Some(span.map_or((s, s), |(o, n)| (o.min(s), n.max(s))));
    }
    Ok(span)
}

fn keep_new(found: &mut HashMap<String, BoardCard>, page: Vec<CardJson>) {
    for c in page {
        if !found.contains_key(&c.id) {
            found.insert(c.id.clone(), c.into());
        }
    }
}

fn label_from(l: LabelJson) -> BoardLabel {
    BoardLabel {
        id: l.id,
        name: l.name.unwrap_or_default(),
        color: l.color,
    }
}

/// Trello's date format: ISO 8601 with milliseconds and `Z`.
fn due_text(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The longest prefix of `s` within `limit` UTF-16 units, cut on a char
/// boundary.
fn prefix_utf16(s: &str, limit: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > limit {
            return &s[..i];
        }
    }
    s
}

const CUT_NOTE: &str = "\n\n[… texte tronqué : limite Trello de 16384 caractères]";

/// A card name within the limit, ending in `…` when cut.
pub fn fit_name(name: &str) -> String {
    if utf16_len(name) <= TEXT_LIMIT {
        return name.to_owned();
    }
    format!("{}…", prefix_utf16(name, TEXT_LIMIT - 1))
}

/// A comment within the limit, with a visible note when cut.
pub fn fit_text(text: &str) -> String {
    if utf16_len(text) <= TEXT_LIMIT {
        return text.to_owned();
    }
    let room = TEXT_LIMIT - utf16_len(CUT_NOTE);
    format!("{}{CUT_NOTE}", prefix_utf16(text, room))
}

/// A description within the limit. When cut, the text before the marker is
/// shortened, a visible note is added, and the last marker line is kept
/// intact at the end: the marker is how the daemon finds its cards again.
pub fn fit_description(desc: &str) -> String {
    if utf16_len(desc) <= TEXT_LIMIT {
        return desc.to_owned();
    }
    let marker = desc
        .lines()
        .rev()
        .find(|l| l.contains(MARKER_PREFIX))
        .map(str::to_owned);
    let Some(marker) = marker.filter(|m| utf16_len(m) + utf16_len(CUT_NOTE) + 2 < TEXT_LIMIT)
    else {
        return fit_text(desc);
    };
    let tail = format!("{CUT_NOTE}\n\n{marker}");
    let room = TEXT_LIMIT - utf16_len(&tail);
    format!("{}{tail}", prefix_utf16(desc, room))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::parse_marker;

    #[test]
    fn short_texts_are_untouched() {
        assert_eq!(fit_name("Cmd 1"), "Cmd 1");
        assert_eq!(fit_text("ok"), "ok");
        assert_eq!(
            fit_description("a\n`colisync-key: order/1`"),
            "a\n`colisync-key: order/1`"
        );
    }

    #[test]
    fn long_description_keeps_its_marker() {
        let desc = format!("{}\n\n`colisync-key: order/100023`", "é".repeat(20_000));
        let fitted = fit_description(&desc);
        assert!(utf16_len(&fitted) <= TEXT_LIMIT);
        assert!(fitted.contains("tronqué"));
        assert!(fitted.ends_with("`colisync-key: order/100023`"));
        assert!(parse_marker(&fitted).is_some());
    }

    #[test]
    fn long_names_and_comments_are_cut_visibly() {
        let name = fit_name(&"😀".repeat(10_000));
        assert!(utf16_len(&name) <= TEXT_LIMIT && name.ends_with('…'));
        let text = fit_text(&"x".repeat(20_000));
        assert!(utf16_len(&text) <= TEXT_LIMIT && text.ends_with("caractères]"));
    }

    #[test]
    fn quota_stays_under_the_window() {
        for (limit, window) in [(100, 10), (10, 1), (50, 1), (1, 1), (3, 1)] {
            let q = trello_quota(limit, Duration::from_secs(window));
            let per_window = q.burst_size().get() as u128
                + Duration::from_secs(window).as_nanos() / q.replenish_interval().as_nanos();
            assert!(
                per_window < limit as u128 || (limit == 1 && per_window == 1),
                "{limit}: {per_window}"
            );
        }
        let q = trello_quota(100, Duration::from_secs(10));
        assert_eq!(q.burst_size().get(), 5);
        assert!(Duration::from_secs(10).as_nanos() / q.replenish_interval().as_nanos() >= 90);
    }

    #[test]
    fn errors_map_from_trello_messages() {
        let status = |status: u16, body: &str| HttpError::Status {
            api: "trello",
            method: "POST".into(),
            path: "/1/cards".into(),
            status,
            body_excerpt: body.into(),
        };
        assert!(matches!(
            map_error(status(400, "invalid value for idList"), "c", Some("L")),
            TrelloError::UnknownList { .. }
        ));
        assert!(matches!(
            map_error(
                status(404, "could not find the board that the card belongs to"),
                "c",
                Some("L")
            ),
            TrelloError::UnknownList { .. }
        ));
        assert!(matches!(
            map_error(
                status(404, "The requested resource was not found."),
                "c",
                None
            ),
            TrelloError::NotFound { .. }
        ));
        assert!(matches!(
            map_error(status(400, "invalid id"), "c", None),
            TrelloError::BadRequest { .. }
        ));
        let e = map_error(
            HttpError::Unauthorized {
                api: "trello",
                status: 401,
                message: r#"{"message":"missing scopes"}"#.into(),
            },
            "c",
            None,
        );
        assert_eq!(
            e,
            TrelloError::Unauthorized {
                status: 401,
                message: "missing scopes".into()
            }
        );
        assert!(e.is_fatal());
        assert!(map_error(status(503, "x"), "c", None).outcome_is_unknown());
    }
}
