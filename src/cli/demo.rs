//! `orbdeck demo`: three embedded clusters with nodes, a bare repo per ORB seeded from
//! assets/demo, one engine per cluster in-process, a fourth ORB whose cluster cannot be reached,
//! some activity (notebook pods using quota and writing logs, a Deployment that cannot schedule
//! and one that crash-loops on orb-alpha, a refused policy on orb-beta, drift on orb-gamma), and
//! the control room on all of it.
//! Everything lives in a temporary directory removed on exit, unless `--keep DIR` (then a second
//! run reuses the repos, the clusters' state and the drafts).

use super::DemoArgs;
use crate::engine::leader::LeaseConfig;
use crate::engine::{self, EngineOptions};
use crate::fleet::config::{AuthorConfig, FleetConfig, OrbEntry, Paths};
use crate::repo::{Change, DESIRED, Edit, OrbRepo, RemoteOptions, RetryPolicy};
use crate::ui::runtime;
use kube_sim as sim;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The ORBs with a running cluster.
const LIVE: [&str; 3] = ["orb-alpha", "orb-beta", "orb-gamma"];
/// The ORB whose cluster refuses connections.
const UNREACHABLE: &str = "orb-delta";

/// The demo's desired state, per ORB: (path in the repo, content).
fn seed_files(orb: &str) -> Vec<(&'static str, &'static str)> {
    match orb {
        "orb-alpha" => vec![
            (
                "orb.yaml",
                include_str!("../../assets/demo/orb-alpha/orb.yaml"),
            ),
            (
                "desired/profiles/alice.yaml",
                include_str!("../../assets/demo/orb-alpha/desired/profiles/alice.yaml"),
            ),
            (
                "desired/profiles/bob.yaml",
                include_str!("../../assets/demo/orb-alpha/desired/profiles/bob.yaml"),
            ),
            (
                "desired/profiles/data-team.yaml",
                include_str!("../../assets/demo/orb-alpha/desired/profiles/data-team.yaml"),
            ),
            (
                "desired/upgrades/cluster-upgrade.yaml",
                include_str!("../../assets/demo/orb-alpha/desired/upgrades/cluster-upgrade.yaml"),
            ),
            (
                "desired/workspaces/environments.yaml",
                include_str!("../../assets/demo/orb-alpha/desired/workspaces/environments.yaml"),
            ),
        ],
        "orb-beta" => vec![
            (
                "orb.yaml",
                include_str!("../../assets/demo/orb-beta/orb.yaml"),
            ),
            (
                "desired/profiles/carol.yaml",
                include_str!("../../assets/demo/orb-beta/desired/profiles/carol.yaml"),
            ),
            (
                "desired/profiles/dave.yaml",
                include_str!("../../assets/demo/orb-beta/desired/profiles/dave.yaml"),
            ),
        ],
        "orb-gamma" => vec![
            (
                "orb.yaml",
                include_str!("../../assets/demo/orb-gamma/orb.yaml"),
            ),
            (
                "desired/profiles/erin.yaml",
                include_str!("../../assets/demo/orb-gamma/desired/profiles/erin.yaml"),
            ),
        ],
        _ => vec![
            (
                "orb.yaml",
                include_str!("../../assets/demo/orb-delta/orb.yaml"),
            ),
            (
                "desired/profiles/frank.yaml",
                include_str!("../../assets/demo/orb-delta/desired/profiles/frank.yaml"),
            ),
        ],
    }
}

/// A change pushed to orb-gamma after its first sync: drift until its next (hourly) sync.
const GAMMA_DRIFT: &str = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: grace\nspec:\n  owner:\n    kind: User\n    name: grace@example.com\n";

/// A change pushed to orb-beta after its first sync: a replication policy the schema refuses, so
/// the engine records it as Invalid and keeps what it applied before.
const BETA_INVALID: &str =
    include_str!("../../assets/demo/orb-beta/desired/replication/policy.yaml");

/// Runs the demo until the control room is quit.
pub async fn run(args: DemoArgs, slot: super::LogSlot) -> Result<(), String> {
    let kept = args.keep.is_some();
    let (dir, _temp) = match args.keep {
        Some(dir) => (dir, None),
        None => {
            let t = std::env::temp_dir().join(format!("orbdeck-demo-{}", std::process::id()));
            (t.clone(), Some(TempDir(t)))
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let paths = Paths {
        config: dir.join("fleet.yaml"),
        data: dir.join("data"),
    };
    slot.set(&paths);
    let _log = runtime::start_logging(&paths);
    let server = sim::Server::start(sim::Options {
        names: LIVE.iter().map(|s| (*s).to_owned()).collect(),
        state_dir: Some(dir.join("state")),
        cluster: sim::ClusterOptions {
            nodes: 3,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let kubeconfig = dir.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig)
        .map_err(|e| e.to_string())?;
    let unreachable_kubeconfig = dir.join("unreachable.kubeconfig");
    std::fs::write(
        &unreachable_kubeconfig,
        unreachable(&server.kubeconfig_yaml()),
    )
    .map_err(|e| format!("{}: {e}", unreachable_kubeconfig.display()))?;

    let mut orbs = Vec::new();
    for orb in LIVE.iter().chain([&UNREACHABLE]) {
        let origin = dir.join("repos").join(format!("{orb}.git"));
        if !origin.exists() {
            seed(&origin, &seed_files(orb))?;
        }
        let live = *orb != UNREACHABLE;
        orbs.push(OrbEntry {
            name: (*orb).to_owned(),
            repo: Some(format!("file://{}", origin.display())),
            branch: "main".into(),
            context: Some(if live { orb } else { "unreachable" }.to_string()),
            kubeconfig: Some(if live {
                kubeconfig.clone()
            } else {
                unreachable_kubeconfig.clone()
            }),
            // The file is for later runs of `orbdeck --config`: read-only until asked.
            write: false,
            ssh_key: None,
            labels: Default::default(),
        });
    }
    let config = FleetConfig {
        author: Some(AuthorConfig {
            name: "orbdeck demo".into(),
            email: "demo@orbdeck.invalid".into(),
        }),
        orbs,
        data_dir: Some(PathBuf::from("data")),
        ..Default::default()
    };
    config.save(&paths.config).map_err(|e| e.to_string())?;

    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    for (i, orb) in LIVE.iter().enumerate() {
        let admin = server.client_for(i).await.map_err(|e| e.to_string())?;
        // Each engine runs as its ServiceAccount with the RBAC of `orbdeck manifests deploy`,
        // plus what the demo ORBs' desired/ holds beyond the engine's own kinds.
        let client = engine_identity(&server, i, &admin).await?;
        kubeflow_roles(&admin).await?;
        let clone = dir.join("engines").join(format!("{orb}.git"));
        let origin = dir.join("repos").join(format!("{orb}.git"));
        let repo = OrbRepo::open(
            &clone,
            &format!("file://{}", origin.display()),
            "main",
            RemoteOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        // Elected on its Lease as in a cluster, so the control room sees its runs and `S` works.
        let lease = LeaseConfig {
            namespace: crate::engine::leader::ENGINE_NAMESPACE.into(),
            name: crate::engine::leader::LEASE_NAME.into(),
            identity: format!("{orb}-engine-0"),
            ..Default::default()
        };
        // Its admission webhooks on a free loopback port, which the embedded API server calls.
        let webhook = crate::controllers::admission::Webhook::start(
            client.clone(),
            crate::controllers::admission::WebhookOptions::new(
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                Some("https://127.0.0.1:0".into()),
                crate::engine::leader::ENGINE_NAMESPACE,
            ),
            shutdown.clone(),
        )
        .await
        .map_err(|e| format!("{orb}: the webhook server: {e}"))?;
        let (handle, engine_tasks) = engine::elected::spawn(
            client.clone(),
            EngineOptions {
                repo,
                interval: Duration::from_secs(5),
                identities: Vec::new(),
                metrics: Default::default(),
                webhook: Some(std::sync::Arc::new(webhook)),
            },
            lease,
            shutdown.clone(),
        );
        tasks.extend(engine_tasks);
        tokio::spawn(activity(
            (*orb).to_owned(),
            admin,
            origin,
            handle,
            shutdown.clone(),
        ));
    }
    let keys = config.ui.keys.clone();
    let theme = if config.ui.theme.as_deref() == Some("light") {
        "light"
    } else {
        "dark"
    };
    let fleet_file = paths.config.clone();
    // The demo is the playground: its own control room may write to every ORB.
    let ui = runtime::run(runtime::Options {
        config,
        paths,
        write_all: true,
        keys,
        theme,
        drafts_are_temporary: !kept,
    });
    // The demo's containers write their logs for as long as the control room runs.
    let result = tokio::select! {
        r = ui => r.map_err(|e| e.to_string()),
        () = write_logs(&server, &shutdown) => Ok(()),
    };
    if kept {
        println!(
            "The demo is kept in {dir}: `orbdeck --config {fleet}` opens its repos and drafts \
             read-only; add --write (or `write: true` per ORB in {fleet}) to commit. \
             `orbdeck demo --keep {dir}` runs it again with its clusters and engines.",
            dir = dir.display(),
            fleet = fleet_file.display()
        );
    }
    shutdown.cancel();
    for task in tasks {
        let _ = task.await;
    }
    let _ = server.shutdown().await;
    result
}

/// A copy of the sim's kubeconfig with a context `unreachable` whose server refuses connections.
fn unreachable(kubeconfig: &str) -> String {
    let mut kc: serde_json::Value = serde_saphyr::from_str(kubeconfig).unwrap_or(json!({}));
    if let Some(cluster) = kc
        .pointer_mut("/clusters/0/cluster")
        .and_then(|c| c.as_object_mut())
    {
        cluster.insert("server".into(), json!("https://127.0.0.1:9"));
    }
    if let Some(ctx) = kc.pointer_mut("/contexts/0/name") {
        *ctx = json!("unreachable");
    }
    kc["current-context"] = json!("unreachable");
    serde_saphyr::to_string(&kc).unwrap_or_default()
}

/// Creates a bare repo at `dir` with one commit holding `files` and the orbdeck CRDs.
fn seed(dir: &Path, files: &[(&str, &str)]) -> Result<(), String> {
    let origin = git2::Repository::init_bare(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    origin
        .set_head("refs/heads/main")
        .map_err(|e| e.to_string())?;
    let clone = dir.with_extension("seed");
    let repo = OrbRepo::open(
        &clone,
        &format!("file://{}", dir.display()),
        "main",
        RemoteOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    let mut changes: Vec<Change> = files
        .iter()
        .map(|(path, text)| Change {
            path: (*path).to_owned(),
            content: Some(text.as_bytes().to_vec()),
        })
        .collect();
    changes.push(Change {
        path: format!("{DESIRED}crds.yaml"),
        content: Some(crate::model::crds_yaml().into_bytes()),
    });
    let commit = repo
        .commit(None, &changes, "demo: desired state")
        .map_err(|e| e.to_string())?;
    repo.push(commit).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&clone);
    Ok(())
}

/// Seeds activity once the ORB's engine has converged: notebook pods using quota, on orb-beta a
/// pushed policy the engine refuses (sync errors), and on orb-gamma a pushed change its hourly
/// engine has not applied yet (drift).
async fn activity(
    orb: String,
    client: kube::Client,
    origin: PathBuf,
    handle: engine::EngineHandle,
    shutdown: CancellationToken,
) {
    let mut state = handle.state.clone();
    let synced = tokio::select! {
        _ = shutdown.cancelled() => return,
        s = state.wait_for(|s| s.writes > 0) => s.is_ok(),
    };
    if !synced {
        return;
    }
    let namespace = match orb.as_str() {
        "orb-alpha" => Some("alice"),
        "orb-beta" => Some("carol"),
        _ => None,
    };
    if let Some(ns) = namespace {
        notebook(&client, ns, &shutdown).await;
    }
    if orb == "orb-alpha" {
        shop(&client).await;
        agents(&client, &shutdown).await;
    }
    let pushed = match orb.as_str() {
        "orb-beta" => Some((
            "replication/policy.yaml",
            BETA_INVALID,
            "demo: replicate public images (maxAttempts is not a number)",
        )),
        "orb-gamma" => Some((
            "profiles/grace.yaml",
            GAMMA_DRIFT,
            "demo: a profile the engine has not applied yet",
        )),
        _ => None,
    };
    if let Some((file, content, message)) = pushed {
        let _ =
            tokio::task::spawn_blocking(move || push_once(&origin, file, content, message)).await;
    }
}

/// Pushes `content` as desired/`file` to the bare repo `origin` unless that file is there already
/// (a demo run again with `--keep` pushes nothing).
fn push_once(
    origin: &Path,
    file: &str,
    content: &str,
    message: &str,
) -> Result<(), crate::repo::RepoError> {
    let path = format!("{DESIRED}{file}");
    let clone = origin.with_extension("push");
    let repo = OrbRepo::open(
        &clone,
        &format!("file://{}", origin.display()),
        "main",
        RemoteOptions::default(),
    )?;
    let tip = repo.fetch()?;
    if repo.file(tip, &path)?.is_none() {
        let edit = Edit {
            base: tip,
            changes: vec![Change {
                path,
                content: Some(content.as_bytes().to_vec()),
            }],
            message: message.into(),
        };
        crate::repo::write::write(&repo, &edit, &RetryPolicy::default())?;
    }
    let _ = std::fs::remove_dir_all(&clone);
    Ok(())
}

/// A notebook Deployment in `ns` (waiting for the namespace), its pods using the quota.
async fn notebook(client: &kube::Client, ns: &str, shutdown: &CancellationToken) {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, Patch, PatchParams};
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for _ in 0..120 {
        if matches!(namespaces.get_opt(ns).await, Ok(Some(_))) {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    let deployment: Deployment = match serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "notebook", "namespace": ns},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "notebook"}},
            "template": {
                "metadata": {"labels": {"app": "notebook"}},
                "spec": {"containers": [{
                    "name": "jupyter", "image": "jupyter/base-notebook:latest",
                    "resources": {
                        "requests": {"cpu": "1500m", "memory": "4Gi"},
                        "limits": {"cpu": "2", "memory": "4Gi"}
                    }
                }]}
            }
        }
    })) {
        Ok(d) => d,
        Err(_) => return,
    };
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let _ = api
        .patch(
            "notebook",
            &PatchParams::apply("orbdeck-demo").force(),
            &Patch::Apply(&deployment),
        )
        .await;
}

/// Namespace `shop` on orb-alpha with two Deployments that go wrong: `checkout` asks for a node
/// label no node has (Progressing, then Degraded when its 30 s progress deadline passes) and
/// `payments` crash-loops (the sim's crash annotation).
/// Kubeflow's ClusterRoles (`assets/demo/kubeflow-roles.yaml`), which the profiles' bindings
/// name, installed as a platform install would.
async fn kubeflow_roles(admin: &kube::Client) -> Result<(), String> {
    use k8s_openapi::api::rbac::v1::ClusterRole;
    use kube::api::{Api, Patch, PatchParams};
    let api: Api<ClusterRole> = Api::all(admin.clone());
    let apply = PatchParams::apply("orbdeck-demo").force();
    for doc in include_str!("../../assets/demo/kubeflow-roles.yaml").split("\n---\n") {
        let role: serde_json::Value =
            serde_saphyr::from_str(doc).map_err(|e| format!("kubeflow-roles.yaml: {e}"))?;
        let name = role["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        api.patch(&name, &apply, &Patch::Apply(&role))
            .await
            .map_err(|e| format!("installing ClusterRole {name}: {e}"))?;
    }
    Ok(())
}

async fn shop(client: &kube::Client) {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, Patch, PatchParams};
    let apply = PatchParams::apply("orbdeck-demo").force();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SHOP}});
    let _ = namespaces.patch(SHOP, &apply, &Patch::Apply(&ns)).await;
    let deployment = |name: &str, pod_spec: serde_json::Value, annotations: serde_json::Value| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": SHOP},
            "spec": {
                "replicas": 1,
                "progressDeadlineSeconds": 30,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}, "annotations": annotations},
                    "spec": pod_spec
                }
            }
        })
    };
    let checkout = deployment(
        "checkout",
        json!({"nodeSelector": {"disktype": "nvme"},
            "containers": [{"name": "checkout", "image": "shop/checkout:1.4"}]}),
        json!({}),
    );
    let payments = deployment(
        "payments",
        json!({"containers": [{"name": "payments", "image": "shop/payments:2.0"}]}),
        json!({"sim.orbdeck.io/crash-containers": "*"}),
    );
    let api: Api<Deployment> = Api::namespaced(client.clone(), SHOP);
    for d in [checkout, payments] {
        let name = d["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let _ = api.patch(&name, &apply, &Patch::Apply(&d)).await;
    }
}

/// A node agent on each of orb-alpha's nodes (`--executor sim`, 20 s an upgrade), so its
/// ClusterUpgrade is seen in progress node by node.
async fn agents(client: &kube::Client, shutdown: &CancellationToken) {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    let Ok(list) = nodes.list(&Default::default()).await else {
        return;
    };
    for node in list.items.into_iter().filter_map(|n| n.metadata.name) {
        let options = crate::agent::Options {
            node,
            executor: crate::agent::executor::Executor::Sim {
                delay: Duration::from_secs(20),
            },
            authorized_keys: None,
        };
        tokio::spawn(crate::agent::run(
            client.clone(),
            options,
            shutdown.child_token(),
        ));
    }
}

/// The namespace of the demo's failing Deployments on orb-alpha.
const SHOP: &str = "shop";

/// Every second, a log line from each container of the demo's pods on orb-alpha: the notebooks
/// in alice's namespace (with colours, as Jupyter writes them) and the crashing payments pod.
async fn write_logs(server: &kube_sim::Server, shutdown: &CancellationToken) {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let Ok(client) = server.client_for(0).await else {
        return shutdown.cancelled().await;
    };
    let cluster = &server.clusters()[0];
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        for ns in ["alice", SHOP] {
            let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
            let Ok(list) = pods.list(&ListParams::default()).await else {
                continue;
            };
            for pod in list.items {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let scheduled = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
                let Some(spec) = pod.spec.filter(|_| scheduled) else {
                    continue;
                };
                for c in spec.containers {
                    n += 1;
                    let _ = cluster.append_log(ns, &name, &c.name, &demo_line(&c.name, n));
                }
            }
        }
    }
}

/// The `n`th line a demo container writes.
fn demo_line(container: &str, n: u64) -> String {
    let ms = 1 + n % 17;
    match container {
        "jupyter" if n.is_multiple_of(5) => format!(
            "\u{1b}[33m[W ServerApp]\u{1b}[0m kernel {n:04x} idle for {}s, culling soon",
            n % 600
        ),
        "jupyter" => format!(
            "\u{1b}[32m[I ServerApp]\u{1b}[0m 200 GET /api/kernels?{n} (alice@10.0.0.7) {ms}.{}ms",
            n % 10
        ),
        _ => format!(
            "\u{1b}[31mERROR\u{1b}[0m payments: cannot reach db:5432 (attempt {n}): connection refused"
        ),
    }
}

/// Removes a temporary directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client of cluster `index` with the engine's own identity (see [`engine::identity`]).
async fn engine_identity(
    server: &kube_sim::Server,
    index: usize,
    admin: &kube::Client,
) -> Result<kube::Client, String> {
    let desired = serde_json::json!([{"apiGroups": ["orbdeck.io"],
        "resources": ["clusterupgrades", "imagereplicationpolicies"],
        "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]}]);
    let failed = |e: kube::Error| format!("installing the engine's identity: {e}");
    engine::identity::install(admin, desired)
        .await
        .map_err(failed)?;
    let token = engine::identity::token(admin, 24 * 3600)
        .await
        .map_err(failed)?;
    server
        .client_with_token(index, &token)
        .await
        .map_err(|e| e.to_string())
}
