//! What the add-ons family wants, computed without an API call (seed 000's
//! userspace-chart-manager): an AddonTemplate's manifests stamped into every namespace its
//! selector matches, with `{{namespace}}` and `{{owner}}` filled in.

use crate::names::is_dns_label;
use serde_json::{Map, Value, json};

use crate::controllers::{MANAGED_BY_LABEL, MANAGER, Warning};
use crate::model::{AddonTemplate, is_namespaced};
use k8s_openapi::api::core::v1::Namespace;
use kube::core::{Selector, SelectorExt};
use std::sync::Arc;

/// Namespace annotation naming its owner (Kubeflow's), used for `{{owner}}`.
const OWNER_ANNOTATION: &str = "owner";

/// Label on every rendered object naming its AddonTemplate.
pub const ADDON_LABEL: &str = "orbdeck.io/addon";
/// Label on every rendered object naming the namespace it was rendered for, so cluster-scoped
/// objects can be cleaned up when that namespace goes.
pub const ADDON_NAMESPACE_LABEL: &str = "orbdeck.io/addon-namespace";

/// Built-in cluster-scoped kinds, by API group (`""` is the core group).
const CLUSTER_SCOPED: [(&str, &str); 24] = [
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

/// The template's objects for one namespace: `{{namespace}}` and `{{owner}}` (spaces inside the
/// braces allowed) are replaced, the multi-document YAML is parsed, empty documents are skipped,
/// namespaced objects without `metadata.namespace` get `namespace`, and every object gets the
/// labels `orbdeck.io/addon: <template>`, `orbdeck.io/addon-namespace: <namespace>` and
/// `app.kubernetes.io/managed-by: orbdeck`. Kinds are taken as namespaced unless they are built-in
/// cluster-scoped kinds or orbdeck's own cluster-scoped kinds. The YAML is read by the
/// validator's parser (its limits on depth, nodes and aliases included). Errors name the template
/// and the document (counted from 1 among the non-empty ones) with its line.
pub fn render(
    template: &AddonTemplate,
    namespace: &str,
    owner: &str,
) -> Result<Vec<Value>, String> {
    let name = template.metadata.name.as_deref().unwrap_or_default();
    if !is_label_value(name) || name.is_empty() {
        return Err(format!(
            "add-on template {name:?}: its name is not a valid label value (at most 63 letters, \
             digits, '-', '_' or '.', starting and ending with a letter or digit)"
        ));
    }
    if !is_dns_label(namespace) {
        return Err(format!(
            "add-on template {name}: namespace {namespace:?} is not a valid namespace name"
        ));
    }
    if !is_safe_owner(owner) {
        return Err(format!(
            "add-on template {name}: owner {owner:?} cannot be put into YAML safely (allowed: \
             letters, digits, spaces and . _ @ + - :, starting with a letter or digit, no \": \")"
        ));
    }
    let text = substitute(
        &template.spec.manifests,
        &[("namespace", namespace), ("owner", owner)],
    );
    let documents = crate::validate::documents(&text).map_err(|e| {
        format!(
            "add-on template {name}, document {}, line {}:{}: {}",
            e.document, e.line, e.column, e.message
        )
    })?;
    let mut objects = Vec::new();
    for (index, doc) in documents.into_iter().enumerate() {
        let at = format!(
            "add-on template {name}, document {} (line {})",
            index + 1,
            doc.line
        );
        let mut object = match doc.value {
            Value::Object(object) => object,
            _ => return Err(format!("{at}: not a mapping")),
        };
        let api_version =
            text_field(&object, "apiVersion").ok_or(format!("{at}: no apiVersion"))?;
        let kind = text_field(&object, "kind").ok_or(format!("{at}: no kind"))?;
        let namespaced = namespaced(&api_version, &kind);
        let metadata = match object.entry("metadata").or_insert_with(|| json!({})) {
            Value::Object(m) => m,
            _ => return Err(format!("{at}: metadata is not a mapping")),
        };
        if text_field(metadata, "name").is_none() {
            return Err(format!("{at}: {kind} has no metadata.name"));
        }
        if namespaced && metadata.get("namespace").is_none_or(Value::is_null) {
            metadata.insert("namespace".into(), json!(namespace));
        }
        let labels = match metadata.entry("labels").or_insert_with(|| json!({})) {
            Value::Object(l) => l,
            Value::Null => {
                metadata.insert("labels".into(), json!({}));
                metadata["labels"]
                    .as_object_mut()
                    .expect("just inserted a map")
            }
            _ => return Err(format!("{at}: metadata.labels is not a mapping")),
        };
        labels.insert(ADDON_LABEL.into(), json!(name));
        labels.insert(ADDON_NAMESPACE_LABEL.into(), json!(namespace));
        labels.insert(MANAGED_BY_LABEL.into(), json!(MANAGER));
        objects.push(Value::Object(object));
    }
    Ok(objects)
}

/// Replaces each `{{NAME}}` (with optional spaces inside the braces) whose NAME is in `values`
/// by its value; other `{{...}}` text is left alone. Add-ons use `namespace` and `owner`,
/// environment templates `replId`, `namespace` and `language`.
pub fn substitute(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let replaced = after.find("}}").and_then(|end| {
            let name = after[..end].trim();
            let (_, value) = values.iter().find(|(n, _)| *n == name)?;
            Some((*value, end))
        });
        match replaced {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A non-empty string field of an object.
pub fn text_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether objects of a kind live in a namespace (built-in and orbdeck's kinds known, other
/// kinds taken as namespaced).
pub fn namespaced(api_version: &str, kind: &str) -> bool {
    if let Some(namespaced) = is_namespaced(api_version, kind) {
        return namespaced;
    }
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    !CLUSTER_SCOPED.contains(&(group, kind))
}

/// Kubernetes' rule for label values.
pub fn is_label_value(s: &str) -> bool {
    s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_none_or(|c| c.is_ascii_alphanumeric())
}

/// Whether an owner name can be pasted into YAML, quoted or not, without changing its structure
/// (a namespace without an owner annotation gives the empty owner).
fn is_safe_owner(s: &str) -> bool {
    s.is_empty()
        || (s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '@' | '+' | '-' | ':')
            })
            && !s.contains(": ")
            && !s.ends_with([':', ' ']))
}

/// What one AddonTemplate yields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateOutcome {
    /// Its name.
    pub name: String,
    /// Namespaces it is rendered into.
    pub namespaces: usize,
    /// Objects rendered, over every namespace.
    pub objects: usize,
    /// Why it (or its rendering into some namespace) failed; the first failure.
    pub warning: Option<Warning>,
}

/// Everything the family wants: the rendered objects and, per template, what it yields.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    /// Every template's objects in every namespace it selects.
    pub objects: Vec<Value>,
    /// One entry per template, by name.
    pub templates: Vec<TemplateOutcome>,
}

/// Every AddonTemplate rendered into every namespace its selector matches (namespaces being
/// deleted are left out). A template whose selector or manifests are wrong renders nothing
/// where it fails and says why. Templates of Environments (`spec.environment`) are left to the
/// environments family.
pub fn desired(namespaces: &[Arc<Namespace>], templates: &[Arc<AddonTemplate>]) -> Desired {
    let mut out = Desired::default();
    for template in templates.iter().filter(|t| t.spec.environment.is_none()) {
        let mut outcome = TemplateOutcome {
            name: template.metadata.name.clone().unwrap_or_default(),
            ..Default::default()
        };
        let selector: Result<Selector, _> = template.spec.namespace_selector.clone().try_into();
        match selector {
            Err(e) => {
                outcome.warning = Some(Warning::new(
                    "InvalidSelector",
                    format!("add-on template {}: namespaceSelector: {e}", outcome.name),
                ));
            }
            Ok(selector) => {
                for ns in namespaces {
                    let labels = ns.metadata.labels.clone().unwrap_or_default();
                    if ns.metadata.deletion_timestamp.is_some() || !selector.matches(&labels) {
                        continue;
                    }
                    let ns_name = ns.metadata.name.clone().unwrap_or_default();
                    let owner = ns
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(OWNER_ANNOTATION))
                        .cloned()
                        .unwrap_or_default();
                    match render(template, &ns_name, &owner) {
                        Ok(objects) => {
                            outcome.namespaces += 1;
                            outcome.objects += objects.len();
                            out.objects.extend(objects);
                        }
                        Err(e) => {
                            outcome
                                .warning
                                .get_or_insert_with(|| Warning::new("RenderFailed", e));
                        }
                    }
                }
            }
        }
        out.templates.push(outcome);
    }
    out.templates.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
