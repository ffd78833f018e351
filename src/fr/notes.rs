//! The French words of the write-back notes (the Magento order comment,
//! the Freshdesk private notes and escalation tickets) and of the card
//! comment linking a Freshdesk ticket.
//!
//! Plain values in, plain text out: `writeback::text` lays the notes out
//! (HTML, escaping, markers) and asks here for the words, so that fr knows
//! nothing of the outbox's types.

use crate::domain::RuleId;

/// What happened to the card, as a note says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Filed,
    CaseChanged { from: RuleId, to: RuleId },
    Resolved,
    Reopened,
}

/// The event in words, after the card's title.
pub fn event(e: Event) -> String {
    match e {
        Event::Filed => "carte ouverte".into(),
        Event::CaseChanged { from, to } => {
            format!("changement de cas : {} → {}", from.case_fr(), to.case_fr())
        }
        Event::Resolved => "résolu".into(),
        Event::Reopened => "problème revenu, carte rouverte".into(),
    }
}

/// The heading of an escalation's note, after `colisync · `.
pub const ESCALATION_HEADING: &str = "remontée pour investigation";

/// Before the customer's line of an escalation.
pub const CUSTOMER: &str = "Client";

/// Before the Trello link of a note.
pub const CARD_LINK: &str = "Carte Trello";

/// Who the escalation is about: the order and the customer's address.
pub fn escalation_customer(increment_id: &str, email: &str) -> String {
    format!("commande {increment_id} ({email})")
}

/// The card comment linking a Freshdesk ticket colisync wrote on; the
/// marker last, in brackets, as on the Magento comments.
pub fn ticket_link(ticket: u64, url: &str, marker: &str) -> String {
    format!("Ticket Freshdesk n° {ticket} : {url} [{marker}]")
}
