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
//! every record.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{State, StateError, decode, encode, sled_err, u64_key};
use crate::domain::{ProblemKey, RuleId};

const TREE: &str = "outbox";
/// Problem key → the ticket its escalation went to: "once per problem,
/// ever" outlives the outbox entry.
const ESCALATIONS: &str = "escalations";

/// Where a follow-up is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteEvent {
    Filed,
    CaseChanged { from: RuleId, to: RuleId },
    Resolved,
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
        }
    }
}

/// One note to write for one card action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    pub entity_id: u64,
    pub increment_id: String,
    /// The customer's e-mail: how their Freshdesk contact is found.
    pub email: String,
}

/// One journaled write-back note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Freshdesk tickets already noted (or found to carry the marker).
    #[serde(default)]
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
        let bytes = encode(TREE, &id.0.to_string(), w)?;
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
            out.push((WriteId(id), decode(TREE, &id.to_string(), &v)?));
        }
        Ok(out)
    }
}
