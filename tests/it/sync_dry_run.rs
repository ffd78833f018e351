//! End-to-end: `--dry-run`
//! writes nothing, neither to Trello nor to the state, and its table lists
//! every planned card without any secret.

use crate::common_sync;

use colisync::config::{Config, MagentoAuth};
use colisync::plan::{Action, render_plan_table};
use colisync::state::State;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;
use common_sync::*;

fn secrets(config: &Config) -> Vec<String> {
    let mut s = vec![
        config.trello.key.expose().to_owned(),
        config.trello.token.expose().to_owned(),
        config.laposte.api_key.expose().to_owned(),
    ];
    match &config.magento.auth {
        MagentoAuth::Bearer(t) => s.push(t.expose().to_owned()),
        MagentoAuth::OAuth1 { .. } => unreachable!("the world uses a bearer token"),
    }
    assert!(s.iter().all(|x| x.len() >= 16));
    s
}

fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} shows a secret");
    }
}

#[tokio::test]
async fn dry_run_on_a_fresh_state_writes_nothing_and_shows_every_card() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets(&world.config(dir.path()));
    let mut engine = engine(&world, dir.path());
    let report = engine
        .run_pass(at_days(0), &colisync::daemon::Stop::default(), true)
        .await;
    assert!(report.is_success(), "{:#?}", report.all_errors());
    assert!(report.dry_run);

    // Nothing written to Trello: not a card, not a list, not a label.
    let writes = writes_since(&world, 0);
    assert!(writes.is_empty(), "{writes:#?}");
    assert!(world.trello.cards().is_empty());
    assert!(world.trello.lists().is_empty());
    assert!(world.trello.labels().is_empty());

    // The plan: the nine cards of the sample shop, every one in the table.
    let creates: Vec<_> = report
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Create { key, content, .. } => Some((key.clone(), content.title.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(creates.len(), 9, "{:#?}", report.actions);
    assert_eq!(report.actions.len(), 9);
    let table = render_plan_table(&report.actions);
    println!("{table}");
    for (key, title) in &creates {
        let line = table
            .lines()
            .find(|l| l.starts_with(&key.to_string()))
            .unwrap_or_else(|| panic!("{key} missing from the table:\n{table}"));
        assert!(line.contains(title.as_str()), "{line}");
        assert!(line.contains("create"), "{line}");
    }
    assert_no_secret("the plan table", &table, &secrets);
    assert_no_secret("the report", &format!("{report:?}"), &secrets);
    assert_no_secret("the engine", &format!("{engine:?}"), &secrets);

    // Nothing written to the state either: a new process sees it empty.
    drop(engine);
    let state = State::open(dir.path()).unwrap();
    assert_eq!(state.cursor().unwrap(), None);
    assert!(state.cards().unwrap().is_empty());
    assert!(state.open_orders().unwrap().is_empty());
    assert!(state.parcels().unwrap().is_empty());
    assert!(state.pending_intents().unwrap().is_empty());
}

#[tokio::test]
async fn dry_run_on_a_live_state_shows_the_updates_and_changes_nothing() {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets(&world.config(dir.path()));
    let mut engine = engine(&world, dir.path());
    ok_pass(&mut engine, at_days(0)).await;
    let board = board_view(&world);
    let cards = engine.state().cards().unwrap();
    let cursor = engine.state().cursor().unwrap();
    let parcels = engine.state().parcels().unwrap();
    let orders = engine.state().open_orders().unwrap();

    // The next day, a dry run: the delays grew, a new order is late.
    let before = world.trello.request_count();
    let report = engine
        .run_pass(at_days(1), &colisync::daemon::Stop::default(), true)
        .await;
    assert!(report.is_success(), "{:#?}", report.all_errors());
    let kinds: Vec<&str> = report.actions.iter().map(Action::kind).collect();
    assert!(kinds.contains(&"update"), "{kinds:?}");
    assert!(kinds.contains(&"create"), "{kinds:?}");
    let table = render_plan_table(&report.actions);
    println!("{table}");
    for a in &report.actions {
        assert!(table.contains(&a.key().to_string()), "{} missing", a.key());
    }
    assert_no_secret("the plan table", &table, &secrets);

    assert!(writes_since(&world, before).is_empty());
    assert_eq!(board_view(&world), board);
    assert_eq!(engine.state().cards().unwrap(), cards);
    assert_eq!(engine.state().cursor().unwrap(), cursor);
    assert_eq!(engine.state().parcels().unwrap(), parcels);
    assert_eq!(engine.state().open_orders().unwrap(), orders);

    // The real pass then does what the dry run showed.
    let real = ok_pass(&mut engine, at_days(1)).await;
    assert_eq!(real.actions, report.actions);
}
