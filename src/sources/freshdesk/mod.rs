//! Freshdesk API v2 client: the customer's contact and open tickets, a
//! ticket's conversations, private notes, escalation tickets, groups,
//! ticket fields and the key's agent.
//!
//! Sits at the write-back edge of the pipeline, beside the Trello client:
//! after a card is filed, changes case or is resolved, the applier of those
//! follow-up writes calls it. It turns Freshdesk's JSON into the small
//! types below and nothing else; what to write and when is decided upstream.
//!
//! How Freshdesk behaves (docs/apis.md, Freshdesk) and what this module does
//! about it:
//! - Auth is HTTP Basic with the API key as user and `X` as password. The
//!   shared layer scrubs the Basic value (base64) from every body; the raw
//!   key is added to the scrubber too, since an echo would quote it raw.
//! - 401 (`invalid_credentials`) means the key is refused: fatal for the
//!   Freshdesk part of a pass. 403 (`access_denied`) can concern one ticket
//!   outside the key's scope: a definite failure of that item only. The
//!   shared layer folds both into one error; the answers are read here.
//! - 400 carries `{"description","errors":[{"field","message","code"}]}`;
//!   other errors `{"code","message"}`; a 404 may have no body.
//! - Every answer has `X-RateLimit-Total`/`-Remaining`/`-Used-CurrentRequest`;
//!   remaining 0 closes the shared gate for a minute, a 429 for its
//!   `Retry-After`. The per-minute budget depends on the plan, so the
//!   client limits itself to `requests_per_minute` and reads the headers.
//! - Lists page with `page`/`per_page` (≤ 100) and a `Link: <…>; rel="next"`
//!   header while more remain. Only the presence of `rel="next"` is read:
//!   the URL in it names the real host, even behind a test base URL.
//! - Search (`/search/tickets`) wants the query in double quotes, at most
//!   512 characters, 30 results a page and pages 1 to 10, and lags behind
//!   writes by minutes: it is never used to check a write just made.
//! - The ticket list returns tickets created in the last 30 days unless
//!   `updated_since` is given, and has no status filter: open tickets
//!   (status other than 4 Resolved and 5 Closed) are kept here.
//!
//! Errors never carry a secret nor a URL.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::config::{FreshdeskConfig, GroupRef};

mod errors;
mod search;
#[cfg(test)]
mod tests;
mod wire;

use crate::http::{
    self, ApiClient, ApiSettings, Call, HttpError, Idempotent, RateHeaders, RetryPolicy,
};
pub use errors::{FieldError, FreshdeskError};
pub use search::{has_next_page, order_number_query, quoted_search, string_term};
pub use wire::{
    Agent, AgentContact, Contact, Conversation, Group, Listed, NewTicket, RateBudget, SearchPage,
    Ticket, TicketField, TicketFilter,
};

const API: &str = "freshdesk";

/// Freshdesk's ticket statuses that are not "open" for colisync.
pub const STATUS_RESOLVED: u64 = 4;
pub const STATUS_CLOSED: u64 = 5;
/// What colisync opens tickets with: Open, Medium, Portal.
pub const STATUS_OPEN: u64 = 2;
pub const PRIORITY_MEDIUM: u64 = 2;
pub const SOURCE_PORTAL: u64 = 2;

/// The largest page Freshdesk serves on list endpoints.
pub const MAX_PER_PAGE: u32 = 100;
/// Search: its page size, its last page and its longest query.
pub const SEARCH_PAGE_SIZE: usize = 30;
pub const SEARCH_MAX_PAGE: u32 = 10;
pub const SEARCH_MAX_QUERY: usize = 512;

/// The Freshdesk client. Cheap to clone; clones share the limiter, the
/// pause gate and the last rate budget.
#[derive(Clone)]
pub struct FreshdeskClient {
    api: ApiClient,
    /// `{base_url}/api/v2/`, kept for `Debug`.
    root: Url,
    /// The account's agent URL root, for ticket links.
    base: Url,
    budget: Arc<Mutex<RateBudget>>,
}

impl fmt::Debug for FreshdeskClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshdeskClient")
            .field("root", &http::redact_url(&self.root))
            .finish_non_exhaustive()
    }
}

fn invalid(detail: impl Into<String>) -> FreshdeskError {
    FreshdeskError::Http(HttpError::Invalid {
        api: API,
        method: String::new(),
        path: String::new(),
        detail: detail.into(),
    })
}

impl FreshdeskClient {
    pub fn new(cfg: &FreshdeskConfig) -> Result<Self, FreshdeskError> {
        let mut base = cfg.base_url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let root = base
            .join("api/v2/")
            .map_err(|e| invalid(format!("bad base URL: {e}")))?;
        use base64::Engine;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:X", cfg.api_key.expose()));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| invalid("credentials are not a valid header value"))?;
        auth.set_sensitive(true);
        let mut settings = ApiSettings::new(API, root.clone());
        settings.timeout = cfg.timeout;
        settings.default_headers.insert(AUTHORIZATION, auth);
        settings
            .default_headers
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        // The header carries base64(key:X); an echo would quote the key raw.
        settings.scrubber = crate::secret::Scrubber::new([&cfg.api_key]);
        // The plan's per-minute limit, as a sliding window shared by every
        // client of the same account and key (`limiter`).
        settings.windows = Some(crate::limiter::Limiter::per_key(
            API,
            root.as_str(),
            cfg.api_key.expose(),
            cfg.requests_per_minute,
            Duration::from_secs(60),
        ));
        // Freshdesk's window is a minute; without Retry-After, wait it out.
        settings.rate_limited_pause = Duration::from_secs(60);
        settings.rate_headers = Some(RateHeaders {
            remaining: HeaderName::from_static("x-ratelimit-remaining"),
            interval_ms: None,
        });
        // A Retry-After may be most of a minute; a stopping daemon has a
        // minute (systemd's TimeoutStopSec): a longer wait fails the call
        // as rate limited, retried on the next pass.
        settings.retry = RetryPolicy {
            max_total: Duration::from_secs(45),
            ..RetryPolicy::default()
        };
        Ok(FreshdeskClient {
            api: ApiClient::new(settings)?,
            root,
            base,
            budget: Arc::new(Mutex::new(RateBudget::default())),
        })
    }

    /// Replaces the retry schedule (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.api = self.api.with_retry(retry);
        self
    }

    /// Replaces the minute Freshdesk's window lasts, waited after a spent
    /// budget (tests shorten it).
    pub fn with_rate_pause(mut self, pause: Duration) -> Self {
        self.api = self.api.with_rate_limited_pause(pause);
        self
    }

    /// What this client removes from upstream text (the key, raw and as
    /// sent).
    pub fn scrubber(&self) -> &crate::secret::Scrubber {
        self.api.scrubber()
    }

    /// The budget the last answer announced (`check-config --online`).
    pub fn rate_budget(&self) -> RateBudget {
        self.budget.lock().map(|b| *b).unwrap_or_default()
    }

    /// The agent-side URL of a ticket, for a card comment:
    /// `https://<domain>.freshdesk.com/a/tickets/<id>` (docs/apis.md).
    pub fn ticket_url(&self, id: u64) -> String {
        let mut u = self.base.clone();
        u.set_path(&format!("{}a/tickets/{id}", self.base.path()));
        http::redact_url(&u)
    }

    /// Sends `call` and decodes a 2xx as `T`; the documented error shapes
    /// become [`FreshdeskError`]s.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        what: &str,
    ) -> Result<(T, HeaderMap), FreshdeskError> {
        let call = call
            .accept(400)
            .accept(401)
            .accept(403)
            .accept(404)
            .accept(405)
            .accept(409);
        self.api
            .send_decoded(
                &call,
                |reply| {
                    self.note_budget(&reply.headers);
                    decode(what, reply)
                },
                |e| matches!(e, FreshdeskError::Decode { .. }),
            )
            .await
    }

    fn note_budget(&self, headers: &HeaderMap) {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let b = RateBudget {
            total: num("x-ratelimit-total"),
            remaining: num("x-ratelimit-remaining"),
            used_by_request: num("x-ratelimit-used-currentrequest"),
        };
        if b.used_by_request.is_some_and(|n| n > 1) {
            tracing::warn!(
                api = API,
                credits = b.used_by_request,
                "one request cost more than one credit"
            );
        }
        tracing::debug!(
            api = API,
            total = b.total,
            remaining = b.remaining,
            "rate budget"
        );
        if let Ok(mut g) = self.budget.lock() {
            *g = b;
        }
    }

    /// The key's agent: proves the key works.
    pub async fn agent_me(&self) -> Result<Agent, FreshdeskError> {
        Ok(self
            .send(Call::get("agents/me"), "the key's agent")
            .await?
            .0)
    }

    /// Every group, all pages.
    pub async fn groups(&self) -> Result<Vec<Group>, FreshdeskError> {
        Ok(self
            .paged(|| Call::get("groups"), "groups", u32::MAX)
            .await?
            .items)
    }

    /// Every ticket field (not paged).
    pub async fn ticket_fields(&self) -> Result<Vec<TicketField>, FreshdeskError> {
        Ok(self
            .send(Call::get("ticket_fields"), "ticket fields")
            .await?
            .0)
    }

    /// The contact of an e-mail address, if Freshdesk has one.
    pub async fn contact_by_email(&self, email: &str) -> Result<Option<Contact>, FreshdeskError> {
        let (list, _): (Vec<Contact>, _) = self
            .send(Call::get("contacts").query("email", email), "contacts")
            .await?;
        Ok(list.into_iter().next())
    }

    /// Tickets of the list endpoint (current, unlike search), at most
    /// `max_pages` pages of 100.
    pub async fn tickets(
        &self,
        filter: &TicketFilter,
        max_pages: u32,
    ) -> Result<Listed<Ticket>, FreshdeskError> {
        let since = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let make = || match filter {
            TicketFilter::Requester {
                requester_id,
                updated_since,
            } => Call::get("tickets")
                .query("requester_id", requester_id.to_string())
                .query("updated_since", since(updated_since))
                .query("order_by", "updated_at")
                .query("order_type", "desc"),
            TicketFilter::Email {
                email,
                updated_since,
            } => Call::get("tickets")
                .query("email", email.clone())
                .query("updated_since", since(updated_since))
                .query("order_by", "created_at")
                .query("order_type", "desc"),
        };
        self.paged(make, "tickets", max_pages).await
    }

    /// One page of a search. `query` comes from [`quoted_search`]; pages
    /// beyond 10 are refused here, as Freshdesk would.
    pub async fn search_tickets(
        &self,
        query: &str,
        page: u32,
    ) -> Result<SearchPage, FreshdeskError> {
        if !(1..=SEARCH_MAX_PAGE).contains(&page) {
            return Err(FreshdeskError::Query(format!(
                "page {page}: search serves pages 1 to {SEARCH_MAX_PAGE}"
            )));
        }
        if !(query.len() >= 2 && query.starts_with('"') && query.ends_with('"')) {
            return Err(FreshdeskError::Query(
                "the query must be wrapped in double quotes".into(),
            ));
        }
        let call = Call::get("search/tickets")
            .query("query", query)
            .query("page", page.to_string());
        Ok(self.send(call, "ticket search").await?.0)
    }

    pub async fn ticket(&self, id: u64) -> Result<Ticket, FreshdeskError> {
        let call = Call::get("tickets").segment(id.to_string());
        Ok(self.send(call, &format!("ticket {id}")).await?.0)
    }

    /// A ticket's replies and notes, oldest first, at most `max_pages`
    /// pages of 100.
    pub async fn conversations(
        &self,
        ticket_id: u64,
        max_pages: u32,
    ) -> Result<Listed<Conversation>, FreshdeskError> {
        let make = || {
            Call::get("tickets")
                .segment(ticket_id.to_string())
                .segment("conversations")
        };
        self.paged(
            make,
            &format!("conversations of ticket {ticket_id}"),
            max_pages,
        )
        .await
    }

    /// Adds a private note. Not idempotent: after an unknown outcome the
    /// caller reads the conversations for its marker before writing again.
    pub async fn add_private_note(
        &self,
        ticket_id: u64,
        body_html: &str,
    ) -> Result<Conversation, FreshdeskError> {
        let call = Call::post("tickets")
            .segment(ticket_id.to_string())
            .segment("notes")
            .json(json!({"body": body_html, "private": true}));
        Ok(self
            .send(call, &format!("a note on ticket {ticket_id}"))
            .await?
            .0)
    }

    /// Opens a ticket for the internal requester. Not idempotent.
    pub async fn create_ticket(&self, t: &NewTicket) -> Result<Ticket, FreshdeskError> {
        let mut body = json!({
            "email": t.requester_email,
            "subject": t.subject,
            "description": t.description,
            "status": STATUS_OPEN,
            "priority": PRIORITY_MEDIUM,
            "source": SOURCE_PORTAL,
            "tags": t.tags,
        });
        if let Some(g) = t.group_id {
            body["group_id"] = json!(g);
        }
        if !t.custom_fields.is_empty() {
            body["custom_fields"] = Value::Object(t.custom_fields.clone());
        }
        let call = Call::post("tickets").json(body);
        Ok(self.send(call, "a new ticket").await?.0)
    }

    /// Assigns a ticket to a group: the same body twice has one effect.
    pub async fn set_group(&self, ticket_id: u64, group_id: u64) -> Result<Ticket, FreshdeskError> {
        let call = Call::put("tickets")
            .segment(ticket_id.to_string())
            .json(json!({"group_id": group_id}))
            .idempotent(Idempotent::Yes);
        Ok(self
            .send(call, &format!("the group of ticket {ticket_id}"))
            .await?
            .0)
    }

    /// Pages 1, 2, … of 100 while the answer's `Link` says there is a next
    /// one, up to `max_pages`.
    async fn paged<T: serde::de::DeserializeOwned>(
        &self,
        make: impl Fn() -> Call,
        what: &str,
        max_pages: u32,
    ) -> Result<Listed<T>, FreshdeskError> {
        let mut items = Vec::new();
        let mut page = 1u32;
        loop {
            let call = make()
                .query("per_page", MAX_PER_PAGE.to_string())
                .query("page", page.to_string());
            let (batch, headers): (Vec<T>, _) = self.send(call, what).await?;
            items.extend(batch);
            if !has_next_page(&headers) {
                return Ok(Listed {
                    items,
                    complete: true,
                });
            }
            if page >= max_pages {
                return Ok(Listed {
                    items,
                    complete: false,
                });
            }
            page += 1;
        }
    }
}

/// `{"code","message"}` of an error answer, when it has that shape.
fn code_message(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (code, mut message) = (s("code"), s("message"));
    if message.is_empty() {
        message = String::from_utf8_lossy(body)
            .chars()
            .take(200)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_owned();
    }
    (code, http::redact(&message))
}

/// One answer: the JSON of a 2xx, or the error its status means. The body
/// was scrubbed of the key by the shared layer.
fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    reply: http::Reply,
) -> Result<(T, HeaderMap), FreshdeskError> {
    match reply.status {
        400 => {
            #[derive(Deserialize)]
            struct Validation {
                #[serde(default)]
                description: String,
                #[serde(default)]
                errors: Vec<FieldError>,
            }
            let v: Validation = serde_json::from_slice(&reply.body).unwrap_or(Validation {
                description: code_message(&reply.body).1,
                errors: Vec::new(),
            });
            Err(FreshdeskError::Invalid {
                what: what.to_owned(),
                description: v.description,
                errors: v.errors,
            })
        }
        401 => {
            let (code, message) = code_message(&reply.body);
            Err(FreshdeskError::Unauthorized { code, message })
        }
        403 => {
            let (code, message) = code_message(&reply.body);
            Err(FreshdeskError::Forbidden { code, message })
        }
        404 => Err(FreshdeskError::NotFound {
            what: what.to_owned(),
        }),
        status if status >= 300 => Err(FreshdeskError::Refused {
            what: what.to_owned(),
            status,
            message: code_message(&reply.body).1,
        }),
        _ => match serde_json::from_slice(&reply.body) {
            Ok(v) => Ok((v, reply.headers)),
            Err(e) => Err(FreshdeskError::Decode {
                what: what.to_owned(),
                reason: match http::decode_error(API, what, &e) {
                    HttpError::Decode { detail, .. } => detail,
                    other => other.to_string(),
                },
            }),
        },
    }
}

/// The configured group among the account's: by id, or by name (exactly,
/// then ignoring case, as an admin may type « niveau 2 »).
pub fn find_group<'a>(groups: &'a [Group], wanted: &GroupRef) -> Option<&'a Group> {
    match wanted {
        GroupRef::Id(id) => groups.iter().find(|g| g.id == *id),
        GroupRef::Name(name) => groups
            .iter()
            .find(|g| g.name == *name)
            .or_else(|| groups.iter().find(|g| g.name.eq_ignore_ascii_case(name))),
    }
}
