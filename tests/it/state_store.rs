//! The state store on disk: reopening, schema version, the directory lock,
//! the cursor, orders, parcels, cards and the journal.

use chrono::{DateTime, TimeZone, Utc};
use colisync::domain::{Carrier, Customer, Order, OrderState, Parcel};
use colisync::domain::{ProblemKey, RuleId, Severity};
use colisync::plan::Action;
use colisync::state::{
    CardRecord, CardStatus, Intent, ParcelRecord, SCHEMA_VERSION, State, StateError,
};

pub(crate) fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 19, h, 0, 0).unwrap()
}

pub(crate) fn order(entity_id: u64, state: OrderState) -> Order {
    Order {
        entity_id,
        increment_id: format!("1000{entity_id}"),
        state,
        status: "processing".into(),
        customer: Customer::default(),
        items: vec![],
        shipping_method: Some("colissimo_homecl".into()),
        created_at: at(8),
        updated_at: at(9),
        invoices: vec![at(8)],
        status_history: vec![],
        shipments: vec![],
    }
}

pub(crate) fn parcel(order: &Order, number: &str) -> Parcel {
    Parcel {
        order_entity_id: order.entity_id,
        order_increment_id: order.increment_id.clone(),
        shipment_id: 7,
        tracking_number: number.into(),
        carrier: Carrier::Colissimo,
        shipped_at: at(9),
        tracking: None,
    }
}

fn record(card_id: &str) -> CardRecord {
    CardRecord {
        card_id: card_id.into(),
        list_id: "list-1".into(),
        fingerprint: "fp1".into(),
        rule: Some(RuleId::DeliveryColissimo),
        severity: Severity::Late,
        status: CardStatus::Open,
        filed_at: at(10),
        updated_at: at(10),
        label_ids: vec!["lab-1".into()],
        due: None,
        stage: None,
    }
}

fn key(inc: &str) -> ProblemKey {
    ProblemKey::Order {
        increment_id: inc.into(),
    }
}

#[test]
fn everything_survives_a_flush_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let o = order(23, OrderState::Processing);
    let p = ParcelRecord::new(parcel(&o, "6A12345678901"), at(10));
    {
        let state = State::open(dir.path()).unwrap();
        assert_eq!(state.cursor().unwrap(), None);
        state.set_cursor(at(11)).unwrap();
        state.put_order(&o).unwrap();
        state.put_order(&order(24, OrderState::Canceled)).unwrap();
        state.put_parcel(&p).unwrap();
        state.put_card(&key("100023"), &record("c1")).unwrap();
        state.flush().unwrap();
    }
    let state = State::open(dir.path()).unwrap();
    assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(state.cursor().unwrap(), Some(at(11)));
    assert_eq!(state.order(23).unwrap(), Some(o.clone()));
    // Cancelled orders fire nothing: not judged.
    let open: Vec<u64> = state
        .open_orders()
        .unwrap()
        .iter()
        .map(|o| o.entity_id)
        .collect();
    assert_eq!(open, vec![23]);
    assert_eq!(state.parcel(&p.key()).unwrap(), Some(p.clone()));
    assert_eq!(state.parcels_of(&o).unwrap(), vec![p.clone()]);
    assert_eq!(state.parcels_due(at(10)).unwrap(), vec![p]);
    assert_eq!(state.card(&key("100023")).unwrap(), Some(record("c1")));
    assert_eq!(state.cards().unwrap().len(), 1);
    assert!(state.recovered_from().is_none());
}

#[test]
fn a_second_open_says_the_directory_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = State::open(dir.path()).unwrap();
    let err = State::open(dir.path()).unwrap_err();
    assert!(matches!(err, StateError::InUse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("is in use by another colisync process (is the daemon running?)"),
        "{msg}"
    );
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    drop(State::open(dir.path()).unwrap());
    {
        // Pretend a future colisync wrote this directory.
        let db = sled_open_when_released(dir.path());
        db.open_tree("meta")
            .unwrap()
            .insert("schema", (SCHEMA_VERSION + 1).to_string().as_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = State::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
                ..
            } if found == SCHEMA_VERSION + 1
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&format!(
        "newer than the {SCHEMA_VERSION} this colisync understands"
    )));
}

#[test]
fn a_corrupted_value_is_an_error_naming_its_key_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    drop(State::open(dir.path()).unwrap());
    {
        let db = sled_open_when_released(dir.path());
        let cards = db.open_tree("cards").unwrap();
        cards.insert("order/100023", "{not json").unwrap();
        cards
            .insert("order/100024", r#"{"v":1,"value":{"card_id":3}}"#)
            .unwrap();
        db.flush().unwrap();
    }
    let state = State::open(dir.path()).unwrap();
    let err = state.card(&key("100023")).unwrap_err();
    assert!(err.to_string().contains("cards/order/100023"), "{err}");
    let err = state.card(&key("100024")).unwrap_err();
    assert!(err.to_string().contains("cards/order/100024"), "{err}");
    // Iteration skips them (the planner adopts the cards again).
    assert!(state.cards().unwrap().is_empty());
}

#[test]
fn the_journal_keeps_pending_intents_in_order_until_settled() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("100023");
    let intent = |card: Option<&str>| Intent {
        key: k.clone(),
        action: (&Action::Comment {
            key: k.clone(),
            card_id: "c1".into(),
            text: "hello".into(),
        })
            .into(),
        started_at: at(10),
        card_id: card.map(str::to_owned),
        steps_done: 0,
        label_ids: None,
        checklist_id: None,
    };
    let (a, b) = {
        let state = State::open(dir.path()).unwrap();
        let a = state.begin_intent(&intent(None)).unwrap();
        let b = state.begin_intent(&intent(Some("c1"))).unwrap();
        state.flush().unwrap();
        (a, b)
    };
    let state = State::open(dir.path()).unwrap();
    let pending = state.pending_intents().unwrap();
    assert_eq!(
        pending.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(pending[1].1, intent(Some("c1")));
    state.settle_intent(a, Some((&k, &record("c1")))).unwrap();
    state.settle_intent(b, None).unwrap();
    state.flush().unwrap();
    assert!(state.pending_intents().unwrap().is_empty());
    assert_eq!(state.card(&k).unwrap(), Some(record("c1")));
}

#[test]
fn upserting_a_parcel_keeps_what_la_poste_said() {
    use colisync::domain::{TrackingSnapshot, TrackingStatus};
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let o = order(23, OrderState::Complete);
    let first = state
        .upsert_parcel(parcel(&o, "6A12345678901"), at(10))
        .unwrap();
    assert!(first.is_due(at(10)));
    let mut polled = first.clone();
    polled.record_poll(
        TrackingSnapshot {
            fetched_at: at(11),
            status: TrackingStatus::InTransit,
            events: vec![],
            is_final: false,
            product: None,
            info: Default::default(),
        },
        at(11),
    );
    state.put_parcel(&polled).unwrap();
    // Magento sends the shipment again (e.g. the order was updated).
    let again = state
        .upsert_parcel(parcel(&o, "6A12345678901"), at(12))
        .unwrap();
    assert_eq!(again, polled);
    assert_eq!(state.parcel(&again.key()).unwrap(), Some(polled));
}

#[test]
fn pruning_forgets_old_orders_but_keeps_those_with_an_open_card() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let quiet = order(1, OrderState::Complete);
    let with_card = order(2, OrderState::Processing);
    let recent = Order {
        updated_at: at(20),
        ..order(3, OrderState::Processing)
    };
    for o in [&quiet, &with_card, &recent] {
        state.put_order(o).unwrap();
    }
    state
        .put_parcel(&ParcelRecord::new(parcel(&quiet, "6A0000000001"), at(9)))
        .unwrap();
    state
        .put_card(&key(&with_card.increment_id), &record("card-2"))
        .unwrap();

    assert_eq!(state.prune_orders(at(12)).unwrap(), 1);
    assert!(state.order(1).unwrap().is_none());
    assert!(state.parcels_of(&quiet).unwrap().is_empty());
    assert!(
        state.order(2).unwrap().is_some(),
        "its problem is still open"
    );
    assert!(
        state.order(3).unwrap().is_some(),
        "updated after the cutoff"
    );
}

/// `sled::open` once the `State` just dropped has let go of the directory:
/// sled's background threads release its lock a moment after the drop
/// (State::open waits the same way), so an immediate open fails now and
/// then under load with "could not acquire lock".
fn sled_open_when_released(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("opening {}: {e}", dir.display()),
        }
    }
}

/// The instant of the last pass that wrote survives a reopen and never
/// moves back (time only moves forward).
#[test]
fn the_last_writing_pass_instant_only_moves_forward() {
    let dir = tempfile::tempdir().unwrap();
    {
        let state = State::open(dir.path()).unwrap();
        assert_eq!(state.last_write_at().unwrap(), None);
        state.note_write_at(at(10)).unwrap();
        state.note_write_at(at(8)).unwrap();
        assert_eq!(state.last_write_at().unwrap(), Some(at(10)));
        state.flush().unwrap();
    }
    let state = State::open(dir.path()).unwrap();
    assert_eq!(state.last_write_at().unwrap(), Some(at(10)));
    state.note_write_at(at(11)).unwrap();
    assert_eq!(state.last_write_at().unwrap(), Some(at(11)));
}
