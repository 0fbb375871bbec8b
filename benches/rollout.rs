//! Benchmark of fleet-wide rollouts, printing figures against the rollout issue's goals:
//! planning one change across 50 ORBs (50 bare repos, 50 clusters of one sim, 50 server-side
//! dry runs at once), cold (empty clones) and warm; then the loop's overhead: the pure step per
//! ORB, seeing every pushed ORB (fetch + current/status.yaml), and the rollout file's
//! load + save per step. Run with `cargo bench --profile dev --bench rollout [ORBS]`.

use orbdeck::fleet::config::{FleetConfig, OrbEntry, Paths};
use orbdeck::fleet::selector::Selector;
use orbdeck::health::Health;
use orbdeck::rollout::change::{Edit, FleetChange};
use orbdeck::rollout::plan::{Request, plan};
use orbdeck::rollout::run::{Fleet, observe};
use orbdeck::rollout::state::Strategy;
use orbdeck::rollout::step::{Observation, Observations, step};
use orbdeck::rollout::waves::{Grouping, Limit};
use orbdeck::rollout::{OrbState, Phase};
use std::time::{Duration, Instant};

const QUOTA: &str = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: team\n  namespace: default\nspec:\n  hard:\n    configmaps: \"10\"\n";

fn seed(dir: &std::path::Path, name: &str) -> String {
    let repo = git2::Repository::init_bare(dir).unwrap();
    let mut tree = repo.treebuilder(None).unwrap();
    let orb = format!("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: {name}\n");
    tree.insert("orb.yaml", repo.blob(orb.as_bytes()).unwrap(), 0o100644)
        .unwrap();
    let mut desired = repo.treebuilder(None).unwrap();
    desired
        .insert("quota.yaml", repo.blob(QUOTA.as_bytes()).unwrap(), 0o100644)
        .unwrap();
    tree.insert("desired", desired.write().unwrap(), 0o040000)
        .unwrap();
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    let sig = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "seed", &tree, &[])
        .unwrap();
    format!("file://{}", dir.display())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let server = kube_sim::Server::start(kube_sim::Options {
        clusters: n,
        ..Default::default()
    })
    .await
    .expect("the sim starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let mut config = FleetConfig::default();
    for (i, cluster) in server.clusters().iter().enumerate() {
        let name = format!("orb-{i:02}");
        let url = seed(&dir.path().join(format!("{name}.git")), &name);
        let mut orb = OrbEntry::live_only(&cluster.name);
        orb.name = name;
        orb.repo = Some(url);
        orb.kubeconfig = Some(kubeconfig.clone());
        orb.write = true;
        orb.labels.insert("env".into(), "prod".into());
        config.orbs.push(orb);
    }
    let paths = Paths {
        config: dir.path().join("fleet.yaml"),
        data: dir.path().join("data"),
    };
    let request = Request {
        selector: Selector::parse("env=prod").unwrap(),
        change: FleetChange {
            path: "desired/quota.yaml".into(),
            edit: Edit::Set {
                key: "spec.hard.configmaps".into(),
                value: "\"20\"".into(),
            },
        },
        grouping: Grouping::Auto(10),
        strategy: Strategy {
            max_concurrent: Limit::Percent(100),
            max_unavailable: Limit::Percent(25),
            bake_seconds: 60,
            progress_deadline_seconds: 600,
        },
        wave_limits: Vec::new(),
    };
    println!(
        "rollout plan across {n} ORBs ({n} clusters of one sim, {n} bare repos, dry runs in parallel)"
    );
    let mut rollout = None;
    for label in ["cold (empty clones)", "warm"] {
        let started = Instant::now();
        let planned = plan(&config, &paths, request.clone(), chrono::Utc::now())
            .await
            .expect("the plan");
        let took = started.elapsed();
        let dry_runs = planned
            .orbs
            .iter()
            .filter(|o| o.plan.contains("server-side dry-run"))
            .count();
        println!(
            "  {label}: {:.0} ms to a full plan ({dry_runs}/{n} against the live cluster, {} waves)",
            ms(took),
            planned.waves.len()
        );
        rollout = Some(planned);
    }
    let mut rollout = rollout.unwrap();

    // The pure step with every ORB pushed and seen Healthy.
    rollout.phase = Phase::Running;
    let now = chrono::Utc::now();
    let mut seen = Observations::new();
    for o in &mut rollout.orbs {
        o.state = OrbState::Pushed;
        o.commit = Some("0".repeat(40));
        o.pushed_at = Some(now);
        seen.insert(
            o.name.clone(),
            Observation {
                applied: Some("0".repeat(40)),
                includes_push: true,
                health: Some(Health::Healthy),
                result: "Synced".into(),
                ..Default::default()
            },
        );
    }
    let rounds = 2000;
    let started = Instant::now();
    let mut actions = 0;
    for _ in 0..rounds {
        actions += step(&rollout, &seen, now).len();
    }
    let took = started.elapsed();
    println!("loop overhead");
    println!(
        "  pure step: {:.2} µs per ORB per step ({rounds} steps of {n} ORBs, {} actions each)",
        took.as_secs_f64() * 1e6 / (rounds * n) as f64,
        actions / rounds
    );
    let fleet = Fleet {
        config: config.clone(),
        paths: paths.clone(),
    };
    let started = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        let seen = observe(&fleet, &rollout).await;
        assert_eq!(seen.len(), n);
    }
    let took = started.elapsed();
    println!(
        "  seeing the ORBs (fetch + current/status.yaml, all at once): {:.2} ms per ORB per step, {:.0} ms per step",
        ms(took) / (rounds * n) as f64,
        ms(took) / rounds as f64
    );
    let store = fleet.store();
    store.save(&rollout).unwrap();
    let rounds = 50;
    let started = Instant::now();
    for _ in 0..rounds {
        let _lock = store.lock(&rollout.id).unwrap();
        let r = store.load(&rollout.id).unwrap();
        store.save(&r).unwrap();
    }
    let took = started.elapsed();
    let size = std::fs::metadata(store.file(&rollout.id)).unwrap().len();
    println!(
        "  rollout file (lock, load, atomic save; {} KiB): {:.2} ms per step, {:.3} ms per ORB",
        size / 1024,
        ms(took) / rounds as f64,
        ms(took) / (rounds * n) as f64
    );
    println!("(a shared 2-core machine; dev profile)");
}
