//! Contract tests of the La Poste Suivi v2 client against the in-process
//! fake: 200 bare and wrapped, 207 mixed, 104 with and without a body,
//! 400 per number, gateway 401/429/503, batching by ten, numbers checked
//! before sending, faults retried, the client-side limit, and no API key in
//! any error.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use colisync::config::LaPosteConfig;
use colisync::domain::{TrackingEvent, TrackingSnapshot, TrackingStatus};
use colisync::fakes::Fault;
use colisync::fakes::laposte::FakeLaPoste;
use colisync::http::RetryPolicy;
use colisync::secret::Secret;
use colisync::tracking::laposte::{LaPosteClient, TrackError};

const KEY: &str = "okapi-5ecret-key-42";

fn t(day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, h, 0, 0)
        .single()
        .expect("valid test time")
}

fn ev(code: &str, at: DateTime<Utc>) -> TrackingEvent {
    TrackingEvent {
        code: code.into(),
        label: format!("libellé {code}"),
        at,
    }
}

fn config(base: url::Url, key: &str, rps: u32) -> LaPosteConfig {
    LaPosteConfig {
        base_url: base,
        api_key: Secret::new(key),
        requests_per_second: rps,
        timeout: Duration::from_millis(400),
    }
}

fn client(fake: &FakeLaPoste, key: &str) -> LaPosteClient {
    LaPosteClient::new(&config(fake.base_url(), key, 1000))
        .expect("client")
        .with_retry(RetryPolicy::fast())
}

async fn fake() -> FakeLaPoste {
    FakeLaPoste::start(KEY).await.expect("fake")
}

fn numbers(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn snap(r: &(String, Result<TrackingSnapshot, TrackError>)) -> &TrackingSnapshot {
    r.1.as_ref()
        .unwrap_or_else(|e| panic!("{} should have a snapshot: {e}", r.0))
}

#[tokio::test]
async fn one_number_bare_or_wrapped_with_events_normalised() {
    let fake = fake().await;
    let events = vec![ev("ET1", t(3, 8)), ev("PC1", t(2, 18)), ev("DR1", t(2, 9))];
    fake.set_parcel("6A12345678901", "Colissimo", events.clone(), false);
    let c = client(&fake, KEY);
    for wrap in [false, true] {
        fake.set_wrap_single_in_array(wrap);
        let r = c.track(&numbers(&["6A12345678901"]), t(4, 12)).await;
        assert_eq!(r.len(), 1);
        let s = snap(&r[0]);
        assert_eq!(s.status, TrackingStatus::InTransit);
        assert_eq!(s.events, events, "dates with offset → UTC, newest first");
        assert_eq!(s.product.as_deref(), Some("Colissimo"));
        assert!(!s.is_final);
        assert_eq!(s.fetched_at, t(4, 12));
    }
}

#[tokio::test]
async fn several_numbers_get_a_207_with_a_result_each() {
    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("DI1", t(4, 10)), ev("MD2", t(4, 7))],
        true,
    );
    fake.set_parcel(
        "XS000000002FR",
        "Chronopost",
        vec![ev("ET1", t(4, 10)), ev("RE1", t(3, 10))],
        false,
    );
    fake.unknown("6A00000000003");
    fake.reject("6A00000000004");
    fake.set_parcel(
        "6A00000000005",
        "Lettre suivie",
        vec![ev("ZZ9", t(4, 9)), ev("PC1", t(3, 9))],
        false,
    );
    let c = client(&fake, KEY);
    let asked = numbers(&[
        "6A00000000001",
        "XS000000002FR",
        "6A00000000003",
        "6A00000000004",
        "6A00000000005",
    ]);
    let r = c.track(&asked, t(4, 12)).await;
    assert_eq!(r.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), asked);
    assert_eq!(snap(&r[0]).status, TrackingStatus::Delivered);
    assert!(snap(&r[0]).is_final);
    // Once returning, stays returning.
    assert_eq!(snap(&r[1]).status, TrackingStatus::ReturnToSender);
    // 104: a status of the parcel, not an error.
    assert_eq!(snap(&r[2]).status, TrackingStatus::Unknown);
    assert!(snap(&r[2]).events.is_empty());
    assert!(
        matches!(&r[3].1, Err(TrackError::BadNumber { .. })),
        "{:?}",
        r[3].1
    );
    // Unknown code: kept raw, in transit.
    assert_eq!(snap(&r[4]).status, TrackingStatus::InTransit);
    assert_eq!(snap(&r[4]).events[0].code, "ZZ9");
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn not_yet_available_with_or_without_a_body_and_bad_numbers() {
    let fake = fake().await;
    let c = client(&fake, KEY);
    // Never heard of: 404 returnCode 104.
    let r = c.track(&numbers(&["6A99999999999"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::Unknown);
    fake.set_unknown_without_body(true);
    let r = c.track(&numbers(&["6A99999999999"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::Unknown);
    fake.reject("6A88888888888");
    let r = c.track(&numbers(&["6A88888888888"]), t(4, 12)).await;
    let err = r[0].1.clone().expect_err("400");
    assert!(matches!(err, TrackError::BadNumber { .. }) && !err.is_retryable());
    assert_eq!(fake.requests(), 3, "no retry of a 400 or a 104");
}

#[tokio::test]
async fn invalid_numbers_are_reported_and_never_sent_and_batches_hold_ten() {
    let fake = fake().await;
    let c = client(&fake, KEY);
    let mut asked: Vec<String> = (0..23).map(|i| format!("6A{i:011}")).collect();
    asked.insert(5, "short".into());
    asked.insert(9, "6A123/5678901".into());
    asked.insert(12, "6A1234567890123456".into());
    asked.push(asked[0].clone()); // asked twice, sent once
    let r = c.track(&asked, t(4, 12)).await;
    assert_eq!(r.len(), asked.len());
    for (n, res) in &r {
        if ["short", "6A123/5678901", "6A1234567890123456"].contains(&n.as_str()) {
            assert_eq!(res, &Err(TrackError::InvalidNumber));
        } else {
            assert_eq!(
                snap(&(n.clone(), res.clone())).status,
                TrackingStatus::Unknown
            );
        }
    }
    let sent = fake.requested_ids();
    assert_eq!(
        sent.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 3]
    );
    assert!(sent.iter().flatten().all(|id| id.len() == 13));
    // Ids travel comma-separated in the path, not percent-encoded.
    let paths: Vec<String> = fake
        .request_log()
        .all()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        paths[0].starts_with("/suivi/v2/idships/6A00000000000,6A00000000001,"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn a_wrong_key_is_fatal_without_retry_and_never_shown() {
    let fake = fake().await;
    let c = client(&fake, "okapi-wrong-5ecret");
    let r = c
        .track(&numbers(&["6A00000000001", "6A00000000002"]), t(4, 12))
        .await;
    for (_, res) in &r {
        let e = res.clone().expect_err("401");
        assert!(e.is_fatal(), "{e:?}");
        assert_eq!(
            e.to_string(),
            "La Poste refused the API key (401): UNAUTHORIZED: Invalid apikey"
        );
        let text = format!("{e} {e:?} {c:?}");
        assert!(
            !text.contains("5ecret") && !text.contains("okapi-wrong"),
            "{text}"
        );
    }
    assert_eq!(
        fake.unauthorized(),
        1,
        "one request, no retry loop, no other batch"
    );
}

#[tokio::test]
async fn gateway_429_and_503_are_retried_then_reported() {
    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("PC1", t(3, 9))],
        false,
    );
    let c = client(&fake, KEY);
    fake.push_gateway_error(429);
    fake.push_gateway_error(503);
    let r = c.track(&numbers(&["6A00000000001"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::InTransit);

    for _ in 0..10 {
        fake.push_gateway_error(503);
    }
    let r = c
        .track(&numbers(&["6A00000000001", "6A00000000002"]), t(4, 12))
        .await;
    for (_, res) in &r {
        let e = res.clone().expect_err("503");
        assert!(matches!(e, TrackError::Unavailable { .. }), "{e:?}");
        assert!(e.to_string().contains("SERVICE_UNAVAILABLE"));
    }
}

#[tokio::test]
async fn the_fake_rate_limit_answers_429_with_retry_after_and_the_client_waits() {
    let fake = fake().await;
    fake.set_rate_limit(Some(1));
    let c = client(&fake, KEY);
    let started = Instant::now();
    let a = c.track(&numbers(&["6A00000000001"]), t(4, 12)).await;
    let b = c.track(&numbers(&["6A00000000002"]), t(4, 12)).await;
    assert!(a[0].1.is_ok() && b[0].1.is_ok(), "{b:?}");
    // The second was refused once (Retry-After: 1) then served; the retry
    // policy's total budget allows it.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn the_client_side_limit_spaces_requests() {
    let fake = fake().await;
    let c = LaPosteClient::new(&config(fake.base_url(), KEY, 10))
        .expect("client")
        .with_retry(RetryPolicy::fast());
    let asked: Vec<String> = (0..150).map(|i| format!("6A{i:011}")).collect();
    let started = Instant::now();
    let r = c.track(&asked, t(4, 12)).await;
    assert!(r.iter().all(|(_, res)| res.is_ok()));
    assert_eq!(fake.requests(), 15);
    // 10 at once (the burst), then one every 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn faults_are_retried() {
    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("MD2", t(4, 8))],
        false,
    );
    fake.set_parcel(
        "6A00000000002",
        "Colissimo",
        vec![ev("AG1", t(4, 8))],
        false,
    );
    let c = client(&fake, KEY);
    let path = "/suivi/v2/idships";
    fake.faults().once("GET", path, Fault::Status(502));
    fake.faults().once("GET", path, Fault::Reset);
    fake.faults().once("GET", path, Fault::TruncatedJson);
    let r = c
        .track(&numbers(&["6A00000000001", "6A00000000002"]), t(4, 12))
        .await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::OutForDelivery);
    assert_eq!(snap(&r[1]).status, TrackingStatus::AwaitingPickup);
    fake.faults()
        .once("GET", path, Fault::Slow(Duration::from_secs(2)));
    fake.faults()
        .once("GET", path, Fault::TooManyRequests { retry_after: None });
    let r = c.track(&numbers(&["6A00000000001"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::OutForDelivery);
    assert_eq!(fake.faults().fired(), 5);

    // A truncated answer that does not go away: an error per number.
    fake.faults().always("GET", path, Fault::TruncatedJson);
    let r = c
        .track(&numbers(&["6A00000000001", "6A00000000002"]), t(4, 12))
        .await;
    assert!(
        r.iter()
            .all(|(_, res)| matches!(res, Err(TrackError::Decode(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn no_key_in_transport_errors() {
    let c = LaPosteClient::new(&config(
        url::Url::parse("http://127.0.0.1:9/").expect("url"),
        KEY,
        5,
    ))
    .expect("client")
    .with_retry(RetryPolicy::none());
    let r = c.track(&numbers(&["6A00000000001"]), t(4, 12)).await;
    let e = r[0].1.clone().expect_err("refused");
    let text = format!("{e} {e:?} {c:?}");
    assert!(!text.contains(KEY) && !text.contains("5ecret"), "{text}");
}
