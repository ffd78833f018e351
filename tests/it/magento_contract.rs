//! Contract tests of the Magento 2 client against the in-process fake:
//! paging (with the last page served again), the overlapping cursor, both
//! auth modes, the extension-attributes fallback, tolerant decoding,
//! batching of shipments and invoices, faults, and no secret in errors;
//! Adobe's documented order, invoice and ship payload served verbatim
//! (tests/fixtures/magento/, origins in tests/fixtures/PROVENANCE.md);
//! partial shipments and tracking numbers added later.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use colisync::config::{MagentoAuth, MagentoConfig};
use colisync::domain::{Customer, Item, Order, OrderState, Shipment, StatusChange, Track};
use colisync::http::RetryPolicy;
use colisync::secret::Secret;
use colisync::sources::magento::{MagentoClient, MagentoError};
use colisync_testkit::Fault;
use colisync_testkit::magento::{FakeMagento, FakeMagentoAuth, FakeMagentoError};
use serde_json::{Value, json};

const TOKEN: &str = "tok-Bearer-5ecret-123";
const CK: &str = "ck-consumer-key-aaa";
const CS: &str = "cs-consumer-5ecret-bbb";
const AT: &str = "at-access-token-ccc";
const ATS: &str = "ats-token-5ecret-ddd";

fn t(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, h, m, s)
        .single()
        .expect("valid test time")
}

fn order(id: u64, updated: DateTime<Utc>) -> Order {
    Order {
        entity_id: id,
        increment_id: format!("{}", 100_000 + id),
        state: OrderState::Processing,
        status: "processing".into(),
        customer: Customer {
            firstname: "Jeanne".into(),
            lastname: "Martin".into(),
            email: "jeanne@example.fr".into(),
        },
        items: vec![Item {
            sku: "CMP-HP301".into(),
            name: "Cartouche compatible HP 301".into(),
            qty: 2.0,
            // Shipped: what the fake serves and the client reads back.
            qty_to_ship: Some(0.0),
        }],
        shipping_method: Some("colissimo_homecl".into()),
        created_at: t(1, 9, 0, 0),
        updated_at: updated,
        invoices: vec![t(1, 9, 5, 0)],
        status_history: vec![StatusChange {
            status: "processing".into(),
            at: t(1, 9, 5, 0),
        }],
        shipments: vec![Shipment {
            entity_id: 10_000 + id,
            created_at: t(2, 14, 0, 0),
            tracks: vec![Track {
                number: format!("6A{:011}", id),
                carrier_code: "custom".into(),
                title: "Colissimo".into(),
                created_at: t(2, 14, 1, 0),
            }],
        }],
    }
}

fn config(base: url::Url, auth: MagentoAuth, page_size: u32) -> MagentoConfig {
    MagentoConfig {
        admin_url: base.join("admin").expect("admin url"),
        base_url: base,
        auth,
        lookback_days: 90,
        original_skus: Vec::new(),
        validated_statuses: vec!["processing".into()],
        page_size,
        overlap: Duration::from_secs(1),
        timeout: Duration::from_millis(400),
        order_notes: true,
    }
}

fn bearer(token: &str) -> MagentoAuth {
    MagentoAuth::Bearer(Secret::new(token))
}

fn oauth(consumer_secret: &str) -> MagentoAuth {
    MagentoAuth::OAuth1 {
        consumer_key: Secret::new(CK),
        consumer_secret: Secret::new(consumer_secret),
        access_token: Secret::new(AT),
        access_token_secret: Secret::new(ATS),
    }
}

fn client(fake: &FakeMagento, auth: MagentoAuth, page_size: u32) -> MagentoClient {
    MagentoClient::new(&config(fake.base_url(), auth, page_size))
        .expect("client")
        .with_retry(RetryPolicy::fast())
}

async fn bearer_shop() -> FakeMagento {
    FakeMagento::start(FakeMagentoAuth::Bearer(TOKEN.into()))
        .await
        .expect("fake")
}

fn assert_no_secret(text: &str) {
    for s in [TOKEN, CS, ATS, "5ecret"] {
        assert!(!text.contains(s), "secret {s:?} leaked in {text:?}");
    }
}

#[tokio::test]
async fn pulls_orders_with_shipments_invoices_and_history() {
    let fake = bearer_shop().await;
    let want = order(1, t(3, 10, 0, 0));
    fake.insert_order(&want);
    let c = client(&fake, bearer(TOKEN), 50);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert!(pull.rejected.is_empty());
    assert_eq!(pull.orders, vec![want]);
    assert_eq!(pull.max_updated_at, Some(t(3, 10, 0, 0)));
}

#[tokio::test]
async fn paging_stops_at_total_count_and_dedups_the_repeated_last_page() {
    let fake = bearer_shop().await;
    for id in 1..=7 {
        // Several orders in the same second: the entity_id tie-break keeps
        // pages stable.
        fake.insert_order(&order(id, t(3, 10, 0, (id / 3) as u32)));
    }
    let c = client(&fake, bearer(TOKEN), 3);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    let ids: Vec<u64> = pull.orders.iter().map(|o| o.entity_id).collect();
    assert_eq!(ids, (1..=7).collect::<Vec<_>>());
    assert_eq!(fake.counts().orders_list, 3, "3 × 3 ≥ 7: no fourth page");

    // A shop whose total_count over-counts: the client asks past the end,
    // Magento serves the last page again, the client de-duplicates.
    fake.reset_counts();
    fake.set_total_count_extra(4);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    let ids: Vec<u64> = pull.orders.iter().map(|o| o.entity_id).collect();
    assert_eq!(ids, (1..=7).collect::<Vec<_>>());
    assert_eq!(fake.counts().orders_list, 4, "3 × 4 ≥ 11");
}

#[tokio::test]
async fn an_order_changed_while_paging_does_not_hide_another() {
    // Sorted by updated_at, an order saved in the admin between two page
    // requests jumps to the end of the list: every order after it moves up
    // one place, and with page numbers the first order of the next page
    // lands on the page already read. The cursor then moves past it: lost
    // until it changes again.
    let fake = bearer_shop().await;
    for id in 1..=7 {
        fake.insert_order(&order(id, t(3, 10, id as u32, 0)));
    }
    fake.touch_after_orders_list(1, 1, t(3, 12, 0, 0));
    let c = client(&fake, bearer(TOKEN), 3);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    let mut ids: Vec<u64> = pull.orders.iter().map(|o| o.entity_id).collect();
    ids.sort();
    assert_eq!(ids, (1..=7).collect::<Vec<_>>());
    assert_eq!(pull.max_updated_at, Some(t(3, 12, 0, 0)));
}

/// Orders the caller already has at the same `updated_at` (the overlap
/// brings the newest back every pass) cost no shipments or invoices
/// request and are only counted; the cursor still sees them.
#[tokio::test]
async fn orders_the_caller_has_unchanged_are_not_read_further() {
    let fake = bearer_shop().await;
    fake.insert_order(&order(1, t(3, 10, 0, 0)));
    fake.insert_order(&order(2, t(3, 11, 0, 0)));
    let c = client(&fake, bearer(TOKEN), 10);
    let related = |fake: &FakeMagento| {
        fake.request_log()
            .all()
            .iter()
            .filter(|r| r.path.contains("/shipments") || r.path.contains("/invoices"))
            .count()
    };
    let all_known = c
        .orders_updated_since_except(t(1, 0, 0, 0), |id, at| {
            (id == 1 && at == t(3, 10, 0, 0)) || (id == 2 && at == t(3, 11, 0, 0))
        })
        .await
        .expect("pull");
    assert!(all_known.orders.is_empty());
    assert_eq!(all_known.unchanged, 2);
    assert_eq!(all_known.max_updated_at, Some(t(3, 11, 0, 0)));
    assert_eq!(related(&fake), 0, "no shipments or invoices asked for");
    assert_eq!(fake.request_log().len(), 1, "the orders search alone");

    // Known at another `updated_at`: changed, read in full.
    let one_changed = c
        .orders_updated_since_except(t(1, 0, 0, 0), |id, at| id == 1 && at == t(3, 10, 0, 0))
        .await
        .expect("pull");
    let ids: Vec<u64> = one_changed.orders.iter().map(|o| o.entity_id).collect();
    assert_eq!(ids, vec![2]);
    assert_eq!(one_changed.unchanged, 1);
    assert_eq!(related(&fake), 2, "shipments and invoices of order 2");
}

#[tokio::test]
async fn the_cursor_overlaps_by_a_second_and_filters_by_updated_at() {
    let fake = bearer_shop().await;
    fake.insert_order(&order(1, t(3, 10, 0, 0)));
    fake.insert_order(&order(2, t(3, 11, 0, 0)));
    let c = client(&fake, bearer(TOKEN), 10);
    let first = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    let cursor = first.max_updated_at.expect("max");
    assert_eq!(cursor, t(3, 11, 0, 0));

    // Written in the same second as the last one seen, after the pull:
    // only the overlap catches it.
    fake.insert_order(&order(3, t(3, 11, 0, 0)));
    fake.touch(1, t(3, 12, 0, 0));
    let next = c.orders_updated_since(cursor).await.expect("pull");
    let ids: Vec<u64> = next.orders.iter().map(|o| o.entity_id).collect();
    assert_eq!(ids, vec![2, 3, 1], "sorted by updated_at then entity_id");
    assert_eq!(next.max_updated_at, Some(t(3, 12, 0, 0)));

    let nothing = c.orders_updated_since(t(3, 12, 0, 2)).await.expect("pull");
    assert!(nothing.orders.is_empty());
    assert_eq!(nothing.max_updated_at, None);
    assert_eq!(
        c.initial_cursor(t(31, 0, 0, 0)),
        t(31, 0, 0, 0) - chrono::Duration::days(90)
    );
}

#[tokio::test]
async fn bearer_auth_and_a_wrong_token_is_fatal_without_retry() {
    let fake = bearer_shop().await;
    fake.insert_order(&order(1, t(3, 10, 0, 0)));
    let bad = client(&fake, bearer("not-the-token"), 10);
    let err = bad
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("401");
    assert!(err.is_fatal(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "Magento refused the credentials (HTTP 401): The consumer isn't authorized to access Magento_Sales::actions_view."
    );
    assert_eq!(fake.counts().unauthorized, 1, "no retry loop on 401");
}

#[tokio::test]
async fn oauth1_signatures_are_verified_by_the_fake() {
    let fake = FakeMagento::start(FakeMagentoAuth::OAuth1 {
        consumer_key: CK.into(),
        consumer_secret: CS.into(),
        access_token: AT.into(),
        access_token_secret: ATS.into(),
    })
    .await
    .expect("fake");
    for id in 1..=5 {
        fake.insert_order(&order(id, t(3, 10, 0, id as u32)));
    }
    // Several pages and the shipments/invoices calls: every request signed
    // with its own nonce, query parameters (brackets, spaces, commas) in
    // the base string.
    let c = client(&fake, oauth(CS), 2);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert_eq!(pull.orders.len(), 5);
    assert_eq!(fake.counts().unauthorized, 0);
    let one = c.order_by_increment_id("100003").await.expect("lookup");
    assert_eq!(one.map(|o| o.entity_id), Some(3));

    let wrong = client(&fake, oauth("wrong-consumer-secret"), 2);
    let err = wrong
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("401");
    assert!(err.is_fatal());
    assert_eq!(fake.counts().unauthorized, 1, "no retry loop on 401");
    assert_no_secret(&format!("{err} {err:?} {wrong:?}"));
}

#[tokio::test]
async fn missing_extension_attributes_fall_back_to_the_order_endpoint() {
    let fake = bearer_shop().await;
    for id in 1..=3 {
        fake.insert_order(&order(id, t(3, 10, 0, 0)));
    }
    fake.set_list_omits_extension_attributes(true);
    let c = client(&fake, bearer(TOKEN), 10);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert!(
        pull.orders
            .iter()
            .all(|o| o.shipping_method.as_deref() == Some("colissimo_homecl"))
    );
    assert_eq!(fake.counts().order_get, 3);

    fake.set_list_omits_extension_attributes(false);
    fake.reset_counts();
    c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert_eq!(
        fake.counts().order_get,
        0,
        "no per-order call when the list has it"
    );
}

#[tokio::test]
async fn shipments_and_invoices_are_fetched_in_batches() {
    let fake = bearer_shop().await;
    for id in 1..=250 {
        fake.insert_order(&order(id, t(3, 10, 0, 0)));
    }
    let c = client(&fake, bearer(TOKEN), 100);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert_eq!(pull.orders.len(), 250);
    assert!(
        pull.orders
            .iter()
            .all(|o| o.shipments.len() == 1 && o.invoices.len() == 1)
    );
    let counts = fake.counts();
    assert_eq!(counts.orders_list, 3);
    assert_eq!(counts.shipments, 3, "100 order ids per `in` filter");
    assert_eq!(counts.invoices, 3);
    assert_eq!(counts.order_get, 0);
}

#[tokio::test]
async fn decoding_is_tolerant_and_skips_only_the_broken_order() {
    let fake = bearer_shop().await;
    fake.insert_order(&order(1, t(3, 10, 0, 0)));
    // Nulls, missing fields, unknown fields, numbers as strings.
    fake.insert_raw_order(
        2,
        json!({
            "entity_id": 2, "increment_id": "100002", "state": "holded", "status": null,
            "created_at": "2026-05-01 08:00:00", "updated_at": "2026-05-03 10:00:01",
            "customer_email": null, "items": [{"sku": "ORI-1", "qty_ordered": "1.0000", "weird": [1]}],
            "status_histories": [{"comment": "comment only"}, {"status": "holded", "created_at": "2026-05-02 08:00:00"}],
            "extension_attributes": {"shipping_assignments": [{"shipping": {}}], "future": true},
            "brand_new_field": {"x": 1}
        }),
    );
    // A malformed timestamp: reported, the pull goes on.
    fake.insert_raw_order(
        3,
        json!({"entity_id": 3, "increment_id": "100003", "created_at": "01/05/2026 08:00",
               "updated_at": "2026-05-03 10:00:02", "extension_attributes": {"shipping_assignments": []}}),
    );
    // A shipment without tracks and an invoice without a date.
    fake.insert_raw_shipment(
        900,
        json!({"entity_id": 900, "order_id": 2, "created_at": "2026-05-02 09:00:00"}),
    );
    fake.insert_raw_invoice(901, json!({"entity_id": 901, "order_id": 2}));
    let c = client(&fake, bearer(TOKEN), 10);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    let ids: Vec<u64> = pull.orders.iter().map(|o| o.entity_id).collect();
    assert_eq!(ids, vec![1, 2]);
    let two = &pull.orders[1];
    assert_eq!(two.state, OrderState::Holded);
    assert_eq!(two.status, "");
    assert_eq!(two.customer.email, "");
    assert_eq!(two.items[0].qty, 1.0);
    assert_eq!(two.shipping_method, None);
    assert_eq!(two.status_history.len(), 1);
    assert_eq!(two.shipments.len(), 1);
    assert!(two.shipments[0].tracks.is_empty());
    assert!(two.invoices.is_empty());
    assert_eq!(pull.rejected.len(), 1);
    let why = pull.rejected[0].to_string();
    assert!(
        why.contains("100003") && why.contains("created_at") && why.contains("01/05/2026"),
        "{why}"
    );
    // The broken order still moves the cursor: re-pulling cannot fix it.
    assert_eq!(pull.max_updated_at, Some(t(3, 10, 0, 2)));
    // The lookup of the broken order says why.
    let err = c.order_by_increment_id("100003").await.expect_err("broken");
    assert!(err.to_string().contains("created_at"));
    assert_eq!(
        c.order_by_increment_id("999999").await.expect("lookup"),
        None
    );
}

#[tokio::test]
async fn error_bodies_render_list_and_object_parameters() {
    let fake = bearer_shop().await;
    let c = client(&fake, bearer(TOKEN), 10);
    fake.faults().once(
        "GET",
        "/rest/V1/orders",
        Fault::StatusBody {
            status: 400,
            content_type: "application/json".into(),
            body: r#"{"message":"\"%1\" is not a valid %2.","parameters":["updated_at","field"]}"#
                .into(),
        },
    );
    let err = c
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("400");
    assert!(matches!(err, MagentoError::BadRequest { .. }));
    assert!(
        err.to_string()
            .ends_with("\"updated_at\" is not a valid field."),
        "{err}"
    );
    fake.faults().once(
        "GET",
        "/rest/V1/orders",
        Fault::StatusBody {
            status: 404,
            content_type: "application/json".into(),
            body: r#"{"message":"No such entity with %fieldName = %fieldValue","parameters":{"fieldName":"id","fieldValue":"7"}}"#.into(),
        },
    );
    let err = c
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("404");
    assert!(
        err.to_string().ends_with("No such entity with id = 7"),
        "{err}"
    );
}

#[tokio::test]
async fn reads_are_retried_through_faults() {
    let fake = bearer_shop().await;
    for id in 1..=4 {
        fake.insert_order(&order(id, t(3, 10, 0, 0)));
    }
    let c = client(&fake, bearer(TOKEN), 2);
    let faults = fake.faults();
    faults.once("GET", "/rest/V1/orders", Fault::Status(503));
    faults.once(
        "GET",
        "/rest/V1/orders",
        Fault::TooManyRequests { retry_after: None },
    );
    faults.once("GET", "/rest/V1/orders", Fault::Reset);
    faults.once("GET", "/rest/V1/shipments", Fault::TruncatedJson);
    faults.once(
        "GET",
        "/rest/V1/invoices",
        Fault::Slow(Duration::from_secs(2)),
    );
    faults.once("GET", "/rest/V1/invoices", Fault::Status(502));
    let pull = c
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect("pull despite faults");
    assert_eq!(pull.orders.len(), 4);
    assert!(
        pull.orders
            .iter()
            .all(|o| o.shipments.len() == 1 && o.invoices.len() == 1)
    );
    assert_eq!(faults.fired(), 6);

    // A fault that does not go away: the error says so, typed, no URL.
    faults.always("GET", "/rest/V1/orders", Fault::Status(500));
    let err = c
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("500");
    assert!(err.is_retryable() && !err.is_fatal());
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("500") && !text.contains("searchCriteria") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[tokio::test]
async fn no_secret_in_any_error() {
    let fake = bearer_shop().await;
    let wrong = client(&fake, bearer(TOKEN), 10);
    fake.faults().always("GET", "/rest/V1/orders", Fault::Reset);
    let reset = wrong
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("reset");
    // Nothing listens on port 9 of 127.0.0.1 (discard): connection refused.
    let closed = MagentoClient::new(&config(
        url::Url::parse("http://127.0.0.1:9/").expect("url"),
        oauth(CS),
        10,
    ))
    .expect("client")
    .with_retry(RetryPolicy::none());
    let refused = closed
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("refused");
    let bad_token = bearer_shop().await;
    let unauthorized = client(&bad_token, bearer(TOKEN), 10);
    let bad_token_client = client(&fake, bearer(&format!("{TOKEN}x")), 10);
    fake.faults().clear();
    let e401 = bad_token_client
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect_err("401");
    for e in [&reset, &refused, &e401] {
        assert_no_secret(&format!("{e} {e:?}"));
    }
    assert_no_secret(&format!("{unauthorized:?} {closed:?} {bad_token_client:?}"));
}

/// The fake's verifier is independent of the client: a replayed nonce and
/// a request whose query was changed after signing are refused.
#[tokio::test]
async fn the_fake_refuses_replayed_nonces_and_tampered_queries() {
    use colisync::sources::oauth1::{Credentials, authorization_header};
    let fake = FakeMagento::start(FakeMagentoAuth::OAuth1 {
        consumer_key: CK.into(),
        consumer_secret: CS.into(),
        access_token: AT.into(),
        access_token_secret: ATS.into(),
    })
    .await
    .expect("fake");
    let creds = Credentials {
        consumer_key: Secret::new(CK),
        consumer_secret: Secret::new(CS),
        access_token: Secret::new(AT),
        access_token_secret: Secret::new(ATS),
    };
    let mut url = fake.base_url().join("rest/V1/orders").expect("url");
    url.query_pairs_mut()
        .append_pair(
            "searchCriteria[filter_groups][0][filters][0][field]",
            "increment_id",
        )
        .append_pair(
            "searchCriteria[filter_groups][0][filters][0][value]",
            "100 001",
        )
        .append_pair("searchCriteria[pageSize]", "10");
    let header = authorization_header("GET", &url, &creds, "fixed-nonce-1", Utc::now().timestamp());
    let http = reqwest::Client::new();
    let get = |u: url::Url, h: String| {
        let http = http.clone();
        async move {
            let r = http
                .get(u)
                .header("authorization", h)
                .send()
                .await
                .expect("send");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    assert_eq!(get(url.clone(), header.clone()).await.0, 200);
    let (status, body) = get(url.clone(), header.clone()).await;
    assert_eq!(status, 401);
    assert!(
        body.contains("nonce") && body.contains("\"parameters\":[\"1\"]"),
        "{body}"
    );

    let header = authorization_header("GET", &url, &creds, "fixed-nonce-2", Utc::now().timestamp());
    let mut tampered = url.clone();
    tampered
        .query_pairs_mut()
        .append_pair("searchCriteria[currentPage]", "2");
    let (status, body) = get(tampered, header).await;
    assert_eq!(status, 401);
    assert!(body.contains("%resources"), "{body}");
    let stale = authorization_header(
        "GET",
        &url,
        &creds,
        "fixed-nonce-3",
        Utc::now().timestamp() - 3600,
    );
    assert_eq!(get(url, stale).await.0, 401);
}

/// Without `total_count` (a proxy stripping it, an old module), paging
/// stops at the first page bringing nothing new instead of looping on the
/// repeated last page.
#[tokio::test]
async fn paging_without_total_count_stops_on_the_repeated_page() {
    let fake = bearer_shop().await;
    let c = client(&fake, bearer(TOKEN), 2);
    let body = json!({"items": [
        {"entity_id": 1, "created_at": "2026-05-01 09:00:00", "updated_at": "2026-05-03 10:00:00",
         "extension_attributes": {"shipping_assignments": []}},
        {"entity_id": 2, "created_at": "2026-05-01 09:00:00", "updated_at": "2026-05-03 10:00:01",
         "extension_attributes": {"shipping_assignments": []}}
    ]});
    fake.faults().always(
        "GET",
        "/rest/V1/orders",
        Fault::StatusBody {
            status: 200,
            content_type: "application/json".into(),
            body: body.to_string(),
        },
    );
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert_eq!(pull.orders.len(), 2);
    assert_eq!(fake.request_log().count("GET", "/rest/V1/orders"), 2);
}

/// A retry after an answer the fake did process (its nonce is spent, the
/// body cut short) must be signed again: a replayed nonce would get a 401.
#[tokio::test]
async fn oauth1_retries_are_signed_with_a_fresh_nonce() {
    let fake = FakeMagento::start(FakeMagentoAuth::OAuth1 {
        consumer_key: CK.into(),
        consumer_secret: CS.into(),
        access_token: AT.into(),
        access_token_secret: ATS.into(),
    })
    .await
    .expect("fake");
    fake.insert_order(&order(1, t(3, 10, 0, 0)));
    let c = client(&fake, oauth(CS), 10);
    fake.faults()
        .once("GET", "/rest/V1/orders", Fault::TruncatedJson);
    fake.faults()
        .once("GET", "/rest/V1/shipments", Fault::Status(503));
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert_eq!(pull.orders.len(), 1);
    assert_eq!(fake.faults().fired(), 2);
    assert_eq!(fake.counts().unauthorized, 0, "no nonce sent twice");
    assert_eq!(fake.request_log().count("GET", "/rest/V1/orders"), 2);
}

// ------------------------------------------------ Adobe's documented samples

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/magento")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

#[test]
fn every_magento_fixture_has_its_provenance() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let text = std::fs::read_to_string(root.join("PROVENANCE.md")).expect("PROVENANCE.md");
    let start = text.find("\n## Magento").expect("a ## Magento section");
    let section = &text[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    assert!(section.contains("Apache-2.0"), "licence missing");
    for e in std::fs::read_dir(root.join("magento")).expect("fixtures") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(
            section.contains(&format!("`magento/{name}`")),
            "{name} is not in the Magento section of PROVENANCE.md"
        );
    }
}

#[tokio::test]
async fn adobe_s_order_3_and_invoice_3_decode_as_documented() {
    use colisync::config::RulesConfig;
    use colisync::domain::Classifier;
    use colisync::domain::calendar::Calendar;
    use colisync::rules::judge;

    let fake = bearer_shop().await;
    fake.insert_raw_order(3, fixture("adobe-docs-order-3.json"));
    let c = client(&fake, bearer(TOKEN), 50);
    let since = utc(2017, 8, 1, 0, 0, 0);
    let pull = c.orders_updated_since(since).await.expect("pull");
    assert!(pull.rejected.is_empty(), "{:?}", pull.rejected);
    let [o] = pull.orders.as_slice() else {
        panic!("one order expected: {:?}", pull.orders)
    };
    assert_eq!(o.entity_id, 3);
    assert_eq!(o.increment_id, "000000003");
    assert_eq!((&o.state, o.status.as_str()), (&OrderState::New, "pending"));
    // Zone-less UTC, read as UTC.
    assert_eq!(o.created_at, utc(2017, 8, 21, 22, 22, 19));
    assert_eq!(o.updated_at, utc(2017, 8, 21, 22, 22, 20));
    assert_eq!(o.customer_name(), "Jane Doe");
    assert_eq!(o.shipping_method.as_deref(), Some("tablerate_bestway"));
    assert_eq!(
        o.items,
        vec![Item {
            sku: "WS12-M-Orange".into(),
            name: "Radiant Tee-M-Orange".into(),
            qty: 1.0,
            qty_to_ship: Some(1.0),
        }]
    );
    assert!(o.status_history.is_empty() && o.shipments.is_empty() && o.invoices.is_empty());
    // New and pending, no invoice, no history: not validated, nothing fires.
    let classifier = Classifier::seed_defaults();
    let rules = RulesConfig::seed_defaults();
    let cal = Calendar::france();
    let later = utc(2017, 9, 15, 12, 0, 0);
    assert_eq!(o.validated_at(&classifier.validated_statuses), None);
    let j = judge(o, &[], &cal, &rules, &classifier, later);
    assert!(j.findings.is_empty(), "{:?}", j.findings);

    // With Adobe's invoice 3: validated at its created_at, UTC (00:36 on
    // Tuesday 22 August in Paris).
    fake.insert_raw_invoice(3, fixture("adobe-docs-invoice-3.json"));
    let pull = c.orders_updated_since(since).await.expect("pull");
    let o = &pull.orders[0];
    let validated = utc(2017, 8, 21, 22, 36, 2);
    assert_eq!(o.invoices, vec![validated]);
    assert_eq!(
        o.validated_at(&classifier.validated_statuses),
        Some(validated)
    );
    assert_eq!(
        validated
            .with_timezone(&chrono_tz::Europe::Paris)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        "2017-08-22 00:36:02"
    );
    // Before the cutoff of its validation day: nothing due yet that day.
    let j = judge(
        o,
        &[],
        &cal,
        &rules,
        &classifier,
        utc(2017, 8, 22, 12, 0, 0),
    );
    assert!(j.findings.is_empty(), "{:?}", j.findings);
}

/// Adobe's order 3 with the items its docs elide (ids 4 to 11), typed as
/// the tutorial's invoice lists them: a downloadable video, a bundle of
/// four, a configurable hoodie and its simple child. Nothing shipped.
fn order_3_whole() -> Value {
    let mut order = fixture("adobe-docs-order-3.json");
    let item = |id: u64, sku: &str, kind: &str, parent: Option<u64>, is_virtual: u8| {
        let mut i = json!({"item_id": id, "order_id": 3, "sku": sku, "name": sku,
            "product_type": kind, "is_virtual": is_virtual, "qty_ordered": 1,
            "qty_shipped": 0, "qty_invoiced": 0, "qty_refunded": 0, "qty_canceled": 0});
        if let Some(p) = parent {
            i["parent_item_id"] = json!(p);
        }
        i
    };
    let restored = [
        item(4, "240-LV08", "downloadable", None, 1),
        item(
            5,
            "24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086",
            "bundle",
            None,
            0,
        ),
        item(6, "24-WG082-blue", "simple", Some(5), 0),
        item(7, "24-WG084", "simple", Some(5), 0),
        item(8, "24-WG086", "simple", Some(5), 0),
        item(9, "24-WG088", "simple", Some(5), 0),
        item(10, "MH01-S-Gray", "configurable", None, 0),
        item(11, "MH01-S-Gray", "simple", Some(10), 0),
    ];
    if let Some(items) = order["items"].as_array_mut() {
        items.extend(restored);
    }
    order
}

/// The documented payload narrowed to some of its items.
fn payload_with_items(ids: &[u64], with_tracks: bool) -> Value {
    let mut p = fixture("adobe-docs-ship-payload.json");
    let items: Vec<Value> = p["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| {
            i["order_item_id"]
                .as_u64()
                .is_some_and(|id| ids.contains(&id))
        })
        .collect();
    p["items"] = Value::Array(items);
    if !with_tracks {
        p["tracks"] = json!([]);
    }
    p
}

#[tokio::test]
async fn adobe_s_ship_payload_makes_a_partial_then_a_full_shipment() {
    let fake = bearer_shop().await;
    let since = utc(2017, 8, 1, 0, 0, 0);
    let c = client(&fake, bearer(TOKEN), 50);

    // Verbatim, order 3 lacks the items the docs elide: Magento's
    // QuantityValidator names each unknown one.
    fake.insert_raw_order(3, fixture("adobe-docs-order-3.json"));
    let err = fake
        .ship(
            3,
            &fixture("adobe-docs-ship-payload.json"),
            utc(2017, 8, 22, 9, 0, 0),
        )
        .expect_err("items 5 and 11 are not in the verbatim order");
    assert_eq!(
        err,
        FakeMagentoError::Refused(vec![
            "We can not found item \"5\" in order.".into(),
            "We can not found item \"11\" in order.".into(),
        ])
    );

    fake.insert_raw_order(3, order_3_whole());
    // Partial: the tee only, with Adobe's track.
    let first = utc(2017, 8, 22, 9, 0, 0);
    let shipment = fake
        .ship(3, &payload_with_items(&[3], true), first)
        .expect("partial shipment");
    let o = c.orders_updated_since(since).await.expect("pull").orders;
    let o = &o[0];
    assert_eq!(o.updated_at, first);
    assert_eq!(
        o.state,
        OrderState::Processing,
        "new → processing (IN_PROGRESS)"
    );
    assert!(o.is_partly_shipped() && !o.is_fully_shipped());
    let waiting: Vec<&str> = o.items_waiting().map(|i| i.sku.as_str()).collect();
    assert_eq!(
        waiting,
        vec![
            "24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086",
            "MH01-S-Gray"
        ],
        "the bundle and the hoodie, each counted once; the video never ships"
    );
    assert_eq!(o.shipments.len(), 1);
    assert_eq!(o.shipments[0].entity_id, shipment);
    assert_eq!(o.shipments[0].created_at, first);
    let track = &o.shipments[0].tracks[0];
    assert_eq!(
        (
            track.number.as_str(),
            track.carrier_code.as_str(),
            track.title.as_str()
        ),
        ("1Y-9876543210", "ups", "United Parcel Service")
    );

    // Shipping the tee again is more than is left.
    let err = fake
        .ship(3, &payload_with_items(&[3], false), first)
        .expect_err("nothing left of item 3");
    assert!(
        matches!(&err, FakeMagentoError::Refused(m) if m[0].contains("invalid quantity")),
        "{err}"
    );

    // The rest, as Adobe's payload names them: the bundle parent and the
    // hoodie's child item.
    let second = utc(2017, 8, 23, 9, 0, 0);
    fake.ship(3, &payload_with_items(&[5, 11], false), second)
        .expect("the rest");
    let o = c.orders_updated_since(since).await.expect("pull").orders;
    let o = &o[0];
    assert_eq!(o.updated_at, second);
    assert!(o.is_fully_shipped() && !o.is_partly_shipped());
    assert_eq!(o.items_waiting().count(), 0);
    assert_eq!(o.shipments.len(), 2);
    // Nothing was invoiced in Adobe's order JSON: Magento's StateResolver
    // completes an order only when it can neither ship nor invoice.
    assert_eq!(o.state, OrderState::Processing);
}

#[tokio::test]
async fn a_shipped_and_invoiced_order_completes_only_when_nothing_is_left() {
    let fake = bearer_shop().await;
    let mut o = order(1, t(3, 10, 0, 0));
    o.shipments.clear();
    o.items[0].qty_to_ship = None;
    o.items
        .push(Item::new("ORI-1", "Cartouche HP d'origine", 1.0));
    fake.insert_order(&o);
    let c = client(&fake, bearer(TOKEN), 50);
    let item = |n: u64, qty: u32| json!({"order_item_id": 1000 + n, "qty": qty});
    let track = json!([{"track_number": "6A00000000001", "title": "Colissimo", "carrier_code": "colissimo"}]);
    fake.ship(
        1,
        &json!({"items": [item(0, 1)], "notify": false, "tracks": track}),
        t(4, 9, 0, 0),
    )
    .expect("one of two");
    let pulled = c
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect("pull")
        .orders;
    assert_eq!(pulled[0].state, OrderState::Processing);
    assert!(pulled[0].is_partly_shipped());
    let left: Vec<Option<f64>> = pulled[0].items.iter().map(|i| i.qty_to_ship).collect();
    assert_eq!(left, vec![Some(1.0), Some(1.0)]);
    fake.ship(
        1,
        &json!({"items": [item(0, 1), item(1, 1)]}),
        t(4, 10, 0, 0),
    )
    .expect("the rest");
    let pulled = c
        .orders_updated_since(t(1, 0, 0, 0))
        .await
        .expect("pull")
        .orders;
    assert_eq!(pulled[0].state, OrderState::Complete);
    assert!(pulled[0].is_fully_shipped());
    // Bad payloads name the field.
    let err = fake
        .ship(1, &json!({"items": [{"qty": 1}]}), t(4, 11, 0, 0))
        .expect_err("no id");
    assert_eq!(
        err.to_string(),
        "ship payload: items[0].order_item_id is missing or not an id"
    );
    let err = fake
        .ship(
            1,
            &json!({"items": [item(0, 1)], "tracks": [{"track_number": "X"}]}),
            t(4, 11, 0, 0),
        )
        .expect_err("no title");
    assert!(err.to_string().contains("tracks[0].title"), "{err}");
    assert_eq!(
        fake.ship(99, &json!({"items": [item(0, 1)]}), t(4, 11, 0, 0)),
        Err(FakeMagentoError::NoOrder(99))
    );
}

#[tokio::test]
async fn tracks_added_later_are_seen_by_shipments_of_not_by_the_pull() {
    let fake = bearer_shop().await;
    for id in 1..=7 {
        fake.insert_order(&order(id, t(3, 10, 0, id as u32)));
    }
    let c = client(&fake, bearer(TOKEN), 3);
    let first = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    let cursor = first.max_updated_at.expect("cursor");

    let late = Track {
        number: "6A99999999999".into(),
        carrier_code: "colissimo".into(),
        title: "Colissimo".into(),
        created_at: t(4, 8, 0, 0),
    };
    let track_id = fake.add_track(2, 10_002, &late).expect("track added");
    assert!(track_id > 0);
    // The order did not change: the incremental pull brings back only what
    // the overlap re-reads, and order 2 is not among those.
    let next = c.orders_updated_since(cursor).await.expect("pull");
    assert!(
        next.orders.iter().all(|o| o.entity_id != 2),
        "{:?}",
        next.orders
    );

    fake.reset_counts();
    let ids: Vec<u64> = (1..=7).collect();
    let got = c.shipments_of(&ids).await.expect("shipments");
    assert!(got.rejected.is_empty());
    assert_eq!(fake.counts().shipments, 3, "7 orders, 3 ids a request");
    assert_eq!(got.by_order.len(), 7);
    let numbers: Vec<&str> = got.by_order[&2][0]
        .tracks
        .iter()
        .map(|t| t.number.as_str())
        .collect();
    assert_eq!(numbers, vec!["6A00000000002", "6A99999999999"]);
    assert_eq!(got.by_order[&2][0].tracks[1].created_at, t(4, 8, 0, 0));
    assert_eq!(got.by_order[&1][0].tracks.len(), 1);

    // Deleted in the admin: gone on the next read.
    fake.remove_track(2, 10_002, "6A00000000002")
        .expect("removed");
    let got = c.shipments_of(&[2]).await.expect("shipments");
    let numbers: Vec<&str> = got.by_order[&2][0]
        .tracks
        .iter()
        .map(|t| t.number.as_str())
        .collect();
    assert_eq!(numbers, vec!["6A99999999999"]);
    assert_eq!(
        fake.remove_track(2, 10_002, "6A00000000002"),
        Err(FakeMagentoError::NoTrack {
            shipment: 10_002,
            number: "6A00000000002".into()
        })
    );
    assert_eq!(
        fake.add_track(2, 10_001, &late),
        Err(FakeMagentoError::NoShipment {
            order: 2,
            shipment: 10_001
        })
    );

    // A shipment that cannot be decoded is reported, the others kept; an
    // order without shipments gets an empty list.
    fake.insert_raw_shipment(
        777,
        json!({"entity_id": 777, "order_id": 3, "created_at": "22/08/2017"}),
    );
    fake.insert_raw_order(
        8,
        json!({"entity_id": 8, "created_at": "2026-05-01 09:00:00", "updated_at": "2026-05-01 09:00:00"}),
    );
    let got = c.shipments_of(&[3, 8]).await.expect("shipments");
    assert_eq!(got.by_order[&3].len(), 1);
    assert_eq!(got.by_order[&8], Vec::<Shipment>::new());
    assert_eq!(got.rejected.len(), 1);
    let why = got.rejected[0].to_string();
    assert!(
        why.contains("777") && why.contains("created_at") && why.contains("22/08/2017"),
        "{why}"
    );
}

#[tokio::test]
async fn shipments_and_invoices_are_batched_by_page_size() {
    let fake = bearer_shop().await;
    for id in 1..=120 {
        fake.insert_order(&order(id, t(3, 10, 0, 0)));
    }
    let c = client(&fake, bearer(TOKEN), 50);
    let pull = c.orders_updated_since(t(1, 0, 0, 0)).await.expect("pull");
    assert_eq!(pull.orders.len(), 120);
    let counts = fake.counts();
    assert_eq!(
        (counts.shipments, counts.invoices),
        (3, 3),
        "50 order ids a request"
    );
}

/// The lookup of the orders of open cards (after a state loss, or older
/// than `lookback_days`): `increment_id in (…)` in batches of `page_size`,
/// decoded like the pull (shipments and invoices included); an unknown
/// number is simply missing.
#[tokio::test]
async fn orders_by_increment_ids_are_looked_up_in_batches_with_their_shipments() {
    let fake = bearer_shop().await;
    for id in 1..=5 {
        fake.insert_order(&order(id, t(3, 10, 0, id as u32)));
    }
    let c = client(&fake, bearer(TOKEN), 2);
    let asked: Vec<String> = ["100004", "100001", "100005", "999999", "100001"]
        .into_iter()
        .map(String::from)
        .collect();
    let before = fake.request_log().count("GET", "/rest/V1/orders");
    let (orders, rejected) = c.orders_by_increment_ids(&asked).await.expect("lookup");
    assert!(rejected.is_empty(), "{rejected:?}");
    let mut ids: Vec<u64> = orders.iter().map(|o| o.entity_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 4, 5]);
    let one = orders.iter().find(|o| o.entity_id == 4).unwrap();
    assert_eq!(one, &order(4, t(3, 10, 0, 4)), "shipments and invoices too");
    // Four distinct numbers, two a batch: two searches.
    assert_eq!(
        fake.request_log().count("GET", "/rest/V1/orders") - before,
        2
    );

    fake.faults()
        .always("GET", "/rest/V1/orders", Fault::Status(503));
    let err = c.orders_by_increment_ids(&asked).await.expect_err("503");
    assert!(err.to_string().contains("503"), "{err}");
    assert_no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn an_increment_id_with_a_comma_is_looked_up_alone() {
    // `in` takes a comma-separated list (Magento splits the value on
    // commas): "FR,17" inside one would be asked as "FR" and "17".
    let fake = bearer_shop().await;
    let mut odd = order(7, t(3, 10, 0, 7));
    odd.increment_id = "FR,17".into();
    fake.insert_order(&odd);
    fake.insert_order(&order(1, t(3, 10, 0, 1)));
    let c = client(&fake, bearer(TOKEN), 50);
    let asked: Vec<String> = vec!["FR,17".into(), "100001".into()];
    let (orders, rejected) = c.orders_by_increment_ids(&asked).await.expect("lookup");
    assert!(rejected.is_empty(), "{rejected:?}");
    let mut found: Vec<&str> = orders.iter().map(|o| o.increment_id.as_str()).collect();
    found.sort_unstable();
    assert_eq!(found, vec!["100001", "FR,17"]);
}
