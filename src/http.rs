//! The HTTP layer shared by the Trello, Magento and La Poste clients.
//!
//! [`ApiClient`] wraps a `reqwest::Client` with what every client needs: a
//! base URL, a timeout on every request, an optional rate limiter (one per
//! API, shared by every task), a pause gate that stops all callers after a
//! 429, and retries with exponential backoff and jitter (backon) where they
//! are safe. Errors are typed ([`HttpError`]) and never carry a secret: no
//! URL (reqwest errors are stripped with `without_url()`), no query string,
//! no header; only the API name, the method and the path.
//!
//! Upstream text enters colisync here and only here, so this is where the
//! secrets an upstream may echo are removed ([`Scrubber`]): every body, of
//! an error or of an accepted answer (the clients turn accepted 4xx bodies
//! and La Poste's per-parcel messages into their own errors), is scrubbed
//! of the credentials the client sends (found in its credential headers and
//! in each signature) and of [`ApiSettings::scrubber`]'s values, before
//! anyone reads it.
//!
//! There is one retry loop, [`ApiClient::send_decoded`] ([`ApiClient::send`]
//! is it with no decoding), and everything an attempt needs is redone on
//! every attempt inside it:
//! - a [`Signer`] (Magento's OAuth 1.0a) signs each attempt afresh, seeing
//!   the exact URL sent, because a nonce must never be sent twice;
//! - the caller's decoder runs on each reply, so that a body cut short or
//!   a status the caller reads as "try again" (La Poste's gateway 503) is
//!   retried under the same policy, Retry-After and time budget as a
//!   transport error.
//!
//! Where it sits: below `board::trello`, `sources::magento` and
//! `tracking::laposte`, which build [`Call`]s, read [`Reply`]s and map
//! [`HttpError`]s to their own typed errors.
//!
//! Retry safety (why [`Idempotent`] exists): a request that never reached
//! the server (connect error) or that the server refused without acting
//! (429) is always safe to send again. A timeout, a connection reset or a
//! 5xx after the request was sent leaves the outcome unknown: reads retry,
//! writes retry only when the caller made them idempotent, otherwise the
//! caller gets an error for which [`outcome_is_unknown`] is true and settles
//! it by reading the board.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use governor::DefaultDirectRateLimiter;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, RETRY_AFTER};
use tokio::time::Instant;
use url::Url;

use crate::secret::Scrubber;

/// How long an error body excerpt may be, in characters. Enough for
/// Trello's plain-text errors and Magento's `message`.
const EXCERPT_CHARS: usize = 300;

/// Everything that can go wrong talking to an API. Display and Debug never
/// contain a URL with credentials, a query string or a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built (bad base URL, bad header value).
    #[error("{api}: invalid request {method} {path}: {detail}")]
    Invalid {
        api: &'static str,
        method: String,
        path: String,
        detail: String,
    },
    /// No answer within the timeout. The request may have been processed.
    #[error("{api}: timeout on {method} {path}")]
    Timeout {
        api: &'static str,
        method: String,
        path: String,
    },
    /// The connection could not be established: the request was not sent.
    #[error("{api}: cannot connect for {method} {path}: {detail}")]
    Connect {
        api: &'static str,
        method: String,
        path: String,
        detail: String,
    },
    /// The connection broke after the request was (maybe) sent: reset,
    /// closed without an answer, body cut short. Outcome unknown.
    #[error("{api}: connection lost on {method} {path}: {detail}")]
    Transport {
        api: &'static str,
        method: String,
        path: String,
        detail: String,
    },
    /// A non-success status the caller did not accept.
    #[error("{api}: HTTP {status} on {method} {path}: {body_excerpt}")]
    Status {
        api: &'static str,
        method: String,
        path: String,
        status: u16,
        /// The start of the body, control characters and anything looking
        /// like a credential removed (see [`redact`]).
        body_excerpt: String,
    },
    /// 401 or 403: bad or insufficient credentials. Fatal: never retried.
    #[error("{api}: unauthorized (HTTP {status}): {message}")]
    Unauthorized {
        api: &'static str,
        status: u16,
        message: String,
    },
    /// 429 (after the retries allowed, if any).
    #[error("{api}: rate limited{}", retry_after_text(.retry_after))]
    RateLimited {
        api: &'static str,
        retry_after: Option<Duration>,
    },
    /// A success answer whose body is not what we expected (truncated or
    /// malformed JSON). For a write the change may have been made.
    #[error("{api}: cannot decode {what}: {detail}")]
    Decode {
        api: &'static str,
        what: String,
        detail: String,
    },
}

fn retry_after_text(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(" (retry after {} s)", d.as_secs_f64()),
        None => String::new(),
    }
}

impl HttpError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } | HttpError::Unauthorized { status, .. } => {
                Some(*status)
            }
            HttpError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }
}

/// For a write: may the server have applied it although we got an error?
/// True for a timeout, a connection lost after sending, a 5xx, or a success
/// whose body we could not read. The sync engine then settles the write by
/// reading the board (the marker line) instead of writing again.
pub fn outcome_is_unknown(err: &HttpError) -> bool {
    match err {
        HttpError::Timeout { .. } | HttpError::Transport { .. } | HttpError::Decode { .. } => true,
        HttpError::Status { status, .. } => *status >= 500,
        HttpError::Invalid { .. }
        | HttpError::Connect { .. }
        | HttpError::Unauthorized { .. }
        | HttpError::RateLimited { .. } => false,
    }
}

/// Whether a request may be sent twice with the same effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent {
    /// Reads, and writes the caller made idempotent (a `PUT` with the full
    /// desired state): retried on timeouts, resets and 5xx.
    Yes,
    /// Writes that could happen twice (`POST` a card or a comment): only
    /// retried when the request was certainly not processed (connect error,
    /// 429).
    No,
}

/// Whether `err` may be retried for a request of this idempotency.
///
/// A [`HttpError::Decode`] is not: the request was answered, and only the
/// caller knows whether reading again is worth it (see
/// [`ApiClient::send_decoded`]).
pub(crate) fn is_retryable(err: &HttpError, idempotent: Idempotent) -> bool {
    match err {
        // Not sent, or refused before any processing.
        HttpError::Connect { .. } | HttpError::RateLimited { .. } => true,
        HttpError::Timeout { .. } | HttpError::Transport { .. } => idempotent == Idempotent::Yes,
        HttpError::Status { status, .. } => {
            idempotent == Idempotent::Yes && matches!(status, 500 | 502 | 503 | 504)
        }
        HttpError::Invalid { .. } | HttpError::Unauthorized { .. } | HttpError::Decode { .. } => {
            false
        }
    }
}

/// Backoff settings. Bounded in attempts and in total time so that a pass
/// finishes even when an API is down.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    /// Retries after the first attempt.
    pub(crate) max_retries: usize,
    /// No retry starts once this much time has passed since the first
    /// attempt (Retry-After included).
    pub(crate) max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(15),
            max_retries: 4,
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Tiny delays for tests: same logic, milliseconds instead of seconds.
    /// Not in the shipped binary (`test-hooks`).
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn fast() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            max_retries: 3,
            max_total: Duration::from_secs(5),
        }
    }

    /// No retry at all (tests; `test-hooks`).
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::fast()
        }
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

/// Names of the headers by which an API tells how much of its quota is
/// left (Trello: `x-rate-limit-api-token-remaining`, `…-interval-ms`;
/// Freshdesk: `x-ratelimit-remaining` and no interval, its window being a
/// minute: the pause is then [`ApiSettings::rate_limited_pause`]).
#[derive(Debug, Clone)]
pub(crate) struct RateHeaders {
    pub(crate) remaining: HeaderName,
    pub(crate) interval_ms: Option<HeaderName>,
}

/// One request, described without its base URL. Built with [`Call::new`]
/// and the chained setters.
#[derive(Debug, Clone)]
pub struct Call {
    pub(crate) method: Method,
    /// Path segments relative to the base URL, e.g. `["1", "boards", id]`.
    /// Each is percent-encoded on its own, so an id cannot inject a `/` or
    /// a `?`.
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) json: Option<serde_json::Value>,
    /// Per-request headers (e.g. an OAuth 1.0a signature). Never logged.
    pub(crate) headers: HeaderMap,
    pub(crate) idempotent: Idempotent,
    /// Non-2xx statuses returned as `Ok(Reply)` because the caller reads
    /// them as data (La Poste's 404 "not yet available").
    pub(crate) accept: Vec<u16>,
}

impl Call {
    /// A call to `path` (`/`-separated, relative to the base URL). Reads
    /// (GET) default to idempotent, other methods to not.
    pub(crate) fn new(method: Method, path: &str) -> Self {
        let idempotent = if method == Method::GET {
            Idempotent::Yes
        } else {
            Idempotent::No
        };
        Call {
            method,
            segments: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            query: Vec::new(),
            json: None,
            headers: HeaderMap::new(),
            idempotent,
            accept: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Self {
        Call::new(Method::GET, path)
    }

    pub fn post(path: &str) -> Self {
        Call::new(Method::POST, path)
    }

    pub(crate) fn put(path: &str) -> Self {
        Call::new(Method::PUT, path)
    }

    /// Appends one path segment (an id), encoded.
    pub(crate) fn segment(mut self, s: impl Into<String>) -> Self {
        self.segments.push(s.into());
        self
    }

    pub fn query(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.query.push((k.into(), v.into()));
        self
    }

    pub(crate) fn json(mut self, v: serde_json::Value) -> Self {
        self.json = Some(v);
        self
    }

    pub(crate) fn idempotent(mut self, i: Idempotent) -> Self {
        self.idempotent = i;
        self
    }

    pub fn accept(mut self, status: u16) -> Self {
        self.accept.push(status);
        self
    }

    /// The path as logged and put in errors: segments only, no query.
    pub(crate) fn path(&self) -> String {
        let mut p = String::new();
        for s in &self.segments {
            p.push('/');
            p.push_str(s);
        }
        redact(&p)
    }
}

/// An answer the caller accepted (2xx or listed in [`Call::accept`]).
#[derive(Debug, Clone)]
pub struct Reply {
    pub(crate) api: &'static str,
    pub(crate) status: u16,
    /// Read by clients whose API pages or counts in headers (Freshdesk's
    /// `Link` and `X-RateLimit-*`).
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// Decodes the body as JSON; `what` names it in the error ("board
    /// cards"). The error keeps serde's category and position, not data.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| decode_error(self.api, what, &e))
    }

    /// The body as text (lossy), for plain-text APIs.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A decode error without any of the decoded data (serde messages may quote
/// values).
pub(crate) fn decode_error(api: &'static str, what: &str, e: &serde_json::Error) -> HttpError {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    HttpError::Decode {
        api,
        what: what.to_owned(),
        detail: format!("{kind} at line {} column {}", e.line(), e.column()),
    }
}

/// Signs every attempt of every request of a client, retries included:
/// for schemes whose signature covers a nonce that must not repeat and the
/// exact URL sent (OAuth 1.0a), which a header fixed once per request
/// cannot satisfy.
pub trait Signer: Send + Sync {
    /// Headers to add to one attempt of `method` on `url`, the full URL
    /// about to be sent, query included. The error text goes into
    /// [`HttpError::Invalid`]: it must not hold a secret.
    fn sign(&self, method: &Method, url: &Url) -> Result<HeaderMap, String>;
}

/// Settings of an [`ApiClient`].
#[derive(Clone)]
pub struct ApiSettings {
    /// "trello", "magento" or "laposte": in every error and log line.
    pub(crate) name: &'static str,
    pub(crate) base_url: Url,
    /// Total time of one attempt (connect, send, answer, body).
    pub timeout: Duration,
    /// Sent with every request (credentials). Marked sensitive.
    pub default_headers: HeaderMap,
    /// Called on every attempt for credentials that change per attempt.
    /// Its headers are marked sensitive.
    pub signer: Option<Arc<dyn Signer>>,
    /// Waited on before every attempt, retries included. Shared by every
    /// clone of the client, hence by every task using the API.
    pub(crate) limiter: Option<Arc<DefaultDirectRateLimiter>>,
    pub retry: RetryPolicy,
    /// How long every caller pauses after a 429 without Retry-After.
    pub rate_limited_pause: Duration,
    pub(crate) rate_headers: Option<RateHeaders>,
    /// Secret values to remove from every body besides those found in the
    /// credential headers (e.g. an OAuth secret that is never sent).
    pub scrubber: Scrubber,
}

impl fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers hold credentials; the base URL could too (userinfo).
        f.debug_struct("ApiSettings")
            .field("name", &self.name)
            .field("base_url", &redact_url(&self.base_url))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ApiSettings {
    pub fn new(name: &'static str, base_url: Url) -> Self {
        ApiSettings {
            name,
            base_url,
            timeout: Duration::from_secs(30),
            default_headers: HeaderMap::new(),
            signer: None,
            limiter: None,
            retry: RetryPolicy::default(),
            rate_limited_pause: Duration::from_secs(1),
            rate_headers: None,
            scrubber: Scrubber::default(),
        }
    }
}

/// A client of one API. Cheap to clone; clones share the connection pool,
/// the rate limiter and the pause gate.
#[derive(Clone)]
pub struct ApiClient {
    name: &'static str,
    base: Url,
    client: reqwest::Client,
    signer: Option<Arc<dyn Signer>>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    retry: RetryPolicy,
    rate_limited_pause: Duration,
    rate_headers: Option<RateHeaders>,
    /// The configured secrets and those of the default headers.
    scrubber: Scrubber,
    /// No request starts before this instant: set after a 429 or when the
    /// server says the quota is spent, so that concurrent tasks stop too
    /// (Trello blocks a key after 200 429s in a window).
    gate: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("name", &self.name)
            .field("base", &redact_url(&self.base))
            .finish_non_exhaustive()
    }
}

/// Why one attempt of [`ApiClient::send_decoded`] failed: classified by
/// the shared rules, or by the caller's decoder.
enum Failure<E> {
    Http(HttpError),
    Decoded(E),
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Http(e) => e.fmt(f),
            Failure::Decoded(e) => e.fmt(f),
        }
    }
}

impl ApiClient {
    pub fn new(settings: ApiSettings) -> Result<Self, HttpError> {
        let mut headers = settings.default_headers;
        for v in headers.values_mut() {
            v.set_sensitive(true);
        }
        let scrubber = with_header_credentials(&settings.scrubber, &headers);
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .default_headers(headers)
            .user_agent(concat!("colisync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Invalid {
                api: settings.name,
                method: String::new(),
                path: String::new(),
                detail: error_chain(&e.without_url()),
            })?;
        Ok(ApiClient {
            name: settings.name,
            base: settings.base_url,
            client,
            signer: settings.signer,
            limiter: settings.limiter,
            retry: settings.retry,
            rate_limited_pause: settings.rate_limited_pause,
            rate_headers: settings.rate_headers,
            scrubber,
            gate: Arc::new(Mutex::new(None)),
        })
    }

    /// What this client removes from upstream text.
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    /// Replaces the retry policy (tests use `RetryPolicy::fast`).
    pub(crate) fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the pause after a 429 without Retry-After or a spent quota
    /// (tests of an API whose window is a minute shorten it).
    pub fn with_rate_limited_pause(mut self, pause: Duration) -> Self {
        self.rate_limited_pause = pause;
        self
    }

    /// Sends `call`, retrying where [`is_retryable`] allows, within the
    /// retry policy. Returns the reply for 2xx and accepted statuses; the
    /// body is not looked at, so a truncated one is the caller's
    /// [`HttpError::Decode`] (for a write: outcome unknown, never resent).
    pub async fn send(&self, call: &Call) -> Result<Reply, HttpError> {
        self.send_decoded(call, Ok, |_: &HttpError| false).await
    }

    /// Sends `call` and turns each reply into data with `decode`, all
    /// inside one retry loop: transport errors and statuses are retried
    /// where [`is_retryable`] allows, and an error of `decode` (a body cut
    /// short, an accepted status meaning "try again") when `retryable`
    /// says so and the call is [`Idempotent::Yes`]: a write that was
    /// answered was applied, and is never sent again. Retry-After and the
    /// policy's total budget bound both kinds alike. HTTP errors left
    /// after the retries become `E` through `From`.
    pub async fn send_decoded<T, E>(
        &self,
        call: &Call,
        decode: impl Fn(Reply) -> Result<T, E>,
        retryable: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        E: From<HttpError> + fmt::Display,
    {
        let started = Instant::now();
        let max_total = self.retry.max_total;
        let idempotent = call.idempotent;
        let decode = &decode;
        let outcome = (|| async move {
            let reply = self.attempt(call).await.map_err(Failure::Http)?;
            decode(reply).map_err(Failure::Decoded)
        })
        .retry(self.retry.backoff())
        .sleep(tokio::time::sleep)
        .when(|f| match f {
            Failure::Http(e) => is_retryable(e, idempotent),
            Failure::Decoded(e) => idempotent == Idempotent::Yes && retryable(e),
        })
        .adjust(|f, backoff| {
            let backoff = backoff?;
            // Honour Retry-After: never come back sooner than asked.
            let delay = match f {
                Failure::Http(HttpError::RateLimited {
                    retry_after: Some(ra),
                    ..
                }) => backoff.max(*ra),
                _ => backoff,
            };
            if started.elapsed() + delay > max_total {
                None
            } else {
                Some(delay)
            }
        })
        .notify(|f, delay| {
            tracing::warn!(api = self.name, method = %call.method, path = %call.path(), error = %f, delay_ms = delay.as_millis() as u64, "retrying");
        })
        .await;
        outcome.map_err(|f| match f {
            Failure::Http(e) => E::from(e),
            Failure::Decoded(e) => e,
        })
    }

    /// One attempt: gate, limiter, request, classification.
    async fn attempt(&self, call: &Call) -> Result<Reply, HttpError> {
        let waiting = Instant::now();
        self.wait_gate().await;
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        crate::ops::metrics::global().rate_limit_wait(self.name, waiting.elapsed());
        let method = call.method.to_string();
        let path = call.path();
        let url = self.url_for(call).map_err(|detail| HttpError::Invalid {
            api: self.name,
            method: method.clone(),
            path: path.clone(),
            detail,
        })?;
        // Signed here, after the gate and the limiter, so that every
        // attempt carries a fresh nonce and a current timestamp.
        let mut headers = call.headers.clone();
        // A signature carries credentials too (OAuth 1.0a's consumer key and
        // token), in a header built per attempt.
        let mut scrubber = self.scrubber.clone();
        if let Some(signer) = &self.signer {
            let signed = signer
                .sign(&call.method, &url)
                .map_err(|detail| HttpError::Invalid {
                    api: self.name,
                    method: method.clone(),
                    path: path.clone(),
                    detail: redact(&self.scrubber.scrub(&detail)),
                })?;
            scrubber = with_header_credentials(&scrubber, &signed);
            // The signer's headers replace the call's of the same name.
            for name in signed.keys() {
                headers.remove(name);
            }
            for (name, value) in &signed {
                let mut value = value.clone();
                value.set_sensitive(true);
                headers.append(name.clone(), value);
            }
        }
        let mut req = self
            .client
            .request(call.method.clone(), url)
            .headers(headers);
        if let Some(body) = &call.json {
            req = req.json(body);
        }
        let started = Instant::now();
        let resp = req.send().await.map_err(|e| {
            crate::ops::metrics::global().api_request(self.name, None);
            self.transport_error(e, &method, &path)
        })?;
        let status = resp.status().as_u16();
        crate::ops::metrics::global().api_request(self.name, Some(status));
        let headers = resp.headers().clone();
        self.read_rate_headers(&headers);
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, &method, &path))?;
        let body = scrubber.scrub_bytes(&body).into_owned();
        tracing::debug!(api = self.name, method = %method, path = %path, status, elapsed_ms = started.elapsed().as_millis() as u64, "http");

        if (200..300).contains(&status) || call.accept.contains(&status) {
            return Ok(Reply {
                api: self.name,
                status,
                headers,
                body,
            });
        }
        let excerpt = excerpt(&body);
        Err(match status {
            429 => {
                let retry_after = parse_retry_after(&headers);
                self.close_gate(retry_after.unwrap_or(self.rate_limited_pause));
                HttpError::RateLimited {
                    api: self.name,
                    retry_after,
                }
            }
            401 | 403 => HttpError::Unauthorized {
                api: self.name,
                status,
                message: excerpt,
            },
            _ => HttpError::Status {
                api: self.name,
                method,
                path,
                status,
                body_excerpt: excerpt,
            },
        })
    }

    fn url_for(&self, call: &Call) -> Result<Url, String> {
        let mut url = self.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| "base URL cannot have a path".to_owned())?;
            segs.pop_if_empty();
            for s in &call.segments {
                segs.push(s);
            }
        }
        if !call.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn transport_error(&self, e: reqwest::Error, method: &str, path: &str) -> HttpError {
        let e = e.without_url();
        let (api, method, path) = (self.name, method.to_owned(), path.to_owned());
        let detail = || self.scrubber.scrub(&error_chain(&e)).into_owned();
        if e.is_connect() {
            HttpError::Connect {
                api,
                method,
                path,
                detail: detail(),
            }
        } else if e.is_timeout() {
            HttpError::Timeout { api, method, path }
        } else {
            HttpError::Transport {
                api,
                method,
                path,
                detail: detail(),
            }
        }
    }

    fn read_rate_headers(&self, headers: &HeaderMap) {
        let Some(names) = &self.rate_headers else {
            return;
        };
        let num = |name: &HeaderName| -> Option<u64> {
            headers.get(name)?.to_str().ok()?.trim().parse().ok()
        };
        if num(&names.remaining) == Some(0) {
            // The quota is spent (someone else uses the token too): the
            // next request would be refused. Wait out the interval.
            let pause = names
                .interval_ms
                .as_ref()
                .and_then(num)
                .map(Duration::from_millis)
                .unwrap_or(self.rate_limited_pause)
                .min(self.rate_limited_pause.max(Duration::from_secs(1)));
            self.close_gate(pause);
        }
    }

    fn close_gate(&self, pause: Duration) {
        let until = Instant::now() + pause;
        if let Ok(mut g) = self.gate.lock() {
            if g.is_none_or(|t| t < until) {
                *g = Some(until);
            }
        }
    }

    async fn wait_gate(&self) {
        let until = self.gate.lock().ok().and_then(|g| *g);
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }
}

/// Retry-After in seconds (the HTTP-date form is not used by these APIs;
/// it is ignored and the default pause applies).
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = v.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// `scrubber` and the credentials of `headers`: the value of a key or
/// token header (`X-Okapi-Key`), a Bearer token, the `…key` and `…token`
/// parameters of an `OAuth` header. Other headers (`Accept`) are not
/// secrets, and neither are the fixed OAuth parameters (`oauth_version`).
fn with_header_credentials(scrubber: &Scrubber, headers: &HeaderMap) -> Scrubber {
    let mut values: Vec<String> = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else {
            continue;
        };
        let value = value.trim();
        let name = name.as_str();
        if name == "authorization" || name == "proxy-authorization" {
            match value.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("oauth") => {
                    for param in rest.split(',') {
                        let Some((k, v)) = param.trim().split_once('=') else {
                            continue;
                        };
                        let k = k.trim().to_ascii_lowercase();
                        if k.ends_with("key") || k.ends_with("token") {
                            let v = v.trim().trim_matches('"');
                            values.push(v.to_owned());
                            // The header carries it percent-encoded.
                            if let Ok(decoded) =
                                percent_encoding::percent_decode_str(v).decode_utf8()
                            {
                                values.push(decoded.into_owned());
                            }
                        }
                    }
                }
                Some((_scheme, rest)) => values.push(rest.trim().to_owned()),
                None => values.push(value.to_owned()),
            }
        } else if ["key", "token", "secret"].iter().any(|w| name.contains(w)) {
            values.push(value.to_owned());
        }
    }
    scrubber.with(values.iter().map(String::as_str))
}

/// The start of a body, on one line, redacted.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    redact(one_line.trim())
}

/// The Display of an error and its sources, redacted.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    redact(&out)
}

/// Scheme, host, port and path of a URL: no userinfo, no query, no fragment.
pub(crate) fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Removes what looks like a credential from free text before it is logged
/// or put in an error: query strings of URLs (`?key=…&token=…`), and the
/// values after `key=`, `token=`, `oauth_token=`, `oauth_consumer_key=`,
/// `oauth_signature=`, `apikey=`, `Bearer `, `OAuth `, `X-Okapi-Key:`.
pub(crate) fn redact(text: &str) -> String {
    const MARKERS: [&str; 9] = [
        "key=",
        "token=",
        "secret=",
        "signature=",
        "bearer ",
        "oauth ",
        "x-okapi-key:",
        "authorization:",
        "password=",
    ];
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        // A URL query: drop everything from `?` to the next whitespace.
        if bytes[i] == b'?' && lower[..i].contains("://") {
            let end = text[i..]
                .find(char::is_whitespace)
                .map_or(text.len(), |n| i + n);
            out.push_str("?[redacted]");
            i = end;
            continue;
        }
        if let Some(m) = MARKERS.iter().find(|m| lower[i..].starts_with(**m)) {
            out.push_str(&text[i..i + m.len()]);
            i += m.len();
            // Skip optional spaces, then the value up to a separator.
            while i < text.len() && bytes[i] == b' ' {
                out.push(' ');
                i += 1;
            }
            let end = text[i..]
                .find(|c: char| c.is_whitespace() || c == '&' || c == ',' || c == ';')
                .map_or(text.len(), |n| i + n);
            if end > i {
                out.push_str("[redacted]");
            }
            i = end;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_credentials() {
        let cases = [
            (
                "error for https://api.trello.com/1/cards?key=K123&token=T456 x",
                "error for https://api.trello.com/1/cards?[redacted] x",
            ),
            (
                "OAuth oauth_consumer_key=\"K1\", oauth_token=\"T1\"",
                "OAuth [redacted], oauth_token=[redacted]",
            ),
            ("Bearer abc.def", "Bearer [redacted]"),
            ("X-Okapi-Key: s3cr3t", "X-Okapi-Key: [redacted]"),
            ("invalid value for idList", "invalid value for idList"),
            ("café ?q=1 sans url", "café ?q=1 sans url"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn redact_url_keeps_path_only() {
        let u = Url::parse("https://u:p@api.example/1/cards?key=K&token=T#f").expect("url");
        assert_eq!(redact_url(&u), "https://api.example/1/cards");
    }

    #[test]
    fn classification() {
        let t = HttpError::Timeout {
            api: "trello",
            method: "POST".into(),
            path: "/1/cards".into(),
        };
        let s = |status| HttpError::Status {
            api: "trello",
            method: "POST".into(),
            path: "/1/cards".into(),
            status,
            body_excerpt: String::new(),
        };
        let rl = HttpError::RateLimited {
            api: "trello",
            retry_after: None,
        };
        assert!(outcome_is_unknown(&t));
        assert!(outcome_is_unknown(&s(503)));
        assert!(!outcome_is_unknown(&s(400)));
        assert!(!outcome_is_unknown(&rl));
        assert!(is_retryable(&t, Idempotent::Yes));
        assert!(!is_retryable(&t, Idempotent::No));
        assert!(is_retryable(&rl, Idempotent::No));
        assert!(is_retryable(&s(502), Idempotent::Yes));
        assert!(!is_retryable(&s(502), Idempotent::No));
        assert!(!is_retryable(&s(404), Idempotent::Yes));
    }

    #[test]
    fn call_path_is_segments_without_query() {
        let c = Call::get("1/boards").segment("abc").query("token", "T");
        assert_eq!(c.path(), "/1/boards/abc");
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, reqwest::header::HeaderValue::from_static("2"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            RETRY_AFTER,
            reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), None);
    }
}
