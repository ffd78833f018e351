//! What keeps secrets out of what the HTTP layer reports: the credentials
//! of a request's headers added to the scrubber, error-body excerpts, and
//! URLs and texts with their credentials redacted.

use reqwest::header::HeaderMap;
use url::Url;

use crate::secret::Scrubber;

/// How long an error body excerpt may be, in characters. Enough for
/// Trello's plain-text errors and Magento's `message`.
const EXCERPT_CHARS: usize = 300;

/// `scrubber` and the credentials of `headers`: the value of a key or
/// token header (`X-Okapi-Key`), a Bearer token, the `…key` and `…token`
/// parameters of an `OAuth` header. Other headers (`Accept`) are not
/// secrets, and neither are the fixed OAuth parameters (`oauth_version`).
pub(super) fn with_header_credentials(scrubber: &Scrubber, headers: &HeaderMap) -> Scrubber {
    let mut values: Vec<String> = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else {
            continue;
        };
        let value = value.trim();
        let name = name.as_str();
        if name == "authorization" || name == "proxy-authorization" {
            match value.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("oauth") => {
                    for param in rest.split(',') {
                        let Some((k, v)) = param.trim().split_once('=') else {
                            continue;
                        };
                        let k = k.trim().to_ascii_lowercase();
                        if k.ends_with("key") || k.ends_with("token") {
                            let v = v.trim().trim_matches('"');
                            values.push(v.to_owned());
                            // The header carries it percent-encoded.
                            if let Ok(decoded) =
                                percent_encoding::percent_decode_str(v).decode_utf8()
                            {
                                values.push(decoded.into_owned());
                            }
                        }
                    }
                }
                Some((_scheme, rest)) => values.push(rest.trim().to_owned()),
                None => values.push(value.to_owned()),
            }
        } else if ["key", "token", "secret"].iter().any(|w| name.contains(w)) {
            values.push(value.to_owned());
        }
    }
    scrubber.with(values.iter().map(String::as_str))
}

/// The start of a body, on one line, redacted.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    redact(one_line.trim())
}

/// The Display of an error and its sources, redacted.
pub(super) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    redact(&out)
}

/// Scheme, host, port and path of a URL: no userinfo, no query, no fragment.
pub(crate) fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Removes what looks like a credential from free text before it is logged
/// or put in an error: query strings of URLs (`?key=…&token=…`), and the
/// values after `key=`, `token=`, `oauth_token=`, `oauth_consumer_key=`,
/// `oauth_signature=`, `apikey=`, `Bearer `, `OAuth `, `X-Okapi-Key:`.
pub(crate) fn redact(text: &str) -> String {
    const MARKERS: [&str; 9] = [
        "key=",
        "token=",
        "secret=",
        "signature=",
        "bearer ",
        "oauth ",
        "x-okapi-key:",
        "authorization:",
        "password=",
    ];
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        // A URL query: drop everything from `?` to the next whitespace.
        if bytes[i] == b'?' && lower[..i].contains("://") {
            let end = text[i..]
                .find(char::is_whitespace)
                .map_or(text.len(), |n| i + n);
            out.push_str("?[redacted]");
            i = end;
            continue;
        }
        if let Some(m) = MARKERS.iter().find(|m| lower[i..].starts_with(**m)) {
            out.push_str(&text[i..i + m.len()]);
            i += m.len();
            // Skip optional spaces, then the value up to a separator.
            while i < text.len() && bytes[i] == b' ' {
                out.push(' ');
                i += 1;
            }
            let end = text[i..]
                .find(|c: char| c.is_whitespace() || c == '&' || c == ',' || c == ';')
                .map_or(text.len(), |n| i + n);
            if end > i {
                out.push_str("[redacted]");
            }
            i = end;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}
