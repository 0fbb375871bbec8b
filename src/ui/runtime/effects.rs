//! The control room's background work: each [`Effect`] runs as its own task (git and file work
//! on blocking threads) and reports back as an [`Action`]. Nothing here runs on the render path.

use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::plan;
use crate::repo::write::write;
use crate::repo::{Change, DESIRED, Draft, Drafts, Edit, OrbRepo, RetryPolicy};
use crate::text::sanitize;
use crate::ui::{Action, ChildRow, Effect, ObjectRef, UpgradeOp};
use crate::validate::{self, Severity};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long a single API request from the UI may take.
const API_TIMEOUT: Duration = Duration::from_secs(5);

/// What the effects need: the fleet, where clones and drafts live, and the way back to the UI.
#[derive(Clone)]
pub struct Env {
    config: FleetConfig,
    paths: Paths,
    drafts: Drafts,
    tx: UnboundedSender<Action>,
    repos: Arc<Mutex<HashMap<String, Arc<Mutex<OrbRepo>>>>>,
}

impl Env {
    /// The environment of one UI session.
    pub fn new(config: FleetConfig, paths: Paths, tx: UnboundedSender<Action>) -> Env {
        Env {
            drafts: Drafts::new(paths.drafts_dir()),
            config,
            paths,
            tx,
            repos: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn send(&self, action: Action) {
        let _ = self.tx.send(action);
    }

    fn entry(&self, orb: &str) -> Result<OrbEntry, String> {
        self.config
            .orb(orb)
            .cloned()
            .ok_or_else(|| format!("no ORB named {orb:?} in the fleet"))
    }

    /// Runs `f` with the ORB's clone (opened once per session) on a blocking thread.
    async fn with_repo<T: Send + 'static>(
        &self,
        orb: &str,
        f: impl FnOnce(&OrbRepo) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let entry = self.entry(orb)?;
        let env = self.clone();
        tokio::task::spawn_blocking(move || {
            let repo = {
                let mut repos = env.repos.lock().unwrap_or_else(|e| e.into_inner());
                match repos.get(&entry.name) {
                    Some(r) => r.clone(),
                    None => {
                        let r = connect::open_repo(&env.config, &env.paths, &entry)
                            .map_err(|e| e.to_string())?;
                        let r = Arc::new(Mutex::new(r));
                        repos.insert(entry.name.clone(), r.clone());
                        r
                    }
                }
            };
            let repo = repo.lock().unwrap_or_else(|e| e.into_inner());
            f(&repo)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// Runs one effect to completion and reports its result (`Quit` is the caller's).
pub async fn run(env: Env, effect: Effect) {
    let result = match effect {
        Effect::OpenFile { orb, path } => open_file(&env, orb, path).await,
        Effect::SaveDraft { orb, path, text } => match save_draft(&env, orb, path, text).await {
            Ok(()) => return,
            Err(e) => Err(format!("the draft was not saved: {e}")),
        },
        Effect::Validate { orb, path, text } => validate(&env, orb, path, text).await,
        Effect::Plan { orb, path, text } => plan(&env, orb, path, text).await,
        Effect::Commit {
            orb,
            path,
            text,
            message,
        } => commit(&env, orb, path, text, message).await,
        Effect::FetchLiveYaml { orb, target } => live_yaml(&env, &orb, &target)
            .await
            .map(|y| Action::LiveYaml(sanitize_lines(&y))),
        Effect::ThreeWay { orb, target } => three_way(&env, orb, target).await,
        Effect::Children { orb, profile } => children(&env, &orb, &profile).await,
        Effect::UpgradeControl { orb, name, op } => upgrade_control(&env, orb, name, op).await,
        Effect::Quit => return,
    };
    match result {
        Ok(action) => env.send(action),
        Err(e) => env.send(Action::Error(sanitize_lines(&e).replace('\n', " · "))),
    }
}

/// Multi-line text sanitised line by line (the line breaks kept, everything else cleaned).
fn sanitize_lines(text: &str) -> String {
    text.lines()
        .map(|l| sanitize(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn open_file(env: &Env, orb: String, path: String) -> Result<Action, String> {
    if let Some(draft) = env.drafts.load(&orb, &path)
        && let Some(text) = draft.content
    {
        return Ok(Action::FileOpened {
            orb,
            path,
            text,
            from_draft: true,
        });
    }
    let p = path.clone();
    let bytes = env
        .with_repo(&orb, move |repo| {
            let tip = repo.tip();
            repo.file(tip, &p).map_err(|e| e.to_string())
        })
        .await?;
    let text = String::from_utf8(bytes.unwrap_or_default())
        .map_err(|_| format!("{path}: not UTF-8 text"))?;
    Ok(Action::FileOpened {
        orb,
        path,
        text,
        from_draft: false,
    })
}

async fn save_draft(env: &Env, orb: String, path: String, text: String) -> Result<(), String> {
    let drafts = env.drafts.clone();
    let (o, p) = (orb.clone(), path.clone());
    env.with_repo(&orb, move |repo| {
        let draft = Draft::new(&o, &p, repo.tip(), Some(text));
        drafts.save(&draft).map_err(|e| e.to_string())
    })
    .await
}

/// Desired files at the tip with `path` replaced by `text`.
async fn files_with(
    env: &Env,
    orb: &str,
    path: &str,
    text: &str,
) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let (p, t) = (path.to_owned(), text.to_owned());
    env.with_repo(orb, move |repo| {
        let mut files = match repo.fetch().map_err(|e| e.to_string())? {
            Some(tip) => repo.files(tip, DESIRED).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        files.retain(|(f, _)| f != &p);
        files.push((p, t.into_bytes()));
        Ok(files
            .into_iter()
            .map(|(f, b)| (PathBuf::from(f), b))
            .collect())
    })
    .await
}

async fn validate(env: &Env, orb: String, path: String, text: String) -> Result<Action, String> {
    let files = files_with(env, &orb, &path, &text).await?;
    let report = validate::validate_files(&files, &validate::ModelSchemas);
    let errors = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            if d.file == std::path::Path::new(&path) {
                (
                    u32::try_from(d.line).unwrap_or(0),
                    sanitize(&format!("{}: {}", d.path, d.message)).into_owned(),
                )
            } else {
                (0, sanitize(&d.to_string()).into_owned())
            }
        })
        .collect();
    Ok(Action::Validated { errors })
}

async fn plan(env: &Env, orb: String, path: String, text: String) -> Result<Action, String> {
    let entry = env.entry(&orb)?;
    let overlay = plan::Overlay {
        drafts: Some(&env.drafts),
        files: vec![(path, text.into_bytes())],
        offline: false,
    };
    let result = plan::plan_orb(&env.config, &env.paths, &entry, overlay).await?;
    Ok(Action::Planned(sanitize_lines(&plan::render(
        &result, false,
    ))))
}

async fn commit(
    env: &Env,
    orb: String,
    path: String,
    text: String,
    message: String,
) -> Result<Action, String> {
    let entry = env.entry(&orb)?;
    env.send(Action::PushProgress(format!(
        "committing {path} and pushing to {}",
        sanitize(&entry.repo)
    )));
    let drafts = env.drafts.clone();
    let (o, p) = (orb.clone(), path.clone());
    let pushed = env
        .with_repo(&orb, move |repo| {
            let base = repo.fetch().map_err(|e| e.to_string())?;
            let edit = Edit {
                base,
                changes: vec![Change {
                    path: p.clone(),
                    content: Some(text.clone().into_bytes()),
                }],
                message,
            };
            match write(repo, &edit, &RetryPolicy::default()) {
                Ok(oid) => {
                    let _ = drafts.remove(&o, &p);
                    Ok(Ok(oid.to_string()))
                }
                Err(e) => {
                    let mut draft = Draft::new(&o, &p, base, Some(text));
                    draft.last_error = Some(e.to_string());
                    let _ = drafts.save(&draft);
                    Ok(Err(e.to_string()))
                }
            }
        })
        .await?;
    Ok(Action::Pushed(match pushed {
        Ok(oid) => Ok(oid.chars().take(8).collect()),
        Err(report) => Err(sanitize_lines(&report)),
    }))
}

/// The apiVersion of the kinds the views show.
fn api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Profile" => "kubeflow.org/v1",
        "PodDefault" => "kubeflow.org/v1alpha1",
        "ImageReplication"
        | "ImageReplicationPolicy"
        | "ClusterUpgrade"
        | "NodeUpgrade"
        | "PodSetting" => "orbdeck.io/v1alpha1",
        "NetworkPolicy" => "networking.k8s.io/v1",
        "RoleBinding" => "rbac.authorization.k8s.io/v1",
        "AuthorizationPolicy" => "security.istio.io/v1beta1",
        "Namespace" | "ResourceQuota" | "LimitRange" | "ServiceAccount" | "Event" | "Node"
        | "Pod" => "v1",
        _ => return None,
    })
}

async fn client(env: &Env, orb: &str) -> Result<kube::Client, String> {
    connect::client(&env.entry(orb)?, API_TIMEOUT).await
}

/// The API of a kind, through discovery.
async fn api_for(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Result<Api<DynamicObject>, String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = tokio::time::timeout(API_TIMEOUT, kube::discovery::pinned_kind(client, &gvk))
        .await
        .map_err(|_| format!("{kind}: discovery timed out"))?
        .map_err(|e| format!("{kind}: {e}"))?;
    Ok(match (caps.scope, namespace) {
        (kube::discovery::Scope::Namespaced, Some(ns)) => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    })
}

async fn live_yaml(env: &Env, orb: &str, target: &ObjectRef) -> Result<String, String> {
    let client = client(env, orb).await?;
    let api_version = api_version(&target.kind)
        .ok_or_else(|| format!("{}: not a kind the control room reads", target.kind))?;
    let api = api_for(
        &client,
        api_version,
        &target.kind,
        target.namespace.as_deref(),
    )
    .await?;
    let object = tokio::time::timeout(API_TIMEOUT, api.get_opt(&target.name))
        .await
        .map_err(|_| format!("{} {}: no answer", target.kind, target.name))?
        .map_err(|e| e.to_string())?;
    let Some(mut object) = object else {
        return Ok(format!(
            "# {} {} does not exist in the cluster\n",
            target.kind, target.name
        ));
    };
    object.metadata.managed_fields = None;
    serde_saphyr::to_string(&object).map_err(|e| e.to_string())
}

async fn three_way(env: &Env, orb: String, target: ObjectRef) -> Result<Action, String> {
    let (kind, name) = (target.kind.clone(), target.name.clone());
    let (desired, current) = env
        .with_repo(&orb, move |repo| {
            let Some(tip) = repo.fetch().map_err(|e| e.to_string())? else {
                return Ok(("# the repo is empty\n".to_owned(), String::new()));
            };
            let files: Vec<(PathBuf, Vec<u8>)> = repo
                .files(tip, DESIRED)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|(p, b)| (PathBuf::from(p), b))
                .collect();
            let report = validate::validate_files(&files, &validate::ModelSchemas);
            let desired = report
                .objects
                .iter()
                .find(|o| o.kind == kind && o.name == name)
                .map(|o| {
                    let text = serde_saphyr::to_string(&o.value).unwrap_or_default();
                    format!("# {}:{}\n{text}", o.file.display(), o.line)
                })
                .unwrap_or_else(|| format!("# {kind} {name} is not in desired/\n"));
            let current = repo
                .file(Some(tip), crate::controllers::report::PROFILES_FILE)
                .ok()
                .flatten()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| {
                    serde_saphyr::from_str::<crate::controllers::report::ProfilesReport>(&t).ok()
                })
                .and_then(|r| r.profiles.into_iter().find(|p| p.name == name))
                .map(|p| serde_saphyr::to_string(&p).unwrap_or_default())
                .unwrap_or_else(|| format!("# the engine reports nothing about {kind} {name}\n"));
            Ok((desired, current))
        })
        .await?;
    let live = live_yaml(env, &orb, &target)
        .await
        .unwrap_or_else(|e| format!("# live state unavailable: {e}\n"));
    Ok(Action::ThreeWay {
        desired: sanitize_lines(&desired),
        current: sanitize_lines(&current),
        live: sanitize_lines(&live),
    })
}

async fn children(env: &Env, orb: &str, profile: &str) -> Result<Action, String> {
    let client = client(env, orb).await?;
    let selector = format!("{}={profile}", crate::controllers::PROFILE_LABEL);
    let mut rows = Vec::new();
    for (api_version, kind) in crate::controllers::profile_reconcile::KINDS {
        let Ok(api) = api_for(&client, api_version, kind, None).await else {
            continue;
        };
        let list = tokio::time::timeout(
            API_TIMEOUT,
            api.list(&ListParams::default().labels(&selector)),
        )
        .await
        .map_err(|_| format!("{kind}: no answer"))?;
        let Ok(list) = list else { continue };
        for o in list.items {
            let status = if o.metadata.deletion_timestamp.is_some() {
                "Terminating".to_owned()
            } else {
                object_status(&o.data)
            };
            rows.push(ChildRow {
                kind: kind.to_owned(),
                namespace: sanitize(o.metadata.namespace.as_deref().unwrap_or_default())
                    .into_owned(),
                name: sanitize(o.metadata.name.as_deref().unwrap_or_default()).into_owned(),
                status: sanitize(&status).into_owned(),
            });
        }
    }
    Ok(Action::Children(rows))
}

/// A one-line live status: a namespace's phase, a quota's usage, else "present".
fn object_status(data: &Value) -> String {
    if let Some(phase) = data.pointer("/status/phase").and_then(Value::as_str) {
        return phase.to_owned();
    }
    if let (Some(hard), Some(used)) = (
        data.pointer("/status/hard").and_then(Value::as_object),
        data.pointer("/status/used").and_then(Value::as_object),
    ) {
        return ["requests.cpu", "requests.memory", "pods"]
            .iter()
            .filter_map(|k| {
                Some(format!(
                    "{k} {}/{}",
                    used.get(*k)?.as_str()?,
                    hard.get(*k)?.as_str()?
                ))
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    "present".into()
}

/// Pause, resume or abort an upgrade: an edit of its desired file, committed and pushed.
async fn upgrade_control(
    env: &Env,
    orb: String,
    name: String,
    op: UpgradeOp,
) -> Result<Action, String> {
    let n = name.clone();
    let (oid, path) = env
        .with_repo(&orb, move |repo| {
            let tip = repo.fetch().map_err(|e| e.to_string())?;
            let files = match tip {
                Some(t) => repo.files(t, DESIRED).map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            let mut found = None;
            for (path, bytes) in &files {
                let text = String::from_utf8_lossy(bytes);
                if text.split("\n---").count() > 1 {
                    continue;
                }
                if let Ok(mut upgrade) =
                    serde_saphyr::from_str::<crate::model::ClusterUpgrade>(&text)
                    && upgrade.metadata.name.as_deref() == Some(n.as_str())
                {
                    match op {
                        UpgradeOp::Pause => upgrade.spec.paused = true,
                        UpgradeOp::Resume => upgrade.spec.paused = false,
                        UpgradeOp::Abort => upgrade.spec.abort = true,
                    }
                    let mut value = serde_json::to_value(&upgrade).map_err(|e| e.to_string())?;
                    if let Some(m) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.retain(|k, v| !v.is_null() && k != "creationTimestamp");
                    }
                    found = Some((path.clone(), serde_saphyr::to_string(&value).map_err(|e| e.to_string())?));
                    break;
                }
            }
            let (path, text) = found.ok_or_else(|| {
                format!("ClusterUpgrade {n}: no file in desired/ holds it alone; edit it in the Desired tab")
            })?;
            let edit = Edit {
                base: tip,
                changes: vec![Change {
                    path: path.clone(),
                    content: Some(text.into_bytes()),
                }],
                message: format!("orbdeck: {} ClusterUpgrade {n}", op_word(op)),
            };
            let oid = write(repo, &edit, &RetryPolicy::default()).map_err(|e| e.to_string())?;
            Ok((oid.to_string(), path))
        })
        .await?;
    Ok(Action::Notice(format!(
        "{} ClusterUpgrade {name}: committed {:.8} to {path}",
        op_word(op),
        oid
    )))
}

fn op_word(op: UpgradeOp) -> &'static str {
    match op {
        UpgradeOp::Pause => "paused",
        UpgradeOp::Resume => "resumed",
        UpgradeOp::Abort => "aborted",
    }
}
