//! La Poste Suivi v2 client: tracking snapshots of letters, Colissimo and
//! Chronopost parcels, up to ten numbers per request.
//!
//! Sits at the "pull" edge of the pipeline, next to the Magento client: the
//! sync engine hands it the numbers due a poll and stores the snapshots.
//!
//! How the API really behaves (docs/apis.md) and what this module does:
//! - `GET {base}/suivi/v2/idships/{id,id,…}?lang=fr_FR` with `X-Okapi-Key`
//!   and `Accept: application/json`; 1 to 10 ids of 11-15 alphanumerics.
//!   Numbers that are not are reported per number and never sent.
//! - One id: 200 with a bare envelope `{lang, scope, returnCode, shipment}`,
//!   sometimes wrapped in a one-element array. Several: 207 with an array of
//!   envelopes, each with its own `returnCode`; the HTTP status says little.
//! - returnCode 200, 201 and 208 carry a `shipment`. 101, 104, 105 and 109
//!   (or a 404, with or without JSON) carry none: the number is not known to
//!   the carrier (yet), a snapshot with status `Unknown`, not an error. See
//!   [`Meaning`] for the spec's words on each code.
//! - returnCode 400 is a bad number: an error for that number only.
//! - Gateway errors have another shape, `{code, message}`, with 401, 429
//!   and 503; some answers use the `returnCode` shape for the same (401,
//!   500, 504). Either way they concern the whole request: 401 is fatal (the
//!   key is refused: no further request in the call); 429 and 5xx are
//!   retried with backoff, honouring `Retry-After`. Retries, truncated
//!   bodies included, run in the shared loop ([`ApiClient::send_decoded`])
//!   with [`TrackError::is_retryable`] judging the decoded answer.
//! - Events come newest first; they are normalised with `isFinal` by
//!   [`crate::tracking::status::normalise_snapshot`], unknown codes logged
//!   and kept. `estimDate`, `deliveryDate` and `contextData.removalPoint`
//!   (`name` and `type` only) go into the snapshot's
//!   [`CarrierInfo`](crate::domain::CarrierInfo) (`carrier_info.rs` here);
//!   `timeline`, the rest of `contextData` and the events' `order` are not
//!   needed and ignored.
//!
//! The requests are paced by one sliding window per API key
//! ([`crate::limiter`], `requests_per_second` per second, default 5),
//! shared by every client of that key: at most that many requests in any
//! second, however many are in flight, so also within La Poste's fixed
//! windows. Batches after the first go out concurrently up to that rate.
//! Errors never carry the API key nor a URL.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::config::LaPosteConfig;
use crate::domain::{TrackingEvent, TrackingSnapshot, is_valid_number};
use crate::http::{self, ApiClient, ApiSettings, Call, HttpError, Idempotent, RetryPolicy};
use crate::limiter;
use crate::tracking::status::{is_known_code, normalise_snapshot};

/// The API's name in errors and logs.
const API: &str = "laposte";

/// At most this many ids per request (the API's limit).
pub(crate) const MAX_IDS_PER_REQUEST: usize = 10;

/// Why one number has no snapshot. Never holds the API key nor a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    /// Not 11-15 alphanumerics: not sent.
    #[error("not a La Poste tracking number (11 to 15 letters and digits)")]
    InvalidNumber,
    /// La Poste says the number is malformed (returnCode 400).
    #[error("La Poste rejected the number: {message}")]
    BadNumber { message: String },
    /// 401 (gateway shape or returnCode shape): the API key is wrong or
    /// revoked. Fatal.
    #[error("La Poste refused the API key (401): {message}")]
    Unauthorized { message: String },
    /// Gateway 429, still after the retries.
    #[error("La Poste rate limit (429): {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Gateway 503, still after the retries.
    #[error("La Poste unavailable (503): {message}")]
    Unavailable { message: String },
    /// A 5xx in the `returnCode` shape (500, 504), still after the
    /// retries: La Poste could not answer for the request.
    #[error("La Poste could not answer (returnCode {code}): {message}")]
    Failed { code: u64, message: String },
    /// A returnCode this client does not know, for one number.
    #[error("La Poste answered returnCode {code}: {message}")]
    Other { code: u64, message: String },
    /// A status without the gateway's shape nor envelopes.
    #[error("La Poste answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    /// Transport errors, timeouts, other statuses (after the retries).
    #[error(transparent)]
    Http(HttpError),
    #[error("La Poste's answer is not the expected JSON: {0}")]
    Decode(String),
    /// The answer did not mention this number.
    #[error("La Poste's answer says nothing about this number")]
    Missing,
}

impl TrackError {
    /// Whether the whole request may succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        match self {
            TrackError::RateLimited { .. }
            | TrackError::Unavailable { .. }
            | TrackError::Failed { .. }
            | TrackError::Decode(_) => true,
            TrackError::Http(e) => http::is_retryable(e, Idempotent::Yes),
            TrackError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// 401: no number will fare better; stop polling and tell the admin.
    pub fn is_fatal(&self) -> bool {
        matches!(self, TrackError::Unauthorized { .. })
    }
}

impl From<HttpError> for TrackError {
    /// The shared layer sees the gateway's 429 (it pauses every caller):
    /// still a [`TrackError::RateLimited`] to the callers of this client.
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::RateLimited { retry_after, .. } => TrackError::RateLimited {
                message: "TOO_MANY_REQUESTS".into(),
                retry_after,
            },
            e => TrackError::Http(e),
        }
    }
}

/// One batch's answer: per id, or for the whole request.
type BatchResult = Result<HashMap<String, Result<Tracked, TrackError>>, TrackError>;

/// The most batches in flight at once, whatever the rate: enough to keep
/// a few requests per second busy at La Poste's latency.
const MAX_BATCHES_IN_FLIGHT: usize = 8;

/// The Suivi v2 client. Share it (`Arc`) so that the limiter is shared.
pub struct LaPosteClient {
    /// The shared HTTP layer: timeout, limiter, key header, retries.
    api: ApiClient,
    /// Batches sent at once after the first (the limiter sets the pace).
    in_flight: usize,
    /// Kept for `Debug`: the API root.
    base: Url,
}

impl fmt::Debug for LaPosteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaPosteClient")
            .field("base", &http::redact_url(&self.base))
            .finish_non_exhaustive()
    }
}

impl LaPosteClient {
    pub fn new(config: &LaPosteConfig) -> Result<Self, TrackError> {
        let rate = config.requests_per_second.max(1);
        let mut settings = ApiSettings::new(API, config.base_url.clone());
        settings.timeout = config.timeout;
        settings.windows = Some(limiter::Limiter::per_key(
            API,
            config.base_url.as_str(),
            config.api_key.expose(),
            rate,
            Duration::from_secs(1),
        ));
        let key = HeaderValue::from_str(config.api_key.expose()).map_err(|_| {
            TrackError::Http(HttpError::Invalid {
                api: API,
                method: String::new(),
                path: String::new(),
                detail: "the API key is not a valid header value".into(),
            })
        })?;
        settings
            .default_headers
            .insert(HeaderName::from_static("x-okapi-key"), key);
        settings
            .default_headers
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(LaPosteClient {
            api: ApiClient::new(settings)?,
            in_flight: (rate as usize).clamp(1, MAX_BATCHES_IN_FLIGHT),
            base: config.base_url.clone(),
        })
    }

    /// Replaces the retry schedule (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.api = self.api.with_retry(retry);
        self
    }

    /// Snapshots of `numbers`, one result per number in the given order.
    /// Invalid numbers are not sent; the others go in batches of ten; a
    /// failed batch fails its numbers only. `now` stamps the snapshots.
    pub async fn track(
        &self,
        numbers: &[String],
        now: DateTime<Utc>,
    ) -> Vec<(String, Result<TrackingSnapshot, TrackError>)> {
        // La Poste's ids are upper-case; a number typed in lower case in
        // Magento must still match the `idShip` of the answer.
        let key = |n: &str| n.trim().to_ascii_uppercase();
        // First-seen order (the batches follow it); the set keeps the
        // de-duplication linear in the numbers due.
        let mut valid: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for n in numbers {
            let n = key(n);
            if is_valid_number(&n) && !seen.contains(&n) {
                seen.insert(n.clone());
                valid.push(n);
            }
        }
        let mut results: HashMap<String, Result<TrackingSnapshot, TrackError>> = HashMap::new();
        let mut batches = valid.chunks(MAX_IDS_PER_REQUEST);
        // After a 401 every batch would get one too: do not hammer the
        // gateway with a bad key. The first batch goes alone, so that a
        // refused key costs exactly one request.
        let fatal: Mutex<Option<TrackError>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let record = |results: &mut HashMap<String, Result<TrackingSnapshot, TrackError>>,
                      batch: &[String],
                      outcome: Option<BatchResult>| {
            match outcome {
                Some(Ok(per_id)) => results.extend(
                    per_id
                        .into_iter()
                        .map(|(id, r)| (id, r.map(|t| t.snapshot))),
                ),
                Some(Err(e)) => {
                    tracing::warn!(api = API, ids = batch.len(), error = %e, "a La Poste batch failed");
                    results.extend(batch.iter().map(|id| (id.clone(), Err(e.clone()))));
                }
                // Not sent: a batch before it met a refused key.
                None => {
                    let e = fatal
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone()
                        .unwrap_or(TrackError::Missing);
                    results.extend(batch.iter().map(|id| (id.clone(), Err(e.clone()))));
                }
            }
        };
        if let Some(first) = batches.next() {
            let (batch, outcome) = self.send_batch(first, now, &fatal, &stop).await;
            record(&mut results, batch, outcome);
        }
        let rest: Vec<_> = futures_util::stream::iter(batches)
            .map(|b| self.send_batch(b, now, &fatal, &stop))
            .buffer_unordered(self.in_flight)
            .collect()
            .await;
        for (batch, outcome) in rest {
            record(&mut results, batch, outcome);
        }
        numbers
            .iter()
            .map(|n| {
                let key = key(n);
                let r = if is_valid_number(&key) {
                    results
                        .get(&key)
                        .cloned()
                        .unwrap_or(Err(TrackError::Missing))
                } else {
                    Err(TrackError::InvalidNumber)
                };
                (n.clone(), r)
            })
            .collect()
    }

    /// [`Self::fetch_batch`] unless a refused key already stopped the
    /// call (then `None`); a refused key stops it for the batches after.
    async fn send_batch<'b>(
        &self,
        batch: &'b [String],
        now: DateTime<Utc>,
        fatal: &Mutex<Option<TrackError>>,
        stop: &AtomicBool,
    ) -> (&'b [String], Option<BatchResult>) {
        if stop.load(Ordering::SeqCst) {
            return (batch, None);
        }
        let r = self.fetch_batch(batch, now).await;
        if let Err(e) = &r {
            if e.is_fatal() {
                stop.store(true, Ordering::SeqCst);
                fatal
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(|| e.clone());
            }
        }
        (batch, Some(r))
    }

    /// One request (with retries) for up to ten valid ids.
    async fn fetch_batch(
        &self,
        batch: &[String],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, Result<Tracked, TrackError>>, TrackError> {
        let call = Call::get("suivi/v2/idships")
            .segment(batch.join(","))
            .query("lang", "fr_FR")
            // Statuses that carry per-id answers, the gateway's shape or
            // the `returnCode` shape (read, so that a 401 in either shape
            // is the refused key and a 500/504 keeps La Poste's message).
            // 429 stays with the shared layer: it pauses every caller.
            .accept(400)
            .accept(401)
            .accept(404)
            .accept(500)
            .accept(503)
            .accept(504);
        // A 503 or a body cut short is judged after decoding: the shared
        // loop retries what `is_retryable` says another attempt may fix.
        self.api
            .send_decoded(
                &call,
                |reply| interpret(reply.status, None, &reply.body, batch, now),
                TrackError::is_retryable,
            )
            .await
    }
}

/// One number's answer, decoded: the snapshot colisync stores, and the
/// dates La Poste gives besides its events (not stored: the rules judge by
/// the events and the shipment date; kept here for whoever shows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub snapshot: TrackingSnapshot,
    /// `estimDate`: La Poste's estimated delivery, when it gives one.
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// `deliveryDate`: when La Poste says the parcel was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Tracked {
    fn unknown(now: DateTime<Utc>) -> Self {
        Tracked {
            snapshot: TrackingSnapshot::unknown(now),
            estimated_delivery: None,
            delivered_at: None,
        }
    }
}

/// What a `returnCode` (or, without one, the HTTP status) means.
///
/// Swagger SUIVI (La Poste, Suivi-1.0.0): `baseResponse.returnCode` is one
/// of 101, 104, 105, 109, 200, 201, 208, 504; a 207 is an "Array of unitary
/// responses 200, 101, 104, 105 nor 109"; the 404 is "Unknown or Invalid
/// idShip" (its example: returnCode 104, "Votre suivi n'est pas encore
/// disponible…"); the 401 is "Unauthorized: HMAC verification failed"; the
/// 400 "Invalid request" (returnCode 400, a `returnMessage`, `idShip`). The
/// spec gives no meaning for 101, 105, 109, 201 and 208: 101/105/109 stand
/// beside 104 in the 207 list and in no shape with a `shipment`, so they
/// are read as 104 (no data for this number); 201/208 stand beside 200 as
/// answers of the service, read as 200 when they carry a `shipment`. 504
/// (in the enum; and debuss/lapostesuivi records `{returnCode: 504,
/// "Gateway Timeout"}`) and 500 are the service failing, like a 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// A `shipment` is expected.
    Data,
    /// No data for this number: not known to the carrier (yet).
    NotKnown,
    /// La Poste says the number is malformed: for that number only.
    BadNumber,
    /// The key is refused: for the whole request, fatal.
    Unauthorized,
    /// For the whole request, retried.
    RateLimited,
    /// For the whole request, retried.
    Failed,
    /// A code this client does not know: for that number only.
    Other,
}

fn meaning(code: u64) -> Meaning {
    match code {
        200 | 201 | 208 => Meaning::Data,
        101 | 104 | 105 | 109 | 404 => Meaning::NotKnown,
        400 => Meaning::BadNumber,
        401 | 403 => Meaning::Unauthorized,
        429 => Meaning::RateLimited,
        500..=599 => Meaning::Failed,
        _ => Meaning::Other,
    }
}

/// Decodes one answer of `GET /suivi/v2/idships/{ids}`: per-id results, or
/// an error for the whole request. `ids` are the numbers asked, upper case,
/// in the order sent. What [`LaPosteClient::track`] does with each reply;
/// public so that recorded answers can be checked without a server.
pub fn decode_answer(
    status: u16,
    body: &[u8],
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Result<Tracked, TrackError>>, TrackError> {
    interpret(status, None, body, ids, now)
}

/// Turns one HTTP answer into per-id results, or an error for the batch.
fn interpret(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    batch: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Result<Tracked, TrackError>>, TrackError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    // The gateway's own shape: `{code, message}` and no returnCode.
    if let Some(Value::Object(map)) = &json {
        if map.get("returnCode").is_none() {
            if let Some(code) = map.get("code").and_then(Value::as_str) {
                let message = map
                    .get("message")
                    .and_then(Value::as_str)
                    .map(|m| format!("{code}: {}", http::redact(m)))
                    .unwrap_or_else(|| code.to_owned());
                return Err(batch_error(status, code, message, retry_after));
            }
        }
    }
    let bare = matches!(json, Some(Value::Object(_)));
    let envelopes: Vec<Value> = match json {
        Some(Value::Array(list)) => list,
        Some(obj @ Value::Object(_)) => vec![obj],
        _ => {
            // No JSON. A 404 for one number is the "not yet available" case.
            if let (404, [id]) = (status, batch) {
                return Ok(HashMap::from([(id.clone(), Ok(Tracked::unknown(now)))]));
            }
            let text: String = String::from_utf8_lossy(body)
                .chars()
                .take(200)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            return Err(match status {
                200..=299 => {
                    TrackError::Decode(format!("HTTP {status} with a body that is not JSON"))
                }
                _ => batch_error(status, "", http::redact(text.trim()), retry_after),
            });
        }
    };
    let code_of = |env: &Value| {
        env.get("returnCode")
            .and_then(Value::as_u64)
            .unwrap_or(u64::from(status))
    };
    let message_of = |env: &Value| {
        http::redact(
            env.get("returnMessage")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )
    };
    // Answers about the request, not a number (debuss/lapostesuivi records
    // `{returnCode: 401, returnMessage: "Unauthorized"}`, 500 and 504 in
    // this shape): the worst one decides for the whole batch, so that a
    // refused key stops the call and a failure is retried as a whole.
    for wanted in [Meaning::Unauthorized, Meaning::RateLimited, Meaning::Failed] {
        if let Some(env) = envelopes.iter().find(|e| meaning(code_of(e)) == wanted) {
            let (code, message) = (code_of(env), message_of(env));
            return Err(match wanted {
                Meaning::Unauthorized => TrackError::Unauthorized { message },
                Meaning::RateLimited => TrackError::RateLimited {
                    message,
                    retry_after,
                },
                _ => TrackError::Failed { code, message },
            });
        }
    }
    let mut out = HashMap::new();
    for (pos, env) in envelopes.iter().enumerate() {
        let shipment = env.get("shipment");
        let named = env
            .get("idShip")
            .and_then(Value::as_str)
            .or_else(|| {
                shipment
                    .and_then(|s| s.get("idShip"))
                    .and_then(Value::as_str)
            })
            .map(str::to_ascii_uppercase);
        // One envelope naming no number, for several numbers asked: it is
        // about the request ("Votre requête est incorrecte…"), and pinning
        // it on the first number would misjudge that parcel.
        if named.is_none() && bare && batch.len() > 1 {
            return Err(TrackError::Status {
                status,
                message: message_of(env),
            });
        }
        // Positional fallback: the envelopes follow the ids' order.
        let Some(id) = named.or_else(|| batch.get(pos).cloned()) else {
            continue;
        };
        let code = code_of(env);
        let result = match meaning(code) {
            Meaning::Data => match shipment {
                Some(s) => tracked(&id, s, now),
                None => Err(TrackError::Decode(format!(
                    "returnCode {code} without a shipment"
                ))),
            },
            Meaning::NotKnown => Ok(Tracked::unknown(now)),
            Meaning::BadNumber => Err(TrackError::BadNumber {
                message: message_of(env),
            }),
            _ => Err(TrackError::Other {
                code,
                message: message_of(env),
            }),
        };
        out.insert(id, result);
    }
    if out.is_empty() && !batch.is_empty() {
        return Err(TrackError::Decode(format!(
            "HTTP {status} with no usable envelope"
        )));
    }
    Ok(out)
}

fn batch_error(
    status: u16,
    code: &str,
    message: String,
    retry_after: Option<Duration>,
) -> TrackError {
    match (status, code) {
        (401, _) | (_, "UNAUTHORIZED") => TrackError::Unauthorized { message },
        (429, _) | (_, "TOO_MANY_REQUESTS") => TrackError::RateLimited {
            message,
            retry_after,
        },
        (503, _) | (_, "SERVICE_UNAVAILABLE") => TrackError::Unavailable { message },
        (status, _) => TrackError::Status { status, message },
    }
}

mod carrier_info;

/// A snapshot from a `shipment` object.
fn tracked(id: &str, shipment: &Value, now: DateTime<Utc>) -> Result<Tracked, TrackError> {
    let mut events = Vec::new();
    for e in shipment
        .get("event")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let code = e
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let label = e
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let date = e.get("date").and_then(Value::as_str).unwrap_or_default();
        let at = DateTime::parse_from_rfc3339(date)
            .map_err(|err| TrackError::Decode(format!("event {code} has date {date:?}: {err}")))?
            .with_timezone(&Utc);
        if !is_known_code(&code) {
            tracing::warn!(api = "laposte", code = %code, number = %id, "unknown La Poste event code, kept raw");
        }
        events.push(TrackingEvent { code, label, at });
    }
    // Newest first is documented; make sure of it (stable: equal instants
    // keep La Poste's order).
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    let is_final = shipment
        .get("isFinal")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let info = carrier_info::decode(id, shipment);
    Ok(Tracked {
        estimated_delivery: info.estimated_delivery,
        delivered_at: info.delivered_at,
        snapshot: TrackingSnapshot {
            fetched_at: now,
            status: normalise_snapshot(&events, is_final),
            is_final,
            product: shipment
                .get("product")
                .and_then(Value::as_str)
                .map(str::to_owned),
            events,
            info,
        },
    })
}

#[cfg(test)]
mod tests;
