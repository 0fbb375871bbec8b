//! Pod settings to pod defaults (seed 000's podsettings-watcher and poddefaults-watcher): a
//! PodSetting in a team namespace yields a PodDefault beside it, and the PodDefaults of a team
//! namespace are copied into the namespaces of the team's members.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Map, Value, json};

use crate::controllers::{MANAGED_BY_LABEL, MANAGER};
use crate::model::{PodDefault, PodDefaultSpec, PodSetting};

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
