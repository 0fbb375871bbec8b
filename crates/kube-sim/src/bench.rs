//! Parts of the server timed on their own, for orbdeck's `cargo bench --bench sim`: the RBAC
//! authoriser over a large policy and the protobuf request decoder against JSON.

use crate::auth::{self, Attributes, User};
use crate::cluster::{Cluster, ClusterOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Percentiles of a series of timings.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().unwrap_or_default()
    };
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
        max: samples.last().copied().unwrap_or_default(),
    }
}

/// What [`authorization`] measured.
#[derive(Debug, Clone, Copy)]
pub struct AuthFigures {
    /// One authorisation decision (allowed and denied mixed), with the compiled rules cached.
    pub decision: Percentiles,
    /// Compiling the rules again after an RBAC object changed.
    pub rebuild: Duration,
}

/// Times `requests` authorisation decisions against `cluster_roles` ClusterRoles (5 rules each)
/// and `bindings` RoleBindings spread over 100 namespaces, each binding one user to one role.
pub fn authorization(bindings: usize, cluster_roles: usize, requests: usize) -> AuthFigures {
    let c = Cluster::new("bench", "token", ClusterOptions::default());
    let resources = [
        "pods",
        "configmaps",
        "secrets",
        "services",
        "deployments",
        "jobs",
    ];
    c.store.write(|s| {
        for r in 0..cluster_roles {
            let rules: Vec<Value> = (0..5)
                .map(|k| {
                    json!({"apiGroups": ["", "apps", "batch"],
                        "resources": [resources[(r + k) % resources.len()]],
                        "verbs": ["get", "list", "watch"]})
                })
                .collect();
            s.put(
                auth::rbac::KEYS[1],
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": format!("role-{r}")}, "rules": rules}),
            );
        }
        for b in 0..bindings {
            s.put(
                auth::rbac::KEYS[2],
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": format!("b-{b}"), "namespace": format!("ns-{}", b % 100)},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": format!("role-{}", b % cluster_roles.max(1))},
                    "subjects": [{"kind": "User", "name": format!("user-{}", b % 500)}]}),
            );
        }
    });
    let rebuild_start = Instant::now();
    auth::compiled(&c);
    let rebuild = rebuild_start.elapsed();
    let mut samples = Vec::with_capacity(requests);
    for i in 0..requests {
        let user = User {
            name: format!("user-{}", i % 500),
            uid: String::new(),
            groups: vec!["system:authenticated".into()],
        };
        let ns = format!("ns-{}", (i * 7) % 100);
        let a = Attributes::resource("list", "", resources[i % resources.len()], Some(&ns));
        let start = Instant::now();
        let _ = std::hint::black_box(auth::authorize(&c, &user, &a));
        samples.push(start.elapsed());
    }
    AuthFigures {
        decision: percentiles(samples),
        rebuild,
    }
}

/// Time per decode of one Deployment request body: (protobuf, JSON), over `iterations`.
pub fn decode_deployment(iterations: u32) -> (Duration, Duration) {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "tier": "front"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"}}}]}}}
    });
    let pb = crate::protobuf::encode(&deployment);
    let js = serde_json::to_vec(&deployment).unwrap_or_default();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        start.elapsed() / iterations.max(1)
    };
    let protobuf = time(&|| {
        let _ = std::hint::black_box(crate::protobuf::decode(&pb));
    });
    let json = time(&|| {
        let _ = std::hint::black_box(serde_json::from_slice::<Value>(&js));
    });
    (protobuf, json)
}
