//! The checklist of a lost-parcel case, per carrier, `now` a parameter:
//! each item's name carries the date the seed's day counts give, and the
//! card's due date is the first dated item not ticked yet.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Carrier, paris, shipped};
use crate::config::RulesConfig;
use crate::domain::calendar::Calendar;
use crate::domain::{Classifier, Parcel};
use crate::rules::{ChecklistStep, Judge, case_due};

fn checklist(p: &Parcel, now: DateTime<Utc>) -> Vec<ChecklistStep> {
    let cal = Calendar::france();
    let cfg = RulesConfig::seed_defaults();
    let classifier = Classifier::seed_defaults();
    Judge::new(&cal, &cfg, &classifier, now).lost_checklist(p)
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn names(steps: &[ChecklistStep]) -> Vec<String> {
    steps.iter().map(|s| s.name.clone()).collect()
}

#[test]
fn colissimo_five_steps_dated_d7_d8_and_the_proof_a_day_after_delivery() {
    // Shipped Mon 4 May, delivered Wed 6 May 11:00, case opened Thu 7 May.
    let ship = paris(2026, 5, 4, 10, 0);
    let (_, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI1", paris(2026, 5, 6, 11, 0)), ("ET1", ship)]),
    );
    let steps = checklist(&parcels[0], paris(2026, 5, 7, 10, 0));
    let n = names(&steps);
    assert_eq!(n.len(), 5, "{n:#?}");
    assert!(
        n[0].starts_with("1. lun. 11 mai 2026 — Demandez au client de patienter"),
        "{n:#?}"
    );
    assert!(
        n[1].starts_with(
            "2. mar. 12 mai 2026 — Demandez au client de vérifier auprès de son voisinage"
        ),
        "{n:#?}"
    );
    // L + 24 h is Thu 7 May, before the neighbours' day: the later wins.
    assert!(
        n[2].starts_with("3. mar. 12 mai 2026 — Pas d'erreur"),
        "{n:#?}"
    );
    assert!(n[3].starts_with("4. Si le client conteste"), "{n:#?}");
    assert!(
        n[4].starts_with("5. Une fois l'attestation reçue"),
        "{n:#?}"
    );
    assert_eq!(
        steps.iter().map(|s| s.due).collect::<Vec<_>>(),
        [
            Some(day(5, 11)),
            Some(day(5, 12)),
            Some(day(5, 12)),
            None,
            None
        ]
    );
    // Every name is unique: the read-back after a lost answer goes by name.
    let mut sorted = n.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), n.len());
}

#[test]
fn chronopost_delivered_friday_evening_proof_on_saturday_in_hours_not_business_days() {
    // Delivered Fri 15 May 2026 at 19:00: 24 h later is Sat 16 May.
    let ship = paris(2026, 5, 14, 10, 0);
    let (_, parcels) = shipped(
        Carrier::Chronopost,
        ship,
        Some(&[("DI1", paris(2026, 5, 15, 19, 0)), ("ET1", ship)]),
    );
    let steps = checklist(&parcels[0], paris(2026, 5, 15, 20, 0));
    let n = names(&steps);
    assert_eq!(n.len(), 4, "{n:#?}");
    assert!(
        n[0].starts_with("1. ven. 15 mai 2026 — Vérifiez le suivi"),
        "{n:#?}"
    );
    assert!(
        n[1].starts_with("2. sam. 16 mai 2026 — Pas d'erreur"),
        "{n:#?}"
    );
    assert!(n[2].contains("dénégation de signature"), "{n:#?}");
    assert!(n[3].starts_with("4. Dès réception"), "{n:#?}");
    // Opened the day after: the proof is due that day, not in the past.
    let steps = checklist(&parcels[0], paris(2026, 5, 18, 9, 0));
    assert_eq!(steps[0].due, Some(day(5, 18)));
    assert_eq!(steps[1].due, Some(day(5, 18)));
}

#[test]
fn letter_d10_d11_then_d21() {
    let ship = paris(2026, 5, 4, 10, 0);
    let (_, parcels) = shipped(Carrier::Letter, ship, None);
    let steps = checklist(&parcels[0], paris(2026, 5, 14, 10, 0));
    assert_eq!(
        steps.iter().map(|s| s.due).collect::<Vec<_>>(),
        [Some(day(5, 14)), Some(day(5, 15)), Some(day(5, 25)), None]
    );
    assert!(steps[2].name.contains("« attestation sur l'honneur »"));
    assert!(steps[3].name.starts_with("4. Une fois l'attestation reçue"));
}

#[test]
fn a_parcel_not_read_delivered_still_gets_its_steps() {
    // The customer says it is missing before the tracking says « livré »:
    // the proof of delivery waits for the neighbours' day.
    let ship = paris(2026, 5, 4, 10, 0);
    let (_, parcels) = shipped(Carrier::Colissimo, ship, Some(&[("ET1", ship)]));
    let steps = checklist(&parcels[0], paris(2026, 5, 7, 10, 0));
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[2].due, Some(day(5, 12)));
}

#[test]
fn another_carrier_gets_the_unwritten_procedure_in_one_step() {
    let ship = paris(2026, 5, 4, 10, 0);
    let (_, parcels) = shipped(
        Carrier::Other,
        ship,
        Some(&[("DI1", paris(2026, 5, 6, 11, 0))]),
    );
    let steps = checklist(&parcels[0], paris(2026, 5, 7, 10, 0));
    assert_eq!(steps.len(), 1);
    assert!(
        steps[0].name.contains("Pas de procédure écrite"),
        "{steps:?}"
    );
    assert_eq!(steps[0].due, Some(day(5, 7)));
}

#[test]
fn due_is_the_first_dated_step_not_ticked() {
    let ship = paris(2026, 5, 4, 10, 0);
    let (_, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI1", paris(2026, 5, 6, 11, 0)), ("ET1", ship)]),
    );
    let steps = checklist(&parcels[0], paris(2026, 5, 7, 10, 0));
    assert_eq!(case_due(&steps, &[]), Some(day(5, 11)));
    assert_eq!(case_due(&steps, &[true]), Some(day(5, 12)));
    assert_eq!(case_due(&steps, &[true, true, false]), Some(day(5, 12)));
    // A later step ticked first does not skip an earlier one.
    assert_eq!(case_due(&steps, &[false, true, true]), Some(day(5, 11)));
    // Every dated step ticked: no due date, the undated ones wait on the
    // customer.
    assert_eq!(case_due(&steps, &[true, true, true, false, false]), None);
}
