//! Freshdesk's errors as colisync reads them: the validation shape
//! (`{"description", "errors": [{field, message, code}]}`) and the error
//! kinds the client tells apart (a refused key, a refused ticket, a query
//! Freshdesk would refuse, an HTTP failure).

use std::fmt;

use serde::Deserialize;

use crate::http::{self, HttpError};

/// One field-level complaint of a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.field, self.message, self.code)
    }
}

pub(super) fn join_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a Freshdesk call failed. Never holds a secret nor a URL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FreshdeskError {
    /// 401: the key is refused. Fatal for the Freshdesk part of a pass.
    #[error("Freshdesk refused freshdesk.api_key (HTTP 401, {code}): {message}")]
    Unauthorized { code: String, message: String },
    /// 403: this key may not do this (a ticket outside its scope, a
    /// feature off). A definite failure of this item, not of the key.
    #[error("Freshdesk: not allowed (HTTP 403, {code}): {message}")]
    Forbidden { code: String, message: String },
    /// 404: no such ticket (deleted, merged) or route.
    #[error("Freshdesk: {what} not found (404)")]
    NotFound { what: String },
    /// 400: the request was refused, field by field.
    #[error("Freshdesk rejected {what} (400, {description}): {}", join_errors(.errors))]
    Invalid {
        what: String,
        description: String,
        errors: Vec<FieldError>,
    },
    /// Another 4xx the client does not expect (405, 409…).
    #[error("Freshdesk refused {what} (HTTP {status}): {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    /// A search colisync will not send: Freshdesk would refuse it.
    #[error("Freshdesk search not sent: {0}")]
    Query(String),
    /// Transport errors, timeouts, 5xx, 429 after the retries allowed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A 2xx whose body is not the JSON expected.
    #[error("Freshdesk's answer to {what} is not the expected JSON: {reason}")]
    Decode { what: String, reason: String },
}

impl FreshdeskError {
    /// The key is refused: stop talking to Freshdesk this pass.
    pub fn is_fatal(&self) -> bool {
        matches!(self, FreshdeskError::Unauthorized { .. })
    }

    /// For a write: may Freshdesk have applied it although we got an
    /// error? Then the caller reads back before writing again.
    pub fn outcome_is_unknown(&self) -> bool {
        match self {
            FreshdeskError::Http(e) => http::outcome_is_unknown(e),
            FreshdeskError::Decode { .. } => true,
            _ => false,
        }
    }

    /// 429 after the waits the retry budget allows: "not processed", try
    /// again on a later pass.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, FreshdeskError::Http(HttpError::RateLimited { .. }))
    }
}
