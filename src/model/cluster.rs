//! Cluster-wide settings: registry credentials, cluster and node-pool labels, node users.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a registry credential: pull secrets distributed to namespaces.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "RegistryCredential",
    namespaced,
    doc = "Credentials for one container registry, copied as pull secrets into target namespaces."
)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredentialSpec {
    /// Registry host, e.g. `registry.example.com:5000`.
    pub registry: String,
    /// Secret key holding the username.
    pub username_secret_ref: SecretKeyRef,
    /// Secret key holding the password or token.
    pub password_secret_ref: SecretKeyRef,
    /// Namespaces that receive the pull secret; absent means only this object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespaces: Option<LabelSelector>,
}

/// A key within a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key within the Secret's data.
    pub key: String,
}

/// Desired state of a cluster label set.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "ClusterLabel",
    doc = "Labels describing the cluster, also applied to selected namespaces."
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterLabelSpec {
    /// Labels to apply.
    pub labels: BTreeMap<String, String>,
    /// Namespaces that also get the labels; absent means the cluster only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

/// Desired state of a node pool's labels and taints.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "NodePoolLabel",
    doc = "Labels and taints kept on every node a selector matches."
)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolLabelSpec {
    /// Nodes (by label) forming the pool.
    pub node_selector: LabelSelector,
    /// Labels to keep on the pool's nodes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Taints to keep on the pool's nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

/// Desired state of a login account on nodes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "NodeUser",
    doc = "A Unix account with SSH keys, kept on nodes by the orbdeck agent."
)]
#[serde(rename_all = "camelCase")]
pub struct NodeUserSpec {
    /// Unix user name.
    pub username: String,
    /// Authorized SSH public keys, one `authorized_keys` line each.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// Nodes (by label) that get the account; absent means every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<LabelSelector>,
    /// Whether the account may use sudo.
    #[serde(default)]
    pub sudo: bool,
}
