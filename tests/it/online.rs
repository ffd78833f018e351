//! `check-config --online` against the fakes: each failure it names, in
//! words, the all-good case, and never a secret even when an upstream
//! echoes it.

use chrono::{DateTime, Utc};
use colisync::config::{Config, MagentoAuth};
use colisync::http::RetryPolicy;
use colisync::ops::online::{self, Report, Verdict};
use colisync::secret::Secret;
use colisync_testkit::Fault;
use colisync_testkit::sample::demo_shop;
use colisync_testkit::world::World;

/// The sample shop's day.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-20T10:00:00+02:00")
        .unwrap()
        .with_timezone(&Utc)
}

async fn world() -> (World, Config, tempfile::TempDir) {
    let world = World::start(&demo_shop(), None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = world.config(&dir.path().join("state"));
    (world, config, dir)
}

async fn run(config: &Config) -> (Report, String) {
    let report = online::check_with_retry(config, now(), RetryPolicy::fast()).await;
    let mut out = Vec::new();
    report.write(&mut out, &config.scrubber()).unwrap();
    (report, String::from_utf8(out).unwrap())
}

fn fails_with(report: &Report, service: &str, words: &str) -> bool {
    report
        .checks
        .iter()
        .any(|c| c.verdict == Verdict::Fail && c.service == service && c.message.contains(words))
}

#[tokio::test]
async fn all_good_exits_zero_and_writes_nothing() {
    let (world, config, _dir) = world().await;
    for (_, rule) in config.rules.iter() {
        world.trello.add_list(&rule.list);
    }
    world.trello.add_list(&config.trello.resolved_list);
    let lists_before = world.trello.lists().len();
    let (report, text) = run(&config).await;
    assert!(report.passes(), "{text}");
    assert!(text.contains("key and token accepted"), "{text}");
    assert!(text.contains("integration token accepted"), "{text}");
    assert!(text.contains("colissimo_homecl"), "{text}");
    assert!(text.contains("API key accepted"), "{text}");
    assert!(text.contains("everything a pass needs works"), "{text}");
    // Read only: nothing written anywhere.
    assert_eq!(world.trello.lists().len(), lists_before);
    assert!(world.trello.cards().is_empty());
    for r in world.trello.requests().all() {
        assert_eq!(r.method, "GET", "{r:?}");
    }
}

#[tokio::test]
async fn a_bad_trello_token_is_named() {
    let (_world, mut config, _dir) = world().await;
    config.trello.token = Secret::new("not-the-token");
    let (report, text) = run(&config).await;
    assert!(!report.passes());
    assert!(
        fails_with(&report, "trello", "token (trello.token) is not valid"),
        "{text}"
    );
}

#[tokio::test]
async fn a_board_not_found_is_named() {
    let (_world, mut config, _dir) = world().await;
    config.trello.board = "0123456789abcdef01234567".to_owned();
    let (report, text) = run(&config).await;
    assert!(
        fails_with(
            &report,
            "trello",
            "board 0123456789abcdef01234567 not found"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_list_is_to_be_created() {
    let (_world, config, _dir) = world().await;
    let (report, text) = run(&config).await;
    // The pass creates missing lists: a note, not a failure.
    assert!(report.passes(), "{text}");
    assert!(
        text.contains(&format!(
            "list « {} » missing: the first pass creates it",
            config.trello.resolved_list
        )),
        "{text}"
    );
}

#[tokio::test]
async fn magento_refusing_the_token_is_named() {
    let (_world, mut config, _dir) = world().await;
    config.magento.auth = MagentoAuth::Bearer(Secret::new("wrong-token"));
    let (report, text) = run(&config).await;
    assert!(!report.passes());
    assert!(fails_with(&report, "magento", "HTTP 401"), "{text}");
    assert!(text.contains("integration token (magento.token)"), "{text}");
}

#[tokio::test]
async fn magento_acl_refusing_shipments_is_named() {
    let (world, config, _dir) = world().await;
    // Magento answers a missing API resource with 401 and names it.
    world.magento.faults().always(
        "GET",
        "/rest/V1/shipments",
        Fault::StatusBody {
            status: 401,
            content_type: "application/json".into(),
            body: r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Sales::shipment"}}"#.into(),
        },
    );
    let (report, text) = run(&config).await;
    assert!(!report.passes());
    assert!(
        fails_with(&report, "magento", "not their shipments or invoices"),
        "{text}"
    );
    assert!(text.contains("Magento_Sales::shipment"), "{text}");
}

#[tokio::test]
async fn magento_403_is_named() {
    let (world, config, _dir) = world().await;
    world
        .magento
        .faults()
        .always("GET", "/rest/V1/orders", Fault::Status(403));
    let (report, text) = run(&config).await;
    assert!(
        fails_with(&report, "magento", "forbids reading orders (HTTP 403)"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unmapped_shipping_method_shows() {
    let (_world, mut config, _dir) = world().await;
    // An admin who forgot the Colissimo methods in [carriers].
    config.carriers.colissimo.clear();
    let (report, text) = run(&config).await;
    assert!(
        report.checks.iter().any(|c| c.verdict == Verdict::Note
            && c.message.contains("colissimo_homecl (6 order(s))")
            && c.message.contains("matches no [carriers] glob")),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_laposte_key_is_named() {
    let (_world, mut config, _dir) = world().await;
    config.laposte.api_key = Secret::new("wrong-key");
    let (report, text) = run(&config).await;
    assert!(
        fails_with(&report, "la poste", "laposte.api_key) was refused"),
        "{text}"
    );
}

#[tokio::test]
async fn an_echoed_secret_never_shows() {
    let (world, config, _dir) = world().await;
    world.trello.faults().always(
        "GET",
        "/1/boards",
        Fault::EchoCredentials {
            status: 401,
            content_type: "text/plain".into(),
            template: "invalid token {creds}".into(),
        },
    );
    let (report, text) = run(&config).await;
    assert!(!report.passes());
    let token = config.trello.token.expose().to_owned();
    let key = config.trello.key.expose().to_owned();
    assert!(!text.contains(&token) && !text.contains(&key), "{text}");
}

const FD_KEY: &str = "fd-online-key-Zx81";

async fn with_freshdesk(
    config: &mut Config,
    group: Option<colisync::config::GroupRef>,
) -> colisync_testkit::freshdesk::FakeFreshdesk {
    let fd = colisync_testkit::freshdesk::FakeFreshdesk::start(FD_KEY, now())
        .await
        .unwrap();
    config.freshdesk = Some(colisync::config::FreshdeskConfig {
        base_url: fd.base_url(),
        api_key: Secret::new(FD_KEY),
        escalation_group: group,
        escalation_rules: vec!["tracking_problem".into()],
        requester_email: Some("sav@shop.example".into()),
        order_number_field: None,
        ticket_lookback_days: 90,
        requests_per_minute: 40,
        timeout: std::time::Duration::from_millis(500),
    });
    fd
}

#[tokio::test]
async fn freshdesk_key_and_group_found() {
    let (_world, mut config, _dir) = world().await;
    let name = colisync::config::GroupRef::Name("niveau 2".into());
    let fd = with_freshdesk(&mut config, Some(name)).await;
    // More groups than a page holds (100): the one wanted is on the second.
    for n in 0..120 {
        fd.add_group(&format!("Équipe {n}"));
    }
    let id = fd.add_group("Niveau 2");
    let (report, text) = run(&config).await;
    assert!(report.passes(), "{text}");
    assert!(text.contains("API key accepted (agent"), "{text}");
    assert!(
        text.contains(&format!("escalation group « Niveau 2 » found (id {id})")),
        "{text}"
    );
    // Read only, and only the two reads.
    for r in fd.requests().all() {
        assert_eq!(r.method, "GET", "{r:?}");
    }
    assert_eq!(fd.requests().count("GET", "/api/v2/agents/me"), 1);
    assert_eq!(fd.requests().count("GET", "/api/v2/groups"), 2);
    // By id too.
    config.freshdesk.as_mut().unwrap().escalation_group = Some(colisync::config::GroupRef::Id(id));
    let (report, text) = run(&config).await;
    assert!(report.passes(), "{text}");
}

#[tokio::test]
async fn a_refused_freshdesk_key_is_named_never_shown() {
    let (_world, mut config, _dir) = world().await;
    let fd = with_freshdesk(&mut config, None).await;
    let wrong = "fd-wrong-key-Pq77";
    config.freshdesk.as_mut().unwrap().api_key = Secret::new(wrong);
    let (report, text) = run(&config).await;
    assert!(!report.passes());
    assert!(
        fails_with(
            &report,
            "freshdesk",
            "freshdesk.api_key) was refused (HTTP 401"
        ),
        "{text}"
    );
    assert!(!text.contains(wrong) && !text.contains(FD_KEY), "{text}");
    // Refused: nothing more is asked.
    assert_eq!(fd.requests().count("GET", "/api/v2/groups"), 0);
}

#[tokio::test]
async fn an_unknown_freshdesk_group_is_named_with_the_groups_found() {
    let (_world, mut config, _dir) = world().await;
    let fd = with_freshdesk(
        &mut config,
        Some(colisync::config::GroupRef::Name("Niveau 2".into())),
    )
    .await;
    fd.add_group("Niveau 1");
    fd.add_group("Facturation");
    let (report, text) = run(&config).await;
    assert!(!report.passes());
    assert!(
        fails_with(
            &report,
            "freshdesk",
            "freshdesk.escalation_group: no group is named \"Niveau 2\""
        ),
        "{text}"
    );
    assert!(text.contains("Niveau 1, Facturation"), "{text}");
    config.freshdesk.as_mut().unwrap().escalation_group =
        Some(colisync::config::GroupRef::Id(999_999));
    let (report, text) = run(&config).await;
    assert!(
        fails_with(&report, "freshdesk", "no group has id 999999"),
        "{text}"
    );
}

#[tokio::test]
async fn a_narrow_key_and_a_missing_order_field_are_named() {
    let (_world, mut config, _dir) = world().await;
    let fd = with_freshdesk(&mut config, None).await;
    fd.set_ticket_scope(2);
    fd.add_ticket_field("cf_numero_commande");
    config.freshdesk.as_mut().unwrap().order_number_field = Some("cf_order_number".into());
    let (report, text) = run(&config).await;
    assert!(
        report.checks.iter().any(|c| c.verdict == Verdict::Note
            && c.service == "freshdesk"
            && c.message.contains("ticket_scope 2")),
        "{text}"
    );
    assert!(
        fails_with(
            &report,
            "freshdesk",
            "no ticket field is named \"cf_order_number\" (custom fields: cf_numero_commande)"
        ),
        "{text}"
    );
    config.freshdesk.as_mut().unwrap().order_number_field = Some("cf_numero_commande".into());
    let (report, text) = run(&config).await;
    assert!(
        text.contains("ticket field cf_numero_commande found"),
        "{text}"
    );
    assert!(report.passes(), "{text}");
}
