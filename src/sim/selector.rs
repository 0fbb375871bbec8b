//! Kubernetes label selectors (string and object forms) and field selectors over JSON objects.
//! Used by list/watch, webhooks' selectors, PDBs and the workload controllers.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<(String, Op)>,
}

impl LabelSelector {
    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.reqs.iter().all(|(key, op)| {
            let value = labels.and_then(|l| l.get(key)).and_then(Value::as_str);
            match op {
                Op::Eq(v) => value == Some(v.as_str()),
                Op::NotEq(v) => value != Some(v.as_str()),
                Op::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
                Op::NotIn(vs) => value.is_none_or(|x| !vs.iter().any(|v| v == x)),
                Op::Exists => value.is_some(),
                Op::NotExists => value.is_none(),
            }
        })
    }

    /// Whether an object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(obj["metadata"]["labels"].as_object())
    }
}

fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'))
    {
        return Err(format!("invalid label key \"{key}\": prefix part must be a DNS-1123 subdomain"));
    }
    if name.is_empty() || check_value(name).is_err() {
        return Err(format!(
            "invalid label key \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

fn check_value(v: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let edges_ok = v.is_empty()
        || (v.starts_with(|c: char| c.is_ascii_alphanumeric()) && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if v.len() > 63 || !v.chars().all(ok_char) || !edges_ok {
        return Err(format!(
            "invalid label value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

/// Splits on commas that are not inside parentheses.
fn split_top(s: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("found ')', expected: identifier".into());
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("found end of string, expected: ')'".into());
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn parse_set(rest: &str) -> Result<Vec<String>, String> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("found '{rest}', expected: '('"))?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    for v in &values {
        check_value(v)?;
    }
    Ok(values)
}

/// Parses the string form (`a=b,c!=d,e in (x,y),f notin (z),g,!h`); "" matches everything.
pub fn parse_label_selector(s: &str) -> Result<LabelSelector, String> {
    let mut reqs = Vec::new();
    if s.trim().is_empty() {
        return Ok(LabelSelector { reqs });
    }
    for part in split_top(s)? {
        let part = part.trim();
        if part.is_empty() {
            return Err("found ',', expected: identifier".into());
        }
        let (key, op) = if let Some(k) = part.strip_prefix('!') {
            (k.trim().to_string(), Op::NotExists)
        } else if let Some((k, v)) = part.split_once("!=") {
            (k.trim().to_string(), Op::NotEq(v.trim().to_string()))
        } else if let Some((k, v)) = part.split_once("==") {
            (k.trim().to_string(), Op::Eq(v.trim().to_string()))
        } else if let Some((k, v)) = part.split_once('=') {
            (k.trim().to_string(), Op::Eq(v.trim().to_string()))
        } else if let Some((k, rest)) = part.split_once(" notin ") {
            (k.trim().to_string(), Op::NotIn(parse_set(rest)?))
        } else if let Some((k, rest)) = part.split_once(" in ") {
            (k.trim().to_string(), Op::In(parse_set(rest)?))
        } else if part.contains(['(', ')', ' ', '<', '>']) {
            return Err(format!("found '{part}', expected: identifier or operator"));
        } else {
            (part.to_string(), Op::Exists)
        };
        check_key(&key)?;
        if let Op::Eq(v) | Op::NotEq(v) = &op {
            check_value(v)?;
        }
        reqs.push((key, op));
    }
    Ok(LabelSelector { reqs })
}

/// Builds a selector from a metav1.LabelSelector object (matchLabels, matchExpressions).
pub fn label_selector_from_object(v: &Value) -> Result<LabelSelector, String> {
    let mut reqs = Vec::new();
    if v.is_null() {
        return Ok(LabelSelector { reqs });
    }
    for (k, val) in v["matchLabels"].as_object().into_iter().flatten() {
        let val = val.as_str().ok_or_else(|| format!("matchLabels.{k} must be a string"))?;
        reqs.push((k.clone(), Op::Eq(val.to_string())));
    }
    for e in v["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().ok_or("matchExpressions[].key is required")?.to_string();
        let values: Vec<String> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
        let op = match e["operator"].as_str() {
            Some("In") => Op::In(values),
            Some("NotIn") => Op::NotIn(values),
            Some("Exists") => Op::Exists,
            Some("DoesNotExist") => Op::NotExists,
            other => return Err(format!("{other:?} is not a valid label selector operator")),
        };
        reqs.push((key, op));
    }
    Ok(LabelSelector { reqs })
}

/// A parsed field selector: `field=value`, `field==value`, `field!=value`, comma-separated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    reqs: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Whether the object satisfies every requirement (missing fields compare as "").
    pub fn matches(&self, obj: &Value) -> bool {
        self.reqs.iter().all(|(path, equal, want)| {
            let mut cur = obj;
            for part in path.split('.') {
                cur = &cur[part];
            }
            let got = match cur {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (got == *want) == *equal
        })
    }

    /// The field paths the selector reads.
    pub fn fields(&self) -> Vec<&str> {
        self.reqs.iter().map(|(f, _, _)| f.as_str()).collect()
    }
}

/// Parses a field selector; values may escape `\,`, `\=` and `\\`.
pub fn parse_field_selector(s: &str) -> Result<FieldSelector, String> {
    let mut reqs = Vec::new();
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().ok_or("invalid escape at end of field selector")?;
                parts.last_mut().map(|p| p.push_str(&format!("\\{next}")));
            }
            ',' => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let (field, equal, value) = if let Some((f, v)) = split_unescaped(part, "!=") {
            (f, false, v)
        } else if let Some((f, v)) = split_unescaped(part, "==") {
            (f, true, v)
        } else if let Some((f, v)) = split_unescaped(part, "=") {
            (f, true, v)
        } else {
            return Err(format!("invalid selector: '{part}'; can't understand '{part}'"));
        };
        let field = field.trim();
        if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            return Err(format!("invalid field path \"{field}\""));
        }
        let value = value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\");
        reqs.push((field.to_string(), equal, value));
    }
    Ok(FieldSelector { reqs })
}

fn split_unescaped<'a>(s: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(op) {
            return Some((&s[..i], &s[i + op.len()..]));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn every_operator() {
        let l = labels(json!({"app": "web", "tier": "front", "app.kubernetes.io/name": "x"}));
        let yes = ["app=web", "app==web", "app!=db", "tier in (front, back)", "tier notin (back)",
            "app", "!missing", "app.kubernetes.io/name=x", "app=web,tier=front", ""];
        for s in yes {
            assert!(parse_label_selector(s).unwrap().matches(Some(&l)), "{s}");
        }
        let no = ["app=db", "tier in (back)", "tier notin (front)", "missing", "!app", "app=web,tier=back"];
        for s in no {
            assert!(!parse_label_selector(s).unwrap().matches(Some(&l)), "{s}");
        }
        assert!(parse_label_selector("missing notin (a)").unwrap().matches(Some(&l)));
    }

    #[test]
    fn bad_selectors_say_why() {
        for s in ["app in (a", "app=(x)", "a b", "app=-bad-", ",", "Bad/Key=x"] {
            assert!(parse_label_selector(s).is_err(), "{s} should fail");
        }
    }

    #[test]
    fn object_selectors() {
        let sel = label_selector_from_object(&json!({"matchLabels": {"a": "b"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["d"]}]})).unwrap();
        assert!(sel.matches(Some(&labels(json!({"a": "b", "c": "d"})))));
        assert!(!sel.matches(Some(&labels(json!({"a": "b"})))));
        assert!(label_selector_from_object(&json!({})).unwrap().is_empty());
    }

    #[test]
    fn field_selectors() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        assert!(parse_field_selector("spec.nodeName=n1,status.phase!=Failed").unwrap().matches(&pod));
        assert!(!parse_field_selector("metadata.name==q").unwrap().matches(&pod));
        let pending = json!({"metadata": {"name": "x"}});
        assert!(parse_field_selector("spec.nodeName=").unwrap().matches(&pending));
        assert!(parse_field_selector("metadata.name=a\\,b").unwrap().matches(&json!({"metadata": {"name": "a,b"}})));
        assert!(parse_field_selector("nonsense").is_err());
    }
}
