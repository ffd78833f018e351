//! When the retry loop tries again: the backoff policy ([`RetryPolicy`])
//! and the server's own `Retry-After`.

use std::time::Duration;

use backon::ExponentialBuilder;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Backoff settings. Bounded in attempts and in total time so that a pass
/// finishes even when an API is down.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    /// Retries after the first attempt.
    pub(crate) max_retries: usize,
    /// No retry starts once this much time has passed since the first
    /// attempt (Retry-After included).
    pub(crate) max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(15),
            max_retries: 4,
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Tiny delays for tests: same logic, milliseconds instead of seconds.
    /// Not in the shipped binary (`test-hooks`).
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn fast() -> Self {
        RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            max_retries: 3,
            max_total: Duration::from_secs(5),
        }
    }

    /// No retry at all (tests; `test-hooks`).
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::fast()
        }
    }

    pub(super) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

/// Retry-After in seconds (the HTTP-date form is not used by these APIs;
/// it is ignored and the default pause applies).
pub(super) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = v.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}
