//! The outbox: the journal of write-back notes (Magento order comments,
//! Freshdesk private notes), in its own sled tree beside the Trello
//! journal.
//!
//! Part of the state. An entry is written (and flushed by the caller)
//! before the card write it follows and before any call to Magento or
//! Freshdesk, updated as tickets are noted, and removed once settled. A
//! sibling tree and not the Trello journal, so that a note pending while
//! Freshdesk is down never blocks its card (the Trello applier holds back a
//! key with a pending intent). Entries use the same versioned envelope as
//! every record, and what is written is the store's own record
//! (`records::WriteIntent`), converted at this boundary like the others.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::records as r;
use super::{State, StateError, decode, encode, sled_err, u64_key};
use crate::domain::{ProblemKey, RuleId};

const TREE: &str = "outbox";
/// Problem key → the ticket its escalation went to: "once per problem,
/// ever" outlives the outbox entry.
const ESCALATIONS: &str = "escalations";
/// `<card id>/<ticket id>` → the ticket: the Trello comment linking a
/// Freshdesk ticket is on that card, once per card and ticket, whichever
/// note or escalation led to it.
const TICKET_LINKS: &str = "ticket_links";

/// Where a follow-up is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WriteTarget {
    /// A comment on the order's history (`[magento] order_notes`).
    MagentoOrderNote,
    /// A private note on each of the customer's open tickets (`[freshdesk]`).
    FreshdeskNotes,
    /// Once per problem: the customer's open ticket assigned to
    /// `escalation_group`, or a ticket opened for `requester_email`.
    FreshdeskEscalation,
}

impl WriteTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteTarget::MagentoOrderNote => "magento:order-note",
            WriteTarget::FreshdeskNotes => "freshdesk:notes",
            WriteTarget::FreshdeskEscalation => "freshdesk:escalation",
        }
    }
}

/// What happened to the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteEvent {
    Filed,
    CaseChanged {
        from: RuleId,
        to: RuleId,
    },
    Resolved,
    /// A resolved problem came back while its card was still open.
    Reopened,
}

impl WriteEvent {
    /// The event's part of a marker: ASCII, no `:` nor space.
    pub fn slug(&self) -> String {
        match self {
            WriteEvent::Filed => "filed".into(),
            WriteEvent::CaseChanged { from, to } => {
                format!("case-{}-{}", from.as_str(), to.as_str())
            }
            WriteEvent::Resolved => "resolved".into(),
            WriteEvent::Reopened => "reopened".into(),
        }
    }
}

/// One note to write for one card action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub key: ProblemKey,
    pub target: WriteTarget,
    pub event: WriteEvent,
    /// The card's title.
    pub title: String,
    /// The card's text without its marker line (facts, procedure), plain.
    pub details: Vec<String>,
    /// For a filing: the card the key had before (an archived one being
    /// replaced), so that the new card is told from it.
    pub card_before: Option<String>,
}

/// The order a note is about, captured when the note was planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef {
    pub entity_id: u64,
    pub increment_id: String,
    /// The customer's e-mail: how their Freshdesk contact is found.
    pub email: String,
}

/// One journaled write-back note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteIntent {
    pub follow_up: FollowUp,
    pub order: OrderRef,
    /// Unique to this note (`writeback::text::marker`), looked for when
    /// settling.
    pub marker: String,
    /// The pass that planned it.
    pub created_at: DateTime<Utc>,
    /// The card, once its write is recorded: `None` while the card's own
    /// write is not settled (the note then waits, or is dropped if the card
    /// write did not happen).
    pub card_id: Option<String>,
    /// Freshdesk tickets already noted (or found to carry the marker); for
    /// an escalation, the ticket it went to. Each is linked on the card.
    pub tickets_done: BTreeSet<u64>,
}

/// Identifies an outbox entry; increasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriteId(pub u64);

impl State {
    fn outbox(&self) -> Result<sled::Tree, StateError> {
        self.db.open_tree(TREE).map_err(sled_err("opening outbox"))
    }

    /// Adds an entry (not flushed: the caller flushes before the write).
    pub fn enqueue_write(&self, w: &WriteIntent) -> Result<WriteId, StateError> {
        let id = self
            .db
            .generate_id()
            .map_err(sled_err("generating outbox id"))?;
        self.put_write(WriteId(id), w)?;
        Ok(WriteId(id))
    }

    pub fn put_write(&self, id: WriteId, w: &WriteIntent) -> Result<(), StateError> {
        let bytes = encode(TREE, &id.0.to_string(), &r::WriteIntent::from(w))?;
        self.outbox()?
            .insert(id.0.to_be_bytes(), bytes)
            .map_err(sled_err(format!("writing outbox/{}", id.0)))?;
        Ok(())
    }

    /// Removes a settled entry (not flushed).
    pub fn remove_write(&self, id: WriteId) -> Result<(), StateError> {
        self.outbox()?
            .remove(id.0.to_be_bytes())
            .map_err(sled_err(format!("removing outbox/{}", id.0)))?;
        Ok(())
    }

    /// The ticket a problem was escalated to, if it was.
    pub fn escalation(&self, key: &ProblemKey) -> Result<Option<u64>, StateError> {
        let tree = self
            .db
            .open_tree(ESCALATIONS)
            .map_err(sled_err("opening escalations"))?;
        let k = key.to_string();
        match tree
            .get(k.as_bytes())
            .map_err(sled_err(format!("reading escalations/{k}")))?
        {
            None => Ok(None),
            Some(v) => decode(ESCALATIONS, &k, &v).map(Some),
        }
    }

    /// Records a problem's escalation (not flushed).
    pub fn record_escalation(&self, key: &ProblemKey, ticket: u64) -> Result<(), StateError> {
        let tree = self
            .db
            .open_tree(ESCALATIONS)
            .map_err(sled_err("opening escalations"))?;
        let k = key.to_string();
        let bytes = encode(ESCALATIONS, &k, &ticket)?;
        tree.insert(k.as_bytes(), bytes)
            .map_err(sled_err(format!("writing escalations/{k}")))?;
        Ok(())
    }

    fn ticket_links(&self) -> Result<sled::Tree, StateError> {
        self.db
            .open_tree(TICKET_LINKS)
            .map_err(sled_err("opening ticket_links"))
    }

    /// Whether the card carries colisync's link to the ticket.
    pub fn ticket_linked(&self, card_id: &str, ticket: u64) -> Result<bool, StateError> {
        let k = format!("{card_id}/{ticket}");
        Ok(self
            .ticket_links()?
            .get(k.as_bytes())
            .map_err(sled_err(format!("reading ticket_links/{k}")))?
            .is_some())
    }

    /// Records that the card carries the link (not flushed).
    pub fn record_ticket_link(&self, card_id: &str, ticket: u64) -> Result<(), StateError> {
        let k = format!("{card_id}/{ticket}");
        let bytes = encode(TICKET_LINKS, &k, &ticket)?;
        self.ticket_links()?
            .insert(k.as_bytes(), bytes)
            .map_err(sled_err(format!("writing ticket_links/{k}")))?;
        Ok(())
    }

    /// Every entry not settled, oldest first.
    pub fn pending_writes(&self) -> Result<Vec<(WriteId, WriteIntent)>, StateError> {
        let mut out = Vec::new();
        for entry in self.outbox()?.iter() {
            let (k, v) = entry.map_err(sled_err("iterating outbox"))?;
            let Some(id) = u64_key(&k) else {
                return Err(StateError::Decode {
                    tree: TREE,
                    key: format!("{k:?}"),
                    message: "not an outbox id".into(),
                });
            };
            let rec: r::WriteIntent = decode(TREE, &id.to_string(), &v)?;
            out.push((WriteId(id), rec.into()));
        }
        Ok(out)
    }
}

// ----- the boundary: the outbox's types to and from their records ------

impl From<WriteTarget> for r::WriteTarget {
    fn from(t: WriteTarget) -> r::WriteTarget {
        match t {
            WriteTarget::MagentoOrderNote => r::WriteTarget::MagentoOrderNote,
            WriteTarget::FreshdeskNotes => r::WriteTarget::FreshdeskNotes,
            WriteTarget::FreshdeskEscalation => r::WriteTarget::FreshdeskEscalation,
        }
    }
}

impl From<r::WriteTarget> for WriteTarget {
    fn from(t: r::WriteTarget) -> WriteTarget {
        match t {
            r::WriteTarget::MagentoOrderNote => WriteTarget::MagentoOrderNote,
            r::WriteTarget::FreshdeskNotes => WriteTarget::FreshdeskNotes,
            r::WriteTarget::FreshdeskEscalation => WriteTarget::FreshdeskEscalation,
        }
    }
}

impl From<&WriteEvent> for r::WriteEvent {
    fn from(e: &WriteEvent) -> r::WriteEvent {
        match e {
            WriteEvent::Filed => r::WriteEvent::Filed,
            WriteEvent::CaseChanged { from, to } => r::WriteEvent::CaseChanged {
                from: (*from).into(),
                to: (*to).into(),
            },
            WriteEvent::Resolved => r::WriteEvent::Resolved,
            WriteEvent::Reopened => r::WriteEvent::Reopened,
        }
    }
}

impl From<r::WriteEvent> for WriteEvent {
    fn from(e: r::WriteEvent) -> WriteEvent {
        match e {
            r::WriteEvent::Filed => WriteEvent::Filed,
            r::WriteEvent::CaseChanged { from, to } => WriteEvent::CaseChanged {
                from: from.into(),
                to: to.into(),
            },
            r::WriteEvent::Resolved => WriteEvent::Resolved,
            r::WriteEvent::Reopened => WriteEvent::Reopened,
        }
    }
}

impl From<&WriteIntent> for r::WriteIntent {
    fn from(w: &WriteIntent) -> r::WriteIntent {
        let f = &w.follow_up;
        r::WriteIntent {
            follow_up: r::FollowUp {
                key: (&f.key).into(),
                target: f.target.into(),
                event: (&f.event).into(),
                title: f.title.clone(),
                details: f.details.clone(),
                card_before: f.card_before.clone(),
            },
            order: r::OrderRef {
                entity_id: w.order.entity_id,
                increment_id: w.order.increment_id.clone(),
                email: w.order.email.clone(),
            },
            marker: w.marker.clone(),
            created_at: w.created_at,
            card_id: w.card_id.clone(),
            tickets_done: w.tickets_done.clone(),
        }
    }
}

impl From<r::WriteIntent> for WriteIntent {
    fn from(w: r::WriteIntent) -> WriteIntent {
        let f = w.follow_up;
        WriteIntent {
            follow_up: FollowUp {
                key: f.key.into(),
                target: f.target.into(),
                event: f.event.into(),
                title: f.title,
                details: f.details,
                card_before: f.card_before,
            },
            order: OrderRef {
                entity_id: w.order.entity_id,
                increment_id: w.order.increment_id,
                email: w.order.email,
            },
            marker: w.marker,
            created_at: w.created_at,
            card_id: w.card_id,
            tickets_done: w.tickets_done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry as the outbox wrote it before its records moved into
    /// `records.rs`: the bytes must read the same.
    const WRITTEN: &str = r#"{"v":4,"value":{"follow_up":{"key":{"Parcel":{"increment_id":"100023","parcel":"6A12345678901"}},"target":"freshdesk_notes","event":{"case_changed":{"from":"delivery_colissimo","to":"return_to_sender"}},"title":"Retour à l'expéditeur","details":["Client : Jeanne"],"card_before":null},"order":{"entity_id":23,"increment_id":"100023","email":"jeanne@example.fr"},"marker":"colisync-note:parcel/100023/6A12345678901:case-delivery_colissimo-return_to_sender:20260519T080000Z","created_at":"2026-05-19T08:00:00Z","card_id":"c1","tickets_done":[7,9]}}"#;

    #[test]
    fn an_entry_written_by_the_current_format_reads_back_the_same() {
        // The envelope's number follows the schema (a later schema renumbers).
        let written = WRITTEN.replacen(
            "\"v\":4",
            &format!("\"v\":{}", super::super::SCHEMA_VERSION),
            1,
        );
        let w: WriteIntent = decode::<r::WriteIntent>(TREE, "1", written.as_bytes())
            .expect("decodes")
            .into();
        assert_eq!(w.follow_up.target, WriteTarget::FreshdeskNotes);
        assert_eq!(
            w.follow_up.event,
            WriteEvent::CaseChanged {
                from: RuleId::DeliveryColissimo,
                to: RuleId::ReturnToSender
            }
        );
        assert_eq!(w.follow_up.key.to_string(), "parcel/100023/6A12345678901");
        assert_eq!(w.tickets_done, BTreeSet::from([7, 9]));
        assert_eq!(w.card_id.as_deref(), Some("c1"));
        let again = encode(TREE, "1", &r::WriteIntent::from(&w)).expect("encodes");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&again).expect("json"),
            serde_json::from_str::<serde_json::Value>(&written).expect("json"),
            "the same bytes, field for field"
        );
    }
}
