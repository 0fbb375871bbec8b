//! Any kind the cluster serves (`:pods`, `:deploy`, `:ns`, `:svc`, `:KIND`), k9s style: the Live
//! tab's columns with their sort keys and cells, what its filter searches, the short names
//! operators type, and how a slim row (status, readiness, restarts, Argo CD health) is built
//! from the live object.

use serde_json::Value;

use super::Width::{Fixed, Flex};
use super::{At, Key, Table, field, num, text};
use crate::health::{condition, int, text as str_at};
use crate::ui::data::LiveRow;
use crate::ui::render::cell::{age, line};

/// The Live tab.
pub(crate) static TABLE: Table<LiveRow> = Table {
    title: "Live",
    short_title: "Live",
    command: "live",
    empty_hint: "No objects of this kind here (or none in the namespace filter: :ns all clears it).",
    rows: |v| &v.live.rows,
    fields: &[
        field(
            "NAMESPACE",
            Flex(9, 1),
            2,
            |r| Key::Text(&r.namespace),
            |at, r| line(&r.namespace, at.w, at.theme().text),
        ),
        field(
            "NAME",
            Flex(12, 2),
            0,
            |r| Key::Text(&r.name),
            |at, r| line(&r.name, at.w, at.theme().text),
        ),
        field(
            "READY",
            Fixed(5),
            1,
            |r| Key::Text(&r.ready),
            |at, r| line(&r.ready, at.w, at.theme().text),
        ),
        field(
            "STATUS",
            Flex(8, 2),
            0,
            |r| Key::Text(&r.status),
            |at, r| line(&r.status, at.w, status_style(at, r)),
        ),
        field(
            "RESTARTS",
            Fixed(8),
            3,
            |r| num(r.restarts),
            |at, r| {
                let t = at.theme();
                let style = if r.restarts > 0 { t.warn } else { t.text };
                let n = if r.restarts > 0 || !r.containers.is_empty() {
                    r.restarts.to_string()
                } else {
                    String::new()
                };
                line(&n, at.w, style)
            },
        ),
        field(
            "AGE",
            Fixed(5),
            2,
            // Youngest first.
            |r| num(u64::MAX - r.created),
            |at, r| line(&age(at.state.clock.unix, r.created), at.w, at.theme().dim),
        ),
        field(
            "HEALTH",
            Flex(8, 3),
            0,
            |r| Key::Text(&r.health),
            |at, r| {
                let shown = if r.health_message.is_empty() {
                    r.health.clone()
                } else {
                    format!("{}: {}", r.health, r.health_message)
                };
                line(&shown, at.w, health_style(at, &r.health))
            },
        ),
    ],
    search: |r, push| {
        push(&r.namespace);
        push(&r.name);
        push(&r.status);
        push(&r.health);
    },
    namespace: Some(|r| &r.namespace),
    object: None,
};

/// The colour of a health word (Argo CD's names).
pub(crate) fn health_style(at: &At<'_>, health: &str) -> ratatui::style::Style {
    let t = at.theme();
    match health {
        "Healthy" => t.ok,
        "Degraded" | "Missing" => t.error,
        "Progressing" | "Suspended" | "Unknown" => t.warn,
        _ => t.dim,
    }
}

fn status_style(at: &At<'_>, r: &LiveRow) -> ratatui::style::Style {
    let t = at.theme();
    match r.status.as_str() {
        "Running" | "Available" | "Active" | "Succeeded" | "Completed" | "Bound" => t.ok,
        s if s.contains("BackOff") || s.contains("Error") || s.contains("Exceeded") => t.error,
        "Pending" | "Progressing" | "Terminating" | "ContainerCreating" => t.warn,
        _ => t.text,
    }
}

/// The names operators type for common kinds (kubectl's short names), as the plural the API
/// serves.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("po", "pods"),
    ("pod", "pods"),
    ("deploy", "deployments"),
    ("deployment", "deployments"),
    ("dp", "deployments"),
    ("ns", "namespaces"),
    ("svc", "services"),
    ("rs", "replicasets"),
    ("sts", "statefulsets"),
    ("ds", "daemonsets"),
    ("cm", "configmaps"),
    ("sa", "serviceaccounts"),
    ("pvc", "persistentvolumeclaims"),
    ("pv", "persistentvolumes"),
    ("ing", "ingresses"),
    ("no", "nodes"),
    ("netpol", "networkpolicies"),
    ("quota", "resourcequotas"),
    ("limits", "limitranges"),
    ("crd", "customresourcedefinitions"),
    ("crds", "customresourcedefinitions"),
    ("env", "environments"),
    ("envs", "environments"),
];

/// The plural the API serves for what the operator typed (`deploy` → `deployments`); other words
/// are matched against the served kinds by the runtime (plural, singular, or kind).
pub(crate) fn plural_of(asked: &str) -> &str {
    SHORT_NAMES
        .iter()
        .find(|(short, _)| *short == asked)
        .map_or(asked, |(_, plural)| plural)
}

/// Whether the served resource (`plural`, `kind`) is what the operator typed.
pub(crate) fn is_asked(asked: &str, plural: &str, kind: &str) -> bool {
    let asked = plural_of(&asked.to_ascii_lowercase()).to_owned();
    let kind = kind.to_ascii_lowercase();
    asked == plural || asked == kind || format!("{asked}s") == plural
}

/// The slim row of a live object (its JSON, with apiVersion and kind).
pub(crate) fn row(obj: &Value) -> LiveRow {
    let created = str_at(obj, "/metadata/creationTimestamp");
    let created = chrono::DateTime::parse_from_rfc3339(created)
        .ok()
        .and_then(|t| u64::try_from(t.timestamp()).ok())
        .unwrap_or_default();
    let (health, health_message) = crate::health::of(obj)
        .map(|(h, m)| (h.as_str().to_owned(), m))
        .unwrap_or_default();
    let mut row = LiveRow {
        namespace: text(str_at(obj, "/metadata/namespace")),
        name: text(str_at(obj, "/metadata/name")),
        created,
        health,
        health_message: text(&health_message),
        ..Default::default()
    };
    let group = str_at(obj, "/apiVersion")
        .rsplit_once('/')
        .map_or("", |(g, _)| g);
    match (group, str_at(obj, "/kind")) {
        ("", "Pod") => pod(obj, &mut row),
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") => {
            let want = obj.pointer("/spec/replicas").and_then(Value::as_i64);
            let want = want.unwrap_or(1);
            row.ready = format!("{}/{want}", int(obj, "/status/readyReplicas"));
            row.status = workload_status(obj);
            row.selector = selector(obj);
        }
        ("apps", "DaemonSet") => {
            row.ready = format!(
                "{}/{}",
                int(obj, "/status/numberReady"),
                int(obj, "/status/desiredNumberScheduled")
            );
            row.selector = selector(obj);
        }
        ("orbdeck.io", "Environment") => environment(obj, &mut row),
        ("", "Service") => {
            let type_ = str_at(obj, "/spec/type");
            let ip = str_at(obj, "/spec/clusterIP");
            row.status = text(format!("{type_} {ip}").trim());
        }
        _ => {
            row.status = match str_at(obj, "/status/phase") {
                "" => condition(obj, "Ready")
                    .map(|c| match str_at(c, "/status") {
                        "True" => "Ready".to_owned(),
                        _ => format!("NotReady {}", str_at(c, "/reason"))
                            .trim()
                            .to_owned(),
                    })
                    .unwrap_or_default(),
                phase => phase.to_owned(),
            };
            row.status = text(&row.status);
        }
    }
    row
}

/// A pod's READY, STATUS (the reason a container waits or ended, as kubectl prints it),
/// RESTARTS and containers.
fn pod(obj: &Value, row: &mut LiveRow) {
    let statuses = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    row.containers = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| text(str_at(c, "/name")))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let ready = statuses
        .iter()
        .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    row.ready = format!("{ready}/{}", row.containers.len());
    row.restarts = statuses
        .iter()
        .map(|s| u32::try_from(int(s, "/restartCount")).unwrap_or(0))
        .sum();
    let reason = statuses.iter().find_map(|s| {
        let waiting = str_at(s, "/state/waiting/reason");
        let ended = str_at(s, "/state/terminated/reason");
        [waiting, ended].into_iter().find(|r| !r.is_empty())
    });
    let status = if obj.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if let Some(reason) = reason {
        reason
    } else {
        match str_at(obj, "/status/phase") {
            "" => "Pending",
            phase => phase,
        }
    };
    row.status = text(status);
}

/// An Environment's runner: READY `1/1` once its pod runs, STATUS the pod's phase (`NoPod`
/// before it exists), the Ingress host beside a healthy HEALTH, and its pods' selector (so `l`
/// shows the runner's log).
fn environment(obj: &Value, row: &mut LiveRow) {
    let phase = str_at(obj, "/status/phase");
    row.ready = if phase == "Running" { "1/1" } else { "0/1" }.into();
    row.status = text(phase);
    let host = str_at(obj, "/status/host");
    if row.health == "Healthy" && !host.is_empty() {
        row.health_message = text(host);
    }
    row.selector = format!(
        "{}={}",
        crate::controllers::environments::desired::ENVIRONMENT_LABEL,
        row.name
    );
}

/// A workload's status word: its progress deadline passed, available, or still rolling out.
fn workload_status(obj: &Value) -> String {
    let progressing = condition(obj, "Progressing");
    if progressing.is_some_and(|c| str_at(c, "/reason") == "ProgressDeadlineExceeded") {
        return "ProgressDeadlineExceeded".into();
    }
    match condition(obj, "Available").map(|c| str_at(c, "/status")) {
        Some("True") => "Available".into(),
        Some(_) => "Unavailable".into(),
        None if progressing.is_some() => "Progressing".into(),
        None => String::new(),
    }
}

/// `spec.selector.matchLabels` as a label selector (`app=notebook,tier=web`).
fn selector(obj: &Value) -> String {
    obj.pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// The rows shown: by namespace, then name.
pub(crate) fn rows(rows: impl Iterator<Item = LiveRow>) -> Vec<LiveRow> {
    let mut rows: Vec<LiveRow> = rows.collect();
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_crash_looping_pod_shows_its_reason_restarts_and_degraded_health() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-1", "namespace": "shop",
                "creationTimestamp": "2026-12-01T10:00:00Z"},
            "spec": {"restartPolicy": "Always", "containers": [{"name": "api"}, {"name": "proxy"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "api", "ready": false, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"name": "proxy", "ready": true, "restartCount": 0, "state": {"running": {}}}
            ]}
        });
        let r = row(&pod);
        assert_eq!(r.status, "CrashLoopBackOff");
        assert_eq!(r.ready, "1/2");
        assert_eq!(r.restarts, 4);
        assert_eq!(r.containers, ["api", "proxy"]);
        assert_eq!(r.health, "Degraded");
    }

    #[test]
    fn a_deployment_past_its_deadline_and_its_selector() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": 1, "replicas": 2, "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            ]}
        });
        let r = row(&d);
        assert_eq!(r.status, "ProgressDeadlineExceeded");
        assert_eq!(r.ready, "0/2");
        assert_eq!(r.selector, "app=web");
        assert_eq!(r.health, "Degraded");
    }

    #[test]
    fn an_environment_shows_its_runner_phase_host_and_pod_selector() {
        let env = |phase: &str, ready: &str, reason: &str, message: &str| {
            json!({
                "apiVersion": "orbdeck.io/v1alpha1", "kind": "Environment",
                "metadata": {"name": "proj-42", "namespace": "envs"},
                "spec": {"replId": "proj-42", "language": "nodejs"},
                "status": {"phase": phase, "host": "proj-42.example.org", "conditions": [
                    {"type": "Ready", "status": ready, "reason": reason, "message": message}
                ]}
            })
        };
        let r = row(&env("Running", "True", "RunnerRunning", ""));
        assert_eq!((r.ready.as_str(), r.status.as_str()), ("1/1", "Running"));
        assert_eq!(
            (r.health.as_str(), r.health_message.as_str()),
            ("Healthy", "proj-42.example.org")
        );
        assert_eq!(r.selector, "orbdeck.io/environment=proj-42");
        let r = row(&env(
            "Pending",
            "False",
            "RunnerNotRunning",
            "runner pod proj-42-x is Pending",
        ));
        assert_eq!((r.ready.as_str(), r.status.as_str()), ("0/1", "Pending"));
        assert_eq!(r.health, "Progressing");
        assert_eq!(r.health_message, "runner pod proj-42-x is Pending");
        assert!(is_asked("envs", "environments", "Environment"));
    }

    #[test]
    fn short_names_and_kinds_find_the_served_resource() {
        assert!(is_asked("deploy", "deployments", "Deployment"));
        assert!(is_asked("Pod", "pods", "Pod"));
        assert!(is_asked("configmap", "configmaps", "ConfigMap"));
        assert!(is_asked("profiles", "profiles", "Profile"));
        assert!(!is_asked("po", "podtemplates", "PodTemplate"));
    }
}
