//! Small helpers over objects as JSON: timestamps, names, metadata accessors.
//! Used by every part of the sim that reads or writes objects.

use serde_json::{Map, Value};

/// The current time in Kubernetes' RFC 3339 form (seconds precision, `Z`).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `metadata.name`, or "".
pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

/// `metadata.namespace`, or "".
pub fn namespace(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or("")
}

/// `metadata.uid`, or "".
pub fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

/// `metadata.labels` as a map, if any.
pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    obj["metadata"]["labels"].as_object()
}

/// `metadata.finalizers`, as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(String::from))
        .collect()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}

/// The ownerReference uids of an object.
pub fn owner_uids(obj: &Value) -> Vec<String> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["uid"].as_str().map(String::from))
        .collect()
}

/// The ownerReference marked `controller: true`, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"].as_bool() == Some(true))?["uid"]
        .as_str()
}

/// An ownerReference pointing at `owner` as its controller.
pub fn controller_ref(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": true, "blockOwnerDeletion": true
    })
}

/// A random lower-case alphanumeric suffix of `n` characters, as generateName uses.
pub fn random_suffix(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
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
}
