//! Contract tests of the La Poste Suivi v2 client against the in-process
//! fake: 200 bare and wrapped, 207 mixed, 104 with and without a body,
//! 400 per number, gateway 401/429/503, batching by ten, numbers checked
//! before sending, faults retried, the client-side limit, and no API key in
//! any error.
//!
//! Then the recorded answers of tests/fixtures/laposte/ (see
//! tests/fixtures/PROVENANCE.md), read at run time and served verbatim by
//! the fake, each checked for the verdict it implies; every `returnCode` of
//! La Poste's Swagger SUIVI; both shapes of a refused key; `isFinal`.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use colisync::config::LaPosteConfig;
use colisync::domain::{TrackingEvent, TrackingSnapshot, TrackingStatus};
use colisync::http::RetryPolicy;
use colisync::secret::Secret;
use colisync::tracking::laposte::{LaPosteClient, TrackError, decode_answer};
use colisync_testkit::Fault;
use colisync_testkit::laposte::{FakeLaPoste, UnauthorizedShape};

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

// ----- Recorded answers (tests/fixtures/laposte/) -----

/// A recorded answer, read at run time (never compiled in).
fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/laposte")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn utc(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test date")
        .with_timezone(&Utc)
}

/// karrio's delivered Colissimo, an array of one envelope: delivered, final,
/// and the rules file nothing for a parcel carrying that snapshot.
#[tokio::test]
async fn karrio_200_is_delivered_and_the_rules_file_no_card() {
    use colisync::domain::calendar::Calendar;
    use colisync::domain::{Classifier, parcels_of};
    use colisync_testkit::sample::{SampleShop, demo_shop, reference_now};
    use colisync_testkit::world::World;

    let fake = fake().await;
    let body = fixture("karrio-EW112720413FR-200.json");
    fake.serve_verbatim("EW112720413FR", 200, &body);
    let c = client(&fake, KEY);
    let r = c.track(&numbers(&["EW112720413FR"]), t(4, 12)).await;
    let delivered = snap(&r[0]).clone();
    assert_eq!(delivered.status, TrackingStatus::Delivered);
    assert!(delivered.is_final);
    assert_eq!(delivered.product.as_deref(), Some("colissimo"));
    assert_eq!(delivered.events.len(), 9);
    assert_eq!(delivered.events[0].code, "DI1");
    assert_eq!(delivered.events[0].at, utc("2023-03-09T09:38:00+01:00"));
    assert_eq!(delivered.events[8].code, "DR1");
    let ids = numbers(&["EW112720413FR"]);
    let decoded = decode_answer(200, body.as_bytes(), &ids, t(4, 12)).expect("decodes");
    let tracked = decoded["EW112720413FR"].clone().expect("a snapshot");
    assert_eq!(tracked.delivered_at, Some(utc("2023-03-09T09:38:00+01:00")));
    assert_eq!(tracked.snapshot, delivered);

    // A Colissimo order of the sample shop, its parcel carrying each
    // snapshot in turn: delivered files nothing; the same parcel still in
    // transit (debuss's sample, of 2020) would be late.
    let world = World::start(&SampleShop::default(), None)
        .await
        .expect("fakes");
    let dir = tempfile::tempdir().expect("dir");
    let config = world.config(dir.path());
    let cal = Calendar::new(&config.calendar);
    let classifier = Classifier::new(&config.magento, &config.carriers);
    let order = demo_shop()
        .orders
        .into_iter()
        .find(|o| o.increment_id == "100005")
        .expect("the sample's delivery_colissimo order");
    let mut parcels = parcels_of(&order, &classifier);
    assert_eq!(parcels.len(), 1);
    let judge = |parcels: &[colisync::domain::Parcel]| {
        colisync::rules::judge(
            &order,
            parcels,
            &cal,
            &config.rules,
            &classifier,
            reference_now(),
        )
        .findings
    };
    parcels[0].tracking = Some(delivered);
    let findings = judge(&parcels);
    assert!(findings.is_empty(), "{findings:#?}");

    let debuss = fixture("debuss-200.json");
    let in_transit = decode_answer(
        200,
        debuss.as_bytes(),
        &numbers(&["6A18987970674"]),
        t(4, 12),
    )
    .expect("decodes")["6A18987970674"]
        .clone()
        .expect("a snapshot");
    parcels[0].tracking = Some(in_transit.snapshot);
    assert!(!judge(&parcels).is_empty(), "the control should fire");
}

/// debuss's bare envelope, events with an `order` field: in transit at
/// ET1, with its estimDate; the same envelope inside a 207 too.
#[tokio::test]
async fn debuss_200_is_in_transit_with_its_estimated_date() {
    let fake = fake().await;
    let body = fixture("debuss-200.json");
    fake.serve_verbatim("6A18987970674", 200, &body);
    let c = client(&fake, KEY);
    let r = c.track(&numbers(&["6A18987970674"]), t(4, 12)).await;
    let s = snap(&r[0]);
    assert_eq!(s.status, TrackingStatus::InTransit);
    assert!(!s.is_final);
    let codes: Vec<&str> = s.events.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["ET1", "DR1"]);
    assert_eq!(s.events[0].at, utc("2020-07-04T01:25:12+02:00"));

    let decoded = decode_answer(200, body.as_bytes(), &numbers(&["6A18987970674"]), t(4, 12))
        .expect("decodes");
    let tracked = decoded["6A18987970674"].clone().expect("a snapshot");
    assert_eq!(
        tracked.estimated_delivery,
        Some(utc("2023-01-27T00:00:00+01:00"))
    );
    assert_eq!(tracked.delivered_at, None);
    assert_eq!(&tracked.snapshot, s);

    // Asked with another number: its envelope inside a 207.
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("PC1", t(3, 9))],
        false,
    );
    let r = c
        .track(&numbers(&["6A18987970674", "6A00000000001"]), t(4, 12))
        .await;
    assert_eq!(snap(&r[0]).events[0].code, "ET1");
    assert_eq!(snap(&r[1]).status, TrackingStatus::InTransit);
}

/// Both 400s: a bad number, for that number only, not retried. karrio's
/// echoes a 64-character idShip, which the client never sends: decoded
/// directly, and refused locally when asked.
#[tokio::test]
async fn the_400s_are_bad_numbers() {
    let fake = fake().await;
    fake.serve_verbatim("6A00000000400", 400, &fixture("debuss-400.json"));
    let c = client(&fake, KEY);
    let r = c.track(&numbers(&["6A00000000400"]), t(4, 12)).await;
    let e = r[0].1.clone().expect_err("400");
    assert!(matches!(e, TrackError::BadNumber { .. }) && !e.is_retryable());
    assert!(
        e.to_string().contains("Votre requête est incorrecte"),
        "{e}"
    );
    assert_eq!(fake.requests(), 1);

    let karrio = fixture("karrio-error-400.json");
    let long = "WBZQ03ENZJ6BBBTEELZWITJTAGYKA19WR6OOJ6MIVZARY3OVPSX4A495YOMXBLKC";
    let decoded =
        decode_answer(400, karrio.as_bytes(), &numbers(&[long]), t(4, 12)).expect("per number");
    assert!(
        matches!(&decoded[long], Err(TrackError::BadNumber { message }) if message.contains("n’est pas valide")),
        "{decoded:?}"
    );
    let r = c.track(&numbers(&[long]), t(4, 12)).await;
    assert_eq!(r[0].1, Err(TrackError::InvalidNumber));
    assert_eq!(fake.requests(), 1, "never sent");
}

/// debuss's 404 (`returnCode` 404, no idShip): not known yet, a snapshot.
#[tokio::test]
async fn debuss_404_is_not_known_yet() {
    let fake = fake().await;
    fake.serve_verbatim("6A00000000404", 404, &fixture("debuss-404.json"));
    let c = client(&fake, KEY);
    let r = c.track(&numbers(&["6A00000000404"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]), &TrackingSnapshot::unknown(t(4, 12)));
    assert_eq!(fake.requests(), 1, "not retried");
}

/// A refused key, in either shape: fatal, one request for the whole call
/// (two batches asked), the key nowhere in the errors.
#[tokio::test]
async fn a_refused_key_in_either_shape_is_fatal_after_one_request() {
    let asked: Vec<String> = (0..12).map(|i| format!("6A{i:011}")).collect();

    // debuss's body, as the answer of the service.
    let poste = fake().await;
    poste.push_verbatim_answer(401, &fixture("debuss-401.json"));
    let c = client(&poste, KEY);
    let r = c.track(&asked, t(4, 12)).await;
    for (_, res) in &r {
        let e = res.clone().expect_err("401");
        assert!(e.is_fatal(), "{e:?}");
        assert_eq!(
            e.to_string(),
            "La Poste refused the API key (401): Unauthorized"
        );
    }
    assert_eq!(poste.request_log().len(), 1, "no retry, no second batch");

    // A wrong key, each shape the fake can answer it with.
    for shape in [UnauthorizedShape::Gateway, UnauthorizedShape::ReturnCode] {
        let poste = fake().await;
        poste.set_unauthorized_shape(shape);
        let c = client(&poste, "okapi-wrong-5ecret");
        let r = c.track(&asked, t(4, 12)).await;
        for (_, res) in &r {
            let e = res.clone().expect_err("401");
            assert!(e.is_fatal(), "{shape:?}: {e:?}");
            let text = format!("{e} {e:?}");
            assert!(!text.contains("5ecret"), "{text}");
        }
        assert_eq!(poste.unauthorized(), 1, "{shape:?}");
        assert_eq!(poste.request_log().len(), 1, "{shape:?}");
    }
}

/// debuss's 429 (gateway shape): rate limited, retried.
#[tokio::test]
async fn debuss_429_is_retried() {
    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("PC1", t(3, 9))],
        false,
    );
    fake.push_verbatim_answer(429, &fixture("debuss-429.json"));
    let c = client(&fake, KEY);
    let r = c.track(&numbers(&["6A00000000001"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::InTransit);
    assert_eq!(fake.requests(), 2);
}

/// debuss's 500, 503 and 504: retried; still failing, an error for each
/// number of the batch (no snapshot), neither fatal nor a bad number.
#[tokio::test]
async fn debuss_5xx_are_retried_then_fail_the_batch() {
    for (file, status) in [
        ("debuss-500.json", 500),
        ("debuss-503.json", 503),
        ("debuss-504.json", 504),
    ] {
        let fake = fake().await;
        fake.set_parcel(
            "6A00000000001",
            "Colissimo",
            vec![ev("PC1", t(3, 9))],
            false,
        );
        let body = fixture(file);
        fake.push_verbatim_answer(status, &body);
        let c = client(&fake, KEY);
        let two = numbers(&["6A00000000001", "6A00000000002"]);
        let r = c.track(&two, t(4, 12)).await;
        assert_eq!(snap(&r[0]).status, TrackingStatus::InTransit, "{file}");
        assert_eq!(snap(&r[1]).status, TrackingStatus::Unknown, "{file}");

        for _ in 0..10 {
            fake.push_verbatim_answer(status, &body);
        }
        let r = c.track(&two, t(4, 12)).await;
        for (_, res) in &r {
            let e = res.clone().expect_err("still failing");
            assert!(e.is_retryable() && !e.is_fatal(), "{file}: {e:?}");
            let want = match status {
                503 => "SERVICE_UNAVAILABLE",
                500 => "Internal Server Error",
                _ => "Gateway Timeout",
            };
            assert!(e.to_string().contains(want), "{file}: {e}");
        }
        // First call: one failure and its retry; second: 1 + 3 retries.
        assert_eq!(fake.request_log().len(), 2 + 4, "{file}");
    }
}

// ----- Return codes and isFinal, as the fake serves them -----

/// Swagger SUIVI: returnCode 101, 104, 105, 109 (no data for the number),
/// 200, 201, 208 (data) per number; one number's 105 leaves the others of
/// its 207 judged.
#[tokio::test]
async fn every_return_code_per_number() {
    let fake = fake().await;
    let events = vec![ev("ET1", t(3, 8)), ev("PC1", t(2, 18))];
    let codes = [101_u64, 104, 105, 109, 200, 201, 208];
    let asked: Vec<String> = codes.iter().map(|c| format!("6A0000000{c:04}")).collect();
    for (n, code) in asked.iter().zip(codes) {
        fake.set_parcel(n, "Colissimo", events.clone(), false);
        fake.set_return_code(n, code);
    }
    let c = client(&fake, KEY);
    let check = |r: &[(String, Result<TrackingSnapshot, TrackError>)]| {
        for ((n, res), code) in r.iter().zip(codes) {
            let s = res
                .as_ref()
                .unwrap_or_else(|e| panic!("{n} ({code}) should have a snapshot: {e}"));
            if code < 200 {
                assert_eq!(s, &TrackingSnapshot::unknown(t(4, 12)), "{code}");
            } else {
                assert_eq!(s.status, TrackingStatus::InTransit, "{code}");
                assert_eq!(s.events, events, "{code}");
            }
        }
    };
    // All in one 207.
    let r = c.track(&asked, t(4, 12)).await;
    check(&r);
    assert_eq!(fake.requests(), 1);
    // Each alone (101/105/109 are then a 404, as 104).
    let mut alone = Vec::new();
    for n in &asked {
        alone.extend(c.track(std::slice::from_ref(n), t(4, 12)).await);
    }
    check(&alone);
    assert_eq!(fake.requests(), 1 + codes.len(), "nothing retried");
}

/// A 504 in the returnCode shape for a request: retried like a 5xx.
#[tokio::test]
async fn a_504_for_a_request_is_retried() {
    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("PC1", t(3, 9))],
        false,
    );
    fake.push_return_code_error(504);
    let c = client(&fake, KEY);
    let r = c.track(&numbers(&["6A00000000001"]), t(4, 12)).await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::InTransit);
    assert_eq!(fake.requests(), 2);
}

/// `isFinal` ("Is object delivered?"): final with a code the table does not
/// know is delivered; final after a return event went back to the sender.
#[tokio::test]
async fn final_parcels_are_delivered_or_returned() {
    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("ZZ9", t(4, 10)), ev("MD2", t(4, 7))],
        true,
    );
    fake.set_parcel(
        "6A00000000002",
        "Colissimo",
        vec![ev("ZZ9", t(4, 10)), ev("RE1", t(3, 7))],
        true,
    );
    fake.set_parcel(
        "6A00000000003",
        "Colissimo",
        vec![ev("ZZ9", t(4, 10)), ev("MD2", t(4, 7))],
        false,
    );
    let c = client(&fake, KEY);
    let r = c
        .track(
            &numbers(&["6A00000000001", "6A00000000002", "6A00000000003"]),
            t(4, 12),
        )
        .await;
    assert_eq!(snap(&r[0]).status, TrackingStatus::Delivered);
    assert_eq!(snap(&r[0]).events[0].code, "ZZ9", "kept raw");
    assert_eq!(snap(&r[1]).status, TrackingStatus::ReturnToSender);
    assert_eq!(snap(&r[2]).status, TrackingStatus::InTransit);
}

/// The fake's shipments carry every field the recorded ones do (karrio's
/// final parcel, debuss's events and timeline steps).
#[tokio::test]
async fn the_fake_serves_the_fields_of_the_recorded_answers() {
    use serde_json::Value;
    use std::collections::BTreeSet;

    let fake = fake().await;
    fake.set_parcel(
        "6A00000000001",
        "Colissimo",
        vec![ev("DI1", t(4, 10)), ev("MD2", t(4, 7)), ev("PC1", t(2, 7))],
        true,
    );
    fake.set_parcel(
        "6A00000000002",
        "Colissimo",
        vec![ev("ET1", t(4, 10)), ev("DR1", t(2, 7))],
        false,
    );
    fake.set_estimated_delivery("6A00000000002", Some(t(6, 0)));
    let get = |id: &str| {
        let url = fake
            .base_url()
            .join(&format!("suivi/v2/idships/{id}?lang=fr_FR"))
            .expect("url");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("X-Okapi-Key", KEY)
                .header("Accept", "application/json")
                .send()
                .await
                .expect("answer")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let shipment = |v: &Value| {
        let env = if v.is_array() { &v[0] } else { v };
        env["shipment"].clone()
    };
    let karrio: Value =
        serde_json::from_str(&fixture("karrio-EW112720413FR-200.json")).expect("json");
    let debuss: Value = serde_json::from_str(&fixture("debuss-200.json")).expect("json");

    let delivered = get("6A00000000001").await;
    let want = shipment(&karrio);
    let got = shipment(&delivered);
    assert!(keys(&got).is_superset(&keys(&want)), "{got:#}");
    assert!(keys(&got["timeline"][0]).is_superset(&keys(&want["timeline"][0])));
    assert!(keys(&got["timeline"][4]).is_superset(&keys(&want["timeline"][4])));
    assert!(keys(&got["contextData"]).is_superset(&keys(&want["contextData"])));
    assert_eq!(got["deliveryDate"], got["event"][0]["date"]);
    assert_eq!(got["timeline"][4]["status"], Value::Bool(true));

    let moving = get("6A00000000002").await;
    let want = shipment(&debuss);
    let got = shipment(&moving);
    assert!(keys(&got).is_superset(&keys(&want)), "{got:#}");
    assert!(keys(&got["event"][0]).is_superset(&keys(&want["event"][0])));
    assert!(got.get("deliveryDate").is_none(), "not final: {got:#}");
    assert_eq!(got["estimDate"], Value::from("2026-05-06T02:00:00+02:00"));
    let steps: Vec<bool> = (0..5)
        .map(|i| got["timeline"][i]["status"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(steps, [true, true, true, false, false], "as debuss at ET1");
}
