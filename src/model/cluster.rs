//! Cluster-wide settings: registry credentials, cluster and node-pool labels, node users.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;

use super::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a registry credential: a pull secret and ServiceAccount entries in every
/// selected namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "RegistryCredential",
    namespaced,
    status = "RegistryCredentialStatus",
    doc = "Credentials for one container registry, copied as a kubernetes.io/dockerconfigjson \
           Secret into every selected namespace and listed in the imagePullSecrets of its \
           ServiceAccount and `default` there."
)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredentialSpec {
    /// Registry host as image references name it, e.g. `registry.example.com:5000`.
    pub server: String,
    /// The user name, in clear; or see `usernameSecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A key of a Secret beside this object holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_secret_ref: Option<SecretKeyRef>,
    /// A key of a Secret beside this object holding the password or token (e.g. an encrypted
    /// Secret under desired/, which the engine applies decrypted).
    pub password_secret_ref: SecretKeyRef,
    /// Namespaces (by label) that get the pull secret; absent means every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces left out even when the selector matches them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_namespaces: Vec<String>,
    /// Name of the pull Secret in each namespace; default: this object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// ServiceAccount made in each namespace and given the pull secret (besides `default`).
    #[serde(default = "default_pull_account")]
    pub service_account_name: String,
}

/// The ServiceAccount a RegistryCredential makes when it names none.
pub const DEFAULT_PULL_ACCOUNT: &str = "orbdeck-pull";

/// Why `server` is not a registry as image references name it (`host[:port]`).
pub fn server_problem(server: &str) -> Option<String> {
    if server.contains('/') {
        return Some(format!(
            "{server:?}: a registry server is host[:port] as image references name it, without a scheme or path"
        ));
    }
    super::target_problem(server)
}

fn default_pull_account() -> String {
    DEFAULT_PULL_ACCOUNT.to_owned()
}

/// What the engine reports of a RegistryCredential (never the secret itself).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredentialStatus {
    /// Namespaces holding its pull secret.
    #[serde(default)]
    pub namespaces: u32,
    /// `Ready`: the pull secret is in every selected namespace; otherwise why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
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

/// Desired state of labels on every node.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "ClusterLabel",
    doc = "Labels kept on every node of the cluster (under orbdeck's own field manager, so \
           removing one removes only what orbdeck set)."
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterLabelSpec {
    /// Labels to keep on every node.
    pub labels: BTreeMap<String, String>,
}

/// The node label naming a node's pool, unless a NodePoolLabel names another.
pub const NODE_POOL_LABEL: &str = "orbdeck.io/node-pool";

/// Desired state of labels on the nodes of one pool.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "NodePoolLabel",
    doc = "Labels kept on the nodes of one pool: the nodes whose pool label has the pool's name."
)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolLabelSpec {
    /// The pool's name: the value of the pool label on its nodes.
    pub pool: String,
    /// The node label naming a node's pool (e.g. `cloud.google.com/gke-nodepool`).
    #[serde(default = "default_pool_label")]
    pub pool_label: String,
    /// Labels to keep on the pool's nodes.
    pub labels: BTreeMap<String, String>,
}

fn default_pool_label() -> String {
    NODE_POOL_LABEL.to_owned()
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
