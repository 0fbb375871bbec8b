//! The engine's identity in its cluster: the ServiceAccount `orbdeck-system/orbdeck-engine` and
//! the RBAC that `orbdeck manifests deploy` creates, installed by an admin client (the demo, the
//! tests, bootstrap), and a token of that ServiceAccount for an engine run outside the cluster.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

/// The engine's in-cluster manifests (namespace, RBAC, Deployment), as `orbdeck manifests deploy`
/// prints them.
pub const ENGINE_YAML: &str = include_str!("../../assets/deploy/engine.yaml");

/// Namespace and name of the engine's ServiceAccount.
pub const SERVICE_ACCOUNT: (&str, &str) = ("orbdeck-system", "orbdeck-engine");

/// The ClusterRole that [`install`] binds to the engine for the kinds one ORB's desired/ holds.
pub const DESIRED_ROLE: &str = "orbdeck-engine-desired";

/// The kinds of the engine's manifests that make up its identity (the Deployment is left out).
const IDENTITY_KINDS: &[&str] = &[
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
];

/// Installs the engine's namespace, ServiceAccount and RBAC exactly as the deploy manifests
/// have them, plus the ClusterRole [`DESIRED_ROLE`] with `desired_rules` (PolicyRules for the
/// kinds this ORB's desired/ holds, as an operator binds them), by server-side apply.
pub async fn install(admin: &kube::Client, desired_rules: Value) -> Result<(), kube::Error> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(ENGINE_YAML).unwrap_or_default();
    let (ns, sa) = SERVICE_ACCOUNT;
    let extra = [
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": DESIRED_ROLE}, "rules": desired_rules}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": DESIRED_ROLE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": DESIRED_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}),
    ];
    let wanted = docs
        .into_iter()
        .filter(|d| IDENTITY_KINDS.contains(&d["kind"].as_str().unwrap_or("")))
        .chain(extra);
    for doc in wanted {
        apply(admin, doc).await?;
    }
    Ok(())
}

async fn apply(admin: &kube::Client, doc: Value) -> Result<(), kube::Error> {
    let (api, name) = api_for(admin, &doc);
    let params = PatchParams::apply("orbdeck").force();
    api.patch(&name, &params, &Patch::Apply(&doc)).await?;
    Ok(())
}

/// The API of one manifest's kind (plural guessed from the kind, as for the built-in kinds of
/// the deploy manifests and orbdeck's CRDs) and the manifest's name.
pub fn api_for(client: &kube::Client, doc: &Value) -> (Api<DynamicObject>, String) {
    let (group, version) = doc["apiVersion"]
        .as_str()
        .unwrap_or("v1")
        .split_once('/')
        .unwrap_or(("", "v1"));
    let gvk = GroupVersionKind::gvk(group, version, doc["kind"].as_str().unwrap_or(""));
    let resource = ApiResource::from_gvk(&gvk);
    let name = doc["metadata"]["name"].as_str().unwrap_or("").to_string();
    let api = match doc["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    (api, name)
}

/// A token of the engine's ServiceAccount, valid for `seconds` (TokenRequest API).
pub async fn token(admin: &kube::Client, seconds: i64) -> Result<String, kube::Error> {
    let (ns, sa) = SERVICE_ACCOUNT;
    let api: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(seconds),
            ..Default::default()
        }),
        ..Default::default()
    };
    let answer = api
        .create_token_request(sa, &PostParams::default(), &request)
        .await?;
    Ok(answer.status.and_then(|s| s.token).unwrap_or_default())
}
