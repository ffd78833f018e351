//! The French texts of the pickup rule, the two stages of a return and the
//! carrier's-estimate trigger: what the team must do, in the seeds' words
//! (seed 000 §2 and §3, seed 004 ④). `procedures.rs` holds the texts of the
//! other rules; these sit apart because they depend on a stage or on a
//! trigger, not on the rule alone.

use crate::config::RulesConfig;
use crate::rules::RuleId;

/// `[rules.pickup]`: no written procedure covers it (the threshold is the
/// team's); the seed's words are those of a parcel « non récupéré ».
pub fn pickup_procedure() -> String {
    "Colis en attente au guichet ou au point de retrait (pas de procédure écrite : seuil de l'équipe).\n\
     - Rappelez au client d'aller récupérer son colis avant la date de retour, muni d'une pièce d'identité.\n\
     - Sans retrait, le colis nous est « automatiquement retourné » : la procédure « Retour expéditeur » \
     s'appliquera alors (réexpédition refacturée au client)."
        .to_owned()
}

/// Stage one of a return (seed 000 §3 l.153, seed 004 ④): the carrier is
/// bringing the parcel back.
pub fn return_returning(cfg: &RulesConfig) -> String {
    format!(
        "Le colis nous est retourné (un retour prend {min} à {max} jours).\n\
         - Vérifiez d'abord l'adresse de livraison saisie par le client (manque, erreur) et informez le client \
         que son colis nous est retourné.\n\
         - Commande passée via notre service commercial : demandez à un Lead de vérifier les informations \
         saisies lors de la commande.\n\
         - Une fois le colis revenu, cette carte l'indiquera avec la suite de la procédure \
         (réexpédition refacturée via Monetico ou remboursement hors frais de port).",
        min = cfg.return_window.min_days,
        max = cfg.return_window.days
    )
}

/// Stage two (seed 000 §3 l.163-191, seed 004 ④): the parcel is back.
pub fn return_back() -> String {
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
/// (seed 000 §2 l.123, seed 004 « temporiser »).
pub fn estimate_procedure(rule: RuleId, cfg: &RulesConfig) -> String {
    let wait = match rule {
        RuleId::DeliveryLetter => format!("{} jours", cfg.delivery_letter.threshold),
        RuleId::DeliveryColissimo => format!("{} jours", cfg.delivery_colissimo.threshold),
        RuleId::DeliveryChronopost => "24 heures".to_owned(),
        _ => format!("{} jours", cfg.delivery_other.threshold),
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
