//! `orbdeck bootstrap` on a bare sim and an empty bare repo, as a new user runs it: skeleton,
//! identity, CRDs, engine manifests (also committed under desired/orbdeck-system/), the engine's
//! first sync, the fleet entry; a failed wait names its step and a second run finishes the job;
//! a run on a finished ORB changes nothing and says so. The sim's pods are simulated, so the test
//! runs the engine process itself with the Deployment's ServiceAccount token.

use crate::common::Sim;
use crate::common::repos::Origin;
use crate::run::{orbdeck_with, text};
use kube_sim::testing::eventually;
use std::path::Path;

fn bootstrap(home: &Path, sim: &Sim, origin: &Origin, wait: &str) -> std::process::Output {
    orbdeck_with(
        home,
        &[
            "bootstrap",
            "alpha",
            "--repo",
            &origin.url(),
            "--kubeconfig",
            sim.kubeconfig.to_str().unwrap(),
            "--context",
            "sim-1",
            "--wait",
            wait,
        ],
        "",
        &[("ORBDECK_LOG", "error")],
    )
}

fn bootstrap_commits(origin: &Origin) -> usize {
    let repo = git2::Repository::open_bare(origin.path()).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/main").unwrap();
    walk.filter_map(Result::ok)
        .filter(|id| {
            repo.find_commit(*id)
                .ok()
                .and_then(|c| c.message().ok().map(|m| m.starts_with("orbdeck bootstrap")))
                .unwrap_or(false)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_takes_a_bare_cluster_and_an_empty_repo_to_a_running_orb() {
    let sim = Sim::start(1).await;
    let home = tempfile::tempdir().unwrap();
    let origin = Origin::new();

    // No engine runs yet: everything is set up, then the wait for the engine fails, naming it.
    let first = tokio::task::spawn_blocking({
        let (home, sim_kc, origin_url) = (
            home.path().to_path_buf(),
            sim.kubeconfig.clone(),
            origin.url(),
        );
        move || {
            orbdeck_with(
                &home,
                &[
                    "bootstrap",
                    "alpha",
                    "--repo",
                    &origin_url,
                    "--kubeconfig",
                    sim_kc.to_str().unwrap(),
                    "--context",
                    "sim-1",
                    "--wait",
                    "2s",
                ],
                "",
                &[("ORBDECK_LOG", "error")],
            )
        }
    })
    .await
    .unwrap();
    let said = text(&first);
    assert!(!first.status.success(), "{said}");
    for step in [
        "✓ cluster: reached Kubernetes",
        "✓ identity: generated an age identity, stored only as Secret orbdeck-system/orbdeck-age-identity",
        "✓ repo: the repo was empty: committed orb.yaml, desired/, README.md",
        "✓ CRDs: applied",
        "✓ engine manifests: applied",
        "✓ self-management: committed desired/orbdeck-system/engine.yaml and crds.yaml",
    ] {
        assert!(said.contains(step), "missing {step:?} in:\n{said}");
    }
    assert!(
        said.contains("first sync: no current/status.yaml after 2 s")
            || said.contains(
                "engine: Deployment orbdeck-system/orbdeck-engine has no available replica"
            ),
        "{said}"
    );
    assert!(
        !home.path().join("fleet.yaml").exists()
            || !std::fs::read_to_string(home.path().join("fleet.yaml"))
                .unwrap()
                .contains("alpha")
    );

    // The engine, as its Deployment would run it: the ServiceAccount's token and RBAC.
    let admin = sim.client().await;
    let token = orbdeck::engine::identity::token(&admin, 3600)
        .await
        .unwrap();
    let kubeconfig = home.path().join("engine.kubeconfig");
    let yaml = sim
        .server
        .kubeconfig_yaml()
        .replace(sim.server.cluster().token(), &token);
    std::fs::write(&kubeconfig, yaml).unwrap();
    let mut engine = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args([
            "engine",
            "--repo",
            &origin.url(),
            "--listen",
            "127.0.0.1:0",
            "--webhook-listen",
            "127.0.0.1:0",
            "--webhook-advertise-url",
            "https://127.0.0.1:0",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .env("ORBDECK_DATA", home.path().join("engine-data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(home.path().join("engine.err")).unwrap())
        .spawn()
        .unwrap();

    // Run again: the rest is done, what was done is not done twice.
    let commits = bootstrap_commits(&origin);
    let second = bootstrap(home.path(), &sim, &origin, "60s");
    let said = text(&second);
    let engine_log = std::fs::read_to_string(home.path().join("engine.err")).unwrap_or_default();
    assert!(second.status.success(), "{said}\nengine:\n{engine_log}");
    for step in [
        "· identity: Secret orbdeck-system/orbdeck-age-identity exists",
        "· repo: orb.yaml exists and lists the engine's recipient",
        "· self-management: desired/orbdeck-system/ already holds the engine's manifests",
        "✓ engine: Deployment orbdeck-system/orbdeck-engine available",
        "✓ first sync: the engine wrote current/status.yaml",
        "✓ fleet: added alpha to",
    ] {
        assert!(said.contains(step), "missing {step:?} in:\n{said}");
    }
    assert_eq!(
        bootstrap_commits(&origin),
        commits,
        "no bootstrap commit the second time"
    );
    let status = {
        let (_d, repo) = origin.clone_repo("status reader");
        let tip = repo.fetch().unwrap();
        String::from_utf8(repo.file(tip, "current/status.yaml").unwrap().unwrap()).unwrap()
    };
    assert!(
        status.contains("result: Synced"),
        "the engine's first sync:\n{status}"
    );
    // The engine manages its own manifests: it applied desired/orbdeck-system/ as its own.
    assert!(
        eventually(30, || async {
            let out = sim
                .kubectl(&[
                    "get",
                    "deployment",
                    "orbdeck-engine",
                    "-n",
                    "orbdeck-system",
                    "-o",
                    "jsonpath={.metadata.labels.orbdeck\\.io/orb}",
                ])
                .await;
            String::from_utf8_lossy(&out.stdout) == "alpha"
        })
        .await,
        "the engine did not take over its own Deployment:\n{}",
        std::fs::read_to_string(home.path().join("engine.err")).unwrap_or_default()
    );

    // A third run on the finished ORB changes nothing and says so.
    let third = bootstrap(home.path(), &sim, &origin, "60s");
    let said = text(&third);
    assert!(third.status.success(), "{said}");
    for word in ["generated", "committed", "added alpha"] {
        assert!(
            !said.contains(word),
            "{word:?} in a run with nothing to do:\n{said}"
        );
    }
    assert!(said.contains("· fleet: alpha is in"), "{said}");
    assert!(said.contains("· CRDs: all"), "{said}");
    assert_eq!(bootstrap_commits(&origin), commits);
    let fleet = std::fs::read_to_string(home.path().join("fleet.yaml")).unwrap();
    assert_eq!(fleet.matches("name: alpha").count(), 1, "{fleet}");
    let _ = engine.kill();
    let _ = engine.wait();
}
