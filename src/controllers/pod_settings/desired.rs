//! What the pod-settings family wants, computed without an API call (seed 000's
//! podsettings-watcher and poddefaults-watcher): a PodSetting in a team namespace yields a
//! PodDefault beside it, and the PodDefaults of a team namespace are copied into the namespaces
//! of the team's members.
//!
//! A team is the label `orbdeck.io/team: <team>` on namespaces: the namespace named `<team>` is
//! the team's own, the others carrying the label are its members'.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Map, Value, json};

use crate::controllers::{MANAGED_BY_LABEL, MANAGER, PROFILE_LABEL, Warning};
use crate::model::{PodDefault, PodDefaultSpec, PodSetting};
use k8s_openapi::api::core::v1::Namespace;

/// Label naming the team a namespace belongs to.
pub const TEAM_LABEL: &str = "orbdeck.io/team";

/// A PodSetting with this label (any value) gets no PodDefault, as in Orbit.
pub const DISABLE_LABEL: &str = "orbit/disable-watcher";
/// Label on a PodDefault naming the PodSetting it mirrors.
pub const PODSETTING_LABEL: &str = "orbdeck.io/podsetting";
/// Label on a copied PodDefault naming the team namespace it was copied from.
pub const COPIED_FROM_LABEL: &str = "orbdeck.io/copied-from";

/// The PodDefault mirroring a PodSetting: same name, namespace, selector, description and
/// modifiers, owned by the PodSetting (once it has a uid). `None` when the PodSetting opts out
/// with [`DISABLE_LABEL`] or lacks a name or namespace.
pub fn poddefault_for(setting: &PodSetting) -> Option<Value> {
    let meta = &setting.metadata;
    if meta
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(DISABLE_LABEL))
    {
        return None;
    }
    let name = meta.name.clone()?;
    let namespace = meta.namespace.clone()?;
    let owner = meta.uid.clone().map(|uid| {
        vec![OwnerReference {
            api_version: "orbdeck.io/v1alpha1".into(),
            kind: "PodSetting".into(),
            name: name.clone(),
            uid,
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    let desc = if setting.spec.desc.is_empty() {
        name.clone()
    } else {
        setting.spec.desc.clone()
    };
    let poddefault = PodDefault {
        metadata: ObjectMeta {
            labels: Some(BTreeMap::from([
                (MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned()),
                (PODSETTING_LABEL.to_owned(), name.clone()),
            ])),
            name: Some(name),
            namespace: Some(namespace),
            owner_references: owner,
            ..ObjectMeta::default()
        },
        spec: PodDefaultSpec {
            selector: setting.spec.selector.clone(),
            desc,
            modifiers: setting.spec.modifiers.clone(),
        },
    };
    Some(serde_json::to_value(poddefault).expect("a PodDefault serializes to JSON"))
}

/// Copies of a team namespace's PodDefaults in each member namespace (sorted, without repeats,
/// never the team namespace itself), labelled [`COPIED_FROM_LABEL`]` = <team_ns>`. Only the name,
/// labels and spec are copied; copies of copies are never made. Ordered by namespace, then name.
pub fn copies_for_members(
    team_ns: &str,
    team_poddefaults: &[Value],
    member_namespaces: &[String],
) -> Vec<Value> {
    let mut sources: Vec<(&str, &Value)> = team_poddefaults
        .iter()
        .filter(|pd| {
            let ns = pd.pointer("/metadata/namespace").and_then(Value::as_str);
            let copied = pd
                .pointer("/metadata/labels")
                .and_then(|l| l.get(COPIED_FROM_LABEL))
                .is_some();
            ns.is_none_or(|ns| ns == team_ns) && !copied
        })
        .filter_map(|pd| {
            let name = pd.pointer("/metadata/name").and_then(Value::as_str)?;
            Some((name, pd))
        })
        .collect();
    sources.sort_by_key(|(name, _)| *name);
    let members: BTreeSet<&str> = member_namespaces
        .iter()
        .map(String::as_str)
        .filter(|ns| !ns.is_empty() && *ns != team_ns)
        .collect();
    let mut copies = Vec::new();
    for member in members {
        for (name, source) in &sources {
            let mut labels: Map<String, Value> = source
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            labels.insert(MANAGED_BY_LABEL.into(), json!(MANAGER));
            labels.insert(COPIED_FROM_LABEL.into(), json!(team_ns));
            let labels: BTreeMap<String, Value> = labels.into_iter().collect();
            let api_version = source
                .get("apiVersion")
                .cloned()
                .unwrap_or_else(|| json!("kubeflow.org/v1alpha1"));
            copies.push(json!({
                "apiVersion": api_version,
                "kind": "PodDefault",
                "metadata": {"name": name, "namespace": member, "labels": labels},
                "spec": source.get("spec").cloned().unwrap_or_else(|| json!({})),
            }));
        }
    }
    copies
}

/// Teams: team name → (whether its own namespace exists, member namespaces). Namespaces being
/// deleted count for nothing.
pub fn teams(namespaces: &[Arc<Namespace>]) -> BTreeMap<String, (bool, Vec<String>)> {
    let mut teams: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    for ns in namespaces {
        if ns.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(team) = ns.metadata.labels.as_ref().and_then(|l| l.get(TEAM_LABEL)) else {
            continue;
        };
        let name = ns.metadata.name.clone().unwrap_or_default();
        let entry = teams.entry(team.clone()).or_default();
        if &name == team {
            entry.0 = true;
        } else {
            entry.1.push(name);
        }
    }
    for (_, members) in teams.values_mut() {
        members.sort();
    }
    teams
}

/// What one PodSetting yields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingOutcome {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Namespaces its PodDefault is wanted in (the team's own, then members').
    pub namespaces: Vec<String>,
    /// Why it yields nothing, when it does not.
    pub warning: Option<Warning>,
}

/// Everything the family wants: the PodDefaults and, per PodSetting, what it yields.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    /// PodDefaults: mirrors of PodSettings and copies of team PodDefaults for members.
    pub objects: Vec<Value>,
    /// One entry per PodSetting, ordered by namespace and name.
    pub settings: Vec<SettingOutcome>,
}

/// The PodDefaults wanted given the [`teams`] of the namespaces, the PodSettings and the
/// PodDefaults that exist (users' own in team namespaces are copied to members as well as the
/// mirrors).
pub fn desired(
    teams: &BTreeMap<String, (bool, Vec<String>)>,
    settings: &[Arc<PodSetting>],
    poddefaults: &[Value],
) -> Desired {
    let mut out = Desired::default();
    let mut mirrors = Vec::new();
    for setting in settings {
        let namespace = setting.metadata.namespace.clone().unwrap_or_default();
        let name = setting.metadata.name.clone().unwrap_or_default();
        let mut outcome = SettingOutcome {
            namespace: namespace.clone(),
            name: name.clone(),
            ..Default::default()
        };
        match teams.get(&namespace) {
            Some((true, members)) => {
                if let Some(pd) = poddefault_for(setting) {
                    mirrors.push(pd);
                    outcome.namespaces.push(namespace.clone());
                    outcome.namespaces.extend(members.iter().cloned());
                }
            }
            _ => {
                outcome.warning = Some(Warning::new(
                    "NotInTeamNamespace",
                    format!(
                        "PodSetting {namespace}/{name}: namespace {namespace:?} is not a team's own \
                         namespace (label {TEAM_LABEL}: {namespace}); no PodDefault is made"
                    ),
                ));
            }
        }
        out.settings.push(outcome);
    }
    out.settings
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    for (team, (own, members)) in teams {
        if !own || members.is_empty() {
            continue;
        }
        let in_team = |pd: &&Value| pd.pointer("/metadata/namespace") == Some(&json!(team));
        // Mirrors not created yet are copied on this pass already.
        let mut sources: Vec<Value> = mirrors
            .iter()
            .filter(in_team)
            .chain(poddefaults.iter().filter(in_team))
            .cloned()
            .collect();
        sources.sort_by_key(|pd| pd.pointer("/metadata/name").map(Value::to_string));
        sources.dedup_by_key(|pd| pd.pointer("/metadata/name").map(Value::to_string));
        for mut copy in copies_for_members(team, &sources, members) {
            // A copy belongs to the team, not to a Profile or PodSetting it was copied from.
            if let Some(labels) = copy
                .pointer_mut("/metadata/labels")
                .and_then(Value::as_object_mut)
            {
                labels.remove(PROFILE_LABEL);
                labels.remove(PODSETTING_LABEL);
            }
            out.objects.push(copy);
        }
    }
    out.objects.splice(0..0, mirrors);
    out
}
