//! Kubernetes upgrades: one ClusterUpgrade (desired version, strategy, maintenance window),
//! coordinated as one NodeUpgrade per node, which the node's agent executes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
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
    doc = "Upgrades every node of the cluster to one Kubernetes version.",
    printcolumn = r#"{"name":"Target","type":"string","jsonPath":".spec.targetVersion"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.message","priority":1}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterUpgradeSpec {
    /// Target Kubernetes version (semver, `v` prefix allowed), e.g. `1.33.2`.
    pub target_version: String,
    /// How nodes are rolled.
    #[serde(default)]
    pub strategy: UpgradeStrategy,
    /// When nodes may be started; absent means any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<MaintenanceWindow>,
    /// Start no new node until unpaused (the nodes under way finish).
    #[serde(default)]
    pub paused: bool,
    /// Stop at once, uncordoning what orbdeck cordoned; upgraded nodes stay as they are.
    #[serde(default)]
    pub abort: bool,
}

/// How nodes are rolled during an upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UpgradeStrategy {
    /// Worker nodes unavailable at the same time at most (nodes already unschedulable count).
    #[schemars(range(min = 1))]
    pub max_unavailable: u32,
    /// Seconds to wait for a node to drain before failing it.
    pub drain_timeout_seconds: u32,
    /// Seconds to wait for a node's agent and kubelet after its NodeUpgrade is created.
    pub node_timeout_seconds: u32,
    /// Nodes (by label) to upgrade; absent means every node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<LabelSelector>,
    /// Pods (by label) left in place when a node is drained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    /// Evict pods using emptyDir volumes (their data is lost); otherwise they block the drain.
    pub delete_empty_dir_data: bool,
}

impl Default for UpgradeStrategy {
    fn default() -> Self {
        Self {
            max_unavailable: 1,
            drain_timeout_seconds: 300,
            node_timeout_seconds: 900,
            node_selector: None,
            pod_selector: None,
            delete_empty_dir_data: false,
        }
    }
}

/// When an upgrade may start nodes: some days, from `start` to `end`, in one time zone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceWindow {
    /// Days the window opens (`Mon` .. `Sun`); empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// Opening time, `HH:MM` (24 h; `HH:MM:SS` also taken).
    pub start: String,
    /// Closing time, `HH:MM`; before `start` means the window ends the next day.
    pub end: String,
    /// IANA time zone of `start` and `end`, e.g. `Europe/Paris` (default `UTC`).
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".into()
}

/// Observed state of a cluster upgrade, written by the coordinator only; everything it needs to
/// resume after a restart or a failover is here.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterUpgradeStatus {
    /// Where the upgrade stands.
    pub phase: ClusterUpgradePhase,
    /// Nodes being upgraded now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub current_nodes: Vec<String>,
    /// Every node of the plan, in upgrade order (control plane first), with its progress.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeProgress>,
    /// When the first node was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the upgrade ended (succeeded, failed or aborted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<Time>,
    /// What holds a drain back, while one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocker: Option<DrainBlocker>,
    /// Detail, e.g. why it is refused or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a cluster upgrade stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ClusterUpgradePhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Outside its maintenance window.
    Waiting,
    /// Control-plane nodes are being upgraded, one at a time.
    UpgradingControlPlane,
    /// Worker nodes are being upgraded, at most `maxUnavailable` at once.
    UpgradingWorkers,
    /// Paused by `spec.paused`, no node under way.
    Paused,
    /// Every node runs the target version.
    Succeeded,
    /// Refused, or a node failed: nothing more is started.
    Failed,
    /// Stopped by `spec.abort`.
    Aborted,
}

impl ClusterUpgradePhase {
    /// Whether the upgrade is over (nothing will change it any more).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Aborted)
    }
}

/// A PodDisruptionBudget (or pod) holding a drain back.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainBlocker {
    /// The node being drained.
    pub node: String,
    /// The PodDisruptionBudget refusing evictions, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdb: Option<String>,
    /// The pods that cannot be evicted (`namespace/name`).
    #[serde(default)]
    pub pods: Vec<String>,
    /// What the API server said.
    #[serde(default)]
    pub message: String,
}

/// One node's progress within a cluster upgrade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeProgress {
    /// Node name.
    pub name: String,
    /// Whether it is a control-plane node (upgraded first, one at a time).
    #[serde(default)]
    pub control_plane: bool,
    /// Kubelet version before the upgrade.
    #[serde(default)]
    pub from_version: String,
    /// Where the node's upgrade stands.
    #[serde(default)]
    pub phase: NodeUpgradePhase,
    /// Whether orbdeck cordoned it (only then does it uncordon it).
    #[serde(default)]
    pub cordoned: bool,
    /// When the node was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When its NodeUpgrade was created (the drain was done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_started_at: Option<Time>,
    /// When it succeeded or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// Detail, e.g. why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where one node's upgrade stands, as the coordinator tracks it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum NodeUpgradePhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Marked unschedulable, about to drain.
    Cordoned,
    /// Pods are being evicted.
    Draining,
    /// Its NodeUpgrade is out: the agent replaces kubelet and components.
    Upgrading,
    /// Runs the target version, Ready and schedulable again.
    Succeeded,
    /// The upgrade failed; the node stays cordoned.
    Failed,
    /// Left as it was by an abort.
    Aborted,
}

impl NodeUpgradePhase {
    /// Whether the node is under way (cordoned, draining or upgrading).
    pub fn in_flight(self) -> bool {
        matches!(self, Self::Cordoned | Self::Draining | Self::Upgrading)
    }
}

/// Desired state of one node's upgrade, written by the coordinator for the node's agent.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "NodeUpgrade",
    status = "NodeUpgradeStatus",
    doc = "Upgrades one node; executed by the orbdeck agent running on that node.",
    printcolumn = r#"{"name":"Node","type":"string","jsonPath":".spec.nodeName"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
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

/// Observed state of one node's upgrade, written by the node's agent.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeUpgradeStatus {
    /// Where the agent's run stands.
    pub phase: AgentRunPhase,
    /// Detail, e.g. why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the agent started the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the command ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// The command's exit code, when it exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The last 4 KB of the command's standard output, sanitised.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stdout_tail: String,
    /// The last 4 KB of the command's standard error, sanitised.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
}

/// Where an agent's run of a NodeUpgrade stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AgentRunPhase {
    /// Not taken up yet.
    #[default]
    Pending,
    /// The command runs.
    Running,
    /// The command succeeded.
    Succeeded,
    /// The command failed, timed out, or was interrupted.
    Failed,
}

/// A Kubernetes version as semver, with or without its `v` prefix.
pub fn parse_version(text: &str) -> Result<semver::Version, String> {
    let bare = text.strip_prefix('v').unwrap_or(text);
    semver::Version::parse(bare).map_err(|e| format!("{text:?} is not a version like 1.32.0: {e}"))
}

/// Days of a [`MaintenanceWindow`], Monday first.
pub const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Seconds since midnight of an `HH:MM` (or `HH:MM:SS`) time.
pub fn parse_clock(text: &str) -> Result<u32, String> {
    let bad = || format!("{text:?} is not a time like 02:30 (HH:MM, 24 h)");
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let mut n = [0u32; 3];
    for (slot, p) in n.iter_mut().zip(&parts) {
        *slot = p.parse().map_err(|_| bad())?;
    }
    let [h, m, sec] = n;
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60 + sec)
}

impl MaintenanceWindow {
    /// The problems of this window, each with the field it is in (`days[1]`, `start`, ...).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, d) in self.days.iter().enumerate() {
            if !DAYS.contains(&d.as_str()) {
                out.push((
                    format!("days[{i}]"),
                    format!("{d:?} is not a day: expected one of {}", DAYS.join(", ")),
                ));
            }
        }
        for (field, v) in [("start", &self.start), ("end", &self.end)] {
            if let Err(e) = parse_clock(v) {
                out.push((field.into(), e));
            }
        }
        if parse_clock(&self.start).is_ok() && self.start == self.end {
            out.push(("end".into(), "the window is empty: end equals start".into()));
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            out.push((
                "timeZone".into(),
                format!(
                    "{:?} is not a known time zone (IANA names like Europe/Paris, or UTC)",
                    self.time_zone
                ),
            ));
        }
        out
    }
}

/// Whether `selector` (matchLabels and matchExpressions: In, NotIn, Exists, DoesNotExist)
/// selects an object with `labels`; an unknown operator selects nothing.
pub fn selects(
    selector: &LabelSelector,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    by_labels
        && selector.match_expressions.iter().flatten().all(|e| {
            let value = labels.get(&e.key);
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}
