//! The UI's live watches over real sim clusters: this process starts the sims (one server, one
//! cluster per ORB) and fills each with Profiles, their namespaces and ResourceQuotas through the API, then
//! runs itself again as a child that only runs the control room's per-ORB workers against them
//! over HTTPS, feeding a `State` as the UI does, and reports when every ORB's Profiles list is
//! complete and its own RSS: the UI's share, without the sims.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use orbdeck::fleet::config::{FleetConfig, OrbEntry, Paths};
use orbdeck::model::Profile;
use orbdeck::ui::{Settings, State, update};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::rss_kib;

/// The first argument that makes the bench binary the watching child.
pub const CHILD: &str = "ui-watch-child";

/// Peak RSS of this process in KiB (Linux), 0 where unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn profile(i: usize) -> Profile {
    serde_json::from_value(json!({
        "apiVersion": "kubeflow.org/v1",
        "kind": "Profile",
        "metadata": {"name": format!("user-{i:05}")},
        "spec": {
            "owner": {"kind": "User", "name": format!("user-{i:05}@example.org")},
            "resourceQuotaSpec": {"hard": {"cpu": "8", "memory": "32Gi", "pods": "20"}}
        }
    }))
    .unwrap()
}

fn quota(i: usize) -> ResourceQuota {
    serde_json::from_value(json!({
        "metadata": {"name": "kf-resource-quota", "namespace": format!("user-{i:05}")},
        "spec": {"hard": {"cpu": "8", "memory": "32Gi", "pods": "20"}}
    }))
    .unwrap()
}

/// Creates the CRDs, then `n` Profiles with their namespaces and quotas (as the engine would),
/// 64 at a time.
async fn seed(client: kube::Client, n: usize) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in orbdeck::model::crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("CRD created");
    }
    let profiles: Api<Profile> = Api::all(client.clone());
    futures::stream::iter(0..n)
        .map(|i| {
            let (profiles, client) = (profiles.clone(), client.clone());
            async move {
                profiles.create(&PostParams::default(), &profile(i)).await?;
                let ns = format!("user-{i:05}");
                let namespace = json!({"metadata": {"name": ns}});
                let namespace: Namespace = serde_json::from_value(namespace).unwrap();
                Api::<Namespace>::all(client.clone())
                    .create(&PostParams::default(), &namespace)
                    .await?;
                Api::<ResourceQuota>::namespaced(client, &ns)
                    .create(&PostParams::default(), &quota(i))
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .expect("creates succeed");
}

/// Starts `sims` clusters holding `profiles` Profiles each, then the watching child; prints
/// the seeding time, the child's figures and this process's RSS (the sims).
pub fn parent(sims: usize, profiles: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = kube_sim::Server::start(kube_sim::Options {
            clusters: sims,
            ..Default::default()
        })
        .await
        .expect("sims start");
        let start = Instant::now();
        let mut clients = Vec::new();
        for i in 0..sims {
            clients.push(server.client_for(i).await.expect("client"));
        }
        futures::future::join_all(clients.into_iter().map(|c| seed(c, profiles))).await;
        println!(
            "fleet watch: {sims} sims x {profiles} Profiles + ResourceQuotas created in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let sims_rss = rss_kib();
        let out = tokio::process::Command::new(std::env::current_exe().unwrap())
            .arg(CHILD)
            .arg(&kubeconfig)
            .arg(sims.to_string())
            .arg(profiles.to_string())
            .output()
            .await
            .expect("the watching child runs");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        println!(
            "fleet watch: this process (the {sims} sims and their clients) RSS {} MiB",
            sims_rss / 1024
        );
    });
}

/// The child: the control room's workers over the sims of `kubeconfig` (contexts `sim-1`..),
/// each ORB live-only, their updates applied to a `State` until every ORB lists `profiles`
/// Profiles; prints the time from start and this process's RSS.
pub fn child(kubeconfig: PathBuf, sims: usize, profiles: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let orbs = (1..=sims)
            .map(|i| OrbEntry {
                kubeconfig: Some(kubeconfig.clone()),
                ..OrbEntry::live_only(&format!("sim-{i}"))
            })
            .collect();
        let config = FleetConfig {
            orbs,
            ..Default::default()
        };
        let paths = Paths {
            config: dir.path().join("fleet.yaml"),
            data: dir.path().join("data"),
        };
        let views = orbdeck::ui::runtime::live::initial_views(&config, false);
        let clock = orbdeck::ui::Clock {
            now: Instant::now(),
            unix: 0,
        };
        let mut state = State::new(views, Settings::default(), clock);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_wanted_tx, wanted) = watch::channel(None);
        let shutdown = CancellationToken::new();
        orbdeck::ui::runtime::live::spawn(&config, &paths, false, tx, wanted, shutdown.clone());
        let complete = |s: &State| s.fleet.iter().all(|o| o.profiles.len() == profiles);
        let mut updates = 0;
        while !complete(&state) {
            match tokio::time::timeout(Duration::from_secs(300), rx.recv()).await {
                Ok(Some(action)) => {
                    update(&mut state, action);
                    updates += 1;
                }
                _ => break,
            }
        }
        let listed: usize = state.fleet.iter().map(|o| o.profiles.len()).sum();
        println!(
            "fleet watch: UI process saw {listed} of {} Profiles in {:.1} s ({updates} ORB updates); its RSS {} MiB, peak {} MiB (goal <= 300 MB)",
            sims * profiles,
            start.elapsed().as_secs_f64(),
            rss_kib() / 1024,
            peak_rss_kib() / 1024
        );
        shutdown.cancel();
    });
}
