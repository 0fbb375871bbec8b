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
