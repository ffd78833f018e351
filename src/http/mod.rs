//! The HTTP layer shared by the Trello, Magento and La Poste clients.
//!
//! [`ApiClient`] wraps a `reqwest::Client` with what every client needs: a
//! base URL, a timeout on every request, optional sliding windows
//! ([`crate::limiter`], shared by every task and client of the same
//! credentials) that pace every attempt and take the 429s, a pause gate
//! for clients without them, and retries with exponential backoff and
//! jitter (backon) where they are safe. Errors are typed ([`HttpError`]) and never carry a secret: no
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
use std::time::{Duration, SystemTime};

use backon::Retryable;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};
use tokio::time::Instant;
use url::Url;

use crate::limiter::{Answer, Limiter, retry_after};
use crate::secret::Scrubber;

mod error;
mod redact;
mod retry;
#[cfg(test)]
mod tests;

pub use error::{HttpError, Idempotent, outcome_is_unknown};
pub(crate) use error::{decode_error, is_retryable};
use redact::{error_chain, excerpt, with_header_credentials};
pub(crate) use redact::{redact, redact_url};
pub use retry::RetryPolicy;

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
    /// Sliding windows every attempt, retries included, takes a slot in
    /// and completes with its answer: the one place that paces requests.
    /// They also read the quota headers and take the 429s, in place of
    /// `rate_headers` and the pause gate. Shared by every clone of the
    /// client (and by clients of the same credentials).
    pub(crate) windows: Option<Limiter>,
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
            windows: None,
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
    windows: Option<Limiter>,
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
            windows: settings.windows,
            retry: settings.retry,
            rate_limited_pause: settings.rate_limited_pause,
            rate_headers: settings.rate_headers,
            scrubber,
            gate: Arc::new(Mutex::new(None)),
        })
    }

    /// What this client removes from upstream text.
    /// The sliding windows pacing this client (none without).
    pub(crate) fn windows(&self) -> &[std::sync::Arc<crate::limiter::Window>] {
        self.windows.as_ref().map_or(&[], |l| l.windows())
    }

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
        // Held until the answer is in (dropped on any error: counted then).
        let permit = match &self.windows {
            Some(w) => Some(w.acquire().await),
            None => None,
        };
        crate::metrics::global().rate_limit_wait(self.name, waiting.elapsed());
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
            crate::metrics::global().api_request(self.name, None);
            self.transport_error(e, &method, &path)
        })?;
        let status = resp.status().as_u16();
        crate::metrics::global().api_request(self.name, Some(status));
        let headers = resp.headers().clone();
        // An API's own quota headers (Freshdesk's X-RateLimit-Remaining)
        // close the gate whether or not a sliding window paces it too: the
        // window knows only this process's requests.
        self.read_rate_headers(&headers);
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, &method, &path))?;
        if let Some(p) = permit {
            p.complete(Answer::new(status, &headers, &body));
        }
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
                let retry_after = retry_after(&headers, SystemTime::now());
                if self.windows.is_none() {
                    self.close_gate(retry_after.unwrap_or(self.rate_limited_pause));
                }
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
