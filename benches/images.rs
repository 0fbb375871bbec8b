//! Benchmark of the image replicator against skopeo on the same registries (Debian's
//! docker-registry, plain HTTP on loopback): 100 small images (two 16 KiB layers each) and one
//! image with a 200 MB layer, copied by the replicator (through ImageReplications in the sim,
//! the policy's default concurrency 4) and by `skopeo copy` run once per image. Prints the
//! times side by side. Run with `cargo bench --bench images --profile dev` (figures of a dev
//! build; release takes far longer to build here).

#[path = "../tests/common/registry.rs"]
#[allow(dead_code)]
mod registry;

use kube::api::{Api, PostParams};
use kube_sim::testing::{Sim, eventually};
use orbdeck::controllers::images::desired::{Wanted, replication_name};
use orbdeck::controllers::runtime::running::Controllers;
use orbdeck::model::{ImageReplication, ImageReplicationPolicy, ReplicationPhase};
use registry::Registry;
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NS: &str = "orbdeck-system";

/// Copies every source with the replicator to `dst` under `prefix`; returns the wall time.
async fn replicator(
    admin: &kube::Client,
    sources: &[String],
    dst: &Registry,
    prefix: &str,
) -> Duration {
    let api: Api<ImageReplication> = Api::namespaced(admin.clone(), NS);
    let started = Instant::now();
    let mut names = Vec::new();
    for s in sources {
        let repo = s.split_once('/').map_or(s.as_str(), |(_, r)| r);
        let destination = format!("{}/{prefix}/{repo}", dst.host);
        let wanted = Wanted {
            name: replication_name(s, &destination),
            source: s.clone(),
            destination,
            policy: "bench".into(),
        };
        let body: ImageReplication = serde_json::from_value(wanted.object()).unwrap();
        api.create(&PostParams::default(), &body).await.unwrap();
        names.push(wanted.name);
    }
    let done = eventually(600, || async {
        let list = api.list(&Default::default()).await.unwrap();
        names.iter().all(|n| {
            list.items.iter().any(|r| {
                r.metadata.name.as_ref() == Some(n)
                    && r.status
                        .as_ref()
                        .is_some_and(|s| s.phase == ReplicationPhase::Succeeded)
            })
        })
    })
    .await;
    assert!(done, "the replicator did not finish");
    started.elapsed()
}

/// Copies every source with skopeo, one run per image; returns the wall time.
fn skopeo(sources: &[String], dst: &Registry, prefix: &str) -> Duration {
    let started = Instant::now();
    for s in sources {
        let repo = s.split_once('/').map_or(s.as_str(), |(_, r)| r);
        let out = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .arg(format!("docker://{s}"))
            .arg(format!("docker://{}/{prefix}/{repo}", dst.host))
            .output()
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (src, dst) = (Registry::start(), Registry::start());
    let sim = Sim::start(0).await;
    let root = env!("CARGO_MANIFEST_DIR");
    sim.ok(&["apply", "-f", &format!("{root}/assets/crds/crds.yaml")])
        .await;
    sim.ok(&["create", "namespace", NS]).await;
    let admin = sim.client().await;
    let policies: Api<ImageReplicationPolicy> = Api::all(admin.clone());
    assert!(
        eventually(20, || async {
            policies.list(&Default::default()).await.is_ok()
        })
        .await
    );
    let body: ImageReplicationPolicy = serde_json::from_value(json!({
        "apiVersion": "orbdeck.io/v1alpha1", "kind": "ImageReplicationPolicy",
        "metadata": {"name": "bench"},
        "spec": {"targetRegistry": dst.host, "insecure": true, "insecureSources": [src.host]},
    }))
    .unwrap();
    policies
        .create(&PostParams::default(), &body)
        .await
        .unwrap();

    let mut small = Vec::new();
    for i in 0..100 {
        let image = src.image(&format!("small/app{i}:1"));
        registry::push_image(&image, 2, 16 * 1024, 0, ("linux", "amd64")).await;
        small.push(image);
    }
    let big = vec![src.image("big/app:1")];
    registry::push_image(&big[0], 1, 1024, 200 * 1024 * 1024, ("linux", "amd64")).await;

    let _controllers = Controllers::start(
        admin.clone(),
        Default::default(),
        Arc::new(orbdeck::metrics::Metrics::new()),
        Duration::from_secs(30),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ours_small = replicator(&admin, &small, &dst, "orbdeck").await;
    let ours_big = replicator(&admin, &big, &dst, "orbdeck").await;
    let theirs_small = skopeo(&small, &dst, "skopeo");
    let theirs_big = skopeo(&big, &dst, "skopeo");
    let goal = |ours: Duration, theirs: Duration| if ours <= theirs { "meets" } else { "misses" };
    println!(
        "image replication (profile: {}), goal: replicator <= skopeo",
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
    println!(
        "  100 small images:     replicator {:>7.2} s   skopeo copy {:>7.2} s   ({})",
        ours_small.as_secs_f64(),
        theirs_small.as_secs_f64(),
        goal(ours_small, theirs_small)
    );
    println!(
        "  one 200 MB layer:     replicator {:>7.2} s   skopeo copy {:>7.2} s   ({})",
        ours_big.as_secs_f64(),
        theirs_big.as_secs_f64(),
        goal(ours_big, theirs_big)
    );
    let total = (ours_small + ours_big, theirs_small + theirs_big);
    println!(
        "  total:                replicator {:>7.2} s   skopeo copy {:>7.2} s   ({})",
        total.0.as_secs_f64(),
        total.1.as_secs_f64(),
        goal(total.0, total.1)
    );
}
