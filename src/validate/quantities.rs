//! Resource quantities (`500m`, `1Gi`) in the maps Kubernetes reads as quantities, checked by
//! Kubernetes' own grammar.

use super::path::Seg;
use super::yaml::{Node, NodeKind};
use super::{Ctx, Severity};
use quantity::{self, Quantity};
use serde_json::Value;

/// LimitRange item fields holding quantities.
const LIMIT_RANGE_FIELDS: [&str; 5] = [
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];

/// Whether the mapping at `path` in an object of `kind` maps names to quantities:
/// `…resources.limits`/`…resources.requests` (containers, PVCs), `…resourceQuotaSpec.hard`,
/// a ResourceQuota's `spec.hard`, and a LimitRange's `spec.limits[*].{default,…}`.
pub(crate) fn is_quantity_map(kind: &str, path: &[Seg]) -> bool {
    let key = |s: &Seg, name: &str| matches!(s, Seg::Key(k) if k == name);
    match path {
        [.., parent, last] if key(parent, "resources") => {
            key(last, "limits") || key(last, "requests")
        }
        [.., parent, last] if key(parent, "resourceQuotaSpec") => key(last, "hard"),
        [spec, hard] => kind == "ResourceQuota" && key(spec, "spec") && key(hard, "hard"),
        [spec, limits, Seg::Index(_), Seg::Key(field)] => {
            kind == "LimitRange"
                && key(spec, "spec")
                && key(limits, "limits")
                && LIMIT_RANGE_FIELDS.contains(&field.as_str())
        }
        _ => false,
    }
}

/// Checks that a string or number value parses as a quantity; other types are left to the
/// type checks.
pub(crate) fn check_value(ctx: &mut Ctx, node: &Node, path: &[Seg]) {
    let (text, shown) = match &node.kind {
        NodeKind::Scalar(Value::String(s)) => (s.clone(), format!("{s:?}")),
        NodeKind::Scalar(Value::Number(n)) => (n.to_string(), n.to_string()),
        _ => return,
    };
    if let Err(e) = Quantity::parse(&text) {
        let message = if e == quantity::ERR_FORMAT {
            format!("invalid quantity {shown}")
        } else {
            format!("invalid quantity {shown}: {e}")
        };
        ctx.report(node.pos, path, Severity::Error, message);
    }
}

/// Checks every quantity map of a built-in object.
pub(crate) fn check_tree(ctx: &mut Ctx, kind: &str) {
    let root = ctx.root;
    walk(ctx, kind, root, &mut Vec::new());
}

fn walk(ctx: &mut Ctx, kind: &str, node: &Node, path: &mut Vec<Seg>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            let quantities = is_quantity_map(kind, path);
            for e in entries {
                path.push(Seg::Key(e.key.clone()));
                if quantities {
                    check_value(ctx, &e.value, path);
                }
                walk(ctx, kind, &e.value, path);
                path.pop();
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(ctx, kind, item, path);
                path.pop();
            }
        }
        NodeKind::Scalar(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_maps() {
        let p = |s: &[&str]| -> Vec<Seg> {
            s.iter()
                .map(|k| match k.parse() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => Seg::Key(k.to_string()),
                })
                .collect()
        };
        assert!(is_quantity_map(
            "Pod",
            &p(&["spec", "containers", "0", "resources", "limits"])
        ));
        assert!(is_quantity_map(
            "Profile",
            &p(&["spec", "resourceQuotaSpec", "hard"])
        ));
        assert!(is_quantity_map("ResourceQuota", &p(&["spec", "hard"])));
        assert!(!is_quantity_map("Other", &p(&["spec", "hard"])));
        assert!(is_quantity_map(
            "LimitRange",
            &p(&["spec", "limits", "0", "max"])
        ));
        assert!(!is_quantity_map(
            "LimitRange",
            &p(&["spec", "limits", "0", "type"])
        ));
        assert!(!is_quantity_map(
            "Pod",
            &p(&["spec", "resources", "claims"])
        ));
    }
}
