//! A positioned YAML tree built from `granit_parser` events, with the resource limits
//! (nesting depth, node count, alias expansion) enforced while building, so hostile input is
//! refused in time and memory proportional to what was accepted.
//!
//! Plain scalars are resolved by the YAML 1.2 core schema; quoted and block scalars stay strings.
//! Duplicate keys are reported, `<<` merge keys are applied, and each syntax error is reported
//! at the parser's position before parsing resumes at the next document.

use super::path::Seg;
use super::scalar;
use super::syntax_pos;
use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Marker, Options, Parser, ScalarStyle, Tag};
use std::collections::HashMap;

/// Deepest nesting of collections accepted.
const MAX_DEPTH: usize = 64;
/// Most nodes one file may produce through aliases.
const MAX_ALIAS_NODES: usize = 100_000;
/// Most nodes one file may hold, anchored copies and alias expansions included.
const MAX_NODES: usize = 1_000_000;
/// Abandoned documents (syntax errors, limits) after which the rest of a file is not read.
const MAX_FAILURES: usize = 100;
/// Map size from which duplicate-key lookups go through a hash index.
const INDEX_FROM: usize = 16;

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(marker: &Marker) -> Pos {
        Pos {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// A YAML node with the position where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

/// The content of a node.
#[derive(Clone, Debug)]
pub(crate) enum NodeKind {
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    /// A resolved scalar: null, bool, number or string.
    Scalar(Value),
}

/// A mapping entry; `key_pos` is where the key is written.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    /// The JSON form of this node.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(v) => v.clone(),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    /// The JSON type name of this node, as used in messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "object",
            NodeKind::Seq(_) => "array",
            NodeKind::Scalar(Value::Null) => "null",
            NodeKind::Scalar(Value::Bool(_)) => "boolean",
            NodeKind::Scalar(Value::Number(n)) if n.is_f64() => "number",
            NodeKind::Scalar(Value::Number(_)) => "integer",
            NodeKind::Scalar(_) => "string",
        }
    }

    /// Whether this is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::Null))
    }

    /// The entry of `key` when this is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }
}

/// A YAML-level error: where, in which field (empty when unknown), and what.
#[derive(Debug)]
pub(crate) struct Problem {
    pub pos: Pos,
    pub path: Vec<Seg>,
    pub message: String,
}

/// The documents of a file (empty ones left out) and the YAML-level errors found.
pub(crate) struct Parsed {
    pub documents: Vec<Node>,
    pub errors: Vec<Problem>,
}

/// Why the building of a document was abandoned.
#[derive(Debug, thiserror::Error)]
enum Fatal {
    #[error("nesting is deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("alias expansion exceeds the limit of {MAX_ALIAS_NODES} nodes")]
    AliasBudget,
    #[error("file has more than {MAX_NODES} nodes (anchors and aliases included)")]
    TooManyNodes,
    #[error("complex (non-scalar) mapping keys are not supported")]
    ComplexKey,
    #[error("alias refers to an unknown or unfinished anchor")]
    UnknownAnchor,
}

/// Parses every document of `text`.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut options = Options::default();
    options.set_emit_comments(false);
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut b = Builder::default();
    let mut failures = 0;
    loop {
        let (pos, path, message, give_up) = match parser.next_event() {
            None => break,
            Some(Ok((event, span))) => match b.event(event, Pos::of(&span.start)) {
                Ok(()) => continue,
                Err((pos, fatal)) => {
                    let give_up = matches!(fatal, Fatal::TooManyNodes);
                    (pos, b.path(), fatal.to_string(), give_up)
                }
            },
            Some(Err(e)) => {
                let (pos, message) = syntax_pos::locate(text, &e);
                (pos, Vec::new(), message, false)
            }
        };
        b.errors.push(Problem { pos, path, message });
        b.stack.clear();
        failures += 1;
        if give_up {
            break;
        }
        if failures >= MAX_FAILURES {
            b.errors.push(Problem {
                pos,
                path: Vec::new(),
                message: format!("{MAX_FAILURES} errors: the rest of the file is not read"),
            });
            break;
        }
        match parser.proceed_next_document() {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let (pos, message) = syntax_pos::locate(text, &e);
                b.errors.push(Problem {
                    pos,
                    path: Vec::new(),
                    message,
                });
                break;
            }
        }
    }
    Parsed {
        documents: b.documents,
        errors: b.errors,
    }
}

/// An anchored node kept for its aliases.
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

/// An open collection.
struct Frame {
    pos: Pos,
    anchor: usize,
    /// Node count before this collection was counted, to size it for its anchor.
    start: usize,
    /// Collection levels in this subtree, itself included.
    height: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map(MapFrame),
}

#[derive(Default)]
struct MapFrame {
    entries: Vec<Entry>,
    /// Key → entry index, kept once the map reaches `INDEX_FROM` entries.
    index: HashMap<String, usize>,
    key: Option<PendingKey>,
    /// Mappings merged in through `<<` when the map ends.
    merges: Vec<Node>,
}

struct PendingKey {
    text: String,
    pos: Pos,
    merge: bool,
}

impl MapFrame {
    fn find(&self, key: &str) -> Option<usize> {
        if self.entries.len() >= INDEX_FROM {
            self.index.get(key).copied()
        } else {
            self.entries.iter().position(|e| e.key == key)
        }
    }

    fn insert(&mut self, entry: Entry) {
        self.entries.push(entry);
        let n = self.entries.len();
        if n == INDEX_FROM {
            self.index = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.clone(), i))
                .collect();
        } else if n > INDEX_FROM {
            self.index.insert(self.entries[n - 1].key.clone(), n - 1);
        }
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    documents: Vec<Node>,
    errors: Vec<Problem>,
    /// Nodes in the trees, alias expansions included.
    nodes: usize,
    /// Nodes copied for anchors.
    copies: usize,
    /// Nodes produced by aliases.
    alias_nodes: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, pos: Pos) -> Result<(), (Pos, Fatal)> {
        match event {
            Event::DocumentStart(..) => {
                self.stack.clear();
                self.anchors.clear();
                self.copies = 0;
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1).map_err(|f| (pos, f))?;
                let value = if self.expects_key() {
                    Value::String(text.into_owned())
                } else {
                    self.scalar(&text, style, tag.as_deref(), pos)
                };
                let merge = style == ScalarStyle::Plain && value == "<<";
                let node = Node {
                    pos,
                    kind: NodeKind::Scalar(value),
                };
                self.finish(node, anchor, 1, 0, merge)?;
            }
            Event::SequenceStart(_, anchor, _) => self.open(pos, anchor, Body::Seq(Vec::new()))?,
            Event::MappingStart(_, anchor, _) => {
                self.open(pos, anchor, Body::Map(MapFrame::default()))?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Alias(id) => self.alias(id, pos)?,
            Event::UnresolvedAlias(_) => return Err((pos, Fatal::UnknownAnchor)),
            _ => {}
        }
        Ok(())
    }

    /// The field path of the node being built.
    fn path(&self) -> Vec<Seg> {
        self.stack
            .iter()
            .filter_map(|f| match &f.body {
                Body::Seq(items) => Some(Seg::Index(items.len())),
                Body::Map(m) => m.key.as_ref().map(|k| Seg::Key(k.text.clone())),
            })
            .collect()
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { body: Body::Map(m), .. }) if m.key.is_none())
    }

    fn count(&mut self, n: usize) -> Result<(), Fatal> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes.saturating_add(self.copies) > MAX_NODES {
            return Err(Fatal::TooManyNodes);
        }
        Ok(())
    }

    fn open(&mut self, pos: Pos, anchor: usize, body: Body) -> Result<(), (Pos, Fatal)> {
        if self.expects_key() {
            return Err((pos, Fatal::ComplexKey));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err((pos, Fatal::TooDeep));
        }
        let start = self.nodes;
        self.count(1).map_err(|f| (pos, f))?;
        self.stack.push(Frame {
            pos,
            anchor,
            start,
            height: 1,
            body,
        });
        Ok(())
    }

    fn close(&mut self) -> Result<(), (Pos, Fatal)> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let kind = match frame.body {
            Body::Seq(items) => NodeKind::Seq(items),
            Body::Map(mut map) => {
                for source in std::mem::take(&mut map.merges) {
                    if let NodeKind::Map(entries) = source.kind {
                        for e in entries {
                            if map.find(&e.key).is_none() {
                                map.insert(e);
                            }
                        }
                    }
                }
                NodeKind::Map(map.entries)
            }
        };
        let node = Node {
            pos: frame.pos,
            kind,
        };
        let size = self.nodes - frame.start;
        self.finish(node, frame.anchor, size, frame.height, false)
    }

    fn alias(&mut self, id: usize, pos: Pos) -> Result<(), (Pos, Fatal)> {
        let Some(a) = self.anchors.get(&id) else {
            return Err((pos, Fatal::UnknownAnchor));
        };
        if self.alias_nodes + a.size > MAX_ALIAS_NODES {
            return Err((pos, Fatal::AliasBudget));
        }
        if self.stack.len() + a.height > MAX_DEPTH {
            return Err((pos, Fatal::TooDeep));
        }
        if self.expects_key() && !matches!(a.node.kind, NodeKind::Scalar(_)) {
            return Err((pos, Fatal::ComplexKey));
        }
        let (size, height) = (a.size, a.height);
        let mut node = a.node.clone();
        node.pos = pos;
        self.alias_nodes += size;
        self.count(size).map_err(|f| (pos, f))?;
        self.attach(node, height, false);
        Ok(())
    }

    /// Completes a node: records its anchor and attaches it to its parent. The copy kept
    /// for the anchor counts against the node budget like any other node.
    fn finish(
        &mut self,
        node: Node,
        anchor: usize,
        size: usize,
        height: usize,
        merge: bool,
    ) -> Result<(), (Pos, Fatal)> {
        if anchor != 0 {
            self.copies = self.copies.saturating_add(size);
            self.count(0).map_err(|f| (node.pos, f))?;
            let kept = Anchored {
                node: node.clone(),
                size,
                height,
            };
            self.anchors.insert(anchor, kept);
        }
        self.attach(node, height, merge);
        Ok(())
    }

    /// Places a finished node in the open collection, or as a document root.
    fn attach(&mut self, node: Node, height: usize, merge: bool) {
        let Some(frame) = self.stack.last_mut() else {
            if !node.is_null() {
                self.documents.push(node);
            }
            return;
        };
        frame.height = frame.height.max(height + 1);
        let map = match &mut frame.body {
            Body::Seq(items) => {
                items.push(node);
                return;
            }
            Body::Map(map) => map,
        };
        let Some(key) = map.key.take() else {
            let text = match node.kind {
                NodeKind::Scalar(Value::String(s)) => s,
                NodeKind::Scalar(other) => other.to_string(),
                _ => String::new(),
            };
            map.key = Some(PendingKey {
                text,
                pos: node.pos,
                merge,
            });
            return;
        };
        let (pos, message) = if key.merge {
            match node.kind {
                NodeKind::Map(_) => return map.merges.push(node),
                NodeKind::Seq(items)
                    if items.iter().all(|n| matches!(n.kind, NodeKind::Map(_))) =>
                {
                    return map.merges.extend(items);
                }
                _ => (
                    node.pos,
                    "a merge key `<<` takes a mapping or a sequence of mappings".to_string(),
                ),
            }
        } else if let Some(first) = map.find(&key.text) {
            let line = map.entries[first].key_pos.line;
            let message = format!(
                "duplicate key {:?} (first defined at line {line})",
                key.text
            );
            (key.pos, message)
        } else {
            return map.insert(Entry {
                key: key.text,
                key_pos: key.pos,
                value: node,
            });
        };
        let mut path = self.path();
        path.push(Seg::Key(key.text));
        self.errors.push(Problem { pos, path, message });
    }

    /// Resolves a value scalar by its style and tag; a tagged value that does not fit its tag
    /// is reported and kept as a string.
    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, pos: Pos) -> Value {
        let core = tag.and_then(Tag::core_suffix);
        let plain = style == ScalarStyle::Plain;
        let resolved = match core {
            Some("str") => return Value::String(text.to_string()),
            Some(expected @ ("null" | "bool" | "int" | "float")) => {
                match scalar::resolve_plain(text) {
                    Ok(v) if scalar::fits(&v, expected) => Ok(v),
                    Ok(_) | Err(_) => Err(format!("invalid !!{expected} value {text:?}")),
                }
            }
            _ if plain => scalar::resolve_plain(text),
            _ => return Value::String(text.to_string()),
        };
        resolved.unwrap_or_else(|message| {
            let path = self.path();
            self.errors.push(Problem { pos, path, message });
            Value::String(text.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_quotes_and_merges() {
        let parsed =
            parse("a: !!str 12\nb: '12'\nc: 12\nbase: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let v = parsed.documents[0].to_json();
        assert_eq!(v["a"], "12");
        assert_eq!(v["b"], "12");
        assert_eq!(v["c"], 12);
        assert_eq!(v["d"], serde_json::json!({"y": 3, "x": 1}));
    }

    #[test]
    fn nested_anchors_are_copied_once_each() {
        let mut text = String::from("a: ");
        for i in 0..60 {
            text.push_str(&format!("&a{i} ["));
        }
        text.push_str(&"]".repeat(60));
        text.push_str("\nb: *a0\n");
        let parsed = parse(&text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let v = parsed.documents[0].to_json();
        assert_eq!(v["a"], v["b"]);
    }

    #[test]
    fn node_budget_stops_the_file() {
        let text = format!("a: [{}]\n---\nb: 1\n", "0,".repeat(MAX_NODES));
        let parsed = parse(&text);
        assert!(parsed.documents.is_empty());
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.contains("more than 1000000 nodes"));
    }

    #[test]
    fn failures_are_capped() {
        let parsed = parse(&"a: [\n---\n".repeat(2 * MAX_FAILURES));
        assert_eq!(parsed.errors.len(), MAX_FAILURES + 1);
        assert!(parsed.errors[MAX_FAILURES].message.contains("not read"));
    }

    #[test]
    fn bad_tagged_values_are_reported() {
        let parsed = parse("a: !!int twelve\n");
        let e = &parsed.errors[0];
        assert_eq!(
            e.pos,
            Pos {
                line: 1,
                column: 10
            }
        );
        assert_eq!(e.path, vec![Seg::Key("a".into())]);
        assert!(e.message.contains("!!int"));
    }
}

/// A YAML error at a position, from [`documents`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{column}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The document it is in, counted from 1 among the non-empty documents before it.
    pub document: usize,
}

/// One document of a multi-document text: the line its content starts on and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// 1-based line of the document's first node.
    pub line: usize,
    /// The document as JSON.
    pub value: Value,
}

/// The non-empty documents of a multi-document YAML text, through the same parser (and the same
/// limits on depth, nodes and aliases) the validator uses; or its first error.
pub fn documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let parsed = parse(text);
    if let Some(p) = parsed.errors.first() {
        let before = parsed.documents.iter().filter(|d| d.pos < p.pos).count();
        return Err(YamlError {
            line: p.pos.line,
            column: p.pos.column,
            message: p.message.clone(),
            document: before + 1,
        });
    }
    Ok(parsed
        .documents
        .iter()
        .map(|d| Document {
            line: d.pos.line,
            value: d.to_json(),
        })
        .collect())
}
