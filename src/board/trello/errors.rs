//! The Trello client's errors, from Trello's plain-text (or JSON) answers;
//! Display and Debug never hold the key, the token or a URL.

use super::*;

/// Errors of the Trello client. Display and Debug never hold the key, the
/// token or a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrelloError {
    /// The list does not exist (any more): re-resolve lists by name.
    #[error("trello: unknown list {list_id}: {message}")]
    UnknownList { list_id: String, message: String },
    /// Bad key or token, or missing scopes. Fatal: fix the config.
    #[error("trello: unauthorized (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The board, card or other resource does not exist.
    #[error("trello: not found: {what}")]
    NotFound { what: String },
    /// Trello refused the request (malformed id, invalid value).
    #[error("trello: bad request on {what}: {message}")]
    BadRequest { what: String, message: String },
    /// Still rate limited after the retries allowed.
    #[error("trello: rate limited{}", .retry_after.map(|d| format!(" (retry after {} s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// The key or token cannot be put in a header (bad characters).
    #[error("trello: key or token contains characters not allowed in an HTTP header")]
    BadCredentials,
    /// The board listing cannot be complete (see [`TrelloClient::cards`]):
    /// better no listing than one with cards missing.
    #[error("trello: the board's cards cannot all be listed: {reason}")]
    Incomplete { reason: String },
    /// Anything else from the HTTP layer: timeouts, resets, 5xx, decoding.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl TrelloError {
    /// For a write: may Trello have applied it although we got this error?
    /// Then read the board before writing again.
    pub fn outcome_is_unknown(&self) -> bool {
        match self {
            TrelloError::Http(e) => http::outcome_is_unknown(e),
            _ => false,
        }
    }

    /// No point in going on with this configuration (bad credentials).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            TrelloError::Unauthorized { .. } | TrelloError::BadCredentials
        )
    }
}

/// Maps an HTTP-layer error to a Trello one, reading Trello's plain-text
/// messages. `list_id` is the list the request named, if any.
pub(super) fn map_error(e: HttpError, what: &str, list_id: Option<&str>) -> TrelloError {
    match e {
        HttpError::Unauthorized {
            status, message, ..
        } => TrelloError::Unauthorized {
            status,
            message: json_message(&message).unwrap_or(message),
        },
        HttpError::RateLimited { retry_after, .. } => TrelloError::RateLimited { retry_after },
        HttpError::Status {
            status,
            body_excerpt,
            ..
        } if status == 400 || status == 404 => {
            let message = json_message(&body_excerpt).unwrap_or(body_excerpt);
            let lower = message.to_ascii_lowercase();
            let unknown_list = lower.contains("invalid value for idlist")
                || lower.contains("could not find the board that the card belongs to");
            match (unknown_list, list_id, status) {
                (true, Some(id), _) => TrelloError::UnknownList {
                    list_id: id.to_owned(),
                    message,
                },
                (_, _, 404) => TrelloError::NotFound {
                    what: what.to_owned(),
                },
                _ => TrelloError::BadRequest {
                    what: what.to_owned(),
                    message,
                },
            }
        }
        other => TrelloError::Http(other),
    }
}

/// `{"message": "missing scopes"}` → `missing scopes`.
pub(super) fn json_message(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(v.get("message")?.as_str()?.to_owned())
}
