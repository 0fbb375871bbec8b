//! Kubernetes label selectors (string syntax and `metav1.LabelSelector`) and field selectors.
//! Both evaluate against `serde_json` objects, following the apimachinery parsers and error texts.
#![deny(clippy::indexing_slicing)]

use serde_json::{Map, Value};
use std::fmt;

const NAME_FMT: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const NAME_EXAMPLE: &str = "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const DNS_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const BINARY_OPS: &str = "in, notin, =, ==, !=, gt, lt";

/// Operator of one label requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One `key op values` term of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed label selector: the conjunction of its requirements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
    nothing: bool,
}

/// True for `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// True for an RFC 1123 subdomain.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b.first() != Some(&b'-')
                && b.last() != Some(&b'-')
        })
}

/// Kubernetes `IsQualifiedName` problems for a label key.
fn key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else if !is_dns_subdomain(prefix) {
                errs.push(format!("prefix part {DNS_MSG}"));
            }
            name
        }
        _ => {
            return vec![format!(
                "a qualified name {NAME_FMT} {NAME_EXAMPLE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !name.is_empty() && !is_name_part(name) {
        errs.push(format!("name part {NAME_FMT} {NAME_EXAMPLE}"));
    }
    errs
}

/// Validates a label key, returning a Kubernetes-style message naming it.
fn validate_key(key: &str) -> Result<(), String> {
    let errs = key_errors(key);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("Invalid value: {key:?}: {}", errs.join("; ")))
    }
}

/// Validates a label value (for requirement `key`), returning a Kubernetes-style message.
fn validate_value(key: &str, v: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters");
    }
    if !v.is_empty() && !is_name_part(v) {
        errs.push(VALUE_MSG);
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Invalid value: {v:?}: invalid label value: {v:?}: at key: {key:?}: {}",
            errs.join("; ")
        ))
    }
}

impl Requirement {
    /// Builds and validates a requirement like `labels.NewRequirement`.
    fn new(key: &str, op: Op, mut values: Vec<String>) -> Result<Requirement, String> {
        validate_key(key)?;
        values.sort();
        values.dedup();
        let n = values.len();
        match op {
            Op::In | Op::NotIn if n == 0 => {
                return Err("for 'in', 'notin' operators, values set can't be empty".into());
            }
            Op::Equals | Op::DoubleEquals | Op::NotEquals if n != 1 => {
                return Err("exact-match compatibility requires one single value".into());
            }
            Op::Exists | Op::DoesNotExist if n != 0 => {
                return Err("values set must be empty for exists and does not exist".into());
            }
            Op::GreaterThan | Op::LessThan => {
                if n != 1 {
                    return Err("for 'Gt', 'Lt' operators, exactly one value is required".into());
                }
                if let Some(v) = values.first().filter(|v| v.parse::<i64>().is_err()) {
                    return Err(format!(
                        "Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                    ));
                }
            }
            _ => {}
        }
        for v in &values {
            validate_value(key, v)?;
        }
        Ok(Requirement {
            key: key.to_string(),
            op,
            values,
        })
    }

    /// Evaluates the requirement against a label map.
    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let got = labels.and_then(|l| l.get(&self.key)).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let has = |v: &String| self.values.contains(v);
        match self.op {
            Op::In | Op::Equals | Op::DoubleEquals => got.as_ref().is_some_and(has),
            Op::NotIn | Op::NotEquals => !got.as_ref().is_some_and(has),
            Op::Exists => got.is_some(),
            Op::DoesNotExist => got.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let (Some(Ok(have)), Some(Ok(want))) = (
                    got.map(|g| g.parse::<i64>()),
                    self.values.first().map(|v| v.parse::<i64>()),
                ) else {
                    return false;
                };
                if self.op == Op::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::DoesNotExist => return write!(f, "!{}", self.key),
            Op::Exists => return f.write_str(&self.key),
            Op::In => " in ",
            Op::NotIn => " notin ",
            Op::Equals => "=",
            Op::DoubleEquals => "==",
            Op::NotEquals => "!=",
            Op::GreaterThan => ">",
            Op::LessThan => "<",
        };
        let vals = self.values.join(",");
        match self.op {
            Op::In | Op::NotIn => write!(f, "{}{op}({vals})", self.key),
            _ => write!(f, "{}{op}{vals}", self.key),
        }
    }
}

/// Lexer token of the label selector syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Comma,
    Eq,
    DoubleEq,
    NotEq,
    Not,
    Open,
    Close,
    Gt,
    Lt,
    End,
}

impl Tok {
    /// The literal text of the token, for error messages.
    fn lit(&self) -> &str {
        match self {
            Tok::Ident(s) => s,
            Tok::Comma => ",",
            Tok::Eq => "=",
            Tok::DoubleEq => "==",
            Tok::NotEq => "!=",
            Tok::Not => "!",
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::Gt => ">",
            Tok::Lt => "<",
            Tok::End => "",
        }
    }

    /// True for tokens that start a requirement.
    fn starts_requirement(&self) -> bool {
        matches!(self, Tok::Ident(_) | Tok::Not)
    }
}

/// Splits a selector string into tokens like the apimachinery lexer.
fn lex(s: &str) -> Vec<Tok> {
    let special = |c: char| "=!(),><".contains(c);
    let mut toks = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let Some(c) = rest.chars().next() else {
            toks.push(Tok::End);
            return toks;
        };
        if special(c) {
            let (tok, len) = match (c, rest.as_bytes().get(1)) {
                ('!', Some(b'=')) => (Tok::NotEq, 2),
                ('=', Some(b'=')) => (Tok::DoubleEq, 2),
                ('!', _) => (Tok::Not, 1),
                ('=', _) => (Tok::Eq, 1),
                ('(', _) => (Tok::Open, 1),
                (')', _) => (Tok::Close, 1),
                (',', _) => (Tok::Comma, 1),
                ('>', _) => (Tok::Gt, 1),
                _ => (Tok::Lt, 1),
            };
            toks.push(tok);
            rest = &rest[len..];
        } else {
            let end = rest
                .find(|c: char| special(c) || " \t\r\n".contains(c))
                .unwrap_or(rest.len());
            toks.push(Tok::Ident(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
}

/// Recursive-descent parser over lexed tokens.
struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        // The lexer always ends with `End`.
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .unwrap_or(&Tok::End)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            match self.peek() {
                Tok::End => return Ok(reqs),
                t if t.starts_requirement() => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    match self.next() {
                        Tok::End => return Ok(reqs),
                        Tok::Comma if self.peek().starts_requirement() => {}
                        Tok::Comma => {
                            return Err(format!(
                                "found '{}', expected: identifier after ','",
                                self.peek().lit()
                            ));
                        }
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.lit()
                            ));
                        }
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.lit()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut tok = self.next();
        let negated = tok == Tok::Not;
        if negated {
            tok = self.next();
        }
        let Tok::Ident(key) = tok else {
            return Err(format!("found '{}', expected: identifier", tok.lit()));
        };
        validate_key(&key)?;
        if negated {
            return Requirement::new(&key, Op::DoesNotExist, vec![]);
        }
        if matches!(self.peek(), Tok::End | Tok::Comma) {
            return Requirement::new(&key, Op::Exists, vec![]);
        }
        let op = match self.next() {
            Tok::Ident(s) if s == "in" => Op::In,
            Tok::Ident(s) if s == "notin" => Op::NotIn,
            Tok::Eq => Op::Equals,
            Tok::DoubleEq => Op::DoubleEquals,
            Tok::NotEq => Op::NotEquals,
            Tok::Gt => Op::GreaterThan,
            Tok::Lt => Op::LessThan,
            Tok::End => return Err(format!("found '', expected: {BINARY_OPS}")),
            t => {
                return Err(format!(
                    "found '{}', expected: {BINARY_OPS}, exists, !",
                    t.lit()
                ));
            }
        };
        let values = match op {
            Op::In | Op::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::new(&key, op, values)
    }

    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let t = self.next();
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.lit()));
        }
        match self.peek().clone() {
            Tok::Close => {
                self.next();
                return Ok(vec![String::new()]);
            }
            Tok::Ident(_) | Tok::Comma => {}
            t => {
                return Err(format!(
                    "found '{}', expected: ',', ')' or identifier",
                    t.lit()
                ));
            }
        }
        let mut vals = Vec::new();
        loop {
            match self.next() {
                Tok::Ident(s) => {
                    vals.push(s);
                    match self.peek() {
                        Tok::Comma => {}
                        Tok::Close => break,
                        t => return Err(format!("found '{}', expected: ',' or ')'", t.lit())),
                    }
                }
                Tok::Comma => {
                    if vals.is_empty() {
                        vals.push(String::new());
                    }
                    match self.peek() {
                        Tok::Close => {
                            vals.push(String::new());
                            break;
                        }
                        Tok::Comma => {
                            self.next();
                            vals.push(String::new());
                        }
                        _ => {}
                    }
                }
                t => return Err(format!("found '{}', expected: ',', or identifier", t.lit())),
            }
        }
        self.next();
        Ok(vals)
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        match self.peek() {
            Tok::End | Tok::Comma => Ok(vec![String::new()]),
            _ => match self.next() {
                Tok::Ident(s) => Ok(vec![s]),
                t => Err(format!("found '{}', expected: identifier", t.lit())),
            },
        }
    }
}

/// Parses the Kubernetes label selector string syntax; the empty string matches everything.
pub fn parse_label_selector(s: &str) -> Result<LabelSelector, String> {
    let mut p = Parser {
        toks: lex(s),
        pos: 0,
    };
    let mut reqs = p.parse()?;
    reqs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LabelSelector {
        reqs,
        nothing: false,
    })
}

/// Converts a `metav1.LabelSelector` JSON object; `null` matches nothing, `{}` matches everything.
pub fn label_selector_from_object(v: &Value) -> Result<LabelSelector, String> {
    let obj = match v {
        Value::Null => return Ok(LabelSelector::nothing()),
        Value::Object(o) => o,
        _ => return Err("label selector must be an object".into()),
    };
    let mut reqs = Vec::new();
    match obj.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => reqs.extend(label_selector_from_map(m)?.reqs),
        Some(_) => return Err("matchLabels must be an object".into()),
    }
    let exprs = match obj.get("matchExpressions") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("matchExpressions must be an array".into()),
    };
    for e in exprs {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let op_name = e.get("operator").and_then(Value::as_str).unwrap_or("");
        let op = match op_name {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        };
        let values = match e.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("matchExpressions values must be strings")?,
            Some(_) => return Err("matchExpressions values must be an array".into()),
        };
        reqs.push(Requirement::new(key, op, values)?);
    }
    reqs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LabelSelector {
        reqs,
        nothing: false,
    })
}

/// Builds an equality selector from a label map (`matchLabels`, `spec.selector` of a Service).
pub fn label_selector_from_map(m: &Map<String, Value>) -> Result<LabelSelector, String> {
    let mut reqs = Vec::new();
    for (k, v) in m {
        let v = v
            .as_str()
            .ok_or_else(|| format!("label {k:?} must be a string"))?;
        reqs.push(Requirement::new(k, Op::Equals, vec![v.to_string()])?);
    }
    reqs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LabelSelector {
        reqs,
        nothing: false,
    })
}

impl LabelSelector {
    /// A selector matching no object (a nil `metav1.LabelSelector`).
    pub fn nothing() -> LabelSelector {
        LabelSelector {
            reqs: Vec::new(),
            nothing: true,
        }
    }

    /// Evaluates the selector against a label map (`None` means no labels).
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        !self.nothing && self.reqs.iter().all(|r| r.matches(labels))
    }

    /// Evaluates the selector against `obj.metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.reqs.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// One `field op value` term of a field selector.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    value: String,
    negate: bool,
}

/// A parsed field selector: the conjunction of its terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Splits on unescaped commas, keeping escapes in place.
fn split_terms(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut start, mut slash) = (0, false);
    for (i, c) in s.char_indices() {
        if slash {
            slash = false;
        } else if c == '\\' {
            slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Removes `\\`, `\,` and `\=` escapes; bare `,` or `=` and other escapes are errors.
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{e}"
                    ));
                }
                None => return Err("invalid field selector: invalid escape sequence: \\".into()),
            },
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {c}"
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Escapes a field selector value.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

/// Parses a field selector (`f=v`, `f==v`, `f!=v`, comma-separated); empty matches everything.
pub fn parse_field_selector(s: &str) -> Result<FieldSelector, String> {
    let mut parts = split_terms(s);
    parts.sort_unstable();
    let mut terms = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let split = part.char_indices().find_map(|(i, _)| {
            let rest = &part[i..];
            ["!=", "==", "="]
                .into_iter()
                .find(|op| rest.starts_with(op))
                .map(|op| (&part[..i], op, &rest[op.len()..]))
        });
        let Some((field, op, raw)) = split else {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{part}'"
            ));
        };
        terms.push(FieldTerm {
            field: field.to_string(),
            value: unescape(raw)?,
            negate: op == "!=",
        });
    }
    Ok(FieldSelector { terms })
}

/// The string a field compares as: missing fields are "" (or "false" for known booleans).
fn field_value(obj: &Value, field: &str) -> String {
    let found = field
        .split('.')
        .try_fold(obj, |cur, seg| cur.get(seg))
        .and_then(|v| match (field, v) {
            ("source", Value::Object(o)) => o.get("component"),
            _ => Some(v),
        });
    match found {
        None | Some(Value::Null) => match field {
            "spec.unschedulable" | "spec.hostNetwork" => "false".into(),
            _ => String::new(),
        },
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl FieldSelector {
    /// Evaluates every term against the dotted paths of `obj`.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms
            .iter()
            .all(|t| (field_value(obj, &t.field) == t.value) != t.negate)
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let op = if t.negate { "!=" } else { "=" };
                format!("{}{op}{}", t.field, escape(&t.value))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn sel(s: &str) -> LabelSelector {
        parse_label_selector(s).unwrap()
    }

    fn m(s: &str, l: &Value) -> bool {
        sel(s).matches(l.as_object())
    }

    #[test]
    fn equality_operators() {
        let l = json!({"app": "web", "tier": "front"});
        assert!(m("app=web", &l));
        assert!(m("app==web", &l));
        assert!(!m("app=db", &l));
        assert!(m("app!=db", &l));
        assert!(!m("app!=web", &l));
        assert!(m("missing!=x", &l));
        assert!(!m("missing=x", &l));
        assert!(m("app=web,tier=front", &l));
        assert!(!m("app=web,tier=back", &l));
        assert!(m("  app = web ,  tier==front ", &l));
    }

    #[test]
    fn set_operators() {
        let l = json!({"env": "prod"});
        assert!(m("env in (prod,dev)", &l));
        assert!(m("env in (prod)", &l));
        assert!(!m("env in (dev, qa)", &l));
        assert!(m("env notin (dev,qa)", &l));
        assert!(!m("env notin (prod)", &l));
        assert!(m("other notin (x)", &l));
        assert!(!m("other in (x)", &l));
        assert!(m("env in(prod)", &l));
        assert!(m("env in ( a , prod , )", &l));
    }

    #[test]
    fn existence_operators() {
        let l = json!({"app": "web"});
        assert!(m("app", &l));
        assert!(!m("!app", &l));
        assert!(m("!db", &l));
        assert!(!m("db", &l));
        assert!(m("app,!db", &l));
        assert!(m("! db", &l));
        assert!(!sel("app").matches(None));
        assert!(sel("!app").matches(None));
    }

    #[test]
    fn numeric_and_empty_values() {
        let l = json!({"n": "5", "e": ""});
        assert!(m("n>3", &l) && m("n<6", &l) && !m("n>5", &l));
        assert!(m("e=", &l));
        assert!(m("e in ()", &l));
        assert!(!m("n=", &l));
        assert!(parse_label_selector("n>x").unwrap_err().contains("integer"));
    }

    #[test]
    fn keys_with_prefix_and_keyword_values() {
        let l = json!({"app.kubernetes.io/name": "nginx", "in": "notin"});
        assert!(m("app.kubernetes.io/name=nginx", &l));
        assert!(m("app.kubernetes.io/name in (nginx)", &l));
        assert!(m("in=notin", &l));
        assert!(m("in in (notin)", &l));
    }

    #[test]
    fn empty_selector_matches_everything() {
        for s in ["", "   "] {
            let s = sel(s);
            assert!(s.matches(None));
            assert!(s.matches_object(&json!({})));
        }
    }

    #[test]
    fn bad_selectors() {
        let cases = [
            (
                "(",
                "found '(', expected: !, identifier, or 'end of string'",
            ),
            ("a=b,", "found '', expected: identifier after ','"),
            ("a=b,,c", "found ',', expected: identifier after ','"),
            (
                "a b",
                "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt, exists, !",
            ),
            (
                "a in b",
                "unable to parse requirement: found 'b' expected: '('",
            ),
            (
                "a in (b",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            ("a=b c", "found 'c', expected: ',' or 'end of string'"),
            (
                "a=(b)",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            (
                "!=a",
                "found '!=', expected: !, identifier, or 'end of string'",
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "a in (b,",
                "unable to parse requirement: found '', expected: ',', or identifier",
            ),
            (
                "a in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ];
        for (s, want) in cases {
            assert_eq!(parse_label_selector(s).unwrap_err(), want, "selector {s:?}");
        }
        let e = parse_label_selector("-a=b").unwrap_err();
        assert!(
            e.starts_with("unable to parse requirement: Invalid value: \"-a\": name part"),
            "{e}"
        );
        let e = parse_label_selector("a/b/c=d").unwrap_err();
        assert!(e.contains("\"a/b/c\""), "{e}");
        let e = parse_label_selector("Bad_Prefix/x=y").unwrap_err();
        assert!(e.contains("prefix part"), "{e}");
        let e = parse_label_selector("a=-b").unwrap_err();
        assert!(e.contains("\"-b\"") && e.contains("at key: \"a\""), "{e}");
        let long = format!("a={}", "x".repeat(64));
        assert!(
            parse_label_selector(&long)
                .unwrap_err()
                .contains("no more than 63")
        );
        let longkey = format!("{}=b", "k".repeat(64));
        assert!(
            parse_label_selector(&longkey)
                .unwrap_err()
                .contains("no more than 63")
        );
        assert!(parse_label_selector(&format!("a={}", "x".repeat(63))).is_ok());
    }

    #[test]
    fn display_is_sorted_canonical() {
        let s = sel("z in (b,a), a!=1, !m, k, n>2");
        assert_eq!(s.to_string(), "a!=1,k,!m,n>2,z in (a,b)");
    }

    #[test]
    fn from_object() {
        let s = label_selector_from_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "owner", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        let ok = json!({"metadata": {"labels": {"app": "web", "env": "dev", "owner": "x"}}});
        assert!(s.matches_object(&ok));
        let bad = json!({"metadata": {"labels": {"app": "web", "env": "dev", "owner": "x", "legacy": "1"}}});
        assert!(!s.matches_object(&bad));
        assert!(!s.matches_object(&json!({"metadata": {}})));

        let all = label_selector_from_object(&json!({})).unwrap();
        assert!(all.matches(None));
        let none = label_selector_from_object(&Value::Null).unwrap();
        assert!(!none.matches(None));

        let e = label_selector_from_object(
            &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
        );
        assert_eq!(
            e.unwrap_err(),
            "\"Gt\" is not a valid label selector operator"
        );
        let e = label_selector_from_object(
            &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
        );
        assert!(e.unwrap_err().contains("can't be empty"));
        let e = label_selector_from_object(
            &json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
        );
        assert!(e.unwrap_err().contains("must be empty"));
        assert!(label_selector_from_object(&json!({"matchLabels": {"a": "b c"}})).is_err());
        let from_map = label_selector_from_map(&labels(json!({"a": "b"}))).unwrap();
        assert_eq!(from_map.to_string(), "a=b");
    }

    #[test]
    fn field_selector_on_pods() {
        let scheduled = json!({
            "metadata": {"name": "p1", "namespace": "default"},
            "spec": {"nodeName": "node-1", "hostNetwork": true},
            "status": {"phase": "Running"}
        });
        let pending = json!({"metadata": {"name": "p2", "namespace": "default"}, "spec": {}, "status": {"phase": "Pending"}});
        let f = parse_field_selector("spec.nodeName=").unwrap();
        assert!(f.matches(&pending) && !f.matches(&scheduled));
        let f = parse_field_selector("spec.nodeName!=").unwrap();
        assert!(!f.matches(&pending) && f.matches(&scheduled));
        let f = parse_field_selector("metadata.name==p1,status.phase=Running").unwrap();
        assert!(f.matches(&scheduled) && !f.matches(&pending));
        let f = parse_field_selector("status.phase!=Running,metadata.namespace=default").unwrap();
        assert!(f.matches(&pending) && !f.matches(&scheduled));
        let f = parse_field_selector("spec.hostNetwork=true").unwrap();
        assert!(f.matches(&scheduled) && !f.matches(&pending));
        let f = parse_field_selector("spec.hostNetwork=false").unwrap();
        assert!(f.matches(&pending));
        let node = json!({"metadata": {"name": "n"}, "spec": {}});
        assert!(
            parse_field_selector("spec.unschedulable=false")
                .unwrap()
                .matches(&node)
        );
        let cordoned = json!({"spec": {"unschedulable": true}});
        assert!(
            parse_field_selector("spec.unschedulable=true")
                .unwrap()
                .matches(&cordoned)
        );
    }

    #[test]
    fn field_selector_on_events() {
        let ev = json!({
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "ns", "uid": "u1"},
            "reason": "Scheduled", "type": "Normal", "count": 3,
            "source": {"component": "default-scheduler"}
        });
        let f = parse_field_selector(
            "involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.namespace=ns,involvedObject.uid=u1",
        )
        .unwrap();
        assert!(f.matches(&ev));
        assert!(
            parse_field_selector("type=Normal,reason!=Failed")
                .unwrap()
                .matches(&ev)
        );
        assert!(parse_field_selector("count=3").unwrap().matches(&ev));
        assert!(
            parse_field_selector("source=default-scheduler")
                .unwrap()
                .matches(&ev)
        );
        assert!(
            parse_field_selector("involvedObject.fieldPath=")
                .unwrap()
                .matches(&ev)
        );
        assert!(!parse_field_selector("reason=Killing").unwrap().matches(&ev));
    }

    #[test]
    fn field_selector_escapes_and_errors() {
        let obj = json!({"metadata": {"name": "a,b=c\\d"}});
        let f = parse_field_selector(r"metadata.name=a\,b\=c\\d").unwrap();
        assert!(f.matches(&obj));
        assert_eq!(f.to_string(), r"metadata.name=a\,b\=c\\d");
        let empty = parse_field_selector("").unwrap();
        assert!(empty.matches(&obj));
        assert_eq!(
            parse_field_selector("foo").unwrap_err(),
            "invalid selector: 'foo'; can't understand 'foo'"
        );
        assert_eq!(
            parse_field_selector(r"a=b\x").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \x"
        );
        assert_eq!(
            parse_field_selector(r"a=b\").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert!(
            parse_field_selector("a=b=c")
                .unwrap_err()
                .contains("unescaped character")
        );
        assert!(
            parse_field_selector("a==b")
                .unwrap()
                .matches(&json!({"a": "b"}))
        );
        assert!(parse_field_selector("a!==b").is_err());
        assert_eq!(
            parse_field_selector(r"a!=\=b").unwrap().to_string(),
            r"a!=\=b"
        );
    }
}
