//! Writing to an ORB repo: fetch, re-apply the edit on the remote tip, commit, push; when the
//! remote moved in between, fetch again and retry with bounded, jittered backoff. An edit to a
//! file that also changed upstream is merged key by key (YAML under desired/ and current/),
//! keeping the file's comments and layout whenever git's line merge means the same thing; a
//! real conflict stops with every conflicting key path (unless the user settled it). Never
//! force-pushes.

use super::merge3::{MergeError, Resolution, Side, merge3_resolved};
use super::{OrbRepo, RepoError};
use git2::Oid;
use rand::Rng as _;
use std::time::Duration;

/// One file's new content (None deletes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Path in the repo, e.g. `desired/profiles/alice.yaml`.
    pub path: String,
    /// New bytes, or None to delete the file.
    pub content: Option<Vec<u8>>,
}

/// A set of changes made against a known commit.
#[derive(Debug, Clone)]
pub struct Edit {
    /// The commit the author saw when making the changes (None: the repo was empty to them).
    pub base: Option<Oid>,
    /// The changed files.
    pub changes: Vec<Change>,
    /// Commit message.
    pub message: String,
}

/// How often and how patiently a rejected push is retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all (the first push included).
    pub attempts: u32,
    /// First backoff; doubled per retry up to `max_backoff`, with full jitter.
    pub backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 12,
            backoff: Duration::from_millis(40),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, retry: u32) -> Duration {
        let cap = self
            .backoff
            .saturating_mul(1 << retry.min(16))
            .min(self.max_backoff);
        let ms = cap.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
    }
}

/// What [`write()`] left on the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The commit now at the remote's tip: the new one, or the tip that already held the edit.
    pub commit: Oid,
    /// A new commit was made and pushed (false: the remote already held exactly this content).
    pub created: bool,
}

/// Pushes `edit` to the remote branch, rebasing it onto whatever the remote has meanwhile.
/// When the rebased edit changes nothing, no commit is made and the current tip is returned.
pub fn write(repo: &OrbRepo, edit: &Edit, policy: &RetryPolicy) -> Result<Written, RepoError> {
    let mut last = None;
    for attempt in 0..policy.attempts.max(1) {
        if attempt > 0 {
            std::thread::sleep(policy.delay(attempt - 1));
        }
        let tip = repo.fetch()?;
        let changes = rebase(repo, edit, tip)?;
        let commit = repo.commit(tip, &changes, &edit.message)?;
        if Some(commit) == tip {
            return Ok(Written {
                commit,
                created: false,
            });
        }
        match repo.push(commit) {
            Ok(()) => {
                return Ok(Written {
                    commit,
                    created: true,
                });
            }
            Err(e @ RepoError::Rejected { .. }) => {
                tracing::debug!(attempt, error = %e, "push rejected; fetching and retrying");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| RepoError::remote(repo.url(), "push was never attempted")))
}

/// The edit's changes re-expressed on top of `tip`: files untouched upstream since the edit's
/// base are taken as they are; files that moved are merged three-way.
fn rebase(repo: &OrbRepo, edit: &Edit, tip: Option<Oid>) -> Result<Vec<Change>, RepoError> {
    if tip == edit.base {
        return Ok(edit.changes.clone());
    }
    edit.changes
        .iter()
        .map(|change| rebase_change(repo, edit.base, change, tip, &[]))
        .collect()
}

/// One change made against `base`, re-expressed on top of `tip`: as it is when the file did not
/// move upstream, else merged three-way (with `resolutions` settling named conflicts).
pub fn rebase_change(
    repo: &OrbRepo,
    base: Option<Oid>,
    change: &Change,
    tip: Option<Oid>,
    resolutions: &[Resolution],
) -> Result<Change, RepoError> {
    if tip == base {
        return Ok(change.clone());
    }
    let base = repo.file(base, &change.path)?;
    let theirs = repo.file(tip, &change.path)?;
    if theirs == base || theirs == change.content {
        return Ok(change.clone());
    }
    Ok(Change {
        path: change.path.clone(),
        content: merge_file(
            &change.path,
            base,
            change.content.clone(),
            theirs,
            resolutions,
        )?,
    })
}

/// The line-level merge of the three texts (git's own), when it means exactly what the
/// key-level `merged` means: then the file keeps its comments, order and quoting. Else `merged`.
fn keep_layout(
    base: &str,
    ours: &str,
    theirs: &str,
    resolutions: &[Resolution],
    merged: String,
) -> String {
    let favor = if resolutions.is_empty() {
        git2::FileFavor::Normal
    } else if resolutions.iter().all(|r| r.take == Side::Ours) {
        git2::FileFavor::Ours
    } else if resolutions.iter().all(|r| r.take == Side::Theirs) {
        git2::FileFavor::Theirs
    } else {
        return merged;
    };
    fn input(text: &str) -> git2::MergeFileInput<'_> {
        let mut input = git2::MergeFileInput::new();
        input.content(text.as_bytes());
        input
    }
    let mut options = git2::MergeFileOptions::new();
    options.favor(favor);
    let Ok(result) = git2::merge_file(
        &input(base),
        &input(ours),
        &input(theirs),
        Some(&mut options),
    ) else {
        return merged;
    };
    let parse = |t: &str| serde_saphyr::from_multiple::<serde_json::Value>(t).ok();
    match std::str::from_utf8(result.content()) {
        Ok(text)
            if result.is_automergeable()
                && parse(text).is_some()
                && parse(text) == parse(&merged) =>
        {
            text.to_owned()
        }
        _ => merged,
    }
}

/// Merges one file changed on both sides; deletions against edits are conflicts.
fn merge_file(
    path: &str,
    base: Option<Vec<u8>>,
    ours: Option<Vec<u8>>,
    theirs: Option<Vec<u8>>,
    resolutions: &[Resolution],
) -> Result<Option<Vec<u8>>, RepoError> {
    let unmergeable = |reason: &str| RepoError::Unmergeable {
        file: path.to_string(),
        reason: reason.to_string(),
    };
    let is_yaml = path.ends_with(".yaml") || path.ends_with(".yml");
    if !is_yaml {
        return Err(unmergeable("not a YAML file"));
    }
    let (Some(ours), Some(theirs)) = (ours, theirs) else {
        return Err(unmergeable("deleted on one side and changed on the other"));
    };
    let text = |b: Option<&[u8]>| -> Result<String, RepoError> {
        String::from_utf8(b.unwrap_or_default().to_vec()).map_err(|_| unmergeable("not UTF-8"))
    };
    let base = text(base.as_deref())?;
    let (ours, theirs) = (text(Some(&ours))?, text(Some(&theirs))?);
    match merge3_resolved(&base, &ours, &theirs, resolutions) {
        Ok(merged) => Ok(Some(
            keep_layout(&base, &ours, &theirs, resolutions, merged).into_bytes(),
        )),
        Err(MergeError::Conflicts(conflicts)) => Err(RepoError::Conflict {
            file: path.to_string(),
            conflicts,
        }),
        Err(e) => Err(unmergeable(&e.to_string())),
    }
}
