//! The plan of one ORB from the fleet: its desired state (with this machine's drafts and any
//! unsaved text laid over it) against the live cluster, or, when the cluster cannot be reached,
//! against the desired state the engine last applied. Shared by `orbdeck plan` and the UI.

use super::{Plan, PlanError, against_cluster, against_commit};
use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::repo::status::OrbStatus;
use crate::repo::{DESIRED, Drafts, OrbRepo};
use crate::validate::{self, Object};
use std::path::PathBuf;
use std::time::Duration;

/// What to lay over the remote's desired state.
#[derive(Default)]
pub struct Overlay<'a> {
    /// This machine's drafts of the ORB, if they count.
    pub drafts: Option<&'a Drafts>,
    /// Files (path, text) as edited but maybe not saved anywhere yet.
    pub files: Vec<(String, Vec<u8>)>,
    /// Files taken away (deleted by the edit).
    pub removed: Vec<String>,
    /// Do not ask the cluster.
    pub offline: bool,
}

/// Plans `entry`'s desired state with `overlay` laid over it; the notes say what it was
/// planned against.
pub async fn plan_orb(
    config: &FleetConfig,
    paths: &Paths,
    entry: &OrbEntry,
    overlay: Overlay<'_>,
) -> Result<Plan, PlanError> {
    let read = {
        let (config, paths, entry) = (config.clone(), paths.clone(), entry.clone());
        let drafts = overlay.drafts.cloned();
        let files = overlay.files.clone();
        let removed = overlay.removed.clone();
        tokio::task::spawn_blocking(move || {
            read_repo(&config, &paths, &entry, drafts.as_ref(), files, &removed)
        })
    };
    let state = read.await??;
    let mut notes = state.notes;
    let timeout = Duration::from_secs(config.remote.timeout_seconds.clamp(1, 30));
    let live = if overlay.offline {
        None
    } else {
        match connect::client(entry, timeout).await {
            Ok(client) => match client.apiserver_version().await {
                Ok(_) => Some(client),
                Err(e) => {
                    notes.push(format!("cluster unreachable ({e}); planned offline"));
                    None
                }
            },
            Err(e) => {
                notes.push(format!("cluster unreachable ({e}); planned offline"));
                None
            }
        }
    };
    let mut result = match live {
        Some(client) => {
            notes.push("against the live cluster (server-side dry-run apply)".into());
            against_cluster(&client, &entry.name, &state.desired, &state.prune_kinds).await?
        }
        None => {
            match &state.applied {
                Some(commit) => notes.push(format!(
                    "offline: against the desired state of commit {commit:.8}, the last one the engine applied (current/status.yaml)"
                )),
                None => notes.push("offline: the engine has not synced this ORB yet; everything is a create".into()),
            }
            against_commit(&state.desired, &state.then, &entry.name)
        }
    };
    notes.append(&mut result.notes);
    result.notes = notes;
    Ok(result)
}

/// What the plan needs from the repo.
struct RepoState {
    desired: Vec<Object>,
    then: Vec<Object>,
    applied: Option<String>,
    prune_kinds: Vec<(String, String)>,
    notes: Vec<String>,
}

fn read_repo(
    config: &FleetConfig,
    paths: &Paths,
    entry: &OrbEntry,
    drafts: Option<&Drafts>,
    overlay: Vec<(String, Vec<u8>)>,
    removed: &[String],
) -> Result<RepoState, PlanError> {
    let repo = connect::open_repo(config, paths, entry)?;
    let tip = repo.fetch()?;
    let mut notes = Vec::new();
    let mut files = match tip {
        Some(tip) => repo.files(tip, DESIRED)?,
        None => Vec::new(),
    };
    files.retain(|(p, _)| crate::validate::is_manifest_path(p));
    if let Some(drafts) = drafts {
        let mine = drafts.list(Some(&entry.name));
        for d in &mine {
            files.retain(|(p, _)| p != &d.path);
            if let Some(content) = &d.content {
                files.push((d.path.clone(), content.clone().into_bytes()));
            }
        }
        if !mine.is_empty() {
            notes.push(format!(
                "including {} draft(s) from this machine",
                mine.len()
            ));
        }
    }
    files.retain(|(p, _)| !removed.contains(p));
    for (path, text) in overlay {
        files.retain(|(p, _)| p != &path);
        files.push((path, text));
    }
    let report = desired_objects(&files);
    if report.has_errors() {
        let diagnostics = report.diagnostics.iter().map(|d| d.to_string()).collect();
        return Err(PlanError::Invalid { diagnostics });
    }
    let status = tip.and_then(|t| OrbStatus::read(&repo, t));
    let (applied, then, prune_kinds) = match status {
        Some(s) if !s.commit.is_empty() => {
            let then = applied_objects(&repo, &s.commit);
            let kinds = s
                .objects
                .iter()
                .map(|o| (o.api_version.clone(), o.kind.clone()))
                .chain(then.iter().map(|o| (o.api_version.clone(), o.kind.clone())))
                .collect();
            (Some(s.commit), then, kinds)
        }
        _ => (None, Vec::new(), Vec::new()),
    };
    Ok(RepoState {
        desired: report.objects,
        then,
        applied,
        prune_kinds,
        notes,
    })
}

fn desired_objects(files: &[(String, Vec<u8>)]) -> validate::Report {
    let files: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|(p, b)| (PathBuf::from(p), b.clone()))
        .collect();
    validate::validate_files(&files, &validate::ModelSchemas)
}

fn applied_objects(repo: &OrbRepo, commit: &str) -> Vec<Object> {
    let Ok(oid) = git2::Oid::from_str(commit) else {
        return Vec::new();
    };
    match repo.files(oid, DESIRED) {
        Ok(mut files) => {
            files.retain(|(p, _)| crate::validate::is_manifest_path(p));
            desired_objects(&files).objects
        }
        Err(_) => Vec::new(),
    }
}
