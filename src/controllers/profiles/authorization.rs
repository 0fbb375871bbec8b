//! The authorization policies controller: Istio `security.istio.io/v1beta1` AuthorizationPolicies
//! of every profile namespace (wanted only when the Istio CRDs exist).
//!
//! - `ns-owner-access-istio` (Kubeflow's name for it, so an existing one is taken over rather than
//!   doubled): ALLOW requests whose user header names the owner or a collaborator, requests from
//!   the namespace itself, and Knative's probe paths.
//! - `protected-b-block-upload-download` (seed 001, after StatCan's prob-notebook-controller):
//!   DENY the Jupyter and RStudio file upload/download endpoints on protected-b workloads.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{Meta, child, profile_name};
use crate::controllers::{CLASSIFICATION_LABEL, PROTECTED_B};
use crate::model::{AuthorizationSettings, Profile};

/// The owner-access policy.
pub const OWNER_ACCESS: &str = "ns-owner-access-istio";
/// The policy blocking file transfers from protected-b notebooks.
pub const PROTECTED_B_BLOCK: &str = "protected-b-block-upload-download";
/// Placeholder in [`crate::model::BlockedOperation::path`] replaced by the profile namespace.
pub const NAMESPACE_PLACEHOLDER: &str = "{namespace}";

const NAMES: [&str; 2] = [OWNER_ACCESS, PROTECTED_B_BLOCK];

/// Names of every AuthorizationPolicy this controller owns, in [`policies`] order.
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// The AuthorizationPolicies of the Profile's namespace: owner access (the owner first, then the
/// collaborators, without repeats) and the protected-b transfer block.
pub fn policies(
    profile: &Profile,
    collaborators: &[String],
    settings: &AuthorizationSettings,
) -> Vec<Value> {
    let ns = profile_name(profile);
    let mut users: Vec<String> = Vec::new();
    for user in std::iter::once(&profile.spec.owner.name).chain(collaborators) {
        let value = format!("{}{user}", settings.user_prefix);
        if !user.is_empty() && !users.contains(&value) {
            users.push(value);
        }
    }
    let mut user_rule = serde_json::Map::new();
    if !settings.gateway_principals.is_empty() {
        user_rule.insert(
            "from".into(),
            json!([{"source": {"principals": settings.gateway_principals}}]),
        );
    }
    user_rule.insert(
        "when".into(),
        json!([{"key": format!("request.headers[{}]", settings.user_header), "values": users}]),
    );
    let owner_access = json!({
        "action": "ALLOW",
        "rules": [
            user_rule,
            {"when": [{"key": "source.namespace", "values": [ns]}]},
            {"to": [{"operation": {"paths": settings.probe_paths}}]},
        ],
    });
    let operations: Vec<Value> = settings
        .blocked_operations
        .iter()
        .map(|op| {
            json!({"operation": {
                "methods": [op.method],
                "paths": [op.path.replace(NAMESPACE_PLACEHOLDER, ns)],
            }})
        })
        .collect();
    let block = json!({
        "selector": {"matchLabels": {CLASSIFICATION_LABEL: PROTECTED_B}},
        "action": "DENY",
        "rules": [{"to": operations}],
    });
    [(OWNER_ACCESS, owner_access), (PROTECTED_B_BLOCK, block)]
        .into_iter()
        .map(|(name, spec)| {
            child(
                profile,
                ("security.istio.io/v1beta1", "AuthorizationPolicy"),
                name,
                Some(ns),
                Meta::default(),
                json!({"spec": spec}),
            )
        })
        .collect()
}

/// Users given edit access to a namespace, as Kubeflow's access management records them:
/// RoleBindings annotated `role: edit`, each naming its user in the `user` annotation (or, without
/// it, in its User subjects). Sorted, without repeats.
pub fn collaborators(rolebindings: &[Value]) -> Vec<String> {
    let mut users = std::collections::BTreeSet::new();
    for binding in rolebindings {
        let annotations: BTreeMap<String, String> = binding
            .pointer("/metadata/annotations")
            .and_then(|a| serde_json::from_value(a.clone()).ok())
            .unwrap_or_default();
        if annotations.get("role").map(String::as_str) != Some("edit") {
            continue;
        }
        match annotations.get("user").filter(|u| !u.is_empty()) {
            Some(user) => {
                users.insert(user.clone());
            }
            None => {
                let subjects = binding.get("subjects").and_then(Value::as_array);
                for subject in subjects.into_iter().flatten() {
                    if subject.get("kind").and_then(Value::as_str) == Some("User")
                        && let Some(name) = subject.get("name").and_then(Value::as_str)
                        && !name.is_empty()
                    {
                        users.insert(name.to_owned());
                    }
                }
            }
        }
    }
    users.into_iter().collect()
}
