//! `orbdeck plan ORB`: what applying the ORB's desired state (with this machine's drafts) would
//! change in its cluster.

use crate::fleet::config::{FleetConfig, Paths};
use crate::fleet::connect;
use crate::plan;
use crate::repo::status::OrbStatus;
use crate::repo::{DESIRED, Drafts, OrbRepo};
use crate::validate::{self, Object};
use clap::{Args, ValueEnum};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

/// When to colour the output.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of `orbdeck plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// ORB name from the fleet config.
    pub orb: String,
    /// Do not ask the cluster: compare with the desired state the engine last applied.
    #[arg(long)]
    pub offline: bool,
    /// Leave this machine's drafts out (plan the remote's desired state only).
    #[arg(long)]
    pub no_drafts: bool,
    /// Colour the diff.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

/// Runs `orbdeck plan`.
pub async fn run(args: PlanArgs, paths: Paths) -> Result<(), String> {
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let entry = config
        .orb(&args.orb)
        .ok_or_else(|| format!("no ORB named {:?} in {}", args.orb, paths.config.display()))?
        .clone();
    let drafts = (!args.no_drafts).then(|| Drafts::new(paths.drafts_dir()));
    let read = {
        let (config, paths, entry) = (config.clone(), paths.clone(), entry.clone());
        tokio::task::spawn_blocking(move || read_repo(&config, &paths, &entry, drafts.as_ref()))
    };
    let state = read.await.map_err(|e| e.to_string())??;
    let mut notes = state.notes;
    let timeout = Duration::from_secs(config.remote.timeout_seconds.clamp(1, 30));
    let live = if args.offline {
        None
    } else {
        match connect::client(&entry, timeout).await {
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
            plan::against_cluster(&client, &entry.name, &state.desired, &state.prune_kinds).await?
        }
        None => {
            match &state.applied {
                Some(commit) => notes.push(format!(
                    "offline: against the desired state of commit {commit:.8}, the last one the engine applied (current/status.yaml)"
                )),
                None => notes.push("offline: the engine has not synced this ORB yet; everything is a create".into()),
            }
            plan::against_commit(&state.desired, &state.then, &entry.name)
        }
    };
    notes.append(&mut result.notes);
    result.notes = notes;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    print!("{}", plan::render(&result, color));
    Ok(())
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
    entry: &crate::fleet::config::OrbEntry,
    drafts: Option<&Drafts>,
) -> Result<RepoState, String> {
    let repo = connect::open_repo(config, paths, entry).map_err(|e| e.to_string())?;
    let tip = repo.fetch().map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    let mut files = match tip {
        Some(tip) => repo.files(tip, DESIRED).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
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
    let report = desired_objects(&files);
    if report.has_errors() {
        let list: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
        return Err(format!(
            "desired state is invalid; nothing to plan:\n{}",
            list.join("\n")
        ));
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
        Ok(files) => desired_objects(&files).objects,
        Err(_) => Vec::new(),
    }
}
