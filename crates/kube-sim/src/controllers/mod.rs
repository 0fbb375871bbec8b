//! The sim's own control plane: namespace finalization, garbage collection, workload controllers,
//! scheduler and kubelet. One loop per cluster runs a pass whenever relevant objects change.

mod gc;
mod kubelet;
mod workloads;

use super::cluster::Cluster;
use super::object::now;
use super::resources::ResourceType;
use super::store::{EventType, Inner};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Creates the namespaces every cluster starts with and the configured nodes.
pub fn ensure_defaults(c: &Cluster) {
    c.store.write(|s| {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            if s.get("namespaces", "", ns).is_none() {
                let obj = json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(),
                        "creationTimestamp": now(), "labels": {"kubernetes.io/metadata.name": ns}},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
                s.put("namespaces", obj);
            }
        }
        let (roles, bindings) = crate::auth::bootstrap::objects();
        for (key, objects) in [
            (crate::auth::rbac::KEYS[1], roles),
            (crate::auth::rbac::KEYS[3], bindings),
        ] {
            for mut obj in objects {
                if s.get(key, "", crate::object::name(&obj)).is_none() {
                    obj["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
                    obj["metadata"]["creationTimestamp"] = json!(now());
                    s.put(key, obj);
                }
            }
        }
        let existing = s.count("nodes");
        for i in existing..c.options.nodes {
            let name = format!("{}-node-{}", c.name, i + 1);
            s.put(
                "nodes",
                kubelet::new_node(&name, i, &c.options.kubelet_version),
            );
        }
    });
}

/// State the controllers keep between passes (what is not in the store).
#[derive(Default)]
pub struct Memory {
    /// When each pod (by uid) was bound or started, for the kubelet's delays.
    pub since: HashMap<String, Instant>,
    /// The earliest time a pass has something timed to do.
    pub next_due: Option<Instant>,
}

impl Memory {
    /// Asks for a pass no later than `at`.
    pub fn due(&mut self, at: Instant) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }
}

const WATCHED: &[&str] = &[
    "pods",
    "nodes",
    "namespaces",
    "deployments.apps",
    "replicasets.apps",
    "daemonsets.apps",
    "statefulsets.apps",
    "jobs.batch",
    "poddisruptionbudgets.policy",
];

/// Starts the control loop of a cluster.
pub fn spawn(c: Arc<Cluster>, stop: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(run(c, stop))]
}

async fn run(c: Arc<Cluster>, stop: CancellationToken) {
    let mut changed = c.store.subscribe();
    let mut memory = Memory::default();
    let mut seen = 0u64;
    loop {
        let (relevant, collect, namespaces, rv) = {
            let s = c.store.read();
            let relevant = s.touched_since(seen, WATCHED);
            let namespaces = s.touched_since(seen, &["namespaces"]);
            let collect = s.any_since(seen, |e| {
                e.etype == EventType::Deleted
                    || memchr::memmem::find(&e.object, b"deletionTimestamp").is_some()
            });
            (relevant, collect, namespaces, s.rv)
        };
        let due = memory.next_due.is_some_and(|d| Instant::now() >= d);
        let since = seen;
        seen = rv;
        if relevant || due || collect {
            // A pass that is not the due one keeps the timer: the namespaces waiting for their
            // grace period are only looked at by passes that collect garbage.
            if due {
                memory.next_due = None;
            }
            // Garbage collection reads every object: only after deletions (and timed passes),
            // never for each create, or creating n namespaces would cost n^2.
            if collect || due {
                gc::namespaces(&c, &mut memory);
                gc::namespace_defaults(&c, None);
                gc::collect(&c);
            } else if namespaces {
                gc::namespace_defaults(&c, Some(since));
            }
            workloads::pass(&c, &mut memory).await;
            kubelet::pass(&c, &mut memory);
            pdb_status(&c);
        }
        let wait = memory
            .next_due
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = stop.cancelled() => return,
            r = changed.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
        // Let bursts of writes settle into one pass.
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// Writes `status` into an object when it differs; returns whether it wrote.
pub fn set_status(s: &mut Inner, rt: &ResourceType, mut obj: Value, status: Value) -> bool {
    if obj["status"] == status {
        return false;
    }
    obj["status"] = status;
    super::write::store(s, rt, obj);
    true
}

fn pdb_status(c: &Cluster) {
    c.store.write(|s| {
        let Some(rt) = s.type_of_key("poddisruptionbudgets.policy") else {
            return;
        };
        for pdb in s.list_values("poddisruptionbudgets.policy", None) {
            let status = super::eviction::pdb_status(s, &pdb);
            set_status(s, &rt, pdb, status);
        }
    });
}
