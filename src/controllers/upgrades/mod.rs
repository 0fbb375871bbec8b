//! The upgrade coordinator at run time (seed 002; leader only): every ClusterUpgrade rolled
//! node by node as [`machine`] decides, its actions taken here (cordon with the
//! `orbdeck.io/cordoned-by` annotation, [`drain`], a NodeUpgrade per node for its agent,
//! uncordon and the `orbdeck.io/upgraded-to` label), then its status written and its Events
//! published. Progress lives only in the status and the nodes, so a new leader resumes it.
//! Its reports are `current/upgrades.yaml` and `current/nodes.yaml` ([`report`]).

pub mod drain;
pub mod machine;
pub mod report;
pub mod window;

use crate::controllers::runtime::{Context, events, status, watch};
use crate::model::{
    ClusterUpgrade, ClusterUpgradeStatus, NodeUpgrade, NodeUpgradePhase, NodeUpgradeSpec, selects,
};
use crate::wellknown::{CORDONED_BY_ANNOTATION, NODE_LABEL, UPGRADED_TO_LABEL};
use k8s_openapi::api::core::v1::Node;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use machine::{Action, AgentView, Inputs, NodeView};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The family's name: its metrics label.
pub const FAMILY: &str = "upgrades";
/// The node label of control-plane nodes.
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";
/// How often an upgrade under way is looked at again without a change (timeouts, windows).
const TICK: Duration = Duration::from_millis(500);
/// Steps of one upgrade in one pass at most (each one's actions done before the next).
const STEPS: usize = 8;

/// The name of the NodeUpgrade of `node` in `upgrade`.
pub fn node_upgrade_name(upgrade: &str, node: &str) -> String {
    format!("{upgrade}-{node}")
}

/// Runs the coordinator until the term ends; `report` holds the last pass's reports.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<report::Report>>>) {
    let kinds = [
        ("orbdeck.io/v1alpha1", "ClusterUpgrade"),
        ("orbdeck.io/v1alpha1", "NodeUpgrade"),
    ];
    if !ctx.served("upgrades", &kinds).await {
        return;
    }
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let upgrades = watch::store::<ClusterUpgrade>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let nodes = watch::store::<Node>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let agents = watch::store::<NodeUpgrade>(Api::all(client), &wake, &ctx.shutdown);
    for ready in [
        upgrades.wait_until_ready().await.is_ok(),
        nodes.wait_until_ready().await.is_ok(),
        agents.wait_until_ready().await.is_ok(),
    ] {
        if !ready {
            return;
        }
    }
    let mut coordinator = Coordinator {
        ctx: ctx.clone(),
        upgrades,
        nodes,
        agents,
        written: HashMap::new(),
        drains: HashMap::new(),
    };
    loop {
        let started = std::time::Instant::now();
        let (active, ok) = coordinator.pass().await;
        ctx.metrics.record_reconcile(FAMILY, started.elapsed(), ok);
        *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(coordinator.report());
        let wait = if active || !ok { TICK } else { ctx.resync };
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

struct Coordinator {
    ctx: Arc<Context>,
    upgrades: Store<ClusterUpgrade>,
    nodes: Store<Node>,
    agents: Store<NodeUpgrade>,
    /// The status last written per ClusterUpgrade uid: the cache may lag behind it.
    written: HashMap<String, ClusterUpgradeStatus>,
    /// Drains under way, by upgrade uid and node.
    drains: HashMap<(String, String), drain::Drain>,
}

impl Coordinator {
    /// One look at every upgrade; whether one is under way, and whether every write went through.
    async fn pass(&mut self) -> (bool, bool) {
        let (mut active, mut ok) = (false, true);
        for upgrade in self.upgrades.state() {
            let (a, o) = self.upgrade(&upgrade).await;
            active |= a;
            ok &= o;
        }
        let live: Vec<String> = self
            .upgrades
            .state()
            .iter()
            .filter_map(|u| u.metadata.uid.clone())
            .collect();
        self.written.retain(|uid, _| live.contains(uid));
        self.drains.retain(|(uid, _), _| live.contains(uid));
        (active, ok)
    }

    async fn upgrade(&mut self, upgrade: &ClusterUpgrade) -> (bool, bool) {
        let name = upgrade.metadata.name.clone().unwrap_or_default();
        let uid = upgrade.metadata.uid.clone().unwrap_or_default();
        for _ in 0..STEPS {
            let current = self
                .written
                .get(&uid)
                .cloned()
                .or_else(|| upgrade.status.clone())
                .unwrap_or_default();
            let nodes = self.node_views(upgrade, &name);
            let agents = self.agent_views(&name);
            let mut drains = BTreeMap::new();
            for p in current
                .nodes
                .iter()
                .filter(|p| p.phase == NodeUpgradePhase::Draining)
            {
                let d = self
                    .drains
                    .entry((uid.clone(), p.name.clone()))
                    .or_default();
                drain::round(&self.ctx.client, &p.name, &upgrade.spec.strategy, d).await;
                drains.insert(p.name.clone(), d.view.clone());
            }
            let now = jiff::Timestamp::now();
            let window_open = upgrade
                .spec
                .window
                .as_ref()
                .is_none_or(|w| window::is_open(w, now));
            let step = machine::step(&Inputs {
                spec: &upgrade.spec,
                status: &current,
                nodes: &nodes,
                agents: &agents,
                drains: &drains,
                now,
                window_open,
            });
            let changed = step.status != current;
            if !changed && step.actions.is_empty() {
                return (!current.phase.is_final(), true);
            }
            let mut events = Vec::new();
            for action in step.actions {
                match action {
                    Action::Event {
                        warning,
                        reason,
                        message,
                    } => events.push((warning, reason, message)),
                    other => {
                        if let Err(e) = self.act(upgrade, &name, &other).await {
                            tracing::warn!(upgrade = %name, action = ?other, error = %e, "upgrade step failed; retrying");
                            return (true, false);
                        }
                    }
                }
            }
            if changed {
                let api: Api<ClusterUpgrade> = Api::all(self.ctx.client.clone());
                let wanted = serde_json::to_value(&step.status).unwrap_or_default();
                let old = serde_json::to_value(&current).ok();
                if let Err(e) = status::apply(&api, &name, old, wanted).await {
                    tracing::warn!(upgrade = %name, error = %e, "writing the upgrade's status; retrying");
                    return (true, false);
                }
                self.log_change(&name, &current, &step.status);
                self.written.insert(uid.clone(), step.status.clone());
            }
            let reference = events::reference(upgrade);
            for (warning, reason, message) in events {
                self.ctx
                    .recorder
                    .step(&reference, warning, reason, "Upgrade", &message)
                    .await;
            }
            if step.status.phase.is_final() {
                return (false, true);
            }
        }
        (true, true)
    }

    fn log_change(&self, name: &str, old: &ClusterUpgradeStatus, new: &ClusterUpgradeStatus) {
        let message = new.message.as_deref().unwrap_or_default();
        if old.phase != new.phase || old.current_nodes != new.current_nodes {
            if matches!(new.phase, crate::model::ClusterUpgradePhase::Failed) {
                tracing::warn!(upgrade = %name, phase = ?new.phase, "{message}");
            } else {
                tracing::info!(upgrade = %name, phase = ?new.phase, nodes = ?new.current_nodes, "{message}");
            }
        }
    }

    fn node_views(&self, upgrade: &ClusterUpgrade, name: &str) -> Vec<NodeView> {
        let selector = upgrade.spec.strategy.node_selector.as_ref();
        self.nodes
            .state()
            .iter()
            .map(|n| {
                let labels = n.metadata.labels.clone().unwrap_or_default();
                let status = n.status.as_ref();
                NodeView {
                    name: n.metadata.name.clone().unwrap_or_default(),
                    control_plane: labels.contains_key(CONTROL_PLANE_LABEL),
                    version: status
                        .and_then(|s| s.node_info.as_ref())
                        .map(|i| i.kubelet_version.clone())
                        .unwrap_or_default(),
                    ready: status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                        c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                    }),
                    unschedulable: n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true),
                    cordoned_by_us: n
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(CORDONED_BY_ANNOTATION))
                        .is_some_and(|v| v == name),
                    selected: selector.is_none_or(|s| selects(s, &labels)),
                }
            })
            .collect()
    }

    fn agent_views(&self, name: &str) -> BTreeMap<String, AgentView> {
        self.agents
            .state()
            .iter()
            .filter(|u| u.spec.cluster_upgrade == name)
            .map(|u| {
                let s = u.status.clone().unwrap_or_default();
                let view = AgentView {
                    phase: s.phase,
                    message: s.message,
                    stderr_tail: s.stderr_tail,
                };
                (u.spec.node_name.clone(), view)
            })
            .collect()
    }

    async fn act(
        &self,
        upgrade: &ClusterUpgrade,
        name: &str,
        action: &Action,
    ) -> Result<(), kube::Error> {
        let nodes: Api<Node> = Api::all(self.ctx.client.clone());
        let params = PatchParams::default();
        match action {
            Action::Cordon(node) => {
                let patch = json!({
                    "metadata": {"annotations": {CORDONED_BY_ANNOTATION: name}},
                    "spec": {"unschedulable": true},
                });
                nodes.patch(node, &params, &Patch::Merge(&patch)).await?;
                tracing::info!(upgrade = %name, node = %node, "cordoned");
            }
            Action::CreateNodeUpgrade(node) => {
                let mut nu = NodeUpgrade::new(
                    &node_upgrade_name(name, node),
                    NodeUpgradeSpec {
                        node_name: node.clone(),
                        version: upgrade.spec.target_version.clone(),
                        cluster_upgrade: name.to_owned(),
                    },
                );
                nu.metadata.labels = Some([(NODE_LABEL.to_owned(), node.clone())].into());
                nu.metadata.owner_references = upgrade.controller_owner_ref(&()).map(|o| vec![o]);
                let api: Api<NodeUpgrade> = Api::all(self.ctx.client.clone());
                match api.create(&PostParams::default(), &nu).await {
                    Ok(_) => {
                        tracing::info!(upgrade = %name, node = %node, "NodeUpgrade created for the node's agent")
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(e),
                }
            }
            Action::Release {
                node,
                uncordon,
                label,
            } => {
                let mut patch = json!({"metadata": {}});
                if *uncordon {
                    patch["spec"] = json!({"unschedulable": false});
                    patch["metadata"]["annotations"] = json!({CORDONED_BY_ANNOTATION: null});
                }
                if let Some(v) = label {
                    patch["metadata"]["labels"] = json!({UPGRADED_TO_LABEL: v});
                }
                match nodes.patch(node, &params, &Patch::Merge(&patch)).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e),
                }
                if *uncordon {
                    tracing::info!(upgrade = %name, node = %node, "uncordoned");
                }
            }
            Action::Event { .. } => {}
        }
        Ok(())
    }

    fn report(&self) -> report::Report {
        let upgrades: Vec<(ClusterUpgrade, ClusterUpgradeStatus)> = self
            .upgrades
            .state()
            .iter()
            .map(|u| {
                let uid = u.metadata.uid.clone().unwrap_or_default();
                let status = self
                    .written
                    .get(&uid)
                    .cloned()
                    .or_else(|| u.status.clone())
                    .unwrap_or_default();
                (u.as_ref().clone(), status)
            })
            .collect();
        let nodes: Vec<Node> = self
            .nodes
            .state()
            .iter()
            .map(|n| n.as_ref().clone())
            .collect();
        report::build(&upgrades, &nodes)
    }
}
