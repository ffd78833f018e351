//! In-process fake of the Magento 2 REST API: the routes colisync reads
//! (`/rest/V1/orders`, `/rest/V1/orders/{id}`, `/rest/V1/shipments`,
//! `/rest/V1/invoices`) and the order comments it writes (`comments.rs`),
//! over a shop held in memory.
//!
//! Used by the contract tests of [`colisync::sources::magento`] and by
//! `colisync demo`. It behaves like the real service where colisync could
//! trip (docs/apis.md):
//! - `searchCriteria` in both spellings (`filter_groups`/`condition_type` and
//!   `filterGroups`/`conditionType`), filters OR'ed in a group and groups
//!   AND'ed, the conditions eq, neq, gt, gteq, lt, lteq, in, nin, like, null,
//!   notnull, from, to; sorts; and past the last page, the last page again;
//! - zone-less UTC timestamps, null fields omitted;
//! - list calls may omit `extension_attributes` (switch);
//! - auth checked like the real service: a Bearer token, or an OAuth 1.0a
//!   HMAC-SHA256 signature verified independently of the client's code (the
//!   base string is rebuilt from the request received), nonces never reused;
//!   failures answer 401 with Magento's own message and parameters.
//!
//! Seeding takes domain types ([`FakeMagento::insert_order`]) and turns them
//! into Magento JSON; raw JSON can be inserted too, to test tolerant decoding.
//! Items carry `qty_shipped` (from [`colisync::domain::Item::qty_to_ship`]),
//! `product_type` and `is_virtual` as Magento serialises them.
//!
//! Changes after seeding go the way the shop's admin makes them:
//! [`FakeMagento::ship`] takes the documented `POST /V1/order/{id}/ship`
//! payload (a partial shipment when it names only some items) and updates
//! the items, `updated_at` and the state; [`FakeMagento::add_track`] and
//! [`FakeMagento::remove_track`] touch the track alone, leaving the order's
//! `updated_at` where it was (`TrackRepository::save`/`delete`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use url::Url;

use crate::{FakeServer, Faults, RequestLog, lock};

use colisync::domain::{Order, OrderState, Track};

mod comments;

/// How the fake shop wants to be authenticated.
#[derive(Clone)]
pub enum FakeMagentoAuth {
    Bearer(String),
    OAuth1 {
        consumer_key: String,
        consumer_secret: String,
        access_token: String,
        access_token_secret: String,
    },
}

/// Requests served, per route (401s counted apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MagentoCounts {
    pub orders_list: usize,
    pub order_get: usize,
    pub shipments: usize,
    pub invoices: usize,
    pub unauthorized: usize,
}

struct Shop {
    auth: FakeMagentoAuth,
    orders: BTreeMap<u64, Value>,
    shipments: BTreeMap<u64, Value>,
    invoices: BTreeMap<u64, Value>,
    next_invoice_id: u64,
    /// Whether list calls drop `extension_attributes`, as some shops do.
    omit_extension_attributes: bool,
    /// Added to every `total_count`: some shops' counts include joined
    /// rows, so the client pages past the end and gets the last page again.
    total_count_extra: usize,
    /// OAuth nonces already accepted: a replay is refused.
    nonces: HashSet<String>,
    counts: MagentoCounts,
    /// `(n, entity_id, updated_at)`: once the n-th order list has been
    /// served, that order is changed, as an admin saving it while a pull
    /// pages through the list would.
    touch_after_orders_list: Option<(u64, u64, DateTime<Utc>)>,
    /// Ids of tracks created by [`FakeMagento::ship`] and
    /// [`FakeMagento::add_track`], far from the seeded ones.
    next_track_id: u64,
    /// Order comments refused with the ACL 401 (`comments.rs`).
    refuse_comments: bool,
    /// Comments sent with `is_customer_notified` set.
    customer_emails: usize,
}

/// Why the fake refused a change made through its helpers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FakeMagentoError {
    #[error("the fake shop has no order with entity_id {0}")]
    NoOrder(u64),
    #[error("order entity {order} has no shipment {shipment}")]
    NoShipment { order: u64, shipment: u64 },
    #[error("shipment {shipment} has no track {number:?}")]
    NoTrack { shipment: u64, number: String },
    /// The payload is not the documented shape (field named).
    #[error("ship payload: {0}")]
    Payload(String),
    /// What Magento answers (400) to a payload it will not apply, its
    /// messages as its validators word them.
    #[error("Magento refuses the shipment: {}", .0.join(" "))]
    Refused(Vec<String>),
}

/// The fake shop; cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeMagento {
    shop: Arc<Mutex<Shop>>,
    /// Shared so that the fake is `Clone`; the server stops when the
    /// last clone is dropped.
    server: Arc<FakeServer>,
}

const UNAUTHORIZED: &str = "The consumer isn't authorized to access %resources.";
const NOT_FOUND: &str =
    "The entity that was requested doesn't exist. Verify the entity and try again.";

impl FakeMagento {
    /// Starts the fake on 127.0.0.1 with an empty shop.
    pub async fn start(auth: FakeMagentoAuth) -> std::io::Result<FakeMagento> {
        let shop = Arc::new(Mutex::new(Shop {
            auth,
            orders: BTreeMap::new(),
            shipments: BTreeMap::new(),
            invoices: BTreeMap::new(),
            next_invoice_id: 1,
            omit_extension_attributes: false,
            total_count_extra: 0,
            nonces: HashSet::new(),
            counts: MagentoCounts::default(),
            touch_after_orders_list: None,
            next_track_id: 1_000_000,
            refuse_comments: false,
            customer_emails: 0,
        }));
        let router = Router::new()
            .route("/rest/V1/orders", get(list_orders))
            .route("/rest/V1/orders/{id}", get(get_order))
            .route(
                "/rest/V1/orders/{id}/comments",
                get(comments::list_comments).post(comments::add_comment),
            )
            .route("/rest/V1/shipments", get(list_shipments))
            .route("/rest/V1/invoices", get(list_invoices))
            .with_state(shop.clone());
        let server = Arc::new(FakeServer::start(router).await?);
        Ok(FakeMagento { shop, server })
    }

    /// The shop root, what goes in `[magento] base_url`.
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// Fault injection for the next requests.
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// Every request that reached the server, faults included.
    pub fn request_log(&self) -> &RequestLog {
        self.server.requests()
    }

    fn shop(&self) -> MutexGuard<'_, Shop> {
        lock(&self.shop)
    }

    /// Adds (or replaces) an order with its shipments and invoices.
    pub fn insert_order(&self, order: &Order) {
        self.insert_orders(std::slice::from_ref(order));
    }

    /// [`FakeMagento::insert_order`] for many orders at once: their old
    /// shipments and invoices are dropped in one scan, not one per order
    /// (a shop of 100,000 orders is seeded in linear time).
    pub fn insert_orders(&self, orders: &[Order]) {
        let mut shop = self.shop();
        let ids: std::collections::HashSet<u64> = orders.iter().map(|o| o.entity_id).collect();
        let kept = |s: &Value| {
            s.get("order_id")
                .and_then(Value::as_u64)
                .is_none_or(|id| !ids.contains(&id))
        };
        shop.shipments.retain(|_, s| kept(s));
        shop.invoices.retain(|_, s| kept(s));
        for order in orders {
            insert_one(&mut shop, order);
        }
    }
}

/// Adds one order, its shipments and its invoices (their old ones already
/// dropped).
fn insert_one(shop: &mut Shop, order: &Order) {
    {
        let id = order.entity_id;
        shop.orders.insert(id, order_json(order));
        for s in &order.shipments {
            let tracks: Vec<Value> = s
                .tracks
                .iter()
                .enumerate()
                .map(|(n, t)| {
                    json!({
                        "entity_id": s.entity_id * 100 + n as u64,
                        "parent_id": s.entity_id,
                        "order_id": id,
                        "track_number": t.number,
                        "carrier_code": t.carrier_code,
                        "title": t.title,
                        "created_at": magento_time(t.created_at),
                    })
                })
                .collect();
            shop.shipments.insert(
                s.entity_id,
                json!({
                    "entity_id": s.entity_id,
                    "order_id": id,
                    "increment_id": format!("{}-{}", order.increment_id, s.entity_id),
                    "created_at": magento_time(s.created_at),
                    "updated_at": magento_time(s.created_at),
                    "tracks": tracks,
                }),
            );
        }
        for at in &order.invoices {
            let inv_id = shop.next_invoice_id;
            shop.next_invoice_id += 1;
            shop.invoices.insert(
                inv_id,
                json!({
                    "entity_id": inv_id,
                    "order_id": id,
                    "state": 2,
                    "created_at": magento_time(*at),
                    "updated_at": magento_time(*at),
                }),
            );
        }
    }
}

impl FakeMagento {
    /// Replaces an order (same as inserting it again).
    pub fn update_order(&self, order: &Order) {
        self.insert_order(order);
    }

    /// Sets an order's `updated_at`, as any change in the admin would.
    pub fn touch(&self, entity_id: u64, at: DateTime<Utc>) {
        if let Some(Value::Object(o)) = self.shop().orders.get_mut(&entity_id) {
            o.insert("updated_at".into(), Value::String(magento_time(at)));
        }
    }

    /// Sets an order's `updated_at` right after the `n`-th order list
    /// request (counted by [`FakeMagento::counts`]) has been answered: an
    /// order changed while a pull pages through the list.
    pub fn touch_after_orders_list(&self, n: u64, entity_id: u64, at: DateTime<Utc>) {
        self.shop().touch_after_orders_list = Some((n, entity_id, at));
    }

    /// Inserts an order's JSON as is (tolerant decoding tests). Needs an
    /// `entity_id`; without one it is stored under `key`.
    pub fn insert_raw_order(&self, key: u64, order: Value) {
        self.shop().orders.insert(key, order);
    }

    /// An order's JSON as the fake serves it, for a test to spoil a field
    /// and [`Self::insert_raw_order`] it back.
    pub fn raw_order(&self, key: u64) -> Option<Value> {
        self.shop().orders.get(&key).cloned()
    }

    pub fn insert_raw_shipment(&self, key: u64, shipment: Value) {
        self.shop().shipments.insert(key, shipment);
    }

    pub fn insert_raw_invoice(&self, key: u64, invoice: Value) {
        self.shop().invoices.insert(key, invoice);
    }

    /// Whether list calls drop `extension_attributes` (then the client must
    /// ask `GET /orders/{id}`).
    pub fn set_list_omits_extension_attributes(&self, omit: bool) {
        self.shop().omit_extension_attributes = omit;
    }

    /// Inflates `total_count` by `extra` (see [`Shop`]'s field).
    pub fn set_total_count_extra(&self, extra: usize) {
        self.shop().total_count_extra = extra;
    }

    /// Creates a shipment the way `POST /V1/order/{id}/ship` does, from its
    /// documented payload (AdobeDocs/commerce-webapi,
    /// `rest/tutorials/orders/order-create-shipment.md`): `items[]` of
    /// `{order_item_id, qty}`, `notify`, `tracks[]` of `{track_number,
    /// title, carrier_code}`. Naming only some items makes a partial
    /// shipment. Returns the new shipment's id, as Magento does.
    ///
    /// Refused like Magento's validators refuse: an order on hold, in
    /// payment review, cancelled or closed (`Order\Validation\CanShip`); an
    /// item not in the order, more than is left to ship of an item, or no
    /// quantity at all (`Order\Shipment\Validation\QuantityValidator`).
    /// Applied: the items' `qty_shipped` (a configurable or bundle parent's
    /// children follow it, `Shipment\Item::register`), the order's
    /// `updated_at`, and its state: `complete` only once nothing is left to
    /// ship nor to invoice, else a `new` order moves to `processing`
    /// (`Order\StateResolver` with `IN_PROGRESS`, as `ShipOrder` calls it;
    /// `ResourceModel/Order/Handler/State.php` likewise completes an order
    /// only when it `!canShip()`).
    pub fn ship(
        &self,
        order_entity_id: u64,
        payload: &Value,
        at: DateTime<Utc>,
    ) -> Result<u64, FakeMagentoError> {
        let request = ShipRequest::parse(payload)?;
        let mut shop = self.shop();
        let Some(Value::Object(order)) = shop.orders.get(&order_entity_id).cloned() else {
            return Err(FakeMagentoError::NoOrder(order_entity_id));
        };
        let state = order
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if matches!(
            state.as_str(),
            "holded" | "payment_review" | "canceled" | "closed"
        ) {
            let status = order
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or(&state);
            return Err(FakeMagentoError::Refused(vec![format!(
                "A shipment cannot be created when an order has a status of {status}"
            )]));
        }
        let mut items: Vec<Value> = order
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut messages = Vec::new();
        let mut total = 0.0;
        for (id, qty) in &request.items {
            let Some(n) = items
                .iter()
                .position(|i| num(i, "item_id") == Some(*id as f64))
            else {
                messages.push(format!("We can not found item \"{id}\" in order."));
                continue;
            };
            if !is_dummy(&items, n) && *qty > left_to_ship(&items, n) {
                let name = items[n].get("name").and_then(Value::as_str).unwrap_or("");
                messages.push(format!(
                    "We found an invalid quantity to ship for item \"{name}\"."
                ));
            } else {
                total += qty;
            }
        }
        if total <= 0.0 {
            messages.push("You can't create a shipment without products.".to_owned());
        }
        if !messages.is_empty() {
            return Err(FakeMagentoError::Refused(messages));
        }

        let shipment_id = shop.shipments.keys().max().map_or(1, |m| m + 1);
        let mut shipment_items = Vec::new();
        for (id, qty) in &request.items {
            let Some(n) = items
                .iter()
                .position(|i| num(i, "item_id") == Some(*id as f64))
            else {
                continue;
            };
            add_shipped(&mut items[n], *qty);
            let ordered = num(&items[n], "qty_ordered").unwrap_or(0.0);
            for child in items.iter_mut() {
                if num(child, "parent_item_id") == Some(*id as f64) && ordered > 0.0 {
                    let share = num(child, "qty_ordered").unwrap_or(0.0) / ordered;
                    add_shipped(child, qty * share);
                }
            }
            shipment_items.push(json!({
                "order_item_id": id,
                "qty": qty,
                "parent_id": shipment_id,
                "sku": items[n].get("sku").cloned().unwrap_or(Value::Null),
                "name": items[n].get("name").cloned().unwrap_or(Value::Null),
            }));
        }
        let mut tracks = Vec::new();
        for t in &request.tracks {
            let track_id = shop.next_track_id;
            shop.next_track_id += 1;
            tracks.push(json!({
                "entity_id": track_id,
                "parent_id": shipment_id,
                "order_id": order_entity_id,
                "track_number": t.0,
                "title": t.1,
                "carrier_code": t.2,
                "created_at": magento_time(at),
                "updated_at": magento_time(at),
            }));
        }
        let increment = order
            .get("increment_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        shop.shipments.insert(
            shipment_id,
            json!({
                "entity_id": shipment_id,
                "order_id": order_entity_id,
                "increment_id": format!("{increment}-{shipment_id}"),
                "total_qty": total,
                "created_at": magento_time(at),
                "updated_at": magento_time(at),
                "items": shipment_items,
                "tracks": tracks,
            }),
        );

        let nothing_to_ship =
            (0..items.len()).all(|n| is_dummy(&items, n) || left_to_ship(&items, n) <= 0.0);
        let nothing_to_invoice =
            (0..items.len()).all(|n| is_dummy(&items, n) || left_to_invoice(&items[n]) <= 0.0);
        let mut order = order;
        if nothing_to_ship && nothing_to_invoice {
            order.insert("state".into(), json!("complete"));
            order.insert("status".into(), json!("complete"));
        } else if state == "new" {
            order.insert("state".into(), json!("processing"));
            order.insert("status".into(), json!("processing"));
        }
        order.insert("items".into(), Value::Array(items));
        order.insert("updated_at".into(), json!(magento_time(at)));
        shop.orders.insert(order_entity_id, Value::Object(order));
        Ok(shipment_id)
    }

    /// Adds a tracking number to an existing shipment, as `POST
    /// /V1/shipment/track` or the admin's "Add tracking number" do:
    /// `TrackRepository::save` writes the track row only, so neither the
    /// order's nor the shipment's `updated_at` moves and an incremental pull
    /// by `updated_at` never sees it. Returns the track's id.
    pub fn add_track(
        &self,
        order_entity_id: u64,
        shipment_id: u64,
        track: &Track,
    ) -> Result<u64, FakeMagentoError> {
        let mut shop = self.shop();
        let track_id = shop.next_track_id;
        let shipment = shipment_of(&mut shop, order_entity_id, shipment_id)?;
        let entry = json!({
            "entity_id": track_id,
            "parent_id": shipment_id,
            "order_id": order_entity_id,
            "track_number": track.number,
            "carrier_code": track.carrier_code,
            "title": track.title,
            "created_at": magento_time(track.created_at),
            "updated_at": magento_time(track.created_at),
        });
        match shipment.get_mut("tracks") {
            Some(Value::Array(tracks)) => tracks.push(entry),
            _ => {
                shipment.insert("tracks".into(), Value::Array(vec![entry]));
            }
        }
        shop.next_track_id += 1;
        Ok(track_id)
    }

    /// Deletes a shipment's track by number, as the admin's delete
    /// (`DELETE /V1/shipment/track/{id}`, `TrackRepository::delete`) does:
    /// the track row alone goes, `updated_at` stays.
    pub fn remove_track(
        &self,
        order_entity_id: u64,
        shipment_id: u64,
        track_number: &str,
    ) -> Result<(), FakeMagentoError> {
        let mut shop = self.shop();
        let shipment = shipment_of(&mut shop, order_entity_id, shipment_id)?;
        let Some(Value::Array(tracks)) = shipment.get_mut("tracks") else {
            return Err(FakeMagentoError::NoTrack {
                shipment: shipment_id,
                number: track_number.to_owned(),
            });
        };
        let before = tracks.len();
        tracks.retain(|t| t.get("track_number").and_then(Value::as_str) != Some(track_number));
        if tracks.len() == before {
            return Err(FakeMagentoError::NoTrack {
                shipment: shipment_id,
                number: track_number.to_owned(),
            });
        }
        Ok(())
    }

    pub fn counts(&self) -> MagentoCounts {
        self.shop().counts
    }

    pub fn reset_counts(&self) {
        self.shop().counts = MagentoCounts::default();
    }
}

/// The documented ship payload, checked field by field.
struct ShipRequest {
    /// `(order_item_id, qty)`
    items: Vec<(u64, f64)>,
    /// `(track_number, title, carrier_code)`
    tracks: Vec<(String, String, String)>,
}

impl ShipRequest {
    fn parse(payload: &Value) -> Result<ShipRequest, FakeMagentoError> {
        let bad = |m: String| FakeMagentoError::Payload(m);
        let list = |key: &str| match payload.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(other) => Err(bad(format!("`{key}` must be a list, not {other}"))),
        };
        let mut items = Vec::new();
        for (n, i) in list("items")?.iter().enumerate() {
            let id = i
                .get("order_item_id")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("items[{n}].order_item_id is missing or not an id")))?;
            let qty = num(i, "qty")
                .filter(|q| q.is_finite() && *q >= 0.0)
                .ok_or_else(|| bad(format!("items[{n}].qty is missing or not a quantity")))?;
            items.push((id, qty));
        }
        if let Some(v) = payload.get("notify") {
            if !v.is_boolean() && !v.is_null() {
                return Err(bad(format!("`notify` must be true or false, not {v}")));
            }
        }
        let mut tracks = Vec::new();
        for (n, t) in list("tracks")?.iter().enumerate() {
            let field = |key: &str| {
                t.get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("tracks[{n}].{key} is missing or not text")))
            };
            tracks.push((
                field("track_number")?,
                field("title")?,
                field("carrier_code")?,
            ));
        }
        Ok(ShipRequest { items, tracks })
    }
}

/// A numeric field (Magento sends numbers; strings are accepted too).
fn num(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn add_shipped(item: &mut Value, qty: f64) {
    let shipped = num(item, "qty_shipped").unwrap_or(0.0) + qty;
    if let Value::Object(m) = item {
        m.insert("qty_shipped".into(), json!(shipped));
    }
}

fn is_virtual(item: &Value) -> bool {
    num(item, "is_virtual").is_some_and(|v| v != 0.0)
        || item.get("is_virtual").and_then(Value::as_bool) == Some(true)
        || matches!(
            item.get("product_type").and_then(Value::as_str),
            Some("virtual" | "downloadable")
        )
}

/// `Order\Item::isDummy(true)` for products shipped together, the fake's
/// only kind: the child of a configurable or bundle parent is shipped
/// through its parent.
fn is_dummy(items: &[Value], n: usize) -> bool {
    num(&items[n], "parent_item_id").is_some_and(|p| {
        items.iter().any(|i| {
            num(i, "item_id") == Some(p)
                && matches!(
                    i.get("product_type").and_then(Value::as_str),
                    Some("configurable" | "bundle")
                )
        })
    })
}

/// `Order\Item::getSimpleQtyToShip`, 0 for virtual items.
fn left_to_ship(items: &[Value], n: usize) -> f64 {
    let i = &items[n];
    if is_virtual(i) {
        return 0.0;
    }
    let q = |k: &str| num(i, k).unwrap_or(0.0);
    (q("qty_ordered") - q("qty_shipped").max(q("qty_refunded")) - q("qty_canceled")).max(0.0)
}

/// `Order\Item::getQtyToInvoice`.
fn left_to_invoice(item: &Value) -> f64 {
    let q = |k: &str| num(item, k).unwrap_or(0.0);
    (q("qty_ordered") - q("qty_invoiced") - q("qty_canceled")).max(0.0)
}

/// The shipment `shipment_id` of order `order_entity_id`, as a JSON object.
fn shipment_of(
    shop: &mut Shop,
    order_entity_id: u64,
    shipment_id: u64,
) -> Result<&mut Map<String, Value>, FakeMagentoError> {
    if !shop.orders.contains_key(&order_entity_id) {
        return Err(FakeMagentoError::NoOrder(order_entity_id));
    }
    match shop.shipments.get_mut(&shipment_id) {
        Some(Value::Object(s))
            if s.get("order_id").and_then(Value::as_u64) == Some(order_entity_id) =>
        {
            Ok(s)
        }
        _ => Err(FakeMagentoError::NoShipment {
            order: order_entity_id,
            shipment: shipment_id,
        }),
    }
}

/// Magento's zone-less UTC format.
pub(crate) fn magento_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn state_str(s: &OrderState) -> &str {
    match s {
        OrderState::New => "new",
        OrderState::PendingPayment => "pending_payment",
        OrderState::Processing => "processing",
        OrderState::Complete => "complete",
        OrderState::Closed => "closed",
        OrderState::Canceled => "canceled",
        OrderState::Holded => "holded",
        OrderState::PaymentReview => "payment_review",
        OrderState::Other(s) => s,
    }
}

/// An order as Magento serialises it; empty values are left out, as
/// Magento omits nulls.
fn order_json(o: &Order) -> Value {
    let mut m = Map::new();
    m.insert("entity_id".into(), json!(o.entity_id));
    m.insert("increment_id".into(), json!(o.increment_id));
    m.insert("state".into(), json!(state_str(&o.state)));
    if !o.status.is_empty() {
        m.insert("status".into(), json!(o.status));
    }
    m.insert("created_at".into(), json!(magento_time(o.created_at)));
    m.insert("updated_at".into(), json!(magento_time(o.updated_at)));
    for (k, v) in [
        ("customer_firstname", &o.customer.firstname),
        ("customer_lastname", &o.customer.lastname),
        ("customer_email", &o.customer.email),
    ] {
        if !v.is_empty() {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert("base_currency_code".into(), json!("EUR"));
    let items: Vec<Value> = o
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            // What is left to ship, when the domain says; else all or
            // nothing by whether a shipment exists.
            let shipped = match i.qty_to_ship {
                Some(left) => (i.qty - left).max(0.0),
                None if o.shipments.is_empty() => 0.0,
                None => i.qty,
            };
            json!({
                "item_id": o.entity_id * 1000 + n as u64,
                "order_id": o.entity_id,
                "sku": i.sku,
                "name": i.name,
                "product_type": "simple",
                "is_virtual": 0,
                "qty_ordered": i.qty,
                "qty_shipped": shipped,
                "qty_invoiced": if o.invoices.is_empty() { 0.0 } else { i.qty },
                "qty_refunded": 0,
                "qty_canceled": 0,
            })
        })
        .collect();
    m.insert("items".into(), Value::Array(items));
    m.insert("payment".into(), json!({"method": "checkmo"}));
    // Magento lists the history newest first.
    let history: Vec<Value> = o
        .status_history
        .iter()
        .rev()
        .map(|h| json!({"status": h.status, "created_at": magento_time(h.at), "parent_id": o.entity_id}))
        .collect();
    m.insert("status_histories".into(), Value::Array(history));
    let assignments = match &o.shipping_method {
        Some(method) => json!([{"shipping": {"method": method}}]),
        None => json!([]),
    };
    m.insert(
        "extension_attributes".into(),
        json!({"shipping_assignments": assignments}),
    );
    Value::Object(m)
}

fn error(status: StatusCode, message: &str, parameters: Value) -> Response {
    let mut body = json!({"message": message});
    if !parameters.is_null() {
        body["parameters"] = parameters;
    }
    (status, axum::Json(body)).into_response()
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        UNAUTHORIZED,
        json!({"resources": "Magento_Sales::actions_view"}),
    )
}

// ---------------------------------------------------------------- auth

/// RFC 5849 §3.6, written again here on purpose: the fake must not share
/// the client's code, or a bug in it would pass unnoticed.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Checks the request's credentials; `Err` is the 401 to send back.
fn check_auth(
    shop: &mut Shop,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(), Box<Response>> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match shop.auth.clone() {
        FakeMagentoAuth::Bearer(token) => {
            if header.strip_prefix("Bearer ") == Some(token.as_str()) {
                Ok(())
            } else {
                Err(Box::new(unauthorized()))
            }
        }
        FakeMagentoAuth::OAuth1 {
            consumer_key,
            consumer_secret,
            access_token,
            access_token_secret,
        } => {
            let Some(fields) = header.strip_prefix("OAuth ") else {
                return Err(Box::new(unauthorized()));
            };
            let mut oauth: BTreeMap<String, String> = BTreeMap::new();
            for part in fields.split(',') {
                let Some((k, v)) = part.trim().split_once('=') else {
                    return Err(Box::new(unauthorized()));
                };
                let v = v.trim().trim_matches('"');
                oauth.insert(pct_decode(k.trim()), pct_decode(v));
            }
            let field = |k: &str| oauth.get(k).cloned().unwrap_or_default();
            if field("oauth_consumer_key") != consumer_key
                || field("oauth_token") != access_token
                || field("oauth_signature_method") != "HMAC-SHA256"
                || oauth.get("oauth_version").is_some_and(|v| v != "1.0")
                || field("oauth_nonce").is_empty()
            {
                return Err(Box::new(unauthorized()));
            }
            let Ok(ts) = field("oauth_timestamp").parse::<i64>() else {
                return Err(Box::new(unauthorized()));
            };
            if (Utc::now().timestamp() - ts).abs() > 600 {
                return Err(Box::new(unauthorized()));
            }
            // Base string from what was received: Host header and path.
            let host = headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let uri_text = format!("http://{host}{}", uri.path());
            let mut params: Vec<(String, String)> =
                url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                    .map(|(k, v)| (pct(&k), pct(&v)))
                    .collect();
            params.extend(
                oauth
                    .iter()
                    .filter(|(k, _)| k.as_str() != "oauth_signature" && k.as_str() != "realm")
                    .map(|(k, v)| (pct(k), pct(v))),
            );
            params.sort();
            let normalized = params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            let base = format!(
                "{}&{}&{}",
                method.as_str(),
                pct(&uri_text),
                pct(&normalized)
            );
            let key = format!("{}&{}", pct(&consumer_secret), pct(&access_token_secret));
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
                return Err(Box::new(unauthorized()));
            };
            mac.update(base.as_bytes());
            let Ok(given) =
                base64::engine::general_purpose::STANDARD.decode(field("oauth_signature"))
            else {
                return Err(Box::new(unauthorized()));
            };
            if mac.verify_slice(&given).is_err() {
                return Err(Box::new(unauthorized()));
            }
            if !shop.nonces.insert(field("oauth_nonce")) {
                return Err(Box::new(error(
                    StatusCode::UNAUTHORIZED,
                    "The nonce is already being used by the consumer with ID %1.",
                    json!(["1"]),
                )));
            }
            Ok(())
        }
    }
}

// ------------------------------------------------------- search criteria

#[derive(Debug, Default)]
struct Criteria {
    /// group index → filter index → (field, value, condition)
    groups: BTreeMap<usize, BTreeMap<usize, (String, String, String)>>,
    sorts: BTreeMap<usize, (String, String)>,
    page_size: Option<usize>,
    current_page: Option<usize>,
}

fn bad_criteria(value: &str, field: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Invalid value of \"%value\" provided for the %fieldName field.",
        json!({"value": value, "fieldName": field}),
    )
}

/// Parses `searchCriteria[…]` query parameters in both spellings.
fn parse_criteria(query: &str) -> Result<Criteria, Box<Response>> {
    let mut c = Criteria::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let Some(rest) = key.strip_prefix("searchCriteria") else {
            continue;
        };
        let segs: Vec<String> = rest
            .split('[')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(']').to_owned())
            .map(|s| match s.as_str() {
                "filterGroups" => "filter_groups".to_owned(),
                "conditionType" => "condition_type".to_owned(),
                "sort_orders" => "sortOrders".to_owned(),
                "page_size" => "pageSize".to_owned(),
                "current_page" => "currentPage".to_owned(),
                _ => s,
            })
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let num = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| Box::new(bad_criteria(s, &key)))
        };
        match segs.as_slice() {
            ["filter_groups", g, "filters", f, what] => {
                let entry = c
                    .groups
                    .entry(num(g)?)
                    .or_default()
                    .entry(num(f)?)
                    .or_insert_with(|| (String::new(), String::new(), "eq".to_owned()));
                match *what {
                    "field" => entry.0 = value.into_owned(),
                    "value" => entry.1 = value.into_owned(),
                    "condition_type" => entry.2 = value.into_owned(),
                    _ => return Err(Box::new(bad_criteria(what, &key))),
                }
            }
            ["sortOrders", i, what] => {
                let entry = c
                    .sorts
                    .entry(num(i)?)
                    .or_insert_with(|| (String::new(), "ASC".to_owned()));
                match *what {
                    "field" => entry.0 = value.into_owned(),
                    "direction" => entry.1 = value.to_ascii_uppercase(),
                    _ => return Err(Box::new(bad_criteria(what, &key))),
                }
            }
            ["pageSize"] => c.page_size = Some(num(&value)?),
            ["currentPage"] => c.current_page = Some(num(&value)?),
            _ => return Err(Box::new(bad_criteria(&value, &key))),
        }
    }
    for group in c.groups.values() {
        for (field, _, cond) in group.values() {
            if field.is_empty() {
                return Err(Box::new(bad_criteria("", "field")));
            }
            if !matches!(
                cond.as_str(),
                "eq" | "neq"
                    | "gt"
                    | "gteq"
                    | "lt"
                    | "lteq"
                    | "in"
                    | "nin"
                    | "like"
                    | "null"
                    | "notnull"
                    | "from"
                    | "to"
            ) {
                return Err(Box::new(bad_criteria(cond, "condition_type")));
            }
        }
    }
    Ok(c)
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Numeric when both sides are numbers, textual otherwise (timestamps in
/// Magento's format sort as text).
fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn like(pattern: &str, text: &str) -> bool {
    // SQL LIKE: % any run, _ one character; case-insensitive as MySQL's.
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('_', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => {
                t.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(rest, &t[1..])
            }
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// A value as [`compare`] tells equal ones apart: numbers by value, other
/// text as text. `None` for NaN, which [`compare`] finds equal to every
/// number (no key can say that).
#[derive(Debug, PartialEq, Eq, Hash)]
enum EqKey {
    Num(u64),
    Text(String),
}

fn eq_key(s: &str) -> Option<EqKey> {
    match s.parse::<f64>() {
        Ok(x) if x.is_nan() => None,
        // `+ 0.0`: -0 and 0 compare equal, so they share a key.
        Ok(x) => Some(EqKey::Num((x + 0.0).to_bits())),
        Err(_) => Some(EqKey::Text(s.to_owned())),
    }
}

/// The values of an `in`/`nin` filter as a set, built once per request:
/// matching 100,000 shipments against a list of 300 order ids item by
/// item was quadratic, and stalled the whole-pass benchmark's first pass
/// at 100,000 orders. `None` when a value has no key (the slow path then
/// decides, exactly as before).
fn in_set(value: &str) -> Option<HashSet<EqKey>> {
    value.split(',').map(str::trim).map(eq_key).collect()
}

/// A filter with its `in`/`nin` set, if it has one.
type Compiled<'c> = (&'c (String, String, String), Option<HashSet<EqKey>>);

fn compile(f: &(String, String, String)) -> Compiled<'_> {
    let set = match f.2.as_str() {
        "in" | "nin" => in_set(&f.1),
        _ => None,
    };
    (f, set)
}

fn matches_compiled(item: &Value, (f, set): &Compiled<'_>) -> bool {
    let Some(set) = set else {
        return matches_filter(item, f);
    };
    let Some(g) = item.get(&f.0).and_then(text_of) else {
        return false;
    };
    match eq_key(&g) {
        Some(k) => set.contains(&k) == (f.2 == "in"),
        None => matches_filter(item, f),
    }
}

fn matches_filter(item: &Value, (field, value, cond): &(String, String, String)) -> bool {
    let got = item.get(field).and_then(text_of);
    let list = || {
        value
            .split(',')
            .map(str::trim)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    match (cond.as_str(), got) {
        ("null", got) => got.is_none(),
        ("notnull", got) => got.is_some(),
        (_, None) => false,
        ("eq", Some(g)) => compare(&g, value) == Ordering::Equal,
        ("neq", Some(g)) => compare(&g, value) != Ordering::Equal,
        ("gt", Some(g)) => compare(&g, value) == Ordering::Greater,
        ("gteq" | "from", Some(g)) => compare(&g, value) != Ordering::Less,
        ("lt", Some(g)) => compare(&g, value) == Ordering::Less,
        ("lteq" | "to", Some(g)) => compare(&g, value) != Ordering::Greater,
        ("in", Some(g)) => list().iter().any(|v| compare(&g, v) == Ordering::Equal),
        ("nin", Some(g)) => !list().iter().any(|v| compare(&g, v) == Ordering::Equal),
        ("like", Some(g)) => like(value, &g),
        _ => false,
    }
}

/// Filters, sorts and pages `items` the way Magento does, including the
/// last page served again for a page past the end.
#[cfg(test)]
fn search(items: Vec<Value>, c: &Criteria, total_count_extra: usize) -> Value {
    search_refs(items.iter(), c, total_count_extra)
}

/// [`search`] over borrowed items: only the page served is cloned, and each
/// sort key is computed once, so that a shop of 100,000 orders (the
/// whole-pass benchmark's) is served in time proportional to its size.
fn search_refs<'a>(
    items: impl Iterator<Item = &'a Value>,
    c: &Criteria,
    total_count_extra: usize,
) -> Value {
    let groups: Vec<Vec<Compiled<'_>>> = c
        .groups
        .values()
        .map(|g| g.values().map(compile).collect())
        .collect();
    let mut hits: Vec<&Value> = items
        .filter(|item| {
            groups
                .iter()
                .all(|group| group.iter().any(|f| matches_compiled(item, f)))
        })
        .collect();
    for (field, dir) in c.sorts.values().rev() {
        // Each key parsed once, not at every comparison: `compare`'s
        // order, numbers by value when both sides are numbers.
        let mut keyed: Vec<((Option<f64>, String), &Value)> = hits
            .into_iter()
            .map(|v| {
                let text = v.get(field).and_then(text_of).unwrap_or_default();
                ((text.parse::<f64>().ok(), text), v)
            })
            .collect();
        keyed.sort_by(|((xn, xs), _), ((yn, ys), _)| {
            let o = match (xn, yn) {
                (Some(x), Some(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
                _ => xs.cmp(ys),
            };
            if dir == "DESC" { o.reverse() } else { o }
        });
        hits = keyed.into_iter().map(|(_, v)| v).collect();
    }
    let total = hits.len() + total_count_extra;
    let page_items = match c.page_size.filter(|&n| n > 0) {
        None => hits,
        Some(size) => {
            // The real rows decide what a page holds; only the count lies.
            let last_page = hits.len().div_ceil(size).max(1);
            let page = c.current_page.unwrap_or(1).clamp(1, last_page);
            hits.into_iter()
                .skip((page - 1) * size)
                .take(size)
                .collect()
        }
    };
    let page_items: Vec<Value> = page_items.into_iter().cloned().collect();
    let groups: Vec<Value> = c
        .groups
        .values()
        .map(|g| {
            json!({"filters": g.values().map(|(f, v, t)| json!({"field": f, "value": v, "condition_type": t})).collect::<Vec<_>>()})
        })
        .collect();
    let mut criteria = json!({"filter_groups": groups});
    if let Some(n) = c.page_size {
        criteria["page_size"] = json!(n);
    }
    if let Some(n) = c.current_page {
        criteria["current_page"] = json!(n);
    }
    json!({"items": page_items, "search_criteria": criteria, "total_count": total})
}

// --------------------------------------------------------------- routes

type Shared = State<Arc<Mutex<Shop>>>;

enum Route {
    Orders,
    Shipments,
    Invoices,
}

fn list(
    route: Route,
    shop: &Arc<Mutex<Shop>>,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Response {
    let mut shop = lock(shop);
    if let Err(resp) = check_auth(&mut shop, method, headers, uri) {
        shop.counts.unauthorized += 1;
        return *resp;
    }
    let criteria = match parse_criteria(uri.query().unwrap_or_default()) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let extra = shop.total_count_extra;
    let answer = match route {
        Route::Orders => {
            shop.counts.orders_list += 1;
            let mut answer = search_refs(shop.orders.values(), &criteria, extra);
            if shop.omit_extension_attributes {
                if let Some(Value::Array(items)) = answer.get_mut("items") {
                    for o in items {
                        if let Value::Object(m) = o {
                            m.remove("extension_attributes");
                        }
                    }
                }
            }
            answer
        }
        Route::Shipments => {
            shop.counts.shipments += 1;
            search_refs(shop.shipments.values(), &criteria, extra)
        }
        Route::Invoices => {
            shop.counts.invoices += 1;
            search_refs(shop.invoices.values(), &criteria, extra)
        }
    };
    if let (Route::Orders, Some((n, id, at))) = (route, shop.touch_after_orders_list) {
        if shop.counts.orders_list as u64 == n {
            shop.touch_after_orders_list = None;
            if let Some(Value::Object(o)) = shop.orders.get_mut(&id) {
                o.insert("updated_at".into(), Value::String(magento_time(at)));
            }
        }
    }
    axum::Json(answer).into_response()
}

async fn list_orders(
    State(shop): Shared,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    list(Route::Orders, &shop, &method, &headers, &uri)
}

async fn list_shipments(
    State(shop): Shared,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    list(Route::Shipments, &shop, &method, &headers, &uri)
}

async fn list_invoices(
    State(shop): Shared,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    list(Route::Invoices, &shop, &method, &headers, &uri)
}

async fn get_order(
    State(shop): Shared,
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
    shop.counts.order_get += 1;
    match id.parse::<u64>().ok().and_then(|id| shop.orders.get(&id)) {
        Some(order) => axum::Json(order.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, NOT_FOUND, Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crit(q: &str) -> Criteria {
        parse_criteria(q).unwrap_or_else(|_| panic!("criteria {q}"))
    }

    /// The `in`/`nin` set built once per request matches exactly what the
    /// item-by-item comparison did: numbers by value, text as text.
    #[test]
    fn in_and_nin_by_set_match_as_compare_does() {
        let items: Vec<Value> = vec![
            json!({"order_id": 5}),
            json!({"order_id": "7"}),
            json!({"order_id": 8}),
            json!({"order_id": "abc"}),
            json!({"other": 1}),
        ];
        let q = |cond: &str, value: &str| {
            format!(
                "searchCriteria[filter_groups][0][filters][0][field]=order_id&searchCriteria[filter_groups][0][filters][0][value]={value}&searchCriteria[filter_groups][0][filters][0][condition_type]={cond}"
            )
        };
        let ids = |answer: Value| -> Vec<Value> {
            answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.get("order_id").cloned().unwrap_or(Value::Null))
                .collect()
        };
        for (cond, value) in [("in", "5.0, 7,abc"), ("nin", "5.0, 7,abc")] {
            let c = crit(&q(cond, value));
            let slow: Vec<Value> = items
                .iter()
                .filter(|i| {
                    c.groups
                        .values()
                        .all(|g| g.values().any(|f| matches_filter(i, f)))
                })
                .cloned()
                .collect();
            let got = ids(search(items.clone(), &c, 0));
            let want: Vec<Value> = slow
                .iter()
                .map(|i| i.get("order_id").cloned().unwrap_or(Value::Null))
                .collect();
            assert_eq!(got, want, "{cond}");
        }
        assert_eq!(
            ids(search(items.clone(), &crit(&q("in", "5.0, 7,abc")), 0)),
            vec![json!(5), json!("7"), json!("abc")]
        );
    }

    #[test]
    fn both_spellings_and_paging_past_the_end() {
        let items: Vec<Value> = (1..=5)
            .map(|i| json!({"entity_id": i, "updated_at": format!("2026-05-0{i} 10:00:00")}))
            .collect();
        for spelling in [
            "searchCriteria[filter_groups][0][filters][0][field]=updated_at&searchCriteria[filter_groups][0][filters][0][value]=2026-05-02+00:00:00&searchCriteria[filter_groups][0][filters][0][condition_type]=gteq",
            "searchCriteria[filterGroups][0][filters][0][field]=updated_at&searchCriteria[filterGroups][0][filters][0][value]=2026-05-02%2000:00:00&searchCriteria[filterGroups][0][filters][0][conditionType]=gteq",
        ] {
            let q = format!(
                "{spelling}&searchCriteria[pageSize]=3&searchCriteria[currentPage]=9&searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=DESC"
            );
            let r = search(items.clone(), &crit(&q), 0);
            assert_eq!(r["total_count"], 4);
            // Page 9 of 2: the last page again.
            assert_eq!(
                r["items"],
                json!([{"entity_id": 2, "updated_at": "2026-05-02 10:00:00"}])
            );
        }
        let r = search(
            items.clone(),
            &crit(
                "searchCriteria[filter_groups][0][filters][0][field]=entity_id&searchCriteria[filter_groups][0][filters][0][value]=1,3,5&searchCriteria[filter_groups][0][filters][0][condition_type]=in",
            ),
            0,
        );
        assert_eq!(r["total_count"], 3);
        assert!(parse_criteria("searchCriteria[filter_groups][0][filters][0][field]=x&searchCriteria[filter_groups][0][filters][0][condition_type]=around").is_err());
        assert!(like("1000%", "100023") && like("%0_3", "100023") && !like("2%", "100023"));
    }
}
