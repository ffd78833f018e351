//! The Freshdesk client against the fake Freshdesk and against real sample
//! answers (`tests/fixtures/freshdesk/`, origins in PROVENANCE.md): auth,
//! the error shapes, rate limits, paging, search limits, notes and tickets.
//! Requests are counted, never timed.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use colisync::config::FreshdeskConfig;
use colisync::http::RetryPolicy;
use colisync::secret::Secret;
use colisync::sources::freshdesk::{
    Contact, Conversation, FreshdeskClient, FreshdeskError, Group, NewTicket, SearchPage, Ticket,
    TicketFilter, order_number_query, quoted_search,
};
use colisync_testkit::Fault;
use colisync_testkit::freshdesk::FakeFreshdesk;
use serde_json::{Map, Value, json};

const KEY: &str = "fd-key-Zq81Lm0";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 19, 8, 0, 0).unwrap()
}

fn cfg(fake: &FakeFreshdesk, key: &str) -> FreshdeskConfig {
    FreshdeskConfig {
        base_url: fake.base_url(),
        api_key: Secret::new(key),
        escalation_group: None,
        escalation_rules: Vec::new(),
        requester_email: Some("sav@shop.example".into()),
        order_number_field: Some("cf_order_number".into()),
        ticket_lookback_days: 90,
        requests_per_minute: 1000,
        timeout: Duration::from_millis(500),
    }
}

fn client(fake: &FakeFreshdesk) -> FreshdeskClient {
    FreshdeskClient::new(&cfg(fake, KEY))
        .unwrap()
        .with_retry(RetryPolicy::fast())
}

async fn fake() -> FakeFreshdesk {
    FakeFreshdesk::start(KEY, now()).await.unwrap()
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/freshdesk")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn order_field(n: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("cf_order_number".into(), json!(n));
    m
}

#[test]
fn real_samples_decode() {
    let note: Conversation = serde_json::from_str(&fixture("sjkingo-note_1.json")).unwrap();
    assert!(note.private && !note.incoming);
    assert_eq!(note.source, Some(2));
    assert_eq!(note.body_text.as_deref(), Some("This is a private note"));
    assert!(note.carries("private note"));

    let convs: Vec<Conversation> =
        serde_json::from_str(&fixture("sjkingo-conversations.json")).unwrap();
    assert_eq!(convs.len(), 2);
    assert!(!convs[1].private);
    assert_eq!(convs[1].source, Some(0));

    let search: SearchPage = serde_json::from_str(&fixture("sjkingo-search_tickets.json")).unwrap();
    assert_eq!(search.total, 2);
    assert_eq!(search.results.len(), 2);
    assert!(search.results.iter().all(Ticket::is_open));
    // An offset timestamp is read as the instant it names.
    assert_eq!(
        search.results[0].updated_at,
        Some(Utc.with_ymd_and_hms(2015, 1, 1, 0, 58, 39).unwrap())
    );

    let contact: Contact = serde_json::from_str(&fixture("sjkingo-contact.json")).unwrap();
    assert_eq!(contact.email.as_deref(), Some("rachel@freshdesk.com"));
    let groups: Vec<Group> = serde_json::from_str(&fixture("sjkingo-groups.json")).unwrap();
    assert_eq!(groups[1].name, "Helpdesk");
}

#[tokio::test]
async fn finds_a_customers_open_tickets_on_the_list_endpoint() {
    let fake = fake().await;
    let c = client(&fake);
    let who = fake.add_contact("Jeanne Martin", "jeanne@example.fr");
    let other = fake.add_contact("Paul", "paul@example.fr");
    let days = |d: i64| now() - chrono::Duration::days(d);
    let open = fake.add_ticket(who, "Où est mon colis ?", 2, days(2), Map::new());
    let pending = fake.add_ticket(who, "Relance", 3, days(40), Map::new());
    let _closed = fake.add_ticket(who, "Ancien", 5, days(3), Map::new());
    let _old = fake.add_ticket(who, "Très ancien", 2, days(200), Map::new());
    let spam = fake.add_ticket(who, "spam", 2, days(1), Map::new());
    fake.mark_spam(spam);
    fake.add_ticket(other, "Autre client", 2, days(1), Map::new());

    let contact = c
        .contact_by_email("jeanne@example.fr")
        .await
        .unwrap()
        .expect("contact");
    assert_eq!(contact.id, who);
    assert!(
        c.contact_by_email("nobody@example.fr")
            .await
            .unwrap()
            .is_none()
    );

    let listed = c
        .tickets(
            &TicketFilter::Requester {
                requester_id: who,
                updated_since: days(90),
            },
            3,
        )
        .await
        .unwrap();
    assert!(listed.complete);
    let open_ids: Vec<u64> = listed
        .items
        .iter()
        .filter(|t| t.is_open())
        .map(|t| t.id)
        .collect();
    // Newest first; the 40-day-old one is there thanks to updated_since.
    assert_eq!(open_ids, vec![open, pending]);
    assert_eq!(fake.key_in_query(), 0, "the key travels in the header only");
}

#[tokio::test]
async fn paging_follows_link_and_stops_at_the_cap() {
    let fake = fake().await;
    let c = client(&fake);
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    for n in 0..230 {
        fake.add_ticket(who, &format!("t{n}"), 2, now(), Map::new());
    }
    let filter = TicketFilter::Requester {
        requester_id: who,
        updated_since: now() - chrono::Duration::days(1),
    };
    let all = c.tickets(&filter, 5).await.unwrap();
    assert!(all.complete);
    assert_eq!(all.items.len(), 230);
    assert_eq!(fake.requests().count("GET", "/api/v2/tickets"), 3);

    fake.requests().clear();
    let capped = c.tickets(&filter, 2).await.unwrap();
    assert!(!capped.complete, "a capped read says it is incomplete");
    assert_eq!(capped.items.len(), 200);
    assert_eq!(fake.requests().count("GET", "/api/v2/tickets"), 2);
}

#[tokio::test]
async fn private_notes_are_written_once_and_read_back() {
    let fake = fake().await;
    let c = client(&fake);
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let t = fake.add_ticket(who, "Colis", 2, now(), Map::new());
    fake.add_agent_note(t, "<p>Note de l'agent</p>");

    let note = c
        .add_private_note(
            t,
            "<p>Retard de livraison</p><p>colisync-note:x:filed:1</p>",
        )
        .await
        .unwrap();
    assert!(note.private);
    let convs = c.conversations(t, 10).await.unwrap();
    assert!(convs.complete);
    assert_eq!(convs.items.len(), 2);
    assert!(convs.items[1].carries("colisync-note:x:filed:1"));
    assert!(!convs.items[0].carries("colisync-note:"));
    assert!(
        fake.notifications().is_empty(),
        "a private note notifies nobody: {:?}",
        fake.notifications()
    );
    assert_eq!(c.ticket_url(t), format!("{}a/tickets/{t}", fake.base_url()));
}

#[tokio::test]
async fn the_error_shapes_are_told_apart() {
    let fake = fake().await;
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let t = fake.add_ticket(who, "Colis", 2, now(), Map::new());

    // 401: the key, named by its config key; fatal.
    let bad = FreshdeskClient::new(&cfg(&fake, "wrong-key"))
        .unwrap()
        .with_retry(RetryPolicy::fast());
    let e = bad.agent_me().await.expect_err("401");
    assert!(e.is_fatal(), "{e:?}");
    let shown = e.to_string();
    assert!(
        shown.contains("freshdesk.api_key") && shown.contains("invalid_credentials"),
        "{shown}"
    );
    assert_eq!(
        fake.requests().count("GET", "/api/v2/agents/me"),
        1,
        "never retried"
    );

    let c = client(&fake);
    // 403: this ticket only; not fatal.
    fake.forbid("POST", &format!("/api/v2/tickets/{t}/notes"));
    let e = c.add_private_note(t, "<p>x</p>").await.expect_err("403");
    assert!(
        matches!(e, FreshdeskError::Forbidden { ref code, .. } if code == "access_denied"),
        "{e:?}"
    );
    assert!(!e.is_fatal() && !e.outcome_is_unknown());
    c.conversations(t, 1).await.expect("the rest still works");

    // 404 with an empty body.
    let e = c.ticket(999_999).await.expect_err("404");
    assert!(matches!(e, FreshdeskError::NotFound { .. }), "{e:?}");

    // 400 field by field.
    let e = c.set_group(t, 424_242).await.expect_err("400");
    let shown = e.to_string();
    assert!(
        shown.contains("group_id: There is no group matching the given group_id [invalid_value]"),
        "{shown}"
    );
    let e = c
        .create_ticket(&NewTicket {
            requester_email: "sav@shop.example".into(),
            subject: "s".into(),
            description: "d".into(),
            group_id: None,
            tags: Vec::new(),
            custom_fields: order_field("1"),
        })
        .await
        .expect_err("unknown custom field");
    assert!(e.to_string().contains("[invalid_field]"), "{e}");
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_note_written_once() {
    let fake = fake().await;
    let c = client(&fake);
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let t = fake.add_ticket(who, "Colis", 2, now(), Map::new());
    let path = format!("/api/v2/tickets/{t}/notes");
    fake.faults().once(
        "POST",
        &path,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    c.add_private_note(t, "<p>une fois</p>").await.unwrap();
    assert_eq!(fake.requests().count("POST", &path), 2);
    assert_eq!(fake.notes_of(t).len(), 1);

    let budget = c.rate_budget();
    assert_eq!(budget.used_by_request, Some(1));
}

#[tokio::test]
async fn remaining_zero_closes_the_gate_before_a_429() {
    let fake = fake().await;
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let t = fake.add_ticket(who, "Colis", 2, now(), Map::new());
    // The fake allows 2 per 300 ms; the client's own limit is far higher:
    // only `X-RateLimit-Remaining: 0` keeps it out of 429s.
    fake.set_rate_limit(Some((2, Duration::from_millis(300))));
    let c = client(&fake).with_rate_pause(Duration::from_millis(300));
    for _ in 0..5 {
        c.ticket(t).await.unwrap();
    }
    assert_eq!(fake.rate_limited(), 0, "never a 429 from the fake");
    assert_eq!(
        fake.requests()
            .count("GET", &format!("/api/v2/tickets/{t}")),
        5
    );
    assert_eq!(c.rate_budget().total, Some(2));
}

#[tokio::test]
async fn the_fakes_own_429_says_when_to_come_back() {
    let fake = fake().await;
    fake.set_rate_limit(Some((1, Duration::from_secs(60))));
    let http = reqwest::Client::new();
    let url = fake.base_url().join("api/v2/agents/me").unwrap();
    let send = || http.get(url.clone()).basic_auth(KEY, Some("X")).send();
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ratelimit-remaining"], "0");
    let second = send().await.unwrap();
    assert_eq!(second.status(), 429);
    let after: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&after), "{after}");
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["code"], "rate_limit_exceeded");
    assert_eq!(fake.rate_limited(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_an_unknown_outcome_never_resent() {
    let fake = fake().await;
    let c = client(&fake);
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let t = fake.add_ticket(who, "Colis", 2, now(), Map::new());
    let path = format!("/api/v2/tickets/{t}/notes");
    fake.faults().once("POST", &path, Fault::LoseAnswer);
    let e = c.add_private_note(t, "<p>m-1</p>").await.expect_err("lost");
    assert!(e.outcome_is_unknown(), "{e:?}");
    assert_eq!(fake.requests().count("POST", &path), 1);
    assert_eq!(
        fake.notes_of(t).len(),
        1,
        "written by the server all the same"
    );
    // Reads are retried through a 503.
    fake.faults()
        .times(2, "GET", "/api/v2/tickets", Fault::Status(503));
    let convs = c.conversations(t, 1).await.unwrap();
    assert!(convs.items.iter().any(|c| c.carries("m-1")));
}

#[tokio::test]
async fn search_limits_and_index_lag() {
    let fake = fake().await;
    fake.add_ticket_field("cf_order_number");
    let c = client(&fake);
    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let t = fake.add_ticket(who, "Colis", 2, now(), order_field("100023"));
    fake.add_ticket(who, "Fermé", 5, now(), order_field("100023"));

    let q = order_number_query("cf_order_number", "100023").unwrap();
    let page = c.search_tickets(&q, 1).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.results[0].id, t);

    // Limits refused before sending: no request.
    fake.requests().clear();
    assert!(matches!(
        c.search_tickets(&q, 11).await,
        Err(FreshdeskError::Query(_))
    ));
    assert!(matches!(
        c.search_tickets("status:2", 1).await,
        Err(FreshdeskError::Query(_))
    ));
    assert!(quoted_search(&"x".repeat(600)).is_err());
    assert!(fake.requests().is_empty());

    // What the fake refuses, as Freshdesk does: an unknown field.
    let e = c
        .search_tickets("\"cf_unknown:'1'\"", 1)
        .await
        .expect_err("400");
    assert!(e.to_string().contains("[invalid_field]"), "{e}");

    // The index lags behind writes: a new ticket is not found yet.
    fake.set_search_lag(true);
    let fresh = fake.add_ticket(who, "Nouveau", 2, now(), order_field("100099"));
    let q = order_number_query("cf_order_number", "100099").unwrap();
    assert_eq!(c.search_tickets(&q, 1).await.unwrap().total, 0);
    fake.reindex();
    assert_eq!(c.search_tickets(&q, 1).await.unwrap().results[0].id, fresh);
}

#[tokio::test]
async fn tickets_are_opened_for_the_internal_requester_and_found_again() {
    let fake = fake().await;
    fake.add_ticket_field("cf_order_number");
    let group = fake.add_group("Niveau 2");
    let c = client(&fake);
    let groups = c.groups().await.unwrap();
    assert_eq!(
        groups.iter().find(|g| g.name == "Niveau 2").map(|g| g.id),
        Some(group)
    );
    let fields = c.ticket_fields().await.unwrap();
    assert!(fields.iter().any(|f| f.name == "cf_order_number"));

    let t = c
        .create_ticket(&NewTicket {
            requester_email: "sav@shop.example".into(),
            subject: "[colisync parcel/100023/6A1] Anomalie de suivi".into(),
            description: "<p>colisync-ticket:parcel/100023/6A1:escalated</p>".into(),
            group_id: Some(group),
            tags: vec!["colisync".into()],
            custom_fields: order_field("100023"),
        })
        .await
        .unwrap();
    assert_eq!(t.group_id, Some(group));
    let mine = c
        .tickets(
            &TicketFilter::Email {
                email: "sav@shop.example".into(),
                updated_since: now() - chrono::Duration::days(1),
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![t.id]
    );
    let to: Vec<String> = fake.notifications().into_iter().map(|n| n.to).collect();
    assert_eq!(
        to,
        vec!["sav@shop.example".to_owned()],
        "only the internal address"
    );

    let who = fake.add_contact("Jeanne", "jeanne@example.fr");
    let open = fake.add_ticket(who, "Colis", 2, now(), Map::new());
    let same = c.set_group(open, group).await.unwrap();
    assert_eq!(same.group_id, Some(group));
    assert_eq!(c.set_group(open, group).await.unwrap(), same, "idempotent");
    let agent = c.agent_me().await.unwrap();
    assert_eq!(agent.ticket_scope, Some(1));
}

#[tokio::test]
async fn an_echoed_key_never_reaches_an_error() {
    let fake = fake().await;
    let c = client(&fake);
    fake.faults().always(
        "*",
        "/api/v2",
        Fault::EchoCredentials {
            status: 400,
            content_type: "application/json".into(),
            template: r#"{"description":"Bad key {creds} / {creds_pct}","errors":[{"field":"{creds}","message":"{creds}","code":"invalid_value"}]}"#.into(),
        },
    );
    let e = c.agent_me().await.expect_err("400");
    let shown = format!("{e} {e:?}");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:X"));
    for s in [KEY, basic.as_str()] {
        assert!(!shown.contains(s), "{shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
}
