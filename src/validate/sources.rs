//! Where validation gets its schemas (the CRDs generated from src/model) and how a set of files
//! read from a commit is validated as a whole.

use super::{Report, Schemas, check_duplicates, validate_text};
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
