//! `orbdeck rollout` through the real binary against one sim of several clusters, a bare repo
//! and an in-process engine per ORB: a quota change canary first and wave by wave (the loop
//! killed and run again), a Degraded ORB halting it and Revert putting the old quota back, a
//! same-key conflict made with the git CLI halting it, and an ORB in no wave never pushed.

use crate::common;
use crate::run::text;
use common::Sim;
use common::engine::Running;
use common::repos::{Origin, git_user_push, replace_in};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use orbdeck::fleet::config::FleetConfig;
use orbdeck::rollout::{OrbState, Phase, Rollout, Store};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const QUOTA: &str = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: team\n  namespace: default\nspec:\n  hard:\n    configmaps: \"10\"\n";

const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";

/// ORBs on the clusters of one sim, each with its bare repo and engine, in one fleet file.
struct Fleet {
    sim: Sim,
    origins: Vec<Origin>,
    engines: Vec<Running>,
    home: tempfile::TempDir,
}

impl Fleet {
    /// `labels[i]` are ORB `o{i+1}`'s labels (`--label` values).
    async fn start(labels: &[&[&str]]) -> Fleet {
        let sim = Sim::start_clusters(labels.len(), 2).await;
        let home = tempfile::tempdir().unwrap();
        let mut origins = Vec::new();
        let mut engines = Vec::new();
        for (i, labels) in labels.iter().enumerate() {
            let name = format!("o{}", i + 1);
            let origin = Origin::new();
            let orb = format!(
                "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: {name}\nengine:\n  interval: 1s\n  writeInterval: 0s\n"
            );
            origin.seed(&[
                ("orb.yaml", &orb),
                ("desired/quota.yaml", QUOTA),
                ("desired/web.yaml", WEB),
            ]);
            let client = common::engine_client_for(&sim, i).await;
            engines.push(Running::start_via(client, &origin));
            let mut args = vec![
                "orb".to_string(),
                "add".into(),
                name.clone(),
                "--repo".into(),
                origin.url(),
                "--kubeconfig".into(),
                sim.kubeconfig.display().to_string(),
                "--write".into(),
            ];
            for l in *labels {
                args.extend(["--label".to_string(), l.to_string()]);
            }
            let out = orbdeck(home.path(), &args).await;
            assert!(out.status.success(), "{}", text(&out));
            // Each ORB on its own cluster: the context of cluster i (`orb add` takes a
            // kubeconfig or a context of the default one, not both).
            let path = home.path().join("fleet.yaml");
            let mut config = FleetConfig::load(&path).unwrap();
            config.orbs[i].context = Some(sim.server.clusters()[i].name.clone());
            config.save(&path).unwrap();
            origins.push(origin);
        }
        let fleet = Fleet {
            sim,
            origins,
            engines,
            home,
        };
        for i in 0..labels.len() {
            fleet.wait_synced(i).await;
        }
        fleet
    }

    /// Waits until ORB `i`'s engine has reported its first sync.
    async fn wait_synced(&self, i: usize) {
        let origin = &self.origins[i];
        let synced = kube_sim::testing::eventually(30, || async {
            origin.file("current/status.yaml").is_some()
        })
        .await;
        assert!(synced, "o{} never synced", i + 1);
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn store(&self) -> Store {
        Store::new(self.home().join("data/rollouts"))
    }

    fn load(&self, id: &str) -> Rollout {
        self.store().load(id).unwrap()
    }

    /// `spec.hard.configmaps` of the ResourceQuota in cluster `i`, as kubectl shows it.
    async fn quota(&self, i: usize) -> String {
        let context = self.sim.server.clusters()[i].name.clone();
        let out = self
            .sim
            .kubectl(&[
                "--context",
                &context,
                "get",
                "resourcequota",
                "team",
                "-n",
                "default",
                "-o",
                "jsonpath={.spec.hard.configmaps}",
            ])
            .await;
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until every cluster in `which` shows `want` as its quota.
    async fn quota_becomes(&self, which: &[usize], want: &str) {
        for &i in which {
            let mut last = String::new();
            for _ in 0..100 {
                last = self.quota(i).await;
                if last == want {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert_eq!(last, want, "the quota of o{}", i + 1);
        }
    }

    /// Labels one node of cluster `i` (`pool=gpu`).
    async fn label_a_node(&self, i: usize, label: (&str, &str)) {
        let client = self.sim.server.client_for(i).await.unwrap();
        let nodes: Api<Node> = Api::all(client);
        let node = nodes.list(&ListParams::default()).await.unwrap().items[0]
            .metadata
            .name
            .clone()
            .unwrap();
        let patch = serde_json::json!({"metadata": {"labels": {label.0: label.1}}});
        nodes
            .patch(&node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// Subjects of the commits on ORB `i`'s remote, newest first (the git CLI's log).
    fn log(&self, i: usize) -> Vec<String> {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(self.origins[i].path())
            .args(["log", "--format=%s", "main"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }

    async fn stop(self) {
        for e in self.engines {
            e.stop().await;
        }
    }
}

/// Runs orbdeck off the async runtime with the fleet under `home`.
async fn orbdeck(home: &Path, args: &[String]) -> Output {
    let (home, args) = (home.to_path_buf(), args.to_vec());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::run::orbdeck(&home, &args)
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The id in the first line of `rollout plan`'s output: `rollout ID: ...`.
fn planned_id(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    first
        .strip_prefix("rollout ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("no id in {first:?}: {}", text(out)))
        .to_string()
}

/// `rollout run ID` as a child process (to be waited for or killed).
fn spawn_run(home: &Path, id: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .env("ORBDECK_CONFIG", home.join("fleet.yaml"))
        .env("ORBDECK_DATA", home.join("data"))
        .env("ORBDECK_LOG", "error")
        .args(["rollout", "run", id, "--poll", "200ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orbdeck runs")
}

/// Waits for the child, at most `secs` seconds (then kills it and fails).
async fn finish(mut child: std::process::Child, secs: u64) -> Output {
    for _ in 0..secs * 10 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    panic!("rollout run did not end within {secs} s:\n{}", text(&out));
}

/// Every ORB of wave k was pushed only after each ORB of wave k-1 had been Healthy for the
/// bake time.
fn assert_waves_in_order(r: &Rollout) {
    let bake = chrono::Duration::seconds(r.strategy.bake_seconds as i64);
    for k in 1..r.waves.len() {
        let ready = r
            .orbs
            .iter()
            .filter(|o| o.wave == k - 1)
            .map(|o| o.healthy_at.expect("Healthy") + bake)
            .max()
            .unwrap();
        for o in r.orbs.iter().filter(|o| o.wave == k) {
            let pushed = o.pushed_at.expect("pushed");
            assert!(
                pushed >= ready,
                "{} (wave {k}) pushed at {pushed}, before wave {} was baked at {ready}",
                o.name,
                k - 1
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_change_reaches_six_orbs_canary_first_and_wave_by_wave_across_a_kill() {
    let fleet = Fleet::start(&[
        &["env=prod"],
        &["env=prod"],
        &["env=prod", "canary=true"],
        &["env=prod"],
        &["env=prod"],
        &["env=prod"],
        &["env=dev"],
    ])
    .await;
    let out = orbdeck(
        fleet.home(),
        &args(&[
            "rollout",
            "plan",
            "--orbs",
            "env=prod",
            "--file",
            "desired/quota.yaml",
            "--set",
            "spec.hard.configmaps",
            "\"20\"",
            "--wave-size",
            "3",
            "--bake",
            "2s",
            "--progress-deadline",
            "60s",
            "--start",
        ]),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let plan = text(&out);
    let id = planned_id(&out);
    for line in [
        "wave 0 (canary): 1 ORB(s)\n  o3: 0 to create, 1 to update, 0 to delete; against the live cluster",
        "wave 1 (wave 1): 3 ORB(s)\n  o1: ",
        "wave 2 (wave 2): 2 ORB(s)\n  o5: ",
        "-    configmaps: \"10\"",
        "+    configmaps: \"20\"",
    ] {
        assert!(plan.contains(line), "{line:?} in\n{plan}");
    }
    assert!(!plan.contains("o7"), "o7 is env=dev: {plan}");

    // The loop is killed once the canary is done and wave 1 under way, then run again.
    let child = spawn_run(fleet.home(), &id);
    let store = fleet.store();
    let under_way = kube_sim::testing::eventually(60, || async {
        store.load(&id).is_ok_and(|r| {
            r.orbs
                .iter()
                .any(|o| o.wave == 1 && o.state != OrbState::Waiting)
        })
    })
    .await;
    let mut child = child;
    child.kill().unwrap();
    let _ = child.wait();
    assert!(under_way, "wave 1 never started: {:#?}", fleet.load(&id));
    let killed = fleet.load(&id);
    assert_eq!(killed.phase, Phase::Running);
    assert_eq!(killed.orb("o3").unwrap().state, OrbState::Healthy);
    let status = orbdeck(fleet.home(), &args(&["rollout", "status", &id])).await;
    let shown = text(&status);
    assert!(
        shown.contains(&format!("rollout {id} · Running · ready ")),
        "{shown}"
    );
    let canary_commit = killed.orb("o3").unwrap().commit.clone().unwrap();
    let row = shown.lines().find(|l| l.starts_with("canary")).unwrap();
    assert!(
        row.contains("o3") && row.contains("Healthy") && row.contains(&canary_commit[..8]),
        "the status agrees with the file: {row}"
    );
    for o in killed.orbs.iter().filter(|o| o.wave == 2) {
        assert_eq!(o.state, OrbState::Waiting, "{}: wave 2 waits", o.name);
    }

    let out = finish(spawn_run(fleet.home(), &id), 120).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("rollout {id} completed")),
        "{}",
        text(&out)
    );
    let done = fleet.load(&id);
    assert_eq!(done.phase, Phase::Completed);
    assert_waves_in_order(&done);
    for o in &done.orbs {
        assert_eq!(o.state, OrbState::Healthy, "{}", o.name);
    }
    fleet.quota_becomes(&[0, 1, 2, 3, 4, 5], "20").await;
    assert_eq!(fleet.quota(6).await, "10", "o7 was not selected");
    for i in 0..6 {
        let log = fleet.log(i);
        let ours: Vec<&String> = log.iter().filter(|s| s.contains(&id)).collect();
        assert_eq!(
            ours.len(),
            1,
            "o{}: one commit names the rollout: {log:?}",
            i + 1
        );
        assert!(
            ours[0].starts_with(&format!("rollout {id}: set spec.hard.configmaps")),
            "{ours:?}"
        );
    }
    let status = orbdeck(fleet.home(), &args(&["rollout", "status", &id])).await;
    assert!(
        text(&status).contains(&format!("rollout {id} · Completed · ready 6/6 · wave 3/3")),
        "{}",
        text(&status)
    );
    fleet.stop().await;
}

const BATCH: &str = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: batch\n  namespace: default\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 2\n  selector:\n    matchLabels: {app: batch}\n  template:\n    metadata:\n      labels: {app: batch}\n    spec:\n      nodeSelector: {pool: gpu}\n      containers:\n      - name: batch\n        image: busybox\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_degraded_orb_halts_the_rollout_and_revert_puts_the_old_quota_back() {
    let fleet = Fleet::start(&[&[], &[], &[], &[], &[]]).await;
    // The change brings a gpu Deployment: every cluster but o3's has a gpu node.
    for i in [0, 1, 3, 4] {
        fleet.label_a_node(i, ("pool", "gpu")).await;
    }
    let content = fleet.home().join("quota.yaml");
    std::fs::write(
        &content,
        format!("{}{BATCH}", QUOTA.replace("\"10\"", "\"20\"")),
    )
    .unwrap();
    let out = orbdeck(
        fleet.home(),
        &args(&[
            "rollout",
            "plan",
            "--orbs",
            "*",
            "--file",
            "desired/quota.yaml",
            "--content",
            &content.display().to_string(),
            "--wave-size",
            "2",
            "--bake",
            "1s",
            "--progress-deadline",
            "60s",
            "--start",
        ]),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let id = planned_id(&out);
    assert!(
        text(&out).contains("1 to create, 1 to update"),
        "{}",
        text(&out)
    );
    let out = finish(spawn_run(fleet.home(), &id), 120).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "rollout {id} halted on o3: Degraded: Deployment/batch:"
        )) && said.contains("progress deadline"),
        "{said}"
    );
    let halted = fleet.load(&id);
    assert!(matches!(&halted.phase, Phase::Halted { orb, .. } if orb == "o3"));
    for name in ["o4", "o5"] {
        assert_eq!(halted.orb(name).unwrap().state, OrbState::Waiting);
    }
    for i in [3, 4] {
        assert!(
            fleet.log(i).iter().all(|s| !s.contains(&id)),
            "wave 2 gets nothing"
        );
    }
    fleet.quota_becomes(&[0, 1, 2], "20").await;

    let revert = tokio::task::spawn_blocking({
        let home = fleet.home().to_path_buf();
        let id = id.clone();
        move || crate::run::orbdeck(&home, &["rollout", "revert", &id, "--poll", "200ms"])
    })
    .await
    .unwrap();
    assert!(revert.status.success(), "{}", text(&revert));
    assert!(
        text(&revert).contains(&format!("rollout {id} reverted")),
        "{}",
        text(&revert)
    );
    let reverted = fleet.load(&id);
    assert_eq!(reverted.phase, Phase::Reverted);
    for i in [0, 1, 2] {
        // The newest human commit (the engine's current/ commits may come after it).
        let log = fleet.log(i);
        let newest = log.iter().find(|s| !s.starts_with("orbdeck-engine:"));
        assert!(
            newest.is_some_and(|s| s.starts_with(&format!("Revert \"rollout {id}:"))),
            "o{}: {log:?}",
            i + 1
        );
    }
    // Last wave first: wave 1's reverts come before the canary's.
    let order: Vec<&str> = reverted
        .events
        .iter()
        .filter(|e| !e.orb.is_empty() && e.message.starts_with("Reverted"))
        .map(|e| e.orb.as_str())
        .collect();
    assert_eq!(order, ["o2", "o3", "o1"]);
    fleet.quota_becomes(&[0, 1, 2, 3, 4], "10").await;
    fleet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_same_key_conflict_halts_and_an_orb_in_no_wave_is_never_pushed() {
    let fleet = Fleet::start(&[&[], &["region=eu"], &["region=eu"], &["region=us"]]).await;
    // A wave's own limit names a wave the plan has, or nothing is saved.
    let plan = |limit: &str| {
        args(&[
            "rollout",
            "plan",
            "--orbs",
            "*",
            "--file",
            "desired/quota.yaml",
            "--set",
            "spec.hard.configmaps",
            "\"20\"",
            "--wave",
            "eu:region=eu",
            "--wave-limit",
            limit,
        ])
    };
    let out = orbdeck(fleet.home(), &plan("us:maxUnavailable=1")).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--wave-limit us: no such wave (the waves: canary, eu)"),
        "{}",
        text(&out)
    );
    assert!(fleet.store().list().is_empty());
    let out = orbdeck(fleet.home(), &plan("eu:maxUnavailable=1")).await;
    assert!(
        text(&out).contains("eu: maxConcurrent 100%, maxUnavailable 1"),
        "{}",
        text(&out)
    );
    let limited = fleet.load(&planned_id(&out));
    assert_eq!(
        limited.limits(1).1,
        orbdeck::rollout::waves::Limit::Count(1),
        "the eu wave keeps its own limit in the rollout file"
    );
    let out = orbdeck(
        fleet.home(),
        &args(&[
            "rollout",
            "plan",
            "--orbs",
            "*",
            "--file",
            "desired/quota.yaml",
            "--set",
            "spec.hard.configmaps",
            "\"20\"",
            "--wave",
            "eu:region=eu",
            "--bake",
            "1s",
            "--start",
        ]),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let id = planned_id(&out);
    assert!(
        text(&out).contains("Unassigned (matched by the selector, in no wave; never pushed): o4"),
        "{}",
        text(&out)
    );
    // Meanwhile someone sets the same key on o3 with the git CLI.
    git_user_push(&fleet.origins[2].url(), "Dana", |work: &Path| {
        replace_in(&work.join("desired/quota.yaml"), "\"10\"", "\"15\"")
    });
    let out = finish(spawn_run(fleet.home(), &id), 120).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "rollout {id} halted on o3: Conflict: desired/quota.yaml: conflicts with the remote"
        )) && said.contains("spec.hard.configmaps"),
        "{said}"
    );
    let halted = fleet.load(&id);
    // o2, pushed in the same step, keeps its commit; nothing more is pushed.
    assert_eq!(halted.orb("o2").unwrap().state, OrbState::Pushed);
    assert!(
        fleet.log(1).iter().any(|s| s.contains(&id)),
        "{:?}",
        fleet.log(1)
    );
    assert!(
        fleet.origins[2]
            .file("desired/quota.yaml")
            .unwrap()
            .contains("\"15\""),
        "Dana's edit stands"
    );
    let status = orbdeck(fleet.home(), &args(&["rollout", "status", &id])).await;
    let shown = text(&status);
    let row = shown.lines().find(|l| l.contains("o4")).unwrap();
    assert!(row.contains("Unassigned"), "{shown}");
    assert!(shown.contains("halted on o3: Conflict"), "{shown}");

    // Resumed, the change is made on top of Dana's, and the rollout completes.
    let out = orbdeck(fleet.home(), &args(&["rollout", "resume", &id])).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = finish(spawn_run(fleet.home(), &id), 120).await;
    assert!(out.status.success(), "{}", text(&out));
    fleet.quota_becomes(&[0, 1, 2], "20").await;
    assert_eq!(fleet.quota(3).await, "10", "o4 is in no wave");
    assert!(
        fleet.log(3).iter().all(|s| !s.contains(&id)),
        "o4 never pushed: {:?}",
        fleet.log(3)
    );
    fleet.stop().await;
}

/// The control room as a second face of the same rollouts: an edit made in o1's editor is
/// rolled out with `:rollout` to the ORBs marked with space, canary first and wave by wave,
/// the control room carrying it out; killed mid-rollout, nothing more is pushed until it is
/// opened again, and then it finishes; `rollout status` and every cluster agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_control_room_rolls_an_edit_out_to_marked_orbs_and_carries_on_after_a_kill() {
    use common::tmux::Tmux;
    let fleet = Fleet::start(&[&["canary=true"], &[], &[]]).await;
    let home = fleet.home().to_path_buf();
    let (config, data) = (home.join("fleet.yaml"), home.join("data"));
    let env = [
        ("ORBDECK_CONFIG", config.to_str().unwrap()),
        ("ORBDECK_DATA", data.to_str().unwrap()),
    ];
    let bin = env!("CARGO_BIN_EXE_orbdeck");
    let ui = Tmux::start("rollout-ui", bin, &env);
    ui.wait(30, "the three ORBs", |s| s.contains("reachable 3"));
    for orb in ["o2", "o3"] {
        ui.keys(&[":"]);
        ui.text(&format!("orb {orb}"));
        ui.keys(&["Enter", "Space"]);
        ui.wait(10, "the ORB marked", |s| s.contains(&format!("{orb} +")));
    }
    // In o1's editor: configmaps "10" → "20", then esc (the draft is kept).
    ui.keys(&[":"]);
    ui.text("orb o1");
    ui.keys(&["Enter", "6"]);
    ui.wait(20, "o1's desired files", |s| {
        s.contains("desired/quota.yaml")
    });
    ui.keys(&["Enter"]);
    ui.wait(20, "the quota in the editor", |s| {
        s.contains("configmaps: \"10\"")
    });
    ui.keys(&[
        "Down", "Down", "Down", "Down", "Down", "Down", "Down", "End", "Left",
    ]);
    ui.keys(&["BSpace", "BSpace"]);
    ui.text("20");
    ui.wait(10, "the edit", |s| s.contains("configmaps: \"20\""));
    std::thread::sleep(Duration::from_millis(600));
    ui.escape("the editor closed, the draft kept", |s| {
        s.contains("quota.yaml ✎")
    });
    ui.keys(&[":"]);
    ui.text("rollout --bake 8s --wave-size 1");
    ui.keys(&["Enter"]);
    ui.wait(3, "the plan's viewer", |s| {
        s.contains("Rollout plan") || s.contains("c starts it")
    });
    let plan = ui.wait(60, "the plan of three ORBs", |s| s.contains("c starts it"));
    let id = plan
        .split("Rollout ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .unwrap()
        .to_string();
    assert!(
        plan.contains("set spec.hard.configmaps=\"20\" in desired/quota.yaml")
            && plan.contains("ORBs name in (o1,o2,o3)")
            && plan.contains("wave 0 (canary): 1 ORB(s)")
            && plan.contains("o1: 0 to create, 1 to update"),
        "{plan}"
    );
    ui.keys(&["c"]);
    ui.keys(&[":"]);
    ui.text("all rollouts");
    ui.keys(&["Enter"]);
    ui.wait(60, "o2 (wave 1) pushed by the control room", |s| {
        s.lines().any(|l| {
            l.contains("o2")
                && l.contains("1 wave 1")
                && (l.contains("Pushed") || l.contains("Applying") || l.contains("Healthy"))
        })
    });
    // Killed mid-rollout: nothing more is pushed while no one carries it out.
    ui.kill();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let halfway = fleet.load(&id);
    assert_eq!(halfway.phase, Phase::Running);
    assert_eq!(halfway.orb("o3").unwrap().state, OrbState::Waiting);
    assert!(
        !fleet.log(2).iter().any(|l| l.contains(&id)),
        "o3 was pushed with no control room running: {:?}",
        fleet.log(2)
    );
    // Opened again (80x24), the control room finishes it.
    let ui = Tmux::start_sized("rollout-ui2", bin, &env, (80, 24));
    ui.wait(30, "the control room again", |s| s.contains("reachable 3"));
    ui.keys(&[":"]);
    ui.text("all rollouts");
    ui.keys(&["Enter"]);
    ui.wait(90, "the rollout completed", |s| {
        s.contains(&format!("{id} Completed · ready 3/3"))
    });
    fleet.quota_becomes(&[0, 1, 2], "20").await;
    let done = fleet.load(&id);
    assert_waves_in_order(&done);
    for i in 0..3 {
        let subject =
            format!("rollout {id}: set spec.hard.configmaps=\"20\" in desired/quota.yaml");
        assert!(
            fleet.log(i).contains(&subject),
            "o{}: {:?}",
            i + 1,
            fleet.log(i)
        );
    }
    let status = orbdeck(&home, &args(&["rollout", "status", &id])).await;
    assert!(
        text(&status).contains(&format!("rollout {id} · Completed · ready 3/3")),
        "{}",
        text(&status)
    );
    // The draft went with the start: the rollout carried the edit.
    let left = orbdeck::repo::Drafts::new(data.join("drafts")).list(None);
    assert!(left.is_empty(), "drafts left: {left:?}");
    ui.keys(&["q"]);
    fleet.stop().await;
}
