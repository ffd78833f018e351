//! The Trello writes of each action, in the order `plan::apply` makes them
//! (the journal's `steps_done` counts them).

use chrono::{DateTime, Utc};

use crate::board::CardContent;
use crate::plan::Action;

/// One Trello write of an action.
pub(super) enum Step<'a> {
    CreateCard {
        list_id: Option<&'a str>,
        list_name: &'a str,
        content: &'a CardContent,
    },
    Put {
        content: Option<&'a CardContent>,
        keep_label_ids: &'a [String],
        move_to: Option<&'a str>,
        /// The content has no due date: clear colisync's old one.
        clear_due: bool,
        /// The card's due date is a lead's: never written.
        lead_due: bool,
    },
    /// The checklist of a new card (by name).
    CreateChecklist(&'a str),
    /// One item of that checklist (by name, unique within it).
    AddItem {
        name: &'a str,
        due: Option<DateTime<Utc>>,
    },
    Comment(&'a str),
}

/// The steps of an action, in order. Deterministic: `Intent::steps_done`
/// indexes into it across a crash.
pub(super) fn steps(action: &Action) -> Vec<Step<'_>> {
    fn move_id(t: &Option<crate::plan::ListTarget>) -> Option<&str> {
        t.as_ref().and_then(|t| t.id.as_deref())
    }
    let mut out = Vec::new();
    match action {
        Action::Create {
            list,
            content,
            note,
            checklist,
            ..
        } => {
            out.push(Step::CreateCard {
                list_id: list.id.as_deref(),
                list_name: &list.name,
                content,
            });
            if let Some(c) = checklist {
                out.push(Step::CreateChecklist(&c.name));
                out.extend(c.items.iter().map(|i| Step::AddItem {
                    name: &i.name,
                    due: i.due,
                }));
            }
            out.extend(note.as_deref().map(Step::Comment));
        }
        Action::Update {
            content,
            keep_label_ids,
            move_to,
            comment,
            clear_due,
            lead_due,
            ..
        } => {
            out.push(Step::Put {
                content: Some(content),
                keep_label_ids,
                move_to: move_id(move_to),
                clear_due: *clear_due,
                lead_due: *lead_due,
            });
            out.extend(comment.as_deref().map(Step::Comment));
        }
        Action::Reopen {
            content,
            keep_label_ids,
            move_to,
            comment,
            clear_due,
            lead_due,
            ..
        } => {
            if content.is_some() || move_id(move_to).is_some() {
                out.push(Step::Put {
                    content: content.as_ref(),
                    keep_label_ids,
                    move_to: move_id(move_to),
                    clear_due: *clear_due,
                    lead_due: *lead_due,
                });
            }
            out.push(Step::Comment(comment));
        }
        Action::Resolve {
            comment, move_to, ..
        } => {
            out.extend(comment.as_deref().map(Step::Comment));
            if let Some(id) = move_id(move_to) {
                out.push(Step::Put {
                    content: None,
                    keep_label_ids: &[],
                    move_to: Some(id),
                    clear_due: false,
                    lead_due: true,
                });
            }
        }
        Action::Comment { text, .. } => out.push(Step::Comment(text)),
        Action::Adopt { .. } | Action::MarkArchived { .. } => {}
    }
    out
}
