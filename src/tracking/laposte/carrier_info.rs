//! Decoding of the shipment fields besides the events: `estimDate`,
//! `deliveryDate` and `contextData.removalPoint` (Swagger SUIVI,
//! `shipmentPropPub`; docs/apis.md). Part of the La Poste client's decode;
//! what it yields is stored in the snapshot and read by the rules.
//!
//! A field that is missing or unreadable is logged and left out: the
//! events still decide the parcel's status, these only add facts.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::API;
use crate::domain::{CarrierInfo, RemovalPoint};

pub(super) fn decode(id: &str, shipment: &Value) -> CarrierInfo {
    let estimate = date(id, shipment, "estimDate");
    CarrierInfo {
        estimated_delivery: estimate.map(|d| d.with_timezone(&Utc)),
        // La Poste writes a day as midnight (or 02:00) in its own offset:
        // that offset's calendar date is the day it means.
        estimated_on: estimate.map(|d| d.date_naive()),
        delivered_at: date(id, shipment, "deliveryDate").map(|d| d.with_timezone(&Utc)),
        removal_point: removal_point(id, shipment),
        estimate_history: Vec::new(),
    }
}

fn date(id: &str, shipment: &Value, field: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let text = shipment.get(field).and_then(Value::as_str)?;
    match DateTime::parse_from_rfc3339(text) {
        Ok(d) => Some(d),
        Err(err) => {
            tracing::warn!(api = API, number = %id, field, error = %err, "unreadable La Poste date, ignored");
            None
        }
    }
}

/// `contextData.removalPoint {name, type}`; the spec requires both. Other
/// keys real answers carry (`idPoint`, `isDiffPoint`) are not needed.
fn removal_point(id: &str, shipment: &Value) -> Option<RemovalPoint> {
    let raw = shipment.get("contextData")?.get("removalPoint")?;
    if raw.is_null() {
        return None;
    }
    let name = raw
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        tracing::warn!(api = API, number = %id, "La Poste removalPoint without a name, ignored");
        return None;
    };
    Some(RemovalPoint {
        name: name.to_owned(),
        kind: raw
            .get("type")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use serde_json::json;

    #[test]
    fn point_and_dates() {
        let s = json!({
            "estimDate": "2019-04-05T02:00:00+02:00",
            "deliveryDate": "2020-12-03T15:32:00+02:00",
            "contextData": {"removalPoint": {"idPoint": "319220", "type": "A2P",
                "name": "TOULOUSE ROQUELAINE", "isDiffPoint": false}}
        });
        let i = decode("6A1", &s);
        assert_eq!(i.estimated_on, NaiveDate::from_ymd_opt(2019, 4, 5));
        assert_eq!(
            i.estimated_delivery,
            Utc.with_ymd_and_hms(2019, 4, 5, 0, 0, 0).single()
        );
        assert_eq!(
            i.delivered_at,
            Utc.with_ymd_and_hms(2020, 12, 3, 13, 32, 0).single()
        );
        assert_eq!(
            i.removal_point,
            Some(RemovalPoint {
                name: "TOULOUSE ROQUELAINE".into(),
                kind: Some("A2P".into())
            })
        );
    }

    #[test]
    fn absent_or_broken_fields_are_left_out() {
        assert_eq!(decode("6A1", &json!({})), CarrierInfo::default());
        let s = json!({"contextData": {"removalPoint": {"type": "BDP"}}, "estimDate": 12});
        assert_eq!(decode("6A1", &s), CarrierInfo::default());
        let s = json!({"contextData": {"removalPoint": null}});
        assert_eq!(decode("6A1", &s).removal_point, None);
        // An absurd estimate (years after the events, as a real answer had)
        // is decoded as sent: the rules decide what it is worth.
        let s = json!({"estimDate": "2023-01-27T00:00:00+01:00"});
        assert_eq!(
            decode("6A1", &s).estimated_on,
            NaiveDate::from_ymd_opt(2023, 1, 27)
        );
    }
}
