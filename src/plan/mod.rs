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
pub mod cases;
mod decide;
mod journal;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::board::{BoardCard, BoardLabel, CardContent};
use crate::domain::{ProblemKey, ReturnStage, RuleId, Severity};
use crate::rules::Finding;
use crate::state::{CardRecord, CardStatus};

pub use apply::{
    ApplyFailure, ApplyFatal, ApplyOptions, ApplyReport, BoardWriter, CardUpdate, Cause,
    DEFAULT_MAX_IN_FLIGHT, WriteError, apply, settle_pending,
};
#[cfg(feature = "test-hooks")]
pub use apply::{CrashAt, CrashPoint};
pub use table::render_plan_table;

use decide::{BoardIndex, Unlisted, plan_key};

/// A list colisync moves or files cards into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTarget {
    pub name: String,
    /// `None` when the list does not exist on the board (yet): a dry run
    /// still shows the plan; apply fails such a create and skips such a move.
    pub id: Option<String>,
}

/// A checklist to write on a new card: its name marks it (a write whose
/// answer was lost is settled by reading the card's checklists back by
/// name), and its items' names are unique within it for the same reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecklistSpec {
    pub name: String,
    pub items: Vec<CheckItemSpec>,
}

/// One item: its `due` is sent to Trello only as an extra (a paid
/// feature); the date that matters is in the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItemSpec {
    pub name: String,
    pub due: Option<DateTime<Utc>>,
}

/// The card a finding calls for, rendered by `board::render`.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub finding: Finding,
    pub content: CardContent,
    /// `board::render::fingerprint(&content)`.
    pub fingerprint: String,
    /// The checklist a new card gets (a procedure's steps); written only
    /// by the create, so that a checklist a lead edits or deletes stays
    /// theirs.
    pub checklist: Option<ChecklistSpec>,
    /// For a case, when a person last asked for it: a request later than
    /// the archiving of its card files a new card (a lead archiving a case
    /// card otherwise keeps it archived). `None` for the problems colisync
    /// finds by itself.
    pub requested_at: Option<DateTime<Utc>>,
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
    /// The configured timezone, in which that instant is written.
    pub timezone: Tz,
}

/// One change to the board (or, for `Adopt` and `MarkArchived`, to the
/// state only). The journal stores the action being applied as the store's
/// own record of it (`journal.rs` converts).
#[derive(Debug, Clone, PartialEq)]
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
        /// A checklist written on the new card, before the note.
        checklist: Option<ChecklistSpec>,
        /// The return's stage the card shows, for its record.
        stage: Option<ReturnStage>,
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
        clear_due: bool,
        /// The card's due date is not the one colisync last wrote: a lead
        /// set, changed or removed it, and it stays as they left it.
        lead_due: bool,
        /// The return's stage the card shows, for its record.
        stage: Option<ReturnStage>,
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
        clear_due: bool,
        /// As for `Update`: the due date is a lead's.
        lead_due: bool,
        /// As for `Update`.
        stage: Option<ReturnStage>,
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
        due: Option<DateTime<Utc>>,
        /// The return's stage when the card shows the desired text (as
        /// `fingerprint`), else `None`: not known.
        stage: Option<ReturnStage>,
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

pub use crate::fr::pass::DEFAULT_END_REASON;

/// How every comment colisync posts ends (`fr::pass::signature`). The same
/// problem can be resolved, reopened and resolved again for the same
/// reason: without the instant, the second comment would have the first
/// one's text, and apply, settling a comment whose answer was lost by
/// looking for its exact text on the card, would take the old comment for
/// the new one.
pub fn comment_signature(now: DateTime<Utc>, tz: Tz) -> String {
    crate::fr::pass::signature(now, tz)
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
    pub(crate) fn is_unknown(&self, key: &ProblemKey) -> bool {
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
