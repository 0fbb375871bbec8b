//! Built-in kinds, checked by decoding into their k8s-openapi types: a wrong type is an error
//! at that field, an unknown field is reported with the severity asked for.
//!
//! Serde stops at the first error, so after each error the offending field (or sequence
//! element) is removed from a working copy and decoding is retried; removed sequence
//! elements are remembered so later paths are mapped back to the indices in the source.

use super::path::Seg;
use super::{Ctx, Severity};
use k8s_openapi::api::{
    apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination, core::v1 as core,
    networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Most decoding errors reported for one object.
const MAX_ERRORS: usize = 32;

/// The outcome of one decoding attempt: paths of ignored (unknown) fields, and the error.
pub(crate) struct Decoded {
    unknown: Vec<Vec<Seg>>,
    error: Option<(Vec<Seg>, String)>,
}

/// Decodes a JSON value as one type.
pub(crate) type Decoder = fn(&Value) -> Decoded;

/// Decodes object metadata (used for custom kinds).
pub(crate) const OBJECT_META: Decoder = decode::<ObjectMeta>;

/// The decoder of a built-in kind, `None` for other kinds.
pub(crate) fn decoder(api_version: &str, kind: &str) -> Option<Decoder> {
    let decoder: Decoder = match (api_version, kind) {
        ("v1", "Namespace") => decode::<core::Namespace>,
        ("v1", "ConfigMap") => decode::<core::ConfigMap>,
        ("v1", "Secret") => decode::<core::Secret>,
        ("v1", "ServiceAccount") => decode::<core::ServiceAccount>,
        ("v1", "Service") => decode::<core::Service>,
        ("v1", "Pod") => decode::<core::Pod>,
        ("v1", "LimitRange") => decode::<core::LimitRange>,
        ("v1", "ResourceQuota") => decode::<core::ResourceQuota>,
        ("v1", "PersistentVolumeClaim") => decode::<core::PersistentVolumeClaim>,
        ("apps/v1", "Deployment") => decode::<apps::Deployment>,
        ("apps/v1", "StatefulSet") => decode::<apps::StatefulSet>,
        ("apps/v1", "DaemonSet") => decode::<apps::DaemonSet>,
        ("batch/v1", "Job") => decode::<batch::Job>,
        ("batch/v1", "CronJob") => decode::<batch::CronJob>,
        ("networking.k8s.io/v1", "NetworkPolicy") => decode::<networking::NetworkPolicy>,
        ("networking.k8s.io/v1", "Ingress") => decode::<networking::Ingress>,
        ("rbac.authorization.k8s.io/v1", "Role") => decode::<rbac::Role>,
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => decode::<rbac::ClusterRole>,
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => decode::<rbac::RoleBinding>,
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            decode::<rbac::ClusterRoleBinding>
        }
        ("policy/v1", "PodDisruptionBudget") => decode::<policy::PodDisruptionBudget>,
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            decode::<apiextensions::CustomResourceDefinition>
        }
        ("coordination.k8s.io/v1", "Lease") => decode::<coordination::Lease>,
        ("storage.k8s.io/v1", "StorageClass") => decode::<storage::StorageClass>,
        _ => return None,
    };
    Some(decoder)
}

fn decode<T: DeserializeOwned>(value: &Value) -> Decoded {
    let mut unknown = Vec::new();
    let result = {
        let mut record = |p: serde_ignored::Path<'_>| {
            let mut segs = Vec::new();
            ignored_path(&p, &mut segs);
            unknown.push(segs);
        };
        serde_path_to_error::deserialize::<_, T>(serde_ignored::Deserializer::new(
            value,
            &mut record,
        ))
    };
    let error = result.err().map(|e| {
        let path = e
            .path()
            .iter()
            .map_while(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        (path, e.into_inner().to_string())
    });
    Decoded { unknown, error }
}

fn ignored_path(p: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
    match p {
        serde_ignored::Path::Root => {}
        serde_ignored::Path::Seq { parent, index } => {
            ignored_path(parent, out);
            out.push(Seg::Index(*index));
        }
        serde_ignored::Path::Map { parent, key } => {
            ignored_path(parent, out);
            out.push(Seg::Key(key.clone()));
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => ignored_path(parent, out),
    }
}

/// Decodes `value` (found at `prefix` in the document) and reports every type error, missing
/// required field and unknown field (the latter with severity `unknown`).
pub(crate) fn check(
    ctx: &mut Ctx,
    decoder: Decoder,
    value: &Value,
    prefix: &[Seg],
    unknown: Severity,
) {
    let full = |p: &[Seg]| [prefix, p].concat();
    let mut work: Option<Value> = None;
    let mut removed: Vec<Vec<Seg>> = Vec::new();
    let mut ignored: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..MAX_ERRORS {
        let decoded = decoder(work.as_ref().unwrap_or(value));
        for p in decoded.unknown {
            let p = original(&p, &removed);
            if !ignored.contains(&p) {
                ignored.push(p);
            }
        }
        let Some((path, message)) = decoded.error else {
            break;
        };
        let orig = original(&path, &removed);
        if let Some(field) = missing_field(&message) {
            let mut field_path = orig;
            field_path.push(Seg::Key(field.to_string()));
            // A required field removed after its own error is not missing twice.
            if !removed.contains(&field_path) {
                ctx.report_at(
                    &full(&field_path),
                    true,
                    Severity::Error,
                    "missing required field",
                );
            }
            break;
        }
        ctx.report_at(&full(&orig), false, Severity::Error, message);
        let work = work.get_or_insert_with(|| value.clone());
        if orig.is_empty() || removed.contains(&orig) || remove(work, &path).is_none() {
            break;
        }
        removed.push(orig);
    }
    for p in ignored {
        let message = match p.last() {
            Some(Seg::Key(k)) => format!("unknown field {k:?}"),
            _ => "unknown field".to_string(),
        };
        ctx.report_at(&full(&p), true, unknown, message);
    }
}

/// The field named by serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// Maps a path in the working copy back to the source, given the paths removed so far.
fn original(path: &[Seg], removed: &[Vec<Seg>]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::with_capacity(path.len());
    for seg in path {
        let seg = match seg {
            Seg::Index(i) => {
                let mut gone: Vec<usize> = removed
                    .iter()
                    .filter_map(|r| match r.split_last() {
                        Some((Seg::Index(j), parent)) if parent == out.as_slice() => Some(*j),
                        _ => None,
                    })
                    .collect();
                gone.sort_unstable();
                Seg::Index(gone.into_iter().fold(*i, |i, g| i + usize::from(g <= i)))
            }
            key => key.clone(),
        };
        out.push(seg);
    }
    out
}

/// Removes the field or element at `path` of the working copy.
fn remove(value: &mut Value, path: &[Seg]) -> Option<()> {
    let (last, parents) = path.split_last()?;
    let mut node = value;
    for seg in parents {
        node = match (seg, node) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    match (last, node) {
        (Seg::Key(k), Value::Object(m)) => m.shift_remove(k).map(drop),
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            Some(())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_elements_shift_later_indices_back() {
        let k = |s: &str| Seg::Key(s.to_string());
        let removed = vec![vec![k("a"), Seg::Index(0)], vec![k("a"), Seg::Index(2)]];
        assert_eq!(
            original(&[k("a"), Seg::Index(0), k("b")], &removed),
            vec![k("a"), Seg::Index(1), k("b")]
        );
        assert_eq!(
            original(&[k("a"), Seg::Index(1)], &removed),
            vec![k("a"), Seg::Index(3)]
        );
        assert_eq!(
            original(&[k("c"), Seg::Index(0)], &removed),
            vec![k("c"), Seg::Index(0)]
        );
    }
}
