//! Kubernetes upgrades: one ClusterUpgrade, coordinated as one NodeUpgrade per node.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a cluster upgrade: the target version and how to roll it out.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "ClusterUpgrade",
    status = "ClusterUpgradeStatus",
    doc = "Upgrades every node of the cluster to one Kubernetes version."
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterUpgradeSpec {
    /// Target Kubernetes version, e.g. `1.33.2`.
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+\.[0-9]+$"))]
    pub version: String,
    /// How nodes are rolled.
    #[serde(default)]
    pub strategy: UpgradeStrategy,
    /// Stop starting new nodes until unpaused.
    #[serde(default)]
    pub paused: bool,
    /// Stop for good, leaving upgraded nodes as they are.
    #[serde(default)]
    pub abort: bool,
}

/// How nodes are rolled during an upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UpgradeStrategy {
    /// Nodes upgraded at the same time.
    #[schemars(range(min = 1))]
    pub max_unavailable: u32,
    /// Seconds to wait for a node to drain before failing it.
    pub drain_timeout_seconds: u32,
}

impl Default for UpgradeStrategy {
    fn default() -> Self {
        Self {
            max_unavailable: 1,
            drain_timeout_seconds: 300,
        }
    }
}

/// Observed state of a cluster upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterUpgradeStatus {
    /// Where the upgrade stands.
    pub phase: ClusterUpgradePhase,
    /// Per-node progress.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeProgress>,
    /// Detail, e.g. why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a cluster upgrade stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ClusterUpgradePhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Nodes are being upgraded.
    Running,
    /// Paused by `spec.paused`.
    Paused,
    /// Every node runs the target version.
    Succeeded,
    /// A node failed to upgrade.
    Failed,
    /// Stopped by `spec.abort`.
    Aborted,
}

/// One node's progress within a cluster upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeProgress {
    /// Node name.
    pub name: String,
    /// Kubelet version before the upgrade.
    pub from_version: String,
    /// Kubelet version being upgraded to.
    pub to_version: String,
    /// Where the node's upgrade stands.
    pub phase: NodeUpgradePhase,
    /// Detail, e.g. why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Desired state of one node's upgrade, written by the coordinator for the node's agent.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "NodeUpgrade",
    status = "NodeUpgradeStatus",
    doc = "Upgrades one node; executed by the orbdeck agent running on that node."
)]
#[serde(rename_all = "camelCase")]
pub struct NodeUpgradeSpec {
    /// Node to upgrade.
    pub node_name: String,
    /// Target Kubernetes version.
    pub version: String,
    /// Name of the ClusterUpgrade this belongs to.
    pub cluster_upgrade: String,
}

/// Observed state of one node's upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeUpgradeStatus {
    /// Where the node's upgrade stands.
    pub phase: NodeUpgradePhase,
    /// Detail, e.g. why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Kubelet version the node reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubelet_version: Option<String>,
}

/// Where one node's upgrade stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum NodeUpgradePhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Marked unschedulable.
    Cordoned,
    /// Pods are being evicted.
    Draining,
    /// Kubelet and components are being replaced.
    Upgrading,
    /// Schedulable again.
    Uncordoned,
    /// Runs the target version.
    Succeeded,
    /// The upgrade failed.
    Failed,
}
