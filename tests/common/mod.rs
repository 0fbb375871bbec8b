//! Shared fixtures for the end-to-end tests: the sim with its kubeconfig and kubectl runner (from
//! `kube_sim::testing`), the engine, a flaky proxy, bare repos and git users, an sshd.
#![allow(dead_code)]

pub mod engine;
pub mod http;
pub mod proxy;
pub mod registry;
pub mod repos;
pub mod sshd;
pub mod tmux;

pub use kube_sim::testing::Sim;

/// The PolicyRules for what the test ORBs' desired/ holds beyond the engine's own kinds, bound to
/// the engine as an operator binds them for an ORB (see assets/deploy/engine.yaml).
pub fn desired_rules() -> serde_json::Value {
    serde_json::json!([
        {"apiGroups": [""], "resources": ["configmaps", "secrets", "services", "pods", "resourcequotas"],
            "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"],
            "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"],
            "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
            "verbs": ["bind"], "resourceNames": ["view"]},
    ])
}

/// Installs the engine's identity in the sim (the ServiceAccount and RBAC of
/// `orbdeck manifests deploy`, plus [`desired_rules`]) and returns a TokenRequest token of it.
pub async fn engine_token(sim: &Sim) -> String {
    let admin = sim.client().await;
    orbdeck::engine::identity::install(&admin, desired_rules())
        .await
        .expect("the engine's RBAC installs");
    orbdeck::engine::identity::token(&admin, 3600)
        .await
        .expect("a token of the engine's ServiceAccount")
}

/// A client of cluster `index` of the sim with the engine's own identity (see [`engine_token`]).
pub async fn engine_client_for(sim: &Sim, index: usize) -> kube::Client {
    let admin = sim.server.client_for(index).await.expect("an admin client");
    orbdeck::engine::identity::install(&admin, desired_rules())
        .await
        .expect("the engine's RBAC installs");
    let token = orbdeck::engine::identity::token(&admin, 3600)
        .await
        .expect("a token of the engine's ServiceAccount");
    sim.server
        .client_with_token(index, &token)
        .await
        .expect("a client with the engine's token")
}

/// A client with the engine's own identity (see [`engine_token`]). A test whose engine needs
/// more than the manifests grant fails with the 403.
pub async fn engine_client(sim: &Sim) -> kube::Client {
    let token = engine_token(sim).await;
    sim.server
        .client_with_token(0, &token)
        .await
        .expect("a client with the engine's token")
}

/// Writes to `path` a kubeconfig of the sim with the engine's identity (see [`engine_token`]),
/// for an `orbdeck engine` process run as its Deployment would run it.
pub async fn engine_kubeconfig(sim: &Sim, path: &std::path::Path) {
    let token = engine_token(sim).await;
    let yaml = sim
        .server
        .kubeconfig_yaml()
        .replace(sim.server.cluster().token(), &token);
    std::fs::write(path, yaml).expect("kubeconfig written");
}
