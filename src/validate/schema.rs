//! Custom kinds, checked against the `openAPIV3Schema` of their CRD: `type`, `required`,
//! `enum`, `properties`, `additionalProperties`, `items`, `nullable`,
//! `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-int-or-string` (a quantity when it
//! sits in a quantity map).

use super::path::Seg;
use super::quantities;
use super::yaml::{Entry, Node, NodeKind, Pos};
use super::{Ctx, Severity};
use serde_json::{Map, Value};

/// The schemas of the custom kinds known to the caller.
pub trait Schemas {
    /// The `openAPIV3Schema` of a custom kind, `None` when the kind is unknown.
    fn schema(&self, api_version: &str, kind: &str) -> Option<&Value>;
    /// Whether unknown fields in this API version are errors (our own groups) rather than
    /// warnings.
    fn strict(&self, api_version: &str) -> bool;
}

/// Root fields the API server handles itself, whatever the schema says.
const ROOT_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Walks the document of `ctx` against `schema`; unknown fields get severity `unknown`.
pub(crate) fn check(ctx: &mut Ctx, schema: &Value, kind: &str, unknown: Severity) {
    let root = ctx.root;
    let mut walker = Walker { ctx, kind, unknown };
    walker.walk(schema, root, root.pos, &mut Vec::new());
}

struct Walker<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    kind: &'c str,
    unknown: Severity,
}

fn flag(schema: &Map<String, Value>, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether `node` is of the OpenAPI `type` named.
fn has_type(node: &Node, ty: &str) -> bool {
    match (ty, &node.kind) {
        ("object", NodeKind::Map(_)) | ("array", NodeKind::Seq(_)) => true,
        ("string", NodeKind::Scalar(v)) => v.is_string(),
        ("integer", NodeKind::Scalar(v)) => v.is_i64() || v.is_u64(),
        ("number", NodeKind::Scalar(v)) => v.is_number(),
        ("boolean", NodeKind::Scalar(v)) => v.is_boolean(),
        ("object" | "array" | "string" | "integer" | "number" | "boolean", _) => false,
        _ => true,
    }
}

impl Walker<'_, '_> {
    fn error(&mut self, pos: Pos, path: &[Seg], message: String) {
        self.ctx.report(pos, path, Severity::Error, message);
    }

    /// Checks `node` (at `path`; `holder` is where its key is written) against `schema`.
    fn walk(&mut self, schema: &Value, node: &Node, holder: Pos, path: &mut Vec<Seg>) {
        let Some(s) = schema.as_object() else {
            return;
        };
        // A null is either allowed (nullable) or pruned by the API server; `required` of
        // the parent decides whether its absence matters.
        if node.is_null() {
            return;
        }
        if flag(s, "x-kubernetes-int-or-string") {
            if !has_type(node, "integer") && !has_type(node, "string") {
                let message = format!("expected integer or string, got {}", node.type_name());
                return self.error(node.pos, path, message);
            }
            if let Some((_, parent)) = path.split_last()
                && quantities::is_quantity_map(self.kind, parent)
            {
                quantities::check_value(self.ctx, node, path);
            }
        } else if let Some(ty) = s.get("type").and_then(Value::as_str)
            && !has_type(node, ty)
        {
            let message = format!("expected {ty}, got {}", node.type_name());
            return self.error(node.pos, path, message);
        }
        if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
            let value = node.to_json();
            if !allowed.contains(&value) {
                let names: Vec<String> = allowed
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                self.error(
                    node.pos,
                    path,
                    format!("expected one of {}", names.join(", ")),
                );
            }
        }
        match &node.kind {
            NodeKind::Map(entries) => self.object(s, entries, holder, path),
            NodeKind::Seq(items) => {
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        self.walk(item_schema, item, item.pos, path);
                        path.pop();
                    }
                }
            }
            NodeKind::Scalar(_) => {}
        }
    }

    fn object(
        &mut self,
        s: &Map<String, Value>,
        entries: &[Entry],
        holder: Pos,
        path: &mut Vec<Seg>,
    ) {
        let properties = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
        let at_root = path.is_empty();
        for e in entries {
            if at_root && ROOT_FIELDS.contains(&e.key.as_str()) {
                continue;
            }
            path.push(Seg::Key(e.key.clone()));
            match (properties.and_then(|p| p.get(&e.key)), additional) {
                (Some(sub), _) | (None, Some(sub @ Value::Object(_))) => {
                    self.walk(sub, &e.value, e.key_pos, path);
                }
                (None, Some(Value::Bool(true))) => {}
                _ if preserve => {}
                _ => {
                    let message = format!("unknown field {:?}", e.key);
                    self.ctx.report(e.key_pos, path, self.unknown, message);
                }
            }
            path.pop();
        }
        let required = s.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            let nullable = properties
                .and_then(|p| p.get(name))
                .and_then(Value::as_object)
                .is_some_and(|p| flag(p, "nullable"));
            let present = entries
                .iter()
                .any(|e| e.key == name && (nullable || !e.value.is_null()));
            if !present {
                path.push(Seg::Key(name.to_string()));
                self.error(holder, path, "missing required field".to_string());
                path.pop();
            }
        }
    }
}
