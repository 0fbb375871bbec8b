//! The engine's counters and gauges (sync runs, controller reconciles, API requests), shared by
//! the sync loop and the controllers and rendered in the Prometheus text exposition format
//! (`orbdeck_` prefix) by the engine's `/metrics`. A leaf: it knows nothing of who counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Per-controller reconcile figures.
#[derive(Clone, Copy, Debug, Default)]
struct ControllerStats {
    reconciles: u64,
    errors: u64,
    duration_sum: f64,
    duration_count: u64,
}

/// The engine's counters and gauges, shared by the sync loop and the controllers and rendered by
/// `/metrics`. Every method takes `&self`; share it as `Arc<Metrics>`.
#[derive(Debug, Default)]
pub struct Metrics {
    controllers: Mutex<BTreeMap<String, ControllerStats>>,
    queue_depth: AtomicU64,
    last_commit: Mutex<Option<String>>,
    syncs: AtomicU64,
    sync_errors: AtomicU64,
    api_writes: AtomicU64,
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Records one reconcile of `controller` that took `duration`, failed or not.
    pub fn record_reconcile(&self, controller: &str, duration: Duration, ok: bool) {
        let mut map = self.controllers.lock().unwrap_or_else(|e| e.into_inner());
        let stats = map.entry(controller.to_owned()).or_default();
        stats.reconciles += 1;
        if !ok {
            stats.errors += 1;
        }
        stats.duration_sum += duration.as_secs_f64();
        stats.duration_count += 1;
    }

    /// Sets the number of objects waiting to be reconciled.
    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth
            .store(u64::try_from(depth).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Records a finished sync of `commit`; a successful one becomes the last synced commit.
    pub fn record_sync(&self, commit: &str, ok: bool) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        if ok {
            *self.last_commit.lock().unwrap_or_else(|e| e.into_inner()) = Some(commit.to_owned());
        } else {
            self.sync_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds `count` writes (create, patch, update, delete) sent to the API server.
    pub fn record_api_writes(&self, count: u64) {
        self.api_writes.fetch_add(count, Ordering::Relaxed);
    }

    /// The metrics in Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let controllers = self
            .controllers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut out = String::new();
        let name = "orbdeck_reconciles_total";
        header(&mut out, name, "counter", "Reconciles run, by controller.");
        for (controller, stats) in &controllers {
            sample(&mut out, name, controller, stats.reconciles);
        }
        let name = "orbdeck_reconcile_errors_total";
        header(
            &mut out,
            name,
            "counter",
            "Reconciles that failed, by controller.",
        );
        for (controller, stats) in &controllers {
            sample(&mut out, name, controller, stats.errors);
        }
        let name = "orbdeck_reconcile_duration_seconds";
        header(
            &mut out,
            name,
            "summary",
            "Time spent reconciling, by controller.",
        );
        for (controller, stats) in &controllers {
            sample(
                &mut out,
                &format!("{name}_sum"),
                controller,
                stats.duration_sum,
            );
            sample(
                &mut out,
                &format!("{name}_count"),
                controller,
                stats.duration_count,
            );
        }
        header(
            &mut out,
            "orbdeck_queue_depth",
            "gauge",
            "Objects waiting to be reconciled.",
        );
        let _ = writeln!(
            out,
            "orbdeck_queue_depth {}",
            self.queue_depth.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "orbdeck_last_synced_commit_info",
            "gauge",
            "The commit of the last successful sync (label commit).",
        );
        if let Some(commit) = self
            .last_commit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
        {
            let _ = writeln!(
                out,
                "orbdeck_last_synced_commit_info{{commit=\"{}\"}} 1",
                escape(commit)
            );
        }
        for (name, help, counter) in [
            ("orbdeck_syncs_total", "Syncs run.", &self.syncs),
            (
                "orbdeck_sync_errors_total",
                "Syncs that failed.",
                &self.sync_errors,
            ),
            (
                "orbdeck_api_writes_total",
                "Writes sent to the API server.",
                &self.api_writes,
            ),
        ] {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample labelled with its controller.
fn sample(out: &mut String, name: &str, controller: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "{name}{{controller=\"{}\"}} {value}",
        escape(controller)
    );
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
