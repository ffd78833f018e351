//! The cards of the cases people open, `now` a parameter: the address
//! card follows the order's state (seed 000 §4) with the cutoff on both
//! sides, « partie avant traitement » only while the handling step is
//! unticked, and the lost card's due date moving with the ticks.

use chrono::{DateTime, Utc};

use super::{Carrier, order, paris, shipped};
use crate::config::RulesConfig;
use crate::domain::calendar::Calendar;
use crate::domain::{Case, CaseKind, CaseVia, Classifier, Order, OrderState, Parcel};
use crate::rules::{Finding, Judge};

fn judge_at<T>(now: DateTime<Utc>, f: impl FnOnce(&Judge) -> T) -> T {
    let cal = Calendar::france();
    let cfg = RulesConfig::seed_defaults();
    let classifier = Classifier::seed_defaults();
    f(&Judge::new(&cal, &cfg, &classifier, now))
}

fn case(kind: CaseKind, opened: DateTime<Utc>, parcels: &[Parcel]) -> Case {
    let mut c = Case::new(
        "100023".into(),
        kind,
        None,
        opened,
        CaseVia::Cli {
            request_id: "r".into(),
        },
    );
    c.steps = judge_at(opened, |j| j.case_steps(&c, parcels)).expect("steps");
    c
}

fn finding(c: &Case, o: &Order, p: &[Parcel], ticked: &[bool], now: DateTime<Utc>) -> Finding {
    judge_at(now, |j| j.case_finding(c, o, p, ticked)).expect("a finding")
}

fn has(f: &Finding, needle: &str) -> bool {
    f.facts.iter().any(|x| x.contains(needle)) || f.procedure.contains(needle)
}

#[test]
fn address_not_validated_invites_a_new_order_without_due_date() {
    let mut o = order(&["CMP-1"], None);
    o.state = OrderState::PendingPayment;
    o.status = "pending_payment".into();
    let now = paris(2026, 5, 18, 10, 0);
    let c = case(CaseKind::Address, now, &[]);
    assert_eq!(c.steps.len(), 2);
    let f = finding(&c, &o, &[], &[], now);
    assert!(has(&f, "repasser"), "{f:#?}");
    assert_eq!(f.due, None);
    assert_eq!(f.list, "Dossiers clients");
    assert_eq!(f.key.to_string(), "case/100023/adresse");
}

#[test]
fn address_validated_is_due_at_the_next_cutoff_ahead() {
    // (validated, now, due): Mon 15:59 → Mon 16:00; Mon 16:00 sharp →
    // Tue 16:00; Fri 29 May after the cutoff → Mon 1 June; Fri 22 May →
    // Tue 26 (Mon 25 is Whit Monday); Wed 13 May after the cutoff
    // → Fri 15 (Thu 14 is Ascension); late order, now Tue 11:00 → Tue.
    for (validated, now, due) in [
        (
            paris(2026, 5, 18, 15, 59),
            paris(2026, 5, 18, 15, 59),
            paris(2026, 5, 18, 16, 0),
        ),
        (
            paris(2026, 5, 18, 16, 0),
            paris(2026, 5, 18, 16, 0),
            paris(2026, 5, 19, 16, 0),
        ),
        (
            paris(2026, 5, 29, 17, 0),
            paris(2026, 5, 29, 17, 5),
            paris(2026, 6, 1, 16, 0),
        ),
        (
            paris(2026, 5, 22, 17, 0),
            paris(2026, 5, 22, 17, 5),
            paris(2026, 5, 26, 16, 0),
        ),
        (
            paris(2026, 5, 13, 16, 30),
            paris(2026, 5, 13, 16, 35),
            paris(2026, 5, 15, 16, 0),
        ),
        (
            paris(2026, 5, 11, 9, 0),
            paris(2026, 5, 19, 11, 0),
            paris(2026, 5, 19, 16, 0),
        ),
    ] {
        let o = order(&["CMP-1"], Some(validated));
        let c = case(CaseKind::Address, now, &[]);
        let f = finding(&c, &o, &[], &[], now);
        assert_eq!(f.due, Some(due), "validated {validated}, now {now}");
        assert!(has(&f, "informez un lead"), "{f:#?}");
    }
}

#[test]
fn address_shipped_names_the_carrier_and_says_when_it_left_before_handling() {
    let ship = paris(2026, 5, 19, 15, 0);
    let (o, parcels) = shipped(Carrier::Colissimo, ship, None);
    // Opened before the shipment: it left before the change was handled.
    let opened = paris(2026, 5, 19, 10, 0);
    let c = case(CaseKind::Address, opened, &[]);
    let now = paris(2026, 5, 19, 18, 0);
    let f = finding(&c, &o, &parcels, &[false, false], now);
    assert!(
        has(&f, "avant que le changement d'adresse ne soit traité"),
        "{f:#?}"
    );
    assert!(has(&f, "laposte.fr"), "{f:#?}");
    assert_eq!(f.due, None);
    // The handling step ticked: no such fact.
    let f = finding(&c, &o, &parcels, &[true, false], now);
    assert!(!has(&f, "avant que le changement"), "{f:#?}");
    assert!(has(&f, "contacter le transporteur"), "{f:#?}");
    // Opened after the shipment: the order had already left.
    let c = case(CaseKind::Address, paris(2026, 5, 19, 17, 0), &[]);
    let f = finding(&c, &o, &parcels, &[false, false], now);
    assert!(!has(&f, "avant que le changement"), "{f:#?}");
    // A letter without number: nothing to change.
    let (o, parcels) = shipped(Carrier::Letter, ship, None);
    let f = finding(&c, &o, &parcels, &[false, false], now);
    assert!(has(&f, "pas de modification possible"), "{f:#?}");
}

#[test]
fn lost_due_date_is_the_first_unticked_dated_step() {
    // Colissimo shipped Mon 4 May, delivered Wed 6 May, opened Thu 7 May.
    let ship = paris(2026, 5, 4, 10, 0);
    let (o, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI1", paris(2026, 5, 6, 11, 0)), ("ET1", ship)]),
    );
    let opened = paris(2026, 5, 7, 10, 0);
    let c = case(CaseKind::Lost, opened, &parcels);
    assert_eq!(c.steps.len(), 5);
    let now = paris(2026, 5, 12, 9, 0);
    let day = |d| Some(paris(2026, 5, d, 0, 0));
    assert_eq!(finding(&c, &o, &parcels, &[], now).due, day(11));
    assert_eq!(finding(&c, &o, &parcels, &[true], now).due, day(12));
    assert_eq!(
        finding(&c, &o, &parcels, &[true, true, true], now).due,
        None,
        "the undated steps wait on the customer"
    );
    let f = finding(&c, &o, &parcels, &[true], now);
    assert!(has(&f, "Livré le"), "{f:#?}");
    assert!(has(&f, "Fait : 1."), "{f:#?}");
    assert!(has(&f, "À faire : 2."), "{f:#?}");
    assert!(has(&f, "clos que par un lead"), "{f:#?}");
    assert_eq!(f.detail.as_deref(), Some("colis perdu"));
    // The steps were decided at opening: judging later changes no name.
    let later = judge_at(paris(2026, 6, 1, 9, 0), |j| j.case_steps(&c, &parcels)).unwrap();
    assert_eq!(later, c.steps, "Colissimo's dates do not depend on the day");
}

#[test]
fn a_lost_case_without_a_parcel_waits() {
    let o = order(&["CMP-1"], Some(paris(2026, 5, 18, 10, 0)));
    let c = Case::new(
        "100023".into(),
        CaseKind::Lost,
        None,
        paris(2026, 5, 19, 10, 0),
        CaseVia::Cli {
            request_id: "r".into(),
        },
    );
    assert_eq!(
        judge_at(paris(2026, 5, 19, 10, 0), |j| j.case_steps(&c, &[])),
        None
    );
    assert!(
        judge_at(paris(2026, 5, 19, 10, 0), |j| j.case_finding(
            &c,
            &o,
            &[],
            &[]
        ))
        .is_none()
    );
}
