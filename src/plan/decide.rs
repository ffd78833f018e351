//! How the planner decides, key by key: the board indexed by id and by
//! marker ([`BoardIndex`]), and [`plan_key`], which applies the rules of
//! the module doc of `plan` to one problem key. Pure, like the rest of the
//! planner.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Action, CardRead, DEFAULT_END_REASON, Desired, ListTarget, PlanInput, comment_signature,
};
use crate::board::{BoardCard, parse_marker};
use crate::domain::{ProblemKey, Severity};
use crate::fr::pass::comments;
use crate::rules::Finding;
use crate::state::{CardRecord, CardStatus};

pub(super) struct BoardIndex<'a> {
    pub(super) by_id: BTreeMap<&'a str, &'a BoardCard>,
    pub(super) by_marker: BTreeMap<ProblemKey, Vec<&'a BoardCard>>,
    label_names: BTreeMap<&'a str, &'a str>,
    intake_ids: BTreeSet<&'a str>,
    resolved_id: Option<&'a str>,
}

impl<'a> BoardIndex<'a> {
    pub(super) fn new(input: &'a PlanInput) -> Self {
        // A card the state records for one key is that key's card: a marker
        // a lead edited into another key does not make it the other's.
        let recorded_as: BTreeMap<&str, &ProblemKey> = input
            .records
            .iter()
            .map(|(k, r)| (r.card_id.as_str(), k))
            .collect();
        let mut by_marker: BTreeMap<ProblemKey, Vec<&BoardCard>> = BTreeMap::new();
        for card in &input.board.cards {
            if let Some(key) = parse_marker(&card.desc) {
                if recorded_as
                    .get(card.id.as_str())
                    .is_some_and(|owner| **owner != key)
                {
                    continue;
                }
                by_marker.entry(key).or_default().push(card);
            }
        }
        BoardIndex {
            by_id: input
                .board
                .cards
                .iter()
                .map(|c| (c.id.as_str(), c))
                .collect(),
            by_marker,
            label_names: input
                .board
                .labels
                .iter()
                .map(|l| (l.id.as_str(), l.name.as_str()))
                .collect(),
            intake_ids: input.intake_lists.values().map(String::as_str).collect(),
            resolved_id: input.resolved_list.id.as_deref(),
        }
    }

    fn in_intake(&self, card: &BoardCard) -> bool {
        self.intake_ids.contains(card.id_list.as_str())
    }

    fn in_resolved(&self, card: &BoardCard) -> bool {
        self.resolved_id == Some(card.id_list.as_str())
    }

    /// The card of a key found by its marker (module doc, "A marker is
    /// trusted only when it agrees"): open outside the resolved list first,
    /// then open, then the one whose title names the key's order, then the
    /// oldest (Trello ids grow with time): a lead's copy, or a card whose
    /// marker a lead re-typed, is the newer one more often than not.
    fn marker_card(&self, key: &ProblemKey) -> Option<&'a BoardCard> {
        let names_order = format!("Cmd {} ", key.increment_id());
        self.by_marker.get(key)?.iter().copied().max_by(|a, b| {
            let rank = |c: &BoardCard| {
                (
                    !c.closed,
                    !c.closed && !self.in_resolved(c),
                    c.name.starts_with(&names_order),
                )
            };
            rank(a).cmp(&rank(b)).then_with(|| b.id.cmp(&a.id))
        })
    }
}

/// How [`plan_key`] takes a recorded card missing from the listing.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Unlisted {
    /// As `BoardSnapshot::reads` says (unknown when not read).
    AsRead,
    /// As gone: what [`cards_to_read`] asks to see whether a read matters.
    AssumeGone,
}

pub(super) fn plan_key(
    input: &PlanInput,
    ix: &BoardIndex<'_>,
    key: &ProblemKey,
    unlisted: Unlisted,
    out: &mut Vec<Action>,
) {
    let desired = input.desired.get(key);

    // Which card is this key's, and what do we know about it? A recorded
    // card missing from the listing is what reading it said: on the board
    // (the listing missed it), gone (then another card with the same marker
    // takes over, failing that it was deleted), or unknown: nothing is
    // concluded from an absence.
    let recorded = input.records.get(key);
    let recorded_card = match recorded {
        None => None,
        Some(r) => match ix.by_id.get(r.card_id.as_str()) {
            Some(card) => Some(*card),
            None if unlisted == Unlisted::AssumeGone => None,
            None => match input.board.reads.get(&r.card_id) {
                Some(CardRead::Found(card)) => Some(card),
                Some(CardRead::Gone) => None,
                Some(CardRead::Failed) | None => return,
            },
        },
    };
    let (record, card) = match (recorded, recorded_card) {
        (Some(r), Some(card)) => (Some(r.clone()), Some(card)),
        (_, _) => match ix.marker_card(key) {
            Some(card) => {
                let record = adopt(input, ix, desired, card, recorded);
                out.push(adopt_action(key, &record, &card.name));
                (Some(record), Some(card))
            }
            None => (recorded.cloned(), None),
        },
    };
    let live_card = card.filter(|c| !c.closed);

    match (desired, record) {
        (None, None) => {}
        (Some(d), None) => out.push(create(input, key, d, None)),
        (Some(d), Some(rec)) => match live_card {
            None => {
                let more_severe = d.finding.severity > rec.severity;
                // A case somebody asked for again after a lead archived
                // its card: the new request is the person's, a new card.
                let asked_again = rec.status == CardStatus::Archived
                    && d.requested_at.is_some_and(|at| at > rec.updated_at);
                if rec.status == CardStatus::Resolved || more_severe || asked_again {
                    let sig = comment_signature(input.now, input.timezone);
                    let note = if more_severe {
                        comments::more_severe(d.finding.severity, &rec.card_id, &sig)
                    } else if asked_again {
                        comments::asked_again(&rec.card_id, &sig)
                    } else {
                        comments::back_after_resolve(&rec.card_id, &sig)
                    };
                    out.push(create(input, key, d, Some(note)));
                } else if rec.status != CardStatus::Archived {
                    out.push(mark_archived(key, &rec, card));
                }
            }
            Some(card) => {
                let changed = rec.fingerprint != d.fingerprint;
                let target = intake_target(input, &d.finding);
                let movable = ix.in_intake(card)
                    || (rec.status == CardStatus::Resolved && ix.in_resolved(card));
                let move_to = target
                    .filter(|t| movable && t.id.as_deref().is_some_and(|id| id != card.id_list));
                let keep_label_ids = lead_labels(card, &rec);
                // The card's due date belongs to colisync only while it is
                // the one colisync last wrote; one a lead set, changed or
                // removed is theirs. The new content has no due date: clear
                // colisync's.
                let lead_due = card.due != rec.due;
                let clear_due =
                    changed && d.content.due.is_none() && rec.due.is_some() && !lead_due;
                if rec.status == CardStatus::Resolved {
                    out.push(Action::Reopen {
                        key: key.clone(),
                        card_id: card.id.clone(),
                        rule: d.finding.rule,
                        severity: d.finding.severity,
                        fingerprint: d.fingerprint.clone(),
                        content: changed.then(|| d.content.clone()),
                        keep_label_ids,
                        move_to,
                        comment: comments::reopened(
                            &d.content.title,
                            &comment_signature(input.now, input.timezone),
                        ),
                        clear_due,
                        lead_due,
                        stage: d.finding.stage,
                    });
                } else if changed {
                    let comment = match rec.rule {
                        Some(old) if old != d.finding.rule => Some(comments::case_changed(
                            old.as_str(),
                            d.finding.rule.as_str(),
                            &comment_signature(input.now, input.timezone),
                        )),
                        // Same rule, another stage (a return now back): the
                        // new title alone would go unnoticed. Only between
                        // known stages: a record that does not know its
                        // stage (filed before it was kept, or adopted) may
                        // already show this one.
                        _ => stage_note(&rec, &d.finding).map(|note| {
                            format!("{note} {}", comment_signature(input.now, input.timezone))
                        }),
                    };
                    out.push(Action::Update {
                        key: key.clone(),
                        card_id: card.id.clone(),
                        rule: d.finding.rule,
                        severity: d.finding.severity,
                        fingerprint: d.fingerprint.clone(),
                        content: d.content.clone(),
                        keep_label_ids,
                        move_to: move_to.filter(|_| changed),
                        comment,
                        clear_due,
                        lead_due,
                        stage: d.finding.stage,
                    });
                } else if rec.status == CardStatus::Archived {
                    // A lead unarchived it: it is live again.
                    let live = CardRecord {
                        status: CardStatus::Open,
                        list_id: card.id_list.clone(),
                        ..rec
                    };
                    out.push(adopt_action(key, &live, &card.name));
                }
            }
        },
        (None, Some(rec)) => match live_card {
            None => {
                if rec.status == CardStatus::Open {
                    out.push(mark_archived(key, &rec, card));
                }
            }
            Some(card) => {
                let can_move = ix.in_intake(card) && input.resolved_list.id.is_some();
                if rec.status == CardStatus::Resolved {
                    // Resolved, yet still in the intake list colisync last
                    // saw it in: the move failed after the comment. (A card
                    // a lead took back out of the resolved list is left.)
                    if can_move
                        && rec.list_id == card.id_list
                        && ix.resolved_id != Some(&rec.list_id)
                    {
                        out.push(Action::Resolve {
                            key: key.clone(),
                            card_id: card.id.clone(),
                            rule: rec.rule,
                            title: card.name.clone(),
                            comment: None,
                            move_to: Some(input.resolved_list.clone()),
                            from_list: card.id_list.clone(),
                        });
                    }
                } else if let Some(reason) = input.ended.get(key) {
                    // Only on evidence: without it the card stays as it is.
                    let reason = if reason.is_empty() {
                        DEFAULT_END_REASON
                    } else {
                        reason.as_str()
                    };
                    let move_to = can_move.then(|| input.resolved_list.clone());
                    out.push(Action::Resolve {
                        key: key.clone(),
                        card_id: card.id.clone(),
                        rule: rec.rule,
                        title: card.name.clone(),
                        comment: Some(comments::ended(
                            reason,
                            &comment_signature(input.now, input.timezone),
                        )),
                        move_to,
                        from_list: card.id_list.clone(),
                    });
                }
            }
        },
    }
}

fn intake_target(input: &PlanInput, finding: &Finding) -> Option<ListTarget> {
    Some(ListTarget {
        name: finding.list.clone(),
        id: input.intake_lists.get(&finding.list).cloned(),
    })
}

fn create(input: &PlanInput, key: &ProblemKey, d: &Desired, note: Option<String>) -> Action {
    Action::Create {
        key: key.clone(),
        rule: d.finding.rule,
        severity: d.finding.severity,
        fingerprint: d.fingerprint.clone(),
        list: ListTarget {
            name: d.finding.list.clone(),
            id: input.intake_lists.get(&d.finding.list).cloned(),
        },
        content: d.content.clone(),
        note,
        checklist: d.checklist.clone(),
        stage: d.finding.stage,
    }
}

/// The comment's text when the card moves from the stage its record
/// knows to another one of the same rule.
fn stage_note<'f>(rec: &CardRecord, finding: &'f Finding) -> Option<&'f str> {
    let known = rec.stage?;
    let same_rule = rec.rule == Some(finding.rule);
    let moved = finding.stage.is_some_and(|s| s != known);
    finding.stage_note.as_deref().filter(|_| same_rule && moved)
}

fn mark_archived(key: &ProblemKey, rec: &CardRecord, card: Option<&BoardCard>) -> Action {
    Action::MarkArchived {
        key: key.clone(),
        card_id: rec.card_id.clone(),
        title: card.map(|c| c.name.clone()).unwrap_or_default(),
    }
}

/// The labels on `card` that colisync did not put there.
fn lead_labels(card: &BoardCard, rec: &CardRecord) -> Vec<String> {
    card.id_labels
        .iter()
        .filter(|id| !rec.label_ids.contains(id))
        .cloned()
        .collect()
}

/// The record for a marker card the state does not know (or a replacement
/// for a recorded card that vanished). Timestamps are placeholders: apply
/// sets them.
fn adopt(
    input: &PlanInput,
    ix: &BoardIndex<'_>,
    desired: Option<&Desired>,
    card: &BoardCard,
    previous: Option<&CardRecord>,
) -> CardRecord {
    let status = if card.closed {
        CardStatus::Archived
    } else if ix.in_resolved(card) {
        CardStatus::Resolved
    } else {
        CardStatus::Open
    };
    let shows_desired = desired.is_some_and(|d| {
        card.name == d.content.title
            && card.desc == d.content.description
            && (d.content.due.is_none() || card.due == d.content.due)
    });
    let (fingerprint, stage) = match desired {
        Some(d) if shows_desired => (d.fingerprint.clone(), d.finding.stage),
        _ => (String::new(), None),
    };
    let label_ids = card
        .id_labels
        .iter()
        .filter(|id| {
            ix.label_names
                .get(id.as_str())
                .is_some_and(|name| input.own_label_names.contains(*name))
        })
        .cloned()
        .collect();
    let at = previous.map(|p| p.filed_at).unwrap_or_default();
    // The card's due date is colisync's only if it is the rendered one.
    let due = desired
        .and_then(|d| d.content.due)
        .filter(|due| card.due == Some(*due));
    CardRecord {
        card_id: card.id.clone(),
        list_id: card.id_list.clone(),
        fingerprint,
        rule: desired.map(|d| d.finding.rule),
        // Unknown for an ended problem: the lowest, so that an archived card
        // stays dismissed unless the problem comes back critical.
        severity: desired.map_or(Severity::Late, |d| d.finding.severity),
        status,
        filed_at: at,
        updated_at: at,
        label_ids,
        due,
        stage,
    }
}

fn adopt_action(key: &ProblemKey, rec: &CardRecord, title: &str) -> Action {
    Action::Adopt {
        key: key.clone(),
        card_id: rec.card_id.clone(),
        list_id: rec.list_id.clone(),
        rule: rec.rule,
        severity: rec.severity,
        status: rec.status,
        fingerprint: rec.fingerprint.clone(),
        label_ids: rec.label_ids.clone(),
        title: title.to_owned(),
        due: rec.due,
        stage: rec.stage,
    }
}
