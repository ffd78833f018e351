//! Schema migrations, run by [`super::State::open`] before anything reads
//! the store (docs/state.md).
//!
//! # Schema 1 → 2
//!
//! Schema 1 wrote the in-memory types themselves; where a field had been
//! added over time, serde filled it in when it was missing
//! (`#[serde(default)]`). Schema 2 writes the store's records
//! (`records.rs`), which have the same JSON shape but no defaults: every
//! field is written. The step rewrites every value of every tree: it reads
//! the schema-1 envelope, fills in the fields schema 1 defaulted
//! ([`fill_v1_defaults`], the one place those defaults live now), checks
//! that the result decodes as the schema-2 record, and writes it back in a
//! schema-2 envelope under the same key.
//!
//! # Schema 2 → 3
//!
//! A tracking snapshot gained what La Poste says besides its events
//! (`info`: the estimated and actual delivery, the pickup point, the
//! estimate's history). The step rewrites every value in a schema-3
//! envelope; a parcel whose snapshot has no `info` gets an empty one
//! ([`fill_v2_defaults`]): nothing was decoded then, so nothing is known.
//! The next poll fills it in. The records' rule gained `pickup`, which no
//! older value holds.
//!
//! # Schema 3 → 4
//!
//! A journaled create gained the checklist it writes on the new card, and
//! an intent the id of the checklist its steps created. An older intent
//! wrote no checklist: both are written out as null ([`fill_v3_defaults`]).
//!
//! # Schema 4 → 5
//!
//! A card record gained the return's stage its card last showed, and so
//! did the journaled writes that settle one (create, update, reopen,
//! adopt). Nothing recorded it before: written out as null, « not known »
//! ([`fill_v4_defaults`]), which the planner never comments on.
//!
//! # Schema 5 → 6
//!
//! The cases people open: a `cases` tree, case keys and rules. Nothing to
//! fill; the step re-envelopes every value so that an older colisync
//! refuses the store.
//!
//! # Schema 6 → 7
//!
//! The store gained three indexes (`index.rs`): `open_orders` (the orders
//! a pass loads and judges), `order_times` (each order's `updated_at`, for
//! the pull's "unchanged" check and for pruning) and `due` (parcels La
//! Poste may still be asked about). The step re-envelopes every value
//! (nothing else changes in them), then builds the three from the orders
//! and parcels: every order but cancelled and closed ones is open, as the
//! pass loaded them until then; the first pass at schema 7 judges them all
//! once and takes out those with nothing left to do. The indexes are
//! cleared and rebuilt from the records, so the step is idempotent.
//!
//! # Every step
//!
//! Each step is the same walk ([`run`]) with its own fill. `records.rs`
//! holds only today's shapes, so a step checks a value by decoding it with
//! its own fill and every later step's applied (on a copy: what it writes
//! is its own schema's value, finished by the next step).
//!
//! Crash safety: each value carries its own schema number in its envelope,
//! so a step skips values already past its schema and a run interrupted
//! anywhere is finished by the next open (each sled insert is atomic; an insert lost in
//! a crash leaves that value at its old schema, done again). `meta/schema`
//! moves on only after the step returned, and is flushed (see
//! `check_schema`).
//!
//! A value that does not decode under its schema either (it was already
//! skipped and logged by every pass) is left as it is, and reported once
//! here: the readers go on reporting it as before, naming its tree and key.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::records as r;
use super::{StateError, index, sled_err};

/// Every tree of the store, in the order they are migrated.
const TREES: &[&str] = &[
    "meta",
    "orders",
    "parcels",
    "cards",
    "journal",
    "cases",
    "outbox",
    "escalations",
    "ticket_links",
];

/// A step's fill: writes out what the older schema left out.
type Fill = fn(&str, &mut Value);

/// The fill of the step from schema `n` is `FILLS[n - 1]`.
const FILLS: &[Fill] = &[
    fill_v1_defaults,
    fill_v2_defaults,
    fill_v3_defaults,
    fill_v4_defaults,
    fill_v5_defaults,
    fill_v6_defaults,
];

/// Schema 1 to 2: every value rewritten as a schema-2 record.
pub(super) fn v1_to_v2(db: &sled::Db) -> Result<(), StateError> {
    run(db, 1)
}

/// Schema 2 to 3: every value re-enveloped, snapshots given their `info`.
pub(super) fn v2_to_v3(db: &sled::Db) -> Result<(), StateError> {
    run(db, 2)
}

/// Schema 3 to 4: every value re-enveloped, intents given their checklist.
pub(super) fn v3_to_v4(db: &sled::Db) -> Result<(), StateError> {
    run(db, 3)
}

/// Schema 4 to 5: every value re-enveloped, card records and the intents
/// that settle one given an unknown return stage.
pub(super) fn v4_to_v5(db: &sled::Db) -> Result<(), StateError> {
    run(db, 4)
}

/// Schema 5 to 6: every value re-enveloped. Schema 6 adds what older
/// values cannot hold (the `cases` tree, case keys and case rules), so the
/// step fills nothing; it exists so that a colisync of schema 5 refuses a
/// store that may hold case keys, rather than skip them as undecodable.
pub(super) fn v5_to_v6(db: &sled::Db) -> Result<(), StateError> {
    run(db, 5)
}

/// Schema 6 to 7: every value re-enveloped, the indexes built.
pub(super) fn v6_to_v7(db: &sled::Db) -> Result<(), StateError> {
    run(db, 6)?;
    build_indexes(db)
}

/// The indexes of `index.rs`, cleared and built again from the orders and
/// parcels. A value that does not decode is left out (the readers report
/// it, as before).
fn build_indexes(db: &sled::Db) -> Result<(), StateError> {
    #[derive(serde::Deserialize)]
    struct Envelope<T> {
        value: T,
    }
    let tree = |name: &str| {
        db.open_tree(name)
            .map_err(sled_err(format!("opening tree {name}")))
    };
    let (orders, parcels) = (tree("orders")?, tree("parcels")?);
    let open = tree(index::OPEN_ORDERS)?;
    let times = tree(index::ORDER_TIMES)?;
    let due = tree(index::DUE)?;
    for t in [&open, &times, &due] {
        t.clear().map_err(sled_err("clearing an index"))?;
    }
    let (mut open_count, mut due_count) = (0usize, 0usize);
    for entry in orders.iter() {
        let (_, v) = entry.map_err(sled_err("iterating orders"))?;
        // Whatever schema number later steps give the envelope: the
        // order's shape is what this step reads.
        let Ok(e) = serde_json::from_slice::<Envelope<r::Order>>(&v) else {
            continue;
        };
        let order = crate::domain::Order::from(e.value);
        open_count += usize::from(index::indexed_open(&order));
        index::index_order(&open, &times, &order)?;
    }
    for entry in parcels.iter() {
        let (_, v) = entry.map_err(sled_err("iterating parcels"))?;
        let Ok(e) = serde_json::from_slice::<Envelope<r::ParcelRecord>>(&v) else {
            continue;
        };
        let record = super::ParcelRecord::from(e.value);
        due_count += usize::from(index::indexed_due(&record));
        index::index_parcel(&due, &record.key().to_string(), &record)?;
    }
    tracing::info!(
        open = open_count,
        followed_parcels = due_count,
        "state migration 6 → 7: indexes built"
    );
    Ok(())
}

/// Every value of every tree at schema `from` rewritten at `from + 1`.
fn run(db: &sled::Db, from: u64) -> Result<(), StateError> {
    let mut rewritten = 0usize;
    let mut left = 0usize;
    for &name in TREES {
        let tree = db
            .open_tree(name)
            .map_err(sled_err(format!("opening tree {name}")))?;
        for entry in tree.iter() {
            let (k, v) = entry.map_err(sled_err(format!("iterating {name}")))?;
            if name == "meta" && &*k == super::META_SCHEMA.as_bytes() {
                continue;
            }
            let shown = show_key(name, &k);
            match migrate_value(name, &k, &v, from) {
                Ok(Some(bytes)) => {
                    tree.insert(&k, bytes)
                        .map_err(sled_err(format!("writing {name}/{shown}")))?;
                    rewritten += 1;
                }
                Ok(None) => {}
                Err(message) => {
                    left += 1;
                    tracing::warn!(
                        tree = name,
                        key = %shown,
                        error = %message,
                        "state migration: value left as it was (it did not decode under its schema either)"
                    );
                }
            }
        }
    }
    tracing::info!(
        rewritten,
        left,
        "state migration {from} → {}: values rewritten",
        from + 1
    );
    Ok(())
}

/// The schema `from + 1` bytes for a schema-`from` value; `None` when it
/// is past `from` already.
fn migrate_value(
    tree: &str,
    key: &[u8],
    bytes: &[u8],
    from: u64,
) -> Result<Option<Vec<u8>>, String> {
    let envelope: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let v = envelope.get("v").and_then(Value::as_u64);
    match v {
        Some(v) if v > from => return Ok(None),
        Some(v) if v == from => {}
        other => return Err(format!("envelope of schema {other:?}, expected {from}")),
    }
    let mut value = envelope
        .get("value")
        .cloned()
        .ok_or("envelope without a value")?;
    let fills = usize::try_from(from - 1)
        .ok()
        .and_then(|i| FILLS.get(i..))
        .ok_or_else(|| format!("no migration from schema {from}"))?;
    fills[0](tree, &mut value);
    // Today's records are the only ones written down: the later steps'
    // fills finish a copy for the check.
    let mut today = value.clone();
    for fill in &fills[1..] {
        fill(tree, &mut today);
    }
    match tree {
        "orders" => check::<r::Order>(&today)?,
        "parcels" => check::<r::ParcelRecord>(&today)?,
        "cards" => check::<r::CardRecord>(&today)?,
        "journal" => check::<r::Intent>(&today)?,
        "cases" => check::<r::CaseRecord>(&today)?,
        "outbox" => check::<r::WriteIntent>(&today)?,
        // The Freshdesk ticket a problem was escalated to, or a card links.
        "escalations" | "ticket_links" => check::<u64>(&today)?,
        _ => match key {
            b"undecodable_orders" => check::<r::UndecodableOrders>(&today)?,
            b"trello_recent" => check::<Vec<chrono::DateTime<chrono::Utc>>>(&today)?,
            // The cursor and the last pass's instant.
            _ => check::<chrono::DateTime<chrono::Utc>>(&today)?,
        },
    }
    serde_json::to_vec(&json!({ "v": from + 1, "value": value }))
        .map(Some)
        .map_err(|e| e.to_string())
}

fn check<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
    T::deserialize(value).map(drop).map_err(|e| e.to_string())
}

/// What schema 1 let serde default when it was missing: written out.
fn fill_v1_defaults(tree: &str, value: &mut Value) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    match tree {
        "orders" => {
            if let Some(items) = obj.get_mut("items").and_then(Value::as_array_mut) {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    default(item, "qty_to_ship", Value::Null);
                }
            }
        }
        "cards" => {
            default(obj, "label_ids", json!([]));
            default(obj, "due", Value::Null);
        }
        "journal" => {
            default(obj, "steps_done", json!(0));
            default(obj, "label_ids", Value::Null);
            if let Some(action) = obj.get_mut("action").and_then(Value::as_object_mut) {
                match action.get("kind").and_then(Value::as_str) {
                    Some("update" | "reopen") => {
                        default(action, "clear_due", json!(false));
                        default(action, "lead_due", json!(false));
                    }
                    Some("resolve") => default(action, "from_list", json!("")),
                    Some("adopt") => default(action, "due", Value::Null),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// What schema 2 did not have: a snapshot's carrier info, empty.
fn fill_v2_defaults(tree: &str, value: &mut Value) {
    if tree != "parcels" {
        return;
    }
    let tracking = value
        .get_mut("parcel")
        .and_then(|p| p.get_mut("tracking"))
        .and_then(Value::as_object_mut);
    if let Some(t) = tracking {
        default(
            t,
            "info",
            json!({
                "estimated_delivery": null,
                "estimated_on": null,
                "delivered_at": null,
                "removal_point": null,
                "estimate_history": [],
            }),
        );
    }
}

/// What schema 3 did not have: no checklist on a journaled create, and no
/// checklist id on its intent.
fn fill_v3_defaults(tree: &str, value: &mut Value) {
    if tree != "journal" {
        return;
    }
    let Some(intent) = value.as_object_mut() else {
        return;
    };
    default(intent, "checklist_id", Value::Null);
    let create = intent
        .get_mut("action")
        .and_then(Value::as_object_mut)
        .filter(|a| a.get("kind").and_then(Value::as_str) == Some("create"));
    if let Some(action) = create {
        default(action, "checklist", Value::Null);
    }
}

/// What schema 4 did not have: the return's stage of a card record and of
/// the journaled writes that settle one, unknown.
fn fill_v4_defaults(tree: &str, value: &mut Value) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    match tree {
        "cards" => default(obj, "stage", Value::Null),
        "journal" => {
            let settles_a_record =
                obj.get_mut("action")
                    .and_then(Value::as_object_mut)
                    .filter(|a| {
                        matches!(
                            a.get("kind").and_then(Value::as_str),
                            Some("create" | "update" | "reopen" | "adopt")
                        )
                    });
            if let Some(action) = settles_a_record {
                default(action, "stage", Value::Null);
            }
        }
        _ => {}
    }
}

/// Schema 5 left nothing out that schema 6 reads.
fn fill_v5_defaults(_tree: &str, _value: &mut Value) {}

/// Schema 6's values are schema 7's: only the indexes are new.
fn fill_v6_defaults(_tree: &str, _value: &mut Value) {}

fn default(obj: &mut Map<String, Value>, field: &str, value: Value) {
    obj.entry(field).or_insert(value);
}

fn show_key(tree: &str, k: &[u8]) -> String {
    match (tree, <[u8; 8]>::try_from(k)) {
        ("orders" | "journal", Ok(b)) => u64::from_be_bytes(b).to_string(),
        _ => String::from_utf8_lossy(k).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema 4 to 5 builds the indexes from the records, and building
    /// them again gives the same indexes.
    #[test]
    fn schema_6_to_7_builds_the_indexes_from_the_records() {
        use crate::domain::{Carrier, Customer, Order, OrderState, Parcel};
        let t = chrono::DateTime::from_timestamp(1_779_000_000, 5).unwrap();
        let order = |id: u64, state: OrderState| Order {
            entity_id: id,
            increment_id: format!("10{id}"),
            state,
            status: "processing".into(),
            customer: Customer::default(),
            items: vec![],
            shipping_method: None,
            created_at: t,
            updated_at: t,
            invoices: vec![],
            status_history: vec![],
            shipments: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let orders = db.open_tree("orders").unwrap();
        let parcels = db.open_tree("parcels").unwrap();
        for o in [
            order(1, OrderState::Processing),
            order(2, OrderState::Closed),
        ] {
            let v = json!({"v": 6, "value": r::Order::from(&o)});
            orders
                .insert(o.entity_id.to_be_bytes(), serde_json::to_vec(&v).unwrap())
                .unwrap();
        }
        let p = Parcel {
            order_entity_id: 1,
            order_increment_id: "101".into(),
            shipment_id: 3,
            tracking_number: "6A12345678901".into(),
            carrier: Carrier::Colissimo,
            shipped_at: t,
            tracking: None,
        };
        let rec = super::super::ParcelRecord::new(p, t);
        let v = json!({"v": 6, "value": r::ParcelRecord::from(&rec)});
        parcels
            .insert(
                rec.key().to_string().as_bytes(),
                serde_json::to_vec(&v).unwrap(),
            )
            .unwrap();
        for _ in 0..2 {
            v6_to_v7(&db).unwrap();
            let keys = |name: &str| -> Vec<Vec<u8>> {
                db.open_tree(name)
                    .unwrap()
                    .iter()
                    .map(|e| e.unwrap().0.to_vec())
                    .collect()
            };
            assert_eq!(keys(index::OPEN_ORDERS), vec![1u64.to_be_bytes().to_vec()]);
            assert_eq!(keys(index::ORDER_TIMES).len(), 2);
            assert_eq!(keys(index::DUE), vec![rec.key().to_string().into_bytes()]);
            let v: Value =
                serde_json::from_slice(&orders.get(1u64.to_be_bytes()).unwrap().unwrap()).unwrap();
            assert_eq!(v["v"], 7);
        }
    }

    #[test]
    fn schema_1_defaults_are_written_out() {
        let card = br#"{"v":1,"value":{"card_id":"c","list_id":"l","fingerprint":"","rule":null,
            "severity":"late","status":"open","filed_at":"2026-05-19T08:00:00Z",
            "updated_at":"2026-05-19T08:00:00Z"}}"#;
        let out = migrate_value("cards", b"order/1", card, 1)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 2);
        assert_eq!(v["value"]["label_ids"], json!([]));
        assert!(v["value"].get("due").is_some());
        // Already at 2: left alone (an interrupted migration resumes).
        assert_eq!(migrate_value("cards", b"order/1", &out, 1).unwrap(), None);
        // Not a schema-1 value: reported, not rewritten.
        assert!(migrate_value("cards", b"order/1", b"{\"v\":0,\"value\":1}", 1).is_err());
        assert!(migrate_value("cards", b"order/1", b"garbage", 1).is_err());
    }

    #[test]
    fn a_schema_1_intent_gets_its_action_defaults() {
        let intent = br#"{"v":1,"value":{"key":{"Order":{"increment_id":"1"}},
            "action":{"kind":"resolve","key":{"Order":{"increment_id":"1"}},"card_id":"c",
              "rule":null,"title":"t","comment":null,"move_to":null},
            "started_at":"2026-05-19T08:00:00Z","card_id":"c"}}"#;
        let out = migrate_value("journal", &7u64.to_be_bytes(), intent, 1)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["value"]["steps_done"], 0);
        assert_eq!(v["value"]["action"]["from_list"], "");
    }

    #[test]
    fn a_schema_2_snapshot_gets_an_empty_carrier_info() {
        let parcel = br#"{"v":2,"value":{"parcel":{"order_entity_id":1,"order_increment_id":"1",
            "shipment_id":3,"tracking_number":"6A1","carrier":"colissimo",
            "shipped_at":"2026-05-19T08:00:00Z","tracking":{"fetched_at":"2026-05-19T09:00:00Z",
            "status":"in_transit","events":[],"is_final":false,"product":null}},
            "next_poll_at":null,"polls_unchanged":0,"last_change_at":"2026-05-19T09:00:00Z"}}"#;
        let out = migrate_value("parcels", b"parcel/1/6A1", parcel, 2)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 3);
        assert_eq!(
            v["value"]["parcel"]["tracking"]["info"]["estimate_history"],
            json!([])
        );
        assert!(check::<r::ParcelRecord>(&v["value"]).is_ok());
        // Without the step the schema-2 value is not today's record.
        let old: Value = serde_json::from_slice(parcel).unwrap();
        assert!(check::<r::ParcelRecord>(&old["value"]).is_err());
        // Already at 3: left alone; a schema-1 leftover is reported.
        assert_eq!(migrate_value("parcels", b"k", &out, 2).unwrap(), None);
        let v1 = br#"{"v":1,"value":{}}"#;
        assert!(migrate_value("parcels", b"k", v1, 2).is_err());
    }

    #[test]
    fn a_schema_3_create_intent_gets_no_checklist() {
        let intent = br#"{"v":3,"value":{"key":{"Order":{"increment_id":"1"}},
            "action":{"kind":"create","key":{"Order":{"increment_id":"1"}},"rule":"shipping_compatible",
              "severity":"late","fingerprint":"f","list":{"name":"L","id":"l"},
              "content":{"title":"t","description":"d","labels":[],"due":null},"note":null},
            "started_at":"2026-05-19T08:00:00Z","card_id":null,"steps_done":0,"label_ids":null}}"#;
        let old: Value = serde_json::from_slice(intent).unwrap();
        assert!(old["value"].get("checklist_id").is_none());
        let out = migrate_value("journal", &7u64.to_be_bytes(), intent, 3)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 4);
        // Written out, not left to serde (records carry every field).
        assert_eq!(v["value"].get("checklist_id"), Some(&Value::Null));
        assert_eq!(v["value"]["action"].get("checklist"), Some(&Value::Null));
        assert!(check::<r::Intent>(&v["value"]).is_ok());
    }

    #[test]
    fn a_schema_4_card_and_update_get_an_unknown_stage() {
        let card = br#"{"v":4,"value":{"card_id":"c","list_id":"l","fingerprint":"f",
            "rule":"return_to_sender","severity":"late","status":"open",
            "filed_at":"2026-05-19T08:00:00Z","updated_at":"2026-05-19T08:00:00Z",
            "label_ids":[],"due":null}}"#;
        let out = migrate_value("cards", b"parcel/1/6A1", card, 4)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 5);
        assert_eq!(v["value"].get("stage"), Some(&Value::Null));
        assert!(check::<r::CardRecord>(&v["value"]).is_ok());
        assert_eq!(migrate_value("cards", b"k", &out, 4).unwrap(), None);

        let intent = br#"{"v":4,"value":{"key":{"Order":{"increment_id":"1"}},
            "action":{"kind":"update","key":{"Order":{"increment_id":"1"}},"card_id":"c",
              "rule":"return_to_sender","severity":"late","fingerprint":"f",
              "content":{"title":"t","description":"d","labels":[],"due":null},
              "keep_label_ids":[],"move_to":null,"comment":null,"clear_due":false,"lead_due":false},
            "started_at":"2026-05-19T08:00:00Z","card_id":"c","steps_done":0,"label_ids":null,
            "checklist_id":null}}"#;
        let out = migrate_value("journal", &7u64.to_be_bytes(), intent, 4)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["value"]["action"].get("stage"), Some(&Value::Null));
        assert!(check::<r::Intent>(&v["value"]).is_ok());
        // A comment settles no record: no stage.
        let comment = br#"{"v":4,"value":{"key":{"Order":{"increment_id":"1"}},
            "action":{"kind":"comment","key":{"Order":{"increment_id":"1"}},"card_id":"c","text":"x"},
            "started_at":"2026-05-19T08:00:00Z","card_id":"c","steps_done":0,"label_ids":null,
            "checklist_id":null}}"#;
        let out = migrate_value("journal", &8u64.to_be_bytes(), comment, 4)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(v["value"]["action"].get("stage").is_none());
        assert!(check::<r::Intent>(&v["value"]).is_ok());
    }

    /// The write-back's trees carry the same envelope: a step that skipped
    /// them would leave an escalation unreadable once the schema moved on
    /// (and the problem escalated a second time).
    #[test]
    fn every_step_rewrites_the_write_back_trees_too() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let escalations = db.open_tree("escalations").unwrap();
        escalations
            .insert("order/100023", br#"{"v":5,"value":4242}"#.as_slice())
            .unwrap();
        let links = db.open_tree("ticket_links").unwrap();
        links
            .insert("card1/4242", br#"{"v":5,"value":4242}"#.as_slice())
            .unwrap();
        let outbox = db.open_tree("outbox").unwrap();
        outbox
            .insert(
                7u64.to_be_bytes(),
                br#"{"v":5,"value":{"not":"a write"}}"#.as_slice(),
            )
            .unwrap();

        v5_to_v6(&db).unwrap();

        for (tree, key) in [
            (&escalations, b"order/100023".as_slice()),
            (&links, b"card1/4242".as_slice()),
        ] {
            let v: Value = serde_json::from_slice(&tree.get(key).unwrap().unwrap()).unwrap();
            assert_eq!(v, json!({"v": 6, "value": 4242}));
        }
        // An outbox value that is no write intent is reported and left.
        let v: Value =
            serde_json::from_slice(&outbox.get(7u64.to_be_bytes()).unwrap().unwrap()).unwrap();
        assert_eq!(v["v"], 5);
    }
}
