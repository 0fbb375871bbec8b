//! `current/status.yaml`: what the engine last did with the ORB (written by the engine only,
//! read by the control room, `orb list` and `plan`).

use super::OrbRepo;
use git2::Oid;
use serde::{Deserialize, Serialize};

/// Path of the status file in the repo.
pub const STATUS_FILE: &str = "current/status.yaml";

/// The engine's last sync of an ORB.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrbStatus {
    /// The desired-state commit applied (hex).
    #[serde(default)]
    pub commit: String,
    /// When the sync finished (RFC 3339).
    #[serde(default)]
    pub time: String,
    /// Synced, Invalid (nothing applied), Partial (some objects failed) or Failed.
    #[serde(default)]
    pub result: String,
    /// The worst health of the objects that have one (Argo CD's rules, see [`crate::health`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::Health>,
    /// Errors, each with file:line where it comes from desired/.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Every object the engine applied and owns, with the outcome of the last sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectOutcome>,
}

/// One applied object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectOutcome {
    /// apiVersion.
    pub api_version: String,
    /// kind.
    pub kind: String,
    /// Namespace, for namespaced objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// created, configured, unchanged, pruned or failed.
    pub outcome: String,
    /// Error message when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Its health as the sync saw it, for kinds that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::Health>,
    /// Why it is not Healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_message: Option<String>,
}

impl OrbStatus {
    /// The status at `commit`, if the engine wrote one and it parses.
    pub fn read(repo: &OrbRepo, commit: Oid) -> Option<OrbStatus> {
        let bytes = repo.file(Some(commit), STATUS_FILE).ok()??;
        serde_saphyr::from_slice(&bytes).ok()
    }
}

/// "TIME (RESULT, commit ABCDEF12)" of the last sync recorded at `commit`.
pub fn last_sync(repo: &OrbRepo, commit: Oid) -> Option<String> {
    let s = OrbStatus::read(repo, commit)?;
    Some(format!("{} ({}, commit {:.8})", s.time, s.result, s.commit))
}
