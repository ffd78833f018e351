//! The layout of the write-back notes and of the card's ticket links, and
//! their markers, pure (like `board/render.rs`): same inputs, same bytes,
//! so that a note retried after a lost answer is the one looked for. The
//! French words are `fr::notes`'.
//!
//! Every value that came from outside (titles and facts hold customer
//! names, item names, Magento statuses) is HTML-escaped: the notes are
//! shown in Magento's admin and Freshdesk's agent view.

use chrono::{DateTime, Utc};

use super::{FollowUp, WriteEvent};
use crate::domain::ProblemKey;
use crate::fr;

/// A note's marker: `colisync-note:<key>:<event>:<instant>`, one ASCII
/// token (the key's parts are percent-encoded, so no `:` or space inside),
/// unique per key, event and pass, so that "resolved, reopened, resolved"
/// leaves three notes that are never taken for one another.
pub fn marker(key: &ProblemKey, event: &WriteEvent, at: DateTime<Utc>) -> String {
    format!(
        "{}{key}:{}:{}",
        crate::sources::magento::NOTE_MARKER_PREFIX,
        event.slug(),
        at.format("%Y%m%dT%H%M%SZ")
    )
}

/// The marker of a problem's escalation: one per key, ever (no instant).
pub fn escalation_marker(key: &ProblemKey) -> String {
    format!("colisync-ticket:{key}:escalated")
}

/// The subject of a ticket colisync opens: its key first, so that the
/// ticket list (which returns subjects) finds it again.
pub fn escalation_subject(f: &FollowUp) -> String {
    format!("[colisync {}] {}", f.key, f.title)
}

/// The description of an escalation ticket, or the note that goes with
/// an escalated ticket: the card's facts and procedure, the link, the
/// marker.
pub fn escalation_note(f: &FollowUp, card_id: &str, marker: &str, customer: &str) -> String {
    let mut html = format!(
        "<p><b>colisync · {}</b> — {}</p><p>{} : {}</p>",
        fr::notes::ESCALATION_HEADING,
        escape(&f.title),
        fr::notes::CUSTOMER,
        escape(customer)
    );
    if !f.details.is_empty() {
        html.push_str("<ul>");
        for d in &f.details {
            html.push_str(&format!("<li>{}</li>", escape(d)));
        }
        html.push_str("</ul>");
    }
    let url = card_url(card_id);
    html.push_str(&format!(
        "<p>{} : <a href=\"{url}\">{url}</a></p><p>{marker}</p>",
        fr::notes::CARD_LINK
    ));
    html
}

/// `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Trello link of a card: its id works in Trello's card URL.
pub fn card_url(card_id: &str) -> String {
    format!("https://trello.com/c/{card_id}")
}

fn event_fr(event: &WriteEvent) -> String {
    fr::notes::event(match event {
        WriteEvent::Filed => fr::notes::Event::Filed,
        WriteEvent::CaseChanged { from, to } => fr::notes::Event::CaseChanged {
            from: *from,
            to: *to,
        },
        WriteEvent::Resolved => fr::notes::Event::Resolved,
        WriteEvent::Reopened => fr::notes::Event::Reopened,
    })
}

/// The marker of a ticket's link on a card: one per ticket (a card's
/// comments are read, so the card is implied).
pub fn ticket_link_marker(ticket: u64) -> String {
    format!("colisync-link:freshdesk-ticket:{ticket}")
}

/// The card comment linking a ticket (the URL is the agent's view; it
/// holds no secret).
pub fn ticket_link(ticket: u64, url: &str) -> String {
    fr::notes::ticket_link(ticket, url, &ticket_link_marker(ticket))
}

/// The Magento order comment: one line, plain text escaped, the marker at
/// the end in brackets.
pub fn magento_comment(f: &FollowUp, card_id: &str, marker: &str) -> String {
    let mut s = format!("colisync · {} — {}", escape(&f.title), event_fr(&f.event));
    if let (WriteEvent::Resolved | WriteEvent::Reopened, Some(why)) = (&f.event, f.details.first())
    {
        s.push_str(&format!(" : {}", escape(why)));
    }
    s.push_str(&format!(
        ". {} : {} [{marker}]",
        fr::notes::CARD_LINK,
        card_url(card_id)
    ));
    s
}

/// The Freshdesk private note: HTML, the card's facts and procedure, the
/// link, and the marker alone in the last paragraph.
pub fn freshdesk_note(f: &FollowUp, card_id: &str, marker: &str) -> String {
    let mut html = format!(
        "<p><b>colisync · {}</b> — {}</p>",
        escape(&f.title),
        escape(&event_fr(&f.event))
    );
    if !f.details.is_empty() {
        html.push_str("<ul>");
        for d in &f.details {
            html.push_str(&format!("<li>{}</li>", escape(d)));
        }
        html.push_str("</ul>");
    }
    let url = card_url(card_id);
    html.push_str(&format!(
        "<p>{} : <a href=\"{url}\">{url}</a></p><p>{marker}</p>",
        fr::notes::CARD_LINK
    ));
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RuleId;
    use crate::writeback::WriteTarget;
    use chrono::TimeZone;

    fn follow(event: WriteEvent) -> FollowUp {
        FollowUp {
            key: "parcel/100023/6A12345678901".parse().expect("key"),
            target: WriteTarget::FreshdeskNotes,
            event,
            title: "Retard <script>alert(1)</script> Jeanne".into(),
            details: vec!["Client : Jeanne <b>".into()],
            card_before: None,
        }
    }

    #[test]
    fn markers_are_one_token_per_key_event_and_pass() {
        let at = Utc
            .with_ymd_and_hms(2026, 5, 19, 8, 0, 0)
            .single()
            .expect("t");
        let f = follow(WriteEvent::Filed);
        let m = marker(&f.key, &f.event, at);
        assert_eq!(
            m,
            "colisync-note:parcel/100023/6A12345678901:filed:20260519T080000Z"
        );
        assert!(!m.contains(' '));
        let c = WriteEvent::CaseChanged {
            from: RuleId::DeliveryColissimo,
            to: RuleId::ReturnToSender,
        };
        assert!(marker(&f.key, &c, at).contains(":case-delivery_colissimo-return_to_sender:"));
    }

    #[test]
    fn outside_text_is_escaped() {
        let f = follow(WriteEvent::Resolved);
        let n = freshdesk_note(&f, "abc123", "colisync-note:x");
        assert!(
            !n.contains("<script>") && n.contains("&lt;script&gt;"),
            "{n}"
        );
        assert!(n.ends_with("<p>colisync-note:x</p>"));
        let m = magento_comment(&f, "abc123", "colisync-note:x");
        assert!(!m.contains('<'), "{m}");
        assert!(m.ends_with("[colisync-note:x]"));
    }
}
