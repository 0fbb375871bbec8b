//! Object health in current/status.yaml, by Argo CD's rules, rolled up worst-first per ORB: a
//! Deployment whose pods no node can take is Progressing (with the reason), and Healthy once it
//! can run.

use crate::common::Sim;
use crate::common::engine::{Running, push, put};
use crate::common::repos::Origin;
use orbdeck::health::Health;
use orbdeck::repo::status::OrbStatus;

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n";

fn web(selector: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n{selector}      containers:\n      - name: web\n        image: nginx:1.27\n"
    )
}

fn web_health(status: &OrbStatus) -> (Option<Health>, String) {
    let o = status
        .objects
        .iter()
        .find(|o| o.kind == "Deployment" && o.name == "web")
        .expect("the Deployment is in the status");
    (o.health, o.health_message.clone().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unschedulable_deployment_is_progressing_and_healthy_once_it_runs() {
    let sim = Sim::start(2).await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", ORB),
        (
            "desired/web.yaml",
            &web("      nodeSelector: {pool: gpu}\n"),
        ),
        (
            "desired/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\n",
        ),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    engine.sync().await;
    // The next syncs see what the cluster made of it: pods no node can take.
    let mut status = engine.sync().await;
    for _ in 0..20 {
        if web_health(&status).1.contains("available") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        status = engine.sync().await;
    }
    let (health, why) = web_health(&status);
    assert_eq!(health, Some(Health::Progressing), "{status:#?}");
    assert!(
        why.contains("0 of 2 updated replicas are available"),
        "{why}"
    );
    assert_eq!(
        status.health,
        Some(Health::Progressing),
        "the ORB rolls up its worst object"
    );
    let configmap = status
        .objects
        .iter()
        .find(|o| o.kind == "ConfigMap")
        .unwrap();
    assert_eq!(configmap.health, None, "a ConfigMap has no health");

    push(&origin, vec![put("desired/web.yaml", &web(""))]);
    let mut healthy = false;
    for _ in 0..40 {
        let status = engine.sync().await;
        if web_health(&status).0 == Some(Health::Healthy) && status.health == Some(Health::Healthy)
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(healthy, "the Deployment never became Healthy");
    engine.stop().await;
}

/// A Deployment whose container crashes in a loop (the sim's crash annotation) is Progressing, then
/// Degraded once its progress deadline passes; a crash-looping Pod is Degraded at once, with the
/// kubelet's reason; the ORB rolls up to Degraded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_is_degraded_and_a_rollout_past_its_deadline_too() {
    let sim = Sim::start(1).await;
    let origin = Origin::new();
    let crashing = web("").replace(
        "    metadata:\n      labels: {app: web}\n",
        "    metadata:\n      labels: {app: web}\n      annotations: {sim.orbdeck.io/crash-containers: web}\n",
    );
    let crashing = crashing.replace(
        "  replicas: 2\n",
        "  replicas: 2\n  progressDeadlineSeconds: 2\n",
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: worker\n  namespace: default\n  annotations: {sim.orbdeck.io/crash-containers: \"*\"}\nspec:\n  containers:\n  - name: work\n    image: busybox\n";
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/web.yaml", &crashing),
        ("desired/worker.yaml", pod),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    let mut seen_progressing = false;
    let mut last = None;
    for _ in 0..60 {
        let status = engine.sync().await;
        let (health, why) = web_health(&status);
        seen_progressing |= health == Some(Health::Progressing);
        let worker = status
            .objects
            .iter()
            .find(|o| o.name == "worker")
            .and_then(|o| Some((o.health?, o.health_message.clone().unwrap_or_default())));
        if health == Some(Health::Degraded)
            && worker.as_ref().is_some_and(|w| w.0 == Health::Degraded)
        {
            assert!(why.contains("exceeded its progress deadline"), "{why}");
            let (_, worker_why) = worker.unwrap();
            assert!(
                worker_why.starts_with("CrashLoopBackOff: back-off"),
                "{worker_why}"
            );
            assert_eq!(status.health, Some(Health::Degraded));
            assert!(
                seen_progressing,
                "the rollout was Progressing before its deadline"
            );
            engine.stop().await;
            return;
        }
        last = Some(status);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("never Degraded: {last:#?}");
}
