//! The fake shop's order comments: `POST` and `GET
//! /rest/V1/orders/{id}/comments`, as `OrderManagementInterface::addComment`
//! and `getCommentsList` behave (docs/apis.md, Magento order comments).
//!
//! Part of the fake Magento. It keeps what colisync could trip on: the
//! entity id (not the increment id) in the path, 404 for an unknown one;
//! the 2.4.7 rule (a `status` outside the order's state is refused with
//! 400, none means the current status); the entry appended to
//! `status_histories` with its flags; the order's `updated_at` moved; the
//! answer `true`. A switch refuses comments with the ACL 401, and a counter
//! records the comments that would have e-mailed the customer. No verbatim
//! sample of these answers was found: their shape follows
//! `OrderStatusHistoryInterface` (modelled).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FakeMagento, NOT_FOUND, Shop, UNAUTHORIZED, check_auth, error, magento_time};
use crate::lock;

/// Magento's zone-less UTC timestamp, parsed here on purpose: the fake
/// does not share the client's code.
fn parse_magento_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

/// The statuses Magento's default configuration gives each state.
fn statuses_of_state(state: &str) -> &'static [&'static str] {
    match state {
        "new" => &["pending"],
        "pending_payment" => &["pending_payment"],
        "processing" => &["processing", "fraud"],
        "complete" => &["complete"],
        "closed" => &["closed"],
        "canceled" => &["canceled"],
        "holded" => &["holded"],
        "payment_review" => &["payment_review", "fraud"],
        _ => &[],
    }
}

impl FakeMagento {
    /// From now on, comments are refused with the ACL 401 (reads still work).
    pub fn refuse_comments(&self, refuse: bool) {
        self.shop().refuse_comments = refuse;
    }

    /// Comments that asked Magento to e-mail the customer (must stay 0).
    pub fn customer_emails(&self) -> usize {
        self.shop().customer_emails
    }

    /// The order's history comments, newest first.
    pub fn comments_of(&self, entity_id: u64) -> Vec<Value> {
        self.shop()
            .orders
            .get(&entity_id)
            .and_then(|o| o.get("status_histories"))
            .and_then(Value::as_array)
            .map(|h| {
                h.iter()
                    .filter(|e| e.get("comment").is_some_and(|c| !c.is_null()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn order_id(shop: &Shop, raw: &str) -> Option<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| shop.orders.contains_key(id))
}

fn required(field: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "\"%fieldName\" is required. Enter and try again.",
        json!({"fieldName": field}),
    )
}

pub(super) async fn add_comment(
    State(shop): super::Shared,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut shop = lock(&shop);
    if let Err(resp) = check_auth(&mut shop, &method, &headers, &uri) {
        shop.counts.unauthorized += 1;
        return *resp;
    }
    if shop.refuse_comments {
        shop.counts.unauthorized += 1;
        return error(
            StatusCode::UNAUTHORIZED,
            UNAUTHORIZED,
            json!({"resources": "Magento_Sales::sales"}),
        );
    }
    let Some(id) = order_id(&shop, &id) else {
        return error(StatusCode::NOT_FOUND, NOT_FOUND, Value::Null);
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Decoding error.", Value::Null);
    };
    let Some(history) = payload.get("statusHistory").and_then(Value::as_object) else {
        return required("statusHistory");
    };
    let Some(comment) = history.get("comment").and_then(Value::as_str) else {
        return required("comment");
    };
    let flag = |k: &str| match history.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        _ => false,
    };
    let notified = flag("is_customer_notified");
    let visible = flag("is_visible_on_front");
    let Some(order) = shop.orders.get(&id) else {
        return error(StatusCode::NOT_FOUND, NOT_FOUND, Value::Null);
    };
    let state = order
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let current = order
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let status = match history.get("status").and_then(Value::as_str) {
        None => current.clone(),
        Some(s) if Some(s) == current.as_deref() || statuses_of_state(state).contains(&s) => {
            Some(s.to_owned())
        }
        Some(s) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Unable to add comment: The status \"%1\" is not part of the order status history.",
                json!([s]),
            );
        }
    };
    // The save moves updated_at; one second on, so that the fake stays
    // deterministic (no wall clock).
    let at = order
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(parse_magento_time)
        .map(|t| t + chrono::Duration::seconds(1))
        .unwrap_or_default();
    let entry_id = shop.next_track_id;
    shop.next_track_id += 1;
    if notified {
        shop.customer_emails += 1;
    }
    let Some(Value::Object(order)) = shop.orders.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, NOT_FOUND, Value::Null);
    };
    let entry = json!({
        "entity_id": entry_id,
        "parent_id": id,
        "entity_name": "order",
        "comment": comment,
        "status": status,
        "is_customer_notified": i32::from(notified),
        "is_visible_on_front": i32::from(visible),
        "created_at": magento_time(at),
    });
    match order.get_mut("status_histories") {
        Some(Value::Array(list)) => list.insert(0, entry),
        _ => {
            order.insert("status_histories".into(), json!([entry]));
        }
    }
    if let Some(s) = status {
        order.insert("status".into(), json!(s));
    }
    order.insert("updated_at".into(), json!(magento_time(at)));
    axum::Json(json!(true)).into_response()
}

pub(super) async fn list_comments(
    State(shop): super::Shared,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut shop = lock(&shop);
    if let Err(resp) = check_auth(&mut shop, &method, &headers, &uri) {
        shop.counts.unauthorized += 1;
        return *resp;
    }
    let Some(id) = order_id(&shop, &id) else {
        return error(StatusCode::NOT_FOUND, NOT_FOUND, Value::Null);
    };
    let items: Vec<Value> = shop
        .orders
        .get(&id)
        .and_then(|o| o.get("status_histories"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = items.len();
    axum::Json(json!({
        "items": items,
        "search_criteria": {"filter_groups": [{"filters": [
            {"field": "parent_id", "value": id.to_string(), "condition_type": "eq"}
        ]}]},
        "total_count": total,
    }))
    .into_response()
}
