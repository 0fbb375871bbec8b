//! What the controllers derived, as the cluster has it, and the one routine that converges it.
//!
//! Each kind the controllers write gets one watch (label `app.kubernetes.io/managed-by=orbdeck`)
//! feeding a slim cache: per object only the applied-hash annotation, the `orbdeck.io/*` labels,
//! whether it is being deleted, whether someone else changed it after us (from `managedFields`),
//! and for ResourceQuotas the hard/used figures. Converging compares desired objects with that
//! cache, so a steady state costs no API request at all, and a cache of 200k objects stays small.

use crate::apply::{api_error, apply_unread, hashed, stage};
use crate::wellknown::HASH_ANNOTATION;
use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::controllers::{MANAGED_BY_LABEL, MANAGER, str_at};

/// Field manager of everything the controllers apply (the engine's desired state uses `orbdeck`).
pub const CONTROLLER_MANAGER: &str = "orbdeck-controllers";

/// How long a kind the cluster does not serve is remembered as missing before asking again.
const MISSING_TTL: Duration = Duration::from_secs(30);

/// How long to wait for a kind's first list before giving up on this attempt.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes (applies or deletes) one convergence has in flight at once.
const IN_FLIGHT: usize = 8;

/// A cached name, namespace, label key or label value: one shared allocation per distinct
/// string across every kind's cache (a Profile's name is its children's namespace and label).
pub type Name = Arc<str>;

/// (namespace, name) of a cached object.
pub type Key = (Option<Name>, Name);

/// A key from borrowed strings.
pub fn key(namespace: Option<&str>, name: &str) -> Key {
    (namespace.map(Name::from), Name::from(name))
}

/// The `orbdeck.io/*` labels of a cached object, sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Box<[(Name, Name)]>);

impl Labels {
    /// The value of label `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// Every (key, value), sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Name)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(Name, Name)> for Labels {
    fn from_iter<I: IntoIterator<Item = (Name, Name)>>(labels: I) -> Labels {
        let mut labels: Vec<(Name, Name)> = labels.into_iter().collect();
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        Labels(labels.into())
    }
}

/// What the cache keeps of one derived object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Slim {
    /// The [`HASH_ANNOTATION`] it carries.
    pub hash: Option<Box<str>>,
    /// Its `orbdeck.io/*` labels.
    pub labels: Labels,
    /// It has a deletionTimestamp.
    pub deleting: bool,
    /// Another field manager wrote it after the controllers last did.
    pub drifted: bool,
    /// A ResourceQuota's `status.hard` and `status.used`.
    pub quota: Option<Box<QuotaFigures>>,
}

/// A ResourceQuota's figures as the API server reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaFigures {
    /// status.hard.
    pub hard: BTreeMap<String, String>,
    /// status.used.
    pub used: BTreeMap<String, String>,
}

/// A change seen by a cache: the kind and the object's labels, so owners can be told.
#[derive(Clone, Debug)]
pub struct Change {
    /// `apiVersion/kind` of the object.
    pub kind: String,
    /// Its `orbdeck.io/*` labels.
    pub labels: Labels,
}

/// The slim cache of one kind.
pub struct KindCache {
    /// The kind's resource.
    pub resource: ApiResource,
    /// Whether objects of the kind live in namespaces.
    pub namespaced: bool,
    entries: RwLock<Entries>,
    ready: watch::Receiver<bool>,
}

/// The cached objects of one kind, indexed by each of their `orbdeck.io/*` labels (key, then
/// value) so a converge scope (one Profile's children) is found without scanning the kind.
#[derive(Default)]
struct Entries {
    objects: HashMap<Key, Slim>,
    by_label: HashMap<Name, HashMap<Name, HashSet<Key>>>,
}

impl Entries {
    fn insert(&mut self, key: Key, slim: Slim) {
        self.remove(&key);
        for (k, v) in slim.labels.iter() {
            self.by_label
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .insert(key.clone());
        }
        self.objects.insert(key, slim);
    }

    fn remove(&mut self, key: &Key) -> Option<Slim> {
        let old = self.objects.remove(key)?;
        for (k, v) in old.labels.iter() {
            let Some(values) = self.by_label.get_mut(k) else {
                continue;
            };
            if let Some(keys) = values.get_mut(v) {
                keys.remove(key);
                if keys.is_empty() {
                    values.remove(v);
                }
            }
            if values.is_empty() {
                self.by_label.remove(k);
            }
        }
        Some(old)
    }

    fn labelled(&self, key: &str, value: &str) -> Vec<(Key, Slim)> {
        self.by_label
            .get(key)
            .and_then(|values| values.get(value))
            .into_iter()
            .flatten()
            .filter_map(|k| Some((k.clone(), self.objects.get(k)?.clone())))
            .collect()
    }
}

/// The one copy of every string the caches hold; strings no cache holds any more are dropped
/// whenever the table has doubled since the last sweep.
#[derive(Default)]
struct Interner {
    names: HashSet<Name>,
    swept_at: usize,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Name {
        if let Some(name) = self.names.get(s) {
            return name.clone();
        }
        if self.names.len() >= 2 * self.swept_at.max(1024) {
            self.names.retain(|n| Arc::strong_count(n) > 1);
            self.swept_at = self.names.len();
        }
        let name = Name::from(s);
        self.names.insert(name.clone());
        name
    }
}

impl KindCache {
    /// The cached state of one object.
    pub fn get(&self, key: &Key) -> Option<Slim> {
        read(&self.entries).objects.get(key).cloned()
    }

    /// Every cached object with label `key=value`.
    pub fn labelled(&self, key: &str, value: &str) -> Vec<(Key, Slim)> {
        read(&self.entries).labelled(key, value)
    }

    /// The values label `key` has among the cached objects.
    pub fn label_values(&self, key: &str) -> Vec<Name> {
        read(&self.entries)
            .by_label
            .get(key)
            .map(|values| values.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of cached objects.
    pub fn len(&self) -> usize {
        read(&self.entries).objects.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one convergence did.
#[derive(Debug, Default)]
pub struct Converged {
    /// API writes made (applies and deletes).
    pub writes: u32,
    /// Objects that could not be written, each naming the object and the API's reason.
    pub errors: Vec<String>,
}

/// The slim caches of every kind the controllers write, started on first use.
pub struct Derived {
    client: kube::Client,
    kinds: tokio::sync::Mutex<HashMap<String, Arc<KindCache>>>,
    missing: Mutex<HashMap<String, Instant>>,
    names: Arc<Mutex<Interner>>,
    changes: broadcast::Sender<Change>,
    shutdown: CancellationToken,
    /// Where self-heals are told (a Normal Event on the object put back).
    events: super::events::Recorder,
}

impl Derived {
    /// Caches on `client`'s cluster; their watches end with `shutdown`.
    pub fn new(client: kube::Client, shutdown: CancellationToken) -> Arc<Derived> {
        Arc::new(Derived {
            events: super::events::Recorder::new(client.clone()),
            client,
            kinds: tokio::sync::Mutex::new(HashMap::new()),
            missing: Mutex::new(HashMap::new()),
            names: Arc::default(),
            changes: broadcast::channel(1024).0,
            shutdown,
        })
    }

    /// The client the caches watch with.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Changes seen by every cache (deletions and others' edits of derived objects).
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Whether the cluster serves a kind (remembered for a while when it does not).
    pub async fn serves(&self, api_version: &str, kind: &str) -> bool {
        self.kind(api_version, kind).await.is_ok()
    }

    /// The cache of a kind, started and filled on first use.
    pub async fn kind(&self, api_version: &str, kind: &str) -> Result<Arc<KindCache>, String> {
        let id = format!("{api_version}/{kind}");
        let cache = {
            let mut kinds = self.kinds.lock().await;
            match kinds.get(&id) {
                Some(c) => c.clone(),
                None => {
                    if lock(&self.missing)
                        .get(&id)
                        .is_some_and(|t| t.elapsed() < MISSING_TTL)
                    {
                        return Err(format!("{api_version} {kind}: not served by the cluster"));
                    }
                    let (group, version) =
                        api_version.rsplit_once('/').unwrap_or(("", api_version));
                    let gvk = GroupVersionKind::gvk(group, version, kind);
                    let (resource, caps) =
                        match kube::discovery::pinned_kind(&self.client, &gvk).await {
                            Ok(found) => found,
                            Err(e) => {
                                if matches!(&e, kube::Error::Discovery(_))
                                    || matches!(&e, kube::Error::Api(s) if s.code == 404)
                                {
                                    lock(&self.missing).insert(id.clone(), Instant::now());
                                }
                                return Err(format!("{api_version} {kind}: {e}"));
                            }
                        };
                    let cache = self.start(id.clone(), resource, caps.scope == Scope::Namespaced);
                    kinds.insert(id, cache.clone());
                    cache
                }
            }
        };
        let mut ready = cache.ready.clone();
        match tokio::time::timeout(READY_TIMEOUT, ready.wait_for(|r| *r)).await {
            Ok(Ok(_)) => Ok(cache),
            _ => Err(format!(
                "{api_version} {kind}: the watch has not listed the kind yet"
            )),
        }
    }

    /// Starts the watch feeding one kind's cache.
    fn start(&self, id: String, resource: ApiResource, namespaced: bool) -> Arc<KindCache> {
        let (ready_tx, ready) = watch::channel(false);
        let cache = Arc::new(KindCache {
            resource: resource.clone(),
            namespaced,
            entries: RwLock::new(Entries::default()),
            ready,
        });
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let config = watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGER}"));
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        let weak = Arc::downgrade(&cache);
        let changes = self.changes.clone();
        let shutdown = self.shutdown.clone();
        let names = self.names.clone();
        tokio::spawn(async move {
            let mut initial: Option<Entries> = None;
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    e = stream.next() => e,
                };
                let Some(event) = event else { return };
                let Some(cache) = weak.upgrade() else { return };
                match event {
                    Ok(Event::Init) => initial = Some(Entries::default()),
                    Ok(Event::InitApply(o)) => {
                        if let Some(buffer) = initial.as_mut() {
                            let (key, slim) = slim(&o, &mut lock(&names));
                            buffer.insert(key, slim);
                        }
                    }
                    Ok(Event::InitDone) => {
                        if let Some(buffer) = initial.take() {
                            let mut entries = write(&cache.entries);
                            for (key, old) in entries.objects.iter() {
                                if !buffer.objects.contains_key(key) {
                                    let _ = changes.send(Change {
                                        kind: id.clone(),
                                        labels: old.labels.clone(),
                                    });
                                }
                            }
                            *entries = buffer;
                        }
                        ready_tx.send_replace(true);
                    }
                    Ok(Event::Apply(o)) => {
                        let (key, s) = slim(&o, &mut lock(&names));
                        if s.drifted {
                            let _ = changes.send(Change {
                                kind: id.clone(),
                                labels: s.labels.clone(),
                            });
                        }
                        write(&cache.entries).insert(key, s);
                    }
                    Ok(Event::Delete(o)) => {
                        let removed = write(&cache.entries).remove(&key_of(&o));
                        if let Some(old) = removed {
                            let _ = changes.send(Change {
                                kind: id.clone(),
                                labels: old.labels,
                            });
                        }
                    }
                    Err(e) => tracing::debug!(kind = %id, error = %e, "derived watch"),
                }
            }
        });
        cache
    }

    /// Makes the objects labelled `selector` be exactly `desired`: applies each one whose cached
    /// state does not hold its hash (or that someone else changed since), and deletes those of
    /// the kinds in `kinds` (and in `desired`) that carry the label but are no longer desired.
    /// Up to [`IN_FLIGHT`] writes run at once, stage by stage ([`stage`]: Namespaces and other
    /// cluster-scoped kinds before what lives in namespaces); errors come in `desired` order.
    pub async fn converge(
        &self,
        selector: (&str, &str),
        kinds: &[(&str, &str)],
        desired: Vec<Value>,
    ) -> Converged {
        let mut out = Converged::default();
        // (position in `desired`, message), sorted by position at the end.
        let mut errors: Vec<(usize, String)> = Vec::new();
        let mut wanted: BTreeSet<(String, Key)> = BTreeSet::new();
        let mut all_kinds: BTreeSet<(String, String)> = kinds
            .iter()
            .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
            .collect();
        let mut writes: Vec<Write> = Vec::new();
        for (at, object) in desired.into_iter().enumerate() {
            let api_version = str_at(&object, "/apiVersion");
            let kind = str_at(&object, "/kind");
            let name = str_at(&object, "/metadata/name");
            all_kinds.insert((api_version.clone(), kind.clone()));
            let cache = match self.kind(&api_version, &kind).await {
                Ok(c) => c,
                Err(e) => {
                    errors.push((at, format!("{kind} {name}: {e}")));
                    continue;
                }
            };
            let namespace = cache
                .namespaced
                .then(|| str_at(&object, "/metadata/namespace"));
            let key = key(namespace.as_deref(), &name);
            wanted.insert((format!("{api_version}/{kind}"), key.clone()));
            let object = hashed(object);
            let hash = object
                .pointer(&format!(
                    "/metadata/annotations/{}",
                    HASH_ANNOTATION.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let hash = hash.as_deref();
            let cached = cache.get(&key);
            if let Some(live) = &cached
                && (live.deleting || (live.hash.as_deref() == hash && !live.drifted))
            {
                continue;
            }
            // Same desired state as last applied, yet changed since: this write is a self-heal.
            let healing = cached
                .as_ref()
                .is_some_and(|live| live.hash.as_deref() == hash && live.drifted);
            let object = match serde_json::from_value::<DynamicObject>(object) {
                Ok(o) => o,
                Err(e) => {
                    errors.push((at, format!("{kind} {}: {e}", show(&key))));
                    continue;
                }
            };
            writes.push(Write {
                at,
                stage: stage(&api_version, &kind, cache.namespaced),
                api: self.api(&cache, namespace.as_deref()),
                api_version,
                kind,
                name,
                key,
                healing,
                object,
            });
        }
        writes.sort_by_key(|w| (w.stage, w.at));
        for group in writes.chunk_by(|a, b| a.stage == b.stage) {
            let applies: Vec<_> = group
                .iter()
                .map(|w| async move { (w.at, self.write(w).await) })
                .collect();
            let results: Vec<(usize, Result<(), String>)> = futures::stream::iter(applies)
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            for (at, result) in results {
                match result {
                    Ok(()) => out.writes += 1,
                    Err(e) => errors.push((at, e)),
                }
            }
        }
        let mut deletes = Vec::new();
        for (api_version, kind) in all_kinds {
            let Ok(cache) = self.kind(&api_version, &kind).await else {
                continue;
            };
            let id = format!("{api_version}/{kind}");
            for (key, slim) in cache.labelled(selector.0, selector.1) {
                if slim.deleting || wanted.contains(&(id.clone(), key.clone())) {
                    continue;
                }
                deletes.push((self.api(&cache, key.0.as_deref()), kind.clone(), key));
            }
        }
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        let params = &params;
        let results: Vec<Result<bool, String>> = futures::stream::iter(deletes)
            .map(|(api, kind, key)| async move {
                match api.delete(&key.1, params).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
                    Err(e) => Err(format!("delete {kind} {}: {}", show(&key), api_error(&e))),
                }
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        errors.sort_by_key(|(at, _)| *at);
        out.errors = errors.into_iter().map(|(_, e)| e).collect();
        for result in results {
            match result {
                Ok(deleted) => out.writes += u32::from(deleted),
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    /// Server-side applies one object (a Normal Event when it was a self-heal).
    async fn write(&self, w: &Write) -> Result<(), String> {
        let params = PatchParams::apply(CONTROLLER_MANAGER).force();
        apply_unread(&w.api, None, &w.name, &params, &w.object)
            .await
            .map_err(|e| format!("{} {}: {}", w.kind, show(&w.key), api_error(&e)))?;
        if w.healing {
            let object = k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some(w.api_version.clone()),
                kind: Some(w.kind.clone()),
                namespace: w.key.0.as_deref().map(str::to_owned),
                name: Some(w.name.clone()),
                ..Default::default()
            };
            self.events.healed(&object, CONTROLLER_MANAGER).await;
        }
        Ok(())
    }

    /// The API of a cached kind in a namespace.
    fn api(&self, cache: &KindCache, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) if cache.namespaced => {
                Api::namespaced_with(self.client.clone(), ns, &cache.resource)
            }
            _ => Api::all_with(self.client.clone(), &cache.resource),
        }
    }
}

/// One apply a convergence makes: the object (labelled and hashed) and where it goes.
struct Write {
    /// Position in the desired objects (errors are reported in that order).
    at: usize,
    /// Apply order ([`stage`]).
    stage: u8,
    api: Api<DynamicObject>,
    api_version: String,
    kind: String,
    name: String,
    key: Key,
    healing: bool,
    object: DynamicObject,
}

/// `namespace/name` or `name`.
fn show(key: &Key) -> String {
    match &key.0 {
        Some(ns) => format!("{ns}/{}", key.1),
        None => key.1.to_string(),
    }
}

fn key_of(o: &DynamicObject) -> Key {
    key(
        o.metadata.namespace.as_deref(),
        o.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// The key and slim state of a watched object, its strings interned in `names`.
fn slim(o: &DynamicObject, names: &mut Interner) -> (Key, Slim) {
    let meta = &o.metadata;
    let key = (
        meta.namespace.as_deref().map(|ns| names.intern(ns)),
        names.intern(meta.name.as_deref().unwrap_or_default()),
    );
    let labels = meta
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("orbdeck.io/"))
        .map(|(k, v)| (names.intern(k), names.intern(v)))
        .collect();
    let hash = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(HASH_ANNOTATION))
        .map(|h| h.as_str().into());
    let quota = o.data.get("status").and_then(|status| {
        let figures = |field: &str| -> BTreeMap<String, String> {
            status
                .get(field)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let f = QuotaFigures {
            hard: figures("hard"),
            used: figures("used"),
        };
        (o.types.as_ref().is_some_and(|t| t.kind == "ResourceQuota")).then(|| Box::new(f))
    });
    let slim = Slim {
        hash,
        labels,
        deleting: meta.deletion_timestamp.is_some(),
        drifted: drifted(meta.managed_fields.as_deref().unwrap_or_default()),
        quota,
    };
    (key, slim)
}

/// Whether another manager wrote the object's fields (not its status) after the controllers.
fn drifted(fields: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry]) -> bool {
    let time = |e: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry| {
        e.time.as_ref().map(|t| t.0)
    };
    let ours = fields
        .iter()
        .filter(|e| e.manager.as_deref() == Some(CONTROLLER_MANAGER))
        .filter_map(time)
        .max();
    let Some(ours) = ours else {
        return false;
    };
    fields.iter().any(|e| {
        e.manager.as_deref() != Some(CONTROLLER_MANAGER)
            && e.subresource.as_deref().unwrap_or_default().is_empty()
            && time(e).is_some_and(|t| t > ours)
    })
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slim(labels: &[(&str, &str)]) -> Slim {
        Slim {
            labels: labels
                .iter()
                .map(|(k, v)| (Name::from(*k), Name::from(*v)))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_scope_is_found_through_its_label_index_and_follows_relabels_and_deletes() {
        let mut entries = Entries::default();
        let key = |n: &str| key(Some("alice"), n);
        entries.insert(key("a"), slim(&[("orbdeck.io/profile", "alice")]));
        entries.insert(key("b"), slim(&[("orbdeck.io/profile", "alice")]));
        entries.insert(key("c"), slim(&[("orbdeck.io/profile", "bob")]));
        let names = |e: &Entries, v: &str| {
            let mut n: Vec<String> = e
                .labelled("orbdeck.io/profile", v)
                .into_iter()
                .map(|(k, _)| k.1.to_string())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(&entries, "alice"), ["a", "b"]);
        entries.insert(key("b"), slim(&[("orbdeck.io/profile", "bob")]));
        assert_eq!(names(&entries, "alice"), ["a"]);
        assert_eq!(names(&entries, "bob"), ["b", "c"]);
        entries.remove(&key("a"));
        assert!(names(&entries, "alice").is_empty());
        assert!(!entries.by_label["orbdeck.io/profile"].contains_key("alice"));
        entries.remove(&key("b"));
        entries.remove(&key("c"));
        assert!(entries.by_label.is_empty());
    }
}
