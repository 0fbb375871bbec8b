//! Normalized YAML of objects, unified diffs between them, and the plan's text (coloured when
//! asked).

use super::{Action, ObjectId, Plan};
use crate::text::sanitize;
use serde_json::Value;
use std::fmt::Write as _;

/// Server-set metadata left out of every comparison and diff.
pub(crate) const NOISE: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Server-written annotations left out too.
pub(crate) const NOISY_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    crate::wellknown::HASH_ANNOTATION,
];

/// The object without status and server-set metadata (empty maps left behind are dropped).
pub fn normalize(value: &Value) -> Value {
    let mut v = value.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in NOISE {
                meta.remove(*key);
            }
            if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                for key in NOISY_ANNOTATIONS {
                    ann.remove(*key);
                }
                if ann.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
    }
    v
}

fn yaml(value: Option<&Value>) -> String {
    value
        .map(|v| serde_saphyr::to_string(&normalize(v)).unwrap_or_else(|e| format!("# {e}\n")))
        .unwrap_or_default()
}

/// Unified diff (3 lines of context) from `old` to `new`, both normalized.
pub fn unified(old: Option<&Value>, new: Option<&Value>, id: &ObjectId) -> String {
    let (a, b) = (yaml(old), yaml(new));
    let label = id.to_string();
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(
            &if old.is_some() {
                format!("live: {label}")
            } else {
                "/dev/null".into()
            },
            &if new.is_some() {
                format!("desired: {label}")
            } else {
                "/dev/null".into()
            },
        )
        .to_string()
}

const RED: &str = "\u{1b}[31m";
const GREEN: &str = "\u{1b}[32m";
const YELLOW: &str = "\u{1b}[33m";
const CYAN: &str = "\u{1b}[36m";
const BOLD: &str = "\u{1b}[1m";
const RESET: &str = "\u{1b}[0m";

/// The plan as text: one header per change, its diff, then a summary line. Every line from
/// the objects is sanitised; `color` adds ANSI colours of our own.
pub fn render(plan: &Plan, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(
            out,
            "{}",
            paint(YELLOW, &format!("note: {}", sanitize(note)))
        );
    }
    for item in &plan.items {
        let (word, code) = match item.action {
            Action::Create => ("create", GREEN),
            Action::Update => ("update", YELLOW),
            Action::Delete => ("delete", RED),
        };
        let head = format!("{word} {}", sanitize(&item.id.to_string()));
        let _ = writeln!(out, "{}", paint(&format!("{BOLD}{code}"), &head));
        for line in item.diff.lines() {
            let line = sanitize(line);
            let code = if line.starts_with("+++") || line.starts_with("---") {
                BOLD
            } else if line.starts_with('+') {
                GREEN
            } else if line.starts_with('-') {
                RED
            } else if line.starts_with("@@") {
                CYAN
            } else {
                ""
            };
            if code.is_empty() {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "{}", paint(code, &line));
            }
        }
    }
    let (c, u, d) = plan.counts();
    let _ = writeln!(
        out,
        "{}",
        paint(
            BOLD,
            &format!(
                "plan: {c} to create, {u} to update, {d} to delete, {} unchanged",
                plan.unchanged
            )
        )
    );
    out
}
