//! Sliding-window request limiter: the one place that paces an API's
//! requests (Trello's and La Poste's), sitting inside the HTTP layer's
//! attempt, so that every request, retries and settle reads included, is
//! counted.
//!
//! A [`Limiter`] is a set of [`Window`]s that must all have room before a
//! request starts: for Trello, the API key's window (shared by every board
//! and client using that key, 300 requests / 10 s) and the token's (100 /
//! 10 s). A window is a log of the instants its requests were *answered*
//! plus a count of those still in flight; a request may start when
//! `answered within the span + in flight + phantoms < limit`.
//!
//! Why completion instants and not send instants: Trello counts arrivals.
//! Take any `limit + 1` requests and `j` the one started last; when `j`
//! started, one of the others, `i`, had already left the log, so
//! `answered_i + span ≤ started_j`. Since `arrived_i ≤ answered_i` and
//! `arrived_j ≥ started_j`, the two arrive at least `span` apart: never
//! more than `limit` arrivals in any window of length `span`, whatever the
//! latencies and however many requests are in flight. A request dropped
//! without an answer counts as answered when dropped, which is after it
//! could have arrived. The cost is one latency per slot: `limit / (span +
//! latency)` sustained, with Trello's own burst (the whole window at once)
//! when the log is empty. A GCRA limiter (governor) cannot give both the
//! burst and the full sustained rate under a sliding window, and has no
//! notion of a request in flight, hence this hand-written log.
//!
//! Server feedback, read on every answer ([`Permit::complete`]):
//! - `…-max` lower than configured, `…-interval-ms` longer: adopted (the
//!   configuration stays the upper bound);
//! - `…-remaining` lower than this window's own count: the difference is
//!   someone else's use of the token or key (another process, a Power-Up)
//!   and is logged as phantom entries; a higher figure never removes ours;
//! - 429: the window named by the body's error code (Trello:
//!   `API_KEY_LIMIT_EXCEEDED` / `API_TOKEN_LIMIT_EXCEEDED`) is paused for
//!   Retry-After (seconds or HTTP date) or, without one, a whole span, the
//!   only wait sure to clear a sliding window; an unknown code pauses the
//!   last window (the narrowest: the token's).
//!
//! Sources: Trello's rate-limit guide
//! (developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/:
//! 300 / 10 s per key, 100 / 10 s per token, the two 429 error codes) and
//! the `x-rate-limit-api-{token,key}-*` headers (Trello staff answer,
//! community.developer.atlassian.com thread 30353). Trello does not
//! document whether its window slides; a client safe under a sliding
//! window is also safe under a fixed one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The longest pause a Retry-After may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Trello's per-key limit is three times its per-token one (300 vs 100
/// per 10 s); scaling the configured token window keeps the two in step
/// when a test shrinks the window.
pub const TRELLO_KEY_FACTOR: u32 = 3;

/// Names of the headers by which a server reports one window.
#[derive(Debug, Clone, Copy)]
pub struct QuotaHeaders {
    pub remaining: &'static str,
    pub max: &'static str,
    pub interval_ms: &'static str,
}

/// What a window is: its limit per span, the headers reporting it and the
/// 429 error code naming it.
#[derive(Debug, Clone, Copy)]
pub struct WindowSpec {
    pub name: &'static str,
    pub limit: u32,
    pub span: Duration,
    pub headers: Option<QuotaHeaders>,
    pub refusal: Option<&'static str>,
}

/// One sliding window, shared (`Arc`) by every client whose requests count
/// against it.
#[derive(Debug)]
pub struct Window {
    spec: WindowSpec,
    state: Mutex<WindowState>,
    /// Woken when a request in flight completes: a window full of requests
    /// in flight has no expiry instant to sleep until.
    freed: Notify,
}

#[derive(Debug)]
struct WindowState {
    limit: u32,
    span: Duration,
    /// Completion instants of our requests and phantom entries, oldest
    /// first (pushed under the lock with the then current instant).
    used: VecDeque<Instant>,
    in_flight: u32,
    paused_until: Option<Instant>,
    /// A lowered limit or lengthened span is logged once.
    warned: bool,
}

enum Room {
    Free,
    /// Nothing starts before this instant (oldest entry expires, or pause).
    Until(Instant),
    /// Full of requests in flight: wait for one to complete.
    InFlight,
}

impl WindowState {
    fn expire(&mut self, now: Instant) {
        while self.used.front().is_some_and(|t| *t + self.span <= now) {
            self.used.pop_front();
        }
    }

    fn count(&self) -> u32 {
        (self.used.len() as u32).saturating_add(self.in_flight)
    }

    fn room(&mut self, now: Instant) -> Room {
        self.expire(now);
        match self.paused_until {
            Some(p) if p > now => return Room::Until(p),
            Some(_) => self.paused_until = None,
            None => {}
        }
        if self.count() < self.limit {
            Room::Free
        } else if let Some(t) = self.used.front() {
            Room::Until(*t + self.span)
        } else {
            Room::InFlight
        }
    }

    fn pause(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }
}

impl Window {
    pub fn new(spec: WindowSpec) -> Self {
        let limit = spec.limit.max(1);
        let span = spec.span.max(Duration::from_millis(1));
        Window {
            spec: WindowSpec {
                limit,
                span,
                ..spec
            },
            state: Mutex::new(WindowState {
                limit,
                span,
                used: VecDeque::new(),
                in_flight: 0,
                paused_until: None,
                warned: false,
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WindowState> {
        // A panic while holding this lock leaves counts that are still
        // meaningful (each change is one field at a time).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests in flight and entries within the span (tests, bench).
    pub fn used(&self) -> u32 {
        let mut st = self.lock();
        st.expire(Instant::now());
        st.count()
    }

    /// When the requests still within the span completed, as wall-clock
    /// instants, oldest first: what a process leaves for the next one
    /// (`colisync once` starts a fresh process every pass).
    pub fn recent(&self) -> Vec<SystemTime> {
        let mut st = self.lock();
        let now = Instant::now();
        st.expire(now);
        let wall = SystemTime::now();
        st.used
            .iter()
            .filter_map(|t| wall.checked_sub(now.saturating_duration_since(*t)))
            .collect()
    }

    /// Counts requests an earlier process made (their completion instants)
    /// as if this one had made them, so that a process started right after
    /// another does not take the whole window again. Only a window that has
    /// seen nothing yet takes them: a live window already counts its own.
    /// Instants older than the span, or in the future, are dropped.
    /// Whether they were taken.
    pub fn resume(&self, at: &[SystemTime]) -> bool {
        let mut st = self.lock();
        if !st.used.is_empty() || st.in_flight > 0 {
            return false;
        }
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut seeded: Vec<Instant> = at
            .iter()
            .filter_map(|t| wall.duration_since(*t).ok())
            .filter(|ago| *ago < st.span)
            .filter_map(|ago| now.checked_sub(ago))
            .collect();
        seeded.sort();
        seeded.truncate(st.limit as usize);
        st.used.extend(seeded);
        true
    }

    /// The limit in force (lowered by the server's `…-max`).
    pub fn limit(&self) -> u32 {
        self.lock().limit
    }

    /// Takes server feedback for one answer (ours just completed).
    fn feedback(&self, st: &mut WindowState, now: Instant, answer: &Answer<'_>) {
        if let Some(h) = &self.spec.headers {
            let num = |name: &str| -> Option<u64> {
                answer.headers.get(name)?.to_str().ok()?.trim().parse().ok()
            };
            let mut changed = false;
            if let Some(max) = num(h.max).and_then(|m| u32::try_from(m).ok()) {
                if max >= 1 && max < st.limit {
                    st.limit = max;
                    changed = true;
                }
            }
            if let Some(ms) = num(h.interval_ms) {
                let span = Duration::from_millis(ms);
                if span > st.span && span <= MAX_RETRY_AFTER {
                    st.span = span;
                    changed = true;
                }
            }
            if changed && !st.warned {
                st.warned = true;
                tracing::warn!(
                    window = self.spec.name,
                    limit = st.limit,
                    span_ms = st.span.as_millis() as u64,
                    "the server reports a narrower rate limit than configured; following it"
                );
            }
            if let Some(remaining) = num(h.remaining) {
                let ours = u64::from(st.limit.saturating_sub(st.count()));
                // The server's count includes requests we did not make.
                for _ in remaining..ours {
                    st.used.push_back(now);
                }
            }
        }
        if answer.status == 429 && answer.refused == Some(self.spec.name) {
            let pause = retry_after(answer.headers, SystemTime::now()).unwrap_or(st.span);
            st.pause(now + pause);
        }
    }
}

/// An answer as the limiter reads it.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// For a 429, the name of the window it pauses (set by [`Limiter`]).
    refused: Option<&'static str>,
}

impl<'a> Answer<'a> {
    pub fn new(status: u16, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Answer {
            status,
            headers,
            body,
            refused: None,
        }
    }
}

/// The windows one client's requests count against. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Limiter {
    /// Locked in this order (widest first) so that two acquirers never
    /// deadlock.
    windows: Arc<[Arc<Window>]>,
}

/// Live windows by identity (API root, credential digest, limit, span):
/// clients built with the same key share its window, and a reloaded
/// configuration keeps the window of the process's earlier requests.
static REGISTRY: LazyLock<Mutex<HashMap<[u8; 32], Weak<Window>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The live window for `identity` (a secret goes in only as part of a
/// SHA-256 digest, never as a key), or a new one.
pub fn shared_window(identity: &[&[u8]], spec: WindowSpec) -> Arc<Window> {
    let mut h = Sha256::new();
    for part in identity {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(spec.name.as_bytes());
    h.update(spec.limit.to_be_bytes());
    h.update(spec.span.as_nanos().to_be_bytes());
    let id: [u8; 32] = h.finalize().into();
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    reg.retain(|_, w| w.strong_count() > 0);
    if let Some(w) = reg.get(&id).and_then(Weak::upgrade) {
        return w;
    }
    let w = Arc::new(Window::new(spec));
    reg.insert(id, Arc::downgrade(&w));
    w
}

impl Limiter {
    pub fn new(windows: Vec<Arc<Window>>) -> Self {
        Limiter {
            windows: windows.into(),
        }
    }

    /// One window of `limit` requests per `span`, shared by every client of
    /// `base` with this `key`, for an API whose only limit is its key's
    /// (La Poste, Freshdesk).
    pub fn per_key(name: &'static str, base: &str, key: &str, limit: u32, span: Duration) -> Self {
        let window = shared_window(
            &[base.as_bytes(), b"key", key.as_bytes()],
            WindowSpec {
                name,
                limit: limit.max(1),
                span,
                headers: None,
                refusal: None,
            },
        );
        Limiter::new(vec![window])
    }

    /// Trello's two windows for one client: the key's (shared by every
    /// client of `base` with this key) and the token's (`limit` per
    /// `span`, shared by every client with this token).
    pub fn trello(base: &str, key: &str, token: &str, limit: u32, span: Duration) -> Self {
        let key_window = shared_window(
            &[base.as_bytes(), b"key", key.as_bytes()],
            WindowSpec {
                name: "trello key",
                limit: limit.saturating_mul(TRELLO_KEY_FACTOR),
                span,
                headers: Some(QuotaHeaders {
                    remaining: "x-rate-limit-api-key-remaining",
                    max: "x-rate-limit-api-key-max",
                    interval_ms: "x-rate-limit-api-key-interval-ms",
                }),
                refusal: Some("API_KEY_LIMIT_EXCEEDED"),
            },
        );
        let token_window = shared_window(
            &[base.as_bytes(), b"token", key.as_bytes(), token.as_bytes()],
            WindowSpec {
                name: "trello token",
                limit,
                span,
                headers: Some(QuotaHeaders {
                    remaining: "x-rate-limit-api-token-remaining",
                    max: "x-rate-limit-api-token-max",
                    interval_ms: "x-rate-limit-api-token-interval-ms",
                }),
                refusal: Some("API_TOKEN_LIMIT_EXCEEDED"),
            },
        );
        Limiter::new(vec![key_window, token_window])
    }

    pub fn windows(&self) -> &[Arc<Window>] {
        &self.windows
    }

    /// Waits until every window has room, then takes one slot in each.
    /// Cancel-safe: nothing is taken until it returns.
    pub async fn acquire(&self) -> Permit {
        loop {
            let mut wake: Option<Instant> = None;
            let mut full: Option<&Window> = None;
            {
                let mut guards: Vec<_> = self.windows.iter().map(|w| w.lock()).collect();
                let now = Instant::now();
                for (g, w) in guards.iter_mut().zip(self.windows.iter()) {
                    match g.room(now) {
                        Room::Free => {}
                        Room::Until(t) => wake = Some(wake.map_or(t, |u| u.max(t))),
                        Room::InFlight => full = Some(w),
                    }
                }
                if wake.is_none() && full.is_none() {
                    for g in &mut guards {
                        g.in_flight += 1;
                    }
                    return Permit {
                        limiter: self.clone(),
                        done: false,
                    };
                }
            }
            // Registered before the wait: `notify_waiters` reaches a
            // `Notified` from its creation. A completion between the unlock
            // above and here only makes the next look find room sooner.
            let notified = full.map(|w| w.freed.notified());
            let sleep = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            let note = async {
                match notified {
                    Some(n) => n.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = note => {}
            }
        }
    }

    fn finish(&self, answer: Option<Answer<'_>>) {
        let answer = answer.map(|mut a| {
            if a.status == 429 {
                a.refused = Some(self.refused_window(a.body));
            }
            a
        });
        for w in self.windows.iter() {
            {
                let mut st = w.lock();
                let now = Instant::now();
                st.in_flight = st.in_flight.saturating_sub(1);
                st.used.push_back(now);
                if let Some(a) = &answer {
                    w.feedback(&mut st, now, a);
                }
            }
            w.freed.notify_waiters();
        }
    }

    /// The window a 429 body names, else the last (narrowest) one.
    fn refused_window(&self, body: &[u8]) -> &'static str {
        let text = String::from_utf8_lossy(body);
        self.windows
            .iter()
            .find(|w| w.spec.refusal.is_some_and(|code| text.contains(code)))
            .or(self.windows.last())
            .map_or("", |w| w.spec.name)
    }
}

/// One granted request. Complete it with the answer; dropped without one
/// (transport error, cancelled future) it counts as answered at the drop.
#[derive(Debug)]
pub struct Permit {
    limiter: Limiter,
    done: bool,
}

impl Permit {
    pub fn complete(mut self, answer: Answer<'_>) {
        self.done = true;
        self.limiter.finish(Some(answer));
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.finish(None);
        }
    }
}

/// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date. A date
/// is measured against the answer's own `Date` header when it has one
/// (immune to our clock's skew), else against `now`. Clamped to an hour;
/// a date in the past is no wait; anything else unreadable is `None`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let base = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or(now);
    Some(
        at.duration_since(base)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
mod tests;
