//! Freshdesk's search syntax and its limits, refused here rather than sent
//! (a quoted query within 512 characters, no escape), and paging by the
//! `Link` header.

use reqwest::header::HeaderMap;

use super::{FreshdeskError, SEARCH_MAX_QUERY};

/// Builds a search query Freshdesk accepts: a string value in single
/// quotes, the whole in double quotes, within 512 characters. Values that
/// hold a quote or a backslash are refused rather than escaped: the search
/// syntax has no documented escape.
pub fn quoted_search(query: &str) -> Result<String, FreshdeskError> {
    if query.trim().is_empty() {
        return Err(FreshdeskError::Query("empty query".into()));
    }
    if query.contains('"') {
        return Err(FreshdeskError::Query(
            "a double quote inside the query".into(),
        ));
    }
    if query.chars().count() > SEARCH_MAX_QUERY {
        return Err(FreshdeskError::Query(format!(
            "the query is longer than {SEARCH_MAX_QUERY} characters"
        )));
    }
    Ok(format!("\"{query}\""))
}

/// `field:'value'`, refusing values the syntax cannot carry.
pub fn string_term(field: &str, value: &str) -> Result<String, FreshdeskError> {
    if value.is_empty() || value.contains(['\'', '"', '\\']) || value.chars().any(char::is_control)
    {
        return Err(FreshdeskError::Query(format!(
            "the value for {field} is empty or holds a quote, a backslash or a control character"
        )));
    }
    Ok(format!("{field}:'{value}'"))
}

/// The open tickets whose custom field `field` holds `order_number`:
/// `"cf_x:'100023' AND (status:2 OR status:3)"`.
pub fn order_number_query(field: &str, order_number: &str) -> Result<String, FreshdeskError> {
    quoted_search(&format!(
        "{} AND (status:2 OR status:3)",
        string_term(field, order_number)?
    ))
}

/// Whether a `Link` header announces a next page.
pub fn has_next_page(headers: &HeaderMap) -> bool {
    headers.get_all(reqwest::header::LINK).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',').any(|part| {
                part.split(';').skip(1).any(|p| {
                    let p = p.trim().to_ascii_lowercase();
                    p == "rel=\"next\"" || p == "rel=next"
                })
            })
        })
    })
}
