use super::*;

#[test]
fn search_queries_are_quoted_and_bounded() {
    assert_eq!(
        order_number_query("cf_order", "100023").expect("query"),
        "\"cf_order:'100023' AND (status:2 OR status:3)\""
    );
    assert!(order_number_query("cf_order", "10'0").is_err());
    assert!(order_number_query("cf_order", "").is_err());
    assert!(quoted_search(&"a".repeat(513)).is_err());
    assert!(quoted_search(&"a".repeat(512)).is_ok());
}

#[test]
fn link_header_next() {
    let mut h = HeaderMap::new();
    assert!(!has_next_page(&h));
    h.insert(
        reqwest::header::LINK,
        HeaderValue::from_static("<https://x.freshdesk.com/api/v2/tickets?page=2>; rel=\"next\""),
    );
    assert!(has_next_page(&h));
    h.insert(
        reqwest::header::LINK,
        HeaderValue::from_static("<https://x.freshdesk.com/api/v2/tickets?page=1>; rel=\"prev\""),
    );
    assert!(!has_next_page(&h));
}
