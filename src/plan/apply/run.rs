//! One action through the journal protocol (see `plan::apply`): its steps
//! against the board, each settled by reading when its answer was lost,
//! then the outcome recorded and the intent settled.

use chrono::{DateTime, Utc};

#[cfg(feature = "test-hooks")]
use super::CrashAt;
use super::steps::{Step, steps};
use super::{ApplyFatal, BoardWriter, CardUpdate, Cause, WriteError};
use crate::board::{BoardCard, CardContent};
use crate::domain::ProblemKey;
use crate::plan::Action;
use crate::state::{CardRecord, CardStatus, Intent, IntentId, State, StateError};

/// How one action ended.
pub(super) enum Outcome {
    /// Done and recorded.
    Done,
    /// A resumed create whose card never reached the board: intent dropped,
    /// the next plan decides.
    Dropped,
    /// Settled without (fully) happening.
    Failed(String),
    /// Left in the journal, outcome unknown.
    Pending(String),
    /// Stop the pass.
    Fatal(ApplyFatal),
    /// Simulated crash (tests).
    #[cfg(feature = "test-hooks")]
    Crashed,
}

/// A failed step.
enum StepError {
    Definite(String),
    Pending(String),
    Fatal(Cause),
    /// Resumed create, no card on the board.
    Gone,
}

impl From<WriteError> for StepError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Definite(m) => StepError::Definite(m.to_string()),
            WriteError::Unknown(m) => StepError::Pending(format!("outcome unknown: {m}")),
            WriteError::Fatal(m) => StepError::Fatal(m),
        }
    }
}

pub(super) struct Run<'a, B> {
    pub(crate) board: &'a B,
    pub(crate) state: &'a State,
    pub(crate) now: DateTime<Utc>,
    /// Tests: where to simulate a crash in this action.
    #[cfg(feature = "test-hooks")]
    pub(crate) crash: Option<CrashAt>,
    /// Tests: skip the unflushed writes the simulated crash would lose.
    #[cfg(feature = "test-hooks")]
    pub(crate) lose_unflushed: bool,
    /// Shared by the lanes of one apply: labels are looked up and created
    /// by one lane at a time, so that a missing label is created once.
    pub(crate) labels_lock: &'a tokio::sync::Mutex<()>,
}

impl<B: BoardWriter> Run<'_, B> {
    /// Steps 2 and 3 of the protocol for one journaled action. `resuming`:
    /// the step at `intent.steps_done` may already have happened.
    pub(super) async fn execute(
        &mut self,
        action: &Action,
        id: IntentId,
        mut intent: Intent,
        resuming: bool,
    ) -> Outcome {
        let steps = steps(action);
        // colisync's label ids as last written, for the record; when
        // resuming, what the steps already done wrote (saved with them).
        let mut our_labels: Option<Vec<String>> = intent.label_ids.clone();
        let mut checklist_id: Option<String> = intent.checklist_id.clone();
        let start = usize::from(intent.steps_done);
        let mut failure: Option<StepError> = None;
        for (i, step) in steps.iter().enumerate().skip(start) {
            // Resuming, the step in flight may have happened; so may any
            // later comment (progress is written without a flush), and a
            // comment is not idempotent: check them all before posting.
            // The same holds for the checklist's writes: each is checked by
            // name on the card before it is made again.
            let unknown = resuming
                && (i == start
                    || matches!(
                        step,
                        Step::Comment(_) | Step::CreateChecklist(_) | Step::AddItem { .. }
                    ));
            let result = self
                .step(
                    action,
                    step,
                    intent.card_id.as_deref(),
                    unknown,
                    &mut our_labels,
                    &mut checklist_id,
                )
                .await;
            match result {
                Ok(card_id) => {
                    #[cfg(feature = "test-hooks")]
                    if self.crash_at(CrashAt::TrelloCalled(u8::try_from(i).unwrap_or(u8::MAX))) {
                        return Outcome::Crashed;
                    }
                    if card_id.is_some() {
                        intent.card_id = card_id;
                    }
                    intent.steps_done = u8::try_from(i + 1).unwrap_or(u8::MAX);
                    intent.label_ids.clone_from(&our_labels);
                    intent.checklist_id.clone_from(&checklist_id);
                    #[cfg(feature = "test-hooks")]
                    if self.lose_unflushed {
                        continue;
                    }
                    if let Err(e) = self.state.put_intent(id, &intent) {
                        return Outcome::Fatal(ApplyFatal::state(e));
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let done = usize::from(intent.steps_done);
        let (message, fatal) = match failure {
            None => (None, None),
            Some(StepError::Gone) => {
                return match self.settle(id, None) {
                    Ok(()) => Outcome::Dropped,
                    Err(e) => Outcome::Fatal(ApplyFatal::state(e)),
                };
            }
            Some(StepError::Pending(m)) => return Outcome::Pending(m),
            Some(StepError::Definite(m)) if done == 0 => {
                return match self.settle(id, None) {
                    Ok(()) => Outcome::Failed(m),
                    Err(e) => Outcome::Fatal(ApplyFatal::state(e)),
                };
            }
            Some(StepError::Fatal(m)) if done == 0 => {
                return match self.settle(id, None) {
                    Ok(()) => Outcome::Fatal(ApplyFatal::Board(m)),
                    Err(e) => Outcome::Fatal(ApplyFatal::state(e)),
                };
            }
            Some(StepError::Definite(m)) => (Some(m), None),
            Some(StepError::Fatal(m)) => (Some(m.to_string()), Some(m)),
        };
        // The main effect happened: record it (even if a later step failed).
        let record = match self.outcome_record(action, &intent, done, our_labels).await {
            Ok(r) => r,
            Err(e) => return Outcome::Fatal(ApplyFatal::state(e)),
        };
        let key = action.key();
        #[cfg(feature = "test-hooks")]
        if self.lose_unflushed && self.crash_at(CrashAt::Recorded) {
            return Outcome::Crashed;
        }
        if let Err(e) = self
            .state
            .settle_intent(id, record.as_ref().map(|r| (key, r)))
        {
            return Outcome::Fatal(ApplyFatal::state(e));
        }
        #[cfg(feature = "test-hooks")]
        if self.crash_at(CrashAt::Recorded) {
            return Outcome::Crashed;
        }
        if let Err(e) = self.state.flush() {
            return Outcome::Fatal(ApplyFatal::state(e));
        }
        match (message, fatal) {
            (None, _) => Outcome::Done,
            (Some(_), Some(cause)) => Outcome::Fatal(ApplyFatal::Board(cause)),
            (Some(m), None) => Outcome::Failed(format!("partly done: {m}")),
        }
    }

    /// Whether the simulated crash is set for this point (then it is used).
    #[cfg(feature = "test-hooks")]
    pub(super) fn crash_at(&mut self, at: CrashAt) -> bool {
        if self.crash == Some(at) {
            self.crash = None;
            true
        } else {
            false
        }
    }

    fn settle(
        &self,
        id: IntentId,
        record: Option<(&ProblemKey, &CardRecord)>,
    ) -> Result<(), StateError> {
        self.state.settle_intent(id, record)?;
        self.state.flush()
    }

    /// Runs one step; returns the card id a create produced.
    async fn step(
        &self,
        action: &Action,
        step: &Step<'_>,
        card_id: Option<&str>,
        unknown: bool,
        our_labels: &mut Option<Vec<String>>,
        checklist_id: &mut Option<String>,
    ) -> Result<Option<String>, StepError> {
        match step {
            Step::CreateCard {
                list_id,
                list_name,
                content,
            } => {
                if unknown {
                    return match self.created_card(action.key()).await {
                        Ok(Some(card)) => {
                            *our_labels = Some(card.id_labels.clone());
                            Ok(Some(card.id))
                        }
                        Ok(None) => Err(StepError::Gone),
                        Err(e) => Err(StepError::Pending(format!(
                            "cannot read the board to settle a create: {e}"
                        ))),
                    };
                }
                let Some(list_id) = list_id else {
                    return Err(StepError::Definite(format!(
                        "intake list {list_name:?} does not exist on the board"
                    )));
                };
                let labels = self.labels(content).await?;
                let mut retried = false;
                loop {
                    match self.board.create_card(list_id, content, &labels).await {
                        Ok(card) => {
                            *our_labels = Some(labels);
                            return Ok(Some(card.id));
                        }
                        Err(WriteError::Unknown(m)) => {
                            match self.created_card(action.key()).await {
                                Ok(Some(card)) => {
                                    *our_labels = Some(card.id_labels.clone());
                                    return Ok(Some(card.id));
                                }
                                Ok(None) if !retried => retried = true,
                                Ok(None) => {
                                    return Err(StepError::Pending(format!(
                                        "create outcome unknown twice ({m}); settled next pass"
                                    )));
                                }
                                Err(e) => {
                                    return Err(StepError::Pending(format!(
                                        "create outcome unknown ({m}) and the board cannot be \
                                         read ({e}); settled next pass"
                                    )));
                                }
                            }
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Step::Put {
                content,
                keep_label_ids,
                move_to,
                clear_due,
                lead_due,
            } => {
                let card_id = card_id.ok_or_else(|| StepError::Definite("no card id".into()))?;
                let mut update = CardUpdate {
                    id_list: move_to.map(str::to_owned),
                    ..CardUpdate::default()
                };
                if let Some(content) = content {
                    let ours = self.labels(content).await?;
                    let mut all: Vec<String> = keep_label_ids.to_vec();
                    all.extend(
                        ours.iter()
                            .filter(|id| !keep_label_ids.contains(id))
                            .cloned(),
                    );
                    update.name = Some(content.title.clone());
                    update.desc = Some(content.description.clone());
                    update.due = match content.due {
                        _ if *lead_due => None,
                        Some(due) => Some(Some(due)),
                        None if *clear_due => Some(None),
                        None => None,
                    };
                    update.id_labels = Some(all);
                    *our_labels = Some(ours);
                }
                // Idempotent: a lost answer is retried once as is.
                match self.board.update_card(card_id, &update).await {
                    Err(WriteError::Unknown(_)) => {
                        self.board.update_card(card_id, &update).await?;
                        Ok(None)
                    }
                    r => r.map(|()| None).map_err(StepError::from),
                }
            }
            Step::CreateChecklist(name) => {
                let card_id = card_id.ok_or_else(|| StepError::Definite("no card id".into()))?;
                if unknown {
                    if let Some(id) = self.checklist_named(card_id, name).await? {
                        *checklist_id = Some(id);
                        return Ok(None);
                    }
                }
                match self.board.create_checklist(card_id, name).await {
                    Ok(id) => {
                        *checklist_id = Some(id);
                        Ok(None)
                    }
                    // Never sent twice blind: a second send is a second
                    // checklist. Read back by name, else settle next pass.
                    Err(WriteError::Unknown(m)) => match self.checklist_named(card_id, name).await?
                    {
                        Some(id) => {
                            *checklist_id = Some(id);
                            Ok(None)
                        }
                        None => Err(StepError::Pending(format!(
                            "checklist outcome unknown ({m}); settled next pass"
                        ))),
                    },
                    Err(e) => Err(e.into()),
                }
            }
            Step::AddItem { name, due } => {
                let card_id = card_id.ok_or_else(|| StepError::Definite("no card id".into()))?;
                let list = checklist_id
                    .clone()
                    .ok_or_else(|| StepError::Definite("no checklist id".into()))?;
                if unknown && self.has_item(card_id, &list, name).await? {
                    return Ok(None);
                }
                match self.board.add_check_item(&list, name, *due).await {
                    Ok(_) => Ok(None),
                    Err(WriteError::Unknown(m)) => {
                        if self.has_item(card_id, &list, name).await? {
                            Ok(None)
                        } else {
                            Err(StepError::Pending(format!(
                                "checklist item outcome unknown ({m}); settled next pass"
                            )))
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Step::Comment(text) => {
                let card_id = card_id.ok_or_else(|| StepError::Definite("no card id".into()))?;
                if unknown && self.has_comment(card_id, text).await? {
                    return Ok(None);
                }
                match self.board.add_comment(card_id, text).await {
                    Ok(()) => Ok(None),
                    Err(WriteError::Unknown(m)) => {
                        if self.has_comment(card_id, text).await? {
                            return Ok(None);
                        }
                        match self.board.add_comment(card_id, text).await {
                            Ok(()) => Ok(None),
                            Err(WriteError::Unknown(m2)) => Err(StepError::Pending(format!(
                                "comment outcome unknown twice ({m}; {m2}); settled next pass"
                            ))),
                            Err(e) => Err(e.into()),
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The card a create of `key` whose outcome is unknown produced, if it
    /// reached the board. Only an open card counts: a create is planned
    /// only when the key has no live card, so an archived card with the
    /// same marker is the older card this one replaces (a problem that got
    /// more severe, or came back after resolution), never the new one.
    /// Taking it for the new card (the board read returns the newest marker
    /// card, which is the archived one when the create did not happen)
    /// recorded the archived card as filed and lost the problem.
    async fn created_card(&self, key: &ProblemKey) -> Result<Option<BoardCard>, WriteError> {
        Ok(self
            .board
            .find_card_by_marker(key)
            .await?
            .filter(|card| !card.closed))
    }

    /// The id of the card's checklist of that name (the first in Trello's
    /// order if a lead copied it).
    async fn checklist_named(
        &self,
        card_id: &str,
        name: &str,
    ) -> Result<Option<String>, StepError> {
        let lists = self.board.card_checklists(card_id).await.map_err(|e| {
            StepError::Pending(format!(
                "cannot read the card's checklists to settle a write: {e}"
            ))
        })?;
        Ok(lists.into_iter().find(|c| c.name == name).map(|c| c.id))
    }

    /// Whether the checklist already holds an item of that name.
    async fn has_item(
        &self,
        card_id: &str,
        checklist_id: &str,
        name: &str,
    ) -> Result<bool, StepError> {
        let lists = self.board.card_checklists(card_id).await.map_err(|e| {
            StepError::Pending(format!(
                "cannot read the card's checklists to settle a write: {e}"
            ))
        })?;
        Ok(lists
            .iter()
            .filter(|c| c.id == checklist_id)
            .flat_map(|c| c.items.iter())
            .any(|i| i.name == name))
    }

    async fn has_comment(&self, card_id: &str, text: &str) -> Result<bool, StepError> {
        match self.board.recent_comments(card_id).await {
            Ok(comments) => Ok(comments.iter().any(|c| c == text)),
            Err(WriteError::Fatal(m)) => Err(StepError::Fatal(m)),
            Err(e) => Err(StepError::Pending(format!(
                "cannot read the card's comments to settle a comment: {e}"
            ))),
        }
    }

    /// Label ids for the content's labels. Creating a missing label is not a
    /// card write: whatever went wrong, nothing happened to the card.
    async fn labels(&self, content: &CardContent) -> Result<Vec<String>, StepError> {
        let _one_at_a_time = self.labels_lock.lock().await;
        self.board
            .ensure_labels(&content.labels)
            .await
            .map_err(|e| match e {
                WriteError::Fatal(m) => StepError::Fatal(m),
                e => StepError::Definite(format!("labels: {e}")),
            })
    }

    /// The card record after `action` with its first `done` steps done.
    async fn outcome_record(
        &self,
        action: &Action,
        intent: &Intent,
        done: usize,
        our_labels: Option<Vec<String>>,
    ) -> Result<Option<CardRecord>, StateError> {
        let now = self.now;
        let key = action.key();
        // An undecodable record is replaced by what this action knows.
        let existing = self.state.card(key).ok().flatten();
        let card_id = intent.card_id.clone().unwrap_or_default();
        let base = |status| {
            existing.clone().unwrap_or(CardRecord {
                card_id: card_id.clone(),
                list_id: String::new(),
                fingerprint: String::new(),
                rule: None,
                severity: crate::domain::Severity::Late,
                status,
                filed_at: now,
                updated_at: now,
                label_ids: Vec::new(),
                due: None,
                stage: None,
            })
        };
        let moved = |t: &Option<crate::plan::ListTarget>| t.as_ref().and_then(|t| t.id.clone());
        Ok(match action {
            Action::Create {
                rule,
                severity,
                fingerprint,
                list,
                content,
                stage,
                ..
            } => Some(CardRecord {
                card_id,
                list_id: list.id.clone().unwrap_or_default(),
                fingerprint: fingerprint.clone(),
                rule: Some(*rule),
                severity: *severity,
                status: CardStatus::Open,
                filed_at: now,
                updated_at: now,
                label_ids: our_labels.unwrap_or_default(),
                due: content.due,
                stage: *stage,
            }),
            Action::Update {
                rule,
                severity,
                fingerprint,
                move_to,
                stage,
                ..
            }
            | Action::Reopen {
                rule,
                severity,
                fingerprint,
                move_to,
                stage,
                ..
            } => {
                let b = base(CardStatus::Open);
                // Rewritten content: the card now shows its due date, or no
                // due date of colisync's (cleared, or a lead's left alone).
                let written = match action {
                    Action::Update { content, .. } => Some(content),
                    Action::Reopen { content, .. } => content.as_ref(),
                    _ => None,
                };
                // A lead's due date was not written: colisync's last one
                // stays on record, so the card stays the lead's.
                let lead_due = matches!(
                    action,
                    Action::Update { lead_due: true, .. } | Action::Reopen { lead_due: true, .. }
                );
                let due = match written {
                    Some(c) if !lead_due => c.due,
                    _ => b.due,
                };
                Some(CardRecord {
                    card_id,
                    list_id: moved(move_to).unwrap_or(b.list_id.clone()),
                    fingerprint: fingerprint.clone(),
                    rule: Some(*rule),
                    severity: *severity,
                    status: CardStatus::Open,
                    updated_at: now,
                    label_ids: our_labels.unwrap_or(b.label_ids.clone()),
                    due,
                    stage: *stage,
                    ..b
                })
            }
            Action::Resolve {
                move_to, from_list, ..
            } => {
                let b = base(CardStatus::Resolved);
                // Where the card is without the move (as read for the plan;
                // journals written before that field: the record's).
                let stayed = if from_list.is_empty() {
                    b.list_id.clone()
                } else {
                    from_list.clone()
                };
                // The move is the last step: done only if all steps are.
                let list_id = if done >= steps(action).len() {
                    moved(move_to).unwrap_or(stayed)
                } else {
                    stayed
                };
                Some(CardRecord {
                    card_id,
                    list_id,
                    status: CardStatus::Resolved,
                    updated_at: now,
                    ..b
                })
            }
            Action::Comment { .. } | Action::Adopt { .. } | Action::MarkArchived { .. } => None,
        })
    }

    /// Adopt and mark-archived only touch the state (flushed at the end of
    /// the pass: losing them costs nothing, the next plan emits them again).
    pub(super) fn record_state_only(&self, action: &Action) -> Outcome {
        let result = match action {
            Action::Adopt {
                key,
                card_id,
                list_id,
                rule,
                severity,
                status,
                fingerprint,
                label_ids,
                due,
                stage,
                ..
            } => {
                let filed_at = match self.state.card(key) {
                    Ok(Some(r)) if r.card_id == *card_id => r.filed_at,
                    _ => self.now,
                };
                self.state.put_card(
                    key,
                    &CardRecord {
                        card_id: card_id.clone(),
                        list_id: list_id.clone(),
                        fingerprint: fingerprint.clone(),
                        rule: *rule,
                        severity: *severity,
                        status: *status,
                        filed_at,
                        updated_at: self.now,
                        label_ids: label_ids.clone(),
                        due: *due,
                        stage: *stage,
                    },
                )
            }
            Action::MarkArchived { key, card_id, .. } => match self.state.card(key) {
                Ok(Some(mut r)) if r.card_id == *card_id => {
                    r.status = CardStatus::Archived;
                    r.updated_at = self.now;
                    self.state.put_card(key, &r)
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}
