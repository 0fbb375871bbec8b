//! An ORB repo's history as people read it, straight from the bare clone: the commit log (author,
//! time, message, files) of the repo or of one file, with each run of the engine's current/-only
//! commits folded into one entry so that humans' commits stand out; a commit's diff; a file's
//! blame; and the edit that reverts a commit (made against that commit, so writing it merges it
//! onto whatever came after, like any edit).

use super::write::{Change, Edit};
use super::{CURRENT, OrbRepo, RepoError, short_hex};
use git2::{DiffFormat, DiffOptions, Oid};
use std::path::Path;

/// How many commits one log reads at most (the engine writes current/ often).
const WALK_LIMIT: usize = 5000;

/// One entry of a log: a commit, or a run of the engine's commits folded into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The (newest) commit.
    pub commit: Oid,
    /// Its author's name.
    pub author: String,
    /// Its author's e-mail.
    pub email: String,
    /// Commit time, Unix seconds.
    pub time: i64,
    /// First line of its message.
    pub summary: String,
    /// Files it changed against its first parent.
    pub files: Vec<String>,
    /// For a folded run of engine commits (current/ only), how many there are (else 1).
    pub commits: usize,
}

impl Entry {
    /// Whether this entry is the engine's (it touched current/ only).
    pub fn is_engine(&self) -> bool {
        !self.files.is_empty() && self.files.iter().all(|f| f.starts_with(CURRENT))
    }
}

/// The files `commit` changed against its first parent (every file for a root commit).
fn changed_files(
    repo: &git2::Repository,
    commit: &git2::Commit<'_>,
) -> Result<Vec<String>, RepoError> {
    let tree = commit.tree()?;
    let parent = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
    let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None)?;
    let mut files: Vec<String> = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .or(d.old_file().path())
                .map(Path::to_owned)
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The log from `tip` back, newest first: at most `limit` entries, only commits that changed
/// `path` when one is given; consecutive engine commits are folded into one entry.
pub fn log(
    repo: &OrbRepo,
    tip: Oid,
    path: Option<&str>,
    limit: usize,
) -> Result<Vec<Entry>, RepoError> {
    let git = repo.git();
    let mut walk = git.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    walk.push(tip)?;
    let mut out: Vec<Entry> = Vec::new();
    for id in walk.take(WALK_LIMIT) {
        let commit = git.find_commit(id?)?;
        let files = changed_files(git, &commit)?;
        if let Some(path) = path
            && !files.iter().any(|f| f == path)
        {
            continue;
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let entry = Entry {
            commit: commit.id(),
            author: text(commit.author().name_bytes()),
            email: text(commit.author().email_bytes()),
            time: commit.time().seconds(),
            summary: text(commit.summary_bytes().unwrap_or_default()),
            files,
            commits: 1,
        };
        let fold = out
            .last()
            .is_some_and(|l| l.is_engine() && entry.is_engine());
        if let (true, Some(last)) = (fold, out.last_mut()) {
            last.commits += 1;
            for f in entry.files {
                if !last.files.contains(&f) {
                    last.files.push(f);
                }
            }
            last.files.sort();
        } else if out.len() >= limit {
            break;
        } else {
            out.push(entry);
        }
    }
    Ok(out)
}

/// A commit as `git show` prints it: who, when, the message, then the diff against its first
/// parent.
pub fn show(repo: &OrbRepo, commit: Oid) -> Result<String, RepoError> {
    let git = repo.git();
    let c = git.find_commit(commit)?;
    let author = c.author();
    let when = chrono::DateTime::from_timestamp(c.time().seconds(), 0)
        .map_or_else(String::new, |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        });
    let mut out = format!(
        "commit {commit}\nAuthor: {} <{}>\nDate:   {when}\n\n",
        String::from_utf8_lossy(author.name_bytes()),
        String::from_utf8_lossy(author.email_bytes()),
    );
    for line in String::from_utf8_lossy(c.message_bytes()).lines() {
        out.push_str(&format!("    {line}\n"));
    }
    out.push('\n');
    let tree = c.tree()?;
    let parent = c.parent(0).ok().map(|p| p.tree()).transpose()?;
    let mut options = DiffOptions::new();
    options.context_lines(3);
    let diff = git.diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut options))?;
    diff.print(DiffFormat::Patch, |_, _, line| {
        let prefix = match line.origin() {
            origin @ ('+' | '-' | ' ') => origin.to_string(),
            _ => String::new(),
        };
        out.push_str(&prefix);
        out.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok(out)
}

/// Each line of `path` at `tip` with the commit that last changed it and its author:
/// `abcd1234 author      | text`.
pub fn blame(repo: &OrbRepo, tip: Oid, path: &str) -> Result<Vec<String>, RepoError> {
    let git = repo.git();
    let mut options = git2::BlameOptions::new();
    options.newest_commit(tip);
    let blame = git.blame_file(Path::new(path), Some(&mut options))?;
    let text = repo
        .file(Some(tip), path)?
        .ok_or_else(|| RepoError::NotInRepo {
            path: path.to_owned(),
        })?;
    let text = String::from_utf8_lossy(&text);
    let width = blame
        .iter()
        .map(|h| signer(&h).chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, line)| match blame.get_line(i + 1) {
            Some(hunk) => {
                let name = signer(&hunk).chars().take(width).collect::<String>();
                let id = short_hex(&hunk.final_commit_id().to_string());
                format!("{id} {name:<width$} | {line}")
            }
            None => format!("{:8} {:width$} | {line}", "", ""),
        })
        .collect())
}

/// Who made the commit a blame hunk points at.
fn signer(hunk: &git2::BlameHunk<'_>) -> String {
    hunk.final_signature()
        .map(|s| String::from_utf8_lossy(s.name_bytes()).into_owned())
        .unwrap_or_default()
}

/// The edit that undoes `commit`: every file it changed, outside current/ (the engine's), put
/// back as its first parent had it, made against `commit` itself so that writing it merges
/// the undo onto later commits key by key. An engine commit cannot be reverted.
pub fn revert(repo: &OrbRepo, commit: Oid) -> Result<Edit, RepoError> {
    let git = repo.git();
    let c = git.find_commit(commit)?;
    let parent = c.parent(0).ok().map(|p| p.id());
    let files: Vec<String> = changed_files(git, &c)?
        .into_iter()
        .filter(|f| !f.starts_with(CURRENT))
        .collect();
    if files.is_empty() {
        return Err(RepoError::NotRevertible {
            commit: short_hex(&commit.to_string()),
        });
    }
    let changes = files
        .into_iter()
        .map(|path| {
            let content = repo.file(parent, &path)?;
            Ok(Change { path, content })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    let summary = String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned();
    Ok(Edit {
        base: Some(commit),
        changes,
        message: format!("Revert \"{summary}\"\n\nThis reverts commit {commit}."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::{RemoteOptions, RetryPolicy, write::write};

    fn origin() -> (tempfile::TempDir, OrbRepo) {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("origin.git");
        git2::Repository::init_bare(&bare).unwrap();
        let repo = OrbRepo::open(
            &dir.path().join("clone.git"),
            &bare.display().to_string(),
            "main",
            RemoteOptions::default(),
        )
        .unwrap();
        (dir, repo)
    }

    fn put(repo: &OrbRepo, path: &str, text: &str, message: &str) -> Oid {
        let tip = repo.fetch().unwrap();
        let edit = Edit {
            base: tip,
            changes: vec![Change {
                path: path.into(),
                content: Some(text.as_bytes().to_vec()),
            }],
            message: message.into(),
        };
        write(repo, &edit, &RetryPolicy::default()).unwrap().commit
    }

    #[test]
    fn engine_commits_fold_and_a_file_log_keeps_its_own_commits() {
        let (_dir, repo) = origin();
        put(&repo, "desired/a.yaml", "a: 1\n", "add a");
        put(&repo, "current/status.yaml", "n: 1\n", "engine 1");
        put(&repo, "current/status.yaml", "n: 2\n", "engine 2");
        put(&repo, "current/profiles.yaml", "n: 3\n", "engine 3");
        let tip = put(&repo, "desired/b.yaml", "b: 1\n", "add b");
        let all = log(&repo, tip, None, 100).unwrap();
        let summaries: Vec<(&str, usize)> = all
            .iter()
            .map(|e| (e.summary.as_str(), e.commits))
            .collect();
        assert_eq!(
            summaries,
            [("add b", 1), ("engine 3", 3), ("add a", 1)],
            "three engine commits in a row are one entry"
        );
        assert_eq!(
            all[1].files,
            ["current/profiles.yaml", "current/status.yaml"]
        );
        let a = log(&repo, tip, Some("desired/a.yaml"), 100).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].summary, "add a");
        assert_eq!(
            log(&repo, tip, None, 2).unwrap().len(),
            2,
            "the limit holds"
        );
    }

    #[test]
    fn a_revert_merges_onto_later_commits_and_an_engine_commit_is_refused() {
        let (_dir, repo) = origin();
        put(&repo, "desired/a.yaml", "x: 1\nz: 1\n", "add a");
        let change = put(&repo, "desired/a.yaml", "x: 2\nz: 1\n", "x to 2");
        let engine = put(&repo, "current/status.yaml", "n: 1\n", "engine");
        put(&repo, "desired/a.yaml", "x: 2\nz: 5\n", "z to 5");
        let edit = revert(&repo, change).unwrap();
        assert!(
            edit.message.starts_with("Revert \"x to 2\""),
            "{}",
            edit.message
        );
        let written = write(&repo, &edit, &RetryPolicy::default()).unwrap();
        assert!(written.created);
        let text = repo
            .file(Some(written.commit), "desired/a.yaml")
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "x: 1\nz: 5\n",
            "x is put back, the later z stays"
        );
        assert!(matches!(
            revert(&repo, engine),
            Err(RepoError::NotRevertible { .. })
        ));
        let shown = show(&repo, change).unwrap();
        assert!(
            shown.contains("    x to 2") && shown.contains("-x: 1\n+x: 2"),
            "{shown}"
        );
        let blamed = blame(&repo, written.commit, "desired/a.yaml").unwrap();
        assert_eq!(blamed.len(), 2);
        assert!(
            blamed[0].ends_with("| x: 1") && blamed[1].ends_with("| z: 5"),
            "{blamed:?}"
        );
    }
}
