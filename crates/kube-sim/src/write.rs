//! The write path of the embedded API server: create, update, delete with admission,
//! preconditions, generation, managed fields, quota accounting and CRD registration.
#![deny(clippy::indexing_slicing)]

use super::cluster::Cluster;
use super::object::{self, at, at_mut, now, set};
use super::resources::ResourceType;
use super::status::ApiError;
use super::store::Inner;
use super::{admission, apply, crd, quota_glue, validation};
use serde_json::{Value, json};
use std::sync::Arc;

/// Who writes and how.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    /// Field manager (from `fieldManager` or the user agent).
    pub manager: String,
    /// Authenticated user name.
    pub user: String,
    /// The user's groups.
    pub groups: Vec<String>,
    /// `dryRun=All`: run everything, store nothing.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: refuse unknown fields.
    pub strict: bool,
    /// Skip admission webhooks (the sim's own controllers writing status).
    pub internal: bool,
}

impl WriteOpts {
    /// The user writing.
    pub fn writer(&self) -> crate::auth::User {
        crate::auth::User {
            name: self.user.clone(),
            uid: String::new(),
            groups: self.groups.clone(),
        }
    }
}

/// Outcome of one attempt of an update.
pub enum Attempt {
    /// Done, with the stored (or dry-run) object.
    Done(Value),
    /// The object changed underneath; compute again from the new state.
    Retry,
}

/// Creates an object (POST on a collection, or apply of a missing object when `managed` is given).
pub async fn create(
    c: &Cluster,
    rt: &Arc<ResourceType>,
    ns: &str,
    mut obj: Value,
    opts: &WriteOpts,
    managed: Option<Vec<Value>>,
) -> Result<Value, ApiError> {
    prepare_new(rt, ns, &mut obj)?;
    if rt.crd.is_none() {
        super::defaults::apply(&rt.group, &rt.kind, &mut obj);
    }
    if rt.plural == "pods" && rt.crd.is_none() {
        super::prepare::admit_pod(&c.store.read(), ns, &mut obj)?;
    }
    if rt.plural == "pods" {
        let ranges = c.store.read().list_values("limitranges", Some(ns));
        super::limitrange::apply_defaults(&mut obj, &ranges);
        super::limitrange::validate(&obj, &ranges).map_err(ApiError::forbidden)?;
    }
    if rt.plural == "persistentvolumeclaims" {
        let ranges = c.store.read().list_values("limitranges", Some(ns));
        super::limitrange::validate_pvc(&obj, &ranges).map_err(ApiError::forbidden)?;
    }
    if !opts.internal {
        obj = admission::mutate(c, "CREATE", rt, ns, obj, None, opts).await?;
    }
    validation::validate(rt, &mut obj, opts.strict)?;
    if !opts.internal {
        crate::auth::check_escalation(c, rt, ns, &obj, &opts.writer())?;
        admission::validate(c, "CREATE", rt, ns, &obj, None, opts).await?;
    }
    // Admission webhooks may have answered with any shape.
    check_shape(&obj, "the admitted object")?;
    let now = now();
    if let Some(meta) = at_mut(&mut obj, &["metadata"]).and_then(Value::as_object_mut) {
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now));
        meta.remove("deletionTimestamp");
        meta.remove("resourceVersion");
    }
    if rt.crd.is_none() {
        super::prepare::prepare_for_create(&rt.group, &rt.kind, &mut obj);
    }
    if tracks_generation(rt, &obj) {
        set(&mut obj, &["metadata", "generation"], json!(1));
    }
    if rt.plural == "customresourcedefinitions" {
        crd::check_definition(&obj)
            .map_err(|(f, m)| ApiError::invalid(&rt.kind, object::name(&obj), &f, &m))?;
        crd::set_established(&mut obj, &now);
    }
    if rt.plural == "namespaces" {
        if !set(&mut obj, &["spec", "finalizers"], json!(["kubernetes"])) {
            return Err(ApiError::invalid(
                &rt.kind,
                object::name(&obj),
                "spec",
                "Invalid value: must be an object",
            ));
        }
        set(&mut obj, &["status"], json!({"phase": "Active"}));
    }
    let managed = match managed {
        Some(m) => m,
        None => apply::record_update(None, &obj, &opts.manager, &rt.api_version(), &now, None),
    };
    set(&mut obj, &["metadata", "managedFields"], json!(managed));
    let name = object::name(&obj).to_string();
    c.store.write(|s| {
        if rt.namespaced {
            namespace_accepts(s, ns)?;
        }
        if s.get(&rt.key(), ns, &name).is_some() {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        if rt.plural == "services" && rt.crd.is_none() {
            super::services::allocate(s, &mut obj)?;
        }
        quota_glue::admit(s, rt, ns, &obj)?;
        if opts.dry_run {
            return Ok(obj);
        }
        Ok(store(s, rt, obj))
    })
}

/// Whether a new object gets `metadata.generation`: custom resources and built-ins with a spec,
/// except the core kinds whose strategies keep none (Service, Namespace, PersistentVolumeClaim…);
/// pods have one since Kubernetes 1.33.
fn tracks_generation(rt: &ResourceType, obj: &Value) -> bool {
    if rt.crd.is_some() {
        return true;
    }
    let core_with_generation = matches!(rt.kind.as_str(), "Pod" | "ReplicationController");
    obj.get("spec").is_some() && (!rt.group.is_empty() || core_with_generation)
}

/// Fills in apiVersion/kind/namespace/name of a new object and checks them against the URL.
fn prepare_new(rt: &ResourceType, ns: &str, obj: &mut Value) -> Result<(), ApiError> {
    check_type(rt, obj)?;
    let meta = metadata_mut(obj)?;
    if rt.namespaced {
        match meta.get("namespace").map(|n| (n, n.as_str())) {
            Some((_, Some(n))) if !n.is_empty() && n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some((n, None)) if !n.is_null() => return Err(not_a_string("metadata.namespace", n)),
            _ => {
                meta.insert("namespace".into(), json!(ns));
            }
        }
    } else {
        meta.remove("namespace");
    }
    for field in ["name", "generateName"] {
        if let Some(v) = meta.get(field).filter(|v| !v.is_null() && !v.is_string()) {
            return Err(not_a_string(&format!("metadata.{field}"), v));
        }
    }
    let name = object::name(obj).to_string();
    if name.is_empty() {
        let Some(prefix) = at(obj, &["metadata", "generateName"])
            .as_str()
            .filter(|p| !p.is_empty())
        else {
            return Err(ApiError::invalid(
                &rt.kind,
                "",
                "metadata.name",
                "Required value: name or generateName is required",
            ));
        };
        let name = format!("{prefix}{}", object::random_suffix(5));
        set(obj, &["metadata", "name"], json!(name));
    }
    let name = object::name(obj).to_string();
    let label = matches!(rt.plural.as_str(), "namespaces" | "services");
    // RBAC objects only need to be valid path segments, as in Kubernetes (`namespaceAdmin`).
    let rbac = rt.group == "rbac.authorization.k8s.io";
    let problem = if rbac {
        object::invalid_path_segment(&name)
    } else {
        object::invalid_name(&name, label)
    };
    if let Some(problem) = problem {
        return Err(ApiError::invalid(
            &rt.kind,
            &name,
            "metadata.name",
            &problem,
        ));
    }
    Ok(())
}

/// The JSON type of a value, as messages name it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn not_a_string(field: &str, v: &Value) -> ApiError {
    ApiError::bad_request(format!("{field} must be a string, not {}", type_name(v)))
}

/// Checks the shape everything after relies on, before anything looks inside: `what` (the
/// request body, a patched object) is a JSON object, its `metadata` an object when set, its
/// `apiVersion` and `kind` strings when set. A 400 naming the field otherwise.
pub fn check_shape(obj: &Value, what: &str) -> Result<(), ApiError> {
    let Some(map) = obj.as_object() else {
        return Err(ApiError::bad_request(format!(
            "{what} must be a JSON or YAML object, not {}",
            type_name(obj)
        )));
    };
    if let Some(meta) = map
        .get("metadata")
        .filter(|m| !m.is_null() && !m.is_object())
    {
        return Err(ApiError::bad_request(format!(
            "{what}: metadata must be an object, not {}",
            type_name(meta)
        )));
    }
    for field in ["apiVersion", "kind"] {
        if let Some(v) = map.get(field).filter(|v| !v.is_null() && !v.is_string()) {
            return Err(not_a_string(&format!("{what}: {field}"), v));
        }
    }
    if deeper_than(obj, MAX_DEPTH) {
        return Err(ApiError::bad_request(format!(
            "{what} is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    Ok(())
}

/// How deep objects may nest. Kubernetes allows more, but what the sim stores it serves again
/// inside lists, watch events and tables, with managed fields as deep as the object: past this
/// its own clients (serde_json stops at 128 levels) could no longer read them.
pub const MAX_DEPTH: usize = 100;

/// Whether `v` nests arrays and objects more than `limit` levels deep (without recursing: a
/// JSON patch can build values deeper than any parser would accept).
fn deeper_than(v: &Value, limit: usize) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(m) => Box::new(m.values()),
            _ => continue,
        };
        if depth >= limit {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

/// `metadata` of an object that passed [`check_shape`], made an empty object when missing or null.
fn metadata_mut(obj: &mut Value) -> Result<&mut serde_json::Map<String, Value>, ApiError> {
    at_mut(obj, &["metadata"])
        .and_then(|m| {
            if m.is_null() {
                *m = json!({});
            }
            m.as_object_mut()
        })
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))
}

/// Checks (and fills in) apiVersion and kind against the endpoint's type, after the shape
/// ([`check_shape`]) of the object.
pub fn check_type(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    check_shape(obj, "the request body")?;
    let expected = rt.api_version();
    match at(obj, &["apiVersion"]).as_str() {
        None | Some("") => {
            set(obj, &["apiVersion"], json!(expected));
        }
        Some(v) if v == expected => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({expected})"
            )));
        }
    }
    match at(obj, &["kind"]).as_str() {
        None | Some("") => {
            set(obj, &["kind"], json!(rt.kind));
        }
        Some(k) if k == rt.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
    }
    Ok(())
}

fn namespace_accepts(s: &Inner, ns: &str) -> Result<(), ApiError> {
    match s.get_value("namespaces", "", ns) {
        None => Err(ApiError::not_found("", "namespaces", ns)),
        Some(n) if object::is_deleting(&n) => Err(ApiError::forbidden(format!(
            "unable to create new content in namespace {ns} because it is being terminated"
        ))),
        Some(_) => Ok(()),
    }
}

/// Stores an object and runs the in-transaction hooks (CRD kinds, quota usage).
pub fn store(s: &mut Inner, rt: &ResourceType, obj: Value) -> Value {
    if rt.plural == "customresourcedefinitions" {
        let crd_name = object::name(&obj).to_string();
        s.registry.remove_crd(&crd_name);
        for t in crd::types_of(&obj) {
            s.registry.insert(t);
        }
    }
    let ns = object::namespace(&obj).to_string();
    let stored = s.put(&rt.key(), obj);
    quota_glue::refresh(s, &ns);
    stored
}

/// Removes an object and runs the in-transaction hooks.
pub fn remove(s: &mut Inner, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
    let gone = s.remove(&rt.key(), ns, name)?;
    if rt.plural == "customresourcedefinitions" {
        let group = at(&gone, &["spec", "group"]).as_str().unwrap_or_default();
        let plural = at(&gone, &["spec", "names", "plural"])
            .as_str()
            .unwrap_or_default();
        s.registry.remove_crd(name);
        s.drop_resource(&super::resources::resource_key(group, plural));
    }
    quota_glue::refresh(s, ns);
    Some(gone)
}

/// Merges an updated object over the stored one following subresource rules, and
/// validates it. `managed` carries managed fields when the caller computed them (apply).
#[allow(clippy::too_many_arguments)]
pub async fn update_attempt(
    c: &Cluster,
    rt: &Arc<ResourceType>,
    ns: &str,
    sub: Option<&str>,
    old: &Value,
    mut new: Value,
    precondition: bool,
    opts: &WriteOpts,
    managed: Option<Vec<Value>>,
) -> Result<Attempt, ApiError> {
    let name = object::name(old).to_string();
    check_type(rt, &mut new)?;
    metadata_mut(&mut new)?;
    let new_name = object::name(&new);
    if !new_name.is_empty() && new_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({new_name}) does not match the name on the URL ({name})"
        )));
    }
    let wanted_rv = at(&new, &["metadata", "resourceVersion"])
        .as_str()
        .filter(|v| !v.is_empty())
        .map(String::from);
    let old_rv = at(old, &["metadata", "resourceVersion"])
        .as_str()
        .unwrap_or("")
        .to_string();
    if let Some(w) = &wanted_rv
        && *w != old_rv
    {
        if precondition {
            return Err(ApiError::conflict(&rt.group, &rt.plural, &name));
        }
        return Ok(Attempt::Retry);
    }
    // Fields the client cannot change.
    for k in [
        "uid",
        "creationTimestamp",
        "name",
        "namespace",
        "deletionTimestamp",
        "generation",
    ] {
        let meta = metadata_mut(&mut new)?;
        match at(old, &["metadata", k]) {
            Value::Null => {
                meta.remove(k);
            }
            v => {
                meta.insert(k.into(), v.clone());
            }
        }
    }
    match sub {
        Some("status") => {
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(st) => {
                    set(&mut new, &["status"], st);
                }
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        Some("finalize") => {
            let finalizers = at(&new, &["spec", "finalizers"]).clone();
            new = old.clone();
            set(&mut new, &["spec", "finalizers"], finalizers);
        }
        _ if rt.status => match old.get("status") {
            Some(st) => {
                set(&mut new, &["status"], st.clone());
            }
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        _ => {}
    }
    if sub.is_none() && rt.crd.is_none() {
        super::defaults::apply(&rt.group, &rt.kind, &mut new);
        if rt.plural == "services" {
            super::services::keep_allocated(old, &mut new);
        }
    }
    // Only kinds that track a generation (set at create) get it bumped; a ConfigMap never has one.
    if let Some(generation) = at(old, &["metadata", "generation"]).as_i64()
        && sub.is_none()
        && object::spec_part(old) != object::spec_part(&new)
    {
        set(&mut new, &["metadata", "generation"], json!(generation + 1));
    }
    if sub.is_none() && !opts.internal {
        new = admission::mutate(c, "UPDATE", rt, ns, new, Some(old), opts).await?;
    }
    check_shape(&new, "the admitted object")?;
    validation::validate(rt, &mut new, opts.strict)?;
    if sub.is_none() && !opts.internal {
        crate::auth::check_escalation(c, rt, ns, &new, &opts.writer())?;
        admission::validate(c, "UPDATE", rt, ns, &new, Some(old), opts).await?;
    }
    let now = now();
    let managed = match managed {
        Some(m) => m,
        None => apply::record_update(Some(old), &new, &opts.manager, &rt.api_version(), &now, sub),
    };
    let meta = metadata_mut(&mut new)?;
    meta.insert("managedFields".into(), json!(managed));
    meta.insert("resourceVersion".into(), json!(old_rv));
    if same_ignoring_times(old, &new) {
        return Ok(Attempt::Done(old.clone()));
    }
    c.store.write(|s| {
        let current_rv = s.get_value(&rt.key(), ns, &name).map(|v| {
            at(&v, &["metadata", "resourceVersion"])
                .as_str()
                .unwrap_or("")
                .to_string()
        });
        match current_rv {
            None => return Err(ApiError::not_found(&rt.group, &rt.plural, &name)),
            Some(rv) if rv != old_rv => {
                return if precondition && wanted_rv.is_some() {
                    Err(ApiError::conflict(&rt.group, &rt.plural, &name))
                } else {
                    Ok(Attempt::Retry)
                };
            }
            Some(_) => {}
        }
        if rt.plural == "services" && rt.crd.is_none() && sub.is_none() {
            super::services::allocate_missing(s, &mut new)?;
        }
        if opts.dry_run {
            return Ok(Attempt::Done(new));
        }
        if object::is_deleting(&new) && object::finalizers(&new).is_empty() {
            let gone = remove(s, rt, ns, &name).unwrap_or(new);
            return Ok(Attempt::Done(gone));
        }
        Ok(Attempt::Done(store(s, rt, new)))
    })
}

/// Whether two versions differ only in managed-field timestamps.
fn same_ignoring_times(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(mf) =
            object::find_mut(&mut v, &["metadata", "managedFields"]).and_then(Value::as_array_mut)
        {
            for e in mf {
                if let Some(m) = e.as_object_mut() {
                    m.remove("time");
                }
            }
        }
        v
    };
    strip(a) == strip(b)
}

/// How a delete treats dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete now; dependents are collected in the background.
    Background,
    /// Delete dependents first, then the owner.
    Foreground,
    /// Leave dependents, removing their owner references.
    Orphan,
}

/// Deletes an object honouring finalizers and propagation; returns the object's last state.
pub fn delete(
    c: &Cluster,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    propagation: Propagation,
    precondition: (Option<String>, Option<String>),
    dry_run: bool,
) -> Result<Value, ApiError> {
    c.store.write(|s| {
        let Some(mut obj) = s.get_value(&rt.key(), ns, name) else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        let (want_uid, want_rv) = precondition;
        if want_uid.as_deref().is_some_and(|u| u != object::uid(&obj))
            || want_rv
                .as_deref()
                .is_some_and(|r| Some(r) != at(&obj, &["metadata", "resourceVersion"]).as_str())
        {
            return Err(ApiError::conflict(&rt.group, &rt.plural, name));
        }
        if dry_run {
            return Ok(obj);
        }
        let mut finalizers = object::finalizers(&obj);
        if rt.plural == "namespaces" {
            if !object::is_deleting(&obj) {
                set(&mut obj, &["metadata", "deletionTimestamp"], json!(now()));
                set(&mut obj, &["status", "phase"], json!("Terminating"));
                return Ok(store(s, rt, obj));
            }
            return Ok(obj);
        }
        match propagation {
            Propagation::Orphan => orphan_dependents(s, object::uid(&obj)),
            Propagation::Foreground => {
                if !finalizers.iter().any(|f| f == "foregroundDeletion") {
                    finalizers.push("foregroundDeletion".into());
                    set(&mut obj, &["metadata", "finalizers"], json!(finalizers));
                }
            }
            Propagation::Background => {}
        }
        if finalizers.is_empty() {
            return Ok(remove(s, rt, ns, name).unwrap_or(obj));
        }
        if !object::is_deleting(&obj) || propagation == Propagation::Foreground {
            if !object::is_deleting(&obj) {
                set(&mut obj, &["metadata", "deletionTimestamp"], json!(now()));
                set(
                    &mut obj,
                    &["metadata", "deletionGracePeriodSeconds"],
                    json!(0),
                );
            }
            return Ok(store(s, rt, obj));
        }
        Ok(obj)
    })
}

/// Removes the owner reference to `owner_uid` from every object (orphan propagation).
fn orphan_dependents(s: &mut Inner, owner_uid: &str) {
    for key in s.keys() {
        let Some(rt) = s.type_of_key(&key) else {
            continue;
        };
        let dependents: Vec<Value> = s
            .list_values(&key, None)
            .into_iter()
            .filter(|o| object::owner_uids(o).iter().any(|u| u == owner_uid))
            .collect();
        for mut dep in dependents {
            if let Some(refs) = object::find_mut(&mut dep, &["metadata", "ownerReferences"])
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| at(r, &["uid"]).as_str() != Some(owner_uid));
            }
            store(s, &rt, dep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_that_would_panic_are_refused_by_name() {
        let bad = |v: Value| check_shape(&v, "the object").unwrap_err().message;
        assert!(bad(json!([1])).contains("not an array"));
        assert!(bad(json!({"metadata": 5})).contains("metadata must be an object"));
        assert!(bad(json!({"metadata": []})).contains("not an array"));
        assert!(bad(json!({"kind": ["Pod"]})).contains("kind must be a string"));
        assert!(bad(json!({"apiVersion": 1})).contains("apiVersion must be a string"));
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!({ "a": deep });
        }
        assert!(check_shape(&deep, "x").is_ok());
        assert!(bad(json!({ "spec": deep })).contains("nested more than"));
        for ok in [
            json!({}),
            json!({"metadata": null, "kind": null}),
            json!({"metadata": {}}),
        ] {
            assert!(check_shape(&ok, "the object").is_ok(), "{ok}");
        }
    }
}
