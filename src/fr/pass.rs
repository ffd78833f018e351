//! The pass's and the planner's French texts: why a problem ended, for the
//! resolve comment the planner frames as "Problème terminé : {reason}.
//! (colisync, …)" ([`DEFAULT_END_REASON`] is the model: lower case, no
//! final period, or the comment ends in ".."), and the signature that ends
//! every comment colisync posts.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::{self, Order, OrderState, Parcel};

/// The resolve comment's reason when the evidence came with an empty one.
pub const DEFAULT_END_REASON: &str = "le problème n'est plus constaté";

/// How every comment colisync posts ends: `(colisync, mar. 19 mai 2026 à
/// 10:00:00)`, the pass's instant in the configured timezone.
pub fn signature(now: DateTime<Utc>, tz: Tz) -> String {
    format!("(colisync, {})", super::datetime_seconds(now, tz))
}

/// The planner's comments. Each ends with the [`signature`] (`sig`).
pub(crate) mod comments {
    use crate::domain::Severity;

    /// A problem whose card a lead archived came back more severe: a new card.
    pub(crate) fn more_severe(now: Severity, archived_card: &str, sig: &str) -> String {
        format!(
            "Le problème est devenu plus grave ({}) : cette carte remplace la carte archivée \
             {archived_card}. {sig}",
            // The label's name, inside a sentence.
            now.label_fr().to_lowercase()
        )
    }

    /// A resolved problem came back and its card is archived: a new card.
    pub(crate) fn back_after_resolve(archived_card: &str, sig: &str) -> String {
        format!(
            "Le problème est revenu après résolution ; carte précédente (archivée) : \
             {archived_card}. {sig}"
        )
    }

    /// Somebody asked again for a case whose card a lead had archived: a
    /// new card.
    pub(crate) fn asked_again(archived_card: &str, sig: &str) -> String {
        format!("Dossier demandé à nouveau ; carte précédente (archivée) : {archived_card}. {sig}")
    }

    /// A resolved card reopened (its title follows).
    pub(crate) fn reopened(title: &str, sig: &str) -> String {
        format!("Le problème est revenu : {title} {sig}")
    }

    /// The same card, now for another rule (`from` → `to`, the rules' ids).
    pub(crate) fn case_changed(from: &str, to: &str, sig: &str) -> String {
        format!("Le cas a changé : {from} → {to}. {sig}")
    }

    /// The problem ended (`reason` as [`super::DEFAULT_END_REASON`]).
    pub(crate) fn ended(reason: &str, sig: &str) -> String {
        format!("Problème terminé : {reason}. {sig}")
    }
}

/// The order is fully shipped: its order-level problems ended.
pub(crate) const ORDER_SHIPPED: &str = "commande expédiée";

/// La Poste says the parcel is delivered.
pub(crate) const PARCEL_DELIVERED: &str = "colis livré";

/// La Poste says the parcel is delivered, and it was waiting at a counter
/// or pickup point (AG1) just before: the customer collected it.
pub(crate) const PARCEL_COLLECTED: &str = "colis retiré au point de retrait";

/// Why a delivered parcel's problem ended: collected when the event before
/// its delivery (events newest first) is the wait at a pickup point.
pub(crate) fn delivered_reason(p: &Parcel) -> &'static str {
    let collected = p.tracking.as_ref().is_some_and(|s| {
        s.events
            .iter()
            .find(|e| !e.code.starts_with("DI"))
            .is_some_and(|e| e.code == "AG1")
    });
    if collected {
        PARCEL_COLLECTED
    } else {
        PARCEL_DELIVERED
    }
}

/// Why an order's problems end because of the order's own state (the rules
/// fire nothing for these states).
pub(crate) fn order_state_reason(order: &Order) -> Option<&'static str> {
    match order.state {
        OrderState::Canceled => Some("commande annulée"),
        OrderState::Closed => Some("commande close (remboursée)"),
        OrderState::Holded => Some("commande mise en attente (on hold)"),
        _ => None,
    }
}

/// Why a parcel Magento no longer describes is gone, for its resolve
/// comment: its shipment got a number (or another one), its number was a
/// placeholder all along (`N/A`: the shipment is now followed as one
/// without number, on that parcel's card), or the parcel really left the
/// order. `number` is the gone parcel's (empty for `shipment-<id>`), and
/// `shipment` its shipment when known.
pub(crate) fn gone_reason(number: &str, shipment: Option<u64>, parcels_now: &[Parcel]) -> String {
    let squeezed: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if !squeezed.is_empty() && domain::is_placeholder_number(&squeezed) {
        return format!(
            "« {number} » n'est pas un numéro de suivi : l'envoi est suivi comme envoi sans numéro"
        );
    }
    let successor = parcels_now
        .iter()
        .filter(|p| shipment.is_none_or(|s| p.shipment_id == s))
        .map(|p| p.tracking_number.as_str())
        .find(|n| !n.is_empty());
    match (number.is_empty(), successor) {
        (true, Some(n)) => format!("numéro de suivi ajouté dans Magento : {n}"),
        (false, Some(n)) => format!("numéro de suivi remplacé dans Magento par {n}"),
        (_, None) => "ce colis n'est plus dans la commande Magento".to_owned(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_more_severe_problem_names_its_severity_inside_the_sentence() {
        use crate::domain::Severity;
        assert_eq!(
            comments::more_severe(Severity::Critical, "c1", "(sig)"),
            "Le problème est devenu plus grave (critique) : cette carte remplace la carte \
             archivée c1. (sig)"
        );
        assert!(comments::more_severe(Severity::Late, "c1", "(sig)").contains("(en retard)"));
    }

    use super::*;
    use crate::domain::{Carrier, TrackingEvent, TrackingSnapshot, TrackingStatus};
    use chrono::TimeZone;

    fn delivered_after(codes: &[&str]) -> Parcel {
        let at = Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0).unwrap();
        Parcel {
            order_entity_id: 1,
            order_increment_id: "100001".into(),
            shipment_id: 1,
            tracking_number: "6A1".into(),
            carrier: Carrier::Colissimo,
            shipped_at: at,
            tracking: Some(TrackingSnapshot {
                fetched_at: at,
                status: TrackingStatus::Delivered,
                events: codes
                    .iter()
                    .map(|c| TrackingEvent {
                        code: (*c).into(),
                        label: String::new(),
                        at,
                    })
                    .collect(),
                is_final: true,
                product: None,
                info: Default::default(),
            }),
        }
    }

    #[test]
    fn a_parcel_delivered_after_waiting_at_a_pickup_point_was_collected() {
        for (codes, why) in [
            (&["DI1", "AG1", "AG1", "PC1"][..], PARCEL_COLLECTED),
            (&["DI1", "MD2", "PC1"][..], PARCEL_DELIVERED),
            // Waited at the counter, then delivered after another round.
            (&["DI1", "MD2", "AG1", "PC1"][..], PARCEL_DELIVERED),
            (&["DI1"][..], PARCEL_DELIVERED),
        ] {
            assert_eq!(delivered_reason(&delivered_after(codes)), why, "{codes:?}");
        }
    }
}
