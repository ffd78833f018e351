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
//! - Items carry what is left to ship (`decode.rs`), counted the way
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

mod decode;
mod errors;
mod notes;
mod search;
mod stream;
#[cfg(test)]
mod tests;

use decode::*;
use errors::Decoded;
pub use errors::{
    MagentoError, OrderDecodeError, PullResult, ShipmentDecodeError, ShipmentsOf, render_error_body,
};
pub use notes::{NOTE_MARKER_PREFIX, OrderForNote, is_colisync_note};
use search::Search;

/// Magento's timestamp format, always UTC.
pub(crate) const MAGENTO_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The API's name in errors and logs.
const API: &str = "magento";

/// Parses a Magento timestamp (`YYYY-MM-DD HH:MM:SS`, UTC).
pub(crate) fn parse_magento_time(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    NaiveDateTime::parse_from_str(s.trim(), MAGENTO_TIME_FORMAT).map(|n| Utc.from_utc_datetime(&n))
}

/// Formats an instant the way Magento stores and filters them.
pub(crate) fn format_magento_time(t: DateTime<Utc>) -> String {
    t.format(MAGENTO_TIME_FORMAT).to_string()
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
    /// and invoices ([`Self::orders_updated_since_except`] with every order
    /// read in full).
    pub async fn orders_updated_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<PullResult, MagentoError> {
        self.orders_updated_since_except(since, |_, _| false).await
    }

    /// Like [`Self::orders_updated_since`], but an order for which
    /// `unchanged(entity_id, updated_at)` holds (the caller already has it
    /// at that `updated_at`: the overlap re-reads the newest orders on
    /// every pass) is left out before its shipments and invoices are
    /// fetched, and is not in [`PullResult::orders`]. It still counts for
    /// [`PullResult::max_updated_at`]. Magento moves an order's
    /// `updated_at` when a shipment or invoice is created for it; a track
    /// added to an existing shipment does not move it, and is what the
    /// caller's re-read of shipments is for.
    pub async fn orders_updated_since_except(
        &self,
        since: DateTime<Utc>,
        unchanged: impl Fn(u64, DateTime<Utc>) -> bool,
    ) -> Result<PullResult, MagentoError> {
        let overlap = chrono::Duration::from_std(self.overlap).unwrap_or_default();
        let from = since - overlap;
        let from = from.with_nanosecond(0).unwrap_or(from);
        let streamed = self.orders_since(from, &unchanged).await?;
        Ok(PullResult {
            orders: streamed.decoded.orders,
            rejected: streamed.decoded.rejected,
            flawed: streamed.decoded.flawed,
            max_updated_at: streamed.max_updated_at,
            unchanged: streamed.unchanged,
        })
    }

    /// The orders of the given entity ids, whatever their `updated_at`, with
    /// their shipments and invoices: orders that could not be decoded on an
    /// earlier pass, read again until Magento sends them right. Batched like
    /// shipments (`entity_id in (…)`, `page_size` ids a request). An id
    /// Magento no longer has is simply absent from the result.
    /// `max_updated_at` is left `None`: these reads say nothing about the
    /// cursor.
    pub(crate) async fn orders_by_id(&self, ids: &[u64]) -> Result<PullResult, MagentoError> {
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
            unchanged: 0,
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
    ///
    /// Orders are decoded as the pages come, `page_size` of them at a time
    /// with their shipments and invoices ([`stream`]), leaving out those
    /// for which `unchanged(entity_id, updated_at)` holds: a large shop is
    /// never held as raw JSON all at once.
    async fn orders_since(
        &self,
        from: DateTime<Utc>,
        unchanged: &impl Fn(u64, DateTime<Utc>) -> bool,
    ) -> Result<stream::Streamed, MagentoError> {
        let mut stream = stream::Stream::default();
        let batch = self.page_size as usize;
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
            let mut body = self
                .get_json("orders", "orders", &search.query(page))
                .await?;
            let items = take_page_items("orders", &mut body)?;
            let got = items.len();
            let times: Vec<DateTime<Utc>> = items.iter().filter_map(parse_updated_at).collect();
            let (first, last) = (times.iter().min(), times.iter().max());
            let last_page = got == 0 || page_is_last(&body, page, search.page_size, got);
            drop(body);
            let fresh = stream.add_page(items, unchanged);
            while let Some(raw) = stream.next_batch(batch, false) {
                stream.add_decoded(self.complete(raw).await?);
            }
            if last_page {
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
        while let Some(raw) = stream.next_batch(batch, true) {
            stream.add_decoded(self.complete(raw).await?);
        }
        Ok(stream.finish())
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
            let mut body = self.get_json(what, endpoint, &search.query(page)).await?;
            let items = take_page_items(what, &mut body)?;
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
