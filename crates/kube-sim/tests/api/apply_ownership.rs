//! Server-side apply ownership as a real API server keeps it, for what orbdeck's label and
//! credential controllers rely on: a Node label set with `kubectl label` conflicts with an apply
//! of another value (409, naming the manager and `.metadata.labels.KEY`) and is shared when the
//! value is the same; an applier that drops a label removes it only when no one else set it;
//! a ServiceAccount's `imagePullSecrets` is atomic (upstream's `+listType=atomic`: no merge
//! key, one owner, a strategic patch replaces it), while a pod template's is keyed by `name`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, Patch, PatchParams};
use kube_sim::testing::Sim;
use serde_json::{Value, json};

fn labels(node: &Node) -> Vec<(String, String)> {
    node.metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("kubernetes.io/") && !k.contains("k8s.io/"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_labels_are_owned_per_key_and_a_foreign_value_is_a_conflict() {
    let sim = Sim::start(1).await;
    let nodes: Api<Node> = Api::all(sim.client().await);
    let name = nodes.list(&Default::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    sim.ok(&["label", "node", &name, "team=red", "env=prod"])
        .await;
    let apply = |labels: Value| json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}});
    let params = PatchParams::apply("orbdeck-labels");

    // Another value for a key kubectl set: 409, nothing written.
    let err = nodes
        .patch(
            &name,
            &params,
            &Patch::Apply(apply(json!({"team": "blue"}))),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("not an API error: {err}")
    };
    assert_eq!(status.code, 409);
    assert!(
        status.message.contains("\"kubectl-label\"")
            && status.message.ends_with(".metadata.labels.team"),
        "{}",
        status.message
    );
    let node = nodes.get(&name).await.unwrap();
    assert!(labels(&node).contains(&("team".into(), "red".into())));

    // The same value is shared; a new key is the applier's alone.
    nodes
        .patch(
            &name,
            &params,
            &Patch::Apply(apply(json!({"env": "prod", "zone": "z1"}))),
        )
        .await
        .unwrap();
    // Dropping both: `zone` (its alone) goes, `env` (kubectl's too) stays.
    let bare = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
    nodes
        .patch(&name, &params, &Patch::Apply(bare))
        .await
        .unwrap();
    let node = nodes.get(&name).await.unwrap();
    let have = labels(&node);
    assert!(have.contains(&("env".into(), "prod".into())), "{have:?}");
    assert!(have.contains(&("team".into(), "red".into())), "{have:?}");
    assert!(!have.iter().any(|(k, _)| k == "zone"), "{have:?}");
    // Forced, it takes the key over (what the labels controller never does).
    nodes
        .patch(
            &name,
            &params.clone().force(),
            &Patch::Apply(apply(json!({"team": "blue"}))),
        )
        .await
        .unwrap();
    let node = nodes.get(&name).await.unwrap();
    assert!(labels(&node).contains(&("team".into(), "blue".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_accounts_image_pull_secrets_are_atomic_and_a_pods_are_keyed() {
    let sim = Sim::start(1).await;
    let client = sim.client().await;
    sim.ok(&["create", "namespace", "team-a"]).await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "team-a");
    let sa = |list: Value| {
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "builder", "namespace": "team-a"}, "imagePullSecrets": list})
    };
    let params = PatchParams::apply("orbdeck-credentials");
    accounts
        .patch(
            "builder",
            &params,
            &Patch::Apply(sa(json!([{"name": "harbor"}]))),
        )
        .await
        .unwrap();
    // A strategic merge patch replaces the list (no merge key), and takes it over.
    sim.ok(&[
        "patch",
        "serviceaccount",
        "builder",
        "-n",
        "team-a",
        "-p",
        r#"{"imagePullSecrets":[{"name":"harbor"},{"name":"mine"}]}"#,
    ])
    .await;
    let names = |sa: &ServiceAccount| -> Vec<String> {
        sa.image_pull_secrets
            .iter()
            .flatten()
            .map(|r| r.name.clone())
            .collect()
    };
    assert_eq!(
        names(&accounts.get("builder").await.unwrap()),
        ["harbor", "mine"]
    );
    // Applying one entry again conflicts on the whole list, not on an entry.
    let err = accounts
        .patch(
            "builder",
            &params,
            &Patch::Apply(sa(json!([{"name": "harbor"}]))),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("not an API error: {err}")
    };
    assert_eq!(status.code, 409);
    assert!(
        status.message.ends_with(".imagePullSecrets"),
        "{}",
        status.message
    );
    // A resourceVersion in the applied configuration is a precondition.
    let stale = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "builder", "namespace": "team-a", "resourceVersion": "1"},
        "imagePullSecrets": [{"name": "harbor"}, {"name": "mine"}]});
    let err = accounts
        .patch("builder", &params.clone().force(), &Patch::Apply(stale))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err}"
    );

    // A pod template's imagePullSecrets merge by name: two appliers, one entry each.
    let deployment = |entry: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "team-a"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}],
                        "imagePullSecrets": [{"name": entry}]}}}})
    };
    let deployments: Api<Deployment> = Api::namespaced(client, "team-a");
    for (manager, entry) in [("one", "a"), ("two", "b")] {
        deployments
            .patch(
                "web",
                &PatchParams::apply(manager),
                &Patch::Apply(deployment(entry)),
            )
            .await
            .unwrap();
    }
    let live = deployments.get("web").await.unwrap();
    let names: Vec<String> = live
        .spec
        .template
        .spec
        .and_then(|s| s.image_pull_secrets)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}
