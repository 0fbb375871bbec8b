//! The objects a Profile's controller created (namespace, RBAC, quota, policies...), listed
//! with enter on a profile: the list's columns and cells, and how a row is built from a live
//! object.

use kube::api::DynamicObject;
use ratatui::text::Line;
use serde_json::Value;

use super::Width::Flex;
use super::{Column, text};
use crate::ui::data::ChildRow;
use crate::ui::render::cell::line;
use crate::ui::theme::Theme;

/// Columns of the children list.
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        title: "KIND",
        width: Flex(10, 1),
        drop: 0,
    },
    Column {
        title: "NAME",
        width: Flex(10, 1),
        drop: 0,
    },
    Column {
        title: "NAMESPACE",
        width: Flex(8, 1),
        drop: 1,
    },
    Column {
        title: "STATUS",
        width: Flex(8, 1),
        drop: 0,
    },
];

/// The cell of `c` in column `col` of [`COLUMNS`], `w` cells wide.
pub(crate) fn cell(t: &Theme, c: &ChildRow, col: usize, w: usize) -> Line<'static> {
    match col {
        0 => line(&c.kind, w, t.text),
        1 => line(&c.name, w, t.text),
        2 => line(&c.namespace, w, t.dim),
        _ => {
            let ready = c.status == "Ready" || c.status == "Present";
            line(&c.status, w, if ready { t.ok } else { t.warn })
        }
    }
}

/// The row of live object `o` of `kind`.
pub(crate) fn row(kind: &str, o: &DynamicObject) -> ChildRow {
    let status = if o.metadata.deletion_timestamp.is_some() {
        "Terminating".to_owned()
    } else {
        object_status(&o.data)
    };
    ChildRow {
        kind: kind.to_owned(),
        namespace: text(o.metadata.namespace.as_deref().unwrap_or_default()),
        name: text(o.metadata.name.as_deref().unwrap_or_default()),
        status: text(&status),
    }
}

/// A one-line live status: a namespace's phase, a quota's usage, else "present".
fn object_status(data: &Value) -> String {
    if let Some(phase) = data.pointer("/status/phase").and_then(Value::as_str) {
        return phase.to_owned();
    }
    if let (Some(hard), Some(used)) = (
        data.pointer("/status/hard").and_then(Value::as_object),
        data.pointer("/status/used").and_then(Value::as_object),
    ) {
        return ["requests.cpu", "requests.memory", "pods"]
            .iter()
            .filter_map(|k| {
                Some(format!(
                    "{k} {}/{}",
                    used.get(*k)?.as_str()?,
                    hard.get(*k)?.as_str()?
                ))
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    "present".into()
}
