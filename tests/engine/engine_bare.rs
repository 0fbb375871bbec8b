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

/// An ORB of one Profile, for a cluster without its CRDs.
fn one_profile() -> Origin {
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1s\n  writeInterval: 0s\n"),
        ("desired/alice.yaml", "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n"),
    ]);
    origin
}

/// The webhooks on a free loopback port, which the sim calls (it reaches webhooks by URL).
const WEBHOOK_ON_LOOPBACK: [&str; 4] = [
    "--webhook-listen",
    "127.0.0.1:0",
    "--webhook-advertise-url",
    "https://127.0.0.1:0",
];

/// `orbdeck engine` on the sim with `extra` arguments, its stderr going to `stderr`.
fn engine(
    sim: &Sim,
    origin: &Origin,
    dir: &std::path::Path,
    stderr: &std::path::Path,
    extra: &[&str],
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args(["engine", "--repo", &origin.url(), "--listen", "127.0.0.1:0"])
        .args(WEBHOOK_ON_LOOPBACK)
        .args(extra)
        .arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--data")
        .arg(dir.join("data"))
        .env_remove("ORBDECK_LOG")
        .env_remove("ORBDECK_LOG_FORMAT")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_cluster_gets_a_namespace_and_the_missing_crds_are_named_with_their_fix() {
    let sim = Sim::start(0).await;
    let origin = one_profile();
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("engine.err");
    let started = Instant::now();
    let mut engine = engine(&sim, &origin, dir.path(), &stderr, &[]);
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

/// In a cluster the engine logs JSON (the deploy manifest passes `--log-format json`): every
/// line is one object a log collector can read, with the level and the message of the same
/// events a terminal sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_are_one_object_each() {
    let sim = Sim::start(0).await;
    let origin = one_profile();
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("engine.err");
    let mut engine = engine(
        &sim,
        &origin,
        dir.path(),
        &stderr,
        &["--log-format", "json"],
    );
    let said = eventually(10, || async {
        log(&stderr).contains("created the engine's namespace")
            && log(&stderr).contains("not served")
    })
    .await;
    let _ = engine.kill();
    let _ = engine.wait();
    let text = log(&stderr);
    assert!(said, "{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let created = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("created the engine's namespace"))
        })
        .unwrap_or_else(|| panic!("no message field naming the namespace: {text}"));
    assert!(
        created["level"].is_string() && created["timestamp"].is_string(),
        "{created}"
    );
    let missing = lines
        .iter()
        .find(|l| l.to_string().contains("not served"))
        .unwrap();
    assert_eq!(missing["level"], "WARN", "{missing}");
}
