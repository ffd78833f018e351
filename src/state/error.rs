//! What can go wrong with the state store; every message names the
//! directory, or the tree and key, involved, and never a secret.

use std::path::PathBuf;

/// Everything that can go wrong with the state. Messages name the directory
/// or the tree and key involved, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "state directory {} is in use by another colisync process (is the daemon running?)",
        dir.display()
    )]
    InUse { dir: PathBuf },
    #[error(
        "state directory {} has schema version {found}, newer than the {supported} this colisync \
         understands: upgrade colisync, or point daemon.state_dir at another directory",
        dir.display()
    )]
    NewerSchema {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("state: migrating schema {from} to {}: {message}", from + 1)]
    Migration { from: u32, message: String },
    #[error("state: {context}: {source}")]
    Sled {
        context: String,
        #[source]
        source: sled::Error,
    },
    #[error("state: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state: cannot decode {tree}/{key}: {message}")]
    Decode {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error("state: cannot encode {tree}/{key}: {source}")]
    Encode {
        tree: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    /// Whether sled found its files corrupt: the caller should not retry but
    /// [`State::recover_from_corruption`].
    pub(crate) fn is_corruption(&self) -> bool {
        matches!(
            self,
            StateError::Sled {
                source: sled::Error::Corruption { .. },
                ..
            }
        )
    }
}
