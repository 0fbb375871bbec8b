//! Add-ons: per-namespace manifest templates and orchestrated runner environments.

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
    /// Multi-document YAML; `{{namespace}}` and `{{owner}}` are replaced per namespace (in an
    /// environment template: `{{replId}}`, `{{namespace}}` and `{{language}}` per Environment).
    pub manifests: String,
    /// Set on a template of runner Environments (see [`EnvironmentTemplate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentTemplate>,
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

/// What makes an AddonTemplate a template of runner [`Environment`]s: the languages it serves.
/// Such a template is not stamped into namespaces by the add-ons family; its `namespaceSelector`
/// says in which namespaces Environments may use it (`{}`: every namespace).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentTemplate {
    /// The languages (an Environment's `language`, e.g. `nodejs`, `python`) it serves.
    pub languages: Vec<String>,
}

/// Desired state of a runner environment (seed 003's orchestrated runner pod).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "Environment",
    namespaced,
    status = "EnvironmentStatus",
    printcolumn = r#"{"name":"Repl","type":"string","jsonPath":".spec.replId"}"#,
    printcolumn = r#"{"name":"Language","type":"string","jsonPath":".spec.language"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Host","type":"string","jsonPath":".status.host"}"#,
    doc = "A runner environment: a Deployment, Service and Ingress rendered from the \
           AddonTemplate serving its language, named by its replId."
)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSpec {
    /// The project's id: the name of the Deployment, Service and Ingress (a DNS-1123 label of at
    /// most 53 characters), put wherever the template says `{{replId}}`.
    pub repl_id: String,
    /// The language: selects the AddonTemplate whose `environment.languages` holds it.
    pub language: String,
    /// The AddonTemplate to use by name, when several serve the language (it must serve it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Environment variables added to every container of the runner pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

/// What the engine reports of an Environment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentStatus {
    /// The AddonTemplate it is rendered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The runner pod's phase (`Pending`, `Running`, ...); `NoPod` before the pod exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The runner pod's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The host of its Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `Ready`: rendered, applied, and the runner pod is Running; otherwise why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
