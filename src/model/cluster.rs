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
    status = "NodeUserStatus",
    doc = "SSH keys of a Unix account, kept in its authorized_keys on nodes by the orbdeck agent."
)]
#[serde(rename_all = "camelCase")]
pub struct NodeUserSpec {
    /// Unix user name.
    pub username: String,
    /// Authorized SSH public keys, one `authorized_keys` line each (options allowed).
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// Nodes (by label) that get the account; absent means every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<LabelSelector>,
    /// Whether the account may use sudo.
    #[serde(default)]
    pub sudo: bool,
}

/// What the agents made of a NodeUser's keys (the same on every node: keys are checked alone).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeUserStatus {
    /// Keys written to the nodes' authorized_keys.
    pub valid_keys: u32,
    /// Keys left out, each with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_keys: Vec<InvalidKey>,
}

/// One key of a NodeUser that is not a valid `authorized_keys` line.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvalidKey {
    /// Its index in `spec.sshKeys`.
    pub index: u32,
    /// Why it is refused.
    pub message: String,
}

/// Checks one `authorized_keys` line (options, key type, base64 key, comment) with ssh-key.
pub fn check_ssh_key(line: &str) -> Result<(), String> {
    if line.contains(['\n', '\r']) {
        return Err("a key is one line".into());
    }
    line.trim()
        .parse::<ssh_key::authorized_keys::Entry>()
        .map(|_| ())
        .map_err(|e| format!("not an SSH public key ({e})"))
}
