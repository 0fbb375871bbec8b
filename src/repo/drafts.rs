//! Drafts: every unpushed edit lives on disk under the user data dir, one file per ORB and repo
//! path, written atomically from the moment it is made. A draft is removed only after the remote
//! has accepted the push; a failed push keeps it with the reason.

use super::{Change, Edit, OrbRepo, RepoError, RetryPolicy};
use git2::Oid;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One unpushed edit of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// ORB name.
    pub orb: String,
    /// File path in the repo.
    pub path: String,
    /// Commit (hex) the edit was made against; None when the file or repo was new.
    pub base: Option<String>,
    /// The edited text, or None when the edit deletes the file.
    pub content: Option<String>,
    /// When the draft was last written (RFC 3339).
    pub updated: String,
    /// Why the last push of this draft failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Draft {
    /// A new draft of `path` with `content`, made against `base`.
    pub fn new(orb: &str, path: &str, base: Option<Oid>, content: Option<String>) -> Draft {
        Draft {
            orb: orb.to_string(),
            path: path.to_string(),
            base: base.map(|b| b.to_string()),
            content,
            updated: now(),
            last_error: None,
        }
    }

    /// The base commit as an Oid (an unreadable one counts as none).
    pub fn base_oid(&self) -> Option<Oid> {
        self.base.as_deref().and_then(|b| Oid::from_str(b).ok())
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The drafts directory: `<data dir>/drafts/<orb>/<encoded path>.json`.
#[derive(Debug, Clone)]
pub struct Drafts {
    dir: PathBuf,
}

impl Drafts {
    /// Drafts kept under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Drafts {
        Drafts { dir: dir.into() }
    }

    /// The directory holding the drafts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, orb: &str, path: &str) -> PathBuf {
        self.dir
            .join(encode(orb))
            .join(format!("{}.json", encode(path)))
    }

    /// Writes `draft` (atomically: temp file, fsync, rename), stamping its time.
    pub fn save(&self, draft: &Draft) -> Result<(), RepoError> {
        let mut draft = draft.clone();
        draft.updated = now();
        let file = self.file(&draft.orb, &draft.path);
        let dir = file.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir).map_err(|e| RepoError::io(dir, e))?;
        let json = serde_json::to_vec_pretty(&draft).expect("a draft serializes");
        let tmp = file.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)
        };
        write().map_err(|e| RepoError::io(&file, e))
    }

    /// The draft of `path` in `orb`, if any.
    pub fn load(&self, orb: &str, path: &str) -> Option<Draft> {
        let bytes = std::fs::read(self.file(orb, path)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// All drafts (of one ORB when given), sorted by ORB and path. Unreadable files are skipped.
    pub fn list(&self, orb: Option<&str>) -> Vec<Draft> {
        let mut out = Vec::new();
        let Ok(orbs) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for orb_dir in orbs.flatten() {
            if let Some(orb) = orb
                && orb_dir.file_name() != encode(orb).as_str()
            {
                continue;
            }
            let Ok(files) = std::fs::read_dir(orb_dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "json")
                    && let Ok(bytes) = std::fs::read(&p)
                    && let Ok(d) = serde_json::from_slice::<Draft>(&bytes)
                {
                    out.push(d);
                }
            }
        }
        out.sort_by(|a, b| (&a.orb, &a.path).cmp(&(&b.orb, &b.path)));
        out
    }

    /// Deletes the draft of `path` in `orb` (nothing when there is none).
    pub fn remove(&self, orb: &str, path: &str) -> Result<(), RepoError> {
        let file = self.file(orb, path);
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RepoError::io(&file, e)),
        }
    }

    /// Commits and pushes one draft; removes it only once the remote accepted it. On failure the
    /// draft stays, with the reason recorded in `last_error`.
    pub fn push(
        &self,
        repo: &OrbRepo,
        draft: &Draft,
        message: &str,
        policy: &RetryPolicy,
    ) -> Result<Oid, RepoError> {
        let edit = Edit {
            base: draft.base_oid(),
            changes: vec![Change {
                path: draft.path.clone(),
                content: draft.content.clone().map(String::into_bytes),
            }],
            message: message.to_string(),
        };
        match super::write::write(repo, &edit, policy) {
            Ok(commit) => {
                self.remove(&draft.orb, &draft.path)?;
                Ok(commit)
            }
            Err(e) => {
                let mut kept = draft.clone();
                kept.last_error = Some(e.to_string());
                self.save(&kept)?;
                Err(e)
            }
        }
    }
}

/// File-name-safe encoding of an ORB name or repo path (`/` and anything unusual as `%XX`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "%2E");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_save_list_load_remove() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::new(dir.path());
        let a = Draft::new(
            "alpha",
            "desired/profiles/a.yaml",
            None,
            Some("x: 1\n".into()),
        );
        let b = Draft::new("beta", "desired/../b.yaml", None, None);
        drafts.save(&a).unwrap();
        drafts.save(&b).unwrap();
        let all = drafts.list(None);
        assert_eq!(all.len(), 2);
        assert_eq!(
            drafts.list(Some("alpha"))[0].content.as_deref(),
            Some("x: 1\n")
        );
        assert_eq!(
            drafts.load("beta", "desired/../b.yaml").unwrap().content,
            None
        );
        // Paths never escape the drafts directory.
        for entry in std::fs::read_dir(dir.path().join("beta")).unwrap() {
            assert!(!entry.unwrap().file_name().to_string_lossy().contains('/'));
        }
        drafts.remove("alpha", "desired/profiles/a.yaml").unwrap();
        assert_eq!(drafts.list(None).len(), 1);
        assert_eq!(encode(".."), "%2E.");
    }
}
