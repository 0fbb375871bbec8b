//! Drafts: every unpushed edit lives on disk under the user data dir, one file per ORB and repo
//! path, written atomically from the moment it is made. A draft remembers the commit its file was
//! opened from (and the file's content there) across saves, so a push merges it three-way with
//! whatever moved upstream instead of overwriting it. A draft is removed only after the remote
//! has accepted the push (or when it is edited back to its base); a failed push keeps it with
//! the reason.

use super::write::{Written, rebase_change, write};
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
    /// Commit (hex) the file was opened from; None when the repo was empty.
    pub base: Option<String>,
    /// The file's content at `base`; None when the file did not exist there (a new file).
    #[serde(default)]
    pub base_content: Option<String>,
    /// The edited text, or None when the edit deletes the file.
    pub content: Option<String>,
    /// When the draft was last written (RFC 3339).
    pub updated: String,
    /// Why the last push of this draft failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What a draft does to its file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DraftKind {
    /// Creates a file that did not exist at the base.
    New,
    /// Changes an existing file.
    #[default]
    Edit,
    /// Deletes the file.
    Delete,
}

impl DraftKind {
    /// `new`, `edit` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::New => "new",
            DraftKind::Edit => "edit",
            DraftKind::Delete => "delete",
        }
    }
}

impl Draft {
    /// A draft of `path` with `content`, made against `base` where the file held `base_content`.
    pub fn new(
        orb: &str,
        path: &str,
        base: Option<Oid>,
        base_content: Option<String>,
        content: Option<String>,
    ) -> Draft {
        Draft {
            orb: orb.to_string(),
            path: path.to_string(),
            base: base.map(|b| b.to_string()),
            base_content,
            content,
            updated: now(),
            last_error: None,
        }
    }

    /// The base commit as an Oid (an unreadable one counts as none).
    pub fn base_oid(&self) -> Option<Oid> {
        self.base.as_deref().and_then(|b| Oid::from_str(b).ok())
    }

    /// Whether the draft creates, changes or deletes its file.
    pub fn kind(&self) -> DraftKind {
        match (&self.base_content, &self.content) {
            (_, None) => DraftKind::Delete,
            (None, Some(_)) => DraftKind::New,
            (Some(_), Some(_)) => DraftKind::Edit,
        }
    }

    /// The draft leaves its file as it was at the base (then it is no draft at all).
    pub fn is_unchanged(&self) -> bool {
        self.content == self.base_content
    }

    /// This draft's edit as a [`Change`].
    pub fn change(&self) -> Change {
        Change {
            path: self.path.clone(),
            content: self.content.clone().map(String::into_bytes),
        }
    }
}

/// What [`Drafts::save_edit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The draft was written.
    Kept,
    /// The text equals the base file: there is no draft any more.
    Removed,
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
        // A temp file of its own per save, so two overlapping saves never interleave.
        static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = file.with_extension(format!("json.{}-{n}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)
        };
        write().map_err(|e| RepoError::io(&file, e))
    }

    /// Saves `draft` as the newest text of its file, keeping the base of an existing draft of the
    /// same file (a draft is re-based only by an explicit merge). A text equal to its base file
    /// removes the draft instead.
    pub fn save_edit(&self, draft: &Draft) -> Result<Saved, RepoError> {
        let mut draft = draft.clone();
        if let Some(old) = self.load(&draft.orb, &draft.path) {
            draft.base = old.base;
            draft.base_content = old.base_content;
            draft.last_error = old.last_error;
        }
        if draft.is_unchanged() {
            self.remove(&draft.orb, &draft.path)?;
            return Ok(Saved::Removed);
        }
        self.save(&draft)?;
        Ok(Saved::Kept)
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

    /// Commits and pushes one draft against the commit it was made from (merged three-way with
    /// whatever moved upstream); removes it only once the remote holds it. On failure the draft
    /// stays, with the reason recorded in `last_error`.
    pub fn push(
        &self,
        repo: &OrbRepo,
        draft: &Draft,
        message: &str,
        policy: &RetryPolicy,
    ) -> Result<Written, RepoError> {
        let edit = Edit {
            base: draft.base_oid(),
            changes: vec![draft.change()],
            message: message.to_string(),
        };
        let result = write(repo, &edit, policy);
        self.settle(std::slice::from_ref(draft), result)
    }

    /// Commits and pushes every draft in `drafts` (of one ORB) as one commit: each is merged
    /// onto the remote tip from its own base first, so drafts made against different commits
    /// travel together. All are kept, each with the reason, when any cannot be merged.
    pub fn push_all(
        &self,
        repo: &OrbRepo,
        drafts: &[Draft],
        message: &str,
        policy: &RetryPolicy,
    ) -> Result<Written, RepoError> {
        if drafts.is_empty() {
            return Err(RepoError::remote(repo.url(), "no drafts to commit"));
        }
        let result = (|| {
            let tip = repo.fetch()?;
            let changes = drafts
                .iter()
                .map(|d| rebase_change(repo, d.base_oid(), &d.change(), tip, &[]))
                .collect::<Result<Vec<_>, _>>()?;
            let edit = Edit {
                base: tip,
                changes,
                message: message.to_string(),
            };
            write(repo, &edit, policy)
        })();
        self.settle(drafts, result)
    }

    /// Once `result` says the remote holds `drafts`, removes each that still holds what was
    /// pushed (a draft edited meanwhile stays); on failure records the error on the draft as it
    /// is now, without touching its text.
    fn settle(
        &self,
        drafts: &[Draft],
        result: Result<Written, RepoError>,
    ) -> Result<Written, RepoError> {
        match result {
            Ok(written) => {
                for d in drafts {
                    let now = self.load(&d.orb, &d.path);
                    if now.is_none_or(|now| now.content == d.content) {
                        self.remove(&d.orb, &d.path)?;
                    }
                }
                Ok(written)
            }
            Err(e) => {
                for d in drafts {
                    let mut kept = self.load(&d.orb, &d.path).unwrap_or_else(|| d.clone());
                    kept.last_error = Some(e.to_string());
                    self.save(&kept)?;
                }
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
            None,
            Some("x: 1\n".into()),
        );
        let b = Draft::new("beta", "desired/../b.yaml", None, Some("y\n".into()), None);
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

    #[test]
    fn saving_keeps_the_first_base_and_an_edit_back_to_it_removes_the_draft() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::new(dir.path());
        let first = Oid::from_str("1111111111111111111111111111111111111111").unwrap();
        let later = Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        let path = "desired/a.yaml";
        let d = Draft::new(
            "o",
            path,
            Some(first),
            Some("a: 1\n".into()),
            Some("a: 2\n".into()),
        );
        assert_eq!(drafts.save_edit(&d).unwrap(), Saved::Kept);
        // A later save made while the clone had moved on keeps the first base.
        let d2 = Draft::new(
            "o",
            path,
            Some(later),
            Some("a: 9\n".into()),
            Some("a: 3\n".into()),
        );
        assert_eq!(drafts.save_edit(&d2).unwrap(), Saved::Kept);
        let kept = drafts.load("o", path).unwrap();
        assert_eq!(kept.base_oid(), Some(first));
        assert_eq!(kept.base_content.as_deref(), Some("a: 1\n"));
        assert_eq!(kept.content.as_deref(), Some("a: 3\n"));
        assert_eq!(kept.kind(), DraftKind::Edit);
        // Edited back to the base text: no draft any more.
        let back = Draft::new("o", path, Some(later), None, Some("a: 1\n".into()));
        assert_eq!(drafts.save_edit(&back).unwrap(), Saved::Removed);
        assert!(drafts.load("o", path).is_none());
    }
}
