//! Where validation gets its schemas (the CRDs generated from src/model) and how a set of files
//! read from a commit is validated as a whole.

use super::{Diagnostic, Report, Schemas, Severity, check_duplicates, validate_text};
use std::path::PathBuf;

/// The schemas of orbdeck's own kinds and Kubeflow's, from [`crate::model`]. Unknown fields
/// are errors in the `orbdeck.io` group and warnings elsewhere.
pub struct ModelSchemas;

impl Schemas for ModelSchemas {
    fn schema(&self, api_version: &str, kind: &str) -> Option<&serde_json::Value> {
        crate::model::schema_for(api_version, kind)
    }

    fn strict(&self, api_version: &str) -> bool {
        api_version.starts_with("orbdeck.io/")
    }
}

/// Validates in-memory files (path, bytes), e.g. desired/ read from a commit plus drafts, with
/// duplicate identities checked across all of them.
pub fn validate_files(files: &[(PathBuf, Vec<u8>)], schemas: &dyn Schemas) -> Report {
    let mut report = Report::default();
    for (path, bytes) in files {
        let one = validate_text(path, bytes, schemas);
        report.objects.extend(one.objects);
        report.diagnostics.extend(one.diagnostics);
    }
    check_duplicates(&mut report);
    report
}

/// Checks `orb.yaml` at `root` (when present) and adds its problems to `report`, with the
/// line and column the YAML parser gives.
pub fn check_orb_file(root: &std::path::Path, report: &mut Report) {
    let path = root.join(crate::repo::ORB_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return;
    };
    let problem = match String::from_utf8(bytes) {
        Ok(text) => crate::model::OrbFile::parse(&text).err(),
        Err(_) => Some("not UTF-8".to_string()),
    };
    if let Some(message) = problem {
        let first = message.lines().next().unwrap_or_default();
        let (line, column, rest) = position(first).unwrap_or((1, 1, first));
        report.diagnostics.push(Diagnostic {
            file: PathBuf::from(crate::repo::ORB_FILE),
            line,
            column,
            path: String::new(),
            message: rest.to_string(),
            severity: Severity::Error,
        });
    }
}

/// Splits serde-saphyr's "line L column C: message" into its parts.
fn position(message: &str) -> Option<(usize, usize, &str)> {
    let message = message.strip_prefix("error: ").unwrap_or(message);
    let rest = message.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(" column ")?;
    let (column, rest) = rest.split_once(": ")?;
    Some((line.parse().ok()?, column.parse().ok()?, rest))
}
