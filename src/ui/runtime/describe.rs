//! Describe (`d` on a Live row): the object's owners and children as a tree with each one's
//! health, its events (newest first), and its YAML without the noise (managed fields, resource
//! version, uid, last-applied annotation): k9s's describe and xray in one page.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::effects::{API_TIMEOUT, EffectError, Env, api_for, client};
use crate::ui::Action;

/// What `d` asks for.
pub(super) struct Target {
    /// ORB name.
    pub orb: String,
    /// apiVersion of the object.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty: cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The kinds whose objects are looked for as children of a namespaced object.
const CHILD_KINDS: &[(&str, &str)] = &[
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
];

/// Metadata fields that say nothing to a person reading the object.
const NOISE: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "selfLink",
    "generation",
];

/// The page of `target`: YAML, events, owners and children.
pub(super) async fn describe(env: &Env, target: Target) -> Result<Action, EffectError> {
    let client = client(env, &target.orb).await?;
    let ns = (!target.namespace.is_empty()).then_some(target.namespace.as_str());
    let api = api_for(&client, &target.api_version, &target.kind, ns).await?;
    let what = format!("{} {}", target.kind, target.name);
    let object = tokio::time::timeout(API_TIMEOUT, api.get_opt(&target.name))
        .await
        .map_err(|_| EffectError::NoAnswer { what: what.clone() })??;
    let Some(object) = object else {
        return Ok(Action::Text(format!("# {what} does not exist (any more)")));
    };
    let mut out = String::new();
    out.push_str(&format!("# {what} @ {}\n", target.orb));
    out.push_str("\nOwners and children:\n");
    out.push_str(&tree(&client, &target, &object).await);
    out.push_str("\nEvents (newest first):\n");
    out.push_str(&events(&client, &target).await);
    out.push_str("\nObject:\n");
    out.push_str(&serde_saphyr::to_string(&without_noise(&object))?);
    Ok(Action::Text(super::effects::sanitize_lines(&out)))
}

/// The object as JSON without [`NOISE`] and the last-applied annotation.
fn without_noise(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in NOISE {
            meta.remove(*key);
        }
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    value
}

/// The events about the object, one line each, newest first.
async fn events(client: &kube::Client, target: &Target) -> String {
    let api: Api<Event> = match target.namespace.as_str() {
        "" => Api::all(client.clone()),
        ns => Api::namespaced(client.clone(), ns),
    };
    let list = tokio::time::timeout(API_TIMEOUT, api.list(&ListParams::default())).await;
    let Ok(Ok(list)) = list else {
        return "  (events could not be read)\n".into();
    };
    let mut rows: Vec<_> = list
        .items
        .iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(&target.name)
                && e.involved_object.kind.as_deref() == Some(&target.kind)
        })
        .map(crate::ui::kinds::events::row)
        .collect();
    if rows.is_empty() {
        return "  (none)\n".into();
    }
    rows.sort_by_key(|e| std::cmp::Reverse(e.time));
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    rows.iter()
        .map(|e| {
            let age = crate::ui::render::cell::age(now, e.time);
            format!("  {age:>4}  {:<7}  {}  {}\n", e.type_, e.reason, e.message)
        })
        .collect()
}

/// One object of the tree: kind, name, uid, owners' uids, health.
struct Node {
    kind: String,
    name: String,
    uid: String,
    owners: Vec<String>,
    health: String,
}

fn node(kind: &str, api_version: &str, o: &DynamicObject) -> Node {
    let mut value = serde_json::to_value(o).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), api_version.into());
        map.insert("kind".into(), kind.into());
    }
    let health = crate::health::of(&value)
        .map(|(h, m)| {
            if m.is_empty() {
                h.as_str().to_owned()
            } else {
                format!("{}: {m}", h.as_str())
            }
        })
        .unwrap_or_default();
    Node {
        kind: kind.to_owned(),
        name: o.metadata.name.clone().unwrap_or_default(),
        uid: o.metadata.uid.clone().unwrap_or_default(),
        owners: o
            .metadata
            .owner_references
            .iter()
            .flatten()
            .map(|r| r.uid.clone())
            .collect(),
        health,
    }
}

/// The owners (up to the top), the object, and what it owns (two levels down).
async fn tree(client: &kube::Client, target: &Target, object: &DynamicObject) -> String {
    let ns = (!target.namespace.is_empty()).then_some(target.namespace.as_str());
    let mut chain = Vec::new();
    let mut at = object.clone();
    for _ in 0..5 {
        let Some(owner) = at
            .metadata
            .owner_references
            .iter()
            .flatten()
            .next()
            .cloned()
        else {
            break;
        };
        let Ok(api) = api_for(client, &owner.api_version, &owner.kind, ns).await else {
            chain.push(format!("{} {} (not readable)", owner.kind, owner.name));
            break;
        };
        match tokio::time::timeout(API_TIMEOUT, api.get_opt(&owner.name)).await {
            Ok(Ok(Some(o))) => {
                let n = node(&owner.kind, &owner.api_version, &o);
                chain.push(line(&n));
                at = o;
            }
            _ => {
                chain.push(format!("{} {} (gone)", owner.kind, owner.name));
                break;
            }
        }
    }
    chain.reverse();
    let mut out = String::new();
    let mut depth = 0;
    for owner in &chain {
        out.push_str(&format!("  {}{owner}\n", branch(depth)));
        depth += 1;
    }
    let me = node(&target.kind, &target.api_version, object);
    out.push_str(&format!("  {}{}  ← this\n", branch(depth), line(&me)));
    let Some(ns) = ns else {
        return out;
    };
    let mut candidates = Vec::new();
    for (api_version, kind) in CHILD_KINDS {
        let Ok(api) = api_for(client, api_version, kind, Some(ns)).await else {
            continue;
        };
        if let Ok(Ok(list)) =
            tokio::time::timeout(API_TIMEOUT, api.list(&ListParams::default())).await
        {
            candidates.extend(list.items.iter().map(|o| node(kind, api_version, o)));
        }
    }
    children(&candidates, &me.uid, depth + 1, 2, &mut out);
    out
}

fn children(all: &[Node], uid: &str, depth: usize, left: usize, out: &mut String) {
    if left == 0 || uid.is_empty() {
        return;
    }
    for n in all.iter().filter(|n| n.owners.iter().any(|o| o == uid)) {
        out.push_str(&format!("  {}{}\n", branch(depth), line(n)));
        children(all, &n.uid, depth + 1, left - 1, out);
    }
}

fn branch(depth: usize) -> String {
    if depth == 0 {
        String::new()
    } else {
        format!("{}└─ ", "   ".repeat(depth - 1))
    }
}

fn line(n: &Node) -> String {
    if n.health.is_empty() {
        format!("{} {}", n.kind, n.name)
    } else {
        format!("{} {}  {}", n.kind, n.name, n.health)
    }
}
