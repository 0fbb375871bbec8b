//! The profile family's pure part: every object a Profile wants (namespace, RBAC, quota, limit
//! range, network and authorization policies, notebook defaults), in a stable order, plus
//! [`Warning`]s to report as Events. No API calls.
//!
//! Every child of a Profile carries the labels `app.kubernetes.io/managed-by: orbdeck` and
//! `orbdeck.io/profile: <profile>` and, once the Profile has a uid, a controller ownerReference to
//! it (a cluster-scoped owner is valid for namespaced and cluster-scoped dependents alike), so
//! deleting the Profile garbage-collects everything derived from it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Map, Value, json};

use super::{authorization, limitrange, namespace, network_policies, notebook_defaults, quotas};
use crate::controllers::{MANAGED_BY_LABEL, MANAGER, PROFILE_LABEL, Warning};
use crate::model::{AuthorizationSettings, NetworkPolicySettings, Profile, ProfileSettings};

/// The controller ownerReference from a child to its Profile (`kubeflow.org/v1`, blocking deletion).
/// The uid is empty while the Profile has none (not yet read back from the API server).
pub fn owned_by(profile: &Profile) -> OwnerReference {
    OwnerReference {
        api_version: "kubeflow.org/v1".into(),
        kind: "Profile".into(),
        name: profile_name(profile).to_owned(),
        uid: profile.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The labels every child of a Profile carries.
pub fn common_labels(profile: &Profile) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned()),
        (PROFILE_LABEL.to_owned(), profile_name(profile).to_owned()),
    ])
}

/// The Profile's name, which is also its namespace's name.
pub fn profile_name(profile: &Profile) -> &str {
    profile.metadata.name.as_deref().unwrap_or_default()
}

/// What the per-profile controllers need besides the Profile itself.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The ORB's profile settings (namespace labels, support groups, quota and limit defaults).
    pub settings: &'a ProfileSettings,
    /// Selectors and ports of the network policies.
    pub network: &'a NetworkPolicySettings,
    /// Header and paths of the Istio authorization policies.
    pub authorization: &'a AuthorizationSettings,
    /// Whether the `security.istio.io` CRDs exist; without them no AuthorizationPolicy is wanted.
    pub istio: bool,
    /// Users with edit access to the namespace (see [`authorization::collaborators`]).
    pub collaborators: &'a [String],
}

/// Every object the per-profile controllers want for one Profile, in apply order (the Namespace
/// first), with the warnings met on the way.
pub fn desired_children(profile: &Profile, inputs: &Inputs) -> (Vec<Value>, Vec<Warning>) {
    let mut objects = namespace::children(profile, inputs.settings);
    let mut warnings = Vec::new();
    let (quota, quota_warnings) = quotas::resource_quota(profile, inputs.settings);
    objects.push(quota);
    warnings.extend(quota_warnings);
    let (limits, limit_warnings) = limitrange::limit_range(profile, inputs.settings);
    objects.push(limits);
    warnings.extend(limit_warnings);
    objects.extend(network_policies::policies(profile, inputs.network));
    objects.push(notebook_defaults::protected_b(profile));
    if inputs.istio {
        objects.extend(authorization::policies(
            profile,
            inputs.collaborators,
            inputs.authorization,
        ));
    }
    (objects, warnings)
}

/// A child object of a Profile: apiVersion, kind and metadata (name, namespace when given, the
/// common labels plus `labels`, `annotations` when any, the ownerReference once the Profile has a
/// uid), followed by `body`'s fields (`spec`, `subjects`, ...).
pub(super) fn child(
    profile: &Profile,
    (api_version, kind): (&str, &str),
    name: &str,
    namespace: Option<&str>,
    extra: Meta,
    body: Value,
) -> Value {
    let mut labels = extra.labels;
    labels.extend(common_labels(profile));
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!(labels));
    if !extra.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(extra.annotations));
    }
    let owner = owned_by(profile);
    if !owner.uid.is_empty() {
        metadata.insert(
            "ownerReferences".into(),
            serde_json::to_value([owner]).expect("an OwnerReference serializes to JSON"),
        );
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    object.insert("metadata".into(), Value::Object(metadata));
    if let Value::Object(fields) = body {
        object.extend(fields);
    }
    Value::Object(object)
}

/// Extra labels and annotations of a child, beyond the common ones.
#[derive(Default)]
pub(super) struct Meta {
    pub(super) labels: BTreeMap<String, String>,
    pub(super) annotations: BTreeMap<String, String>,
}
