//! The sim through the official JavaScript client (`@kubernetes/client-node` 1.x on Node):
//! tests/js/client-node.mjs runs CRUD, the three patch types, server-side apply, a watch and
//! seed 003's Deployment/Service/Ingress flow against a fresh sim, one line per step.

use kube_sim::testing::Sim;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long the whole script may take (it needs a few seconds).
const LIMIT: Duration = Duration::from_secs(180);

/// The command that installs the client (scripts/test runs it).
const INSTALL: &str = "npm ci --prefix crates/kube-sim/tests/js --no-audit --no-fund";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_node_crud_patch_apply_watch_and_seed_003() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let client = dir.join("node_modules/@kubernetes/client-node/package.json");
    assert!(
        client.exists(),
        "{} is missing: install the JavaScript client with `{INSTALL}` from the repository root \
         (scripts/test does), then run this test again",
        client.display()
    );

    let sim = Sim::start(2).await;
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("client-node.mjs"))
        .current_dir(&dir)
        .env("KUBECONFIG", &sim.kubeconfig)
        .env("NODE_NO_WARNINGS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("node runs ({e}); install Node.js 20+ (scripts/test does)"));
    let out = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("client-node.mjs did not finish within {LIMIT:?}"))
        .expect("node finishes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client-node.mjs failed ({:?}) after {:?}:\n{stdout}\n{stderr}",
        out.status.code(),
        started.elapsed()
    );
    assert!(
        stdout.contains("all steps passed"),
        "client-node.mjs ended early:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}
