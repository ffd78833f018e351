//! The words of `colisync advise`: what each procedure says for one order
//! today, for an agent answering a customer, in the seeds' own words (seed
//! 000 §1 to §5, seed 004). The rules' `advice` computes the dates; the
//! sentences are here.

/// Section headings, in the order they are printed.
pub(crate) const SHIPPING: &str = "Retard d'expédition";
pub(crate) const DELIVERY: &str = "Retard de livraison";
pub(crate) const ADDRESS: &str = "Modification d'adresse";
pub(crate) const LOST: &str = "Colis perdu (livré mais pas reçu)";
pub(crate) const RETURN: &str = "Retour expéditeur";

pub(crate) fn closed(state: &str) -> String {
    format!("Commande {state} : aucune procédure ne s'applique.")
}

pub(crate) const NOT_VALIDATED: &str =
    "Commande pas encore validée (en attente de règlement) : aucun délai d'expédition ne court.";

pub(crate) fn shipped_on(day: &str) -> String {
    format!("Expédiée le {day} : voir « {DELIVERY} ».")
}

pub(crate) fn compatible_due(
    validated: &str,
    before_cutoff: bool,
    cutoff: &str,
    due: &str,
) -> String {
    let when = if before_cutoff {
        format!("avant {cutoff}")
    } else {
        format!("après {cutoff} ou jour non ouvré")
    };
    format!(
        "Validée le {validated} ({when}) : expédition le jour même avant {cutoff}, le lendemain au-delà ; expédition prévue le {due}."
    )
}

pub(crate) const SHIPPING_IN_TIME: &str = "Dans les délais. Ne jamais s'avancer sur les délais d'expédition. \
     Si un client insiste, veuillez vous référer à un Lead.";

pub(crate) fn shipping_late(passed: i64) -> String {
    format!(
        "{} de retard : remontez le cas sur Trello au niveau de la rubrique « {SHIPPING} » et clôturez le ticket.",
        super::business_days(passed)
    )
}

pub(crate) fn original_in_time(passed: i64, threshold: u32) -> String {
    format!(
        "Cartouches d'origine, {} sur {threshold} : la commande est dans les délais, n'entreprenez aucune action \
         et envoyez le mail « Origine – délai ».",
        super::business_days(passed)
    )
}

pub(crate) fn original_late(passed: i64, threshold: u32) -> String {
    format!(
        "Cartouches d'origine, {} (plus de {threshold}) : remontez le cas sur Trello (« {SHIPPING} ») et clôturez le ticket.",
        super::business_days(passed)
    )
}

pub(crate) const NO_PARCEL: &str = "Pas encore expédiée : aucun colis à suivre.";

pub(crate) fn parcel_head(carrier: &str, number: &str) -> String {
    if number.is_empty() {
        format!("{carrier} (sans numéro de suivi) :")
    } else {
        format!("{carrier} {number} :")
    }
}

pub(crate) fn delivered_on(day: &str) -> String {
    format!("livré le {day}.")
}

pub(crate) fn see_return() -> String {
    format!("retourné à l'expéditeur : voir « {RETURN} ».")
}

pub(crate) fn at_pickup(point: &str, since: &str, back: &str) -> String {
    format!(
        "le colis attend {point} depuis le {since} ; sans retrait, retour à l'expéditeur vers le {back} : \
         rappelez au client d'aller le récupérer, muni d'une pièce d'identité."
    )
}

pub(crate) fn delivery_in_time(
    days: i64,
    shipped: &str,
    carrier: &str,
    threshold: u32,
    until: &str,
) -> String {
    format!(
        "expédié il y a {days} jours (le {shipped}) : dans les délais {carrier} ({threshold} jours, jusqu'au {until} inclus) ; \
         vérifiez le suivi, demandez au client de patienter et de nous recontacter si le délai est dépassé."
    )
}

pub(crate) fn chronopost_in_time(shipped: &str, due: &str) -> String {
    format!(
        "expédié le {shipped} : livraison garantie avant la fin du {due} ; vérifiez le suivi et demandez au client de patienter."
    )
}

pub(crate) fn delivery_late(days: i64, shipped: &str, threshold: u32) -> String {
    format!(
        "expédié il y a {days} jours (le {shipped}), plus de {threshold} jours : délai dépassé. Procédure :"
    )
}

pub(crate) fn chronopost_late(shipped: &str, due: &str) -> String {
    format!("expédié le {shipped}, pas livré à la fin du {due} : garantie dépassée. Procédure :")
}

/// A tracking anomaly on the parcel (« introuvable », « bloqué »,
/// « incident »), followed by its facts and its procedure.
pub(crate) fn anomaly(what: &str) -> String {
    format!("Anomalie de suivi ({what}) :")
}

pub(crate) const NO_DELAY_CONFIGURED: &str = "transporteur hors La Poste, sans délai configuré : consultez son suivi sur le site du transporteur.";

pub(crate) fn estimate(carrier: &str, day: &str) -> String {
    format!("{carrier} annonce la livraison pour le {day}.")
}

pub(crate) fn tracking_link(url: &str) -> String {
    format!("Lien de suivi à envoyer au client : {url}")
}

pub(crate) const ADDRESS_NOT_VALIDATED: &str = "Commande non validée : vous pouvez inviter le client à repasser \
     commande avec la bonne adresse ou l'assister à le faire.";

pub(crate) fn address_validated(cutoff: &str, day: &str) -> String {
    format!(
        "Commande validée et non expédiée : informez un lead tout de suite (Skype, ou par appel si on ne reçoit pas \
         de réponse), avant {cutoff} le {day}, heure de la prochaine expédition."
    )
}

pub(crate) fn address_shipped(carrier: &str) -> String {
    format!("Commande expédiée : demandez au client de contacter le transporteur ({carrier}).")
}

/// colisync's reading: a letter without a number has no carrier to call.
pub(crate) const ADDRESS_LETTER: &str = "Envoi simple sans suivi : pas de modification possible ; si le courrier \
     revient, suivez la procédure « Retour expéditeur » (lecture de colisync, aucune procédure écrite).";

pub(crate) const LOST_NOT_DELIVERED: &str =
    "le suivi n'indique pas « livré » : voir « Retard de livraison ».";

/// One step of the lost-parcel procedure: its date has come, or not yet,
/// or it waits on the customer.
pub(crate) fn step_now(text: &str) -> String {
    format!("[à faire maintenant] {text}")
}

pub(crate) fn step_from(day: &str, text: &str) -> String {
    format!("[à partir du {day}] {text}")
}

pub(crate) fn step_until(day: &str, text: &str) -> String {
    format!("[jusqu'au {day}] {text}")
}

pub(crate) fn step_then(text: &str) -> String {
    format!("[ensuite] {text}")
}

/// A checklist item of a case card: « 2. mer. 20 mai 2026 — Demandez … »,
/// or without a date for a step that waits on the customer.
pub(crate) fn checklist_item(n: usize, day: Option<&str>, text: &str) -> String {
    match day {
        Some(day) => format!("{n}. {day} — {text}"),
        None => format!("{n}. {text}"),
    }
}

pub(crate) const LETTER_WAIT: &str =
    "Demandez au client de patienter (moins de 10 jours depuis l'expédition).";
pub(crate) const LETTER_NEIGHBOURS: &str = "Demandez au client de vérifier auprès de son voisinage (plus de 10 jours depuis l'expédition).";
pub(crate) const LETTER_ATTESTATION: &str = "Colis non réceptionné par un voisin ou le gardien : envoyez le mail \
     « attestation sur l'honneur ».";
pub(crate) const LETTER_FRESHDESK: &str =
    "Une fois l'attestation reçue, remontez le dossier via Freshdesk.";

pub(crate) const COLISSIMO_WAIT: &str = "Demandez au client de patienter et envoyez le lien de suivi de la commande (moins de 7 jours).";
pub(crate) const COLISSIMO_NEIGHBOURS: &str = "Demandez au client de vérifier auprès de son voisinage (si vous \
     constatez une erreur au niveau du suivi, remontez immédiatement le dossier via Freshdesk).";
pub(crate) const COLISSIMO_PROOF: &str = "Pas d'erreur et colis indiqué livré : téléchargez et envoyez la preuve de \
     livraison au client (fiche « Colissimo attestation »), au moins 24 h après la livraison.";
pub(crate) const COLISSIMO_ATTESTATION: &str = "Si le client conteste la preuve de livraison : envoyez le mail « attestation sur l'honneur (avec suivi) ».";
pub(crate) const COLISSIMO_CLAIM: &str = "Une fois l'attestation reçue : ouvrez une réclamation auprès de Colissimo \
     (n'attendez pas le retour du transporteur pour agir auprès du client).";

pub(crate) const CHRONOPOST_CHECK: &str = "Vérifiez le suivi de commande (si vous constatez une erreur, remontez \
     immédiatement le dossier via Freshdesk).";
pub(crate) const CHRONOPOST_PROOF: &str = "Pas d'erreur et colis indiqué livré : téléchargez et envoyez la preuve de \
     livraison au client (fiche « Chronopost attestation »), au moins 24 h après la livraison.";
pub(crate) const CHRONOPOST_DENIAL: &str =
    "Si le client conteste la livraison : demandez-lui une attestation de dénégation de signature.";
pub(crate) const CHRONOPOST_FRESHDESK: &str =
    "Dès réception de l'attestation, remontez l'information via Freshdesk.";

pub(crate) const OTHER_LOST: &str = "Pas de procédure écrite pour ce transporteur : demandez au client de vérifier \
     auprès de son voisinage, attendez au moins 24 h, puis ouvrez une réclamation auprès du transporteur.";

pub(crate) const NO_RETURN: &str = "Aucun retour en cours.";

pub(crate) fn returning(since: &str, earliest: &str, latest: &str) -> String {
    format!(
        "en retour depuis le {since}, retour attendu entre le {earliest} et le {latest} : vérifiez l'adresse saisie \
         et informez le client que son colis nous est retourné."
    )
}

pub(crate) fn back(at: Option<&str>) -> String {
    let when = at.map(|a| format!(" le {a}")).unwrap_or_default();
    format!(
        "revenu à l'expéditeur{when} : réexpédition refacturée via Monetico (5,95 € La Poste ou Colissimo, 9,95 € \
         Chronopost) ou remboursement hors frais de port ; aucune exception sur les frais de port ; le produit est \
         remis en stock s'il est en bon état."
    )
}
