//! The plan against a live cluster: server-side dry-run apply of each desired object, compared
//! with what is there; objects carrying the ORB label that left desired/ are deletes.

use super::{Action, Item, ObjectId, Plan, PlanError, normalize, unified};
use crate::apply::Applier;
use crate::validate::Object;
use crate::wellknown::{FIELD_MANAGER, ORB_LABEL, prune_disabled};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::Scope;
use std::collections::BTreeSet;

/// Plans `desired` against the cluster behind `client`. `prune_kinds` are the (apiVersion, kind)
/// pairs to look for ORB-owned objects in besides the desired ones (e.g. from the last sync).
pub async fn against_cluster(
    client: &kube::Client,
    orb: &str,
    desired: &[Object],
    prune_kinds: &[(String, String)],
) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    let mut resolver = Applier::new(client.clone(), orb);
    let mut wanted = BTreeSet::new();
    for object in desired {
        let id = object.id();
        let value = crate::apply::stamped(&object.value, orb);
        let Some((ar, caps)) = resolver.resolve(&id.api_version, &id.kind).await else {
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
        let api = resolver.api(&ar, &caps, id.namespace.as_deref());
        let live = api
            .get_opt(&id.name)
            .await
            .map_err(|source| PlanError::Request {
                id: Box::new(id.clone()),
                source,
            })?
            .map(|o| serde_json::to_value(o).expect("objects serialize"));
        let obj: DynamicObject =
            serde_json::from_value(value.clone()).map_err(|source| PlanError::Object {
                id: Box::new(id.clone()),
                source,
            })?;
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let after = match api.patch(&id.name, &params, &Patch::Apply(&obj)).await {
            Ok(o) => serde_json::to_value(o).expect("objects serialize"),
            Err(kube::Error::Api(s)) => {
                plan.notes
                    .push(format!("{id}: the cluster refuses it: {}", s.message));
                value.clone()
            }
            Err(source) => {
                return Err(PlanError::Request {
                    id: Box::new(id),
                    source,
                });
            }
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
        let Some((ar, _)) = resolver.resolve(&api_version, &kind).await else {
            continue;
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let list = api
            .list(&selector)
            .await
            .map_err(|source| PlanError::List {
                api_version: api_version.clone(),
                kind: kind.clone(),
                source,
            })?;
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
