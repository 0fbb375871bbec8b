//! What a real API server does to a new built-in object beyond defaulting: the built-in mutating
//! admission plugins for pods (ServiceAccount with its `kube-api-access-*` volume, Priority,
//! DefaultTolerationSeconds) and the registry strategies' `PrepareForCreate` (the initial
//! status, a pod's QoS class, a Job's generated selector).
#![deny(clippy::indexing_slicing)]

use super::object::{at, random_suffix};
use super::status::ApiError;
use super::store::Inner;
use quantity::Quantity;
use serde_json::{Map, Value, json};

/// Where the ServiceAccount admission plugin mounts the token volume.
const TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The built-in priority classes and their values.
const SYSTEM_PRIORITIES: &[(&str, i64)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// The mutating admission plugins for a new pod (before webhooks), reading ServiceAccounts and
/// PriorityClasses from the store; Forbidden for an unknown priority class, as Kubernetes does.
pub fn admit_pod(s: &Inner, ns: &str, pod: &mut Value) -> Result<(), ApiError> {
    let name = super::object::name(pod).to_string();
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    service_account(s, ns, spec);
    priority(s, spec)
        .map_err(|m| ApiError::forbidden(format!("pods \"{name}\" is forbidden: {m}")))?;
    tolerations(spec);
    Ok(())
}

/// ServiceAccount admission: `default` when none is named, the deprecated `serviceAccount`
/// alias, and the projected token volume mounted into every container.
fn service_account(s: &Inner, ns: &str, spec: &mut Map<String, Value>) {
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(sa));
    spec.insert("serviceAccount".into(), json!(sa));
    let automount = match spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
    {
        Some(a) => a,
        None => s
            .get_value("serviceaccounts", ns, &sa)
            .and_then(|a| at(&a, &["automountServiceAccountToken"]).as_bool())
            .unwrap_or(true),
    };
    if !automount {
        return;
    }
    let volume = format!("kube-api-access-{}", random_suffix(5));
    let mut mounted = false;
    for field in ["initContainers", "containers"] {
        for c in objects(spec, field) {
            let mounts = c
                .entry("volumeMounts")
                .or_insert_with(|| json!([]))
                .as_array_mut();
            let Some(mounts) = mounts else { continue };
            if mounts.iter().any(|m| at(m, &["mountPath"]) == TOKEN_PATH) {
                continue;
            }
            mounts.push(json!({"name": volume, "readOnly": true, "mountPath": TOKEN_PATH}));
            mounted = true;
        }
    }
    if !mounted {
        return;
    }
    if let Some(volumes) = spec
        .entry("volumes")
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        volumes.push(token_volume(&volume));
    }
}

/// The projected volume of a bound ServiceAccount token, the cluster CA and the namespace.
fn token_volume(name: &str) -> Value {
    json!({"name": name, "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
    ], "defaultMode": 420}})
}

/// Priority admission: the value (and preemption policy) of the named or global default class.
fn priority(s: &Inner, spec: &mut Map<String, Value>) -> Result<(), String> {
    let key = "priorityclasses.scheduling.k8s.io";
    let named = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(String::from);
    let class = match &named {
        Some(n) => match SYSTEM_PRIORITIES.iter().find(|(c, _)| c == n) {
            Some((_, v)) => Some(json!({"value": v})),
            None => Some(
                s.get_value(key, "", n)
                    .ok_or_else(|| format!("no PriorityClass with name {n} was found"))?,
            ),
        },
        None => s
            .list_values(key, None)
            .into_iter()
            .find(|c| at(c, &["globalDefault"]) == true),
    };
    let value = class
        .as_ref()
        .and_then(|c| at(c, &["value"]).as_i64())
        .unwrap_or(0);
    if let Some(given) = spec.get("priority").and_then(Value::as_i64)
        && given != value
    {
        return Err("the integer value of priority must not be provided in pod spec; priority admission controller computed the priority from the given PriorityClass name".into());
    }
    spec.insert("priority".into(), json!(value));
    let preemption = class
        .as_ref()
        .and_then(|c| at(c, &["preemptionPolicy"]).as_str().map(String::from))
        .unwrap_or_else(|| "PreemptLowerPriority".into());
    spec.entry("preemptionPolicy").or_insert(json!(preemption));
    Ok(())
}

/// DefaultTolerationSeconds: 300 s for the not-ready and unreachable NoExecute taints, unless
/// the pod tolerates them already.
fn tolerations(spec: &mut Map<String, Value>) {
    let Some(list) = spec
        .entry("tolerations")
        .or_insert_with(|| json!([]))
        .as_array_mut()
    else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let covered = list.iter().any(|t| {
            let key_ok = at(t, &["key"]) == key
                || (at(t, &["key"]).is_null() && at(t, &["operator"]) == "Exists");
            let effect_ok = at(t, &["effect"]).is_null() || at(t, &["effect"]) == "NoExecute";
            key_ok && effect_ok
        });
        if !covered {
            list.push(
                json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": 300}),
            );
        }
    }
}

/// `PrepareForCreate` of the registry strategies: the status a new object starts with (what a
/// client sent is dropped) and a Job's selector and pod labels.
pub fn prepare_for_create(group: &str, kind: &str, obj: &mut Value) {
    let status = match (group, kind) {
        ("", "Pod") => json!({"phase": "Pending", "qosClass": qos_class(at(obj, &["spec"]))}),
        ("", "Service") | ("networking.k8s.io", "Ingress") => json!({"loadBalancer": {}}),
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") | ("batch", "Job" | "CronJob") => {
            json!({})
        }
        ("", "ReplicationController") => json!({"replicas": 0}),
        _ => return,
    };
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), status);
    }
    if (group, kind) == ("batch", "Job") {
        job_selector(obj);
    }
}

/// The Job strategy's generated selector (unless `manualSelector`), and `SetDefaults_Job`'s
/// copy of the template labels to a Job without labels (defaulting runs again on read).
fn job_selector(job: &mut Value) {
    let uid = super::object::uid(job).to_string();
    let name = super::object::name(job).to_string();
    if at(job, &["spec", "manualSelector"]) != true {
        let labels = [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ];
        if let Some(template) =
            super::object::at_mut(job, &["spec", "template", "metadata", "labels"])
        {
            if !template.is_object() {
                *template = json!({});
            }
            if let Some(m) = template.as_object_mut() {
                for (k, v) in labels {
                    m.insert(k.into(), json!(v));
                }
            }
        }
        super::object::set(
            job,
            &["spec", "selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
    }
    let template_labels = at(job, &["spec", "template", "metadata", "labels"]).clone();
    let has_labels = super::object::labels(job).is_some_and(|l| !l.is_empty());
    if template_labels.is_object() && !has_labels {
        super::object::set(job, &["metadata", "labels"], template_labels);
    }
}

/// The pod's QoS class: Guaranteed when every container has equal CPU and memory requests and
/// limits, BestEffort when none has any, Burstable otherwise.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .flat_map(|f| at(spec, &[f]).as_array().into_iter().flatten())
        .collect();
    let any = containers.iter().any(|c| {
        ["requests", "limits"].iter().any(|k| {
            at(c, &["resources", k])
                .as_object()
                .is_some_and(|m| m.iter().any(|(_, v)| !is_zero(v)))
        })
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = at(c, &["resources", "limits", r]);
            let request = at(c, &["resources", "requests", r]);
            !limit.is_null() && (request.is_null() || same_quantity(limit, request))
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn is_zero(v: &Value) -> bool {
    parse(v).is_some_and(|q| q.is_zero())
}

fn same_quantity(a: &Value, b: &Value) -> bool {
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn parse(v: &Value) -> Option<Quantity> {
    Quantity::from_json(v).ok()
}

fn objects<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        let pod = |r: Value| json!({"containers": [{"name": "a", "resources": r}]});
        assert_eq!(qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&pod(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        let equal = json!({"limits": {"cpu": "1", "memory": "1Gi"},
            "requests": {"cpu": "1000m", "memory": "1Gi"}});
        assert_eq!(qos_class(&pod(equal)), "Guaranteed");
    }
}
