//! What the team must do, per rule, in the seeds' own words (French).
//!
//! Seed 000 is the team's procedure page (sections: 1 retard d'expédition,
//! 2 retard de livraison, 3 retour expéditeur, 5 colis perdu); seed 004 is
//! the supplier's page on parcels that do not arrive, where the tracking
//! thresholds (24 h not found, 48 h stuck) come from. The texts are the
//! seeds' instructions rewritten for a card, numbers taken from config so
//! that a card never contradicts the rule that filed it.

use crate::domain::RuleId;

/// The procedure a card shows for `rule`. `threshold` is the rule's
/// configured threshold (so that the text never contradicts the rule that
/// filed the card), `cutoff` the calendar's shipping cutoff, e.g. `16:00`.
pub fn procedure(rule: RuleId, threshold: u32, cutoff: &str) -> String {
    match rule {
        // Seed 000 §1, « Cartouches compatibles ».
        RuleId::ShippingCompatible => format!(
            "Cartouches compatibles : expédition le jour même pour une commande validée avant {cutoff}, \
             le jour ouvré suivant au-delà (jours ouvrés : hors week-ends et jours fériés).\n\
             - La commande a subi un délai d'expédition : le cas est remonté ici (rubrique « Retard d'expédition ») ; \
             clôturez le ticket client.\n\
             - Ne vous avancez jamais sur un délai d'expédition. Si le client insiste, référez-vous à un Lead."
        ),
        // Seed 000 §1, « Cartouches originales ».
        RuleId::ShippingOriginal => format!(
            "Cartouches d'origine : expédiées sous 2 à {n} jours ouvrés ; des délais plus longs peuvent arriver.\n\
             - Moins de {n} jours ouvrés : aucune action, envoyez le mail « Origine – délai ».\n\
             - Plus de {n} jours ouvrés (c'est le cas) : le cas est remonté ici (rubrique « Retard d'expédition ») ; \
             clôturez le ticket client.\n\
             - Ne vous avancez jamais sur un délai d'expédition. Si le client insiste, référez-vous à un Lead.",
            n = threshold
        ),
        // Seed 000 §2 « Envoi simple » and §5 « Colis perdu, envoi simple »;
        // a lettre suivie has the same 10 days (its tracking adds the return
        // and incident rules, not another delay).
        RuleId::DeliveryLetter => format!(
            "Envoi simple (lettre, suivie ou non), plus de {n} jours depuis l'expédition :\n\
             - Demandez au client de vérifier auprès de son voisinage (voisins, gardien).\n\
             - Si le colis n'a pas été réceptionné par un voisin ou le gardien, envoyez le mail « attestation sur l'honneur ».\n\
             - Une fois l'attestation reçue, remontez le dossier via Freshdesk.",
            n = threshold
        ),
        // Seed 000 §2 « Envoi Colissimo » and §5 « Envoi colissimo ».
        RuleId::DeliveryColissimo => format!(
            "Envoi Colissimo, plus de {n} jours depuis l'expédition :\n\
             - Vérifiez le suivi du colis avec le numéro de suivi et demandez au client de vérifier auprès de son voisinage.\n\
             - Si le suivi présente une erreur : remontez immédiatement le dossier sur Freshdesk pour investigation, \
             avec une note précise du problème rencontré (Freshdesk + Magento).\n\
             - Si le suivi indique « livré » et que le client conteste : preuve de livraison (fiche « Colissimo attestation », \
             rubrique « process how to »), puis mail « attestation sur l'honneur (avec suivi) » ; l'attestation reçue, \
             ouvrez une réclamation auprès de Colissimo.",
            n = threshold
        ),
        // Seed 000 §2 « Envoi Chronopost ».
        RuleId::DeliveryChronopost => "Envoi Chronopost : livraison garantie en 24 heures, délai dépassé ; le client est en droit d'ouvrir une réclamation.\n\
             - Excusez-vous auprès du client : envoyez le mail « Chronopost retard excuses ».\n\
             - Ne proposez ni remboursement des frais de port ni geste commercial.\n\
             - Si le client insiste sur le remboursement : ajoutez une remarque précise (Freshdesk + Trello) et remontez via Freshdesk."
            .to_owned(),
        // No seed covers a carrier other than La Poste's: the threshold is
        // the admin's, the advice seed 004's « Comment réagir face à votre
        // client » (temporiser, then re-ship).
        RuleId::DeliveryOther => format!(
            "Envoi par un autre transporteur que La Poste (colisync ne voit pas son suivi), \
             plus de {n} jours depuis l'expédition :\n\
             - Vérifiez le suivi sur le site du transporteur avec le numéro de suivi.\n\
             - Temporisez avec le client : la plupart des colis qui semblaient perdus sont livrés 1 ou 2 jours plus tard.\n\
             - Si le colis n'est toujours pas livré après ce temps d'attente, référez-vous à un Lead pour une réexpédition.",
            n = threshold
        ),
        // Seed 004 ① and seed 000 §2 remarque (erreur de suivi).
        RuleId::TrackingNotFound => format!(
            "Suivi « indisponible » ou « introuvable » plus de {n} h après l'expédition : le transporteur n'a pas scanné le colis.\n\
             - Remontez le dossier sur Freshdesk pour investigation, avec une note précise du problème rencontré (Freshdesk + Magento).\n\
             - Temporisez avec le client : la plupart des colis qui semblaient perdus sont livrés 1 ou 2 jours plus tard.",
            n = threshold
        ),
        // Seed 004 ② and seed 000 §2 remarque.
        RuleId::TrackingStuck => format!(
            "Suivi bloqué à une étape depuis plus de {n} h (retard ou oubli de scan du transporteur).\n\
             - Ouvrez une réclamation postale et remontez le dossier sur Freshdesk avec une note précise (Freshdesk + Magento).\n\
             - Temporisez avec le client : la plupart des colis bloqués sont livrés 1 ou 2 jours plus tard. \
             N'attendez pas l'issue de la réclamation (jusqu'à 2 mois) pour agir auprès du client.",
            n = threshold
        ),
        // Seed 000 §2 remarque: « Si le suivi présente une erreur ».
        RuleId::TrackingProblem => "Le transporteur signale un incident sur le colis (anomalie, colis non distribuable, retenue en douane).\n\
             - Remontez le dossier sur Freshdesk pour investigation, avec une note précise du problème rencontré (Freshdesk + Magento).\n\
             - Vérifiez l'adresse de livraison avec le client."
            .to_owned(),
        // Seed 000 §3 and seed 004 ④.
        RuleId::ReturnToSender => "Le colis nous est retourné (un retour prend 10 à 20 jours).\n\
             - Vérifiez d'abord l'adresse de livraison saisie (manque, erreur) et informez le client que son colis nous est retourné.\n\
             - Erreur ou colis non récupéré côté client : réexpédition refacturée au client via Monetico, \
             5,95 € avec La Poste ou Colissimo, 9,95 € avec Chronopost. S'il ne veut plus la commande, \
             il est remboursé du montant de la commande hors frais de port. Aucune exception sur les frais de port.\n\
             - Commande passée via notre service commercial : demandez à un Lead de vérifier l'adresse saisie. \
             Si l'erreur vient de nous, proposez d'abord la prise en charge des frais de port ; si le client refuse, \
             laissez un commentaire détaillé (Freshdesk + Magento) et assignez le ticket au niveau 2."
            .to_owned(),
        RuleId::Pickup => super::stages::pickup_procedure(),
        // A case's card writes its own procedure from the case (its
        // checklist, the order's state): these are their heads.
        RuleId::LostParcel => super::cases::LOST_HEAD.to_owned(),
        RuleId::AddressChange => super::cases::ADDRESS_HEAD.to_owned(),
    }
}
