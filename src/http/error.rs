//! The HTTP layer's errors ([`HttpError`]), which never carry a secret, and
//! what the retry loop and the clients conclude from them: retryable or
//! not ([`Idempotent`]), outcome unknown or not.

use std::time::Duration;

/// Everything that can go wrong talking to an API. Display and Debug never
/// contain a URL with credentials, a query string or a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built (bad base URL, bad header value).
    #[error("{api}: invalid request {method} {path}: {detail}")]
    Invalid {
        api: &'static str,
        method: String,
        path: String,
        detail: String,
    },
    /// No answer within the timeout. The request may have been processed.
    #[error("{api}: timeout on {method} {path}")]
    Timeout {
        api: &'static str,
        method: String,
        path: String,
    },
    /// The connection could not be established: the request was not sent.
    #[error("{api}: cannot connect for {method} {path}: {detail}")]
    Connect {
        api: &'static str,
        method: String,
        path: String,
        detail: String,
    },
    /// The connection broke after the request was (maybe) sent: reset,
    /// closed without an answer, body cut short. Outcome unknown.
    #[error("{api}: connection lost on {method} {path}: {detail}")]
    Transport {
        api: &'static str,
        method: String,
        path: String,
        detail: String,
    },
    /// A non-success status the caller did not accept.
    #[error("{api}: HTTP {status} on {method} {path}: {body_excerpt}")]
    Status {
        api: &'static str,
        method: String,
        path: String,
        status: u16,
        /// The start of the body, control characters and anything looking
        /// like a credential removed (see [`redact`]).
        body_excerpt: String,
    },
    /// 401 or 403: bad or insufficient credentials. Fatal: never retried.
    #[error("{api}: unauthorized (HTTP {status}): {message}")]
    Unauthorized {
        api: &'static str,
        status: u16,
        message: String,
    },
    /// 429 (after the retries allowed, if any).
    #[error("{api}: rate limited{}", retry_after_text(.retry_after))]
    RateLimited {
        api: &'static str,
        retry_after: Option<Duration>,
    },
    /// A success answer whose body is not what we expected (truncated or
    /// malformed JSON). For a write the change may have been made.
    #[error("{api}: cannot decode {what}: {detail}")]
    Decode {
        api: &'static str,
        what: String,
        detail: String,
    },
}

pub(super) fn retry_after_text(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(" (retry after {} s)", d.as_secs_f64()),
        None => String::new(),
    }
}

impl HttpError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } | HttpError::Unauthorized { status, .. } => {
                Some(*status)
            }
            HttpError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }
}

/// For a write: may the server have applied it although we got an error?
/// True for a timeout, a connection lost after sending, a 5xx, or a success
/// whose body we could not read. The sync engine then settles the write by
/// reading the board (the marker line) instead of writing again.
pub fn outcome_is_unknown(err: &HttpError) -> bool {
    match err {
        HttpError::Timeout { .. } | HttpError::Transport { .. } | HttpError::Decode { .. } => true,
        HttpError::Status { status, .. } => *status >= 500,
        HttpError::Invalid { .. }
        | HttpError::Connect { .. }
        | HttpError::Unauthorized { .. }
        | HttpError::RateLimited { .. } => false,
    }
}

/// Whether a request may be sent twice with the same effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent {
    /// Reads, and writes the caller made idempotent (a `PUT` with the full
    /// desired state): retried on timeouts, resets and 5xx.
    Yes,
    /// Writes that could happen twice (`POST` a card or a comment): only
    /// retried when the request was certainly not processed (connect error,
    /// 429).
    No,
}

/// Whether `err` may be retried for a request of this idempotency.
///
/// A [`HttpError::Decode`] is not: the request was answered, and only the
/// caller knows whether reading again is worth it (see
/// [`ApiClient::send_decoded`]).
pub(crate) fn is_retryable(err: &HttpError, idempotent: Idempotent) -> bool {
    match err {
        // Not sent, or refused before any processing.
        HttpError::Connect { .. } | HttpError::RateLimited { .. } => true,
        HttpError::Timeout { .. } | HttpError::Transport { .. } => idempotent == Idempotent::Yes,
        HttpError::Status { status, .. } => {
            idempotent == Idempotent::Yes && matches!(status, 500 | 502 | 503 | 504)
        }
        HttpError::Invalid { .. } | HttpError::Unauthorized { .. } | HttpError::Decode { .. } => {
            false
        }
    }
}

/// A decode error without any of the decoded data (serde messages may quote
/// values).
pub(crate) fn decode_error(api: &'static str, what: &str, e: &serde_json::Error) -> HttpError {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "unexpected JSON shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    HttpError::Decode {
        api,
        what: what.to_owned(),
        detail: format!("{kind} at line {} column {}", e.line(), e.column()),
    }
}
