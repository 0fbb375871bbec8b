//! `current/upgrades.yaml` (each ClusterUpgrade: phase, nodes in order with results and
//! durations, the drain blocker) and `current/nodes.yaml` (each node: version, ready,
//! cordoned, its last upgrade's result and duration), built from the coordinator's caches.

use super::CONTROL_PLANE_LABEL;
use crate::model::{ClusterUpgrade, ClusterUpgradeStatus, DrainBlocker, NodeUpgradePhase};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

/// Where the upgrades report is written in the ORB repo.
pub const UPGRADES_FILE: &str = "current/upgrades.yaml";
/// Where the nodes report is written in the ORB repo.
pub const NODES_FILE: &str = "current/nodes.yaml";

/// Both reports of the family.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// `current/upgrades.yaml`.
    pub upgrades: UpgradesReport,
    /// `current/nodes.yaml`.
    pub nodes: NodesReport,
}

/// `current/upgrades.yaml`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpgradesReport {
    /// One entry per ClusterUpgrade, by name.
    pub upgrades: Vec<UpgradeReport>,
}

/// One ClusterUpgrade as the coordinator sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeReport {
    /// Its name.
    pub name: String,
    /// The version it rolls to.
    pub target_version: String,
    /// Its phase.
    pub phase: String,
    /// Its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What holds a drain back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocker: Option<DrainBlocker>,
    /// Its nodes in upgrade order.
    pub nodes: Vec<NodeResult>,
}

/// One node's result within an upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeResult {
    /// Node name.
    pub name: String,
    /// Control-plane node.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control_plane: bool,
    /// Its phase.
    pub phase: String,
    /// Seconds from its start to its end, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `current/nodes.yaml`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodesReport {
    /// One entry per node, by name.
    pub nodes: Vec<NodeReport>,
}

/// One node as the coordinator sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    /// Node name.
    pub name: String,
    /// Kubelet version.
    pub version: String,
    /// Ready condition True.
    pub ready: bool,
    /// Unschedulable.
    pub cordoned: bool,
    /// Control-plane node.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control_plane: bool,
    /// Its last upgrade (started), when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_upgrade: Option<LastUpgrade>,
}

/// A node's last upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastUpgrade {
    /// The ClusterUpgrade.
    pub upgrade: String,
    /// Its result for this node (phase).
    pub result: String,
    /// Seconds it took, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
}

fn seconds(from: Option<&Time>, to: Option<&Time>) -> Option<i64> {
    Some(to?.0.as_second() - from?.0.as_second())
}

/// Both reports from the upgrades (each with its latest status) and the nodes.
pub fn build(upgrades: &[(ClusterUpgrade, ClusterUpgradeStatus)], nodes: &[Node]) -> Report {
    let mut up: Vec<UpgradeReport> = upgrades
        .iter()
        .map(|(u, s)| UpgradeReport {
            name: u.metadata.name.clone().unwrap_or_default(),
            target_version: u.spec.target_version.clone(),
            phase: format!("{:?}", s.phase),
            message: s.message.clone(),
            blocker: s.blocker.clone(),
            nodes: s
                .nodes
                .iter()
                .map(|p| NodeResult {
                    name: p.name.clone(),
                    control_plane: p.control_plane,
                    phase: format!("{:?}", p.phase),
                    duration_seconds: seconds(p.started_at.as_ref(), p.finished_at.as_ref()),
                    message: p.message.clone(),
                })
                .collect(),
        })
        .collect();
    up.sort_by(|a, b| a.name.cmp(&b.name));
    let mut ns: Vec<NodeReport> = nodes
        .iter()
        .map(|n| {
            let name = n.metadata.name.clone().unwrap_or_default();
            let status = n.status.as_ref();
            // The latest started upgrade of this node, of any ClusterUpgrade.
            let last = upgrades
                .iter()
                .filter_map(|(u, s)| {
                    let p = s
                        .nodes
                        .iter()
                        .find(|p| p.name == name && p.phase != NodeUpgradePhase::Pending)?;
                    Some((u, p))
                })
                .max_by_key(|(_, p)| p.started_at.as_ref().map(|t| t.0.as_second()));
            NodeReport {
                version: status
                    .and_then(|s| s.node_info.as_ref())
                    .map(|i| i.kubelet_version.clone())
                    .unwrap_or_default(),
                ready: status
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
                cordoned: n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true),
                control_plane: n
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(CONTROL_PLANE_LABEL)),
                last_upgrade: last.map(|(u, p)| LastUpgrade {
                    upgrade: u.metadata.name.clone().unwrap_or_default(),
                    result: format!("{:?}", p.phase),
                    duration_seconds: seconds(p.started_at.as_ref(), p.finished_at.as_ref()),
                }),
                name,
            }
        })
        .collect();
    ns.sort_by(|a, b| a.name.cmp(&b.name));
    Report {
        upgrades: UpgradesReport { upgrades: up },
        nodes: NodesReport { nodes: ns },
    }
}
