//! `kubeflow.org/v1alpha1 PodDefault`: modifiers Kubeflow's webhook applies to matching pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, Toleration, Volume, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a PodDefault: which pods it selects and what it adds to them.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kubeflow.org",
    version = "v1alpha1",
    kind = "PodDefault",
    namespaced,
    doc = "A Kubeflow PodDefault: extra settings injected into pods whose labels match."
)]
#[serde(rename_all = "camelCase")]
pub struct PodDefaultSpec {
    /// Pods (by label) that receive the modifiers.
    pub selector: LabelSelector,
    /// Description shown in Kubeflow's notebook form.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub desc: String,
    /// What is added to selected pods.
    #[serde(flatten)]
    pub modifiers: PodModifiers,
}

/// Settings merged into a pod: shared by PodDefault and PodSetting.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodModifiers {
    /// Environment variables added to every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Environment sources added to every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<Vec<EnvFromSource>>,
    /// Volumes added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Volume mounts added to every container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// Annotations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Tolerations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Service account the pod runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Whether the service account token is mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
}
