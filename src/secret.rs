//! Secrets (API keys, tokens) wrapped so that they cannot leak by accident.
//!
//! Every credential read from the configuration lives in a [`Secret`]. Its
//! `Debug` and `Display` print `[redacted]`; the only way to the value is
//! [`Secret::expose`], which is called where a request header is built and
//! nowhere else.
//!
//! Architecture invariant: secrets never reach `Display` or `Debug`.

use std::fmt;

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
}
