//! What Freshdesk's API v2 answers, as colisync decodes it (contacts,
//! tickets, conversations, groups, fields, agents, search pages), and what
//! it sends (a new ticket, the ticket filter of a listing).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{STATUS_CLOSED, STATUS_RESOLVED};

/// A contact (customer) as `GET /contacts` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Contact {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A ticket, the fields colisync reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub status: u64,
    #[serde(default)]
    pub priority: Option<u64>,
    #[serde(default)]
    pub requester_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Ticket {
    /// Not resolved and not closed (custom statuses count as open).
    pub fn is_open(&self) -> bool {
        self.status != STATUS_RESOLVED && self.status != STATUS_CLOSED
    }
}

/// One reply or note of a ticket.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Conversation {
    pub id: u64,
    #[serde(default)]
    pub ticket_id: Option<u64>,
    #[serde(default)]
    pub body: Option<String>,
    /// Freshdesk's own text rendering of `body`: where markers are looked
    /// for, since HTML may be rewritten.
    #[serde(default)]
    pub body_text: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub incoming: bool,
    /// 0 a reply, 2 a note (docs/apis.md).
    #[serde(default)]
    pub source: Option<u64>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

impl Conversation {
    /// Whether this conversation carries `marker` in its text.
    pub fn carries(&self, marker: &str) -> bool {
        self.body_text
            .as_deref()
            .is_some_and(|t| t.contains(marker))
            || self.body.as_deref().is_some_and(|t| t.contains(marker))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Group {
    pub id: u64,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketField {
    #[serde(default)]
    pub id: Option<u64>,
    /// API name: `cf_…` for custom fields.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// The agent owning the key (`GET /agents/me`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Agent {
    pub id: u64,
    /// 1 global, 2 group, 3 restricted (docs/apis.md): below global, the
    /// key does not see every customer's tickets.
    #[serde(default)]
    pub ticket_scope: Option<u64>,
    #[serde(default)]
    pub contact: Option<AgentContact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgentContact {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchPage {
    #[serde(default)]
    pub results: Vec<Ticket>,
    #[serde(default)]
    pub total: u64,
}

/// What a paged read brought back, and whether it reached the last page
/// (a read capped before the end cannot prove that something is absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub complete: bool,
}

/// The budget the last answer announced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateBudget {
    pub total: Option<u64>,
    pub remaining: Option<u64>,
    pub used_by_request: Option<u64>,
}

/// A ticket colisync opens: always for an internal requester.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    /// The configured internal address, never a customer's.
    pub requester_email: String,
    pub subject: String,
    /// HTML.
    pub description: String,
    pub group_id: Option<u64>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
}

/// Which tickets to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketFilter {
    /// A customer's tickets updated since the instant, newest first.
    Requester {
        requester_id: u64,
        updated_since: DateTime<Utc>,
    },
    /// The tickets of an e-mail address, newest created first (the
    /// read-back of a ticket colisync opened).
    Email {
        email: String,
        updated_since: DateTime<Utc>,
    },
}
