//! Image replication: policies naming a target registry, and one object per copied image.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an image replication policy: where matching images are copied to.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "ImageReplicationPolicy",
    doc = "Copies images used in the cluster that match its rules to a target registry."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageReplicationPolicySpec {
    /// Registry (host and optional path prefix) receiving the copies.
    pub target_registry: String,
    /// Name of the Secret holding credentials for the target registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_secret: Option<String>,
    /// Which image references are replicated.
    #[serde(default)]
    pub rules: Vec<ReplicationRule>,
    /// Copy attempts per image before giving up.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1))]
    pub max_attempts: u32,
}

/// One rule selecting image references to replicate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationRule {
    /// Glob over image references, e.g. `docker.io/library/*`.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Namespaces whose pods count; absent means all namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
}

/// Desired state of one image copy, created from a policy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "ImageReplication",
    namespaced,
    status = "ImageReplicationStatus",
    doc = "One image being copied from its source to the policy's target registry."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageReplicationSpec {
    /// Image reference copied from.
    pub source: String,
    /// Image reference copied to.
    pub destination: String,
    /// Name of the ImageReplicationPolicy that asked for the copy.
    pub policy: String,
}

/// Observed state of one image copy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageReplicationStatus {
    /// Where the copy stands.
    pub phase: ReplicationPhase,
    /// Copy attempts made so far.
    pub attempts: u32,
    /// Detail of the last attempt, e.g. the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Digest of the copied image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When the last attempt started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<Time>,
}

/// Where an image copy stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ReplicationPhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Being copied.
    Copying,
    /// Copied.
    Succeeded,
    /// Gave up after the policy's attempts.
    Failed,
}

/// Default number of copy attempts per image.
fn default_max_attempts() -> u32 {
    3
}
