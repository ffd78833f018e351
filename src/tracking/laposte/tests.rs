//! Unit tests of the La Poste client's pure parts: number checks, the
//! decoding of every answer shape.

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
    let s = r["6A12345678901"].clone().expect("snapshot").snapshot;
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
        r["6A12345678902"].clone().expect("unknown").snapshot.status,
        TrackingStatus::Unknown
    );
    assert!(matches!(
        r["6A12345678903"],
        Err(TrackError::BadNumber { .. })
    ));

    assert!(matches!(
        interpret(404, None, b"", &ids(&["6A12345678901"]), now()).expect("ok")["6A12345678901"],
        Ok(Tracked {
            snapshot: TrackingSnapshot {
                status: TrackingStatus::Unknown,
                ..
            },
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
    assert!(interpret(401, None, gw, &ids(&["6A12345678901"]), now()).is_err_and(|e| e.is_fatal()));
    assert!(
        interpret(200, None, b"{\"lang\":", &ids(&["6A12345678901"]), now())
            .is_err_and(|e| e.is_retryable())
    );
}

#[test]
fn every_return_code_of_the_spec() {
    let asked = ids(&[
        "6A00000000101",
        "6A00000000104",
        "6A00000000105",
        "6A00000000109",
        "6A00000000200",
        "6A00000000201",
        "6A00000000208",
    ]);
    let shipment = |id: &str| {
        format!(
            r#"{{"idShip":"{id}","isFinal":false,"event":[{{"code":"PC1","label":"x","date":"2026-05-03T10:00:00+02:00"}}]}}"#
        )
    };
    let envs: Vec<String> = asked
        .iter()
        .map(|id| {
            let code: u64 = id[10..].parse().expect("code");
            if meaning(code) == Meaning::Data {
                format!(r#"{{"returnCode":{code},"shipment":{}}}"#, shipment(id))
            } else {
                format!(r#"{{"returnCode":{code},"idShip":"{id}","returnMessage":"rien"}}"#)
            }
        })
        .collect();
    let body = format!("[{}]", envs.join(","));
    let r = interpret(207, None, body.as_bytes(), &asked, now()).expect("per number");
    for id in &asked {
        let want = if id.ends_with("101")
            || id.ends_with("104")
            || id.ends_with("105")
            || id.ends_with("109")
        {
            TrackingStatus::Unknown
        } else {
            TrackingStatus::InTransit
        };
        let got = r[id.as_str()].clone().expect("a snapshot");
        assert_eq!(got.snapshot.status, want, "{id}");
    }

    // 504, alone or inside a 207: the request failed, retried.
    let gt =
        br#"{"returnCode":504,"returnMessage":"Gateway Timeout","lang":"fr_FR","scope":"open"}"#;
    let e = interpret(504, None, gt, &ids(&["6A00000000001"]), now()).expect_err("504");
    assert!(matches!(e, TrackError::Failed { code: 504, .. }) && e.is_retryable());
    let mixed = format!(
        r#"[{{"returnCode":200,"shipment":{}}},{{"returnCode":504,"idShip":"6A00000000002"}}]"#,
        shipment("6A00000000001")
    );
    let two = ids(&["6A00000000001", "6A00000000002"]);
    assert!(
        interpret(207, None, mixed.as_bytes(), &two, now())
            .is_err_and(|e| e.is_retryable() && !e.is_fatal())
    );

    // 401 in the returnCode shape: the key, fatal, for the batch.
    let u = br#"{"returnCode":401,"returnMessage":"Unauthorized","lang":"fr_FR","scope":"open"}"#;
    let e = interpret(401, None, u, &two, now()).expect_err("401");
    assert!(e.is_fatal() && !e.is_retryable(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "La Poste refused the API key (401): Unauthorized"
    );

    // An envelope naming no number, for several: about the request.
    let bad = br#"{"returnCode":400,"returnMessage":"Votre requete est incorrecte."}"#;
    assert!(matches!(
        interpret(400, None, bad, &two, now()),
        Err(TrackError::Status { status: 400, .. })
    ));
    // For one number, it is that number's.
    assert!(matches!(
        interpret(400, None, bad, &ids(&["6A00000000001"]), now()).expect("ok")["6A00000000001"],
        Err(TrackError::BadNumber { .. })
    ));
}

#[test]
fn final_parcels_and_dates() {
    let body = br#"{"returnCode":200,"shipment":{"idShip":"6A00000000001","isFinal":true,
        "estimDate":"2026-05-04T00:00:00+02:00","deliveryDate":"pas une date",
        "event":[{"code":"ZZ9","label":"?","date":"2026-05-03T10:00:00+02:00"}]}}"#;
    let r = interpret(200, None, body, &ids(&["6A00000000001"]), now()).expect("ok");
    let t = r["6A00000000001"].clone().expect("snapshot");
    assert_eq!(t.snapshot.status, TrackingStatus::Delivered);
    assert!(t.snapshot.is_final);
    assert_eq!(
        t.estimated_delivery,
        Utc.with_ymd_and_hms(2026, 5, 3, 22, 0, 0).single()
    );
    assert_eq!(t.delivered_at, None, "an unreadable date is ignored");
}
