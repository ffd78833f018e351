//! The Magento order notes against the fake shop: the body every Magento
//! version accepts (the status read just before, no customer e-mail, not on
//! the storefront), the read-back of the marker after a lost answer, the
//! error shapes, and the pull that does not take colisync's own comment for
//! a status change. Requests are counted, never timed.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use colisync::config::{MagentoAuth, MagentoConfig};
use colisync::domain::{Customer, Item, Order, OrderState};
use colisync::http::RetryPolicy;
use colisync::secret::Secret;
use colisync::sources::magento::{MagentoClient, MagentoError};
use colisync_testkit::Fault;
use colisync_testkit::magento::{FakeMagento, FakeMagentoAuth};

const TOKEN: &str = "tok-notes-5ecret";
const MARKER: &str = "colisync-note:order/100007:filed:20260519T080000Z";

fn t(day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, h, 0, 0).unwrap()
}

/// An order in `processing` with no invoice and no status history: only a
/// status-history entry could give it a validation date.
fn unpaid(id: u64) -> Order {
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
            name: "Cartouche".into(),
            qty: 1.0,
            qty_to_ship: Some(1.0),
        }],
        shipping_method: Some("colissimo_domiciless".into()),
        created_at: t(1, 9),
        updated_at: t(1, 10),
        invoices: Vec::new(),
        status_history: Vec::new(),
        shipments: Vec::new(),
    }
}

async fn setup() -> (FakeMagento, MagentoClient) {
    let fake = FakeMagento::start(FakeMagentoAuth::Bearer(TOKEN.into()))
        .await
        .unwrap();
    fake.insert_order(&unpaid(7));
    let base = fake.base_url();
    let cfg = MagentoConfig {
        admin_url: base.join("admin").unwrap(),
        base_url: base,
        auth: MagentoAuth::Bearer(Secret::new(TOKEN)),
        lookback_days: 90,
        original_skus: Vec::new(),
        validated_statuses: vec!["processing".into()],
        page_size: 50,
        overlap: Duration::from_secs(1),
        timeout: Duration::from_millis(400),
        order_notes: true,
    };
    let client = MagentoClient::new(&cfg)
        .unwrap()
        .with_retry(RetryPolicy::fast());
    (fake, client)
}

#[tokio::test]
async fn a_note_keeps_the_status_and_tells_no_customer() {
    let (fake, c) = setup().await;
    let before = c.order_for_note(7).await.unwrap();
    assert_eq!(before.status.as_deref(), Some("processing"));
    assert!(!before.has_comment_with(MARKER));

    let text = format!("colisync · carte ouverte [{MARKER}]");
    c.add_order_comment(7, before.status.as_deref(), &text)
        .await
        .unwrap();
    let entries = fake.comments_of(7);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["comment"], text);
    assert_eq!(e["status"], "processing");
    assert_eq!(e["is_customer_notified"], 0);
    assert_eq!(e["is_visible_on_front"], 0);
    assert_eq!(e["entity_name"], "order");
    assert_eq!(e["parent_id"], 7);
    assert_eq!(fake.customer_emails(), 0);
    assert_eq!(fake.raw_order(7).unwrap()["status"], "processing");

    let after = c.order_for_note(7).await.unwrap();
    assert!(after.has_comment_with(MARKER));
    assert!(
        c.order_comments(7)
            .await
            .unwrap()
            .iter()
            .any(|x| x.contains(MARKER))
    );
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_reading_the_order() {
    let (fake, c) = setup().await;
    fake.faults()
        .once("POST", "/rest/V1/orders/7/comments", Fault::LoseAnswer);
    let e = c
        .add_order_comment(7, Some("processing"), &format!("x [{MARKER}]"))
        .await
        .expect_err("lost");
    assert!(e.outcome_is_unknown(), "{e:?}");
    assert_eq!(
        fake.request_log()
            .count("POST", "/rest/V1/orders/7/comments"),
        1,
        "a write is never resent by the client"
    );
    assert!(c.order_for_note(7).await.unwrap().has_comment_with(MARKER));
    assert_eq!(fake.comments_of(7).len(), 1);
}

#[tokio::test]
async fn the_error_shapes() {
    let (fake, c) = setup().await;
    let e = c.add_order_comment(99, None, "x").await.expect_err("404");
    assert!(matches!(e, MagentoError::NotFound { .. }), "{e:?}");
    assert!(!e.outcome_is_unknown());

    // 2.4.7+: a status outside the order's state is refused.
    let e = c
        .add_order_comment(7, Some("complete"), "x")
        .await
        .expect_err("400");
    assert!(
        e.to_string()
            .contains("The status \"complete\" is not part of the order status history"),
        "{e}"
    );
    assert!(matches!(e, MagentoError::Refused { .. }));

    // A token without the ACL: fatal for notes; reading goes on.
    fake.refuse_comments(true);
    let e = c
        .add_order_comment(7, Some("processing"), "x")
        .await
        .expect_err("401");
    assert!(e.is_fatal(), "{e:?}");
    assert!(e.to_string().contains("Magento_Sales::sales"), "{e}");
    c.order_for_note(7).await.expect("reads are not refused");
    assert!(fake.comments_of(7).is_empty());
}

#[tokio::test]
async fn the_pull_does_not_take_our_comment_for_a_status_change() {
    let (fake, c) = setup().await;
    c.add_order_comment(7, Some("processing"), &format!("note [{MARKER}]"))
        .await
        .unwrap();
    // A person's comment with a status is a status change, as before.
    fake.insert_order(&{
        let mut o = unpaid(8);
        o.status_history = vec![colisync::domain::StatusChange {
            status: "processing".into(),
            at: t(2, 9),
        }];
        o
    });
    let (orders, _) = c
        .orders_by_increment_ids(&["100007".into(), "100008".into()])
        .await
        .unwrap();
    let seven = orders.iter().find(|o| o.entity_id == 7).unwrap();
    assert!(
        seven.status_history.is_empty(),
        "{:?}",
        seven.status_history
    );
    assert_eq!(seven.updated_at, t(1, 10) + chrono::Duration::seconds(1));
    let eight = orders.iter().find(|o| o.entity_id == 8).unwrap();
    assert_eq!(eight.status_history.len(), 1);
}
