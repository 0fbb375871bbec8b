//! Small helpers over objects as JSON: timestamps, names, metadata accessors.
//! Used by every part of the sim that reads or writes objects.
#![deny(clippy::indexing_slicing)]

use serde_json::{Map, Value};

/// The current time in Kubernetes' RFC 3339 form (seconds precision, `Z`).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

static NULL: Value = Value::Null;

/// The value at `path` (object keys), or null when a step is missing or not an object: what
/// `v["a"]["b"]` reads, without indexing (objects from requests may have any shape).
pub fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().try_fold(v, |v, k| v.get(k)).unwrap_or(&NULL)
}

/// The value at `path` for writing, made (null) when missing, with missing or null steps made
/// empty objects, as `v["a"]["b"] = x` does; `None` (where that would panic) when a step is
/// something other than an object.
pub fn at_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut v = v;
    for k in path {
        if v.is_null() {
            *v = Value::Object(Map::new());
        }
        v = v.as_object_mut()?.entry(*k).or_insert(Value::Null);
    }
    Some(v)
}

/// The value at `path` for changing in place, if it is there (nothing is made on the way).
pub fn find_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| v.get_mut(k))
}

/// Sets the value at `path` (see [`at_mut`]); false, changing nothing, when a step on the way
/// is not an object.
pub fn set(v: &mut Value, path: &[&str], value: Value) -> bool {
    match at_mut(v, path) {
        Some(slot) => {
            *slot = value;
            true
        }
        None => false,
    }
}

/// `metadata.name`, or "".
pub fn name(obj: &Value) -> &str {
    at(obj, &["metadata", "name"]).as_str().unwrap_or("")
}

/// `metadata.namespace`, or "".
pub fn namespace(obj: &Value) -> &str {
    at(obj, &["metadata", "namespace"]).as_str().unwrap_or("")
}

/// `metadata.uid`, or "".
pub fn uid(obj: &Value) -> &str {
    at(obj, &["metadata", "uid"]).as_str().unwrap_or("")
}

/// `metadata.labels` as a map, if any.
pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    at(obj, &["metadata", "labels"]).as_object()
}

/// `metadata.finalizers`, as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    at(obj, &["metadata", "finalizers"])
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(String::from))
        .collect()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    at(obj, &["metadata", "deletionTimestamp"]).is_string()
}

/// The ownerReference uids of an object.
pub fn owner_uids(obj: &Value) -> Vec<String> {
    at(obj, &["metadata", "ownerReferences"])
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| at(o, &["uid"]).as_str().map(String::from))
        .collect()
}

/// The ownerReference marked `controller: true`, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    at(obj, &["metadata", "ownerReferences"])
        .as_array()?
        .iter()
        .find(|o| at(o, &["controller"]).as_bool() == Some(true))
        .and_then(|o| at(o, &["uid"]).as_str())
}

/// An ownerReference pointing at `owner` as its controller.
pub fn controller_ref(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": at(owner, &["apiVersion"]), "kind": at(owner, &["kind"]),
        "name": at(owner, &["metadata", "name"]), "uid": at(owner, &["metadata", "uid"]),
        "controller": true, "blockOwnerDeletion": true
    })
}

/// A random lower-case alphanumeric suffix of `n` characters, as generateName uses.
pub fn random_suffix(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| {
            char::from(
                CHARS
                    .get(rng.random_range(0..CHARS.len()))
                    .copied()
                    .unwrap_or(b'x'),
            )
        })
        .collect()
}

/// Why `name` is not a valid DNS-1123 subdomain (or label, when `label`), if it is not.
pub fn invalid_name(name: &str, label: bool) -> Option<String> {
    let max = if label { 63 } else { 253 };
    if name.len() > max {
        return Some(format!(
            "Invalid value: \"{name}\": must be no more than {max} characters"
        ));
    }
    let parts: Vec<&str> = if label {
        vec![name]
    } else {
        name.split('.').collect()
    };
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !p.starts_with('-')
            && !p.ends_with('-')
    };
    if parts.iter().all(|p| part_ok(p)) {
        return None;
    }
    Some(if label {
        format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    } else {
        format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    })
}

/// Why a name is not a valid path segment (RBAC names: anything but `.`, `..`, `/` and `%`).
pub fn invalid_path_segment(name: &str) -> Option<String> {
    if name == "." || name == ".." {
        return Some(format!("Invalid value: \"{name}\": may not be '{name}'"));
    }
    ["/", "%"]
        .iter()
        .find(|bad| name.contains(**bad))
        .map(|bad| format!("Invalid value: \"{name}\": may not contain '{bad}'"))
}

/// A stable 64-bit FNV-1a hash (pod-template hashes, simulated IPs).
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The object without metadata and status: what a generation bump compares.
pub fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    v
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn validates_dns_names() {
        assert!(invalid_name("web-1.example", false).is_none());
        assert!(invalid_name("Web", false).is_some());
        assert!(invalid_name("a.b", true).is_some());
        assert!(invalid_name("-a", true).is_some());
        assert!(invalid_path_segment("namespaceAdmin").is_none());
        assert!(invalid_path_segment("a/b").is_some());
        assert!(invalid_path_segment("..").is_some());
        assert_eq!(random_suffix(5).len(), 5);
    }

    #[test]
    fn paths_read_and_write_any_shape_without_panicking() {
        let mut v = serde_json::json!({"metadata": 5, "spec": {"a": [1]}});
        assert!(at(&v, &["metadata", "name"]).is_null());
        assert_eq!(at(&v, &["spec", "a"]), &serde_json::json!([1]));
        assert!(!set(&mut v, &["metadata", "name"], "x".into()));
        assert!(!set(&mut v, &["spec", "a", "b"], "x".into()));
        assert!(set(&mut v, &["status", "phase"], "Running".into()));
        assert_eq!(v["status"]["phase"], "Running");
        assert!(find_mut(&mut v, &["nope", "deeper"]).is_none());
        assert!(v.get("nope").is_none(), "find_mut makes nothing");
    }
}
