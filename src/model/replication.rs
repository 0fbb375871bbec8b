//! Image replication: policies naming a target registry and which images to copy there, and one
//! object per copied image with the copy's progress. Also the policy checks `orbdeck validate`
//! reports with file:line (a target that is no registry, a pattern that matches nothing).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
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
    /// Registry receiving the copies: `host[:port]` and an optional path prefix, e.g.
    /// `registry.internal:5000/mirror`. A copy keeps its source registry as a path component:
    /// `registry.internal:5000/mirror/docker.io/library/nginx:1.27`.
    pub target_registry: String,
    /// The target registry speaks plain HTTP (or HTTPS with a certificate not checked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Source registries (`host[:port]`) that speak plain HTTP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insecure_sources: Vec<String>,
    /// Name of a Secret in the engine's namespace (`orbdeck-system`) with the registry
    /// credentials: `username` and `password` (for the target), or a `.dockerconfigjson`
    /// (`auths` by registry host, for the target and the sources). It may be an encrypted Secret
    /// under desired/.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_secret: Option<String>,
    /// Namespaces whose pods are looked at; absent means every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Globs over normalised references (`*` any text, `?` one character), e.g.
    /// `docker.io/library/*`; empty means every image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Globs over normalised references that are never replicated, even when included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// When a pod's image is rewritten to the copy.
    #[serde(default)]
    pub swap: SwapPolicy,
    /// Copy attempts per image before giving up (`MaxAttemptsExceeded`).
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1))]
    pub max_attempts: u32,
    /// Copies of this policy's images made at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1))]
    pub concurrency: u32,
}

/// When an admitted pod's image is rewritten to the target registry.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SwapPolicy {
    /// At once, before the copy exists (seed 000's behaviour): the pod may wait on its pull.
    Always,
    /// Only when the target already holds the image; otherwise the pod keeps its source image
    /// and the copy is made for the next one.
    #[default]
    Exists,
}

/// Desired state of one image copy, created by the admission of a pod using the image.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "orbdeck.io",
    version = "v1alpha1",
    kind = "ImageReplication",
    namespaced,
    status = "ImageReplicationStatus",
    doc = "One image being copied from its source to the policy's target registry.",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Attempts","type":"integer","jsonPath":".status.attempts"}"#,
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.source"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ImageReplicationSpec {
    /// Normalised image reference copied from.
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
    /// Why it stands there, e.g. `Copied`, `AlreadyPresent`, `CopyFailed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Copy attempts made so far.
    pub attempts: u32,
    /// The policy's attempts, as of the last attempt.
    pub max_attempts: u32,
    /// Bytes of blobs copied (or found present) so far in this attempt.
    pub bytes_copied: u64,
    /// Bytes of every blob of the image, once its manifests are read.
    pub bytes_total: u64,
    /// Detail of the last attempt, e.g. the registry's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Manifest digest of the copied image (the same at source and destination).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When the last attempt started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<Time>,
    /// After a failure: when the next attempt starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// The value of the retry annotation (`orbdeck.io/retry`) last acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retried: Option<String>,
}

/// Where an image copy stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ReplicationPhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Being copied.
    Replicating,
    /// Copied, or found at the target already (reason `AlreadyPresent`).
    Succeeded,
    /// The last attempt failed; another comes at `nextAttemptTime`.
    Failed,
    /// Every attempt of the policy failed; no further attempt unless retried by hand.
    MaxAttemptsExceeded,
}

impl ReplicationPhase {
    /// The phase as written in status.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicationPhase::Pending => "Pending",
            ReplicationPhase::Replicating => "Replicating",
            ReplicationPhase::Succeeded => "Succeeded",
            ReplicationPhase::Failed => "Failed",
            ReplicationPhase::MaxAttemptsExceeded => "MaxAttemptsExceeded",
        }
    }
}

/// Default number of copy attempts per image.
fn default_max_attempts() -> u32 {
    3
}

/// Default number of copies at once per policy.
fn default_concurrency() -> u32 {
    4
}

/// What is wrong with a target registry (`host[:port][/prefix]`), or `None`.
pub fn target_problem(target: &str) -> Option<String> {
    if target.contains("://") {
        return Some(format!(
            "{target:?}: a registry is host[:port][/prefix] without a scheme (plain HTTP is `insecure: true`)"
        ));
    }
    let (host, prefix) = target.split_once('/').unwrap_or((target, ""));
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let host_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && (name.contains('.') || name == "localhost" || port.is_some());
    if !host_ok {
        return Some(format!(
            "{target:?}: the registry host must be a domain (with a dot), localhost or carry a :port"
        ));
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Some(format!("{target:?}: port {port:?} is not a number 1-65535"));
    }
    if !prefix.is_empty() {
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if !prefix.trim_end_matches('/').split('/').all(component_ok) {
            return Some(format!(
                "{target:?}: the path prefix must be lowercase letters, digits, '.', '_', '-' between slashes"
            ));
        }
    }
    None
}

/// What is wrong with an include/exclude glob, or `None`.
pub fn pattern_problem(pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("an empty pattern matches nothing".into());
    }
    let bad = pattern.chars().find(|c| {
        !(c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || "._-/:@*?".contains(*c)
            || c.is_ascii_uppercase())
    });
    match bad {
        Some(c) => Some(format!(
            "{pattern:?}: {c:?} never occurs in an image reference"
        )),
        None if pattern.chars().any(|c| c.is_ascii_uppercase()) => Some(format!(
            "{pattern:?}: references are matched normalised (lowercase repository), so uppercase letters in a repository never match"
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        for ok in [
            "registry.internal:5000/mirror",
            "localhost:5000",
            "127.0.0.1:5000/a/b",
            "mirror.example.org",
            "host:5000",
        ] {
            assert_eq!(target_problem(ok), None, "{ok}");
        }
        for bad in [
            "https://x.example",
            "mirror",
            "x.example:port",
            "x.example/Mirror",
            "x.example//a",
            "",
        ] {
            assert!(target_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn patterns() {
        assert_eq!(pattern_problem("docker.io/library/*"), None);
        assert!(pattern_problem("").is_some());
        assert!(pattern_problem("docker.io/ nginx").is_some());
        assert!(pattern_problem("docker.io/Library/*").is_some());
    }
}
