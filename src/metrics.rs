//! The engine's metrics (sync runs, controller reconciles and their durations, API writes), shared
//! by the sync loop and the controllers and rendered in the OpenMetrics text format (`orbdeck_`
//! prefix) by the engine's `/metrics`, on `prometheus-client`: labelled families and real
//! histograms. A leaf: it knows nothing of who counts.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of the per-controller families.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

/// Label of the last synced commit.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommitLabel {
    commit: String,
}

/// Reconcile durations from 1 ms to about 33 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The engine's metrics. Every method takes `&self`; share it as `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ControllerLabel, Counter>,
    reconcile_errors: Family<ControllerLabel, Counter>,
    reconcile_duration: Family<ControllerLabel, Histogram, fn() -> Histogram>,
    queue_depth: Gauge,
    last_commit: Family<CommitLabel, Gauge>,
    last_commit_value: Mutex<Option<String>>,
    syncs: Counter,
    sync_errors: Counter,
    api_writes: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every family registered, no samples yet.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("orbdeck");
        let reconciles = Family::<ControllerLabel, Counter>::default();
        let reconcile_errors = Family::<ControllerLabel, Counter>::default();
        let reconcile_duration =
            Family::<ControllerLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        let queue_depth = Gauge::default();
        let last_commit = Family::<CommitLabel, Gauge>::default();
        let syncs = Counter::default();
        let sync_errors = Counter::default();
        let api_writes = Counter::default();
        registry.register(
            "reconciles",
            "Reconciles run, by controller",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by controller",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent reconciling, by controller",
            reconcile_duration.clone(),
        );
        registry.register(
            "queue_depth",
            "Objects waiting to be reconciled again after a failure",
            queue_depth.clone(),
        );
        registry.register(
            "last_synced_commit_info",
            "The commit of the last successful sync (label commit)",
            last_commit.clone(),
        );
        registry.register("syncs", "Syncs run", syncs.clone());
        registry.register("sync_errors", "Syncs that failed", sync_errors.clone());
        registry.register(
            "api_writes",
            "Writes sent to the API server by syncs",
            api_writes.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            queue_depth,
            last_commit,
            last_commit_value: Mutex::new(None),
            syncs,
            sync_errors,
            api_writes,
        }
    }

    /// Records one reconcile of `controller` that took `duration`, failed or not.
    pub fn record_reconcile(&self, controller: &str, duration: Duration, ok: bool) {
        let label = ControllerLabel {
            controller: controller.to_owned(),
        };
        self.reconciles.get_or_create(&label).inc();
        let errors = self.reconcile_errors.get_or_create(&label);
        if !ok {
            errors.inc();
        }
        self.reconcile_duration
            .get_or_create(&label)
            .observe(duration.as_secs_f64());
    }

    /// Sets the number of objects waiting to be reconciled again.
    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Records a finished sync of `commit`; a successful one becomes the last synced commit.
    pub fn record_sync(&self, commit: &str, ok: bool) {
        self.syncs.inc();
        if !ok {
            self.sync_errors.inc();
            return;
        }
        let mut last = self
            .last_commit_value
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.as_deref() != Some(commit) {
            self.last_commit.clear();
            let label = CommitLabel {
                commit: commit.to_owned(),
            };
            self.last_commit.get_or_create(&label).set(1);
            *last = Some(commit.to_owned());
        }
    }

    /// Adds `count` writes (create, patch, update, delete) sent to the API server.
    pub fn record_api_writes(&self, count: u64) {
        self.api_writes.inc_by(count);
    }

    /// The metrics in the OpenMetrics text format ([`CONTENT_TYPE`]), ending in `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
