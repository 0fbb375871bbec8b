//! Benchmarks of the embedded API server, printing figures against the foundation issue's goals:
//! 10k creates, listing 10k, a watch fanned out to 50 watchers, 1k applies (kubectl vs kube-rs),
//! memory per stored object, the RBAC authoriser over a large policy and protobuf decoding. Run
//! with `cargo bench --bench sim`.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_sim::{Options, Server};
use serde_json::json;
use std::time::{Duration, Instant};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"bench": "yes"}},
        "data": {"key": "value", "other": "some small text"}}),
    )
    .unwrap()
}

async fn create_many(api: &Api<ConfigMap>, prefix: &str, n: usize) -> Duration {
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let name = format!("{prefix}-{i}");
            async move {
                api.create(&PostParams::default(), &cm(&name))
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("creates succeed");
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let auth = kube_sim::bench::authorization(1_000, 200, 100_000);
    println!(
        "RBAC decision, 1k RoleBindings + 200 ClusterRoles: p50 {:>6.1} µs  p99 {:>6.1} µs  max {:>7.1} µs   goal p99 <= 20 µs",
        auth.decision.p50.as_secs_f64() * 1e6,
        auth.decision.p99.as_secs_f64() * 1e6,
        auth.decision.max.as_secs_f64() * 1e6
    );
    println!(
        "RBAC rules compiled again after a change: {:>8.1} ms",
        auth.rebuild.as_secs_f64() * 1e3
    );
    let (protobuf, json) = kube_sim::bench::decode_deployment(20_000);
    println!(
        "decode a Deployment request body: protobuf {:>6.1} µs, JSON {:>6.1} µs",
        protobuf.as_secs_f64() * 1e6,
        json.as_secs_f64() * 1e6
    );
    let server = Server::start(Options::default()).await.expect("sim starts");
    let client = server.client().await.expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    let rss_before = rss_kib();
    let took = create_many(&api, "cm", 10_000).await;
    let rss_after = rss_kib();
    println!(
        "create 10k ConfigMaps (kube-rs, 32 in flight): {:>8.1} ms   goal <= 2000 ms",
        took.as_secs_f64() * 1e3
    );
    let (_, store_bytes) = server.cluster().stored("configmaps");
    println!(
        "memory per stored ConfigMap: {:>6} B JSON, {:>6} B RSS growth   goal <= 2048 B",
        store_bytes / 10_000,
        (rss_after.saturating_sub(rss_before) * 1024) / 10_000
    );

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let list = api.list(&ListParams::default()).await.unwrap();
        assert!(list.items.len() >= 10_000);
        best = best.min(start.elapsed());
    }
    println!(
        "list 10k ConfigMaps (kube-rs, decode included, best of 5): {:>8.1} ms   goal <= 50 ms",
        best.as_secs_f64() * 1e3
    );
    let mut best_raw = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let req = axum::http::Request::get("/api/v1/namespaces/default/configmaps")
            .body(Vec::new())
            .unwrap();
        let text = client.request_text(req).await.unwrap();
        assert!(text.len() > 1_000_000);
        best_raw = best_raw.min(start.elapsed());
    }
    println!(
        "list 10k ConfigMaps (server + transfer, no decode, best of 5): {:>8.1} ms   goal <= 50 ms",
        best_raw.as_secs_f64() * 1e3
    );

    // A watch fanned out to 50 watchers: time until every watcher has seen 1000 new objects.
    let rv = api
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut watchers = Vec::new();
    for _ in 0..50 {
        let stream = api
            .watch(&WatchParams::default(), &rv)
            .await
            .unwrap()
            .boxed();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut seen = 0;
            while seen < 1000 {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(_))) => seen += 1,
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            seen
        }));
    }
    let start = Instant::now();
    create_many(&api, "fan", 1000).await;
    let mut total = 0;
    for w in watchers {
        total += w.await.unwrap();
    }
    println!(
        "watch fan-out: 1000 creates delivered to 50 watchers ({} events) in {:>8.1} ms",
        total,
        start.elapsed().as_secs_f64() * 1e3
    );

    // 1k objects applied: kubectl (one apply of a 1k-document file) vs a kube-rs server-side apply loop.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let mut docs = String::new();
    for i in 0..1000 {
        docs.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k-{i}\n  namespace: default\ndata:\n  a: b\n"));
    }
    let file = dir.path().join("many.yaml");
    std::fs::write(&file, docs).unwrap();
    let start = Instant::now();
    let out = std::process::Command::new("kubectl")
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "--cache-dir",
            &dir.path().join("cache").to_string_lossy(),
            "apply",
            "-f",
        ])
        .arg(&file)
        .output();
    match out {
        Ok(o) if o.status.success() => println!(
            "apply 1k objects with kubectl apply -f: {:>8.1} ms",
            start.elapsed().as_secs_f64() * 1e3
        ),
        Ok(o) => println!(
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("kubectl not available: {e}"),
    }
    let start = Instant::now();
    for i in 0..1000 {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("r-{i}")}, "data": {"a": "b"}});
        api.patch(
            &format!("r-{i}"),
            &PatchParams::apply("bench"),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    }
    println!(
        "apply 1k objects with a kube-rs server-side apply loop: {:>8.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    server.shutdown().await.unwrap();
}
