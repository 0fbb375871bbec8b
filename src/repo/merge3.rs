//! Key-level three-way merge of YAML files, used when a git rebase conflicts
//! in `desired/`.
//!
//! Each side (base, ours, theirs) may hold several YAML documents. Documents
//! are matched by identity — `apiVersion`, `kind`, `metadata.namespace`,
//! `metadata.name` — when they have a `kind` and a `metadata.name`, and by
//! position among the documents without one otherwise. Then every node is
//! merged with the usual rules:
//!
//! * unchanged on one side → the other side's version is taken;
//! * changed identically on both sides → that version is taken;
//! * deleted on one side and unchanged on the other → deleted;
//! * anything else is a conflict.
//!
//! Mappings are merged key by key, recursively. Lists whose items are all
//! mappings with a unique string `name` (containers, env, volumes, ports…)
//! are merged item by item, matched by name. Every other list, and every
//! scalar, is one atomic value.
//!
//! All conflicts are collected and reported together as
//! [`MergeError::Conflicts`]; no conflict markers are ever produced.
//!
//! **The output is re-serialized from the merged values**, so comments,
//! anchors and the original formatting are lost. Documents are separated by
//! `---`. Order is stable: documents, mapping keys and named list items come
//! in ours' order, followed by what only theirs added, in theirs' order.

use std::fmt;

use serde_json::{Map, Value};

/// One path that both sides changed in incompatible ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The document: `"<apiVersion> <kind> [<namespace>/]<name>"`, or
    /// `"document <n>"` (1-based position) for documents without identity.
    pub doc: String,
    /// Path inside the document, such as `spec.containers[name=main].image`
    /// or `spec.hard["requests.cpu"]`; `.` is the whole document.
    pub path: String,
    /// Our value as compact JSON (valid flow YAML); `None` if absent.
    pub ours: Option<String>,
    /// Their value as compact JSON (valid flow YAML); `None` if absent.
    pub theirs: Option<String>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_owned());
        write!(
            f,
            "{}: {}: ours={} theirs={}",
            self.doc,
            self.path,
            show(&self.ours),
            show(&self.theirs)
        )
    }
}

/// Why a three-way merge could not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// One side is not valid YAML (`side` is `"base"`, `"ours"` or `"theirs"`).
    #[error("cannot parse {side} version: {message}")]
    Parse {
        /// Which input failed to parse.
        side: &'static str,
        /// The parser's message.
        message: String,
    },
    /// Both sides changed the same paths differently; one line per conflict.
    #[error("{}", display_conflicts(.0))]
    Conflicts(Vec<Conflict>),
    /// The merged values could not be written back as YAML.
    #[error("cannot serialize merged YAML: {message}")]
    Serialize {
        /// The serializer's message.
        message: String,
    },
}

fn display_conflicts(conflicts: &[Conflict]) -> String {
    conflicts
        .iter()
        .map(Conflict::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which side a conflict was resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Keep our value (the edit being pushed).
    Ours,
    /// Take their value (what the remote has).
    Theirs,
}

/// A user's answer to one [`Conflict`]: the document and path it names, and the side to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// [`Conflict::doc`] of the conflict.
    pub doc: String,
    /// [`Conflict::path`] of the conflict.
    pub path: String,
    /// The side whose value wins.
    pub take: Side,
}

/// Merges `ours` and `theirs`, both derived from `base`, key by key.
///
/// `base` may be empty (file added on both sides). Returns the merged YAML
/// (comments are not preserved), or every conflicting path at once.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Result<String, MergeError> {
    merge3_resolved(base, ours, theirs, &[])
}

/// [`merge3`], with conflicts named in `resolutions` settled by the side given there; the
/// conflicts left over are reported as usual.
pub fn merge3_resolved(
    base: &str,
    ours: &str,
    theirs: &str,
    resolutions: &[Resolution],
) -> Result<String, MergeError> {
    let base = parse("base", base)?;
    let ours = parse("ours", ours)?;
    let theirs = parse("theirs", theirs)?;

    let (kb, ko, kt) = (keyed_docs(&base), keyed_docs(&ours), keyed_docs(&theirs));
    let mut conflicts = Vec::new();
    let mut merged = Vec::new();
    for (key, b, o, t) in align(&kb, &ko, &kt) {
        let mut cx = Cx {
            doc: doc_label(key, &ko, &kt, &kb),
            conflicts: &mut conflicts,
            resolutions,
        };
        if let Some(v) = merge_node(b, o, t, &mut Vec::new(), &mut cx) {
            merged.push(v);
        }
    }
    if !conflicts.is_empty() {
        return Err(MergeError::Conflicts(conflicts));
    }
    serde_saphyr::to_string_multiple(&merged).map_err(|e| MergeError::Serialize {
        message: e.to_string(),
    })
}

fn parse(side: &'static str, text: &str) -> Result<Vec<Value>, MergeError> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| MergeError::Parse {
        side,
        message: e.to_string(),
    })
}

/// Identity of a document within one file: its Kubernetes identity (if any)
/// and the occurrence number among documents with the same identity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DocKey {
    id: Option<[String; 4]>,
    nth: usize,
}

fn doc_identity(doc: &Value) -> Option<[String; 4]> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let meta = doc.get("metadata");
    Some([
        text(doc.get("apiVersion")).unwrap_or_default(),
        text(doc.get("kind"))?,
        text(meta.and_then(|m| m.get("namespace"))).unwrap_or_default(),
        text(meta.and_then(|m| m.get("name")))?,
    ])
}

fn keyed_docs(docs: &[Value]) -> Vec<(DocKey, &Value)> {
    let mut out: Vec<(DocKey, &Value)> = Vec::with_capacity(docs.len());
    for doc in docs {
        let id = doc_identity(doc);
        let nth = out.iter().filter(|(k, _)| k.id == id).count();
        out.push((DocKey { id, nth }, doc));
    }
    out
}

fn doc_label(
    key: &DocKey,
    ours: &[(DocKey, &Value)],
    theirs: &[(DocKey, &Value)],
    base: &[(DocKey, &Value)],
) -> String {
    match &key.id {
        Some([api_version, kind, namespace, name]) => {
            let mut label = String::new();
            if !api_version.is_empty() {
                label.push_str(api_version);
                label.push(' ');
            }
            label.push_str(kind);
            label.push(' ');
            if !namespace.is_empty() {
                label.push_str(namespace);
                label.push('/');
            }
            label.push_str(name);
            if key.nth > 0 {
                label.push_str(&format!(" (occurrence {})", key.nth + 1));
            }
            label
        }
        None => {
            let position = [ours, theirs, base]
                .iter()
                .find_map(|docs| docs.iter().position(|(k, _)| k == key))
                .unwrap_or(key.nth);
            format!("document {}", position + 1)
        }
    }
}

/// Pairs up entries of the three sides by key: ours' keys in order, then the
/// keys only theirs has. Keys present in base alone were deleted on both
/// sides and are dropped.
type Aligned<'k, 'v, K> = (
    &'k K,
    Option<&'v Value>,
    Option<&'v Value>,
    Option<&'v Value>,
);

fn align<'k, 'v, K: PartialEq>(
    base: &'k [(K, &'v Value)],
    ours: &'k [(K, &'v Value)],
    theirs: &'k [(K, &'v Value)],
) -> Vec<Aligned<'k, 'v, K>> {
    let find =
        |side: &'k [(K, &'v Value)], key: &K| side.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let mut out = Vec::new();
    for (key, o) in ours {
        out.push((key, find(base, key), Some(*o), find(theirs, key)));
    }
    for (key, t) in theirs {
        if find(ours, key).is_none() {
            out.push((key, find(base, key), None, Some(*t)));
        }
    }
    out
}

enum Seg {
    Key(String),
    Name(String),
}

struct Cx<'a> {
    doc: String,
    conflicts: &'a mut Vec<Conflict>,
    resolutions: &'a [Resolution],
}

fn merge_node(
    base: Option<&Value>,
    ours: Option<&Value>,
    theirs: Option<&Value>,
    path: &mut Vec<Seg>,
    cx: &mut Cx<'_>,
) -> Option<Value> {
    if ours == theirs || theirs == base {
        return ours.cloned();
    }
    if ours == base {
        return theirs.cloned();
    }
    match (ours, theirs) {
        (Some(Value::Object(o)), Some(Value::Object(t))) => {
            let b = match base {
                Some(Value::Object(b)) => Some(b),
                _ => None,
            };
            return Some(Value::Object(merge_maps(b, o, t, path, cx)));
        }
        (Some(Value::Array(o)), Some(Value::Array(t))) => {
            if let (Some(o), Some(t)) = (named_items(o), named_items(t)) {
                let b = match base {
                    Some(Value::Array(b)) => named_items(b).unwrap_or_default(),
                    _ => Vec::new(),
                };
                return Some(Value::Array(merge_named(&b, &o, &t, path, cx)));
            }
        }
        _ => {}
    }
    let rendered = render_path(path);
    let settled = cx
        .resolutions
        .iter()
        .find(|r| r.doc == cx.doc && r.path == rendered);
    match settled.map(|r| r.take) {
        Some(Side::Ours) => return ours.cloned(),
        Some(Side::Theirs) => return theirs.cloned(),
        None => {}
    }
    cx.conflicts.push(Conflict {
        doc: cx.doc.clone(),
        path: rendered,
        ours: ours.map(Value::to_string),
        theirs: theirs.map(Value::to_string),
    });
    ours.cloned()
}

fn entries(map: Option<&Map<String, Value>>) -> Vec<(&str, &Value)> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
        .collect()
}

fn merge_maps(
    base: Option<&Map<String, Value>>,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
    path: &mut Vec<Seg>,
    cx: &mut Cx<'_>,
) -> Map<String, Value> {
    let (b, o, t) = (entries(base), entries(Some(ours)), entries(Some(theirs)));
    let mut out = Map::new();
    for (key, bv, ov, tv) in align(&b, &o, &t) {
        path.push(Seg::Key((*key).to_owned()));
        if let Some(v) = merge_node(bv, ov, tv, path, cx) {
            out.insert((*key).to_owned(), v);
        }
        path.pop();
    }
    out
}

/// The items of a list keyed by their `name`, if every item is a mapping
/// with a string `name` and the names are unique.
fn named_items(items: &[Value]) -> Option<Vec<(String, &Value)>> {
    let mut out: Vec<(String, &Value)> = Vec::with_capacity(items.len());
    for item in items {
        let name = item.get("name")?.as_str()?;
        if out.iter().any(|(n, _)| n == name) {
            return None;
        }
        out.push((name.to_owned(), item));
    }
    Some(out)
}

fn merge_named(
    base: &[(String, &Value)],
    ours: &[(String, &Value)],
    theirs: &[(String, &Value)],
    path: &mut Vec<Seg>,
    cx: &mut Cx<'_>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, bv, ov, tv) in align(base, ours, theirs) {
        path.push(Seg::Name(name.clone()));
        out.extend(merge_node(bv, ov, tv, path, cx));
        path.pop();
    }
    out
}

fn is_plain(text: &str, extra: &[char]) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra.contains(&c))
}

fn render_path(path: &[Seg]) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let quote = |s: &str| Value::String(s.to_owned()).to_string();
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) if is_plain(key, &[]) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Key(key) => {
                out.push('[');
                out.push_str(&quote(key));
                out.push(']');
            }
            Seg::Name(name) => {
                out.push_str("[name=");
                if is_plain(name, &['.']) {
                    out.push_str(name);
                } else {
                    out.push_str(&quote(name));
                }
                out.push(']');
            }
        }
    }
    out
}
