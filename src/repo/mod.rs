//! ORB repositories through git2: a bare clone per ORB, reading desired/ and current/ straight
//! from commits (no checkout), committing edits as tree updates, pushing without force and
//! retrying on a moved remote by re-applying the edit on the new tip (three-way YAML merge when
//! the same file moved), and drafts that keep every unpushed edit on disk.

pub mod drafts;
pub mod git;
pub mod history;
pub mod known_hosts;
pub mod merge3;
pub mod remote;
pub mod status;
pub mod write;

pub use drafts::{Draft, DraftKind, Drafts, Saved};
pub use git::{Author, OrbRepo};
pub use remote::RemoteOptions;
pub use write::{Change, Edit, RetryPolicy, Written};

use std::fmt;

/// A commit id (hex) as people quote it: its first 8 characters.
pub fn short_hex(hex: &str) -> String {
    hex.chars().take(8).collect()
}

/// Where humans keep the desired state in an ORB repo.
pub const DESIRED: &str = "desired/";
/// Where the engine writes the current state.
pub const CURRENT: &str = "current/";
/// The ORB's settings file at the repo root.
pub const ORB_FILE: &str = "orb.yaml";

/// Everything that can go wrong with an ORB repository; each names the remote or file.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The ORB is live only: no repo is paired with it.
    #[error(
        "{orb} has no repo paired (live only): pair one with `orbdeck orb add {orb} --repo URL --context CTX`"
    )]
    NotPaired {
        /// The ORB.
        orb: String,
    },
    /// The remote could not be reached or answered with an error.
    #[error("{remote}: {message}")]
    Remote {
        /// The remote URL.
        remote: String,
        /// What went wrong.
        message: String,
    },
    /// The remote did not answer within the configured time.
    #[error("{remote}: no answer within {seconds:.0} s (timed out)")]
    Timeout {
        /// The remote URL.
        remote: String,
        /// The configured timeout.
        seconds: f64,
    },
    /// The SSH host key is unknown or does not match known_hosts.
    #[error("{remote}: {message}")]
    HostKey {
        /// The remote URL.
        remote: String,
        /// Why the key was refused.
        message: String,
    },
    /// The remote refused the pushed ref (after all retries).
    #[error("{remote}: push of {refname} rejected: {reason}")]
    Rejected {
        /// The remote URL.
        remote: String,
        /// The ref the remote refused.
        refname: String,
        /// The remote's reason.
        reason: String,
    },
    /// The same keys changed upstream and in the edit; nothing was pushed.
    #[error("{file}: conflicts with the remote:\n{}", ConflictList(.conflicts))]
    Conflict {
        /// File in the repo.
        file: String,
        /// Each conflicting key path with both values.
        conflicts: Vec<merge3::Conflict>,
    },
    /// A file that cannot be merged key by key changed on both sides.
    #[error("{file}: changed on the remote too and cannot be merged key by key: {reason}")]
    Unmergeable {
        /// File in the repo.
        file: String,
        /// Why a key-level merge was not possible.
        reason: String,
    },
    /// A file asked for is not in the commit.
    #[error("{path}: not in the repo at this commit")]
    NotInRepo {
        /// File in the repo.
        path: String,
    },
    /// A commit that changed only current/ (the engine's) cannot be reverted.
    #[error("commit {commit} changed only current/, which the engine writes; nothing to revert")]
    NotRevertible {
        /// The commit, short.
        commit: String,
    },
    /// A local git operation failed.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl RepoError {
    /// A remote error naming the remote.
    pub fn remote(remote: &str, message: impl Into<String>) -> RepoError {
        RepoError::Remote {
            remote: remote.to_string(),
            message: message.into(),
        }
    }

    /// An I/O error naming the path.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> RepoError {
        RepoError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

struct ConflictList<'a>(&'a [merge3::Conflict]);

impl fmt::Display for ConflictList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {c}")?;
        }
        Ok(())
    }
}
