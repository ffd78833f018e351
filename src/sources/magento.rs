//! Magento 2 REST client: the incremental pull of orders with their
//! shipments (tracks) and invoices, and the lookup of one order for
//! `colisync explain`.
//!
//! Sits at the "pull" edge of the pipeline. It turns Magento's JSON into
//! domain [`Order`]s and nothing else: the sync engine owns the cursor and
//! stores what comes back.
//!
//! How Magento really behaves (API-NOTES.md) and what this module does
//! about it:
//! - Auth is a Bearer integration token or OAuth 1.0a HMAC-SHA256
//!   ([`crate::sources::oauth1`]); every attempt (retries included) is signed
//!   afresh, over the exact URL sent, because nonces must not repeat: the
//!   signer is an [`http::Signer`] the shared retry loop calls per attempt.
//! - Reads are retried by the shared loop ([`ApiClient::send_decoded`]),
//!   truncated bodies included; 400, 401/403 and 404 are read as answers,
//!   never retried.
//! - Past the last page Magento returns the last page again: paging stops at
//!   `currentPage × pageSize ≥ total_count` and results are de-duplicated by
//!   `entity_id`. Sorting by `updated_at` then `entity_id` keeps pages
//!   stable; the incremental pull pages by key (`updated_at ≥` the last one
//!   seen), so that an order changed during the pull cannot hide another.
//! - Timestamps are zone-less UTC `YYYY-MM-DD HH:MM:SS`.
//! - Null fields are omitted: decoding goes through `serde_json::Value` and
//!   treats every field as optional. An order whose data cannot be used (a
//!   malformed timestamp, no creation time) is reported in
//!   [`PullResult::rejected`] and the rest of the pull goes on.
//! - Shipments and invoices are fetched in batches with `in` filters on
//!   `order_id`, never one request per order; `GET /orders/{id}` only for
//!   orders whose list entry lacks `extension_attributes.shipping_assignments`.
//!
//! Errors never carry a secret nor a URL: credentials travel in headers and
//! transport errors are stripped of their URL.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Timelike, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::config::{MagentoAuth, MagentoConfig};
use crate::domain::{Customer, Item, Order, OrderState, Shipment, StatusChange, Track};
use crate::http::{self, ApiClient, ApiSettings, Call, HttpError, Idempotent, RetryPolicy, Signer};
use crate::sources::oauth1::{self, Credentials};

/// Magento's timestamp format, always UTC.
pub const MAGENTO_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The API's name in errors and logs.
const API: &str = "magento";

/// How many order ids go into one `in` filter of `/shipments` or `/invoices`.
pub const ID_BATCH: usize = 100;

/// Parses a Magento timestamp (`YYYY-MM-DD HH:MM:SS`, UTC).
pub fn parse_magento_time(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    NaiveDateTime::parse_from_str(s.trim(), MAGENTO_TIME_FORMAT).map(|n| Utc.from_utc_datetime(&n))
}

/// Formats an instant the way Magento stores and filters them.
pub fn format_magento_time(t: DateTime<Utc>) -> String {
    t.format(MAGENTO_TIME_FORMAT).to_string()
}

/// Renders Magento's error body `{"message": "… %1 … %name …",
/// "parameters": [..] or {..}}` with the parameters substituted. A body that
/// is not that JSON is returned as text (truncated), an empty one as "".
pub fn render_error_body(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return text.chars().take(200).collect::<String>().trim().to_owned();
    };
    let Some(message) = v.get("message").and_then(Value::as_str) else {
        return v.to_string().chars().take(200).collect();
    };
    let mut pairs: Vec<(String, String)> = match v.get("parameters") {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("%{}", i + 1), scalar_text(p)))
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, p)| (format!("%{k}"), scalar_text(p)))
            .collect(),
        _ => Vec::new(),
    };
    // Longest placeholder first, so that `%1` does not eat the start of `%10`.
    pairs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    let mut out = message.to_owned();
    for (k, p) in pairs {
        out = out.replace(&k, &p);
    }
    out
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why a Magento call failed. Never holds a secret nor a URL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MagentoError {
    /// Bad token or signature, replayed nonce, or missing ACL (401/403).
    /// Fatal: retrying cannot help.
    #[error("Magento refused the credentials (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("Magento: not found (404): {message}")]
    NotFound { message: String },
    #[error("Magento rejected the request (400, bad search criteria?): {message}")]
    BadRequest { message: String },
    /// Transport errors, timeouts, 5xx, 429 (after the retries allowed).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A 2xx whose body is not the JSON expected (truncated, HTML…).
    #[error("Magento's answer to {what} is not the expected JSON: {reason}")]
    Decode { what: &'static str, reason: String },
    /// The one order asked for cannot be decoded.
    #[error("{0}")]
    Order(OrderDecodeError),
}

impl MagentoError {
    /// Whether another attempt of the same read may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            MagentoError::Http(e) => http::is_retryable(e, Idempotent::Yes),
            // A truncated body: the read can simply be made again.
            MagentoError::Decode { .. } => true,
            _ => false,
        }
    }

    /// 401: stop the pass, tell the admin.
    pub fn is_fatal(&self) -> bool {
        matches!(self, MagentoError::Unauthorized { .. })
    }
}

/// One order skipped because a field could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDecodeError {
    pub entity_id: Option<u64>,
    pub increment_id: Option<String>,
    /// Path of the field, e.g. `created_at`, `shipments[7].created_at`.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for OrderDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.increment_id, self.entity_id) {
            (Some(inc), Some(id)) => write!(f, "order {inc} (entity {id})")?,
            (Some(inc), None) => write!(f, "order {inc}")?,
            (None, Some(id)) => write!(f, "order entity {id}")?,
            (None, None) => write!(f, "an order without id")?,
        }
        write!(f, ": field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for OrderDecodeError {}

/// What one incremental pull brings back.
#[derive(Debug, Clone, Default)]
pub struct PullResult {
    /// Changed orders, decoded, with shipments and invoices, sorted by
    /// `(updated_at, entity_id)`.
    pub orders: Vec<Order>,
    /// Orders that could not be decoded; the pull went on without them.
    pub rejected: Vec<OrderDecodeError>,
    /// The greatest `updated_at` seen, rejected orders included (their data
    /// is bad, re-pulling them would not fix it): the caller's next cursor.
    pub max_updated_at: Option<DateTime<Utc>>,
}

/// Which of the two auth modes is configured; the credentials themselves
/// live in the HTTP layer (a default header or the [`OAuth1Signer`]).
#[derive(Debug, Clone, Copy)]
enum AuthMode {
    Bearer,
    OAuth1,
}

/// Signs each attempt with OAuth 1.0a: a fresh nonce and timestamp over the
/// method and the full URL the shared layer is about to send.
struct OAuth1Signer(Credentials);

impl Signer for OAuth1Signer {
    fn sign(&self, method: &Method, url: &Url) -> Result<HeaderMap, String> {
        let header = oauth1::sign_request(method.as_str(), url, &self.0);
        let value = HeaderValue::from_str(&header)
            .map_err(|_| "credentials are not a valid header value".to_owned())?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }
}

/// The Magento 2 REST client. Cheap to share behind an `Arc`.
pub struct MagentoClient {
    /// The shared HTTP layer: retries, timeouts, and the credentials (a
    /// Bearer default header, or the OAuth signer called per attempt).
    api: ApiClient,
    /// `{base_url}/rest/V1/`, the root every path is relative to (with a
    /// trailing slash). Kept for `Debug`.
    rest: Url,
    auth: AuthMode,
    page_size: u32,
    overlap: Duration,
    lookback_days: u32,
}

impl fmt::Debug for MagentoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MagentoClient")
            .field("rest", &http::redact_url(&self.rest))
            .field(
                "auth",
                &match self.auth {
                    AuthMode::Bearer => "bearer",
                    AuthMode::OAuth1 => "oauth1",
                },
            )
            .finish_non_exhaustive()
    }
}

/// One `searchCriteria`: filter groups (AND) of filters (OR), sorts, page.
#[derive(Debug, Clone, Default)]
struct Search {
    groups: Vec<Vec<(String, String, &'static str)>>,
    sorts: Vec<(&'static str, &'static str)>,
    page_size: u32,
}

impl Search {
    fn filter(mut self, field: &str, value: impl Into<String>, condition: &'static str) -> Self {
        self.groups
            .push(vec![(field.to_owned(), value.into(), condition)]);
        self
    }

    fn sort(mut self, field: &'static str, direction: &'static str) -> Self {
        self.sorts.push((field, direction));
        self
    }

    /// The query pairs Magento expects, snake_case as the docs spell it.
    fn query(&self, page: u32) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (f, (field, value, cond)) in group.iter().enumerate() {
                let p = format!("searchCriteria[filter_groups][{g}][filters][{f}]");
                q.push((format!("{p}[field]"), field.clone()));
                q.push((format!("{p}[value]"), value.clone()));
                q.push((format!("{p}[condition_type]"), (*cond).to_owned()));
            }
        }
        for (i, (field, dir)) in self.sorts.iter().enumerate() {
            q.push((
                format!("searchCriteria[sortOrders][{i}][field]"),
                (*field).to_owned(),
            ));
            q.push((
                format!("searchCriteria[sortOrders][{i}][direction]"),
                (*dir).to_owned(),
            ));
        }
        q.push((
            "searchCriteria[pageSize]".into(),
            self.page_size.to_string(),
        ));
        q.push(("searchCriteria[currentPage]".into(), page.to_string()));
        q
    }
}

impl MagentoClient {
    pub fn new(config: &MagentoConfig) -> Result<Self, MagentoError> {
        let mut base = config.base_url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let rest = base.join("rest/V1/").map_err(|e| {
            MagentoError::Http(HttpError::Invalid {
                api: API,
                method: String::new(),
                path: String::new(),
                detail: format!("bad base URL: {e}"),
            })
        })?;
        let mut settings = ApiSettings::new(API, rest.clone());
        settings.timeout = config.timeout;
        settings
            .default_headers
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        let auth = match &config.auth {
            MagentoAuth::Bearer(token) => {
                let value =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                        MagentoError::Http(HttpError::Invalid {
                            api: API,
                            method: String::new(),
                            path: String::new(),
                            detail: "credentials are not a valid header value".into(),
                        })
                    })?;
                settings.default_headers.insert(AUTHORIZATION, value);
                AuthMode::Bearer
            }
            MagentoAuth::OAuth1 {
                consumer_key,
                consumer_secret,
                access_token,
                access_token_secret,
            } => {
                settings.signer = Some(Arc::new(OAuth1Signer(Credentials {
                    consumer_key: consumer_key.clone(),
                    consumer_secret: consumer_secret.clone(),
                    access_token: access_token.clone(),
                    access_token_secret: access_token_secret.clone(),
                })));
                AuthMode::OAuth1
            }
        };
        let api = ApiClient::new(settings)?;
        Ok(MagentoClient {
            api,
            rest,
            auth,
            page_size: config.page_size.max(1),
            overlap: config.overlap,
            lookback_days: config.lookback_days,
        })
    }

    /// Replaces the retry schedule (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.api = self.api.with_retry(retry);
        self
    }

    /// Where the first pull starts: `lookback_days` before `now`.
    pub fn initial_cursor(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.lookback_days))
    }

    /// Orders whose `updated_at` is at or after `since` minus the configured
    /// overlap (Magento has one-second timestamps: an order updated in the
    /// same second as the cursor must not be missed), with their shipments
    /// and invoices.
    pub async fn orders_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<PullResult, MagentoError> {
        let overlap = chrono::Duration::from_std(self.overlap).unwrap_or_default();
        let from = since - overlap;
        let from = from.with_nanosecond(0).unwrap_or(from);
        let raw = self.orders_since(from).await?;
        let max_updated_at = raw
            .iter()
            .filter_map(|o| o.get("updated_at").and_then(Value::as_str))
            .filter_map(|s| parse_magento_time(s).ok())
            .max();
        let (mut orders, rejected) = self.complete(raw).await?;
        orders.sort_by_key(|o| (o.updated_at, o.entity_id));
        Ok(PullResult {
            orders,
            rejected,
            max_updated_at,
        })
    }

    /// One order by the number people use, for `colisync explain`.
    pub async fn order_by_increment_id(
        &self,
        increment_id: &str,
    ) -> Result<Option<Order>, MagentoError> {
        let search = Search {
            page_size: 10,
            ..Search::default()
        }
        .filter("increment_id", increment_id, "eq");
        let raw = self.search_all("orders", "orders", &search).await?;
        let (orders, mut rejected) = self.complete(raw).await?;
        if let Some(err) = rejected.pop() {
            return Err(MagentoError::Order(err));
        }
        Ok(orders.into_iter().find(|o| o.increment_id == increment_id))
    }

    /// Adds shipments, invoices and (where missing) the shipping method to
    /// raw list entries, and decodes them.
    async fn complete(
        &self,
        mut raw: Vec<Value>,
    ) -> Result<(Vec<Order>, Vec<OrderDecodeError>), MagentoError> {
        // The list endpoint may omit extension attributes: ask for those
        // orders one by one (the only per-order request, and only then).
        for entry in raw.iter_mut() {
            if has_shipping_assignments(entry) {
                continue;
            }
            let Some(id) = entry.get("entity_id").and_then(as_u64) else {
                continue;
            };
            match self.get_json("order", &format!("orders/{id}"), &[]).await {
                Ok(full) if full.is_object() => *entry = full,
                Ok(_) => {}
                // Deleted between the two calls: keep the list entry.
                Err(MagentoError::NotFound { .. }) => {}
                // Anything else fails the whole pull: the caller must not
                // move its cursor past an order it could not read.
                Err(e) => return Err(e),
            }
        }
        let ids: Vec<u64> = raw
            .iter()
            .filter_map(|o| o.get("entity_id").and_then(as_u64))
            .collect();
        let shipments = self.related("shipments", &ids).await?;
        let invoices = self.related("invoices", &ids).await?;

        let mut orders = Vec::new();
        let mut rejected = Vec::new();
        for entry in &raw {
            let id = entry.get("entity_id").and_then(as_u64);
            let empty = Vec::new();
            let ships = id.and_then(|id| shipments.get(&id)).unwrap_or(&empty);
            let invs = id.and_then(|id| invoices.get(&id)).unwrap_or(&empty);
            match decode_order(entry, ships, invs) {
                Ok(order) => orders.push(order),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping a Magento order that cannot be decoded");
                    rejected.push(e)
                }
            }
        }
        Ok((orders, rejected))
    }

    /// Shipments or invoices of the given orders, by order id, fetched with
    /// `order_id in (…)` in batches of [`ID_BATCH`], each batch paged.
    async fn related(
        &self,
        endpoint: &'static str,
        ids: &[u64],
    ) -> Result<HashMap<u64, Vec<Value>>, MagentoError> {
        let mut by_order: HashMap<u64, Vec<Value>> = HashMap::new();
        for chunk in ids.chunks(ID_BATCH) {
            let list = chunk
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let search = Search {
                page_size: self.page_size.max(ID_BATCH as u32),
                ..Search::default()
            }
            .filter("order_id", list, "in")
            .sort("entity_id", "ASC");
            for item in self.search_all(endpoint, endpoint, &search).await? {
                match item.get("order_id").and_then(as_u64) {
                    Some(order_id) => by_order.entry(order_id).or_default().push(item),
                    None => tracing::warn!(endpoint, "Magento entry without order_id ignored"),
                }
            }
        }
        Ok(by_order)
    }

    /// Every order updated at or after `from`, paged by key: after a page,
    /// the next request asks again from the page's greatest `updated_at`
    /// (page 1); only a page whose orders all share one `updated_at` leads
    /// to the next page number instead. With page numbers alone, an order saved in
    /// the admin while the pull pages through the list jumps to its end,
    /// every later order moves up one place, and the one that crosses into
    /// the page already read was never seen - while the cursor moved past
    /// it. By key, a move can only bring an order back (de-duplicated).
    /// Stops like [`Self::search_all`].
    async fn orders_since(&self, from: DateTime<Utc>) -> Result<Vec<Value>, MagentoError> {
        let mut out: Vec<Value> = Vec::new();
        let mut index: HashMap<u64, usize> = HashMap::new();
        let mut from = from;
        let mut page: u32 = 1;
        loop {
            let search = Search {
                page_size: self.page_size,
                ..Search::default()
            }
            .filter("updated_at", format_magento_time(from), "gteq")
            .sort("updated_at", "ASC")
            .sort("entity_id", "ASC");
            let body = self
                .get_json("orders", "orders", &search.query(page))
                .await?;
            let items = page_items("orders", &body)?;
            let got = items.len();
            let times: Vec<DateTime<Utc>> = items
                .iter()
                .filter_map(|o| o.get("updated_at").and_then(Value::as_str))
                .filter_map(|s| parse_magento_time(s).ok())
                .collect();
            let (first, last) = (times.iter().min(), times.iter().max());
            let fresh = merge_page(&mut out, &mut index, items);
            if got == 0 || page_is_last(&body, page, search.page_size, got) {
                break;
            }
            match (first, last) {
                // Ask again from the page's last instant.
                (Some(first), Some(&last)) if last > *first && last > from => {
                    from = last;
                    page = 1;
                }
                // A page with nothing new or changed is the last page
                // served again: a wrong count must not loop forever.
                _ if fresh == 0 => break,
                // A whole page in one second: on to the next page number.
                _ => page += 1,
            }
        }
        Ok(out)
    }

    /// Every item of a search, paging until `currentPage × pageSize ≥
    /// total_count` (past the end Magento repeats the last page), without
    /// duplicates by `entity_id` (a later copy replaces an earlier one: it
    /// is the fresher).
    async fn search_all(
        &self,
        what: &'static str,
        endpoint: &str,
        search: &Search,
    ) -> Result<Vec<Value>, MagentoError> {
        let mut out: Vec<Value> = Vec::new();
        let mut index: HashMap<u64, usize> = HashMap::new();
        let mut page: u32 = 1;
        loop {
            let body = self.get_json(what, endpoint, &search.query(page)).await?;
            let items = page_items(what, &body)?;
            let got = items.len();
            let fresh = merge_page(&mut out, &mut index, items);
            // A page with nothing new is the last page served again: a
            // wrong or missing count must not make this loop forever.
            if got == 0 || fresh == 0 || page_is_last(&body, page, search.page_size, got) {
                break;
            }
            page += 1;
        }
        Ok(out)
    }

    /// A GET with retries on what is safe to retry (a read: 5xx, 429,
    /// timeouts, resets, truncated bodies), each attempt signed afresh by
    /// the shared layer.
    async fn get_json(
        &self,
        what: &'static str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Value, MagentoError> {
        let mut call = Call::get(path)
            .accept(400)
            .accept(401)
            .accept(403)
            .accept(404);
        for (k, v) in query {
            call = call.query(k.clone(), v.clone());
        }
        self.api
            .send_decoded(
                &call,
                |reply| decode_reply(what, &reply),
                MagentoError::is_retryable,
            )
            .await
    }
}

/// One Magento answer: the JSON of a 2xx, or the error its status means.
fn decode_reply(what: &'static str, reply: &http::Reply) -> Result<Value, MagentoError> {
    let message = || render_error_body(&reply.body);
    match reply.status {
        401 | 403 => Err(MagentoError::Unauthorized {
            status: reply.status,
            message: message(),
        }),
        404 => Err(MagentoError::NotFound { message: message() }),
        400 => Err(MagentoError::BadRequest { message: message() }),
        _ => serde_json::from_slice(&reply.body).map_err(|e| MagentoError::Decode {
            what,
            reason: match http::decode_error(API, what, &e) {
                HttpError::Decode { detail, .. } => detail,
                other => other.to_string(),
            },
        }),
    }
}

/// The `items` of a search answer (absent or null: none).
fn page_items(what: &'static str, body: &Value) -> Result<Vec<Value>, MagentoError> {
    match body.get("items") {
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(MagentoError::Decode {
            what,
            reason: "`items` is not a list".into(),
        }),
    }
}

/// Adds a page's items to `out`, de-duplicated by `entity_id` (a later copy
/// replaces an earlier one: it is the fresher); returns how many were new
/// or changed since their earlier copy (an order saved during the pull is
/// news, the last page served again is not).
fn merge_page(out: &mut Vec<Value>, index: &mut HashMap<u64, usize>, items: Vec<Value>) -> usize {
    let mut fresh = 0;
    for item in items {
        match item.get("entity_id").and_then(as_u64) {
            Some(id) => match index.get(&id) {
                Some(&i) => {
                    if out[i] != item {
                        fresh += 1;
                    }
                    out[i] = item;
                }
                None => {
                    index.insert(id, out.len());
                    out.push(item);
                    fresh += 1;
                }
            },
            // Kept so that the decoder reports it.
            None => {
                out.push(item);
                fresh += 1;
            }
        }
    }
    fresh
}

/// Whether page `page` (of `got` items) is the search's last:
/// `currentPage × pageSize ≥ total_count`, or without a count a short page.
fn page_is_last(body: &Value, page: u32, page_size: u32, got: usize) -> bool {
    match body.get("total_count").and_then(as_u64) {
        Some(total) => u64::from(page) * u64::from(page_size) >= total,
        None => got < page_size as usize,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn has_shipping_assignments(order: &Value) -> bool {
    order
        .get("extension_attributes")
        .and_then(|e| e.get("shipping_assignments"))
        .is_some_and(Value::is_array)
}

/// Decodes one order. `shipments` and `invoices` are the raw entries of
/// that order.
fn decode_order(
    v: &Value,
    shipments: &[Value],
    invoices: &[Value],
) -> Result<Order, OrderDecodeError> {
    let entity_id = v.get("entity_id").and_then(as_u64);
    let increment_id = str_of(v, "increment_id");
    let fail = |field: String, problem: String| OrderDecodeError {
        entity_id,
        increment_id: increment_id.clone(),
        field,
        problem,
    };
    // A timestamp field: absent or null is None, malformed is an error.
    let time =
        |obj: &Value, key: &str, path: String| -> Result<Option<DateTime<Utc>>, OrderDecodeError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_magento_time(s).map(Some).map_err(|e| {
                    fail(
                        path,
                        format!("{s:?} is not a Magento timestamp (YYYY-MM-DD HH:MM:SS): {e}"),
                    )
                }),
                Some(other) => Err(fail(path, format!("{other} is not a Magento timestamp"))),
            }
        };
    let Some(entity_id) = entity_id else {
        return Err(fail("entity_id".into(), "missing".into()));
    };
    let created_at = time(v, "created_at", "created_at".into())?;
    let updated_at = time(v, "updated_at", "updated_at".into())?;
    let Some(created_at) = created_at else {
        return Err(fail("created_at".into(), "missing".into()));
    };
    let updated_at = updated_at.unwrap_or(created_at);

    let state = match str_of(v, "state").as_deref() {
        Some("new") => OrderState::New,
        Some("pending_payment") => OrderState::PendingPayment,
        Some("processing") => OrderState::Processing,
        Some("complete") => OrderState::Complete,
        Some("closed") => OrderState::Closed,
        Some("canceled") => OrderState::Canceled,
        Some("holded") => OrderState::Holded,
        Some("payment_review") => OrderState::PaymentReview,
        Some(other) => OrderState::Other(other.to_owned()),
        None => OrderState::Other(String::new()),
    };

    let raw_items = v
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // A configurable product appears twice: the parent (carrying the chosen
    // child's sku) and the child. Keep the parent only; bundle children keep
    // their own sku and are kept.
    let configurable_parents: HashSet<u64> = raw_items
        .iter()
        .filter(|i| str_of(i, "product_type").as_deref() == Some("configurable"))
        .filter_map(|i| i.get("item_id").and_then(as_u64))
        .collect();
    let items = raw_items
        .iter()
        .filter(|i| {
            i.get("parent_item_id")
                .and_then(as_u64)
                .is_none_or(|p| !configurable_parents.contains(&p))
        })
        .map(|i| Item {
            sku: str_of(i, "sku").unwrap_or_default(),
            name: str_of(i, "name").unwrap_or_default(),
            qty: i.get("qty_ordered").and_then(as_f64).unwrap_or(0.0),
            qty_to_ship: None,
        })
        .collect();

    let mut status_history = Vec::new();
    for (n, h) in v
        .get("status_histories")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        // Comment-only entries have no status: nothing to learn from them.
        let Some(status) = str_of(h, "status") else {
            continue;
        };
        if let Some(at) = time(h, "created_at", format!("status_histories[{n}].created_at"))? {
            status_history.push(StatusChange { status, at });
        }
    }
    status_history.sort_by_key(|c| c.at);

    let mut invoice_times = Vec::new();
    for inv in invoices {
        let id = inv.get("entity_id").and_then(as_u64).unwrap_or(0);
        if let Some(at) = time(inv, "created_at", format!("invoices[{id}].created_at"))? {
            invoice_times.push(at);
        }
    }
    invoice_times.sort();

    let mut decoded_shipments = Vec::new();
    for s in shipments {
        let sid = s.get("entity_id").and_then(as_u64).unwrap_or(0);
        let Some(shipped) = time(s, "created_at", format!("shipments[{sid}].created_at"))? else {
            return Err(fail(
                format!("shipments[{sid}].created_at"),
                "missing".into(),
            ));
        };
        let mut tracks = Vec::new();
        for t in s
            .get("tracks")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(number) = str_of(t, "track_number").filter(|n| !n.trim().is_empty()) else {
                continue;
            };
            let at = time(
                t,
                "created_at",
                format!("shipments[{sid}].tracks.created_at"),
            )?;
            tracks.push(Track {
                number: number.trim().to_owned(),
                carrier_code: str_of(t, "carrier_code").unwrap_or_default(),
                title: str_of(t, "title").unwrap_or_default(),
                created_at: at.unwrap_or(shipped),
            });
        }
        decoded_shipments.push(Shipment {
            entity_id: sid,
            created_at: shipped,
            tracks,
        });
    }
    decoded_shipments.sort_by_key(|s| (s.created_at, s.entity_id));

    let shipping_method = v
        .get("extension_attributes")
        .and_then(|e| e.get("shipping_assignments"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| a.get("shipping"))
        .and_then(|s| str_of(s, "method"))
        .filter(|m| !m.is_empty());

    Ok(Order {
        entity_id,
        increment_id: increment_id
            .clone()
            .unwrap_or_else(|| entity_id.to_string()),
        state,
        status: str_of(v, "status").unwrap_or_default(),
        customer: Customer {
            firstname: str_of(v, "customer_firstname").unwrap_or_default(),
            lastname: str_of(v, "customer_lastname").unwrap_or_default(),
            email: str_of(v, "customer_email").unwrap_or_default(),
        },
        items,
        shipping_method,
        created_at,
        updated_at,
        invoices: invoice_times,
        status_history,
        shipments: decoded_shipments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies_are_rendered_with_their_parameters() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Sales::actions_view"}}"#,
                "The consumer isn't authorized to access Magento_Sales::actions_view.",
            ),
            (
                br#"{"message":"%1 is %2, not %10","parameters":["a","b",3,4,5,6,7,8,9,"ten"]}"#,
                "a is b, not ten",
            ),
            (br#"{"message":"no params"}"#, "no params"),
            (br#"{"message":"null params %1","parameters":null}"#, "null params %1"),
            (b"<html>Bad gateway</html>", "<html>Bad gateway</html>"),
            (b"", ""),
        ];
        for (body, want) in cases {
            assert_eq!(render_error_body(body), *want);
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_magento_time("2026-05-01 10:00:07").expect("parse");
        assert_eq!(t.to_rfc3339(), "2026-05-01T10:00:07+00:00");
        assert_eq!(format_magento_time(t), "2026-05-01 10:00:07");
        assert!(parse_magento_time("2026-13-01 10:00:00").is_err());
        assert!(parse_magento_time("0000-00-00 00:00:00").is_err());
    }

    #[test]
    fn decoding_is_tolerant_and_precise_about_bad_timestamps() {
        let minimal = json!({"entity_id": 5, "created_at": "2026-05-01 10:00:00", "unknown": {"x": 1}, "status": null});
        let o = decode_order(&minimal, &[], &[]).expect("minimal order");
        assert_eq!(o.increment_id, "5");
        assert_eq!(o.updated_at, o.created_at);
        assert_eq!(o.state, OrderState::Other(String::new()));
        assert!(o.items.is_empty() && o.shipping_method.is_none());

        let bad =
            json!({"entity_id": 6, "increment_id": "100006", "created_at": "2026-05-01T10:00:00Z"});
        let e = decode_order(&bad, &[], &[]).expect_err("bad timestamp");
        let text = e.to_string();
        assert!(
            text.contains("100006") && text.contains("created_at"),
            "{text}"
        );

        let ship = json!({"entity_id": 9, "order_id": 6, "created_at": "yesterday"});
        let good =
            json!({"entity_id": 6, "increment_id": "100006", "created_at": "2026-05-01 10:00:00"});
        let e = decode_order(&good, &[ship], &[]).expect_err("bad shipment");
        assert_eq!(e.field, "shipments[9].created_at");
    }

    #[test]
    fn configurable_children_are_not_counted_twice() {
        let v = json!({"entity_id": 1, "created_at": "2026-05-01 10:00:00", "items": [
            {"item_id": 10, "sku": "ORI-1", "product_type": "configurable", "qty_ordered": 2},
            {"item_id": 11, "parent_item_id": 10, "sku": "ORI-1", "product_type": "simple", "qty_ordered": 2},
            {"item_id": 12, "sku": "CMP-1", "qty_ordered": "1.0000"}
        ]});
        let o = decode_order(&v, &[], &[]).expect("order");
        let skus: Vec<_> = o.items.iter().map(|i| (i.sku.as_str(), i.qty)).collect();
        assert_eq!(skus, vec![("ORI-1", 2.0), ("CMP-1", 1.0)]);
    }
}
