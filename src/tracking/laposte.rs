//! La Poste Suivi v2 client: tracking snapshots of letters, Colissimo and
//! Chronopost parcels, up to ten numbers per request.
//!
//! Sits at the "pull" edge of the pipeline, next to the Magento client: the
//! sync engine hands it the numbers due a poll and stores the snapshots.
//!
//! How the API really behaves (API-NOTES.md) and what this module does:
//! - `GET {base}/suivi/v2/idships/{id,id,…}?lang=fr_FR` with `X-Okapi-Key`
//!   and `Accept: application/json`; 1 to 10 ids of 11-15 alphanumerics.
//!   Numbers that are not are reported per number and never sent.
//! - One id: 200 with a bare envelope `{lang, scope, returnCode, shipment}`,
//!   sometimes wrapped in a one-element array. Several: 207 with an array of
//!   envelopes, each with its own `returnCode`; the HTTP status says little.
//! - returnCode 104 (or a 404, with or without JSON) means "not yet known to
//!   the carrier": a snapshot with status `Unknown`, not an error.
//! - returnCode 400 is a bad number: an error for that number only.
//! - Gateway errors have another shape, `{code, message}`, with 401, 429
//!   and 503: they concern the whole request (401 is fatal; 429 and 503 are
//!   retried with backoff, honouring `Retry-After`). Retries, truncated
//!   bodies included, run in the shared loop ([`ApiClient::send_decoded`])
//!   with [`TrackError::is_retryable`] judging the decoded answer.
//! - Events come newest first; they are normalised with
//!   [`crate::tracking::status::normalise`], unknown codes logged and kept.
//!
//! One governor limiter per client (default 5 requests/s) is shared by every
//! task using it. Errors never carry the API key nor a URL.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::config::LaPosteConfig;
use crate::domain::{TrackingEvent, TrackingSnapshot};
use crate::http::{self, ApiClient, ApiSettings, Call, HttpError, Idempotent, RetryPolicy};
use crate::tracking::status::{is_known_code, normalise};

/// The API's name in errors and logs.
const API: &str = "laposte";

/// At most this many ids per request (the API's limit).
pub const MAX_IDS_PER_REQUEST: usize = 10;

pub use crate::domain::{can_track, is_valid_number};

/// Why one number has no snapshot. Never holds the API key nor a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    /// Not 11-15 alphanumerics: not sent.
    #[error("not a La Poste tracking number (11 to 15 letters and digits)")]
    InvalidNumber,
    /// La Poste says the number is malformed (returnCode 400).
    #[error("La Poste rejected the number: {message}")]
    BadNumber { message: String },
    /// Gateway 401: the API key is wrong or revoked. Fatal.
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

/// The Suivi v2 client. Share it (`Arc`) so that the limiter is shared.
pub struct LaPosteClient {
    /// The shared HTTP layer: timeout, limiter, key header, retries.
    api: ApiClient,
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
        let rate = NonZeroU32::new(config.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let limiter: Arc<DefaultDirectRateLimiter> =
            Arc::new(RateLimiter::direct(Quota::per_second(rate)));
        let mut settings = ApiSettings::new(API, config.base_url.clone());
        settings.timeout = config.timeout;
        settings.limiter = Some(limiter);
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
        let mut valid: Vec<String> = Vec::new();
        for n in numbers {
            let n = key(n);
            if is_valid_number(&n) && !valid.contains(&n) {
                valid.push(n);
            }
        }
        let mut results: HashMap<String, Result<TrackingSnapshot, TrackError>> = HashMap::new();
        let mut fatal: Option<TrackError> = None;
        for batch in valid.chunks(MAX_IDS_PER_REQUEST) {
            // After a 401 every batch would get one too: do not hammer the
            // gateway with a bad key.
            if let Some(e) = &fatal {
                results.extend(batch.iter().map(|id| (id.clone(), Err(e.clone()))));
                continue;
            }
            match self.fetch_batch(batch, now).await {
                Ok(per_id) => results.extend(per_id),
                Err(e) => {
                    tracing::warn!(api = API, ids = batch.len(), error = %e, "a La Poste batch failed");
                    if e.is_fatal() {
                        fatal = Some(e.clone());
                    }
                    results.extend(batch.iter().map(|id| (id.clone(), Err(e.clone()))));
                }
            }
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

    /// One request (with retries) for up to ten valid ids.
    async fn fetch_batch(
        &self,
        batch: &[String],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, Result<TrackingSnapshot, TrackError>>, TrackError> {
        let call = Call::get("suivi/v2/idships")
            .segment(batch.join(","))
            .query("lang", "fr_FR")
            // Statuses that carry per-id answers or the gateway's shape.
            .accept(400)
            .accept(401)
            .accept(404)
            .accept(503);
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

/// Turns one HTTP answer into per-id results, or an error for the batch.
fn interpret(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    batch: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Result<TrackingSnapshot, TrackError>>, TrackError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    // The gateway's own shape: `{code, message}` and no returnCode.
    if let Some(Value::Object(map)) = &json {
        if map.get("returnCode").is_none() {
            if let Some(code) = map.get("code").and_then(Value::as_str) {
                let message = map
                    .get("message")
                    .and_then(Value::as_str)
                    .map(|m| format!("{code}: {m}"))
                    .unwrap_or_else(|| code.to_owned());
                return Err(batch_error(status, code, message, retry_after));
            }
        }
    }
    let envelopes: Vec<Value> = match json {
        Some(Value::Array(list)) => list,
        Some(obj @ Value::Object(_)) => vec![obj],
        _ => {
            // No JSON. A 404 for one number is the "not yet available" case.
            if let (404, [id]) = (status, batch) {
                return Ok(HashMap::from([(id.clone(), Ok(unknown(now)))]));
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
    let mut out = HashMap::new();
    for (pos, env) in envelopes.iter().enumerate() {
        let shipment = env.get("shipment");
        let id = env
            .get("idShip")
            .and_then(Value::as_str)
            .or_else(|| {
                shipment
                    .and_then(|s| s.get("idShip"))
                    .and_then(Value::as_str)
            })
            .map(str::to_ascii_uppercase)
            // Positional fallback: the envelopes follow the ids' order.
            .or_else(|| batch.get(pos).cloned());
        let Some(id) = id else { continue };
        let code = env
            .get("returnCode")
            .and_then(Value::as_u64)
            .unwrap_or(u64::from(status));
        let message = env
            .get("returnMessage")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let result = match code {
            200 => match shipment {
                Some(s) => snapshot(&id, s, now),
                None => Err(TrackError::Decode(
                    "returnCode 200 without a shipment".into(),
                )),
            },
            104 | 404 => Ok(unknown(now)),
            400 => Err(TrackError::BadNumber { message }),
            code => Err(TrackError::Other { code, message }),
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

fn unknown(now: DateTime<Utc>) -> TrackingSnapshot {
    TrackingSnapshot::unknown(now)
}

/// A snapshot from a `shipment` object.
fn snapshot(
    id: &str,
    shipment: &Value,
    now: DateTime<Utc>,
) -> Result<TrackingSnapshot, TrackError> {
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
    Ok(TrackingSnapshot {
        fetched_at: now,
        status: normalise(&events),
        is_final: shipment
            .get("isFinal")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        product: shipment
            .get("product")
            .and_then(Value::as_str)
            .map(str::to_owned),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TrackingStatus;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn numbers_are_checked_locally() {
        assert!(is_valid_number("6A12345678901"));
        assert!(is_valid_number("XX123456789FR"));
        assert!(!is_valid_number("1234567890"));
        assert!(!is_valid_number("1234567890123456"));
        assert!(!is_valid_number("6A1234567890-"));
        assert!(!is_valid_number("6A12345678,01"));
    }

    #[test]
    fn bare_array_mixed_and_gateway_answers() {
        let one = br#"{"lang":"fr_FR","scope":"open","returnCode":200,"shipment":{"idShip":"6A12345678901","product":"Colissimo","isFinal":false,"event":[
            {"code":"ET1","label":"En cours","date":"2026-05-02T08:00:00+02:00"},
            {"code":"PC1","label":"Pris en charge","date":"2026-05-01T18:00:00+02:00"}]}}"#;
        let r = interpret(200, None, one, &ids(&["6A12345678901"]), now()).expect("ok");
        let s = r["6A12345678901"].clone().expect("snapshot");
        assert_eq!(s.status, TrackingStatus::InTransit);
        assert_eq!(
            s.events[0].at,
            Utc.with_ymd_and_hms(2026, 5, 2, 6, 0, 0)
                .single()
                .expect("t")
        );
        assert_eq!(s.product.as_deref(), Some("Colissimo"));

        let wrapped = [b"[".as_slice(), one.as_slice(), b"]".as_slice()].concat();
        assert!(interpret(200, None, &wrapped, &ids(&["6A12345678901"]), now()).expect("ok")["6A12345678901"].is_ok());

        let mixed = br#"[{"returnCode":200,"shipment":{"idShip":"6A12345678901","event":[]}},
            {"returnCode":104,"idShip":"6A12345678902","returnMessage":"pas encore disponible"},
            {"returnCode":400,"idShip":"6A12345678903","returnMessage":"numero invalide"}]"#;
        let r = interpret(
            207,
            None,
            mixed,
            &ids(&["6A12345678901", "6A12345678902", "6A12345678903"]),
            now(),
        )
        .expect("ok");
        assert_eq!(
            r["6A12345678902"].clone().expect("unknown").status,
            TrackingStatus::Unknown
        );
        assert!(matches!(
            r["6A12345678903"],
            Err(TrackError::BadNumber { .. })
        ));

        assert!(matches!(
            interpret(404, None, b"", &ids(&["6A12345678901"]), now()).expect("ok")["6A12345678901"],
            Ok(TrackingSnapshot {
                status: TrackingStatus::Unknown,
                ..
            })
        ));
        let gw = br#"{"code":"TOO_MANY_REQUESTS","message":"slow down"}"#;
        assert!(matches!(
            interpret(
                429,
                Some(Duration::from_secs(2)),
                gw,
                &ids(&["6A12345678901"]),
                now()
            ),
            Err(TrackError::RateLimited {
                retry_after: Some(_),
                ..
            })
        ));
        let gw = br#"{"code":"UNAUTHORIZED","message":"Invalid apikey"}"#;
        assert!(
            interpret(401, None, gw, &ids(&["6A12345678901"]), now()).is_err_and(|e| e.is_fatal())
        );
        assert!(
            interpret(200, None, b"{\"lang\":", &ids(&["6A12345678901"]), now())
                .is_err_and(|e| e.is_retryable())
        );
    }
}
