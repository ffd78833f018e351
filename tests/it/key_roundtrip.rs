//! Problem keys survive any data Magento sends: key → marker line → card
//! description (as render writes it, cut to Trello's limit, normalised as
//! Trello may) → parse → the same key; and key → state → the same key.

use chrono::{TimeZone, Utc};
use colisync::board::render::{RenderContext, render};
use colisync::board::trello::fit_description;
use colisync::board::{marker_line, parse_marker};
use colisync::domain::{
    Carrier, Customer, Item, Order, OrderState, Parcel, ProductKind, is_placeholder_number,
};
use colisync::domain::{ProblemKey, RuleId, Severity};
use colisync::rules::{Delay, Finding};
use colisync::state::{CardRecord, CardStatus, ParcelRecord, State};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use url::Url;

/// Arbitrary strings, and strings made of what real data gets wrong.
fn part() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \t\r\n/%`*_#\\[\\]<>|~\\\\a-zA-Z0-9éü€😀-]{0,24}",
        "[0-9]{6,9}",
        "[A-Z0-9]{11,15}",
        Just("N/A".to_owned()),
        Just("%2F".to_owned()),
        Just("%".to_owned()),
        Just("%zz".to_owned()),
        Just(String::new()),
    ]
}

fn key() -> impl Strategy<Value = ProblemKey> {
    prop_oneof![
        part().prop_map(|increment_id| ProblemKey::Order { increment_id }),
        (part(), part()).prop_map(|(increment_id, parcel)| ProblemKey::Parcel {
            increment_id,
            parcel
        }),
    ]
}

/// What Trello may do to a description it stores: CRLF line endings,
/// trailing spaces trimmed from lines or added, a final newline; and what
/// a Markdown editor may do when a lead edits it: escape punctuation.
fn trello_normalised(desc: &str, how: u8) -> String {
    match how % 5 {
        4 => desc
            .replace('_', "\\_")
            .replace('.', "\\.")
            .replace('-', "\\-"),
        0 => desc.to_owned(),
        1 => desc.replace('\n', "\r\n"),
        2 => desc
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => format!("{}  \n", desc.replace('\n', "  \n")),
    }
}

fn finding(key: &ProblemKey) -> Finding {
    let (rule, tracking_number) = match key {
        ProblemKey::Order { .. } => (RuleId::ShippingCompatible, None),
        ProblemKey::Parcel { parcel, .. } => (RuleId::DeliveryColissimo, Some(parcel.clone())),
        ProblemKey::Case { .. } => (RuleId::LostParcel, None),
    };
    Finding {
        rule,
        key: key.clone(),
        severity: Severity::Late,
        list: "Retards".into(),
        delay: Delay::Days(3),
        deadline: None,
        product: ProductKind::Compatible,
        carrier: Some(Carrier::Colissimo),
        tracking_number,
        facts: vec!["un fait".into()],
        procedure: "Une procédure.".into(),
        validated_on: None,
        shipped_on: None,
        due: None,
        detail: None,
        stage: None,
        stage_note: None,
    }
}

fn order(key: &ProblemKey, items: usize, name: &str) -> Order {
    let t = Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap();
    Order {
        entity_id: 42,
        increment_id: key.increment_id().to_owned(),
        state: OrderState::Processing,
        status: "processing".into(),
        customer: Customer {
            firstname: name.to_owned(),
            lastname: String::new(),
            email: String::new(),
        },
        items: (0..items)
            .map(|n| Item {
                sku: format!("SKU-{n}"),
                name: format!("{name} {n}"),
                qty: 1.0,
                qty_to_ship: None,
            })
            .collect(),
        shipping_method: Some("colissimo".into()),
        created_at: t,
        updated_at: t,
        invoices: vec![],
        status_history: vec![],
        shipments: vec![],
    }
}

fn parcel(key: &ProblemKey) -> Option<Parcel> {
    let ProblemKey::Parcel {
        increment_id,
        parcel,
    } = key
    else {
        return None;
    };
    Some(Parcel {
        order_entity_id: 42,
        order_increment_id: increment_id.clone(),
        shipment_id: 7,
        tracking_number: parcel.clone(),
        carrier: Carrier::Colissimo,
        shipped_at: Utc.with_ymd_and_hms(2026, 5, 4, 18, 0, 0).unwrap(),
        tracking: None,
    })
}

#[test]
fn a_key_reads_back_from_any_card_description() {
    let ctx = RenderContext::new(
        Url::parse("https://shop.example.fr/admin/").unwrap(),
        chrono_tz::Europe::Paris,
    );
    let mut runner = TestRunner::new(Config::with_cases(512));
    runner
        .run(
            &(key(), 0usize..400, part(), any::<u8>()),
            |(key, items, name, how)| {
                let line = marker_line(&key);
                prop_assert_eq!(line.lines().count(), 1, "one line: {:?}", line);
                let p = parcel(&key);
                let card = render(&finding(&key), &order(&key, items, &name), p.as_ref(), &ctx);
                // Trello's limit counts UTF-16 units; the client cuts to it.
                let sent = fit_description(&card.description);
                let stored = trello_normalised(&sent, how);
                prop_assert_eq!(parse_marker(&stored), Some(key.clone()), "{}", line);
                // A lead's text after the marker leaves it readable.
                let edited = format!("{stored}\n\nVu avec le client, rappel lundi.");
                prop_assert_eq!(parse_marker(&edited), Some(key.clone()));
                // And the key is also the state's: its string form parses.
                prop_assert_eq!(key.to_string().parse::<ProblemKey>(), Ok(key.clone()));
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn a_key_reads_back_from_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let t = Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap();
    let mut runner = TestRunner::new(Config::with_cases(128));
    runner
        .run(&key(), |key| {
            let record = CardRecord {
                card_id: format!("card-{key}"),
                list_id: "l".into(),
                fingerprint: String::new(),
                rule: None,
                severity: Severity::Late,
                status: CardStatus::Open,
                filed_at: t,
                updated_at: t,
                label_ids: vec![],
                due: None,
                stage: None,
            };
            state.put_card(&key, &record).unwrap();
            prop_assert_eq!(state.card(&key).unwrap(), Some(record.clone()));
            let cards = state.cards().unwrap();
            prop_assert_eq!(cards.get(&key), Some(&record));
            // An empty number is keyed `shipment-<id>` instead: not this key.
            if let Some(p) = parcel(&key).filter(|p| !p.tracking_number.is_empty()) {
                let r = ParcelRecord::new(p, t);
                prop_assert_eq!(&r.key(), &key);
                state.put_parcel(&r).unwrap();
                prop_assert_eq!(
                    state.parcel(&key).unwrap().map(|r| r.key()),
                    Some(key.clone())
                );
                prop_assert!(state.parcels().unwrap().iter().any(|r| r.key() == key));
                let o = order(&key, 0, "");
                let mine = state.parcels_of(&o).unwrap();
                prop_assert!(mine.iter().any(|r| r.key() == key), "{:?}", key);
                state.remove_parcel(&key).unwrap();
                prop_assert_eq!(state.parcel(&key).unwrap(), None);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn ordinary_keys_are_written_as_before() {
    for (key, text) in [
        (
            ProblemKey::Order {
                increment_id: "100023".into(),
            },
            "order/100023",
        ),
        (
            ProblemKey::Parcel {
                increment_id: "FR/2026/7".into(),
                parcel: "6A12345678901".into(),
            },
            "parcel/FR/2026/7/6A12345678901",
        ),
        (
            ProblemKey::Parcel {
                increment_id: "2-000123".into(),
                parcel: "shipment-77".into(),
            },
            "parcel/2-000123/shipment-77",
        ),
    ] {
        assert_eq!(key.to_string(), text);
        assert_eq!(key.legacy_form(), None);
        assert_eq!(
            parse_marker(&format!("x\n`colisync-key: {text}`")),
            Some(key)
        );
    }
    // Markers written before the encoding, with raw unicode, still parse.
    assert_eq!(
        parse_marker("`colisync-key: order/Müller-1`"),
        Some(ProblemKey::Order {
            increment_id: "Müller-1".into()
        })
    );
    // The odd ones, encoded.
    let odd = ProblemKey::Parcel {
        increment_id: "10 0\n`1".into(),
        parcel: "A/B".into(),
    };
    assert_eq!(odd.to_string(), "parcel/10%200%0A%601/A%2FB");
}

#[test]
fn placeholders_are_no_number() {
    for p in [
        "N/A", "n/a", "NA", "-", "--", "aucun", "AUCUN", "néant", "Néant", "0", "000", "none",
        "NULL", "x", "X", "?", "/", "…", "nc", "N.C.",
    ] {
        assert!(is_placeholder_number(p), "{p}");
    }
    for n in [
        "6A12345678901",
        "A/B",
        "XY123456789FR",
        "1",
        "05",
        "DPD0123456789",
    ] {
        assert!(!is_placeholder_number(n), "{n}");
    }
}
