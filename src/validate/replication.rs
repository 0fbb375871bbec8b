//! ImageReplicationPolicy checks beyond its schema: the target registry is `host[:port][/prefix]`
//! and every include/exclude glob can match a reference, each reported at its own line.

use super::path::Seg;
use super::yaml::{Node, NodeKind};
use super::{Ctx, Severity};
use crate::model::{pattern_problem, target_problem};
use serde_json::Value;

/// Checks the policy document of `ctx`.
pub(crate) fn check(ctx: &mut Ctx) {
    let root = ctx.root;
    let Some(spec) = root.get("spec") else {
        return;
    };
    let key = |k: &str| Seg::Key(k.to_string());
    if let Some(target) = spec.value.get("targetRegistry")
        && let NodeKind::Scalar(Value::String(text)) = &target.value.kind
        && let Some(why) = target_problem(text)
    {
        let path = [key("spec"), key("targetRegistry")];
        ctx.report(target.value.pos, &path, Severity::Error, why);
    }
    for list in ["include", "exclude"] {
        let Some(entry) = spec.value.get(list) else {
            continue;
        };
        let NodeKind::Seq(items) = &entry.value.kind else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            if let Some(why) = string(item).and_then(pattern_problem) {
                let path = [key("spec"), key(list), Seg::Index(i)];
                ctx.report(item.pos, &path, Severity::Error, why);
            }
        }
    }
}

fn string(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Scalar(Value::String(s)) => Some(s),
        _ => None,
    }
}
