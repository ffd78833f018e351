//! The card comment linking each Freshdesk ticket an outbox entry wrote on
//! (its noted tickets, or its escalation's ticket), once per card and
//! ticket.
//!
//! Where it sits: the last step of an entry in `apply.rs`, after its notes
//! are written and before it leaves the outbox. Same protocol as every
//! write: the entry with its tickets is flushed first (the intent), the
//! state's `ticket_links` record says a link is done, else the card's
//! newest comments are read for the link's marker, then it is commented
//! (not retried blind: a second send is a second comment), read again
//! after an unknown outcome, and recorded, flushed. Only the newest
//! comments are needed: a link is looked for only right after its own
//! attempt, a settled one is never looked for again.

use super::WriteTarget;
use super::apply::WriteCrash;
use super::text;
use crate::board::trello::TrelloClient;
use crate::config::FreshdeskConfig;
use crate::sources::freshdesk::FreshdeskClient;
use crate::state::outbox::WriteIntent;
use crate::state::{State, StateError};

/// Why the links of an entry are not all written.
pub(super) enum LinkStop {
    /// Trello or the state did not answer as needed: the entry stays.
    Later(String),
    Crashed,
}

/// Links each Freshdesk ticket an entry wrote on (its noted tickets, or its
/// escalation's ticket) on the entry's card, once per card and ticket.
/// Returns how many comments were written.
pub(super) async fn link_all(
    state: &State,
    trello: Option<&TrelloClient>,
    freshdesk: Option<(&FreshdeskClient, &FreshdeskConfig)>,
    w: &WriteIntent,
    card_id: &str,
    crash: Option<WriteCrash>,
) -> Result<usize, LinkStop> {
    let (Some(trello), Some((fd, _))) = (trello, freshdesk) else {
        return Ok(0);
    };
    let tickets: Vec<u64> = match w.follow_up.target {
        WriteTarget::MagentoOrderNote => return Ok(0),
        WriteTarget::FreshdeskNotes => w.tickets_done.iter().copied().collect(),
        WriteTarget::FreshdeskEscalation => match state.escalation(&w.follow_up.key) {
            Ok(t) => t.into_iter().collect(),
            Err(e) => return Err(LinkStop::Later(e.to_string())),
        },
    };
    let later = |e: StateError| LinkStop::Later(e.to_string());
    let mut todo = Vec::new();
    for t in tickets {
        if !state.ticket_linked(card_id, t).map_err(later)? {
            todo.push(t);
        }
    }
    if todo.is_empty() {
        return Ok(0);
    }
    // The intent of each link is the entry with its noted tickets (or the
    // escalation's record): on disk before the card is written.
    state.flush().map_err(later)?;
    let mut written = 0;
    for t in todo {
        let text = text::ticket_link(t, &fd.ticket_url(t));
        let marker = text::ticket_link_marker(t);
        match link_one(trello, card_id, &text, &marker, crash).await {
            Ok(Linked::Written) => written += 1,
            Ok(Linked::Present) => {}
            Ok(Linked::Crashed) => return Err(LinkStop::Crashed),
            Err(why) => return Err(LinkStop::Later(why)),
        }
        state.record_ticket_link(card_id, t).map_err(later)?;
        state.flush().map_err(later)?;
    }
    Ok(written)
}

enum Linked {
    Written,
    /// Found on the card: written by an earlier attempt.
    Present,
    Crashed,
}

/// Read the card's comments, comment; after an unknown outcome read again
/// and comment once more; then only read.
async fn link_one(
    trello: &TrelloClient,
    card_id: &str,
    text: &str,
    marker: &str,
    crash: Option<WriteCrash>,
) -> Result<Linked, String> {
    let mut last = String::new();
    for attempt in 0..3 {
        let comments = trello.comments(card_id).await.map_err(|e| e.to_string())?;
        if comments.iter().any(|c| c.contains(marker)) {
            return Ok(if attempt > 0 {
                Linked::Written
            } else {
                Linked::Present
            });
        }
        if attempt == 2 {
            break;
        }
        match trello.add_comment(card_id, text).await {
            Ok(_) if crash == Some(WriteCrash::Linked) => return Ok(Linked::Crashed),
            Ok(_) => return Ok(Linked::Written),
            Err(e) if e.outcome_is_unknown() => last = e.to_string(),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("outcome unknown after two attempts ({last})"))
}
