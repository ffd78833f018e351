//! In-process fake of the Freshdesk API v2: contacts, tickets, their
//! conversations and notes, groups, ticket fields, the key's agent and the
//! ticket search, over a helpdesk held in memory.
//!
//! Used by the contract tests of [`crate::sources::freshdesk`] and by the
//! write-back tests. It behaves like the real service where colisync could
//! trip (docs/apis.md, Freshdesk); where the docs give no sample, the
//! behaviour is modelled on the documented rule and says so:
//! - HTTP Basic with the key as user (any password): else 401
//!   `{"code":"invalid_credentials",…}`; [`FakeFreshdesk::forbid`] makes
//!   routes answer 403 `{"code":"access_denied",…}`; a key in the query
//!   string is ignored (and counted);
//! - every answer carries `X-RateLimit-Total`, `-Remaining` and
//!   `-Used-CurrentRequest`; over the per-minute budget
//!   ([`FakeFreshdesk::set_rate_limit`]) a 429 with `Retry-After` (the
//!   seconds left in the window); invalid requests count too;
//! - 400 `{"description":"Validation failed","errors":[{field,message,code}]}`
//!   for what Freshdesk validates (missing note body, bad status, priority
//!   or group, `per_page` over 100, an unquoted, too long or unparsable
//!   search, a search page over 10, an unknown search field); 404 with an
//!   empty body for an unknown ticket (modelled);
//! - lists page with `page`/`per_page` and a `Link: <…>; rel="next"` whose
//!   URL names the account's real host, as Freshdesk's does, not this
//!   server; the ticket list returns the last 30 days unless
//!   `updated_since` is given, never spam or deleted tickets;
//! - search: `field:value`, `field:'string'`, `:>` and `:<`, `AND`, `OR`,
//!   parentheses, `null`; 30 results a page, pages 1 to 10; with
//!   [`FakeFreshdesk::set_search_lag`] on, it sees the tickets as they were
//!   at the last [`FakeFreshdesk::reindex`], as the real index lags;
//! - notes are private unless `private: false`; `body_text` is the body's
//!   text, tags and scripts removed;
//! - a notification log records every e-mail the real service would send
//!   (a ticket created → its requester; a public note, a reply or an
//!   outbound e-mail → the customer), so that tests can assert that no
//!   customer is ever written to. The routes colisync must never call
//!   (reply, outbound e-mail, editing or deleting a conversation) exist so
//!   that such a call is served, logged and visible.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use url::Url;

use crate::{FakeServer, Faults, RequestLog, lock};

/// The host the `Link` headers name, as the real service names the
/// account's own domain.
pub const LINK_HOST: &str = "https://yourshop.freshdesk.com";

const INVALID_CREDENTIALS: &str = "You have to be logged in to perform this action.";
const ACCESS_DENIED: &str = "You are not authorized to perform this action.";

/// One e-mail the real Freshdesk would have sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub to: String,
    /// "ticket created", "public note", "reply", "outbound email",
    /// "agent notified".
    pub kind: &'static str,
    pub ticket_id: u64,
}

#[derive(Debug, Clone)]
struct FTicket {
    id: u64,
    subject: String,
    description: String,
    status: u64,
    priority: u64,
    source: u64,
    requester_id: u64,
    group_id: Option<u64>,
    tags: Vec<String>,
    custom_fields: Map<String, Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    spam: bool,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct FConv {
    id: u64,
    ticket_id: u64,
    body: String,
    body_text: String,
    private: bool,
    incoming: bool,
    source: u64,
    user_id: u64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct FContact {
    id: u64,
    name: String,
    email: String,
}

struct Desk {
    key: String,
    agent_id: u64,
    ticket_scope: u64,
    contacts: BTreeMap<u64, FContact>,
    tickets: BTreeMap<u64, FTicket>,
    conversations: Vec<FConv>,
    groups: BTreeMap<u64, String>,
    ticket_fields: Vec<String>,
    next_id: u64,
    /// What the fake takes as "now" for new records and the 30-day rule.
    clock: DateTime<Utc>,
    /// `(budget, window)`; `None`: no limit (headers still sent).
    rate: Option<(u32, Duration)>,
    window_start: Option<Instant>,
    used: u32,
    /// 429s the fake's own limiter answered.
    rate_limited: usize,
    /// `(method or "*", path prefix)` answered 403.
    forbidden: Vec<(String, String)>,
    search_lag: bool,
    /// The tickets as the search index saw them at the last reindex.
    index: BTreeMap<u64, FTicket>,
    notifications: Vec<Notification>,
    key_in_query: usize,
}

/// The fake helpdesk; cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeFreshdesk {
    desk: Arc<Mutex<Desk>>,
    server: Arc<FakeServer>,
}

type Shared = State<Arc<Mutex<Desk>>>;

fn validation(errors: Vec<(&str, &str, &str)>) -> Response {
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|(field, message, code)| json!({"field": field, "message": message, "code": code}))
        .collect();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"description": "Validation failed", "errors": errors})),
    )
        .into_response()
}

fn not_found() -> Response {
    // Modelled: Freshdesk answers an unknown id with a bare 404.
    StatusCode::NOT_FOUND.into_response()
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `body` as text: scripts dropped, tags removed, the five entities
/// decoded, blank runs folded.
pub fn text_of_html(html: &str) -> String {
    let mut s = html.to_owned();
    loop {
        let lower = s.to_ascii_lowercase();
        let Some(start) = lower.find("<script") else {
            break;
        };
        let end = lower[start..]
            .find("</script>")
            .map_or(s.len(), |e| start + e + "</script>".len());
        s.replace_range(start..end, "");
    }
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in s.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let t = tag.to_ascii_lowercase();
                if t.starts_with("br")
                    || t.starts_with("/p")
                    || t.starts_with("/div")
                    || t.starts_with("/li")
                {
                    out.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

impl FakeFreshdesk {
    /// Starts the fake on 127.0.0.1 for API key `key`, empty, its clock at
    /// `now`.
    pub async fn start(key: &str, now: DateTime<Utc>) -> std::io::Result<FakeFreshdesk> {
        let desk = Arc::new(Mutex::new(Desk {
            key: key.to_owned(),
            agent_id: 1,
            ticket_scope: 1,
            contacts: BTreeMap::new(),
            tickets: BTreeMap::new(),
            conversations: Vec::new(),
            groups: BTreeMap::new(),
            ticket_fields: Vec::new(),
            next_id: 1000,
            clock: now,
            rate: None,
            window_start: None,
            used: 0,
            rate_limited: 0,
            forbidden: Vec::new(),
            search_lag: false,
            index: BTreeMap::new(),
            notifications: Vec::new(),
            key_in_query: 0,
        }));
        let router = Router::new()
            .route("/api/v2/agents/me", get(agent_me))
            .route("/api/v2/groups", get(list_groups))
            .route("/api/v2/ticket_fields", get(list_ticket_fields))
            .route("/api/v2/contacts", get(list_contacts))
            .route("/api/v2/tickets", get(list_tickets).post(create_ticket))
            .route("/api/v2/tickets/outbound_email", post(outbound_email))
            .route("/api/v2/tickets/{id}", get(get_ticket).put(update_ticket))
            .route(
                "/api/v2/tickets/{id}/conversations",
                get(list_conversations),
            )
            .route("/api/v2/tickets/{id}/notes", post(add_note))
            .route("/api/v2/tickets/{id}/reply", post(reply))
            .route(
                "/api/v2/conversations/{id}",
                put(edit_conversation).delete(delete_conversation),
            )
            .route("/api/v2/search/tickets", get(search))
            .layer(middleware::from_fn_with_state(desk.clone(), auth_and_rate))
            .with_state(desk.clone());
        let server = FakeServer::start(router).await?;
        // Modelled: no public sample of Freshdesk's 429 body was found.
        server.faults().set_too_many_requests_body(
            "application/json",
            r#"{"code":"rate_limit_exceeded","message":"You have exceeded the limit of requests per minute"}"#,
        );
        Ok(FakeFreshdesk {
            desk,
            server: Arc::new(server),
        })
    }

    /// The account root, what goes in `[freshdesk] base_url`.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    pub fn requests(&self) -> &RequestLog {
        self.server.requests()
    }

    fn desk(&self) -> MutexGuard<'_, Desk> {
        lock(&self.desk)
    }

    pub fn set_clock(&self, now: DateTime<Utc>) {
        self.desk().clock = now;
    }

    /// `Some((n, window))`: at most `n` requests per window, then 429.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        let mut d = self.desk();
        d.rate = limit;
        d.window_start = None;
        d.used = 0;
    }

    /// 429s the fake's own limiter answered (injected faults excluded).
    pub fn rate_limited(&self) -> usize {
        self.desk().rate_limited
    }

    /// Requests that carried a key in the query string (ignored).
    pub fn key_in_query(&self) -> usize {
        self.desk().key_in_query
    }

    /// Requests of `method` (`"*"` any) under `path_prefix` answer 403.
    pub fn forbid(&self, method: &str, path_prefix: &str) {
        self.desk()
            .forbidden
            .push((method.to_owned(), path_prefix.to_owned()));
    }

    /// The key's agent sees only its groups' tickets (scope 2).
    pub fn set_ticket_scope(&self, scope: u64) {
        self.desk().ticket_scope = scope;
    }

    /// On: search sees the tickets as of the last [`Self::reindex`].
    pub fn set_search_lag(&self, on: bool) {
        let mut d = self.desk();
        d.search_lag = on;
        d.index = d.tickets.clone();
    }

    pub fn reindex(&self) {
        let mut d = self.desk();
        d.index = d.tickets.clone();
    }

    pub fn add_group(&self, name: &str) -> u64 {
        let mut d = self.desk();
        let id = d.new_id();
        d.groups.insert(id, name.to_owned());
        id
    }

    /// A custom ticket field (`cf_…`) the search and tickets accept.
    pub fn add_ticket_field(&self, name: &str) {
        self.desk().ticket_fields.push(name.to_owned());
    }

    pub fn add_contact(&self, name: &str, email: &str) -> u64 {
        let mut d = self.desk();
        let id = d.new_id();
        d.contacts.insert(
            id,
            FContact {
                id,
                name: name.to_owned(),
                email: email.to_owned(),
            },
        );
        id
    }

    /// A ticket of `requester` (a contact id) in `status`, last updated at
    /// `updated_at`.
    pub fn add_ticket(
        &self,
        requester: u64,
        subject: &str,
        status: u64,
        updated_at: DateTime<Utc>,
        custom_fields: Map<String, Value>,
    ) -> u64 {
        let mut d = self.desk();
        let id = d.new_id();
        d.tickets.insert(
            id,
            FTicket {
                id,
                subject: subject.to_owned(),
                description: format!("<div>{subject}</div>"),
                status,
                priority: 1,
                source: 1,
                requester_id: requester,
                group_id: None,
                tags: Vec::new(),
                custom_fields,
                created_at: updated_at,
                updated_at,
                spam: false,
                deleted: false,
            },
        );
        id
    }

    /// Marks a ticket as spam (the list leaves it out).
    pub fn mark_spam(&self, ticket: u64) {
        if let Some(t) = self.desk().tickets.get_mut(&ticket) {
            t.spam = true;
        }
    }

    /// An agent's own private note, as colisync must leave it.
    pub fn add_agent_note(&self, ticket: u64, body_html: &str) -> u64 {
        let mut d = self.desk();
        let id = d.new_id();
        let at = d.clock;
        d.conversations.push(FConv {
            id,
            ticket_id: ticket,
            body: body_html.to_owned(),
            body_text: text_of_html(body_html),
            private: true,
            incoming: false,
            source: 2,
            user_id: 7,
            created_at: at,
        });
        id
    }

    /// The conversations of a ticket as the API serves them.
    pub fn conversations_of(&self, ticket: u64) -> Vec<Value> {
        let d = self.desk();
        d.conversations
            .iter()
            .filter(|c| c.ticket_id == ticket)
            .map(conv_json)
            .collect()
    }

    /// The notes of a ticket (source 2).
    pub fn notes_of(&self, ticket: u64) -> Vec<Value> {
        self.conversations_of(ticket)
            .into_iter()
            .filter(|c| c["source"] == 2)
            .collect()
    }

    pub fn ticket_json(&self, ticket: u64) -> Option<Value> {
        let d = self.desk();
        d.tickets.get(&ticket).map(|t| d.ticket_json(t))
    }

    /// The tickets whose requester has this e-mail.
    pub fn tickets_of(&self, email: &str) -> Vec<Value> {
        let d = self.desk();
        d.tickets
            .values()
            .filter(|t| {
                d.contacts
                    .get(&t.requester_id)
                    .is_some_and(|c| c.email == email)
            })
            .map(|t| d.ticket_json(t))
            .collect()
    }

    pub fn notifications(&self) -> Vec<Notification> {
        self.desk().notifications.clone()
    }
}

impl Desk {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn ticket_json(&self, t: &FTicket) -> Value {
        json!({
            "id": t.id,
            "subject": t.subject,
            "description": t.description,
            "description_text": text_of_html(&t.description),
            "status": t.status,
            "priority": t.priority,
            "source": t.source,
            "requester_id": t.requester_id,
            "group_id": t.group_id,
            "responder_id": null,
            "tags": t.tags,
            "custom_fields": t.custom_fields,
            "spam": t.spam,
            "created_at": time(t.created_at),
            "updated_at": time(t.updated_at),
        })
    }

    fn contact_by_email(&self, email: &str) -> Option<&FContact> {
        self.contacts
            .values()
            .find(|c| c.email.eq_ignore_ascii_case(email))
    }

    fn email_of(&self, contact: u64) -> String {
        self.contacts
            .get(&contact)
            .map(|c| c.email.clone())
            .unwrap_or_default()
    }
}

fn conv_json(c: &FConv) -> Value {
    json!({
        "id": c.id,
        "ticket_id": c.ticket_id,
        "body": c.body,
        "body_text": c.body_text,
        "private": c.private,
        "incoming": c.incoming,
        "source": c.source,
        "user_id": c.user_id,
        "support_email": null,
        "to_emails": [],
        "created_at": time(c.created_at),
        "updated_at": time(c.created_at),
        "attachments": [],
    })
}

// ---------------------------------------------------------------- auth and rate

fn basic_user(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.trim().strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    Some(
        text.split_once(':')
            .map_or(text.clone(), |(u, _)| u.to_owned()),
    )
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

fn add_rate_headers(h: &mut HeaderMap, total: u32, remaining: u32, used: u32) {
    h.insert("x-ratelimit-total", HeaderValue::from(total));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("x-ratelimit-used-currentrequest", HeaderValue::from(used));
}

/// Counts the request against the minute's budget (refused ones too, as
/// Freshdesk does), then checks the key and the 403 switches.
async fn auth_and_rate(State(desk): Shared, req: Request, next: Next) -> Response {
    let (total, remaining) = {
        let mut d = lock(&desk);
        if req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p.starts_with("api_key=") || p.starts_with("key="))
        }) {
            d.key_in_query += 1;
        }
        let (total, remaining) = match d.rate {
            None => (u32::MAX / 2, u32::MAX / 2),
            Some((limit, window)) => {
                let now = Instant::now();
                let start = match d.window_start {
                    Some(s) if now.duration_since(s) < window => s,
                    _ => {
                        d.used = 0;
                        d.window_start = Some(now);
                        now
                    }
                };
                if d.used >= limit {
                    d.rate_limited += 1;
                    let left = window.saturating_sub(now.duration_since(start));
                    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                    let mut resp = json_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limit_exceeded",
                        "You have exceeded the limit of requests per minute",
                    );
                    add_rate_headers(resp.headers_mut(), limit, 0, 1);
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
                    return resp;
                }
                d.used += 1;
                (limit, limit - d.used)
            }
        };
        if basic_user(req.headers()).as_deref() != Some(d.key.as_str()) {
            let mut resp = json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                INVALID_CREDENTIALS,
            );
            add_rate_headers(resp.headers_mut(), total, remaining, 1);
            return resp;
        }
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        if d.forbidden
            .iter()
            .any(|(m, p)| (m == "*" || *m == method) && path.starts_with(p.as_str()))
        {
            let mut resp = json_error(StatusCode::FORBIDDEN, "access_denied", ACCESS_DENIED);
            add_rate_headers(resp.headers_mut(), total, remaining, 1);
            return resp;
        }
        (total, remaining)
    };
    let mut resp = next.run(req).await;
    add_rate_headers(resp.headers_mut(), total, remaining, 1);
    resp
}

// ---------------------------------------------------------------- paging

struct Paging {
    page: usize,
    per_page: usize,
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn paging(q: &[(String, String)]) -> Result<Paging, Box<Response>> {
    let num = |k: &str, default: usize| -> Result<usize, Box<Response>> {
        match param(q, k) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(Box::new(validation(vec![(
                    k,
                    "It should be a Positive Integer",
                    "invalid_value",
                )]))),
            },
        }
    };
    let page = num("page", 1)?;
    let per_page = num("per_page", 30)?;
    if per_page > 100 {
        return Err(Box::new(validation(vec![(
            "per_page",
            "It should be a Positive Integer less than or equal to 100",
            "invalid_value",
        )])));
    }
    Ok(Paging { page, per_page })
}

/// One page of `items`, with a `Link` to the next while more remain.
fn paged(items: Vec<Value>, p: &Paging, path: &str, uri: &Uri) -> Response {
    let start = (p.page - 1).saturating_mul(p.per_page);
    let more = items.len() > start.saturating_add(p.per_page);
    let page: Vec<Value> = items.into_iter().skip(start).take(p.per_page).collect();
    let mut resp = axum::Json(Value::Array(page)).into_response();
    if more {
        let mut q: Vec<(String, String)> = query_pairs(uri)
            .into_iter()
            .filter(|(k, _)| k != "page")
            .collect();
        q.push(("page".into(), (p.page + 1).to_string()));
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        let link = format!("<{LINK_HOST}{path}?{qs}>; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

// ---------------------------------------------------------------- routes

async fn agent_me(State(desk): Shared) -> Response {
    let d = lock(&desk);
    axum::Json(json!({
        "id": d.agent_id,
        "available": true,
        "occasional": false,
        "ticket_scope": d.ticket_scope,
        "contact": {"name": "Agent colisync", "email": "agent@yourshop.example"},
    }))
    .into_response()
}

async fn list_groups(State(desk): Shared, uri: Uri) -> Response {
    let q = query_pairs(&uri);
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let d = lock(&desk);
    let items = d
        .groups
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "description": null, "auto_ticket_assign": false}))
        .collect();
    paged(items, &p, "/api/v2/groups", &uri)
}

async fn list_ticket_fields(State(desk): Shared) -> Response {
    let d = lock(&desk);
    let mut fields = vec![
        json!({"id": 1, "name": "requester", "label": "Search a requester", "default": true}),
        json!({"id": 2, "name": "subject", "label": "Subject", "default": true}),
        json!({"id": 3, "name": "status", "label": "Status", "default": true}),
    ];
    for (n, name) in d.ticket_fields.iter().enumerate() {
        fields.push(json!({"id": 100 + n, "name": name, "label": name, "default": false, "type": "custom_text"}));
    }
    axum::Json(Value::Array(fields)).into_response()
}

async fn list_contacts(State(desk): Shared, uri: Uri) -> Response {
    let q = query_pairs(&uri);
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let d = lock(&desk);
    let items = d
        .contacts
        .values()
        .filter(|c| param(&q, "email").is_none_or(|e| c.email.eq_ignore_ascii_case(e)))
        .map(|c| json!({"id": c.id, "name": c.name, "email": c.email, "active": true}))
        .collect();
    paged(items, &p, "/api/v2/contacts", &uri)
}

async fn list_tickets(State(desk): Shared, uri: Uri) -> Response {
    let q = query_pairs(&uri);
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let d = lock(&desk);
    let since = match param(&q, "updated_since") {
        None => d.clock - chrono::Duration::days(30),
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                return validation(vec![(
                    "updated_since",
                    "It should be in the 'valid date time' format",
                    "invalid_value",
                )]);
            }
        },
    };
    // Without updated_since, creation in the last 30 days decides.
    let by_creation = param(&q, "updated_since").is_none();
    let requester = match (param(&q, "requester_id"), param(&q, "email")) {
        (Some(r), _) => match r.parse::<u64>() {
            Ok(r) => Some(r),
            Err(_) => {
                return validation(vec![(
                    "requester_id",
                    "It should be a Positive Integer",
                    "invalid_value",
                )]);
            }
        },
        (None, Some(e)) => match d.contact_by_email(e) {
            Some(c) => Some(c.id),
            None => {
                return validation(vec![(
                    "email",
                    "There is no contact matching the given email",
                    "invalid_value",
                )]);
            }
        },
        (None, None) => None,
    };
    let order_by = param(&q, "order_by").unwrap_or("created_at");
    if !["created_at", "updated_at", "due_by", "status"].contains(&order_by) {
        return validation(vec![(
            "order_by",
            "It should be one of these values: 'created_at,due_by,updated_at,status'",
            "invalid_value",
        )]);
    }
    let desc = match param(&q, "order_type").unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        _ => {
            return validation(vec![(
                "order_type",
                "It should be one of these values: 'asc,desc'",
                "invalid_value",
            )]);
        }
    };
    let mut tickets: Vec<&FTicket> = d
        .tickets
        .values()
        .filter(|t| !t.spam && !t.deleted)
        .filter(|t| requester.is_none_or(|r| t.requester_id == r))
        .filter(|t| {
            if by_creation {
                t.created_at >= since
            } else {
                t.updated_at >= since
            }
        })
        .collect();
    tickets.sort_by_key(|t| match order_by {
        "updated_at" => (t.updated_at, t.id),
        "status" => (
            DateTime::<Utc>::from_timestamp(t.status as i64, 0).unwrap_or_default(),
            t.id,
        ),
        _ => (t.created_at, t.id),
    });
    if desc {
        tickets.reverse();
    }
    let items = tickets.into_iter().map(|t| d.ticket_json(t)).collect();
    paged(items, &p, "/api/v2/tickets", &uri)
}

fn ticket_id(raw: &str) -> Option<u64> {
    raw.parse().ok()
}

async fn get_ticket(State(desk): Shared, Path(id): Path<String>) -> Response {
    let d = lock(&desk);
    match ticket_id(&id).and_then(|id| d.tickets.get(&id)) {
        Some(t) if !t.deleted => axum::Json(d.ticket_json(t)).into_response(),
        _ => not_found(),
    }
}

fn parse_json(body: &Bytes) -> Result<Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(validation(vec![(
            "",
            "Request body has invalid json format",
            "invalid_json",
        )]))),
    }
}

/// Checks status, priority, group and custom fields of a create or update.
fn check_ticket_fields(
    d: &Desk,
    m: &Map<String, Value>,
) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut errors = Vec::new();
    if let Some(s) = m.get("status") {
        if !s.as_u64().is_some_and(|s| (2..=5).contains(&s)) {
            errors.push((
                "status",
                "It should be one of these values: '2,3,4,5'",
                "invalid_value",
            ));
        }
    }
    if let Some(p) = m.get("priority") {
        if !p.as_u64().is_some_and(|p| (1..=4).contains(&p)) {
            errors.push((
                "priority",
                "It should be one of these values: '1,2,3,4'",
                "invalid_value",
            ));
        }
    }
    if let Some(g) = m.get("group_id") {
        if !g.is_null() && !g.as_u64().is_some_and(|g| d.groups.contains_key(&g)) {
            errors.push((
                "group_id",
                "There is no group matching the given group_id",
                "invalid_value",
            ));
        }
    }
    if let Some(Value::Object(cf)) = m.get("custom_fields") {
        if cf.keys().any(|k| !d.ticket_fields.contains(k)) {
            errors.push((
                "custom_fields",
                "Unexpected/invalid field in request",
                "invalid_field",
            ));
        }
    }
    errors
}

async fn create_ticket(State(desk): Shared, body: Bytes) -> Response {
    let m = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let mut d = lock(&desk);
    let mut errors = check_ticket_fields(&d, &m);
    let email = m.get("email").and_then(Value::as_str).map(str::to_owned);
    let requester = m.get("requester_id").and_then(Value::as_u64);
    if email.is_none() && requester.is_none() {
        errors.push((
            "requester_id",
            "Please fill at least 1 of email, mobile, phone, requester_id, twitter_id, unique_external_id, facebook_id fields",
            "missing_field",
        ));
    }
    if requester.is_some_and(|r| !d.contacts.contains_key(&r)) {
        errors.push((
            "requester_id",
            "There is no contact matching the given requester_id",
            "invalid_value",
        ));
    }
    if !m.get("subject").is_some_and(Value::is_string) {
        errors.push(("subject", "Mandatory attribute missing", "missing_field"));
    }
    if !m.get("description").is_some_and(Value::is_string) {
        errors.push((
            "description",
            "Mandatory attribute missing",
            "missing_field",
        ));
    }
    if !errors.is_empty() {
        return validation(errors);
    }
    // "If no contact exists with this email address in Freshdesk, it will
    // be added as a new contact."
    let requester_id = match (requester, &email) {
        (Some(r), _) => r,
        (None, Some(e)) => match d.contact_by_email(e) {
            Some(c) => c.id,
            None => {
                let id = d.new_id();
                d.contacts.insert(
                    id,
                    FContact {
                        id,
                        name: e.clone(),
                        email: e.clone(),
                    },
                );
                id
            }
        },
        (None, None) => return validation(vec![("requester_id", "missing", "missing_field")]),
    };
    let id = d.new_id();
    let now = d.clock;
    let s = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let t = FTicket {
        id,
        subject: s("subject"),
        description: s("description"),
        status: m.get("status").and_then(Value::as_u64).unwrap_or(2),
        priority: m.get("priority").and_then(Value::as_u64).unwrap_or(1),
        source: m.get("source").and_then(Value::as_u64).unwrap_or(2),
        requester_id,
        group_id: m.get("group_id").and_then(Value::as_u64),
        tags: m
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        custom_fields: m
            .get("custom_fields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        created_at: now,
        updated_at: now,
        spam: false,
        deleted: false,
    };
    let to = d.email_of(requester_id);
    d.notifications.push(Notification {
        to,
        kind: "ticket created",
        ticket_id: id,
    });
    let json = d.ticket_json(&t);
    d.tickets.insert(id, t);
    (StatusCode::CREATED, axum::Json(json)).into_response()
}

async fn update_ticket(State(desk): Shared, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let mut d = lock(&desk);
    let Some(id) = ticket_id(&id).filter(|id| d.tickets.contains_key(id)) else {
        return not_found();
    };
    let errors = check_ticket_fields(&d, &m);
    if !errors.is_empty() {
        return validation(errors);
    }
    let now = d.clock;
    let Some(t) = d.tickets.get_mut(&id) else {
        return not_found();
    };
    if let Some(g) = m.get("group_id") {
        t.group_id = g.as_u64();
    }
    if let Some(s) = m.get("status").and_then(Value::as_u64) {
        t.status = s;
    }
    if let Some(p) = m.get("priority").and_then(Value::as_u64) {
        t.priority = p;
    }
    t.updated_at = now;
    let t = t.clone();
    axum::Json(d.ticket_json(&t)).into_response()
}

async fn list_conversations(State(desk): Shared, Path(id): Path<String>, uri: Uri) -> Response {
    let q = query_pairs(&uri);
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let d = lock(&desk);
    let Some(id) = ticket_id(&id).filter(|id| d.tickets.contains_key(id)) else {
        return not_found();
    };
    let items = d
        .conversations
        .iter()
        .filter(|c| c.ticket_id == id)
        .map(conv_json)
        .collect();
    paged(
        items,
        &p,
        &format!("/api/v2/tickets/{id}/conversations"),
        &uri,
    )
}

fn add_conversation(d: &mut Desk, ticket: u64, body: &str, private: bool, source: u64) -> FConv {
    let id = d.new_id();
    let c = FConv {
        id,
        ticket_id: ticket,
        body: body.to_owned(),
        body_text: text_of_html(body),
        private,
        incoming: false,
        source,
        user_id: d.agent_id,
        created_at: d.clock,
    };
    d.conversations.push(c.clone());
    let now = d.clock;
    if let Some(t) = d.tickets.get_mut(&ticket) {
        t.updated_at = now;
    }
    c
}

async fn add_note(State(desk): Shared, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let mut d = lock(&desk);
    let Some(id) = ticket_id(&id).filter(|id| d.tickets.contains_key(id)) else {
        return not_found();
    };
    let Some(text) = m
        .get("body")
        .and_then(Value::as_str)
        .filter(|b| !b.trim().is_empty())
    else {
        return validation(vec![(
            "body",
            "Mandatory attribute missing",
            "missing_field",
        )]);
    };
    // Private unless said otherwise.
    let private = m.get("private").and_then(Value::as_bool).unwrap_or(true);
    let c = add_conversation(&mut d, id, text, private, 2);
    if !private {
        let requester = d
            .tickets
            .get(&id)
            .map(|t| t.requester_id)
            .unwrap_or_default();
        let to = d.email_of(requester);
        d.notifications.push(Notification {
            to,
            kind: "public note",
            ticket_id: id,
        });
    }
    if let Some(list) = m.get("notify_emails").and_then(Value::as_array) {
        for e in list.iter().filter_map(Value::as_str) {
            d.notifications.push(Notification {
                to: e.to_owned(),
                kind: "agent notified",
                ticket_id: id,
            });
        }
    }
    (StatusCode::CREATED, axum::Json(conv_json(&c))).into_response()
}

async fn reply(State(desk): Shared, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let mut d = lock(&desk);
    let Some(id) = ticket_id(&id).filter(|id| d.tickets.contains_key(id)) else {
        return not_found();
    };
    let text = m
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let c = add_conversation(&mut d, id, &text, false, 0);
    let requester = d
        .tickets
        .get(&id)
        .map(|t| t.requester_id)
        .unwrap_or_default();
    let to = d.email_of(requester);
    d.notifications.push(Notification {
        to,
        kind: "reply",
        ticket_id: id,
    });
    (StatusCode::CREATED, axum::Json(conv_json(&c))).into_response()
}

async fn outbound_email(State(desk): Shared, body: Bytes) -> Response {
    let m = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let mut d = lock(&desk);
    let to = m
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = d.new_id();
    d.notifications.push(Notification {
        to,
        kind: "outbound email",
        ticket_id: id,
    });
    (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response()
}

async fn edit_conversation(State(desk): Shared, Path(id): Path<String>, body: Bytes) -> Response {
    let m = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let mut d = lock(&desk);
    let Some(c) = ticket_id(&id).and_then(|id| d.conversations.iter_mut().find(|c| c.id == id))
    else {
        return not_found();
    };
    if let Some(b) = m.get("body").and_then(Value::as_str) {
        c.body = b.to_owned();
        c.body_text = text_of_html(b);
    }
    axum::Json(conv_json(c)).into_response()
}

async fn delete_conversation(State(desk): Shared, Path(id): Path<String>) -> Response {
    let mut d = lock(&desk);
    let Some(id) = ticket_id(&id) else {
        return not_found();
    };
    let before = d.conversations.len();
    d.conversations.retain(|c| c.id != id);
    if d.conversations.len() == before {
        not_found()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

// ---------------------------------------------------------------- search

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Term(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Eq,
    Ge,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Null,
    Num(i64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cond(String, Cmp, Lit),
}

const SEARCH_FIELDS: &[&str] = &[
    "status",
    "priority",
    "group_id",
    "agent_id",
    "tag",
    "type",
    "due_by",
    "fr_due_by",
    "created_at",
    "updated_at",
];

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            _ => {
                let mut word = String::new();
                let mut quoted = false;
                while i < chars.len() {
                    let c = chars[i];
                    if c == '\'' {
                        quoted = !quoted;
                    } else if !quoted && (c == ' ' || c == '(' || c == ')') {
                        break;
                    }
                    word.push(c);
                    i += 1;
                }
                if quoted {
                    return Err("unterminated string".into());
                }
                out.push(match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    _ => Tok::Term(word),
                });
            }
        }
    }
    Ok(out)
}

fn parse_or(toks: &[Tok], pos: &mut usize) -> Result<Expr, String> {
    let mut left = parse_and(toks, pos)?;
    while toks.get(*pos) == Some(&Tok::Or) {
        *pos += 1;
        let right = parse_and(toks, pos)?;
        left = Expr::Or(Box::new(left), Box::new(right));
    }
    Ok(left)
}

fn parse_and(toks: &[Tok], pos: &mut usize) -> Result<Expr, String> {
    let mut left = parse_primary(toks, pos)?;
    while toks.get(*pos) == Some(&Tok::And) {
        *pos += 1;
        let right = parse_primary(toks, pos)?;
        left = Expr::And(Box::new(left), Box::new(right));
    }
    Ok(left)
}

fn parse_primary(toks: &[Tok], pos: &mut usize) -> Result<Expr, String> {
    match toks.get(*pos) {
        Some(Tok::Open) => {
            *pos += 1;
            let e = parse_or(toks, pos)?;
            if toks.get(*pos) != Some(&Tok::Close) {
                return Err("unbalanced parentheses".into());
            }
            *pos += 1;
            Ok(e)
        }
        Some(Tok::Term(t)) => {
            *pos += 1;
            let (field, rest) = t.split_once(':').ok_or("a term without `:`")?;
            let (cmp, value) = match rest.as_bytes().first() {
                Some(b'>') => (Cmp::Ge, &rest[1..]),
                Some(b'<') => (Cmp::Le, &rest[1..]),
                _ => (Cmp::Eq, rest),
            };
            let lit = if value == "null" {
                Lit::Null
            } else if let Some(s) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Lit::Str(s.to_owned())
            } else if let Ok(n) = value.parse::<i64>() {
                Lit::Num(n)
            } else {
                return Err(format!(
                    "the value of {field} is neither a number, a quoted string nor null"
                ));
            };
            Ok(Expr::Cond(field.to_owned(), cmp, lit))
        }
        _ => Err("a condition was expected".into()),
    }
}

fn fields_of(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            fields_of(a, out);
            fields_of(b, out);
        }
        Expr::Cond(f, _, _) => {
            out.insert(f.clone());
        }
    }
}

fn eval(e: &Expr, t: &FTicket) -> bool {
    match e {
        Expr::And(a, b) => eval(a, t) && eval(b, t),
        Expr::Or(a, b) => eval(a, t) || eval(b, t),
        Expr::Cond(field, cmp, lit) => {
            let value: Option<Value> = match field.as_str() {
                "status" => Some(json!(t.status)),
                "priority" => Some(json!(t.priority)),
                "group_id" => t.group_id.map(|g| json!(g)),
                "tag" => {
                    return match lit {
                        Lit::Str(s) => t.tags.iter().any(|x| x == s),
                        Lit::Null => t.tags.is_empty(),
                        Lit::Num(_) => false,
                    };
                }
                "created_at" => Some(json!(t.created_at.format("%Y-%m-%d").to_string())),
                "updated_at" => Some(json!(t.updated_at.format("%Y-%m-%d").to_string())),
                f => t.custom_fields.get(f).filter(|v| !v.is_null()).cloned(),
            };
            match (value, lit) {
                (None, Lit::Null) => true,
                (None, _) | (Some(_), Lit::Null) => false,
                (Some(v), Lit::Num(n)) => v.as_i64().is_some_and(|x| match cmp {
                    Cmp::Eq => x == *n,
                    Cmp::Ge => x >= *n,
                    Cmp::Le => x <= *n,
                }),
                (Some(v), Lit::Str(s)) => {
                    let x = match &v {
                        Value::String(x) => x.clone(),
                        other => other.to_string(),
                    };
                    match cmp {
                        Cmp::Eq => x.eq_ignore_ascii_case(s),
                        Cmp::Ge => x.as_str() >= s.as_str(),
                        Cmp::Le => x.as_str() <= s.as_str(),
                    }
                }
            }
        }
    }
}

async fn search(State(desk): Shared, uri: Uri) -> Response {
    let q = query_pairs(&uri);
    let page = match param(&q, "page").map(str::parse::<u32>) {
        None => 1,
        Some(Ok(p)) if (1..=10).contains(&p) => p,
        Some(_) => {
            return validation(vec![(
                "page",
                "It should be a Positive Integer less than or equal to 10",
                "invalid_value",
            )]);
        }
    };
    let Some(raw) = param(&q, "query") else {
        return validation(vec![(
            "query",
            "Mandatory attribute missing",
            "missing_field",
        )]);
    };
    let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| raw.len() >= 2)
    else {
        return validation(vec![(
            "query",
            "Query should be enclosed in double quotes",
            "invalid_value",
        )]);
    };
    if inner.chars().count() > 512 {
        return validation(vec![(
            "query",
            "It should not be more than 512 characters",
            "invalid_value",
        )]);
    }
    let expr = match tokenize(inner).and_then(|toks| {
        let mut pos = 0;
        let e = parse_or(&toks, &mut pos)?;
        if pos != toks.len() {
            return Err("unexpected text after the query".into());
        }
        Ok(e)
    }) {
        Ok(e) => e,
        Err(_) => return validation(vec![("query", "Given query is invalid", "invalid_value")]),
    };
    let d = lock(&desk);
    let mut fields = BTreeSet::new();
    fields_of(&expr, &mut fields);
    if fields
        .iter()
        .any(|f| !SEARCH_FIELDS.contains(&f.as_str()) && !d.ticket_fields.contains(f))
    {
        return validation(vec![(
            "query",
            "Unexpected/invalid field in request",
            "invalid_field",
        )]);
    }
    let source = if d.search_lag { &d.index } else { &d.tickets };
    let mut hits: Vec<&FTicket> = source
        .values()
        .filter(|t| !t.spam && !t.deleted && eval(&expr, t))
        .collect();
    hits.sort_by_key(|t| std::cmp::Reverse((t.updated_at, t.id)));
    let total = hits.len();
    let results: Vec<Value> = hits
        .into_iter()
        .skip((page as usize - 1) * 30)
        .take(30)
        .map(|t| d.ticket_json(t))
        .collect();
    axum::Json(json!({"results": results, "total": total})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_syntax() {
        let toks = tokenize("cf_order:'100 23' AND (status:2 OR status:3)").expect("tokens");
        let mut pos = 0;
        let e = parse_or(&toks, &mut pos).expect("parse");
        assert_eq!(pos, toks.len());
        let mut f = BTreeSet::new();
        fields_of(&e, &mut f);
        assert_eq!(f.into_iter().collect::<Vec<_>>(), ["cf_order", "status"]);
        assert!(tokenize("cf_order:'open").is_err());
        let toks = tokenize("(status:2").expect("tokens");
        assert!(parse_or(&toks, &mut 0).is_err());
    }

    #[test]
    fn html_to_text() {
        assert_eq!(
            text_of_html("<div>This is a private note</div>"),
            "This is a private note"
        );
        assert_eq!(
            text_of_html("<p>a &lt;b&gt;</p><script>alert(1)</script><p>x&amp;y</p>"),
            "a <b>\nx&y"
        );
    }
}
