//! The cases people open, as the planner sees them: the requests a board
//! read makes (a lead's label on a colisync card of the order), those of
//! `colisync case` (the inbox), and the only evidence that ends a case, a
//! lead's hand. Pure: the pass reads the board and the inbox, writes the
//! state and the plan; this decides.
//!
//! Invariant (ARCHITECTURE.md): a case resolves only by a lead's hand.
//! Nothing Magento or La Poste says (delivered, shipped, cancelled,
//! closed) ends one; [`evidence`] looks at the board only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::board::{BoardCard, BoardCheckItem, parse_marker};
use crate::domain::{Case, CaseKind, CaseVia, ProblemKey};
use crate::state::{CardRecord, CardStatus};

/// One request to open (or reopen) a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOpening {
    pub increment_id: String,
    pub kind: CaseKind,
    pub parcel: Option<String>,
    pub via: CaseVia,
}

/// Records a request: a new case, or a closed one reopened. Whether
/// anything changed (a CLI request read twice is one).
pub fn open_case(
    cases: &mut BTreeMap<ProblemKey, Case>,
    req: CaseOpening,
    now: DateTime<Utc>,
) -> bool {
    let key = ProblemKey::Case {
        increment_id: req.increment_id.clone(),
        kind: req.kind,
    };
    match cases.get_mut(&key) {
        Some(case) => case.request(now, req.via, req.parcel),
        None => {
            let case = Case::new(req.increment_id, req.kind, req.parcel, now, req.via);
            cases.insert(key, case);
            true
        }
    }
}

/// The label requests of a board read, recorded in `cases`; the keys of
/// the cases changed. `case_labels`: board label id → the kind it opens.
///
/// - A case label on an open (not archived) card carrying colisync's
///   marker, for any key of the order, is a request, unless that (card,
///   label) pair already made one: a label left on the card after the
///   case closed does not reopen it.
/// - A listed card of a used pair that no longer carries the label frees
///   the pair: putting the label back is a new request. A card the
///   listing did not show frees nothing (absence is no evidence).
/// - colisync never removes the lead's label.
pub fn label_triggers(
    cards: &[BoardCard],
    case_labels: &BTreeMap<String, CaseKind>,
    cases: &mut BTreeMap<ProblemKey, Case>,
    now: DateTime<Utc>,
) -> BTreeSet<ProblemKey> {
    let mut changed = BTreeSet::new();
    let by_id: BTreeMap<&str, &BoardCard> = cards.iter().map(|c| (c.id.as_str(), c)).collect();
    // Re-arming first: a label taken off and put back between two passes
    // is seen as still there (nothing to do), as a lead would expect.
    for (key, case) in cases.iter_mut() {
        let before = case.consumed_labels.len();
        case.consumed_labels.retain(|(card_id, label_id)| {
            by_id
                .get(card_id.as_str())
                .is_none_or(|c| c.id_labels.contains(label_id))
        });
        if case.consumed_labels.len() != before {
            changed.insert(key.clone());
        }
    }
    for card in cards.iter().filter(|c| !c.closed) {
        let Some(marker) = parse_marker(&card.desc) else {
            continue;
        };
        for label_id in &card.id_labels {
            let Some(&kind) = case_labels.get(label_id) else {
                continue;
            };
            let key = ProblemKey::Case {
                increment_id: marker.increment_id().to_owned(),
                kind,
            };
            let pair = (card.id.clone(), label_id.clone());
            if cases
                .get(&key)
                .is_some_and(|c| c.consumed_labels.contains(&pair))
            {
                continue;
            }
            let parcel = match &marker {
                ProblemKey::Parcel { parcel, .. } => Some(parcel.clone()),
                _ => None,
            };
            open_case(
                cases,
                CaseOpening {
                    increment_id: marker.increment_id().to_owned(),
                    kind,
                    parcel,
                    via: CaseVia::Label {
                        card_id: card.id.clone(),
                        label_id: label_id.clone(),
                    },
                },
                now,
            );
            if let Some(case) = cases.get_mut(&key) {
                case.consumed_labels.insert(pair);
            }
            changed.insert(key);
        }
    }
    changed
}

/// Why a lead's hand ended an open case, if it did: every item of
/// colisync's checklist ticked (a checklist still complete from before a
/// reopening does not count again), or the card moved into the resolved
/// list by a lead (colisync's record still says open). `items`: colisync's
/// checklist as read this pass, `None` when it was not read.
pub fn evidence(
    case: &Case,
    record: Option<&CardRecord>,
    card: Option<&BoardCard>,
    resolved_list_id: Option<&str>,
    items: Option<&[BoardCheckItem]>,
) -> Option<CaseEnd> {
    let card = card.filter(|c| !c.closed)?;
    let record = record?;
    if record.status == CardStatus::Open && resolved_list_id == Some(card.id_list.as_str()) {
        return Some(CaseEnd::Moved);
    }
    let items = items?;
    let ticked: BTreeSet<String> = items
        .iter()
        .filter(|i| i.complete)
        .map(|i| i.name.clone())
        .collect();
    (!items.is_empty() && items.iter().all(|i| i.complete) && ticked != case.ticked_at_open)
        .then_some(CaseEnd::Ticked)
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEnd {
    /// Every item of colisync's checklist ticked.
    Ticked,
    /// The card moved into the resolved list by a lead.
    Moved,
}

impl CaseEnd {
    /// The reason of the resolve comment.
    pub fn reason(self) -> &'static str {
        match self {
            CaseEnd::Ticked => crate::fr::cases::CLOSED_TICKED,
            CaseEnd::Moved => crate::fr::cases::CLOSED_MOVED,
        }
    }
}

/// Which steps of the case are ticked, in order (matched by name: the
/// items' names are the stored steps').
pub fn ticked_steps(case: &Case) -> Vec<bool> {
    case.steps
        .iter()
        .map(|s| case.ticked.contains(&s.name))
        .collect()
}

/// The names of the ticked items of a checklist as read.
pub fn ticked_names(items: &[BoardCheckItem]) -> BTreeSet<String> {
    items
        .iter()
        .filter(|i| i.complete)
        .map(|i| i.name.clone())
        .collect()
}

#[cfg(test)]
mod tests;
