//! Secrets (API keys, tokens) wrapped so that they cannot leak by accident.
//!
//! Every credential read from the configuration lives in a [`Secret`]. Its
//! `Debug` and `Display` print `[redacted]`; the only way to the value is
//! [`Secret::expose`], which is called where a request header is built and
//! nowhere else.
//!
//! Architecture invariant: secrets never reach `Display` or `Debug`.
//!
//! An upstream can still hand a secret back (Trello's "invalid token …", a
//! gateway quoting the key it refused): [`Scrubber`] removes every configured
//! secret value from such text before colisync repeats it anywhere.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A credential. Deliberately not `Serialize`, not `PartialEq` on content
/// exposed in messages, and redacted in every formatting trait.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for building an `Authorization` or `X-Okapi-Key`
    /// header. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What a secret becomes in text that held it.
pub(crate) const REDACTED: &str = "[redacted]";

/// Removes known secret values from text that came from outside: an error
/// body, a message, a tracking label. The values are matched as substrings
/// (inside a longer word too), ASCII case-insensitively (an upstream may
/// echo a hex token upper-cased), and in the spellings an echo uses: raw,
/// percent-encoded (a query string or a form body quoting it) and
/// JSON-escaped (PHP's `json_encode` writes `/` as `\/`).
///
/// Cheap to clone; an empty scrubber returns the text untouched.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// ASCII-lowercased spellings, longest first, no duplicates.
    needles: Arc<Vec<String>>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} spellings)", self.needles.len())
    }
}

impl Scrubber {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Scrubber::default().with(secrets.into_iter().map(Secret::expose))
    }

    /// This scrubber and the given raw values too.
    pub(crate) fn with<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles: Vec<String> = self.needles.as_ref().clone();
        for v in values {
            // Blank values cannot be told from ordinary text; the
            // configuration refuses them anyway.
            if v.trim().is_empty() {
                continue;
            }
            let spellings = [
                v.to_owned(),
                percent_encoded(v, |b| matches!(b, b'-' | b'.' | b'_' | b'~')),
                // Some encoders escape everything but letters and digits.
                percent_encoded(v, |_| false),
                json_escaped(v),
            ];
            for spelling in spellings {
                let lower = spelling.to_ascii_lowercase();
                if !needles.contains(&lower) {
                    needles.push(lower);
                }
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Scrubber {
            needles: Arc::new(needles),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every occurrence of a secret replaced by [`REDACTED`].
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.needles.is_empty() {
            return Cow::Borrowed(text);
        }
        let ranges = self.find(&text.to_ascii_lowercase());
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            // A needle is ASCII-lowercase of UTF-8 text, so its match starts
            // and ends on char boundaries of `text` as well.
            out.push_str(text.get(at..start).unwrap_or_default());
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Cow::Owned(out)
    }

    /// [`Scrubber::scrub`] for a body that may not be UTF-8: a UTF-8 body
    /// keeps every other byte as it was; anything else is read lossily.
    pub(crate) fn scrub_bytes<'b>(&self, bytes: &'b [u8]) -> Cow<'b, [u8]> {
        if self.needles.is_empty() {
            return Cow::Borrowed(bytes);
        }
        let scrubbed = match std::str::from_utf8(bytes) {
            Ok(text) => match self.scrub(text) {
                Cow::Borrowed(_) => return Cow::Borrowed(bytes),
                Cow::Owned(s) => s,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                match self.scrub(&text) {
                    Cow::Borrowed(_) => return Cow::Borrowed(bytes),
                    Cow::Owned(s) => s,
                }
            }
        };
        Cow::Owned(scrubbed.into_bytes())
    }

    /// Sorted, merged byte ranges of `lower` covered by a needle.
    fn find(&self, lower: &str) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        for n in self.needles.iter() {
            let mut from = 0;
            while let Some(i) = lower.get(from..).and_then(|rest| rest.find(n.as_str())) {
                ranges.push((from + i, from + i + n.len()));
                from += i + n.len();
            }
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

/// Every byte but ASCII letters, digits and those `kept` as `%XX`.
fn percent_encoded(v: &str, kept: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(v.len() * 3);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || kept(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value as it appears inside a JSON string written by PHP or serde.
fn json_escaped(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('/', "\\/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("hunter2-token");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!format!("{:#?}", vec![s.clone()]).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn scrubber_removes_every_spelling() {
        let s = Scrubber::new(&[Secret::new("Ab12/cd+EF"), Secret::new("tok3n")]);
        let cases = [
            (
                "Token Ab12/cd+EF has expired",
                "Token [redacted] has expired",
            ),
            (
                "token AB12/CD+ef upper-cased",
                "token [redacted] upper-cased",
            ),
            ("?key=Ab12%2Fcd%2BEF&x=1", "?key=[redacted]&x=1"),
            ("?key=ab12%2fcd%2bef", "?key=[redacted]"),
            ("tok3n-x", "[redacted]-x"),
            (
                r#"{"message":"key Ab12\/cd+EF"}"#,
                r#"{"message":"key [redacted]"}"#,
            ),
            ("pretok3ntok3npost", "pre[redacted]post"),
            ("café tok3n é", "café [redacted] é"),
            ("nothing here", "nothing here"),
        ];
        for (input, want) in cases {
            assert_eq!(s.scrub(input), want, "{input}");
        }
        assert_eq!(
            s.scrub_bytes(b"\xffAb12/cd+EF").as_ref(),
            "\u{fffd}[redacted]".as_bytes()
        );
        assert!(matches!(s.scrub_bytes(b"plain"), Cow::Borrowed(_)));
        assert_eq!(Scrubber::default().scrub("tok3n"), "tok3n");
        assert!(!format!("{s:?}").contains("tok3n"));
    }

    #[test]
    fn over_encoded_spelling_is_found() {
        let s = Scrubber::new(&[Secret::new("demo-key.1")]);
        assert_eq!(s.scrub("k=demo%2Dkey%2E1&x"), "k=[redacted]&x");
        assert_eq!(s.scrub("k=demo-key.1"), "k=[redacted]");
    }

    #[test]
    fn blank_values_are_not_needles() {
        let s = Scrubber::new(&[Secret::new(" ")]);
        assert!(s.is_empty());
        assert_eq!(s.scrub("a b"), "a b");
    }
}
