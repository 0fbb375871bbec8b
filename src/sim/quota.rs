//! ResourceQuota accounting as kube-apiserver's quota admission and controller do it:
//! usage per object, `status.used` per quota, and the "exceeded quota" admission decision.

use super::quantity::Quantity;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Usage counted for one object, by quota resource name.
pub type Usage = BTreeMap<String, Quantity>;

fn add(usage: &mut Usage, key: &str, q: Quantity) {
    let entry = usage.entry(key.to_string()).or_insert_with(Quantity::zero);
    *entry = entry.checked_add(&q).unwrap_or(*entry);
}

fn one() -> Quantity {
    Quantity::from_units(1)
}

/// Effective pod requests or limits: max(sum(containers), max(initContainers)) + overhead.
fn pod_resources(pod: &Value, which: &str) -> BTreeMap<String, Quantity> {
    let mut sum: BTreeMap<String, Quantity> = BTreeMap::new();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        for (k, v) in c["resources"][which].as_object().into_iter().flatten() {
            if let Some(q) = v.as_str().and_then(|s| Quantity::parse(s).ok()) {
                add(&mut sum, k, q);
            }
        }
    }
    for c in pod["spec"]["initContainers"].as_array().into_iter().flatten() {
        for (k, v) in c["resources"][which].as_object().into_iter().flatten() {
            if let Some(q) = v.as_str().and_then(|s| Quantity::parse(s).ok()) {
                let e = sum.entry(k.clone()).or_insert_with(Quantity::zero);
                if q > *e {
                    *e = q;
                }
            }
        }
    }
    for (k, v) in pod["spec"]["overhead"].as_object().into_iter().flatten() {
        if let Some(q) = v.as_str().and_then(|s| Quantity::parse(s).ok()) {
            add(&mut sum, k, q);
        }
    }
    sum
}

/// Usage of a pod (nothing once it is Succeeded or Failed).
pub fn pod_usage(pod: &Value) -> Usage {
    let mut usage = Usage::new();
    if matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
        return usage;
    }
    add(&mut usage, "pods", one());
    add(&mut usage, "count/pods", one());
    for (k, q) in pod_resources(pod, "requests") {
        add(&mut usage, &format!("requests.{k}"), q);
        if matches!(k.as_str(), "cpu" | "memory" | "ephemeral-storage") {
            add(&mut usage, &k, q);
        }
    }
    for (k, q) in pod_resources(pod, "limits") {
        add(&mut usage, &format!("limits.{k}"), q);
    }
    usage
}

/// Usage of any object, given its resource key (`pods`, `services`, `deployments.apps`, ...).
pub fn object_usage(resource: &str, obj: &Value) -> Usage {
    let mut usage = Usage::new();
    match resource {
        "pods" => return pod_usage(obj),
        "services" => {
            add(&mut usage, "services", one());
            let ty = obj["spec"]["type"].as_str().unwrap_or("ClusterIP");
            if matches!(ty, "NodePort" | "LoadBalancer") {
                let ports = obj["spec"]["ports"].as_array().map_or(0, Vec::len) as i64;
                add(&mut usage, "services.nodeports", Quantity::from_units(ports));
            }
            if ty == "LoadBalancer" {
                add(&mut usage, "services.loadbalancers", one());
            }
        }
        "persistentvolumeclaims" => {
            add(&mut usage, "persistentvolumeclaims", one());
            let storage = obj["spec"]["resources"]["requests"]["storage"]
                .as_str()
                .and_then(|s| Quantity::parse(s).ok());
            if let Some(q) = storage {
                add(&mut usage, "requests.storage", q);
            }
            if let Some(class) = obj["spec"]["storageClassName"].as_str() {
                add(&mut usage, &format!("{class}.storageclass.storage.k8s.io/persistentvolumeclaims"), one());
                if let Some(q) = storage {
                    add(&mut usage, &format!("{class}.storageclass.storage.k8s.io/requests.storage"), q);
                }
            }
        }
        "configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas" => {
            add(&mut usage, resource, one());
        }
        _ => {}
    }
    add(&mut usage, &format!("count/{resource}"), one());
    usage
}

fn parse_map(m: &Map<String, Value>) -> BTreeMap<String, Quantity> {
    m.iter()
        .filter_map(|(k, v)| Some((k.clone(), Quantity::parse(v.as_str()?).ok()?)))
        .collect()
}

/// `status.used` for the keys of `hard`, summed over the namespace's objects.
pub fn compute_used(hard: &Map<String, Value>, objects: &[(String, Value)]) -> Map<String, Value> {
    let hard_q = parse_map(hard);
    let mut totals: BTreeMap<String, Quantity> = BTreeMap::new();
    for (resource, obj) in objects {
        for (k, q) in object_usage(resource, obj) {
            if hard_q.contains_key(&k) {
                add(&mut totals, &k, q);
            }
        }
    }
    hard_q
        .iter()
        .map(|(k, h)| {
            let used = totals.get(k).copied().unwrap_or_else(Quantity::zero).with_format_of(h);
            (k.clone(), json!(used.to_string()))
        })
        .collect()
}

/// Refuses `delta` when used + delta exceeds hard, in Kubernetes' words.
pub fn check_admission(
    quota_name: &str,
    hard: &Map<String, Value>,
    used: &Map<String, Value>,
    delta: &Usage,
) -> Result<(), String> {
    let hard_q = parse_map(hard);
    let used_q = parse_map(used);
    let (mut requested, mut using, mut limited) = (vec![], vec![], vec![]);
    for (k, h) in &hard_q {
        let Some(d) = delta.get(k).filter(|d| !d.is_zero()) else {
            continue;
        };
        let u = used_q.get(k).copied().unwrap_or_else(Quantity::zero);
        if u.checked_add(d).is_none_or(|total| total > *h) {
            requested.push(format!("{k}={}", d.with_format_of(h)));
            using.push(format!("{k}={}", u.with_format_of(h)));
            limited.push(format!("{k}={h}"));
        }
    }
    if requested.is_empty() {
        return Ok(());
    }
    Err(format!(
        "exceeded quota: {quota_name}, requested: {}, used: {}, limited: {}",
        requested.join(","),
        using.join(","),
        limited.join(",")
    ))
}

/// Refuses a pod that omits a compute resource the quota tracks (`must specify ...`).
pub fn missing_required(quota_name: &str, hard: &Map<String, Value>, pod: &Value) -> Result<(), String> {
    let mut missing: Vec<String> = Vec::new();
    for key in hard.keys() {
        let (which, res) = match key.as_str() {
            "cpu" | "memory" => ("requests", key.as_str()),
            k => match k.split_once('.') {
                Some((w @ ("requests" | "limits"), r @ ("cpu" | "memory"))) => (w, r),
                _ => continue,
            },
        };
        let lacking: Vec<&str> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["resources"][which][res].is_null())
            .filter_map(|c| c["name"].as_str())
            .collect();
        if !lacking.is_empty() {
            missing.push(format!("{which}.{res} for: {}", lacking.join(",")));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort();
    missing.dedup();
    Err(format!("failed quota: {quota_name}: must specify {}", missing.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(cpu: &str, init_cpu: Option<&str>) -> Value {
        let mut p = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}, "limits": {"cpu": cpu}}},
            {"name": "b", "resources": {"requests": {"cpu": cpu, "nvidia.com/gpu": "1"}}}]}});
        if let Some(i) = init_cpu {
            p["spec"]["initContainers"] = json!([{"name": "i", "resources": {"requests": {"cpu": i}}}]);
        }
        p
    }

    #[test]
    fn pod_usage_uses_the_init_container_rule() {
        let u = pod_usage(&pod("250m", None));
        assert_eq!(u["requests.cpu"].to_string(), "500m");
        assert_eq!(u["requests.nvidia.com/gpu"].to_string(), "1");
        assert_eq!(pod_usage(&pod("250m", Some("2")))["requests.cpu"].to_string(), "2");
        let mut done = pod("1", None);
        done["status"]["phase"] = json!("Succeeded");
        assert!(pod_usage(&done).is_empty());
    }

    #[test]
    fn used_and_exceeded_message() {
        let hard = json!({"requests.cpu": "1", "pods": "10", "requests.memory": "4Gi"});
        let hard = hard.as_object().unwrap();
        let objects = vec![("pods".to_string(), pod("250m", None))];
        let used = compute_used(hard, &objects);
        assert_eq!(json!(used), json!({"pods": "1", "requests.cpu": "500m", "requests.memory": "1Gi"}));
        let err = check_admission("compute", hard, &used, &pod_usage(&pod("500m", None))).unwrap_err();
        assert_eq!(err, "exceeded quota: compute, requested: requests.cpu=1, used: requests.cpu=500m, limited: requests.cpu=1");
        assert!(check_admission("compute", hard, &used, &pod_usage(&pod("250m", None))).is_ok());
    }

    #[test]
    fn requires_tracked_resources() {
        let hard = json!({"limits.cpu": "4"});
        let err = missing_required("q", hard.as_object().unwrap(), &pod("1", None)).unwrap_err();
        assert_eq!(err, "failed quota: q: must specify limits.cpu for: b");
    }
}
