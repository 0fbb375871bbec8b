//! Namespace finalization and ownerReference garbage collection (background and foreground).
//! Runs inside the sim's control loop whenever something was deleted or started deleting.

use super::Memory;
use crate::cluster::Cluster;
use crate::object;
use crate::store::Inner;
use crate::write;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a namespace stays Terminating before its contents go (as the real namespace
/// controller takes a moment), so `kubectl delete -f` of a namespace and its contents works.
const NAMESPACE_GRACE: Duration = Duration::from_millis(1000);

/// Gives every active namespace its `default` ServiceAccount and `kube-root-ca.crt` ConfigMap:
/// only the namespaces changed since `since` when given (a pass costs what changed, not what
/// exists), else all of them.
pub fn namespace_defaults(c: &Cluster, since: Option<u64>) {
    let ca = c.ca_pem.lock().map(|p| p.clone()).unwrap_or_default();
    c.store.write(|s| {
        let (Some(sa), Some(cm)) = (s.type_of_key("serviceaccounts"), s.type_of_key("configmaps")) else {
            return;
        };
        let changed = since.and_then(|rv| s.events_since(rv, "namespaces").ok());
        let namespaces: Vec<Value> = match changed {
            Some(events) => events
                .iter()
                .filter(|e| e.etype != crate::store::EventType::Deleted)
                .filter_map(|e| serde_json::from_slice(&e.object).ok())
                .collect(),
            None => s.list_values("namespaces", None),
        };
        for ns in namespaces {
            if object::is_deleting(&ns) {
                continue;
            }
            let name = object::name(&ns).to_string();
            let meta = |n: &str| {
                json!({"name": n, "namespace": name, "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": object::now()})
            };
            if s.get("serviceaccounts", &name, "default").is_none() {
                let obj = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("default")});
                write::store(s, &sa, obj);
            }
            if s.get("configmaps", &name, "kube-root-ca.crt").is_none() {
                let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("kube-root-ca.crt"),
                    "data": {"ca.crt": ca}});
                write::store(s, &cm, obj);
            }
        }
    });
}

/// How soon a namespace that still has contents is looked at again (the namespace controller
/// requeues until it is empty, whatever else happens meanwhile).
const NAMESPACE_RETRY: Duration = Duration::from_millis(500);

/// Empties terminating namespaces and removes them once nothing is left.
pub fn namespaces(c: &Cluster, memory: &mut Memory) {
    let now = Instant::now();
    c.store.write(|s| {
        let terminating: Vec<Value> = s
            .list_values("namespaces", None)
            .into_iter()
            .filter(object::is_deleting)
            .collect();
        for ns in terminating {
            let name = object::name(&ns).to_string();
            let since = *memory
                .since
                .entry(object::uid(&ns).to_string())
                .or_insert(now);
            if now < since + NAMESPACE_GRACE {
                memory.due(since + NAMESPACE_GRACE);
                continue;
            }
            let mut left = 0;
            for key in s.keys() {
                let Some(rt) = s.type_of_key(&key) else {
                    continue;
                };
                if !rt.namespaced {
                    continue;
                }
                for obj in s.list_values(&key, Some(&name)) {
                    left += 1;
                    delete_one(s, &key, obj);
                }
            }
            if left > 0 {
                memory.due(now + NAMESPACE_RETRY);
            } else if let Some(rt) = s.type_of_key("namespaces") {
                write::remove(s, &rt, "", &name);
                memory.since.remove(object::uid(&ns));
            }
        }
    });
}

/// Deletes one object as a background delete would: at once, or marked when it has finalizers.
fn delete_one(s: &mut Inner, key: &str, mut obj: Value) {
    let Some(rt) = s.type_of_key(key) else { return };
    let (ns, name) = (
        object::namespace(&obj).to_string(),
        object::name(&obj).to_string(),
    );
    if object::finalizers(&obj).is_empty() {
        write::remove(s, &rt, &ns, &name);
    } else if !object::is_deleting(&obj) {
        obj["metadata"]["deletionTimestamp"] = json!(object::now());
        write::store(s, &rt, obj);
    }
}

/// Deletes dependents whose owners are gone (or being deleted in the foreground) and
/// releases foreground deletions whose dependents are gone.
pub fn collect(c: &Cluster) {
    c.store.write(|s| {
        let mut uids: HashMap<String, bool> = HashMap::new();
        let mut all: Vec<(String, Value)> = Vec::new();
        for key in s.keys() {
            for obj in s.list_values(&key, None) {
                let foreground = object::is_deleting(&obj)
                    && object::finalizers(&obj)
                        .iter()
                        .any(|f| f == "foregroundDeletion");
                uids.insert(object::uid(&obj).to_string(), foreground);
                all.push((key.to_string(), obj));
            }
        }
        let mut owners_with_dependents: HashSet<String> = HashSet::new();
        for (key, obj) in &all {
            let owners = object::owner_uids(obj);
            if owners.is_empty() {
                continue;
            }
            for o in &owners {
                owners_with_dependents.insert(o.clone());
            }
            let alive = owners.iter().any(|o| uids.get(o) == Some(&false));
            if !alive {
                delete_one(s, key, obj.clone());
            }
        }
        for (key, obj) in all {
            let foreground = uids.get(object::uid(&obj)) == Some(&true);
            if foreground && !owners_with_dependents.contains(object::uid(&obj)) {
                let Some(rt) = s.type_of_key(&key) else {
                    continue;
                };
                let Some(mut current) =
                    s.get_value(&key, object::namespace(&obj), object::name(&obj))
                else {
                    continue;
                };
                let rest: Vec<String> = object::finalizers(&current)
                    .into_iter()
                    .filter(|f| f != "foregroundDeletion")
                    .collect();
                let (ns, name) = (
                    object::namespace(&current).to_string(),
                    object::name(&current).to_string(),
                );
                if rest.is_empty() {
                    write::remove(s, &rt, &ns, &name);
                } else {
                    current["metadata"]["finalizers"] = json!(rest);
                    write::store(s, &rt, current);
                }
            }
        }
    });
}
