//! Table tests of the rules. Each table cites the seed section it encodes;
//! every boundary is tested on both sides. Instants are written in Paris
//! local time and converted to UTC the way Magento stores them, so that the
//! tests exercise the conversion (winter UTC+1, summer UTC+2).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::*;
use crate::config::RulesConfig;
use crate::domain::calendar::Calendar;
use crate::domain::*;
use crate::tracking::status::normalise;

/// Paris wall-clock time → UTC instant.
fn paris(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris
        .with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("unambiguous test time")
        .with_timezone(&Utc)
}

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
}

fn order(skus: &[&str], validated: Option<DateTime<Utc>>) -> Order {
    let created = validated.unwrap_or_else(|| utc(2026, 1, 1, 0, 0));
    Order {
        entity_id: 23,
        increment_id: "100023".into(),
        state: OrderState::Processing,
        status: "processing".into(),
        customer: Customer {
            firstname: "Jeanne".into(),
            lastname: "Dupont".into(),
            email: "jeanne.dupont@example.fr".into(),
        },
        items: skus
            .iter()
            .map(|s| Item {
                sku: (*s).into(),
                name: format!("Cartouche {s}"),
                qty: 1.0,
                qty_to_ship: None,
            })
            .collect(),
        shipping_method: Some("colissimo_homecl".into()),
        created_at: created,
        updated_at: created,
        invoices: validated.into_iter().collect(),
        status_history: vec![],
        shipments: vec![],
    }
}

/// An order shipped at `shipped` by `carrier`, with one parcel whose
/// tracking has `events` (newest first, `None` = never polled).
fn shipped(
    carrier: Carrier,
    shipped: DateTime<Utc>,
    events: Option<&[(&str, DateTime<Utc>)]>,
) -> (Order, Vec<Parcel>) {
    let mut o = order(&["CMP-1"], Some(shipped - chrono::Duration::hours(20)));
    o.state = OrderState::Complete;
    o.status = "complete".into();
    let (method, number) = match carrier {
        Carrier::Letter => ("flatrate_flatrate", ""),
        Carrier::Colissimo => ("colissimo_homecl", "6A12345678901"),
        Carrier::Chronopost => ("chronopost_13", "XY123456789FR"),
        Carrier::Other => ("unmapped_method", "6A12345678901"),
        Carrier::Foreign => ("mondialrelay_x", "MR1234567890"),
    };
    o.shipping_method = Some(method.into());
    o.shipments = vec![Shipment {
        entity_id: 77,
        created_at: shipped,
        tracks: if number.is_empty() {
            vec![]
        } else {
            vec![Track {
                number: number.into(),
                carrier_code: "custom".into(),
                title: String::new(),
                created_at: shipped,
            }]
        },
    }];
    let mut parcels = parcels_of(&o, &Classifier::seed_defaults());
    assert_eq!(parcels.len(), 1);
    parcels[0].tracking = events.map(|evs| TrackingSnapshot {
        fetched_at: shipped,
        ..snapshot(evs, false)
    });
    (o, parcels)
}

fn run(o: &Order, parcels: &[Parcel], cfg: &RulesConfig, now: DateTime<Utc>) -> Judgement {
    let cal = Calendar::france();
    let classifier = Classifier::seed_defaults();
    let j = judge(o, parcels, &cal, cfg, &classifier, now);
    // The hot path must agree with the traced one.
    assert_eq!(
        Judge::new(&cal, cfg, &classifier, now).findings(o, parcels),
        j.findings
    );
    j
}

/// `(rule, severity)` of the single finding, or `None`.
fn verdict(j: &Judgement) -> Want {
    assert!(j.findings.len() <= 1, "{:#?}", j.findings);
    j.findings.first().map(|f| (f.rule, f.severity))
}

fn trace_text(j: &Judgement) -> String {
    j.trace
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

use RuleId::*;
use Severity::*;

/// A table's expected verdict.
type Want = Option<(RuleId, Severity)>;
/// Tracking events, newest first.
type Events<'a> = &'a [(&'a str, DateTime<Utc>)];

fn snapshot(events: &[(&str, DateTime<Utc>)], is_final: bool) -> TrackingSnapshot {
    let events: Vec<TrackingEvent> = events
        .iter()
        .map(|(code, at)| TrackingEvent {
            code: (*code).into(),
            label: format!("libellé {code}"),
            at: *at,
        })
        .collect();
    TrackingSnapshot {
        fetched_at: events.first().map_or(utc(2026, 1, 1, 0, 0), |e| e.at),
        status: normalise(&events),
        is_final,
        info: Default::default(),
        product: None,
        events,
    }
}

mod advice;
mod carriers;
mod cases;
mod lost_checklist;
mod parcels;
mod procedures_more;
mod shipping;
