//! Server-side apply with field ownership tracked in Kubernetes `managedFields`
//! (fieldsV1 format): conflicts, forced takeover, pruning and update recording.
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value, json};

use super::strategic::merge_key_for;

/// A leaf field path as fieldsV1 keys (`f:spec`, `k:{"name":"app"}`, `v:"x"`, `.`).
type FieldPath = Vec<String>;
type FieldSet = BTreeSet<FieldPath>;

const IGNORED_METADATA: [&str; 7] = [
    "name",
    "namespace",
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
];

/// Manager that Kubernetes credits with the fields of an object that had no managedFields.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Result of a successful server-side apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutcome {
    /// The merged object, with `metadata.managedFields` already set to `managed_fields`.
    pub object: Value,
    /// The updated managedFields entries.
    pub managed_fields: Vec<Value>,
}

/// Apply conflicts: (manager identity, field path) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Manager identity as Kubernetes encodes it (JSON of manager/operation/apiVersion/subresource, or a plain name) and the path like `.spec.replicas`.
    pub conflicts: Vec<(String, String)>,
}

impl Conflict {
    /// The Kubernetes error message, e.g. `Apply failed with 1 conflict: conflict with "mgr": .spec.replicas`.
    pub fn message(&self) -> String {
        if let [(manager, path)] = self.conflicts.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {path}",
                print_manager(manager)
            );
        }
        let managers: BTreeSet<&String> = self.conflicts.iter().map(|(m, _)| m).collect();
        let mut lines = Vec::new();
        for manager in managers {
            lines.push(format!("conflicts with {}:", print_manager(manager)));
            for (_, path) in self.conflicts.iter().filter(|(m, _)| m == manager) {
                lines.push(format!("- {path}"));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.conflicts.len(),
            lines.join("\n")
        )
    }

    /// The `details.causes` entries of type FieldManagerConflict for the 409 Status.
    pub fn causes(&self) -> Vec<Value> {
        self.conflicts
            .iter()
            .map(|(manager, path)| {
                json!({
                    "type": "FieldManagerConflict",
                    "message": format!("conflict with {}", print_manager(manager)),
                    "field": path,
                })
            })
            .collect()
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Conflict {}

/// Renders a manager identity as Kubernetes' `printManager` does.
fn print_manager(id: &str) -> String {
    let quote = |s: &str| Value::from(s).to_string();
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(id) else {
        return quote(id);
    };
    let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let mut out = quote(field("manager"));
    if !field("subresource").is_empty() {
        out = format!("{out} with subresource {}", quote(field("subresource")));
    }
    if field("operation") == "Update" {
        out = format!("{out} using {}", field("apiVersion"));
    }
    out
}

/// One managedFields entry in decoded form.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: FieldSet,
}

impl Entry {
    fn from_value(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Entry {
            manager: s("manager"),
            operation: s("operation"),
            api_version: s("apiVersion"),
            time: s("time"),
            subresource: Some(s("subresource")).filter(|x| !x.is_empty()),
            fields: v.get("fieldsV1").map(parse_fields).unwrap_or_default(),
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), self.manager.clone().into());
        m.insert("operation".into(), self.operation.clone().into());
        m.insert("apiVersion".into(), self.api_version.clone().into());
        m.insert("time".into(), self.time.clone().into());
        m.insert("fieldsType".into(), "FieldsV1".into());
        m.insert("fieldsV1".into(), render_fields(&self.fields));
        if let Some(sub) = &self.subresource {
            m.insert("subresource".into(), sub.clone().into());
        }
        Value::Object(m)
    }

    /// The manager identifier Kubernetes builds (no time, no apiVersion for appliers).
    fn identity(&self) -> String {
        let mut m = Map::new();
        m.insert("manager".into(), self.manager.clone().into());
        m.insert("operation".into(), self.operation.clone().into());
        if self.operation != "Apply" {
            m.insert("apiVersion".into(), self.api_version.clone().into());
        }
        if let Some(sub) = &self.subresource {
            m.insert("subresource".into(), sub.clone().into());
        }
        Value::Object(m).to_string()
    }

    fn is(&self, manager: &str, operation: &str, api_version: &str, sub: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == sub
            && (operation == "Apply" || self.api_version == api_version)
    }
}

fn leaf_paths(obj: &Value, include_status: bool) -> FieldSet {
    let mut set = FieldSet::new();
    let Some(root) = obj.as_object() else {
        return set;
    };
    for (k, v) in root {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "status" if !include_status => {}
            "metadata" => {
                for (mk, mv) in v.as_object().into_iter().flatten() {
                    if !IGNORED_METADATA.contains(&mk.as_str()) {
                        let mut names = vec![k.clone(), mk.clone()];
                        let mut fp = vec![format!("f:{k}"), format!("f:{mk}")];
                        walk(mv, &mut names, &mut fp, &mut set);
                    }
                }
            }
            _ => walk(
                v,
                &mut vec![k.clone()],
                &mut vec![format!("f:{k}")],
                &mut set,
            ),
        }
    }
    set
}

/// How a list field is tracked: atomic, as a set of primitives, or keyed by a merge key.
enum ListKind {
    Atomic,
    Set,
    Keyed(&'static str),
}

fn list_kind(names: &[String], items: &[Value]) -> ListKind {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(key) = merge_key_for(&names) else {
        return ListKind::Atomic;
    };
    if items.iter().all(|v| !v.is_object() && !v.is_array()) {
        return ListKind::Set;
    }
    let ids: Vec<Option<&Value>> = items.iter().map(|v| v.get(key)).collect();
    let unique = ids
        .iter()
        .enumerate()
        .all(|(i, id)| !ids.iter().take(i).any(|x| x == id));
    if key.is_empty() || !unique || ids.iter().any(Option::is_none) {
        return ListKind::Atomic;
    }
    ListKind::Keyed(key)
}

fn key_segment(key: &str, value: &Value) -> String {
    format!("k:{}", json!({ key: value }))
}

fn walk(v: &Value, names: &mut Vec<String>, fp: &mut FieldPath, set: &mut FieldSet) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                names.push(k.clone());
                fp.push(format!("f:{k}"));
                walk(child, names, fp, set);
                names.pop();
                fp.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match list_kind(names, items) {
            ListKind::Atomic => {
                set.insert(fp.clone());
            }
            ListKind::Set => {
                for item in items {
                    fp.push(format!("v:{item}"));
                    set.insert(fp.clone());
                    fp.pop();
                }
            }
            ListKind::Keyed(key) => {
                for item in items {
                    fp.push(key_segment(key, &item[key]));
                    fp.push(".".into());
                    set.insert(fp.clone());
                    fp.pop();
                    walk(item, names, fp, set);
                    fp.pop();
                }
            }
        },
        _ => {
            set.insert(fp.clone());
        }
    }
}

fn render_fields(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for seg in path {
            cur = match cur.entry(seg.clone()).or_insert_with(|| json!({})) {
                Value::Object(m) => m,
                _ => break,
            };
        }
    }
    Value::Object(root)
}

fn parse_fields(v: &Value) -> FieldSet {
    fn go(v: &Value, path: &mut FieldPath, set: &mut FieldSet) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, child) in m {
                    path.push(k.clone());
                    go(child, path, set);
                    path.pop();
                }
            }
            _ if !path.is_empty() => {
                set.insert(path.clone());
            }
            _ => {}
        }
    }
    let mut set = FieldSet::new();
    go(v, &mut Vec::new(), &mut set);
    set
}

/// Predicate selecting a list element.
type ElementMatcher = Box<dyn Fn(&Value) -> bool>;

/// Whether a list element matches one `k:` or `v:` fieldsV1 path segment.
fn matcher(seg: &str) -> Option<ElementMatcher> {
    if let Some(k) = seg.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(k).ok()?;
        Some(Box::new(move |e| {
            key.iter().all(|(kk, kv)| e.get(kk) == Some(kv))
        }))
    } else {
        let val: Value = serde_json::from_str(seg.strip_prefix("v:")?).ok()?;
        Some(Box::new(move |e| *e == val))
    }
}

fn value_at<'a>(mut cur: &'a Value, path: &[String]) -> Option<&'a Value> {
    for seg in path {
        cur = match seg.strip_prefix("f:") {
            Some(f) => cur.get(f)?,
            None if seg == "." => cur,
            None => {
                let m = matcher(seg)?;
                cur.as_array()?.iter().find(|e| m(e))?
            }
        };
    }
    Some(cur).filter(|v| !v.is_null())
}

fn value_at_mut<'a>(mut cur: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    for seg in path {
        cur = match seg.strip_prefix("f:") {
            Some(f) => cur.get_mut(f)?,
            None if seg == "." => cur,
            None => {
                let m = matcher(seg)?;
                cur.as_array_mut()?.iter_mut().find(|e| m(e))?
            }
        };
    }
    Some(cur)
}

/// Whether two objects agree at a leaf path (existence only for elements and maps).
fn same_at(a: &Value, b: &Value, path: &[String]) -> bool {
    let presence = path.last().is_some_and(|s| s == "." || s.starts_with("v:"));
    match (value_at(a, path), value_at(b, path)) {
        (Some(x), Some(y)) => presence || x == y || (x.is_object() && y.is_object()),
        (x, y) => x.is_none() && y.is_none(),
    }
}

/// Renders a fieldsV1 path the way structured-merge-diff prints it (`.spec.containers[name="app"].image`).
fn path_string(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if let Some(f) = seg.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(v) = seg.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(k) = seg.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
    }
    out
}

/// Removes the value at one segment from its container.
fn remove_segment(container: &mut Value, seg: &str) {
    if let Some(f) = seg.strip_prefix("f:") {
        if let Some(m) = container.as_object_mut() {
            m.shift_remove(f);
        }
    } else if let (Some(m), Some(items)) = (matcher(seg), container.as_array_mut()) {
        items.retain(|e| !m(e));
    }
}

/// Removes a no-longer-owned leaf, then prunes parents the removal left empty.
fn remove_path(obj: &mut Value, path: &[String], keep: &FieldSet) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let (seg, container) = if last == "." {
        if keep.iter().any(|k| k.starts_with(parent)) {
            return;
        }
        match parent.split_last() {
            Some((seg, up)) => (seg.as_str(), up),
            None => return,
        }
    } else {
        let is_key = parent
            .last()
            .and_then(|p| p.strip_prefix("k:"))
            .is_some_and(|k| {
                serde_json::from_str::<Map<String, Value>>(k)
                    .is_ok_and(|m| m.contains_key(last.trim_start_matches("f:")))
            });
        if is_key {
            return;
        }
        (last.as_str(), parent)
    };
    let Some(target) = value_at_mut(obj, container) else {
        return;
    };
    remove_segment(target, seg);
    let mut cur = container.to_vec();
    while let Some((seg, up)) = cur.split_last() {
        let empty = match value_at(obj, &cur) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if !empty || keep.contains(&cur) {
            break;
        }
        if let Some(target) = value_at_mut(obj, up) {
            remove_segment(target, seg);
        }
        cur = up.to_vec();
    }
}

/// Merges an applied configuration into the live object using list merge keys.
fn merge_into(dst: &mut Value, src: &Value, names: &mut Vec<String>) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                if v.is_null() {
                    d.shift_remove(k);
                    continue;
                }
                names.push(k.clone());
                match d.get_mut(k) {
                    Some(dv) => merge_into(dv, v, names),
                    None => {
                        d.insert(k.clone(), v.clone());
                    }
                }
                names.pop();
            }
        }
        (Value::Array(d), Value::Array(s)) => match list_kind(names, s) {
            ListKind::Keyed(key) => {
                for e in s {
                    match d.iter_mut().find(|x| x.get(key) == e.get(key)) {
                        Some(x) => merge_into(x, e, names),
                        None => d.push(e.clone()),
                    }
                }
            }
            ListKind::Set => {
                for e in s {
                    if !d.contains(e) {
                        d.push(e.clone());
                    }
                }
            }
            ListKind::Atomic => *d = s.clone(),
        },
        (d, s) => *d = s.clone(),
    }
}

fn read_entries(obj: &Value) -> Option<Vec<Entry>> {
    let list = obj.pointer("/metadata/managedFields")?.as_array()?;
    Some(list.iter().map(Entry::from_value).collect())
}

/// Drops empty entries, sorts as Kubernetes does and encodes the entries.
fn finish(mut entries: Vec<Entry>) -> Vec<Value> {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|p, q| {
        (
            &p.operation,
            &p.time,
            &p.manager,
            &p.api_version,
            &p.subresource,
        )
            .cmp(&(
                &q.operation,
                &q.time,
                &q.manager,
                &q.api_version,
                &q.subresource,
            ))
    });
    entries.iter().map(Entry::to_value).collect()
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        md.shift_remove("managedFields");
    }
    obj
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const LAST_APPLIED_POINTER: &str =
    "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration";

/// The field set of the object's last-applied-configuration annotation, if it has one.
fn last_applied_fields(live: &Value) -> Option<FieldSet> {
    let text = live.pointer(LAST_APPLIED_POINTER)?.as_str()?;
    let applied: Value = serde_json::from_str(text).ok()?;
    Some(leaf_paths(&applied, false))
}

/// A copy with object keys sorted, as Go encodes maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Server-side applies `applied` for `manager` onto `live`, or reports ownership conflicts.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    now: &str,
    subresource: Option<&str>,
) -> Result<ApplyOutcome, Conflict> {
    let empty = json!({});
    let base = live.unwrap_or(&empty);
    let mut entries = match live.map(read_entries) {
        Some(Some(entries)) if !entries.is_empty() => entries,
        Some(_) => vec![Entry {
            manager: BEFORE_FIRST_APPLY.into(),
            operation: "Update".into(),
            api_version: api_version.into(),
            time: now.into(),
            subresource: None,
            fields: leaf_paths(base, false),
        }],
        None => Vec::new(),
    };
    // An apply to /status owns status fields only; one to the object owns everything else.
    let status = subresource == Some("status");
    let in_scope = |p: &FieldPath| (p.first().map(String::as_str) == Some("f:status")) == status;
    let mut config = without_managed_fields(applied);
    if let Some(m) = config.as_object_mut() {
        if status {
            m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "status"));
            if let Some(name) = applied.pointer("/metadata/name") {
                m.insert("metadata".into(), json!({ "name": name }));
            }
        } else {
            m.shift_remove("status");
        }
    }
    let new_set: FieldSet = leaf_paths(&config, status)
        .into_iter()
        .filter(in_scope)
        .collect();
    let me = entries
        .iter()
        .position(|e| e.is(manager, "Apply", api_version, subresource));

    let mut conflicts = Vec::new();
    for (i, entry) in entries.iter().enumerate().filter(|(i, _)| Some(*i) != me) {
        for path in entry.fields.intersection(&new_set) {
            if !same_at(base, &config, path) {
                conflicts.push((i, path.clone()));
            }
        }
    }
    // Upgrading from client-side apply: `kubectl` may take over, without conflict, the fields
    // listed in the last-applied-configuration annotation (the apiserver's lastAppliedManager).
    let upgrade = manager == "kubectl"
        && last_applied_fields(base)
            .is_some_and(|allowed| conflicts.iter().all(|(_, p)| allowed.contains(p)));
    if !conflicts.is_empty() && !force && !upgrade {
        let conflicts = conflicts
            .iter()
            .filter_map(|(i, p)| Some((entries.get(*i)?.identity(), path_string(p))))
            .collect();
        return Err(Conflict { conflicts });
    }
    for (i, path) in &conflicts {
        if let Some(entry) = entries.get_mut(*i) {
            entry.fields.remove(path);
        }
    }

    let mut object = base.clone();
    merge_into(&mut object, &config, &mut Vec::new());
    let previous = me
        .and_then(|i| entries.get(i))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut keep = new_set.clone();
    for (_, entry) in entries.iter().enumerate().filter(|(i, _)| Some(*i) != me) {
        keep.extend(entry.fields.iter().cloned());
    }
    for path in previous.difference(&keep) {
        remove_path(&mut object, path, &keep);
    }

    let changed = without_managed_fields(&object) != without_managed_fields(base);
    match me.and_then(|i| entries.get_mut(i)) {
        Some(entry) => {
            if changed || entry.fields != new_set {
                entry.time = now.into();
            }
            entry.fields = new_set;
            entry.api_version = api_version.into();
        }
        None => entries.push(Entry {
            manager: manager.into(),
            operation: "Apply".into(),
            api_version: api_version.into(),
            time: now.into(),
            subresource: subresource.map(String::from),
            fields: new_set,
        }),
    }
    // ... and keeps that annotation in sync with what it applies (the apiserver's lastAppliedUpdater).
    if manager == "kubectl" && base.pointer(LAST_APPLIED_POINTER).is_some() {
        let mut applied = sorted(&config);
        if let Some(a) = applied
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            a.shift_remove(LAST_APPLIED);
        }
        // The applied configuration may have made the annotations anything.
        if let Some(a) = crate::object::at_mut(&mut object, &["metadata", "annotations"])
            .and_then(Value::as_object_mut)
        {
            a.insert(LAST_APPLIED.into(), json!(format!("{applied}\n")));
        }
    }
    let managed_fields = finish(entries);
    if let Some(md) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if managed_fields.is_empty() {
            md.shift_remove("managedFields");
        } else {
            md.insert("managedFields".into(), managed_fields.clone().into());
        }
    }
    Ok(ApplyOutcome {
        object,
        managed_fields,
    })
}

/// Records a non-apply write (create/update/patch) by `manager` and returns the new managedFields.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    api_version: &str,
    now: &str,
    subresource: Option<&str>,
) -> Vec<Value> {
    let previous = old.and_then(read_entries).unwrap_or_default();
    let supplied = read_entries(new).filter(|s| !s.is_empty() && *s != previous);
    let mut entries = supplied.unwrap_or(previous);
    let status = subresource == Some("status");
    let in_scope = |p: &FieldPath| (p.first().map(String::as_str) == Some("f:status")) == status;
    let new_set: FieldSet = leaf_paths(new, status)
        .into_iter()
        .filter(in_scope)
        .collect();
    let changed: FieldSet = new_set
        .into_iter()
        .filter(|p| old.is_none_or(|o| !same_at(o, new, p)))
        .collect();
    for entry in &mut entries {
        entry
            .fields
            .retain(|p| !in_scope(p) || (value_at(new, p).is_some() && !changed.contains(p)));
    }
    match entries
        .iter_mut()
        .find(|e| e.is(manager, "Update", api_version, subresource))
    {
        Some(entry) => {
            if !changed.is_subset(&entry.fields) {
                entry.time = now.into();
            }
            entry.fields.extend(changed);
        }
        None => entries.push(Entry {
            manager: manager.into(),
            operation: "Update".into(),
            api_version: api_version.into(),
            time: now.into(),
            subresource: subresource.map(String::from),
            fields: changed,
        }),
    }
    finish(entries)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    const T0: &str = "2024-01-01T00:00:00Z";
    const T1: &str = "2024-01-01T00:01:00Z";

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "app", "image": image}
            ]}}}
        })
    }

    fn apply(
        live: Option<&Value>,
        cfg: &Value,
        mgr: &str,
        force: bool,
    ) -> Result<ApplyOutcome, Conflict> {
        server_side_apply(live, cfg, mgr, "apps/v1", force, T0, None)
    }

    fn owned(out: &ApplyOutcome, mgr: &str) -> FieldSet {
        out.managed_fields
            .iter()
            .map(Entry::from_value)
            .filter(|e| e.manager == mgr)
            .flat_map(|e| e.fields)
            .collect()
    }

    /// The fieldsV1 set of the leaf fields of `obj`, ignoring status and server-set metadata.
    fn field_set(obj: &Value) -> Value {
        field_set_of(obj, false)
    }

    fn field_set_of(obj: &Value, include_status: bool) -> Value {
        render_fields(&leaf_paths(obj, include_status))
    }

    fn p(segs: &[&str]) -> FieldPath {
        segs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn field_set_keys_containers_and_finalizers() {
        let mut obj = deployment(1, "nginx");
        obj["metadata"]["finalizers"] = json!(["example.com/x"]);
        obj["status"] = json!({"replicas": 1});
        let fs = field_set(&obj);
        assert_eq!(
            fs,
            json!({
                "f:metadata": {"f:finalizers": {"v:\"example.com/x\"": {}}, "f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}
                }}}}
            })
        );
        assert_eq!(
            field_set_of(&obj, true)["f:status"],
            json!({"f:replicas": {}})
        );
        assert_eq!(render_fields(&parse_fields(&fs)), fs);
    }

    #[test]
    fn apply_creates_and_reapply_is_noop() {
        let cfg = deployment(2, "nginx");
        let out = apply(None, &cfg, "kubectl", false).unwrap();
        assert_eq!(out.managed_fields.len(), 1);
        let entry = &out.managed_fields[0];
        assert_eq!(entry["manager"], "kubectl");
        assert_eq!(entry["operation"], "Apply");
        assert_eq!(entry["fieldsType"], "FieldsV1");
        assert_eq!(entry["fieldsV1"], field_set(&cfg));
        assert_eq!(out.object["spec"], cfg["spec"]);
        assert_eq!(
            out.object["metadata"]["managedFields"],
            json!(out.managed_fields)
        );
        let again = apply(Some(&out.object), &cfg, "kubectl", false).unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn same_value_is_shared_different_value_conflicts() {
        let live = apply(None, &deployment(2, "nginx"), "kubectl", false)
            .unwrap()
            .object;
        let shared = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}, "spec": {"replicas": 2}});
        let out = apply(Some(&live), &shared, "hpa", false).unwrap();
        let replicas = p(&["f:spec", "f:replicas"]);
        assert!(owned(&out, "hpa").contains(&replicas));
        assert!(owned(&out, "kubectl").contains(&replicas));

        let mut other = shared.clone();
        other["spec"]["replicas"] = json!(5);
        let err = apply(Some(&out.object), &other, "hpa", false).unwrap_err();
        assert_eq!(err.conflicts.len(), 1);
        assert_eq!(err.conflicts[0].1, ".spec.replicas");
        assert_eq!(
            err.message(),
            "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"
        );
        assert_eq!(
            err.causes(),
            vec![
                json!({"type": "FieldManagerConflict", "message": "conflict with \"kubectl\"",
                "field": ".spec.replicas"})
            ]
        );
    }

    #[test]
    fn force_takes_ownership() {
        let live = apply(None, &deployment(2, "nginx"), "kubectl", false)
            .unwrap()
            .object;
        let cfg = json!({"metadata": {"name": "web"}, "spec": {"replicas": 7}});
        let out = apply(Some(&live), &cfg, "hpa", true).unwrap();
        assert_eq!(out.object["spec"]["replicas"], 7);
        let replicas = p(&["f:spec", "f:replicas"]);
        assert!(owned(&out, "hpa").contains(&replicas));
        assert!(!owned(&out, "kubectl").contains(&replicas));
        assert!(owned(&out, "kubectl").contains(&p(&["f:metadata", "f:labels", "f:app"])));
    }

    #[test]
    fn omitted_fields_are_deleted_unless_shared() {
        let mut cfg = deployment(2, "nginx");
        cfg["metadata"]["labels"]["tier"] = json!("fe");
        cfg["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "side", "image": "busybox"}));
        let live = apply(None, &cfg, "kubectl", false).unwrap().object;
        let shared = json!({"metadata": {"name": "web", "labels": {"app": "web"}}});
        let live = apply(Some(&live), &shared, "other", false).unwrap().object;

        let slim = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}}});
        let out = apply(Some(&live), &slim, "kubectl", false).unwrap();
        assert_eq!(out.object["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(
            out.object["spec"]["template"]["spec"]["containers"],
            json!([{"name": "app", "image": "nginx"}])
        );
        let labels = p(&["f:metadata", "f:labels", "f:app"]);
        assert!(!owned(&out, "kubectl").contains(&labels));
        assert!(owned(&out, "other").contains(&labels));

        let out = apply(
            Some(&out.object),
            &json!({"metadata": {"name": "web"}}),
            "other",
            false,
        )
        .unwrap();
        assert!(out.object["metadata"].get("labels").is_none());
    }

    #[test]
    fn update_then_apply_conflicts_with_updater() {
        let live = apply(None, &deployment(2, "nginx"), "kubectl", false)
            .unwrap()
            .object;
        let mut edited = live.clone();
        edited["spec"]["replicas"] = json!(4);
        let mf = record_update(Some(&live), &edited, "kubectl-edit", "apps/v1", T1, None);
        edited["metadata"]["managedFields"] = json!(mf);
        let editor = mf.iter().find(|e| e["manager"] == "kubectl-edit").unwrap();
        assert_eq!(editor["operation"], "Update");
        assert_eq!(editor["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
        let applier = mf.iter().find(|e| e["manager"] == "kubectl").unwrap();
        assert!(applier["fieldsV1"]["f:spec"].get("f:replicas").is_none());

        let err = apply(Some(&edited), &deployment(2, "nginx"), "kubectl", false).unwrap_err();
        assert_eq!(
            err.message(),
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
        );
    }

    #[test]
    fn record_update_on_create_and_merge_into_existing_entry() {
        let obj = deployment(1, "nginx");
        let mf = record_update(None, &obj, "kubectl-create", "apps/v1", T0, None);
        assert_eq!(mf.len(), 1);
        assert_eq!(mf[0]["fieldsV1"], field_set(&obj));
        let mut stored = obj.clone();
        stored["metadata"]["managedFields"] = json!(mf);
        let mut next = stored.clone();
        next["metadata"]["labels"]["new"] = json!("x");
        let mf2 = record_update(Some(&stored), &next, "kubectl-create", "apps/v1", T1, None);
        assert_eq!(mf2.len(), 1);
        assert_eq!(mf2[0]["time"], T1);
        assert_eq!(
            mf2[0]["fieldsV1"]["f:metadata"]["f:labels"],
            json!({"f:app": {}, "f:new": {}})
        );

        let mut with_status = stored.clone();
        with_status["status"] = json!({"readyReplicas": 1});
        let mf3 = record_update(
            Some(&stored),
            &with_status,
            "ctrl",
            "apps/v1",
            T1,
            Some("status"),
        );
        let ctrl = mf3.iter().find(|e| e["manager"] == "ctrl").unwrap();
        assert_eq!(ctrl["subresource"], "status");
        assert_eq!(
            ctrl["fieldsV1"],
            json!({"f:status": {"f:readyReplicas": {}}})
        );
    }

    #[test]
    fn multiple_conflicts_and_before_first_apply() {
        let mut live = deployment(1, "nginx");
        live["metadata"]["uid"] = json!("u1");
        let err = apply(Some(&live), &deployment(3, "httpd"), "kubectl", false).unwrap_err();
        assert_eq!(
            err.message(),
            "Apply failed with 2 conflicts: conflicts with \"before-first-apply\" using apps/v1:\n\
             - .spec.replicas\n- .spec.template.spec.containers[name=\"app\"].image"
        );
        assert_eq!(err.causes().len(), 2);
        let plain = Conflict {
            conflicts: vec![("mgr".into(), ".spec.x".into())],
        };
        assert_eq!(
            plain.to_string(),
            "Apply failed with 1 conflict: conflict with \"mgr\": .spec.x"
        );
    }

    #[test]
    fn an_apply_to_status_owns_status_only_and_keeps_the_spec() {
        let live = apply(None, &deployment(2, "nginx"), "kubectl", false)
            .unwrap()
            .object;
        let status = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}, "spec": {"replicas": 9},
            "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]}});
        let out = server_side_apply(
            Some(&live),
            &status,
            "ctrl",
            "apps/v1",
            true,
            T1,
            Some("status"),
        )
        .unwrap();
        assert_eq!(out.object["spec"], live["spec"], "spec untouched");
        assert_eq!(out.object["status"]["replicas"], 2);
        let entry = out
            .managed_fields
            .iter()
            .find(|e| e["manager"] == "ctrl")
            .unwrap();
        assert_eq!(entry["subresource"], "status");
        assert!(entry["fieldsV1"].get("f:spec").is_none(), "{entry}");
        assert!(
            entry["fieldsV1"]["f:status"].get("f:replicas").is_some(),
            "{entry}"
        );
        // Applying again without a field it owned removes that field, and only that one.
        let less = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}, "status": {"replicas": 2}});
        let again = server_side_apply(
            Some(&out.object),
            &less,
            "ctrl",
            "apps/v1",
            true,
            T1,
            Some("status"),
        )
        .unwrap();
        assert!(again.object["status"].get("conditions").is_none());
        assert_eq!(again.object["spec"], live["spec"]);
    }
}
