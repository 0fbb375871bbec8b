//! The profile controller (Kubeflow's): the Profile's Namespace, its service accounts and role
//! bindings, plus StatCan's `ml-pipeline` and `profile-support` bindings (seed 001's rbac).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{Meta, child, profile_name};
use crate::model::{OwnerKind, Profile, ProfileSettings};

/// Annotation on a profile namespace naming its owner; adoption checks it.
pub const OWNER_ANNOTATION: &str = "owner";
/// ServiceAccount (and RoleBinding) that notebooks and pipelines run as, with edit rights.
pub const DEFAULT_EDITOR: &str = "default-editor";
/// ServiceAccount (and RoleBinding) with view rights.
pub const DEFAULT_VIEWER: &str = "default-viewer";
/// RoleBinding giving the owner admin rights, as Kubeflow names it.
pub const NAMESPACE_ADMIN: &str = "namespaceAdmin";
/// RoleBinding giving the owner access to Kubeflow Pipelines (StatCan's rbac controller).
pub const ML_PIPELINE: &str = "ml-pipeline";
/// RoleBinding giving the support groups the `profile-support` ClusterRole.
pub const PROFILE_SUPPORT: &str = "profile-support";
/// ClusterRole bound to `default-editor`.
pub const EDIT_CLUSTER_ROLE: &str = "kubeflow-edit";
/// ClusterRole bound to `default-viewer`.
pub const VIEW_CLUSTER_ROLE: &str = "kubeflow-view";
/// ClusterRole bound to the owner by `namespaceAdmin`.
pub const ADMIN_CLUSTER_ROLE: &str = "kubeflow-admin";
/// ClusterRole bound to the owner by `ml-pipeline` (the one StatCan's controller binds).
pub const ML_PIPELINE_CLUSTER_ROLE: &str = "ml-pipeline";
/// ClusterRole bound to the support groups by `profile-support`.
pub const SUPPORT_CLUSTER_ROLE: &str = "profile-support";

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The Profile's Namespace: named after the Profile, annotated `owner: <owner>`, labelled with the
/// settings' namespace labels except those whose value is empty (see [`removed_labels`]).
pub fn namespace(profile: &Profile, settings: &ProfileSettings) -> Value {
    let labels: BTreeMap<String, String> = settings
        .namespace_labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let annotations =
        BTreeMap::from([(OWNER_ANNOTATION.to_owned(), profile.spec.owner.name.clone())]);
    child(
        profile,
        ("v1", "Namespace"),
        profile_name(profile),
        None,
        Meta {
            labels,
            annotations,
        },
        json!({}),
    )
}

/// Namespace labels the settings ask to remove (keys with an empty value), sorted: the applier
/// deletes them from the live Namespace, since leaving a key out of an apply only drops our claim.
pub fn removed_labels(settings: &ProfileSettings) -> Vec<String> {
    settings
        .namespace_labels
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k.clone())
        .collect()
}

/// Whether an existing Namespace may be adopted by the Profile: only when its `owner` annotation
/// names the Profile's owner. A Namespace already controlled by this very Profile (an
/// ownerReference with its uid) is its own, so it is accepted too, even after the Profile's owner
/// changed. The error is the message for the Profile's Failed condition.
pub fn adoptable(existing_ns: &Value, profile: &Profile) -> Result<(), String> {
    let name = profile_name(profile);
    let want = &profile.spec.owner.name;
    let uid = profile.metadata.uid.as_deref().unwrap_or_default();
    let owners = existing_ns
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array);
    let ours = owners.into_iter().flatten().any(|o| {
        !uid.is_empty()
            && o.get("uid").and_then(Value::as_str) == Some(uid)
            && o.get("kind").and_then(Value::as_str) == Some("Profile")
    });
    if ours {
        return Ok(());
    }
    match existing_ns
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(OWNER_ANNOTATION))
        .and_then(Value::as_str)
    {
        Some(owner) if owner == want => Ok(()),
        Some(owner) => Err(format!(
            "namespace {name:?} already exists and is owned by {owner:?}, not by the profile's \
             owner {want:?}; it is not adopted"
        )),
        None => Err(format!(
            "namespace {name:?} already exists without an {OWNER_ANNOTATION:?} annotation; it is \
             adopted only when that annotation names the profile's owner {want:?}"
        )),
    }
}

/// The ServiceAccounts `default-editor` and `default-viewer`.
pub fn service_accounts(profile: &Profile) -> Vec<Value> {
    [DEFAULT_EDITOR, DEFAULT_VIEWER]
        .iter()
        .map(|name| {
            child(
                profile,
                ("v1", "ServiceAccount"),
                name,
                Some(profile_name(profile)),
                Meta::default(),
                json!({}),
            )
        })
        .collect()
}

/// The RoleBindings: `default-editor` and `default-viewer` (their ServiceAccounts to
/// kubeflow-edit / kubeflow-view), `namespaceAdmin` (the owner to kubeflow-admin, annotated
/// `user`/`role: admin` as Kubeflow does), `ml-pipeline` (the owner to ClusterRole ml-pipeline) and,
/// when the settings name support groups, `profile-support` (those groups to profile-support).
pub fn role_bindings(profile: &Profile, settings: &ProfileSettings) -> Vec<Value> {
    let ns = profile_name(profile);
    let service_account =
        |name: &str| json!({"kind": "ServiceAccount", "name": name, "namespace": ns});
    let owner = owner_subject(profile);
    let mut bindings = vec![
        binding(
            profile,
            DEFAULT_EDITOR,
            EDIT_CLUSTER_ROLE,
            Meta::default(),
            vec![service_account(DEFAULT_EDITOR)],
        ),
        binding(
            profile,
            DEFAULT_VIEWER,
            VIEW_CLUSTER_ROLE,
            Meta::default(),
            vec![service_account(DEFAULT_VIEWER)],
        ),
        binding(
            profile,
            NAMESPACE_ADMIN,
            ADMIN_CLUSTER_ROLE,
            Meta {
                labels: BTreeMap::new(),
                annotations: BTreeMap::from([
                    ("role".to_owned(), "admin".to_owned()),
                    ("user".to_owned(), profile.spec.owner.name.clone()),
                ]),
            },
            vec![owner.clone()],
        ),
        binding(
            profile,
            ML_PIPELINE,
            ML_PIPELINE_CLUSTER_ROLE,
            Meta::default(),
            vec![owner],
        ),
    ];
    let mut groups: Vec<&String> = Vec::new();
    for group in &settings.support_groups {
        if !group.is_empty() && !groups.contains(&group) {
            groups.push(group);
        }
    }
    if !groups.is_empty() {
        let subjects = groups
            .iter()
            .map(|g| json!({"apiGroup": RBAC_GROUP, "kind": "Group", "name": g}))
            .collect();
        bindings.push(binding(
            profile,
            PROFILE_SUPPORT,
            SUPPORT_CLUSTER_ROLE,
            Meta::default(),
            subjects,
        ));
    }
    bindings
}

/// Everything the profile controller wants: the Namespace, the ServiceAccounts, the RoleBindings.
pub fn children(profile: &Profile, settings: &ProfileSettings) -> Vec<Value> {
    let mut objects = vec![namespace(profile, settings)];
    objects.extend(service_accounts(profile));
    objects.extend(role_bindings(profile, settings));
    objects
}

/// The owner as an RBAC subject: a User or a Group, per `spec.owner.kind`.
fn owner_subject(profile: &Profile) -> Value {
    let kind = match profile.spec.owner.kind {
        OwnerKind::User => "User",
        OwnerKind::Group => "Group",
    };
    json!({"apiGroup": RBAC_GROUP, "kind": kind, "name": profile.spec.owner.name})
}

/// A RoleBinding in the profile namespace to a ClusterRole.
fn binding(
    profile: &Profile,
    name: &str,
    cluster_role: &str,
    meta: Meta,
    subjects: Vec<Value>,
) -> Value {
    child(
        profile,
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        name,
        Some(profile_name(profile)),
        meta,
        json!({
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": cluster_role},
            "subjects": subjects,
        }),
    )
}
