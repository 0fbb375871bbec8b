//! ResourceQuota admission and status for the embedded API server, inside the store's lock,
//! so `status.used` is exact and a create over quota is refused atomically.

use super::object;
use super::quota;
use super::resources::ResourceType;
use super::status::ApiError;
use super::store::Inner;
use serde_json::{Map, Value, json};

/// Refuses a new object that would exceed a ResourceQuota of its namespace (403 "exceeded quota").
pub fn admit(s: &Inner, rt: &ResourceType, ns: &str, obj: &Value) -> Result<(), ApiError> {
    if ns.is_empty() {
        return Ok(());
    }
    let quotas = s.list_values("resourcequotas", Some(ns));
    if quotas.is_empty() {
        return Ok(());
    }
    let delta = quota::object_usage(&rt.key(), obj);
    if delta.is_empty() {
        return Ok(());
    }
    let objects = namespace_objects(s, ns, &quotas);
    let forbidden = |msg: String| {
        ApiError::forbidden(format!(
            "{} \"{}\" is forbidden: {msg}",
            rt.plural,
            object::name(obj)
        ))
    };
    for q in &quotas {
        if !quota::quota_matches(q, &rt.key(), obj) {
            continue;
        }
        let empty = Map::new();
        let hard = q["spec"]["hard"].as_object().unwrap_or(&empty);
        let name = object::name(q);
        if rt.plural == "pods" {
            quota::missing_required(name, hard, obj).map_err(forbidden)?;
        }
        let used = quota::compute_used(hard, &matching(q, &objects));
        quota::check_admission(name, hard, &used, &delta).map_err(forbidden)?;
    }
    Ok(())
}

/// Recomputes `status.hard`/`status.used` of the namespace's quotas, writing only changes.
pub fn refresh(s: &mut Inner, ns: &str) {
    if ns.is_empty() || s.count("resourcequotas") == 0 {
        return;
    }
    let quotas = s.list_values("resourcequotas", Some(ns));
    if quotas.is_empty() {
        return;
    }
    let objects = namespace_objects(s, ns, &quotas);
    for mut q in quotas {
        let empty = Map::new();
        let hard = q["spec"]["hard"].as_object().unwrap_or(&empty).clone();
        let used = quota::compute_used(&hard, &matching(&q, &objects));
        let status = json!({"hard": hard, "used": used});
        if q["status"] != status {
            q["status"] = status;
            s.put("resourcequotas", q);
        }
    }
}

/// The objects a quota's scopes select.
fn matching(quota: &Value, objects: &[(String, Value)]) -> Vec<(String, Value)> {
    objects
        .iter()
        .filter(|(key, obj)| quota::quota_matches(quota, key, obj))
        .cloned()
        .collect()
}

/// Every object of a namespace that one of `quotas` may count, with its quota resource key
/// (`pods`, `deployments.apps`, ...). Beyond pods, services and claims, an object only adds
/// `count/<resource>` to the usage (and `<resource>` for the kinds quotas count by name), so the
/// kinds no hard limit names are not read.
fn namespace_objects(s: &Inner, ns: &str, quotas: &[Value]) -> Vec<(String, Value)> {
    let limited = |name: &str| quotas.iter().any(|q| q["spec"]["hard"].get(name).is_some());
    let mut out = Vec::new();
    for key in s.keys() {
        let counted = match &*key {
            "pods" | "services" | "persistentvolumeclaims" => true,
            "configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas" => {
                limited(&key) || limited(&format!("count/{key}"))
            }
            other => limited(&format!("count/{other}")),
        };
        if !counted {
            continue;
        }
        for obj in s.list_values(&key, Some(ns)) {
            out.push((key.to_string(), obj));
        }
    }
    out
}
