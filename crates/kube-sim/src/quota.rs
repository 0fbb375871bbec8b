//! ResourceQuota accounting on JSON objects, mirroring kube-apiserver's quota evaluators,
//! the quota controller's `status.used` computation and the ResourceQuota admission checks.

use quantity::Quantity;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A resource list: resource name to quantity, sorted by name.
pub type ResourceList = BTreeMap<String, Quantity>;

const STORAGE_CLASS_INFIX: &str = ".storageclass.storage.k8s.io/";
const COMPUTE_REQUIRED: [&str; 6] = [
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// Reads a JSON resource map (`resources.requests`, `spec.overhead`, ...), skipping invalid entries.
pub fn resource_list(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), Quantity::from_json(v).ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// A container's `resources.limits`.
pub fn container_limits(c: &Value) -> ResourceList {
    resource_list(c.pointer("/resources/limits"))
}

/// A container's requests after pod defaulting: a limit without a request counts as the request.
pub fn container_requests(c: &Value) -> ResourceList {
    let mut reqs = resource_list(c.pointer("/resources/requests"));
    for (k, v) in container_limits(c) {
        reqs.entry(k).or_insert(v);
    }
    reqs
}

/// Adds `b` into `a` (Kubernetes `addResourceList`).
fn add_into(a: &mut ResourceList, b: &ResourceList) {
    for (k, v) in b {
        let sum = a.get(k).map_or(Some(*v), |cur| cur.checked_add(v));
        a.insert(k.clone(), sum.unwrap_or(*v));
    }
}

/// Raises each entry of `a` to at least the one in `b` (Kubernetes `maxResourceList`).
fn max_into(a: &mut ResourceList, b: &ResourceList) {
    for (k, v) in b {
        if a.get(k).is_none_or(|cur| v > cur) {
            a.insert(k.clone(), *v);
        }
    }
}

/// The containers of a pod spec under `field` (`containers` or `initContainers`).
fn containers<'a>(pod: &'a Value, field: &str) -> &'a [Value] {
    pod.get("spec")
        .and_then(|s| s.get(field))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Sum of containers, max with each init container, with restartable (sidecar) init containers summed.
fn aggregate(pod: &Value, per: fn(&Value) -> ResourceList) -> ResourceList {
    let mut total = ResourceList::new();
    for c in containers(pod, "containers") {
        add_into(&mut total, &per(c));
    }
    let (mut sidecars, mut init_max) = (ResourceList::new(), ResourceList::new());
    for c in containers(pod, "initContainers") {
        let own = per(c);
        if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            max_into(&mut init_max, &sidecars);
        } else {
            let mut tmp = own;
            add_into(&mut tmp, &sidecars);
            max_into(&mut init_max, &tmp);
        }
    }
    max_into(&mut total, &init_max);
    total
}

/// Effective pod requests (Kubernetes `PodRequests`), optionally adding `spec.overhead`.
pub fn pod_requests(pod: &Value, include_overhead: bool) -> ResourceList {
    let mut reqs = aggregate(pod, container_requests);
    if include_overhead {
        add_into(&mut reqs, &resource_list(pod.pointer("/spec/overhead")));
    }
    reqs
}

/// Effective pod limits (Kubernetes `PodLimits`); overhead is added only to limits already set.
pub fn pod_limits(pod: &Value, include_overhead: bool) -> ResourceList {
    let mut limits = aggregate(pod, container_limits);
    if include_overhead {
        for (k, v) in resource_list(pod.pointer("/spec/overhead")) {
            if let Some(cur) = limits.get_mut(&k) {
                *cur = cur.checked_add(&v).unwrap_or(*cur);
            }
        }
    }
    limits
}

/// True for a pod in phase Succeeded or Failed.
pub fn is_terminal(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// True for an extended resource name such as `nvidia.com/gpu`.
fn is_extended(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

/// Kubernetes `podComputeUsageHelper`: quota resource names from requests and limits.
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::from([("pods".to_string(), Quantity::from_units(1))]);
    for res in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(res) {
            out.insert(res.to_string(), *q);
            out.insert(format!("requests.{res}"), *q);
        }
        if let Some(q) = limits.get(res) {
            out.insert(format!("limits.{res}"), *q);
        }
    }
    for (k, q) in requests {
        if k.starts_with("hugepages-") {
            out.insert(k.clone(), *q);
        }
        if k.starts_with("hugepages-") || is_extended(k) {
            out.insert(format!("requests.{k}"), *q);
        }
    }
    out
}

/// Quota usage of a pod: `count/pods` always, compute resources only while not terminal.
pub fn pod_usage(pod: &Value) -> ResourceList {
    let mut out = ResourceList::from([("count/pods".to_string(), Quantity::from_units(1))]);
    if !is_terminal(pod) {
        out.extend(compute_usage(
            &pod_requests(pod, true),
            &pod_limits(pod, true),
        ));
    }
    out
}

/// Quota usage of a Service.
fn service_usage(svc: &Value) -> ResourceList {
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let spec_type = svc.pointer("/spec/type").and_then(Value::as_str);
    let allocate = svc
        .pointer("/spec/allocateLoadBalancerNodePorts")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let with_node_port = ports
        .iter()
        .filter(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0)
        .count();
    let (node_ports, lbs) = match spec_type {
        Some("NodePort") => (ports.len(), 0),
        Some("LoadBalancer") if allocate => (ports.len(), 1),
        Some("LoadBalancer") => (with_node_port, 1),
        _ => (0, 0),
    };
    ResourceList::from([
        ("services".to_string(), Quantity::from_units(1)),
        ("count/services".to_string(), Quantity::from_units(1)),
        (
            "services.nodeports".to_string(),
            Quantity::from_units(node_ports as i64),
        ),
        (
            "services.loadbalancers".to_string(),
            Quantity::from_units(lbs),
        ),
    ])
}

/// Quota usage of a PersistentVolumeClaim, including per-StorageClass keys.
fn pvc_usage(pvc: &Value) -> ResourceList {
    let mut out = ResourceList::from([
        (
            "persistentvolumeclaims".to_string(),
            Quantity::from_units(1),
        ),
        (
            "count/persistentvolumeclaims".to_string(),
            Quantity::from_units(1),
        ),
    ]);
    let class = pvc
        .pointer("/spec/storageClassName")
        .and_then(Value::as_str)
        .or_else(|| {
            pvc.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
                .and_then(Value::as_str)
        })
        .filter(|c| !c.is_empty());
    if let Some(c) = class {
        out.insert(
            format!("{c}{STORAGE_CLASS_INFIX}persistentvolumeclaims"),
            Quantity::from_units(1),
        );
    }
    let requested = resource_list(pvc.pointer("/spec/resources/requests"));
    let allocated = resource_list(pvc.pointer("/status/allocatedResources"));
    if let Some(req) = requested.get("storage") {
        let storage = allocated.get("storage").map_or(*req, |a| *a.max(req));
        out.insert("requests.storage".to_string(), storage);
        if let Some(c) = class {
            out.insert(format!("{c}{STORAGE_CLASS_INFIX}requests.storage"), storage);
        }
    }
    out
}

/// Quota usage of one object; `resource` is `name` for core resources, else `name.group`.
pub fn object_usage(resource: &str, obj: &Value) -> ResourceList {
    let one = Quantity::from_units(1);
    match resource {
        "pods" => pod_usage(obj),
        "services" => service_usage(obj),
        "persistentvolumeclaims" => pvc_usage(obj),
        "configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas" => {
            ResourceList::from([
                (resource.to_string(), one),
                (format!("count/{resource}"), one),
            ])
        }
        _ => ResourceList::from([(format!("count/{resource}"), one)]),
    }
}

/// True for a quota key some Kubernetes evaluator tracks (others never appear in `status.used`).
pub fn is_tracked(key: &str) -> bool {
    const FIXED: [&str; 19] = [
        "pods",
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "services",
        "services.loadbalancers",
        "services.nodeports",
        "persistentvolumeclaims",
        "requests.storage",
        "configmaps",
        "secrets",
        "replicationcontrollers",
        "resourcequotas",
    ];
    FIXED.contains(&key)
        || key.starts_with("count/")
        || key.starts_with("hugepages-")
        || key
            .strip_prefix("requests.")
            .is_some_and(|r| r.starts_with("hugepages-") || is_extended(r))
        || key
            .split_once(STORAGE_CLASS_INFIX)
            .is_some_and(|(class, r)| {
                !class.is_empty() && matches!(r, "requests.storage" | "persistentvolumeclaims")
            })
}

/// True when the quota evaluator for `resource` tracks quota key `key` (Kubernetes `MatchingResources`).
pub fn evaluator_tracks(resource: &str, key: &str) -> bool {
    match resource {
        "pods" => {
            key == "pods"
                || key == "count/pods"
                || (is_tracked(key)
                    && [
                        "cpu",
                        "memory",
                        "ephemeral-storage",
                        "hugepages-",
                        "requests.",
                        "limits.",
                    ]
                    .iter()
                    .any(|p| key.starts_with(p))
                    && key != "requests.storage")
        }
        "services" => matches!(
            key,
            "services" | "count/services" | "services.loadbalancers" | "services.nodeports"
        ),
        "persistentvolumeclaims" => {
            matches!(
                key,
                "persistentvolumeclaims" | "count/persistentvolumeclaims" | "requests.storage"
            ) || (key.contains(STORAGE_CLASS_INFIX) && is_tracked(key))
        }
        "configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas" => {
            key == resource || key.strip_prefix("count/") == Some(resource)
        }
        _ => key.strip_prefix("count/") == Some(resource),
    }
}

/// True for a pod with `spec.activeDeadlineSeconds >= 0` (quota scope Terminating).
fn is_terminating(pod: &Value) -> bool {
    pod.pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|d| d >= 0)
}

/// True for a BestEffort pod: no container requests or limits cpu or memory.
fn is_best_effort(pod: &Value) -> bool {
    containers(pod, "containers")
        .iter()
        .chain(containers(pod, "initContainers"))
        .all(|c| {
            ["requests", "limits"].iter().all(|f| {
                let l = resource_list(c.pointer(&format!("/resources/{f}")));
                !l.contains_key("cpu") && !l.contains_key("memory")
            })
        })
}

/// True when a pod (anti-)affinity term names other namespaces or has a namespaceSelector.
fn uses_cross_namespace_affinity(pod: &Value) -> bool {
    ["podAffinity", "podAntiAffinity"].iter().any(|a| {
        let Some(aff) = pod.pointer(&format!("/spec/affinity/{a}")) else {
            return false;
        };
        let terms = |f: &str| {
            aff.get(f)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let required = terms("requiredDuringSchedulingIgnoredDuringExecution");
        let preferred: Vec<Value> = terms("preferredDuringSchedulingIgnoredDuringExecution")
            .into_iter()
            .filter_map(|w| w.get("podAffinityTerm").cloned())
            .collect();
        required.iter().chain(&preferred).any(|t| {
            t.get("namespaces")
                .and_then(Value::as_array)
                .is_some_and(|n| !n.is_empty())
                || t.get("namespaceSelector").is_some_and(|s| !s.is_null())
        })
    })
}

/// Whether a pod matches one scope requirement (`scopeName`, `operator`, `values`).
fn pod_matches_scope(pod: &Value, scope: &str, op: &str, values: &[&str]) -> bool {
    match scope {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "CrossNamespacePodAffinity" => uses_cross_namespace_affinity(pod),
        "PriorityClass" => {
            let pc = pod
                .pointer("/spec/priorityClassName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty());
            match op {
                "Exists" => pc.is_some(),
                "DoesNotExist" => pc.is_none(),
                "In" => pc.is_some_and(|p| values.contains(&p)),
                "NotIn" => !pc.is_some_and(|p| values.contains(&p)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a ResourceQuota object applies to `obj` of `resource`: it tracks one of its keys and all scopes match.
pub fn quota_matches(quota: &Value, resource: &str, obj: &Value) -> bool {
    let hard = quota.pointer("/spec/hard").and_then(Value::as_object);
    if !hard.is_some_and(|h| h.keys().any(|k| evaluator_tracks(resource, k))) {
        return false;
    }
    let mut scopes: Vec<(&str, &str, Vec<&str>)> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Value::as_str)
        .map(|s| (s, "Exists", Vec::new()))
        .collect();
    let exprs = quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for e in exprs {
        let get = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
        let values = e
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        scopes.push((get("scopeName"), get("operator"), values));
    }
    scopes
        .iter()
        .all(|(s, op, v)| resource == "pods" && pod_matches_scope(obj, s, op, v))
}

/// Computes `status.used` for the tracked keys of `hard`, summing in Kubernetes' `Add` format order.
pub fn compute_used(hard: &Map<String, Value>, objects: &[(String, Value)]) -> Map<String, Value> {
    let keys: BTreeSet<&String> = hard.keys().filter(|k| is_tracked(k)).collect();
    let mut used: BTreeMap<&String, Quantity> =
        keys.iter().map(|k| (*k, Quantity::default())).collect();
    for (resource, obj) in objects {
        for (k, q) in object_usage(resource, obj) {
            if let Some(cur) = used.get_mut(&k) {
                *cur = cur.checked_add(&q).unwrap_or(*cur);
            }
        }
    }
    used.into_iter()
        .map(|(k, q)| (k.clone(), q.to_json()))
        .collect()
}

/// Parses a JSON resource map strictly, naming the first invalid entry.
fn parse_map(m: &Map<String, Value>, what: &str) -> Result<ResourceList, String> {
    m.iter()
        .map(|(k, v)| {
            Quantity::from_json(v)
                .map(|q| (k.clone(), q))
                .map_err(|e| format!("invalid {what} quantity for {k}: {e}"))
        })
        .collect()
}

/// Kubernetes `prettyPrint`: sorted `k=v` pairs joined by commas.
fn pretty(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// ResourceQuota admission for one quota: Err with Kubernetes' message when `used + delta > hard`.
pub fn check_admission(
    quota_name: &str,
    hard: &Map<String, Value>,
    used: &Map<String, Value>,
    delta: &BTreeMap<String, Quantity>,
) -> Result<(), String> {
    admit(quota_name, hard, used, delta).map(drop)
}

/// Like `check_admission`, but on success returns the new `status.used` that admission writes back.
pub fn admit(
    quota_name: &str,
    hard: &Map<String, Value>,
    used: &Map<String, Value>,
    delta: &BTreeMap<String, Quantity>,
) -> Result<Map<String, Value>, String> {
    let hard = parse_map(hard, "hard")?;
    let used = parse_map(used, "used")?;
    let interesting: Vec<&str> = delta
        .keys()
        .filter(|k| hard.contains_key(*k))
        .map(String::as_str)
        .collect();
    if interesting.iter().any(|k| !used.contains_key(*k)) {
        return Err(format!(
            "status unknown for quota: {quota_name}, resources: {}",
            interesting.join(",")
        ));
    }
    let mut failed = [
        ResourceList::new(),
        ResourceList::new(),
        ResourceList::new(),
    ];
    let mut new_used = used.clone();
    for (k, req) in delta {
        let (Some(limit), Some(cur)) = (hard.get(k), used.get(k)) else {
            continue;
        };
        if req.is_zero() || req.is_negative() {
            continue;
        }
        let new = cur
            .checked_add(req)
            .ok_or_else(|| format!("quota usage overflow for {k}"))?;
        if new > *limit {
            failed[0].insert(k.clone(), *req);
            failed[1].insert(k.clone(), *cur);
            failed[2].insert(k.clone(), *limit);
        }
        new_used.insert(k.clone(), new);
    }
    if !failed[0].is_empty() {
        return Err(format!(
            "exceeded quota: {quota_name}, requested: {}, used: {}, limited: {}",
            pretty(&failed[0]),
            pretty(&failed[1]),
            pretty(&failed[2])
        ));
    }
    Ok(new_used
        .into_iter()
        .map(|(k, q)| (k, q.to_json()))
        .collect())
}

/// The quota's "must specify" rule: every container must set each cpu/memory resource the quota tracks.
pub fn missing_required(
    quota_name: &str,
    hard: &Map<String, Value>,
    pod: &Value,
) -> Result<(), String> {
    let required: Vec<&str> = COMPUTE_REQUIRED
        .into_iter()
        .filter(|k| hard.contains_key(*k))
        .collect();
    let mut missing: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in containers(pod, "containers")
        .iter()
        .chain(containers(pod, "initContainers"))
    {
        let have = compute_usage(&container_requests(c), &container_limits(c));
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        for r in required.iter().filter(|r| !have.contains_key(**r)) {
            missing.entry(r).or_default().insert(name);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, names)| {
            format!(
                "{r} for: {}",
                names.iter().copied().collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    Err(format!(
        "failed quota: {quota_name}: must specify {}",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn container(name: &str, req: Value, lim: Value) -> Value {
        json!({"name": name, "resources": {"requests": req, "limits": lim}})
    }

    fn s(list: &ResourceList, k: &str) -> String {
        list.get(k).map(ToString::to_string).unwrap_or_default()
    }

    #[test]
    fn pod_sums_containers_and_maxes_init_containers() {
        let pod = json!({"spec": {
            "containers": [
                container("a", json!({"cpu": "500m", "memory": "128Mi"}), json!({"cpu": "1", "memory": "256Mi"})),
                container("b", json!({"cpu": "250m", "memory": "128Mi", "nvidia.com/gpu": "1"}), json!({"cpu": "1"})),
            ],
            "initContainers": [
                container("init1", json!({"cpu": "2"}), json!({})),
                container("init2", json!({"memory": "100Mi"}), json!({"memory": "1Gi"})),
            ]
        }});
        let u = pod_usage(&pod);
        assert_eq!(s(&u, "pods"), "1");
        assert_eq!(s(&u, "count/pods"), "1");
        assert_eq!(s(&u, "requests.cpu"), "2");
        assert_eq!(s(&u, "cpu"), "2");
        assert_eq!(s(&u, "requests.memory"), "256Mi");
        assert_eq!(s(&u, "memory"), "256Mi");
        assert_eq!(s(&u, "limits.cpu"), "2");
        assert_eq!(s(&u, "limits.memory"), "1Gi");
        assert_eq!(s(&u, "requests.nvidia.com/gpu"), "1");
        assert!(!u.contains_key("nvidia.com/gpu"));
        assert!(!u.contains_key("requests.ephemeral-storage"));
    }

    #[test]
    fn init_container_smaller_than_sum_is_ignored() {
        let pod = json!({"spec": {
            "containers": [container("a", json!({"cpu": "1"}), json!({})), container("b", json!({"cpu": "1"}), json!({}))],
            "initContainers": [container("i", json!({"cpu": "1500m"}), json!({}))]
        }});
        assert_eq!(s(&pod_usage(&pod), "requests.cpu"), "2");
    }

    #[test]
    fn sidecars_overhead_limits_default_and_hugepages() {
        let pod = json!({"spec": {
            "containers": [container("a", json!({"cpu": "1", "hugepages-2Mi": "4Mi", "ephemeral-storage": "1Gi"}), json!({"memory": "1Gi"}))],
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
                container("init", json!({"cpu": "1"}), json!({}))
            ],
            "overhead": {"cpu": "100m", "memory": "10Mi"}
        }});
        let u = pod_usage(&pod);
        assert_eq!(s(&u, "requests.cpu"), "1600m");
        assert_eq!(s(&u, "requests.memory"), "1034Mi");
        assert_eq!(s(&u, "limits.memory"), "1034Mi");
        assert!(!u.contains_key("limits.cpu"));
        assert_eq!(s(&u, "hugepages-2Mi"), "4Mi");
        assert_eq!(s(&u, "requests.hugepages-2Mi"), "4Mi");
        assert_eq!(s(&u, "requests.ephemeral-storage"), "1Gi");
        assert_eq!(s(&u, "ephemeral-storage"), "1Gi");
    }

    #[test]
    fn terminal_pods_only_count_objects() {
        for phase in ["Succeeded", "Failed"] {
            let pod = json!({"spec": {"containers": [container("a", json!({"cpu": "1"}), json!({}))]}, "status": {"phase": phase}});
            let u = pod_usage(&pod);
            assert_eq!(u.keys().collect::<Vec<_>>(), vec!["count/pods"]);
        }
        let running = json!({"spec": {"containers": []}, "status": {"phase": "Running"}});
        assert_eq!(s(&pod_usage(&running), "pods"), "1");
    }

    #[test]
    fn services_pvcs_and_counts() {
        let np = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443, "nodePort": 30443}]}});
        let u = object_usage("services", &np);
        assert_eq!(
            (s(&u, "services"), s(&u, "count/services")),
            ("1".into(), "1".into())
        );
        assert_eq!(
            (s(&u, "services.nodeports"), s(&u, "services.loadbalancers")),
            ("2".into(), "0".into())
        );
        let lb = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        let u = object_usage("services", &lb);
        assert_eq!(
            (s(&u, "services.nodeports"), s(&u, "services.loadbalancers")),
            ("1".into(), "1".into())
        );
        let lb2 = json!({"spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false,
            "ports": [{"port": 80}, {"port": 81, "nodePort": 30081}]}});
        assert_eq!(
            s(&object_usage("services", &lb2), "services.nodeports"),
            "1"
        );
        let cip = json!({"spec": {"ports": [{"port": 80}]}});
        assert_eq!(
            s(&object_usage("services", &cip), "services.nodeports"),
            "0"
        );

        let pvc = json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "10Gi"}}}});
        let u = object_usage("persistentvolumeclaims", &pvc);
        assert_eq!(s(&u, "persistentvolumeclaims"), "1");
        assert_eq!(s(&u, "count/persistentvolumeclaims"), "1");
        assert_eq!(s(&u, "requests.storage"), "10Gi");
        assert_eq!(
            s(&u, "fast.storageclass.storage.k8s.io/requests.storage"),
            "10Gi"
        );
        assert_eq!(
            s(
                &u,
                "fast.storageclass.storage.k8s.io/persistentvolumeclaims"
            ),
            "1"
        );
        let plain = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}, "status": {"allocatedResources": {"storage": "2Gi"}}});
        let u = object_usage("persistentvolumeclaims", &plain);
        assert_eq!(u.len(), 3);
        assert_eq!(s(&u, "requests.storage"), "2Gi");

        for r in [
            "configmaps",
            "secrets",
            "replicationcontrollers",
            "resourcequotas",
        ] {
            let u = object_usage(r, &json!({}));
            assert_eq!(
                (s(&u, r), s(&u, &format!("count/{r}"))),
                ("1".into(), "1".into())
            );
        }
        let u = object_usage("deployments.apps", &json!({}));
        assert_eq!(u.keys().collect::<Vec<_>>(), vec!["count/deployments.apps"]);
    }

    #[test]
    fn compute_used_masks_and_formats() {
        let hard = map(json!({
            "requests.memory": "2Gi", "requests.cpu": "4", "pods": "10", "count/deployments.apps": "5",
            "services.loadbalancers": "2", "bogus": "1", "fast.storageclass.storage.k8s.io/requests.storage": "1Ti"
        }));
        let pod = |cpu: &str, mem: &str| json!({"spec": {"containers": [container("c", json!({"cpu": cpu, "memory": mem}), json!({}))]}});
        let objs = vec![
            ("pods".to_string(), pod("500m", "512Mi")),
            ("pods".to_string(), pod("1", "512Mi")),
            ("deployments.apps".to_string(), json!({})),
            ("configmaps".to_string(), json!({})),
        ];
        let used = compute_used(&hard, &objs);
        assert_eq!(
            Value::Object(used),
            json!({
                "count/deployments.apps": "1",
                "fast.storageclass.storage.k8s.io/requests.storage": "0",
                "pods": "2",
                "requests.cpu": "1500m",
                "requests.memory": "1Gi",
                "services.loadbalancers": "0"
            })
        );
    }

    #[test]
    fn admission_message_format_is_exact() {
        let hard = map(json!({"requests.cpu": "2", "pods": "10", "requests.memory": "1Gi"}));
        let used = map(json!({"requests.cpu": "1", "pods": "3", "requests.memory": "512Mi"}));
        let delta = ResourceList::from([
            ("requests.cpu".to_string(), q("2")),
            ("pods".to_string(), q("1")),
            ("requests.memory".to_string(), q("1Gi")),
            ("limits.cpu".to_string(), q("8")),
        ]);
        assert_eq!(
            check_admission("compute", &hard, &used, &delta).unwrap_err(),
            "exceeded quota: compute, requested: requests.cpu=2,requests.memory=1Gi, used: requests.cpu=1,requests.memory=512Mi, limited: requests.cpu=2,requests.memory=1Gi"
        );
        let ok = ResourceList::from([
            ("requests.cpu".to_string(), q("1")),
            ("pods".to_string(), q("1")),
        ]);
        assert_eq!(check_admission("compute", &hard, &used, &ok), Ok(()));
        let new_used = admit("compute", &hard, &used, &ok).unwrap();
        assert_eq!(
            Value::Object(new_used),
            json!({"pods": "4", "requests.cpu": "2", "requests.memory": "512Mi"})
        );
        let one = ResourceList::from([("pods".to_string(), q("8"))]);
        assert_eq!(
            check_admission("q", &hard, &used, &one).unwrap_err(),
            "exceeded quota: q, requested: pods=8, used: pods=3, limited: pods=10"
        );
    }

    #[test]
    fn admission_edge_cases() {
        let hard = map(json!({"services.loadbalancers": "1", "services": "5"}));
        let used = map(json!({"services.loadbalancers": "2", "services": "1"}));
        let cluster_ip = object_usage("services", &json!({"spec": {"ports": []}}));
        assert_eq!(check_admission("q", &hard, &used, &cluster_ip), Ok(()));
        let partial = map(json!({"services": "1"}));
        assert_eq!(
            check_admission("q", &hard, &partial, &cluster_ip).unwrap_err(),
            "status unknown for quota: q, resources: services,services.loadbalancers"
        );
        assert_eq!(
            check_admission("q", &hard, &used, &ResourceList::new()),
            Ok(())
        );
    }

    #[test]
    fn must_specify_rule() {
        let hard = map(json!({"requests.cpu": "2", "limits.memory": "1Gi", "pods": "3"}));
        let pod = json!({"spec": {
            "containers": [
                container("app", json!({"cpu": "1"}), json!({})),
                container("web", json!({}), json!({"cpu": "1", "memory": "1Gi"}))
            ],
            "initContainers": [container("setup", json!({}), json!({}))]
        }});
        assert_eq!(
            missing_required("compute", &hard, &pod).unwrap_err(),
            "failed quota: compute: must specify limits.memory for: app,setup; requests.cpu for: setup"
        );
        let ok = json!({"spec": {"containers": [container("app", json!({}), json!({"cpu": "1", "memory": "1Gi"}))]}});
        assert_eq!(missing_required("compute", &hard, &ok), Ok(()));
        let no_compute = map(json!({"pods": "1"}));
        assert_eq!(missing_required("q", &no_compute, &pod), Ok(()));
    }

    #[test]
    fn quota_scopes_and_matching() {
        let be = json!({"spec": {"containers": [{"name": "a"}]}});
        let burst = json!({"spec": {"activeDeadlineSeconds": 30, "priorityClassName": "high",
            "containers": [container("a", json!({"cpu": "1"}), json!({}))]}});
        let quota = |spec: Value| json!({"spec": spec});
        let q_be = quota(json!({"hard": {"pods": "1"}, "scopes": ["BestEffort"]}));
        assert!(quota_matches(&q_be, "pods", &be) && !quota_matches(&q_be, "pods", &burst));
        assert!(!quota_matches(&q_be, "services", &json!({})));
        let q_term = quota(
            json!({"hard": {"requests.cpu": "1"}, "scopes": ["Terminating", "NotBestEffort"]}),
        );
        assert!(quota_matches(&q_term, "pods", &burst) && !quota_matches(&q_term, "pods", &be));
        let q_pc = quota(
            json!({"hard": {"pods": "5"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["high", "mid"]}]}}),
        );
        assert!(quota_matches(&q_pc, "pods", &burst) && !quota_matches(&q_pc, "pods", &be));
        let q_nopc = quota(
            json!({"hard": {"pods": "5"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "DoesNotExist"}]}}),
        );
        assert!(!quota_matches(&q_nopc, "pods", &burst) && quota_matches(&q_nopc, "pods", &be));
        let plain = quota(json!({"hard": {"services": "1", "count/deployments.apps": "2"}}));
        assert!(quota_matches(&plain, "services", &json!({})));
        assert!(quota_matches(&plain, "deployments.apps", &json!({})));
        assert!(!quota_matches(&plain, "pods", &be));
        assert!(!quota_matches(&plain, "configmaps", &json!({})));
        let xns = json!({"spec": {"containers": [], "affinity": {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": {"namespaceSelector": {}}}]}}}});
        let q_x = quota(
            json!({"hard": {"pods": "1"}, "scopeSelector": {"matchExpressions": [
            {"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}]}}),
        );
        assert!(quota_matches(&q_x, "pods", &xns) && !quota_matches(&q_x, "pods", &be));
        assert!(evaluator_tracks("pods", "requests.nvidia.com/gpu"));
        assert!(!evaluator_tracks("pods", "requests.storage"));
        assert!(evaluator_tracks(
            "persistentvolumeclaims",
            "gold.storageclass.storage.k8s.io/persistentvolumeclaims"
        ));
    }

    #[test]
    fn tracked_keys() {
        for k in [
            "pods",
            "count/foo.bar",
            "requests.nvidia.com/gpu",
            "requests.hugepages-1Gi",
            "hugepages-2Mi",
            "gold.storageclass.storage.k8s.io/requests.storage",
        ] {
            assert!(is_tracked(k), "{k}");
        }
        for k in [
            "bogus",
            "requests.foo",
            "limits.nvidia.com/gpu",
            ".storageclass.storage.k8s.io/requests.storage",
        ] {
            assert!(!is_tracked(k), "{k}");
        }
    }
}
