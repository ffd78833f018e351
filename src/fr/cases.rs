//! The texts of the cases people open (« Dossiers clients »): the card's
//! title part, checklist names and items, the facts per order state, the
//! reasons a case closes, and what `colisync case` answers. From seed 000
//! §4 (« Modification d'adresse ») and §5 (« Colis perdu »).

use crate::domain::CaseKind;

/// The title's case part: `Cmd 100023 · Dossier client · colis perdu`.
pub(crate) const CASE: &str = "Dossier client";

/// What the title says after « Dossier client ».
pub(crate) fn kind_fr(kind: CaseKind) -> &'static str {
    match kind {
        CaseKind::Lost => "colis perdu",
        CaseKind::Address => "changement d'adresse",
    }
}

/// The name of colisync's checklist on a case card: it marks the
/// checklist as colisync's (read back by name after a lost answer, and
/// when looking for the lead's ticks).
pub(crate) fn checklist_name(kind: CaseKind) -> String {
    format!("Procédure colisync · {}", kind_fr(kind))
}

/// The address case's checklist (seed 000 §4): the first item is the
/// handling of the change, whatever the order's state calls for.
pub(crate) const ADDRESS_HANDLED: &str = "Changement d'adresse traité selon l'état de la commande \
     (voir la carte : nouvelle commande, lead informé, ou client renvoyé vers le transporteur).";
pub(crate) const ADDRESS_TOLD: &str = "Client informé de la suite donnée à sa demande.";

/// Seed 000 §4's opening sentence, the head of the address card's procedure.
pub(crate) const ADDRESS_HEAD: &str = "Demande de modification d'adresse : vérifiez tout d'abord le statut \
     de la commande et son état d'expédition puis procédez selon le cas (ci-dessous, l'état de la commande \
     à ce passage).";
/// Seed 000 §5's opening sentence, the head of the lost card's procedure.
pub(crate) const LOST_HEAD: &str = "Le colis a été livré mais le client n'a rien reçu : suivez la \
     procédure du transporteur, étape par étape (liste de contrôle de la carte ; cochez chaque étape faite).";
/// How a case card ends, said on every case card.
pub(crate) const CLOSES_BY_LEAD: &str = "Ce dossier n'est clos que par un lead : toutes les étapes de \
     la liste cochées, ou la carte déplacée dans la liste des cartes résolues.";
pub(crate) const NO_WRITTEN_PROCEDURE: &str = "(pas de procédure écrite pour ce transporteur)";

pub(crate) fn opened_on(when: &str) -> String {
    format!("Dossier ouvert le {when}")
}
pub(crate) fn delivered_on(when: &str) -> String {
    format!("Livré le {when} selon le suivi")
}
pub(crate) const NOT_DELIVERED: &str =
    "Le suivi n'indique pas encore « livré » (le client dit ne rien avoir reçu)";
pub(crate) fn step_line(name: &str, done: bool) -> String {
    format!("{} {name}", if done { "Fait :" } else { "À faire :" })
}
pub(crate) const STEPS: &str = "Étapes (dates comprises) :";

pub(crate) const STATE_NOT_VALIDATED: &str =
    "État de la commande : non validée (en attente de règlement)";
pub(crate) fn state_waiting(day: &str, cutoff: &str) -> String {
    format!(
        "État de la commande : validée et non expédiée ; prochaine expédition le {day} à {cutoff}"
    )
}
pub(crate) fn state_shipped(carrier: &str, when: &str) -> String {
    format!("État de la commande : expédiée ({carrier}) le {when}")
}
/// « It follows the order »: the order left before a lead ticked the
/// handling step (seed 000 §4, « Commande expédiée »).
pub(crate) fn left_before_handled(when: &str, carrier: &str, link: Option<&str>) -> String {
    match link {
        Some(link) => format!(
            "La commande est partie le {when} avant que le changement d'adresse ne soit traité : \
             demandez au client de contacter le transporteur ({carrier}, {link})"
        ),
        None => format!(
            "La commande est partie le {when} avant que le changement d'adresse ne soit traité : \
             demandez au client de contacter le transporteur ({carrier})"
        ),
    }
}

/// Why a case card is resolved: only a lead's hand.
pub(crate) const CLOSED_TICKED: &str = "dossier clos par un lead : procédure cochée";
pub(crate) const CLOSED_MOVED: &str =
    "carte déplacée dans la liste des cartes résolues par un lead";

/// What `colisync case` prints once the request is in the inbox.
pub const REQUEST_SAVED: &str = "Demande enregistrée : le dossier sera ouvert au prochain passage.";
