//! `orbdeck engine` on a bare cluster, as a new user starts it: within seconds its stderr says
//! what it did about its missing namespace and which kinds the cluster does not serve, with the
//! command that installs them; after the CRDs are installed the next sync says what it created.

use crate::common;

use common::Sim;
use common::repos::Origin;
use kube_sim::testing::eventually;
use std::time::{Duration, Instant};

/// The engine's stderr so far.
fn log(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_cluster_gets_a_namespace_and_the_missing_crds_are_named_with_their_fix() {
    let sim = Sim::start(0).await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1s\n  writeInterval: 0s\n"),
        ("desired/alice.yaml", "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("engine.err");
    let started = Instant::now();
    let mut engine = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args(["engine", "--repo", &origin.url(), "--listen", "127.0.0.1:0"])
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .env("ORBDECK_DATA", dir.path().join("data"))
        .env_remove("ORBDECK_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let named = eventually(10, || async {
        let text = log(&stderr);
        text.contains("created the engine's namespace")
            && text.contains("not served")
            && text.contains("orbdeck manifests crds | kubectl apply")
    })
    .await;
    let took = started.elapsed();
    let namespace = sim.kubectl(&["get", "namespace", "orbdeck-system"]).await;
    if !named || took > Duration::from_secs(5) {
        let _ = engine.kill();
        panic!("after {took:?} the engine said:\n{}", log(&stderr));
    }
    assert!(namespace.status.success(), "the namespace was made");

    // With the CRDs installed, the next sync says what it created, at INFO.
    let crds = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args(["manifests", "crds"])
        .output()
        .unwrap();
    sim.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        &String::from_utf8(crds.stdout).unwrap(),
    )
    .await;
    let created = eventually(30, || async { log(&stderr).contains("1 created") }).await;
    let _ = engine.kill();
    let _ = engine.wait();
    assert!(created, "{}", log(&stderr));
}
