//! End-to-end: kill the
//! process at any instant and restart: no card filed twice, no problem
//! lost; lose the whole state directory: no duplicate either (cards are
//! adopted by their marker line).
//!
//! `run_pass` has no crash hook, so the crash simulation drives the pass's
//! own pieces: the plan comes from a dry run of the engine, and
//! `plan::apply` runs it against the real Trello client (the engine's
//! `TrelloBoard` writer, primed with the board's labels as a pass does) and
//! the engine's state, stopping at a `CrashPoint`. Then the engine and its
//! state are dropped (the kill: with `lose_unflushed`, what was not flushed
//! is lost too), a new engine opens the same directory and runs a real
//! pass.

use crate::common_sync;

use chrono::{DateTime, Utc};
use colisync::daemon::Stop;
use colisync::domain::{OrderState, Shipment, TrackingEvent};
use colisync::pass::TrelloBoard;
use colisync::plan::{self, Action, ApplyOptions, CrashAt, CrashPoint};
use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

const INTAKE_LISTS: [&str; 5] = [
    "Retard d'expédition",
    "Retard de livraison",
    "Anomalie de suivi",
    "Retour expéditeur",
    "Résolu",
];

/// The two situations crashed in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// A fresh board (lists present): nine creates.
    First,
    /// The day after the first pass, a lead having archived the card of
    /// order 100001 (now critical: a create with a note) and parcel
    /// 6A20260511001 delivered (a resolve: comment, then move), delays grown
    /// (updates).
    NextDay,
    /// Six days after the first pass: order 100001 was shipped (its card
    /// resolved), then its shipment withdrawn (a reopen: move back, text,
    /// comment); parcel 6A20260515008, stuck, is now late (an update with a
    /// case-change comment and a move between intake lists).
    Later,
}

impl Phase {
    fn now(self) -> DateTime<Utc> {
        match self {
            Phase::First => at_days(0),
            Phase::NextDay => at_days(1),
            Phase::Later => at_days(6),
        }
    }
}

/// The world and an engine ready for the phase's pass (not run).
async fn setup(phase: Phase, dir: &std::path::Path) -> (World, colisync::pass::Engine) {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let mut engine = fast_engine(&world, dir);
    match phase {
        Phase::First => {
            for l in INTAKE_LISTS {
                world.trello.add_list(l);
            }
        }
        Phase::NextDay => {
            ok_pass(&mut engine, at_days(0)).await;
            let c = card_of(&world, &key("order/100001"));
            world.trello.archive_card(&c.id);
            world.laposte.set_parcel(
                "6A20260511001",
                "Colissimo",
                vec![TrackingEvent {
                    code: "DI1".into(),
                    label: "Votre colis est livré.".into(),
                    at: at_hours(20),
                }],
                true,
            );
        }
        Phase::Later => {
            ok_pass(&mut engine, at_days(0)).await;
            let order = demo_shop()
                .orders
                .into_iter()
                .find(|o| o.increment_id == "100001")
                .unwrap();
            let mut shipped = order.clone();
            shipped.state = OrderState::Complete;
            shipped.status = "complete".into();
            shipped.updated_at = at_hours(2);
            shipped.shipments = vec![Shipment {
                entity_id: 7001,
                created_at: at_hours(2),
                tracks: Vec::new(),
            }];
            world.magento.update_order(&shipped);
            let r = ok_pass(&mut engine, at_hours(5)).await;
            assert_eq!(r.apply.resolved, 1, "{:#?}", r.actions);
            let mut withdrawn = order;
            withdrawn.updated_at = at_hours(6);
            world.magento.update_order(&withdrawn);
        }
    }
    (world, engine)
}

/// The board after the phase's pass without any crash.
async fn clean(phase: Phase) -> (View, Vec<Action>) {
    let dir = tempfile::tempdir().unwrap();
    let (world, mut engine) = setup(phase, dir.path()).await;
    let r = ok_pass(&mut engine, phase.now()).await;
    (view(&world), r.actions)
}

/// The Trello writes of an action, in order (see `plan::apply`).
fn steps(a: &Action) -> u8 {
    match a {
        Action::Create { note, .. } => 1 + u8::from(note.is_some()),
        Action::Update { comment, .. } => 1 + u8::from(comment.is_some()),
        Action::Resolve { move_to, .. } => 1 + u8::from(move_to.is_some()),
        Action::Reopen { .. } => 2,
        Action::Comment { .. } => 1,
        Action::Adopt { .. } | Action::MarkArchived { .. } => 0,
    }
}

fn crash_points(a: &Action) -> Vec<CrashAt> {
    let n = steps(a);
    if n == 0 {
        return Vec::new();
    }
    let mut v = vec![CrashAt::IntentFlushed];
    v.extend((0..n).map(CrashAt::TrelloCalled));
    v.push(CrashAt::Recorded);
    v
}

/// Crashes the phase's apply at `point`, restarts, and checks the board.
async fn crash_and_restart(phase: Phase, point: CrashPoint, expected: &View) {
    let dir = tempfile::tempdir().unwrap();
    let (world, mut engine) = setup(phase, dir.path()).await;
    let now = phase.now();
    let dry = engine.run_pass(now, &Stop::default(), true).await;
    assert!(dry.is_success(), "{:#?}", dry.all_errors());
    {
        let board = TrelloBoard::new(engine.trello());
        board.remember_labels(&engine.trello().labels().await.unwrap());
        let opts = ApplyOptions {
            now,
            crash: Some(point),
            stop: None,
        };
        let r = plan::apply(&dry.actions, &board, engine.state(), &opts).await;
        assert!(r.crashed, "{point:?} did not crash: {r:#?}");
    }
    drop(engine); // killed

    let mut engine = fast_engine(&world, dir.path());
    let r = pass(&mut engine, now).await;
    assert!(
        r.is_success(),
        "{phase:?} {point:?}: the restart pass failed: {:#?}",
        r.all_errors()
    );
    assert_no_duplicate_but_replaced(&world, phase);
    assert_eq!(&view(&world), expected, "{phase:?} {point:?}");
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, now).await;
    assert!(
        r.actions.is_empty(),
        "{phase:?} {point:?}: {:#?}",
        r.actions
    );
    assert!(writes_since(&world, before).is_empty());
}

/// One card per key, but for order 100001 on the next day: its archived
/// card and the new one.
fn assert_no_duplicate_but_replaced(world: &World, phase: Phase) {
    for (k, n) in marker_counts(world) {
        let allowed = if phase == Phase::NextDay && k == key("order/100001") {
            2
        } else {
            1
        };
        assert_eq!(n, allowed, "{k}: {n} cards");
    }
}

async fn crash_everywhere(phase: Phase) {
    let (expected, actions) = clean(phase).await;
    let mut scenarios = 0;
    for (i, a) in actions.iter().enumerate() {
        for at in crash_points(a) {
            for lose_unflushed in [false, true] {
                let point = CrashPoint {
                    action: i,
                    at,
                    lose_unflushed,
                };
                crash_and_restart(phase, point, &expected).await;
                scenarios += 1;
            }
        }
    }
    println!(
        "{phase:?}: {scenarios} crash points, {} actions",
        actions.len()
    );
    assert!(scenarios >= 2 * 3 * actions.len().min(9));
}

#[tokio::test]
async fn a_crash_anywhere_in_the_first_pass_leaves_no_duplicate_and_loses_nothing() {
    crash_everywhere(Phase::First).await;
}

#[tokio::test]
async fn a_crash_anywhere_in_the_next_day_pass_leaves_no_duplicate_and_loses_nothing() {
    let (_, actions) = clean(Phase::NextDay).await;
    let kinds: Vec<&str> = actions.iter().map(Action::kind).collect();
    for k in ["create", "update", "resolve"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Create { note: Some(_), .. })),
        "{actions:#?}"
    );
    crash_everywhere(Phase::NextDay).await;
}

/// Lost answers, then a kill. One create's answer is lost (the card is on
/// the board; the pass settles it by its marker at once); another create is
/// reset twice (not filed; its outcome unknown, it stays in the journal).
/// The process is then killed. The restarted engine settles the journal
/// from the board and files the missing card once: no duplicate, nothing
/// lost.
#[tokio::test]
async fn lost_answers_then_a_kill_leave_no_duplicate_and_lose_nothing() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = fast_engine(&world, dir.path());
    let f = world.trello.faults();
    f.once("POST", "/1/cards", Fault::LoseAnswer);
    f.times(2, "POST", "/1/cards", Fault::Reset);
    let r = pass(&mut engine, at_days(0)).await;
    assert!(!r.is_success());
    assert_eq!(r.apply.pending, 1, "{:#?}", r.all_errors());
    assert_eq!(r.apply.created, 8, "{:#?}", r.all_errors()); // the lost answer included
    assert_eq!(world.trello.cards().len(), 8);
    assert_eq!(engine.state().pending_intents().unwrap().len(), 1);
    assert_no_duplicate(&world);
    drop(engine); // killed

    let mut engine = fast_engine(&world, dir.path());
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(r.apply.settled, 1);
    assert_eq!(r.apply.created, 1, "{:#?}", r.actions);
    assert_no_duplicate(&world);
    assert_eq!(world.trello.cards().len(), 9);
    assert!(engine.state().pending_intents().unwrap().is_empty());
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());
}

/// The state directory is lost after the first pass: a new engine on an
/// empty directory adopts every card by its marker and files none again,
/// even a problem a lead had archived; later passes update as usual.
#[tokio::test]
async fn losing_the_state_directory_duplicates_nothing() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let archived = card_of(&world, &key("order/100003"));
    world.trello.archive_card(&archived.id);
    let before_loss = view(&world);
    drop(engine);
    std::fs::remove_dir_all(dir.path()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut engine = common_sync::engine(&world, dir.path());
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(0)).await;
    assert_eq!(r.apply.created, 0, "{:#?}", r.actions);
    assert_eq!(r.apply.adopted, 9, "{:#?}", r.actions);
    let writes = writes_since(&world, before);
    assert!(writes.is_empty(), "{writes:#?}");
    assert_eq!(view(&world), before_loss);
    assert_no_duplicate(&world);

    // The next day: cards updated in place, the archived one left alone
    // (still late, not more severe), nothing filed twice.
    let r = ok_pass(&mut engine, at_days(1)).await;
    assert!(r.apply.updated > 0);
    assert_no_duplicate(&world);
    assert!(world.trello.card(&archived.id).unwrap().closed);
    assert_eq!(world.trello.card(&archived.id).unwrap().name, archived.name);
    let before = world.trello.request_count();
    let r = ok_pass(&mut engine, at_days(1)).await;
    assert!(r.actions.is_empty(), "{:#?}", r.actions);
    assert!(writes_since(&world, before).is_empty());
}

#[tokio::test]
async fn a_crash_anywhere_in_a_reopen_and_case_change_pass_leaves_no_duplicate() {
    let (_, actions) = clean(Phase::Later).await;
    assert!(
        actions.iter().any(|a| matches!(
            a,
            Action::Reopen {
                move_to: Some(_),
                ..
            }
        )),
        "{actions:#?}"
    );
    assert!(
        actions.iter().any(|a| matches!(
            a,
            Action::Update {
                comment: Some(_),
                move_to: Some(_),
                ..
            }
        )),
        "{actions:#?}"
    );
    crash_everywhere(Phase::Later).await;
}
