//! The health of a live object by Argo CD's rules (gitops-engine's `pkg/health`): Deployments,
//! StatefulSets, DaemonSets, ReplicaSets, Pods, PersistentVolumeClaims, Jobs, Services of type
//! LoadBalancer, Ingresses, custom resources with a Ready or Available condition, and orbdeck's own
//! kinds (Profile, ImageReplication, ClusterUpgrade). Kinds without a rule have no health.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An object's health, ordered from best to worst as Argo CD rolls them up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Health {
    /// Running as desired.
    Healthy,
    /// Paused or suspended on purpose.
    Suspended,
    /// On its way (a rollout, a pending pod, an unbound claim).
    Progressing,
    /// Desired but not in the cluster.
    Missing,
    /// Failed (a progress deadline passed, a crash loop, a failed job).
    Degraded,
    /// Its status cannot be read.
    Unknown,
}

impl Health {
    /// The name as Argo CD prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Suspended => "Suspended",
            Health::Progressing => "Progressing",
            Health::Missing => "Missing",
            Health::Degraded => "Degraded",
            Health::Unknown => "Unknown",
        }
    }
}

/// A health with the reason for it (empty when Healthy needs none).
pub type Assessed = (Health, String);

/// The integer at JSON pointer `path` of an object (0 when absent).
pub fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

/// The string at JSON pointer `path` of an object (empty when absent).
pub fn text<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or("")
}

/// The condition of `type_` in `status.conditions`.
pub fn condition<'a>(v: &'a Value, type_: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// Whether the controller has seen the latest spec.
fn observed(v: &Value) -> bool {
    int(v, "/metadata/generation") <= int(v, "/status/observedGeneration")
}

/// The health of `obj`, or None when its kind has no health rule.
pub fn of(obj: &Value) -> Option<Assessed> {
    let api_version = text(obj, "/apiVersion");
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    let healthy = || Some((Health::Healthy, String::new()));
    let progressing = |m: String| Some((Health::Progressing, m));
    match (group, text(obj, "/kind")) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("apps", "ReplicaSet") => replica_set(obj),
        ("", "Pod") => pod(obj),
        ("", "PersistentVolumeClaim") => match text(obj, "/status/phase") {
            "Bound" => healthy(),
            "Lost" => Some((Health::Degraded, "the claim lost its volume".into())),
            _ => progressing("waiting for the claim to be bound".into()),
        },
        ("batch", "Job") => job(obj),
        ("", "Service") if text(obj, "/spec/type") != "LoadBalancer" => healthy(),
        ("", "Service") | ("networking.k8s.io", "Ingress") => {
            let ingress = obj
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if ingress {
                healthy()
            } else {
                progressing("waiting for a load balancer address".into())
            }
        }
        ("orbdeck.io", "ImageReplication") => match text(obj, "/status/phase") {
            "Succeeded" | "AlreadyPresent" => healthy(),
            "Failed" | "MaxAttemptsExceeded" => Some((Health::Degraded, message(obj))),
            _ => progressing(format!("replication {}", phase_or_pending(obj))),
        },
        ("orbdeck.io", "ClusterUpgrade") => match text(obj, "/status/phase") {
            // No coordinator has looked at it yet: nothing to say, as Argo CD has for a custom
            // resource without status.
            "" => None,
            "Succeeded" => healthy(),
            "Failed" | "Aborted" => Some((Health::Degraded, message(obj))),
            "Paused" => Some((Health::Suspended, "the upgrade is paused".into())),
            phase => progressing(format!("upgrade {phase}")),
        },
        ("orbdeck.io", "Environment") => environment(obj),
        _ => conditions(obj),
    }
}

/// An Environment: healthy once its runner pod runs, degraded when it does not render or
/// apply, progressing until then (the environments family writes Ready and Failed).
fn environment(obj: &Value) -> Option<Assessed> {
    if let Some(failed) = condition(obj, "Failed").filter(|c| text(c, "/status") == "True") {
        return Some((Health::Degraded, text(failed, "/message").to_string()));
    }
    match condition(obj, "Ready") {
        Some(c) if text(c, "/status") == "True" => Some((Health::Healthy, String::new())),
        Some(c) => Some((Health::Progressing, text(c, "/message").to_string())),
        None => Some((
            Health::Progressing,
            "not rendered yet (is the engine running?)".into(),
        )),
    }
}

fn phase_or_pending(obj: &Value) -> &str {
    match text(obj, "/status/phase") {
        "" => "Pending",
        p => p,
    }
}

fn message(obj: &Value) -> String {
    text(obj, "/status/message").to_string()
}

/// A custom resource's Ready (or else Available) condition; none of them: no health.
fn conditions(obj: &Value) -> Option<Assessed> {
    let c = condition(obj, "Ready").or_else(|| condition(obj, "Available"))?;
    let reason = || {
        let m = text(c, "/message");
        if m.is_empty() { text(c, "/reason") } else { m }.to_string()
    };
    Some(match text(c, "/status") {
        "True" => (Health::Healthy, String::new()),
        "False" => (Health::Degraded, reason()),
        _ => (Health::Progressing, reason()),
    })
}

fn deployment(d: &Value) -> Option<Assessed> {
    if d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Some((Health::Suspended, "Deployment is paused".into()));
    }
    if !observed(d) {
        return Some((
            Health::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation".into(),
        ));
    }
    if condition(d, "Progressing").is_some_and(|c| text(c, "/reason") == "ProgressDeadlineExceeded")
    {
        return Some((
            Health::Degraded,
            format!(
                "Deployment {:?} exceeded its progress deadline",
                text(d, "/metadata/name")
            ),
        ));
    }
    let wanted = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let updated = int(d, "/status/updatedReplicas");
    let replicas = int(d, "/status/replicas");
    let available = int(d, "/status/availableReplicas");
    let m = if updated < wanted {
        format!(
            "Waiting for rollout to finish: {updated} out of {wanted} new replicas have been updated..."
        )
    } else if replicas > updated {
        format!(
            "Waiting for rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        )
    } else if available < updated {
        format!(
            "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        )
    } else {
        return Some((Health::Healthy, String::new()));
    };
    Some((Health::Progressing, m))
}

fn stateful_set(s: &Value) -> Option<Assessed> {
    if !observed(s) {
        return Some((
            Health::Progressing,
            "Waiting for statefulset spec update to be observed...".into(),
        ));
    }
    let wanted = s
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let ready = int(s, "/status/readyReplicas");
    if ready < wanted {
        return Some((
            Health::Progressing,
            format!("Waiting for {} pods to be ready...", wanted - ready),
        ));
    }
    if text(s, "/spec/updateStrategy/type") == "OnDelete" {
        return Some((Health::Healthy, String::new()));
    }
    let (current, update) = (
        text(s, "/status/currentRevision"),
        text(s, "/status/updateRevision"),
    );
    if !update.is_empty() && current != update {
        return Some((
            Health::Progressing,
            "waiting for statefulset rolling update to complete".into(),
        ));
    }
    Some((Health::Healthy, String::new()))
}

fn daemon_set(d: &Value) -> Option<Assessed> {
    if !observed(d) {
        return Some((
            Health::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation".into(),
        ));
    }
    let wanted = int(d, "/status/desiredNumberScheduled");
    let updated = int(d, "/status/updatedNumberScheduled");
    let available = int(d, "/status/numberAvailable");
    if updated < wanted {
        return Some((
            Health::Progressing,
            format!(
                "Waiting for daemon set rollout to finish: {updated} out of {wanted} new pods have been updated..."
            ),
        ));
    }
    if available < wanted {
        return Some((
            Health::Progressing,
            format!(
                "Waiting for daemon set rollout to finish: {available} of {wanted} updated pods are available..."
            ),
        ));
    }
    Some((Health::Healthy, String::new()))
}

fn replica_set(r: &Value) -> Option<Assessed> {
    if !observed(r) {
        return Some((
            Health::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation".into(),
        ));
    }
    if let Some(c) = condition(r, "ReplicaFailure").filter(|c| text(c, "/status") == "True") {
        return Some((Health::Degraded, text(c, "/message").to_string()));
    }
    let wanted = r
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let available = int(r, "/status/availableReplicas");
    if available < wanted {
        return Some((
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {wanted} new replicas are available..."
            ),
        ));
    }
    Some((Health::Healthy, String::new()))
}

/// Container waiting reasons that mean the pod will not start by itself.
const BROKEN: &[&str] = &[
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "InvalidImageName",
    "CreateContainerError",
];

fn pod(p: &Value) -> Option<Assessed> {
    let statuses: Vec<&Value> = ["/status/initContainerStatuses", "/status/containerStatuses"]
        .iter()
        .filter_map(|path| p.pointer(path).and_then(Value::as_array))
        .flatten()
        .collect();
    for s in &statuses {
        let reason = text(s, "/state/waiting/reason");
        if BROKEN.contains(&reason) {
            let m = text(s, "/state/waiting/message");
            return Some((
                Health::Degraded,
                if m.is_empty() {
                    reason.to_string()
                } else {
                    format!("{reason}: {m}")
                },
            ));
        }
    }
    match text(p, "/status/phase") {
        "Succeeded" => Some((Health::Healthy, String::new())),
        "Failed" => Some((Health::Degraded, text(p, "/status/message").to_string())),
        "Running" => {
            let ready = condition(p, "Ready").is_some_and(|c| text(c, "/status") == "True");
            if ready || text(p, "/spec/restartPolicy") != "Always" {
                Some((Health::Healthy, String::new()))
            } else {
                Some((
                    Health::Progressing,
                    "waiting for the pod to be ready".into(),
                ))
            }
        }
        "Unknown" => Some((Health::Unknown, "the pod's node does not report".into())),
        _ => {
            let unschedulable = condition(p, "PodScheduled")
                .filter(|c| text(c, "/status") == "False")
                .map(|c| text(c, "/message").to_string());
            Some((
                Health::Progressing,
                unschedulable.unwrap_or_else(|| "the pod is pending".into()),
            ))
        }
    }
}

fn job(j: &Value) -> Option<Assessed> {
    if let Some(c) = condition(j, "Failed").filter(|c| text(c, "/status") == "True") {
        return Some((Health::Degraded, text(c, "/message").to_string()));
    }
    if condition(j, "Complete").is_some_and(|c| text(c, "/status") == "True") {
        return Some((Health::Healthy, String::new()));
    }
    if j.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Some((Health::Suspended, "the job is suspended".into()));
    }
    Some((Health::Progressing, "the job is running".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 2}, "status": status})
    }

    #[test]
    fn a_deployment_progresses_then_is_healthy_or_degraded_past_its_deadline() {
        let h = |s| of(&deploy(s)).unwrap().0;
        assert_eq!(h(json!({"observedGeneration": 1})), Health::Progressing);
        assert_eq!(
            h(
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1})
            ),
            Health::Progressing
        );
        assert_eq!(
            h(
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
            ),
            Health::Healthy
        );
        let (health, why) = of(&deploy(json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]})))
        .unwrap();
        assert_eq!(health, Health::Degraded);
        assert!(why.contains("exceeded its progress deadline"));
    }

    #[test]
    fn a_crash_looping_pod_is_degraded_and_an_unschedulable_one_progressing() {
        let crash = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"restartPolicy": "Always"},
            "status": {"phase": "Running", "containerStatuses": [
                {"state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}}]}});
        assert_eq!(
            of(&crash).unwrap(),
            (Health::Degraded, "CrashLoopBackOff: back-off 10s".into())
        );
        let pending = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False",
                "message": "0/3 nodes are available"}]}});
        assert_eq!(
            of(&pending).unwrap(),
            (Health::Progressing, "0/3 nodes are available".into())
        );
    }

    #[test]
    fn custom_resources_by_their_ready_condition_and_kinds_without_a_rule_have_none() {
        let profile = |s: &str| {
            json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile",
            "status": {"conditions": [{"type": "Ready", "status": s, "message": "namespace taken"}]}})
        };
        assert_eq!(of(&profile("True")).unwrap().0, Health::Healthy);
        assert_eq!(
            of(&profile("False")).unwrap(),
            (Health::Degraded, "namespace taken".into())
        );
        assert_eq!(of(&json!({"apiVersion": "v1", "kind": "ConfigMap"})), None);
        assert!(Health::Degraded > Health::Progressing && Health::Progressing > Health::Healthy);
    }
}
