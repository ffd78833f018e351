//! Names the team reads on the board: carriers, product kinds, severities,
//! the cases of card titles, the default intake lists, and the note that
//! says a text was cut to Trello's limit.

use crate::domain::{Carrier, ProductKind, RuleId, Severity};

/// The default intake lists (`[rules.*] list`) and the resolved list
/// (`trello.resolved_list`).
pub const LIST_SHIPPING: &str = "Retard d'expédition";
pub const LIST_DELIVERY: &str = "Retard de livraison";
pub const LIST_TRACKING: &str = "Anomalie de suivi";
pub const LIST_RETURN: &str = "Retour expéditeur";
pub const LIST_RESOLVED: &str = "Résolu";
/// The default list of the cases people open (`[cases] list`).
pub const LIST_CASES: &str = "Dossiers clients";
/// The default labels a lead opens a case with (`[cases] lost_label`,
/// `address_label`).
pub const LABEL_CASE_LOST: &str = "Non reçu";
pub const LABEL_CASE_ADDRESS: &str = "Changement d'adresse";

/// The product-kind labels of a card (capitalised, unlike
/// [`ProductKind::label_fr`] in titles).
pub const LABEL_COMPATIBLE: &str = "Compatible";
pub const LABEL_ORIGINAL: &str = "Origine";

/// What ends a text cut to Trello's `limit` characters.
pub fn trello_cut_note(limit: usize) -> String {
    format!("\n\n[… texte tronqué : limite Trello de {limit} caractères]")
}

impl Carrier {
    /// The carrier's name as the team writes it (card titles, labels).
    pub(crate) fn label_fr(self) -> &'static str {
        match self {
            Carrier::Letter => "Lettre",
            Carrier::Colissimo => "Colissimo",
            Carrier::Chronopost => "Chronopost",
            Carrier::Other => "Autre transporteur",
            Carrier::Foreign => "Hors La Poste",
        }
    }
}

impl ProductKind {
    /// How the seeds name the kind: « cartouches compatibles / d'origine ».
    pub(crate) fn label_fr(self) -> &'static str {
        match self {
            ProductKind::Compatible => "compatible",
            ProductKind::Original => "origine",
        }
    }
}

impl Severity {
    pub fn label_fr(self) -> &'static str {
        match self {
            Severity::Late => "En retard",
            Severity::Critical => "Critique",
        }
    }
}

impl RuleId {
    /// The case, in French, as card titles name it (fixed: list names are
    /// configurable, the case is not).
    pub(crate) fn case_fr(self) -> &'static str {
        match self {
            RuleId::ShippingCompatible | RuleId::ShippingOriginal => "Retard d'expédition",
            RuleId::DeliveryLetter
            | RuleId::DeliveryColissimo
            | RuleId::DeliveryChronopost
            | RuleId::DeliveryOther => "Retard de livraison",
            RuleId::TrackingNotFound | RuleId::TrackingStuck | RuleId::TrackingProblem => {
                "Anomalie de suivi"
            }
            RuleId::ReturnToSender => "Retour expéditeur",
            RuleId::Pickup => "À retirer",
            RuleId::LostParcel | RuleId::AddressChange => super::cases::CASE,
        }
    }
}
