//! A pod as JSON, as the admission webhooks edit it: kept as it came (every field a newer
//! Kubernetes may add survives), with the few edits they share.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The pod's labels.
pub fn labels(pod: &Value) -> BTreeMap<String, String> {
    pod.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `selector` picks a pod with `labels`: an empty selector, an unlabelled pod or a
/// selector that does not parse never does (a PodSetting must name the pods it changes).
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    if labels.is_empty() {
        return false;
    }
    match Selector::try_from(selector.clone()) {
        Ok(s) => !s.selects_all() && s.matches(labels),
        Err(_) => false,
    }
}

/// `metadata.<field>` (labels or annotations) with `pairs` set, those winning.
pub fn merge_map(pod: &mut Value, field: &str, pairs: &[(String, String)]) {
    let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let map = meta.entry(field).or_insert_with(|| json!({}));
    if !map.is_object() {
        *map = json!({});
    }
    if let Some(map) = map.as_object_mut() {
        for (k, v) in pairs {
            map.insert(k.clone(), json!(v));
        }
    }
}

/// Items (env vars, volumes, mounts) as JSON.
pub fn named_items<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

/// The list `object[field]` with each of `items` replacing the entry of the same `key` or
/// appended.
pub fn merge_named(object: &mut Map<String, Value>, field: &str, items: &[Value], key: &str) {
    let list = object.entry(field).or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    let Some(list) = list.as_array_mut() else {
        return;
    };
    for item in items {
        let name = item.get(key);
        match list.iter_mut().find(|e| e.get(key) == name) {
            Some(slot) => *slot = item.clone(),
            None => list.push(item.clone()),
        }
    }
}

/// The JSONPatch turning `before` into `after` (empty when they are equal).
pub fn patch(before: &Value, after: &Value) -> json_patch::Patch {
    json_patch::diff(before, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_based_selectors_match_like_kubernetes() {
        let sel: LabelSelector = serde_json::from_value(json!({
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["gpu", "cpu"]}]
        }))
        .unwrap();
        let labels = BTreeMap::from([("tier".to_owned(), "gpu".to_owned())]);
        assert!(selects(&sel, &labels));
        let other = BTreeMap::from([("tier".to_owned(), "tpu".to_owned())]);
        assert!(!selects(&sel, &other));
    }

    #[test]
    fn a_patch_reproduces_the_edit() {
        let before = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        let mut after = before.clone();
        after["spec"]["containers"][0]["image"] = json!("x");
        let ops = patch(&before, &after);
        let mut applied = before.clone();
        json_patch::patch(&mut applied, &ops).unwrap();
        assert_eq!(applied, after);
    }
}
