//! The pass's span in the logs: every event of one daemon pass carries the
//! pass's id (`pass_span`), whichever format the binary set up (text or
//! JSON lines, see the `logging` module of the command line crate).

use chrono::{DateTime, Utc};

/// The id of a pass: its start instant, which no other pass of the daemon
/// shares (passes never overlap, and a tick comes at most once a second).
pub(crate) fn pass_id(started: DateTime<Utc>) -> String {
    started.format("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// The span every event of one daemon pass is logged in.
pub(crate) fn pass_span(started: DateTime<Utc>) -> tracing::Span {
    tracing::info_span!("pass", pass_id = %pass_id(started))
}
