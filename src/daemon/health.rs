//! `/healthz` and `/metrics` for the daemon, served on `daemon.listen`.
//!
//! What `/healthz` says is kept in one [`Health`] shared by the loop and the
//! HTTP handlers; `/metrics` is the process's registry
//! (`metrics`), which [`Health::record_pass`] feeds too.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::pass::PassReport;

/// What the daemon knows about itself.
#[derive(Debug, Default)]
pub(crate) struct HealthState {
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) passes_ok: u64,
    pub(crate) passes_failed: u64,
    pub(crate) last_pass_end: Option<DateTime<Utc>>,
    pub(crate) last_pass_seconds: f64,
    /// `None` until the first pass ends.
    pub(crate) last_pass_ok: Option<bool>,
    /// Problems listed by the last pass's failures (first few), for /healthz.
    pub(crate) last_errors: Vec<String>,
    pub(crate) next_pass: Option<DateTime<Utc>>,
    /// When the pass in progress started, if one is.
    pub(crate) pass_started: Option<std::time::Instant>,
}

/// Shared handle; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<HealthState>>);

impl Health {
    pub fn record_pass(&self, report: &PassReport, seconds: f64, end: DateTime<Utc>) {
        let mut h = self.lock();
        if report.is_success() {
            h.passes_ok += 1;
        } else {
            h.passes_failed += 1;
        }
        h.last_pass_end = Some(end);
        h.last_pass_seconds = seconds;
        h.last_pass_ok = Some(report.is_success());
        h.last_errors = report.all_errors().into_iter().take(5).collect();
        drop(h);
        let figures = crate::metrics::PassFigures {
            ok: report.is_success(),
            findings: &report.findings,
            writes: report.writes_by_action(),
            parcels_polled: report.parcels_polled,
            undecodable_orders: report.undecodable_orders,
        };
        crate::metrics::global().record_pass(&figures, seconds, end);
    }

    pub(crate) fn set_next_pass(&self, at: Option<DateTime<Utc>>) {
        self.lock().next_pass = at;
    }

    pub(crate) fn set_pass_running(&self, since: Option<std::time::Instant>) {
        self.lock().pass_started = since;
    }

    /// How long the pass in progress has run, if one is.
    pub(crate) fn pass_running_for(&self) -> Option<std::time::Duration> {
        self.lock().pass_started.map(|t| t.elapsed())
    }

    pub(crate) fn set_started(&self, at: DateTime<Utc>) {
        self.lock().started_at = Some(at);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HealthState> {
        // A panic while holding the lock leaves plain counters: still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The metrics exposition (OpenMetrics text).
    pub(crate) fn render_metrics(&self) -> String {
        crate::metrics::global().encode()
    }

    /// `/healthz`: 200 while the last pass succeeded (or none ran yet), 503
    /// with the first errors when it failed.
    pub fn render_health(&self) -> (StatusCode, String) {
        let h = self.lock();
        let failed = h.last_pass_ok == Some(false);
        let body = serde_json::json!({
            "status": if failed { "degraded" } else { "ok" },
            "started_at": h.started_at.map(|t| t.to_rfc3339()),
            "last_pass_end": h.last_pass_end.map(|t| t.to_rfc3339()),
            "next_pass": h.next_pass.map(|t| t.to_rfc3339()),
            "last_errors": h.last_errors,
        });
        let code = if failed {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        (code, body.to_string())
    }
}

async fn healthz(State(h): State<Health>) -> impl IntoResponse {
    let (code, body) = h.render_health();
    (code, [(header::CONTENT_TYPE, "application/json")], body)
}

async fn metrics(State(h): State<Health>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        h.render_metrics(),
    )
}

/// [`serve`] on a socket bound earlier (the daemon binds `daemon.listen`
/// before it opens the state, so that a port in use is refused first).
/// Needs a tokio runtime; the listener must be non-blocking.
pub(crate) fn serve_listener(
    listener: std::net::TcpListener,
    health: Health,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(health);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "health endpoint stopped");
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_orders_show_as_a_gauge_until_fixed() {
        let health = Health::default();
        let now = Utc::now();
        let bad = PassReport {
            undecodable_orders: 2,
            ..PassReport::default()
        };
        health.record_pass(&bad, 0.1, now);
        assert!(
            health
                .render_metrics()
                .lines()
                .any(|l| l == "colisync_undecodable_orders 2")
        );
        health.record_pass(&PassReport::default(), 0.1, now);
        assert!(
            health
                .render_metrics()
                .lines()
                .any(|l| l == "colisync_undecodable_orders 0")
        );
    }
}
