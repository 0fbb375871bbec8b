//! The upgrade coordinator (run as the engine's controllers, with the engine's RBAC) and the
//! node agents (`--executor sim`, or a real command) against the sim with 5+ nodes, one of them
//! control-plane, and PDB-guarded Deployments. Cordons are checked from a watch on the Nodes,
//! not from orbdeck's status.

use crate::common::{self, Sim};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube_sim::ClusterOptions;
use kube_sim::testing::eventually;
use orbdeck::agent::executor::Executor;
use orbdeck::controllers::runtime::running::Controllers;
use orbdeck::model::{ClusterUpgrade, NodeUpgrade};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Every set of unschedulable nodes seen, in order, and the order nodes were first cordoned.
#[derive(Default)]
struct Cordons {
    most_workers: usize,
    order: Vec<String>,
}

struct Cluster {
    sim: Sim,
    admin: kube::Client,
    cordons: Arc<Mutex<Cordons>>,
    agents: CancellationToken,
}

impl Cluster {
    async fn start(workers: usize, version: &str) -> Cluster {
        let sim = Sim::start_with(ClusterOptions {
            nodes: workers + 1,
            kubelet_version: version.into(),
            pod_start_delay: Duration::from_millis(50),
            bookmark_interval: Duration::from_millis(500),
            ..Default::default()
        })
        .await;
        sim.ok_stdin(&["apply", "-f", "-"], &orbdeck::model::crds_yaml())
            .await;
        let admin = sim.client().await;
        let cordons = Arc::new(Mutex::new(Cordons::default()));
        let seen = cordons.clone();
        let nodes: Api<Node> = Api::all(admin.clone());
        tokio::spawn(async move {
            let mut now: BTreeMap<String, bool> = BTreeMap::new();
            let stream = watcher(nodes, watcher::Config::default()).applied_objects();
            let mut stream = std::pin::pin!(stream);
            while let Some(Ok(n)) = stream.next().await {
                let name = n.metadata.name.clone().unwrap_or_default();
                let cp = n
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key("node-role.kubernetes.io/control-plane"));
                let cordoned = n.spec.and_then(|s| s.unschedulable) == Some(true);
                let mut c = seen.lock().unwrap();
                if cordoned && !c.order.contains(&name) {
                    c.order.push(name.clone());
                }
                now.insert(name, cordoned && !cp);
                let workers = now.values().filter(|v| **v).count();
                c.most_workers = c.most_workers.max(workers);
            }
        });
        Cluster {
            sim,
            admin,
            cordons,
            agents: CancellationToken::new(),
        }
    }

    /// A Deployment of `replicas` with a PDB (`pdb` is its spec's budget field).
    async fn deployment(&self, name: &str, replicas: u32, pdb: &str) {
        self.sim
            .ok(&[
                "create",
                "deployment",
                name,
                "--image=nginx",
                &format!("--replicas={replicas}"),
            ])
            .await;
        let yaml = format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  {pdb}\n  selector: {{matchLabels: {{app: {name}}}}}\n"
        );
        self.sim.ok_stdin(&["apply", "-f", "-"], &yaml).await;
        let api: Api<Deployment> = Api::default_namespaced(self.admin.clone());
        let ready = eventually(30, || async {
            api.get(name)
                .await
                .ok()
                .and_then(|d| d.status?.available_replicas)
                == Some(replicas as i32)
        })
        .await;
        assert!(ready, "deployment {name} never became available");
    }

    /// The coordinator, as the leader's controllers run it, with the engine's own identity.
    async fn engine(&self) -> Controllers {
        Controllers::start(
            common::engine_client(&self.sim).await,
            Default::default(),
            Default::default(),
            Duration::from_secs(30),
        )
    }

    /// One agent per node.
    async fn agents(&self, executor: Executor) {
        let nodes: Api<Node> = Api::all(self.admin.clone());
        for n in nodes.list(&ListParams::default()).await.unwrap() {
            let options = orbdeck::agent::Options {
                node: n.metadata.name.unwrap(),
                executor: executor.clone(),
                authorized_keys: None,
            };
            tokio::spawn(orbdeck::agent::run(
                self.admin.clone(),
                options,
                self.agents.child_token(),
            ));
        }
    }

    async fn upgrade(&self, yaml: &str) {
        self.sim.ok_stdin(&["apply", "-f", "-"], yaml).await;
    }

    async fn status(&self, name: &str) -> orbdeck::model::ClusterUpgradeStatus {
        let api: Api<ClusterUpgrade> = Api::all(self.admin.clone());
        api.get(name).await.unwrap().status.unwrap_or_default()
    }

    async fn phase_is(&self, name: &str, phase: &str, secs: u64) -> bool {
        eventually(secs, || async {
            format!("{:?}", self.status(name).await.phase) == phase
        })
        .await
    }

    async fn nodes(&self) -> Vec<Node> {
        let api: Api<Node> = Api::all(self.admin.clone());
        api.list(&ListParams::default()).await.unwrap().items
    }
}

fn upgrade_yaml(name: &str, target: &str, strategy: &str) -> String {
    format!(
        "apiVersion: orbdeck.io/v1alpha1\nkind: ClusterUpgrade\nmetadata: {{name: {name}}}\nspec:\n  targetVersion: {target}\n  strategy: {{{strategy}}}\n"
    )
}

fn version(n: &Node) -> String {
    n.status.clone().unwrap().node_info.unwrap().kubelet_version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_goes_control_plane_first_then_one_worker_at_a_time() {
    let c = Cluster::start(4, "v1.31.4").await;
    c.deployment("web", 4, "maxUnavailable: 1").await;
    let _engine = c.engine().await;
    c.agents(Executor::Sim {
        delay: Duration::from_millis(200),
    })
    .await;
    c.upgrade(&upgrade_yaml(
        "to-1-32",
        "1.32.0",
        "maxUnavailable: 1, drainTimeoutSeconds: 60",
    ))
    .await;
    assert!(
        c.phase_is("to-1-32", "Succeeded", 90).await,
        "{:?}",
        c.status("to-1-32").await
    );
    let (order, most_workers) = {
        let cordons = c.cordons.lock().unwrap();
        (cordons.order.clone(), cordons.most_workers)
    };
    assert_eq!(
        order.first().map(String::as_str),
        Some("sim-1-node-1"),
        "control plane first: {order:?}"
    );
    assert_eq!(order.len(), 5, "{order:?}");
    assert_eq!(most_workers, 1, "two workers were cordoned at once");
    for n in c.nodes().await {
        assert_eq!(version(&n), "v1.32.0");
        assert_ne!(
            n.spec.clone().unwrap().unschedulable,
            Some(true),
            "{:?} still cordoned",
            n.metadata.name
        );
        let labels = n.metadata.labels.unwrap();
        assert_eq!(
            labels.get("orbdeck.io/upgraded-to").map(String::as_str),
            Some("1.32.0")
        );
    }
    let api: Api<Deployment> = Api::default_namespaced(c.admin.clone());
    assert!(
        eventually(30, || async {
            api.get("web")
                .await
                .ok()
                .and_then(|d| d.status?.available_replicas)
                == Some(4)
        })
        .await,
        "web is not back to its 4 replicas"
    );
    let status = c.status("to-1-32").await;
    assert!(
        status
            .nodes
            .iter()
            .all(|n| n.finished_at.is_some() && n.started_at.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unavailable_two_on_six_workers_takes_about_half_the_time() {
    let mut took = Vec::new();
    for max in [1, 2] {
        let c = Cluster::start(6, "v1.31.4").await;
        let _engine = c.engine().await;
        c.agents(Executor::Sim {
            delay: Duration::from_millis(600),
        })
        .await;
        let started = Instant::now();
        c.upgrade(&upgrade_yaml(
            "up",
            "1.32.0",
            &format!("maxUnavailable: {max}"),
        ))
        .await;
        assert!(
            c.phase_is("up", "Succeeded", 90).await,
            "{:?}",
            c.status("up").await
        );
        took.push(started.elapsed());
        assert_eq!(
            c.cordons.lock().unwrap().most_workers,
            max,
            "maxUnavailable {max}"
        );
    }
    let ratio = took[1].as_secs_f64() / took[0].as_secs_f64();
    assert!(
        (0.35..0.8).contains(&ratio),
        "maxUnavailable 2 took {ratio:.2} of the time: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdb_that_allows_nothing_fails_the_node_after_the_drain_timeout() {
    let c = Cluster::start(4, "v1.31.4").await;
    c.deployment("db", 5, "minAvailable: 5").await;
    let _engine = c.engine().await;
    c.agents(Executor::Sim {
        delay: Duration::from_millis(100),
    })
    .await;
    // The control plane carries db pods too, so its drain is the one held back.
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "drainTimeoutSeconds: 3"))
        .await;
    assert!(
        c.phase_is("to-1-32", "Failed", 30).await,
        "{:?}",
        c.status("to-1-32").await
    );
    let status = c.status("to-1-32").await;
    let message = status.message.unwrap();
    assert!(
        message.contains("drain timed out") && message.contains("PodDisruptionBudget default/db"),
        "{message}"
    );
    assert_eq!(status.blocker.unwrap().pdb.as_deref(), Some("default/db"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cordoned: Vec<String> = c
        .nodes()
        .await
        .into_iter()
        .filter(|n| n.spec.clone().unwrap().unschedulable == Some(true))
        .map(|n| n.metadata.name.unwrap())
        .collect();
    assert_eq!(
        cordoned,
        ["sim-1-node-1"],
        "the failed node stays cordoned and nothing else is"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_minor_version_or_a_downgrade_is_refused_and_nothing_is_cordoned() {
    let c = Cluster::start(2, "v1.30.2").await;
    let _engine = c.engine().await;
    c.upgrade(&upgrade_yaml("skip", "1.32.0", "")).await;
    c.upgrade(&upgrade_yaml("down", "1.29.9", "")).await;
    assert!(c.phase_is("skip", "Failed", 20).await);
    assert!(c.phase_is("down", "Failed", 20).await);
    assert!(
        c.status("skip")
            .await
            .message
            .unwrap()
            .contains("skips a minor version")
    );
    assert!(
        c.status("down")
            .await
            .message
            .unwrap()
            .contains("a downgrade")
    );
    assert!(c.cordons.lock().unwrap().order.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_killed_mid_node_resumes_and_upgrades_no_node_twice() {
    let c = Cluster::start(3, "v1.31.4").await;
    c.deployment("web", 3, "maxUnavailable: 1").await;
    c.agents(Executor::Sim {
        delay: Duration::from_millis(800),
    })
    .await;
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    let upgrades: Api<NodeUpgrade> = Api::all(c.admin.clone());
    // Killed right after a cordon, then after a NodeUpgrade is created, then mid-run.
    let mut engine = c.engine().await;
    for round in 0..6 {
        let seen = c.cordons.lock().unwrap().order.len();
        let made = upgrades
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len();
        eventually(20, || async {
            c.cordons.lock().unwrap().order.len() > seen
                || upgrades
                    .list(&ListParams::default())
                    .await
                    .unwrap()
                    .items
                    .len()
                    > made
        })
        .await;
        drop(engine);
        tokio::time::sleep(Duration::from_millis(100 * round)).await;
        engine = c.engine().await;
    }
    assert!(
        c.phase_is("to-1-32", "Succeeded", 90).await,
        "{:?}",
        c.status("to-1-32").await
    );
    assert_eq!(c.cordons.lock().unwrap().most_workers, 1);
    let runs = upgrades.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(runs.len(), 4, "one NodeUpgrade per node");
    for nu in runs {
        let s = nu.status.unwrap();
        assert_eq!(format!("{:?}", s.phase), "Succeeded", "{:?}", s.message);
        assert!(
            s.message.unwrap().starts_with("simulated"),
            "run once, by the agent that started it"
        );
    }
    drop(engine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_agent_command_fails_the_node_with_its_stderr_and_its_timeout_holds() {
    let c = Cluster::start(1, "v1.31.4").await;
    let _engine = c.engine().await;
    c.agents(Executor::Command {
        argv: vec![
            "sh".into(),
            "-c".into(),
            "echo no package kubelet=$1 >&2; exit 4".into(),
            "sh".into(),
            "{version}".into(),
        ],
        timeout: Duration::from_secs(10),
    })
    .await;
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    assert!(
        c.phase_is("to-1-32", "Failed", 30).await,
        "{:?}",
        c.status("to-1-32").await
    );
    let message = c.status("to-1-32").await.message.unwrap();
    assert!(
        message.contains("exit code 4") && message.contains("stderr: no package kubelet=1.32.0"),
        "{message}"
    );

    let c = Cluster::start(1, "v1.31.4").await;
    let _engine = c.engine().await;
    c.agents(Executor::Command {
        argv: vec!["sleep".into(), "30".into()],
        timeout: Duration::from_millis(500),
    })
    .await;
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    assert!(c.phase_is("to-1-32", "Failed", 30).await);
    assert!(
        c.status("to-1-32")
            .await
            .message
            .unwrap()
            .contains("timed out after 500ms")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restarted_mid_command_does_not_run_it_twice() {
    let c = Cluster::start(1, "v1.31.4").await;
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    let script = format!("echo run >> {}; sleep 30", count.display());
    let executor = Executor::Command {
        argv: vec!["sh".into(), "-c".into(), script],
        timeout: Duration::from_secs(60),
    };
    let _engine = c.engine().await;
    c.agents(executor.clone()).await;
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    assert!(
        eventually(30, || async { count.exists() }).await,
        "the command never ran"
    );
    c.agents.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = CancellationToken::new();
    let options = orbdeck::agent::Options {
        node: "sim-1-node-1".into(),
        executor,
        authorized_keys: None,
    };
    tokio::spawn(orbdeck::agent::run(c.admin.clone(), options, fresh.clone()));
    assert!(c.phase_is("to-1-32", "Failed", 30).await);
    assert!(
        c.status("to-1-32")
            .await
            .message
            .unwrap()
            .contains("not run twice")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "run\n",
        "the command ran twice"
    );
    fresh.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_its_window_an_upgrade_waits_and_starts_when_the_window_opens() {
    let c = Cluster::start(1, "v1.31.4").await;
    let _engine = c.engine().await;
    c.agents(Executor::Sim {
        delay: Duration::from_millis(100),
    })
    .await;
    let opens = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(4);
    let closes = opens + jiff::SignedDuration::from_secs(3600);
    let clock = |t: jiff::Timestamp| t.strftime("%H:%M:%S").to_string();
    let yaml = format!(
        "{}  window: {{start: \"{}\", end: \"{}\", timeZone: UTC}}\n",
        upgrade_yaml("later", "1.32.0", ""),
        clock(opens),
        clock(closes)
    );
    c.upgrade(&yaml).await;
    assert!(
        c.phase_is("later", "Waiting", 10).await,
        "{:?}",
        c.status("later").await
    );
    assert!(
        c.cordons.lock().unwrap().order.is_empty(),
        "cordoned before the window"
    );
    assert!(
        c.phase_is("later", "Succeeded", 30).await,
        "{:?}",
        c.status("later").await
    );
    let started = c.status("later").await.start_time.unwrap().0;
    assert!(
        started >= opens - jiff::SignedDuration::from_secs(1),
        "started at {started}, the window opens at {opens}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_stops_at_once_and_uncordons_what_orbdeck_cordoned() {
    let c = Cluster::start(2, "v1.31.4").await;
    let _engine = c.engine().await;
    c.agents(Executor::Sim {
        delay: Duration::from_secs(3),
    })
    .await;
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    let cordoned = eventually(20, || async {
        c.nodes()
            .await
            .iter()
            .any(|n| n.spec.clone().unwrap().unschedulable == Some(true))
    })
    .await;
    assert!(cordoned, "nothing was cordoned");
    c.sim
        .ok(&[
            "patch",
            "clusterupgrade",
            "to-1-32",
            "--type=merge",
            "-p",
            r#"{"spec":{"abort":true}}"#,
        ])
        .await;
    assert!(
        c.phase_is("to-1-32", "Aborted", 20).await,
        "{:?}",
        c.status("to-1-32").await
    );
    let released = eventually(10, || async {
        c.nodes()
            .await
            .iter()
            .all(|n| n.spec.clone().unwrap().unschedulable != Some(true))
    })
    .await;
    assert!(
        released,
        "a node orbdeck cordoned stays cordoned after the abort"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        c.cordons.lock().unwrap().order.len(),
        1,
        "a node was started after the abort"
    );
}

/// Two whole engines electing a leader on the real Lease: the leader is killed mid-upgrade (a
/// worker cordoned), the standby takes over and finishes, and no node is upgraded twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_failover_mid_upgrade_resumes_and_upgrades_no_node_twice() {
    use crate::common::engine::Candidate;
    use crate::common::repos::Origin;
    let c = Cluster::start(3, "v1.31.4").await;
    c.deployment("web", 3, "maxUnavailable: 1").await;
    c.agents(Executor::Sim {
        delay: Duration::from_millis(1500),
    })
    .await;
    let origin = Origin::new();
    origin.seed(&[(
        "orb.yaml",
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 2s\n  writeInterval: 0s\n",
    )]);
    let a = Candidate::start(common::engine_client(&c.sim).await, &origin, "engine-a");
    let b = Candidate::start(common::engine_client(&c.sim).await, &origin, "engine-b");
    assert!(
        eventually(20, || async { a.leads() || b.leads() }).await,
        "nobody leads"
    );
    let (leader, standby) = if a.leads() { (a, b) } else { (b, a) };
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    // The control plane, then the first worker cordoned: the leader dies there.
    assert!(
        eventually(60, || async { c.cordons.lock().unwrap().order.len() >= 2 }).await,
        "no worker cordoned: {:?}",
        c.status("to-1-32").await
    );
    leader.kill().await;
    assert!(
        eventually(20, || async { standby.leads() }).await,
        "the standby did not take over"
    );
    assert!(
        c.phase_is("to-1-32", "Succeeded", 120).await,
        "{:?}",
        c.status("to-1-32").await
    );
    assert_eq!(c.cordons.lock().unwrap().most_workers, 1);
    let upgrades: Api<NodeUpgrade> = Api::all(c.admin.clone());
    let runs = upgrades.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(runs.len(), 4, "one NodeUpgrade per node");
    for nu in runs {
        let s = nu.status.unwrap();
        assert_eq!(format!("{:?}", s.phase), "Succeeded", "{:?}", s.message);
    }
    for n in c.nodes().await {
        assert_eq!(version(&n), "v1.32.0");
        assert_ne!(n.spec.and_then(|s| s.unschedulable), Some(true));
    }
    standby.kill().await;
}

/// The agent as `orbdeck manifests deploy` runs it: with its own ServiceAccount's token and
/// only its ClusterRole, it sees its node's NodeUpgrade, runs the command (here playing the
/// kubelet: it reports the new version as the host's kubelet would after an upgrade script) and
/// writes the result into the status; the node is upgraded. Its role grants no node writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_with_its_own_identity_upgrades_its_node() {
    let c = Cluster::start(1, "v1.31.4").await;
    // The engine's manifests make the namespace; the agent's add its ServiceAccount and role.
    let engine = c.engine().await;
    c.sim
        .ok_stdin(
            &["apply", "-f", "-"],
            include_str!("../../assets/deploy/agent.yaml"),
        )
        .await;
    let token = c
        .sim
        .ok(&["create", "token", "orbdeck-agent", "-n", "orbdeck-system"])
        .await;
    let agent = c
        .sim
        .server
        .client_with_token(0, token.trim())
        .await
        .unwrap();
    let kubeconfig = c.sim.kubeconfig.display().to_string();
    let nodes: Api<Node> = Api::all(agent.clone());
    let patch = serde_json::json!({"spec": {"unschedulable": true}});
    let first = c.nodes().await[0].metadata.name.clone().unwrap();
    let refused = nodes
        .patch(
            &first,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(s)) if s.code == 403),
        "the agent may not write nodes: {refused:?}"
    );
    for n in c.nodes().await {
        let name = n.metadata.name.unwrap();
        let kubelet = r#"{"status":{"nodeInfo":{"kubeletVersion":"v{version}"}}}"#;
        let argv = [
            "kubectl",
            "--kubeconfig",
            &kubeconfig,
            "patch",
            "node",
            &name,
            "--subresource=status",
            "--type=merge",
            "-p",
            kubelet,
        ];
        let options = orbdeck::agent::Options {
            node: name.clone(),
            executor: Executor::Command {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                timeout: Duration::from_secs(30),
            },
            authorized_keys: None,
        };
        tokio::spawn(orbdeck::agent::run(
            agent.clone(),
            options,
            c.agents.child_token(),
        ));
    }
    c.upgrade(&upgrade_yaml("to-1-32", "1.32.0", "")).await;
    assert!(
        c.phase_is("to-1-32", "Succeeded", 90).await,
        "{:?}",
        c.status("to-1-32").await
    );
    let upgrades: Api<NodeUpgrade> = Api::all(c.admin.clone());
    for nu in upgrades.list(&ListParams::default()).await.unwrap().items {
        let s = nu.status.unwrap();
        assert_eq!(format!("{:?}", s.phase), "Succeeded", "{:?}", s.message);
        assert_eq!(s.exit_code, Some(0));
        assert!(s.stdout_tail.contains("patched"), "{s:?}");
    }
    for n in c.nodes().await {
        assert_eq!(version(&n), "v1.32.0");
    }
    drop(engine);
}
