//! One ORB repository: a bare local clone of one branch. Reads come from commits' trees, writes
//! are tree updates committed on top of the remote tip; nothing is ever checked out.

use super::remote::{RemoteOptions, Session};
use super::{Change, RepoError};
use git2::{FetchOptions, ObjectType, Oid, PushOptions, Repository, Signature, TreeWalkMode};
use std::path::{Path, PathBuf};

/// The local ref a commit is pushed from (never a branch anyone checks out).
const OUTGOING: &str = "refs/orbdeck/outgoing";

/// Who commits: name and email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Committer name.
    pub name: String,
    /// Committer email.
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Author {
            name: "orbdeck".into(),
            email: "orbdeck@localhost".into(),
        }
    }
}

/// A bare clone of one branch of an ORB repo.
pub struct OrbRepo {
    repo: Repository,
    dir: PathBuf,
    url: String,
    branch: String,
    /// Settings of every remote operation.
    pub remote: RemoteOptions,
    /// Author and committer of commits made here.
    pub author: Author,
}

impl OrbRepo {
    /// Opens the clone at `dir`, creating an empty bare repository with `url` as origin if there is
    /// none yet (call [`OrbRepo::fetch`] to fill it). The origin URL is updated if it changed.
    pub fn open(
        dir: &Path,
        url: &str,
        branch: &str,
        remote: RemoteOptions,
    ) -> Result<OrbRepo, RepoError> {
        let repo = match Repository::open_bare(dir) {
            Ok(r) => r,
            Err(_) => {
                std::fs::create_dir_all(dir).map_err(|e| RepoError::io(dir, e))?;
                Repository::init_bare(dir)?
            }
        };
        let fetch_spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
        match repo.find_remote("origin") {
            Ok(r) if r.url().ok() == Some(url) => {}
            Ok(_) => repo.remote_set_url("origin", url)?,
            Err(_) => {
                repo.remote_with_fetch("origin", url, &fetch_spec)?;
            }
        }
        Ok(OrbRepo {
            repo,
            dir: dir.to_path_buf(),
            url: url.to_string(),
            branch: branch.to_string(),
            remote,
            author: Author::default(),
        })
    }

    /// The remote URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The branch followed.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// Where the bare clone lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The underlying git2 repository (for callers needing more than this API).
    pub fn git(&self) -> &Repository {
        &self.repo
    }

    fn tracking_ref(&self) -> String {
        format!("refs/remotes/origin/{}", self.branch)
    }

    /// The last fetched tip of the branch, if the branch exists on the remote.
    pub fn tip(&self) -> Option<Oid> {
        self.repo.refname_to_id(&self.tracking_ref()).ok()
    }

    /// Fetches the branch within the configured timeout; returns the new tip (None for a remote
    /// without the branch yet, e.g. an empty repository).
    pub fn fetch(&self) -> Result<Option<Oid>, RepoError> {
        let session = Session::new(&self.url, &self.remote)?;
        let mut remote = self.repo.remote_anonymous(&self.url)?;
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(session.callbacks());
        fo.download_tags(git2::AutotagOption::None);
        let spec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", self.branch);
        remote
            .fetch(&[spec.as_str()], Some(&mut fo), None)
            .map_err(|e| session.error(e))?;
        Ok(self.tip())
    }

    /// Pushes `commit` to the branch (fast-forward only, never forced). A remote that refuses the
    /// update (it moved on) gives [`RepoError::Rejected`]; so does libgit2's own fast-forward check.
    pub fn push(&self, commit: Oid) -> Result<(), RepoError> {
        let target = format!("refs/heads/{}", self.branch);
        match local_path(&self.url) {
            Some(path) => self.push_local(commit, &path, &target)?,
            None => self.push_refspec(commit, &target)?,
        }
        self.repo
            .reference(&self.tracking_ref(), commit, true, "orbdeck: pushed")?;
        Ok(())
    }

    /// Pushes to a repository on this machine. libgit2's local transport moves the remote ref
    /// without comparing its old value (two racing pushers can both "win") and fails when refs
    /// vanish while it lists them, so objects are copied straight into the remote's object
    /// database and the branch is moved with a compare-and-swap from the tip this commit was
    /// built on (its first parent).
    fn push_local(&self, commit: Oid, path: &Path, target: &str) -> Result<(), RepoError> {
        let fail = |e: git2::Error| RepoError::remote(&self.url, e.message());
        let remote = Repository::open(path).map_err(fail)?;
        self.copy_objects(&remote, commit).map_err(fail)?;
        // Compare against the tip this commit was built on (its parent), never the shared
        // tracking ref: another handle on this clone may have fetched a newer tip meanwhile.
        let built_on = self
            .repo
            .find_commit(commit)
            .map_err(fail)?
            .parent_ids()
            .next();
        let moved = match built_on {
            Some(old) => remote.reference_matching(target, commit, true, old, "orbdeck: push"),
            None => remote.reference(target, commit, false, "orbdeck: push"),
        };
        match moved {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked
                ) =>
            {
                Err(RepoError::Rejected {
                    remote: self.url.clone(),
                    refname: target.to_string(),
                    reason: "the branch moved since the last fetch (non-fast-forward)".into(),
                })
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// Writes every object reachable from `commit` that `dst` lacks (stopping at objects it has).
    fn copy_objects(&self, dst: &Repository, commit: Oid) -> Result<(), git2::Error> {
        let (src_odb, dst_odb) = (self.repo.odb()?, dst.odb()?);
        let mut stack = vec![commit];
        while let Some(id) = stack.pop() {
            if dst_odb.exists(id) {
                continue;
            }
            let object = src_odb.read(id)?;
            match object.kind() {
                ObjectType::Commit => {
                    let c = self.repo.find_commit(id)?;
                    stack.push(c.tree_id());
                    stack.extend(c.parent_ids());
                }
                ObjectType::Tree => {
                    let tree = self.repo.find_tree(id)?;
                    stack.extend(
                        tree.iter()
                            .filter(|e| e.kind() != Some(ObjectType::Commit))
                            .map(|e| e.id()),
                    );
                }
                _ => {}
            }
            dst_odb.write(object.kind(), object.data())?;
        }
        Ok(())
    }

    /// Pushes `commit` to `target` through libgit2's transport, detecting refusals reported per
    /// ref (push_update_reference) as well as the call's own error.
    fn push_refspec(&self, commit: Oid, target: &str) -> Result<(), RepoError> {
        self.repo
            .reference(OUTGOING, commit, true, "orbdeck: outgoing")?;
        let session = Session::new(&self.url, &self.remote)?;
        let mut remote = self.repo.remote_anonymous(&self.url)?;
        let mut po = PushOptions::new();
        po.remote_callbacks(session.callbacks());
        let spec = format!("{OUTGOING}:{target}");
        let result = remote.push(&[spec.as_str()], Some(&mut po));
        if let Some((refname, reason)) = session.rejected.borrow().first().cloned() {
            return Err(RepoError::Rejected {
                remote: self.url.clone(),
                refname,
                reason,
            });
        }
        match result {
            Ok(()) => {}
            Err(e) if e.code() == git2::ErrorCode::NotFastForward => {
                return Err(RepoError::Rejected {
                    remote: self.url.clone(),
                    refname: target.to_string(),
                    reason: e.message().to_string(),
                });
            }
            Err(e) => return Err(session.error(e)),
        }
        Ok(())
    }

    /// The content of `path` at `commit`, or None when it does not exist there.
    pub fn file(&self, commit: Option<Oid>, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let Some(commit) = commit else {
            return Ok(None);
        };
        let tree = self.repo.find_commit(commit)?.tree()?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Blob) => {
                Ok(Some(self.repo.find_blob(entry.id())?.content().to_vec()))
            }
            Ok(_) => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every file under `prefix` (e.g. `desired/`) at `commit`, with its content, sorted by path.
    pub fn files(&self, commit: Oid, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
        let tree = self.repo.find_commit(commit)?.tree()?;
        let mut out = Vec::new();
        let mut failed = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let path = format!("{dir}{}", entry.name().unwrap_or_default());
            if !path.starts_with(prefix) {
                return git2::TreeWalkResult::Ok;
            }
            match self.repo.find_blob(entry.id()) {
                Ok(blob) => out.push((path, blob.content().to_vec())),
                Err(e) => {
                    failed = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        out.sort();
        Ok(out)
    }

    /// Commits `changes` on top of `parent` (None: a root commit). Returns the parent itself
    /// when the changes leave its tree as it was.
    pub fn commit(
        &self,
        parent: Option<Oid>,
        changes: &[Change],
        message: &str,
    ) -> Result<Oid, RepoError> {
        let parent_commit = parent.map(|p| self.repo.find_commit(p)).transpose()?;
        let base_tree = match &parent_commit {
            Some(c) => c.tree()?,
            None => {
                let empty = self.repo.treebuilder(None)?.write()?;
                self.repo.find_tree(empty)?
            }
        };
        let mut update = git2::build::TreeUpdateBuilder::new();
        for change in changes {
            match &change.content {
                Some(bytes) => {
                    let blob = self.repo.blob(bytes)?;
                    update.upsert(change.path.as_str(), blob, git2::FileMode::Blob);
                }
                None => {
                    if base_tree.get_path(Path::new(&change.path)).is_ok() {
                        update.remove(change.path.as_str());
                    }
                }
            }
        }
        let tree_id = update.create_updated(&self.repo, &base_tree)?;
        if let Some(c) = &parent_commit
            && tree_id == c.tree_id()
        {
            return Ok(c.id());
        }
        let tree = self.repo.find_tree(tree_id)?;
        let sig = Signature::now(&self.author.name, &self.author.email)?;
        let parents: Vec<&git2::Commit<'_>> = parent_commit.iter().collect();
        Ok(self
            .repo
            .commit(None, &sig, &sig, message, &tree, &parents)?)
    }

    /// Whether `ancestor` is `commit` or one of its ancestors.
    pub fn contains(&self, commit: Oid, ancestor: Oid) -> Result<bool, RepoError> {
        Ok(commit == ancestor || self.repo.graph_descendant_of(commit, ancestor)?)
    }

    /// The newest commit from `tip` back to (not including) `since` that changed `path`, with
    /// its author's name; None when no commit in between touched it. Looks at most 1000 commits.
    pub fn last_change(
        &self,
        tip: Oid,
        path: &str,
        since: Option<Oid>,
    ) -> Result<Option<(Oid, String)>, RepoError> {
        let entry = |commit: &git2::Commit<'_>| -> Option<Oid> {
            commit
                .tree()
                .ok()?
                .get_path(Path::new(path))
                .ok()
                .map(|e| e.id())
        };
        let mut walk = self.repo.revwalk()?;
        walk.push(tip)?;
        if let Some(since) = since {
            walk.hide(since)?;
        }
        for id in walk.take(1000) {
            let commit = self.repo.find_commit(id?)?;
            let before = commit.parent(0).ok().and_then(|p| entry(&p));
            if entry(&commit) != before {
                let author = String::from_utf8_lossy(commit.author().name_bytes()).into_owned();
                return Ok(Some((commit.id(), author)));
            }
        }
        Ok(None)
    }

    /// Summary and commit time (seconds since the epoch) of `commit`.
    pub fn describe(&self, commit: Oid) -> Result<(String, i64), RepoError> {
        let c = self.repo.find_commit(commit)?;
        let summary = String::from_utf8_lossy(c.summary_bytes().unwrap_or_default()).into_owned();
        Ok((summary, c.time().seconds()))
    }
}

/// The directory of a remote on this machine (a plain path or a file:// URL).
fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    (!url.contains("://") && !url.contains('@')).then(|| PathBuf::from(url))
}
