//! The ORB repository's `orb.yaml`: identity of the ORB and settings of its engine.

use super::string_map;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Contents of `orb.yaml`; every section but `name` may be left out.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrbFile {
    /// Always `orbdeck.io/v1alpha1`.
    pub api_version: OrbApiVersion,
    /// Always `Orb`.
    pub kind: OrbKind,
    /// Name of the ORB, used in the `orbdeck.io/orb` label.
    pub name: String,
    /// How to reach the cluster paired with the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterHint>,
    /// Engine loop settings.
    #[serde(default)]
    pub engine: EngineSettings,
    /// Encryption of secrets kept in the repository.
    #[serde(default)]
    pub secrets: SecretSettings,
    /// Defaults of the profiles controllers.
    #[serde(default)]
    pub profiles: ProfileSettings,
    /// The engine's admission webhooks.
    #[serde(default)]
    pub admission: AdmissionSettings,
}

/// The engine's admission webhooks (`/mutate/podsettings`, `/mutate/poddefaults`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AdmissionSettings {
    /// What the API server does when a webhook cannot be reached: `Ignore` (the default: the
    /// pod is admitted unchanged) or `Fail` (the pod is refused).
    pub failure_policy: FailurePolicy,
    /// Who applies PodDefaults: `orbdeck` (the default) or `kubeflow` (Kubeflow's own admission
    /// webhook is installed; orbdeck's stays out of its way).
    pub pod_defaults: PodDefaultsServer,
}

/// A webhook's failurePolicy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum FailurePolicy {
    /// Admit the pod unchanged.
    #[default]
    Ignore,
    /// Refuse the pod.
    Fail,
}

/// Which admission webhook applies PodDefaults.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PodDefaultsServer {
    /// orbdeck's `/mutate/poddefaults`.
    #[default]
    Orbdeck,
    /// Kubeflow's admission-webhook.
    Kubeflow,
}

/// The only API version of `orb.yaml`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OrbApiVersion {
    /// `orbdeck.io/v1alpha1`.
    #[serde(rename = "orbdeck.io/v1alpha1")]
    V1alpha1,
}

/// The only kind of `orb.yaml`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OrbKind {
    /// `Orb`.
    Orb,
}

/// Where the paired cluster is; used by the UI to pick a kubeconfig entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ClusterHint {
    /// API server URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Kubeconfig context name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// Timing and pruning of the engine loop.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct EngineSettings {
    /// How often desired state is fetched and applied, e.g. `30s`.
    pub interval: String,
    /// Shortest time between two commits of current state, e.g. `10s`.
    pub write_interval: String,
    /// Limits on deleting objects that left desired state.
    pub prune: PrunePolicy,
    /// How long a sync wave (`orbdeck.io/sync-wave`) may take to become healthy before the
    /// waves after it are reported failed, e.g. `5m`.
    pub sync_wave_timeout: String,
    /// Apply and prune nothing (the status says `Suspended`) until this is false again; the
    /// controllers keep reconciling what they own.
    pub suspend: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            interval: "30s".into(),
            write_interval: "10s".into(),
            prune: PrunePolicy::default(),
            sync_wave_timeout: "5m".into(),
            suspend: false,
        }
    }
}

/// Limits on deleting objects that left desired state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PrunePolicy {
    /// Largest fraction (0 to 1) of owned objects one sync may delete, when it deletes more than
    /// `minCount` of them.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_fraction: f64,
    /// Deletions up to this many always go through (a small ORB losing one Profile of three).
    pub min_count: u32,
    /// Delete even when more than `maxFraction` would go.
    pub allow_large: bool,
}

impl Default for PrunePolicy {
    fn default() -> Self {
        Self {
            max_fraction: 0.3,
            min_count: 10,
            allow_large: false,
        }
    }
}

/// Encryption of secrets kept in the repository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SecretSettings {
    /// age public keys (`age1...`) secrets are encrypted to.
    pub recipients: Vec<String>,
}

/// Defaults of the profiles controllers; a map given here replaces its default entirely.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ProfileSettings {
    /// Labels put on every profile namespace.
    pub namespace_labels: BTreeMap<String, String>,
    /// Groups granted access to every profile namespace.
    pub support_groups: Vec<String>,
    /// ResourceQuota `hard` limits used when a profile sets none.
    pub quota_defaults: BTreeMap<String, String>,
    /// LimitRange defaults for containers in profile namespaces.
    pub limit_range: LimitRangeDefaults,
    /// Where the ten network policies let traffic go.
    pub network_policies: super::NetworkPolicySettings,
    /// Identity header, gateway and paths of the Istio authorization policies.
    pub authorization: super::AuthorizationSettings,
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self {
            namespace_labels: string_map(&[
                ("istio-injection", "enabled"),
                ("katib.kubeflow.org/metrics-collector-injection", "enabled"),
                ("serving.kubeflow.org/inferenceservice", "enabled"),
                ("pipelines.kubeflow.org/enabled", "true"),
                ("app.kubernetes.io/part-of", "kubeflow-profile"),
            ]),
            support_groups: vec!["DAaas-AAW-Support".into()],
            quota_defaults: string_map(&[
                ("requests.cpu", "70"),
                ("limits.cpu", "70"),
                ("requests.memory", "368G"),
                ("limits.memory", "368G"),
                ("requests.storage", "100T"),
                ("requests.nvidia.com/gpu", "2"),
                ("pods", "100"),
                ("services.nodeports", "0"),
                ("services.loadbalancers", "0"),
            ]),
            limit_range: LimitRangeDefaults::default(),
            network_policies: Default::default(),
            authorization: Default::default(),
        }
    }
}

/// LimitRange defaults for containers in profile namespaces.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LimitRangeDefaults {
    /// Default CPU limit.
    pub default_cpu: String,
    /// Default memory limit.
    pub default_memory: String,
    /// Default CPU request.
    pub default_request_cpu: String,
    /// Default memory request.
    pub default_request_memory: String,
}

impl Default for LimitRangeDefaults {
    fn default() -> Self {
        Self {
            default_cpu: "250m".into(),
            default_memory: "256M".into(),
            default_request_cpu: "250m".into(),
            default_request_memory: "256M".into(),
        }
    }
}

impl OrbFile {
    /// Parses `orb.yaml`; the error names the line and column at fault.
    pub fn parse(text: &str) -> Result<OrbFile, String> {
        let orb: OrbFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let fraction = orb.engine.prune.max_fraction;
        if !(0.0..=1.0).contains(&fraction) {
            return Err(format!(
                "engine.prune.maxFraction: {fraction} is not between 0 and 1"
            ));
        }
        Ok(orb)
    }
}
