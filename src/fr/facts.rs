//! The facts a card lists under « Constat »: what made its rule fire, in
//! the team's words. The rules compute the values (dates already written
//! by [`super::date`] and [`super::datetime`] in the shop's timezone); the
//! sentences are here.

use super::business_days;

/// « expédiée », or « entièrement expédiée » once part of the order left.
fn not_shipped(partly: bool) -> &'static str {
    if partly {
        "entièrement expédiée"
    } else {
        "expédiée"
    }
}

/// `shipping_compatible`: when the order was validated and the day it was
/// due to ship.
pub(crate) fn validated_due_to_ship(
    validated: &str,
    before_cutoff: bool,
    cutoff: &str,
    due: &str,
) -> String {
    let why = if before_cutoff {
        format!("jour ouvré, avant {cutoff}")
    } else {
        format!("après {cutoff} ou jour non ouvré")
    };
    format!("Commande validée le {validated} ({why}) : expédition due le {due}.")
}

/// `shipping_compatible`: still not shipped, business days since the due day.
pub(crate) fn not_shipped_since_due(
    partly: bool,
    today: &str,
    passed: i64,
    threshold: i64,
) -> String {
    format!(
        "Toujours pas {} le {today} : {} depuis le jour d'expédition prévu (seuil {}).",
        not_shipped(partly),
        business_days(passed),
        business_days(threshold)
    )
}

/// `shipping_original`: when the order of originals was validated.
pub(crate) fn originals_validated(validated: &str) -> String {
    format!("Commande de cartouches d'origine validée le {validated}.")
}

/// `shipping_original`: still not shipped, business days since validation.
pub(crate) fn not_shipped_since_validation(
    partly: bool,
    today: &str,
    passed: i64,
    threshold: i64,
) -> String {
    format!(
        "Toujours pas {} le {today} : {} depuis la validation (plus de {}).",
        not_shipped(partly),
        business_days(passed),
        business_days(threshold)
    )
}

/// A partly shipped order: how many shipments left, what still waits
/// (`name (sku) × qty`, already written).
pub(crate) fn partly_shipped(shipments: usize, waiting: &[String]) -> String {
    let left = match shipments {
        1 => "un envoi est parti".to_owned(),
        n => format!("{n} envois sont partis"),
    };
    format!(
        "Expédition partielle : {left} ; toujours en attente : {}.",
        waiting.join(", ")
    )
}

/// What the tracking says of a parcel, for every parcel rule.
pub(crate) enum TrackingFact<'a> {
    LastEvent {
        code: &'a str,
        label: &'a str,
        at: &'a str,
    },
    NotKnownYet,
    NoNumber,
    Foreign,
    CannotTrack,
    NotAskedYet,
}

pub(crate) fn tracking(fact: TrackingFact<'_>) -> String {
    match fact {
        TrackingFact::LastEvent { code, label, at } => {
            format!("Dernier événement : {code} « {label} » le {at}.")
        }
        TrackingFact::NotKnownYet => "Le transporteur ne connaît pas encore ce numéro.".into(),
        TrackingFact::NoNumber => "Envoi sans numéro de suivi.".into(),
        TrackingFact::Foreign => {
            "Transporteur hors La Poste : son suivi se consulte sur le site du transporteur.".into()
        }
        TrackingFact::CannotTrack => "La Poste ne peut pas suivre ce numéro.".into(),
        TrackingFact::NotAskedYet => "Suivi pas encore interrogé.".into(),
    }
}

/// `delivery_*` by days: shipped, not delivered, days since.
pub(crate) fn not_delivered_days(
    shipped: &str,
    carrier: &str,
    today: &str,
    days: i64,
    threshold: i64,
) -> String {
    format!(
        "Expédié le {shipped} ({carrier}), non livré le {today} : {days} j depuis l'expédition (plus de {threshold} j)."
    )
}

/// `delivery_chronopost`: the guarantee.
pub(crate) fn chronopost_guarantee(shipped: &str, due: &str) -> String {
    format!("Expédié le {shipped} en Chronopost : livraison garantie avant la fin du {due}.")
}

/// `delivery_chronopost`: not delivered, days since shipment.
pub(crate) fn chronopost_not_delivered(today: &str, days: i64) -> String {
    format!("Non livré le {today} ({days} j depuis l'expédition).")
}

/// `return_to_sender`: since when the parcel returns.
pub(crate) fn returning_since(at: &str) -> String {
    format!("Le transporteur retourne le colis à l'expéditeur depuis le {at}.")
}

/// `tracking_problem`.
pub(crate) const INCIDENT: &str = "Le transporteur signale un incident sur le colis.";

/// `tracking_not_found`, a parcel without any number.
pub(crate) fn shipped_without_number(shipped: &str, carrier: &str) -> String {
    format!("Expédié le {shipped} en {carrier} sans numéro de suivi dans Magento.")
}

/// `tracking_not_found`, a number La Poste cannot take.
pub(crate) fn shipped_with_bad_number(shipped: &str, carrier: &str, number: &str) -> String {
    format!(
        "Expédié le {shipped} en {carrier} avec le numéro de suivi « {number} », que La Poste ne peut pas suivre \
         (11 à 15 lettres et chiffres attendus) : à corriger dans Magento."
    )
}

/// `tracking_not_found`, a number the carrier never scanned.
pub(crate) fn never_scanned(shipped: &str, deadline: &str, threshold: u32) -> String {
    format!(
        "Expédié le {shipped} ; le {deadline}, toujours aucune prise en charge par le transporteur (seuil {threshold} h)."
    )
}

/// `tracking_stuck`.
pub(crate) fn no_new_event(last: &str, threshold: u32, deadline: &str) -> String {
    format!(
        "Aucun nouvel événement de suivi depuis le {last} (seuil {threshold} h, atteint le {deadline})."
    )
}
