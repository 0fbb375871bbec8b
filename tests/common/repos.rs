//! Bare "remote" repositories on disk for the repo tests.

use orbdeck::repo::{Change, Edit, OrbRepo, RemoteOptions};

/// A bare origin repository in a temporary directory.
pub struct Origin {
    dir: tempfile::TempDir,
}

impl Origin {
    /// An empty bare repository.
    pub fn new() -> Origin {
        let dir = tempfile::tempdir().expect("tempdir");
        git2::Repository::init_bare(dir.path().join("origin.git")).expect("bare repo");
        Origin { dir }
    }

    /// Path of the bare repository.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("origin.git")
    }

    /// file:// URL of the bare repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// A fresh clone (bare cache) in its own temp dir; "plain path" clones use the path as URL.
    pub fn clone_repo(&self, how: &str) -> (tempfile::TempDir, OrbRepo) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = if how == "plain path" {
            self.path().display().to_string()
        } else {
            self.url()
        };
        let repo = OrbRepo::open(dir.path(), &url, "main", RemoteOptions::default()).expect("open");
        (dir, repo)
    }

    /// The text of `path` at the tip of main, if it is there.
    pub fn file(&self, path: &str) -> Option<String> {
        let repo = git2::Repository::open_bare(self.path()).ok()?;
        let tip = repo
            .find_reference("refs/heads/main")
            .ok()?
            .peel_to_commit()
            .ok()?;
        let entry = tip.tree().ok()?.get_path(std::path::Path::new(path)).ok()?;
        let blob = repo.find_blob(entry.id()).ok()?;
        String::from_utf8(blob.content().to_vec()).ok()
    }

    /// Pushes a first commit with `files` to main and returns it.
    pub fn seed(&self, files: &[(&str, &str)]) -> git2::Oid {
        let (_dir, repo) = self.clone_repo("file url");
        let changes: Vec<Change> = files
            .iter()
            .map(|(p, c)| Change {
                path: p.to_string(),
                content: Some(c.as_bytes().to_vec()),
            })
            .collect();
        let commit = repo.commit(None, &changes, "seed").expect("commit");
        repo.push(commit).expect("push");
        commit
    }
}

/// An edit of one file made against `base`.
pub fn edit(base: Option<git2::Oid>, path: &str, content: &str) -> Edit {
    Edit {
        base,
        changes: vec![Change {
            path: path.into(),
            content: Some(content.as_bytes().to_vec()),
        }],
        message: format!("edit {path}"),
    }
}

/// The content writer `i` puts in its file.
pub fn yaml_file(i: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-{i}\ndata:\n  writer: \"{i}\"\n"
    )
}

/// A person with the git CLI: clones `origin` (a path or URL), runs `edit` on the work tree,
/// commits as `who` and pushes; when the push is rejected (someone got in first) fetches, resets
/// to the remote and edits again, as a careful person would. Returns the pushed commit.
pub fn git_user_push(origin: &str, who: &str, edit: impl Fn(&std::path::Path)) -> String {
    use std::process::Command;
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("w");
    let email = format!("user.email={}@example.org", who.replace(' ', "."));
    let name = format!("user.name={who}");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&work)
            .args(["-c", &name, "-c", &email])
            .args(args)
            .output()
            .expect("git runs")
    };
    let cloned = Command::new("git")
        .args(["clone", "-q", origin])
        .arg(&work)
        .output()
        .expect("git runs");
    assert!(cloned.status.success(), "git clone {origin} failed");
    for _ in 0..200 {
        git(&["fetch", "-q", "origin"]);
        git(&["reset", "-q", "--hard", "origin/main"]);
        edit(&work);
        git(&["commit", "-q", "-am", &format!("{who}: an edit")]);
        if git(&["push", "-q", "origin", "HEAD:main"]).status.success() {
            let head = git(&["rev-parse", "HEAD"]);
            return String::from_utf8_lossy(&head.stdout).trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{who} never got a push in");
}

/// Replaces `from` by `to` in the file at `path` (which must hold it).
pub fn replace_in(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("the file exists");
    assert!(
        text.contains(from),
        "{} holds {from:?}:\n{text}",
        path.display()
    );
    std::fs::write(path, text.replace(from, to)).expect("write");
}
