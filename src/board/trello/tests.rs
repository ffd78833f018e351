//! Unit tests of the Trello client's pure parts: text fitting, the quota,
//! error mapping.

use super::fit::utf16_len;
use super::*;
use crate::board::parse_marker;

#[test]
fn short_texts_are_untouched() {
    assert_eq!(fit_name("Cmd 1"), "Cmd 1");
    assert_eq!(fit_text("ok"), "ok");
    assert_eq!(
        fit_description("a\n`colisync-key: order/1`"),
        "a\n`colisync-key: order/1`"
    );
}

#[test]
fn long_description_keeps_its_marker() {
    let desc = format!("{}\n\n`colisync-key: order/100023`", "é".repeat(20_000));
    let fitted = fit_description(&desc);
    assert!(utf16_len(&fitted) <= TEXT_LIMIT);
    assert!(fitted.contains("tronqué"));
    assert!(fitted.ends_with("`colisync-key: order/100023`"));
    assert!(parse_marker(&fitted).is_some());
}

#[test]
fn long_names_and_comments_are_cut_visibly() {
    let name = fit_name(&"😀".repeat(10_000));
    assert!(utf16_len(&name) <= TEXT_LIMIT && name.ends_with('…'));
    let text = fit_text(&"x".repeat(20_000));
    assert!(utf16_len(&text) <= TEXT_LIMIT && text.ends_with("caractères]"));
}

#[test]
fn quota_stays_under_the_window() {
    for (limit, window) in [(100, 10), (10, 1), (50, 1), (1, 1), (3, 1)] {
        let q = trello_quota(limit, Duration::from_secs(window));
        let per_window = q.burst_size().get() as u128
            + Duration::from_secs(window).as_nanos() / q.replenish_interval().as_nanos();
        assert!(
            per_window < limit as u128 || (limit == 1 && per_window == 1),
            "{limit}: {per_window}"
        );
    }
    let q = trello_quota(100, Duration::from_secs(10));
    assert_eq!(q.burst_size().get(), 5);
    assert!(Duration::from_secs(10).as_nanos() / q.replenish_interval().as_nanos() >= 90);
}

#[test]
fn errors_map_from_trello_messages() {
    let status = |status: u16, body: &str| HttpError::Status {
        api: "trello",
        method: "POST".into(),
        path: "/1/cards".into(),
        status,
        body_excerpt: body.into(),
    };
    assert!(matches!(
        map_error(status(400, "invalid value for idList"), "c", Some("L")),
        TrelloError::UnknownList { .. }
    ));
    assert!(matches!(
        map_error(
            status(404, "could not find the board that the card belongs to"),
            "c",
            Some("L")
        ),
        TrelloError::UnknownList { .. }
    ));
    assert!(matches!(
        map_error(
            status(404, "The requested resource was not found."),
            "c",
            None
        ),
        TrelloError::NotFound { .. }
    ));
    assert!(matches!(
        map_error(status(400, "invalid id"), "c", None),
        TrelloError::BadRequest { .. }
    ));
    let e = map_error(
        HttpError::Unauthorized {
            api: "trello",
            status: 401,
            message: r#"{"message":"missing scopes"}"#.into(),
        },
        "c",
        None,
    );
    assert_eq!(
        e,
        TrelloError::Unauthorized {
            status: 401,
            message: "missing scopes".into()
        }
    );
    assert!(e.is_fatal());
    assert!(map_error(status(503, "x"), "c", None).outcome_is_unknown());
}
