//! The outbox applier: journals the write-back notes, arms them once their
//! card's write is recorded, and writes them to Magento and Freshdesk,
//! each settled by reading back for its marker.
//!
//! Where it sits: called by the pass after `plan::apply` (and at the start
//! of the next pass through the same outbox). The protocol, per entry:
//! 1. [`enqueue`]: the entry is in the outbox, flushed, before the card's
//!    own write, so that no crash between the card and its note loses it;
//! 2. [`arm`]: once no Trello intent of the key is pending, the card record
//!    says whether the card's write happened (a new card, the new rule, the
//!    resolution): armed with the card id, or dropped (the next plan asks
//!    for the card again, and with it a new note);
//! 3. each armed entry: read first (a previous attempt may have written
//!    it), write, and after an unknown outcome read again; written once
//!    more at most, then left pending;
//! 4. each Freshdesk ticket the entry wrote on (its noted tickets, or its
//!    escalation's ticket) is linked on the card: the entry, with those
//!    tickets, is flushed first; the `ticket_links` record says it is done;
//!    else the card's newest comments are read for the link's marker,
//!    then it is commented, and read again after an unknown outcome;
//!    recorded, flushed. Trello failing here keeps the entry (its notes
//!    done), for the next pass to link only;
//! 5. the entry is removed from the outbox once settled, flushed.
//!
//! A refused Freshdesk key (401) stops the Freshdesk entries of this pass,
//! a Magento token without the comment ACL the Magento ones; the other
//! target and the cards go on.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::link::{LinkStop, link_all};
use super::text;
use super::{FollowUp, WriteEvent, WriteTarget};
use crate::board::trello::TrelloClient;
use crate::config::{FreshdeskConfig, GroupRef};
use crate::sources::freshdesk::{
    FreshdeskClient, FreshdeskError, NewTicket, Ticket, TicketFilter, find_group,
    order_number_query,
};
use crate::sources::magento::{MagentoClient, MagentoError};
use crate::state::outbox::{OrderRef, WriteId, WriteIntent};
use crate::state::{CardStatus, State, StateError};

/// Where a simulated crash stops the applier (tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCrash {
    /// After the outbox entries are flushed, before the card writes.
    BeforeCard,
    /// After the card writes, before the entries are armed.
    AfterCard,
    /// After a note's write was answered, before its settle.
    Called,
    /// After the card comment linking a ticket was answered, before it is
    /// recorded.
    Linked,
}

/// The clients of the targets that are on.
#[derive(Clone, Copy)]
pub struct Writers<'a> {
    pub magento: Option<&'a MagentoClient>,
    pub freshdesk: Option<(&'a FreshdeskClient, &'a FreshdeskConfig)>,
    /// Where the Freshdesk tickets written on are linked, on their card.
    pub trello: Option<&'a TrelloClient>,
}

/// What the applier did, for the pass report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritebackReport {
    pub magento_notes: usize,
    pub freshdesk_notes: usize,
    /// Problems escalated in Freshdesk (a ticket assigned or opened).
    pub escalations: usize,
    /// Card comments linking a Freshdesk ticket.
    pub ticket_links: usize,
    /// Freshdesk entries settled without a note: no contact or no open
    /// ticket (not an error).
    pub no_ticket: usize,
    /// Entries dropped because their card's write did not happen.
    pub dropped: usize,
    /// Entries left for the next pass.
    pub pending: usize,
    /// What failed, in plain words, without secrets, with the target it
    /// concerns (`None`: the outbox itself).
    pub failures: Vec<(Option<WriteTarget>, String)>,
    pub crashed: bool,
}

/// How far back a customer's tickets are listed, at most pages of 100.
const TICKET_PAGES: u32 = 3;
/// Conversations read per ticket, at most pages of 100: beyond, absence of
/// the marker cannot be proven and the entry waits.
const CONVERSATION_PAGES: u32 = 10;

/// Journals the follow-ups of this pass's plan (not armed yet). `order_of`
/// finds the order of a key's increment id; a follow-up without one is
/// skipped (reported). Flushed.
pub fn enqueue(
    state: &State,
    followups: Vec<FollowUp>,
    order_of: &dyn Fn(&str) -> Option<OrderRef>,
    now: DateTime<Utc>,
    report: &mut WritebackReport,
) -> Result<(), StateError> {
    for f in followups {
        let Some(order) = order_of(f.key.increment_id()) else {
            report.failures.push((
                Some(f.target),
                format!(
                    "{}: {} not written: order {} not in the state",
                    f.key,
                    f.target.as_str(),
                    f.key.increment_id()
                ),
            ));
            continue;
        };
        let marker = match f.target {
            WriteTarget::FreshdeskEscalation => text::escalation_marker(&f.key),
            _ => text::marker(&f.key, &f.event, now),
        };
        state.enqueue_write(&WriteIntent {
            follow_up: f,
            order,
            marker,
            created_at: now,
            card_id: None,
            tickets_done: BTreeSet::new(),
        })?;
    }
    state.flush()
}

/// Arms the entries whose card write is recorded, drops those whose card
/// write did not happen, leaves those whose Trello intent is pending.
pub fn arm(state: &State, report: &mut WritebackReport) -> Result<(), StateError> {
    let pending: BTreeSet<_> = state
        .pending_intents()?
        .into_iter()
        .map(|(_, i)| i.key)
        .collect();
    let mut changed = false;
    for (id, mut w) in state.pending_writes()? {
        if w.card_id.is_some() || pending.contains(&w.follow_up.key) {
            continue;
        }
        let record = state.card(&w.follow_up.key)?;
        let happened = record.as_ref().filter(|r| match &w.follow_up.event {
            WriteEvent::Filed => {
                r.status == CardStatus::Open
                    && w.follow_up.card_before.as_deref() != Some(r.card_id.as_str())
            }
            WriteEvent::CaseChanged { to, .. } => r.rule == Some(*to),
            WriteEvent::Resolved => r.status == CardStatus::Resolved,
            WriteEvent::Reopened => r.status == CardStatus::Open,
        });
        match happened {
            Some(r) => {
                w.card_id = Some(r.card_id.clone());
                state.put_write(id, &w)?;
            }
            None => {
                report.dropped += 1;
                state.remove_write(id)?;
            }
        }
        changed = true;
    }
    if changed {
        state.flush()?;
    }
    Ok(())
}

enum Outcome {
    /// Settled: the note is there (or there is nowhere to put it).
    Done {
        notes: usize,
        no_ticket: bool,
    },
    /// Try again next pass.
    Pending(String),
    /// Will never work as planned: dropped, reported.
    Failed(String),
    /// Stop this target for the pass; the entry stays.
    Fatal(String),
    Crashed,
}

/// Arms, then carries out every armed entry.
pub async fn apply_outbox(
    state: &State,
    writers: Writers<'_>,
    now: DateTime<Utc>,
    crash: Option<WriteCrash>,
) -> WritebackReport {
    let mut report = WritebackReport::default();
    if let Err(e) = arm(state, &mut report) {
        report
            .failures
            .push((None, format!("write-back outbox: {e}")));
        return report;
    }
    let entries = match state.pending_writes() {
        Ok(e) => e,
        Err(e) => {
            report
                .failures
                .push((None, format!("write-back outbox: {e}")));
            return report;
        }
    };
    let mut stopped: BTreeSet<WriteTarget> = BTreeSet::new();
    for (id, mut w) in entries {
        let Some(card_id) = w.card_id.clone() else {
            report.pending += 1;
            continue;
        };
        let target = w.follow_up.target;
        if stopped.contains(&target) {
            report.pending += 1;
            continue;
        }
        let outcome = match (target, writers.magento, writers.freshdesk) {
            (WriteTarget::MagentoOrderNote, Some(m), _) => {
                magento_note(m, &w, &card_id, crash).await
            }
            (WriteTarget::FreshdeskNotes, _, Some((fd, cfg))) => {
                freshdesk_notes(state, fd, cfg, id, &mut w, &card_id, now, crash).await
            }
            (WriteTarget::FreshdeskEscalation, _, Some((fd, cfg))) => {
                escalate(state, fd, cfg, &w, &card_id, now, crash).await
            }
            // The target was turned off since the note was planned.
            _ => Outcome::Failed("its target is no longer configured".into()),
        };
        let what = format!(
            "{}: {} ({})",
            w.follow_up.key,
            target.as_str(),
            w.follow_up.event.slug()
        );
        let settle = |state: &State| state.remove_write(id).and_then(|()| state.flush());
        match outcome {
            Outcome::Done { notes, no_ticket } => {
                match target {
                    WriteTarget::MagentoOrderNote => report.magento_notes += notes,
                    WriteTarget::FreshdeskNotes => report.freshdesk_notes += notes,
                    WriteTarget::FreshdeskEscalation => report.escalations += notes,
                }
                if no_ticket {
                    report.no_ticket += 1;
                }
                match link_all(
                    state,
                    writers.trello,
                    writers.freshdesk,
                    &w,
                    &card_id,
                    crash,
                )
                .await
                {
                    Ok(n) => report.ticket_links += n,
                    Err(LinkStop::Crashed) => {
                        report.crashed = true;
                        return report;
                    }
                    // The note is written and kept as done in the entry:
                    // the next pass only links.
                    Err(LinkStop::Later(why)) => {
                        report.pending += 1;
                        report.failures.push((
                            Some(target),
                            format!(
                                "{what}: linking the ticket on the card: {why}; retried next pass"
                            ),
                        ));
                        continue;
                    }
                }
                if let Err(e) = settle(state) {
                    report
                        .failures
                        .push((Some(target), format!("{what}: settling: {e}")));
                }
            }
            Outcome::Pending(why) => {
                report.pending += 1;
                report
                    .failures
                    .push((Some(target), format!("{what}: {why}; retried next pass")));
            }
            Outcome::Failed(why) => {
                report
                    .failures
                    .push((Some(target), format!("{what}: {why}; not written")));
                if let Err(e) = settle(state) {
                    report
                        .failures
                        .push((Some(target), format!("{what}: settling: {e}")));
                }
            }
            Outcome::Fatal(why) => {
                report.pending += 1;
                report
                    .failures
                    .push((Some(target), format!("{what}: {why}")));
                stopped.insert(target);
            }
            Outcome::Crashed => {
                report.crashed = true;
                return report;
            }
        }
    }
    report
}

async fn magento_note(
    client: &MagentoClient,
    w: &WriteIntent,
    card_id: &str,
    crash: Option<WriteCrash>,
) -> Outcome {
    let comment = text::magento_comment(&w.follow_up, card_id, &w.marker);
    let entity_id = w.order.entity_id;
    let mut last = String::new();
    // Read, write; after an unknown outcome read again and write once
    // more; then only read.
    for attempt in 0..3 {
        let order = match client.order_for_note(entity_id).await {
            Ok(o) => o,
            Err(MagentoError::NotFound { .. }) => {
                return Outcome::Failed(format!("Magento has no order {entity_id} any more"));
            }
            Err(e) if e.is_fatal() => return Outcome::Fatal(e.to_string()),
            Err(e) => return Outcome::Pending(e.to_string()),
        };
        if order.has_comment_with(&w.marker) {
            return Outcome::Done {
                notes: usize::from(attempt > 0),
                no_ticket: false,
            };
        }
        if attempt == 2 {
            break;
        }
        match client
            .add_order_comment(entity_id, order.status.as_deref(), &comment)
            .await
        {
            Ok(()) if crash == Some(WriteCrash::Called) => return Outcome::Crashed,
            Ok(()) => {
                return Outcome::Done {
                    notes: 1,
                    no_ticket: false,
                };
            }
            Err(e) if e.outcome_is_unknown() => last = e.to_string(),
            Err(e) if e.is_fatal() => return Outcome::Fatal(e.to_string()),
            Err(e @ (MagentoError::NotFound { .. } | MagentoError::Refused { .. })) => {
                return Outcome::Failed(e.to_string());
            }
            Err(e) => return Outcome::Pending(e.to_string()),
        }
    }
    Outcome::Pending(format!("outcome unknown after two attempts ({last})"))
}

/// The customer's open tickets, most recently updated first: by requester
/// on the list endpoint (always current), plus by order number through the
/// search when the shop keeps it in a field. `Ok(None)`: none.
async fn open_tickets(
    fd: &FreshdeskClient,
    cfg: &FreshdeskConfig,
    order: &OrderRef,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Ticket>>, FreshdeskError> {
    let mut found: Vec<Ticket> = Vec::new();
    if !order.email.is_empty() {
        if let Some(contact) = fd.contact_by_email(&order.email).await? {
            let since = now - chrono::Duration::days(i64::from(cfg.ticket_lookback_days));
            let listed = fd
                .tickets(
                    &TicketFilter::Requester {
                        requester_id: contact.id,
                        updated_since: since,
                    },
                    TICKET_PAGES,
                )
                .await?;
            found.extend(listed.items.into_iter().filter(Ticket::is_open));
        }
    }
    if let Some(field) = &cfg.order_number_field {
        // An increment id the search cannot carry is not searched for.
        if let Ok(q) = order_number_query(field, &order.increment_id) {
            let page = fd.search_tickets(&q, 1).await?;
            found.extend(page.results.into_iter().filter(Ticket::is_open));
        }
    }
    found.sort_by_key(|t| std::cmp::Reverse((t.updated_at, t.id)));
    let mut seen = BTreeSet::new();
    found.retain(|t| seen.insert(t.id));
    Ok((!found.is_empty()).then_some(found))
}

#[allow(clippy::too_many_arguments)]
async fn freshdesk_notes(
    state: &State,
    fd: &FreshdeskClient,
    cfg: &FreshdeskConfig,
    id: WriteId,
    w: &mut WriteIntent,
    card_id: &str,
    now: DateTime<Utc>,
    crash: Option<WriteCrash>,
) -> Outcome {
    let fail = |e: FreshdeskError| {
        if e.is_fatal() {
            Outcome::Fatal(e.to_string())
        } else {
            Outcome::Pending(e.to_string())
        }
    };
    let tickets = match open_tickets(fd, cfg, &w.order, now).await {
        Ok(Some(t)) => t.into_iter().map(|t| t.id).collect::<BTreeSet<u64>>(),
        Ok(None) => {
            return Outcome::Done {
                notes: 0,
                no_ticket: true,
            };
        }
        Err(e) => return fail(e),
    };
    let body = text::freshdesk_note(&w.follow_up, card_id, &w.marker);
    let mut written = 0;
    for ticket in tickets {
        if w.tickets_done.contains(&ticket) {
            continue;
        }
        match note_ticket(fd, ticket, &body, &w.marker, crash).await {
            Ok(TicketNote::Written) => written += 1,
            Ok(TicketNote::Present) => {}
            // Not kept: only the tickets noted are linked on the card; a
            // later attempt costs one more read.
            Ok(TicketNote::Gone) => continue,
            Ok(TicketNote::Crashed) => return Outcome::Crashed,
            Err(e) => return fail(e),
        }
        w.tickets_done.insert(ticket);
        // Progress kept so that a later attempt skips this ticket; losing
        // it costs one read of its conversations.
        if let Err(e) = state.put_write(id, w) {
            return Outcome::Pending(e.to_string());
        }
    }
    Outcome::Done {
        notes: written,
        no_ticket: false,
    }
}

enum TicketNote {
    Written,
    /// The marker was found: written by an earlier attempt.
    Present,
    /// Deleted, merged or outside the key's scope: nothing to do there.
    Gone,
    Crashed,
}

async fn note_ticket(
    fd: &FreshdeskClient,
    ticket: u64,
    body: &str,
    marker: &str,
    crash: Option<WriteCrash>,
) -> Result<TicketNote, FreshdeskError> {
    let mut last = None;
    for attempt in 0..3 {
        let convs = match fd.conversations(ticket, CONVERSATION_PAGES).await {
            Ok(c) => c,
            Err(FreshdeskError::NotFound { .. } | FreshdeskError::Forbidden { .. }) => {
                return Ok(TicketNote::Gone);
            }
            Err(e) => return Err(e),
        };
        if convs.items.iter().any(|c| c.carries(marker)) {
            return Ok(if attempt > 0 {
                TicketNote::Written
            } else {
                TicketNote::Present
            });
        }
        if !convs.complete {
            return Err(FreshdeskError::Query(format!(
                "ticket {ticket} has more conversations than colisync reads: the note cannot be checked"
            )));
        }
        if attempt == 2 {
            break;
        }
        match fd.add_private_note(ticket, body).await {
            Ok(_) if crash == Some(WriteCrash::Called) => return Ok(TicketNote::Crashed),
            Ok(_) => return Ok(TicketNote::Written),
            Err(e) if e.outcome_is_unknown() => last = Some(e),
            Err(FreshdeskError::NotFound { .. } | FreshdeskError::Forbidden { .. }) => {
                return Ok(TicketNote::Gone);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| FreshdeskError::Query("outcome unknown".into())))
}

/// The configured group's id: as given, or found by name (exactly, then
/// ignoring case).
async fn group_id(
    fd: &FreshdeskClient,
    group: &GroupRef,
) -> Result<Result<u64, String>, FreshdeskError> {
    match group {
        GroupRef::Id(id) => Ok(Ok(*id)),
        GroupRef::Name(name) => {
            let groups = fd.groups().await?;
            Ok(match find_group(&groups, group) {
                Some(g) => Ok(g.id),
                None => Err(format!(
                    "freshdesk.escalation_group {name:?} is not a group of the account (groups: {})",
                    groups
                        .iter()
                        .map(|g| g.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
        }
    }
}

/// Once per problem: the customer's most recent open ticket goes to the
/// group with a note; without one, a ticket is opened for the internal
/// requester (never the customer), found again by its subject after a lost
/// answer.
async fn escalate(
    state: &State,
    fd: &FreshdeskClient,
    cfg: &FreshdeskConfig,
    w: &WriteIntent,
    card_id: &str,
    now: DateTime<Utc>,
    crash: Option<WriteCrash>,
) -> Outcome {
    let fail = |e: FreshdeskError| {
        if e.is_fatal() {
            Outcome::Fatal(e.to_string())
        } else {
            Outcome::Pending(e.to_string())
        }
    };
    let key = &w.follow_up.key;
    match state.escalation(key) {
        Ok(Some(_)) => {
            return Outcome::Done {
                notes: 0,
                no_ticket: false,
            };
        }
        Ok(None) => {}
        Err(e) => return Outcome::Pending(e.to_string()),
    }
    let Some(group) = &cfg.escalation_group else {
        return Outcome::Failed("no freshdesk.escalation_group".into());
    };
    let group = match group_id(fd, group).await {
        Ok(Ok(g)) => g,
        Ok(Err(why)) => return Outcome::Failed(why),
        Err(e) => return fail(e),
    };
    let record = |ticket: u64| match state.record_escalation(key, ticket) {
        Ok(()) => Outcome::Done {
            notes: 1,
            no_ticket: false,
        },
        Err(e) => Outcome::Pending(e.to_string()),
    };
    let customer = crate::fr::notes::escalation_customer(&w.order.increment_id, &w.order.email);
    let body = text::escalation_note(&w.follow_up, card_id, &w.marker, &customer);
    match open_tickets(fd, cfg, &w.order, now).await {
        Err(e) => return fail(e),
        Ok(Some(tickets)) => {
            let Some(t) = tickets.first() else {
                return Outcome::Pending("no ticket".into());
            };
            if let Err(e) = fd.set_group(t.id, group).await {
                return fail(e);
            }
            return match note_ticket(fd, t.id, &body, &w.marker, crash).await {
                Ok(TicketNote::Crashed) => Outcome::Crashed,
                Ok(_) => record(t.id),
                Err(e) => fail(e),
            };
        }
        Ok(None) => {}
    }
    let Some(requester) = &cfg.requester_email else {
        return Outcome::Done {
            notes: 0,
            no_ticket: true,
        };
    };
    let subject = text::escalation_subject(&w.follow_up);
    let prefix = format!("[colisync {key}]");
    let mut custom_fields = serde_json::Map::new();
    if let Some(field) = &cfg.order_number_field {
        custom_fields.insert(field.clone(), serde_json::json!(w.order.increment_id));
    }
    let new = NewTicket {
        requester_email: requester.clone(),
        subject,
        description: body,
        group_id: Some(group),
        tags: vec!["colisync".into()],
        custom_fields,
    };
    let since = w.created_at - chrono::Duration::days(1);
    let mut last = String::new();
    for attempt in 0..3 {
        // The list, not the search: the search index lags behind writes.
        if attempt > 0 {
            let mine = fd
                .tickets(
                    &TicketFilter::Email {
                        email: requester.clone(),
                        updated_since: since,
                    },
                    TICKET_PAGES,
                )
                .await;
            match mine {
                Ok(l) => {
                    if let Some(t) = l
                        .items
                        .iter()
                        .find(|t| t.subject.as_deref().is_some_and(|s| s.starts_with(&prefix)))
                    {
                        return record(t.id);
                    }
                }
                // No contact yet for the requester: nothing was created.
                Err(FreshdeskError::Invalid { .. }) => {}
                Err(e) => return fail(e),
            }
        }
        if attempt == 2 {
            break;
        }
        match fd.create_ticket(&new).await {
            Ok(_) if crash == Some(WriteCrash::Called) => return Outcome::Crashed,
            Ok(t) => return record(t.id),
            Err(e) if e.outcome_is_unknown() => last = e.to_string(),
            Err(e @ FreshdeskError::Invalid { .. }) => return Outcome::Failed(e.to_string()),
            Err(e) => return fail(e),
        }
    }
    Outcome::Pending(format!("outcome unknown after two attempts ({last})"))
}
