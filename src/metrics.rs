//! What the process counts for operators: request latencies, ingestion,
//! figure reloads, the result cache, the store, scheduled reports and
//! object-store commits, served at `/metrics` in the OpenMetrics text
//! format (which Prometheus scrapes).
//!
//! One set per process ([`metrics`]), as a logger is: the modules that do
//! the work record into it, and only the server reads it. Labels take few
//! values each (routes from the route table, not raw paths), so no caller
//! can grow the set.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// A request's route (as in the route table; `unmatched` for any other
/// path), method and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

/// What became of a scheduled report run or a delivery.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Everything counted; see the module docs.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Histogram>,
    pub ingest_pending: Gauge,
    pub flushes: Histogram,
    pub flushed_events: Counter,
    pub reloads: Histogram,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub cache_bytes: Gauge,
    pub store_events: Gauge,
    pub store_bytes: Gauge,
    pub report_runs: Family<OutcomeLabels, Counter>,
    pub deliveries: Family<OutcomeLabels, Counter>,
    pub alert_notices: Family<OutcomeLabels, Counter>,
    pub commits: Family<OutcomeLabels, Counter>,
    pub commit_seconds: Histogram,
}

/// Seconds, from a millisecond to a minute.
fn latency() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("uptake");
        let requests =
            Family::<RequestLabels, Histogram>::new_with_constructor(latency as fn() -> _);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP requests by route, method and status",
            Unit::Seconds,
            requests.clone(),
        );
        let ingest_pending = Gauge::default();
        registry.register(
            "ingest_pending_events",
            "Events acknowledged and not yet in the store (the ingestion queue)",
            ingest_pending.clone(),
        );
        let flushes = latency();
        registry.register_with_unit(
            "ingest_flush_duration",
            "Flushes of acknowledged events into the store",
            Unit::Seconds,
            flushes.clone(),
        );
        let flushed_events = Counter::default();
        registry.register(
            "ingest_flushed_events",
            "Events flushed into the store",
            flushed_events.clone(),
        );
        let reloads = latency();
        registry.register_with_unit(
            "figures_reload_duration",
            "Opening the figures of newly committed events",
            Unit::Seconds,
            reloads.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Requests answered from the result cache",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Requests whose figures were computed",
            cache_misses.clone(),
        );
        let cache_bytes = Gauge::default();
        registry.register_with_unit(
            "cache_size",
            "Memory the result cache holds, roughly",
            Unit::Bytes,
            cache_bytes.clone(),
        );
        let store_events = Gauge::default();
        registry.register("store_events", "Events in the store", store_events.clone());
        let store_bytes = Gauge::default();
        registry.register_with_unit(
            "store_size",
            "Bytes of the stored event and rollup files",
            Unit::Bytes,
            store_bytes.clone(),
        );
        let report_runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "report_runs",
            "Scheduled report runs by outcome",
            report_runs.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "report_deliveries",
            "Deliveries of scheduled reports (mail, webhook) by outcome",
            deliveries.clone(),
        );
        let alert_notices = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "alert_notices",
            "Notices of alerts by kind (fired, resolved)",
            alert_notices.clone(),
        );
        let commits = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "object_store_commits",
            "Commits to a data directory in object storage by outcome",
            commits.clone(),
        );
        let commit_seconds = latency();
        registry.register_with_unit(
            "object_store_commit_duration",
            "Commits to a data directory in object storage",
            Unit::Seconds,
            commit_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            ingest_pending,
            flushes,
            flushed_events,
            reloads,
            cache_hits,
            cache_misses,
            cache_bytes,
            store_events,
            store_bytes,
            report_runs,
            deliveries,
            alert_notices,
            commits,
            commit_seconds,
        }
    }

    /// Records one request.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            route: route.to_string(),
            method: method.to_string(),
            status,
        };
        self.requests
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts one outcome in a family of outcomes.
    pub fn count(family: &Family<OutcomeLabels, Counter>, outcome: &'static str) {
        family.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// The content type of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_each_metric_with_its_unit_and_labels() {
        let m = metrics();
        m.request("/api/v1/kpi", "GET", 200, Duration::from_millis(12));
        Metrics::count(&m.report_runs, "delivered");
        let text = m.encode();
        for expected in [
            "# TYPE uptake_http_request_duration_seconds histogram",
            "uptake_http_request_duration_seconds_bucket{le=\"0.025\",route=\"/api/v1/kpi\",method=\"GET\",status=\"200\"} 1",
            "# TYPE uptake_report_runs counter",
            "uptake_report_runs_total{outcome=\"delivered\"}",
            "# EOF",
        ] {
            assert!(text.contains(expected), "{expected} missing in:\n{text}");
        }
    }
}
