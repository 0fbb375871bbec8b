//! What the environments family wants, computed without an API call (seed 003's orchestrator):
//! each Environment's objects (a runner Deployment, its Service and Ingress) rendered from the
//! AddonTemplate serving its language, with `{{replId}}` wherever the seed's `service_name` was,
//! owned by the Environment and labelled with it.

use crate::controllers::addons::desired::{is_label_value, namespaced, substitute, text_field};
use crate::controllers::{MANAGED_BY_LABEL, MANAGER, Warning, str_at};
use crate::model::{AddonTemplate, Environment};
use crate::names::dns_label_problem;
use k8s_openapi::api::core::v1::{EnvVar, Namespace};
use kube::Resource;
use kube::core::{Selector, SelectorExt};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Label on every rendered object, and on the runner pods, naming its Environment.
pub const ENVIRONMENT_LABEL: &str = "orbdeck.io/environment";
/// Label on every rendered object with its Environment's replId.
pub const REPL_ID_LABEL: &str = "orbdeck.io/repl-id";
/// The longest replId: the Deployment's pods get names of replId plus two generated parts.
pub const MAX_REPL_ID: usize = 53;

/// Why `repl_id` cannot name an Environment's objects (a DNS-1123 label of at most 53
/// characters), if it cannot.
pub fn repl_id_problem(repl_id: &str) -> Option<String> {
    if repl_id.len() > MAX_REPL_ID {
        return Some(format!("at most {MAX_REPL_ID} characters"));
    }
    dns_label_problem(repl_id).map(|p| format!("not a DNS-1123 label: {p}"))
}

/// The languages of an AddonTemplate, when it is a template of Environments.
pub fn languages(template: &AddonTemplate) -> &[String] {
    template
        .spec
        .environment
        .as_ref()
        .map_or(&[], |e| e.languages.as_slice())
}

/// Whether `template` may serve Environments in namespace `ns` (its namespaceSelector matches
/// the namespace's labels; an unknown namespace has none).
pub fn serves_namespace(template: &AddonTemplate, ns: Option<&Namespace>) -> bool {
    let Ok(selector) = Selector::try_from(template.spec.namespace_selector.clone()) else {
        return false;
    };
    let labels = ns
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    selector.matches(&labels)
}

/// The environment templates serving `language` in namespace `ns`, by name.
pub fn templates_for<'a>(
    templates: &'a [Arc<AddonTemplate>],
    language: &str,
    ns: Option<&Namespace>,
) -> Vec<&'a AddonTemplate> {
    let mut found: Vec<&AddonTemplate> = templates
        .iter()
        .map(AsRef::as_ref)
        .filter(|t| languages(t).iter().any(|l| l == language) && serves_namespace(t, ns))
        .collect();
    found.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    found
}

/// One Environment's objects, rendered from `template`: `{{replId}}`, `{{namespace}}` and
/// `{{language}}` (spaces inside the braces allowed) are replaced, the multi-document YAML is
/// parsed, every object is put in the Environment's namespace and labelled
/// `orbdeck.io/environment`, `orbdeck.io/repl-id` and `app.kubernetes.io/managed-by: orbdeck`,
/// and owned by the Environment (so deleting it deletes them). The one Deployment (the runner)
/// also labels its pods `orbdeck.io/environment` and gets the Environment's `env` in every
/// container. Errors name the Environment, the template and the document with its line.
pub fn render(env: &Environment, template: &AddonTemplate) -> Result<Vec<Value>, String> {
    let name = env.metadata.name.as_deref().unwrap_or_default();
    let namespace = env.metadata.namespace.as_deref().unwrap_or_default();
    let tname = template.metadata.name.as_deref().unwrap_or_default();
    let repl_id = env.spec.repl_id.as_str();
    let at = |what: String| format!("environment {namespace}/{name}: {what}");
    if let Some(p) = repl_id_problem(repl_id) {
        return Err(at(format!("spec.replId {repl_id:?}: {p}")));
    }
    let language = env.spec.language.as_str();
    if !is_label_value(language) || language.is_empty() {
        return Err(at(format!(
            "spec.language {language:?}: not a valid label value (at most 63 letters, digits, \
             '-', '_' or '.')"
        )));
    }
    let uid = env
        .meta()
        .uid
        .clone()
        .ok_or_else(|| at("it has no uid yet".into()))?;
    let text = substitute(
        &template.spec.manifests,
        &[
            ("replId", repl_id),
            ("namespace", namespace),
            ("language", language),
        ],
    );
    let documents = crate::validate::documents(&text).map_err(|e| {
        at(format!(
            "template {tname}, document {}, line {}:{}: {}",
            e.document, e.line, e.column, e.message
        ))
    })?;
    let owner = json!({
        "apiVersion": Environment::api_version(&()),
        "kind": Environment::kind(&()),
        "name": name,
        "uid": uid,
        "controller": true,
    });
    let mut objects = Vec::new();
    let mut deployments = 0;
    for (index, doc) in documents.into_iter().enumerate() {
        let at = |what: &str| {
            at(format!(
                "template {tname}, document {} (line {}): {what}",
                index + 1,
                doc.line
            ))
        };
        let Value::Object(mut object) = doc.value else {
            return Err(at("not a mapping"));
        };
        let api_version = text_field(&object, "apiVersion").ok_or_else(|| at("no apiVersion"))?;
        let kind = text_field(&object, "kind").ok_or_else(|| at("no kind"))?;
        if !namespaced(&api_version, &kind) {
            return Err(at(&format!(
                "{kind} is cluster-scoped; an Environment owns only objects in its namespace"
            )));
        }
        let Value::Object(metadata) = object.entry("metadata").or_insert_with(|| json!({})) else {
            return Err(at("metadata is not a mapping"));
        };
        if text_field(metadata, "name").is_none() {
            return Err(at(&format!("{kind} has no metadata.name")));
        }
        match metadata.get("namespace") {
            None | Some(Value::Null) => {}
            Some(ns) if ns == namespace => {}
            Some(ns) => {
                return Err(at(&format!(
                    "metadata.namespace {ns} is not the Environment's namespace {namespace}"
                )));
            }
        }
        metadata.insert("namespace".into(), json!(namespace));
        let labels = label_map(metadata).ok_or_else(|| at("metadata.labels is not a mapping"))?;
        labels.insert(ENVIRONMENT_LABEL.into(), json!(name));
        labels.insert(REPL_ID_LABEL.into(), json!(repl_id));
        labels.insert(MANAGED_BY_LABEL.into(), json!(MANAGER));
        metadata.insert("ownerReferences".into(), json!([owner]));
        let mut object = Value::Object(object);
        if api_version == "apps/v1" && kind == "Deployment" {
            deployments += 1;
            runner(&mut object, name, &env.spec.env).map_err(|e| at(&e))?;
        }
        objects.push(object);
    }
    if deployments != 1 {
        return Err(at(format!(
            "template {tname} renders {deployments} Deployments; it needs exactly one (the runner)"
        )));
    }
    Ok(objects)
}

/// The runner Deployment's pod template labelled with the Environment and given `env` in every
/// container (a variable of the same name in the template is replaced).
fn runner(deployment: &mut Value, name: &str, env: &[EnvVar]) -> Result<(), String> {
    let Some(Value::Object(pod)) = deployment.pointer_mut("/spec/template") else {
        return Err("Deployment has no spec.template".into());
    };
    let Value::Object(metadata) = pod.entry("metadata").or_insert_with(|| json!({})) else {
        return Err("Deployment spec.template.metadata is not a mapping".into());
    };
    label_map(metadata)
        .ok_or("Deployment spec.template.metadata.labels is not a mapping")?
        .insert(ENVIRONMENT_LABEL.into(), json!(name));
    if env.is_empty() {
        return Ok(());
    }
    let vars: Vec<Value> = env
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    for list in ["containers", "initContainers"] {
        let Some(Value::Array(containers)) = pod.get_mut("spec").and_then(|s| s.get_mut(list))
        else {
            continue;
        };
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            let Value::Array(have) = container.entry("env").or_insert_with(|| json!([])) else {
                return Err(format!(
                    "a container's env in spec.template.spec.{list} is not a list"
                ));
            };
            have.retain(|v| !env.iter().any(|e| v.get("name") == Some(&json!(e.name))));
            have.extend(vars.iter().cloned());
        }
    }
    Ok(())
}

/// The labels mapping of `metadata`, made when absent or null.
fn label_map(metadata: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    if metadata.get("labels").is_none_or(Value::is_null) {
        metadata.insert("labels".into(), json!({}));
    }
    metadata.get_mut("labels").and_then(Value::as_object_mut)
}

/// What one Environment yields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvironmentOutcome {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The AddonTemplate it is rendered from.
    pub template: Option<String>,
    /// The host of its (first) Ingress rule.
    pub host: Option<String>,
    /// Objects rendered.
    pub objects: usize,
    /// Why it renders nothing.
    pub warning: Option<Warning>,
}

/// Everything the family wants: the rendered objects and, per Environment, what it yields.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    /// Every Environment's objects.
    pub objects: Vec<Value>,
    /// One entry per Environment, by namespace and name.
    pub environments: Vec<EnvironmentOutcome>,
}

/// Every Environment rendered from the template serving its language in its namespace (the one
/// `spec.template` names, else the first by name). Environments being deleted render nothing;
/// of two with the same replId in a namespace the older one renders and the other says why not.
pub fn desired(
    namespaces: &[Arc<Namespace>],
    templates: &[Arc<AddonTemplate>],
    environments: &[Arc<Environment>],
) -> Desired {
    let mut envs: Vec<&Environment> = environments
        .iter()
        .map(AsRef::as_ref)
        .filter(|e| e.metadata.deletion_timestamp.is_none())
        .collect();
    envs.sort_by(|a, b| {
        let at = |e: &Environment| {
            (
                e.metadata.namespace.clone(),
                e.metadata.creation_timestamp.as_ref().map(|t| t.0),
                e.metadata.name.clone(),
            )
        };
        at(a).cmp(&at(b))
    });
    let mut out = Desired::default();
    let mut taken: std::collections::HashMap<(String, String), String> = Default::default();
    for env in envs {
        let namespace = env.metadata.namespace.clone().unwrap_or_default();
        let name = env.metadata.name.clone().unwrap_or_default();
        let mut outcome = EnvironmentOutcome {
            namespace: namespace.clone(),
            name: name.clone(),
            ..Default::default()
        };
        let ns = namespaces
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(&namespace));
        let serving = templates_for(templates, &env.spec.language, ns.map(AsRef::as_ref));
        let chosen = match &env.spec.template {
            Some(wanted) => serving
                .iter()
                .find(|t| t.metadata.name.as_deref() == Some(wanted))
                .ok_or_else(|| {
                    Warning::new(
                        "NoTemplate",
                        format!(
                            "environment {namespace}/{name}: spec.template {wanted:?} is not an \
                             AddonTemplate serving language {:?} in namespace {namespace}",
                            env.spec.language
                        ),
                    )
                }),
            None => serving.first().ok_or_else(|| {
                Warning::new(
                    "NoTemplate",
                    format!(
                        "environment {namespace}/{name}: no AddonTemplate serves language {:?} \
                         in namespace {namespace} (spec.environment.languages)",
                        env.spec.language
                    ),
                )
            }),
        };
        let key = (namespace.clone(), env.spec.repl_id.clone());
        let rendered = chosen.and_then(|template| {
            outcome.template = template.metadata.name.clone();
            if let Some(other) = taken.get(&key) {
                return Err(Warning::new(
                    "DuplicateReplId",
                    format!(
                        "environment {namespace}/{name}: replId {:?} is already used by \
                         Environment {namespace}/{other}",
                        env.spec.repl_id
                    ),
                ));
            }
            render(env, template).map_err(|e| Warning::new("RenderFailed", e))
        });
        match rendered {
            Ok(objects) => {
                taken.insert(key, name);
                outcome.host = objects
                    .iter()
                    .filter(|o| str_at(o, "/kind") == "Ingress")
                    .find_map(|o| o.pointer("/spec/rules/0/host")?.as_str().map(str::to_owned));
                outcome.objects = objects.len();
                out.objects.extend(objects);
            }
            Err(w) => outcome.warning = Some(w),
        }
        out.environments.push(outcome);
    }
    out.environments
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AddonTemplateSpec, EnvironmentSpec, EnvironmentTemplate};

    /// The seed's service.yaml with `{{replId}}` where it said `service_name`.
    const SEED_TEMPLATE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: \"{{replId}}\"
  labels:
    app: \"{{replId}}\"
spec:
  replicas: 1
  selector:
    matchLabels:
      app: \"{{replId}}\"
  template:
    metadata:
      labels:
        app: \"{{replId}}\"
    spec:
      containers:
        - name: runner
          image: runner:latest
          env:
            - name: LANGUAGE
              value: \"{{ language }}\"
            - name: MODE
              value: template
          ports:
            - containerPort: 3001
---
apiVersion: v1
kind: Service
metadata:
  name: \"{{replId}}\"
spec:
  selector:
    app: \"{{replId}}\"
  ports:
    - {name: ws, port: 3001, targetPort: 3001}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: \"{{replId}}\"
spec:
  rules:
    - host: \"{{replId}}.{{namespace}}.example.org\"
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: \"{{replId}}\", port: {number: 3001}}
";

    fn template(name: &str, languages: &[&str], manifests: &str) -> Arc<AddonTemplate> {
        Arc::new(AddonTemplate::new(
            name,
            AddonTemplateSpec {
                namespace_selector: Default::default(),
                manifests: manifests.into(),
                environment: Some(EnvironmentTemplate {
                    languages: languages.iter().map(|l| (*l).to_owned()).collect(),
                }),
            },
        ))
    }

    fn env(name: &str, repl_id: &str, language: &str, created: i64) -> Arc<Environment> {
        let mut e = Environment::new(
            name,
            EnvironmentSpec {
                repl_id: repl_id.into(),
                language: language.into(),
                template: None,
                env: vec![EnvVar {
                    name: "MODE".into(),
                    value: Some("live".into()),
                    ..Default::default()
                }],
            },
        );
        e.metadata.namespace = Some("envs".into());
        e.metadata.uid = Some(format!("uid-{name}"));
        e.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(created).unwrap(),
        ));
        Arc::new(e)
    }

    #[test]
    fn the_seed_template_renders_three_owned_objects_named_by_the_repl_id() {
        let templates = [template("node", &["nodejs"], SEED_TEMPLATE)];
        let d = desired(&[], &templates, &[env("p1", "p1", "nodejs", 1)]);
        assert_eq!(d.objects.len(), 3, "{:#?}", d.environments);
        for o in &d.objects {
            assert_eq!(o["metadata"]["name"], "p1");
            assert_eq!(o["metadata"]["namespace"], "envs");
            assert_eq!(o["metadata"]["labels"][ENVIRONMENT_LABEL], "p1");
            assert_eq!(o["metadata"]["labels"][REPL_ID_LABEL], "p1");
            assert_eq!(o["metadata"]["ownerReferences"][0]["uid"], "uid-p1");
            assert_eq!(o["metadata"]["ownerReferences"][0]["kind"], "Environment");
            assert!(!o.to_string().contains("replId"), "{o}");
        }
        let deployment = &d.objects[0];
        let pod = &deployment["spec"]["template"];
        assert_eq!(pod["metadata"]["labels"][ENVIRONMENT_LABEL], "p1");
        assert_eq!(pod["metadata"]["labels"]["app"], "p1");
        let vars = &pod["spec"]["containers"][0]["env"];
        assert_eq!(
            vars,
            &json!([{"name": "LANGUAGE", "value": "nodejs"}, {"name": "MODE", "value": "live"}])
        );
        let outcome = &d.environments[0];
        assert_eq!(outcome.host.as_deref(), Some("p1.envs.example.org"));
        assert_eq!(outcome.template.as_deref(), Some("node"));
        assert_eq!(outcome.warning, None);
    }

    #[test]
    fn the_language_picks_the_template_and_spec_template_must_serve_it() {
        let other = SEED_TEMPLATE.replace("runner:latest", "python-runner:3");
        let templates = [
            template("node", &["nodejs"], SEED_TEMPLATE),
            template("py", &["python", "python3"], &other),
        ];
        let d = desired(&[], &templates, &[env("a", "a", "python3", 1)]);
        assert_eq!(d.environments[0].template.as_deref(), Some("py"));
        assert!(d.objects[0].to_string().contains("python-runner:3"));
        let mut pinned = (*env("b", "b", "nodejs", 1)).clone();
        pinned.spec.template = Some("py".into());
        let d = desired(&[], &templates, &[Arc::new(pinned)]);
        let w = d.environments[0].warning.as_ref().expect("a warning");
        assert_eq!(w.reason, "NoTemplate");
        assert!(w.message.contains("\"py\""), "{}", w.message);
        let d = desired(&[], &templates, &[env("c", "c", "rust", 1)]);
        let w = d.environments[0].warning.as_ref().expect("a warning");
        assert!(
            w.message
                .contains("no AddonTemplate serves language \"rust\"")
        );
        assert!(d.objects.is_empty());
    }

    #[test]
    fn a_template_serves_only_the_namespaces_its_selector_matches() {
        let mut t = (*template("node", &["nodejs"], SEED_TEMPLATE)).clone();
        t.spec.namespace_selector.match_labels =
            Some([("runners".to_owned(), "yes".to_owned())].into());
        let templates = [Arc::new(t)];
        let d = desired(&[], &templates, &[env("a", "a", "nodejs", 1)]);
        assert!(d.objects.is_empty());
        let mut ns = Namespace::default();
        ns.metadata.name = Some("envs".into());
        ns.metadata.labels = Some([("runners".to_owned(), "yes".to_owned())].into());
        let d = desired(&[Arc::new(ns)], &templates, &[env("a", "a", "nodejs", 1)]);
        assert_eq!(d.objects.len(), 3);
    }

    #[test]
    fn of_two_environments_with_one_repl_id_the_older_renders() {
        let templates = [template("node", &["nodejs"], SEED_TEMPLATE)];
        let d = desired(
            &[],
            &templates,
            &[
                env("young", "p", "nodejs", 20),
                env("old", "p", "nodejs", 10),
            ],
        );
        assert_eq!(d.objects.len(), 3);
        assert_eq!(d.objects[0]["metadata"]["labels"][ENVIRONMENT_LABEL], "old");
        let young = d.environments.iter().find(|e| e.name == "young").unwrap();
        assert_eq!(young.warning.as_ref().unwrap().reason, "DuplicateReplId");
    }

    #[test]
    fn bad_repl_ids_and_templates_say_what_is_wrong_where() {
        let templates = [template("node", &["nodejs"], SEED_TEMPLATE)];
        let long = "a".repeat(54);
        for (repl_id, says) in [
            (long.as_str(), "at most 53 characters"),
            ("Big", "not a DNS-1123 label"),
            ("a_b", "not a DNS-1123 label"),
        ] {
            let d = desired(&[], &templates, &[env("x", repl_id, "nodejs", 1)]);
            let w = d.environments[0].warning.as_ref().expect("a warning");
            assert!(
                w.message.contains("spec.replId") && w.message.contains(says),
                "{}",
                w.message
            );
        }
        for (manifests, says) in [
            (
                "kind: Service\nmetadata: {name: x}\n",
                "document 1 (line 1): no apiVersion",
            ),
            (
                "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
                "renders 0 Deployments",
            ),
            (
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\n",
                "ClusterRole is cluster-scoped",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n",
                "not the Environment's namespace envs",
            ),
            ("a: [\n", "template bad, document 1, line"),
        ] {
            let templates = [template("bad", &["nodejs"], manifests)];
            let d = desired(&[], &templates, &[env("x", "x", "nodejs", 1)]);
            let w = d.environments[0].warning.as_ref().expect("a warning");
            assert!(w.message.contains(says), "{manifests}: {}", w.message);
            assert!(
                w.message.starts_with("environment envs/x: "),
                "{}",
                w.message
            );
        }
    }
}
