//! ClusterLabels and NodePoolLabels through the engine, against the sim and a bare repo: every
//! node gets the cluster's labels and a pool's nodes the pool's; a change lands and a removed
//! label goes; a label a user set with `kubectl label` to another value is reported (in
//! current/labels.yaml and as a Warning Event) and left as it is; labels orbdeck did not set are
//! never touched, even when orbdeck stops wanting the same value; a node added later is labelled.

use crate::common;

use common::Sim;
use common::engine::{Running, gone, push, put};
use common::repos::Origin;
use k8s_openapi::api::core::v1::{Event, Node};
use kube::api::{Api, ListParams};
use kube_sim::testing::eventually;
use std::collections::BTreeMap;

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n";

const CLUSTER: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: ClusterLabel\nmetadata:\n  name: site\nspec:\n  labels:\n    example.com/site: ottawa\n    env: prod\n    team: blue\n";
const POOL: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: NodePoolLabel\nmetadata:\n  name: gpu\nspec:\n  pool: gpu\n  labels:\n    accelerator: nvidia\n";

/// The labels of every node, without the ones the sim's kubelet sets.
async fn node_labels(client: &kube::Client) -> BTreeMap<String, BTreeMap<String, String>> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    nodes
        .items
        .into_iter()
        .map(|n| {
            let labels = n
                .metadata
                .labels
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| !k.starts_with("kubernetes.io/") && !k.starts_with("node-role"))
                .collect();
            (n.metadata.name.unwrap_or_default(), labels)
        })
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_set_changed_and_removed_and_a_foreign_value_is_reported_not_overwritten() {
    let sim = Sim::start(3).await;
    let admin = sim.client().await;
    let names: Vec<String> = node_labels(&admin).await.into_keys().collect();
    let (a, b, c) = (&names[0], &names[1], &names[2]);
    // b is a gpu node; on a, a user set team=red and a label of their own.
    sim.ok(&["label", "node", b, "orbdeck.io/node-pool=gpu"])
        .await;
    sim.ok(&["label", "node", a, "team=red", "owner=ops"]).await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/labels/site.yaml", CLUSTER),
        ("desired/labels/gpu.yaml", POOL),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{status:?}");

    let site = [("example.com/site", "ottawa"), ("env", "prod")];
    let want = BTreeMap::from([
        (
            a.clone(),
            map(&[site[0], site[1], ("team", "red"), ("owner", "ops")]),
        ),
        (
            b.clone(),
            map(&[
                site[0],
                site[1],
                ("team", "blue"),
                ("orbdeck.io/node-pool", "gpu"),
                ("accelerator", "nvidia"),
            ]),
        ),
        (c.clone(), map(&[site[0], site[1], ("team", "blue")])),
    ]);
    let set = eventually(20, || async { node_labels(&admin).await == want }).await;
    assert!(set, "{:#?}", node_labels(&admin).await);

    // The foreign team=red is reported in current/labels.yaml and as a Warning Event.
    let reported = eventually(20, || async {
        origin.file("current/labels.yaml").is_some_and(|t| {
            t.contains(&format!("node: {a}"))
                && t.contains("key: team")
                && t.contains("value: red")
                && t.contains("kubectl-label")
        })
    })
    .await;
    assert!(reported, "{:?}", origin.file("current/labels.yaml"));
    let events = Api::<Event>::namespaced(admin.clone(), "default");
    let warned = eventually(20, || async {
        events.list(&ListParams::default()).await.is_ok_and(|l| {
            l.items.iter().any(|e| {
                e.reason.as_deref() == Some("LabelConflict")
                    && e.involved_object.name.as_deref() == Some("site")
                    && e.message.as_deref().is_some_and(|m| m.contains("\"red\""))
            })
        })
    })
    .await;
    assert!(warned, "no LabelConflict Event on ClusterLabel site");

    // Converged, conflict and all: the family's passes (woken by every node change) write
    // nothing, and the conflict is not tried again.
    let skip = ["leases", "events"];
    let before = sim.writes_except(&skip);
    sim.ok(&["label", "node", c, "unrelated=x"]).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        sim.writes_except(&skip),
        before + 1,
        "only kubectl's label write"
    );
    sim.ok(&["label", "node", c, "unrelated-"]).await;

    // Changed (env), removed (example.com/site), and the pool's label dropped.
    push(
        &origin,
        vec![
            put(
                "desired/labels/site.yaml",
                &CLUSTER
                    .replace("    example.com/site: ottawa\n", "")
                    .replace("env: prod", "env: staging"),
            ),
            gone("desired/labels/gpu.yaml"),
        ],
    );
    engine.sync().await;
    let want = BTreeMap::from([
        (
            a.clone(),
            map(&[("env", "staging"), ("team", "red"), ("owner", "ops")]),
        ),
        (
            b.clone(),
            map(&[
                ("env", "staging"),
                ("team", "blue"),
                ("orbdeck.io/node-pool", "gpu"),
            ]),
        ),
        (c.clone(), map(&[("env", "staging"), ("team", "blue")])),
    ]);
    let changed = eventually(20, || async { node_labels(&admin).await == want }).await;
    assert!(changed, "{:#?}", node_labels(&admin).await);

    // A node added later is labelled at once.
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: late\n  labels:\n    orbdeck.io/node-pool: gpu\n",
    )
    .await;
    let late = eventually(10, || async {
        node_labels(&admin).await.get("late")
            == Some(&map(&[
                ("env", "staging"),
                ("team", "blue"),
                ("orbdeck.io/node-pool", "gpu"),
            ]))
    })
    .await;
    assert!(late, "{:#?}", node_labels(&admin).await);

    // The ClusterLabel gone: only what orbdeck set goes; the user's labels stay.
    push(&origin, vec![gone("desired/labels/site.yaml")]);
    engine.sync().await;
    let want = BTreeMap::from([
        (a.clone(), map(&[("team", "red"), ("owner", "ops")])),
        (b.clone(), map(&[("orbdeck.io/node-pool", "gpu")])),
        (c.clone(), map(&[])),
        ("late".to_owned(), map(&[("orbdeck.io/node-pool", "gpu")])),
    ]);
    let removed = eventually(20, || async { node_labels(&admin).await == want }).await;
    assert!(removed, "{:#?}", node_labels(&admin).await);
    let cleared = eventually(20, || async {
        origin
            .file("current/labels.yaml")
            .is_some_and(|t| !t.contains("key: team"))
    })
    .await;
    assert!(cleared, "{:?}", origin.file("current/labels.yaml"));
    engine.stop().await;
}

/// The CRDs of `orbdeck manifests crds` whose names contain one of `plurals`.
fn crds_of(plurals: &[&str]) -> String {
    let all = orbdeck::model::crds_yaml();
    let docs: Vec<&str> = all
        .split("\n---\n")
        .filter(|d| {
            plurals
                .iter()
                .any(|p| d.contains(&format!("name: {p}.orbdeck.io")))
        })
        .collect();
    assert_eq!(docs.len(), plurals.len(), "every CRD asked for exists");
    docs.join("\n---\n")
}

/// On a cluster without Kubeflow (no Profile kind) the labels family still runs: its CRDs
/// installed with kubectl after the engine started, the family starts by itself and labels
/// the nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_start_without_kubeflow_once_their_crds_are_installed() {
    let sim = Sim::start(2).await;
    let admin = sim.client().await;
    let origin = Origin::new();
    origin.seed(&[("orb.yaml", ORB), ("desired/labels/site.yaml", CLUSTER)]);
    let mut engine = Running::start(&sim, &origin).await;
    let status = engine.sync().await;
    assert_ne!(
        status.result, "Synced",
        "a ClusterLabel without its CRD: {status:?}"
    );
    sim.ok_stdin(
        &["apply", "-f", "-"],
        &crds_of(&["clusterlabels", "nodepoollabels"]),
    )
    .await;
    assert!(
        !sim.kubectl(&["get", "crd", "profiles.kubeflow.org"])
            .await
            .status
            .success(),
        "no Kubeflow here"
    );
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{status:?}");
    let labelled = eventually(40, || async {
        node_labels(&admin)
            .await
            .values()
            .all(|l| l.get("env").map(String::as_str) == Some("prod"))
    })
    .await;
    assert!(labelled, "{:?}", node_labels(&admin).await);
    engine.stop().await;
}
