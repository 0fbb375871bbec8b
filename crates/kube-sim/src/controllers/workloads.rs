//! Workload controllers of the sim: Deployment → ReplicaSet → Pods, StatefulSet, DaemonSet and Job,
//! creating pods through the normal write path (so quota, LimitRange and webhooks apply) and reporting status.

use super::{Memory, set_status};
use crate::cluster::Cluster;
use crate::eviction::pod_healthy;
use crate::object::{self, now};
use crate::resources::ResourceType;
use crate::write::{self, WriteOpts};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What a pass decided to do outside the lock.
enum Step {
    /// Create an object through admission.
    Create(Arc<ResourceType>, String, Value),
    /// Delete a pod.
    DeletePod(String, String),
}

fn opts() -> WriteOpts {
    WriteOpts {
        manager: "kube-controller-manager".into(),
        user: "system:kube-controller-manager".into(),
        groups: vec!["system:authenticated".into()],
        dry_run: false,
        internal: false,
        strict: false,
    }
}

/// Pods grouped by their controller's uid (active ones: not terminal, not deleting).
fn pods_by_owner(pods: &[Value]) -> HashMap<String, Vec<Value>> {
    let mut map: HashMap<String, Vec<Value>> = HashMap::new();
    for p in pods {
        if let Some(uid) = object::controller_uid(p) {
            map.entry(uid.to_string()).or_default().push(p.clone());
        }
    }
    map
}

fn is_active(p: &Value) -> bool {
    !object::is_deleting(p)
        && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

fn template_hash(template: &Value) -> String {
    format!(
        "{:x}",
        object::stable_hash(&template.to_string()) & 0xff_ffff_ffff
    )
    .chars()
    .map(|c| match c {
        'a' => 'b',
        'e' => 'f',
        other => other,
    })
    .collect()
}

fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &[(&str, &str)],
) -> Value {
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(name);
    meta["namespace"] = owner["metadata"]["namespace"].clone();
    for (k, v) in extra_labels {
        meta["labels"][*k] = json!(v);
    }
    meta["ownerReferences"] = json!([object::controller_ref(owner)]);
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"].clone()})
}

/// One pass over all workload kinds.
pub async fn pass(c: &Cluster, memory: &mut Memory) {
    let steps = c.store.write(|s| {
        let mut steps = Vec::new();
        let pods = s.list_values("pods", None);
        let by_owner = pods_by_owner(&pods);
        let nodes = s.list_values("nodes", None);
        let (Some(pod_rt), Some(rs_rt)) = (s.type_of_key("pods"), s.type_of_key("replicasets.apps")) else {
            return steps;
        };
        // Deployments own ReplicaSets.
        if let Some(rt) = s.type_of_key("deployments.apps") {
            let all_rs = s.list_values("replicasets.apps", None);
            for d in s.list_values("deployments.apps", None) {
                if object::is_deleting(&d) {
                    continue;
                }
                let hash = template_hash(&d["spec"]["template"]);
                let name = format!("{}-{hash}", object::name(&d));
                let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
                let owned: Vec<&Value> = all_rs.iter().filter(|r| object::controller_uid(r) == Some(object::uid(&d))).collect();
                let current = owned.iter().find(|r| object::name(r) == name);
                match current {
                    None => {
                        let mut template = d["spec"]["template"].clone();
                        template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                        let mut selector = d["spec"]["selector"].clone();
                        selector["matchLabels"]["pod-template-hash"] = json!(hash);
                        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                            "metadata": {"name": name, "namespace": object::namespace(&d),
                                "labels": template["metadata"]["labels"].clone(),
                                "ownerReferences": [object::controller_ref(&d)]},
                            "spec": {"replicas": replicas, "selector": selector, "template": template}});
                        steps.push(Step::Create(rs_rt.clone(), object::namespace(&d).to_string(), rs));
                    }
                    Some(rs) if rs["spec"]["replicas"].as_i64() != Some(replicas) => {
                        let mut rs = (*rs).clone();
                        rs["spec"]["replicas"] = json!(replicas);
                        write::store(s, &rs_rt, rs);
                    }
                    _ => {}
                }
                for old in owned.iter().filter(|r| object::name(r) != name) {
                    if old["spec"]["replicas"].as_i64() != Some(0) {
                        let mut old = (*old).clone();
                        old["spec"]["replicas"] = json!(0);
                        write::store(s, &rs_rt, old);
                    }
                }
                let sum = |field: &str| -> i64 { owned.iter().map(|r| r["status"][field].as_i64().unwrap_or(0)).sum() };
                let updated = current.map_or(0, |r| r["status"]["replicas"].as_i64().unwrap_or(0));
                let available = sum("availableReplicas");
                let total = sum("replicas");
                let ts = d["metadata"]["creationTimestamp"].clone();
                let complete = updated == replicas && total == replicas && available == replicas;
                // Kubernetes' progress deadline: a rollout that has not completed within
                // progressDeadlineSeconds of its ReplicaSet's creation has timed out.
                let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
                let started = current.and_then(|r| r["metadata"]["creationTimestamp"].as_str()).or(ts.as_str());
                let waited = started
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map_or(0, |t| chrono::Utc::now().timestamp() - t.timestamp());
                let timed_out = !complete && waited > deadline;
                if !complete && !timed_out {
                    let left = u64::try_from(deadline - waited + 1).unwrap_or(1);
                    memory.due(std::time::Instant::now() + std::time::Duration::from_secs(left));
                }
                let status = json!({
                    "observedGeneration": d["metadata"]["generation"], "replicas": total,
                    "updatedReplicas": updated, "readyReplicas": sum("readyReplicas"),
                    "availableReplicas": available, "unavailableReplicas": (total - available).max(0),
                    "conditions": [
                        {"type": "Available", "status": if available >= replicas { "True" } else { "False" },
                         "reason": if available >= replicas { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                         "message": "Deployment availability", "lastUpdateTime": ts, "lastTransitionTime": ts},
                        if timed_out {
                            json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                             "message": format!("ReplicaSet \"{name}\" has timed out progressing."), "lastUpdateTime": ts, "lastTransitionTime": ts})
                        } else {
                            json!({"type": "Progressing", "status": "True",
                             "reason": if complete { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                             "message": format!("ReplicaSet \"{name}\" progress"), "lastUpdateTime": ts, "lastTransitionTime": ts})
                        },
                    ]
                });
                let status = strip_zero(status, &["unavailableReplicas", "readyReplicas", "availableReplicas", "updatedReplicas", "replicas"]);
                set_status(s, &rt, d, status);
            }
        }
        // ReplicaSets own pods.
        for rs in s.list_values("replicasets.apps", None) {
            if object::is_deleting(&rs) {
                continue;
            }
            let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
            let active: Vec<Value> = by_owner.get(object::uid(&rs)).into_iter().flatten().filter(|p| is_active(p)).cloned().collect();
            scale_pods(&mut steps, &pod_rt, &rs, &active, want, |_| format!("{}-{}", object::name(&rs), object::random_suffix(5)));
            let ready = active.iter().filter(|p| pod_healthy(p)).count() as i64;
            let status = json!({"replicas": active.len(), "fullyLabeledReplicas": active.len(),
                "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"]});
            let status = strip_zero(status, &["readyReplicas", "availableReplicas", "fullyLabeledReplicas"]);
            set_status(s, &rs_rt, rs, status);
        }
        // StatefulSets own ordinal pods.
        if let Some(rt) = s.type_of_key("statefulsets.apps") {
            for sts in s.list_values("statefulsets.apps", None) {
                if object::is_deleting(&sts) {
                    continue;
                }
                let want = sts["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
                let revision = format!("{}-{}", object::name(&sts), template_hash(&sts["spec"]["template"]));
                let active: Vec<Value> = by_owner.get(object::uid(&sts)).into_iter().flatten().filter(|p| is_active(p)).cloned().collect();
                let base = object::name(&sts).to_string();
                for i in 0..want {
                    let name = format!("{base}-{i}");
                    match active.iter().find(|p| object::name(p) == name) {
                        None if !pods.iter().any(|p| object::name(p) == name && object::namespace(p) == object::namespace(&sts)) => {
                            let pod = pod_from_template(&sts, &sts["spec"]["template"], &name,
                                &[("controller-revision-hash", &revision), ("statefulset.kubernetes.io/pod-name", &name)]);
                            steps.push(Step::Create(pod_rt.clone(), object::namespace(&sts).to_string(), pod));
                        }
                        Some(p) if p["metadata"]["labels"]["controller-revision-hash"] != json!(revision) => {
                            steps.push(Step::DeletePod(object::namespace(p).to_string(), name.clone()));
                        }
                        _ => {}
                    }
                }
                for p in &active {
                    let ordinal = object::name(p).rsplit('-').next().and_then(|n| n.parse::<usize>().ok());
                    if ordinal.is_none_or(|o| o >= want) {
                        steps.push(Step::DeletePod(object::namespace(p).to_string(), object::name(p).to_string()));
                    }
                }
                let current = active.iter().filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(revision)).count();
                let ready = active.iter().filter(|p| pod_healthy(p)).count();
                let status = json!({"observedGeneration": sts["metadata"]["generation"], "replicas": active.len(),
                    "readyReplicas": ready, "currentReplicas": current, "updatedReplicas": current, "availableReplicas": ready,
                    "currentRevision": revision, "updateRevision": revision, "collisionCount": 0});
                let status = strip_zero(status, &["readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"]);
                set_status(s, &rt, sts, status);
            }
        }
        // DaemonSets own one pod per eligible node.
        if let Some(rt) = s.type_of_key("daemonsets.apps") {
            for ds in s.list_values("daemonsets.apps", None) {
                if object::is_deleting(&ds) {
                    continue;
                }
                let revision = template_hash(&ds["spec"]["template"]);
                let active: Vec<Value> = by_owner.get(object::uid(&ds)).into_iter().flatten().filter(|p| is_active(p)).cloned().collect();
                let probe = json!({"spec": ds["spec"]["template"]["spec"].clone()});
                let eligible: Vec<&Value> = nodes.iter().filter(|n| super::kubelet::fits(&probe, n, true)).collect();
                for node in &eligible {
                    let node_name = object::name(node);
                    if !active.iter().any(|p| p["spec"]["nodeName"] == node_name) {
                        let name = format!("{}-{}", object::name(&ds), object::random_suffix(5));
                        let mut pod = pod_from_template(&ds, &ds["spec"]["template"], &name, &[("controller-revision-hash", &revision)]);
                        pod["spec"]["nodeName"] = json!(node_name);
                        steps.push(Step::Create(pod_rt.clone(), object::namespace(&ds).to_string(), pod));
                    }
                }
                for p in &active {
                    let stale = p["metadata"]["labels"]["controller-revision-hash"] != json!(revision);
                    let orphaned = !eligible.iter().any(|n| p["spec"]["nodeName"] == object::name(n));
                    if stale || orphaned {
                        steps.push(Step::DeletePod(object::namespace(p).to_string(), object::name(p).to_string()));
                    }
                }
                let fresh = active.iter().filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(revision)).count();
                let ready = active.iter().filter(|p| pod_healthy(p)).count();
                let status = json!({"observedGeneration": ds["metadata"]["generation"],
                    "desiredNumberScheduled": eligible.len(), "currentNumberScheduled": active.len(),
                    "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": fresh,
                    "numberMisscheduled": 0});
                set_status(s, &rt, ds, status);
            }
        }
        // Jobs run pods to completion.
        if let Some(rt) = s.type_of_key("jobs.batch") {
            for job in s.list_values("jobs.batch", None) {
                if object::is_deleting(&job) {
                    continue;
                }
                let owned: Vec<&Value> = by_owner.get(object::uid(&job)).into_iter().flatten().collect();
                let succeeded = owned.iter().filter(|p| p["status"]["phase"] == "Succeeded").count();
                let active = owned.iter().filter(|p| is_active(p)).count();
                let completions = job["spec"]["completions"].as_u64().unwrap_or(1) as usize;
                let parallelism = job["spec"]["parallelism"].as_u64().unwrap_or(1) as usize;
                let done = succeeded >= completions;
                if !done && job["spec"]["suspend"] != true {
                    let room = parallelism.saturating_sub(active).min(completions.saturating_sub(succeeded + active));
                    for _ in 0..room {
                        let name = format!("{}-{}", object::name(&job), object::random_suffix(5));
                        let uid = object::uid(&job).to_string();
                        let pod = pod_from_template(&job, &job["spec"]["template"], &name,
                            &[("batch.kubernetes.io/controller-uid", &uid), ("batch.kubernetes.io/job-name", object::name(&job))]);
                        steps.push(Step::Create(pod_rt.clone(), object::namespace(&job).to_string(), pod));
                    }
                }
                let mut status = job["status"].clone();
                if !status.is_object() {
                    status = json!({});
                }
                if status["startTime"].is_null() {
                    status["startTime"] = json!(now());
                }
                status["active"] = json!(active);
                status["succeeded"] = json!(succeeded);
                status["ready"] = json!(owned.iter().filter(|p| pod_healthy(p)).count());
                if done && status["completionTime"].is_null() {
                    let ts = now();
                    status["completionTime"] = json!(ts);
                    status["conditions"] = json!([
                        {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": ts, "lastTransitionTime": ts},
                        {"type": "Complete", "status": "True", "lastProbeTime": ts, "lastTransitionTime": ts}]);
                }
                let status = strip_zero(status, &["active", "succeeded"]);
                set_status(s, &rt, job, status);
            }
        }
        steps
    });
    for step in steps {
        let result = match step {
            Step::Create(rt, ns, obj) => write::create(c, &rt, &ns, obj, &opts(), None)
                .await
                .map(|_| ()),
            Step::DeletePod(ns, name) => c.store.write(|s| {
                if let Some(rt) = s.type_of_key("pods") {
                    write::remove(s, &rt, &ns, &name);
                }
                Ok(())
            }),
        };
        if let Err(e) = result {
            tracing::debug!("sim controller write refused: {e}");
        }
    }
}

fn scale_pods(
    steps: &mut Vec<Step>,
    pod_rt: &Arc<ResourceType>,
    owner: &Value,
    active: &[Value],
    want: usize,
    name: impl Fn(usize) -> String,
) {
    if active.len() < want {
        for i in active.len()..want {
            let pod = pod_from_template(owner, &owner["spec"]["template"], &name(i), &[]);
            steps.push(Step::Create(
                pod_rt.clone(),
                object::namespace(owner).to_string(),
                pod,
            ));
        }
    } else if active.len() > want {
        let mut victims: Vec<&Value> = active.iter().collect();
        victims.sort_by_key(|p| pod_healthy(p));
        for p in victims.into_iter().take(active.len() - want) {
            steps.push(Step::DeletePod(
                object::namespace(p).to_string(),
                object::name(p).to_string(),
            ));
        }
    }
}

/// Removes zero-valued counters, as Kubernetes omits them (omitempty).
fn strip_zero(mut status: Value, keys: &[&str]) -> Value {
    if let Some(m) = status.as_object_mut() {
        for k in keys {
            if m.get(*k).and_then(Value::as_i64) == Some(0) {
                m.remove(*k);
            }
        }
    }
    status
}
