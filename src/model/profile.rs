//! `kubeflow.org/v1 Profile`: a user's or group's namespace, as Kubeflow defines it.

use k8s_openapi::api::core::v1::ResourceQuotaSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Desired state of a Kubeflow profile: who owns it, its quota and its plugins.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "kubeflow.org",
    version = "v1",
    kind = "Profile",
    status = "ProfileStatus",
    doc = "A Kubeflow profile: one namespace owned by a user or group."
)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSpec {
    /// The user or group that owns the profile's namespace.
    pub owner: ProfileOwner,
    /// Plugins (WorkloadIdentity, AwsIamForServiceAccount, ...) kept exactly as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserved_objects")]
    pub plugins: Option<Vec<Map<String, Value>>>,
    /// ResourceQuota to create in the profile's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_quota_spec: Option<ResourceQuotaSpec>,
}

/// The RBAC subject owning a profile.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileOwner {
    /// Whether the owner is a user or a group.
    pub kind: OwnerKind,
    /// The user's or group's name, e.g. an email address.
    pub name: String,
    /// RBAC API group of the subject, normally `rbac.authorization.k8s.io`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
}

/// Kind of RBAC subject that may own a profile.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OwnerKind {
    /// A single user.
    User,
    /// A group of users.
    Group,
}

/// Observed state of a profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileStatus {
    /// Conditions reported by the profile controller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One observed condition of a profile.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason for the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// Schema of a list of objects whose fields are kept as-is (not pruned).
fn preserved_objects(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "nullable": true,
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}
