//! The planner's actions as the journal records them: the conversions
//! between [`Action`] and the store's [`IntentAction`] record. The store
//! owns its disk format and knows nothing of the planner; the applier
//! journals an action through these (`apply`), and a pass resuming after a
//! crash turns the record back into the action it settles. A field added to
//! an action must be added here and to the record (a new schema, see
//! `state::records`), or this stops compiling.

use super::{Action, CheckItemSpec, ChecklistSpec, ListTarget};
use crate::board::{CardContent, LabelSpec};
use crate::state::IntentAction;
use crate::state::records as r;

impl From<&ListTarget> for r::ListTarget {
    fn from(t: &ListTarget) -> r::ListTarget {
        r::ListTarget {
            name: t.name.clone(),
            id: t.id.clone(),
        }
    }
}

impl From<r::ListTarget> for ListTarget {
    fn from(t: r::ListTarget) -> ListTarget {
        ListTarget {
            name: t.name,
            id: t.id,
        }
    }
}

fn content_record(c: &CardContent) -> r::CardContent {
    r::CardContent {
        title: c.title.clone(),
        description: c.description.clone(),
        labels: c
            .labels
            .iter()
            .map(|l| r::Label {
                name: l.name.clone(),
                color: l.color.clone(),
            })
            .collect(),
        due: c.due,
    }
}

fn content(c: r::CardContent) -> CardContent {
    CardContent {
        title: c.title,
        description: c.description,
        labels: c
            .labels
            .into_iter()
            .map(|l| LabelSpec {
                name: l.name,
                color: l.color,
            })
            .collect(),
        due: c.due,
    }
}

fn checklist_record(c: &ChecklistSpec) -> r::Checklist {
    r::Checklist {
        name: c.name.clone(),
        items: c
            .items
            .iter()
            .map(|i| r::CheckItem {
                name: i.name.clone(),
                due: i.due,
            })
            .collect(),
    }
}

fn checklist(c: r::Checklist) -> ChecklistSpec {
    ChecklistSpec {
        name: c.name,
        items: c
            .items
            .into_iter()
            .map(|i| CheckItemSpec {
                name: i.name,
                due: i.due,
            })
            .collect(),
    }
}

impl From<&Action> for IntentAction {
    fn from(a: &Action) -> IntentAction {
        match a {
            Action::Create {
                key,
                rule,
                severity,
                fingerprint,
                list,
                content,
                note,
                checklist,
                stage,
            } => IntentAction::Create {
                key: key.into(),
                rule: (*rule).into(),
                severity: (*severity).into(),
                fingerprint: fingerprint.clone(),
                list: list.into(),
                content: content_record(content),
                note: note.clone(),
                checklist: checklist.as_ref().map(checklist_record),
                stage: stage.map(Into::into),
            },
            Action::Update {
                key,
                card_id,
                rule,
                severity,
                fingerprint,
                content,
                keep_label_ids,
                move_to,
                comment,
                clear_due,
                lead_due,
                stage,
            } => IntentAction::Update {
                key: key.into(),
                card_id: card_id.clone(),
                rule: (*rule).into(),
                severity: (*severity).into(),
                fingerprint: fingerprint.clone(),
                content: content_record(content),
                keep_label_ids: keep_label_ids.clone(),
                move_to: move_to.as_ref().map(Into::into),
                comment: comment.clone(),
                clear_due: *clear_due,
                lead_due: *lead_due,
                stage: stage.map(Into::into),
            },
            Action::Reopen {
                key,
                card_id,
                rule,
                severity,
                fingerprint,
                content,
                keep_label_ids,
                move_to,
                comment,
                clear_due,
                lead_due,
                stage,
            } => IntentAction::Reopen {
                key: key.into(),
                card_id: card_id.clone(),
                rule: (*rule).into(),
                severity: (*severity).into(),
                fingerprint: fingerprint.clone(),
                content: content.as_ref().map(content_record),
                keep_label_ids: keep_label_ids.clone(),
                move_to: move_to.as_ref().map(Into::into),
                comment: comment.clone(),
                clear_due: *clear_due,
                lead_due: *lead_due,
                stage: stage.map(Into::into),
            },
            Action::Resolve {
                key,
                card_id,
                rule,
                title,
                comment,
                move_to,
                from_list,
            } => IntentAction::Resolve {
                key: key.into(),
                card_id: card_id.clone(),
                rule: rule.map(Into::into),
                title: title.clone(),
                comment: comment.clone(),
                move_to: move_to.as_ref().map(Into::into),
                from_list: from_list.clone(),
            },
            Action::Adopt {
                key,
                card_id,
                list_id,
                rule,
                severity,
                status,
                fingerprint,
                label_ids,
                title,
                due,
                stage,
            } => IntentAction::Adopt {
                key: key.into(),
                card_id: card_id.clone(),
                list_id: list_id.clone(),
                rule: rule.map(Into::into),
                severity: (*severity).into(),
                status: (*status).into(),
                fingerprint: fingerprint.clone(),
                label_ids: label_ids.clone(),
                title: title.clone(),
                due: *due,
                stage: stage.map(Into::into),
            },
            Action::MarkArchived {
                key,
                card_id,
                title,
            } => IntentAction::MarkArchived {
                key: key.into(),
                card_id: card_id.clone(),
                title: title.clone(),
            },
            Action::Comment { key, card_id, text } => IntentAction::Comment {
                key: key.into(),
                card_id: card_id.clone(),
                text: text.clone(),
            },
        }
    }
}

impl From<IntentAction> for Action {
    fn from(a: IntentAction) -> Action {
        match a {
            IntentAction::Create {
                key,
                rule,
                severity,
                fingerprint,
                list,
                content: c,
                note,
                checklist: cl,
                stage,
            } => Action::Create {
                key: key.into(),
                rule: rule.into(),
                severity: severity.into(),
                fingerprint,
                list: list.into(),
                content: content(c),
                note,
                checklist: cl.map(checklist),
                stage: stage.map(Into::into),
            },
            IntentAction::Update {
                key,
                card_id,
                rule,
                severity,
                fingerprint,
                content: c,
                keep_label_ids,
                move_to,
                comment,
                clear_due,
                lead_due,
                stage,
            } => Action::Update {
                key: key.into(),
                card_id,
                rule: rule.into(),
                severity: severity.into(),
                fingerprint,
                content: content(c),
                keep_label_ids,
                move_to: move_to.map(Into::into),
                comment,
                clear_due,
                lead_due,
                stage: stage.map(Into::into),
            },
            IntentAction::Reopen {
                key,
                card_id,
                rule,
                severity,
                fingerprint,
                content: c,
                keep_label_ids,
                move_to,
                comment,
                clear_due,
                lead_due,
                stage,
            } => Action::Reopen {
                key: key.into(),
                card_id,
                rule: rule.into(),
                severity: severity.into(),
                fingerprint,
                content: c.map(content),
                keep_label_ids,
                move_to: move_to.map(Into::into),
                comment,
                clear_due,
                lead_due,
                stage: stage.map(Into::into),
            },
            IntentAction::Resolve {
                key,
                card_id,
                rule,
                title,
                comment,
                move_to,
                from_list,
            } => Action::Resolve {
                key: key.into(),
                card_id,
                rule: rule.map(Into::into),
                title,
                comment,
                move_to: move_to.map(Into::into),
                from_list,
            },
            IntentAction::Adopt {
                key,
                card_id,
                list_id,
                rule,
                severity,
                status,
                fingerprint,
                label_ids,
                title,
                due,
                stage,
            } => Action::Adopt {
                key: key.into(),
                card_id,
                list_id,
                rule: rule.map(Into::into),
                severity: severity.into(),
                status: status.into(),
                fingerprint,
                label_ids,
                title,
                due,
                stage: stage.map(Into::into),
            },
            IntentAction::MarkArchived {
                key,
                card_id,
                title,
            } => Action::MarkArchived {
                key: key.into(),
                card_id,
                title,
            },
            IntentAction::Comment { key, card_id, text } => Action::Comment {
                key: key.into(),
                card_id,
                text,
            },
        }
    }
}
