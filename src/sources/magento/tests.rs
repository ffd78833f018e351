//! Unit tests of the Magento client's decoding: error bodies, timestamps,
//! quantities left to ship, tolerant reading of partial data.

use super::*;
use serde_json::json;

#[test]
fn error_bodies_are_rendered_with_their_parameters() {
    let cases: &[(&[u8], &str)] = &[
        (
            br#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Sales::actions_view"}}"#,
            "The consumer isn't authorized to access Magento_Sales::actions_view.",
        ),
        (
            br#"{"message":"%1 is %2, not %10","parameters":["a","b",3,4,5,6,7,8,9,"ten"]}"#,
            "a is b, not ten",
        ),
        (br#"{"message":"no params"}"#, "no params"),
        (br#"{"message":"null params %1","parameters":null}"#, "null params %1"),
        (b"<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        (b"", ""),
    ];
    for (body, want) in cases {
        assert_eq!(render_error_body(body), *want);
    }
}

#[test]
fn timestamps_round_trip() {
    let t = parse_magento_time("2026-05-01 10:00:07").expect("parse");
    assert_eq!(t.to_rfc3339(), "2026-05-01T10:00:07+00:00");
    assert_eq!(format_magento_time(t), "2026-05-01 10:00:07");
    assert!(parse_magento_time("2026-13-01 10:00:00").is_err());
    assert!(parse_magento_time("0000-00-00 00:00:00").is_err());
}

#[test]
fn decoding_is_tolerant_and_precise_about_bad_timestamps() {
    let minimal = json!({"entity_id": 5, "created_at": "2026-05-01 10:00:00", "unknown": {"x": 1}, "status": null});
    let o = decode_order(&minimal, &[], &[]).expect("minimal order").0;
    assert_eq!(o.increment_id, "5");
    assert_eq!(o.updated_at, o.created_at);
    assert_eq!(o.state, OrderState::Other(String::new()));
    assert!(o.items.is_empty() && o.shipping_method.is_none());

    let bad =
        json!({"entity_id": 6, "increment_id": "100006", "created_at": "2026-05-01T10:00:00Z"});
    let e = decode_order(&bad, &[], &[]).expect_err("bad timestamp");
    let text = e.to_string();
    assert!(
        text.contains("100006") && text.contains("created_at"),
        "{text}"
    );

    let ship = json!({"entity_id": 9, "order_id": 6, "created_at": "yesterday"});
    let good =
        json!({"entity_id": 6, "increment_id": "100006", "created_at": "2026-05-01 10:00:00"});
    let e = decode_order(&good, &[ship], &[]).expect_err("bad shipment");
    assert_eq!(e.field, "shipments[9].created_at");
}

#[test]
fn a_bad_invoice_or_status_change_drops_only_that_entry() {
    let v = json!({"entity_id": 7, "increment_id": "100007", "created_at": "2026-05-01 10:00:00",
    "status_histories": [
        {"status": "processing", "created_at": "2026-05-01 11:00:00"},
        {"status": "holded", "created_at": "le 2 mai"},
    ]});
    let invoices = [
        json!({"entity_id": 3, "order_id": 7, "created_at": "2026-05-01 10:30:00"}),
        json!({"entity_id": 4, "order_id": 7, "created_at": 17}),
    ];
    let (o, flaws) = decode_order(&v, &[], &invoices).expect("order kept");
    assert_eq!(o.status_history.len(), 1);
    assert_eq!(o.status_history[0].status, "processing");
    assert_eq!(o.invoices.len(), 1);
    let fields: Vec<&str> = flaws.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["status_histories[1].created_at", "invoices[4].created_at"]
    );
    assert!(flaws[0].to_string().contains("100007"), "{}", flaws[0]);

    let blank = json!({"entity_id": 8, "increment_id": " ", "created_at": "2026-05-01 10:00:00"});
    assert_eq!(
        decode_order(&blank, &[], &[])
            .expect("order")
            .0
            .increment_id,
        "8"
    );
}

#[test]
fn configurable_children_are_not_counted_twice() {
    let v = json!({"entity_id": 1, "created_at": "2026-05-01 10:00:00", "items": [
        {"item_id": 10, "sku": "ORI-1", "product_type": "configurable", "qty_ordered": 2},
        {"item_id": 11, "parent_item_id": 10, "sku": "ORI-1", "product_type": "simple", "qty_ordered": 2},
        {"item_id": 12, "sku": "CMP-1", "qty_ordered": "1.0000"}
    ]});
    let o = decode_order(&v, &[], &[]).expect("order").0;
    let skus: Vec<_> = o.items.iter().map(|i| (i.sku.as_str(), i.qty)).collect();
    assert_eq!(skus, vec![("ORI-1", 2.0), ("CMP-1", 1.0)]);
}

fn left(items: Value) -> Vec<Option<f64>> {
    let items = items.as_array().cloned().unwrap_or_default();
    qty_to_ship(&items).expect("quantities")
}

#[test]
fn qty_to_ship_counts_like_magento() {
    // Simple, not shipped, then partly shipped, then fully.
    assert_eq!(
        left(json!([
            {"item_id": 1, "product_type": "simple", "qty_ordered": 3, "qty_shipped": 0},
            {"item_id": 2, "product_type": "simple", "qty_ordered": 3, "qty_shipped": "1.0000"},
            {"item_id": 3, "product_type": "simple", "qty_ordered": 3, "qty_shipped": 3}
        ])),
        vec![Some(3.0), Some(2.0), Some(0.0)]
    );
    // Refunded: the larger of shipped and refunded is gone; cancelled
    // is gone too; never below 0.
    assert_eq!(
        left(json!([
            {"item_id": 1, "qty_ordered": 10, "qty_shipped": 1, "qty_refunded": 4},
            {"item_id": 2, "qty_ordered": 10, "qty_shipped": 3, "qty_refunded": 4, "qty_canceled": 2},
            {"item_id": 3, "qty_ordered": 2, "qty_shipped": 0, "qty_canceled": 2},
            {"item_id": 4, "qty_ordered": 2, "qty_shipped": 2, "qty_refunded": 2, "qty_canceled": 1}
        ])),
        vec![Some(6.0), Some(4.0), Some(0.0), Some(0.0)]
    );
    // Virtual and downloadable items never ship.
    assert_eq!(
        left(json!([
            {"item_id": 1, "product_type": "virtual", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 2, "product_type": "downloadable", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 3, "product_type": "simple", "is_virtual": 1, "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 4, "product_type": "simple", "is_virtual": 0, "qty_ordered": 1, "qty_shipped": 0}
        ])),
        vec![Some(0.0), Some(0.0), Some(0.0), Some(1.0)]
    );
}

#[test]
fn qty_to_ship_counts_configurable_and_bundle_groups_once() {
    // Configurable: parent and child both say 2 left; counted on the
    // parent only. Shipped: the child level says so even when the
    // parent's own count lags.
    assert_eq!(
        left(json!([
            {"item_id": 10, "product_type": "configurable", "qty_ordered": 2, "qty_shipped": 0},
            {"item_id": 11, "parent_item_id": 10, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
        ])),
        vec![Some(2.0), Some(0.0)]
    );
    assert_eq!(
        left(json!([
            {"item_id": 10, "product_type": "configurable", "qty_ordered": 2, "qty_shipped": 0},
            {"item_id": 11, "parent_item_id": 10, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 2}
        ])),
        vec![Some(0.0), Some(0.0)]
    );
    // Bundle shipped together: the parent level is shipped, done.
    assert_eq!(
        left(json!([
            {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 1},
            {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
        ])),
        vec![Some(0.0), Some(0.0), Some(0.0)]
    );
    // Bundle not shipped yet: once, on the parent.
    assert_eq!(
        left(json!([
            {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
        ])),
        vec![Some(1.0), Some(0.0), Some(0.0)]
    );
    // Bundle shipped separately, one child out: the children count.
    assert_eq!(
        left(json!([
            {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 1},
            {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 0}
        ])),
        vec![Some(0.0), Some(0.0), Some(2.0)]
    );
    // ... and all children out: done.
    assert_eq!(
        left(json!([
            {"item_id": 20, "product_type": "bundle", "qty_ordered": 1, "qty_shipped": 0},
            {"item_id": 21, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 1, "qty_shipped": 1},
            {"item_id": 22, "parent_item_id": 20, "product_type": "simple", "qty_ordered": 2, "qty_shipped": 2}
        ])),
        vec![Some(0.0), Some(0.0), Some(0.0)]
    );
}

#[test]
fn qty_to_ship_unknown_and_malformed() {
    // No qty_shipped at all: unknown, and the virtual item is not
    // allowed to make the order look shipped.
    assert_eq!(
        left(json!([
            {"item_id": 1, "qty_ordered": 1},
            {"item_id": 2, "product_type": "virtual", "qty_ordered": 1, "qty_shipped": 0}
        ])),
        vec![None, None]
    );
    let items = vec![json!({"item_id": 7, "qty_ordered": 1, "qty_shipped": "two"})];
    let e = qty_to_ship(&items).expect_err("bad quantity");
    assert_eq!(e.field, "items[item_id 7].qty_shipped");
    assert!(e.problem.contains("\"two\""), "{}", e.problem);
    let order = json!({"entity_id": 6, "increment_id": "100006",
        "created_at": "2026-05-01 10:00:00", "items": items});
    let e = decode_order(&order, &[], &[]).expect_err("bad quantity");
    assert!(e.to_string().contains("100006"), "{e}");
}

#[test]
fn decoded_orders_read_partly_then_fully_shipped() {
    let order = |shipped_a: u32, shipped_b: u32| {
        json!({"entity_id": 1, "state": "processing", "created_at": "2026-05-01 10:00:00",
        "items": [
            {"item_id": 1, "sku": "A", "product_type": "simple", "qty_ordered": 1, "qty_shipped": shipped_a},
            {"item_id": 2, "sku": "B", "product_type": "simple", "qty_ordered": 2, "qty_shipped": shipped_b},
            {"item_id": 3, "sku": "GIFT", "product_type": "virtual", "is_virtual": 1, "qty_ordered": 1, "qty_shipped": 0}
        ]})
    };
    let ship = json!({"entity_id": 9, "order_id": 1, "created_at": "2026-05-02 10:00:00"});
    let none = decode_order(&order(0, 0), &[], &[]).expect("order").0;
    assert!(!none.is_fully_shipped() && !none.is_partly_shipped());
    let part = decode_order(&order(1, 1), std::slice::from_ref(&ship), &[])
        .expect("order")
        .0;
    assert!(part.is_partly_shipped());
    let waiting: Vec<_> = part.items_waiting().map(|i| i.sku.as_str()).collect();
    assert_eq!(waiting, vec!["B"]);
    let all = decode_order(&order(1, 2), &[ship], &[]).expect("order").0;
    assert!(all.is_fully_shipped() && !all.is_partly_shipped());
}
