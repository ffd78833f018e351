//! Plan: what must change on the Trello board so that it shows exactly the
//! problems the rules found. Pure (no I/O, no clock): the desired cards, the
//! state's card records and the board as read this pass go in, a list of
//! [`Action`]s comes out. `--dry-run` prints it ([`render_plan_table`]);
//! [`apply`] carries it out.
//!
//! # Rules (docs/rules.md: leads own the board)
//!
//! For every problem key known to the findings, the state, or the board (a
//! card carrying colisync's marker line):
//!
//! - **Adopt**: a card with our marker that the state does not know (state
//!   lost, moved aside after corruption, or a create whose answer was lost)
//!   is recorded, then treated as existing. Losing the state directory never
//!   duplicates a card.
//! - **A marker is trusted only when it agrees.** A lead can edit or remove
//!   the marker line; the marker then says nothing about which problem the
//!   card belongs to, and every ongoing problem must keep exactly one card:
//!   - a card the state records for a key stays that key's card whatever
//!     its marker says now, and is never adopted for another key (a marker
//!     edited into another problem's key, existing or not, takes nothing
//!     over: that problem keeps its recorded card, or gets one filed);
//!   - a key whose recorded card is on the board adopts no other card
//!     carrying its marker: the other one is a lead's card, left alone;
//!   - with no record (state lost), when several cards claim one key, the
//!     open one outside the resolved list wins, then the one whose title
//!     names the key's order (`Cmd 100023 · …`), then the **oldest** card
//!     id (Trello ids grow with time: a card copied or re-marked by a lead
//!     is the newer one). The others are leads' cards, left alone;
//!   - a card whose marker was removed is no longer colisync's: with the
//!     state it is still the recorded card of its key (an update rewrites
//!     the description, marker included); without the state its problem
//!     gets a new card and the unmarked one is the lead's.
//! - **Create** when a problem has no card.
//! - **Update** only when the rendered content's fingerprint changed. The
//!   card moves to the rule's intake list only if it still sits in one of
//!   colisync's intake lists (so a rule change, late → return to sender,
//!   moves it from "Retard de livraison" to "Retour expéditeur"); a card a
//!   lead moved elsewhere only gets its text updated. An update never moves a
//!   card when the content is unchanged: a lead who moved a card between two
//!   intake lists is not fought every pass. Labels: the card keeps every
//!   label colisync did not put there; colisync's own labels are replaced.
//!   Due date: a new content with one writes it; a new content without one
//!   (a fact-based case, e.g. late → return to sender) clears the card's due
//!   date only if it is still the one colisync last wrote
//!   (`CardRecord::due`): a due date a lead set or changed stays.
//! - **Resolve only on evidence.** A recorded (or adopted) card is resolved
//!   only when its key is in [`PlanInput::ended`]: the pass has positive
//!   evidence that the problem ended (Magento says the order is fully
//!   shipped, cancelled, closed or on hold; La Poste says the parcel is
//!   delivered; Magento no longer has the parcel). Then colisync comments
//!   why and moves the card to the resolved list if it still sits in an
//!   intake list; if the move failed after the comment, a later pass does
//!   the move alone. Absence is never evidence: a failed pull, an empty or
//!   rebuilt snapshot, an order outside `lookback_days`, a parcel not polled
//!   leave the card alone (no write). Nor is a finding that disappeared
//!   while the order is still open and nothing says the problem ended (a
//!   rule disabled or re-tuned, a tracking anomaly that cleared before
//!   delivery): the card stays as it is, and is resolved when the evidence
//!   comes (shipment, delivery…) or closed by a lead. A problem found again
//!   later updates that same card.
//! - **Unknown facts, no plan.** Keys of an order the pass could not look
//!   up ([`PlanInput::unknown_orders`]) and parcels whose tracking is
//!   unknown because their poll failed ([`PlanInput::unknown_parcels`]) get
//!   no action at all this pass, not even an adoption: judging them from
//!   what is missing would rewrite or re-case their cards.
//! - **Reopen** when a resolved problem comes back and its card is still
//!   open: comment, update the text if it changed, and move it back to the
//!   intake list if it sits in the resolved list or an intake list.
//! - **Archived cards.** A card a lead archived (or deleted) while its problem
//!   was ongoing is recorded as such ([`Action::MarkArchived`]) and never
//!   re-filed, unless the problem becomes more severe (its severity exceeds
//!   the one recorded when it was archived): then a *new* card is created,
//!   with a comment naming the archived one. colisync never unarchives a
//!   card: archiving is the lead's decision, the new card is a new fact.
//!   A card archived *after* colisync resolved it is housekeeping, not a
//!   dismissal: if that problem comes back, a new card is filed (naming the
//!   old one). After a state loss colisync cannot tell the two apart and
//!   treats an archived marker card as a dismissal (no duplicate).
//!   A recorded card is never taken for archived or deleted because the
//!   board listing did not show it: the pass reads it by id first
//!   ([`cards_to_read`], [`CardRead`]) and the plan acts on what that read
//!   said; when the read failed, nothing is planned for that key this pass.
//! - Never delete a card. A pass with nothing new produces no action.

pub mod apply;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::board::{BoardCard, BoardLabel, CardContent, parse_marker};
use crate::rules::{Finding, ProblemKey, RuleId, Severity};
use crate::state::{CardRecord, CardStatus};

pub use apply::{
    ApplyFailure, ApplyOptions, ApplyReport, BoardWriter, CardUpdate, CrashAt, CrashPoint,
    DEFAULT_MAX_IN_FLIGHT, WriteError, apply, settle_pending,
};
pub use table::render_plan_table;

/// A list colisync moves or files cards into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTarget {
    pub name: String,
    /// `None` when the list does not exist on the board (yet): a dry run
    /// still shows the plan; apply fails such a create and skips such a move.
    pub id: Option<String>,
}

/// The card a finding calls for, rendered by `board::render`.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub finding: Finding,
    pub content: CardContent,
    /// `board::render::fingerprint(&content)`.
    pub fingerprint: String,
}

/// The board as read at the start of this pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardSnapshot {
    /// All the board's cards, open and archived (filter `all`): archived
    /// marker cards are what keeps a dismissed problem from being re-filed
    /// after a state loss.
    pub cards: Vec<BoardCard>,
    /// The board's labels, to tell colisync's labels from the leads' on an
    /// adopted card.
    pub labels: Vec<BoardLabel>,
    /// What reading a recorded card by id said, for the recorded cards the
    /// listing did not show (see [`cards_to_read`]). A recorded card neither
    /// listed nor read is unknown: nothing is planned for its key.
    pub reads: BTreeMap<String, CardRead>,
}

/// What `GET /cards/{id}` said about a recorded card missing from the
/// board listing.
#[derive(Debug, Clone, PartialEq)]
pub enum CardRead {
    /// The card is on the board (archived or not): the listing missed it.
    Found(BoardCard),
    /// 404, or the card is on another board: gone from this board.
    Gone,
    /// The read failed: nothing is concluded this pass.
    Failed,
}

/// Everything [`plan`] looks at.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The cards the findings call for, by problem key.
    pub desired: BTreeMap<ProblemKey, Desired>,
    /// The state's card records.
    pub records: BTreeMap<ProblemKey, CardRecord>,
    pub board: BoardSnapshot,
    /// The lists colisync files into, name → id (a `Finding::list` names one).
    pub intake_lists: BTreeMap<String, String>,
    pub resolved_list: ListTarget,
    /// The problems this pass has positive evidence of having ended, with
    /// why, for the resolve comment (order shipped, parcel delivered, order
    /// cancelled…). A key with a record and no finding is resolved only if
    /// it is here: absence of a finding is not evidence.
    pub ended: BTreeMap<ProblemKey, String>,
    /// Orders (increment ids) of cards whose order this pass could not learn
    /// (the lookup failed): nothing is planned for any of their keys.
    pub unknown_orders: BTreeSet<String>,
    /// Parcels whose tracking is unknown because this pass could not poll
    /// them (never polled successfully): nothing is planned for them.
    pub unknown_parcels: BTreeSet<ProblemKey>,
    /// Names of the labels colisync puts on cards (carrier, product kind,
    /// severity): on an adopted card, labels with these names count as
    /// colisync's; all others belong to the leads.
    pub own_label_names: BTreeSet<String>,
    /// The pass's instant: stamped on every comment colisync posts (see
    /// [`comment_signature`]), so that a comment whose answer was lost is
    /// told apart from an identical one posted by an earlier pass.
    pub now: DateTime<Utc>,
}

/// One change to the board (or, for `Adopt` and `MarkArchived`, to the
/// state only). Serialisable: the journal stores the action being applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// File a new card (one Trello request; labels and due date included).
    Create {
        key: ProblemKey,
        rule: RuleId,
        severity: Severity,
        fingerprint: String,
        list: ListTarget,
        content: CardContent,
        /// A comment posted after the create: names the archived card this
        /// one replaces.
        note: Option<String>,
    },
    /// Rewrite a card's text, labels and due date; maybe move it.
    Update {
        key: ProblemKey,
        card_id: String,
        rule: RuleId,
        severity: Severity,
        fingerprint: String,
        content: CardContent,
        /// Labels on the card that colisync did not put there: kept.
        keep_label_ids: Vec<String>,
        move_to: Option<ListTarget>,
        /// Posted after the update (the case changed).
        comment: Option<String>,
        /// The new content has no due date and the card still shows the one
        /// colisync last wrote: clear it (a lead's due date is kept).
        #[serde(default)]
        clear_due: bool,
        /// The card's due date is not the one colisync last wrote: a lead
        /// set, changed or removed it, and it stays as they left it.
        #[serde(default)]
        lead_due: bool,
    },
    /// A resolved problem came back while its card is still open.
    Reopen {
        key: ProblemKey,
        card_id: String,
        rule: RuleId,
        severity: Severity,
        fingerprint: String,
        /// `None` when the text is unchanged.
        content: Option<CardContent>,
        keep_label_ids: Vec<String>,
        move_to: Option<ListTarget>,
        comment: String,
        /// As for `Update`: clear colisync's own stale due date.
        #[serde(default)]
        clear_due: bool,
        /// As for `Update`: the due date is a lead's.
        #[serde(default)]
        lead_due: bool,
    },
    /// The problem ended: comment why, maybe move to the resolved list.
    Resolve {
        key: ProblemKey,
        card_id: String,
        rule: Option<RuleId>,
        /// The card's current title, for the plan table.
        title: String,
        /// `None` when only a move is left to do: the comment was posted by
        /// an earlier pass whose move failed.
        comment: Option<String>,
        move_to: Option<ListTarget>,
        /// The list the card sits in as read this pass: recorded when the
        /// move does not happen, so that a failed move is retried from the
        /// list the card is really in (a lead may have moved it between
        /// intake lists), and a card a lead later takes back into an intake
        /// list is left there.
        #[serde(default)]
        from_list: String,
    },
    /// Record a card found on the board by its marker (state only).
    Adopt {
        key: ProblemKey,
        card_id: String,
        list_id: String,
        rule: Option<RuleId>,
        severity: Severity,
        status: CardStatus,
        /// The desired fingerprint when the card already shows the desired
        /// text, else empty (an update follows).
        fingerprint: String,
        label_ids: Vec<String>,
        title: String,
        /// The card's due date when it is the one colisync renders (see
        /// `CardRecord::due`), else `None`.
        #[serde(default)]
        due: Option<DateTime<Utc>>,
    },
    /// A lead archived or deleted the card while its problem was ongoing
    /// (state only): it will not be re-filed unless more severe.
    MarkArchived {
        key: ProblemKey,
        card_id: String,
        title: String,
    },
    /// A bare comment on a card.
    Comment {
        key: ProblemKey,
        card_id: String,
        text: String,
    },
}

impl Action {
    pub fn key(&self) -> &ProblemKey {
        match self {
            Action::Create { key, .. }
            | Action::Update { key, .. }
            | Action::Reopen { key, .. }
            | Action::Resolve { key, .. }
            | Action::Adopt { key, .. }
            | Action::MarkArchived { key, .. }
            | Action::Comment { key, .. } => key,
        }
    }

    /// Short name, for the plan table, logs and the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Reopen { .. } => "reopen",
            Action::Resolve { .. } => "resolve",
            Action::Adopt { .. } => "adopt",
            Action::MarkArchived { .. } => "archived",
            Action::Comment { .. } => "comment",
        }
    }

    /// Whether the action writes to Trello (adopt and mark-archived only
    /// write to the state).
    pub fn writes_board(&self) -> bool {
        !matches!(self, Action::Adopt { .. } | Action::MarkArchived { .. })
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Late => "en retard",
        Severity::Critical => "critique",
    }
}

/// The resolve comment when the evidence came with an empty reason.
pub const DEFAULT_END_REASON: &str = "le problème n'est plus constaté";

/// How every comment colisync posts ends: `(colisync, mar. 19 mai 2026 à
/// 10:00:00)`, the pass's instant in Europe/Paris. The same problem can be
/// resolved, reopened and resolved again for the same reason: without the
/// instant, the second comment would have the first one's text, and apply,
/// settling a comment whose answer was lost by looking for its exact text
/// on the card, would take the old comment for the new one.
pub fn comment_signature(now: DateTime<Utc>) -> String {
    format!(
        "(colisync, {})",
        crate::rules::fr::datetime_seconds(now, chrono_tz::Europe::Paris)
    )
}

/// Computes the actions that bring the board in line with the findings.
/// Actions of one key are contiguous and in execution order (an `Adopt`
/// precedes what follows from it); keys come in their natural order.
pub fn plan(input: &PlanInput) -> Vec<Action> {
    let ix = BoardIndex::new(input);
    let keys: BTreeSet<&ProblemKey> = input
        .desired
        .keys()
        .chain(input.records.keys())
        .chain(ix.by_marker.keys())
        .collect();
    let mut out = Vec::new();
    for key in keys {
        if input.is_unknown(key) {
            continue;
        }
        plan_key(input, &ix, key, Unlisted::AsRead, &mut out);
    }
    out
}

impl PlanInput {
    /// Whether this pass knows too little about `key` to plan anything.
    pub fn is_unknown(&self, key: &ProblemKey) -> bool {
        self.unknown_orders.contains(key.increment_id()) || self.unknown_parcels.contains(key)
    }
}

/// The recorded cards to read by id before planning: those missing from
/// the listing whose absence would change the plan. A card is never taken
/// for archived or deleted because a listing did not show it (a listing can
/// miss cards: trello-archive/api-docs issue 68); [`plan`] acts on what
/// reading it says. Pure; a quiet pass, whose recorded cards are all
/// listed, reads none. A card that would call for nothing even if it were
/// gone (one already recorded as archived, a resolved one) is not read.
pub fn cards_to_read(input: &PlanInput) -> Vec<String> {
    let ix = BoardIndex::new(input);
    let mut out = Vec::new();
    for (key, rec) in &input.records {
        if input.is_unknown(key)
            || ix.by_id.contains_key(rec.card_id.as_str())
            || input.board.reads.contains_key(&rec.card_id)
        {
            continue;
        }
        // Would the plan change if it were gone? Then it must be read.
        let mut actions = Vec::new();
        plan_key(input, &ix, key, Unlisted::AssumeGone, &mut actions);
        if !actions.is_empty() {
            out.push(rec.card_id.clone());
        }
    }
    out
}

struct BoardIndex<'a> {
    by_id: BTreeMap<&'a str, &'a BoardCard>,
    by_marker: BTreeMap<ProblemKey, Vec<&'a BoardCard>>,
    label_names: BTreeMap<&'a str, &'a str>,
    intake_ids: BTreeSet<&'a str>,
    resolved_id: Option<&'a str>,
}

impl<'a> BoardIndex<'a> {
    fn new(input: &'a PlanInput) -> Self {
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
enum Unlisted {
    /// As `BoardSnapshot::reads` says (unknown when not read).
    AsRead,
    /// As gone: what [`cards_to_read`] asks to see whether a read matters.
    AssumeGone,
}

fn plan_key(
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
                if rec.status == CardStatus::Resolved || more_severe {
                    let note = if more_severe {
                        format!(
                            "Le problème est devenu plus grave ({}) : cette carte remplace la carte \
                             archivée {}. {}",
                            severity_name(d.finding.severity),
                            rec.card_id,
                            comment_signature(input.now)
                        )
                    } else {
                        format!(
                            "Le problème est revenu après résolution ; carte précédente (archivée) : \
                             {}. {}",
                            rec.card_id,
                            comment_signature(input.now)
                        )
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
                        comment: format!(
                            "Le problème est revenu : {} {}",
                            d.content.title,
                            comment_signature(input.now)
                        ),
                        clear_due,
                        lead_due,
                    });
                } else if changed {
                    let comment = match rec.rule {
                        Some(old) if old != d.finding.rule => Some(format!(
                            "Le cas a changé : {} → {}. {}",
                            old.as_str(),
                            d.finding.rule.as_str(),
                            comment_signature(input.now)
                        )),
                        _ => None,
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
                        comment: Some(format!(
                            "Problème terminé : {reason}. {}",
                            comment_signature(input.now)
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
    }
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
    let fingerprint = match desired {
        Some(d) if shows_desired => d.fingerprint.clone(),
        _ => String::new(),
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
    }
}
