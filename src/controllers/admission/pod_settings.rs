//! `/mutate/podsettings` (seed 000's podsettings-pod-modifier, Orbit's PodSetting semantics),
//! pure: a pod and its team's PodSettings in, the modified pod and the names applied out.
//!
//! Every PodSetting whose selector matches the pod's labels (an empty selector or an unlabelled
//! pod never matches) is applied in name order: `serviceAccountName` replaced; labels,
//! annotations, nodeSelector and securityContext merged, the PodSetting winning; volumes and
//! tolerations replaced by name or appended; and, for the containers its `containerSelector`
//! picks, env and volumeMounts replaced by name or appended, envFrom extended,
//! image/imagePullPolicy/command/args replaced when set, resources merged key by key.

use super::pod::{self, merge_map, merge_named, named_items};
use crate::model::PodSetting;
use serde_json::{Value, json};

/// Annotation on an admitted pod listing the PodSettings applied to it, in order.
pub const APPLIED_ANNOTATION: &str = "orbdeck.io/applied-podsettings";

/// The pod after its team's `settings`, and the names of those applied (empty: unchanged).
///
/// A PodSetting whose container regex does not compile is skipped and named in the error list.
pub fn apply(mut pod: Value, settings: &[&PodSetting]) -> (Value, Vec<String>, Vec<String>) {
    let mut sorted: Vec<&PodSetting> = settings.to_vec();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let labels = pod::labels(&pod);
    let mut applied = Vec::new();
    let mut errors = Vec::new();
    for setting in sorted {
        let name = setting.metadata.name.clone().unwrap_or_default();
        if !pod::selects(&setting.spec.selector, &labels) {
            continue;
        }
        let picks = match Picker::new(setting) {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("PodSetting {name}: containerSelector.regex: {e}"));
                continue;
            }
        };
        apply_one(&mut pod, setting, &picks);
        applied.push(name);
    }
    if !applied.is_empty() {
        merge_map(
            &mut pod,
            "annotations",
            &[(APPLIED_ANNOTATION.to_owned(), applied.join(","))],
        );
    }
    (pod, applied, errors)
}

/// Which containers a PodSetting's container-level settings reach.
enum Picker {
    All,
    Matching(regex::Regex),
}

impl Picker {
    fn new(setting: &PodSetting) -> Result<Picker, regex::Error> {
        match setting
            .spec
            .container_selector
            .as_ref()
            .and_then(|c| c.regex.as_deref())
        {
            Some(re) => Ok(Picker::Matching(regex::Regex::new(&format!("^(?:{re})$"))?)),
            None => Ok(Picker::All),
        }
    }

    fn picks(&self, container: &Value) -> bool {
        match self {
            Picker::All => true,
            Picker::Matching(re) => re.is_match(
                container
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
        }
    }
}

fn apply_one(pod: &mut Value, setting: &PodSetting, picker: &Picker) {
    let spec = &setting.spec;
    let m = &spec.modifiers;
    if let Some(labels) = &m.labels {
        let pairs: Vec<_> = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        merge_map(pod, "labels", &pairs);
    }
    if let Some(annotations) = &m.annotations {
        let pairs: Vec<_> = annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        merge_map(pod, "annotations", &pairs);
    }
    let Some(pod_spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(sa) = &m.service_account_name {
        pod_spec.insert("serviceAccountName".into(), json!(sa));
    }
    if let Some(automount) = m.automount_service_account_token {
        pod_spec.insert("automountServiceAccountToken".into(), json!(automount));
    }
    if let Some(selector) = &spec.node_selector {
        let target = pod_spec.entry("nodeSelector").or_insert_with(|| json!({}));
        merge_object(target, &json!(selector));
    }
    if let Some(context) = &spec.security_context {
        let target = pod_spec
            .entry("securityContext")
            .or_insert_with(|| json!({}));
        merge_object(target, &to_value(context));
    }
    if let Some(volumes) = &m.volumes {
        merge_named(pod_spec, "volumes", &named_items(volumes), "name");
    }
    if let Some(tolerations) = &m.tolerations {
        let items: Vec<Value> = tolerations.iter().map(to_value).collect();
        let list = pod_spec.entry("tolerations").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            for t in items {
                if !list.contains(&t) {
                    list.push(t);
                }
            }
        }
    }
    let Some(containers) = pod_spec.get_mut("containers").and_then(Value::as_array_mut) else {
        return;
    };
    for container in containers.iter_mut().filter(|c| picker.picks(c)) {
        let Some(c) = container.as_object_mut() else {
            continue;
        };
        if let Some(env) = &m.env {
            merge_named(c, "env", &named_items(env), "name");
        }
        if let Some(mounts) = &m.volume_mounts {
            merge_named(c, "volumeMounts", &named_items(mounts), "name");
        }
        if let Some(env_from) = &m.env_from {
            let list = c.entry("envFrom").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.extend(env_from.iter().map(to_value));
            }
        }
        for (key, value) in [
            ("image", spec.image.as_ref().map(|v| json!(v))),
            (
                "imagePullPolicy",
                spec.image_pull_policy.as_ref().map(|v| json!(v)),
            ),
            ("command", spec.command.as_ref().map(|v| json!(v))),
            ("args", spec.args.as_ref().map(|v| json!(v))),
        ] {
            if let Some(v) = value {
                c.insert(key.into(), v);
            }
        }
        if let Some(resources) = &spec.resources {
            let target = c.entry("resources").or_insert_with(|| json!({}));
            let wanted = to_value(resources);
            for part in ["requests", "limits"] {
                if let (Some(want), Some(t)) = (wanted.get(part), target.as_object_mut()) {
                    let slot = t.entry(part).or_insert_with(|| json!({}));
                    merge_object(slot, want);
                }
            }
        }
    }
}

/// `target`'s keys overwritten by `source`'s (one level: a PodSetting's securityContext or
/// nodeSelector wins field by field, and a nested field such as seLinuxOptions as a whole).
fn merge_object(target: &mut Value, source: &Value) {
    if !target.is_object() {
        *target = json!({});
    }
    if let (Some(t), Some(s)) = (target.as_object_mut(), source.as_object()) {
        for (k, v) in s {
            t.insert(k.clone(), v.clone());
        }
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerSelector, PodSettingSpec};

    fn setting(name: &str, yaml: &str) -> PodSetting {
        let spec: PodSettingSpec = serde_saphyr::from_str(yaml).unwrap();
        let mut s = PodSetting::new(name, spec);
        s.metadata.namespace = Some("team-a".into());
        s
    }

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "alice", "labels": {"app": "nb", "tier": "gpu"},
                          "annotations": {"keep": "me"}},
            "spec": {
                "serviceAccountName": "default",
                "nodeSelector": {"zone": "a"},
                "volumes": [{"name": "data", "emptyDir": {}}],
                "containers": [
                    {"name": "main", "image": "nginx", "env": [{"name": "A", "value": "pod"}],
                     "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
                    {"name": "sidecar", "image": "envoy"}
                ]
            }
        })
    }

    #[test]
    fn two_matching_settings_merge_in_name_order_and_the_third_is_left_out() {
        let a = setting(
            "a-gpu",
            "selector: {matchLabels: {tier: gpu}}\ncontainerSelector: {regex: main}\n\
             env: [{name: A, value: setting}, {name: B, value: b}]\n\
             resources: {limits: {nvidia.com/gpu: \"1\"}, requests: {cpu: 500m}}\n\
             nodeSelector: {gpu: \"true\"}\nlabels: {team: a}\n",
        );
        let b = setting(
            "b-sa",
            "selector: {matchLabels: {app: nb}}\nserviceAccountName: team-a-sa\n\
             volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}, {name: extra, emptyDir: {}}]\n\
             volumeMounts: [{name: extra, mountPath: /extra}]\n\
             securityContext: {runAsUser: 1000, fsGroup: 100}\n",
        );
        let c = setting(
            "c-none",
            "selector: {matchLabels: {app: other}}\nimage: evil\n",
        );
        let (out, applied, errors) = apply(pod(), &[&c, &b, &a]);
        assert!(errors.is_empty());
        assert_eq!(applied, ["a-gpu", "b-sa"]);
        let want = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "alice",
                "labels": {"app": "nb", "tier": "gpu", "team": "a"},
                "annotations": {"keep": "me", APPLIED_ANNOTATION: "a-gpu,b-sa"}},
            "spec": {
                "serviceAccountName": "team-a-sa",
                "nodeSelector": {"zone": "a", "gpu": "true"},
                "securityContext": {"runAsUser": 1000, "fsGroup": 100},
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "shared"}},
                            {"name": "extra", "emptyDir": {}}],
                "containers": [
                    {"name": "main", "image": "nginx",
                     "env": [{"name": "A", "value": "setting"}, {"name": "B", "value": "b"}],
                     "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                                   "requests": {"cpu": "500m"}},
                     "volumeMounts": [{"name": "extra", "mountPath": "/extra"}]},
                    {"name": "sidecar", "image": "envoy",
                     "volumeMounts": [{"name": "extra", "mountPath": "/extra"}]}
                ]
            }
        });
        assert_eq!(out, want, "{}", serde_json::to_string_pretty(&out).unwrap());
    }

    #[test]
    fn an_empty_selector_or_an_unlabelled_pod_matches_nothing() {
        let everything = setting("all", "selector: {}\nimage: x\n");
        let (out, applied, _) = apply(pod(), &[&everything]);
        assert!(applied.is_empty());
        assert_eq!(out, pod());
        let mut bare = pod();
        bare["metadata"].as_object_mut().unwrap().remove("labels");
        let exists = setting(
            "exists",
            "selector: {matchExpressions: [{key: app, operator: DoesNotExist}]}\nimage: x\n",
        );
        let (_, applied, _) = apply(bare, &[&exists]);
        assert!(applied.is_empty(), "an unlabelled pod never matches");
    }

    #[test]
    fn container_level_settings_reach_only_the_picked_containers() {
        let mut s = setting(
            "img",
            "selector: {matchLabels: {app: nb}}\nimage: registry.local/nginx:1\n\
             imagePullPolicy: Always\ncommand: [run]\nargs: [--fast]\n",
        );
        s.spec.container_selector = Some(ContainerSelector {
            regex: Some("side.*".into()),
            all: None,
        });
        let (out, _, _) = apply(pod(), &[&s]);
        let containers = &out["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx");
        assert_eq!(containers[1]["image"], "registry.local/nginx:1");
        assert_eq!(containers[1]["command"], json!(["run"]));
        assert_eq!(containers[1]["args"], json!(["--fast"]));
        assert_eq!(containers[1]["imagePullPolicy"], "Always");
    }

    #[test]
    fn a_bad_regex_skips_that_setting_and_says_why() {
        let s = setting(
            "bad",
            "selector: {matchLabels: {app: nb}}\ncontainerSelector: {regex: \"(\"}\nimage: x\n",
        );
        let (out, applied, errors) = apply(pod(), &[&s]);
        assert!(applied.is_empty());
        assert_eq!(out, pod());
        assert!(
            errors[0].starts_with("PodSetting bad: containerSelector.regex:"),
            "{errors:?}"
        );
    }

    #[test]
    fn odd_pods_never_panic() {
        let s = setting(
            "all",
            "selector: {matchLabels: {app: nb}}\nimage: x\nenv: [{name: A, value: a}]\n\
             resources: {limits: {cpu: \"1\"}}\nnodeSelector: {a: b}\n",
        );
        for odd in [
            json!({"metadata": {"labels": {"app": "nb"}}}),
            json!({"metadata": {"labels": {"app": "nb"}}, "spec": {}}),
            json!({"metadata": {"labels": {"app": "nb"}}, "spec": {"containers": "nope"}}),
            json!({"metadata": {"labels": {"app": "nb"}},
                   "spec": {"initContainers": [{"name": "init"}], "nodeSelector": 3,
                            "containers": [{"name": 7, "env": {}, "resources": []}]}}),
            json!({"metadata": {"labels": "app"}}),
            json!(null),
        ] {
            let _ = apply(odd, &[&s]);
        }
    }
}
