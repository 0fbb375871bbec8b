//! `orbdeck.io/v1alpha1 PodSetting`: team-level pod modifiers applied at admission.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSecurityContext, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, PodModifiers};

/// Desired state of a PodSetting: which pods of its team it selects and what it does to them.
///
/// The engine's `/mutate/podsettings` webhook applies it to pods created in the namespaces of
/// its team (label `orbdeck.io/team` equal to the PodSetting's namespace), and the pod-settings
/// family mirrors it into PodDefaults for Kubeflow's notebook form.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "PodSetting",
    namespaced,
    status = "PodSettingStatus",
    doc = "Team-level pod modifiers, applied by orbdeck's webhook and mirrored into PodDefaults."
)]
#[serde(rename_all = "camelCase")]
pub struct PodSettingSpec {
    /// Pods (by label) that receive the modifiers; an empty selector matches no pod.
    pub selector: LabelSelector,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub desc: String,
    /// Which containers get the container-level settings; absent means every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_selector: Option<ContainerSelector>,
    /// Image replacing the selected containers' image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Pull policy replacing the selected containers' one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Command replacing the selected containers' command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Arguments replacing the selected containers' arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Requests and limits merged into the selected containers' (these win, key by key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Pod security context merged into the pod's (these win, field by field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// Node selector merged into the pod's (these win, key by key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// What is added to selected pods.
    #[serde(flatten)]
    pub modifiers: PodModifiers,
}

/// Which containers of a pod a PodSetting's container-level settings apply to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSelector {
    /// Regular expression a container's name must match (anchored at both ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Every container (the default when no regex is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
}

/// What the engine reports of a PodSetting.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSettingStatus {
    /// Namespaces holding its PodDefault: the team's own and its members'.
    #[serde(default)]
    pub pod_defaults: u32,
    /// `Ready`: its PodDefaults are in place; otherwise why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
