//! The history's background work: the log after a fetch, a commit's diff, a file's blame, and a
//! revert, planned first (merged onto the tip, server-side dry run) and then committed through
//! the write path after validating what it leaves (never a force push).

use super::{EffectError, Env, overlay_of, sanitize_lines, short, valid_after};
use crate::plan;
use crate::repo::history::{self, Entry};
use crate::repo::write::{rebase_change, write};
use crate::repo::{Change, OrbRepo, RepoError, RetryPolicy};
use crate::text::sanitize;
use crate::ui::Action;
use crate::ui::data::HistoryRow;
use git2::Oid;

/// How many entries a log shows.
const LIMIT: usize = 500;

fn oid(hex: &str) -> Result<Oid, EffectError> {
    Oid::from_str(hex).map_err(|_| EffectError::BadCommit(hex.to_owned()))
}

fn row(e: Entry) -> HistoryRow {
    HistoryRow {
        engine: e.is_engine(),
        commit: e.commit.to_string(),
        author: sanitize(&e.author).into_owned(),
        time: u64::try_from(e.time).unwrap_or(0),
        summary: sanitize(&e.summary).into_owned(),
        files: e.files.iter().map(|f| sanitize(f).into_owned()).collect(),
        commits: e.commits,
    }
}

/// The log of the repo (or of `path`) at the remote's tip; when the remote cannot be reached,
/// at the last fetched tip, and the error says so.
fn read_log(
    repo: &OrbRepo,
    path: Option<&str>,
) -> Result<(Vec<HistoryRow>, Option<String>), EffectError> {
    let (tip, stale) = match repo.fetch() {
        Ok(tip) => (tip, None),
        Err(e) => (
            repo.tip(),
            Some(format!(
                "fetch failed, showing the history as last fetched: {e}"
            )),
        ),
    };
    let rows = match tip {
        Some(tip) => history::log(repo, tip, path, LIMIT)?
            .into_iter()
            .map(row)
            .collect(),
        None => Vec::new(),
    };
    Ok((rows, stale))
}

/// The commit log → [`Action::History`] (and an error line when it could not fetch).
pub(super) async fn log(
    env: &Env,
    orb: String,
    path: Option<String>,
) -> Result<Action, EffectError> {
    let (rows, stale) = env
        .with_repo(&orb, move |repo| read_log(repo, path.as_deref()))
        .await?;
    if let Some(e) = stale {
        env.send(Action::Error(sanitize_lines(&e).replace('\n', " · ")));
    }
    Ok(Action::History(rows))
}

/// One commit with its diff → [`Action::Text`].
pub(super) async fn show(env: &Env, orb: String, commit: String) -> Result<Action, EffectError> {
    let id = oid(&commit)?;
    let text = env
        .with_repo(&orb, move |repo| Ok(history::show(repo, id)?))
        .await?;
    Ok(Action::Text(sanitize_lines(&text)))
}

/// A file's blame at the last fetched tip → [`Action::Text`].
pub(super) async fn blame(env: &Env, orb: String, path: String) -> Result<Action, EffectError> {
    let lines = env
        .with_repo(&orb, move |repo| {
            let tip = repo
                .tip()
                .ok_or(RepoError::NotInRepo { path: path.clone() })?;
            Ok(history::blame(repo, tip, &path)?)
        })
        .await?;
    Ok(Action::Text(sanitize_lines(&lines.join("\n"))))
}

/// The revert of `commit` merged onto the remote's tip: its changes, or why it cannot be made.
fn merged_revert(
    repo: &OrbRepo,
    commit: Oid,
) -> Result<(Vec<Change>, String, Option<Oid>), RepoError> {
    let edit = history::revert(repo, commit)?;
    let tip = repo.fetch()?;
    let changes = edit
        .changes
        .iter()
        .map(|c| rebase_change(repo, edit.base, c, tip, &[]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((changes, edit.message, tip))
}

/// The plan of reverting `commit` → [`Action::Text`] (a conflict or an invalid result is shown
/// there instead, and `c` will refuse it).
pub(super) async fn plan_revert(
    env: &Env,
    orb: String,
    commit: String,
) -> Result<Action, EffectError> {
    let entry = env.entry(&orb)?;
    let id = oid(&commit)?;
    let merged = env
        .with_repo(&orb, move |repo| Ok(merged_revert(repo, id)))
        .await?;
    let (changes, message, tip) = match merged {
        Ok(m) => m,
        Err(e) => {
            return Ok(Action::Text(sanitize_lines(&format!(
                "cannot revert {}:\n{e}",
                short(id)
            ))));
        }
    };
    let mut head = vec![format!(
        "~ a new commit on {} ({}), pushed like any edit (never a force push):",
        tip.map_or("(empty repo)".to_owned(), short),
        message.lines().next().unwrap_or_default()
    )];
    head.extend(changes.iter().map(|c| match c.content {
        Some(_) => format!("~ put back {}", c.path),
        None => format!("~ delete {} (the commit added it)", c.path),
    }));
    match plan::plan_orb(&env.config, &env.paths, &entry, overlay_of(changes)).await {
        Ok(result) => {
            head.push(plan::render(&result, false));
            head.push("c: commit the revert · esc: back to the history".into());
        }
        Err(e) => head.push(format!("{e}\nthe revert is refused: fix desired/ first")),
    }
    Ok(Action::Text(sanitize_lines(&head.join("\n"))))
}

/// Commits the revert of `commit` after checking that desired/ stays valid, sends the log again
/// (of `path`, as shown), then says what happened.
pub(super) async fn revert(
    env: &Env,
    orb: String,
    commit: String,
    path: Option<String>,
) -> Result<Action, EffectError> {
    let id = oid(&commit)?;
    let done = env
        .with_repo(&orb, move |repo| {
            let outcome = commit_revert(repo, id);
            let log = read_log(repo, path.as_deref()).map(|(rows, _)| rows);
            Ok((outcome, log))
        })
        .await?;
    let (outcome, log) = done;
    if let Ok(rows) = log {
        env.send(Action::History(rows));
    }
    Ok(match outcome {
        Ok(Some(new)) => Action::Notice(format!(
            "✔ pushed {} to {orb}: reverted {}.",
            short(new),
            short(id)
        )),
        Ok(None) => Action::Notice(format!(
            "Nothing to commit: {orb} already holds what reverting {} gives.",
            short(id)
        )),
        Err(e) => Action::Error(
            sanitize_lines(&format!("revert of {} refused: {e}", short(id))).replace('\n', " · "),
        ),
    })
}

/// The revert written, when it validates: the new commit (None when the tip already held it).
fn commit_revert(repo: &OrbRepo, commit: Oid) -> Result<Option<Oid>, String> {
    let (changes, message, tip) = merged_revert(repo, commit).map_err(|e| e.to_string())?;
    valid_after(repo, tip, &changes)?;
    let edit = crate::repo::Edit {
        base: tip,
        changes,
        message,
    };
    let written = write(repo, &edit, &RetryPolicy::default()).map_err(|e| e.to_string())?;
    Ok(written.created.then_some(written.commit))
}
