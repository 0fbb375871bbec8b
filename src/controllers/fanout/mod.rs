//! The controllers that fan one source out to many namespaces, at run time: PodSettings to
//! PodDefaults and their copies in team members' namespaces (seed 000's podsettings- and
//! poddefaults-watchers), and AddonTemplates stamped into every namespace they select (seed 000's
//! userspace chart manager).
//!
//! A team is the label `orbdeck.io/team: <team>` on namespaces: the namespace named `<team>` is the
//! team's own, the others carrying the label are its members'. Each pass computes everything these
//! controllers want and converges it through [`Derived`] under one family label, so what is no
//! longer wanted (a PodSetting or template deleted, a namespace gone or no longer selected) is
//! removed. Passes run when a namespace, PodSetting, PodDefault or AddonTemplate changes, and on
//! every resync tick.

pub mod addons;
pub mod pod_settings;

use crate::controllers::PROFILE_LABEL;
use crate::controllers::runtime::converge::Derived;
use crate::metrics::Metrics;
use crate::model::{AddonTemplate, PodSetting};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Label naming the team a namespace belongs to.
pub const TEAM_LABEL: &str = "orbdeck.io/team";
/// Label naming the fan-out controller that made an object (its converge scope).
pub const FAMILY_LABEL: &str = "orbdeck.io/controller";
/// Namespace annotation naming its owner (Kubeflow's), used for `{{owner}}`.
const OWNER_ANNOTATION: &str = "owner";

/// Kinds add-on templates commonly hold: looked at for leftovers even when no template renders
/// them any more (kinds rendered since start are looked at too).
const ADDON_KINDS: [(&str, &str); 8] = [
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apps/v1", "Deployment"),
];

/// Runs the fan-out controllers until `shutdown`, a pass on every change and every `resync`.
pub async fn run(
    derived: Arc<Derived>,
    metrics: Arc<Metrics>,
    resync: Duration,
    shutdown: CancellationToken,
) {
    let client = derived.client().clone();
    let wake = Arc::new(Notify::new());
    let namespaces = watch_store::<Namespace>(Api::all(client.clone()), &wake, &shutdown);
    let settings = watch_store::<PodSetting>(Api::all(client.clone()), &wake, &shutdown);
    let templates = watch_store::<AddonTemplate>(Api::all(client.clone()), &wake, &shutdown);
    let mut addon_kinds: Vec<(String, String)> = ADDON_KINDS
        .iter()
        .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
        .collect();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(resync) => {}
        }
        // Let a burst of changes settle into one pass.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let mut ok = true;
        if derived.serves("orbdeck.io/v1alpha1", "PodSetting").await
            && derived.serves("kubeflow.org/v1alpha1", "PodDefault").await
        {
            ok &= pod_settings_pass(&derived, &namespaces, &settings).await;
        }
        if derived.serves("orbdeck.io/v1alpha1", "AddonTemplate").await {
            ok &= addons_pass(&derived, &namespaces, &templates, &mut addon_kinds).await;
        }
        metrics.record_reconcile("fanout", started.elapsed(), ok);
    }
}

/// A reflector store of one kind whose changes wake the loop (with backoff on errors).
fn watch_store<K>(api: Api<K>, wake: &Arc<Notify>, shutdown: &CancellationToken) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher::watcher(api, watcher::Config::default()).default_backoff(),
    );
    let wake = wake.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(drive(stream, wake, shutdown));
    reader
}

async fn drive<S, T, E>(stream: S, wake: Arc<Notify>, shutdown: CancellationToken)
where
    S: Stream<Item = Result<T, E>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => match event {
                Some(Ok(_)) => wake.notify_one(),
                Some(Err(_)) => {}
                None => return,
            },
        }
    }
}

/// Teams: team name → (whether its own namespace exists, member namespaces).
fn teams(namespaces: &Store<Namespace>) -> BTreeMap<String, (bool, Vec<String>)> {
    let mut teams: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
    for ns in namespaces.state() {
        if ns.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = ns.metadata.name.clone().unwrap_or_default();
        let Some(team) = ns.metadata.labels.as_ref().and_then(|l| l.get(TEAM_LABEL)) else {
            continue;
        };
        let entry = teams.entry(team.clone()).or_default();
        if &name == team {
            entry.0 = true;
        } else {
            entry.1.push(name);
        }
    }
    teams
}

/// PodSettings in team namespaces → PodDefaults there; team PodDefaults → copies for members.
async fn pod_settings_pass(
    derived: &Derived,
    namespaces: &Store<Namespace>,
    settings: &Store<PodSetting>,
) -> bool {
    let teams = teams(namespaces);
    let mut desired = Vec::new();
    for setting in settings.state() {
        let ns = setting.metadata.namespace.clone().unwrap_or_default();
        if teams.get(&ns).is_some_and(|(own, _)| *own)
            && let Some(pd) = pod_settings::poddefault_for(&setting)
        {
            desired.push(pd);
        }
    }
    let resource = kube::core::ApiResource {
        group: "kubeflow.org".into(),
        version: "v1alpha1".into(),
        api_version: "kubeflow.org/v1alpha1".into(),
        kind: "PodDefault".into(),
        plural: "poddefaults".into(),
    };
    let mut ok = true;
    for (team, (own, members)) in &teams {
        if !own || members.is_empty() {
            continue;
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(derived.client().clone(), team, &resource);
        let mut sources: Vec<Value> = match api.list(&ListParams::default()).await {
            Ok(list) => list
                .items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect(),
            Err(e) => {
                tracing::warn!(team, error = %e, "listing team PodDefaults");
                ok = false;
                continue;
            }
        };
        // Mirrors not created yet are copied on this pass already.
        sources.extend(
            desired
                .iter()
                .filter(|pd| pd.pointer("/metadata/namespace") == Some(&json!(team)))
                .cloned(),
        );
        sources.sort_by_key(|pd| pd.pointer("/metadata/name").map(Value::to_string));
        sources.dedup_by_key(|pd| pd.pointer("/metadata/name").map(Value::to_string));
        for mut copy in pod_settings::copies_for_members(team, &sources, members) {
            // A copy belongs to the team, not to a Profile or PodSetting it was copied from.
            if let Some(labels) = copy
                .pointer_mut("/metadata/labels")
                .and_then(Value::as_object_mut)
            {
                labels.remove(PROFILE_LABEL);
                labels.remove(pod_settings::PODSETTING_LABEL);
            }
            desired.push(copy);
        }
    }
    let desired = desired
        .into_iter()
        .map(|o| family(o, "pod-settings"))
        .collect();
    let done = derived
        .converge(
            (FAMILY_LABEL, "pod-settings"),
            &[("kubeflow.org/v1alpha1", "PodDefault")],
            desired,
        )
        .await;
    for e in &done.errors {
        tracing::warn!(error = %e, "pod settings");
    }
    ok && done.errors.is_empty()
}

/// Every AddonTemplate rendered into every namespace its selector matches.
async fn addons_pass(
    derived: &Derived,
    namespaces: &Store<Namespace>,
    templates: &Store<AddonTemplate>,
    kinds: &mut Vec<(String, String)>,
) -> bool {
    let mut desired = Vec::new();
    let mut ok = true;
    for template in templates.state() {
        let name = template.metadata.name.clone().unwrap_or_default();
        let selector: Selector = match template.spec.namespace_selector.clone().try_into() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(template = %name, error = %e, "add-on template selector");
                ok = false;
                continue;
            }
        };
        for ns in namespaces.state() {
            let labels = ns.metadata.labels.clone().unwrap_or_default();
            if ns.metadata.deletion_timestamp.is_some() || !selector.matches(&labels) {
                continue;
            }
            let ns_name = ns.metadata.name.clone().unwrap_or_default();
            let owner = ns
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(OWNER_ANNOTATION))
                .cloned()
                .unwrap_or_default();
            match addons::render(&template, &ns_name, &owner) {
                Ok(objects) => desired.extend(objects),
                Err(e) => {
                    tracing::warn!(template = %name, error = %e, "add-on template");
                    ok = false;
                }
            }
        }
    }
    for object in &desired {
        let id = (
            text(object, "/apiVersion").to_owned(),
            text(object, "/kind").to_owned(),
        );
        if !kinds.contains(&id) {
            kinds.push(id);
        }
    }
    let desired = desired.into_iter().map(|o| family(o, "addons")).collect();
    let kind_refs: Vec<(&str, &str)> = kinds
        .iter()
        .map(|(a, k)| (a.as_str(), k.as_str()))
        .collect();
    let done = derived
        .converge((FAMILY_LABEL, "addons"), &kind_refs, desired)
        .await;
    for e in &done.errors {
        tracing::warn!(error = %e, "add-ons");
    }
    ok && done.errors.is_empty()
}

/// The object labelled as made by the fan-out controller `name`.
fn family(mut object: Value, name: &str) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert(FAMILY_LABEL.into(), json!(name));
        }
    }
    object
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}
