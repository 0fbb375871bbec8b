//! The RBAC objects every cluster starts with (a subset of Kubernetes' bootstrap policy):
//! cluster-admin for `system:masters`, discovery, health and self-reviews for everyone, and the
//! aggregated user-facing roles admin, edit and view.

use serde_json::{Value, json};

/// Read-only resources the `view` role aggregates (Secrets excluded, as in Kubernetes).
const VIEW: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "pods",
            "pods/log",
            "pods/status",
            "replicationcontrollers",
            "services",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
            "events",
            "namespaces",
            "bindings",
        ],
    ),
    (
        "apps",
        &[
            "deployments",
            "replicasets",
            "statefulsets",
            "daemonsets",
            "deployments/scale",
        ],
    ),
    ("batch", &["jobs", "cronjobs"]),
    ("networking.k8s.io", &["ingresses", "networkpolicies"]),
    ("policy", &["poddisruptionbudgets"]),
    ("events.k8s.io", &["events"]),
];

/// What `edit` adds: writes of the namespaced workloads, and Secrets.
const EDIT: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "pods",
            "pods/eviction",
            "pods/exec",
            "pods/attach",
            "pods/portforward",
            "replicationcontrollers",
            "services",
            "serviceaccounts",
            "secrets",
        ],
    ),
    (
        "apps",
        &[
            "deployments",
            "replicasets",
            "statefulsets",
            "daemonsets",
            "deployments/scale",
        ],
    ),
    ("batch", &["jobs", "cronjobs"]),
    ("networking.k8s.io", &["ingresses", "networkpolicies"]),
    ("policy", &["poddisruptionbudgets"]),
];

fn role(name: &str, labels: Value, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels,
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "rules": rules})
}

/// An aggregated role; `into` names the role it is itself aggregated into (view → edit → admin).
fn aggregated(name: &str, to: &str, into: Option<&str>) -> Value {
    let mut labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    if let Some(into) = into {
        labels[format!("rbac.authorization.k8s.io/aggregate-to-{into}")] = json!("true");
    }
    let mut r = role(name, labels, json!([]));
    r["aggregationRule"] = json!({"clusterRoleSelectors": [
        {"matchLabels": {format!("rbac.authorization.k8s.io/aggregate-to-{to}"): "true"}}]});
    r
}

fn binding(name: &str, role: &str, subjects: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects})
}

fn group(name: &str) -> Value {
    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name})
}

fn grouped(list: &[(&str, &[&str])], verbs: &[&str]) -> Value {
    json!(
        list.iter()
            .map(|(g, resources)| json!({"apiGroups": [g], "resources": resources, "verbs": verbs}))
            .collect::<Vec<_>>()
    )
}

/// The bootstrap ClusterRoles and ClusterRoleBindings.
pub fn objects() -> (Vec<Value>, Vec<Value>) {
    let defaults = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let to = |what: &str| {
        json!({"kubernetes.io/bootstrapping": "rbac-defaults",
            format!("rbac.authorization.k8s.io/aggregate-to-{what}"): "true"})
    };
    let read = ["get", "list", "watch"];
    let write = ["create", "delete", "deletecollection", "patch", "update"];
    let roles = vec![
        role(
            "cluster-admin",
            defaults.clone(),
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        ),
        role(
            "system:discovery",
            defaults.clone(),
            json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz",
                "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                "verbs": ["get"]}]),
        ),
        role(
            "system:public-info-viewer",
            defaults.clone(),
            json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                "verbs": ["get"]}]),
        ),
        role(
            "system:basic-user",
            defaults.clone(),
            json!([{"apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
                    "verbs": ["create"]}]),
        ),
        aggregated("admin", "admin", None),
        aggregated("edit", "edit", Some("admin")),
        aggregated("view", "view", Some("edit")),
        role("system:aggregate-to-view", to("view"), grouped(VIEW, &read)),
        role(
            "system:aggregate-to-edit",
            to("edit"),
            grouped(EDIT, &write),
        ),
        role(
            "system:aggregate-to-admin",
            to("admin"),
            json!([{"apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["roles", "rolebindings"],
                    "verbs": ["create", "delete", "deletecollection", "get", "list", "patch",
                        "update", "watch"]},
                {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"],
                    "verbs": ["create"]}]),
        ),
    ];
    let bindings = vec![
        binding(
            "cluster-admin",
            "cluster-admin",
            json!([group("system:masters")]),
        ),
        binding(
            "system:discovery",
            "system:discovery",
            json!([group("system:authenticated")]),
        ),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            json!([
                group("system:authenticated"),
                group("system:unauthenticated")
            ]),
        ),
        binding(
            "system:basic-user",
            "system:basic-user",
            json!([group("system:authenticated")]),
        ),
    ];
    (roles, bindings)
}
