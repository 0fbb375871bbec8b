//! `orbdeck.io/v1alpha1 PodSetting`: team-level pod modifiers applied at admission.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, PodModifiers};

/// Desired state of a PodSetting: which pods it selects and what it adds to them.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
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
    /// Pods (by label) that receive the modifiers.
    pub selector: LabelSelector,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub desc: String,
    /// What is added to selected pods.
    #[serde(flatten)]
    pub modifiers: PodModifiers,
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
