//! `orbdeck access`: who can do what, where, from the live bindings and from desired/ alone,
//! checked against the cluster's own SubjectAccessReview answers.

use crate::common::repos::Origin;
use crate::run::{orbdeck, text};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube_sim::testing::Sim;
use serde_json::json;

/// Two teams' RBAC: an aggregated view role, a namespaced Role, a name-limited rule, a
/// cluster-wide superuser, a group-wide grant, and a binding to a service account that
/// does not exist.
const RBAC: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: team-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view-pods, labels: {example.com/aggregate-to-team-view: "true"}}
rules:
  - {verbs: [get, list, watch], apiGroups: [""], resources: [pods, pods/log]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-view}
aggregationRule:
  clusterRoleSelectors:
    - matchLabels: {example.com/aggregate-to-team-view: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: token-reader}
rules:
  - {verbs: [get], apiGroups: [""], resources: [secrets], resourceNames: [token]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules:
  - {verbs: ["*"], apiGroups: ["*"], resources: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: team-a}
rules:
  - {verbs: [create, update, get], apiGroups: [apps], resources: [deployments, deployments/scale]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: root}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
subjects: [{kind: User, name: carol}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: token-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: token-reader}
subjects: [{kind: Group, name: "system:serviceaccounts:team-b"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: team-view}
subjects:
  - {kind: Group, name: devs}
  - {kind: ServiceAccount, name: robot}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployers, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
  - {kind: User, name: alice}
  - {kind: ServiceAccount, name: builder, namespace: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ghosts, namespace: team-b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: team-view}
subjects: [{kind: ServiceAccount, name: ghost}]
"#;

/// One question: who (as `--who` takes it), their extra groups, verb, resource (as kubectl
/// takes it), namespace and object name.
type Question = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const QUESTIONS: [Question; 20] = [
    (
        "alice",
        &[],
        "create",
        "deployments.apps",
        Some("team-a"),
        None,
    ),
    (
        "alice",
        &[],
        "create",
        "deployments.apps",
        Some("team-b"),
        None,
    ),
    (
        "alice",
        &[],
        "delete",
        "deployments.apps",
        Some("team-a"),
        None,
    ),
    (
        "alice",
        &[],
        "update",
        "deployments.apps/scale",
        Some("team-a"),
        None,
    ),
    ("alice", &[], "list", "pods", Some("team-a"), None),
    ("erin", &["devs"], "list", "pods", Some("team-a"), None),
    ("erin", &["devs"], "get", "pods/log", Some("team-a"), None),
    ("erin", &["devs"], "list", "pods", None, None),
    ("erin", &[], "list", "pods", Some("team-a"), None),
    ("erin", &["devs"], "delete", "pods", Some("team-a"), None),
    ("carol", &[], "delete", "nodes", None, None),
    (
        "carol",
        &[],
        "create",
        "widgets.example.com",
        Some("team-b"),
        None,
    ),
    (
        "system:serviceaccount:team-a:robot",
        &[],
        "watch",
        "pods",
        Some("team-a"),
        None,
    ),
    (
        "system:serviceaccount:team-a:robot",
        &[],
        "watch",
        "pods",
        Some("team-b"),
        None,
    ),
    (
        "ServiceAccount:team-a:builder",
        &[],
        "get",
        "deployments",
        Some("team-a"),
        None,
    ),
    (
        "ServiceAccount:team-a:builder",
        &[],
        "get",
        "pods",
        Some("team-a"),
        None,
    ),
    (
        "system:serviceaccount:team-b:anyone",
        &[],
        "get",
        "secrets",
        Some("team-a"),
        Some("token"),
    ),
    (
        "system:serviceaccount:team-b:anyone",
        &[],
        "get",
        "secrets",
        Some("team-a"),
        Some("other"),
    ),
    (
        "system:serviceaccount:team-b:anyone",
        &[],
        "list",
        "secrets",
        Some("team-a"),
        None,
    ),
    (
        "system:serviceaccount:team-a:robot",
        &[],
        "get",
        "secrets",
        Some("team-a"),
        Some("token"),
    ),
];

/// The cluster's own answer, by a SubjectAccessReview.
async fn review(client: &kube::Client, q: &Question) -> bool {
    let (who, groups, verb, typed, ns, name) = *q;
    let subject = orbdeck::access::Subject::parse(who).unwrap();
    let user = match &subject {
        orbdeck::access::Subject::ServiceAccount { namespace, name } => {
            format!("system:serviceaccount:{namespace}:{name}")
        }
        other => other.name(),
    };
    let mut all: Vec<String> = subject.implicit_groups();
    all.extend(groups.iter().map(|g| g.to_string()));
    let (group, resource, subresource) = orbdeck::access::parse_resource(typed);
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("authorization.k8s.io", "v1", "SubjectAccessReview"),
        "subjectaccessreviews",
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let body: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "metadata": {},
        "spec": {
            "user": user,
            "groups": all,
            "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource,
                "subresource": subresource.unwrap_or_default(),
                "namespace": ns.unwrap_or_default(), "name": name.unwrap_or_default(),
            },
        },
    }))
    .unwrap();
    let answer = api.create(&PostParams::default(), &body).await.unwrap();
    answer.data["status"]["allowed"].as_bool().unwrap_or(false)
}

/// `orbdeck access alpha --who … --can …`'s answer (exit 0 yes, 1 no), and what it said.
fn ask(home: &std::path::Path, q: &Question, desired: bool) -> (bool, String) {
    let (who, groups, verb, typed, ns, name) = *q;
    let mut args = vec!["access", "alpha", "--who", who, "--can", verb, typed];
    for g in groups {
        args.extend(["--group", g]);
    }
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    if let Some(name) = name {
        args.extend(["--name", name]);
    }
    if desired {
        args.push("--desired");
    }
    let out = orbdeck(home, &args);
    let said = text(&out);
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "{args:?}: {said}");
    (code == Some(0), said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_answers_agree_with_the_clusters_subject_access_reviews() {
    let sim = Sim::start(0).await;
    sim.ok_stdin(&["apply", "-f", "-"], RBAC).await;
    let client = sim.client().await;
    let origin = Origin::new();
    origin.seed(&[("desired/rbac.yaml", RBAC)]);
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_path_buf();
    let kubeconfig = sim.kubeconfig.display().to_string();
    let url = origin.url();
    let added = tokio::task::spawn_blocking(move || {
        orbdeck(
            &h,
            &[
                "orb",
                "add",
                "alpha",
                "--repo",
                &url,
                "--kubeconfig",
                &kubeconfig,
            ],
        )
    })
    .await
    .unwrap();
    assert!(added.status.success(), "{}", text(&added));

    let mut yes = 0;
    for q in &QUESTIONS {
        let expected = review(&client, q).await;
        yes += usize::from(expected);
        for desired in [false, true] {
            let h = home.path().to_path_buf();
            let (answer, said) = tokio::task::spawn_blocking(move || ask(&h, q, desired))
                .await
                .unwrap();
            assert_eq!(
                answer,
                expected,
                "{q:?} (from {}): the cluster says {expected}, orbdeck access said:\n{said}",
                if desired { "desired/" } else { "live" }
            );
            if answer {
                assert!(said.contains("through "), "a yes names its binding: {said}");
            }
        }
    }
    // The sample asks both kinds of question.
    assert!((6..=14).contains(&yes), "{yes} of 20 allowed");

    // Without a question: every grant, findings flagged.
    let h = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || orbdeck(&h, &["access", "alpha"]))
        .await
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.starts_with("alpha: from the live cluster's bindings"),
        "{said}"
    );
    for expected in [
        "cluster-admin equivalent: User carol (through ClusterRoleBinding root)",
        "no such subject: ServiceAccount team-b/ghost is bound by RoleBinding team-b/ghosts",
        "get,list,watch pods,pods/log",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    // Who can create deployments in team-a: alice and the builder, and the superuser.
    let h = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        orbdeck(
            &h,
            &[
                "access",
                "alpha",
                "--can",
                "create",
                "deployments",
                "-n",
                "team-a",
            ],
        )
    })
    .await
    .unwrap();
    let said = text(&out);
    for who in ["User alice", "User carol", "ServiceAccount team-a/builder"] {
        assert!(said.contains(who), "missing {who} in:\n{said}");
    }
    assert!(!said.contains("Group devs"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_falls_back_to_desired_when_the_cluster_is_unreachable() {
    let origin = Origin::new();
    origin.seed(&[("desired/rbac.yaml", RBAC)]);
    let home = tempfile::tempdir().unwrap();
    // A kubeconfig whose server nobody listens on.
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n\
         contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n\
         users: [{name: u, user: {token: t}}]\n",
    )
    .unwrap();
    let h = home.path().to_path_buf();
    let url = origin.url();
    let k = kubeconfig.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        orbdeck(
            &h,
            &["orb", "add", "alpha", "--repo", &url, "--kubeconfig", &k],
        );
        orbdeck(&h, &["access", "alpha", "--who", "Group:devs"])
    })
    .await
    .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("from desired/ at commit"), "{said}");
    assert!(said.contains("cluster unreachable"), "{said}");
    assert!(
        said.contains("RoleBinding") || said.contains("ClusterRole team-view"),
        "{said}"
    );
    assert!(said.contains("team-a"), "{said}");
}
