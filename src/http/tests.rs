use super::*;
use reqwest::header::RETRY_AFTER;

#[test]
fn redact_removes_credentials() {
    let cases = [
        (
            "error for https://api.trello.com/1/cards?key=K123&token=T456 x",
            "error for https://api.trello.com/1/cards?[redacted] x",
        ),
        (
            "OAuth oauth_consumer_key=\"K1\", oauth_token=\"T1\"",
            "OAuth [redacted], oauth_token=[redacted]",
        ),
        ("Bearer abc.def", "Bearer [redacted]"),
        ("X-Okapi-Key: s3cr3t", "X-Okapi-Key: [redacted]"),
        ("invalid value for idList", "invalid value for idList"),
        ("café ?q=1 sans url", "café ?q=1 sans url"),
    ];
    for (input, want) in cases {
        assert_eq!(redact(input), want, "{input}");
    }
}

#[test]
fn redact_url_keeps_path_only() {
    let u = Url::parse("https://u:p@api.example/1/cards?key=K&token=T#f").expect("url");
    assert_eq!(redact_url(&u), "https://api.example/1/cards");
}

#[test]
fn classification() {
    let t = HttpError::Timeout {
        api: "trello",
        method: "POST".into(),
        path: "/1/cards".into(),
    };
    let s = |status| HttpError::Status {
        api: "trello",
        method: "POST".into(),
        path: "/1/cards".into(),
        status,
        body_excerpt: String::new(),
    };
    let rl = HttpError::RateLimited {
        api: "trello",
        retry_after: None,
    };
    assert!(outcome_is_unknown(&t));
    assert!(outcome_is_unknown(&s(503)));
    assert!(!outcome_is_unknown(&s(400)));
    assert!(!outcome_is_unknown(&rl));
    assert!(is_retryable(&t, Idempotent::Yes));
    assert!(!is_retryable(&t, Idempotent::No));
    assert!(is_retryable(&rl, Idempotent::No));
    assert!(is_retryable(&s(502), Idempotent::Yes));
    assert!(!is_retryable(&s(502), Idempotent::No));
    assert!(!is_retryable(&s(404), Idempotent::Yes));
}

#[test]
fn call_path_is_segments_without_query() {
    let c = Call::get("1/boards").segment("abc").query("token", "T");
    assert_eq!(c.path(), "/1/boards/abc");
}

#[test]
fn retry_after_seconds() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, reqwest::header::HeaderValue::from_static("2"));
    assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
    h.insert(
        RETRY_AFTER,
        reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(parse_retry_after(&h), None);
}
