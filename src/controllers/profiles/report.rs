//! `current/profiles.yaml`: the engine's view of every Profile (namespace, quota hard and used,
//! policies present, conditions, errors and warnings), built from the controllers' caches without
//! an API request.

use super::{ISTIO_API, Outcome};
use crate::controllers::PROFILE_LABEL;
use crate::controllers::runtime::converge::{Derived, key};
use crate::model::Profile;
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the report is written in the ORB repo.
pub const PROFILES_FILE: &str = "current/profiles.yaml";

/// Every Profile as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfilesReport {
    /// One entry per Profile, by name.
    pub profiles: Vec<ProfileReport>,
    /// Facts about the cluster that change what is derived (e.g. Istio missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ProfilesReport {
    /// The report committed in `commit` of `repo`, if it has a readable one.
    pub fn read(repo: &crate::repo::OrbRepo, commit: git2::Oid) -> Option<ProfilesReport> {
        let bytes = repo.file(Some(commit), PROFILES_FILE).ok().flatten()?;
        serde_saphyr::from_str(&String::from_utf8(bytes).ok()?).ok()
    }
}

/// One Profile as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileReport {
    /// The Profile's name.
    pub name: String,
    /// Its namespace (same name), when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `User alice@example.com` or `Group team-a`.
    pub owner: String,
    /// The ResourceQuota `quotas` as the API server reports it.
    #[serde(default)]
    pub quota: QuotaReport,
    /// Names of the NetworkPolicies and AuthorizationPolicies present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// `Type=Status (reason): message` per condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// What could not be written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Bad quota labels and the like.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A quota's hard limits and usage.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct QuotaReport {
    /// status.hard.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hard: BTreeMap<String, String>,
    /// status.used.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub used: BTreeMap<String, String>,
}

/// The report from the Profiles' store, the derived caches and the reconcile outcomes.
pub async fn build(
    profiles: &Store<Profile>,
    derived: &Derived,
    outcomes: &BTreeMap<String, Outcome>,
) -> ProfilesReport {
    let namespaces = derived.kind("v1", "Namespace").await.ok();
    let quotas = derived.kind("v1", "ResourceQuota").await.ok();
    let network = derived
        .kind("networking.k8s.io/v1", "NetworkPolicy")
        .await
        .ok();
    let istio = derived.kind(ISTIO_API, "AuthorizationPolicy").await.ok();
    let mut report = ProfilesReport::default();
    if istio.is_none() {
        report.notes.push(format!(
            "{ISTIO_API} AuthorizationPolicy is not served by the cluster: no authorization \
             policies are made"
        ));
    }
    let mut all = profiles.state();
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for profile in all {
        let name = profile.metadata.name.clone().unwrap_or_default();
        let namespace = namespaces
            .as_ref()
            .and_then(|c| c.get(&key(None, &name)))
            .map(|_| name.clone());
        let quota = quotas
            .as_ref()
            .and_then(|c| c.get(&key(Some(&name), "quotas")))
            .and_then(|s| s.quota)
            .map(|q| QuotaReport {
                hard: q.hard,
                used: q.used,
            })
            .unwrap_or_default();
        let mut policies: Vec<String> = [network.as_ref(), istio.as_ref()]
            .into_iter()
            .flatten()
            .flat_map(|c| c.labelled(PROFILE_LABEL, &name))
            .map(|((_, n), _)| n.to_string())
            .collect();
        policies.sort();
        let conditions = profile
            .status
            .iter()
            .flat_map(|s| &s.conditions)
            .map(|c| {
                let mut text = format!("{}={}", c.type_, c.status);
                if let Some(r) = &c.reason {
                    text.push_str(&format!(" ({r})"));
                }
                if let Some(m) = &c.message {
                    text.push_str(&format!(": {m}"));
                }
                text
            })
            .collect();
        let outcome = outcomes.get(&name).cloned().unwrap_or_default();
        report.profiles.push(ProfileReport {
            owner: format!("{:?} {}", profile.spec.owner.kind, profile.spec.owner.name),
            name,
            namespace,
            quota,
            policies,
            conditions,
            errors: outcome.errors,
            warnings: outcome.warnings,
        });
    }
    report
}
