//! Typed desired-state kinds (orbdeck's own and Kubeflow's) and the ORB's `orb.yaml`.

use std::sync::OnceLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

mod addons;
mod cluster;
mod orb;
mod poddefault;
mod podsetting;
mod profile;
mod profile_settings;
mod replication;
mod upgrade;

pub use addons::{
    AddonTemplate, AddonTemplateSpec, AddonTemplateStatus, Environment, EnvironmentSpec,
    EnvironmentStatus, EnvironmentTemplate,
};
pub use cluster::{
    ClusterLabel, ClusterLabelSpec, DEFAULT_PULL_ACCOUNT, InvalidKey, NODE_POOL_LABEL,
    NodePoolLabel, NodePoolLabelSpec, NodeUser, NodeUserSpec, NodeUserStatus, RegistryCredential,
    RegistryCredentialSpec, RegistryCredentialStatus, SecretKeyRef, check_ssh_key, server_problem,
};
pub use orb::{
    AdmissionSettings, ClusterHint, EngineSettings, FailurePolicy, LimitRangeDefaults,
    OrbApiVersion, OrbFile, OrbKind, PodDefaultsServer, ProfileSettings, PrunePolicy,
    SecretSettings,
};
pub use poddefault::{PodDefault, PodDefaultSpec, PodModifiers};
pub use podsetting::{ContainerSelector, PodSetting, PodSettingSpec, PodSettingStatus};
pub use profile::{Condition, OwnerKind, Profile, ProfileOwner, ProfileSpec, ProfileStatus};
pub use profile_settings::{
    AuthorizationSettings, BlockedOperation, NetworkPolicySettings, ServiceEndpoint,
};
pub use replication::{
    ImageReplication, ImageReplicationPolicy, ImageReplicationPolicySpec, ImageReplicationSpec,
    ImageReplicationStatus, ReplicationPhase, SwapPolicy, pattern_problem, target_problem,
};
pub use upgrade::{
    AgentRunPhase, ClusterUpgrade, ClusterUpgradePhase, ClusterUpgradeSpec, ClusterUpgradeStatus,
    DAYS, DrainBlocker, MaintenanceWindow, NodeProgress, NodeUpgrade, NodeUpgradePhase,
    NodeUpgradeSpec, NodeUpgradeStatus, UpgradeStrategy, parse_clock, parse_version, selects,
};

/// Every CRD of the model, sorted by name.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        AddonTemplate::crd(),
        ClusterLabel::crd(),
        ClusterUpgrade::crd(),
        Environment::crd(),
        ImageReplication::crd(),
        ImageReplicationPolicy::crd(),
        NodePoolLabel::crd(),
        NodeUpgrade::crd(),
        NodeUser::crd(),
        PodDefault::crd(),
        PodSetting::crd(),
        Profile::crd(),
        RegistryCredential::crd(),
    ];
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    crds
}

/// Every CRD as one multi-document YAML stream, in `crds()` order.
pub fn crds_yaml() -> String {
    let docs: Vec<Value> = crds()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("a CRD serializes to JSON"))
        .collect();
    serde_saphyr::to_string_multiple(&docs).expect("JSON values serialize to YAML")
}

/// The `openAPIV3Schema` of a kind this model defines, if it is one.
pub fn schema_for(api_version: &str, kind: &str) -> Option<&'static Value> {
    known_kind(api_version, kind).map(|k| &k.schema)
}

/// Whether a kind this model defines is namespaced; `None` for other kinds.
pub fn is_namespaced(api_version: &str, kind: &str) -> Option<bool> {
    known_kind(api_version, kind).map(|k| k.namespaced)
}

/// What `schema_for` and `is_namespaced` know about one served version of a kind.
struct KnownKind {
    api_version: String,
    kind: String,
    namespaced: bool,
    schema: Value,
}

/// Looks a kind up among the model's CRDs, computed once.
fn known_kind(api_version: &str, kind: &str) -> Option<&'static KnownKind> {
    static KINDS: OnceLock<Vec<KnownKind>> = OnceLock::new();
    KINDS
        .get_or_init(|| crds().into_iter().flat_map(known_versions).collect())
        .iter()
        .find(|k| k.api_version == api_version && k.kind == kind)
}

/// One `KnownKind` per version a CRD serves.
fn known_versions(crd: CustomResourceDefinition) -> Vec<KnownKind> {
    let spec = crd.spec;
    spec.versions
        .into_iter()
        .map(|version| KnownKind {
            api_version: format!("{}/{}", spec.group, version.name),
            kind: spec.names.kind.clone(),
            namespaced: spec.scope == "Namespaced",
            schema: version
                .schema
                .and_then(|s| s.open_api_v3_schema)
                .map(|s| serde_json::to_value(s).expect("a schema serializes to JSON"))
                .unwrap_or(Value::Null),
        })
        .collect()
}

/// An owned string map from pairs, for settings defaults and selectors.
pub(crate) fn string_map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
