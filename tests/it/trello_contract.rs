//! Contract tests: the Trello client against the in-process fake Trello,
//! every method, every error shape and every injected fault. No network.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use colisync::board::TEXT_LIMIT;
use colisync::board::trello::{CardUpdate, NewCard, TrelloClient, TrelloError};
use colisync::board::{BoardCard, parse_marker};
use colisync::config::TrelloConfig;
use colisync::http::{HttpError, Idempotent, RetryPolicy};
use colisync_testkit::Fault;
use colisync_testkit::trello::{FakeClock, FakeTrello, FakeTrelloOptions};

const KEY: &str = "k3y0ddvalue7a1b2c3d4e5f60718293a";
const TOKEN: &str = "t0kenSECRETvalue0123456789abcdef";
/// 2026-05-19 08:00:00 UTC, the fake's clock in the paging tests.
const START: u32 = 1_779_177_600;

async fn fake(rate_limit: Option<(u32, Duration)>) -> FakeTrello {
    FakeTrello::try_start(FakeTrelloOptions {
        key: KEY.to_owned(),
        token: TOKEN.to_owned(),
        rate_limit,
    })
    .await
    .expect("start fake Trello")
}

/// A client with tiny backoffs, a short timeout and a limiter that never
/// gets in the way (the fake's limit is off in these tests).
fn client_cfg(fake: &FakeTrello) -> TrelloConfig {
    let mut cfg = fake.config();
    cfg.rate_limit = 100_000;
    cfg.rate_window = Duration::from_millis(200);
    // Generous: a loaded CI machine must not turn a normal answer into a
    // timeout. Tests about timeouts use `slow_client`.
    cfg.timeout = Duration::from_secs(3);
    cfg
}

/// A client that gives up after 300 ms, for `Fault::Slow` tests.
fn slow_client(fake: &FakeTrello) -> TrelloClient {
    let mut cfg = client_cfg(fake);
    cfg.timeout = Duration::from_millis(300);
    client(&cfg)
}

fn client(cfg: &TrelloConfig) -> TrelloClient {
    TrelloClient::with_retry(cfg, RetryPolicy::fast()).expect("client")
}

async fn setup() -> (FakeTrello, TrelloClient, String) {
    let fake = fake(None).await;
    let list = fake.add_list("Retard d'expédition");
    let c = client(&client_cfg(&fake));
    (fake, c, list)
}

fn new_card(n: u32) -> NewCard {
    NewCard {
        name: format!("Cmd {n} · Retard d'expédition"),
        desc: format!("**Client** : X\n\n`colisync-key: order/{n}`"),
        id_labels: Vec::new(),
        due: None,
    }
}

#[tokio::test]
async fn every_method_round_trips() {
    let (fake, c, list) = setup().await;
    let archived = fake.add_list("Old");
    fake.archive_list(&archived);

    assert_eq!(c.board_id().await.expect("board id"), fake.board_id());
    let lists = c.lists().await.expect("lists");
    assert_eq!(lists.len(), 1, "archived lists are left out");
    assert_eq!(lists[0].name, "Retard d'expédition");

    let resolved = c.create_list("Résolu").await.expect("create list");
    assert_eq!(resolved.name, "Résolu");
    assert!(fake.lists().iter().any(|l| l.id == resolved.id));

    let label = c
        .create_label("Chronopost", "red")
        .await
        .expect("create label");
    let labels = c.labels().await.expect("labels");
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].color.as_deref(), Some("red"));

    let due = Utc
        .with_ymd_and_hms(2026, 5, 19, 14, 0, 0)
        .single()
        .expect("date");
    let mut nc = new_card(100023);
    nc.id_labels = vec![label.id.clone()];
    nc.due = Some(due);
    let card = c.create_card(&list, &nc).await.expect("create card");
    assert_eq!(card.name, nc.name);
    assert_eq!(card.id_list, list);
    assert_eq!(card.id_labels, vec![label.id.clone()]);
    assert_eq!(card.due, Some(due));
    assert_eq!(fake.requests().count("POST", "/1/cards"), 1, "one request");

    let read: BoardCard = c.card(&card.id).await.expect("card");
    assert_eq!(read, card);

    // PUT changes only what is sent.
    let moved = c
        .update_card(
            &card.id,
            &CardUpdate {
                id_list: Some(resolved.id.clone()),
                due: Some(None),
                ..CardUpdate::default()
            },
            Idempotent::Yes,
        )
        .await
        .expect("update");
    assert_eq!(moved.id_list, resolved.id);
    assert_eq!(moved.due, None);
    assert_eq!(moved.name, nc.name);
    assert_eq!(moved.desc, nc.desc);
    assert_eq!(moved.id_labels, vec![label.id.clone()]);
    let closed = c
        .update_card(
            &card.id,
            &CardUpdate {
                closed: Some(true),
                id_labels: Some(Vec::new()),
                ..CardUpdate::default()
            },
            Idempotent::Yes,
        )
        .await
        .expect("archive");
    assert!(closed.closed);
    assert!(closed.id_labels.is_empty());

    let comment_id = c
        .add_comment(&card.id, "Colis livré : problème résolu.")
        .await
        .expect("comment");
    assert_eq!(comment_id.len(), 24);
    assert_eq!(
        fake.comments(&card.id),
        vec!["Colis livré : problème résolu."]
    );

    c.add_label(&card.id, &label.id).await.expect("label");
    c.add_label(&card.id, &label.id)
        .await
        .expect("label again is fine");
    assert_eq!(fake.card(&card.id).expect("card").id_labels, vec![label.id]);

    // The board listing includes archived cards.
    let cards = c.cards().await.expect("cards");
    assert_eq!(cards.len(), 1);
    assert!(cards[0].closed);

    assert_eq!(
        fake.query_credentials_count(),
        0,
        "credentials only in header"
    );
    let routes = fake.requests().per_route();
    assert_eq!(routes["POST /1/cards"], 1, "{routes:?}");
    assert_eq!(routes["PUT /1/cards/{id}"], 2, "{routes:?}");
    assert_eq!(
        routes["GET /1/boards/{id}"], 1,
        "board id resolved once: {routes:?}"
    );
    assert_eq!(fake.request_count(), fake.requests().all().len());
}

#[tokio::test]
async fn long_texts_are_cut_to_the_limit_keeping_the_marker() {
    let (fake, c, list) = setup().await;
    let mut nc = new_card(7);
    nc.name = "N".repeat(TEXT_LIMIT + 10);
    nc.desc = format!("{}\n`colisync-key: order/7`", "d".repeat(40_000));
    let card = c.create_card(&list, &nc).await.expect("create");
    let stored = fake.card(&card.id).expect("stored");
    assert!(stored.name.chars().count() <= TEXT_LIMIT);
    assert!(stored.desc.chars().count() <= TEXT_LIMIT);
    assert!(stored.desc.contains("tronqué"));
    assert!(parse_marker(&stored.desc).is_some());
    c.add_comment(&card.id, &"c".repeat(TEXT_LIMIT * 2))
        .await
        .expect("long comment cut");
}

#[tokio::test]
async fn fake_refuses_texts_over_the_limit() {
    let fake = fake(None).await;
    let list = fake.add_list("L");
    let resp = reqwest::Client::new()
        .post(fake.base_url().join("1/cards").expect("url"))
        .header(
            "Authorization",
            format!("OAuth oauth_consumer_key=\"{KEY}\", oauth_token=\"{TOKEN}\""),
        )
        .json(&serde_json::json!({ "idList": list, "name": "x".repeat(TEXT_LIMIT + 1) }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.text().await.expect("body"), "invalid value for name");
    assert!(fake.cards().is_empty());
}

#[tokio::test]
async fn cards_are_paged_newest_first_past_1000() {
    let (fake, c, list) = setup().await;
    // Seven cards a second: every page boundary falls inside a second.
    fake.set_clock(FakeClock::Manual {
        second: START,
        ids_per_second: Some(7),
    });
    for i in 0..2345 {
        fake.add_card(&list, &format!("card {i}"), "");
    }
    let cards = c.cards().await.expect("cards");
    assert_eq!(cards.len(), 2345);
    let mut ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    ids.dedup();
    assert_eq!(ids.len(), 2345);
    assert_eq!(cards[0].name, "card 2344");
    // 1000 + 1000 + 345: three pages.
    let pages = fake
        .requests()
        .count("GET", &format!("/1/boards/{}/cards", fake.board_id()));
    assert_eq!(pages, 3);

    // Exactly 1000: a second, empty page ends the listing.
    let fake2 = fake_with_cards(1000).await;
    let c2 = client(&client_cfg(&fake2));
    assert_eq!(c2.cards().await.expect("cards").len(), 1000);
}

async fn fake_with_cards(n: usize) -> FakeTrello {
    let f = fake(None).await;
    f.set_clock(FakeClock::Manual {
        second: START,
        ids_per_second: Some(3),
    });
    let list = f.add_list("L");
    for i in 0..n {
        f.add_card(&list, &format!("c{i}"), "");
    }
    f
}

#[tokio::test]
async fn fake_caps_the_card_listing_limit() {
    let fake = fake(None).await;
    let url = fake
        .base_url()
        .join(&format!(
            "1/boards/{}/cards/all?limit=1001",
            fake.board_id()
        ))
        .expect("url");
    let resp = reqwest::Client::new()
        .get(url)
        .header(
            "Authorization",
            format!("OAuth oauth_consumer_key=\"{KEY}\", oauth_token=\"{TOKEN}\""),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn trello_errors_are_typed() {
    let (fake, c, list) = setup().await;
    let card = c.create_card(&list, &new_card(1)).await.expect("card");

    // Malformed list id: 400 invalid value for idList.
    let e = c
        .create_card("nope", &new_card(2))
        .await
        .expect_err("bad list");
    assert!(
        matches!(e, TrelloError::UnknownList { ref list_id, .. } if list_id == "nope"),
        "{e:?}"
    );
    // Well-formed, unknown: 404 could not find the board...
    let ghost = "5f1e0c00ffffffffffffffff";
    let e = c
        .create_card(ghost, &new_card(3))
        .await
        .expect_err("unknown list");
    assert!(matches!(e, TrelloError::UnknownList { .. }), "{e:?}");
    assert!(!e.outcome_is_unknown());
    // A lead archived... no: a list that vanished, on a move.
    let e = c
        .update_card(
            &card.id,
            &CardUpdate {
                id_list: Some(ghost.to_owned()),
                ..CardUpdate::default()
            },
            Idempotent::Yes,
        )
        .await
        .expect_err("move to unknown list");
    assert!(matches!(e, TrelloError::UnknownList { .. }), "{e:?}");
    assert_eq!(
        fake.card(&card.id).expect("card").id_list,
        list,
        "unchanged"
    );

    let e = c.card("not-an-id").await.expect_err("invalid id");
    assert!(
        matches!(e, TrelloError::BadRequest { ref message, .. } if message == "invalid id"),
        "{e:?}"
    );
    let e = c.card(ghost).await.expect_err("not found");
    assert!(matches!(e, TrelloError::NotFound { .. }), "{e:?}");
    let e = c.add_comment(ghost, "x").await.expect_err("not found");
    assert!(matches!(e, TrelloError::NotFound { .. }), "{e:?}");

    // Unknown board.
    let mut cfg = client_cfg(&fake);
    cfg.board = "ZZZZZZZZ".to_owned();
    let e = client(&cfg).lists().await.expect_err("unknown board");
    assert!(matches!(e, TrelloError::NotFound { .. }), "{e:?}");
    assert_eq!(fake.cards().len(), 1);
}

#[tokio::test]
async fn unauthorized_is_fatal_and_not_retried() {
    let fake = fake(None).await;
    let cases = [
        ("wrongkey", TOKEN, "invalid key"),
        (KEY, "wrongtoken", "invalid token"),
        (KEY, "", "missing scopes"),
    ];
    for (key, token, want) in cases {
        let mut cfg = client_cfg(&fake);
        cfg.key = colisync::secret::Secret::new(key);
        cfg.token = colisync::secret::Secret::new(token);
        let before = fake.request_count();
        let e = client(&cfg).board_id().await.expect_err("401");
        assert!(
            matches!(e, TrelloError::Unauthorized { status: 401, ref message } if message == want),
            "{e:?}"
        );
        assert!(e.is_fatal());
        assert_eq!(fake.request_count() - before, 1, "no retry on 401");
    }
}

#[tokio::test]
async fn rate_limited_answers_are_honoured() {
    let (fake, c, list) = setup().await;
    let card = c.create_card(&list, &new_card(1)).await.expect("card");

    // With Retry-After.
    fake.faults().once(
        "GET",
        "/1/cards/",
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let started = std::time::Instant::now();
    c.card(&card.id).await.expect("retried after Retry-After");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited Retry-After"
    );
    // Without: the client waits its window (200 ms here).
    fake.faults().once(
        "GET",
        "/1/cards/",
        Fault::TooManyRequests { retry_after: None },
    );
    c.card(&card.id).await.expect("retried after the window");
    // A 429 on a create: the card was not made, so retrying is safe.
    fake.faults().once(
        "POST",
        "/1/cards",
        Fault::TooManyRequests { retry_after: None },
    );
    c.create_card(&list, &new_card(2))
        .await
        .expect("create retried");
    assert_eq!(fake.cards().len(), 2);
    // Still limited after every retry: a typed error.
    fake.faults().always(
        "GET",
        "/1/cards/",
        Fault::TooManyRequests { retry_after: None },
    );
    let e = c.card(&card.id).await.expect_err("limited");
    assert!(matches!(e, TrelloError::RateLimited { .. }), "{e:?}");
    assert!(!e.outcome_is_unknown());
}

#[tokio::test]
async fn server_errors_retry_reads_and_idempotent_writes_only() {
    let (fake, c, list) = setup().await;
    fake.faults()
        .times(2, "GET", "/1/boards/", Fault::Status(503));
    c.lists().await.expect("read retried through 503s");

    let card = c.create_card(&list, &new_card(1)).await.expect("card");
    let before = fake.requests().count("POST", "/1/cards");
    fake.faults().once("POST", "/1/cards", Fault::Status(502));
    let e = c.create_card(&list, &new_card(2)).await.expect_err("502");
    assert!(e.outcome_is_unknown(), "{e:?}");
    assert_eq!(
        fake.requests().count("POST", "/1/cards") - before,
        1,
        "not retried"
    );

    let update = CardUpdate {
        desc: Some("nouvelle description\n`colisync-key: order/1`".to_owned()),
        ..CardUpdate::default()
    };
    fake.faults().once("PUT", "/1/cards/", Fault::Status(500));
    c.update_card(&card.id, &update, Idempotent::Yes)
        .await
        .expect("idempotent PUT retried");
    fake.faults().once("PUT", "/1/cards/", Fault::Status(500));
    let e = c
        .update_card(&card.id, &update, Idempotent::No)
        .await
        .expect_err("non-idempotent PUT not retried");
    assert!(e.outcome_is_unknown());
}

#[tokio::test]
async fn lost_answers_and_resets_on_writes_are_unknown_outcomes() {
    let (fake, c, list) = setup().await;
    fake.faults().once("POST", "/1/cards", Fault::LoseAnswer);
    let e = c.create_card(&list, &new_card(42)).await.expect_err("lost");
    assert!(e.outcome_is_unknown(), "{e:?}");
    assert_eq!(fake.cards().len(), 1, "created once, not retried");
    // Settling: the card is found on the board by its marker.
    let cards = c.cards().await.expect("cards");
    assert!(
        cards
            .iter()
            .any(|c| parse_marker(&c.desc).is_some_and(|k| k.to_string().contains("42")))
    );

    fake.faults().once("POST", "/1/cards", Fault::Reset);
    let e = c
        .create_card(&list, &new_card(43))
        .await
        .expect_err("reset");
    assert!(
        matches!(e, TrelloError::Http(HttpError::Transport { .. })),
        "{e:?}"
    );
    assert!(e.outcome_is_unknown());
    assert_eq!(
        fake.cards().len(),
        1,
        "a reset before the handler creates nothing"
    );

    let id = fake.cards()[0].id.clone();
    fake.faults().once("POST", "/1/cards/", Fault::LoseAnswer);
    let e = c.add_comment(&id, "hello").await.expect_err("lost comment");
    assert!(e.outcome_is_unknown());
    assert_eq!(fake.comments(&id).len(), 1);

    fake.faults().once("GET", "/1/boards/", Fault::Reset);
    c.lists().await.expect("read retried after reset");
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let (fake, c, list) = setup().await;
    fake.add_card(&list, "a", "");
    fake.faults()
        .once("GET", "/1/boards/", Fault::TruncatedJson);
    // The board id request is the first GET /1/boards/.
    let e = c.cards().await.expect_err("truncated");
    assert!(
        matches!(e, TrelloError::Http(HttpError::Decode { .. })),
        "{e:?}"
    );
    fake.faults().once("POST", "/1/cards", Fault::TruncatedJson);
    let e = c
        .create_card(&list, &new_card(5))
        .await
        .expect_err("truncated");
    assert!(e.outcome_is_unknown(), "the card exists, its id is unknown");
    assert_eq!(fake.cards().len(), 2);
}

#[tokio::test]
async fn slow_answers_hit_the_timeout() {
    let (fake, c, list) = setup().await;
    let card = c.create_card(&list, &new_card(1)).await.expect("card");
    let c = slow_client(&fake);
    fake.faults()
        .always("GET", "/1/cards/", Fault::Slow(Duration::from_secs(2)));
    let e = c.card(&card.id).await.expect_err("timeout");
    assert!(
        matches!(e, TrelloError::Http(HttpError::Timeout { .. })),
        "{e:?}"
    );
    fake.faults().clear();
    fake.faults()
        .once("POST", "/1/cards", Fault::Slow(Duration::from_secs(2)));
    let e = c
        .create_card(&list, &new_card(2))
        .await
        .expect_err("timeout");
    assert!(e.outcome_is_unknown());
    assert_eq!(fake.cards().len(), 2, "the slow create happened");
}

#[tokio::test]
async fn fake_enforces_the_sliding_window_with_headers() {
    let fake = fake(Some((5, Duration::from_secs(10)))).await;
    let http = reqwest::Client::new();
    let url = fake
        .base_url()
        .join(&format!("1/boards/{}", fake.board_id()))
        .expect("url");
    let auth = format!("OAuth oauth_consumer_key=\"{KEY}\", oauth_token=\"{TOKEN}\"");
    for i in 0..5u32 {
        let r = http
            .get(url.clone())
            .header("Authorization", &auth)
            .send()
            .await
            .expect("ok");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["x-rate-limit-api-token-remaining"],
            (4 - i).to_string().as_str()
        );
        assert_eq!(r.headers()["x-rate-limit-api-token-max"], "5");
    }
    let r = http
        .get(url)
        .header("Authorization", &auth)
        .send()
        .await
        .expect("429");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-rate-limit-api-token-interval-ms"], "10000");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "API_TOKEN_LIMIT_EXCEEDED");
    assert_eq!(fake.rate_limited_count(), 1);
}

#[tokio::test]
async fn limiter_keeps_a_burst_under_the_fakes_limit() {
    let window = Duration::from_secs(1);
    let fake = fake(Some((50, window))).await;
    let list = fake.add_list("L");
    let card = fake.add_card(&list, "c", "");
    let mut cfg = fake.config();
    assert_eq!((cfg.rate_limit, cfg.rate_window), (50, window));
    cfg.timeout = Duration::from_secs(5);
    let c = client(&cfg);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..150 {
        let (c, card) = (c.clone(), card.clone());
        tasks.spawn(async move { c.card(&card).await });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        r.expect("task").expect("call under the limit");
        ok += 1;
    }
    assert_eq!(ok, 150);
    assert_eq!(fake.rate_limited_count(), 0, "never a 429 from the fake");
}

#[tokio::test]
async fn remaining_zero_header_pauses_the_client() {
    // The fake allows 5 per 300 ms; the client believes it may send far
    // more: only the headers keep it out of 429s.
    let fake = fake(Some((5, Duration::from_millis(300)))).await;
    let list = fake.add_list("L");
    let card = fake.add_card(&list, "c", "");
    let mut cfg = client_cfg(&fake);
    cfg.rate_window = Duration::from_millis(300);
    let c = client(&cfg);
    for _ in 0..12 {
        c.card(&card).await.expect("card");
    }
    assert_eq!(fake.rate_limited_count(), 0);
}

/// Every error kind, formatted both ways, never shows the key or token.
#[tokio::test]
async fn no_secret_in_any_error() {
    let (fake, c, list) = setup().await;
    let card = c.create_card(&list, &new_card(1)).await.expect("card");
    let mut errors: Vec<TrelloError> = Vec::new();

    for (key, token) in [("bad", TOKEN), (KEY, "bad"), (KEY, "")] {
        let mut cfg = client_cfg(&fake);
        cfg.key = colisync::secret::Secret::new(key);
        cfg.token = colisync::secret::Secret::new(token);
        errors.push(client(&cfg).board_id().await.expect_err("401"));
    }
    errors.push(c.create_card("bad", &new_card(2)).await.expect_err("list"));
    errors.push(c.card("bad").await.expect_err("invalid id"));
    errors.push(c.card("5f1e0c00ffffffffffffffff").await.expect_err("404"));
    fake.faults().always(
        "GET",
        "/1/cards/",
        Fault::TooManyRequests {
            retry_after: Some(0),
        },
    );
    errors.push(c.card(&card.id).await.expect_err("429"));
    fake.faults().clear();
    fake.faults().always("GET", "/1/cards/", Fault::Status(503));
    errors.push(c.card(&card.id).await.expect_err("503"));
    fake.faults().clear();
    fake.faults().once("GET", "/1/cards/", Fault::TruncatedJson);
    errors.push(c.card(&card.id).await.expect_err("decode"));
    fake.faults().always("GET", "/1/cards/", Fault::Reset);
    errors.push(c.card(&card.id).await.expect_err("reset"));
    fake.faults().clear();
    fake.faults()
        .always("GET", "/1/cards/", Fault::Slow(Duration::from_secs(2)));
    errors.push(
        slow_client(&fake)
            .card(&card.id)
            .await
            .expect_err("timeout"),
    );
    fake.faults().clear();
    // A server that echoes credentials in its error body.
    fake.faults().once(
        "GET",
        "/1/cards/",
        Fault::StatusBody {
            status: 400,
            content_type: "text/plain".into(),
            body: format!(
                "bad request for https://x/1/cards?key={KEY}&token={TOKEN} token={TOKEN}"
            ),
        },
    );
    errors.push(c.card(&card.id).await.expect_err("echo"));
    // Nothing listening: connect error.
    let mut cfg = client_cfg(&fake);
    cfg.base_url = url::Url::parse("http://127.0.0.1:9/").expect("url");
    errors.push(client(&cfg).board_id().await.expect_err("connect"));
    // A key that cannot be a header value.
    cfg.key = colisync::secret::Secret::new(format!("{KEY}\n"));
    errors.push(TrelloClient::new(&cfg).expect_err("bad header"));

    let kinds: std::collections::BTreeSet<String> = errors
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(kinds.len() >= 6, "{kinds:?}");
    for e in &errors {
        for text in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert!(!text.contains(KEY), "key leaked: {text}");
            assert!(!text.contains(TOKEN), "token leaked: {text}");
        }
    }
    // Debug of the client and its config hide them too.
    for text in [format!("{c:?}"), format!("{:?}", client_cfg(&fake))] {
        assert!(!text.contains(KEY) && !text.contains(TOKEN), "{text}");
    }
}

/// `GET /1/boards/{id}/cards/all` with the given query, straight to the
/// fake (the client never sends some of these).
async fn raw_listing(fake: &FakeTrello, query: &str) -> Vec<serde_json::Value> {
    let url = fake
        .base_url()
        .join(&format!("1/boards/{}/cards/all?{query}", fake.board_id()))
        .expect("url");
    let resp = reqwest::Client::new()
        .get(url)
        .header(
            "Authorization",
            format!("OAuth oauth_consumer_key=\"{KEY}\", oauth_token=\"{TOKEN}\""),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

fn listing_calls(fake: &FakeTrello) -> usize {
    fake.requests()
        .count("GET", &format!("/1/boards/{}/cards", fake.board_id()))
}

/// The fake reproduces trello-archive/api-docs issue 68: paging with
/// `before=<oldest id of the page>` misses the cards created in that
/// card's second that did not fit in the page. The client misses none.
#[tokio::test]
async fn paging_by_before_id_skips_same_second_cards_as_on_trello_and_the_client_does_not() {
    let (fake, c, list) = setup().await;
    let other = fake.add_list("Retard de livraison");
    fake.set_clock(FakeClock::Manual {
        second: START,
        ids_per_second: Some(400),
    });
    for i in 0..1200 {
        let l = if i % 2 == 0 { &list } else { &other };
        fake.add_card(l, &format!("card {i}"), "");
    }
    let ids: Vec<String> = fake.cards().into_iter().map(|c| c.id).collect();
    // Ids carry their creation second: 400 cards share each one.
    let seconds: std::collections::BTreeSet<&str> = ids.iter().map(|i| &i[..8]).collect();
    assert_eq!(seconds.len(), 3, "{seconds:?}");

    // The old way: the 1000 newest, then before the oldest of them.
    let first = raw_listing(&fake, "limit=1000&sort=-id").await;
    assert_eq!(first.len(), 1000);
    let oldest = first
        .iter()
        .filter_map(|c| c["id"].as_str())
        .min()
        .expect("an id")
        .to_owned();
    let second = raw_listing(&fake, &format!("limit=1000&sort=-id&before={oldest}")).await;
    assert_eq!(
        first.len() + second.len(),
        1000,
        "every card left was created in the boundary's second: all skipped"
    );
    // The answer is in board order, not id order: no sort=-id.
    let page_ids: Vec<&str> = first.iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(
        !page_ids.windows(2).all(|w| w[0] > w[1]),
        "sort=-id honoured"
    );

    let calls_before = listing_calls(&fake);
    let cards = c.cards().await.expect("cards");
    assert_eq!(cards.len(), 1200, "no card missed");
    let mut got: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), 1200, "no duplicate");
    // Page 1 (1000 newest), then before the next second: the 200 left of
    // the boundary's second come again with the 200 more of it.
    assert_eq!(listing_calls(&fake) - calls_before, 2);
}

/// More than a page of cards created in one second (a board copy, an
/// import): `before` cannot page inside a second, so the client reads that
/// second again as its open and its archived cards, then goes on before it.
#[tokio::test]
async fn a_second_holding_more_than_a_page_is_read_in_halves() {
    let (fake, c, list) = setup().await;
    fake.set_clock(FakeClock::Manual {
        second: START,
        ids_per_second: Some(300),
    });
    for i in 0..600 {
        fake.add_card(&list, &format!("old {i}"), "");
    }
    // Then 1500 in one second, 600 of them archived.
    fake.set_clock(FakeClock::Manual {
        second: START + 10,
        ids_per_second: None,
    });
    for i in 0..1500 {
        let id = fake.add_card(&list, &format!("copy {i}"), "");
        if i % 5 < 2 {
            fake.archive_card(&id);
        }
    }
    // And a few in later seconds.
    fake.set_clock(FakeClock::Manual {
        second: START + 20,
        ids_per_second: Some(1),
    });
    for i in 0..5 {
        fake.add_card(&list, &format!("new {i}"), "");
    }
    let cards = c.cards().await.expect("cards");
    assert_eq!(cards.len(), 2105);
    assert_eq!(cards.iter().filter(|c| c.closed).count(), 600);
    // 1: the 5 new and 995 of the crowded second; 2: the crowded second
    // alone (1000 of it); 3, 4: its open and archived halves; 5: the 600
    // before it, a short page.
    assert_eq!(listing_calls(&fake), 5);
}

/// When even a half does not fit in a page, the listing fails (it never
/// answers a board with cards missing) and stops after a bounded number of
/// requests.
#[tokio::test]
async fn a_second_that_cannot_be_listed_fails_the_listing_without_looping() {
    let (fake, c, list) = setup().await;
    fake.set_clock(FakeClock::Manual {
        second: START,
        ids_per_second: None,
    });
    for i in 0..1200 {
        fake.add_card(&list, &format!("copy {i}"), "");
    }
    let e = c.cards().await.expect_err("cannot be complete");
    assert!(matches!(e, TrelloError::Incomplete { .. }), "{e:?}");
    assert!(!e.is_fatal() && !e.outcome_is_unknown());
    // The page, then the open half.
    assert_eq!(listing_calls(&fake), 2);
}

/// Reading a recorded card by id: on the board (open or archived) or gone.
#[tokio::test]
async fn a_card_is_read_on_the_board_or_gone() {
    let (fake, c, list) = setup().await;
    let open = fake.add_card(&list, "open", "");
    let archived = fake.add_card(&list, "archived", "");
    fake.archive_card(&archived);
    let deleted = fake.add_card(&list, "deleted", "");
    fake.delete_card(&deleted);
    let read = c.card_on_board(&open).await.expect("read");
    assert!(read.is_some_and(|c| !c.closed && c.name == "open"));
    let read = c.card_on_board(&archived).await.expect("read");
    assert!(read.is_some_and(|c| c.closed));
    assert_eq!(c.card_on_board(&deleted).await.expect("read"), None);
    fake.faults().always("GET", "/1/cards/", Fault::Status(503));
    assert!(
        c.card_on_board(&open).await.is_err(),
        "an error is no answer"
    );
}

/// A real `GET /boards/{id}/cards` answer from another board (see
/// tests/fixtures/PROVENANCE.md), served by the fake in place of its own
/// listing and read by the client: what colisync takes from each card.
#[tokio::test]
async fn a_real_board_listing_decodes_into_what_colisync_reads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/trello/a-straube-board-cards.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let raw: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    assert_eq!(raw.len(), 63);
    // Board order (lists, then position), not id order: the order of an
    // answer tells nothing about creation.
    let raw_ids: Vec<&str> = raw.iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(!raw_ids.windows(2).all(|w| w[0] > w[1]));
    assert!(!raw_ids.windows(2).all(|w| w[0] < w[1]));

    let (fake, c, _) = setup().await;
    fake.faults().once(
        "GET",
        &format!("/1/boards/{}/cards", fake.board_id()),
        Fault::StatusBody {
            status: 200,
            content_type: "application/json; charset=utf-8".into(),
            body: text.clone(),
        },
    );
    let cards = c.cards().await.expect("decodes");
    assert_eq!(cards.len(), 63, "a short page: one call");
    assert_eq!(listing_calls(&fake), 1);
    let by_id: std::collections::BTreeMap<&str, &BoardCard> =
        cards.iter().map(|c| (c.id.as_str(), c)).collect();
    for raw in &raw {
        let id = raw["id"].as_str().expect("id");
        let card = by_id.get(id).unwrap_or_else(|| panic!("{id} read"));
        assert!(colisync::board::trello::id_second(&card.id).is_some());
        assert_eq!(Some(card.id_list.as_str()), raw["idList"].as_str());
        assert_eq!(Some(card.name.as_str()), raw["name"].as_str());
        assert_eq!(Some(card.closed), raw["closed"].as_bool());
        assert!(raw["due"].is_null());
        assert_eq!(card.due, None, "due: null");
        let labels: Vec<&str> = raw["idLabels"]
            .as_array()
            .expect("idLabels")
            .iter()
            .filter_map(|l| l.as_str())
            .collect();
        assert_eq!(card.id_labels, labels);
        // No marker line: none of these is colisync's card.
        assert_eq!(Some(card.desc.as_str()), raw["desc"].as_str());
        assert_eq!(parse_marker(&card.desc), None);
    }
    let template = by_id["5ad3c82d8ac5afdb542bf3da"];
    assert_eq!(template.name, "Template");
    assert_eq!(template.id_list, "5ad3c6eb79d93844dc6b0b40");
    assert_eq!(
        template.id_labels,
        vec!["5ad3c6eb841642c2a80fd9f7".to_owned()]
    );
    // Its first 8 hex digits: created 2018-04-15 21:46:21 UTC.
    assert_eq!(
        colisync::board::trello::id_second(&template.id),
        Some(0x5ad3_c82d)
    );
    assert!(cards.iter().all(|c| !c.closed));
    assert!(cards.iter().any(|c| c.id_labels.len() > 1));
    assert!(cards.iter().any(|c| c.id_labels.is_empty()));
    // Newest first, as the client promises.
    assert!(cards.windows(2).all(|w| w[0].id > w[1].id));
}

/// Checklists as the case cards use them: created on a card, items added at
/// the bottom, read back by name and state; the lead ticks an item and the
/// card's `badges` count it, as Trello's card JSON does.
#[tokio::test]
async fn checklists_round_trip_and_the_leads_ticks_are_read_back() {
    let (fake, c, list) = setup().await;
    let card = c.create_card(&list, &new_card(77)).await.expect("card");
    let checklist = c
        .create_checklist(&card.id, "Procédure colisync · colis perdu")
        .await
        .expect("checklist");
    assert!(checklist.items.is_empty());
    let due = Utc.with_ymd_and_hms(2026, 5, 19, 22, 0, 0).unwrap();
    let first = c
        .add_check_item(&checklist.id, "1. mar. 19 mai 2026 — Patientez", Some(due))
        .await
        .expect("item 1");
    let second = c
        .add_check_item(&checklist.id, "2. Voisinage", None)
        .await
        .expect("item 2");
    assert!(!first.complete && !second.complete);

    let fakes = fake.checklists(&card.id);
    assert_eq!(fakes.len(), 1);
    assert_eq!(fakes[0].items.len(), 2);
    assert_eq!(fakes[0].items[0].due, Some(due), "due sent when given");
    assert_eq!(fakes[0].items[1].due, None, "and only then");

    assert!(fake.tick_check_item(&card.id, "2."));
    let read = c.card_checklists(&card.id).await.expect("read back");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].name, "Procédure colisync · colis perdu");
    let names: Vec<(&str, bool)> = read[0]
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.complete))
        .collect();
    assert_eq!(
        names,
        [
            ("1. mar. 19 mai 2026 — Patientez", false),
            ("2. Voisinage", true)
        ],
        "in pos order, with the lead's tick"
    );

    // The card JSON carries the badges and ticked states (a-straube
    // fixture's shape), and the item can be ticked through the card.
    let cfg = client_cfg(&fake);
    let auth = format!(
        "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
        cfg.key.expose(),
        cfg.token.expose()
    );
    let http = reqwest::Client::new();
    let base = fake.base_url();
    let url = base
        .join(&format!("1/cards/{}/checkItem/{}", card.id, first.id))
        .unwrap();
    let put = http
        .put(url)
        .header("Authorization", &auth)
        .query(&[("state", "complete")])
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let body: serde_json::Value = put.json().await.expect("item json");
    assert_eq!(body["state"], "complete");
    assert_eq!(body["idChecklist"], checklist.id.as_str());
    let url = base.join(&format!("1/cards/{}", card.id)).unwrap();
    let got: serde_json::Value = http
        .get(url)
        .header("Authorization", &auth)
        .query(&[("fields", "badges,idChecklists,checkItemStates")])
        .send()
        .await
        .expect("get card")
        .json()
        .await
        .expect("card json");
    assert_eq!(got["badges"]["checkItems"], 2);
    assert_eq!(got["badges"]["checkItemsChecked"], 2);
    assert_eq!(got["idChecklists"][0], checklist.id.as_str());
    assert_eq!(got["checkItemStates"].as_array().map(Vec::len), Some(2));

    // A refused due and an unknown checklist, as Trello answers them.
    let url = base
        .join(&format!("1/checklists/{}/checkItems", checklist.id))
        .unwrap();
    let bad = http
        .post(url)
        .header("Authorization", &auth)
        .query(&[("name", "x"), ("due", "demain")])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.text().await.unwrap(), "invalid value for due");
    let e = c
        .add_check_item("5f1e0c000c01150a7effffff", "x", None)
        .await
        .expect_err("unknown checklist");
    assert!(!e.outcome_is_unknown(), "{e:?}");
}

#[tokio::test]
async fn a_lost_checklist_answer_is_an_unknown_outcome_settled_by_name() {
    let (fake, c, list) = setup().await;
    let card = c.create_card(&list, &new_card(78)).await.expect("card");
    fake.faults().once(
        "POST",
        &format!("/1/cards/{}/checklists", card.id),
        Fault::LoseAnswer,
    );
    let e = c
        .create_checklist(&card.id, "Procédure colisync · colis perdu")
        .await
        .expect_err("lost");
    assert!(e.outcome_is_unknown(), "{e:?}");
    let read = c.card_checklists(&card.id).await.expect("read back");
    assert_eq!(read.len(), 1, "created once, not retried");
    assert_eq!(read[0].name, "Procédure colisync · colis perdu");

    fake.faults()
        .once("POST", "/1/checklists/", Fault::LoseAnswer);
    let e = c
        .add_check_item(&read[0].id, "1. Patientez", None)
        .await
        .expect_err("lost item");
    assert!(e.outcome_is_unknown(), "{e:?}");
    assert_eq!(fake.checklists(&card.id)[0].items.len(), 1);
}

/// The board read a pass makes: the id, the open lists and every label
/// (more than Trello's default page of 50) nested in one
/// `GET /1/boards/{board}`, which also resolves the configured short link
/// so that the cards listing needs no separate resolution. Without the
/// nested parameters, Trello (and the fake) nest nothing.
#[tokio::test]
async fn one_nested_board_read_answers_id_lists_and_labels() {
    let (fake, c, _list) = setup().await;
    let archived = fake.add_list("Old");
    fake.archive_list(&archived);
    for i in 0..60 {
        fake.add_label(&format!("l{i}"), Some("red"));
    }
    let before = fake.request_count();
    let b = c.board_lists_labels().await.expect("board");
    assert_eq!(b.id, fake.board_id());
    assert_eq!(b.lists.len(), 1, "archived lists are left out");
    assert_eq!(b.lists[0].name, "Retard d'expédition");
    assert_eq!(b.labels.len(), 60);
    assert_eq!(b.labels[0].color.as_deref(), Some("red"));
    c.cards().await.expect("cards");
    assert_eq!(
        fake.request_count() - before,
        2,
        "board, then one page of cards"
    );
    let routes = fake.requests().per_route();
    assert_eq!(routes["GET /1/boards/{id}"], 1, "{routes:?}");

    let plain: serde_json::Value = reqwest::Client::new()
        .get(
            fake.base_url()
                .join(&format!("1/boards/{}?fields=id", fake.board_id()))
                .unwrap(),
        )
        .header(
            "Authorization",
            format!("OAuth oauth_consumer_key=\"{KEY}\", oauth_token=\"{TOKEN}\""),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        plain.get("lists").is_none() && plain.get("labels").is_none(),
        "{plain}"
    );
}
