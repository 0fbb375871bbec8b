//! LimitRange admission for pods: container defaults (`default`, `defaultRequest`) and
//! `min`/`max` checks, as Kubernetes' LimitRanger plugin applies them.

use super::quantity::Quantity;
use serde_json::{Value, json};

fn container_limits(ranges: &[Value]) -> impl Iterator<Item = &Value> {
    ranges
        .iter()
        .flat_map(|r| r["spec"]["limits"].as_array().into_iter().flatten())
        .filter(|l| l["type"] == "Container")
}

/// Fills missing container limits from `default` and requests from `defaultRequest` (or the limit).
pub fn apply_defaults(pod: &mut Value, ranges: &[Value]) {
    let limits: Vec<Value> = container_limits(ranges).cloned().collect();
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        for c in containers {
            for l in &limits {
                for (res, v) in l["default"].as_object().into_iter().flatten() {
                    if c["resources"]["limits"][res].is_null() {
                        c["resources"]["limits"][res] = v.clone();
                    }
                }
                for (res, v) in l["defaultRequest"].as_object().into_iter().flatten() {
                    if c["resources"]["requests"][res].is_null() {
                        c["resources"]["requests"][res] = v.clone();
                    }
                }
                for (res, v) in l["default"].as_object().into_iter().flatten() {
                    if c["resources"]["requests"][res].is_null() && l["defaultRequest"][res].is_null() {
                        c["resources"]["requests"][res] = v.clone();
                    }
                }
            }
            if c["resources"] == json!({}) {
                if let Some(m) = c.as_object_mut() {
                    m.remove("resources");
                }
            }
        }
    }
}

/// Refuses containers outside a LimitRange's `min`/`max`.
pub fn validate(pod: &Value, ranges: &[Value]) -> Result<(), String> {
    let q = |v: &Value| v.as_str().and_then(|s| Quantity::parse(s).ok());
    for l in container_limits(ranges) {
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            for (res, max) in l["max"].as_object().into_iter().flatten() {
                let (Some(max_q), Some(limit)) = (q(max), q(&c["resources"]["limits"][res])) else {
                    continue;
                };
                if limit > max_q {
                    return Err(format!(
                        "maximum {res} usage per Container is {max_q}, but limit is {limit}"
                    ));
                }
            }
            for (res, min) in l["min"].as_object().into_iter().flatten() {
                let (Some(min_q), Some(request)) = (q(min), q(&c["resources"]["requests"][res])) else {
                    continue;
                };
                if request < min_q {
                    return Err(format!(
                        "minimum {res} usage per Container is {min_q}, but request is {request}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_defaults_and_checks_bounds() {
        let lr = json!({"spec": {"limits": [{"type": "Container",
            "default": {"cpu": "250m", "memory": "256M"}, "defaultRequest": {"cpu": "100m"},
            "max": {"cpu": "2"}}]}});
        let mut pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "resources": {"limits": {"cpu": "1"}}}]}});
        apply_defaults(&mut pod, std::slice::from_ref(&lr));
        let a = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(a["limits"], json!({"cpu": "250m", "memory": "256M"}));
        assert_eq!(a["requests"], json!({"cpu": "100m", "memory": "256M"}));
        assert_eq!(pod["spec"]["containers"][1]["resources"]["limits"]["cpu"], "1");
        assert!(validate(&pod, std::slice::from_ref(&lr)).is_ok());
        pod["spec"]["containers"][1]["resources"]["limits"]["cpu"] = json!("4");
        assert_eq!(validate(&pod, &[lr]).unwrap_err(), "maximum cpu usage per Container is 2, but limit is 4");
    }
}
