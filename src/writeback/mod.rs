//! Write-back: the notes colisync leaves where the team works besides
//! Trello, a comment on the Magento order and a private note on the
//! customer's open Freshdesk tickets, when a card is filed, changes case,
//! is resolved or is reopened; and on the card, a comment linking each
//! Freshdesk ticket colisync wrote on.
//!
//! Where it sits: after `plan::apply`. The pass turns the plan's card
//! actions into [`FollowUp`]s ([`followups`], pure: no client, no store, no
//! clock) and journals each one in the state's outbox before the card's
//! own write; `apply.rs` then arms an entry once the card's write is
//! recorded (or drops it when the write did not happen: the next plan asks
//! again) and carries it out with the same protocol as the Trello writes:
//! the entry is on disk before any call, each call is settled by reading
//! back for the entry's marker (`text.rs`), and an entry leaves the outbox
//! only once settled. A Magento or Freshdesk outage leaves its entries for
//! the next pass and never blocks the cards.

pub mod apply;
mod link;
pub mod text;

use crate::board::CardContent;
use crate::domain::{ProblemKey, RuleId};
use crate::plan::Action;

// The follow-ups are stored in the state's outbox, so their types are the
// state's (the state imports nothing of the write-back).
pub use crate::state::outbox::{FollowUp, WriteEvent, WriteTarget};

/// Which write-back targets are on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Targets {
    pub order_notes: bool,
    pub freshdesk: bool,
    /// Config names of the rules whose filing (or a change of case into
    /// them) is escalated in Freshdesk; empty: none.
    pub escalate: Vec<String>,
}

impl Targets {
    fn list(&self) -> Vec<WriteTarget> {
        let mut out = Vec::new();
        if self.order_notes {
            out.push(WriteTarget::MagentoOrderNote);
        }
        if self.freshdesk {
            out.push(WriteTarget::FreshdeskNotes);
        }
        out
    }
}

fn details_of(content: &CardContent) -> Vec<String> {
    content
        .description
        .lines()
        .map(|l| l.trim().trim_start_matches(['#', '*', '-', '>']).trim())
        .filter(|l| !l.is_empty() && !l.contains(crate::board::MARKER_PREFIX))
        .map(|l| plain(&l.replace("**", "").replace('`', "").replace("\\", "")))
        .collect()
}

/// `[text](url)` → `text (url)`: the notes are not Markdown.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](").map(|m| open + m) else {
            break;
        };
        let Some(close) = rest[mid..].find(')').map(|c| mid + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..mid]);
        out.push_str(" (");
        out.push_str(&rest[mid + 2..close]);
        out.push(')');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The rule and card id a key's record had before the plan.
pub type Prior = (Option<RuleId>, String);

/// The follow-ups of a plan: a filing (`Create`), a case change (an
/// `Update` that changes the rule), a resolution (`Resolve` with its
/// comment) and a reopening (`Reopen`: the problem came back). A delay that grows within the same case writes nothing, nor
/// do adoptions (a card found again after a lost state says nothing new).
/// `prior` gives the rule and card id a key's record had before the plan.
pub fn followups(
    actions: &[Action],
    prior: &dyn Fn(&ProblemKey) -> Option<Prior>,
    targets: &Targets,
) -> Vec<FollowUp> {
    let mut out = Vec::new();
    for a in actions {
        let (event, title, details) = match a {
            Action::Create { content, .. } => (
                WriteEvent::Filed,
                content.title.clone(),
                details_of(content),
            ),
            Action::Update {
                key, rule, content, ..
            } => match prior(key) {
                Some((Some(from), _)) if from != *rule => (
                    WriteEvent::CaseChanged { from, to: *rule },
                    content.title.clone(),
                    details_of(content),
                ),
                _ => continue,
            },
            Action::Resolve {
                title,
                comment: Some(comment),
                ..
            } => (WriteEvent::Resolved, title.clone(), vec![comment.clone()]),
            // The comment first: it says that the problem came back, as
            // a resolution's says why it ended. A reopen whose text is
            // unchanged carries no content: the case names it.
            Action::Reopen {
                rule,
                content,
                comment,
                ..
            } => {
                let mut details = vec![comment.clone()];
                details.extend(content.as_ref().map(details_of).unwrap_or_default());
                let title = content
                    .as_ref()
                    .map(|c| c.title.clone())
                    .unwrap_or_else(|| rule.case_fr().to_owned());
                (WriteEvent::Reopened, title, details)
            }
            _ => continue,
        };
        let card_before = match &event {
            WriteEvent::Filed => prior(a.key()).map(|(_, id)| id),
            _ => None,
        };
        let into_rule = match (a, &event) {
            (Action::Create { rule, .. }, _) => Some(*rule),
            (_, WriteEvent::CaseChanged { to, .. }) => Some(*to),
            _ => None,
        };
        let escalate = targets.freshdesk
            && into_rule.is_some_and(|r| targets.escalate.iter().any(|e| e == r.as_str()));
        let mut list = targets.list();
        if escalate {
            list.push(WriteTarget::FreshdeskEscalation);
        }
        for target in list {
            out.push(FollowUp {
                key: a.key().clone(),
                target,
                event: event.clone(),
                title: title.clone(),
                details: details.clone(),
                card_before: card_before.clone(),
            });
        }
    }
    out
}
