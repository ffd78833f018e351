//! The shipping rules: cutoff, business days, originals, partial shipments.

use super::*;

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
