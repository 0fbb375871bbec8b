//! Benchmark of the admission webhooks, printing figures against the webhook issue's goal (p99
//! ≤ 5 ms added by the webhook): pods created (server-side dry run, so nothing accumulates)
//! through the sim at a steady 500 requests/s with 50 PodSettings in the team's namespace, with
//! the webhooks configured and without, and the webhook's own answer time measured directly.
//! Run with `cargo bench --bench admission [-- RATE SECONDS]`.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube_sim::{Options, Server};
use orbdeck::controllers::admission::{Webhook, WebhookOptions};
use serde_json::json;
use std::time::{Duration, Instant};

/// The allocator of the `orbdeck` binary, so the figures are the engine's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn namespaces() -> Vec<serde_json::Value> {
    ["team-a", "alice"]
        .iter()
        .map(|n| {
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": n, "labels": {"orbdeck.io/team": "team-a"}}})
        })
        .collect()
}

/// 50 PodSettings, half of them matching the pods.
fn settings() -> Vec<serde_json::Value> {
    (0..50)
        .map(|i| {
            let tier = if i % 2 == 0 { "gpu" } else { "cpu" };
            json!({"apiVersion": "orbdeck.io/v1alpha1", "kind": "PodSetting",
                   "metadata": {"name": format!("s-{i:02}"), "namespace": "team-a"},
                   "spec": {"selector": {"matchLabels": {"tier": tier}},
                            "env": [{"name": format!("S{i}"), "value": "1"}],
                            "labels": {format!("s{i}"): "yes"}}})
        })
        .collect()
}

fn pod(i: usize) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("p-{i}"), "namespace": "alice", "labels": {"tier": "gpu"}},
        "spec": {"containers": [{"name": "main", "image": "jupyter"}]}
    }))
    .unwrap()
}

async fn apply(client: &kube::Client, objects: Vec<serde_json::Value>) {
    let params = kube::api::PatchParams::apply("bench").force();
    for o in objects {
        let api_version = o["apiVersion"].as_str().unwrap().to_owned();
        let kind = o["kind"].as_str().unwrap().to_owned();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &kind);
        let (ar, caps) = kube::discovery::pinned_kind(client, &gvk).await.unwrap();
        let name = o["metadata"]["name"].as_str().unwrap().to_owned();
        let api: Api<kube::api::DynamicObject> = match o["metadata"]["namespace"].as_str() {
            Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
                Api::namespaced_with(client.clone(), ns, &ar)
            }
            _ => Api::all_with(client.clone(), &ar),
        };
        api.patch(&name, &params, &kube::api::Patch::Apply(&o))
            .await
            .unwrap();
    }
}

/// Creates pods at `rate` per second for `seconds`, returning each request's latency (and
/// printing the slowest of each second, which tells a stall from a steady cost).
async fn load(client: &kube::Client, rate: u32, seconds: u64) -> Vec<Duration> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "alice");
    let params = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut tasks = Vec::new();
    let total = rate as usize * seconds as usize;
    for i in 0..total {
        tick.tick().await;
        let (pods, params) = (pods.clone(), params.clone());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let created = pods.create(&params, &pod(i)).await.unwrap();
            assert!(created.metadata.labels.is_some());
            started.elapsed()
        }));
    }
    let mut out = Vec::with_capacity(total);
    let mut per_sec = vec![Duration::ZERO; seconds as usize];
    for (i, t) in tasks.into_iter().enumerate() {
        let d = t.await.unwrap();
        let sec = i / rate as usize;
        per_sec[sec] = per_sec[sec].max(d);
        out.push(d);
    }
    let worst: Vec<String> = (per_sec.iter())
        .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
        .collect();
    println!(
        "  the slowest request of each second, ms: {}",
        worst.join(" ")
    );
    out.sort();
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rate = args.first().copied().unwrap_or(500) as u32;
    let seconds = args.get(1).copied().unwrap_or(10);
    let server = Server::start(Options::default()).await.expect("sim starts");
    let client = server.client_for(0).await.unwrap();
    apply(&client, serde_yaml_docs(&orbdeck::model::crds_yaml())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    apply(&client, namespaces()).await;
    apply(
        &client,
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "orbdeck-system"}})],
    )
    .await;
    apply(&client, settings()).await;

    let base = load(&client, rate, seconds).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let webhook = Webhook::start(
        client.clone(),
        WebhookOptions::new(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            Some("https://127.0.0.1:0".into()),
            "orbdeck-system",
        ),
        stop.clone(),
    )
    .await
    .unwrap();
    webhook.configure(&Default::default());
    // Until a pod comes back with its PodSettings.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "alice");
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    loop {
        let p = pods.create(&dry, &pod(usize::MAX)).await.unwrap();
        let applied = p
            .metadata
            .annotations
            .unwrap_or_default()
            .get("orbdeck.io/applied-podsettings")
            .is_some_and(|a| a.split(',').count() == 25);
        if applied {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hooked = load(&client, rate, seconds).await;
    println!(
        "pod CREATE (dry run) through the sim at {rate}/s for {seconds}s, 50 PodSettings (25 match):"
    );
    for (what, d) in [("no webhooks", &base), ("with webhooks", &hooked)] {
        println!(
            "  {what:<14} p50 {}  p99 {}  max {}  ({} requests)",
            ms(pct(d, 0.5)),
            ms(pct(d, 0.99)),
            ms(*d.last().unwrap()),
            d.len()
        );
    }
    let added = |p| pct(&hooked, p).saturating_sub(pct(&base, p));
    println!(
        "  added by the three webhooks: p50 {}  p99 {}  (goal: p99 ≤ 5 ms)",
        ms(added(0.5)),
        ms(added(0.99))
    );
    stop.cancel();
}

/// The documents of a multi-document YAML text as JSON.
fn serde_yaml_docs(text: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(text).unwrap()
}
