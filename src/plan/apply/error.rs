//! The errors apply passes on: the board writer's and the state's, kept
//! whole ([`Cause`]), and what stops apply ([`ApplyFatal`]).

use std::sync::Arc;

use crate::state::StateError;

/// An error apply passes on without reading it: the board writer's or the
/// state's, kept whole (its type, for whoever asks, and its own text, which
/// names its service), so that nothing is prefixed twice or filed under the
/// wrong service. Two causes are equal when they say the same.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    pub(crate) fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(e))
    }

    /// The original error, when it is an `E`.
    pub(crate) fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

/// A cause known only by its text (test writers, a scrubbed error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Text(String);

impl From<String> for Cause {
    fn from(text: String) -> Self {
        Cause::new(Text(text))
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Self {
        Cause::from(text.to_owned())
    }
}

/// What stopped apply: the board (bad credentials) or the state (it could
/// not be read or written). Each says it in its own words, once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyFatal {
    #[error("{0}")]
    Board(Cause),
    #[error("{doing}{error}")]
    State { doing: &'static str, error: Cause },
}

impl ApplyFatal {
    pub(crate) fn state(e: StateError) -> Self {
        ApplyFatal::State {
            doing: "",
            error: Cause::new(e),
        }
    }

    /// The state's error, when the state is what failed.
    pub fn state_error(&self) -> Option<&StateError> {
        match self {
            ApplyFatal::State { error, .. } => error.downcast_ref::<StateError>(),
            ApplyFatal::Board(_) => None,
        }
    }
}
