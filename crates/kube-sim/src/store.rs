//! In-memory object storage of the embedded API server: objects as serialized JSON, one global
//! resourceVersion counter, and the retained event log that watches read from.

use super::resources::{Registry, ResourceType};
use bytes::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name (ADDED, MODIFIED, DELETED).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone)]
pub struct LogEvent {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Storage key of the resource (`plural` or `plural.group`).
    pub key: Arc<str>,
    /// Namespace of the object ("" when cluster-scoped).
    pub namespace: String,
    /// What happened.
    pub etype: EventType,
    /// The object after the change (before removal for Deleted).
    pub object: Bytes,
    /// When it happened (events older than the history are compacted away).
    pub at: Instant,
}

/// Objects of one resource, ordered by namespace then name (the order lists return).
pub type Objects = BTreeMap<(String, String), Bytes>;

/// Everything behind the store's lock.
#[derive(Debug)]
pub struct Inner {
    /// Last issued resourceVersion.
    pub rv: u64,
    /// The served kinds (CRD writes change it in the same transaction).
    pub registry: Registry,
    objects: HashMap<Arc<str>, Objects>,
    /// The resourceVersion of each resource's last change.
    changed_at: HashMap<Arc<str>, u64>,
    log: VecDeque<LogEvent>,
    /// Watches from a resourceVersion below this get 410 Gone.
    floor: u64,
    window: usize,
    /// How long events are kept.
    history: Duration,
}

/// The store: a lock around [`Inner`] plus a notification of the latest resourceVersion.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

impl Store {
    /// An empty store that keeps the last `window` events of the last `history` for watches.
    pub fn new(window: usize, history: Duration) -> Self {
        let (changed, _) = watch::channel(1);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                registry: Registry::builtin(),
                objects: HashMap::new(),
                changed_at: HashMap::new(),
                log: VecDeque::new(),
                floor: 1,
                window: window.max(1),
                history,
            }),
            changed,
        }
    }

    /// Locks the store for reading.
    pub fn read(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the store locked and wakes watchers if anything was written.
    pub fn write<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let (out, before, after) = {
            let mut inner = self.read();
            let before = inner.rv;
            let out = f(&mut inner);
            (out, before, inner.rv)
        };
        if after != before {
            self.changed.send_replace(after);
        }
        out
    }

    /// A receiver that changes whenever a write lands.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Drops every retained event, so watches from older versions get 410 Gone (a test hook).
    pub fn compact(&self) {
        let mut inner = self.read();
        inner.floor = inner.rv;
        inner.log.clear();
    }

    /// Writes a snapshot of all objects to `path` (atomically, through a temporary file).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(1 << 16);
        {
            let inner = self.read();
            out.extend_from_slice(format!("{{\"rv\":{},\"objects\":[", inner.rv).as_bytes());
            let mut first = true;
            for (key, objects) in &inner.objects {
                for obj in objects.values() {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(
                        format!("[{},", serde_json::to_string(&**key)?).as_bytes(),
                    );
                    out.extend_from_slice(obj);
                    out.push(b']');
                }
            }
            out.extend_from_slice(b"]}");
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &out)?;
        std::fs::rename(&tmp, path)
    }

    /// Loads a snapshot written by [`Store::save`]; CRD kinds are registered again.
    pub fn load(&self, path: &Path) -> std::io::Result<()> {
        let data = std::fs::read(path)?;
        let snap: Value = serde_json::from_slice(&data)?;
        let mut inner = self.read();
        inner.rv = snap["rv"].as_u64().unwrap_or(1);
        inner.floor = inner.rv;
        for entry in snap["objects"].as_array().into_iter().flatten() {
            let (Some(key), Some(obj)) = (entry[0].as_str(), entry.get(1)) else {
                continue;
            };
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            if key == "customresourcedefinitions.apiextensions.k8s.io" {
                for rt in super::crd::types_of(obj) {
                    inner.registry.insert(rt);
                }
            }
            let bytes = Bytes::from(serde_json::to_vec(obj)?);
            let rv = inner.rv;
            inner.changed_at.insert(key.into(), rv);
            inner
                .objects
                .entry(key.into())
                .or_default()
                .insert((ns, name), bytes);
        }
        Ok(())
    }
}

impl Inner {
    /// Stored bytes of one object.
    pub fn get(&self, key: &str, ns: &str, name: &str) -> Option<&Bytes> {
        self.objects
            .get(key)?
            .get(&(ns.to_string(), name.to_string()))
    }

    /// One object, parsed.
    pub fn get_value(&self, key: &str, ns: &str, name: &str) -> Option<Value> {
        self.get(key, ns, name)
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    /// Objects of a resource, in one namespace or all of them.
    pub fn list(&self, key: &str, ns: Option<&str>) -> Vec<&Bytes> {
        let Some(objects) = self.objects.get(key) else {
            return vec![];
        };
        match ns {
            Some(ns) => objects
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, b)| b)
                .collect(),
            None => objects.values().collect(),
        }
    }

    /// Objects of a resource, parsed.
    pub fn list_values(&self, key: &str, ns: Option<&str>) -> Vec<Value> {
        self.list(key, ns)
            .into_iter()
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect()
    }

    /// Number of stored objects of a resource.
    pub fn count(&self, key: &str) -> usize {
        self.objects.get(key).map_or(0, |o| o.len())
    }

    /// Storage keys that hold objects.
    pub fn keys(&self) -> Vec<Arc<str>> {
        self.objects.keys().cloned().collect()
    }

    /// Stores `obj` with a new resourceVersion and records the event; returns the stored object.
    pub fn put(&mut self, key: &str, mut obj: Value) -> Value {
        self.rv += 1;
        let rv = self.rv;
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap_or_default());
        let key: Arc<str> = self
            .objects
            .get_key_value(key)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| key.into());
        let previous = self
            .objects
            .entry(key.clone())
            .or_default()
            .insert((ns.clone(), name), bytes.clone());
        let etype = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(LogEvent {
            rv,
            key,
            namespace: ns,
            etype,
            object: bytes.clone(),
            at: Instant::now(),
        });
        obj
    }

    /// Removes an object and records a DELETED event; returns its last state.
    pub fn remove(&mut self, key: &str, ns: &str, name: &str) -> Option<Value> {
        let (key, objects) = self.objects.get_key_value(key)?;
        let key = key.clone();
        objects.get(&(ns.to_string(), name.to_string()))?;
        let bytes = self
            .objects
            .get_mut(&key)?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        let mut obj: Value = serde_json::from_slice(&bytes).ok()?;
        obj["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let object = Bytes::from(serde_json::to_vec(&obj).unwrap_or_default());
        self.record(LogEvent {
            rv: self.rv,
            key,
            namespace: ns.to_string(),
            etype: EventType::Deleted,
            object,
            at: Instant::now(),
        });
        Some(obj)
    }

    /// Removes every object of a resource (a deleted CRD's kind) and records the deletions.
    pub fn drop_resource(&mut self, key: &str) {
        let names: Vec<(String, String)> = self
            .objects
            .get(key)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, name) in names {
            self.remove(key, &ns, &name);
        }
        self.objects.remove(key);
    }

    fn record(&mut self, event: LogEvent) {
        self.changed_at.insert(event.key.clone(), event.rv);
        self.log.push_back(event);
        let excess = self.log.len().saturating_sub(self.window);
        for _ in 0..excess.max(self.expired()) {
            if let Some(old) = self.log.pop_front() {
                self.floor = old.rv;
            }
        }
    }

    /// How many of the oldest events are older than the history (compacted, as etcd would).
    fn expired(&self) -> usize {
        let now = Instant::now();
        self.log
            .partition_point(|e| now.saturating_duration_since(e.at) > self.history)
    }

    /// The oldest resourceVersion a watch may start from: the last event dropped for the
    /// window's size, or the last one older than the history.
    fn floor(&self) -> u64 {
        let expired = self.expired();
        let aged = expired
            .checked_sub(1)
            .and_then(|i| self.log.get(i))
            .map_or(0, |e| e.rv);
        self.floor.max(aged)
    }

    /// The resourceVersion of the last change to any of `keys` since this server started (0: none).
    pub fn changed_at(&self, keys: &[&str]) -> u64 {
        keys.iter()
            .filter_map(|k| self.changed_at.get(*k))
            .copied()
            .max()
            .unwrap_or(0)
    }

    /// Events after `rv` for a resource; Err when `rv` is older than the retained window.
    pub fn events_since(&self, rv: u64, key: &str) -> Result<Vec<LogEvent>, u64> {
        let floor = self.floor();
        if rv < floor {
            return Err(floor);
        }
        let start = self.log.partition_point(|e| e.rv <= rv);
        Ok(self
            .log
            .range(start..)
            .filter(|e| &*e.key == key)
            .cloned()
            .collect())
    }

    /// Any events after `rv` for one of `keys` (used by the sim's controllers to decide to run).
    pub fn touched_since(&self, rv: u64, keys: &[&str]) -> bool {
        if rv < self.floor() {
            return true;
        }
        let start = self.log.partition_point(|e| e.rv <= rv);
        self.log.range(start..).any(|e| keys.contains(&&*e.key))
    }

    /// Whether any retained event after `rv` satisfies `pred` (true when `rv` fell out of the window).
    pub fn any_since(&self, rv: u64, pred: impl Fn(&LogEvent) -> bool) -> bool {
        if rv < self.floor() {
            return true;
        }
        let start = self.log.partition_point(|e| e.rv <= rv);
        self.log.range(start..).any(pred)
    }

    /// The registered type for a storage key, in its preferred version.
    pub fn type_of_key(&self, key: &str) -> Option<Arc<ResourceType>> {
        self.registry.by_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_get_list_remove_and_events() {
        let store = Store::new(10, Duration::from_secs(60));
        store.write(|s| {
            s.put(
                "configmaps",
                json!({"metadata": {"name": "a", "namespace": "x"}}),
            );
            s.put(
                "configmaps",
                json!({"metadata": {"name": "b", "namespace": "y"}}),
            );
            s.put(
                "configmaps",
                json!({"metadata": {"name": "a", "namespace": "x"}, "data": {}}),
            );
        });
        let s = store.read();
        assert_eq!(s.list("configmaps", Some("x")).len(), 1);
        assert_eq!(s.list("configmaps", None).len(), 2);
        let events = s.events_since(1, "configmaps").unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.etype).collect();
        assert_eq!(
            kinds,
            [EventType::Added, EventType::Added, EventType::Modified]
        );
        assert_eq!(
            s.get_value("configmaps", "x", "a").unwrap()["metadata"]["resourceVersion"],
            "4"
        );
    }

    #[test]
    fn old_versions_fall_out_of_the_window() {
        let store = Store::new(2, Duration::from_secs(60));
        store.write(|s| {
            for i in 0..5 {
                s.put(
                    "configmaps",
                    json!({"metadata": {"name": format!("c{i}"), "namespace": "x"}}),
                );
            }
        });
        let s = store.read();
        assert!(s.events_since(2, "configmaps").is_err());
        assert_eq!(s.events_since(4, "configmaps").unwrap().len(), 2);
    }

    #[test]
    fn old_versions_are_compacted_after_the_history() {
        let store = Store::new(100, Duration::from_millis(50));
        let put = |name: &str| {
            store.write(|s| {
                s.put(
                    "configmaps",
                    json!({"metadata": {"name": name, "namespace": "x"}}),
                );
                s.rv
            })
        };
        let first = put("a");
        assert!(store.read().events_since(first - 1, "configmaps").is_ok());
        std::thread::sleep(Duration::from_millis(80));
        let s = store.read();
        assert!(s.events_since(first - 1, "configmaps").is_err());
        assert!(s.events_since(first, "configmaps").unwrap().is_empty());
        drop(s);
        let second = put("b");
        let s = store.read();
        assert_eq!(s.events_since(first, "configmaps").unwrap().len(), 1);
        assert!(second > first);
    }
}
