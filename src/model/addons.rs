//! Add-ons: per-namespace manifest templates and orchestrated runner environments.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;

use super::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an add-on template: manifests stamped into each matching namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "AddonTemplate",
    status = "AddonTemplateStatus",
    doc = "Manifests applied to every namespace a selector matches."
)]
#[serde(rename_all = "camelCase")]
pub struct AddonTemplateSpec {
    /// Namespaces (by label) that receive the add-on.
    pub namespace_selector: LabelSelector,
    /// Multi-document YAML; `{{namespace}}` and `{{owner}}` are replaced per namespace.
    pub manifests: String,
}

/// What the engine reports of an AddonTemplate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddonTemplateStatus {
    /// Namespaces the template is rendered into.
    #[serde(default)]
    pub namespaces: u32,
    /// Objects rendered, over every namespace.
    #[serde(default)]
    pub objects: u32,
    /// `Ready`: every rendered object is applied; otherwise why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Desired state of a runner environment.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "Environment",
    namespaced,
    doc = "An orchestrated set of runners sharing one image and configuration."
)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSpec {
    /// Runner container image.
    pub image: String,
    /// Number of runners.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// Environment variables of the runner container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Labels added to the runner pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Default number of runners.
fn default_replicas() -> u32 {
    1
}
