//! Server-side printing (`meta.k8s.io/v1 Table`) for `kubectl get`: columns per kind, and a CRD's
//! additionalPrinterColumns evaluated as simple JSONPaths.

use super::api::Query;
use super::resources::ResourceType;
use serde_json::{Value, json};

type Column = (&'static str, &'static str, u8);

fn builtin_columns(kind: &str) -> Vec<Column> {
    let mut cols: Vec<Column> = vec![("Name", "string", 0)];
    cols.extend_from_slice(match kind {
        "Pod" => &[
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
        ],
        "Deployment" => &[
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            ("Age", "string", 0),
        ],
        "ReplicaSet" => &[
            ("Desired", "string", 0),
            ("Current", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
        ],
        "Node" => &[
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
        ],
        "Namespace" => &[("Status", "string", 0), ("Age", "string", 0)],
        "Service" => &[
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("Age", "string", 0),
        ],
        "ConfigMap" => &[("Data", "string", 0), ("Age", "string", 0)],
        "PodDisruptionBudget" => &[
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "string", 0),
            ("Age", "string", 0),
        ],
        "ResourceQuota" => &[("Age", "string", 0), ("Request", "string", 0)],
        _ => &[("Age", "string", 0)],
    });
    cols
}

/// Events' columns as the API server prints them (the name only with `-o wide`).
const EVENT_COLUMNS: [(&str, u8); 6] = [
    ("Last Seen", 0),
    ("Type", 0),
    ("Reason", 0),
    ("Object", 0),
    ("Message", 0),
    ("Name", 1),
];

/// A core Event's cell in one of [`EVENT_COLUMNS`].
fn event_cell(event: &Value, column: &str) -> Value {
    let s = |p: &str| event.pointer(p).and_then(Value::as_str).unwrap_or("");
    json!(match column {
        "Last Seen" => {
            let seen = [
                s("/lastTimestamp"),
                s("/eventTime"),
                s("/metadata/creationTimestamp"),
            ];
            age(seen.into_iter().find(|t| !t.is_empty()).unwrap_or(""))
        }
        "Type" => s("/type").to_owned(),
        "Reason" => s("/reason").to_owned(),
        "Object" => format!(
            "{}/{}",
            s("/involvedObject/kind").to_lowercase(),
            s("/involvedObject/name")
        ),
        "Message" => s("/message").to_owned(),
        _ => s("/metadata/name").to_owned(),
    })
}

/// A Table of Events.
fn event_table(objects: &[Value]) -> Value {
    let defs: Vec<Value> = EVENT_COLUMNS
        .iter()
        .map(|(name, priority)| json!({"name": name, "type": "string", "format": if *name == "Name" { "name" } else { "" }, "description": name, "priority": priority}))
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let cells: Vec<Value> = EVENT_COLUMNS
                .iter()
                .map(|(name, _)| event_cell(obj, name))
                .collect();
            let mut meta = obj["metadata"].clone();
            if let Some(m) = meta.as_object_mut() {
                m.remove("managedFields");
            }
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": defs, "rows": rows})
}

/// A Table of the given objects of one kind.
pub fn table(rt: &ResourceType, objects: &[Value], _query: &Query) -> Value {
    if rt.kind == "Event" && rt.group.is_empty() {
        return event_table(objects);
    }
    let printer = rt
        .crd
        .as_ref()
        .map(|c| c.printer_columns.clone())
        .unwrap_or_default();
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}),
    ];
    if rt.crd.is_some() {
        for col in &printer {
            defs.push(json!({"name": col["name"], "type": col["type"].as_str().unwrap_or("string"),
                "format": col["format"].as_str().unwrap_or(""), "description": col["description"].as_str().unwrap_or(""),
                "priority": col["priority"].as_i64().unwrap_or(0)}));
        }
        if !printer.iter().any(|c| c["name"] == "Age") {
            defs.push(json!({"name": "Age", "type": "date", "format": "", "description": "age", "priority": 0}));
        }
    } else {
        for (name, ty, priority) in builtin_columns(&rt.kind).into_iter().skip(1) {
            defs.push(json!({"name": name, "type": ty, "format": "", "description": name, "priority": priority}));
        }
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let cells: Vec<Value> = if rt.crd.is_some() {
                let mut cells = vec![obj["metadata"]["name"].clone()];
                for col in &printer {
                    let v = jsonpath(obj, col["jsonPath"].as_str().unwrap_or(""));
                    cells.push(if col["type"] == "date" {
                        json!(age(v.as_str().unwrap_or("")))
                    } else {
                        v
                    });
                }
                if !printer.iter().any(|c| c["name"] == "Age") {
                    cells.push(json!(age(obj["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or(""))));
                }
                cells
            } else {
                builtin_columns(&rt.kind)
                    .iter()
                    .map(|(name, _, _)| cell(obj, name))
                    .collect()
            };
            let mut meta = obj["metadata"].clone();
            if let Some(m) = meta.as_object_mut() {
                m.remove("managedFields");
            }
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": defs, "rows": rows})
}

fn cell(obj: &Value, column: &str) -> Value {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let st = &obj["status"];
    let text = match column {
        "Name" => s(&obj["metadata"]["name"]),
        "Age" => age(obj["metadata"]["creationTimestamp"].as_str().unwrap_or("")),
        "Ready" if obj["kind"] == "Pod" => {
            let total = obj["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = st["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["ready"] == true)
                .count();
            format!("{ready}/{total}")
        }
        "Ready" if obj["kind"] == "ReplicaSet" => n(&st["readyReplicas"]).to_string(),
        "Ready" => format!(
            "{}/{}",
            n(&st["readyReplicas"]),
            obj["spec"]["replicas"].as_i64().unwrap_or(1)
        ),
        "Status" if obj["kind"] == "Pod" => {
            if obj["metadata"]["deletionTimestamp"].is_string() {
                "Terminating".into()
            } else {
                s(&st["phase"])
            }
        }
        "Status" if obj["kind"] == "Node" => {
            let ready = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let mut text = if ready {
                "Ready".to_string()
            } else {
                "NotReady".to_string()
            };
            if obj["spec"]["unschedulable"] == true {
                text.push_str(",SchedulingDisabled");
            }
            text
        }
        "Status" => s(&st["phase"]),
        "Restarts" => st["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| n(&c["restartCount"]))
            .sum::<i64>()
            .to_string(),
        "IP" => s(&st["podIP"]),
        "Node" => s(&obj["spec"]["nodeName"]),
        "Up-to-date" => n(&st["updatedReplicas"]).to_string(),
        "Available" => n(&st["availableReplicas"]).to_string(),
        "Desired" => obj["spec"]["replicas"].as_i64().unwrap_or(1).to_string(),
        "Current" => n(&st["replicas"]).to_string(),
        "Roles" => {
            let mut roles: Vec<String> = obj["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/").map(String::from))
                .collect();
            roles.sort();
            if roles.is_empty() {
                "<none>".into()
            } else {
                roles.join(",")
            }
        }
        "Version" => s(&st["nodeInfo"]["kubeletVersion"]),
        "Type" => s(&obj["spec"]["type"]).if_empty("ClusterIP"),
        "Cluster-IP" => s(&obj["spec"]["clusterIP"]).if_empty("<none>"),
        "Data" => obj["data"].as_object().map_or(0, |m| m.len()).to_string(),
        "Min Available" => value_text(&obj["spec"]["minAvailable"]),
        "Max Unavailable" => value_text(&obj["spec"]["maxUnavailable"]),
        "Allowed Disruptions" => n(&st["disruptionsAllowed"]).to_string(),
        "Request" => {
            let mut parts: Vec<String> = st["used"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}: {}/{}", s(v), s(&st["hard"][k])))
                .collect();
            parts.sort();
            parts.join(", ")
        }
        _ => String::new(),
    };
    json!(text)
}

trait IfEmpty {
    fn if_empty(self, default: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, default: &str) -> String {
        if self.is_empty() {
            default.to_string()
        } else {
            self
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "N/A".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates a simple JSONPath (`.spec.size`, `.status.conditions[0].type`).
pub fn jsonpath(obj: &Value, path: &str) -> Value {
    let mut cur = obj;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        cur = &cur[name];
        if let Some(i) = index {
            cur = &cur[i];
        }
    }
    cur.clone()
}

/// Kubernetes' short human duration since an RFC 3339 time ("5s", "3m12s", "2d").
pub fn age(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    match secs {
        s if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", secs % 60),
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 => format!("{d}d{}h", h % 24),
        _ => format!("{d}d"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_and_age() {
        let obj = json!({"spec": {"size": 3, "items": [{"a": "x"}]}});
        assert_eq!(jsonpath(&obj, ".spec.size"), json!(3));
        assert_eq!(jsonpath(&obj, ".spec.items[0].a"), json!("x"));
        assert_eq!(age("not a time"), "<unknown>");
        let ts = (chrono::Utc::now() - chrono::Duration::seconds(30)).to_rfc3339();
        assert_eq!(age(&ts), "30s");
    }
}
