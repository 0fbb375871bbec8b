//! Identities and RBAC through stock kubectl: `auth whoami`, `create token`, `auth can-i` (with
//! `--as` and `--list`), Kubernetes' 403 messages, and the escalation check on bindings.

use kube::api::{Api, PostParams};
use kube_sim::testing::Sim;
use serde_json::{Value, json};

const POLICY: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: team}
rules:
- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [configmaps], resourceNames: [settings], verbs: [get, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: robot-reads-pods, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: robot, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {example.com/aggregate-to-monitoring: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring-nodes
  labels: {example.com/aggregate-to-monitoring: "true"}
rules:
- {apiGroups: [""], resources: [nodes], verbs: [get, list]}
- {nonResourceURLs: [/metrics, /debug/*], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring-apps
  labels: {example.com/aggregate-to-monitoring: "true"}
rules:
- {apiGroups: [apps], resources: [deployments, deployments/scale], verbs: [get, list, watch]}
- {apiGroups: ["*"], resources: ["*/status"], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: monitors}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: monitors}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-edits-shop, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: binder}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create, get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-binds, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: binder}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
"#;

/// (as, groups, verb, resource, namespace, allowed)
type Case = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    bool,
);

const CASES: &[Case] = &[
    (
        "system:serviceaccount:team:robot",
        &[],
        "get",
        "pods",
        "team",
        true,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "list",
        "pods",
        "team",
        true,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "watch",
        "pods",
        "team",
        true,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "delete",
        "pods",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "create",
        "pods",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "get",
        "pods",
        "shop",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "list",
        "pods",
        "",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "get",
        "pods/log",
        "team",
        true,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "create",
        "pods/eviction",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "get",
        "configmaps/settings",
        "team",
        true,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "update",
        "configmaps/settings",
        "team",
        true,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "get",
        "configmaps/other",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "list",
        "configmaps",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "get",
        "secrets",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:robot",
        &[],
        "create",
        "serviceaccounts/token",
        "team",
        false,
    ),
    (
        "system:serviceaccount:team:other",
        &[],
        "get",
        "pods",
        "team",
        false,
    ),
    ("carol", &["monitors"], "list", "nodes", "", true),
    ("carol", &["monitors"], "get", "nodes", "", true),
    ("carol", &["monitors"], "delete", "nodes", "", false),
    (
        "carol",
        &["monitors"],
        "list",
        "deployments.apps",
        "shop",
        true,
    ),
    (
        "carol",
        &["monitors"],
        "get",
        "deployments.apps/scale",
        "team",
        true,
    ),
    (
        "carol",
        &["monitors"],
        "update",
        "deployments.apps/scale",
        "team",
        false,
    ),
    ("carol", &["monitors"], "get", "pods/status", "team", true),
    (
        "carol",
        &["monitors"],
        "get",
        "deployments.apps/status",
        "team",
        true,
    ),
    (
        "carol",
        &["monitors"],
        "patch",
        "pods/status",
        "team",
        false,
    ),
    ("carol", &["monitors"], "get", "pods", "team", false),
    ("carol", &[], "list", "nodes", "", false),
    ("alice", &[], "create", "deployments.apps", "shop", true),
    ("alice", &[], "delete", "secrets", "shop", true),
    ("alice", &[], "list", "pods", "shop", true),
    ("alice", &[], "get", "pods/log", "shop", true),
    ("alice", &[], "create", "pods/eviction", "shop", true),
    ("alice", &[], "create", "deployments.apps", "team", false),
    (
        "alice",
        &[],
        "create",
        "rolebindings.rbac.authorization.k8s.io",
        "shop",
        false,
    ),
    ("alice", &[], "list", "namespaces", "", false),
    (
        "alice",
        &[],
        "create",
        "selfsubjectaccessreviews.authorization.k8s.io",
        "",
        true,
    ),
    (
        "bob",
        &[],
        "create",
        "rolebindings.rbac.authorization.k8s.io",
        "team",
        true,
    ),
    (
        "bob",
        &[],
        "delete",
        "rolebindings.rbac.authorization.k8s.io",
        "team",
        false,
    ),
    (
        "bob",
        &[],
        "create",
        "rolebindings.rbac.authorization.k8s.io",
        "shop",
        false,
    ),
    ("dave", &["system:masters"], "delete", "nodes", "", true),
    (
        "dave",
        &["system:masters"],
        "escalate",
        "clusterroles.rbac.authorization.k8s.io",
        "",
        true,
    ),
    ("dave", &[], "get", "pods", "default", false),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_agrees_with_the_authoriser_on_every_case() {
    let sim = Sim::start(1).await;
    sim.ok_stdin(&["apply", "-f", "-"], POLICY).await;
    let client = sim.client().await;
    let reviews: Api<kube::api::DynamicObject> = Api::all_with(
        client,
        &kube::discovery::ApiResource::erase::<
            k8s_openapi::api::authorization::v1::SubjectAccessReview,
        >(&()),
    );
    for &(who, groups, verb, what, ns, expected) in CASES {
        let (kind, suffix) = what.split_once('/').unwrap_or((what, ""));
        let subresource = ["log", "eviction", "token", "scale", "status"].contains(&suffix);
        let mut args = vec!["auth", "can-i", verb, if subresource { kind } else { what }];
        if subresource {
            args.extend(["--subresource", suffix]);
        }
        args.extend(["--as", who]);
        for g in groups {
            args.extend(["--as-group", g]);
        }
        if ns.is_empty() {
            args.push("--all-namespaces=false");
        } else {
            args.extend(["-n", ns]);
        }
        let out = sim.kubectl(&args).await;
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let kubectl = match said.as_str() {
            "yes" => true,
            "no" => false,
            _ => panic!(
                "kubectl {args:?}: {said} {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        };
        // The same question to the authoriser, as a SubjectAccessReview.
        let (resource, name) = what.split_once('/').map_or((what, ""), |(r, n)| (r, n));
        let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
        let (name, sub) = if ["log", "eviction", "token", "scale", "status"].contains(&name) {
            ("", name)
        } else {
            (name, "")
        };
        let mut all_groups: Vec<&str> = groups.to_vec();
        if !who.starts_with("system:serviceaccount:") {
            all_groups.push("system:authenticated");
        } else {
            all_groups.extend(["system:serviceaccounts", "system:authenticated"]);
            all_groups.push(if who.contains(":team:") {
                "system:serviceaccounts:team"
            } else {
                "system:serviceaccounts:default"
            });
        }
        let review: kube::api::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "metadata": {},
            "spec": {"user": who, "groups": all_groups, "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource, "subresource": sub,
                "name": name, "namespace": ns}}
        }))
        .unwrap();
        let answer = reviews
            .create(&PostParams::default(), &review)
            .await
            .unwrap();
        let authoriser = answer.data["status"]["allowed"].as_bool().unwrap();
        assert_eq!(
            (kubectl, authoriser),
            (expected, expected),
            "{who} {groups:?} {verb} {what} in {ns:?}: kubectl says {kubectl}, the authoriser {authoriser}"
        );
    }
    assert!(CASES.len() >= 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_token_from_kubectl_create_token_is_that_identity() {
    let sim = Sim::start(1).await;
    sim.ok_stdin(&["apply", "-f", "-"], POLICY).await;
    let whoami = sim.ok(&["auth", "whoami", "-o", "json"]).await;
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(whoami["status"]["userInfo"]["username"], "kubernetes-admin");
    assert!(
        whoami["status"]["userInfo"]["groups"]
            .to_string()
            .contains("system:masters")
    );

    let token = sim
        .ok(&["create", "token", "robot", "-n", "team", "--duration=1h"])
        .await;
    let token = token.trim();
    let as_robot = |args: &[&str]| {
        let mut all: Vec<String> = vec!["--token".into(), token.into()];
        all.extend(args.iter().map(|a| a.to_string()));
        let sim = &sim;
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            sim.kubectl(&all).await
        }
    };
    let out = as_robot(&["auth", "whoami"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("system:serviceaccount:team:robot"), "{text}");
    assert!(
        as_robot(&["get", "pods", "-n", "team"])
            .await
            .status
            .success()
    );
    let denied = as_robot(&["get", "secrets", "-n", "team"]).await;
    assert_eq!(
        String::from_utf8_lossy(&denied.stderr).trim(),
        "Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:team:robot\" cannot list resource \"secrets\" in API group \"\" in the namespace \"team\""
    );
    let raw = as_robot(&["get", "--raw", "/metrics"]).await;
    assert!(
        String::from_utf8_lossy(&raw.stderr).contains(
            "forbidden: User \"system:serviceaccount:team:robot\" cannot get path \"/metrics\""
        ),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let list = as_robot(&["auth", "can-i", "--list", "-n", "team"]).await;
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("pods/log"), "{list}");
    assert!(list.contains("[settings]"), "{list}");

    // A token outlives neither its ServiceAccount nor a new one of the same name.
    sim.ok(&["delete", "serviceaccount", "robot", "-n", "team"])
        .await;
    sim.ok(&["create", "serviceaccount", "robot", "-n", "team"])
        .await;
    let out = as_robot(&["get", "pods", "-n", "team"]).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthorized"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A token for another audience is not one the API server accepts.
    let vault = sim
        .ok(&["create", "token", "robot", "-n", "team", "--audience=vault"])
        .await;
    let out = sim
        .kubectl(&["--token", vault.trim(), "get", "pods", "-n", "team"])
        .await;
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_grants_only_what_its_writer_holds_unless_it_may_bind() {
    let sim = Sim::start(0).await;
    sim.ok_stdin(&["apply", "-f", "-"], POLICY).await;
    let bind = |role: &str, name: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {name}, namespace: team}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: eve}}\n"
        )
    };
    // bob may create RoleBindings in team, but does not hold what `edit` grants.
    let out = sim
        .kubectl_with(
            &["create", "--as", "bob", "-f", "-"],
            Some(&bind("edit", "eve-edits")),
            &[],
        )
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("is attempting to grant RBAC permissions not currently held"),
        "{err}"
    );
    assert!(err.contains("\"secrets\""), "{err}");
    // He holds everything `binder` grants, so binding that is fine.
    sim.ok_stdin(
        &["create", "--as", "bob", "-f", "-"],
        &bind("binder", "eve-binds"),
    )
    .await;
    // Given `bind` on `edit`, he may bind it without holding it.
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: binder}\nrules:\n- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create, get, list]}\n- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [edit]}\n",
    )
    .await;
    sim.ok_stdin(
        &["create", "--as", "bob", "-f", "-"],
        &bind("edit", "eve-edits"),
    )
    .await;
    // A Role holding more than its writer is refused the same way (bob may create Roles).
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: binder}\nrules:\n- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings, roles], verbs: [create, get, list]}\n",
    )
    .await;
    let role = |verbs: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: r-{}, namespace: team}}\nrules:\n- {{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [{verbs}]}}\n",
            verbs.len()
        )
    };
    let out = sim
        .kubectl_with(
            &["create", "--as", "bob", "-f", "-"],
            Some(&role("\"*\"")),
            &[],
        )
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not currently held") && err.contains("Verbs:[\"*\"]"),
        "{err}"
    );
    sim.ok_stdin(&["create", "--as", "bob", "-f", "-"], &role("get, list"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_apply_that_creates_needs_create() {
    let sim = Sim::start(0).await;
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: patcher, namespace: default}\nrules:\n- {apiGroups: [\"\"], resources: [configmaps], verbs: [get, patch]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: patcher, namespace: default}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: patcher}\nsubjects:\n- {apiGroup: rbac.authorization.k8s.io, kind: User, name: pat}\n",
    )
    .await;
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: default}}\ndata: {{v: \"{v}\"}}\n"
        )
    };
    let apply = ["apply", "--server-side", "--as", "pat", "-f", "-"];
    let out = sim.kubectl_with(&apply, Some(&cm("1")), &[]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("User \"pat\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\""),
        "{err}"
    );
    sim.ok_stdin(&["apply", "--server-side", "-f", "-"], &cm("1"))
        .await;
    sim.ok_stdin(&apply, &cm("2")).await;
}
