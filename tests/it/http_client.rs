//! The HTTP layer shared by the three clients (`http::ApiClient`) against a
//! bare fake server: which failures are retried, for reads and for writes,
//! the signer called on every attempt, and bodies scrubbed of the
//! credentials sent. Here rather than in the library's unit tests because
//! the fake server lives in the test kit, which the library does not know.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use colisync::http::{
    ApiClient, ApiSettings, Call, HttpError, Reply, RetryPolicy, Signer, outcome_is_unknown,
};
use colisync_testkit::{FakeServer, Fault};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

async fn setup() -> (FakeServer, ApiClient) {
    let router = Router::new().route(
        "/v1/things",
        get(|| async { r#"{"n":1}"# }).post(|| async { r#"{"n":2}"# }),
    );
    let srv = FakeServer::start(router).await.expect("start");
    let mut settings = ApiSettings::new("test", srv.base_url());
    settings.retry = RetryPolicy::fast();
    settings.timeout = Duration::from_millis(300);
    settings.rate_limited_pause = Duration::from_millis(10);
    let client = ApiClient::new(settings).expect("client");
    (srv, client)
}

#[tokio::test]
async fn reads_retry_5xx_and_writes_do_not() {
    let (srv, c) = setup().await;
    srv.faults()
        .times(2, "GET", "/v1/things", Fault::Status(503));
    let r = c.send(&Call::get("v1/things")).await.expect("retried");
    assert_eq!(r.json::<serde_json::Value>("thing").expect("json")["n"], 1);
    assert_eq!(srv.requests().count("GET", "/v1/things"), 3);

    srv.faults().once("POST", "/v1/things", Fault::Status(502));
    let e = c.send(&Call::post("v1/things")).await.expect_err("502");
    assert_eq!(e.status(), Some(502));
    assert!(outcome_is_unknown(&e));
    assert_eq!(srv.requests().count("POST", "/v1/things"), 1);
}

#[tokio::test]
async fn lost_answer_and_reset_are_transport_errors() {
    let (srv, c) = setup().await;
    srv.faults().once("POST", "/v1/things", Fault::LoseAnswer);
    let e = c.send(&Call::post("v1/things")).await.expect_err("lost");
    assert!(matches!(e, HttpError::Transport { .. }), "{e:?}");
    assert!(outcome_is_unknown(&e));
    srv.faults().once("GET", "/v1/things", Fault::Reset);
    c.send(&Call::get("v1/things")).await.expect("read retried");
}

#[tokio::test]
async fn rate_limited_writes_retry_after_the_pause() {
    let (srv, c) = setup().await;
    srv.faults().once(
        "POST",
        "/v1/things",
        Fault::TooManyRequests { retry_after: None },
    );
    c.send(&Call::post("v1/things"))
        .await
        .expect("retried after 429");
    assert_eq!(srv.requests().count("POST", "/v1/things"), 2);
    srv.faults().always(
        "GET",
        "/v1/things",
        Fault::TooManyRequests {
            retry_after: Some(0),
        },
    );
    let e = c.send(&Call::get("v1/things")).await.expect_err("429");
    assert!(matches!(
        e,
        HttpError::RateLimited {
            retry_after: Some(_),
            ..
        }
    ));
}

#[tokio::test]
async fn decode_failures_retry_reads_only() {
    let (srv, c) = setup().await;
    let decode = |r: Reply| r.json::<serde_json::Value>("thing");
    let is_decode = |e: &HttpError| matches!(e, HttpError::Decode { .. });
    srv.faults().once("GET", "/v1/things", Fault::TruncatedJson);
    let v = c
        .send_decoded(&Call::get("v1/things"), decode, is_decode)
        .await
        .expect("read again");
    assert_eq!(v["n"], 1);
    assert_eq!(srv.requests().count("GET", "/v1/things"), 2);

    // A write that was answered was applied: never sent again.
    srv.faults()
        .once("POST", "/v1/things", Fault::TruncatedJson);
    let e = c
        .send_decoded(&Call::post("v1/things"), decode, is_decode)
        .await
        .expect_err("truncated");
    assert!(outcome_is_unknown(&e), "{e:?}");
    assert_eq!(srv.requests().count("POST", "/v1/things"), 1);

    // What the decoder calls final is not retried.
    srv.faults().once("GET", "/v1/things", Fault::TruncatedJson);
    c.send_decoded(&Call::get("v1/things"), decode, |_: &HttpError| false)
        .await
        .expect_err("not retried");
    assert_eq!(srv.requests().count("GET", "/v1/things"), 3);
}

/// Records what it signs; each attempt gets a new `x-sig`.
struct Counting(Mutex<Vec<String>>);

impl Signer for Counting {
    fn sign(&self, method: &Method, url: &Url) -> Result<HeaderMap, String> {
        let mut seen = self.0.lock().map_err(|_| "poisoned".to_owned())?;
        seen.push(format!("{method} {url}"));
        let mut h = HeaderMap::new();
        let v = HeaderValue::from_str(&format!("sig-{}", seen.len())).map_err(|e| e.to_string())?;
        h.insert(HeaderName::from_static("x-sig"), v);
        Ok(h)
    }
}

#[tokio::test]
async fn the_signer_signs_every_attempt_with_the_url_sent() {
    let router = Router::new().route(
        "/v1/things",
        get(|h: axum::http::HeaderMap| async move {
            h.get("x-sig")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unsigned")
                .to_owned()
        }),
    );
    let srv = FakeServer::start(router).await.expect("start");
    let signer = Arc::new(Counting(Mutex::new(Vec::new())));
    let mut settings = ApiSettings::new("test", srv.base_url());
    settings.retry = RetryPolicy::fast();
    settings.signer = Some(signer.clone());
    let c = ApiClient::new(settings).expect("client");
    srv.faults()
        .times(2, "GET", "/v1/things", Fault::Status(503));
    let call = Call::get("v1/things").query("q", "a b");
    let r = c.send(&call).await.expect("retried");
    assert_eq!(r.text(), "sig-3", "the last attempt's own signature");
    let seen = signer.0.lock().expect("lock").clone();
    let want = format!("GET {}v1/things?q=a+b", srv.base_url());
    assert_eq!(seen, vec![want.clone(), want.clone(), want]);
}

#[tokio::test]
async fn bodies_are_scrubbed_of_the_credentials_sent() {
    // Echoes every header value, as a gateway quoting what it refused.
    let echo = |h: axum::http::HeaderMap| async move {
        let all: Vec<String> = h
            .values()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        all.join(" | ")
    };
    let router = Router::new()
        .route(
            "/v1/refused",
            get(move |h| async move { (axum::http::StatusCode::BAD_REQUEST, echo(h).await) }),
        )
        .route(
            "/v1/accepted",
            get(move |h| async move { (axum::http::StatusCode::NOT_FOUND, echo(h).await) }),
        );
    let srv = FakeServer::start(router).await.expect("start");
    let mut settings = ApiSettings::new("test", srv.base_url());
    settings.retry = RetryPolicy::none();
    let h = &mut settings.default_headers;
    h.insert("x-okapi-key", HeaderValue::from_static("Okapi/Key+123"));
    h.insert(
        reqwest::header::AUTHORIZATION,
        HeaderValue::from_static(
            "OAuth oauth_consumer_key=\"K-123\", oauth_token=\"T-456\", oauth_version=\"1.0\"",
        ),
    );
    settings.scrubber =
        colisync::secret::Scrubber::new(&[colisync::secret::Secret::new("never-sent-789")]);
    let c = ApiClient::new(settings).expect("client");
    let e = c.send(&Call::get("v1/refused")).await.expect_err("400");
    let shown = format!("{e} {e:?}");
    for s in ["Okapi/Key+123", "K-123", "T-456"] {
        assert!(!shown.contains(s), "{shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
    // Not a secret: the fixed OAuth parameters stay.
    assert!(shown.contains("1.0"), "{shown}");
    let r = c
        .send(&Call::get("v1/accepted").accept(404))
        .await
        .expect("accepted");
    let text = r.text();
    assert!(
        !text.contains("Okapi/Key+123") && !text.contains("T-456"),
        "{text}"
    );
    assert!(text.contains("[redacted]"), "{text}");
    assert_eq!(c.scrubber().scrub("x never-sent-789 y"), "x [redacted] y");
}

#[tokio::test]
async fn timeouts_and_truncated_bodies() {
    let (srv, c) = setup().await;
    srv.faults()
        .always("GET", "/v1/things", Fault::Slow(Duration::from_secs(2)));
    let e = c.send(&Call::get("v1/things")).await.expect_err("timeout");
    assert!(matches!(e, HttpError::Timeout { .. }), "{e:?}");
    srv.faults().clear();
    srv.faults().once("GET", "/v1/things", Fault::TruncatedJson);
    let r = c.send(&Call::get("v1/things")).await.expect("200");
    let e = r.json::<serde_json::Value>("thing").expect_err("truncated");
    assert!(e.to_string().contains("truncated JSON"), "{e}");
}
