//! The Eviction API (honouring PodDisruptionBudgets, 429 when not allowed) and pod binding.
//! Also computes PDB status, shared with the sim's controllers.
#![deny(clippy::indexing_slicing)]

use super::api::json_with;
use super::cluster::Cluster;
use super::object;
use super::selector;
use super::status::ApiError;
use super::store::Inner;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// Whether a pod counts as healthy for disruption budgets (Running and Ready).
pub fn pod_healthy(pod: &Value) -> bool {
    crate::object::at(pod, &["status", "phase"]) == "Running"
        && !object::is_deleting(pod)
        && crate::object::at(pod, &["status", "conditions"])
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                crate::object::at(c, &["type"]) == "Ready"
                    && crate::object::at(c, &["status"]) == "True"
            })
}

/// Pods of a namespace selected by a PDB.
fn pdb_pods(s: &Inner, pdb: &Value) -> Vec<Value> {
    let Ok(sel) =
        selector::label_selector_from_object(crate::object::at(pdb, &["spec", "selector"]))
    else {
        return vec![];
    };
    s.list_values("pods", Some(object::namespace(pdb)))
        .into_iter()
        .filter(|p| sel.matches(object::labels(p)))
        .collect()
}

fn int_or_percent(v: &Value, total: i64, round_up: bool) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().ok()?;
            let exact = pct * total as f64 / 100.0;
            Some(if round_up {
                exact.ceil()
            } else {
                exact.floor()
            } as i64)
        }
        _ => None,
    }
}

/// The status a PDB should have given the pods in the store.
pub fn pdb_status(s: &Inner, pdb: &Value) -> Value {
    let pods = pdb_pods(s, pdb);
    let expected = pods.iter().filter(|p| !object::is_deleting(p)).count() as i64;
    let healthy = pods.iter().filter(|p| pod_healthy(p)).count() as i64;
    let desired = if let Some(min) = int_or_percent(
        crate::object::at(pdb, &["spec", "minAvailable"]),
        expected,
        true,
    ) {
        min
    } else if let Some(max) = int_or_percent(
        crate::object::at(pdb, &["spec", "maxUnavailable"]),
        expected,
        true,
    ) {
        (expected - max).max(0)
    } else {
        expected
    };
    let allowed = (healthy - desired).max(0);
    json!({
        "observedGeneration": crate::object::at(pdb, &["metadata", "generation"]),
        "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
        "disruptionsAllowed": allowed,
        "conditions": [{"type": "DisruptionAllowed", "status": if allowed > 0 { "True" } else { "False" },
            "reason": if allowed > 0 { "SufficientPods" } else { "InsufficientPods" }, "message": "",
            "lastTransitionTime": crate::object::at(pdb, &["metadata", "creationTimestamp"]),
            "observedGeneration": crate::object::at(pdb, &["metadata", "generation"])}]
    })
}

/// POST pods/NAME/eviction.
pub fn evict(
    c: &Cluster,
    ns: &str,
    name: &str,
    _body: &Value,
    dry_run: bool,
) -> Result<Response, ApiError> {
    c.store.write(|s| {
        let Some(pod) = s.get_value("pods", ns, name) else {
            return Err(ApiError::not_found("", "pods", name));
        };
        let terminal = matches!(crate::object::at(&pod, &["status", "phase"]).as_str(), Some("Succeeded" | "Failed"));
        if !terminal && pod_healthy(&pod) {
            for pdb in s.list_values("poddisruptionbudgets.policy", Some(ns)) {
                let Ok(sel) = selector::label_selector_from_object(crate::object::at(&pdb, &["spec", "selector"])) else {
                    continue;
                };
                if !sel.matches(object::labels(&pod)) {
                    continue;
                }
                let status = pdb_status(s, &pdb);
                if crate::object::at(&status, &["disruptionsAllowed"]).as_i64().unwrap_or(0) < 1 {
                    let pdb_name = object::name(&pdb).to_string();
                    return Err(ApiError::new(
                        429,
                        "TooManyRequests",
                        "Cannot evict pod as it would violate the pod's disruption budget.",
                    )
                    .with_details(json!({"causes": [{"reason": "DisruptionBudget",
                        "message": format!("The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                            crate::object::at(&status, &["desiredHealthy"]), crate::object::at(&status, &["currentHealthy"]))}]})));
                }
            }
        }
        if !dry_run {
            let rt = s.type_of_key("pods").ok_or_else(|| ApiError::internal("pods not registered"))?;
            super::write::remove(s, &rt, ns, name);
        }
        Ok(json_with(
            StatusCode::CREATED,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        ))
    })
}

/// POST pods/NAME/binding: assigns the pod to a node.
pub fn bind(c: &Cluster, ns: &str, name: &str, body: &Value) -> Result<Response, ApiError> {
    let node = crate::object::at(body, &["target", "name"])
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("Binding", name, "target.name", "Required value"))?
        .to_string();
    c.store.write(|s| {
        let Some(mut pod) = s.get_value("pods", ns, name) else {
            return Err(ApiError::not_found("", "pods", name));
        };
        if crate::object::at(&pod, &["spec", "nodeName"]).as_str().is_some_and(|n| !n.is_empty()) {
            return Err(ApiError::conflict("", "pods", name));
        }
        crate::object::set(&mut pod, &["spec", "nodeName"], json!(node));
        let rt = s.type_of_key("pods").ok_or_else(|| ApiError::internal("pods not registered"))?;
        super::write::store(s, &rt, pod);
        Ok(json_with(
            StatusCode::CREATED,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        ))
    })
}
