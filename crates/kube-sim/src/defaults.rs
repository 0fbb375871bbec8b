//! API defaulting of built-in kinds (the `SetDefaults_*` functions a real apiserver runs on every
//! write), for the fields clients look at: workload update strategies (without which
//! `kubectl rollout status` refuses StatefulSets and DaemonSets), pod spec and container defaults.
#![deny(clippy::indexing_slicing)]

use serde_json::{Map, Value, json};

/// Fills defaults into a built-in object of `kind` (group "" or "apps").
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match (group, kind) {
        ("", "Pod") => {
            pod_spec(spec);
            set(spec, "enableServiceLinks", json!(true));
        }
        ("", "ReplicationController") | ("apps", "ReplicaSet") => {
            set(spec, "replicas", json!(1));
            template(spec);
        }
        ("apps", "Deployment") => {
            set(spec, "replicas", json!(1));
            set(spec, "revisionHistoryLimit", json!(10));
            set(spec, "progressDeadlineSeconds", json!(600));
            let strategy = object(spec, "strategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").is_some_and(|t| t == "RollingUpdate") {
                let rolling = object(strategy, "rollingUpdate");
                set(rolling, "maxUnavailable", json!("25%"));
                set(rolling, "maxSurge", json!("25%"));
            }
            template(spec);
        }
        ("apps", "StatefulSet") => {
            set(spec, "replicas", json!(1));
            set(spec, "podManagementPolicy", json!("OrderedReady"));
            set(spec, "revisionHistoryLimit", json!(10));
            let strategy = object(spec, "updateStrategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").is_some_and(|t| t == "RollingUpdate") {
                set(object(strategy, "rollingUpdate"), "partition", json!(0));
            }
            let retention = object(spec, "persistentVolumeClaimRetentionPolicy");
            set(retention, "whenDeleted", json!("Retain"));
            set(retention, "whenScaled", json!("Retain"));
            template(spec);
        }
        ("apps", "DaemonSet") => {
            set(spec, "revisionHistoryLimit", json!(10));
            let strategy = object(spec, "updateStrategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").is_some_and(|t| t == "RollingUpdate") {
                let rolling = object(strategy, "rollingUpdate");
                set(rolling, "maxUnavailable", json!(1));
                set(rolling, "maxSurge", json!(0));
            }
            template(spec);
        }
        _ => {}
    }
}

fn set(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), value);
    }
}

fn object<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    if !m.get(key).is_some_and(Value::is_object) {
        m.insert(key.into(), json!({}));
    }
    m.get_mut(key)
        .and_then(Value::as_object_mut)
        .expect("just inserted")
}

fn template(spec: &mut Map<String, Value>) {
    if let Some(pod) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(pod);
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "securityContext", json!({}));
    set(spec, "schedulerName", json!("default-scheduler"));
    for field in ["containers", "initContainers"] {
        for c in spec
            .get_mut(field)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(c) = c.as_object_mut() else { continue };
            let policy = pull_policy(c.get("image").and_then(Value::as_str).unwrap_or(""));
            set(c, "imagePullPolicy", json!(policy));
            set(c, "terminationMessagePath", json!("/dev/termination-log"));
            set(c, "terminationMessagePolicy", json!("File"));
            set(c, "resources", json!({}));
            for port in c
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(port) = port.as_object_mut() {
                    set(port, "protocol", json!("TCP"));
                }
            }
        }
    }
}

/// `Always` for `:latest` or untagged images, `IfNotPresent` otherwise.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn defaults_workloads_and_keeps_given_values() {
        let mut d = json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"},
            "template": {"spec": {"containers": [{"name": "a", "image": "nginx"},
                {"name": "b", "image": "reg:5000/x:1.2", "ports": [{"containerPort": 80}]}]}}}});
        apply("apps", "Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(pod["containers"][1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["containers"][1]["ports"][0]["protocol"], "TCP");

        let mut s = json!({"spec": {"template": {"spec": {"containers": []}}}});
        apply("apps", "StatefulSet", &mut s);
        assert_eq!(
            s["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
    }
}
