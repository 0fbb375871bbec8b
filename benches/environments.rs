//! Benchmark of the orchestrator against the sim (4 nodes, the sim's test timings: a pod starts
//! 100 ms after it is bound): the latency from `POST /start` to the runner pod Running (50
//! Environments one after another, p50/p99), and `/start` throughput with 50 concurrent clients
//! (250 Environments), with the time until all their runner pods run (the family applies their
//! 750 objects one after another; in a dev build each sim write costs more the more objects the
//! sim holds). The API and the environments family run in-process with the engine's identity, as
//! `orbdeck engine --orchestrator-listen` runs them. Run with `cargo bench --bench environments
//! --profile dev` (figures of a dev build).

#[path = "../tests/common/http.rs"]
#[allow(dead_code)]
mod http;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use kube_sim::testing::{Sim, eventually};
use orbdeck::controllers::environments::api::{self, ApiOptions};
use orbdeck::controllers::runtime::running::Controllers;
use orbdeck::model::{Environment, ProfileSettings};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "bench-token";

const TEMPLATE: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: envs
---
apiVersion: orbdeck.io/v1alpha1
kind: AddonTemplate
metadata:
  name: runner
spec:
  namespaceSelector: {}
  environment:
    languages: [nodejs]
  manifests: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {{replId}}
    spec:
      replicas: 1
      selector:
        matchLabels: {app: {{replId}}}
      template:
        metadata:
          labels: {app: {{replId}}}
        spec:
          containers:
            - {name: runner, image: example.org/runner:latest, ports: [{containerPort: 3001}]}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: {{replId}}
    spec:
      selector: {app: {{replId}}}
      ports: [{name: ws, port: 3001, targetPort: 3001}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: {{replId}}
    spec:
      rules:
        - host: {{replId}}.example.org
          http:
            paths:
              - path: /
                pathType: Prefix
                backend: {service: {name: {{replId}}, port: {number: 3001}}}
"#;

/// When each Environment's runner pod was first seen Running.
#[derive(Default)]
struct Running {
    at: Mutex<HashMap<String, Instant>>,
    changed: Notify,
}

impl Running {
    async fn wait(&self, name: &str) -> Instant {
        loop {
            let notified = self.changed.notified();
            if let Some(at) = self.at.lock().unwrap().get(name) {
                return *at;
            }
            notified.await;
        }
    }

    fn count(&self) -> usize {
        self.at.lock().unwrap().len()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // 110 pods fit a sim node: 4 nodes hold the 301 runners.
    let sim = Sim::start(4).await;
    let root = env!("CARGO_MANIFEST_DIR");
    sim.ok(&["apply", "-f", &format!("{root}/assets/crds/crds.yaml")])
        .await;
    let admin = sim.client().await;
    let envs: Api<Environment> = Api::namespaced(admin.clone(), "envs");
    assert!(
        eventually(20, || async {
            envs.list(&Default::default()).await.is_ok()
        })
        .await,
        "Environments are served"
    );
    sim.ok_stdin(&["apply", "-f", "-"], TEMPLATE).await;
    orbdeck::engine::identity::install(&admin, json!([]))
        .await
        .unwrap();
    let token = orbdeck::engine::identity::token(&admin, 3600)
        .await
        .unwrap();
    let engine = sim.server.client_with_token(0, &token).await.unwrap();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "orbdeck-orchestrator-token"},
        "stringData": {"token": TOKEN},
    }))
    .unwrap();
    Api::<Secret>::namespaced(admin.clone(), "orbdeck-system")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let _controllers = Controllers::start(
        engine.clone(),
        ProfileSettings::default(),
        Arc::new(orbdeck::metrics::Metrics::new()),
        Duration::from_secs(30),
    );
    let stop = CancellationToken::new();
    let addr = api::start(
        engine,
        ApiOptions {
            listen: ([127, 0, 0, 1], 0).into(),
            namespace: "envs".into(),
            token_namespace: "orbdeck-system".into(),
            token_secret: "orbdeck-orchestrator-token".into(),
            read_timeout: api::READ_TIMEOUT,
        },
        stop.clone(),
    )
    .await
    .unwrap();

    // Every runner pod's first Running, from one watch.
    let running = Arc::new(Running::default());
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "envs");
    let seen = running.clone();
    tokio::spawn(async move {
        let config = watcher::Config::default().labels("orbdeck.io/environment");
        let mut events = watcher::watcher(pods, config).boxed();
        while let Some(Ok(event)) = events.next().await {
            let (watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event else {
                continue;
            };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            let env = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("orbdeck.io/environment"));
            if let (Some("Running"), Some(env)) = (phase, env) {
                seen.at
                    .lock()
                    .unwrap()
                    .entry(env.clone())
                    .or_insert_with(Instant::now);
                seen.changed.notify_waiters();
            }
        }
    });
    // Let the caches fill and the family make its first pass.
    let warm = http::post_json(
        addr,
        "/start",
        TOKEN,
        &json!({"replId": "warm", "language": "nodejs"}),
    )
    .await;
    assert_eq!(warm.status, 200, "{:?}", warm.json());
    running.wait("warm").await;

    let mut latencies = Vec::new();
    for i in 0..50 {
        let name = format!("lat-{i}");
        let started = Instant::now();
        let a = http::post_json(
            addr,
            "/start",
            TOKEN,
            &json!({"replId": name, "language": "nodejs"}),
        )
        .await;
        assert_eq!(a.json()["podCreated"], true, "{:?}", a.json());
        let at = tokio::time::timeout(Duration::from_secs(60), running.wait(&name))
            .await
            .expect("the runner pod runs within 60 s");
        latencies.push(at - started);
    }
    latencies.sort();
    println!(
        "/start → runner pod Running, 50 one after another: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );

    const CLIENTS: usize = 50;
    const PER_CLIENT: usize = 5;
    let before = running.count();
    let started = Instant::now();
    let clients = (0..CLIENTS).map(|c| {
        tokio::spawn(async move {
            let mut times = Vec::new();
            for i in 0..PER_CLIENT {
                let t = Instant::now();
                let a = http::post_json(
                    addr,
                    "/start",
                    TOKEN,
                    &json!({"replId": format!("t-{c}-{i}"), "language": "nodejs"}),
                )
                .await;
                assert_eq!(a.status, 200, "{:?}", a.json());
                times.push(t.elapsed());
            }
            times
        })
    });
    let mut times: Vec<Duration> = futures::future::join_all(clients)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    let answered = started.elapsed();
    times.sort();
    let total = CLIENTS * PER_CLIENT;
    println!(
        "/start with {CLIENTS} concurrent clients: {total} in {answered:?} = {:.0} starts/s; \
         request p50 {:?}, p99 {:?}",
        total as f64 / answered.as_secs_f64(),
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    let all = eventually(300, || async { running.count() >= before + total }).await;
    assert!(
        all,
        "every runner pod runs within 300 s ({} of {total} do)",
        running.count() - before
    );
    println!(
        "all {total} runner pods Running {:?} after the first /start",
        started.elapsed()
    );
    println!("(a dev build on a shared 2-core machine; the sim starts a bound pod after 100 ms)");
    stop.cancel();
}
