//! The Trello REST client: the only code that talks to Trello.
//!
//! Built on the shared HTTP layer ([`crate::http`]). What is Trello-specific
//! lives here:
//!
//! - credentials only in the `Authorization: OAuth oauth_consumer_key="…",
//!   oauth_token="…"` header, never in a URL (Trello also accepts
//!   `?key=&token=`, which leaks them into every log that prints a URL);
//! - name, desc and comment text sent as a JSON body and cut to Trello's
//!   [`TEXT_LIMIT`] visibly, the description keeping its marker line
//!   (see [`fit_description`]);
//! - every request paced by [`Limiter::trello`]: the token's sliding window
//!   of `rate_limit` requests per `rate_window` and the key's (three times
//!   that, shared by every board of the key), which also read the
//!   `x-rate-limit-api-*` headers and the 429s;
//! - Trello's plain-text errors mapped to [`TrelloError`]: an unknown list
//!   tells the caller to re-resolve lists by name, a 401 is fatal.
//!
//! Retry safety: reads retry. `PUT /cards/{id}` retries when the caller
//! says it sends the full desired state ([`Idempotent::Yes`]); creating a
//! card, a list, a label or a comment never retries once sent: on a
//! timeout, reset or 5xx the error's [`TrelloError::outcome_is_unknown`] is
//! true and the caller settles it by reading the board (marker line).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use crate::board::{
    BoardCard, BoardCheckItem, BoardChecklist, BoardLabel, BoardList, MARKER_PREFIX, TEXT_LIMIT,
};
use crate::config::TrelloConfig;
use crate::http::{self, ApiClient, ApiSettings, Call, HttpError, Idempotent, RetryPolicy};
use crate::limiter::Limiter;

/// Trello's largest `limit`: cards per page of the board listing, labels
/// per call (swagger.v3.json: "between 0 and 1000").
pub(crate) const PAGE_SIZE: usize = 1000;

mod errors;
mod fit;
#[cfg(test)]
mod tests;
mod wire;

pub use errors::TrelloError;
use errors::map_error;
pub use fit::{fit_description, fit_name, fit_text};
use wire::*;
pub use wire::{BoardLayout, CardUpdate, NewCard, id_second};

/// The card fields colisync reads.
/// `badges` (a documented card field) carries the checklist counts: a case
/// card's checklists are read only when they change.
const CARD_FIELDS: &str = "id,name,desc,idList,closed,idLabels,due,badges";

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

    /// A client with another retry policy (tests: `RetryPolicy::fast`).
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
        let mut settings = ApiSettings::new("trello", cfg.base_url.clone());
        settings.timeout = cfg.timeout;
        settings.default_headers = headers;
        // The key's and the token's sliding windows, shared with every
        // client of the same credentials; they pace every request, read
        // the x-rate-limit-* headers and take the 429s.
        settings.windows = Some(Limiter::trello(
            cfg.base_url.as_str(),
            cfg.key.expose(),
            cfg.token.expose(),
            cfg.rate_limit,
            cfg.rate_window,
        ));
        settings.retry = retry;
        // Without Retry-After, a 429 means the sliding window is full:
        // waiting one whole window is the only wait sure to clear it.
        settings.rate_limited_pause = cfg.rate_window;
        Ok(TrelloClient {
            api: ApiClient::new(settings)?,
            board: cfg.board.clone(),
            board_id: Arc::new(OnceCell::new()),
        })
    }

    /// The windows pacing this client: the key's, then the token's.
    pub fn rate_windows(&self) -> &[Arc<crate::limiter::Window>] {
        self.api.windows()
    }

    /// When this process's recent Trello requests completed (the token's
    /// window, the narrower of the two), for the next process.
    pub fn recent_requests(&self) -> Vec<DateTime<Utc>> {
        self.api
            .windows()
            .last()
            .map(|w| w.recent().into_iter().map(DateTime::<Utc>::from).collect())
            .unwrap_or_default()
    }

    /// Counts an earlier process's recent requests in both windows (see
    /// [`crate::limiter::Window::resume`]).
    pub fn resume_requests(&self, at: &[DateTime<Utc>]) {
        let at: Vec<std::time::SystemTime> = at.iter().map(|t| (*t).into()).collect();
        for w in self.api.windows() {
            w.resume(&at);
        }
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

    /// The board's id, open lists and labels in one request: lists and
    /// labels as nested resources of `GET /1/boards/{board}` (Trello's
    /// "Nested Resources" guide, developer.atlassian.com/cloud/trello/
    /// guides/rest-api/nested-resources/: `lists` none/open/closed/all with
    /// `list_fields`, `labels` none/all with `label_fields` and
    /// `labels_limit`, 0-1000, default 50; swagger.v3.json `GET
    /// /boards/{id}` takes `lists` and `labels`). The board may be named by
    /// its short link: the answer's id is kept, so later calls need no
    /// separate resolution. One request where lists, labels and the id
    /// would take three.
    pub async fn board_lists_labels(&self) -> Result<BoardLayout, TrelloError> {
        let target = match self.board_id.get() {
            Some(id) => id.clone(),
            None => self.board.clone(),
        };
        let call = Call::get("1/boards")
            .segment(&target)
            .query("fields", "id")
            .query("actions", "none")
            .query("lists", "open")
            .query("list_fields", "id,name,closed")
            .query("labels", "all")
            .query("label_fields", "id,name,color")
            .query("labels_limit", PAGE_SIZE.to_string());
        let board: BoardJson = self.send(call, "board", None).await?.json("board")?;
        // Another task may have resolved it meanwhile: same board, same id.
        let _ = self.board_id.set(board.id.clone());
        Ok(BoardLayout {
            id: board.id,
            lists: board.lists.into_iter().map(list_from).collect(),
            labels: board.labels.into_iter().map(label_from).collect(),
        })
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
        Ok(lists.into_iter().map(list_from).collect())
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
        Ok(list_from(l))
    }

    /// Labels of the board (up to [`PAGE_SIZE`]; Trello's default page is 50).
    pub async fn labels(&self) -> Result<Vec<BoardLabel>, TrelloError> {
        let id = self.board_id().await?;
        let call = Call::get("1/boards")
            .segment(id)
            .segment("labels")
            .query("fields", "id,name,color")
            .query("limit", PAGE_SIZE.to_string());
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
    pub(crate) async fn comments(&self, card_id: &str) -> Result<Vec<String>, TrelloError> {
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

    /// Adds an empty checklist at the bottom of a card
    /// (`POST /1/cards/{id}/checklists`). Not retried once sent (a second
    /// send is a second checklist): on an unknown outcome, read the card's
    /// checklists back by name before adding it again.
    pub async fn create_checklist(
        &self,
        card_id: &str,
        name: &str,
    ) -> Result<BoardChecklist, TrelloError> {
        let call = Call::post("1/cards")
            .segment(card_id)
            .segment("checklists")
            .json(json!({ "name": fit_name(name), "pos": "bottom" }));
        let c: ChecklistJson = self
            .send(call, "checklist", None)
            .await?
            .json("new checklist")?;
        Ok(c.into())
    }

    /// Adds an item at the bottom of a checklist
    /// (`POST /1/checklists/{id}/checkItems`). `due` is sent only when
    /// given: item due dates are a paid Trello feature (docs/apis.md).
    /// Not retried once sent, like [`TrelloClient::create_checklist`].
    pub async fn add_check_item(
        &self,
        checklist_id: &str,
        name: &str,
        due: Option<DateTime<Utc>>,
    ) -> Result<BoardCheckItem, TrelloError> {
        let mut body = Map::new();
        body.insert("name".into(), Value::String(fit_name(name)));
        body.insert("pos".into(), Value::String("bottom".into()));
        if let Some(due) = due {
            body.insert("due".into(), Value::String(due_text(due)));
        }
        let call = Call::post("1/checklists")
            .segment(checklist_id)
            .segment("checkItems")
            .json(Value::Object(body));
        let i: CheckItemJson = self
            .send(call, "checklist item", None)
            .await?
            .json("new checklist item")?;
        Ok(i.into())
    }

    /// The card's checklists with their items' names and states
    /// (`GET /1/cards/{id}/checklists`), in Trello's order.
    pub async fn card_checklists(&self, card_id: &str) -> Result<Vec<BoardChecklist>, TrelloError> {
        let call = Call::get("1/cards")
            .segment(card_id)
            .segment("checklists")
            .query("checkItems", "all")
            .query("checkItem_fields", "name,state,pos")
            .query("fields", "name,pos");
        let lists: Vec<ChecklistJson> = self
            .send(call, "checklists", None)
            .await?
            .json("checklists")?;
        Ok(lists.into_iter().map(Into::into).collect())
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
