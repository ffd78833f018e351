//! Contract tests of the Magento 2 client against the in-process fake:
//! paging (with the last page served again), the overlapping cursor, both
//! auth modes, the extension-attributes fallback, tolerant decoding,
//! batching of shipments and invoices, faults, and no secret in errors.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use colisync::config::{MagentoAuth, MagentoConfig};
use colisync::domain::{Customer, Item, Order, OrderState, Shipment, StatusChange, Track};
use colisync::fakes::Fault;
use colisync::fakes::magento::{FakeMagento, FakeMagentoAuth};
use colisync::http::RetryPolicy;
use colisync::secret::Secret;
use colisync::sources::magento::{MagentoClient, MagentoError};
use serde_json::json;

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
