//! Draining a node as `kubectl drain` does: its pods evicted through the Eviction API (so
//! PodDisruptionBudgets hold), DaemonSet and mirror pods and the strategy's podSelector left in
//! place, pods with emptyDir data only with `deleteEmptyDirData`; a 429 is retried with backoff
//! and reported with the PodDisruptionBudget that refused it.

use super::machine::DrainView;
use crate::model::{DrainBlocker, UpgradeStrategy, selects};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, EvictParams, ListParams};
use std::time::{Duration, Instant};

/// How long one eviction may be retried (429) within a round.
const EVICTION_WAIT: Duration = Duration::from_secs(2);

/// The annotation of a static pod's mirror.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// One node's drain between rounds: its last view and when the next round may run.
#[derive(Clone, Debug)]
pub struct Drain {
    /// What the last round found.
    pub view: DrainView,
    next: Instant,
    backoff: Duration,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            view: DrainView {
                left: 1,
                blocker: None,
            },
            next: Instant::now(),
            backoff: Duration::ZERO,
        }
    }
}

/// Whether the drain leaves `pod` in place.
fn skipped(pod: &Pod, strategy: &UpgradeStrategy) -> bool {
    let meta = &pod.metadata;
    let mirror = meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_ANNOTATION));
    let daemon = meta
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet" && o.controller == Some(true));
    let kept = strategy
        .pod_selector
        .as_ref()
        .is_some_and(|s| selects(s, meta.labels.as_ref().unwrap_or(&Default::default())));
    mirror || daemon || kept
}

fn uses_empty_dir(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some()))
}

fn id(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Runs one eviction round on `node` unless its backoff has not passed; updates `drain`.
pub async fn round(
    client: &kube::Client,
    node: &str,
    strategy: &UpgradeStrategy,
    drain: &mut Drain,
) {
    if Instant::now() < drain.next {
        return;
    }
    let pods: Api<Pod> = Api::all(client.clone());
    let listed = match pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
    {
        Ok(l) => l.items,
        Err(e) => {
            tracing::warn!(node, error = %e, "drain: listing the node's pods; retrying");
            backoff(drain);
            return;
        }
    };
    let mut left = 0;
    let mut refused: Vec<&Pod> = Vec::new();
    let mut empty_dir: Vec<String> = Vec::new();
    for pod in listed.iter().filter(|p| !skipped(p, strategy)) {
        left += 1;
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if uses_empty_dir(pod) && !strategy.delete_empty_dir_data {
            empty_dir.push(id(pod));
            continue;
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        // kube's client retries a 429 itself, with backoff, for minutes: a refusal is what
        // outlasts EVICTION_WAIT.
        match tokio::time::timeout(EVICTION_WAIT, api.evict(name, &EvictParams::default())).await {
            Ok(Ok(_)) => {}
            Ok(Err(kube::Error::Api(s))) if s.code == 404 => left -= 1,
            Err(_) => refused.push(pod),
            Ok(Err(kube::Error::Api(s))) if s.code == 429 => refused.push(pod),
            Ok(Err(e)) => {
                tracing::warn!(node, pod = %id(pod), error = %e, "drain: evicting");
                refused.push(pod);
            }
        }
    }
    let blocker = if let Some(first) = refused.first() {
        Some(pdb_blocker(client, node, first, &refused).await)
    } else if !empty_dir.is_empty() {
        Some(DrainBlocker {
            node: node.to_owned(),
            pdb: None,
            message: format!(
                "pods {} use emptyDir data; set strategy.deleteEmptyDirData to evict them",
                empty_dir.join(", ")
            ),
            pods: empty_dir,
        })
    } else {
        None
    };
    if blocker.is_some() {
        backoff(drain);
    } else {
        drain.backoff = Duration::ZERO;
        drain.next = Instant::now();
    }
    if blocker.is_some() && blocker != drain.view.blocker {
        let m = blocker
            .as_ref()
            .map(|b| b.message.clone())
            .unwrap_or_default();
        tracing::warn!(node, "drain held back: {m}; retrying with backoff");
    }
    drain.view = DrainView { left, blocker };
}

fn backoff(drain: &mut Drain) {
    drain.backoff = (drain.backoff * 2).clamp(Duration::from_millis(500), Duration::from_secs(5));
    drain.next = Instant::now() + drain.backoff;
}

/// The blocker of refused evictions: the PodDisruptionBudget selecting the first refused pod.
async fn pdb_blocker(
    client: &kube::Client,
    node: &str,
    first: &Pod,
    refused: &[&Pod],
) -> DrainBlocker {
    let ns = first.metadata.namespace.as_deref().unwrap_or_default();
    let labels = first.metadata.labels.clone().unwrap_or_default();
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), ns);
    let pdb = pdbs.list(&ListParams::default()).await.ok().and_then(|l| {
        l.items.into_iter().find(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|s| selects(s, &labels))
        })
    });
    let pods: Vec<String> = refused.iter().map(|p| id(p)).collect();
    let (pdb_name, why) = match &pdb {
        Some(p) => {
            let name = format!("{ns}/{}", p.metadata.name.as_deref().unwrap_or_default());
            let st = p.status.as_ref();
            let why = format!(
                "PodDisruptionBudget {name} allows no disruption (healthy {}, needs {}): pods {} cannot be evicted",
                st.and_then(|s| s.current_healthy).unwrap_or(0),
                st.and_then(|s| s.desired_healthy).unwrap_or(0),
                pods.join(", ")
            );
            (Some(name), why)
        }
        None => (None, format!("pods {} cannot be evicted", pods.join(", "))),
    };
    DrainBlocker {
        node: node.to_owned(),
        pdb: pdb_name,
        pods,
        message: why,
    }
}
