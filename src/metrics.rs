//! The daemon's Prometheus metrics, kept in one process-wide registry of
//! the `prometheus-client` crate and served on `/metrics`
//! (`daemon::health`).
//!
//! One registry per process, like the Prometheus clients' default
//! registries: the HTTP layer counts every request of the three clients
//! wherever they were built, without a handle threaded through each
//! constructor. Labels are bounded: a rule, an action, a service, a status
//! class, a card kind — never an order or a tracking number — so a shop
//! with a million orders has as many series as one with ten. Every label
//! value colisync can produce is created at start, so that a series reads
//! 0 before its first event instead of being absent (an alert on
//! `rate(...)` needs the series to exist).
//!
//! The exposition is OpenMetrics text (`# EOF` terminated, counters with
//! the `_total` suffix), which Prometheus scrapes natively.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::RuleId;

/// What a finished pass says, as the metrics count it (the daemon fills it
/// from the pass's report, so that this sink knows no stage).
#[derive(Debug)]
pub(crate) struct PassFigures<'a> {
    pub(crate) ok: bool,
    /// Findings by rule id (`RuleId::as_str`).
    pub(crate) findings: &'a std::collections::BTreeMap<&'static str, u64>,
    /// Trello writes by action.
    pub(crate) writes: Vec<(&'static str, u64)>,
    pub(crate) parcels_polled: usize,
    pub(crate) undecodable_orders: usize,
}

/// The content type of [`Metrics::encode`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The APIs colisync calls, as `http::ApiSettings::name` spells them.
pub(crate) const SERVICES: [&str; 3] = ["magento", "laposte", "trello"];
/// Status classes of an answer; `error` is no answer (connect, timeout,
/// reset).
pub(crate) const STATUS_CLASSES: [&str; 5] = ["2xx", "3xx", "4xx", "5xx", "error"];
/// Trello writes, as `PassReport::writes_by_action` names them.
pub(crate) const ACTIONS: [&str; 5] = ["create", "update", "reopen", "resolve", "comment"];
/// Open cards by the kind of problem (the word before `_` in a rule's
/// name); `adopted` for a card adopted without a rule.
pub(crate) const CARD_KINDS: [&str; 7] = [
    "shipping", "delivery", "tracking", "return", "pickup", "case", "adopted",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabel {
    rule: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    service: &'static str,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

/// Every series colisync exports.
pub struct Metrics {
    registry: Registry,
    passes: Family<Outcome, Counter>,
    pass_duration: Histogram,
    findings: Family<RuleLabel, Gauge>,
    open_cards: Family<KindLabel, Gauge>,
    trello_writes: Family<ActionLabel, Counter>,
    api_requests: Family<RequestLabels, Counter>,
    rate_limited: Family<ServiceLabel, Counter>,
    rate_limit_wait: Family<ServiceLabel, FloatCounter>,
    numbers_polled: Counter,
    undecodable: Gauge,
    last_success: Gauge,
    last_pass_end: Gauge,
    last_pass_duration: FloatGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process's metrics.
pub(crate) fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The class of an HTTP status (`4xx`), `error` for none.
pub(crate) fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        _ => "error",
    }
}

/// The kind of card a rule files (its name's first word).
pub(crate) fn card_kind(rule: Option<RuleId>) -> &'static str {
    let Some(rule) = rule else {
        return "adopted";
    };
    if rule.is_case() {
        return "case";
    }
    let name = rule.as_str();
    CARD_KINDS
        .iter()
        .copied()
        .find(|k| name.starts_with(k))
        .unwrap_or("adopted")
}

/// Interns a service name coming from the HTTP layer into the fixed set,
/// so that a label value can never be anything else.
fn service(name: &str) -> &'static str {
    SERVICES
        .iter()
        .copied()
        .find(|s| *s == name)
        .unwrap_or("other")
}

impl Metrics {
    /// A fresh registry (the process uses [`global`]; tests may build their own).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("colisync");
        let m = Metrics {
            passes: Family::default(),
            // 1 s to ~34 min: a quiet pass takes seconds, a first pass over a
            // large board tens of minutes at Trello's rate.
            pass_duration: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            findings: Family::default(),
            open_cards: Family::default(),
            trello_writes: Family::default(),
            api_requests: Family::default(),
            rate_limited: Family::default(),
            rate_limit_wait: Family::default(),
            numbers_polled: Counter::default(),
            undecodable: Gauge::default(),
            last_success: Gauge::default(),
            last_pass_end: Gauge::default(),
            last_pass_duration: FloatGauge::default(),
            registry: Registry::default(),
        };
        registry.register("passes", "Passes run, by outcome", m.passes.clone());
        registry.register(
            "pass_duration_seconds",
            "Duration of each pass",
            m.pass_duration.clone(),
        );
        registry.register(
            "findings",
            "Problems found by the last pass, by rule",
            m.findings.clone(),
        );
        registry.register(
            "open_cards",
            "Cards colisync keeps open, by kind of problem",
            m.open_cards.clone(),
        );
        registry.register(
            "trello_writes",
            "Trello writes, by action",
            m.trello_writes.clone(),
        );
        registry.register(
            "api_requests",
            "HTTP requests sent, by service and status class of the answer",
            m.api_requests.clone(),
        );
        registry.register(
            "api_rate_limited",
            "429 answers received, by service",
            m.rate_limited.clone(),
        );
        registry.register(
            "api_rate_limit_wait_seconds",
            "Time requests waited on a rate limit (the client's own or a server's pause), by service",
            m.rate_limit_wait.clone(),
        );
        registry.register(
            "laposte_numbers_polled",
            "Tracking numbers polled at La Poste",
            m.numbers_polled.clone(),
        );
        registry.register(
            "undecodable_orders",
            "Magento records the last pass could not decode",
            m.undecodable.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "End of the last successful pass (Unix time; 0 before the first)",
            m.last_success.clone(),
        );
        registry.register(
            "last_pass_end_timestamp_seconds",
            "End of the last pass, successful or not (Unix time)",
            m.last_pass_end.clone(),
        );
        registry.register(
            "last_pass_duration_seconds",
            "Duration of the last pass",
            m.last_pass_duration.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "colisync's version (always 1)", build);

        for outcome in ["ok", "failed"] {
            let _ = m.passes.get_or_create(&Outcome { outcome });
        }
        for rule in RuleId::ALL {
            let _ = m.findings.get_or_create(&RuleLabel {
                rule: rule.as_str(),
            });
        }
        for kind in CARD_KINDS {
            let _ = m.open_cards.get_or_create(&KindLabel { kind });
        }
        for action in ACTIONS {
            let _ = m.trello_writes.get_or_create(&ActionLabel { action });
        }
        for service in SERVICES {
            for class in STATUS_CLASSES {
                let _ = m
                    .api_requests
                    .get_or_create(&RequestLabels { service, class });
            }
            let _ = m.rate_limited.get_or_create(&ServiceLabel { service });
            let _ = m.rate_limit_wait.get_or_create(&ServiceLabel { service });
        }
        Metrics { registry, ..m }
    }

    /// One answer (or none: `status` `None`) of `api`.
    pub(crate) fn api_request(&self, api: &str, status: Option<u16>) {
        let service = service(api);
        self.api_requests
            .get_or_create(&RequestLabels {
                service,
                class: status_class(status),
            })
            .inc();
        if status == Some(429) {
            self.rate_limited
                .get_or_create(&ServiceLabel { service })
                .inc();
        }
    }

    /// Time a request of `api` waited before it could be sent.
    pub(crate) fn rate_limit_wait(&self, api: &str, waited: Duration) {
        if waited.is_zero() {
            return;
        }
        self.rate_limit_wait
            .get_or_create(&ServiceLabel {
                service: service(api),
            })
            .inc_by(waited.as_secs_f64());
    }

    /// What a finished pass says.
    pub(crate) fn record_pass(&self, pass: &PassFigures<'_>, seconds: f64, end: DateTime<Utc>) {
        let ok = pass.ok;
        self.passes
            .get_or_create(&Outcome {
                outcome: if ok { "ok" } else { "failed" },
            })
            .inc();
        self.pass_duration.observe(seconds);
        self.last_pass_duration.set(seconds);
        self.last_pass_end.set(end.timestamp());
        if ok {
            self.last_success.set(end.timestamp());
        }
        for rule in RuleId::ALL {
            let n = pass.findings.get(rule.as_str()).copied().unwrap_or(0);
            self.findings
                .get_or_create(&RuleLabel {
                    rule: rule.as_str(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for &(action, n) in &pass.writes {
            if let Some(action) = ACTIONS.iter().copied().find(|a| *a == action) {
                self.trello_writes
                    .get_or_create(&ActionLabel { action })
                    .inc_by(n);
            }
        }
        self.numbers_polled.inc_by(pass.parcels_polled as u64);
        self.undecodable
            .set(i64::try_from(pass.undecodable_orders).unwrap_or(i64::MAX));
    }

    /// The open cards, given by the rule that filed each (`None`: adopted).
    pub(crate) fn record_open_cards(&self, open: impl IntoIterator<Item = Option<RuleId>>) {
        let mut counts = [0i64; CARD_KINDS.len()];
        for rule in open {
            let kind = card_kind(rule);
            if let Some(i) = CARD_KINDS.iter().position(|k| *k == kind) {
                counts[i] += 1;
            }
        }
        for (kind, n) in CARD_KINDS.iter().zip(counts) {
            self.open_cards.get_or_create(&KindLabel { kind }).set(n);
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_exists_before_its_first_event() {
        let m = Metrics::new();
        let text = m.encode();
        for line in [
            "colisync_passes_total{outcome=\"failed\"} 0",
            "colisync_api_rate_limited_total{service=\"trello\"} 0",
            "colisync_open_cards{kind=\"return\"} 0",
            "colisync_build_info{version=\"0.1.0\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn status_classes_and_kinds_are_bounded() {
        assert_eq!(status_class(Some(429)), "4xx");
        assert_eq!(status_class(Some(204)), "2xx");
        assert_eq!(status_class(None), "error");
        assert_eq!(card_kind(None), "adopted");
        for rule in RuleId::ALL {
            assert_ne!(card_kind(Some(rule)), "adopted", "{rule:?}");
        }
        let m = Metrics::new();
        m.api_request("somewhere", Some(200));
        assert!(m.encode().contains("service=\"other\""));
    }
}
