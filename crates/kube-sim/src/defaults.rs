//! API defaulting of built-in kinds (the `SetDefaults_*` functions of Kubernetes'
//! `pkg/apis/*/v1/defaults.go`, and the declarative defaults of the API types, that a real
//! apiserver runs on every write): namespace name labels, Secret `stringData`, Service, pod spec,
//! container, probe and volume defaults, PersistentVolume(Claim) phase and volume mode, workload
//! update strategies (without which `kubectl rollout status` refuses StatefulSets and
//! DaemonSets), Job and CronJob policies.
#![deny(clippy::indexing_slicing)]

use base64::Engine;
use serde_json::{Map, Value, json};

/// Fills defaults into a built-in object of `kind` in `group`.
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("", "Namespace") => namespace(obj),
        ("", "Secret") => secret(obj),
        ("", "PersistentVolume" | "PersistentVolumeClaim") => volume_phase(obj),
        _ => {}
    }
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match (group, kind) {
        ("", "Pod") => {
            pod_spec(spec);
            pod_only(spec);
        }
        ("", "Service") => service(spec),
        ("batch", "Job") => job(spec),
        ("batch", "CronJob") => {
            set(spec, "concurrencyPolicy", json!("Allow"));
            set(spec, "suspend", json!(false));
            set(spec, "successfulJobsHistoryLimit", json!(3));
            set(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(job) = spec
                .get_mut("jobTemplate")
                .and_then(|t| t.get_mut("spec"))
                .and_then(Value::as_object_mut)
            {
                template(job);
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => network_policy(spec),
        ("", "PersistentVolumeClaim") => set(spec, "volumeMode", json!("Filesystem")),
        ("", "PersistentVolume") => {
            set(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            set(spec, "volumeMode", json!("Filesystem"));
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

/// `SetDefaults_Namespace`: the `kubernetes.io/metadata.name` label, always the name.
fn namespace(obj: &mut Value) {
    let name = crate::object::name(obj).to_string();
    if name.is_empty() {
        return;
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        object(meta, "labels").insert("kubernetes.io/metadata.name".into(), json!(name));
    }
}

/// `type: Opaque`, and `stringData` merged (base64) into `data` and dropped, as the v1 → internal
/// conversion does (`stringData` wins over `data` for the same key).
fn secret(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    set(m, "type", json!("Opaque"));
    let Some(Value::Object(plain)) = m.remove("stringData") else {
        return;
    };
    let data = object(m, "data");
    for (k, v) in plain {
        if let Some(text) = v.as_str() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(k, json!(encoded));
        }
    }
}

/// `SetDefaults_PersistentVolume(Claim)`: a new volume or claim is `Pending` until bound.
fn volume_phase(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        set(object(m, "status"), "phase", json!("Pending"));
    }
}

/// `SetDefaults_Service` (addresses and node ports are allocated on create, see `services`).
fn service(spec: &mut Map<String, Value>) {
    set(spec, "sessionAffinity", json!("None"));
    if spec.get("sessionAffinity").is_some_and(|a| a == "None") {
        spec.remove("sessionAffinityConfig");
    } else if spec.get("sessionAffinity").is_some_and(|a| a == "ClientIP") {
        let config = object(spec, "sessionAffinityConfig");
        set(object(config, "clientIP"), "timeoutSeconds", json!(10800));
    }
    set(spec, "type", json!("ClusterIP"));
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    for port in objects(spec, "ports") {
        set(port, "protocol", json!("TCP"));
        let target_unset = port
            .get("targetPort")
            .is_none_or(|t| t.is_null() || *t == json!(0) || *t == json!(""));
        if target_unset && let Some(p) = port.get("port").cloned() {
            port.insert("targetPort".into(), p);
        }
    }
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally = matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        || (kind == "ClusterIP" && external_ips);
    if externally {
        set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

/// `SetDefaults_Job` with the JobPodReplacementPolicy default (on since Kubernetes 1.29).
fn job(spec: &mut Map<String, Value>) {
    let unset = |spec: &Map<String, Value>, k: &str| spec.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    set(spec, "parallelism", json!(1));
    set(spec, "backoffLimit", json!(6));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    let policy = if unset(spec, "podFailurePolicy") {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set(spec, "podReplacementPolicy", json!(policy));
    template(spec);
}

/// `SetDefaults_NetworkPolicy` and `SetDefaults_NetworkPolicyPort`.
fn network_policy(spec: &mut Map<String, Value>) {
    for rules in ["ingress", "egress"] {
        for rule in objects(spec, rules) {
            for key in ["ports"] {
                for port in objects(rule, key) {
                    set(port, "protocol", json!("TCP"));
                }
            }
        }
    }
    let egress = spec.get("egress").and_then(Value::as_array).is_some();
    let types = if egress {
        json!(["Ingress", "Egress"])
    } else {
        json!(["Ingress"])
    };
    set(spec, "policyTypes", types);
}

/// The objects in the array at `key` (other entries skipped).
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
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        for c in objects(spec, field) {
            container(c);
        }
    }
    for v in objects(spec, "volumes") {
        volume(v);
    }
}

/// `SetDefaults_Pod` (not templates): requests from limits, service links, host ports.
fn pod_only(spec: &mut Map<String, Value>) {
    set(spec, "enableServiceLinks", json!(true));
    let host_network = spec.get("hostNetwork").is_some_and(|h| *h == json!(true));
    for field in ["containers", "initContainers"] {
        for c in objects(spec, field) {
            requests_from_limits(c);
            if host_network {
                for port in objects(c, "ports") {
                    let container_port = port.get("containerPort").cloned();
                    if let Some(p) = container_port.filter(|_| {
                        port.get("hostPort")
                            .is_none_or(|h| h.is_null() || *h == json!(0))
                    }) {
                        port.insert("hostPort".into(), p);
                    }
                }
            }
        }
    }
}

/// Requests default to limits for the resources that have only a limit.
fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(resources) = c.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let requests = object(resources, "requests");
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

fn container(c: &mut Map<String, Value>) {
    let policy = pull_policy(c.get("image").and_then(Value::as_str).unwrap_or(""));
    set(c, "imagePullPolicy", json!(policy));
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    set(c, "resources", json!({}));
    for port in objects(c, "ports") {
        set(port, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            self::probe(p);
        }
    }
    for env in objects(c, "env") {
        if let Some(field) = env
            .get_mut("valueFrom")
            .and_then(|f| f.get_mut("fieldRef"))
            .and_then(Value::as_object_mut)
        {
            set(field, "apiVersion", json!("v1"));
        }
    }
}

/// `SetDefaults_Probe` and `SetDefaults_HTTPGetAction`.
fn probe(p: &mut Map<String, Value>) {
    for (k, v) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        set(p, k, json!(v));
    }
    if let Some(get) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
        set(get, "path", json!("/"));
        set(get, "scheme", json!("HTTP"));
    }
}

/// `SetDefaults_Volume` and the volume sources' default modes (0644).
fn volume(v: &mut Map<String, Value>) {
    if v.keys().all(|k| k == "name") {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = v.get_mut(source).and_then(Value::as_object_mut) {
            set(src, "defaultMode", json!(420));
        }
    }
    if let Some(path) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        set(path, "type", json!(""));
    }
    for source in objects_at(v, &["projected", "sources"]) {
        if let Some(token) = source
            .get_mut("serviceAccountToken")
            .and_then(Value::as_object_mut)
        {
            set(token, "expirationSeconds", json!(3600));
        }
    }
}

fn objects_at<'a>(
    m: &'a mut Map<String, Value>,
    path: &[&str],
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    let (last, steps) = match path.split_last() {
        Some((last, steps)) => (*last, steps),
        None => ("", path),
    };
    let mut cur = Some(m);
    for step in steps {
        cur = cur
            .and_then(|m| m.get_mut(*step))
            .and_then(Value::as_object_mut);
    }
    cur.into_iter().flat_map(move |m| objects(m, last))
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

        let mut pvc = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        apply("", "PersistentVolumeClaim", &mut pvc);
        assert_eq!(pvc["status"], json!({"phase": "Pending"}));
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        let mut pv = json!({"spec": {"persistentVolumeReclaimPolicy": "Delete"},
            "status": {"phase": "Bound"}});
        apply("", "PersistentVolume", &mut pv);
        assert_eq!(pv["status"]["phase"], "Bound");
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");

        let mut s = json!({"spec": {"template": {"spec": {"containers": []}}}});
        apply("apps", "StatefulSet", &mut s);
        assert_eq!(
            s["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
    }
}
