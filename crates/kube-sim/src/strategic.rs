//! Kubernetes strategic merge patch on `serde_json` values, as sent by
//! `kubectl patch --type strategic`, client-side `kubectl apply` and `kubectl edit`.
#![deny(clippy::indexing_slicing)]

use serde_json::{Map, Value};

type Obj = Map<String, Value>;

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// Patch merge key of the list field at `path` (field names from the root, no indices); `""` means a set of primitives.
pub fn merge_key_for(path: &[&str]) -> Option<&'static str> {
    let (last, parent) = match path {
        [] => return None,
        [only] => (*only, ""),
        [.., parent, last] => (*last, *parent),
    };
    let in_container = matches!(
        parent,
        "containers" | "initContainers" | "ephemeralContainers"
    );
    Some(match (parent, last) {
        (_, "containers" | "initContainers" | "ephemeralContainers") => "name",
        (_, "env") if in_container => "name",
        (_, "ports") if in_container => "containerPort",
        (_, "volumeMounts") if in_container => "mountPath",
        (_, "volumeDevices") if in_container => "devicePath",
        ("spec", "ports") if path.len() == 2 => "port",
        ("spec", "taints") if path.len() == 2 => "key",
        ("spec", "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates") => "name",
        ("spec", "tolerations") => "key",
        ("spec", "hostAliases") => "ip",
        ("spec", "topologySpreadConstraints") => "topologyKey",
        ("spec", "readinessGates") => "conditionType",
        ("status", "addresses") => "type",
        (_, "conditions") => "type",
        ("metadata", "ownerReferences") => "uid",
        ("metadata", "finalizers") => "",
        ("", "secrets") => "name",
        _ => return None,
    })
}

/// Applies a strategic merge `patch` to `original` and returns the patched object.
pub fn strategic_merge(original: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Object(patch) = patch else {
        return Err("strategic merge patch must be a JSON object".into());
    };
    let empty = Obj::new();
    let original = original.as_object().unwrap_or(&empty);
    Ok(Value::Object(
        merge_map(original, patch, &mut Vec::new())?.unwrap_or_default(),
    ))
}

fn key_of(path: &[String]) -> Option<&'static str> {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    merge_key_for(&names)
}

/// Merges a patch map into an original map; `None` means the map is deleted.
fn merge_map(orig: &Obj, patch: &Obj, path: &mut Vec<String>) -> Result<Option<Obj>, String> {
    let mut out = orig.clone();
    match patch.get(PATCH) {
        None => {}
        Some(Value::String(s)) if s == "merge" => {}
        Some(Value::String(s)) if s == "replace" => out.clear(),
        Some(Value::String(s)) if s == "delete" => return Ok(None),
        Some(v) => {
            return Err(format!(
                "unknown $patch directive value {v} (expected replace, delete or merge)"
            ));
        }
    }
    let mut fields: Vec<&str> = Vec::new();
    for k in patch.keys().filter(|k| *k != PATCH && *k != RETAIN_KEYS) {
        let field = k
            .strip_prefix(SET_ORDER)
            .or_else(|| k.strip_prefix(DELETE_PRIMITIVE))
            .unwrap_or(k);
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    for field in fields {
        path.push(field.to_string());
        let result = merge_field(&mut out, field, patch, path);
        path.pop();
        result?;
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let keys = retain
            .as_array()
            .filter(|a| a.iter().all(Value::is_string))
            .ok_or_else(|| format!("$retainKeys must be a list of strings, got {retain}"))?;
        out.retain(|k, _| keys.iter().any(|x| x == k));
    }
    Ok(Some(out))
}

/// Applies the patch entries (value and directives) that concern one field.
fn merge_field(
    out: &mut Obj,
    field: &str,
    patch: &Obj,
    path: &mut Vec<String>,
) -> Result<(), String> {
    let delete_key = format!("{DELETE_PRIMITIVE}{field}");
    if let Some(del) = patch.get(&delete_key) {
        let del = del
            .as_array()
            .ok_or_else(|| format!("{delete_key} must be a list, got {del}"))?;
        if let Some(Value::Array(items)) = out.get_mut(field) {
            items.retain(|v| !del.contains(v));
        }
    }
    match patch.get(field) {
        None => {}
        Some(Value::Null) => {
            out.shift_remove(field);
        }
        Some(pv) => match merge_value(out.get(field), pv, path)? {
            Some(v) => {
                out.insert(field.to_string(), v);
            }
            None => {
                out.shift_remove(field);
            }
        },
    }
    let order_key = format!("{SET_ORDER}{field}");
    if let Some(order) = patch.get(&order_key) {
        let order = order
            .as_array()
            .ok_or_else(|| format!("{order_key} must be a list, got {order}"))?;
        if let Some(Value::Array(items)) = out.get_mut(field) {
            apply_order(items, order, key_of(path));
        }
    }
    Ok(())
}

/// Merges one patch value into an optional original value; `None` means delete.
fn merge_value(
    orig: Option<&Value>,
    patch: &Value,
    path: &mut Vec<String>,
) -> Result<Option<Value>, String> {
    match patch {
        Value::Object(pm) => {
            let empty = Obj::new();
            let om = orig.and_then(Value::as_object).unwrap_or(&empty);
            Ok(merge_map(om, pm, path)?.map(Value::Object))
        }
        Value::Array(pl) => {
            let ol = orig
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            Ok(Some(Value::Array(merge_list(ol, pl, path)?)))
        }
        other => Ok(Some(other.clone())),
    }
}

fn merge_list(
    orig: &[Value],
    patch: &[Value],
    path: &mut Vec<String>,
) -> Result<Vec<Value>, String> {
    let key = key_of(path);
    let directive = |e: &Value| e.as_object().and_then(|m| m.get(PATCH)).cloned();
    let replace = patch
        .iter()
        .any(|e| directive(e).is_some_and(|d| d == "replace"));
    let mut items = if replace || key.is_none() {
        Vec::new()
    } else {
        orig.to_vec()
    };
    for e in patch {
        match directive(e) {
            None => {}
            Some(Value::String(s))
                if s == "replace" && e.as_object().is_some_and(|m| m.len() == 1) =>
            {
                continue;
            }
            Some(Value::String(s)) if s == "merge" || s == "replace" => {}
            Some(Value::String(s)) if s == "delete" => {
                let found = key
                    .filter(|k| !k.is_empty())
                    .and_then(|k| e.get(k).map(|v| (k, v)));
                let Some((k, v)) = found else {
                    return Err(format!(
                        "$patch: delete in list {} needs an element with the list's merge key",
                        path.join(".")
                    ));
                };
                items.retain(|x| x.get(k) != Some(v));
                continue;
            }
            Some(v) => {
                return Err(format!(
                    "unknown $patch directive value {v} in list {} (expected replace, delete or merge)",
                    path.join(".")
                ));
            }
        }
        match key {
            Some(k) if !replace && !k.is_empty() && e.is_object() => {
                let kv = e.get(k).ok_or_else(|| {
                    format!(
                        "map in list {} does not contain declared merge key: {k}",
                        path.join(".")
                    )
                })?;
                match items.iter_mut().find(|x| x.get(k) == Some(kv)) {
                    Some(item) => {
                        if let Some(merged) = merge_value(Some(item), e, path)? {
                            *item = merged;
                        }
                    }
                    None => items.extend(merge_value(None, e, path)?),
                }
            }
            Some(_) if !replace => {
                if !items.contains(e) {
                    items.extend(merge_value(None, e, path)?);
                }
            }
            _ => items.extend(merge_value(None, e, path)?),
        }
    }
    Ok(items)
}

/// The identity of a list element for ordering: its merge key value, or itself.
fn ident<'a>(v: &'a Value, key: Option<&str>) -> &'a Value {
    match (key, v) {
        (Some(k), Value::Object(m)) if !k.is_empty() => m.get(k).unwrap_or(v),
        _ => v,
    }
}

/// Reorders the elements named in `order`, keeping unnamed elements in their slots.
fn apply_order(items: &mut [Value], order: &[Value], key: Option<&str>) {
    let ids: Vec<&Value> = order.iter().map(|o| ident(o, key)).collect();
    let mut slots = Vec::new();
    let mut chosen = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(rank) = ids.iter().position(|id| *id == ident(item, key)) {
            slots.push(i);
            chosen.push((rank, item.clone()));
        }
    }
    chosen.sort_by_key(|(rank, _)| *rank);
    for (slot, (_, v)) in slots.into_iter().zip(chosen) {
        if let Some(item) = items.get_mut(slot) {
            *item = v;
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merge(o: Value, p: Value) -> Value {
        strategic_merge(&o, &p).unwrap()
    }

    fn has_directive(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| k.starts_with('$') || has_directive(v)),
            Value::Array(a) => a.iter().any(has_directive),
            _ => false,
        }
    }

    #[test]
    fn merge_keys_by_trailing_path() {
        assert_eq!(merge_key_for(&["spec", "containers"]), Some("name"));
        let tpl = ["spec", "template", "spec", "containers"];
        assert_eq!(merge_key_for(&tpl), Some("name"));
        let cron = [
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "initContainers",
        ];
        assert_eq!(merge_key_for(&cron), Some("name"));
        assert_eq!(
            merge_key_for(&["spec", "containers", "ports"]),
            Some("containerPort")
        );
        assert_eq!(merge_key_for(&["spec", "ports"]), Some("port"));
        assert_eq!(merge_key_for(&["spec", "containers", "env"]), Some("name"));
        assert_eq!(
            merge_key_for(&["spec", "containers", "volumeMounts"]),
            Some("mountPath")
        );
        assert_eq!(
            merge_key_for(&["spec", "template", "spec", "volumes"]),
            Some("name")
        );
        assert_eq!(merge_key_for(&["spec", "tolerations"]), Some("key"));
        assert_eq!(merge_key_for(&["spec", "hostAliases"]), Some("ip"));
        assert_eq!(merge_key_for(&["status", "conditions"]), Some("type"));
        assert_eq!(merge_key_for(&["metadata", "ownerReferences"]), Some("uid"));
        assert_eq!(merge_key_for(&["metadata", "finalizers"]), Some(""));
        assert_eq!(merge_key_for(&["secrets"]), Some("name"));
        assert_eq!(merge_key_for(&["spec", "taints"]), Some("key"));
        assert_eq!(
            merge_key_for(&["spec", "readinessGates"]),
            Some("conditionType")
        );
        assert_eq!(merge_key_for(&["spec", "containers", "args"]), None);
        assert_eq!(merge_key_for(&["spec", "template", "spec", "ports"]), None);
        assert_eq!(merge_key_for(&[]), None);
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let o = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}});
        let p = json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"replicas": 2}});
        let r = merge(o, p);
        assert_eq!(
            r,
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}, "spec": {"replicas": 2}})
        );
    }

    #[test]
    fn keyed_lists_merge_by_name() {
        let o = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "side", "image": "s:1"}
        ]}}}});
        let p = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "a:2", "env": [{"name": "Y", "value": "2"}]},
            {"name": "new", "image": "n:1"}
        ]}}}});
        let r = merge(o, p);
        assert_eq!(
            r["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "app", "image": "a:2", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "side", "image": "s:1"},
                {"name": "new", "image": "n:1"}
            ])
        );
    }

    #[test]
    fn unkeyed_lists_replace_and_finalizers_union() {
        let o = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"containers": [{"name": "c", "args": ["x", "y"]}]}});
        let p = json!({"metadata": {"finalizers": ["b", "c"]}, "spec": {"containers": [{"name": "c", "args": ["z"]}]}});
        let r = merge(o, p);
        assert_eq!(r["metadata"]["finalizers"], json!(["a", "b", "c"]));
        assert_eq!(r["spec"]["containers"][0]["args"], json!(["z"]));
    }

    #[test]
    fn patch_directives() {
        let o = json!({"spec": {"selector": {"a": "1", "b": "2"}, "strategy": {"type": "X"},
            "containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}});
        let p = json!({"spec": {"selector": {"$patch": "replace", "c": "3"}, "strategy": {"$patch": "delete"},
            "containers": [{"name": "b", "$patch": "delete"}, {"name": "d", "$patch": "merge"}]}});
        let r = merge(o.clone(), p);
        assert_eq!(
            r,
            json!({"spec": {"selector": {"c": "3"}, "containers": [{"name": "a"}, {"name": "c"}, {"name": "d"}]}})
        );
        let p = json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "z", "env": [{"name": "E", "$patch": "delete"}]}]}});
        let r = merge(o.clone(), p);
        assert_eq!(r["spec"]["containers"], json!([{"name": "z", "env": []}]));
        assert!(!has_directive(&r));
        assert_eq!(merge(o, json!({"$patch": "delete"})), json!({}));
    }

    #[test]
    fn retain_keys_and_primitive_list_deletion() {
        let o = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "x": 1}, "metadata": {"finalizers": ["a", "b", "c"]}});
        let p = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}});
        let r = merge(o, p);
        assert_eq!(
            r,
            json!({"spec": {"strategy": {"type": "Recreate"}, "x": 1}, "metadata": {"finalizers": ["a", "c"]}})
        );
    }

    #[test]
    fn set_element_order() {
        let o = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let p = json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
            "containers": [{"name": "c"}]}});
        let r = merge(o, p);
        assert_eq!(
            r,
            json!({"spec": {"containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}]}})
        );
    }

    #[test]
    fn malformed_directives_are_errors() {
        let o = json!({"spec": {"containers": [{"name": "a"}]}});
        let cases = [
            (json!({"spec": {"$patch": "bogus"}}), "$patch"),
            (json!({"spec": {"$retainKeys": "x"}}), "$retainKeys"),
            (
                json!({"spec": {"$setElementOrder/containers": 1}}),
                "$setElementOrder/containers",
            ),
            (
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
                "$deleteFromPrimitiveList",
            ),
            (
                json!({"spec": {"containers": [{"image": "x"}]}}),
                "merge key",
            ),
            (
                json!({"spec": {"containers": [{"$patch": "delete"}]}}),
                "$patch",
            ),
        ];
        for (p, needle) in cases {
            let err = strategic_merge(&o, &p).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
        assert!(strategic_merge(&o, &json!([1])).is_err());
    }
}
