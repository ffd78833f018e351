//! The parcel rules: delivery delays, tracking anomalies, priority, and
//! the settings they take from the config.

use super::*;

#[test]
fn delivery_by_calendar_days() {
    // Seed 000 §2 and §5: letter « supérieure à 10 jours », Colissimo « ne
    // dépasse pas 7 jours »; docs/rules.md compares Paris calendar dates.
    let ship = paris(2026, 5, 4, 10, 0);
    // A fresh in-transit event an hour ago so that tracking_stuck stays
    // quiet (it ranks after delivery anyway).
    let cases: &[(&str, Carrier, DateTime<Utc>, Want)] = &[
        (
            "colissimo 7 days",
            Carrier::Colissimo,
            paris(2026, 5, 11, 20, 0),
            None,
        ),
        (
            "colissimo 8 days",
            Carrier::Colissimo,
            paris(2026, 5, 12, 9, 0),
            Some((DeliveryColissimo, Late)),
        ),
        (
            "colissimo 13 days",
            Carrier::Colissimo,
            paris(2026, 5, 17, 9, 0),
            Some((DeliveryColissimo, Late)),
        ),
        (
            "colissimo 14 days",
            Carrier::Colissimo,
            paris(2026, 5, 18, 9, 0),
            Some((DeliveryColissimo, Critical)),
        ),
        (
            "letter 10 days",
            Carrier::Letter,
            paris(2026, 5, 14, 20, 0),
            None,
        ),
        (
            "letter 11 days",
            Carrier::Letter,
            paris(2026, 5, 15, 9, 0),
            Some((DeliveryLetter, Late)),
        ),
        (
            "letter 20 days",
            Carrier::Letter,
            paris(2026, 5, 24, 9, 0),
            Some((DeliveryLetter, Critical)),
        ),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, carrier, now, want) in cases {
        let fresh = *now - chrono::Duration::hours(1);
        let evs: Events = &[("ET1", fresh)];
        let events = (*carrier != Carrier::Letter).then_some(evs);
        let (o, parcels) = shipped(*carrier, ship, events);
        let j = run(&o, &parcels, &cfg, *now);
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
    // Paris dates, not UTC ones: shipped Mon 4 May 23:30 Paris (21:30 UTC),
    // judged Tue 12 May 00:30 Paris (11 May 22:30 UTC): 8 Paris days.
    let scanned: Events = &[("ET1", utc(2026, 5, 11, 20, 0))];
    let (o, parcels) = shipped(Carrier::Colissimo, paris(2026, 5, 4, 23, 30), Some(scanned));
    let j = run(&o, &parcels, &cfg, utc(2026, 5, 11, 22, 30));
    assert_eq!(
        verdict(&j),
        Some((DeliveryColissimo, Late)),
        "{}",
        trace_text(&j)
    );
    assert_eq!(j.findings[0].delay, Delay::Days(8));
    // An untracked letter's key is its shipment.
    let (o, parcels) = shipped(Carrier::Letter, ship, None);
    let j = run(&o, &parcels, &cfg, paris(2026, 5, 15, 9, 0));
    assert_eq!(j.findings[0].key.to_string(), "parcel/100023/shipment-77");
    assert_eq!(j.findings[0].tracking_number, None);
    assert!(
        j.findings[0]
            .procedure
            .contains("attestation sur l'honneur")
    );
}

#[test]
fn delivery_chronopost_next_business_day() {
    // Seed 000 §2 « Envoi Chronopost »: 24 h guarantee, read as the end of
    // the business day after the shipment's day. Shipped Thu 7 May 2026:
    // Fri 8 May is a holiday, so due by the end of Mon 11 May.
    let ship = paris(2026, 5, 7, 15, 0);
    let cases: &[(&str, DateTime<Utc>, Want)] = &[
        ("Mon 23:59", paris(2026, 5, 11, 23, 59), None),
        (
            "Tue 00:01",
            paris(2026, 5, 12, 0, 1),
            Some((DeliveryChronopost, Late)),
        ),
        (
            "Tue 23:59",
            paris(2026, 5, 12, 23, 59),
            Some((DeliveryChronopost, Late)),
        ),
        (
            "Wed: past 2 business days",
            paris(2026, 5, 13, 9, 0),
            Some((DeliveryChronopost, Critical)),
        ),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, now, want) in cases {
        let evs: Events = &[("ET1", *now - chrono::Duration::hours(2))];
        let (o, parcels) = shipped(Carrier::Chronopost, ship, Some(evs));
        let j = run(&o, &parcels, &cfg, *now);
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
    let (o, parcels) = shipped(
        Carrier::Chronopost,
        ship,
        Some(&[("ET1", paris(2026, 5, 11, 8, 0))]),
    );
    let j = run(&o, &parcels, &cfg, paris(2026, 5, 12, 9, 0));
    let f = &j.findings[0];
    assert_eq!(f.deadline, Some(paris(2026, 5, 12, 0, 0)));
    assert!(f.procedure.contains("« Chronopost retard excuses »"));
    assert!(
        f.procedure
            .contains("Ne proposez ni remboursement des frais de port ni geste commercial")
    );
}

#[test]
fn tracking_not_found_after_24_hours() {
    // Seed 004 ①: « Si rien n'a changé au bout de 24h »; elapsed time.
    let ship = paris(2026, 3, 28, 17, 0); // the eve of the spring DST change
    let h = |n: i64| ship + chrono::Duration::hours(n);
    let none: Events = &[];
    let dr1: Events = &[("DR1", h(1))];
    let pc1: Events = &[("PC1", h(3)), ("DR1", h(1))];
    let cases: &[(&str, Events, i64, Want)] = &[
        ("unknown 23 h", none, 23, None),
        ("unknown 24 h", none, 24, Some((TrackingNotFound, Late))),
        ("unknown 25 h", none, 25, Some((TrackingNotFound, Late))),
        ("DR1 only 23 h", dr1, 23, None),
        ("DR1 only 25 h", dr1, 25, Some((TrackingNotFound, Late))),
        ("DR1 only 47 h", dr1, 47, Some((TrackingNotFound, Late))),
        ("DR1 only 48 h", dr1, 48, Some((TrackingNotFound, Critical))),
        ("scanned 25 h", pc1, 25, None),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, events, hours, want) in cases {
        let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(events));
        let j = run(&o, &parcels, &cfg, h(*hours));
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
    // Never polled: no verdict at all until La Poste answered once, not
    // even from dates (the parcel may be delivered or returning already).
    let (o, parcels) = shipped(Carrier::Colissimo, ship, None);
    for hours in [30, 24 * 10] {
        let j = run(&o, &parcels, &cfg, h(hours));
        assert_eq!(verdict(&j), None, "{}", trace_text(&j));
        assert!(
            trace_text(&j).contains("tracking not asked yet"),
            "{}",
            trace_text(&j)
        );
    }
}

#[test]
fn a_number_la_poste_cannot_track_is_judged_without_waiting_for_it() {
    // La Poste is never asked about a number that is not 11 to 15 letters
    // and digits (tracking::laposte::is_valid_number): its answer will never
    // come, so waiting for it would hide the parcel from every rule for
    // good. Nobody can follow such a parcel: a tracking anomaly after 24 h,
    // like a parcel with no number at all.
    let ship = paris(2026, 5, 4, 10, 0);
    let (mut o, _) = shipped(Carrier::Colissimo, ship, None);
    o.shipments[0].tracks[0].number = "6A-1234-5678".into();
    let parcels = parcels_of(&o, &Classifier::seed_defaults());
    assert!(parcels[0].tracking.is_none());
    let cfg = RulesConfig::seed_defaults();
    let h = |n: i64| ship + chrono::Duration::hours(n);
    assert_eq!(verdict(&run(&o, &parcels, &cfg, h(23))), None);
    for hours in [25, 24 * 10] {
        let j = run(&o, &parcels, &cfg, h(hours));
        assert_eq!(
            verdict(&j).map(|(rule, _)| rule),
            Some(TrackingNotFound),
            "{}",
            trace_text(&j)
        );
        assert!(
            j.findings[0].facts[0].contains("6A-1234-5678"),
            "{:?}",
            j.findings[0].facts
        );
    }
}

#[test]
fn tracking_stuck_after_48_hours() {
    // Seed 004 ②: « Le blocage à une étape peut durer entre 24h et 48h ».
    let ship = paris(2026, 5, 4, 10, 0);
    let last = paris(2026, 5, 5, 8, 0);
    let h = |n: i64| last + chrono::Duration::hours(n);
    let cases: &[(&str, &str, i64, Want)] = &[
        ("in transit 46 h", "ET1", 46, None),
        ("in transit 50 h", "ET1", 50, Some((TrackingStuck, Late))),
        (
            "in transit 96 h",
            "ET1",
            96,
            Some((TrackingStuck, Critical)),
        ),
        (
            "out for delivery 50 h",
            "MD2",
            50,
            Some((TrackingStuck, Late)),
        ),
        ("awaiting pickup 72 h is not stuck", "AG1", 72, None),
        (
            "unknown code counts as transit",
            "ZZ9",
            50,
            Some((TrackingStuck, Late)),
        ),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, code, hours, want) in cases {
        let evs = [(*code, last), ("PC1", ship)];
        let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&evs));
        let j = run(&o, &parcels, &cfg, h(*hours));
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
}

#[test]
fn delivered_resolves_everything() {
    // docs/rules.md: a problem ends when the parcel is delivered.
    let ship = paris(2026, 5, 4, 10, 0);
    for carrier in [Carrier::Colissimo, Carrier::Chronopost, Carrier::Letter] {
        let evs: Events = &[("DI1", paris(2026, 5, 20, 10, 0)), ("PC1", ship)];
        let (o, parcels) = shipped(carrier, ship, Some(evs));
        let j = run(
            &o,
            &parcels,
            &RulesConfig::seed_defaults(),
            paris(2026, 6, 30, 10, 0),
        );
        assert!(j.findings.is_empty(), "{carrier:?}");
        assert!(trace_text(&j).contains("delivered Wed 20 May 2026 10:00: no rule applies"));
    }
}

#[test]
fn parcel_rules_priority() {
    // docs/rules.md: return_to_sender, tracking_problem, tracking_not_found,
    // delivery_*, tracking_stuck; each parcel shows the first that fires.
    let ship = paris(2026, 5, 4, 10, 0);
    let e = |code: &'static str, d: u32| (code, paris(2026, 5, d, 9, 0));
    let now = paris(2026, 5, 20, 10, 0); // 16 days after shipment, all stale
    type Case = (
        &'static str,
        Carrier,
        Vec<(&'static str, DateTime<Utc>)>,
        RuleId,
    );
    let cases: &[Case] = &[
        (
            "returning and late",
            Carrier::Colissimo,
            vec![e("RE1", 8), e("ND1", 7), e("PC1", 4)],
            ReturnToSender,
        ),
        (
            "returning then transit: stays returning",
            Carrier::Colissimo,
            vec![e("ET1", 9), e("RE1", 8), e("PC1", 4)],
            ReturnToSender,
        ),
        (
            "problem and late",
            Carrier::Colissimo,
            vec![e("ND1", 7), e("PC1", 4)],
            TrackingProblem,
        ),
        (
            "customs held and late",
            Carrier::Chronopost,
            vec![e("DO3", 6), e("PC1", 4)],
            TrackingProblem,
        ),
        (
            "not found and late",
            Carrier::Colissimo,
            vec![e("DR1", 4)],
            TrackingNotFound,
        ),
        (
            "late and stuck: colissimo",
            Carrier::Colissimo,
            vec![e("ET1", 6), e("PC1", 4)],
            DeliveryColissimo,
        ),
        (
            "late and stuck: chronopost",
            Carrier::Chronopost,
            vec![e("ET1", 6), e("PC1", 4)],
            DeliveryChronopost,
        ),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, carrier, events, want) in cases {
        let (o, parcels) = shipped(*carrier, ship, Some(events));
        let j = run(&o, &parcels, &cfg, now);
        assert_eq!(
            verdict(&j).map(|v| v.0),
            Some(*want),
            "{case}\n{}",
            trace_text(&j)
        );
    }
    // The trace says what the winner shadowed.
    let (o, parcels) = shipped(
        Carrier::Chronopost,
        paris(2026, 5, 4, 10, 0),
        Some(&[e("PC1", 4)]),
    );
    let j = run(&o, &parcels, &cfg, paris(2026, 5, 7, 10, 0));
    assert_eq!(verdict(&j), Some((DeliveryChronopost, Critical)));
    assert!(trace_text(&j).contains("[parcel XY123456789FR] tracking_stuck: would fire, but delivery_chronopost takes priority"), "{}", trace_text(&j));
    // Return-to-sender procedure (seed 000 §3).
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[e("RE1", 8)]));
    let f = &run(&o, &parcels, &cfg, now).findings[0];
    assert_eq!(f.severity, Late);
    assert_eq!(f.delay, Delay::None);
    assert_eq!(f.deadline, Some(paris(2026, 5, 8, 9, 0)));
    for needle in [
        "5,95 €",
        "9,95 €",
        "Monetico",
        "hors frais de port",
        "Aucune exception",
        "Lead",
    ] {
        assert!(f.procedure.contains(needle), "{needle}");
    }
}

#[test]
fn disabled_rules_are_skipped() {
    let ship = paris(2026, 5, 4, 10, 0);
    let now = paris(2026, 5, 20, 10, 0);
    let evs: Events = &[("RE1", paris(2026, 5, 8, 9, 0))];
    let mut cfg = RulesConfig::seed_defaults();
    cfg.return_to_sender.enabled = false;
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(evs));
    let j = run(&o, &parcels, &cfg, now);
    // The next rule in priority order takes over.
    assert_eq!(verdict(&j), Some((DeliveryColissimo, Critical)));
    assert!(trace_text(&j).contains("return_to_sender: disabled in config"));
    cfg.delivery_colissimo.enabled = false;
    let j = run(&o, &parcels, &cfg, now);
    assert_eq!(verdict(&j), None, "{}", trace_text(&j));
    // Shipping phase too.
    let mut cfg = RulesConfig::seed_defaults();
    cfg.shipping_compatible.enabled = false;
    let o = order(&["CMP-1"], Some(paris(2026, 5, 4, 10, 0)));
    assert_eq!(verdict(&run(&o, &[], &cfg, now)), None);
}

#[test]
fn thresholds_and_lists_come_from_config() {
    let mut cfg = RulesConfig::seed_defaults();
    cfg.delivery_colissimo.threshold = 3;
    cfg.delivery_colissimo.list = "Colis en retard".into();
    cfg.delivery_colissimo.critical_factor = 1.5;
    let ship = paris(2026, 5, 4, 10, 0);
    let cases = [(3, None), (4, Some(Late)), (5, Some(Critical))];
    for (days, want) in cases {
        let now = ship + chrono::Duration::days(days);
        let evs: Events = &[("ET1", now - chrono::Duration::hours(1))];
        let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(evs));
        let j = run(&o, &parcels, &cfg, now);
        assert_eq!(verdict(&j).map(|v| v.1), want, "{days}");
        if let Some(f) = j.findings.first() {
            assert_eq!(f.list, "Colis en retard");
            assert!(f.procedure.contains("plus de 3 jours"));
        }
    }
}
