//! A case a person opened (a lead's label on a card, an agent's `colisync
//! case`): what the pass remembers of it between passes. The state stores
//! it (`state::records::CaseRecord`), the pure stages read it: the
//! triggers (`plan::cases`), the case's card (`rules::judge::cases`).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::{CaseKind, ProblemKey};

/// One case of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub increment_id: String,
    pub kind: CaseKind,
    /// The parcel concerned (a lost case): from the labelled card's key or
    /// `--parcel`; `None` takes the order's last parcel.
    pub parcel: Option<String>,
    /// The first request.
    pub opened_at: DateTime<Utc>,
    /// Every request, oldest first (the first opened it, later ones
    /// reopened it or were repeats).
    pub requests: Vec<CaseRequest>,
    /// When colisync saw a lead's evidence that the case is over; `None`
    /// while open.
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_how: Option<String>,
    /// The checklist as decided the first time the case was judged: stored
    /// so that the item names written to Trello never change (a write
    /// whose answer was lost is settled by name). Empty until then.
    pub steps: Vec<CaseStep>,
    /// (card id, label id) pairs whose label already made a request: a
    /// label left on a card does not reopen the case it opened.
    pub consumed_labels: BTreeSet<(String, String)>,
    /// Names of the items of colisync's checklist last seen ticked (the
    /// names are the steps', unique within the checklist).
    pub ticked: BTreeSet<String>,
    /// The ticked items when the case was (re)opened: a checklist still
    /// complete from the last time is not a new evidence of the end.
    pub ticked_at_open: BTreeSet<String>,
    /// The card's `badges` (items, items ticked) when its checklists were
    /// last read: read again only when they change.
    pub seen_badges: Option<(u32, u32)>,
}

/// One step of a case's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStep {
    /// The item's name on Trello (numbered, dated).
    pub name: String,
    pub due: Option<NaiveDate>,
}

/// One request to open a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRequest {
    pub at: DateTime<Utc>,
    pub via: CaseVia,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseVia {
    /// A lead put a case label on a colisync card of the order.
    Label { card_id: String, label_id: String },
    /// `colisync case`, through the inbox; the id makes a file read twice
    /// (a crash between recording and deleting it) one request.
    Cli { request_id: String },
}

impl Case {
    /// A case opened now by `via`.
    pub fn new(
        increment_id: String,
        kind: CaseKind,
        parcel: Option<String>,
        at: DateTime<Utc>,
        via: CaseVia,
    ) -> Self {
        Case {
            increment_id,
            kind,
            parcel,
            opened_at: at,
            requests: vec![CaseRequest { at, via }],
            closed_at: None,
            closed_how: None,
            steps: Vec::new(),
            consumed_labels: BTreeSet::new(),
            ticked: BTreeSet::new(),
            ticked_at_open: BTreeSet::new(),
            seen_badges: None,
        }
    }

    pub fn key(&self) -> ProblemKey {
        ProblemKey::Case {
            increment_id: self.increment_id.clone(),
            kind: self.kind,
        }
    }

    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// A new request: opens a closed case again (the same card, its
    /// checklist as the lead left it). Whether anything changed (a CLI
    /// request already recorded is none).
    pub fn request(&mut self, at: DateTime<Utc>, via: CaseVia, parcel: Option<String>) -> bool {
        if self.requests.iter().any(|r| r.via == via) && matches!(via, CaseVia::Cli { .. }) {
            return false;
        }
        self.requests.push(CaseRequest { at, via });
        if parcel.is_some() && self.steps.is_empty() {
            self.parcel = parcel;
        }
        if self.closed_at.is_some() {
            self.closed_at = None;
            self.closed_how = None;
            self.ticked_at_open = self.ticked.clone();
        }
        true
    }
}
