//! Namespace finalization and ownerReference garbage collection (background and foreground).
//! Runs inside the sim's control loop whenever something was deleted or started deleting.

use crate::sim::cluster::Cluster;
use crate::sim::object;
use crate::sim::store::Inner;
use crate::sim::write;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Empties terminating namespaces and removes them once nothing is left.
pub fn namespaces(c: &Cluster) {
    c.store.write(|s| {
        let terminating: Vec<Value> = s
            .list_values("namespaces", None)
            .into_iter()
            .filter(object::is_deleting)
            .collect();
        for ns in terminating {
            let name = object::name(&ns).to_string();
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
            if left == 0
                && let Some(rt) = s.type_of_key("namespaces")
            {
                write::remove(s, &rt, "", &name);
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
