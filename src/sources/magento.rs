//! Magento 2 REST client: the incremental pull of orders with their
//! shipments (tracks) and invoices, and the lookup of one order for
//! `colisync explain`.
//!
//! Sits at the "pull" edge of the pipeline. It turns Magento's JSON into
//! domain [`Order`]s and nothing else: the sync engine owns the cursor and
//! stores what comes back.
//!
//! How Magento really behaves (docs/apis.md) and what this module does
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
//!   malformed timestamp on the order, its items or a shipment; no creation
//!   time) is reported in [`PullResult::rejected`] and the rest of the pull
//!   goes on; a bad invoice or status-history entry only drops that entry,
//!   reported in [`PullResult::flawed`]. Either way the caller reads the
//!   order again by id ([`MagentoClient::orders_by_id`]) until it decodes:
//!   the cursor moves on and would never bring it back.
//! - Shipments and invoices are fetched in batches with `in` filters on
//!   `order_id` (`page_size` ids a request, each batch paged), never one
//!   request per order; `GET /orders/{id}` only for orders whose list entry
//!   lacks `extension_attributes.shipping_assignments`.
//! - Adding a tracking number to an existing shipment (`POST
//!   /V1/shipment/track`, `TrackRepository::save`) writes the track only:
//!   the order's `updated_at` does not move and the incremental pull never
//!   sees it. [`MagentoClient::shipments_of`] re-reads the shipments of
//!   orders the caller names.
//! - Items carry what is left to ship ([`qty_to_ship`]), counted the way
//!   Magento counts it, so that a partial shipment reads as one.
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

mod notes;
pub use notes::{NOTE_MARKER_PREFIX, OrderForNote, is_colisync_note};

/// Magento's timestamp format, always UTC.
pub const MAGENTO_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The API's name in errors and logs.
const API: &str = "magento";

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
    /// 400 to a write: Magento will not apply it as sent.
    #[error("Magento refused {what} (400): {message}")]
    Refused { what: &'static str, message: String },
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
    /// Entries dropped from orders that are in [`Self::orders`] all the
    /// same (an invoice or a status change with a bad timestamp): judged on
    /// what is left, and still to be reported.
    pub flawed: Vec<OrderDecodeError>,
    /// The greatest `updated_at` seen, rejected orders included (their data
    /// is bad, re-pulling them by time would not fix it; the caller keeps
    /// their ids instead): the caller's next cursor.
    pub max_updated_at: Option<DateTime<Utc>>,
}

impl PullResult {
    /// Entity ids of the orders rejected or flawed, for the caller to read
    /// again until they decode.
    pub fn undecodable(&self) -> impl Iterator<Item = &OrderDecodeError> {
        self.rejected.iter().chain(&self.flawed)
    }
}

/// What [`MagentoClient::complete`] decodes out of raw list entries.
#[derive(Debug, Default)]
struct Decoded {
    orders: Vec<Order>,
    rejected: Vec<OrderDecodeError>,
    flawed: Vec<OrderDecodeError>,
}

/// What [`MagentoClient::shipments_of`] brings back.
#[derive(Debug, Clone, Default)]
pub struct ShipmentsOf {
    /// Every order asked for, with its shipments sorted by `(created_at,
    /// entity_id)`; empty when the order has none.
    pub by_order: HashMap<u64, Vec<Shipment>>,
    /// Shipments left out because a field could not be used.
    pub rejected: Vec<ShipmentDecodeError>,
}

/// One shipment skipped because a field could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentDecodeError {
    pub order_id: u64,
    pub shipment_id: Option<u64>,
    /// Path of the field inside the shipment, e.g. `created_at`,
    /// `tracks[0].created_at`.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for ShipmentDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shipment_id {
            Some(id) => write!(f, "shipment {id} of order entity {}", self.order_id)?,
            None => write!(f, "a shipment without id of order entity {}", self.order_id)?,
        }
        write!(f, ": field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for ShipmentDecodeError {}

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
                // Never sent, so the shared layer cannot find them in a
                // header; Magento knows them and could still quote them.
                settings.scrubber =
                    crate::secret::Scrubber::new([consumer_secret, access_token_secret]);
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
        let mut d = self.complete(raw).await?;
        d.orders.sort_by_key(|o| (o.updated_at, o.entity_id));
        Ok(PullResult {
            orders: d.orders,
            rejected: d.rejected,
            flawed: d.flawed,
            max_updated_at,
        })
    }

    /// The orders of the given entity ids, whatever their `updated_at`, with
    /// their shipments and invoices: orders that could not be decoded on an
    /// earlier pass, read again until Magento sends them right. Batched like
    /// shipments (`entity_id in (…)`, `page_size` ids a request). An id
    /// Magento no longer has is simply absent from the result.
    /// `max_updated_at` is left `None`: these reads say nothing about the
    /// cursor.
    pub async fn orders_by_id(&self, ids: &[u64]) -> Result<PullResult, MagentoError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut raw = Vec::new();
        for chunk in ids.chunks(self.page_size as usize) {
            let list = chunk
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let search = Search {
                page_size: self.page_size,
                ..Search::default()
            }
            .filter("entity_id", list, "in")
            .sort("entity_id", "ASC");
            raw.extend(self.search_all("orders", "orders", &search).await?);
        }
        let mut d = self.complete(raw).await?;
        d.orders.sort_by_key(|o| (o.updated_at, o.entity_id));
        Ok(PullResult {
            orders: d.orders,
            rejected: d.rejected,
            flawed: d.flawed,
            max_updated_at: None,
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
        let Decoded {
            orders,
            mut rejected,
            ..
        } = self.complete(raw).await?;
        if let Some(err) = rejected.pop() {
            return Err(MagentoError::Order(err));
        }
        Ok(orders.into_iter().find(|o| o.increment_id == increment_id))
    }

    /// The orders with these increment ids, with shipments and invoices, as
    /// the pull decodes them: `increment_id in (…)` in batches of
    /// `page_size` ids, each batch paged. For cards whose order the pull did
    /// not bring back (a lost state, an order older than `lookback_days`):
    /// judging them needs what Magento says now. An id Magento does not
    /// know is simply missing from the result; orders that cannot be
    /// decoded come back in the second list.
    pub async fn orders_by_increment_ids(
        &self,
        increment_ids: &[String],
    ) -> Result<(Vec<Order>, Vec<OrderDecodeError>), MagentoError> {
        let mut ids: Vec<&str> = increment_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut raw = Vec::new();
        // `in` takes a comma-separated list: an id that holds a comma
        // itself would be split in two, so it is asked for alone with `eq`.
        let (alone, listed): (Vec<&str>, Vec<&str>) = ids.iter().partition(|id| id.contains(','));
        for id in alone {
            let search = Search {
                page_size: self.page_size,
                ..Search::default()
            }
            .filter("increment_id", id, "eq");
            raw.extend(self.search_all("orders", "orders", &search).await?);
        }
        for chunk in listed.chunks((self.page_size as usize).max(1)) {
            let search = Search {
                page_size: self.page_size,
                ..Search::default()
            }
            .filter("increment_id", chunk.join(","), "in")
            .sort("entity_id", "ASC");
            raw.extend(self.search_all("orders", "orders", &search).await?);
        }
        let Decoded {
            orders,
            rejected,
            flawed,
        } = self.complete(raw).await?;
        // An order judged without one of its entries (a bad invoice or
        // status change) is still judged: its card needs no holding back.
        for f in &flawed {
            tracing::warn!(error = %f, "an order of an open card was read without one of its entries");
        }
        // Magento's `in` matches as SQL does; keep only what was asked for.
        let orders = orders
            .into_iter()
            .filter(|o| ids.contains(&o.increment_id.as_str()))
            .collect();
        Ok((orders, rejected))
    }

    /// Adds shipments, invoices and (where missing) the shipping method to
    /// raw list entries, and decodes them.
    async fn complete(&self, mut raw: Vec<Value>) -> Result<Decoded, MagentoError> {
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

        let mut out = Decoded::default();
        for entry in &raw {
            let id = entry.get("entity_id").and_then(as_u64);
            let empty = Vec::new();
            let ships = id.and_then(|id| shipments.get(&id)).unwrap_or(&empty);
            let invs = id.and_then(|id| invoices.get(&id)).unwrap_or(&empty);
            match decode_order(entry, ships, invs) {
                Ok((order, flaws)) => {
                    for e in &flaws {
                        tracing::warn!(error = %e, "dropping an entry of a Magento order");
                    }
                    out.flawed.extend(flaws);
                    out.orders.push(order);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "skipping a Magento order that cannot be decoded");
                    out.rejected.push(e)
                }
            }
        }
        Ok(out)
    }

    /// Shipments or invoices of the given orders, by order id, fetched with
    /// `order_id in (…)` in batches of `page_size` ids, each batch paged by
    /// `page_size` (Magento's input limits cap the page, not the filter; a
    /// batch no larger than a page keeps one request per batch when orders
    /// have one shipment or invoice each).
    async fn related(
        &self,
        endpoint: &'static str,
        ids: &[u64],
    ) -> Result<HashMap<u64, Vec<Value>>, MagentoError> {
        let mut by_order: HashMap<u64, Vec<Value>> = HashMap::new();
        for chunk in ids.chunks(self.page_size as usize) {
            let list = chunk
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let search = Search {
                page_size: self.page_size,
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

    /// The shipments (with their tracks) of the given orders, read again.
    /// For tracking numbers added to a shipment after the order was pulled:
    /// Magento's "add tracking number" (`POST /V1/shipment/track`,
    /// `Sales/Model/Order/Shipment/TrackRepository::save`) saves the track
    /// alone, so the order's `updated_at` stays and the incremental pull
    /// cannot see it. Same batching as the pull (`page_size` order ids a
    /// request, each batch paged) and the same decoding.
    ///
    /// Every order asked for gets an entry, empty when it has no shipment
    /// (a shipment deleted in the admin is news too). A shipment that cannot
    /// be decoded is left out and reported in [`ShipmentsOf::rejected`]:
    /// the caller should not replace that order's shipments with an
    /// incomplete list.
    pub async fn shipments_of(&self, order_ids: &[u64]) -> Result<ShipmentsOf, MagentoError> {
        let mut ids: Vec<u64> = order_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let raw = self.related("shipments", &ids).await?;
        let mut out = ShipmentsOf::default();
        for id in &ids {
            let mut shipments = Vec::new();
            for s in raw.get(id).map(Vec::as_slice).unwrap_or_default() {
                match decode_shipment(s) {
                    Ok(shipment) => shipments.push(shipment),
                    Err(e) => {
                        let e = ShipmentDecodeError {
                            order_id: *id,
                            shipment_id: s.get("entity_id").and_then(as_u64),
                            field: e.field,
                            problem: e.problem,
                        };
                        tracing::warn!(error = %e, "skipping a Magento shipment that cannot be decoded");
                        out.rejected.push(e);
                    }
                }
            }
            shipments.sort_by_key(|s| (s.created_at, s.entity_id));
            out.by_order.insert(*id, shipments);
        }
        Ok(out)
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

/// A field that could not be used, inside an entry (an item, a shipment)
/// whose caller adds where the entry sits.
#[derive(Debug)]
struct FieldError {
    field: String,
    problem: String,
}

/// A timestamp field: absent or null is `None`, malformed is an error.
fn time_field(obj: &Value, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_magento_time(s)
            .map(Some)
            .map_err(|e| format!("{s:?} is not a Magento timestamp (YYYY-MM-DD HH:MM:SS): {e}")),
        Some(other) => Err(format!("{other} is not a Magento timestamp")),
    }
}

/// Decodes one shipment with its tracks: the pull and
/// [`MagentoClient::shipments_of`] share it. Tracks without a number are
/// dropped; a track without a time gets the shipment's.
fn decode_shipment(s: &Value) -> Result<Shipment, FieldError> {
    let fail = |field: String, problem: String| FieldError { field, problem };
    let entity_id = s.get("entity_id").and_then(as_u64).unwrap_or(0);
    let Some(shipped) = time_field(s, "created_at").map_err(|p| fail("created_at".into(), p))?
    else {
        return Err(fail("created_at".into(), "missing".into()));
    };
    let mut tracks = Vec::new();
    for (n, t) in s
        .get("tracks")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(number) = str_of(t, "track_number").filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        let at =
            time_field(t, "created_at").map_err(|p| fail(format!("tracks[{n}].created_at"), p))?;
        tracks.push(Track {
            number: number.trim().to_owned(),
            carrier_code: str_of(t, "carrier_code").unwrap_or_default(),
            title: str_of(t, "title").unwrap_or_default(),
            created_at: at.unwrap_or(shipped),
        });
    }
    Ok(Shipment {
        entity_id,
        created_at: shipped,
        tracks,
    })
}

/// A quantity: absent or null is `None`; a number, or a numeric string as
/// some shops send, is the value; anything else is an error.
fn qty_field(item: &Value, key: &str) -> Result<Option<f64>, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_f64(v)
            .filter(|q| q.is_finite())
            .map(Some)
            .ok_or_else(|| format!("{v} is not a quantity")),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0),
        Some(Value::String(s)) => matches!(s.trim(), "1" | "true"),
        _ => false,
    }
}

/// Never shipped: `is_virtual`, or a virtual or downloadable product type
/// (Magento's own `is_virtual` is set for both; the type is checked too in
/// case a shop's export leaves the flag out).
fn is_virtual_item(item: &Value) -> bool {
    truthy(item.get("is_virtual"))
        || matches!(
            str_of(item, "product_type").as_deref(),
            Some("virtual" | "downloadable")
        )
}

/// Magento's `Order\Item::getSimpleQtyToShip` (app/code/Magento/Sales/
/// Model/Order/Item.php): `qty_ordered - max(qty_shipped, qty_refunded) -
/// qty_canceled`, never below 0. The `max` is the 2.4 line: the 2.0-2.2
/// sources subtract shipped and refunded both, and issue #34289 (2.4.2:
/// ordered 10, shipped 1 then 3, refunded 4, "allowed to ship is 6" both
/// times) shows 2.4 taking the larger of the two. `None` when the item
/// carries no `qty_shipped`: nothing is known about it. Rounded to
/// Magento's 4 decimals, so that 3 - 2.9999 style residues are not "left".
fn simple_qty_to_ship(item: &Value, at: &str) -> Result<Option<f64>, FieldError> {
    let q = |key: &str| {
        qty_field(item, key).map_err(|problem| FieldError {
            field: format!("{at}.{key}"),
            problem,
        })
    };
    let ordered = q("qty_ordered")?.unwrap_or(0.0);
    let refunded = q("qty_refunded")?.unwrap_or(0.0);
    let canceled = q("qty_canceled")?.unwrap_or(0.0);
    let Some(shipped) = q("qty_shipped")? else {
        return Ok(None);
    };
    let left = ordered - shipped.max(refunded) - canceled;
    Ok(Some((left.max(0.0) * 10_000.0).round() / 10_000.0))
}

/// What is left to ship of each raw item (index-aligned with `items`), as
/// Magento's `Order\Item::getQtyToShip` counts it: 0 for virtual and
/// downloadable products, and for the parent and children of a configurable
/// or bundle product, one level only (`isDummy(true)`: the parent when the
/// product ships together, the children when a bundle ships separately).
/// Which level Magento counts hangs on the parent's `product_options`
/// `shipment_type`, which REST does not expose; the group is therefore done
/// when either level is, and otherwise its quantity stays on the parent -
/// unless only the children have shipped anything (a bundle shipped
/// separately), then on the children. A configurable's child is never the
/// one counted (it is dropped from the order's item list).
///
/// An order whose physical items say nothing (`None`) has its virtual items
/// say nothing either: "0 left" on those alone would make the order look
/// fully shipped.
fn qty_to_ship(items: &[Value]) -> Result<Vec<Option<f64>>, FieldError> {
    let at = |n: usize, i: &Value| match i.get("item_id").and_then(as_u64) {
        Some(id) => format!("items[item_id {id}]"),
        None => format!("items[{n}]"),
    };
    let mut simple = Vec::with_capacity(items.len());
    for (n, i) in items.iter().enumerate() {
        simple.push(simple_qty_to_ship(i, &at(n, i))?);
    }
    let virt: Vec<bool> = items.iter().map(is_virtual_item).collect();
    let shipped_any = |n: usize| {
        items[n]
            .get("qty_shipped")
            .and_then(as_f64)
            .is_some_and(|q| q > 0.0)
    };
    let kind = |n: usize| str_of(&items[n], "product_type").unwrap_or_default();
    let index_of: HashMap<u64, usize> = items
        .iter()
        .enumerate()
        .filter_map(|(n, i)| i.get("item_id").and_then(as_u64).map(|id| (id, n)))
        .collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (n, i) in items.iter().enumerate() {
        if let Some(&p) = i
            .get("parent_item_id")
            .and_then(as_u64)
            .and_then(|p| index_of.get(&p))
        {
            if matches!(kind(p).as_str(), "configurable" | "bundle") {
                children.entry(p).or_default().push(n);
            }
        }
    }
    let mut out: Vec<Option<f64>> = (0..items.len())
        .map(|n| if virt[n] { Some(0.0) } else { simple[n] })
        .collect();
    for (&p, kids) in &children {
        let physical: Vec<usize> = kids.iter().copied().filter(|&c| !virt[c]).collect();
        let known = simple[p].is_some() || physical.iter().any(|&c| simple[c].is_some());
        let done = virt[p]
            || simple[p] == Some(0.0)
            || (!physical.is_empty() && physical.iter().all(|&c| simple[c] == Some(0.0)));
        let on_children = kind(p) == "bundle"
            && (simple[p].is_none()
                || (!shipped_any(p) && physical.iter().any(|&c| shipped_any(c))));
        let zero = |out: &mut Vec<Option<f64>>, n: usize| out[n] = known.then_some(0.0);
        if !known || done {
            zero(&mut out, p);
            for &c in kids {
                zero(&mut out, c);
            }
        } else if on_children {
            zero(&mut out, p);
            for &c in kids {
                out[c] = if virt[c] { Some(0.0) } else { simple[c] };
            }
        } else {
            out[p] = simple[p].or_else(|| physical.iter().find_map(|&c| simple[c]));
            for &c in kids {
                zero(&mut out, c);
            }
        }
    }
    let physical_unknown = (0..items.len()).any(|n| !virt[n] && out[n].is_none());
    if physical_unknown {
        for n in (0..items.len()).filter(|&n| virt[n]) {
            out[n] = None;
        }
    }
    Ok(out)
}

/// Decodes one order. `shipments` and `invoices` are the raw entries of
/// that order. What is decided per field:
/// - the order's own `entity_id`, `created_at`, `updated_at`, its items'
///   quantities and its shipments cannot be done without: the order is
///   rejected (the last snapshot, if any, is judged instead). A shipment
///   dropped would make a shipped order look late and resolve its
///   parcels' cards; a guessed time would move every deadline.
/// - an invoice or a status-history entry only dates the validation, and
///   the others still do: the bad one is dropped and returned as a flaw
///   beside the order.
fn decode_order(
    v: &Value,
    shipments: &[Value],
    invoices: &[Value],
) -> Result<(Order, Vec<OrderDecodeError>), OrderDecodeError> {
    let entity_id = v.get("entity_id").and_then(as_u64);
    // A blank number would give a card without a name: the entity id does.
    let increment_id = str_of(v, "increment_id").filter(|s| !s.trim().is_empty());
    let mut flaws = Vec::new();
    let fail = |field: String, problem: String| OrderDecodeError {
        entity_id,
        increment_id: increment_id.clone(),
        field,
        problem,
    };
    let time =
        |obj: &Value, key: &str, path: String| -> Result<Option<DateTime<Utc>>, OrderDecodeError> {
            time_field(obj, key).map_err(|problem| fail(path, problem))
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
    let to_ship = qty_to_ship(&raw_items).map_err(|e| fail(e.field, e.problem))?;
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
        .zip(to_ship)
        .filter(|(i, _)| {
            i.get("parent_item_id")
                .and_then(as_u64)
                .is_none_or(|p| !configurable_parents.contains(&p))
        })
        .map(|(i, qty_to_ship)| Item {
            sku: str_of(i, "sku").unwrap_or_default(),
            name: str_of(i, "name").unwrap_or_default(),
            qty: i.get("qty_ordered").and_then(as_f64).unwrap_or(0.0),
            qty_to_ship,
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
        // colisync's own notes carry the status they found: not a change.
        if str_of(h, "comment").is_some_and(|c| is_colisync_note(&c)) {
            continue;
        }
        match time(h, "created_at", format!("status_histories[{n}].created_at")) {
            Ok(Some(at)) => status_history.push(StatusChange { status, at }),
            Ok(None) => {}
            Err(e) => flaws.push(e),
        }
    }
    status_history.sort_by_key(|c| c.at);

    let mut invoice_times = Vec::new();
    for inv in invoices {
        let id = inv.get("entity_id").and_then(as_u64).unwrap_or(0);
        match time(inv, "created_at", format!("invoices[{id}].created_at")) {
            Ok(Some(at)) => invoice_times.push(at),
            Ok(None) => {}
            Err(e) => flaws.push(e),
        }
    }
    invoice_times.sort();

    let mut decoded_shipments = Vec::new();
    for s in shipments {
        let sid = s.get("entity_id").and_then(as_u64).unwrap_or(0);
        let shipment = decode_shipment(s)
            .map_err(|e| fail(format!("shipments[{sid}].{}", e.field), e.problem))?;
        decoded_shipments.push(shipment);
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

    let order = Order {
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
    };
    Ok((order, flaws))
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
        let o = decode_order(&minimal, &[], &[]).expect("minimal order").0;
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
    fn a_bad_invoice_or_status_change_drops_only_that_entry() {
        let v = json!({"entity_id": 7, "increment_id": "100007", "created_at": "2026-05-01 10:00:00",
        "status_histories": [
            {"status": "processing", "created_at": "2026-05-01 11:00:00"},
            {"status": "holded", "created_at": "le 2 mai"},
        ]});
        let invoices = [
            json!({"entity_id": 3, "order_id": 7, "created_at": "2026-05-01 10:30:00"}),
            json!({"entity_id": 4, "order_id": 7, "created_at": 17}),
        ];
        let (o, flaws) = decode_order(&v, &[], &invoices).expect("order kept");
        assert_eq!(o.status_history.len(), 1);
        assert_eq!(o.status_history[0].status, "processing");
        assert_eq!(o.invoices.len(), 1);
        let fields: Vec<&str> = flaws.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["status_histories[1].created_at", "invoices[4].created_at"]
        );
        assert!(flaws[0].to_string().contains("100007"), "{}", flaws[0]);

        let blank =
            json!({"entity_id": 8, "increment_id": " ", "created_at": "2026-05-01 10:00:00"});
        assert_eq!(
            decode_order(&blank, &[], &[])
                .expect("order")
                .0
                .increment_id,
            "8"
        );
    }

    #[test]
    fn configurable_children_are_not_counted_twice() {
        let v = json!({"entity_id": 1, "created_at": "2026-05-01 10:00:00", "items": [
            {"item_id": 10, "sku": "ORI-1", "product_type": "configurable", "qty_ordered": 2},
            {"item_id": 11, "parent_item_id": 10, "sku": "ORI-1", "product_type": "simple", "qty_ordered": 2},
            {"item_id": 12, "sku": "CMP-1", "qty_ordered": "1.0000"}
        ]});
        let o = decode_order(&v, &[], &[]).expect("order").0;
        let skus: Vec<_> = o.items.iter().map(|i| (i.sku.as_str(), i.qty)).collect();
        assert_eq!(skus, vec![("ORI-1", 2.0), ("CMP-1", 1.0)]);
    }

    fn left(items: Value) -> Vec<Option<f64>> {
        let items = items.as_array().cloned().unwrap_or_default();
        qty_to_ship(&items).expect("quantities")
    }

    #[test]
    fn qty_to_ship_counts_like_magento() {
        // Simple, not shipped, then partly shipped, then fully.
        assert_eq!(
            left(json!([
                {"item_id": 1, "product_type": "simple", "qty_ordered": 3, "qty_shipped": 0},
                {"item_id": 2, "product_type": "simple", "qty_ordered": 3, "qty_shipped": "1.0000"},
                {"item_id": 3, "product_type": "simple", "qty_ordered": 3, "qty_shipped": 3}
            ])),
            vec![Some(3.0), Some(2.0), Some(0.0)]
        );
        // Refunded: the larger of shipped and refunded is gone; cancelled
        // is gone too; never below 0.
        assert_eq!(
            left(json!([
                {"item_id": 1, "qty_ordered": 10, "qty_shipped": 1, "qty_refunded": 4},
                {"item_id": 2, "qty_ordered": 10, "qty_shipped": 3, "qty_refunded": 4, "qty_canceled": 2},
                {"item_id": 3, "qty_ordered": 2, "qty_shipped": 0, "qty_canceled": 2},
                {"item_id": 4, "qty_ordered": 2, "qty_shipped": 2, "qty_refunded": 2, "qty_canceled": 1}
            ])),
            vec![Some(6.0), Some(4.0), Some(0.0), Some(0.0)]
        );
        // Virtual and downloadable items never ship.
        assert_eq!(
            left(json!([
                {"item_id": 1, "product_type": "virtual", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 2, "product_type": "downloadable", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 3, "product_type": "simple", "is_virtual": 1, "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 4, "product_type": "simple", "is_virtual": 0, "qty_ordered": 1, "qty_shipped": 0}
            ])),
            vec![Some(0.0), Some(0.0), Some(0.0), Some(1.0)]
        );
    }

    #[test]
    fn qty_to_ship_counts_configurable_and_bundle_groups_once() {
        // Configurable: parent and child both say 2 left; counted on the
        // parent only. Shipped: the child level says so even when the
        // parent's own count lags.
        assert_eq!(
            left(json!([
                {"item_id": 10, "product_type": "configurable", "qty_ordered": 2, "qty_shipped": 0},
                {"item_id": 11, "parent_item_id": 10, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
            ])),
            vec![Some(2.0), Some(0.0)]
        );
        assert_eq!(
            left(json!([
                {"item_id": 10, "product_type": "configurable", "qty_ordered": 2, "qty_shipped": 0},
                {"item_id": 11, "parent_item_id": 10, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 2}
            ])),
            vec![Some(0.0), Some(0.0)]
        );
        // Bundle shipped together: the parent level is shipped, done.
        assert_eq!(
            left(json!([
                {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 1},
                {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
            ])),
            vec![Some(0.0), Some(0.0), Some(0.0)]
        );
        // Bundle not shipped yet: once, on the parent.
        assert_eq!(
            left(json!([
                {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
            ])),
            vec![Some(1.0), Some(0.0), Some(0.0)]
        );
        // Bundle shipped separately, one child out: the children count.
        assert_eq!(
            left(json!([
                {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 1},
                {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
            ])),
            vec![Some(0.0), Some(0.0), Some(2.0)]
        );
        // ... and all children out: done.
        assert_eq!(
            left(json!([
                {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 0},
                {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 1},
                {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 2}
            ])),
            vec![Some(0.0), Some(0.0), Some(0.0)]
        );
    }

    #[test]
    fn qty_to_ship_unknown_and_malformed() {
        // No qty_shipped at all: unknown, and the virtual item is not
        // allowed to make the order look shipped.
        assert_eq!(
            left(json!([
                {"item_id": 1, "qty_ordered": 1},
                {"item_id": 2, "product_type": "virtual", "qty_ordered": 1, "qty_shipped": 0}
            ])),
            vec![None, None]
        );
        let items = vec![json!({"item_id": 7, "qty_ordered": 1, "qty_shipped": "two"})];
        let e = qty_to_ship(&items).expect_err("bad quantity");
        assert_eq!(e.field, "items[item_id 7].qty_shipped");
        assert!(e.problem.contains("\"two\""), "{}", e.problem);
        let order = json!({"entity_id": 6, "increment_id": "100006",
            "created_at": "2026-05-01 10:00:00", "items": items});
        let e = decode_order(&order, &[], &[]).expect_err("bad quantity");
        assert!(e.to_string().contains("100006"), "{e}");
    }

    #[test]
    fn decoded_orders_read_partly_then_fully_shipped() {
        let order = |shipped_a: u32, shipped_b: u32| {
            json!({"entity_id": 1, "state": "processing", "created_at": "2026-05-01 10:00:00",
            "items": [
                {"item_id": 1, "sku": "A", "product_type": "simple", "qty_ordered": 1, "qty_shipped": shipped_a},
                {"item_id": 2, "sku": "B", "product_type": "simple", "qty_ordered": 2, "qty_shipped": shipped_b},
                {"item_id": 3, "sku": "GIFT", "product_type": "virtual", "is_virtual": 1, "qty_ordered": 1, "qty_shipped": 0}
            ]})
        };
        let ship = json!({"entity_id": 9, "order_id": 1, "created_at": "2026-05-02 10:00:00"});
        let none = decode_order(&order(0, 0), &[], &[]).expect("order").0;
        assert!(!none.is_fully_shipped() && !none.is_partly_shipped());
        let part = decode_order(&order(1, 1), std::slice::from_ref(&ship), &[])
            .expect("order")
            .0;
        assert!(part.is_partly_shipped());
        let waiting: Vec<_> = part.items_waiting().map(|i| i.sku.as_str()).collect();
        assert_eq!(waiting, vec!["B"]);
        let all = decode_order(&order(1, 2), &[ship], &[]).expect("order").0;
        assert!(all.is_fully_shipped() && !all.is_partly_shipped());
    }
}
