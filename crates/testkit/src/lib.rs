//! In-process fakes of Trello, Magento 2, La Poste Suivi v2 and Freshdesk, served on
//! 127.0.0.1, faithful to the public documentation (docs/apis.md). Used by
//! the tests, by `colisync demo` and by the benchmarks. A crate of its own so
//! that the library never carries them; the root's tests turn on the
//! library's `test-hooks` through this crate's feature of that name.
//!
//! This crate root holds what the three fakes share:
//!
//! - [`FakeServer`]: serves an axum `Router` on `127.0.0.1:0` in a tokio
//!   task, stops gracefully on drop.
//! - [`Faults`]: a queue of [`FaultRule`]s (method + path prefix + count →
//!   [`Fault`]) applied by a middleware in front of every route, so a test
//!   says "the next POST /1/cards loses its answer" with
//!   `faults.once("POST", "/1/cards", Fault::LoseAnswer)`.
//! - [`RequestLog`]: every request that reached the server (method, path,
//!   route pattern), for counting.
//!
//! How a fake uses it: build its `Router` with its own state (handlers do
//! the API's work: auth, validation, state changes), then
//! `FakeServer::start(router).await`. The server wraps the router in the
//! fault middleware; handlers need not know about faults. A fake whose API
//! has its own 429 body shape sets it with
//! [`Faults::set_too_many_requests_body`]. Tests reach the faults with
//! `fake.faults()` (each fake exposes its server's [`Faults`]).
//!
//! Connection faults (reset, lost answer) need the server to drop a
//! connection without answering. Each accepted connection is wrapped in a
//! [`KillableIo`] whose handle travels to the middleware through axum's
//! `ConnectInfo`; killing it sets `SO_LINGER 0` and makes the next write
//! fail, so hyper drops the connection and the client sees a TCP reset
//! instead of a response.

pub mod freshdesk;
pub mod laposte;
pub mod magento;
pub mod sample;
pub mod trello;
pub mod world;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use url::Url;

/// Locks a mutex, recovering from poisoning: a panicking test handler must
/// not take every later assertion down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Something a fake does instead of (or on top of) answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a body like a load balancer's
    /// (`text/html` "503 Service Unavailable"); the handler does not run.
    Status(u16),
    /// Answer with this status, content type and body; the handler does
    /// not run (e.g. La Poste's gateway JSON).
    StatusBody {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Like [`Fault::StatusBody`], the body quoting the credentials the
    /// request carried, as upstreams do ("Token … has expired"): `{creds}`
    /// becomes them space-separated, `{creds_pct}` percent-encoded and
    /// joined with `&`. Credentials: the `X-Okapi-Key` value, a Bearer
    /// token, the `…key` and `…token` parameters of an `OAuth` header, a
    /// Basic value and its user (Freshdesk's key).
    EchoCredentials {
        status: u16,
        content_type: String,
        template: String,
    },
    /// 429 with the fake's rate-limit body, with or without `Retry-After`
    /// (seconds); the handler does not run.
    TooManyRequests { retry_after: Option<u64> },
    /// Drop the connection without an answer; the handler does not run.
    Reset,
    /// The handler runs; its body is cut in half (status and headers kept).
    TruncatedJson,
    /// The handler runs (state changes happen), then the answer waits this
    /// long: a client timeout on a write whose effect happened.
    Slow(Duration),
    /// The handler runs (state changes happen), then the connection is
    /// dropped without an answer.
    LoseAnswer,
}

/// Which requests a fault applies to, and how many more times.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    /// `None`: any method.
    pub method: Option<Method>,
    /// Matches when the request path starts with it (`/1/cards` also
    /// matches `/1/cards/{id}/actions/comments`: be as specific as needed).
    pub(crate) path_prefix: String,
    pub remaining: usize,
    pub fault: Fault,
}

#[derive(Debug)]
struct FaultsInner {
    rules: Vec<FaultRule>,
    fired: usize,
    too_many_content_type: String,
    too_many_body: String,
}

/// The fault queue of one fake server. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Faults(Arc<Mutex<FaultsInner>>);

impl Default for Faults {
    fn default() -> Self {
        Faults(Arc::new(Mutex::new(FaultsInner {
            rules: Vec::new(),
            fired: 0,
            too_many_content_type: "text/plain".to_owned(),
            too_many_body: "Too Many Requests".to_owned(),
        })))
    }
}

impl Faults {
    /// Adds a rule. Rules are tried in insertion order; the first match
    /// fires and its count goes down.
    pub(crate) fn add(&self, rule: FaultRule) {
        lock(&self.0).rules.push(rule);
    }

    /// `method` is `"GET"`, `"POST"`… or `"*"` for any.
    pub fn times(&self, n: usize, method: &str, path_prefix: &str, fault: Fault) {
        let method = if method == "*" {
            None
        } else {
            Method::from_bytes(method.as_bytes()).ok()
        };
        self.add(FaultRule {
            method,
            path_prefix: path_prefix.to_owned(),
            remaining: n,
            fault,
        });
    }

    /// The next matching request gets `fault`.
    pub fn once(&self, method: &str, path_prefix: &str, fault: Fault) {
        self.times(1, method, path_prefix, fault);
    }

    /// Every matching request gets `fault` until [`Faults::clear`].
    pub fn always(&self, method: &str, path_prefix: &str, fault: Fault) {
        self.times(usize::MAX, method, path_prefix, fault);
    }

    pub fn clear(&self) {
        lock(&self.0).rules.clear();
    }

    /// Faults still queued (sum of remaining counts, saturating).
    pub fn pending(&self) -> usize {
        lock(&self.0)
            .rules
            .iter()
            .fold(0usize, |acc, r| acc.saturating_add(r.remaining))
    }

    /// Faults fired so far.
    pub fn fired(&self) -> usize {
        lock(&self.0).fired
    }

    /// The body of [`Fault::TooManyRequests`] for this API.
    pub(crate) fn set_too_many_requests_body(&self, content_type: &str, body: &str) {
        let mut g = lock(&self.0);
        g.too_many_content_type = content_type.to_owned();
        g.too_many_body = body.to_owned();
    }

    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut g = lock(&self.0);
        let i = g.rules.iter().position(|r| {
            r.remaining > 0
                && r.method.as_ref().is_none_or(|m| m == method)
                && path.starts_with(&r.path_prefix)
        })?;
        let fault = g.rules[i].fault.clone();
        g.rules[i].remaining -= 1;
        if g.rules[i].remaining == 0 {
            g.rules.remove(i);
        }
        g.fired += 1;
        Some(fault)
    }

    fn too_many_requests(&self, retry_after: Option<u64>) -> Response {
        let (ct, body) = {
            let g = lock(&self.0);
            (g.too_many_content_type.clone(), g.too_many_body.clone())
        };
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
        if let Ok(v) = HeaderValue::from_str(&ct) {
            resp.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        if let Some(s) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// When it reached the server (tokio's clock: paused in tests that
    /// pause it), for throughput measurements.
    pub at: tokio::time::Instant,
}

/// A path with its ids replaced by `{id}`: a segment of 6 or more
/// characters holding a digit (Trello ids and short links, order and
/// tracking numbers). `/1/cards/5f…a1/actions/comments` →
/// `/1/cards/{id}/actions/comments`.
pub fn route_of(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() >= 6 && seg.bytes().any(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every request that reached a fake server, faults included.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<LoggedRequest>>>);

impl RequestLog {
    pub fn all(&self) -> Vec<LoggedRequest> {
        lock(&self.0).clone()
    }

    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests with this method (or `"*"`) whose path starts with
    /// `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        lock(&self.0)
            .iter()
            .filter(|r| (method == "*" || r.method == method) && r.path.starts_with(path_prefix))
            .count()
    }

    /// The most requests that arrived within any half-open window
    /// `[t, t + window)`: how a server counting a sliding window sees them.
    pub fn max_in_window(&self, window: Duration) -> usize {
        let times: Vec<tokio::time::Instant> = lock(&self.0).iter().map(|r| r.at).collect();
        let mut best = 0;
        let mut start = 0;
        for (end, t) in times.iter().enumerate() {
            while t.duration_since(times[start]) >= window {
                start += 1;
            }
            best = best.max(end + 1 - start);
        }
        best
    }

    /// Counts per `"METHOD route"` (see [`route_of`]), e.g.
    /// `"PUT /1/cards/{id}"`.
    pub fn per_route(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in lock(&self.0).iter() {
            *m.entry(format!("{} {}", r.method, route_of(&r.path)))
                .or_insert(0) += 1;
        }
        m
    }

    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

/// A handle on one accepted connection, given to handlers through
/// `ConnectInfo<ConnHandle>`.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    kill: Arc<AtomicBool>,
}

impl ConnHandle {
    /// Makes the connection fail at its next write: no answer reaches the
    /// client, which sees the connection reset.
    pub(crate) fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be killed from a handler.
pub(crate) struct KillableListener {
    inner: TcpListener,
}

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    let io = KillableIo {
                        stream,
                        kill: kill.clone(),
                    };
                    return (io, ConnHandle { kill });
                }
                // Out of file descriptors and the like: wait, try again
                // (as axum's own TcpListener impl does).
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        // The address is not kept (nothing reads it), but a listener
        // that lost its socket still says so.
        self.inner.local_addr()?;
        Ok(ConnHandle {
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream that fails once its [`ConnHandle`] is killed.
pub(crate) struct KillableIo {
    stream: TcpStream,
    kill: Arc<AtomicBool>,
}

impl KillableIo {
    fn killed(&self) -> bool {
        if self.kill.load(Ordering::SeqCst) {
            // Closing with linger 0 sends a RST, like a crashed proxy.
            let _ = self.stream.set_zero_linger();
            true
        } else {
            false
        }
    }
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "fault injected: reset")
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[derive(Clone)]
struct Shared {
    faults: Faults,
    log: RequestLog,
    pace: Arc<Pace>,
}

/// The fake's network: a delay added to every answer, and a gauge of the
/// requests being answered at once.
#[derive(Default)]
struct Pace {
    latency: Mutex<Duration>,
    in_flight: std::sync::atomic::AtomicUsize,
    max_in_flight: std::sync::atomic::AtomicUsize,
}

/// Counts one request in flight until dropped (answered, or the client
/// went away).
struct InFlight<'a>(&'a Pace);

impl<'a> InFlight<'a> {
    fn new(pace: &'a Pace) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        let now = pace.in_flight.fetch_add(1, SeqCst) + 1;
        pace.max_in_flight.fetch_max(now, SeqCst);
        InFlight(pace)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The outermost layer: the request is logged on arrival, handled (faults,
/// then the route), and its answer held back by the set latency: the
/// server has acted, the client does not know yet.
async fn fault_middleware(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let pace = shared.pace.clone();
    let _gauge = InFlight::new(&pace);
    let resp = faults_then_route(shared, req, next).await;
    let latency = *lock(&pace.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    resp
}

/// Logs the request, then applies the first matching fault, if any.
async fn faults_then_route(shared: Shared, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    shared
        .log
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(LoggedRequest {
            method: method.to_string(),
            path: path.clone(),
            at: tokio::time::Instant::now(),
        });
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|c| c.0.clone());
    let Some(fault) = shared.faults.take(&method, &path) else {
        return next.run(req).await;
    };
    let fault = match fault {
        Fault::EchoCredentials {
            status,
            content_type,
            template,
        } => {
            let creds = credentials_of(req.headers());
            let pct: Vec<String> = creds
                .iter()
                .map(|c| {
                    percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
                        .to_string()
                })
                .collect();
            Fault::StatusBody {
                status,
                content_type,
                body: template
                    .replace("{creds_pct}", &pct.join("&"))
                    .replace("{creds}", &creds.join(" ")),
            }
        }
        other => other,
    };
    let kill = |resp: Response| {
        if let Some(c) = &conn {
            c.kill();
        }
        resp
    };
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            let body = format!(
                "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1></center></body></html>\n"
            );
            (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
        }
        Fault::StatusBody {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = (status, body).into_response();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        // Turned into a `StatusBody` above.
        Fault::EchoCredentials { .. } => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Fault::TooManyRequests { retry_after } => shared.faults.too_many_requests(retry_after),
        Fault::Reset => kill(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Fault::LoseAnswer => {
            let resp = next.run(req).await;
            kill(resp)
        }
        Fault::Slow(d) => {
            let resp = next.run(req).await;
            tokio::time::sleep(d).await;
            resp
        }
        Fault::TruncatedJson => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
    }
}

/// The credential values a request carried (see [`Fault::EchoCredentials`]).
fn credentials_of(headers: &axum::http::HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = headers.get("x-okapi-key").and_then(|v| v.to_str().ok()) {
        out.push(v.to_owned());
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(token) = auth.strip_prefix("Bearer ") {
        out.push(token.trim().to_owned());
    } else if let Some(b64) = auth.strip_prefix("Basic ") {
        // Freshdesk's key is the Basic user: echoed both as sent and raw.
        out.push(b64.trim().to_owned());
        use base64::Engine;
        if let Some(user) = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .map(|t| t.split_once(':').map_or(t.clone(), |(u, _)| u.to_owned()))
        {
            out.push(user);
        }
    } else if let Some(params) = auth.strip_prefix("OAuth ") {
        for p in params.split(',') {
            let Some((k, v)) = p.trim().split_once('=') else {
                continue;
            };
            if k.ends_with("key") || k.ends_with("token") {
                let v = v.trim_matches('"');
                let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                out.push(v.into_owned());
            }
        }
    }
    out
}

/// An axum router served on `127.0.0.1:0` with fault injection and a
/// request log. Stops on drop (graceful: open connections finish).
pub struct FakeServer {
    pub addr: SocketAddr,
    faults: Faults,
    log: RequestLog,
    pace: Arc<Pace>,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeServer {
    /// Binds `127.0.0.1:0` and serves `router` in a tokio task.
    pub async fn start(router: Router) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            faults: Faults::default(),
            log: RequestLog::default(),
            pace: Arc::default(),
        };
        let app = router.layer(middleware::from_fn_with_state(
            shared.clone(),
            fault_middleware,
        ));
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(
            KillableListener { inner: listener },
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "fake server stopped with an error");
            }
        });
        Ok(FakeServer {
            addr,
            faults: shared.faults,
            log: shared.log,
            pace: shared.pace,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> Url {
        // A socket address always makes a valid URL; the fallback is never
        // taken but keeps this free of unwrap.
        Url::parse(&format!("http://{}/", self.addr))
            .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").expect("static URL"))
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn requests(&self) -> &RequestLog {
        &self.log
    }

    /// Holds back every answer by `latency` after the handler ran (zero:
    /// at once, the default).
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.pace.latency) = latency;
    }

    /// The most requests this server was answering at once (since the
    /// last [`FakeServer::reset_max_in_flight`]).
    pub fn max_in_flight(&self) -> usize {
        self.pace
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn reset_max_in_flight(&self) {
        self.pace
            .max_in_flight
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The task ends by itself once open connections finish (a Slow
        // fault's at most), or with the runtime.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use std::sync::atomic::AtomicUsize;

    async fn server() -> (FakeServer, Arc<AtomicUsize>) {
        let writes = Arc::new(AtomicUsize::new(0));
        let w = writes.clone();
        let router = Router::new()
            .route("/things", get(|| async { r#"{"a":[1,2,3,4,5,6]}"# }))
            .route(
                "/things/{id}",
                post(move || {
                    let w = w.clone();
                    async move {
                        w.fetch_add(1, Ordering::SeqCst);
                        r#"{"ok":true}"#
                    }
                }),
            );
        (FakeServer::start(router).await.expect("start"), writes)
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .expect("client")
    }

    #[tokio::test]
    async fn faults_fire_in_order_and_requests_are_logged() {
        let (srv, writes) = server().await;
        let base = srv.base_url();
        let url = |p: &str| base.join(p).expect("join");
        let c = client();

        srv.faults().once("GET", "/things", Fault::Status(503));
        srv.faults().once("GET", "/things", Fault::TruncatedJson);
        srv.faults().once(
            "*",
            "/things",
            Fault::TooManyRequests {
                retry_after: Some(2),
            },
        );
        let r = c.get(url("things")).send().await.expect("503");
        assert_eq!(r.status(), 503);
        let r = c.get(url("things")).send().await.expect("truncated");
        assert_eq!(r.text().await.expect("body"), r#"{"a":[1,2"#);
        let r = c.get(url("things")).send().await.expect("429");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "2");
        let r = c.get(url("things")).send().await.expect("ok");
        assert_eq!(r.status(), 200);
        assert_eq!(srv.faults().pending(), 0);
        assert_eq!(srv.faults().fired(), 3);

        // The write happens, the answer is lost.
        srv.faults().once("POST", "/things/", Fault::LoseAnswer);
        let e = c.post(url("things/123456")).send().await;
        assert!(e.is_err(), "answer should be lost");
        assert_eq!(writes.load(Ordering::SeqCst), 1);
        // Reset: the handler does not run.
        srv.faults().once("POST", "/things/", Fault::Reset);
        assert!(c.post(url("things/123456")).send().await.is_err());
        assert_eq!(writes.load(Ordering::SeqCst), 1);
        // Slow: runs, then the client times out.
        srv.faults()
            .once("POST", "/things/", Fault::Slow(Duration::from_secs(2)));
        let e = c
            .post(url("things/123456"))
            .send()
            .await
            .expect_err("timeout");
        assert!(e.is_timeout());
        assert_eq!(writes.load(Ordering::SeqCst), 2);

        assert_eq!(srv.requests().count("POST", "/things/"), 3);
        assert_eq!(srv.requests().per_route()["POST /things/{id}"], 3);
    }
}
