//! Benchmark of the upgrade coordinator, printing the figures of the upgrades issue: a 100-node
//! upgrade (1 control plane, 99 workers, no pods to drain) on the in-process sim with instant
//! agents (`--executor sim`, no delay), so the time per node is the coordinator's own overhead
//! (goal ≤ 100 ms beyond drain and agent time), and the API requests per node, split by what
//! asked. Run with `cargo bench --bench upgrades --profile dev` (release builds take long here).

use kube::api::Api;
use kube_sim::ClusterOptions;
use kube_sim::testing::Sim;
use orbdeck::agent::executor::Executor;
use orbdeck::controllers::runtime::running::Controllers;
use orbdeck::model::{ClusterUpgrade, ClusterUpgradePhase};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const NODES: usize = 100;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let sim = Sim::start_with(ClusterOptions {
        nodes: NODES,
        kubelet_version: "v1.31.4".into(),
        ..Default::default()
    })
    .await;
    sim.ok_stdin(&["apply", "-f", "-"], &orbdeck::model::crds_yaml())
        .await;
    let client = sim.client().await;
    let stop = CancellationToken::new();
    for i in 1..=NODES {
        let options = orbdeck::agent::Options {
            node: format!("sim-1-node-{i}"),
            executor: Executor::Sim {
                delay: Duration::ZERO,
            },
            authorized_keys: None,
        };
        tokio::spawn(orbdeck::agent::run(
            sim.client().await,
            options,
            stop.child_token(),
        ));
    }
    let _coordinator = Controllers::start(
        client.clone(),
        Default::default(),
        Default::default(),
        Duration::from_secs(30),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = sim.server.cluster().requests();
    let started = Instant::now();
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: orbdeck.io/v1alpha1\nkind: ClusterUpgrade\nmetadata: {name: bench}\nspec:\n  targetVersion: 1.32.0\n  strategy: {maxUnavailable: 1}\n",
    )
    .await;
    let api: Api<ClusterUpgrade> = Api::all(client);
    loop {
        let phase = api
            .get("bench")
            .await
            .ok()
            .and_then(|u| u.status)
            .map(|s| s.phase);
        match phase {
            Some(ClusterUpgradePhase::Succeeded) => break,
            Some(ClusterUpgradePhase::Failed | ClusterUpgradePhase::Aborted) => {
                panic!("the upgrade failed: {phase:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no end within 10 minutes"
        );
    }
    let took = started.elapsed();
    let after = sim.server.cluster().requests();
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for (verb, resource, _, n) in after.iter() {
        *by.entry(format!("{verb} {resource}")).or_default() += n;
    }
    for (verb, resource, _, n) in before.iter() {
        *by.entry(format!("{verb} {resource}")).or_default() -= n;
    }
    // The benchmark's own requests: kubectl's apply of the ClusterUpgrade and the polling.
    by.retain(|k, n| *n > 0 && !k.ends_with(" clusterupgrades"));
    let agents =
        |k: &str| k.starts_with("patch nodeupgrades/status") || k.starts_with("patch nodes/status");
    let agent_requests: u64 = by.iter().filter(|(k, _)| agents(k)).map(|(_, n)| n).sum();
    let total: u64 = by.values().sum();
    let per_node = |n: u64| n as f64 / NODES as f64;
    println!("upgrades bench (dev profile), {NODES} nodes, instant agents, nothing to drain");
    println!(
        "  total {:.1} s, {:.0} ms per node (goal ≤ 100 ms beyond drain and agent time)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / NODES as f64
    );
    println!(
        "  API requests per node: {:.1} in all, {:.1} by the coordinator, {:.1} by the agents",
        per_node(total),
        per_node(total - agent_requests),
        per_node(agent_requests)
    );
    for (what, n) in &by {
        println!("    {what}: {:.2} per node", per_node(*n));
    }
    stop.cancel();
}
