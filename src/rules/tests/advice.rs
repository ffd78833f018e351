//! `advise` on one order per seed case, `now` a parameter: what it says
//! for a shipping delay (compatible, originals), a delivery (in time,
//! late), an address change (not validated, validated, shipped), a lost
//! parcel per carrier, and a return in each stage.

use chrono::{DateTime, Utc};

use super::{Carrier, order, paris, shipped};
use crate::config::RulesConfig;
use crate::domain::calendar::Calendar;
use crate::domain::{Classifier, Order, OrderState, Parcel};
use crate::rules::{AdviceSection, Judge};

fn advise(o: &Order, parcels: &[Parcel], now: DateTime<Utc>) -> Vec<AdviceSection> {
    let cal = Calendar::france();
    let cfg = RulesConfig::seed_defaults();
    let classifier = Classifier::seed_defaults();
    Judge::new(&cal, &cfg, &classifier, now).advise(o, parcels)
}

fn section(s: &[AdviceSection], title: &str) -> String {
    s.iter()
        .find(|x| x.title == title)
        .map(|x| x.lines.join("\n"))
        .unwrap_or_else(|| panic!("no section {title}: {s:#?}"))
}

#[test]
fn shipping_delay_compatible_both_sides() {
    // Validated Tue 5 May 2026 at 10:00, before the cutoff: ships that day.
    let o = order(&["CMP-1"], Some(paris(2026, 5, 5, 10, 0)));
    let s = advise(&o, &[], paris(2026, 5, 5, 15, 0));
    let text = section(&s, "Retard d'expédition");
    assert!(
        text.contains("expédition prévue le mar. 5 mai 2026"),
        "{text}"
    );
    assert!(
        text.contains("Ne jamais s'avancer sur les délais"),
        "{text}"
    );
    // Wed 6 May: one business day past the due day, the threshold.
    let text = section(
        &advise(&o, &[], paris(2026, 5, 6, 15, 0)),
        "Retard d'expédition",
    );
    assert!(text.contains("1 j ouvré de retard"), "{text}");
    assert!(text.contains("clôturez le ticket"), "{text}");
}

#[test]
fn shipping_delay_originals_both_sides() {
    let o = order(&["ORI-1"], Some(paris(2026, 5, 4, 10, 0)));
    // 10 business days after Mon 4 May (8 and 14 May are holidays): 20 May.
    let text = section(
        &advise(&o, &[], paris(2026, 5, 20, 10, 0)),
        "Retard d'expédition",
    );
    assert!(text.contains("10 j ouvrés sur 10"), "{text}");
    assert!(text.contains("« Origine – délai »"), "{text}");
    let text = section(
        &advise(&o, &[], paris(2026, 5, 21, 10, 0)),
        "Retard d'expédition",
    );
    assert!(text.contains("11 j ouvrés (plus de 10)"), "{text}");
}

#[test]
fn delivery_colissimo_in_time_then_late_with_link() {
    let ship = paris(2026, 5, 4, 10, 0);
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[("ET1", ship)]));
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 11, 10, 0)),
        "Retard de livraison",
    );
    assert!(
        text.contains("expédié il y a 7 jours (le lun. 4 mai 2026) : dans les délais Colissimo (7 jours, jusqu'au lun. 11 mai 2026 inclus)"),
        "{text}"
    );
    assert!(
        text.contains("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"),
        "{text}"
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 12, 10, 0)),
        "Retard de livraison",
    );
    assert!(text.contains("plus de 7 jours : délai dépassé"), "{text}");
    assert!(text.contains("Procédure :"), "{text}");
    // The section says « Expédiée » for the shipping phase.
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 12, 10, 0)),
        "Retard d'expédition",
    );
    assert!(text.contains("Expédiée le lun. 4 mai 2026"), "{text}");
}

#[test]
fn address_change_follows_the_order_state() {
    // Not validated.
    let mut o = order(&["CMP-1"], None);
    o.state = OrderState::PendingPayment;
    o.status = "pending_payment".into();
    let text = section(
        &advise(&o, &[], paris(2026, 5, 5, 10, 0)),
        "Modification d'adresse",
    );
    assert!(
        text.contains("repasser commande avec la bonne adresse"),
        "{text}"
    );
    // Validated Tue 5 May 10:00, asked at 15:00: before today's cutoff.
    let o = order(&["CMP-1"], Some(paris(2026, 5, 5, 10, 0)));
    let text = section(
        &advise(&o, &[], paris(2026, 5, 5, 15, 0)),
        "Modification d'adresse",
    );
    assert!(text.contains("informez un lead tout de suite"), "{text}");
    assert!(text.contains("avant 16:00 le mar. 5 mai 2026"), "{text}");
    // At 17:00 the cutoff has passed: the next shipping moment, Wed 6.
    let text = section(
        &advise(&o, &[], paris(2026, 5, 5, 17, 0)),
        "Modification d'adresse",
    );
    assert!(text.contains("avant 16:00 le mer. 6 mai 2026"), "{text}");
    // Shipped: the customer calls the carrier.
    let ship = paris(2026, 5, 4, 10, 0);
    let (o, parcels) = shipped(Carrier::Chronopost, ship, Some(&[("ET1", ship)]));
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 5, 10, 0)),
        "Modification d'adresse",
    );
    assert!(
        text.contains("contacter le transporteur (Chronopost)"),
        "{text}"
    );
    assert!(!text.contains("informez un lead"), "{text}");
    // A letter without number: no carrier to call.
    let (o, parcels) = shipped(Carrier::Letter, ship, None);
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 5, 10, 0)),
        "Modification d'adresse",
    );
    assert!(text.contains("Envoi simple sans suivi"), "{text}");
}

#[test]
fn lost_parcel_steps_per_carrier_with_dates() {
    let ship = paris(2026, 5, 4, 10, 0);
    // Colissimo delivered Wed 6 May 11:00; asked Thu 7 May.
    let (o, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("DI1", paris(2026, 5, 6, 11, 0)), ("ET1", ship)]),
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 7, 10, 0)),
        "Colis perdu (livré mais pas reçu)",
    );
    assert!(text.contains("[jusqu'au lun. 11 mai 2026] Demandez au client de patienter et envoyez le lien de suivi"), "{text}");
    assert!(
        text.contains(
            "[à partir du mar. 12 mai 2026] Demandez au client de vérifier auprès de son voisinage"
        ),
        "{text}"
    );
    assert!(
        text.contains("« attestation sur l'honneur (avec suivi) »"),
        "{text}"
    );
    assert!(text.contains("réclamation auprès de Colissimo"), "{text}");
    // From 12 May the neighbours and the proof are due now.
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 12, 10, 0)),
        "Colis perdu (livré mais pas reçu)",
    );
    assert!(!text.contains("jusqu'au"), "{text}");
    assert!(
        text.contains("[à faire maintenant] Pas d'erreur et colis indiqué livré"),
        "{text}"
    );
    // Not delivered: the delivery procedure applies instead.
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[("ET1", ship)]));
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 7, 10, 0)),
        "Colis perdu (livré mais pas reçu)",
    );
    assert!(text.contains("n'indique pas « livré »"), "{text}");
    // Chronopost delivered Tue 5 May 18:00, asked Tue 5 May 20:00: the
    // proof waits 24 h (Wed 6 May).
    let (o, parcels) = shipped(
        Carrier::Chronopost,
        ship,
        Some(&[("DI1", paris(2026, 5, 5, 18, 0)), ("ET1", ship)]),
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 5, 20, 0)),
        "Colis perdu (livré mais pas reçu)",
    );
    assert!(
        text.contains("[à faire maintenant] Vérifiez le suivi de commande"),
        "{text}"
    );
    assert!(
        text.contains("[à partir du mer. 6 mai 2026] Pas d'erreur"),
        "{text}"
    );
    assert!(text.contains("dénégation de signature"), "{text}");
    // A letter: 10 days, then the neighbours (D+11), then the attestation (D+21).
    let (o, parcels) = shipped(Carrier::Letter, ship, None);
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 14, 10, 0)),
        "Colis perdu (livré mais pas reçu)",
    );
    assert!(
        text.contains("[jusqu'au jeu. 14 mai 2026] Demandez au client de patienter"),
        "{text}"
    );
    assert!(
        text.contains("[à partir du ven. 15 mai 2026] Demandez au client de vérifier"),
        "{text}"
    );
    assert!(
        text.contains("[à partir du lun. 25 mai 2026] Colis non réceptionné"),
        "{text}"
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 15, 10, 0)),
        "Colis perdu (livré mais pas reçu)",
    );
    assert!(
        text.contains("[à faire maintenant] Demandez au client de vérifier"),
        "{text}"
    );
}

#[test]
fn return_in_each_stage() {
    let ship = paris(2026, 5, 4, 10, 0);
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[("ET1", ship)]));
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 7, 10, 0)),
        "Retour expéditeur",
    );
    assert_eq!(text, "Aucun retour en cours.");
    let re = paris(2026, 5, 8, 9, 0);
    let (o, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("RE1", re), ("ET1", ship)]),
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 9, 10, 0)),
        "Retour expéditeur",
    );
    assert!(
        text.contains("retour attendu entre le lun. 18 mai 2026 et le jeu. 28 mai 2026"),
        "{text}"
    );
    assert!(text.contains("vérifiez l'adresse saisie"), "{text}");
    let (o, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[
            ("DI2", paris(2026, 5, 20, 9, 0)),
            ("RE1", re),
            ("ET1", ship),
        ]),
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 21, 10, 0)),
        "Retour expéditeur",
    );
    assert!(
        text.contains("revenu à l'expéditeur le mer. 20 mai 2026 à 09:00"),
        "{text}"
    );
    assert!(
        text.contains("5,95 €") && text.contains("9,95 €") && text.contains("remis en stock"),
        "{text}"
    );
}

#[test]
fn delivery_letter_and_chronopost_in_time_then_late() {
    // An envoi simple shipped Mon 4 May: 10 days on Thu 14 May is still in
    // time (« inférieur à 10 jours » read as the other rules: more than 10
    // is late), 11 on Fri 15 May is late.
    let ship = paris(2026, 5, 4, 10, 0);
    let (o, parcels) = shipped(Carrier::Letter, ship, None);
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 14, 10, 0)),
        "Retard de livraison",
    );
    assert!(
        text.contains("expédié il y a 10 jours (le lun. 4 mai 2026) : dans les délais Lettre (10 jours, jusqu'au jeu. 14 mai 2026 inclus)"),
        "{text}"
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 15, 10, 0)),
        "Retard de livraison",
    );
    assert!(text.contains("plus de 10 jours : délai dépassé"), "{text}");
    assert!(text.contains("Procédure :"), "{text}");

    // Chronopost shipped Fri 15 May: guaranteed by the end of Mon 18 May
    // (the next business day), late on Tue 19.
    let ship = paris(2026, 5, 15, 15, 0);
    let (o, parcels) = shipped(Carrier::Chronopost, ship, Some(&[("PC1", ship)]));
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 18, 23, 0)),
        "Retard de livraison",
    );
    assert!(
        text.contains(
            "expédié le ven. 15 mai 2026 : livraison garantie avant la fin du lun. 18 mai 2026"
        ),
        "{text}"
    );
    assert!(!text.contains("Procédure"), "{text}");
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 19, 8, 0)),
        "Retard de livraison",
    );
    assert!(
        text.contains("pas livré à la fin du lun. 18 mai 2026 : garantie dépassée"),
        "{text}"
    );
    assert!(text.contains("Chronopost retard excuses"), "{text}");
}

#[test]
fn tracking_anomalies_say_their_procedure() {
    // Colissimo shipped Mon 4 May 10:00, taken in charge at 18:00 and not
    // scanned since: stuck once 48 h have passed (Wed 6 May 18:00).
    let ship = paris(2026, 5, 4, 10, 0);
    let (o, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("PC1", paris(2026, 5, 4, 18, 0))]),
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 6, 17, 0)),
        "Retard de livraison",
    );
    assert!(!text.contains("Anomalie de suivi"), "{text}");
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 6, 19, 0)),
        "Retard de livraison",
    );
    assert!(text.contains("Anomalie de suivi (bloqué) :"), "{text}");
    assert!(text.contains("réclamation"), "{text}");
    // Undeliverable (ND1): an incident, raised on Freshdesk.
    let (o, parcels) = shipped(
        Carrier::Colissimo,
        ship,
        Some(&[("ND1", paris(2026, 5, 5, 11, 0))]),
    );
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 5, 15, 0)),
        "Retard de livraison",
    );
    assert!(text.contains("Anomalie de suivi (incident) :"), "{text}");
    assert!(text.to_lowercase().contains("freshdesk"), "{text}");
    // Unknown to La Poste 24 h after shipment: « introuvable ».
    let (o, parcels) = shipped(Carrier::Colissimo, ship, Some(&[]));
    let text = section(
        &advise(&o, &parcels, paris(2026, 5, 5, 11, 0)),
        "Retard de livraison",
    );
    assert!(text.contains("Anomalie de suivi (introuvable) :"), "{text}");
    assert!(text.contains("24"), "{text}");
}
