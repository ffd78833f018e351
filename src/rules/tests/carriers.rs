//! Carriers and parcels: the classifier, shipments into parcels, letters,
//! carriers outside La Poste, placeholder numbers.

use super::*;

#[test]
fn classifier_carriers_and_kinds() {
    let c = Classifier::seed_defaults();
    let track = |code: &str, title: &str, number: &str| Track {
        number: number.into(),
        carrier_code: code.into(),
        title: title.into(),
        created_at: utc(2026, 5, 4, 8, 0),
    };
    let cases: &[(Option<&str>, Option<Track>, Carrier)] = &[
        (Some("colissimo_homecl"), None, Carrier::Colissimo),
        (
            Some("chronopost_13"),
            Some(track("custom", "", "XY1")),
            Carrier::Chronopost,
        ),
        (Some("flatrate_flatrate"), None, Carrier::Letter),
        (
            Some("weird_method"),
            Some(track("custom", "Colissimo Expert", "6A1")),
            Carrier::Colissimo,
        ),
        (
            None,
            Some(track("chronopost", "", "XY1")),
            Carrier::Chronopost,
        ),
        (
            Some("weird_method"),
            Some(track("custom", "Lettre suivie", "1L2")),
            Carrier::Letter,
        ),
        (
            Some("weird_method"),
            Some(track("dhl", "DHL Express", "123")),
            Carrier::Foreign,
        ),
        (Some("weird_method"), None, Carrier::Letter),
        // A letter method shipped with a Colissimo number was upgraded.
        (
            Some("flatrate_flatrate"),
            Some(track("custom", "Colissimo", "6A1")),
            Carrier::Colissimo,
        ),
        (
            Some("flatrate_flatrate"),
            Some(track("custom", "", "")),
            Carrier::Letter,
        ),
    ];
    for (method, track, want) in cases {
        assert_eq!(
            c.carrier(*method, track.as_ref()),
            *want,
            "{method:?} {track:?}"
        );
    }
    assert_eq!(c.product_kind("ORI-HP301"), ProductKind::Original);
    assert_eq!(c.product_kind("CMP-HP301"), ProductKind::Compatible);
}

#[test]
fn parcels_of_shipments() {
    let mut o = order(&["CMP-1"], Some(utc(2026, 5, 4, 8, 0)));
    let track = |n: &str| Track {
        number: n.into(),
        carrier_code: "custom".into(),
        title: "Colissimo".into(),
        created_at: utc(2026, 5, 4, 9, 0),
    };
    o.shipments = vec![
        Shipment {
            entity_id: 1,
            created_at: utc(2026, 5, 4, 9, 0),
            tracks: vec![track("6A 111"), track("6A222")],
        },
        Shipment {
            entity_id: 2,
            created_at: utc(2026, 5, 5, 9, 0),
            tracks: vec![track("6A111")],
        },
        Shipment {
            entity_id: 3,
            created_at: utc(2026, 5, 6, 9, 0),
            tracks: vec![],
        },
    ];
    let parcels = parcels_of(&o, &Classifier::seed_defaults());
    let keys: Vec<_> = parcels.iter().map(Parcel::key_part).collect();
    assert_eq!(keys, ["6A111", "6A222", "shipment-3"]);
    assert!(
        parcels
            .iter()
            .all(|p| p.carrier == Carrier::Colissimo && p.tracking.is_none())
    );
    assert_eq!(parcels[2].shipped_at, utc(2026, 5, 6, 9, 0));
}

#[test]
fn colissimo_shipment_without_number_is_a_tracking_anomaly() {
    // Seed 004 ① / seed 000 §2 remarque: nobody can follow a parcel with no
    // number; after 24 h it is filed like an unknown number.
    let ship = paris(2026, 5, 4, 10, 0);
    let (mut o, _) = shipped(Carrier::Colissimo, ship, None);
    o.shipments[0].tracks.clear();
    let parcels = parcels_of(&o, &Classifier::seed_defaults());
    assert_eq!(parcels[0].carrier, Carrier::Colissimo);
    let cfg = RulesConfig::seed_defaults();
    let h = |n: i64| ship + chrono::Duration::hours(n);
    assert_eq!(verdict(&run(&o, &parcels, &cfg, h(23))), None);
    let j = run(&o, &parcels, &cfg, h(25));
    assert_eq!(verdict(&j), Some((TrackingNotFound, Late)));
    assert_eq!(j.findings[0].key.to_string(), "parcel/100023/shipment-77");
    assert!(j.findings[0].facts[0].contains("sans numéro de suivi"));
    // Parcels not given: judge derives them from the shipments.
    assert_eq!(run(&o, &[], &cfg, h(25)).findings, j.findings);
}

/// La Poste's events (newest first) and its `isFinal`.
type Answer<'a> = (Events<'a>, bool);

/// A lettre suivie shipped Mon 4 May 2026 10:00, with La Poste's answer
/// (`None`: never polled).
fn tracked_letter(events: Option<Answer<'_>>) -> (Order, Vec<Parcel>) {
    let ship = paris(2026, 5, 4, 10, 0);
    let (mut o, _) = shipped(Carrier::Letter, ship, None);
    o.shipments[0].tracks = vec![Track {
        number: "1L01234567890".into(),
        carrier_code: "custom".into(),
        title: "Lettre suivie".into(),
        created_at: ship,
    }];
    let mut parcels = parcels_of(&o, &Classifier::seed_defaults());
    assert_eq!(parcels[0].carrier, Carrier::Letter);
    assert!(parcels[0].laposte_tracks());
    parcels[0].tracking = events.map(|(evs, fin)| snapshot(evs, fin));
    (o, parcels)
}

#[test]
fn a_tracked_letter_follows_its_tracking() {
    // Seed 000 §2 « Envoi simple »: 10 days. A lettre suivie carries a La
    // Poste number: delivered means no card, a return or an incident is a
    // fact like for a parcel; « introuvable » and « bloqué » are parcel
    // rules (a letter is scanned at deposit and delivery only).
    let cfg = RulesConfig::seed_defaults();
    let d = |day: u32, h: u32| paris(2026, 5, day, h, 0);
    let cases: &[(&str, Option<Answer>, DateTime<Utc>, Want)] = &[
        ("never polled: no verdict yet", None, d(20, 9), None),
        (
            "delivered: nothing to do even after 10 days",
            Some((&[("DI1", d(6, 11)), ("PC1", d(4, 18))], true)),
            d(20, 9),
            None,
        ),
        (
            "in transit 10 days",
            Some((&[("PC1", d(4, 18))], false)),
            d(14, 20),
            None,
        ),
        (
            "in transit 11 days",
            Some((&[("PC1", d(4, 18))], false)),
            d(15, 9),
            Some((DeliveryLetter, Late)),
        ),
        (
            "unknown to La Poste after 2 days: not « introuvable »",
            Some((&[], false)),
            d(6, 12),
            None,
        ),
        (
            "silent 3 days: not « bloqué »",
            Some((&[("PC1", d(4, 18))], false)),
            d(7, 20),
            None,
        ),
        (
            "returning",
            Some((&[("RE1", d(8, 9)), ("PC1", d(4, 18))], false)),
            d(8, 12),
            Some((ReturnToSender, Late)),
        ),
        (
            "incident",
            Some((&[("ND1", d(6, 9)), ("PC1", d(4, 18))], false)),
            d(6, 12),
            Some((TrackingProblem, Late)),
        ),
    ];
    for (case, events, now, want) in cases {
        let (o, parcels) = tracked_letter(*events);
        let j = run(&o, &parcels, &cfg, *now);
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
    // Without a number it stays the 10-day date rule.
    let (o, parcels) = shipped(Carrier::Letter, d(4, 10), None);
    assert!(!parcels[0].laposte_tracks());
    assert_eq!(
        verdict(&run(&o, &parcels, &cfg, d(15, 9))),
        Some((DeliveryLetter, Late))
    );
}

#[test]
fn a_parcel_of_another_carrier_is_never_la_poste_s() {
    // La Poste's API knows holders 1, 3 and 4 only (courrier, Chronopost,
    // Colissimo): a DPD parcel is never polled and never « introuvable »,
    // even with a number of La Poste's shape; it keeps the order-level
    // rules; its delivery rule is off unless the admin sets
    // `[rules.delivery_other] days`.
    let ship = paris(2026, 5, 4, 10, 0);
    let mut o = order(&["CMP-1"], Some(ship - chrono::Duration::hours(20)));
    o.shipping_method = Some("colissimo_homecl".into());
    o.shipments = vec![Shipment {
        entity_id: 79,
        created_at: ship,
        tracks: vec![Track {
            number: "12345678901234".into(),
            carrier_code: "custom".into(),
            title: "DPD Predict".into(),
            created_at: ship,
        }],
    }];
    let parcels = parcels_of(&o, &Classifier::seed_defaults());
    assert_eq!(parcels[0].carrier, Carrier::Foreign);
    assert!(!parcels[0].laposte_tracks());
    // (Never polled: the poll policy's table in tests/it/state_poll.rs.)

    let d = |day: u32| paris(2026, 5, day, 9, 0);
    let default = RulesConfig::seed_defaults();
    for now in [d(5), d(6), d(30)] {
        let j = run(&o, &parcels, &default, now);
        assert_eq!(verdict(&j), None, "{}", trace_text(&j));
    }
    let mut cfg = RulesConfig::seed_defaults();
    cfg.delivery_other.enabled = true;
    cfg.delivery_other.threshold = 5;
    let cases: &[(DateTime<Utc>, Want)] = &[
        (d(9), None),
        (d(10), Some((DeliveryOther, Late))),
        (d(14), Some((DeliveryOther, Critical))),
    ];
    for (now, want) in cases {
        let j = run(&o, &parcels, &cfg, *now);
        assert_eq!(verdict(&j), *want, "{}", trace_text(&j));
    }
    let j = run(&o, &parcels, &cfg, d(10));
    assert!(
        j.findings[0]
            .facts
            .iter()
            .any(|f| f.contains("hors La Poste"))
    );

    // A number La Poste could never take is no anomaly of another carrier.
    let mut o2 = o.clone();
    o2.shipments[0].tracks[0].number = "N/A".into();
    let parcels2 = parcels_of(&o2, &Classifier::seed_defaults());
    assert_eq!(verdict(&run(&o2, &parcels2, &default, d(30))), None);
}

#[test]
fn carriers_outside_la_poste_are_recognised_by_code_title_or_method() {
    let c = Classifier::seed_defaults();
    let track = |code: &str, title: &str| Track {
        number: "12345678901".into(),
        carrier_code: code.into(),
        title: title.into(),
        created_at: utc(2026, 5, 4, 8, 0),
    };
    let cases: &[(Option<&str>, Option<Track>, Carrier)] = &[
        // The track says what really left, whatever the method's glob.
        (
            Some("colissimo_homecl"),
            Some(track("custom", "DPD Predict")),
            Carrier::Foreign,
        ),
        (
            Some("flatrate_flatrate"),
            Some(track("custom", "Colis Privé")),
            Carrier::Foreign,
        ),
        (Some("x"), Some(track("gls", "")), Carrier::Foreign),
        (
            Some("x"),
            Some(track("ups", "UPS Standard")),
            Carrier::Foreign,
        ),
        (
            Some("x"),
            Some(track("custom", "Mondial Relay")),
            Carrier::Foreign,
        ),
        (Some("dpdfrrelais_dpdfrrelais"), None, Carrier::Foreign),
        (Some("mondialrelay_pickup"), None, Carrier::Foreign),
        // Words inside other words are not carriers.
        (
            Some("weird_method"),
            Some(track("custom", "Lettre suivie groupes")),
            Carrier::Letter,
        ),
        (
            Some("colissimo_homecl"),
            Some(track("colissimo", "Colissimo")),
            Carrier::Colissimo,
        ),
        // La Poste's own relay offer is no foreign carrier.
        (
            Some("weird_method"),
            Some(track("custom", "Relais Colissimo")),
            Carrier::Colissimo,
        ),
        // Nothing recognised: `Other`, which La Poste is still asked about.
        (
            Some("tablerate_bestway"),
            Some(track("custom", "Transporteur")),
            Carrier::Other,
        ),
    ];
    for (method, track, want) in cases {
        assert_eq!(
            c.carrier(*method, track.as_ref()),
            *want,
            "{method:?} {track:?}"
        );
    }
}

#[test]
fn a_placeholder_number_is_an_untracked_shipment_of_its_method() {
    // « N/A » in the number field: no number at all. The shipment keeps its
    // method's carrier (a letter for an unmapped method, as without any
    // track), so the letter's 10 days still watch it.
    let c = Classifier::seed_defaults();
    let ship = paris(2026, 5, 4, 10, 0);
    for (method, want) in [
        ("tablerate_bestway", Carrier::Letter),
        ("flatrate_flatrate", Carrier::Letter),
        ("colissimo_homecl", Carrier::Colissimo),
    ] {
        let mut o = order(&["CMP-1"], Some(ship - chrono::Duration::hours(20)));
        o.state = OrderState::Complete;
        o.shipping_method = Some(method.into());
        o.shipments = vec![Shipment {
            entity_id: 80,
            created_at: ship,
            tracks: vec![Track {
                number: "N/A".into(),
                carrier_code: "custom".into(),
                title: String::new(),
                created_at: ship,
            }],
        }];
        let parcels = parcels_of(&o, &c);
        assert_eq!(parcels.len(), 1);
        assert_eq!(parcels[0].tracking_number, "", "{method}");
        assert_eq!(parcels[0].carrier, want, "{method}");
    }
    // An unrecognised carrier with a number La Poste accepts is asked about
    // (it may be a Colissimo parcel under an unmapped method).
    let unknown = Parcel {
        order_entity_id: 1,
        order_increment_id: "1".into(),
        shipment_id: 1,
        tracking_number: "6A12345678901".into(),
        carrier: Carrier::Other,
        shipped_at: ship,
        tracking: None,
    };
    assert!(unknown.laposte_tracks());
    // Quantities decide only when every item has one.
    let mut o = order(&["CMP-1", "CMP-2"], Some(ship));
    o.items[0].qty_to_ship = Some(0.0);
    assert!(
        !o.is_fully_shipped(),
        "the second item's quantity is unknown"
    );
}
