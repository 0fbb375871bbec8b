//! The control room's background work: each [`Effect`] runs as its own task (git and file work
//! on blocking threads) and reports back as an [`Action`]. Nothing here runs on the render path.

mod delete;
mod diff;
mod drift;
mod history;
mod rollout;

use super::scalar_edit;
use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::plan;
use crate::repo::merge3::Resolution;
use crate::repo::write::{rebase_change, write};
use crate::repo::{
    Change, DESIRED, Draft, Drafts, Edit, ORB_FILE, OrbRepo, RepoError, RetryPolicy, Saved, merge3,
};
use crate::text::sanitize;
use crate::ui::action::{ConflictRow, PushResult};
use crate::ui::kinds::{api_version, children};
use crate::ui::{Action, Effect, ObjectRef, UpgradeOp};
use crate::validate::{self, Severity};
use git2::Oid;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// Why an effect failed (shown to the user as an error line).
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    /// The effect names an ORB the fleet does not have.
    #[error("no ORB named {0:?} in the fleet")]
    UnknownOrb(String),
    /// A git, remote or draft operation failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The blocking task doing the work did not finish (it panicked or was cancelled).
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// A file in the repo is not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotUtf8 {
        /// The file in the repo.
        path: String,
    },
    /// The draft to show does not exist.
    #[error("no draft of {path} in {orb}")]
    NoDraft {
        /// The ORB.
        orb: String,
        /// The file.
        path: String,
    },
    /// Saving the draft failed.
    #[error("the draft was not saved: {0}")]
    DraftNotSaved(#[source] Box<EffectError>),
    /// No plan could be made.
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// No client for the ORB's cluster.
    #[error(transparent)]
    Connect(#[from] connect::ConnectError),
    /// The kind is not one the control room shows.
    #[error("{kind}: not a kind the control room reads")]
    UnknownKind {
        /// The kind.
        kind: String,
    },
    /// Discovery of a kind did not answer in time.
    #[error("{kind}: discovery timed out")]
    DiscoveryTimeout {
        /// The kind.
        kind: String,
    },
    /// Discovery of a kind failed.
    #[error("{kind}: {source}")]
    Discovery {
        /// The kind.
        kind: String,
        /// The client or API error.
        source: kube::Error,
    },
    /// The API server did not answer in time.
    #[error("{what}: no answer")]
    NoAnswer {
        /// What was asked for (a kind, or a kind and a name).
        what: String,
    },
    /// A request to the API server failed.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// An object could not be shown as YAML.
    #[error(transparent)]
    Yaml(#[from] serde_saphyr::SerializeError),
    /// A commit id does not read as one.
    #[error("{0:?}: not a commit id")]
    BadCommit(String),
    /// The ClusterUpgrade to control is not in desired/.
    #[error("ClusterUpgrade {name}: not found in desired/ (or it has no spec:)")]
    NoUpgrade {
        /// The ClusterUpgrade's name.
        name: String,
    },
}

/// How long a single API request from the UI may take.
pub(super) const API_TIMEOUT: Duration = Duration::from_secs(5);

/// What the effects need: the fleet, where clones and drafts live, and the way back to the UI.
#[derive(Clone)]
pub struct Env {
    config: FleetConfig,
    paths: Paths,
    drafts: Drafts,
    tx: UnboundedSender<Action>,
    /// Log batches, one at a time (the stream waits while the UI has not taken the last).
    pub(super) logs: tokio::sync::mpsc::Sender<Action>,
    /// Stops the running log stream.
    log_stop: Arc<Mutex<Option<CancellationToken>>>,
    repos: Arc<Mutex<HashMap<String, Arc<Mutex<OrbRepo>>>>>,
}

impl Env {
    /// The environment of one UI session: results go to `tx`, log batches to `logs`.
    pub fn new(
        config: FleetConfig,
        paths: Paths,
        tx: UnboundedSender<Action>,
        logs: tokio::sync::mpsc::Sender<Action>,
    ) -> Env {
        Env {
            drafts: Drafts::new(paths.drafts_dir()),
            config,
            paths,
            tx,
            logs,
            log_stop: Arc::new(Mutex::new(None)),
            repos: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub(super) fn send(&self, action: Action) {
        let _ = self.tx.send(action);
    }

    /// A token for a new log stream; the one before it is stopped.
    fn new_log_stream(&self) -> CancellationToken {
        let token = CancellationToken::new();
        let mut slot = self.log_stop.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = slot.replace(token.clone()) {
            old.cancel();
        }
        token
    }

    fn stop_logs(&self) {
        let mut slot = self.log_stop.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = slot.take() {
            old.cancel();
        }
    }

    pub(super) fn entry(&self, orb: &str) -> Result<OrbEntry, EffectError> {
        self.config
            .orb(orb)
            .cloned()
            .ok_or_else(|| EffectError::UnknownOrb(orb.to_owned()))
    }

    /// Runs `f` with the ORB's clone (opened once per session) on a blocking thread.
    async fn with_repo<T: Send + 'static>(
        &self,
        orb: &str,
        f: impl FnOnce(&OrbRepo) -> Result<T, EffectError> + Send + 'static,
    ) -> Result<T, EffectError> {
        let entry = self.entry(orb)?;
        let env = self.clone();
        tokio::task::spawn_blocking(move || {
            let repo = {
                let mut repos = env.repos.lock().unwrap_or_else(|e| e.into_inner());
                match repos.get(&entry.name) {
                    Some(r) => r.clone(),
                    None => {
                        let r = connect::open_repo(&env.config, &env.paths, &entry)?;
                        let r = Arc::new(Mutex::new(r));
                        repos.insert(entry.name.clone(), r.clone());
                        r
                    }
                }
            };
            let repo = repo.lock().unwrap_or_else(|e| e.into_inner());
            f(&repo)
        })
        .await?
    }
}

/// Runs one effect to completion and reports its result (`Quit` is the caller's).
pub async fn run(env: Env, effect: Effect) {
    let result = match effect {
        Effect::OpenFile { orb, path } => open_file(&env, orb, path).await,
        Effect::SaveDraft {
            orb,
            path,
            text,
            base,
            base_text,
            rebased,
        } => {
            let draft = Draft::new(&orb, &path, oid(base.as_deref()), base_text, Some(text));
            match save_draft(&env, draft, rebased).await {
                Ok(None) => return,
                Ok(Some(action)) => Ok(action),
                Err(e) => Err(EffectError::DraftNotSaved(Box::new(e))),
            }
        }
        Effect::DiscardDraft { orb, path } => discard_draft(&env, orb, path).await,
        Effect::Validate { orb, path, text } => validate(&env, orb, path, text).await,
        Effect::Plan {
            orb,
            path,
            text,
            base,
        } => plan(&env, orb, path, text, base).await,
        Effect::Commit {
            orb,
            path,
            text,
            base,
            message,
        } => Ok(commit(&env, orb, path, text, base, message)
            .await
            .unwrap_or_else(|e| {
                Action::Pushed(PushResult::Rejected(sanitize_lines(&e.to_string())))
            })),
        Effect::Merge {
            orb,
            path,
            text,
            base,
            resolutions,
        } => merge(&env, orb, path, text, base, resolutions).await,
        Effect::TheirChange { orb, path, base } => their_change(&env, orb, path, base).await,
        Effect::DraftDiff { orb, path } => draft_diff(&env, orb, path).await,
        Effect::PlanAll { orb } => plan_all(&env, orb).await,
        Effect::CommitAll { orb, message } => commit_all(&env, orb, message).await,
        Effect::FetchLiveYaml { orb, target } => live_yaml(&env, &orb, &target)
            .await
            .map(|y| Action::LiveYaml(sanitize_lines(&y))),
        Effect::Diff { orb, what } => diff::diff(&env, orb, what).await,
        Effect::Children { orb, profile } => children(&env, &orb, &profile).await,
        Effect::UpgradeControl { orb, name, op } => upgrade_control(&env, orb, name, op).await,
        Effect::History { orb, path } => history::log(&env, orb, path).await,
        Effect::RolloutStatus(id) => rollout::status(&env, id).await,
        Effect::PlanRollout { args, draft } => rollout::plan(&env, args, draft).await,
        Effect::RolloutMove { id, wanted, draft } => rollout::moved(&env, id, wanted, draft).await,
        Effect::ShowCommit { orb, commit } => history::show(&env, orb, commit).await,
        Effect::Blame { orb, path } => history::blame(&env, orb, path).await,
        Effect::PlanRevert { orb, commit } => history::plan_revert(&env, orb, commit).await,
        Effect::Revert { orb, commit, path } => history::revert(&env, orb, commit, path).await,
        Effect::SyncNow { orb } => sync_now(&env, &orb).await,
        Effect::RetryReplication {
            orb,
            namespace,
            name,
        } => retry_replication(&env, &orb, &namespace, &name).await,
        Effect::Drift { orb } => drift::drift(&env, orb).await,
        Effect::Suspend { orb, suspend } => set_suspend(&env, orb, suspend).await,
        Effect::DeleteDesired(target) => delete::delete(&env, target).await,
        Effect::PlanOrb { orb } => drift::plan_text(&env, orb).await,
        Effect::Logs(request) => {
            let stop = env.new_log_stream();
            return super::logs::stream(&env, request, stop).await;
        }
        Effect::StopLogs => return env.stop_logs(),
        Effect::Describe {
            orb,
            api_version,
            kind,
            namespace,
            name,
        } => {
            let target = super::describe::Target {
                orb,
                api_version,
                kind,
                namespace,
                name,
            };
            super::describe::describe(&env, target).await
        }
        // The event loop itself tells the live workers what to watch.
        Effect::Watch(_) | Effect::Quit => return,
    };
    match result {
        Ok(action) => env.send(action),
        Err(e) => env.send(Action::Error(
            sanitize_lines(&e.to_string()).replace('\n', " · "),
        )),
    }
}

/// Multi-line text sanitised line by line (the line breaks kept, everything else cleaned).
pub(super) fn sanitize_lines(text: &str) -> String {
    text.lines()
        .map(|l| sanitize(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A commit id from hex (an unreadable one counts as none).
fn oid(hex: Option<&str>) -> Option<Oid> {
    hex.and_then(|h| Oid::from_str(h).ok())
}

/// The file at `commit` as text (None: absent there).
fn text_at(repo: &OrbRepo, commit: Option<Oid>, path: &str) -> Result<Option<String>, EffectError> {
    repo.file(commit, path)?
        .map(|b| {
            String::from_utf8(b).map_err(|_| EffectError::NotUtf8 {
                path: path.to_owned(),
            })
        })
        .transpose()
}

async fn open_file(env: &Env, orb: String, path: String) -> Result<Action, EffectError> {
    if let Some(draft) = env.drafts.load(&orb, &path)
        && let Some(text) = draft.content
    {
        return Ok(Action::FileOpened {
            orb,
            path,
            text,
            from_draft: true,
            base: draft.base,
            base_text: draft.base_content,
        });
    }
    let p = path.clone();
    let (tip, text) = env
        .with_repo(&orb, move |repo| {
            let tip = repo.tip();
            Ok((tip, text_at(repo, tip, &p)?))
        })
        .await?;
    Ok(Action::FileOpened {
        orb,
        path,
        text: text.clone().unwrap_or_default(),
        from_draft: false,
        base: tip.map(|t| t.to_string()),
        base_text: text,
    })
}

/// Saves a draft keeping an existing draft's base (unless `rebased`: then with its own);
/// says so when the text is back to its base.
async fn save_draft(env: &Env, draft: Draft, rebased: bool) -> Result<Option<Action>, EffectError> {
    let drafts = env.drafts.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let saved = if rebased && draft.is_unchanged() {
            drafts
                .remove(&draft.orb, &draft.path)
                .map(|()| Saved::Removed)
        } else if rebased {
            drafts.save(&draft).map(|()| Saved::Kept)
        } else {
            drafts.save_edit(&draft)
        };
        saved.map(|s| (s, draft))
    })
    .await??;
    Ok(match saved {
        (Saved::Kept, _) => None,
        (Saved::Removed, d) => Some(Action::DraftDiscarded {
            orb: d.orb,
            path: d.path,
        }),
    })
}

async fn discard_draft(env: &Env, orb: String, path: String) -> Result<Action, EffectError> {
    let drafts = env.drafts.clone();
    let (o, p) = (orb.clone(), path.clone());
    tokio::task::spawn_blocking(move || drafts.remove(&o, &p)).await??;
    Ok(Action::DraftDiscarded { orb, path })
}

/// Desired files at the tip with `path` replaced by `text`.
async fn files_with(
    env: &Env,
    orb: &str,
    path: &str,
    text: &str,
) -> Result<Vec<(PathBuf, Vec<u8>)>, EffectError> {
    let (p, t) = (path.to_owned(), text.to_owned());
    env.with_repo(orb, move |repo| {
        let mut files = match repo.fetch()? {
            Some(tip) => repo.files(tip, DESIRED)?,
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

async fn validate(
    env: &Env,
    orb: String,
    path: String,
    text: String,
) -> Result<Action, EffectError> {
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
                    sanitize(&d.what()).into_owned(),
                )
            } else {
                (0, sanitize(&d.to_string()).into_owned())
            }
        })
        .collect();
    Ok(Action::Validated { errors })
}

/// The conflicts of a failed merge as rows, or the error as text.
fn conflicts_of(orb: &str, path: &str, e: RepoError) -> Result<Action, EffectError> {
    match e {
        RepoError::Conflict { conflicts, .. } => Ok(Action::Conflicts {
            orb: orb.to_owned(),
            path: path.to_owned(),
            conflicts: conflicts.into_iter().map(conflict_row).collect(),
        }),
        e => Err(e.into()),
    }
}

fn conflict_row(c: merge3::Conflict) -> ConflictRow {
    let clean = |v: Option<String>| v.map(|v| sanitize(&v).into_owned());
    ConflictRow {
        doc: sanitize(&c.doc).into_owned(),
        path: sanitize(&c.path).into_owned(),
        ours: clean(c.ours),
        theirs: clean(c.theirs),
    }
}

/// What merging the edit onto the fetched tip gives: the tip, the text to commit, and who
/// changed the file upstream since the base (None when it did not move).
type Rebased = (Option<Oid>, Option<String>, Option<(Oid, String)>);

/// Fetches and merges `text` (made against `base`) onto the new tip.
fn rebase_text(
    repo: &OrbRepo,
    base: Option<Oid>,
    path: &str,
    text: Option<String>,
    resolutions: &[Resolution],
) -> Result<Rebased, RepoError> {
    let tip = repo.fetch()?;
    let change = Change {
        path: path.to_owned(),
        content: text.map(String::into_bytes),
    };
    let merged = rebase_change(repo, base, &change, tip, resolutions)?;
    let moved = match tip {
        Some(t) if repo.file(base, path)? != repo.file(tip, path)? => {
            repo.last_change(t, path, base)?
        }
        _ => None,
    };
    let text = merged
        .content
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok((tip, text, moved))
}

fn short(oid: Oid) -> String {
    crate::repo::short_hex(&oid.to_string())
}

async fn plan(
    env: &Env,
    orb: String,
    path: String,
    text: String,
    base: Option<String>,
) -> Result<Action, EffectError> {
    let entry = env.entry(&orb)?;
    let (o, p) = (orb.clone(), path.clone());
    let others = env
        .drafts
        .list(Some(&orb))
        .iter()
        .filter(|d| d.path != path)
        .count();
    let rebased = env
        .with_repo(&orb, move |repo| {
            Ok(rebase_text(repo, oid(base.as_deref()), &p, Some(text), &[]))
        })
        .await?;
    let (merged, moved) = match rebased {
        Ok((_, merged, moved)) => (merged.unwrap_or_default(), moved),
        Err(e) => return conflicts_of(&o, &path, e),
    };
    let overlay = plan::Overlay {
        drafts: None,
        files: vec![(path.clone(), merged.into_bytes())],
        removed: Vec::new(),
        offline: false,
    };
    let result = plan::plan_orb(&env.config, &env.paths, &entry, overlay).await?;
    let mut head = Vec::new();
    if let Some((commit, author)) = moved {
        head.push(format!(
            "~ {path} changed upstream in {} by {}: this is the plan of the merge (base + theirs + yours), which is what will be committed",
            short(commit),
            sanitize(&author)
        ));
    }
    if others > 0 {
        head.push(format!(
            "~ commits {path} only; {others} other draft(s) of {orb} stay drafts (:drafts, C commits all together)"
        ));
    }
    let mut text = head.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&plan::render(&result, false));
    Ok(Action::Planned(sanitize_lines(&text)))
}

async fn commit(
    env: &Env,
    orb: String,
    path: String,
    text: String,
    base: Option<String>,
    message: String,
) -> Result<Action, EffectError> {
    let entry = env.entry(&orb)?;
    env.send(Action::PushProgress(format!(
        "committing {path} and pushing to {}",
        sanitize(entry.repo.as_deref().unwrap_or_default())
    )));
    let drafts = env.drafts.clone();
    let (o, p) = (orb.clone(), path.clone());
    let pushed = env
        .with_repo(&orb, move |repo| {
            let base = oid(base.as_deref());
            let base_text = text_at(repo, base, &p)?;
            let draft = Draft::new(&o, &p, base, base_text, Some(text));
            Ok(drafts.push(repo, &draft, &message, &RetryPolicy::default()))
        })
        .await?;
    match pushed {
        Ok(w) if w.created => Ok(Action::Pushed(PushResult::Committed(short(w.commit)))),
        Ok(w) => Ok(Action::Pushed(PushResult::Unchanged(short(w.commit)))),
        Err(e @ RepoError::Conflict { .. }) => conflicts_of(&orb, &path, e),
        Err(e) => Ok(Action::Pushed(PushResult::Rejected(sanitize_lines(
            &e.to_string(),
        )))),
    }
}

/// Merges the edit with the upstream change now, onto the tip (the editor then saves the draft
/// with the new base, if it still wants the result).
async fn merge(
    env: &Env,
    orb: String,
    path: String,
    text: String,
    base: Option<String>,
    resolutions: Vec<Resolution>,
) -> Result<Action, EffectError> {
    let p = path.clone();
    let merged = env
        .with_repo(&orb, move |repo| {
            let base = oid(base.as_deref());
            let rebased = match rebase_text(repo, base, &p, Some(text), &resolutions) {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            let (tip, merged, _) = rebased;
            let unmoved = repo.file(base, &p)? == repo.file(tip, &p)?;
            if unmoved {
                return Ok(Ok(None));
            }
            let theirs = text_at(repo, tip, &p)?;
            Ok(Ok(Some((tip, merged.unwrap_or_default(), theirs))))
        })
        .await?;
    match merged {
        Ok(Some((tip, text, base_text))) => Ok(Action::Merged {
            orb,
            path,
            text,
            base: tip.map(|t| t.to_string()),
            base_text,
        }),
        Ok(None) => {
            env.send(Action::Conflicts {
                orb,
                path: path.clone(),
                conflicts: Vec::new(),
            });
            Ok(Action::Notice(format!(
                "Nothing changed upstream in {path}: nothing to merge."
            )))
        }
        Err(e) => conflicts_of(&orb, &path, e),
    }
}

/// A unified diff of two texts, or a line saying they are equal.
fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return format!("{old_name} and {new_name} are the same\n");
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

async fn their_change(
    env: &Env,
    orb: String,
    path: String,
    base: Option<String>,
) -> Result<Action, EffectError> {
    let text = env
        .with_repo(&orb, move |repo| {
            let base = oid(base.as_deref());
            let tip = repo.fetch()?;
            let old = text_at(repo, base, &path)?.unwrap_or_default();
            let new = text_at(repo, tip, &path)?.unwrap_or_default();
            let who = match tip {
                Some(t) => repo
                    .last_change(t, &path, base)?
                    .map(|(c, a)| format!("{} by {a}", short(c))),
                None => None,
            };
            let head = match who {
                Some(who) => format!("# {path} changed upstream in {who}\n"),
                None => format!("# {path} did not change upstream since the draft's base\n"),
            };
            let at = |c: Option<Oid>| c.map_or("(none)".to_owned(), short);
            Ok(head
                + &diff(
                    &old,
                    &new,
                    &format!("base {}", at(base)),
                    &format!("theirs {}", at(tip)),
                ))
        })
        .await?;
    Ok(Action::Text(sanitize_lines(&text)))
}

async fn draft_diff(env: &Env, orb: String, path: String) -> Result<Action, EffectError> {
    let draft = env
        .drafts
        .load(&orb, &path)
        .ok_or_else(|| EffectError::NoDraft {
            orb: orb.clone(),
            path: path.clone(),
        })?;
    let text = env
        .with_repo(&orb, move |repo| {
            let tip = repo.tip();
            let committed = text_at(repo, tip, &path)?.unwrap_or_default();
            let mine = draft.content.clone().unwrap_or_default();
            let at = tip.map_or("(empty repo)".to_owned(), short);
            Ok(diff(&committed, &mine, &format!("committed {at}"), "draft"))
        })
        .await?;
    Ok(Action::Text(sanitize_lines(&text)))
}

async fn plan_all(env: &Env, orb: String) -> Result<Action, EffectError> {
    let entry = env.entry(&orb)?;
    let drafts = env.drafts.list(Some(&orb));
    if drafts.is_empty() {
        return Ok(Action::Text(format!("{orb} has no drafts.")));
    }
    let listed = drafts.clone();
    let files = env
        .with_repo(&orb, move |repo| {
            let tip = repo.fetch()?;
            Ok(listed
                .iter()
                .map(|d| rebase_change(repo, d.base_oid(), &d.change(), tip, &[]))
                .collect::<Result<Vec<_>, _>>())
        })
        .await?;
    let changes = match files {
        Ok(c) => c,
        Err(e) => {
            return Ok(Action::Text(sanitize_lines(&format!(
                "cannot commit the drafts of {orb} together:\n{e}\nopen the file (enter in :drafts) to merge it first"
            ))));
        }
    };
    let mut head: Vec<String> = drafts
        .iter()
        .map(|d| format!("~ {} {}", d.kind().as_str(), d.path))
        .collect();
    let overlay = overlay_of(changes);
    let result = plan::plan_orb(&env.config, &env.paths, &entry, overlay).await?;
    head.push(plan::render(&result, false));
    head.push("c: commit all of them as one commit · esc: back".into());
    Ok(Action::Text(sanitize_lines(&head.join("\n"))))
}

/// Whether desired/ at `tip` with `changes` made validates; else its first errors (a write from
/// the control room that would leave desired/ invalid is refused before it is pushed).
fn valid_after(repo: &OrbRepo, tip: Option<Oid>, changes: &[Change]) -> Result<(), String> {
    let mut files = match tip {
        Some(tip) => repo.files(tip, DESIRED).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    for c in changes {
        files.retain(|(p, _)| p != &c.path);
        if let (Some(bytes), true) = (&c.content, c.path.starts_with(DESIRED)) {
            files.push((c.path.clone(), bytes.clone()));
        }
    }
    files.retain(|(p, _)| validate::is_manifest_path(p));
    let files: Vec<(PathBuf, Vec<u8>)> = files.into_iter().map(|(p, b)| (p.into(), b)).collect();
    let report = validate::validate_files(&files, &validate::ModelSchemas);
    if !report.has_errors() {
        return Ok(());
    }
    let first: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .take(3)
        .map(|d| d.to_string())
        .collect();
    Err(format!("desired/ would be invalid: {}", first.join("; ")))
}

/// Changed files laid over the remote's desired state for a plan: written ones replace theirs,
/// deleted ones go.
fn overlay_of(changes: Vec<Change>) -> plan::Overlay<'static> {
    let mut overlay = plan::Overlay::default();
    for c in changes {
        match c.content {
            Some(bytes) => overlay.files.push((c.path, bytes)),
            None => overlay.removed.push(c.path),
        }
    }
    overlay
}

async fn commit_all(env: &Env, orb: String, message: String) -> Result<Action, EffectError> {
    let drafts = env.drafts.clone();
    let list = drafts.list(Some(&orb));
    let n = list.len();
    let paths: Vec<String> = list.iter().map(|d| d.path.clone()).collect();
    let written = env
        .with_repo(&orb, move |repo| {
            Ok(drafts.push_all(repo, &list, &message, &RetryPolicy::default())?)
        })
        .await?;
    // Drafts edited while they were pushed stay; the others are gone now.
    for path in paths {
        if env.drafts.load(&orb, &path).is_none() {
            env.send(Action::DraftDiscarded {
                orb: orb.clone(),
                path,
            });
        }
    }
    Ok(Action::Notice(if written.created {
        format!(
            "✔ pushed {} to {orb}: {n} draft(s) in one commit.",
            short(written.commit)
        )
    } else {
        format!(
            "Nothing to commit: {orb} already holds these {n} file(s) at {}; drafts removed.",
            short(written.commit)
        )
    }))
}

pub(super) async fn client(env: &Env, orb: &str) -> Result<kube::Client, EffectError> {
    Ok(connect::client(&env.entry(orb)?, API_TIMEOUT).await?)
}

/// The API of a kind, through discovery.
pub(super) async fn api_for(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Result<Api<DynamicObject>, EffectError> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = tokio::time::timeout(API_TIMEOUT, kube::discovery::pinned_kind(client, &gvk))
        .await
        .map_err(|_| EffectError::DiscoveryTimeout {
            kind: kind.to_owned(),
        })?
        .map_err(|source| EffectError::Discovery {
            kind: kind.to_owned(),
            source,
        })?;
    Ok(match (caps.scope, namespace) {
        (kube::discovery::Scope::Namespaced, Some(ns)) => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    })
}

async fn live_yaml(env: &Env, orb: &str, target: &ObjectRef) -> Result<String, EffectError> {
    let client = client(env, orb).await?;
    let api_version = api_version(&target.kind).ok_or_else(|| EffectError::UnknownKind {
        kind: target.kind.clone(),
    })?;
    let api = api_for(
        &client,
        api_version,
        &target.kind,
        target.namespace.as_deref(),
    )
    .await?;
    let object = tokio::time::timeout(API_TIMEOUT, api.get_opt(&target.name))
        .await
        .map_err(|_| EffectError::NoAnswer {
            what: format!("{} {}", target.kind, target.name),
        })??;
    let Some(mut object) = object else {
        return Ok(format!(
            "# {} {} does not exist in the cluster\n",
            target.kind, target.name
        ));
    };
    object.metadata.managed_fields = None;
    Ok(serde_saphyr::to_string(&object)?)
}

async fn children(env: &Env, orb: &str, profile: &str) -> Result<Action, EffectError> {
    let client = client(env, orb).await?;
    let selector = format!("{}={profile}", crate::controllers::PROFILE_LABEL);
    let mut rows = Vec::new();
    for (api_version, kind) in crate::controllers::profiles::KINDS {
        let Ok(api) = api_for(&client, api_version, kind, None).await else {
            continue;
        };
        let list = tokio::time::timeout(
            API_TIMEOUT,
            api.list(&ListParams::default().labels(&selector)),
        )
        .await
        .map_err(|_| EffectError::NoAnswer {
            what: kind.to_owned(),
        })?;
        let Ok(list) = list else { continue };
        rows.extend(list.items.iter().map(|o| children::row(kind, o)));
    }
    Ok(Action::Children(rows))
}

/// Pause, resume or abort an upgrade: the one scalar edited in place in its desired file
/// (comments and layout kept), committed and pushed; nothing when it already says so.
async fn upgrade_control(
    env: &Env,
    orb: String,
    name: String,
    op: UpgradeOp,
) -> Result<Action, EffectError> {
    let n = name.clone();
    let (key, value) = match op {
        UpgradeOp::Pause => ("paused", "true"),
        UpgradeOp::Resume => ("paused", "false"),
        UpgradeOp::Abort => ("abort", "true"),
    };
    let done = env
        .with_repo(&orb, move |repo| {
            let tip = repo.fetch()?;
            let files = match tip {
                Some(t) => repo.files(t, DESIRED)?,
                None => Vec::new(),
            };
            let found = files.iter().find_map(|(path, bytes)| {
                let text = String::from_utf8_lossy(bytes);
                scalar_edit::set_spec_scalar(&text, "ClusterUpgrade", &n, key, value)
                    .map(|edited| (path.clone(), text.into_owned(), edited))
            });
            let (path, before, edited) =
                found.ok_or_else(|| EffectError::NoUpgrade { name: n.clone() })?;
            if edited == before {
                return Ok(None);
            }
            let edit = Edit {
                base: tip,
                changes: vec![Change {
                    path: path.clone(),
                    content: Some(edited.into_bytes()),
                }],
                message: format!("orbdeck: {} ClusterUpgrade {n}", op_word(op)),
            };
            let w = write(repo, &edit, &RetryPolicy::default())?;
            Ok(Some((w, path)))
        })
        .await?;
    Ok(Action::Notice(match done {
        Some((w, path)) if w.created => format!(
            "{} ClusterUpgrade {name}: committed {} to {path}",
            op_word(op),
            short(w.commit)
        ),
        _ => format!("Nothing to commit: ClusterUpgrade {name} already has spec.{key}: {value}."),
    }))
}

/// A new value of the sync-requested annotation on the ORB's engine Lease (the engine watches
/// it and syncs at once).
async fn sync_now(env: &Env, orb: &str) -> Result<Action, EffectError> {
    use crate::engine::leader::{ENGINE_NAMESPACE, LEASE_NAME, SYNC_REQUESTED_ANNOTATION};
    use k8s_openapi::api::coordination::v1::Lease;
    let api: Api<Lease> = Api::namespaced(client(env, orb).await?, ENGINE_NAMESPACE);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let patch = serde_json::json!({"metadata": {"annotations": {SYNC_REQUESTED_ANNOTATION: now}}});
    let params = kube::api::PatchParams::default();
    let asked = tokio::time::timeout(
        API_TIMEOUT,
        api.patch(LEASE_NAME, &params, &kube::api::Patch::Merge(&patch)),
    )
    .await
    .map_err(|_| EffectError::NoAnswer {
        what: format!("Lease {ENGINE_NAMESPACE}/{LEASE_NAME}"),
    })?;
    match asked {
        Ok(_) => Ok(Action::Notice(format!(
            "Asked the engine of {orb} to sync now (annotation {SYNC_REQUESTED_ANNOTATION} on its Lease)."
        ))),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::Error(format!(
            "{orb}: no engine Lease {ENGINE_NAMESPACE}/{LEASE_NAME}; is an engine running there (orbdeck bootstrap)?"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// A new value of the retry annotation on an ImageReplication (the replicator starts its
/// attempts over). An API write, not a commit: ImageReplications are current state the engine
/// makes, not desired state.
async fn retry_replication(
    env: &Env,
    orb: &str,
    namespace: &str,
    name: &str,
) -> Result<Action, EffectError> {
    use crate::controllers::images::desired::RETRY_ANNOTATION;
    use crate::model::ImageReplication;
    let api: Api<ImageReplication> = Api::namespaced(client(env, orb).await?, namespace);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let patch = serde_json::json!({"metadata": {"annotations": {RETRY_ANNOTATION: now}}});
    let params = kube::api::PatchParams::default();
    let asked = tokio::time::timeout(
        API_TIMEOUT,
        api.patch(name, &params, &kube::api::Patch::Merge(&patch)),
    )
    .await
    .map_err(|_| EffectError::NoAnswer {
        what: format!("ImageReplication {namespace}/{name}"),
    })?;
    match asked {
        Ok(_) => Ok(Action::Notice(format!(
            "Asked the replicator of {orb} to try ImageReplication {name} again (annotation {RETRY_ANNOTATION})."
        ))),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::Error(format!(
            "{orb}: ImageReplication {namespace}/{name} is gone."
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Commits `engine.suspend: <suspend>` to the ORB's orb.yaml (its comments kept).
async fn set_suspend(env: &Env, orb: String, suspend: bool) -> Result<Action, EffectError> {
    let value = if suspend { "true" } else { "false" };
    let written = env
        .with_repo(&orb, move |repo| {
            let tip = repo.fetch()?;
            let before = text_at(repo, tip, ORB_FILE)?.unwrap_or_default();
            let after = scalar_edit::set_section_scalar(&before, "engine", "suspend", value);
            let word = if suspend { "suspend" } else { "resume" };
            let edit = Edit {
                base: tip,
                changes: vec![Change {
                    path: ORB_FILE.into(),
                    content: Some(after.into_bytes()),
                }],
                message: format!("orbdeck: {word} the engine (engine.suspend: {value})"),
            };
            Ok(write(repo, &edit, &RetryPolicy::default())?)
        })
        .await?;
    let what = if suspend {
        "suspended: it applies and prunes nothing until :resume"
    } else {
        "resumed"
    };
    Ok(Action::Notice(if written.created {
        format!(
            "✔ pushed {} to {orb}: the engine is {what}.",
            short(written.commit)
        )
    } else {
        format!("Nothing to commit: {orb}'s orb.yaml already says engine.suspend: {value}.")
    }))
}

fn op_word(op: UpgradeOp) -> &'static str {
    match op {
        UpgradeOp::Pause => "paused",
        UpgradeOp::Resume => "resumed",
        UpgradeOp::Abort => "aborted",
    }
}
