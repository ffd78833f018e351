//! Table tests of the rules. Each table cites the seed section it encodes;
//! every boundary is tested on both sides. Instants are written in Paris
//! local time and converted to UTC the way Magento stores them, so that the
//! tests exercise the conversion (winter UTC+1, summer UTC+2).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::*;
use crate::calendar::Calendar;
use crate::config::RulesConfig;
use crate::domain::*;
use crate::tracking::status::normalise;

/// Paris wall-clock time → UTC instant.
fn paris(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("unambiguous test time")
        .with_timezone(&Utc)
}

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
}

fn order(skus: &[&str], validated: Option<DateTime<Utc>>) -> Order {
    let created = validated.unwrap_or_else(|| utc(2026, 1, 1, 0, 0));
    Order {
        entity_id: 23,
        increment_id: "100023".into(),
        state: OrderState::Processing,
        status: "processing".into(),
        customer: Customer {
            firstname: "Jeanne".into(),
            lastname: "Dupont".into(),
            email: "jeanne.dupont@example.fr".into(),
        },
        items: skus
            .iter()
            .map(|s| Item {
                sku: (*s).into(),
                name: format!("Cartouche {s}"),
                qty: 1.0,
                qty_to_ship: None,
            })
            .collect(),
        shipping_method: Some("colissimo_homecl".into()),
        created_at: created,
        updated_at: created,
        invoices: validated.into_iter().collect(),
        status_history: vec![],
        shipments: vec![],
    }
}

/// An order shipped at `shipped` by `carrier`, with one parcel whose
/// tracking has `events` (newest first, `None` = never polled).
fn shipped(
    carrier: Carrier,
    shipped: DateTime<Utc>,
    events: Option<&[(&str, DateTime<Utc>)]>,
) -> (Order, Vec<Parcel>) {
    let mut o = order(&["CMP-1"], Some(shipped - chrono::Duration::hours(20)));
    o.state = OrderState::Complete;
    o.status = "complete".into();
    let (method, number) = match carrier {
        Carrier::Letter => ("flatrate_flatrate", ""),
        Carrier::Colissimo => ("colissimo_homecl", "6A12345678901"),
        Carrier::Chronopost => ("chronopost_13", "XY123456789FR"),
        Carrier::Other => ("unmapped_method", "6A12345678901"),
        Carrier::Foreign => ("mondialrelay_x", "MR1234567890"),
    };
    o.shipping_method = Some(method.into());
    o.shipments = vec![Shipment {
        entity_id: 77,
        created_at: shipped,
        tracks: if number.is_empty() {
            vec![]
        } else {
            vec![Track {
                number: number.into(),
                carrier_code: "custom".into(),
                title: String::new(),
                created_at: shipped,
            }]
        },
    }];
    let mut parcels = parcels_of(&o, &Classifier::seed_defaults());
    assert_eq!(parcels.len(), 1);
    parcels[0].tracking = events.map(|evs| TrackingSnapshot {
        fetched_at: shipped,
        ..snapshot(evs, false)
    });
    (o, parcels)
}

fn run(o: &Order, parcels: &[Parcel], cfg: &RulesConfig, now: DateTime<Utc>) -> Judgement {
    let cal = Calendar::france();
    let classifier = Classifier::seed_defaults();
    let j = judge(o, parcels, &cal, cfg, &classifier, now);
    // The hot path must agree with the traced one.
    assert_eq!(
        Judge::new(&cal, cfg, &classifier, now).findings(o, parcels),
        j.findings
    );
    j
}

/// `(rule, severity)` of the single finding, or `None`.
fn verdict(j: &Judgement) -> Want {
    assert!(j.findings.len() <= 1, "{:#?}", j.findings);
    j.findings.first().map(|f| (f.rule, f.severity))
}

fn trace_text(j: &Judgement) -> String {
    j.trace
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

use RuleId::*;
use Severity::*;

/// A table's expected verdict.
type Want = Option<(RuleId, Severity)>;
/// Tracking events, newest first.
type Events<'a> = &'a [(&'a str, DateTime<Utc>)];

#[test]
fn shipping_compatible_cutoff_holidays_weekends() {
    // Seed 000 §1 « Cartouches compatibles »: same day before 16:00, next
    // business day after; business days exclude weekends and holidays.
    // (case, validated Paris, now Paris, expected)
    type Case = (&'static str, DateTime<Utc>, DateTime<Utc>, Want);
    let cases: &[Case] = &[
        // Winter (UTC+1): 15:59 Paris is 14:59 UTC in Magento.
        (
            "winter 15:59, next morning",
            paris(2026, 1, 13, 15, 59),
            paris(2026, 1, 14, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        (
            "winter 15:59, same evening",
            paris(2026, 1, 13, 15, 59),
            paris(2026, 1, 13, 23, 59),
            None,
        ),
        (
            "winter 16:01, next day",
            paris(2026, 1, 13, 16, 1),
            paris(2026, 1, 14, 18, 0),
            None,
        ),
        (
            "winter 16:01, day after",
            paris(2026, 1, 13, 16, 1),
            paris(2026, 1, 15, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        (
            "16:00 sharp is after the cutoff",
            paris(2026, 1, 13, 16, 0),
            paris(2026, 1, 14, 18, 0),
            None,
        ),
        // Summer (UTC+2): 15:59 Paris is 13:59 UTC.
        (
            "summer 15:59, next morning",
            paris(2026, 6, 9, 15, 59),
            paris(2026, 6, 10, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        (
            "summer 16:01, next day",
            paris(2026, 6, 9, 16, 1),
            paris(2026, 6, 10, 18, 0),
            None,
        ),
        (
            "summer 16:01, day after",
            paris(2026, 6, 9, 16, 1),
            paris(2026, 6, 11, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        // Day before a holiday: Thu 30 Apr 2026, Fri 1 May is closed.
        (
            "eve of 1 May before cutoff, on 1 May",
            paris(2026, 4, 30, 10, 0),
            paris(2026, 5, 1, 12, 0),
            None,
        ),
        (
            "eve of 1 May before cutoff, on Mon 4",
            paris(2026, 4, 30, 10, 0),
            paris(2026, 5, 4, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        (
            "eve of 1 May after cutoff, on Mon 4",
            paris(2026, 4, 30, 17, 0),
            paris(2026, 5, 4, 19, 0),
            None,
        ),
        (
            "eve of 1 May after cutoff, on Tue 5",
            paris(2026, 4, 30, 17, 0),
            paris(2026, 5, 5, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        // Weekend validation: due Monday.
        (
            "Saturday, on Monday",
            paris(2026, 5, 9, 10, 0),
            paris(2026, 5, 11, 19, 0),
            None,
        ),
        (
            "Saturday, on Tuesday",
            paris(2026, 5, 9, 10, 0),
            paris(2026, 5, 12, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        // Severity: critical at 2 × 1 business day past the due day.
        (
            "Mon 10:00, on Tue: 1 day",
            paris(2026, 5, 4, 10, 0),
            paris(2026, 5, 5, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
        (
            "Mon 10:00, on Wed: 2 days",
            paris(2026, 5, 4, 10, 0),
            paris(2026, 5, 6, 9, 0),
            Some((ShippingCompatible, Critical)),
        ),
        (
            "Fri 10:00, on Mon: 1 day",
            paris(2026, 5, 15, 10, 0),
            paris(2026, 5, 18, 9, 0),
            Some((ShippingCompatible, Late)),
        ),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, validated, now, want) in cases {
        let o = order(&["CMP-1"], Some(*validated));
        let j = run(&o, &[], &cfg, *now);
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
}

#[test]
fn shipping_compatible_finding_fields() {
    // Seed 000 §1: one card per order, in « Retard d'expédition ».
    let o = order(&["CMP-1"], Some(paris(2026, 5, 4, 10, 0)));
    let j = run(
        &o,
        &[],
        &RulesConfig::seed_defaults(),
        paris(2026, 5, 7, 11, 0),
    );
    let f = &j.findings[0];
    assert_eq!(f.key.to_string(), "order/100023");
    assert_eq!(f.delay, Delay::BusinessDays(3));
    assert_eq!(f.list, "Retard d'expédition");
    assert_eq!(f.deadline, Some(paris(2026, 5, 5, 0, 0)));
    assert_eq!(f.product, ProductKind::Compatible);
    assert!(f.procedure.contains("Ne vous avancez jamais"));
    assert!(f.procedure.contains("avant 16:00"));
    assert_eq!(
        f.facts,
        vec![
            "Commande validée le lun. 4 mai 2026 à 10:00 (jour ouvré, avant 16:00) : expédition due le lun. 4 mai 2026.".to_owned(),
            "Toujours pas expédiée le jeu. 7 mai 2026 : 3 j ouvrés depuis le jour d'expédition prévu (seuil 1 j ouvré).".to_owned(),
        ]
    );
}

#[test]
fn shipping_original_counts_business_days() {
    // Seed 000 §1 « Cartouches originales »: « Plus de 10 jours ouvrables ».
    // docs/rules.md: validated Thu 30 Apr 2026, on Tue 19 May exactly 10 have
    // passed (1, 8, 14 May are holidays).
    let cal = Calendar::france();
    let v = paris(2026, 4, 30, 10, 0);
    let crit_day = cal.add_business_days(NaiveDate::from_ymd_opt(2026, 4, 30).unwrap(), 20);
    let before_crit = crit_day.pred_opt().unwrap();
    assert_eq!(
        cal.business_days_between(NaiveDate::from_ymd_opt(2026, 4, 30).unwrap(), before_crit),
        19
    );
    let at = |d: NaiveDate| cal.local_instant(d, chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    let cases: &[(&str, DateTime<Utc>, Want)] = &[
        ("exactly 10", paris(2026, 5, 19, 18, 0), None),
        (
            "11",
            paris(2026, 5, 20, 9, 0),
            Some((ShippingOriginal, Late)),
        ),
        ("19", at(before_crit), Some((ShippingOriginal, Late))),
        (
            "20 = 2 × 10",
            at(crit_day),
            Some((ShippingOriginal, Critical)),
        ),
    ];
    let cfg = RulesConfig::seed_defaults();
    for (case, now, want) in cases {
        let o = order(&["ORI-HP301"], Some(v));
        let j = run(&o, &[], &cfg, *now);
        assert_eq!(verdict(&j), *want, "{case}\n{}", trace_text(&j));
    }
    let j = run(
        &order(&["ORI-HP301"], Some(v)),
        &[],
        &cfg,
        paris(2026, 5, 20, 9, 0),
    );
    assert_eq!(j.findings[0].delay, Delay::BusinessDays(11));
    assert_eq!(j.findings[0].deadline, Some(paris(2026, 5, 20, 0, 0)));
}

#[test]
fn shipping_original_trace_in_plain_words() {
    // The issue's own example.
    let o = order(&["ORI-HP301"], Some(paris(2026, 5, 4, 11, 0)));
    let j = run(
        &o,
        &[],
        &RulesConfig::seed_defaults(),
        paris(2026, 5, 19, 10, 0),
    );
    assert!(j.findings.is_empty());
    let lines: Vec<_> = j.trace.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        lines,
        vec![
            "validated Mon 4 May 2026 11:00 (original order)",
            "shipping_compatible: not applicable: the order has original items, the original rule applies",
            "shipping_original: 9 business days after validation on Mon 4 May 2026, threshold 10: not late",
        ]
    );
    assert!(j.trace.iter().all(|l| l.subject == "order 100023"));
}

#[test]
fn mixed_order_follows_the_original_rule() {
    // Seed 000 §1 (docs/rules.md): any original item → original rule.
    let o = order(&["CMP-1", "ORI-HP301"], Some(paris(2026, 5, 4, 10, 0)));
    let j = run(
        &o,
        &[],
        &RulesConfig::seed_defaults(),
        paris(2026, 5, 6, 9, 0),
    );
    assert_eq!(verdict(&j), None, "{}", trace_text(&j));
    let o = order(&["CMP-1", "CMP-2"], Some(paris(2026, 5, 4, 10, 0)));
    let j = run(
        &o,
        &[],
        &RulesConfig::seed_defaults(),
        paris(2026, 5, 6, 9, 0),
    );
    assert_eq!(verdict(&j), Some((ShippingCompatible, Critical)));
}

#[test]
fn orders_that_fire_nothing() {
    // docs/rules.md: cancelled, closed, on-hold and not validated orders (seed
    // 000 §4 « en attente de règlement ») fire nothing, however late.
    let now = paris(2026, 6, 30, 10, 0);
    let v = Some(paris(2026, 5, 4, 10, 0));
    let mut cases = Vec::new();
    for (state, status) in [
        (OrderState::Canceled, "canceled"),
        (OrderState::Closed, "closed"),
        (OrderState::Holded, "holded"),
        (OrderState::PendingPayment, "pending_payment"),
        (OrderState::PaymentReview, "payment_review"),
    ] {
        let mut o = order(&["CMP-1"], v);
        o.state = state;
        o.status = status.into();
        cases.push(o);
    }
    // New, no invoice, history only « pending »: not validated.
    let mut o = order(&["CMP-1"], None);
    o.state = OrderState::New;
    o.status = "pending".into();
    o.status_history = vec![StatusChange {
        status: "pending".into(),
        at: paris(2026, 5, 4, 10, 0),
    }];
    cases.push(o);
    // A cancelled shipped order with a late parcel: nothing either.
    let (mut o, parcels) = shipped(
        Carrier::Colissimo,
        paris(2026, 5, 4, 10, 0),
        Some(&[("PC1", paris(2026, 5, 4, 18, 0))]),
    );
    o.state = OrderState::Canceled;
    let j = run(&o, &parcels, &RulesConfig::seed_defaults(), now);
    assert!(j.findings.is_empty());
    for o in cases {
        let j = run(&o, &[], &RulesConfig::seed_defaults(), now);
        assert!(j.findings.is_empty(), "{:?}: {:?}", o.state, j.findings);
        assert_eq!(j.trace.len(), 1, "{}", trace_text(&j));
        assert!(j.trace[0].text.contains(" nothing"), "{}", trace_text(&j));
    }
}

#[test]
fn validated_by_status_history_when_no_invoice() {
    // docs/rules.md: earliest invoice, else the first history entry in
    // a validated status (history comes newest first).
    let mut o = order(&["CMP-1"], None);
    o.status_history = vec![
        StatusChange {
            status: "complete".into(),
            at: paris(2026, 5, 6, 9, 0),
        },
        StatusChange {
            status: "processing".into(),
            at: paris(2026, 5, 4, 10, 0),
        },
        StatusChange {
            status: "pending".into(),
            at: paris(2026, 5, 3, 10, 0),
        },
    ];
    let statuses = Classifier::seed_defaults().validated_statuses;
    assert_eq!(o.validated_at(&statuses), Some(paris(2026, 5, 4, 10, 0)));
    o.invoices = vec![paris(2026, 5, 5, 8, 0), paris(2026, 5, 4, 12, 0)];
    assert_eq!(o.validated_at(&statuses), Some(paris(2026, 5, 4, 12, 0)));
    o.invoices.clear();
    o.status_history.retain(|h| h.status == "pending");
    assert_eq!(o.validated_at(&statuses), None);
}

#[test]
fn complete_without_known_shipment_is_not_a_shipping_delay() {
    let mut o = order(&["CMP-1"], Some(paris(2026, 5, 4, 10, 0)));
    o.state = OrderState::Complete;
    let j = run(
        &o,
        &[],
        &RulesConfig::seed_defaults(),
        paris(2026, 5, 20, 10, 0),
    );
    assert!(j.findings.is_empty());
}

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
    // Return-to-sender procedure (seed 000 §3): while returning, check the
    // address and inform the customer; once back, re-ship or refund.
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[e("RE1", 8)]));
    let f = &run(&o, &parcels, &cfg, now).findings[0];
    assert_eq!(f.severity, Late);
    assert_eq!(f.delay, Delay::None);
    assert_eq!(f.deadline, Some(paris(2026, 5, 8, 9, 0)));
    assert!(
        f.procedure
            .contains("Vérifiez d'abord l'adresse de livraison")
    );
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[e("DI2", 12), e("RE1", 8)]));
    let f = &run(&o, &parcels, &cfg, now).findings[0];
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

/// An order of `items` (`(sku, qty_to_ship)`) validated `validated`, with
/// one Colissimo shipment of the first item at `shipped`.
fn partly_shipped(
    items: &[(&str, f64)],
    validated: DateTime<Utc>,
    shipped: DateTime<Utc>,
) -> Order {
    let skus: Vec<&str> = items.iter().map(|(s, _)| *s).collect();
    let mut o = order(&skus, Some(validated));
    for (item, (_, left)) in o.items.iter_mut().zip(items) {
        item.qty_to_ship = Some(*left);
    }
    o.shipments = vec![Shipment {
        entity_id: 78,
        created_at: shipped,
        tracks: vec![Track {
            number: "6A12345678901".into(),
            carrier_code: "colissimo".into(),
            title: "Colissimo".into(),
            created_at: shipped,
        }],
    }];
    o
}

fn snapshot(events: &[(&str, DateTime<Utc>)], is_final: bool) -> TrackingSnapshot {
    let events: Vec<TrackingEvent> = events
        .iter()
        .map(|(code, at)| TrackingEvent {
            code: (*code).into(),
            label: format!("libellé {code}"),
            at: *at,
        })
        .collect();
    TrackingSnapshot {
        fetched_at: events.first().map_or(utc(2026, 1, 1, 0, 0), |e| e.at),
        status: normalise(&events),
        is_final,
        product: None,
        info: Default::default(),
        events,
    }
}

#[test]
fn a_partly_shipped_order_is_judged_on_what_still_waits() {
    // Seed 000 §1: an order is late until all of it has left. Its
    // compatible cartridge left on Mon 4 May, its original one did not:
    // the original rule (« plus de 10 jours ouvrables ») still applies,
    // from the validation on Thu 30 Apr (10 business days on Tue 19 May).
    let v = paris(2026, 4, 30, 10, 0);
    let ship = paris(2026, 5, 4, 15, 0);
    let cfg = RulesConfig::seed_defaults();
    let delivered: Events = &[("DI1", paris(2026, 5, 5, 11, 0))];
    let shipping = |o: &Order, now| -> Want {
        let mut parcels = parcels_of(o, &Classifier::seed_defaults());
        for p in &mut parcels {
            p.tracking = Some(snapshot(delivered, true));
        }
        let j = run(o, &parcels, &cfg, now);
        assert!(j.findings.len() <= 1, "{:#?}", j.findings);
        j.findings.first().map(|f| (f.rule, f.severity))
    };
    let o = partly_shipped(&[("CMP-1", 0.0), ("ORI-HP301", 1.0)], v, ship);
    assert!(o.is_partly_shipped());
    let cases: &[(&str, DateTime<Utc>, Want)] = &[
        ("exactly 10", paris(2026, 5, 19, 18, 0), None),
        (
            "11: the original item is late",
            paris(2026, 5, 20, 9, 0),
            Some((ShippingOriginal, Late)),
        ),
    ];
    for (case, now, want) in cases {
        assert_eq!(shipping(&o, *now), *want, "{case}");
    }
    // The card names what still waits, not what left.
    let parcels = parcels_of(&o, &Classifier::seed_defaults());
    let mut parcels = parcels;
    parcels[0].tracking = Some(snapshot(delivered, true));
    let j = run(&o, &parcels, &cfg, paris(2026, 5, 20, 9, 0));
    assert_eq!(j.findings[0].product, ProductKind::Original);
    let fact = j.findings[0].facts.last().expect("a fact");
    assert!(fact.contains("Expédition partielle"), "{fact}");
    assert!(fact.contains("(ORI-HP301) × 1"), "{fact}");
    assert!(!fact.contains("CMP-1"), "{fact}");

    // Everything left: no shipping rule, whatever the day.
    let o = partly_shipped(&[("CMP-1", 0.0), ("ORI-HP301", 0.0)], v, ship);
    assert!(o.is_fully_shipped());
    assert_eq!(shipping(&o, paris(2026, 6, 30, 9, 0)), None);

    // The other way round: the original left, a compatible one waits, so
    // the compatible rule applies (due the validation day, late the next
    // business day).
    let o = partly_shipped(&[("ORI-HP301", 0.0), ("CMP-1", 2.0)], v, ship);
    assert_eq!(
        shipping(&o, paris(2026, 5, 4, 9, 0)),
        Some((ShippingCompatible, Late))
    );

    // Meanwhile the shipped part is a parcel like any other: a Colissimo
    // parcel of a partly shipped order can be late too, on its own card.
    let o = partly_shipped(&[("CMP-1", 0.0), ("ORI-HP301", 1.0)], v, ship);
    let mut parcels = parcels_of(&o, &Classifier::seed_defaults());
    parcels[0].tracking = Some(snapshot(&[("ET1", paris(2026, 5, 12, 8, 0))], false));
    let j = run(&o, &parcels, &cfg, paris(2026, 5, 12, 9, 0));
    let rules: Vec<RuleId> = j.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, vec![DeliveryColissimo], "{}", trace_text(&j));
    let j = run(&o, &parcels, &cfg, paris(2026, 5, 20, 9, 0));
    let rules: Vec<RuleId> = j.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, vec![ShippingOriginal, DeliveryColissimo]);

    // Quantities unknown (a snapshot stored before they were kept): one
    // shipment means shipped, as before.
    let mut o = partly_shipped(&[("CMP-1", 0.0), ("ORI-HP301", 1.0)], v, ship);
    for i in &mut o.items {
        i.qty_to_ship = None;
    }
    assert!(o.is_fully_shipped());
    // Virtual items only: nothing to ship.
    let mut o = order(&["GIFT-CARD"], Some(v));
    o.items[0].qty_to_ship = Some(0.0);
    assert!(o.is_fully_shipped());
    assert_eq!(verdict(&run(&o, &[], &cfg, paris(2026, 6, 30, 9, 0))), None);
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

mod procedures_more;
