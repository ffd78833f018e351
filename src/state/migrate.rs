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
//! Crash safety: each value carries its own schema number in its envelope,
//! so the step skips values already at 2 and a run interrupted anywhere is
//! finished by the next open (each sled insert is atomic; an insert lost in
//! a crash leaves that value at 1, done again). `meta/schema` becomes 2
//! only after the step returned, and is flushed (see `check_schema`).
//!
//! A value that does not decode under schema 1 either (it was already
//! skipped and logged by every pass) is left as it is, and reported once
//! here: the readers go on reporting it as before, naming its tree and key.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::records as r;
use super::{StateError, sled_err};

/// Every tree of the store, in the order they are migrated.
const TREES: &[&str] = &["meta", "orders", "parcels", "cards", "journal"];

/// Schema 1 to 2: every value rewritten as a schema-2 record.
pub(super) fn v1_to_v2(db: &sled::Db) -> Result<(), StateError> {
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
            match migrate_value(name, &k, &v) {
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
                        "state migration: value left as it was (it did not decode under schema 1 either)"
                    );
                }
            }
        }
    }
    tracing::info!(rewritten, left, "state migration 1 → 2: values rewritten");
    Ok(())
}

/// The schema-2 bytes for a schema-1 value; `None` when it is at 2 already.
fn migrate_value(tree: &str, key: &[u8], bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let envelope: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let v = envelope.get("v").and_then(Value::as_u64);
    match v {
        Some(2) => return Ok(None),
        Some(1) => {}
        other => return Err(format!("envelope of schema {other:?}, expected 1")),
    }
    let mut value = envelope
        .get("value")
        .cloned()
        .ok_or("envelope without a value")?;
    fill_v1_defaults(tree, &mut value);
    match tree {
        "orders" => check::<r::Order>(&value)?,
        "parcels" => check::<r::ParcelRecord>(&value)?,
        "cards" => check::<r::CardRecord>(&value)?,
        "journal" => check::<r::Intent>(&value)?,
        _ => match key {
            b"undecodable_orders" => check::<r::UndecodableOrders>(&value)?,
            // The cursor and the last pass's instant.
            _ => check::<chrono::DateTime<chrono::Utc>>(&value)?,
        },
    }
    serde_json::to_vec(&json!({ "v": 2, "value": value }))
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

    #[test]
    fn schema_1_defaults_are_written_out() {
        let card = br#"{"v":1,"value":{"card_id":"c","list_id":"l","fingerprint":"","rule":null,
            "severity":"late","status":"open","filed_at":"2026-05-19T08:00:00Z",
            "updated_at":"2026-05-19T08:00:00Z"}}"#;
        let out = migrate_value("cards", b"order/1", card).unwrap().unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 2);
        assert_eq!(v["value"]["label_ids"], json!([]));
        assert!(v["value"].get("due").is_some());
        // Already at 2: left alone (an interrupted migration resumes).
        assert_eq!(migrate_value("cards", b"order/1", &out).unwrap(), None);
        // Not a schema-1 value: reported, not rewritten.
        assert!(migrate_value("cards", b"order/1", b"{\"v\":7,\"value\":1}").is_err());
        assert!(migrate_value("cards", b"order/1", b"garbage").is_err());
    }

    #[test]
    fn a_schema_1_intent_gets_its_action_defaults() {
        let intent = br#"{"v":1,"value":{"key":{"Order":{"increment_id":"1"}},
            "action":{"kind":"resolve","key":{"Order":{"increment_id":"1"}},"card_id":"c",
              "rule":null,"title":"t","comment":null,"move_to":null},
            "started_at":"2026-05-19T08:00:00Z","card_id":"c"}}"#;
        let out = migrate_value("journal", &7u64.to_be_bytes(), intent)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["value"]["steps_done"], 0);
        assert_eq!(v["value"]["action"]["from_list"], "");
    }
}
