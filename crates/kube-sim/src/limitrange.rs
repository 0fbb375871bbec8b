//! LimitRange admission on JSON objects: defaulting of container resources and min/max/ratio checks,
//! following kube-apiserver's LimitRanger plugin and the LimitRangeItem/Pod defaulting functions.
#![deny(clippy::indexing_slicing)]

use super::quota::{
    ResourceList, container_limits, container_requests, pod_limits, pod_requests, resource_list,
};
use quantity::Quantity;
use serde_json::{Map, Value};

/// Annotation LimitRanger sets on pods it defaulted.
pub const LIMIT_RANGER_ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// The `spec.limits` items of a LimitRange.
fn items(lr: &Value) -> &[Value] {
    lr.pointer("/spec/limits")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The item's `type`.
fn item_type(item: &Value) -> &str {
    item.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Canonical JSON form of a quantity value (the raw value when unparsable).
fn canonical(v: &Value) -> Value {
    Quantity::from_json(v).map_or_else(|_| v.clone(), |q| q.to_json())
}

/// Copies entries of `from` missing in `item[to]`, creating `item[to]` only when something is copied.
fn fill_missing(item: &mut Map<String, Value>, from: &str, to: &str) {
    let src = item
        .get(from)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in src {
        let dst = item.entry(to).or_insert_with(|| Value::Object(Map::new()));
        if let Some(dst) = dst.as_object_mut() {
            dst.entry(k).or_insert(v);
        }
    }
}

/// API defaulting of a LimitRange (`SetDefaults_LimitRangeItem`) for `type: Container` items.
pub fn default_limit_range(lr: &mut Value) {
    let Some(items) = lr.pointer_mut("/spec/limits").and_then(Value::as_array_mut) else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        if item.get("type").and_then(Value::as_str) == Some("Container") {
            fill_missing(item, "max", "default");
            fill_missing(item, "default", "defaultRequest");
            fill_missing(item, "min", "defaultRequest");
        }
    }
}

/// Pod API defaulting (`SetDefaults_Pod`): a container limit without a request becomes the request.
pub fn default_pod_requests(pod: &mut Value) {
    for field in ["containers", "initContainers"] {
        let Some(cs) = pod
            .pointer_mut(&format!("/spec/{field}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for res in cs
            .iter_mut()
            .filter_map(|c| c.get_mut("resources")?.as_object_mut())
        {
            if res.get("limits").is_some_and(Value::is_object) {
                fill_missing(res, "limits", "requests");
            }
        }
    }
}

/// The object under `key` of an object value, created empty when missing.
fn child<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = v.as_object_mut()?;
    let c = m.entry(key).or_insert(Value::Null);
    if c.is_null() {
        *c = Value::Object(Map::new());
    }
    c.is_object().then_some(c)
}

/// Merges defaults into one container's `resources[field]`, returning the names that were set.
fn merge(container: &mut Value, field: &str, defaults: &Map<String, Value>) -> Vec<String> {
    let mut set = Vec::new();
    for (k, v) in defaults {
        let has = container
            .pointer(&format!(
                "/resources/{field}/{}",
                k.replace('~', "~0").replace('/', "~1")
            ))
            .is_some();
        if has {
            continue;
        }
        let list = child(container, "resources").and_then(|r| child(r, field));
        if let Some(list) = list.and_then(Value::as_object_mut) {
            list.insert(k.clone(), canonical(v));
            set.push(k.clone());
        }
    }
    set.sort();
    set
}

/// LimitRanger defaulting: fills missing container/initContainer limits from `default` and requests from `defaultRequest`.
pub fn apply_defaults(pod: &mut Value, limit_ranges: &[Value]) {
    default_pod_requests(pod);
    for lr in limit_ranges {
        let mut lr = lr.clone();
        default_limit_range(&mut lr);
        let (mut requests, mut limits) = (Map::new(), Map::new());
        for item in items(&lr).iter().filter(|i| item_type(i) == "Container") {
            for (from, to) in [("defaultRequest", &mut requests), ("default", &mut limits)] {
                if let Some(m) = item.get(from).and_then(Value::as_object) {
                    to.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        if requests.is_empty() && limits.is_empty() {
            continue;
        }
        let mut notes = Vec::new();
        for (field, kind) in [
            ("containers", "container"),
            ("initContainers", "init container"),
        ] {
            let Some(cs) = pod
                .pointer_mut(&format!("/spec/{field}"))
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for c in cs {
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let set_limits = merge(c, "limits", &limits);
                let set_requests = merge(c, "requests", &requests);
                if !set_requests.is_empty() {
                    notes.push(format!(
                        "{} request for {kind} {name}",
                        set_requests.join(", ")
                    ));
                }
                if !set_limits.is_empty() {
                    notes.push(format!("{} limit for {kind} {name}", set_limits.join(", ")));
                }
            }
        }
        if notes.is_empty() {
            continue;
        }
        let ann = child(pod, "metadata").and_then(|m| child(m, "annotations"));
        if let Some(ann) = ann.and_then(Value::as_object_mut) {
            let val = format!("LimitRanger plugin set: {}", notes.join("; "));
            ann.insert(LIMIT_RANGER_ANNOTATION.to_string(), Value::String(val));
        }
    }
}

/// Kubernetes `minConstraint`.
fn min_check(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    req: &ResourceList,
    lim: &ResourceList,
) -> Option<String> {
    let e = enforced.to_millis_ceil();
    let Some(r) = req.get(res) else {
        return Some(format!(
            "minimum {res} usage per {kind} is {enforced}.  No request is specified"
        ));
    };
    if r.to_millis_ceil() < e {
        return Some(format!(
            "minimum {res} usage per {kind} is {enforced}, but request is {r}"
        ));
    }
    match lim.get(res) {
        Some(l) if l.to_millis_ceil() < e => Some(format!(
            "minimum {res} usage per {kind} is {enforced}, but limit is {l}"
        )),
        _ => None,
    }
}

/// Kubernetes `maxConstraint`.
fn max_check(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    req: &ResourceList,
    lim: &ResourceList,
) -> Option<String> {
    let e = enforced.to_millis_ceil();
    let Some(l) = lim.get(res) else {
        return Some(format!(
            "maximum {res} usage per {kind} is {enforced}.  No limit is specified"
        ));
    };
    if l.to_millis_ceil() > e {
        return Some(format!(
            "maximum {res} usage per {kind} is {enforced}, but limit is {l}"
        ));
    }
    match req.get(res) {
        Some(r) if r.to_millis_ceil() > e => Some(format!(
            "maximum {res} usage per {kind} is {enforced}, but request is {r}"
        )),
        _ => None,
    }
}

/// Kubernetes `limitRequestRatioConstraint`.
fn ratio_check(
    kind: &str,
    res: &str,
    enforced: &Quantity,
    req: &ResourceList,
    lim: &ResourceList,
) -> Option<String> {
    let r = req.get(res).map_or(0, Quantity::to_millis_ceil);
    let l = lim.get(res).map_or(0, Quantity::to_millis_ceil);
    let head = format!("{res} max limit to request ratio per {kind} is {enforced}");
    if r == 0 {
        return Some(format!(
            "{head}, but no request is specified or request is 0"
        ));
    }
    if l == 0 {
        return Some(format!("{head}, but no limit is specified or limit is 0"));
    }
    let ratio = l as f64 / r as f64;
    (ratio * 1000.0 > enforced.to_millis_ceil() as f64)
        .then(|| format!("{head}, but provided ratio is {ratio:.6}"))
}

/// Runs min/max/ratio checks of one item against a requests/limits pair.
fn check_item(
    item: &Value,
    kind: &str,
    req: &ResourceList,
    lim: &ResourceList,
    errs: &mut Vec<String>,
) {
    type Check = fn(&str, &str, &Quantity, &ResourceList, &ResourceList) -> Option<String>;
    let checks: [(&str, Check); 3] = [
        ("min", min_check),
        ("max", max_check),
        ("maxLimitRequestRatio", ratio_check),
    ];
    for (field, check) in checks {
        for (res, enforced) in resource_list(item.get(field)) {
            errs.extend(check(kind, &res, &enforced, req, lim));
        }
    }
}

/// Kubernetes' aggregate error text: one message as is, several deduplicated in `[a, b]`.
fn aggregate(errs: Vec<String>) -> Result<(), String> {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    match seen.len() {
        0 => Ok(()),
        1 => Err(seen.remove(0)),
        _ => Err(format!("[{}]", seen.join(", "))),
    }
}

/// LimitRanger validation of a pod: `min`, `max`, `maxLimitRequestRatio` for `Container` and `Pod` items.
pub fn validate(pod: &Value, limit_ranges: &[Value]) -> Result<(), String> {
    let mut errs = Vec::new();
    let spec_list = |f: &str| -> Vec<Value> {
        pod.pointer(&format!("/spec/{f}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let all: Vec<Value> = spec_list("containers")
        .into_iter()
        .chain(spec_list("initContainers"))
        .collect();
    for item in limit_ranges.iter().flat_map(items) {
        match item_type(item) {
            "Container" => {
                for c in &all {
                    check_item(
                        item,
                        "Container",
                        &container_requests(c),
                        &container_limits(c),
                        &mut errs,
                    );
                }
            }
            "Pod" => check_item(
                item,
                "Pod",
                &pod_requests(pod, false),
                &pod_limits(pod, false),
                &mut errs,
            ),
            _ => {}
        }
    }
    aggregate(errs)
}

/// LimitRanger validation of a PersistentVolumeClaim's `spec.resources.requests` against `PersistentVolumeClaim` items.
pub fn validate_pvc(pvc: &Value, limit_ranges: &[Value]) -> Result<(), String> {
    let mut errs = Vec::new();
    let req = resource_list(pvc.pointer("/spec/resources/requests"));
    let kind = "PersistentVolumeClaim";
    for item in limit_ranges
        .iter()
        .flat_map(items)
        .filter(|i| item_type(i) == kind)
    {
        for (res, enforced) in resource_list(item.get("min")) {
            errs.extend(min_check(kind, &res, &enforced, &req, &ResourceList::new()));
        }
        for (res, enforced) in resource_list(item.get("max")) {
            errs.extend(match req.get(&res) {
                None => Some(format!(
                    "maximum {res} usage per {kind} is {enforced}.  No request is specified"
                )),
                Some(r) if r.to_millis_ceil() > enforced.to_millis_ceil() => Some(format!(
                    "maximum {res} usage per {kind} is {enforced}, but request is {r}"
                )),
                _ => None,
            });
        }
    }
    aggregate(errs)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lr(items: Value) -> Value {
        json!({"metadata": {"name": "lr"}, "spec": {"limits": items}})
    }

    fn pod(containers: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": containers}})
    }

    #[test]
    fn fills_defaults_and_annotates() {
        let ranges = [lr(json!([{"type": "Container",
            "default": {"cpu": "1", "memory": "512Mi"},
            "defaultRequest": {"cpu": "0.5"}}]))];
        let mut p = json!({"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "app"}, {"name": "side", "resources": {"limits": {"cpu": "2"}}}],
            "initContainers": [{"name": "init", "resources": {"requests": {"memory": "64Mi"}}}]
        }});
        apply_defaults(&mut p, &ranges);
        assert_eq!(
            p["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "500m", "memory": "512Mi"}})
        );
        assert_eq!(
            p["spec"]["containers"][1]["resources"],
            json!({"limits": {"cpu": "2", "memory": "512Mi"}, "requests": {"cpu": "2", "memory": "512Mi"}})
        );
        assert_eq!(
            p["spec"]["initContainers"][0]["resources"],
            json!({"requests": {"memory": "64Mi", "cpu": "500m"}, "limits": {"cpu": "1", "memory": "512Mi"}})
        );
        assert_eq!(
            p["metadata"]["annotations"][LIMIT_RANGER_ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; \
             memory request for container side; memory limit for container side; \
             cpu request for init container init; cpu, memory limit for init container init"
        );
        let before = p.clone();
        apply_defaults(&mut p, &ranges);
        assert_eq!(p, before);
    }

    #[test]
    fn request_defaults_to_default_limit_then_max_then_min() {
        let mut range = lr(
            json!([{"type": "Container", "max": {"memory": "1Gi"}, "min": {"cpu": "100m"}, "default": {"cpu": "300m"}}]),
        );
        default_limit_range(&mut range);
        assert_eq!(
            range["spec"]["limits"][0],
            json!({"type": "Container", "max": {"memory": "1Gi"}, "min": {"cpu": "100m"},
                   "default": {"cpu": "300m", "memory": "1Gi"}, "defaultRequest": {"cpu": "300m", "memory": "1Gi"}})
        );
        let mut p = pod(json!([{"name": "a"}]));
        apply_defaults(
            &mut p,
            &[lr(json!([{"type": "Container", "min": {"cpu": "100m"}}]))],
        );
        assert_eq!(
            p["spec"]["containers"][0]["resources"],
            json!({"requests": {"cpu": "100m"}})
        );
        let mut p = pod(json!([{"name": "a"}]));
        apply_defaults(&mut p, &[lr(json!([{"type": "Pod", "max": {"cpu": "1"}}]))]);
        assert_eq!(p, pod(json!([{"name": "a"}])));
    }

    #[test]
    fn first_limit_range_wins() {
        let ranges = [
            lr(json!([{"type": "Container", "default": {"cpu": "1"}}])),
            lr(json!([{"type": "Container", "default": {"cpu": "2", "memory": "1Gi"}}])),
        ];
        let mut p = pod(json!([{"name": "a"}]));
        apply_defaults(&mut p, &ranges);
        assert_eq!(
            p["spec"]["containers"][0]["resources"]["limits"],
            json!({"cpu": "1", "memory": "1Gi"})
        );
        assert_eq!(
            p["metadata"]["annotations"][LIMIT_RANGER_ANNOTATION],
            "LimitRanger plugin set: memory request for container a; memory limit for container a"
        );
    }

    #[test]
    fn validates_container_min_max() {
        let ranges = [lr(
            json!([{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]),
        )];
        let big =
            pod(json!([{"name": "a", "resources": {"limits": {"cpu": "4", "memory": "128Mi"}}}]));
        assert_eq!(
            validate(&big, &ranges).unwrap_err(),
            "maximum cpu usage per Container is 2, but limit is 4"
        );
        let ok =
            pod(json!([{"name": "a", "resources": {"limits": {"cpu": "2", "memory": "128Mi"}}}]));
        assert_eq!(validate(&ok, &ranges), Ok(()));
        let none = pod(json!([{"name": "a"}]));
        assert_eq!(
            validate(&none, &ranges).unwrap_err(),
            "[minimum memory usage per Container is 64Mi.  No request is specified, maximum cpu usage per Container is 2.  No limit is specified]"
        );
        let small = pod(
            json!([{"name": "a", "resources": {"requests": {"memory": "32Mi", "cpu": "3"}, "limits": {"cpu": "2"}}}]),
        );
        assert_eq!(
            validate(&small, &ranges).unwrap_err(),
            "[minimum memory usage per Container is 64Mi, but request is 32Mi, maximum cpu usage per Container is 2, but request is 3]"
        );
        let two = pod(json!([
            {"name": "a", "resources": {"limits": {"cpu": "4", "memory": "1Gi"}}},
            {"name": "b", "resources": {"limits": {"cpu": "4", "memory": "1Gi"}}}
        ]));
        assert_eq!(
            validate(&two, &ranges).unwrap_err(),
            "maximum cpu usage per Container is 2, but limit is 4"
        );
    }

    #[test]
    fn validates_ratio_pod_and_pvc() {
        let ranges = [lr(
            json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]),
        )];
        let p = pod(
            json!([{"name": "a", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "300m"}}}]),
        );
        assert_eq!(
            validate(&p, &ranges).unwrap_err(),
            "cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000"
        );
        let p = pod(json!([{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]));
        assert!(
            validate(&p, &ranges)
                .unwrap_err()
                .contains("no limit is specified or limit is 0")
        );

        let pod_range = [lr(json!([{"type": "Pod", "max": {"cpu": "1"}}]))];
        let p = pod(json!([
            {"name": "a", "resources": {"limits": {"cpu": "600m"}}},
            {"name": "b", "resources": {"limits": {"cpu": "600m"}}}
        ]));
        assert_eq!(
            validate(&p, &pod_range).unwrap_err(),
            "maximum cpu usage per Pod is 1, but limit is 1200m"
        );

        let pvc_range = [lr(
            json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]),
        )];
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert_eq!(validate_pvc(&pvc("5Gi"), &pvc_range), Ok(()));
        assert_eq!(
            validate_pvc(&pvc("20Gi"), &pvc_range).unwrap_err(),
            "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"
        );
        assert_eq!(
            validate_pvc(&pvc("500Mi"), &pvc_range).unwrap_err(),
            "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
        );
    }
}
