//! Diagnostics, the objects found, and the report holding both.

use crate::wellknown::ObjectId;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The desired state is invalid.
    Error,
    /// Suspicious but accepted (unknown fields of built-in kinds, unchecked kinds).
    Warning,
}

/// One finding, located at the offending key or value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, relative to the root given to [`super::validate_dir`] (or as given to
    /// [`super::validate_text`]).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Field path such as `spec.containers[0].image`; empty for file-level findings.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Diagnostic {
    /// What is wrong without the place: `[warning: ][path: ]message` (no `: ` for an empty
    /// path), as a view that shows the file and line itself prints it.
    pub fn what(&self) -> String {
        let mut out = String::new();
        if self.severity == Severity::Warning {
            out.push_str("warning: ");
        }
        if !self.path.is_empty() {
            out.push_str(&self.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: [warning: ][path: ]message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.what()
        )
    }
}

/// A document that had an `apiVersion`, a `kind` and a `metadata.name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// `apiVersion` as written.
    pub api_version: String,
    /// `kind` as written.
    pub kind: String,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The file, relative to the root given to [`super::validate_dir`].
    pub file: PathBuf,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// The document as JSON.
    pub value: Value,
}

impl Object {
    /// Its identity: apiVersion, kind, namespace and name.
    pub fn id(&self) -> ObjectId {
        ObjectId {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// Everything found in the files validated.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The objects, in file and document order.
    pub objects: Vec<Object>,
    /// The diagnostics, by file, then position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// The number of errors (warnings not counted).
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}
