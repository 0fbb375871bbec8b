//! Who can do what, where (RBAC resolved by [`crate::access`]): the Access tab's columns with
//! their sort keys and cells, what its filter searches, the object a row stands for, and how
//! rows are built from a resolved policy. One row per subject of each binding.

use super::Width::{Fixed, Flex};
use super::{ApiKind, Key, Table, api, field, num, object, text};
use crate::access::{Finding, Policy};
use crate::ui::action::ObjectRef;
use crate::ui::data::{AccessRow, AccessTable};
use crate::ui::render::cell::line;
use std::collections::HashSet;

/// The kind of a cluster-wide row's binding (a RoleBinding is a profile's child kind already).
pub(crate) const CLUSTER_BINDING_API: ApiKind =
    api("rbac.authorization.k8s.io/v1", "ClusterRoleBinding");

/// The Access tab.
pub(crate) static TABLE: Table<AccessRow> = Table {
    title: "Access",
    short_title: "Acc",
    command: "access",
    empty_hint: "No bindings: Roles, ClusterRoles and their bindings come from desired/ like any manifest; `orbdeck access ORB --who SUBJECT --can VERB RESOURCE` answers questions.",
    rows: |v| &v.access.rows,
    fields: &[
        field(
            "SUBJECT",
            Flex(12, 2),
            0,
            |a| Key::Text(&a.subject),
            |at, a| line(&a.subject, at.w, at.theme().text),
        ),
        field(
            "KIND",
            Fixed(14),
            2,
            |a| Key::Text(&a.kind),
            |at, a| line(&a.kind, at.w, at.theme().dim),
        ),
        field(
            "NAMESPACE",
            Flex(9, 1),
            1,
            |a| Key::Text(&a.namespace),
            |at, a| line(&a.namespace, at.w, at.theme().text),
        ),
        field(
            "ROLE",
            Flex(12, 1),
            0,
            |a| Key::Text(&a.role),
            |at, a| line(&a.role, at.w, at.theme().accent),
        ),
        field(
            "RULES",
            Flex(16, 3),
            3,
            |a| Key::Text(&a.rules),
            |at, a| line(&a.rules, at.w, at.theme().text),
        ),
        field(
            "FLAG",
            Fixed(15),
            0,
            |a| num(a.severity),
            |at, a| {
                let t = at.theme();
                let style = match a.severity {
                    0 => t.dim,
                    1 => t.warn,
                    _ => t.error,
                };
                line(&a.flag, at.w, style)
            },
        ),
    ],
    search: |a, push| {
        for s in [
            &a.subject,
            &a.kind,
            &a.namespace,
            &a.role,
            &a.rules,
            &a.flag,
        ] {
            push(s);
        }
    },
    namespace: Some(|a| &a.namespace),
    object: Some(binding),
};

/// The binding a row stands for (`y` shows it, `d` compares it with desired/).
fn binding(a: &AccessRow) -> Option<ObjectRef> {
    let (kind, rest) = a.binding.split_once(' ')?;
    Some(match rest.split_once('/') {
        Some((ns, name)) => object(kind, Some(ns), name),
        None => object(kind, None, rest),
    })
}

impl AccessTable {
    /// The Access tab's rows of `policy`, told where it came from (`source`).
    pub fn of(policy: &Policy, source: &str) -> AccessTable {
        table(policy, source)
    }
}

/// The Access tab's rows of `policy`, told where it came from (`source`), findings marked on
/// the rows they concern.
fn table(policy: &Policy, source: &str) -> AccessTable {
    let admin: HashSet<(&str, String)> = policy
        .findings()
        .iter()
        .filter_map(|f| match f {
            Finding::ClusterAdmin { subject, binding } => Some((binding.as_str(), subject.name())),
            _ => None,
        })
        .collect();
    let missing: HashSet<(&str, String)> = policy
        .findings()
        .iter()
        .filter_map(|f| match f {
            Finding::NoSuchSubject { subject, binding } => Some((binding.as_str(), subject.name())),
            _ => None,
        })
        .collect();
    let rows = policy
        .grants()
        .iter()
        .map(|g| {
            let key = (g.binding.as_str(), g.subject.name());
            let (flag, severity) = if admin.contains(&key) {
                ("cluster-admin", 2)
            } else if !g.role_found {
                ("no such role", 1)
            } else if missing.contains(&key) {
                ("no such subject", 1)
            } else {
                ("", 0)
            };
            AccessRow {
                subject: text(&g.subject.name()),
                kind: g.subject.kind().to_owned(),
                namespace: text(g.namespace.as_deref().unwrap_or("*")),
                role: text(&g.role),
                rules: text(
                    &g.rules
                        .iter()
                        .map(|r| r.summary())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                flag: flag.to_owned(),
                severity,
                binding: g.binding.clone(),
            }
        })
        .collect();
    AccessTable {
        source: text(source),
        rows,
        findings: policy.findings().len(),
    }
}
