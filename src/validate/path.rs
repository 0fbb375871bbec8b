//! Field paths (`spec.containers[0].image`, `hard["requests.cpu"]`) and their resolution to
//! source positions in the positioned YAML tree.

use super::yaml::{Node, NodeKind, Pos};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Renders a path as `a.b[0].c`; keys that are empty or contain dots, brackets, quotes or
/// whitespace are written as `["key"]`.
pub(crate) fn format(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Seg::Key(k) if needs_quotes(k) => {
                out.push('[');
                out.push_str(&serde_json::Value::from(k.as_str()).to_string());
                out.push(']');
            }
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
        }
    }
    out
}

fn needs_quotes(key: &str) -> bool {
    key.is_empty()
        || key
            .chars()
            .any(|c| matches!(c, '.' | '[' | ']' | '"') || c.is_whitespace())
}

/// The source position of the node at `path`: its key when `at_key` (an element's own
/// position for a sequence index), else its value. When the path leaves the tree, the key of
/// the deepest node that exists (the root's position for an empty path).
pub(crate) fn locate(root: &Node, path: &[Seg], at_key: bool) -> Pos {
    let mut node = root;
    let mut key_pos = root.pos;
    for seg in path {
        let next = match (seg, &node.kind) {
            (Seg::Key(k), NodeKind::Map(entries)) => entries
                .iter()
                .find(|e| &e.key == k)
                .map(|e| (e.key_pos, &e.value)),
            (Seg::Index(i), NodeKind::Seq(items)) => items.get(*i).map(|n| (n.pos, n)),
            _ => None,
        };
        match next {
            Some((pos, child)) => {
                key_pos = pos;
                node = child;
            }
            None => return key_pos,
        }
    }
    if at_key { key_pos } else { node.pos }
}
