//! The engine against the sim and a bare repo: staged apply, status written back to current/,
//! no writes in steady state, changes and deletions from git, fenced prune, invalid desired state.

use crate::common;

use common::Sim;
use common::engine::{Running, gone, push, put};
use common::repos::Origin;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use orbdeck::engine::sync::Action;

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n";

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team-a\ndata:\n  k: \"{value}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_applies_reports_and_converges() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", ORB),
        (
            "desired/ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n",
        ),
        (
            "desired/a.yaml",
            &format!("{}---\n{}", cm("a1", "1"), cm("a2", "1")),
        ),
        (
            "desired/b.yaml",
            &format!("{}---\n{}", cm("b1", "1"), cm("b2", "1")),
        ),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    let (status, actions) = engine.sync_with_actions().await;
    assert_eq!(status.result, "Synced", "{status:?}");
    assert_eq!(
        status
            .objects
            .iter()
            .filter(|o| o.outcome == "applied")
            .count(),
        5,
        "{status:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|(_, a)| *a == Action::Created)
            .count(),
        5,
        "{actions:?}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
    let a1 = cms.get("a1").await.unwrap();
    assert_eq!(a1.metadata.labels.unwrap()["orbdeck.io/orb"], "alpha");

    // The status is pushed to current/status.yaml.
    let (_d, reader) = origin.clone_repo("reader");
    let tip = reader.fetch().unwrap().unwrap();
    let written =
        orbdeck::repo::status::OrbStatus::read(&reader, tip).expect("current/status.yaml");
    assert_eq!(written.result, "Synced");

    // Steady state: a second sync writes nothing to the API, and nothing new to git.
    let writes = sim.writes();
    let (_, actions) = engine.sync_with_actions().await;
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(sim.writes(), writes, "a steady-state sync wrote to the API");
    assert_eq!(
        engine.handle.state.borrow().writes,
        1,
        "no second status commit"
    );

    // A change in git reaches the cluster; a removed object is pruned (1 of 5: within 30%).
    push(
        &origin,
        vec![put(
            "desired/a.yaml",
            &format!("{}---\n{}", cm("a1", "2"), cm("a2", "1")),
        )],
    );
    let status = engine.sync().await;
    assert_eq!(
        cms.get("a1").await.unwrap().data.unwrap()["k"],
        "2",
        "{status:?}"
    );
    push(&origin, vec![put("desired/b.yaml", &cm("b1", "1"))]);
    let (status, actions) = engine.sync_with_actions().await;
    assert!(
        actions
            .iter()
            .any(|(id, a)| id.name == "b2" && *a == Action::Pruned),
        "{actions:?}"
    );
    assert!(!status.objects.iter().any(|o| o.name == "b2"), "{status:?}");
    assert!(cms.get_opt("b2").await.unwrap().is_none());

    // An invalid desired/ applies nothing and says why, with file:line.
    push(
        &origin,
        vec![put(
            "desired/a.yaml",
            &format!("{}  bad: [\n", cm("a1", "3")),
        )],
    );
    let writes = sim.writes();
    let status = engine.sync().await;
    assert_eq!(status.result, "Invalid", "{status:?}");
    assert!(
        status
            .errors
            .iter()
            .any(|e| e.starts_with("desired/a.yaml:")),
        "{status:?}"
    );
    assert_eq!(sim.writes(), writes);

    // Emptying desired/ deletes nothing and says so.
    push(
        &origin,
        vec![
            gone("desired/a.yaml"),
            gone("desired/b.yaml"),
            gone("desired/ns.yaml"),
        ],
    );
    let status = engine.sync().await;
    assert!(
        status.errors.iter().any(|e| e.contains("zero objects")),
        "{status:?}"
    );
    assert!(cms.get_opt("a1").await.unwrap().is_some());
    engine.stop().await;
}

/// Deleting 11 of 12 owned objects is held by the fence and reported with the objects held; a
/// small ORB losing one object of three is pruned (the fence needs more than minCount deletions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_over_the_fraction_is_fenced() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    let many: String = (0..11)
        .map(|i| format!("{}---\n", cm(&format!("c{i}"), "1")))
        .collect();
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n";
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/ns.yaml", ns),
        ("desired/many.yaml", &many),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    assert_eq!(engine.sync().await.result, "Synced");
    push(&origin, vec![gone("desired/many.yaml")]);
    let status = engine.sync().await;
    let held = status
        .errors
        .iter()
        .find(|e| e.starts_with("prune held back"))
        .unwrap_or_else(|| panic!("not held: {status:?}"));
    assert!(
        held.contains("deleting 11 of 12")
            && held.contains("v1 ConfigMap/c0 (team-a)")
            && held.contains("and 1 more"),
        "{held}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
    assert!(cms.get_opt("c9").await.unwrap().is_some());

    let names = || async {
        let mut names: Vec<String> = cms
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .filter(|n| n.starts_with('c'))
            .collect();
        names.sort();
        names
    };
    // Nine of twelve: over the fraction, but not more than minCount (10): pruned.
    let two = format!("{}---\n{}", cm("c0", "1"), cm("c1", "1"));
    push(&origin, vec![put("desired/many.yaml", &two)]);
    let status = engine.sync().await;
    assert!(status.errors.is_empty(), "{status:?}");
    assert_eq!(names().await, ["c0", "c1"]);
    // One of three (a small ORB losing one object): pruned too.
    push(&origin, vec![put("desired/many.yaml", &cm("c0", "1"))]);
    let status = engine.sync().await;
    assert!(status.errors.is_empty(), "{status:?}");
    assert_eq!(names().await, ["c0"]);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_repo_makes_the_engine_not_ready_until_it_is_back() {
    let sim = Sim::start(0).await;
    let origin = Origin::new();
    origin.seed(&[("orb.yaml", ORB)]);
    let mut engine = Running::start(&sim, &origin).await;
    engine.sync().await;
    assert_eq!(engine.handle.state.borrow().readiness(), Ok(()));

    let away = origin.path().with_extension("moved");
    std::fs::rename(origin.path(), &away).unwrap();
    engine.handle.sync_now.notify_one();
    let mut state = engine.handle.state.clone();
    let not_ready = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        state.wait_for(|s| s.readiness().is_err()),
    )
    .await
    .expect("not ready within 30 s")
    .unwrap()
    .readiness()
    .unwrap_err();
    assert!(
        not_ready.starts_with("cannot fetch the ORB repo"),
        "{not_ready}"
    );

    std::fs::rename(&away, origin.path()).unwrap();
    engine.handle.sync_now.notify_one();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        state.wait_for(|s| s.readiness().is_ok()),
    )
    .await
    .expect("ready again within 30 s")
    .unwrap();
}
