//! Sync waves (`orbdeck.io/sync-wave`): a later wave waits until the earlier one is applied and
//! healthy, says so in current/status.yaml, goes ahead once a second actor (kubectl) makes the
//! earlier wave healthy, and fails after `engine.syncWaveTimeout`, leaving its objects as they
//! were.

use crate::common::Sim;
use crate::common::engine::{Running, push, put};
use crate::common::repos::Origin;
use orbdeck::repo::status::{ObjectOutcome, OrbStatus};
use orbdeck::validate::{ModelSchemas, validate_text};
use std::path::Path;

fn orb(timeout: &str) -> String {
    format!(
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n  syncWaveTimeout: {timeout}\n"
    )
}

/// A Deployment (wave 0, the default) that only nodes labelled `pool: POOL` can run.
fn db(pool: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\n  namespace: default\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: db}}\n  template:\n    metadata:\n      labels: {{app: db}}\n    spec:\n      nodeSelector: {{pool: {pool}}}\n      containers:\n      - name: db\n        image: postgres:17\n"
    )
}

/// A ConfigMap in wave 1, after the Deployment.
fn config(version: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: default\n  annotations:\n    orbdeck.io/sync-wave: \"1\"\ndata:\n  version: \"{version}\"\n"
    )
}

fn config_outcome(status: &OrbStatus) -> &ObjectOutcome {
    status
        .objects
        .iter()
        .find(|o| o.name == "app-config")
        .expect("the ConfigMap is in the status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_wave_waits_for_the_earlier_one_to_be_healthy_and_fails_after_the_timeout() {
    let sim = Sim::start(2).await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", &orb("5m")),
        ("desired/db.yaml", &db("gpu")),
        ("desired/app.yaml", &config("1")),
    ]);
    let mut engine = Running::start(&sim, &origin).await;

    // No node is in pool gpu: the Deployment is Progressing, the ConfigMap waits for it.
    let status = engine.sync().await;
    let held = config_outcome(&status);
    assert_eq!(held.outcome, "waiting", "{status:#?}");
    let message = held.message.as_deref().unwrap_or_default();
    assert!(
        message
            .starts_with("wave 1 waits for wave 0: apps/v1 Deployment/db (default) is Progressing"),
        "{message}"
    );
    assert_eq!(status.result, "Waiting");
    let get = sim.kubectl(&["get", "configmap", "app-config"]).await;
    assert!(!get.status.success(), "wave 1 is not applied yet");

    // Someone labels a node into the pool: the Deployment becomes available, then wave 1 goes.
    let nodes = sim.kubectl(&["get", "nodes", "-o", "name"]).await;
    let node = String::from_utf8(nodes.stdout).unwrap();
    let node = node.lines().next().expect("a node").to_string();
    sim.kubectl(&["label", &node, "pool=gpu"]).await;
    let mut status = engine.sync().await;
    for _ in 0..10 {
        if config_outcome(&status).outcome == "applied" {
            break;
        }
        status = engine.sync().await;
    }
    assert_eq!(config_outcome(&status).outcome, "applied", "{status:#?}");
    assert_eq!(status.result, "Synced");
    let value = sim
        .kubectl(&[
            "get",
            "configmap",
            "app-config",
            "-o",
            "jsonpath={.data.version}",
        ])
        .await;
    assert_eq!(String::from_utf8_lossy(&value.stdout), "1");

    // A rollout no node can take, with a short timeout: wave 1 fails and keeps its old data.
    push(
        &origin,
        vec![
            put("orb.yaml", &orb("2s")),
            put("desired/db.yaml", &db("none")),
            put("desired/app.yaml", &config("2")),
        ],
    );
    let status = engine.sync().await;
    let failed = config_outcome(&status);
    assert_eq!(failed.outcome, "failed", "{status:#?}");
    let message = failed.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("wave 1 waits for wave 0: not healthy within 2s: apps/v1 Deployment/db"),
        "{message}"
    );
    assert_eq!(status.result, "Partial");
    let value = sim
        .kubectl(&[
            "get",
            "configmap",
            "app-config",
            "-o",
            "jsonpath={.data.version}",
        ])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&value.stdout),
        "1",
        "a held wave is not applied"
    );
    engine.stop().await;
}

#[test]
fn a_sync_wave_that_is_not_an_integer_is_refused_with_its_line() {
    let text = config("1").replace("\"1\"\ndata", "\"first\"\ndata");
    let report = validate_text(
        Path::new("desired/app.yaml"),
        text.as_bytes(),
        &ModelSchemas,
    );
    let errors: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        errors.iter().any(|e| e.starts_with("desired/app.yaml:7:")
            && e.contains("metadata.annotations[\"orbdeck.io/sync-wave\"]")
            && e.contains("\"first\" is not an integer")),
        "{errors:#?}"
    );
}
