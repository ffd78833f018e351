//! The configuration contract, tested from the outside: the shipped example
//! parses, and every broken variant under `tests/configs/broken/` is
//! rejected with the key (and line) named and no secret in the message.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use colisync::config::{self, ConfigError, MagentoAuth, RulesConfig};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// Parses `broken/<name>.toml`, expecting an error whose first problem names
/// `key` at `line` and whose message contains `fragment`; no dummy secret
/// ("SEKRET...") may appear anywhere in the rendered error.
fn check(name: &str, key: &str, line: Option<usize>, fragment: &str) {
    let path = dir().join(format!("broken/{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let err = match config::parse_with_env(&text, Path::new("config.toml"), &no_env) {
        Ok(_) => panic!("{name}: accepted"),
        Err(e) => e,
    };
    let shown = err.to_string();
    let debug = format!("{err:?}");
    eprintln!("{name}: {shown}");
    assert!(
        !shown.contains("SEKRET") && !debug.contains("SEKRET"),
        "{name}: secret leaked: {shown}"
    );
    assert!(
        !shown.contains("123456789"),
        "{name}: secret-typed value leaked: {shown}"
    );
    let p = err
        .problems()
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("{name}: no problem names {key:?}: {shown}"));
    assert_eq!(p.line, line, "{name}: line of {key}: {shown}");
    assert!(
        p.message.contains(fragment),
        "{name}: {:?} lacks {fragment:?}",
        p.message
    );
    let prefix = match line {
        Some(l) => format!("config.toml:{l}:"),
        None => "config.toml: ".to_owned(),
    };
    assert!(shown.contains(&prefix), "{name}: no {prefix:?} in {shown}");
    assert!(
        shown.contains(&format!("{key}: ")),
        "{name}: key not shown in {shown}"
    );
}

// One test per error kind. Lines are those of the files under
// tests/configs/broken/ (each is valid.toml with one mistake).

#[test]
fn unknown_key_is_named_with_its_table() {
    check(
        "unknown_key",
        "daemon.state_dirr",
        Some(6),
        "unknown field `state_dirr`",
    );
}

#[test]
fn threshold_under_the_wrong_unit_is_an_unknown_key() {
    check(
        "threshold_wrong_unit",
        "rules.shipping_compatible.days",
        Some(29),
        "business_days",
    );
}

#[test]
fn wrong_type() {
    check(
        "wrong_type",
        "magento.lookback_days",
        Some(18),
        "expected an integer",
    );
}

#[test]
fn impossible_date() {
    check(
        "impossible_date",
        "calendar.extra_closed_days[0]",
        Some(11),
        "2026-02-30",
    );
}

#[test]
fn open_day_not_a_date() {
    check(
        "open_day_not_a_date",
        "calendar.extra_open_days[0]",
        Some(12),
        "YYYY-MM-DD",
    );
}

#[test]
fn cutoff_not_hhmm() {
    check("cutoff_not_hhmm", "calendar.cutoff", Some(10), "HH:MM");
}

#[test]
fn cron_that_does_not_parse() {
    check("cron_unparsable", "daemon.schedule", Some(5), "Hours");
}

#[test]
fn cron_with_five_fields_says_seconds_first() {
    check(
        "cron_five_fields",
        "daemon.schedule",
        Some(5),
        "six or seven fields, seconds first",
    );
}

#[test]
fn cron_with_numeric_weekday_says_write_names() {
    check(
        "cron_numeric_weekday",
        "daemon.schedule",
        Some(5),
        "Mon-Fri",
    );
}

#[test]
fn unknown_timezone() {
    check(
        "unknown_timezone",
        "calendar.timezone",
        Some(9),
        "Europe/Pariss",
    );
}

#[test]
fn url_without_scheme() {
    check("url_no_scheme", "magento.base_url", Some(15), "not a URL");
}

#[test]
fn url_not_http() {
    check("url_not_http", "magento.base_url", Some(15), "https://");
}

#[test]
fn empty_secret() {
    check("secret_empty", "magento.token", Some(16), "empty");
}

#[test]
fn unreadable_secret_file() {
    check(
        "secret_unreadable",
        "magento.token_file",
        Some(16),
        "cannot read secret file",
    );
}

#[test]
fn secret_given_twice() {
    check(
        "secret_twice",
        "trello.token",
        Some(24),
        "token, token_file",
    );
}

#[test]
fn missing_secret() {
    check("secret_missing", "trello.token", None, "missing secret");
}

#[test]
fn secret_of_the_wrong_type_is_not_quoted() {
    check(
        "secret_wrong_type",
        "magento.token",
        Some(16),
        "value not shown",
    );
}

#[test]
fn secret_env_variable_unset() {
    check(
        "secret_env_unset",
        "laposte.api_key_env",
        Some(20),
        "COLISYNC_TEST_SURELY_UNSET",
    );
}

#[test]
fn incomplete_oauth_names_the_missing_value() {
    check(
        "oauth_incomplete",
        "magento.access_token_secret",
        None,
        "all four",
    );
}

#[test]
fn syntax_error_on_a_secret_line_does_not_echo_it() {
    check(
        "syntax_error_in_secret",
        "magento.token",
        Some(16),
        "string",
    );
}

#[test]
fn board_that_is_neither_id_nor_short_link() {
    check("board_invalid", "trello.board", Some(25), "short link");
}

#[test]
fn invalid_glob() {
    check("glob_invalid", "magento.original_skus[1]", Some(17), "glob");
}

#[test]
fn empty_list_name() {
    check(
        "list_empty",
        "rules.shipping_compatible.list",
        Some(28),
        "empty",
    );
}

#[test]
fn resolved_list_equal_to_an_intake_list() {
    check(
        "resolved_is_intake",
        "trello.resolved_list",
        Some(26),
        "must differ",
    );
}

#[test]
fn critical_factor_below_one() {
    check(
        "critical_factor_below_one",
        "rules.shipping_compatible.critical_factor",
        Some(30),
        "at least 1",
    );
}

#[test]
fn page_size_over_magento_s_limit() {
    check(
        "page_size_over_300",
        "magento.page_size",
        Some(18),
        "Maximum Page Size",
    );
}

#[test]
fn every_broken_file_has_a_test() {
    // A broken file nobody checks is a test that cannot fail.
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/config.rs"))
            .unwrap();
    // rustfmt may break a call over lines: compare without whitespace.
    let src: String = src.split_whitespace().collect();
    for e in std::fs::read_dir(dir().join("broken")).unwrap() {
        let name = e
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            src.contains(&format!("check(\"{name}\"")),
            "no test for broken/{name}.toml"
        );
    }
}

#[test]
fn several_problems_are_reported_together() {
    let text = std::fs::read_to_string(dir().join("valid.toml"))
        .unwrap()
        .replace("cutoff = \"16:00\"", "cutoff = \"25:00\"")
        .replace("timezone = \"Europe/Paris\"", "timezone = \"Mars/Olympus\"")
        .replace("board = \"AbCd1234\"", "board = \"x\"")
        .replace("api_key = \"SEKRET-laposte-key\"\n", "");
    let err = config::parse_with_env(&text, Path::new("c.toml"), &no_env).unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    // In file order, the missing key (no line) last.
    assert_eq!(
        keys,
        [
            "calendar.timezone",
            "calendar.cutoff",
            "trello.board",
            "laposte.api_key"
        ],
        "{err}"
    );
    assert_eq!(err.to_string().lines().count(), 4);
}

#[test]
fn missing_file_names_the_path() {
    let err = config::load(Path::new("/nonexistent/colisync/config.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .contains("/nonexistent/colisync/config.toml"),
        "{err}"
    );
}

#[test]
fn valid_config_gets_the_documented_defaults() {
    let text = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    let c = config::parse_with_env(&text, Path::new("valid.toml"), &no_env).unwrap();
    assert_eq!(c.daemon.schedule_text, "0 */15 7-20 * * Mon-Sat");
    assert_eq!(c.daemon.state_dir, Path::new("/var/lib/colisync"));
    assert_eq!(c.daemon.listen, None);
    assert_eq!(c.calendar.timezone, chrono_tz::Europe::Paris);
    assert_eq!(c.calendar.cutoff.to_string(), "16:00:00");
    assert_eq!(
        c.magento.admin_url.as_str(),
        "https://shop.example.fr/admin"
    );
    assert_eq!(c.magento.lookback_days, 90);
    assert_eq!(c.magento.validated_statuses, ["processing", "complete"]);
    assert_eq!(c.magento.page_size, 100);
    assert_eq!(c.magento.overlap, Duration::from_secs(120));
    assert_eq!(c.magento.timeout, Duration::from_secs(30));
    assert!(
        matches!(&c.magento.auth, MagentoAuth::Bearer(s) if s.expose() == "SEKRET-magento-token")
    );
    assert_eq!(c.carriers.letter[0].as_str(), "flatrate_*");
    assert_eq!(c.carriers.colissimo[0].as_str(), "colissimo*");
    assert_eq!(c.carriers.chronopost[0].as_str(), "chronopost*");
    assert_eq!(c.laposte.base_url.as_str(), "https://api.laposte.fr/");
    assert_eq!(c.laposte.requests_per_second, 5);
    assert_eq!(c.laposte.timeout, Duration::from_secs(20));
    assert_eq!(c.trello.base_url.as_str(), "https://api.trello.com/");
    assert_eq!(c.trello.board, "AbCd1234");
    assert_eq!(c.trello.resolved_list, "Résolu");
    assert_eq!(c.trello.rate_limit, 100);
    assert_eq!(c.trello.rate_window, Duration::from_secs(10));
    assert_eq!(c.rules, RulesConfig::seed_defaults());
    // Debug of the whole config shows no secret.
    assert!(!format!("{c:?}").contains("SEKRET"));
}

#[test]
fn shipped_example_parses_with_every_key_set() {
    let tmp = tempfile::tempdir().unwrap();
    let text = common::example_with_credentials(tmp.path());
    let origin = tmp.path().join("config.toml");
    let c = config::parse_with_env(&text, &origin, &no_env).unwrap();
    // Secrets from files, trailing newline trimmed.
    assert!(
        matches!(&c.magento.auth, MagentoAuth::Bearer(s) if s.expose() == "SEKRET-magento-token")
    );
    assert_eq!(c.trello.token.expose(), "SEKRET-trello-token");
    assert_eq!(c.laposte.api_key.expose(), "SEKRET-laposte-api-key");
    // The example documents the defaults: same values as leaving keys out.
    assert_eq!(c.rules, RulesConfig::seed_defaults());
    assert_eq!(
        c.daemon.listen.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:9187")
    );
    assert_eq!(c.calendar.extra_open_days.len(), 1);
    assert_eq!(c.calendar.extra_closed_days.len(), 2);
}

#[test]
fn example_values_are_the_defaults() {
    // config.toml.example shows every key with its default (the few it must
    // invent, such as the shop's URLs, aside): one owner, config::defaults.
    use colisync::config::defaults as d;
    let tmp = tempfile::tempdir().unwrap();
    let text = common::example_with_credentials(tmp.path());
    let c = config::parse_with_env(&text, &tmp.path().join("config.toml"), &no_env).unwrap();
    let globs = |p: &[glob::Pattern]| p.iter().map(|g| g.as_str().to_owned()).collect::<Vec<_>>();
    let owned = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(c.daemon.schedule_text, d::SCHEDULE);
    assert_eq!(c.daemon.state_dir, Path::new(d::STATE_DIR));
    assert_eq!(c.calendar.timezone, d::timezone());
    assert_eq!(c.calendar.timezone.name(), d::TIMEZONE);
    assert_eq!(c.calendar.cutoff, d::cutoff());
    assert_eq!(c.magento.lookback_days, d::LOOKBACK_DAYS);
    assert_eq!(globs(&c.magento.original_skus), owned(d::ORIGINAL_SKUS));
    assert_eq!(c.magento.validated_statuses, owned(d::VALIDATED_STATUSES));
    assert_eq!(c.magento.page_size, d::PAGE_SIZE);
    assert_eq!(c.magento.overlap, Duration::from_secs(d::OVERLAP_SECS));
    assert_eq!(
        c.magento.timeout,
        Duration::from_secs(d::MAGENTO_TIMEOUT_SECS)
    );
    assert_eq!(globs(&c.carriers.letter), owned(d::LETTER));
    assert_eq!(globs(&c.carriers.colissimo), owned(d::COLISSIMO));
    assert_eq!(globs(&c.carriers.chronopost), owned(d::CHRONOPOST));
    assert_eq!(
        c.laposte.base_url.as_str().trim_end_matches('/'),
        d::LAPOSTE_BASE_URL
    );
    assert_eq!(c.laposte.requests_per_second, d::LAPOSTE_RPS);
    assert_eq!(
        c.laposte.timeout,
        Duration::from_secs(d::LAPOSTE_TIMEOUT_SECS)
    );
    assert_eq!(
        c.trello.base_url.as_str().trim_end_matches('/'),
        d::TRELLO_BASE_URL
    );
    assert_eq!(c.trello.resolved_list, d::RESOLVED_LIST);
    assert_eq!(c.trello.rate_limit, d::TRELLO_RATE_LIMIT);
    assert_eq!(
        c.trello.rate_window,
        Duration::from_secs(d::TRELLO_RATE_WINDOW_SECS)
    );
    assert_eq!(
        c.trello.timeout,
        Duration::from_secs(d::TRELLO_TIMEOUT_SECS)
    );
    assert_eq!(c.rules, RulesConfig::seed_defaults());
    for (name, rule) in c.rules.iter() {
        assert_eq!(rule.critical_factor, d::CRITICAL_FACTOR, "{name}");
    }
}

#[test]
fn secrets_from_env_and_oauth_four_values() {
    let text = std::fs::read_to_string(dir().join("valid.toml"))
        .unwrap()
        .replace(
            "token = \"SEKRET-magento-token\"",
            "consumer_key_env = \"CK\"\nconsumer_secret_env = \"CS\"\naccess_token_env = \"AT\"\naccess_token_secret_env = \"ATS\"",
        )
        .replace("api_key = \"SEKRET-laposte-key\"", "api_key_env = \"LP\"");
    let env = |name: &str| Some(format!("SEKRET-env-{name}"));
    let c = config::parse_with_env(&text, Path::new("c.toml"), &env).unwrap();
    match &c.magento.auth {
        MagentoAuth::OAuth1 {
            consumer_key,
            access_token_secret,
            ..
        } => {
            assert_eq!(consumer_key.expose(), "SEKRET-env-CK");
            assert_eq!(access_token_secret.expose(), "SEKRET-env-ATS");
        }
        other => panic!("expected OAuth1, got {other:?}"),
    }
    assert_eq!(c.laposte.api_key.expose(), "SEKRET-env-LP");
}

#[test]
fn secret_file_keeps_inner_content_and_rejects_blank_files() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    std::fs::write(&good, "SEKRET-abc def\r\n\n").unwrap();
    let blank = tmp.path().join("blank");
    std::fs::write(&blank, "\n").unwrap();
    let base = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    let with = |p: &Path| {
        base.replace(
            "token = \"SEKRET-trello-token\"",
            &format!("token_file = {:?}", p.display().to_string()),
        )
    };
    let c = config::parse_with_env(&with(&good), Path::new("c.toml"), &no_env).unwrap();
    assert_eq!(c.trello.token.expose(), "SEKRET-abc def");
    let err = config::parse_with_env(&with(&blank), Path::new("c.toml"), &no_env).unwrap_err();
    assert_eq!(err.problems()[0].key, "trello.token_file");
    assert!(err.to_string().contains("is empty"), "{err}");
}

#[test]
fn bare_toml_dates_are_accepted_and_overlaps_rejected() {
    let base = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    let text = base.replace(
        "extra_closed_days = [\"2026-12-24\"]",
        "extra_closed_days = [2026-12-24]",
    );
    let c = config::parse_with_env(&text, Path::new("c.toml"), &no_env).unwrap();
    assert_eq!(c.calendar.extra_closed_days[0].to_string(), "2026-12-24");
    let text = base.replace(
        "extra_closed_days = [\"2026-12-24\"]",
        "extra_closed_days = [\"2027-05-17\"]",
    );
    let err = config::parse_with_env(&text, Path::new("c.toml"), &no_env).unwrap_err();
    assert_eq!(err.problems()[0].key, "calendar.extra_open_days[0]");
}

#[test]
fn schedule_edge_cases() {
    let base = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    let with = |s: &str| base.replace("\"0 */15 7-20 * * Mon-Sat\"", &format!("{s:?}"));
    // Accepted: names, steps, seven fields, shorthand.
    for ok in [
        "0 0 9 * * Mon-Fri",
        "0 */5 * * * Mon-Fri/2",
        "0 0 9 * * * 2030",
        "@hourly",
    ] {
        config::parse_with_env(&with(ok), Path::new("c.toml"), &no_env)
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // Rejected: numeric weekdays in any position, too few fields, never fires.
    for bad in ["0 0 9 * * Mon,5", "0 0 9 * *", "0 0 9 * * Mon 2001"] {
        let err = config::parse_with_env(&with(bad), Path::new("c.toml"), &no_env).unwrap_err();
        assert_eq!(err.problems()[0].key, "daemon.schedule", "{bad}: {err}");
    }
}

/// The keys serde accepts in `table`, read from its "unknown field"
/// message, so that this test follows the loader without a second list.
fn accepted_keys(table: &str) -> Vec<String> {
    let text = format!("[{table}]\nzzz_not_a_key = 1\n");
    let err = config::parse_with_env(&text, Path::new("c.toml"), &no_env).unwrap_err();
    let msg = &err.problems()[0].message;
    let (_, expected) = msg.split_once("expected").expect(msg);
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn example_documents_every_key() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example"))
            .unwrap();
    let mut tables: Vec<String> = [
        "daemon",
        "calendar",
        "magento",
        "carriers",
        "laposte",
        "trello",
        "freshdesk",
    ]
    .map(String::from)
    .to_vec();
    let rules = accepted_keys("rules");
    assert_eq!(rules.len(), 11, "{rules:?}");
    for rule in &rules {
        assert!(
            example.contains(&format!("[rules.{rule}]")),
            "[rules.{rule}] missing"
        );
        tables.push(format!("rules.{rule}"));
    }
    for table in tables {
        assert!(example.contains(&format!("[{table}]")), "[{table}] missing");
        let keys = accepted_keys(&table);
        assert!(!keys.is_empty(), "{table}");
        for key in keys {
            // Secrets are shown in one spelling (mostly `_file`); the header
            // of the example explains the other two.
            let base = key.trim_end_matches("_file").trim_end_matches("_env");
            let documented = [key.as_str(), base, &format!("{base}_file")]
                .iter()
                .any(|k| example.contains(&format!("{k} = ")));
            assert!(documented, "{table}.{key} is not in config.toml.example");
        }
    }
}

#[test]
fn a_bare_credential_name_is_systemd_s_in_the_service_and_etc_s_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let text = common::example_with_credentials(tmp.path());
    let origin = tmp.path().join("config.toml");
    // By hand: credentials/ next to the configuration file.
    let c = config::parse_with_env(&text, &origin, &no_env).unwrap();
    assert_eq!(c.trello.token.expose(), "SEKRET-trello-token");

    // In the service: systemd's $CREDENTIALS_DIRECTORY.
    let service = tempfile::tempdir().unwrap();
    for name in [
        "magento-token",
        "laposte-api-key",
        "trello-key",
        "trello-token",
    ] {
        std::fs::write(service.path().join(name), format!("SYSTEMD-{name}\n")).unwrap();
    }
    let dir = service.path().display().to_string();
    let env = |name: &str| (name == "CREDENTIALS_DIRECTORY").then(|| dir.clone());
    let c = config::parse_with_env(&text, &origin, &env).unwrap();
    assert_eq!(c.trello.token.expose(), "SYSTEMD-trello-token");
    assert_eq!(c.laposte.api_key.expose(), "SYSTEMD-laposte-api-key");
}

/// The carrier and method codes of the official modules (La Poste's
/// Colissimo modules, PH2M/chronopost-chronorelais) map to their carrier
/// with the defaults: built in, in config.toml.example, and in
/// `Classifier::seed_defaults`.
#[test]
fn official_module_codes_map_to_their_carrier_by_default() {
    use colisync::domain::{Carrier, Classifier, Track};
    let chronopost = [
        "chronopost",
        "chronoexpress",
        "chronopostc10",
        "chronopostc18",
        "chronopostsrdv",
        "chronorelais",
        "chronorelaisdom",
        "chronorelaiseur",
        "chronofresh",
        "chronocclassic",
        "chronosameday",
    ];
    let colissimo_methods = [
        "colissimo_domiciless",
        "colissimo_domicileas",
        "colissimo_domicileasddp",
        "colissimo_pr",
        "colissimo_expert",
        "colissimo_expertddp",
        "colissimo_flashss",
        "colissimo_flashas",
        "colissimosimplicite_colissimosimplicite",
        "colissimo_homecl",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let example = common::example_with_credentials(tmp.path());
    let example =
        config::parse_with_env(&example, &tmp.path().join("config.toml"), &no_env).unwrap();
    let valid = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    let builtin = config::parse_with_env(&valid, Path::new("valid.toml"), &no_env).unwrap();
    for (what, classifier) in [
        (
            "config.toml.example",
            Classifier::new(&example.magento, &example.carriers),
        ),
        (
            "built-in defaults",
            Classifier::new(&builtin.magento, &builtin.carriers),
        ),
        ("seed_defaults", Classifier::seed_defaults()),
    ] {
        for code in chronopost {
            let method = format!("{code}_{code}");
            assert_eq!(
                classifier.carrier_of_method(&method),
                Some(Carrier::Chronopost),
                "{what}: {method}"
            );
            // The module's tracks: carrier_code the bare code, title
            // ucwords(code); an order whose method is unknown still gets
            // Chronopost's rule from its track.
            let track = Track {
                number: "XY123456789FR".into(),
                carrier_code: code.into(),
                title: format!("{}{}", code[..1].to_uppercase(), &code[1..]),
                created_at: chrono::Utc::now(),
            };
            assert_eq!(
                classifier.carrier(None, Some(&track)),
                Carrier::Chronopost,
                "{what}: track {code}"
            );
        }
        for method in colissimo_methods {
            assert_eq!(
                classifier.carrier_of_method(method),
                Some(Carrier::Colissimo),
                "{what}: {method}"
            );
        }
        assert_eq!(
            classifier.carrier_of_method("flatrate_flatrate"),
            Some(Carrier::Letter),
            "{what}"
        );
        assert_eq!(
            classifier.carrier_of_method("tablerate_bestway"),
            None,
            "{what}"
        );
    }
}

// --- Secrets that would fail as a header, URLs carrying credentials,
// warnings. None of these may print the value.

#[test]
fn inline_secret_with_a_newline_is_refused_by_key() {
    check(
        "secret_newline",
        "trello.token",
        Some(24),
        "contains a line break",
    );
}

#[test]
fn inline_secret_with_a_control_character_is_refused_by_key() {
    check(
        "secret_control_char",
        "laposte.api_key",
        Some(20),
        "control character (U+0007)",
    );
}

#[test]
fn url_with_credentials_in_its_query_is_refused_without_them() {
    check(
        "url_with_query_credentials",
        "trello.base_url",
        Some(26),
        "must not carry a query",
    );
}

#[test]
fn url_with_a_user_and_password_is_refused_without_them() {
    check(
        "url_with_userinfo",
        "magento.base_url",
        Some(15),
        "must not contain a user or password",
    );
}

/// valid.toml with `old` replaced by `new`.
fn valid_with(old: &str, new: &str) -> String {
    let text = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    assert!(text.contains(old), "{old}");
    text.replacen(old, new, 1)
}

fn problems_of(text: &str, env: &dyn Fn(&str) -> Option<String>) -> (String, Vec<config::Problem>) {
    match config::parse_with_env(text, Path::new("config.toml"), env) {
        Ok(_) => panic!("accepted"),
        Err(e) => (e.to_string(), e.problems().to_vec()),
    }
}

#[test]
fn secret_file_with_a_newline_inside_is_refused_and_a_final_one_stripped() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("trello-token");
    std::fs::write(&bad, "SEKRET-first\nSEKRET-second\n").unwrap();
    let text = valid_with(
        "token = \"SEKRET-trello-token\"",
        &format!("token_file = {:?}", bad.display().to_string()),
    );
    let (shown, problems) = problems_of(&text, &no_env);
    assert!(!shown.contains("SEKRET-"), "{shown}");
    let p = problems
        .iter()
        .find(|p| p.key == "trello.token_file")
        .unwrap_or_else(|| panic!("{shown}"));
    assert_eq!(p.line, Some(24), "{shown}");
    assert!(p.message.contains("line break"), "{shown}");

    // One final line end (echo, systemd-creds) is not part of the secret.
    for ending in ["\n", "\r\n"] {
        std::fs::write(&bad, format!("SEKRET-one-line{ending}")).unwrap();
        let c = config::parse_with_env(&text, Path::new("config.toml"), &no_env)
            .unwrap_or_else(|e| panic!("{ending:?}: {e}"));
        assert_eq!(c.trello.token.expose(), "SEKRET-one-line");
    }
}

#[test]
fn env_secret_with_a_newline_is_refused_by_key() {
    let text = valid_with(
        "api_key = \"SEKRET-laposte-key\"",
        "api_key_env = \"COLISYNC_TEST_KEY\"",
    );
    let env = |name: &str| (name == "COLISYNC_TEST_KEY").then(|| "SEKRET-a\nSEKRET-b".to_owned());
    let (shown, problems) = problems_of(&text, &env);
    assert!(!shown.contains("SEKRET-"), "{shown}");
    let p = problems
        .iter()
        .find(|p| p.key == "laposte.api_key_env")
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(p.message.contains("line break"), "{shown}");
    assert!(p.message.contains("COLISYNC_TEST_KEY"), "{shown}");
}

#[test]
fn secret_with_spaces_around_it_is_refused() {
    let text = valid_with(
        "key = \"SEKRET-trello-key\"",
        "key = \" SEKRET-trello-key\"",
    );
    let (shown, problems) = problems_of(&text, &no_env);
    assert!(!shown.contains("SEKRET-"), "{shown}");
    assert!(
        problems
            .iter()
            .any(|p| p.key == "trello.key" && p.message.contains("spaces")),
        "{shown}"
    );
}

#[test]
fn every_base_url_is_refused_with_any_query_and_never_shown() {
    for (old, key) in [
        ("base_url = \"https://shop.example.fr\"", "magento.base_url"),
        ("api_key = \"SEKRET-laposte-key\"", "laposte.base_url"),
        ("board = \"AbCd1234\"", "trello.base_url"),
    ] {
        let url = "https://u:SEKRETP@api.example.fr/x?apikey=SEKRETK#SEKRETF";
        let new = if key == "magento.base_url" {
            format!("base_url = {url:?}")
        } else {
            format!("{old}\nbase_url = {url:?}")
        };
        let (shown, problems) = problems_of(&valid_with(old, &new), &no_env);
        assert!(!shown.contains("SEKRET"), "{key}: {shown}");
        assert!(problems.iter().any(|p| p.key == key), "{key}: {shown}");
        assert!(shown.contains("api.example.fr/x"), "{key}: {shown}");
    }
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn warns_of_a_world_readable_file_holding_inline_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    let text = std::fs::read_to_string(dir().join("valid.toml")).unwrap();
    write_mode(&path, &text, 0o644);
    let (_, warnings) = config::load_with_warnings(&path).unwrap();
    let shown = config::render_warnings(&path, &warnings);
    assert_eq!(warnings.len(), 1, "{shown}");
    assert!(shown.contains("readable by every account"), "{shown}");
    assert!(shown.contains("0644"), "{shown}");
    assert!(shown.contains("trello.token"), "{shown}");
    assert!(!shown.contains("SEKRET-"), "{shown}");
    write_mode(&path, &text, 0o600);
    let (_, warnings) = config::load_with_warnings(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn warns_of_a_world_readable_secret_file() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("trello-token");
    write_mode(&secret, "SEKRET-in-a-file\n", 0o644);
    let path = tmp.path().join("config.toml");
    let text = std::fs::read_to_string(dir().join("valid.toml"))
        .unwrap()
        .replacen(
            "token = \"SEKRET-trello-token\"",
            &format!("token_file = {:?}", secret.display().to_string()),
            1,
        );
    write_mode(&path, &text, 0o600);
    let (_, warnings) = config::load_with_warnings(&path).unwrap();
    let shown = config::render_warnings(&path, &warnings);
    let w = warnings
        .iter()
        .find(|w| w.key == "trello.token_file")
        .unwrap_or_else(|| panic!("{shown}"));
    assert_eq!(w.line, Some(24), "{shown}");
    assert!(w.message.contains("chmod 600"), "{shown}");
    assert!(!shown.contains("SEKRET-"), "{shown}");
    write_mode(&secret, "SEKRET-in-a-file\n", 0o600);
    let (_, warnings) = config::load_with_warnings(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn warns_of_listen_beyond_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    for (listen, warned) in [
        ("0.0.0.0:9187", true),
        ("192.0.2.1:9187", true),
        ("127.0.0.1:9187", false),
        ("[::1]:9187", false),
    ] {
        let text = valid_with(
            "state_dir = \"/var/lib/colisync\"",
            &format!("state_dir = \"/var/lib/colisync\"\nlisten = \"{listen}\""),
        );
        write_mode(&path, &text, 0o600);
        let (c, warnings) = config::load_with_warnings(&path).unwrap();
        assert!(c.daemon.listen.is_some());
        let found = warnings
            .iter()
            .any(|w| w.key == "daemon.listen" && w.message.contains("not a loopback"));
        assert_eq!(found, warned, "{listen}: {warnings:?}");
    }
}

#[test]
fn log_format_is_text_or_json() {
    let env = |_: &str| Some("SEKRET".to_owned());
    let text = valid_with(
        "state_dir = \"/var/lib/colisync\"",
        "state_dir = \"/var/lib/colisync\"\nlog_format = \"json\"",
    );
    let path = Path::new("config.toml");
    let c = config::parse_with_env(&text, path, &env);
    match c {
        Ok(c) => assert_eq!(c.daemon.log_format, config::LogFormat::Json),
        Err(e) => panic!("refused: {e}"),
    }
    let text = valid_with(
        "state_dir = \"/var/lib/colisync\"",
        "state_dir = \"/var/lib/colisync\"\nlog_format = \"yaml\"",
    );
    let (shown, problems) = problems_of(&text, &env);
    assert!(
        problems.iter().any(|p| p.key == "daemon.log_format"
            && p.line.is_some()
            && p.message.contains("\"text\" or \"json\"")),
        "{shown}"
    );
}
