//! The store's migration from schema 1 (the release at f99355a, whose
//! in-memory types were the disk format) to schema 2 (the store's own
//! records), on a real state directory written by that release
//! (`tests/data/state-v1/`, its README says how), and the refusal of a
//! schema newer than this build knows.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use colisync::daemon::Stop;
use colisync::domain::ProblemKey;
use colisync::domain::TrackingEvent;
use colisync::http::RetryPolicy;
use colisync::pass::Engine;
use colisync::plan::Action;
use colisync::state::{CardStatus, SCHEMA_VERSION, State, StateError};
use colisync_testkit::sample::{demo_shop, reference_now};
use colisync_testkit::trello::BoardDump;
use colisync_testkit::world::World;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/state-v1")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the schema-1 state directory, in a scratch directory.
fn v1_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    copy_dir(&data().join("state"), &dir);
    (tmp, dir)
}

fn recorded(file: &str) -> String {
    std::fs::read_to_string(data().join(file))
        .unwrap()
        .trim()
        .to_owned()
}

fn recorded_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&recorded("now.txt"))
        .unwrap()
        .with_timezone(&Utc)
}

fn key(s: &str) -> ProblemKey {
    s.parse().unwrap()
}

/// The world the schema-1 passes ran against: the sample shop, La Poste's
/// delivery of one parcel, and the board they left.
async fn world() -> World {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dump: BoardDump =
        serde_json::from_str(&std::fs::read_to_string(data().join("board.json")).unwrap()).unwrap();
    world.trello.load_board(dump);
    world.laposte.set_parcel(
        "6A20260511001",
        "Colissimo",
        vec![TrackingEvent {
            code: "DI1".into(),
            label: "Votre colis est livré.".into(),
            at: reference_now() + Duration::hours(20),
        }],
        true,
    );
    world
}

fn engine(world: &World, dir: &Path, state: State) -> Engine {
    let mut config = world.config(dir);
    // Card descriptions link to Magento's admin as it was that run.
    config.magento.admin_url = recorded("admin_url.txt").parse().unwrap();
    config.trello.rate_window = std::time::Duration::from_millis(100);
    Engine::with_retry(config, state, RetryPolicy::fast()).unwrap()
}

fn writes_since(world: &World, skip: usize) -> Vec<colisync_testkit::LoggedRequest> {
    world
        .trello
        .requests()
        .all()
        .into_iter()
        .skip(skip)
        .filter(|r| r.method != "GET")
        .collect()
}

#[tokio::test]
async fn a_schema_1_state_is_migrated_and_the_next_pass_writes_nothing() {
    let (_tmp, dir) = v1_copy();
    let now = recorded_now();
    let state = State::open(&dir).expect("the schema-1 state opens");
    assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION));

    // What the schema-1 passes left survived.
    assert_eq!(state.last_write_at().unwrap(), Some(now));
    assert!(state.cursor().unwrap().is_some());
    let cards = state.cards().unwrap();
    assert_eq!(cards.len(), 11, "{cards:#?}");
    let delivered = &cards[&key("parcel/100005/6A20260511001")];
    assert_eq!(delivered.status, CardStatus::Resolved);
    assert!(!delivered.label_ids.is_empty());
    assert!(cards.values().any(|c| c.due.is_some()));
    // The card a lead archived is still the recorded one: its replacement's
    // create is the pending intent.
    let archived = cards[&key("order/100001")].clone();
    assert_eq!(state.open_orders().unwrap().len(), 17);
    assert!(!state.parcels().unwrap().is_empty());
    let pending = state.pending_intents().unwrap();
    assert_eq!(pending.len(), 1, "{pending:#?}");
    let intent = pending[0].1.clone();
    assert_eq!(intent.key, key("order/100001"));
    assert_eq!(intent.steps_done, 1);
    assert_eq!(intent.label_ids.as_ref().map(Vec::len), Some(3));
    let new_card = intent.card_id.clone().expect("the create was answered");
    let Action::Create {
        note: Some(note), ..
    } = Action::from(intent.action)
    else {
        panic!("a create with a note");
    };
    assert!(note.contains(&archived.card_id), "{note}");
    assert_ne!(archived.card_id, new_card);

    // The next pass settles the intent from the board and writes nothing.
    let world = world().await;
    let cards_before = world.trello.cards();
    let mut engine = engine(&world, &dir, state);
    let before = world.trello.request_count();
    let r = engine.run_pass(now, &Stop::default(), false).await;
    assert!(r.is_success(), "{:#?}", r.all_errors());
    assert_eq!(r.apply.settled, 1, "{r:#?}");
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert_eq!(writes_since(&world, before), vec![]);
    assert_eq!(world.trello.cards(), cards_before);
    let state = engine.state();
    assert!(state.pending_intents().unwrap().is_empty());
    let filed = state.card(&key("order/100001")).unwrap().unwrap();
    assert_eq!(filed.card_id, new_card);
    assert_eq!(filed.status, CardStatus::Open);

    // And a little later, nothing either.
    let before = world.trello.request_count();
    let r = engine
        .run_pass(now + Duration::minutes(15), &Stop::default(), false)
        .await;
    assert!(r.is_success(), "{:#?}", r.all_errors());
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert_eq!(writes_since(&world, before), vec![]);
}

#[test]
fn a_migration_interrupted_half_way_is_finished_by_the_next_open() {
    let (_tmp, dir) = v1_copy();
    // As if a migration had rewritten one record and then been killed:
    // schema still 1, that record at 2.
    {
        let db = sled::open(&dir).unwrap();
        let cards = db.open_tree("cards").unwrap();
        let (k, v) = cards.iter().next().unwrap().unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&v).unwrap();
        value["v"] = 2.into();
        cards
            .insert(k, serde_json::to_vec(&value).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let state = State::open(&dir).unwrap();
    assert_eq!(state.schema_version().unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(state.cards().unwrap().len(), 11);
    drop(state);
    // Opening again migrates nothing and loses nothing.
    let state = State::open(&dir).unwrap();
    assert_eq!(state.cards().unwrap().len(), 11);
    assert_eq!(state.pending_intents().unwrap().len(), 1);
}

#[test]
fn a_schema_newer_than_this_build_is_refused_not_read() {
    let (_tmp, dir) = v1_copy();
    let newer = SCHEMA_VERSION + 1;
    {
        let db = sled::open(&dir).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("schema", newer.to_string().as_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = State::open(&dir).unwrap_err();
    assert!(
        matches!(err, StateError::NewerSchema { found, supported, .. }
            if found == newer && supported == SCHEMA_VERSION),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("newer") && msg.contains("upgrade colisync"),
        "{msg}"
    );
    // Nothing was rewritten: the values are still schema 1's.
    let db = sled::open(&dir).unwrap();
    let (_, v) = db
        .open_tree("cards")
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&v).unwrap();
    assert_eq!(value["v"], 1);
}

#[test]
fn records_and_actions_written_before_the_due_field_still_load() {
    // Schema 1 let serde default fields added over time (a card's `due`
    // and `label_ids`, an update's `clear_due` and `lead_due`, an intent's
    // `steps_done`); the migration fills them in.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    {
        let db = sled::open(&dir).unwrap();
        let t = "2026-05-19T08:00:00Z";
        db.open_tree("meta").unwrap().insert("schema", "1").unwrap();
        let card = serde_json::json!({"v": 1, "value": {
            "card_id": "c1", "list_id": "l-liv", "fingerprint": "fp", "rule": null,
            "severity": "late", "status": "open", "filed_at": t, "updated_at": t,
        }});
        db.open_tree("cards")
            .unwrap()
            .insert("order/100001", serde_json::to_vec(&card).unwrap())
            .unwrap();
        let k = serde_json::json!({"Order": {"increment_id": "100001"}});
        let content =
            serde_json::json!({"title": "T", "description": "D", "labels": [], "due": null});
        let intent = serde_json::json!({"v": 1, "value": {
            "key": k, "started_at": t, "card_id": "c1",
            "action": {"kind": "update", "key": k, "card_id": "c1", "rule": "shipping_compatible",
                "severity": "late", "fingerprint": "fp", "content": content,
                "keep_label_ids": [], "move_to": null, "comment": null},
        }});
        db.open_tree("journal")
            .unwrap()
            .insert(7u64.to_be_bytes(), serde_json::to_vec(&intent).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let state = State::open(&dir).unwrap();
    let rec = state.card(&key("order/100001")).unwrap().unwrap();
    assert_eq!(rec.due, None);
    assert!(rec.label_ids.is_empty());
    let pending = state.pending_intents().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.steps_done, 0);
    let Action::Update {
        clear_due,
        lead_due,
        ..
    } = Action::from(pending[0].1.action.clone())
    else {
        panic!("an update")
    };
    assert!(!clear_due && !lead_due);
}
