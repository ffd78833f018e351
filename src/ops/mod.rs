//! What an admin operates colisync with, around the pipeline rather than in
//! it: the pass's span in the logs ([`logging`]) and the online check of
//! the credentials ([`online`], `check-config --online`). The metrics are
//! the top-level `metrics` module, which the HTTP layer feeds.

pub mod logging;
pub mod online;
