//! The plan against a live cluster: server-side dry-run apply of each desired object, compared
//! with what is there; objects carrying the ORB label that left desired/ are deletes.

use super::{
    Action, FIELD_MANAGER, Item, ORB_LABEL, ObjectId, Plan, labelled, normalize, prune_disabled,
    unified,
};
use crate::validate::Object;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use std::collections::{BTreeSet, HashMap};

/// Kinds resolved through discovery, by (apiVersion, kind); None when the cluster does not serve it.
type Kinds = HashMap<(String, String), Option<(ApiResource, ApiCapabilities)>>;

async fn resolve(
    client: &kube::Client,
    kinds: &mut Kinds,
    api_version: &str,
    kind: &str,
) -> Option<(ApiResource, ApiCapabilities)> {
    let key = (api_version.to_string(), kind.to_string());
    if let Some(found) = kinds.get(&key) {
        return found.clone();
    }
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let found = kube::discovery::pinned_kind(client, &gvk).await.ok();
    kinds.insert(key, found.clone());
    found
}

fn api_for(
    client: &kube::Client,
    ar: &ApiResource,
    caps: &ApiCapabilities,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    match (&caps.scope, ns) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, ar),
        (Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), ar),
        (Scope::Cluster, _) => Api::all_with(client.clone(), ar),
    }
}

/// Plans `desired` against the cluster behind `client`. `prune_kinds` are the (apiVersion, kind)
/// pairs to look for ORB-owned objects in besides the desired ones (e.g. from the last sync).
pub async fn against_cluster(
    client: &kube::Client,
    orb: &str,
    desired: &[Object],
    prune_kinds: &[(String, String)],
) -> Result<Plan, String> {
    let mut plan = Plan::default();
    let mut kinds = Kinds::new();
    let mut wanted = BTreeSet::new();
    for object in desired {
        let id = ObjectId::of(object);
        let value = labelled(&object.value, orb);
        let Some((ar, caps)) = resolve(client, &mut kinds, &id.api_version, &id.kind).await else {
            plan.notes.push(format!(
                "{id}: kind not served by the cluster yet (its CRD is created first); shown as desired"
            ));
            plan.items.push(Item {
                action: Action::Create,
                id: id.clone(),
                diff: unified(None, Some(&value), &id),
            });
            wanted.insert(id);
            continue;
        };
        let mut id = id;
        if caps.scope == Scope::Namespaced && id.namespace.is_none() {
            id.namespace = Some("default".into());
        }
        let api = api_for(client, &ar, &caps, id.namespace.as_deref());
        let live = api
            .get_opt(&id.name)
            .await
            .map_err(|e| format!("{id}: {e}"))?
            .map(|o| serde_json::to_value(o).expect("objects serialize"));
        let obj: DynamicObject =
            serde_json::from_value(value.clone()).map_err(|e| format!("{id}: {e}"))?;
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let after = match api.patch(&id.name, &params, &Patch::Apply(&obj)).await {
            Ok(o) => serde_json::to_value(o).expect("objects serialize"),
            Err(kube::Error::Api(s)) => {
                plan.notes
                    .push(format!("{id}: the cluster refuses it: {}", s.message));
                value.clone()
            }
            Err(e) => return Err(format!("{id}: {e}")),
        };
        match live {
            None => plan.items.push(Item {
                action: Action::Create,
                diff: unified(None, Some(&after), &id),
                id: id.clone(),
            }),
            Some(live) if normalize(&live) != normalize(&after) => plan.items.push(Item {
                action: Action::Update,
                diff: unified(Some(&live), Some(&after), &id),
                id: id.clone(),
            }),
            Some(_) => plan.unchanged += 1,
        }
        wanted.insert(id);
    }
    let mut look: BTreeSet<(String, String)> = desired
        .iter()
        .map(|o| (o.api_version.clone(), o.kind.clone()))
        .collect();
    look.extend(prune_kinds.iter().cloned());
    let selector = ListParams::default().labels(&format!("{ORB_LABEL}={orb}"));
    for (api_version, kind) in look {
        let Some((ar, _)) = resolve(client, &mut kinds, &api_version, &kind).await else {
            continue;
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let list = api
            .list(&selector)
            .await
            .map_err(|e| format!("{api_version} {kind}: {e}"))?;
        for o in list.items {
            let id = ObjectId {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: o.metadata.namespace.clone(),
                name: o.metadata.name.clone().unwrap_or_default(),
            };
            if wanted.contains(&id) {
                continue;
            }
            let value = serde_json::to_value(&o).expect("objects serialize");
            if prune_disabled(&value) {
                plan.notes.push(format!(
                    "{id}: left desired/ but is annotated orbdeck.io/prune: \"false\"; kept"
                ));
                continue;
            }
            plan.items.push(Item {
                action: Action::Delete,
                diff: unified(Some(&value), None, &id),
                id,
            });
        }
    }
    plan.sort();
    Ok(plan)
}
