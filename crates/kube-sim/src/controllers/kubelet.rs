//! Simulated nodes: the scheduler binds pending pods to schedulable nodes and a kubelet moves
//! bound pods to Running (and Job pods to Succeeded) after configured delays, writing a few lines
//! to each container's log as it does.

use super::Memory;
use crate::cluster::Cluster;
use crate::object::{self, now};
use crate::write;
use serde_json::{Value, json};
use std::time::Instant;

/// A Ready node object; the first one is labelled control-plane.
pub fn new_node(name: &str, index: usize, kubelet_version: &str) -> Value {
    let mut labels = json!({"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64"});
    if index == 0 {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
    }
    let ts = now();
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": ts, "labels": labels},
        "spec": {"podCIDR": format!("10.244.{index}.0/24")},
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "addresses": [{"type": "InternalIP", "address": format!("192.168.{}.{}", 10 + index / 250, index % 250 + 2)},
                          {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status", "lastHeartbeatTime": ts, "lastTransitionTime": ts}],
            "nodeInfo": {"kubeletVersion": kubelet_version, "kubeProxyVersion": kubelet_version,
                "containerRuntimeVersion": "containerd://1.7.0", "osImage": "orbdeck sim", "operatingSystem": "linux",
                "architecture": "amd64", "kernelVersion": "6.1.0", "machineID": "", "systemUUID": "", "bootID": ""}
        }
    })
}

fn node_ready(node: &Value) -> bool {
    node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn tolerates(pod: &Value, node: &Value) -> bool {
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|taint| {
            if taint["effect"] == "PreferNoSchedule" {
                return true;
            }
            pod["spec"]["tolerations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| {
                    (t["key"].is_null() && t["operator"] == "Exists")
                        || (t["key"] == taint["key"]
                            && (t["operator"] == "Exists" || t["value"] == taint["value"])
                            && (t["effect"].is_null() || t["effect"] == taint["effect"]))
                })
        })
}

/// Whether a pod may be placed on a node (readiness, cordon, nodeSelector, taints).
pub fn fits(pod: &Value, node: &Value, ignore_cordon: bool) -> bool {
    let selector_ok = pod["spec"]["nodeSelector"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| node["metadata"]["labels"][k] == *v);
    node_ready(node)
        && (ignore_cordon || node["spec"]["unschedulable"] != true)
        && selector_ok
        && tolerates(pod, node)
}

/// One scheduler + kubelet pass.
pub fn pass(c: &Cluster, memory: &mut Memory) {
    let delay = c.options.pod_start_delay;
    let run_time = c.options.job_run_time;
    c.store.write(|s| {
        let Some(rt) = s.type_of_key("pods") else { return };
        let nodes = s.list_values("nodes", None);
        let pods = s.list_values("pods", None);
        let mut per_node: std::collections::HashMap<String, usize> = Default::default();
        for p in &pods {
            if let Some(n) = p["spec"]["nodeName"].as_str() {
                *per_node.entry(n.to_string()).or_default() += 1;
            }
        }
        // A deleted pod's logs go with it.
        c.logs.retain(&pods.iter().map(|p| object::uid(p).to_string()).collect());
        let now_i = Instant::now();
        for mut pod in pods {
            if object::is_deleting(&pod) {
                continue;
            }
            let uid = object::uid(&pod).to_string();
            let phase = pod["status"]["phase"].as_str().unwrap_or("Pending").to_string();
            let node_name = pod["spec"]["nodeName"].as_str().unwrap_or("").to_string();
            if node_name.is_empty() {
                let choice = nodes
                    .iter()
                    .filter(|n| fits(&pod, n, false))
                    .min_by_key(|n| per_node.get(object::name(n)).copied().unwrap_or(0));
                match choice {
                    Some(node) => {
                        let n = object::name(node).to_string();
                        *per_node.entry(n.clone()).or_default() += 1;
                        pod["spec"]["nodeName"] = json!(n);
                        pod["status"] = json!({"phase": "Pending", "conditions": [
                            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}],
                            "qosClass": qos_class(&pod)});
                        memory.since.insert(uid, now_i);
                        memory.due(now_i + delay);
                        write::store(s, &rt, pod);
                    }
                    None => {
                        let status = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled",
                            "status": "False", "reason": "Unschedulable",
                            "message": format!("0/{} nodes are available", nodes.len())}],
                            "qosClass": qos_class(&pod)});
                        if pod["status"]["conditions"] != status["conditions"] {
                            let event = failed_scheduling(&pod, nodes.len());
                            pod["status"] = status;
                            write::store(s, &rt, pod);
                            if let Some(events) = s.type_of_key("events") {
                                write::store(s, &events, event);
                            }
                        }
                    }
                }
                continue;
            }
            let since = *memory.since.entry(uid.clone()).or_insert(now_i);
            match phase.as_str() {
                "Pending" => {
                    if now_i < since + delay {
                        memory.due(since + delay);
                        continue;
                    }
                    let host_ip = nodes
                        .iter()
                        .find(|n| object::name(n) == node_name)
                        .and_then(|n| n["status"]["addresses"][0]["address"].as_str())
                        .unwrap_or("192.168.10.2")
                        .to_string();
                    pod["status"] = running_status(&pod, &host_ip);
                    log_started(c, &pod, &node_name);
                    memory.since.insert(uid, now_i);
                    if is_job_pod(&pod) {
                        memory.due(now_i + run_time);
                    }
                    write::store(s, &rt, pod);
                }
                "Running" if is_job_pod(&pod) => {
                    if now_i < since + run_time {
                        memory.due(since + run_time);
                        continue;
                    }
                    let mut status = pod["status"].clone();
                    status["phase"] = json!("Succeeded");
                    let ts = now();
                    let statuses: Vec<Value> = pod["spec"]["containers"].as_array().into_iter().flatten()
                        .map(|ctr| json!({"name": ctr["name"], "image": ctr["image"], "ready": false,
                            "restartCount": 0, "started": false,
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ts}}}))
                        .collect();
                    status["containerStatuses"] = json!(statuses);
                    status["conditions"] = json!([{"type": "Ready", "status": "False", "reason": "PodCompleted"},
                        {"type": "PodScheduled", "status": "True"}]);
                    pod["status"] = status;
                    log_completed(c, &pod);
                    memory.since.remove(&uid);
                    write::store(s, &rt, pod);
                }
                _ => {}
            }
        }
    });
}

/// The names and images of a pod's containers.
fn containers(pod: &Value) -> impl Iterator<Item = (&str, &str)> {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|ctr| {
            (
                ctr["name"].as_str().unwrap_or(""),
                ctr["image"].as_str().unwrap_or(""),
            )
        })
}

/// What a container's log starts with: its image pulled and it started.
fn log_started(c: &Cluster, pod: &Value, node: &str) {
    let uid = object::uid(pod);
    for (name, image) in containers(pod) {
        c.logs.append(
            uid,
            name,
            &format!(
                "sim-kubelet: pulled image \"{image}\"\n\
                 sim-kubelet: started container \"{name}\" on node \"{node}\""
            ),
        );
    }
}

/// What a Job's container logs as it completes.
fn log_completed(c: &Cluster, pod: &Value) {
    let uid = object::uid(pod);
    for (name, _) in containers(pod) {
        c.logs.append(
            uid,
            name,
            &format!("sim-kubelet: container \"{name}\" completed (exit code 0)"),
        );
    }
}

/// The QoS class the pod was created with (computed again for pods stored before it was kept).
fn qos_class(pod: &Value) -> Value {
    match pod["status"]["qosClass"].as_str() {
        Some(q) => json!(q),
        None => json!(crate::prepare::qos_class(&pod["spec"])),
    }
}

fn is_job_pod(pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| o["kind"] == "Job")
}

/// The Warning Event a scheduler records when no node fits a pod.
fn failed_scheduling(pod: &Value, nodes: usize) -> Value {
    let (ns, name) = (object::namespace(pod), object::name(pod));
    let ts = now();
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.{}", uuid::Uuid::new_v4().simple()), "namespace": ns,
            "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": ts},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": name,
            "uid": object::uid(pod)},
        "type": "Warning", "reason": "FailedScheduling",
        "message": format!("0/{nodes} nodes are available: no node matches the pod's node selector, resources or taints."),
        "source": {"component": "default-scheduler"},
        "firstTimestamp": ts, "lastTimestamp": ts, "count": 1
    })
}

/// Pod annotation naming the containers (comma-separated, or `*`) the simulated kubelet lets
/// crash in a loop, for tests and demos of a failing workload.
pub const CRASH_ANNOTATION: &str = "sim.orbdeck.io/crash-containers";

/// Whether the pod's annotation asks container `name` to crash.
fn crashes(pod: &Value, name: &str) -> bool {
    pod["metadata"]["annotations"][CRASH_ANNOTATION]
        .as_str()
        .is_some_and(|list| list.split(',').any(|c| c.trim() == "*" || c.trim() == name))
}

fn running_status(pod: &Value, host_ip: &str) -> Value {
    let ts = now();
    let pod_name = object::name(pod);
    let statuses: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|ctr| {
            let name = ctr["name"].as_str().unwrap_or("");
            let mut status = json!({"name": ctr["name"], "image": ctr["image"], "imageID": format!("sim://{}", ctr["image"].as_str().unwrap_or("")),
                "containerID": format!("containerd://{}", uuid::Uuid::new_v4().simple()),
                "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": ts}}});
            if crashes(pod, name) {
                status["ready"] = json!(false);
                status["started"] = json!(false);
                status["restartCount"] = json!(5);
                status["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off 5m0s restarting failed container={name} pod={pod_name}")}});
                status["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": ts, "finishedAt": ts}});
            }
            status
        })
        .collect();
    let ready = if statuses.iter().all(|s| s["ready"] == json!(true)) {
        "True"
    } else {
        "False"
    };
    let ip_tail = object::stable_hash(object::uid(pod)) % 65000;
    json!({
        "phase": "Running", "hostIP": host_ip, "podIP": format!("10.244.{}.{}", ip_tail / 250, ip_tail % 250 + 2),
        "startTime": ts, "qosClass": qos_class(pod),
        "conditions": [
            {"type": "Initialized", "status": "True", "lastTransitionTime": ts},
            {"type": "Ready", "status": ready, "lastTransitionTime": ts},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": ts},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts},
        ],
        "containerStatuses": statuses,
    })
}
