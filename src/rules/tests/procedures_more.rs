//! Table tests of the pickup rule, the two stages of a return and the
//! carrier's-estimate trigger: both sides of every threshold, `now` a
//! parameter, Paris wall-clock instants.

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Carrier, Delay, Events, RuleId::*, Severity::*, paris, run, shipped, trace_text, verdict,
};
use crate::config::RulesConfig;
use crate::domain::{Parcel, RemovalPoint};
use crate::rules::{add_ouvrables, ouvrables_between};

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

fn at9(d: u32) -> DateTime<Utc> {
    paris(2026, 5, d, 9, 0)
}

fn with_point(mut parcels: Vec<Parcel>) -> Vec<Parcel> {
    if let Some(t) = parcels[0].tracking.as_mut() {
        t.info.removal_point = Some(RemovalPoint {
            name: "TABAC DE LA GARE".into(),
            kind: Some("A2P".into()),
        });
    }
    parcels
}

#[test]
fn ouvrables_count_saturdays_and_skip_holidays() {
    // Thu 7 May 2026: 8 May (holiday) and Sundays skipped, Saturdays counted.
    assert_eq!(add_ouvrables(day(5, 7), 10), day(5, 21));
    assert_eq!(add_ouvrables(day(5, 7), 8), day(5, 19));
    assert_eq!(add_ouvrables(day(5, 7), 0), day(5, 7));
    // Ascension (14 May) skipped, Saturday 16 counted.
    assert_eq!(add_ouvrables(day(5, 13), 2), day(5, 16));
    assert_eq!(ouvrables_between(day(5, 19), day(5, 21)), 2);
    assert_eq!(ouvrables_between(day(5, 21), day(5, 19)), 0);
}

#[test]
fn pickup_after_more_than_five_business_days() {
    let cfg = RulesConfig::seed_defaults();
    // Colissimo shipped Wed 6 May, AG1 Thu 7 May. Business days after it:
    // 11, 12, 13, 15, 18 (8 May and 14 May are holidays): 5 on Mon 18 May,
    // still quiet (the delivery rule, 12 days, speaks); 6 on Tue 19 May.
    let ship = paris(2026, 5, 6, 10, 0);
    let evs: Events = &[("AG1", at9(7)), ("PC1", paris(2026, 5, 6, 18, 0))];
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(evs));
    let p = with_point(p);
    let j = run(&o, &p, &cfg, paris(2026, 5, 18, 10, 0));
    assert_eq!(verdict(&j), Some((DeliveryColissimo, Late)));
    assert!(
        trace_text(&j)
            .contains("pickup: waiting at the pickup point since Thu 7 May 2026, 5 business days")
    );
    let j = run(&o, &p, &cfg, paris(2026, 5, 19, 10, 0));
    // Return day Thu 21 May, 2 ouvrables away: critical.
    assert_eq!(verdict(&j), Some((Pickup, Critical)), "{}", trace_text(&j));
    assert!(
        trace_text(&j).contains("delivery_colissimo: would fire, but pickup takes priority"),
        "{}",
        trace_text(&j)
    );
    let f = &j.findings[0];
    assert_eq!(f.delay, Delay::BusinessDays(6));
    assert_eq!(f.list, "Retard de livraison");
    assert_eq!(f.due, Some(paris(2026, 5, 21, 0, 0)));
    assert_eq!(f.deadline, Some(paris(2026, 5, 19, 0, 0)));
    assert!(
        f.facts[0]
            .contains("au point de retrait TABAC DE LA GARE (relais) depuis le jeu. 7 mai 2026"),
        "{:?}",
        f.facts
    );
    assert!(
        f.facts[1].contains("vers le jeu. 21 mai 2026"),
        "{:?}",
        f.facts
    );
    assert!(f.procedure.contains("pièce d'identité"));
}

#[test]
fn pickup_boundaries_saturday_holiday_chronopost_keep() {
    let mut cfg = RulesConfig::seed_defaults();
    // The delivery rule off, so that pickup alone speaks.
    cfg.delivery_colissimo.enabled = false;
    // AG1 Mon 11 May: 12, 13, 15, 18, 19 → exactly 5 on Tue 19 (quiet), 6
    // on Wed 20.
    let ship = paris(2026, 5, 10, 10, 0);
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("AG1", at9(11))]));
    assert_eq!(verdict(&run(&o, &p, &cfg, paris(2026, 5, 19, 20, 0))), None);
    assert_eq!(
        verdict(&run(&o, &p, &cfg, paris(2026, 5, 20, 8, 0))).map(|v| v.0),
        Some(Pickup)
    );
    // AG1 on a Saturday (9 May): 11, 12, 13, 15, 18 → quiet on 18, fires 19.
    let ship = paris(2026, 5, 8, 10, 0);
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("AG1", at9(9))]));
    assert_eq!(verdict(&run(&o, &p, &cfg, paris(2026, 5, 18, 10, 0))), None);
    let j = run(&o, &p, &cfg, paris(2026, 5, 19, 10, 0));
    // Return: 10 ouvrables after Sat 9 May = 11,12,13,15,16,18,19,20,21,22 → Fri 22.
    assert_eq!(verdict(&j), Some((Pickup, Late)));
    assert_eq!(j.findings[0].due, Some(paris(2026, 5, 22, 0, 0)));
    assert!(j.findings[0].facts[0].contains("La Poste ne le nomme pas"));
    // A longer keep time: 3 ouvrables away or more is late, not critical.
    cfg.pickup_keep.keep_days = 12;
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("AG1", at9(9))]));
    assert_eq!(
        verdict(&run(&o, &p, &cfg, paris(2026, 5, 19, 10, 0))),
        Some((Pickup, Late))
    );
    // Chronopost: 8 ouvrables at a relay. AG1 Thu 7 May → Tue 19 May.
    let mut cfg = RulesConfig::seed_defaults();
    cfg.delivery_colissimo.enabled = false;
    let (o, p) = shipped(
        Carrier::Chronopost,
        paris(2026, 5, 6, 10, 0),
        Some(&[("AG1", at9(7))]),
    );
    let j = run(&o, &p, &cfg, paris(2026, 5, 19, 10, 0));
    assert_eq!(verdict(&j), Some((Pickup, Critical)));
    assert_eq!(j.findings[0].due, Some(paris(2026, 5, 19, 0, 0)));
    // A second notice does not restart the wait.
    let (o, p) = shipped(
        Carrier::Colissimo,
        paris(2026, 5, 10, 10, 0),
        Some(&[("AG1", at9(15)), ("AG1", at9(11))]),
    );
    assert_eq!(
        verdict(&run(&o, &p, &cfg, paris(2026, 5, 20, 8, 0))).map(|v| v.0),
        Some(Pickup)
    );
}

#[test]
fn pickup_ends_with_collection_or_becomes_a_return() {
    let cfg = RulesConfig::seed_defaults();
    let ship = paris(2026, 5, 6, 10, 0);
    let now = paris(2026, 5, 20, 10, 0);
    let (o, p) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI1", at9(19)), ("AG1", at9(7))]),
    );
    assert_eq!(verdict(&run(&o, &p, &cfg, now)), None);
    let (o, p) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("RE1", at9(19)), ("AG1", at9(7))]),
    );
    assert_eq!(
        verdict(&run(&o, &p, &cfg, now)).map(|v| v.0),
        Some(ReturnToSender)
    );
    // Disabled: the delivery rule is what speaks.
    let mut off = RulesConfig::seed_defaults();
    off.pickup.enabled = false;
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("AG1", at9(7))]));
    let j = run(&o, &p, &off, now);
    assert_eq!(verdict(&j).map(|v| v.0), Some(DeliveryColissimo));
    assert!(trace_text(&j).contains("pickup: disabled in config"));
}

#[test]
fn a_return_in_two_stages() {
    let cfg = RulesConfig::seed_defaults();
    let ship = paris(2026, 5, 4, 10, 0);
    // RE1 Fri 8 May: due the end of Thu 28 May (8 + 20), late that day,
    // critical the day after while not back.
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("RE1", at9(8))]));
    let j = run(&o, &p, &cfg, paris(2026, 5, 28, 22, 0));
    assert_eq!(verdict(&j), Some((ReturnToSender, Late)));
    let f = &j.findings[0];
    assert_eq!(f.detail.as_deref(), Some("en retour"));
    assert_eq!(f.due, Some(paris(2026, 5, 29, 0, 0)));
    assert!(
        f.facts
            .iter()
            .any(|l| l.contains("entre le lun. 18 mai 2026 et le jeu. 28 mai 2026")),
        "{:?}",
        f.facts
    );
    assert!(!f.procedure.contains("9,95 €"));
    assert_eq!(
        verdict(&run(&o, &p, &cfg, paris(2026, 5, 29, 0, 30))),
        Some((ReturnToSender, Critical))
    );
    // DI2: back, same rule and due date, the re-ship/refund procedure; no
    // longer critical (it came back).
    let (o, p) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI2", at9(20)), ("RE1", at9(8))]),
    );
    let j = run(&o, &p, &cfg, paris(2026, 5, 29, 10, 0));
    assert_eq!(verdict(&j), Some((ReturnToSender, Late)));
    let f = &j.findings[0];
    assert_eq!(f.detail.as_deref(), Some("revenu"));
    assert_eq!(f.due, Some(paris(2026, 5, 29, 0, 0)));
    assert!(
        f.facts
            .iter()
            .any(|l| l.contains("revenu à l'expéditeur le mer. 20 mai 2026 à 09:00"))
    );
    for needle in [
        "5,95 €",
        "9,95 €",
        "Monetico",
        "hors frais de port",
        "Aucune exception",
        "remis en stock s'il est en bon état",
    ] {
        assert!(f.procedure.contains(needle), "{needle}");
    }
    // Final after RE1 without DI2: back too.
    let (o, mut p) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("ET1", at9(18)), ("RE1", at9(8))]),
    );
    if let Some(t) = p[0].tracking.as_mut() {
        t.is_final = true;
    }
    let f = &run(&o, &p, &cfg, paris(2026, 5, 20, 10, 0)).findings[0];
    assert_eq!(f.detail.as_deref(), Some("revenu"));
    // The window is the config's.
    let mut short = RulesConfig::seed_defaults();
    short.return_window.days = 15;
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("RE1", at9(8))]));
    assert_eq!(
        run(&o, &p, &short, at9(20)).findings[0].due,
        Some(paris(2026, 5, 24, 0, 0))
    );
}

#[test]
fn return_due_across_the_autumn_clock_change() {
    let cfg = RulesConfig::seed_defaults();
    // RE1 Mon 19 Oct 2026; clocks go back on 25 Oct; due the end of 8 Nov,
    // Paris midnight (UTC+1).
    let ship = paris(2026, 10, 15, 10, 0);
    let (o, p) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("RE1", paris(2026, 10, 19, 9, 0))]),
    );
    let f = &run(&o, &p, &cfg, paris(2026, 10, 20, 9, 0)).findings[0];
    assert_eq!(f.due, Some(paris(2026, 11, 9, 0, 0)));
}

fn with_estimate(mut p: Vec<Parcel>, e: NaiveDate) -> Vec<Parcel> {
    if let Some(t) = p[0].tracking.as_mut() {
        t.info.estimated_on = Some(e);
    }
    p
}

#[test]
fn the_carrier_estimate_is_an_opt_in_earlier_trigger() {
    let ship = paris(2026, 5, 4, 10, 0);
    let evs: Events = &[
        ("ET1", paris(2026, 5, 5, 6, 0)),
        ("PC1", paris(2026, 5, 4, 18, 0)),
    ];
    let now = paris(2026, 5, 7, 10, 0);
    let off = RulesConfig::seed_defaults();
    let mut on = RulesConfig::seed_defaults();
    on.delivery_colissimo.estimate = true;
    on.tracking_stuck.enabled = false;
    let mut quiet = off.clone();
    quiet.tracking_stuck.enabled = false;
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(evs));
    // Off: only the seed's 7 days.
    assert_eq!(
        verdict(&run(&o, &with_estimate(p.clone(), day(5, 6)), &quiet, now)),
        None
    );
    // On: the estimate is today → quiet; yesterday → fires.
    assert_eq!(
        verdict(&run(&o, &with_estimate(p.clone(), day(5, 7)), &on, now)),
        None
    );
    let j = run(&o, &with_estimate(p.clone(), day(5, 6)), &on, now);
    assert_eq!(
        verdict(&j),
        Some((DeliveryColissimo, Late)),
        "{}",
        trace_text(&j)
    );
    let f = &j.findings[0];
    assert_eq!(f.deadline, Some(paris(2026, 5, 7, 0, 0)));
    assert_eq!(f.delay, Delay::Days(3));
    assert!(
        f.facts[0]
            .contains("Colissimo annonçait la livraison pour le mer. 6 mai 2026 : date dépassée")
    );
    assert!(
        f.facts[1].contains("court jusqu'au lun. 11 mai 2026 inclus"),
        "{:?}",
        f.facts
    );
    assert!(f.procedure.contains("Demandez au client de patienter"));
    assert!(!f.procedure.contains("plus de 7 jours"));
    // An estimate before the shipment: ignored.
    let j = run(&o, &with_estimate(p.clone(), day(5, 3)), &on, now);
    assert_eq!(verdict(&j), None);
    assert!(trace_text(&j).contains("before the shipment day"));
    // Far in the future: the seed's threshold decides, same rule, its own facts.
    let j = run(
        &o,
        &with_estimate(p.clone(), day(5, 30)),
        &on,
        paris(2026, 5, 12, 10, 0),
    );
    assert_eq!(verdict(&j).map(|v| v.0), Some(DeliveryColissimo));
    assert!(j.findings[0].facts[0].contains("plus de 7 j"));
    // Delivered: nothing.
    let (o, d) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI1", paris(2026, 5, 6, 12, 0))]),
    );
    assert_eq!(
        verdict(&run(&o, &with_estimate(d, day(5, 5)), &on, now)),
        None
    );
    // Per carrier: Colissimo on, Chronopost off.
    let (o, c) = shipped(
        Carrier::Chronopost,
        ship,
        Some(&[("PC1", paris(2026, 5, 4, 18, 0))]),
    );
    let c = with_estimate(c, day(5, 4));
    let at = paris(2026, 5, 5, 10, 0);
    assert_eq!(verdict(&run(&o, &c, &on, at)), None);
    let mut chrono = on.clone();
    chrono.delivery_chronopost.estimate = true;
    let j = run(&o, &c, &chrono, at);
    assert_eq!(verdict(&j), Some((DeliveryChronopost, Late)));
    assert!(j.findings[0].facts[1].contains("garantie avant la fin du mar. 5 mai 2026"));
}

#[test]
fn pickup_return_day_ignores_the_shops_own_closed_days() {
    use crate::domain::Classifier;
    use crate::domain::calendar::Calendar;
    use crate::rules::Judge;
    let mut cfg = RulesConfig::seed_defaults();
    cfg.delivery_colissimo.enabled = false;
    // AG1 Sat 9 May; the shop closes Fri 15 May (a bridge day): one
    // business day less for the wait (5 on Tue 19: quiet, 6 on Wed 20), but
    // La Poste's counter is open that day and still sends the parcel back
    // around Fri 22 May.
    let ship = paris(2026, 5, 8, 10, 0);
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("AG1", at9(9))]));
    let base = Calendar::france();
    let cal = Calendar::from_parts(base.timezone(), base.cutoff(), [day(5, 15)], []);
    let classifier = Classifier::seed_defaults();
    let findings = |now| Judge::new(&cal, &cfg, &classifier, now).findings(&o, &p);
    assert!(findings(paris(2026, 5, 19, 10, 0)).is_empty());
    let f = findings(paris(2026, 5, 20, 10, 0));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, Pickup);
    assert_eq!(f[0].delay, Delay::BusinessDays(6));
    assert_eq!(f[0].due, Some(paris(2026, 5, 22, 0, 0)));
    // Two ouvrables away (21, 22) on Wed 20: critical.
    assert_eq!(f[0].severity, Critical);
}

#[test]
fn pickup_critical_boundary_across_a_sunday() {
    let mut cfg = RulesConfig::seed_defaults();
    cfg.delivery_colissimo.enabled = false;
    // AG1 Tue 12 May. Business days after it: 13, 15, 18, 19, 20 (14 May
    // is Ascension): 5 on Wed 20, quiet; 6 on Thu 21. La Poste's ouvrables:
    // 13, 15, 16, 18-23, then Sun 24 and Whit Monday 25 skipped: the 10th
    // is Tue 26, 3 ouvrables after Thu 21 (22, 23, 26): late. Kept 9
    // ouvrables, the return day is Sat 23, 2 away: critical.
    let ship = paris(2026, 5, 11, 10, 0);
    let (o, p) = shipped(Carrier::Colissimo, ship, Some(&[("AG1", at9(12))]));
    assert_eq!(verdict(&run(&o, &p, &cfg, paris(2026, 5, 20, 10, 0))), None);
    let j = run(&o, &p, &cfg, paris(2026, 5, 21, 10, 0));
    assert_eq!(verdict(&j), Some((Pickup, Late)), "{}", trace_text(&j));
    assert_eq!(j.findings[0].due, Some(paris(2026, 5, 26, 0, 0)));
    cfg.pickup_keep.keep_days = 9;
    let j = run(&o, &p, &cfg, paris(2026, 5, 21, 10, 0));
    assert_eq!(verdict(&j), Some((Pickup, Critical)), "{}", trace_text(&j));
    assert_eq!(j.findings[0].due, Some(paris(2026, 5, 23, 0, 0)));
}

#[test]
fn the_carrier_estimate_per_carrier_both_sides() {
    let ship = paris(2026, 5, 4, 10, 0);
    let mut cfg = RulesConfig::seed_defaults();
    cfg.tracking_stuck.enabled = false;
    cfg.delivery_chronopost.estimate = true;
    // Chronopost: the estimate today is quiet (within its 24 h guarantee,
    // shipped Mon 4 May, on Tue 5), yesterday fires.
    let (o, c) = shipped(
        Carrier::Chronopost,
        ship,
        Some(&[("PC1", paris(2026, 5, 4, 18, 0))]),
    );
    let at = paris(2026, 5, 5, 10, 0);
    assert_eq!(
        verdict(&run(&o, &with_estimate(c.clone(), day(5, 5)), &cfg, at)),
        None
    );
    assert_eq!(
        verdict(&run(&o, &with_estimate(c.clone(), day(5, 4)), &cfg, at)),
        Some((DeliveryChronopost, Late))
    );
    // Another carrier: the opt-in needs the rule itself on (off by default).
    let (o, x) = shipped(
        Carrier::Other,
        ship,
        Some(&[("PC1", paris(2026, 5, 4, 18, 0))]),
    );
    let x = with_estimate(x, day(5, 5));
    let at = paris(2026, 5, 7, 10, 0);
    cfg.delivery_other.estimate = true;
    assert_eq!(verdict(&run(&o, &x, &cfg, at)), None);
    cfg.delivery_other.enabled = true;
    cfg.delivery_other.threshold = 10;
    assert_eq!(verdict(&run(&o, &x, &cfg, at)), Some((DeliveryOther, Late)));
    assert_eq!(verdict(&run(&o, &x, &cfg, paris(2026, 5, 5, 20, 0))), None);
}
