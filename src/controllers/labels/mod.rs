//! The labels family at run time (seed 002's cluster and node-pool label controllers): the
//! labels of every ClusterLabel on every node, and of every NodePoolLabel on the nodes of its
//! pool, applied by server-side apply under the family's own field manager and never forced, so
//! removing an object removes only the labels orbdeck set, and a label someone else set to
//! another value is left alone and reported as a conflict (in `current/labels.yaml` and as a
//! Warning Event on the object that wants it). Each pass computes every node's labels
//! ([`desired`]) from watched caches of nodes (with their `managedFields`) and the two kinds; a
//! new node wakes a pass at once. A converged cluster costs no API request.

pub mod desired;

use crate::apply::{api_error, apply_unread};
use crate::controllers::Warning;
use crate::controllers::runtime::{Context, events, watch};
use crate::model::{ClusterLabel, NodePoolLabel};
use desired::{Conflict, NodePlan};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, PatchParams};
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The family's name: its metrics label.
pub const FAMILY: &str = "labels";

/// Field manager of the family's node labels.
pub const FIELD_MANAGER: &str = "orbdeck-labels";

/// Where the family's report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/labels.yaml";

/// `current/labels.yaml`: every ClusterLabel and NodePoolLabel as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Each ClusterLabel and NodePoolLabel with the nodes carrying its labels.
    pub objects: Vec<ObjectReport>,
    /// Labels left alone because someone else set them to another value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// Node writes of the last pass that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One ClusterLabel or NodePoolLabel.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    /// `ClusterLabel` or `NodePoolLabel`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// A NodePoolLabel's pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Nodes carrying at least one of its labels as it wants them.
    pub nodes: usize,
    /// Why some of its labels are not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Runs the family until the term ends; `report` holds the last pass's report.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<Report>>>) {
    let kinds = [
        ("orbdeck.io/v1alpha1", "ClusterLabel"),
        ("orbdeck.io/v1alpha1", "NodePoolLabel"),
    ];
    if !ctx.served("labels", &kinds).await {
        return;
    }
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let nodes =
        watch::store_with_managed_fields::<Node>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let cluster = watch::store::<ClusterLabel>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let pools = watch::store::<NodePoolLabel>(Api::all(client), &wake, &ctx.shutdown);
    let pass_ctx = ctx.clone();
    watch::passes(ctx, FAMILY, wake, move || {
        let ctx = pass_ctx.clone();
        let (nodes, cluster, pools) = (nodes.clone(), cluster.clone(), pools.clone());
        let report = report.clone();
        async move {
            let (ok, r) = pass(&ctx, &nodes, &cluster, &pools).await;
            *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            ok
        }
    })
    .await;
}

/// One pass: write the nodes that need it, then the report and Events.
async fn pass(
    ctx: &Context,
    nodes: &Store<Node>,
    cluster: &Store<ClusterLabel>,
    pools: &Store<NodePoolLabel>,
) -> (bool, Report) {
    let (cluster, pools) = (cluster.state(), pools.state());
    let mut wanted = desired::desired(FIELD_MANAGER, &nodes.state(), &cluster, &pools);
    let mut errors = Vec::new();
    for plan in &mut wanted.nodes {
        if let Err(e) = write(ctx, plan).await {
            errors.push(e);
        }
    }
    for e in &errors {
        tracing::warn!(error = %e, "labels");
    }
    let conflicts: Vec<Conflict> = wanted
        .nodes
        .iter()
        .flat_map(|p| p.conflicts.iter().cloned())
        .collect();
    let mut report = Report {
        conflicts: conflicts.clone(),
        errors: errors.clone(),
        ..Default::default()
    };
    let sources = cluster
        .iter()
        .map(|c| (events::reference(c.as_ref()), None))
        .chain(
            pools
                .iter()
                .map(|p| (events::reference(p.as_ref()), Some(p.spec.pool.clone()))),
        );
    for (reference, pool) in sources {
        let kind = reference.kind.clone().unwrap_or_default();
        let name = reference.name.clone().unwrap_or_default();
        let source = format!("{kind}/{name}");
        let mut warnings: Vec<Warning> = wanted.warnings.remove(&source).unwrap_or_default();
        for c in conflicts.iter().filter(|c| c.source == source) {
            warnings.push(Warning::new("LabelConflict", c.message()));
        }
        // Once per distinct set of warnings (Events and log): a converged cluster gets none.
        if ctx.recorder.warn(&reference, &warnings).await {
            for w in &warnings {
                tracing::warn!(object = %source, reason = %w.reason, "labels: {}", w.message);
            }
        }
        let nodes = wanted
            .nodes
            .iter()
            .filter(|p| p.labels.values().any(|(_, s)| *s == source))
            .count();
        report.objects.push(ObjectReport {
            kind,
            name,
            pool,
            nodes,
            warnings: warnings.into_iter().map(|w| w.message).collect(),
        });
    }
    (errors.is_empty(), report)
}

/// Applies a node's labels when it needs it, without force: keys the API server says someone
/// else owns become conflicts and the rest is applied again.
async fn write(ctx: &Context, plan: &mut NodePlan) -> Result<(), String> {
    let Some(body) = plan.write.take() else {
        return Ok(());
    };
    let api: Api<Node> = Api::all(ctx.client.clone());
    let params = PatchParams::apply(FIELD_MANAGER);
    let mut body = body;
    for _ in 0..2 {
        let object: DynamicObject =
            serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
        match apply_unread(&api, None, &plan.name, &params, &object).await {
            Ok(()) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let keys: BTreeSet<String> = plan.labels.keys().cloned().collect();
                let taken = desired::conflicting_keys(&s.message, &keys);
                if taken.is_empty() {
                    return Err(format!("node {}: {}", plan.name, s.message));
                }
                for key in taken {
                    if let Some((wanted, source)) = plan.labels.remove(&key) {
                        plan.conflicts.push(Conflict {
                            node: plan.name.clone(),
                            key,
                            wanted,
                            value: String::new(),
                            managers: Vec::new(),
                            source,
                        });
                    }
                }
                body = desired::body(&plan.name, &plan.labels);
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(format!("node {}: {}", plan.name, api_error(&e))),
        }
    }
    Err(format!("node {}: conflicting labels", plan.name))
}
