//! The French texts of the pickup rule, the two stages of a return and the
//! carrier's-estimate trigger: what the team must do, in the seeds' words
//! (seed 000 §2 and §3, seed 004 ④), the facts these rules list, and the
//! card lines that show what the carrier says besides its events (pickup
//! point, estimated delivery). `procedures.rs` holds the texts of the other
//! rules; these sit apart because they depend on a stage or on a trigger,
//! not on the rule alone.

use crate::domain::{RemovalPoint, RuleId};

/// `[rules.pickup]`: no written procedure covers it (the threshold is the
/// team's); the seed's words are those of a parcel « non récupéré ».
pub(crate) fn pickup_procedure() -> String {
    "Colis en attente au guichet ou au point de retrait (pas de procédure écrite : seuil de l'équipe).\n\
     - Rappelez au client d'aller récupérer son colis avant la date de retour, muni d'une pièce d'identité.\n\
     - Sans retrait, le colis nous est « automatiquement retourné » : la procédure « Retour expéditeur » \
     s'appliquera alors (réexpédition refacturée au client)."
        .to_owned()
}

/// Stage one of a return (seed 000 §3 l.153, seed 004 ④): the carrier is
/// bringing the parcel back, in `min` to `max` days. The numbers, not the
/// configuration: the texts import no configuration (which imports them).
pub(crate) fn return_returning(min: u32, max: u32) -> String {
    format!(
        "Le colis nous est retourné (un retour prend {min} à {max} jours).\n\
         - Vérifiez d'abord l'adresse de livraison saisie par le client (manque, erreur) et informez le client \
         que son colis nous est retourné.\n\
         - Commande passée via notre service commercial : demandez à un Lead de vérifier les informations \
         saisies lors de la commande.\n\
         - Une fois le colis revenu, cette carte l'indiquera avec la suite de la procédure \
         (réexpédition refacturée via Monetico ou remboursement hors frais de port)."
    )
}

/// Stage two (seed 000 §3 l.163-191, seed 004 ④): the parcel is back.
pub(crate) fn return_back() -> String {
    "Le colis est revenu à l'expéditeur.\n\
     - Informez le client que son colis nous a été retourné.\n\
     - Erreur ou colis non récupéré côté client : réexpédition refacturée au client du montant de la livraison, \
     sur la plateforme Monetico : 5,95 € avec La Poste ou Colissimo, 9,95 € avec Chronopost.\n\
     - S'il ne souhaite plus la commande, il est remboursé du montant de la commande hors frais de port. \
     Aucune exception ne doit être accordée pour les frais de port.\n\
     - Commande passée via notre service commercial : demandez à un Lead de vérifier l'adresse saisie. \
     Si l'erreur vient de nous, proposez d'abord la prise en charge des frais de port ; si le client refuse, \
     laissez un commentaire détaillé (Freshdesk + Magento) et assignez le ticket au niveau 2.\n\
     - Le produit retourné est remis en stock s'il est en bon état ; un e-mail indique la raison du retour."
        .to_owned()
}

/// A delivery rule fired early because the carrier's estimate passed: the
/// procedure's own delay has not run out, so the card must not say it has
/// (seed 000 §2 l.123, seed 004 « temporiser »). `threshold`: the rule's
/// delay in days (Chronopost's is its 24 hours).
pub(crate) fn estimate_procedure(rule: RuleId, threshold: u32) -> String {
    let wait = match rule {
        RuleId::DeliveryChronopost => "24 heures".to_owned(),
        _ => format!("{threshold} jours"),
    };
    format!(
        "Date de livraison annoncée par le transporteur dépassée, avant le délai de la procédure ({wait}).\n\
         - Vérifiez le suivi du colis avec le numéro de suivi.\n\
         - Demandez au client de patienter et de nous recontacter si le délai est dépassé : la plupart des colis \
         en retard sont livrés 1 ou 2 jours plus tard.\n\
         - Si le suivi présente une erreur : remontez le dossier sur Freshdesk pour investigation, avec une note \
         précise du problème rencontré (Freshdesk + Magento)."
    )
}

/// The title's last part for each stage of a return.
pub(crate) const RETURN_TITLE_RETURNING: &str = "en retour";
pub(crate) const RETURN_TITLE_BACK: &str = "revenu";

/// `return_to_sender`, returning: when it should be back.
pub(crate) fn return_expected(min: u32, max: u32, earliest: &str, latest: &str) -> String {
    format!(
        "Un retour prend {min} à {max} jours : retour attendu entre le {earliest} et le {latest}."
    )
}

/// `return_to_sender`, back: since when (`None`: La Poste gives no date).
pub(crate) fn return_back_since(at: Option<&str>) -> String {
    match at {
        Some(at) => format!("Le colis est revenu à l'expéditeur le {at}."),
        None => "Le colis est revenu à l'expéditeur.".to_owned(),
    }
}

/// `pickup`: where the parcel waits (`None`: La Poste does not name it).
pub(crate) fn pickup_where(point: Option<&RemovalPoint>) -> String {
    match point {
        Some(r) => format!("au point de retrait {}", r.label_fr()),
        None => "au guichet ou au point de retrait (La Poste ne le nomme pas)".to_owned(),
    }
}

/// `pickup`: since when it waits there.
pub(crate) fn pickup_waiting(place: &str, since: &str, waited: i64) -> String {
    format!(
        "Le colis attend {place} depuis le {since} ({}).",
        super::business_days(waited)
    )
}

/// `pickup`: the day La Poste sends it back.
pub(crate) fn pickup_return_day(back: &str, keep: u32) -> String {
    format!(
        "Sans retrait, La Poste le retournera à l'expéditeur vers le {back} ({keep} jours ouvrables de garde) : \
         il nous sera « automatiquement retourné »."
    )
}

/// The estimate trigger: the carrier's announced day passed.
pub(crate) fn estimate_passed(carrier: &str, day: &str) -> String {
    format!("{carrier} annonçait la livraison pour le {day} : date dépassée.")
}

/// The estimate trigger, Chronopost: until when its guarantee runs.
pub(crate) fn estimate_until_guarantee(day: &str) -> String {
    format!("livraison garantie avant la fin du {day}")
}

/// The estimate trigger, other carriers: until when the seed's delay runs.
pub(crate) fn estimate_until_delay(threshold: u32, day: &str) -> String {
    format!("le délai de la procédure ({threshold} jours) court jusqu'au {day} inclus")
}

/// The estimate trigger: days since the shipment, and the seed's delay.
pub(crate) fn estimate_shipped(shipped: &str, days: i64, until: &str) -> String {
    format!("Expédié le {shipped} : {days} j depuis l'expédition ; {until}.")
}

/// The card's head: the pickup point, already escaped.
pub(crate) fn card_removal_point(point: &str) -> String {
    format!("**Point de retrait** : {point}")
}

/// The card's head: the carrier's estimate and the earlier ones.
pub(crate) fn card_estimate(day: &str, earlier: &[String]) -> String {
    let mut l = format!("**Livraison annoncée** : {day}");
    if !earlier.is_empty() {
        l.push_str(&format!(" (annonces précédentes : {})", earlier.join(", ")));
    }
    l
}

/// One earlier estimate and when it was seen.
pub(crate) fn card_earlier_estimate(day: &str, seen: &str) -> String {
    format!("{day} (vue le {seen})")
}

impl RemovalPoint {
    /// The point as a card names it: « TABAC DE LA GARE (relais) ».
    pub(crate) fn label_fr(&self) -> String {
        match self.kind.as_deref().map(str::trim) {
            Some("BDP") | Some("BPR") => format!("{} (bureau de poste)", self.name),
            Some("A2P") => format!("{} (relais)", self.name),
            Some(k) if !k.is_empty() => format!("{} ({k})", self.name),
            _ => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_kinds_in_french() {
        let p = |k: Option<&str>| RemovalPoint {
            name: "TABAC DE LA GARE".into(),
            kind: k.map(str::to_owned),
        };
        assert_eq!(p(Some("A2P")).label_fr(), "TABAC DE LA GARE (relais)");
        assert_eq!(
            p(Some("BDP")).label_fr(),
            "TABAC DE LA GARE (bureau de poste)"
        );
        assert_eq!(p(Some("XYZ")).label_fr(), "TABAC DE LA GARE (XYZ)");
        assert_eq!(p(None).label_fr(), "TABAC DE LA GARE");
    }
}
