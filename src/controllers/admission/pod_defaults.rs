//! `/mutate/poddefaults`: Kubeflow's PodDefault admission, pure (the same rules as Kubeflow's
//! admission-webhook, with conflict messages that name both sides).
//!
//! The PodDefaults of the pod's namespace whose selector matches its labels (Kubeflow's rule:
//! an empty selector matches every pod) apply, unless the pod carries
//! `poddefault.admission.kubeflow.org/exclude: "true"`. Env vars, volumes, volume mounts (by
//! name and by mountPath), tolerations (by key), labels and annotations that two of them, or one
//! of them and the pod, set to different values are a conflict, and the pod is denied with a
//! message naming both and the field. Otherwise everything is appended and the pod annotated
//! `poddefault.admission.kubeflow.org/poddefault-NAME: <resourceVersion>`.

use super::pod::merge_map;
use crate::model::PodDefault;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Annotation with which a pod opts out of every PodDefault.
pub const EXCLUDE_ANNOTATION: &str = "poddefault.admission.kubeflow.org/exclude";
/// Prefix of the annotation naming each PodDefault applied (`...poddefault-NAME`).
pub const APPLIED_PREFIX: &str = "poddefault.admission.kubeflow.org/poddefault-";

/// What admitting a pod through its namespace's PodDefaults gives.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Nothing applies: admit unchanged.
    Unchanged,
    /// The pod with these PodDefaults (names) applied.
    Applied(Value, Vec<String>),
    /// The PodDefaults conflict: deny with this message.
    Conflict(String),
}

/// The pod through `defaults` (those of its namespace).
pub fn apply(pod: &Value, defaults: &[&PodDefault]) -> Outcome {
    let excluded = pod
        .pointer(&format!(
            "/metadata/annotations/{}",
            escape(EXCLUDE_ANNOTATION)
        ))
        .and_then(Value::as_str)
        == Some("true");
    if excluded {
        return Outcome::Unchanged;
    }
    let labels = super::pod::labels(pod);
    let mut matching: Vec<&PodDefault> = defaults
        .iter()
        .copied()
        .filter(|d| selects(&d.spec.selector, &labels))
        .collect();
    if matching.is_empty() {
        return Outcome::Unchanged;
    }
    matching.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut out = pod.clone();
    let mut conflicts = Vec::new();
    {
        let mut metadata = Merger::new("the pod", &mut conflicts);
        for field in ["labels", "annotations"] {
            let existing = out
                .pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut map = existing.clone();
            metadata.seed(field, map.iter().map(|(k, v)| (k.clone(), v.clone())));
            for d in &matching {
                let wanted = if field == "labels" {
                    &d.spec.modifiers.labels
                } else {
                    &d.spec.modifiers.annotations
                };
                for (k, v) in wanted.iter().flatten() {
                    if metadata.offer(field, k, &json!(v), name(d)) {
                        map.insert(k.clone(), json!(v));
                    }
                }
            }
            if map != existing {
                let pairs: Vec<_> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                merge_map(&mut out, field, &pairs);
            }
        }
    }
    let Some(spec) = out.get_mut("spec").and_then(Value::as_object_mut) else {
        return Outcome::Unchanged;
    };
    let mut pod_level = Merger::new("the pod", &mut conflicts);
    merge_list(
        spec,
        "volumes",
        "volume",
        "name",
        &mut pod_level,
        &matching,
        |d| to_values(d.spec.modifiers.volumes.as_deref()),
    );
    merge_list(
        spec,
        "tolerations",
        "toleration",
        "key",
        &mut pod_level,
        &matching,
        |d| to_values(d.spec.modifiers.tolerations.as_deref()),
    );
    for d in &matching {
        if let Some(sa) = &d.spec.modifiers.service_account_name {
            spec.insert("serviceAccountName".into(), json!(sa));
        }
        if let Some(a) = d.spec.modifiers.automount_service_account_token {
            spec.insert("automountServiceAccountToken".into(), json!(a));
        }
    }
    for container in spec
        .get_mut("containers")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let cname = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(c) = container.as_object_mut() else {
            continue;
        };
        let whose = format!("container {cname:?}");
        let mut merger = Merger::new(&whose, &mut conflicts);
        merge_list(c, "env", "env", "name", &mut merger, &matching, |d| {
            to_values(d.spec.modifiers.env.as_deref())
        });
        merge_list(
            c,
            "volumeMounts",
            "volumeMount",
            "name",
            &mut merger,
            &matching,
            |d| to_values(d.spec.modifiers.volume_mounts.as_deref()),
        );
        // Two mounts on one path, whatever their names, are a conflict too.
        let mut paths = Merger::new(&whose, &mut conflicts);
        let mounts: Vec<Value> = c
            .get("volumeMounts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let pod_mounts = container_mounts(pod, &cname);
        paths.seed(
            "mountPath",
            pod_mounts.iter().filter_map(|m| {
                Some((
                    m.get("mountPath")?.as_str()?.to_owned(),
                    m.get("name")?.clone(),
                ))
            }),
        );
        for d in &matching {
            for m in to_values(d.spec.modifiers.volume_mounts.as_deref()) {
                if let (Some(path), Some(n)) =
                    (m.get("mountPath").and_then(Value::as_str), m.get("name"))
                {
                    paths.offer("mountPath", path, n, name(d));
                }
            }
        }
        let _ = mounts;
        for d in &matching {
            if let Some(from) = &d.spec.modifiers.env_from {
                let list = c.entry("envFrom").or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.extend(to_values(Some(from)));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        return Outcome::Conflict(conflicts.join("; "));
    }
    let applied: Vec<(String, String)> = matching
        .iter()
        .map(|d| {
            (
                format!("{APPLIED_PREFIX}{}", name(d)),
                d.metadata.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect();
    merge_map(&mut out, "annotations", &applied);
    Outcome::Applied(out, matching.iter().map(|d| name(d).to_owned()).collect())
}

/// Kubeflow's selector rule: an empty selector matches every pod.
fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    Selector::try_from(selector.clone()).is_ok_and(|s| s.matches(labels))
}

fn name(d: &PodDefault) -> &str {
    d.metadata.name.as_deref().unwrap_or_default()
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn to_values<T: serde::Serialize>(items: Option<&[T]>) -> Vec<Value> {
    super::pod::named_items(items.unwrap_or_default())
}

fn container_mounts(pod: &Value, container: &str) -> Vec<Value> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .and_then(|c| c.get("volumeMounts"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Appends to `object[field]` each PodDefault's items not already there by `key`, recording a
/// conflict for a same-key item with another value.
fn merge_list(
    object: &mut Map<String, Value>,
    field: &str,
    what: &str,
    key: &str,
    merger: &mut Merger<'_>,
    defaults: &[&PodDefault],
    items: impl Fn(&PodDefault) -> Vec<Value>,
) {
    let existing: Vec<Value> = object
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    merger.seed(what, existing.iter().map(|i| (key_of(i, key), i.clone())));
    let mut list = existing;
    for d in defaults {
        for item in items(d) {
            if merger.offer(what, &key_of(&item, key), &item, name(d)) {
                list.push(item);
            }
        }
    }
    if !list.is_empty() {
        object.insert(field.into(), Value::Array(list));
    }
}

fn key_of(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Who set each (field, key) first, to name both sides of a conflict.
struct Merger<'a> {
    whose: String,
    seen: BTreeMap<(String, String), (Value, String)>,
    conflicts: &'a mut Vec<String>,
}

impl<'a> Merger<'a> {
    fn new(whose: &str, conflicts: &'a mut Vec<String>) -> Merger<'a> {
        Merger {
            whose: whose.to_owned(),
            seen: BTreeMap::new(),
            conflicts,
        }
    }

    /// Records what the pod itself has.
    fn seed(&mut self, field: &str, entries: impl Iterator<Item = (String, Value)>) {
        for (k, v) in entries {
            self.seen
                .insert((field.to_owned(), k), (v, "the pod".to_owned()));
        }
    }

    /// Whether PodDefault `by`'s `value` for (`field`, `key`) is new (append it); a different
    /// value already there is recorded as a conflict, an equal one is skipped.
    fn offer(&mut self, field: &str, key: &str, value: &Value, by: &str) -> bool {
        let slot = (field.to_owned(), key.to_owned());
        match self.seen.get(&slot) {
            None => {
                self.seen.insert(slot, (value.clone(), by.to_owned()));
                true
            }
            Some((same, _)) if same == value => false,
            Some((other, first)) => {
                let first = if first == "the pod" {
                    "the pod itself".to_owned()
                } else {
                    format!("PodDefault {first:?}")
                };
                self.conflicts.push(format!(
                    "PodDefault {by:?} conflicts with {first} on {field} {key:?} of {}: {} != {}",
                    self.whose,
                    compact(value),
                    compact(other)
                ));
                false
            }
        }
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PodDefaultSpec;

    fn default(name: &str, yaml: &str) -> PodDefault {
        let spec: PodDefaultSpec = serde_saphyr::from_str(yaml).unwrap();
        let mut d = PodDefault::new(name, spec);
        d.metadata.namespace = Some("alice".into());
        d.metadata.resource_version = Some(format!("{}", name.len()));
        d
    }

    fn pod() -> Value {
        json!({"metadata": {"name": "nb-0", "labels": {"notebook": "yes"}},
               "spec": {"containers": [{"name": "nb", "image": "jupyter",
                                         "env": [{"name": "HOME", "value": "/home"}]}]}})
    }

    #[test]
    fn compatible_poddefaults_are_appended_and_annotated() {
        let a = default(
            "add-gcp",
            "selector: {matchLabels: {notebook: \"yes\"}}\n\
             env: [{name: GCP, value: \"1\"}, {name: HOME, value: /home}]\n\
             volumes: [{name: secret, secret: {secretName: gcp}}]\n\
             volumeMounts: [{name: secret, mountPath: /secret}]\n\
             annotations: {sidecar.istio.io/inject: \"false\"}\n",
        );
        let b = default(
            "tolerate",
            "selector: {}\ntolerations: [{key: gpu, operator: Exists}]\nlabels: {x: z}\n",
        );
        let none = default(
            "other",
            "selector: {matchLabels: {app: web}}\nenv: [{name: Z, value: z}]\n",
        );
        let Outcome::Applied(out, names) = apply(&pod(), &[&b, &none, &a]) else {
            panic!("applied");
        };
        assert_eq!(names, ["add-gcp", "tolerate"]);
        let c = &out["spec"]["containers"][0];
        assert_eq!(
            c["env"],
            json!([{"name": "HOME", "value": "/home"}, {"name": "GCP", "value": "1"}])
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "secret", "mountPath": "/secret"}])
        );
        assert_eq!(
            out["spec"]["tolerations"],
            json!([{"key": "gpu", "operator": "Exists"}])
        );
        assert_eq!(out["metadata"]["labels"]["x"], "z");
        let ann = &out["metadata"]["annotations"];
        assert_eq!(ann["sidecar.istio.io/inject"], "false");
        assert_eq!(ann[format!("{APPLIED_PREFIX}add-gcp")], "7");
        assert_eq!(ann[format!("{APPLIED_PREFIX}tolerate")], "8");
    }

    #[test]
    fn a_conflict_denies_naming_both_poddefaults_and_the_field() {
        let a = default("alpha", "selector: {}\nenv: [{name: MODE, value: fast}]\n");
        let b = default("beta", "selector: {}\nenv: [{name: MODE, value: safe}]\n");
        let Outcome::Conflict(msg) = apply(&pod(), &[&a, &b]) else {
            panic!("conflict");
        };
        assert!(
            msg.contains("\"beta\"") && msg.contains("\"alpha\""),
            "{msg}"
        );
        assert!(msg.contains("env \"MODE\""), "{msg}");
    }

    #[test]
    fn a_mount_path_taken_twice_or_a_value_differing_from_the_pod_is_a_conflict() {
        let a = default(
            "a",
            "selector: {}\nvolumeMounts: [{name: one, mountPath: /data}]\n",
        );
        let b = default(
            "b",
            "selector: {}\nvolumeMounts: [{name: two, mountPath: /data}]\n",
        );
        let Outcome::Conflict(msg) = apply(&pod(), &[&a, &b]) else {
            panic!("conflict");
        };
        assert!(msg.contains("mountPath \"/data\""), "{msg}");
        let home = default("home", "selector: {}\nenv: [{name: HOME, value: /root}]\n");
        let Outcome::Conflict(msg) = apply(&pod(), &[&home]) else {
            panic!("conflict with the pod");
        };
        assert!(msg.contains("the pod itself"), "{msg}");
    }

    #[test]
    fn the_exclude_annotation_opts_the_pod_out() {
        let a = default("a", "selector: {}\nenv: [{name: A, value: a}]\n");
        let mut p = pod();
        p["metadata"]["annotations"] = json!({EXCLUDE_ANNOTATION: "true"});
        assert_eq!(apply(&p, &[&a]), Outcome::Unchanged);
    }

    #[test]
    fn odd_pods_never_panic() {
        let a = default(
            "a",
            "selector: {}\nenv: [{name: A, value: a}]\nvolumeMounts: [{name: v, mountPath: /v}]\n\
             volumes: [{name: v, emptyDir: {}}]\nlabels: {l: m}\n",
        );
        for odd in [
            json!({"metadata": {}}),
            json!({"metadata": {"labels": {"x": "y"}}, "spec": {}}),
            json!({"metadata": {"annotations": []}, "spec": {"containers": "nope"}}),
            json!({"spec": {"containers": [{"name": 7, "env": {}, "volumeMounts": 3}]}}),
            json!(null),
        ] {
            let _ = apply(&odd, &[&a]);
        }
    }
}
