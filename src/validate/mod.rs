//! Validation of a cluster's desired state: every `desired/**/*.yaml` file is parsed into a
//! positioned tree (with limits against hostile input), each document is checked as a
//! Kubernetes object (built-in kinds through their k8s-openapi types, custom kinds through
//! their CRD schema, quantities by Kubernetes' rules), and every finding is reported at the
//! `file:line:column` of the offending key or value with its field path.

mod builtin;
mod path;
mod quantities;
mod replication;
mod report;
mod scalar;
mod schema;
mod syntax_pos;
mod yaml;

pub use report::{Diagnostic, Object, Report, Severity};
pub use schema::Schemas;
pub use yaml::{Document, YamlError, documents};

use path::{Seg, locate};
use serde_json::Value;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use yaml::{Node, NodeKind, Pos};

/// Largest file accepted, in bytes; larger files are refused before parsing.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// Validates `root/desired/**/*.{yaml,yml}` (or `root/**` when there is no `desired`
/// directory), files in sorted order, then reports duplicate objects. Hidden entries and
/// symbolic links to directories are skipped.
pub fn validate_dir(root: &Path, schemas: &dyn Schemas) -> Report {
    let desired = root.join("desired");
    let start = if desired.is_dir() {
        desired
    } else {
        root.to_path_buf()
    };
    let mut report = Report::default();
    let mut files = Vec::new();
    collect(root, &start, &mut files, &mut report.diagnostics);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        match fs::metadata(&file) {
            Ok(m) if m.len() > MAX_FILE_BYTES as u64 => {
                report.diagnostics.push(too_large(&rel, m.len()));
            }
            Ok(_) => match fs::read(&file) {
                Ok(bytes) => check_file(&rel, &bytes, schemas, &mut report),
                Err(e) => report.diagnostics.push(unreadable(&rel, &e)),
            },
            Err(e) => report.diagnostics.push(unreadable(&rel, &e)),
        }
    }
    check_duplicates(&mut report);
    report
        .diagnostics
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    report
}

/// Validates one file's bytes (for instance an editor's unsaved buffer); `file` is only used
/// to name the file in the report. Duplicates are not checked here: see [`check_duplicates`].
pub fn validate_text(file: &Path, text: &[u8], schemas: &dyn Schemas) -> Report {
    let mut report = Report::default();
    check_file(file, text, schemas, &mut report);
    report
}

/// Reports every object whose identity (API group, kind, namespace, name) was already seen,
/// in the same file or another, as an error at the later occurrence naming the first.
pub fn check_duplicates(report: &mut Report) {
    let mut seen: HashMap<(&str, &str, Option<&str>, &str), &Object> = HashMap::new();
    let mut found = Vec::new();
    for object in &report.objects {
        let group = object
            .api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group);
        let identity = (
            group,
            object.kind.as_str(),
            object.namespace.as_deref(),
            object.name.as_str(),
        );
        if let Some(first) = seen.get(&identity) {
            let kind = if group.is_empty() {
                object.kind.clone()
            } else {
                format!("{group}/{}", object.kind)
            };
            let name = match &object.namespace {
                Some(ns) => format!("{ns}/{}", object.name),
                None => object.name.clone(),
            };
            found.push(Diagnostic {
                file: object.file.clone(),
                line: object.line,
                column: 1,
                path: String::new(),
                message: format!(
                    "duplicate object {kind} {name} (first defined at {}:{})",
                    first.file.display(),
                    first.line
                ),
                severity: Severity::Error,
            });
        } else {
            seen.insert(identity, object);
        }
    }
    report.diagnostics.extend(found);
}

/// Gathers the YAML files under `dir`; unreadable directories are reported.
fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let rel = dir.strip_prefix(root).unwrap_or(dir);
            return diagnostics.push(unreadable(rel, &e));
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            collect(root, &path, files, diagnostics);
        } else if (file_type.is_file() || (file_type.is_symlink() && path.is_file()))
            && path.extension().is_some_and(|e| e == "yaml" || e == "yml")
        {
            files.push(path);
        }
    }
}

/// Whether a file under desired/ is a manifest (`*.yaml`/`*.yml`, no dot-file or dot-directory in
/// its path): a README or `.gitkeep` there is neither applied nor validated.
pub fn is_manifest_path(path: &str) -> bool {
    let path = Path::new(path);
    !path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        && path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn file_error(file: &Path, pos: Pos, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        line: pos.line,
        column: pos.column,
        path: String::new(),
        message,
        severity: Severity::Error,
    }
}

fn too_large(file: &Path, len: u64) -> Diagnostic {
    let message = format!("file is {len} bytes, larger than the limit of {MAX_FILE_BYTES} bytes");
    file_error(file, Pos { line: 1, column: 1 }, message)
}

fn unreadable(file: &Path, e: &std::io::Error) -> Diagnostic {
    file_error(
        file,
        Pos { line: 1, column: 1 },
        format!("cannot read: {e}"),
    )
}

/// Checks one file's bytes into `report`, its diagnostics sorted by position.
fn check_file(file: &Path, bytes: &[u8], schemas: &dyn Schemas, report: &mut Report) {
    if bytes.len() > MAX_FILE_BYTES {
        return report.diagnostics.push(too_large(file, bytes.len() as u64));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            // The prefix before the first bad byte is valid UTF-8.
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
            let pos = Pos {
                line: valid.matches('\n').count() + 1,
                column: valid[line_start..].chars().count() + 1,
            };
            let message = format!("not valid UTF-8 (byte 0x{:02x})", bytes[e.valid_up_to()]);
            return report.diagnostics.push(file_error(file, pos, message));
        }
    };
    let parsed = yaml::parse(text);
    let mut diagnostics: Vec<Diagnostic> = parsed
        .errors
        .into_iter()
        .map(|p| Diagnostic {
            path: path::format(&p.path),
            ..file_error(file, p.pos, p.message)
        })
        .collect();
    for root in &parsed.documents {
        let mut ctx = Ctx {
            file,
            root,
            diagnostics: &mut diagnostics,
        };
        if let Some(object) = check_document(&mut ctx, schemas) {
            report.objects.push(object);
        }
    }
    diagnostics.sort_by_key(|d| (d.line, d.column));
    // A field can fail both the generic checks and its type's decoding: report it once.
    diagnostics.dedup_by(|a, b| {
        !a.path.is_empty() && (a.line, a.column, &a.path) == (b.line, b.column, &b.path)
    });
    report.diagnostics.extend(diagnostics);
}

/// Where diagnostics of one document go, and the tree that locates them.
pub(crate) struct Ctx<'a> {
    file: &'a Path,
    root: &'a Node,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Records a finding at `pos`.
    fn report(&mut self, pos: Pos, path: &[Seg], severity: Severity, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_path_buf(),
            line: pos.line,
            column: pos.column,
            path: path::format(path),
            message: message.into(),
            severity,
        });
    }

    /// Records a finding at the node of `path` (its key when `at_key`), see [`locate`].
    fn report_at(
        &mut self,
        path: &[Seg],
        at_key: bool,
        severity: Severity,
        message: impl Into<String>,
    ) {
        let pos = locate(self.root, path, at_key);
        self.report(pos, path, severity, message);
    }

    /// The non-empty string at `key` of `map` (found at `path`), or an error.
    fn required_string(&mut self, map: &Node, path: &[Seg], key: &str) -> Option<String> {
        let mut field = path.to_vec();
        field.push(Seg::Key(key.to_string()));
        let entry = map.get(key).filter(|e| !e.value.is_null());
        let Some(entry) = entry else {
            self.report_at(&field, true, Severity::Error, "missing required field");
            return None;
        };
        match &entry.value.kind {
            NodeKind::Scalar(Value::String(s)) if s.is_empty() => {
                self.report(
                    entry.value.pos,
                    &field,
                    Severity::Error,
                    "must not be empty",
                );
                None
            }
            NodeKind::Scalar(Value::String(s)) => Some(s.clone()),
            _ => {
                let message = format!("expected string, got {}", entry.value.type_name());
                self.report(entry.value.pos, &field, Severity::Error, message);
                None
            }
        }
    }
}

/// Checks one document; returns it as an object when it has apiVersion, kind and name.
fn check_document(ctx: &mut Ctx, schemas: &dyn Schemas) -> Option<Object> {
    let root = ctx.root;
    if !matches!(root.kind, NodeKind::Map(_)) {
        let message = format!(
            "a document must be a mapping (a Kubernetes object), found {}",
            root.type_name()
        );
        ctx.report(root.pos, &[], Severity::Error, message);
        return None;
    }
    let api_version = ctx.required_string(root, &[], "apiVersion");
    let kind = ctx.required_string(root, &[], "kind");
    let (name, namespace) = check_metadata(ctx);
    let value = root.to_json();
    if let (Some(api_version), Some(kind)) = (&api_version, &kind) {
        check_kind(ctx, schemas, api_version, kind, &value);
    }
    Some(Object {
        api_version: api_version?,
        kind: kind?,
        namespace,
        name: name?,
        file: ctx.file.to_path_buf(),
        line: root.pos.line,
        value,
    })
}

/// `metadata.name` (required) and `metadata.namespace` (optional).
fn check_metadata(ctx: &mut Ctx) -> (Option<String>, Option<String>) {
    let meta_path = [Seg::Key("metadata".to_string())];
    let Some(meta) = ctx.root.get("metadata").map(|e| &e.value) else {
        let path = [meta_path[0].clone(), Seg::Key("name".to_string())];
        ctx.report_at(&path, true, Severity::Error, "missing required field");
        return (None, None);
    };
    if !matches!(meta.kind, NodeKind::Map(_)) {
        let message = format!("expected object, got {}", meta.type_name());
        ctx.report(meta.pos, &meta_path, Severity::Error, message);
        return (None, None);
    }
    let name = ctx.required_string(meta, &meta_path, "name");
    let namespace = match meta.get("namespace").filter(|e| !e.value.is_null()) {
        Some(_) => ctx.required_string(meta, &meta_path, "namespace"),
        None => None,
    };
    check_names(ctx, meta, name.as_deref(), namespace.as_deref());
    (name, namespace)
}

/// The name by its kind's rule, the namespace as a DNS-1123 label, label keys and values, and
/// the annotations' size, as the API server would refuse them.
fn check_names(ctx: &mut Ctx, meta: &Node, name: Option<&str>, namespace: Option<&str>) {
    let text = |key: &str| {
        ctx.root
            .get(key)
            .and_then(|e| e.value.to_json().as_str().map(str::to_owned))
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let field = |key: &str| vec![Seg::Key("metadata".into()), Seg::Key(key.into())];
    if let (Some(name), Some(api_version), Some(kind)) = (name, &api_version, &kind) {
        let rule = crate::names::rule_for(api_version, kind);
        if let Some(why) = crate::names::name_problem(rule, name) {
            let pos = meta.get("name").map_or(meta.pos, |e| e.value.pos);
            let message = format!(
                "{name:?} is not {} ({kind} names must be): {why}",
                rule.describe()
            );
            ctx.report(pos, &field("name"), Severity::Error, message);
        }
    }
    if let Some(namespace) = namespace
        && let Some(why) = crate::names::dns_label_problem(namespace)
    {
        let pos = meta.get("namespace").map_or(meta.pos, |e| e.value.pos);
        let message = format!("{namespace:?} is not a DNS-1123 label: {why}");
        ctx.report(pos, &field("namespace"), Severity::Error, message);
    }
    if let Some(NodeKind::Map(labels)) = meta.get("labels").map(|e| &e.value.kind) {
        for entry in labels {
            let path = [field("labels"), vec![Seg::Key(entry.key.clone())]].concat();
            if let Some(why) = crate::names::label_key_problem(&entry.key) {
                let message = format!("label key {:?}: {why}", entry.key);
                ctx.report(entry.key_pos, &path, Severity::Error, message);
            }
            if let NodeKind::Scalar(Value::String(value)) = &entry.value.kind
                && let Some(why) = crate::names::label_value_problem(value)
            {
                let message = format!("label value {value:?}: {why}");
                ctx.report(entry.value.pos, &path, Severity::Error, message);
            }
        }
    }
    if let Some(entry) = meta.get("annotations")
        && let NodeKind::Map(annotations) = &entry.value.kind
    {
        let mut size = 0;
        for a in annotations {
            size += a.key.len();
            if let NodeKind::Scalar(Value::String(v)) = &a.value.kind {
                size += v.len();
            }
            let path = [field("annotations"), vec![Seg::Key(a.key.clone())]].concat();
            if a.key == crate::wellknown::SYNC_WAVE_ANNOTATION
                && let NodeKind::Scalar(Value::String(v)) = &a.value.kind
                && v.trim().parse::<i32>().is_err()
            {
                let message =
                    format!("{v:?} is not an integer (lower sync waves are applied first)");
                ctx.report(a.value.pos, &path, Severity::Error, message);
            }
            if let Some(why) = crate::names::label_key_problem(&a.key) {
                let message = format!("annotation key {:?}: {why}", a.key);
                ctx.report(a.key_pos, &path, Severity::Error, message);
            }
        }
        if size > crate::names::MAX_ANNOTATIONS_BYTES {
            let message = format!(
                "annotations take {size} bytes; at most {} are allowed",
                crate::names::MAX_ANNOTATIONS_BYTES
            );
            ctx.report(
                entry.value.pos,
                &field("annotations"),
                Severity::Error,
                message,
            );
        }
    }
}

/// An encrypted Secret's `data` holds age messages, not base64: each is checked to be a
/// well-formed one (without decrypting), and the Secret is returned with those values emptied
/// so the rest of it is checked as any Secret.
fn encrypted_data(ctx: &mut Ctx, secret: &Value) -> Value {
    let mut plain = secret.clone();
    let Some(data) = plain.get_mut("data").and_then(Value::as_object_mut) else {
        return plain;
    };
    for (key, value) in data.iter_mut() {
        let path = [Seg::Key("data".into()), Seg::Key(key.clone())];
        match value.as_str() {
            Some(text) => {
                if let Some(why) = crate::secrets::malformed_ciphertext(text) {
                    ctx.report_at(&path, false, Severity::Error, why);
                }
            }
            None => ctx.report_at(
                &path,
                false,
                Severity::Error,
                "expected an age-armored string",
            ),
        }
        *value = Value::String(String::new());
    }
    plain
}

/// Checks a document by its kind: built-in, custom with a schema, or unknown.
fn check_kind(ctx: &mut Ctx, schemas: &dyn Schemas, api_version: &str, kind: &str, value: &Value) {
    if let Some(decoder) = builtin::decoder(api_version, kind) {
        let plain;
        let value =
            if api_version == "v1" && kind == "Secret" && crate::secrets::is_encrypted(value) {
                plain = encrypted_data(ctx, value);
                &plain
            } else {
                value
            };
        builtin::check(ctx, decoder, value, &[], Severity::Warning);
        quantities::check_tree(ctx, kind);
    } else if let Some(schema) = schemas.schema(api_version, kind) {
        let unknown = if schemas.strict(api_version) {
            Severity::Error
        } else {
            Severity::Warning
        };
        if let Some(meta) = value.get("metadata").filter(|m| m.is_object()) {
            let prefix = [Seg::Key("metadata".to_string())];
            builtin::check(ctx, builtin::OBJECT_META, meta, &prefix, unknown);
        }
        schema::check(ctx, schema, kind, unknown);
        if (api_version, kind) == ("orbdeck.io/v1alpha1", "PodSetting") {
            check_container_regex(ctx, value);
        }
        if api_version == "orbdeck.io/v1alpha1" && kind == "ImageReplicationPolicy" {
            replication::check(ctx);
        }
        if api_version == "orbdeck.io/v1alpha1" {
            upgrades::check(ctx, kind, value);
            cluster::check(ctx, kind, value);
        }
    } else {
        let pos = locate(ctx.root, &[Seg::Key("kind".to_string())], false);
        let message = format!("unknown kind {api_version} {kind}: not checked");
        ctx.report(pos, &[], Severity::Warning, message);
    }
}
/// A PodSetting's `spec.containerSelector.regex` must compile (the webhook skips one that
/// does not, so refuse it before it is pushed).
fn check_container_regex(ctx: &mut Ctx, value: &Value) {
    let Some(re) = value
        .pointer("/spec/containerSelector/regex")
        .and_then(Value::as_str)
    else {
        return;
    };
    if let Err(e) = regex::Regex::new(re) {
        let path: Vec<Seg> = ["spec", "containerSelector", "regex"]
            .iter()
            .map(|k| Seg::Key((*k).to_string()))
            .collect();
        let why = e.to_string().lines().last().unwrap_or_default().to_owned();
        ctx.report_at(
            &path,
            false,
            Severity::Error,
            format!("not a regular expression: {why}"),
        );
    }
}

mod cluster;
mod sources;
mod upgrades;
pub use sources::{ModelSchemas, check_orb_file, validate_files};
