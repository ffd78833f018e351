//! The words of a card: its title's parts and the headings and phrases of
//! its description. The renderer (`board::render`) lays them out, escapes
//! what comes from outside and keeps the card within Trello's limit.

/// `Cmd 100023`: how a title names the order.
pub(crate) fn title_order(increment_id: &str) -> String {
    format!("Cmd {increment_id}")
}

/// Between a title's parts.
pub(crate) const TITLE_SEPARATOR: &str = " · ";

/// The last part of a title, by what the anomaly is (hour counts would
/// change the card every hour).
pub(crate) const TITLE_NOT_FOUND: &str = "introuvable";
pub(crate) const TITLE_STUCK: &str = "bloqué";
pub(crate) const TITLE_INCIDENT: &str = "incident";

/// `3 j`: calendar days in a title.
pub(crate) fn title_days(n: i64) -> String {
    format!("{n} j")
}

pub(crate) const CUSTOMER: &str = "**Client** : ";
pub(crate) const NO_NAME: &str = "(sans nom)";
/// Between the customer's name and e-mail.
pub(crate) const EMAIL_SEPARATOR: &str = " — ";
pub(crate) const ORDER: &str = "**Commande** : ";
pub(crate) const PLACED_ON: &str = " · passée le ";
pub(crate) const VALIDATED_ON: &str = " · validée le ";
pub(crate) const SHIPMENT: &str = "**Expédition** : ";
pub(crate) const SHIPPED_ON: &str = " · expédié le ";
pub(crate) const TRACKING: &str = "**Suivi** : ";
pub(crate) const NO_TRACKING_NUMBER: &str = "aucun numéro de suivi";
pub(crate) const LAST_EVENT: &str = "**Dernier événement** : ";
/// `6A « libellé » le …`: the last event, its parts already escaped.
pub(crate) fn last_event(code: &str, label: &str, at: &str) -> String {
    format!("{code} « {label} » le {at}")
}
pub(crate) const UNKNOWN_TO_CARRIER: &str = "inconnu du transporteur";
pub(crate) const ON_CARRIER_SITE: &str = "sur le site du transporteur (hors La Poste)";
pub(crate) const CANNOT_TRACK: &str = "La Poste ne peut pas suivre ce numéro";
pub(crate) const NOT_ASKED_YET: &str = "suivi pas encore interrogé";
pub(crate) const SHIPPING_METHOD: &str = "**Mode de livraison** : ";
/// Before the deadline: a fact (return, incident) has been one « depuis »,
/// a delay is late « depuis ».
pub(crate) const SINCE: &str = "**Depuis**";
pub(crate) const LATE_SINCE: &str = "**En retard depuis**";
pub(crate) const SEVERITY: &str = "**Gravité** : ";
pub(crate) const FACTS: &str = "\n**Constat**\n";
/// `**Procédure** (règle `shipping_compatible`)`.
pub(crate) fn procedure_heading(rule: &str) -> String {
    format!("\n**Procédure** (règle `{rule}`)\n")
}
pub(crate) const ITEMS: &str = "\n**Articles**\n";
/// The line that replaces the items that do not fit.
pub(crate) fn more_items(n: usize) -> String {
    format!("- … et {n} autres articles (voir la commande dans Magento)\n")
}
pub(crate) const NO_ITEMS: &str = "- (aucun article)\n";
