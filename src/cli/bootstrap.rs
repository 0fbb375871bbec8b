//! `orbdeck bootstrap ORB --repo URL --context CTX` and `orbdeck init DIR`: from a bare cluster
//! and an empty repo to a running ORB, idempotently. Each step says what it did or why it had
//! nothing to do; a failure names the step, and running the command again finishes the job
//! (every step first looks at what is already there).

use crate::engine::identity::ENGINE_YAML;
use crate::fleet::config::{FleetConfig, OrbEntry, Paths, valid_orb_name};
use crate::fleet::connect;
use crate::repo::status::STATUS_FILE;
use crate::repo::write::{Edit, write};
use crate::repo::{Change, ORB_FILE, OrbRepo, RetryPolicy};
use crate::text::sanitize;
use age::secrecy::ExposeSecret;
use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where bootstrap commits the engine's own manifests, so the engine manages its upgrades.
pub const SELF_DIR: &str = "desired/orbdeck-system";

/// The engine's namespace and the Secret holding its age identity.
const NAMESPACE: &str = "orbdeck-system";
const IDENTITY_SECRET: &str = "orbdeck-age-identity";

/// The field manager of what bootstrap applies.
const MANAGER: &str = "orbdeck-bootstrap";

/// Options of `orbdeck bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The ORB's name (as in the fleet and orb.yaml).
    pub name: String,
    /// The ORB repository (a path, file://, or ssh://); an empty one gets a skeleton.
    #[arg(long)]
    pub repo: String,
    /// Its branch.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The kubeconfig context of the cluster.
    #[arg(long)]
    pub context: Option<String>,
    /// The kubeconfig file (else $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Let the control room write to this ORB.
    #[arg(long)]
    pub write: bool,
    /// How long to wait for the engine to come up and write current/status.yaml, e.g. 5m.
    #[arg(long, default_value = "5m")]
    pub wait: String,
}

/// Options of `orbdeck init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write the skeleton into (made if missing).
    pub dir: PathBuf,
    /// The ORB's name (default: the directory's name).
    #[arg(long)]
    pub name: Option<String>,
}

/// The ORB's repo, shared with the blocking tasks that do its git work.
type Shared = std::sync::Arc<std::sync::Mutex<OrbRepo>>;

/// One step's outcome, printed as it happens.
fn did(step: &str, what: impl std::fmt::Display) {
    println!("✓ {step}: {what}");
}

fn skipped(step: &str, why: impl std::fmt::Display) {
    println!("· {step}: {why}");
}

fn failed(step: &'static str) -> impl Fn(String) -> String {
    move |e| format!("{step}: {e}")
}

/// The skeleton of a new ORB repo: orb.yaml, desired/ and a README.
fn skeleton(name: &str, recipient: Option<&str>) -> Vec<(String, String)> {
    let recipients = recipient.map_or(String::new(), |r| {
        format!("secrets:\n  # Encrypted Secrets in desired/ are encrypted to these (orbdeck secret set).\n  recipients:\n    - {r}\n")
    });
    vec![
        (
            ORB_FILE.to_string(),
            format!(
                "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: {name}\nengine:\n  interval: 30s\n{recipients}"
            ),
        ),
        (
            "desired/README.md".to_string(),
            "Desired state of this cluster: any Kubernetes manifests (YAML, several documents per file).\nThe engine applies them and prunes what leaves this directory.\n".to_string(),
        ),
        (
            "README.md".to_string(),
            format!(
                "# ORB {name}\n\n`desired/` holds what the cluster should run (written by people, through `orbdeck` or git).\n`current/` is written by the engine only: what it applied and what the cluster reports.\n"
            ),
        ),
    ]
}

/// `orbdeck init DIR`: the skeleton, written locally; existing files are kept.
pub fn init(args: InitArgs) -> Result<(), String> {
    let name = match args.name {
        Some(n) => n,
        None => args
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if !valid_orb_name(&name) {
        return Err(format!(
            "{name:?} is not a valid ORB name (a DNS-1123 label); pass --name"
        ));
    }
    for (path, text) in skeleton(&name, None) {
        let file = args.dir.join(&path);
        if file.exists() {
            skipped("init", format!("{} exists, kept", file.display()));
            continue;
        }
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        did("init", format!("wrote {}", file.display()));
    }
    Ok(())
}

/// `orbdeck bootstrap`.
pub async fn run(args: BootstrapArgs, paths: Paths) -> Result<(), String> {
    if !valid_orb_name(&args.name) {
        return Err(format!(
            "{:?} is not a valid ORB name (a DNS-1123 label)",
            args.name
        ));
    }
    let wait = crate::engine::parse_duration(&args.wait)
        .ok_or_else(|| format!("--wait {:?}: not a duration (e.g. 90s, 5m)", args.wait))?;
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let entry = OrbEntry {
        name: args.name.clone(),
        repo: Some(args.repo.clone()),
        branch: args.branch.clone(),
        context: args.context.clone(),
        kubeconfig: args.kubeconfig.clone(),
        write: args.write,
        ssh_key: None,
        labels: Default::default(),
    };

    let client = connect::client(&entry, Duration::from_secs(30))
        .await
        .map_err(|e| format!("cluster: {e}"))?;
    let version = client
        .apiserver_version()
        .await
        .map_err(|e| format!("cluster: not reachable: {e}"))?;
    did(
        "cluster",
        format!("reached Kubernetes {}", version.git_version),
    );

    let recipient = identity(&client).await?;

    let repo = {
        let (config, paths, entry) = (config.clone(), paths.clone(), entry.clone());
        tokio::task::spawn_blocking(move || connect::open_repo(&config, &paths, &entry))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("repo: {e}"))?
    };
    let repo: Shared = std::sync::Arc::new(std::sync::Mutex::new(repo));
    commit_skeleton(&repo, &args.name, &recipient).await?;

    apply_all(&client, &crate::model::crds_yaml(), "CRDs").await?;
    wait_established(&client).await?;
    let manifests = engine_manifests(&args.repo);
    apply_all(&client, &manifests, "engine manifests").await?;
    commit_self(&repo, &manifests).await?;

    wait_available(&client, wait).await?;
    wait_status(&repo, wait).await?;
    add_to_fleet(config, &paths, entry)
}

/// The engine's age identity: kept only as the Secret in the cluster; its recipient is returned.
async fn identity(client: &kube::Client) -> Result<String, String> {
    const STEP: &str = "identity";
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}});
    namespaces
        .patch(
            NAMESPACE,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&ns),
        )
        .await
        .map_err(|e| format!("{STEP}: namespace {NAMESPACE}: {e}"))?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    if let Some(secret) = secrets
        .get_opt(IDENTITY_SECRET)
        .await
        .map_err(|e| format!("{STEP}: {e}"))?
    {
        let text = secret
            .data
            .as_ref()
            .and_then(|d| d.get("identity.txt"))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .unwrap_or_default();
        let identities = crate::secrets::parse_identities(&text).map_err(|e| {
            format!("{STEP}: Secret {NAMESPACE}/{IDENTITY_SECRET} holds no age identity: {e}")
        })?;
        let recipient = identities
            .first()
            .map(|i| i.to_public().to_string())
            .ok_or_else(|| format!("{STEP}: Secret {NAMESPACE}/{IDENTITY_SECRET} is empty"))?;
        skipped(
            STEP,
            format!("Secret {NAMESPACE}/{IDENTITY_SECRET} exists (recipient {recipient})"),
        );
        return Ok(recipient);
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": IDENTITY_SECRET, "namespace": NAMESPACE},
        "stringData": {"identity.txt": format!("{}\n", identity.to_string().expose_secret())}});
    secrets
        .patch(
            IDENTITY_SECRET,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(|e| format!("{STEP}: {e}"))?;
    did(
        STEP,
        format!(
            "generated an age identity, stored only as Secret {NAMESPACE}/{IDENTITY_SECRET} (recipient {recipient})"
        ),
    );
    Ok(recipient)
}

/// Runs blocking repo work off the runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

/// An empty repo gets the skeleton; an existing one gets the recipient in orb.yaml if missing.
async fn commit_skeleton(repo: &Shared, name: &str, recipient: &str) -> Result<(), String> {
    const STEP: &str = "repo";
    let (repo, name, recipient) = (repo.clone(), name.to_string(), recipient.to_string());
    blocking(move || {
        let repo = repo.lock().unwrap_or_else(|p| p.into_inner());
        let e = failed(STEP);
        let tip = repo.fetch().map_err(|x| e(x.to_string()))?;
        let Some(tip) = tip else {
            let changes = skeleton(&name, Some(&recipient))
                .into_iter()
                .map(|(path, text)| Change {
                    path,
                    content: Some(text.into_bytes()),
                })
                .collect();
            let edit = Edit {
                base: None,
                changes,
                message: format!("orbdeck bootstrap: ORB {name}"),
            };
            let w = write(&repo, &edit, &RetryPolicy::default()).map_err(|x| e(x.to_string()))?;
            did(
                STEP,
                format!(
                    "the repo was empty: committed orb.yaml, desired/, README.md ({})",
                    short(w.commit)
                ),
            );
            return Ok(());
        };
        let orb = repo
            .file(Some(tip), ORB_FILE)
            .map_err(|x| e(x.to_string()))?
            .ok_or_else(|| {
                e(format!(
                    "the repo has commits but no {ORB_FILE}; is it an ORB repo?"
                ))
            })?;
        let text = String::from_utf8_lossy(&orb).into_owned();
        if text.contains(&recipient) {
            skipped(
                STEP,
                format!("{ORB_FILE} exists and lists the engine's recipient"),
            );
            return Ok(());
        }
        let updated =
            with_recipient(&text, &recipient).map_err(|x| e(format!("{ORB_FILE}: {x}")))?;
        let edit = Edit {
            base: Some(tip),
            changes: vec![Change {
                path: ORB_FILE.into(),
                content: Some(updated.into_bytes()),
            }],
            message: "orbdeck bootstrap: the engine's age recipient".into(),
        };
        write(&repo, &edit, &RetryPolicy::default()).map_err(|x| e(x.to_string()))?;
        did(STEP, format!("added the engine's recipient to {ORB_FILE}"));
        Ok(())
    })
    .await
}

/// orb.yaml with `recipient` added to `secrets.recipients`.
fn with_recipient(text: &str, recipient: &str) -> Result<String, String> {
    let mut doc: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let Some(map) = doc.as_object_mut() else {
        return Err("not a mapping".into());
    };
    let secrets = map.entry("secrets").or_insert_with(|| json!({}));
    if !secrets.is_object() {
        *secrets = json!({});
    }
    let list = secrets
        .as_object_mut()
        .map(|s| s.entry("recipients").or_insert_with(|| json!([])));
    match list.and_then(Value::as_array_mut) {
        Some(list) => list.push(json!(recipient)),
        None => return Err("secrets.recipients is not a list".into()),
    }
    serde_saphyr::to_string(&doc).map_err(|e| e.to_string())
}

fn short(commit: git2::Oid) -> String {
    commit.to_string().chars().take(8).collect()
}

/// The engine's manifests with the ORB's repo filled in.
fn engine_manifests(repo_url: &str) -> String {
    ENGINE_YAML.replace(
        "ORB_REPO: \"https://git.example.com/orbs/my-cluster.git\"",
        &format!("ORB_REPO: {}", json!(repo_url)),
    )
}

/// Server-side applies every document of `yaml`; says how many were new or changed.
async fn apply_all(client: &kube::Client, yaml: &str, what: &'static str) -> Result<(), String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| format!("{what}: {e}"))?;
    let (mut changed, mut total) = (0, 0);
    for doc in docs.into_iter().filter(|d| d.is_object()) {
        total += 1;
        let kind = doc["kind"].as_str().unwrap_or("");
        let (api, name) = crate::engine::identity::api_for(client, &doc);
        let before = api.get_opt(&name).await.ok().flatten();
        // Its own field manager: the engine, once it manages these from desired/orbdeck-system/,
        // adds its label as manager `orbdeck`; a later bootstrap leaves that alone.
        let after = api
            .patch(
                &name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&doc),
            )
            .await
            .map_err(|e| format!("{what}: {kind} {name}: {e}"))?;
        if before.and_then(|b| b.metadata.resource_version) != after.metadata.resource_version {
            changed += 1;
        }
    }
    if changed == 0 {
        skipped(
            what,
            format!("all {total} objects already as in the manifests"),
        );
    } else {
        did(what, format!("applied {changed} of {total} objects"));
    }
    Ok(())
}

/// Waits until every CRD is Established.
async fn wait_established(client: &kube::Client) -> Result<(), String> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let names: Vec<String> = serde_saphyr::from_multiple::<Value>(&crate::model::crds_yaml())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str().map(String::from))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let established = crds.get_opt(&name).await.ok().flatten().is_some_and(|c| {
                c.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("CRDs: {name} is not Established after 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

/// Commits the applied manifests under desired/orbdeck-system/ (the engine then manages itself).
async fn commit_self(repo: &Shared, manifests: &str) -> Result<(), String> {
    const STEP: &str = "self-management";
    let files = vec![
        (format!("{SELF_DIR}/engine.yaml"), manifests.to_string()),
        (format!("{SELF_DIR}/crds.yaml"), crate::model::crds_yaml()),
    ];
    let repo = repo.clone();
    blocking(move || {
        let repo = repo.lock().unwrap_or_else(|p| p.into_inner());
        let e = failed(STEP);
        let tip = repo.fetch().map_err(|x| e(x.to_string()))?;
        let mut changes = vec![];
        for (path, text) in files {
            let now = repo.file(tip, &path).map_err(|x| e(x.to_string()))?;
            if now.as_deref() != Some(text.as_bytes()) {
                changes.push(Change {
                    path,
                    content: Some(text.into_bytes()),
                });
            }
        }
        if changes.is_empty() {
            skipped(
                STEP,
                format!("{SELF_DIR}/ already holds the engine's manifests"),
            );
            return Ok(());
        }
        let edit = Edit {
            base: tip,
            changes,
            message: "orbdeck bootstrap: the engine's own manifests".into(),
        };
        let w = write(&repo, &edit, &RetryPolicy::default()).map_err(|x| e(x.to_string()))?;
        did(
            STEP,
            format!(
                "committed {SELF_DIR}/engine.yaml and crds.yaml ({})",
                short(w.commit)
            ),
        );
        Ok(())
    })
    .await
}

/// Waits until the engine Deployment has an available replica, saying so every few seconds.
async fn wait_available(client: &kube::Client, wait: Duration) -> Result<(), String> {
    const STEP: &str = "engine";
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let start = Instant::now();
    let mut said = Instant::now();
    loop {
        let d = deployments
            .get_opt("orbdeck-engine")
            .await
            .map_err(|e| format!("{STEP}: {e}"))?;
        let status = d.and_then(|d| d.status).unwrap_or_default();
        let available = status.available_replicas.unwrap_or(0);
        if available > 0 {
            did(
                STEP,
                format!(
                    "Deployment {NAMESPACE}/orbdeck-engine available ({available} replicas) after {} s",
                    start.elapsed().as_secs()
                ),
            );
            return Ok(());
        }
        if start.elapsed() > wait {
            return Err(format!(
                "{STEP}: Deployment {NAMESPACE}/orbdeck-engine has no available replica after {} s (kubectl -n {NAMESPACE} describe deployment orbdeck-engine); run bootstrap again to keep waiting",
                wait.as_secs()
            ));
        }
        if said.elapsed() >= Duration::from_secs(5) {
            println!(
                "  waiting for Deployment {NAMESPACE}/orbdeck-engine: {}/{} ready ({} s)",
                status.ready_replicas.unwrap_or(0),
                status.replicas.unwrap_or(0),
                start.elapsed().as_secs()
            );
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the engine's first current/status.yaml is on the remote.
async fn wait_status(repo: &Shared, wait: Duration) -> Result<(), String> {
    const STEP: &str = "first sync";
    let start = Instant::now();
    let mut said = Instant::now();
    loop {
        let r = repo.clone();
        let status = blocking(move || {
            let r = r.lock().unwrap_or_else(|p| p.into_inner());
            let tip = r.fetch().map_err(|e| e.to_string())?;
            r.file(tip, STATUS_FILE).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("{STEP}: {e}"))?;
        if let Some(bytes) = status {
            let text = String::from_utf8_lossy(&bytes);
            let result = text
                .lines()
                .find_map(|l| l.strip_prefix("result: "))
                .unwrap_or("?");
            did(
                STEP,
                format!(
                    "the engine wrote {STATUS_FILE} (result: {})",
                    sanitize(result)
                ),
            );
            return Ok(());
        }
        if start.elapsed() > wait {
            return Err(format!(
                "{STEP}: no {STATUS_FILE} after {} s: the engine has not synced (kubectl -n {NAMESPACE} logs deploy/orbdeck-engine); run bootstrap again to keep waiting",
                wait.as_secs()
            ));
        }
        if said.elapsed() >= Duration::from_secs(5) {
            println!(
                "  waiting for the engine's first {STATUS_FILE} ({} s)",
                start.elapsed().as_secs()
            );
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Adds the ORB to the fleet file, unless it is there with the same repo.
fn add_to_fleet(mut config: FleetConfig, paths: &Paths, entry: OrbEntry) -> Result<(), String> {
    const STEP: &str = "fleet";
    if let Some(existing) = config.orb(&entry.name) {
        if existing.repo == entry.repo {
            skipped(
                STEP,
                format!("{} is in {} already", entry.name, paths.config.display()),
            );
            return Ok(());
        }
        return Err(format!(
            "{STEP}: {} is in {} with another repo ({}); remove it first (orbdeck orb remove {})",
            entry.name,
            paths.config.display(),
            sanitize(existing.repo.as_deref().unwrap_or("none: live only")),
            entry.name
        ));
    }
    let name = entry.name.clone();
    config.orbs.push(entry);
    config
        .save(&paths.config)
        .map_err(|e| format!("{STEP}: {e}"))?;
    did(STEP, format!("added {name} to {}", paths.config.display()));
    Ok(())
}
