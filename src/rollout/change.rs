//! A fleet change: one edit of one file, expressed so that it can be made in every ORB's repo
//! whatever the file holds there: the whole new file, a YAML merge patch (RFC 7386) of the
//! file's one document, or `set KEY VALUE` on a dotted key path. Pure; the plan calls it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The edit made to the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Edit {
    /// The whole new file.
    Content(String),
    /// A YAML merge patch of the file's one document (null removes a key).
    MergePatch(String),
    /// Set the value at a key path (`spec.hard.cpu`, `data["a.b"]`, `items[0].x`) to a YAML
    /// value (`8` is a number, `"8"` text).
    Set {
        /// The key path.
        key: String,
        /// The value, as YAML.
        value: String,
    },
}

/// One file's edit, for every ORB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetChange {
    /// The file in each repo, e.g. `desired/quota.yaml`.
    pub path: String,
    /// What is done to it.
    pub edit: Edit,
}

/// Why the change cannot be made to an ORB's file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The file is not there (a patch or set needs one).
    #[error("{path}: not in the repo; --patch and --set edit an existing file (use --content)")]
    Missing {
        /// The file.
        path: String,
    },
    /// The file (or the patch or value) is not YAML of the right shape.
    #[error("{path}: {message}")]
    Invalid {
        /// The file, or `--patch`/`--set` for the operator's input.
        path: String,
        /// What is wrong, with line and column when the parser says.
        message: String,
    },
}

impl Edit {
    /// The edit that turns `old` into `new` in a way other ORBs' versions of the file can
    /// take: `set KEY VALUE` when one value changed, a merge patch of what changed when both
    /// are one YAML mapping, else (a new file, several documents, not a mapping) the whole new
    /// file; None when no value changed (only comments or layout), so nothing would be
    /// rolled out but this ORB's text over theirs. What the control room's "apply this change
    /// to other ORBs" rolls out from an edit made in one ORB.
    pub fn between(old: Option<&str>, new: &str) -> Option<Edit> {
        let one = |text: &str| -> Option<Value> {
            let docs: Vec<Value> = serde_saphyr::from_multiple(text).ok()?;
            let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
            let [doc] = <[Value; 1]>::try_from(docs).ok()?;
            doc.is_object().then_some(doc)
        };
        let (Some(before), Some(after)) = (old.and_then(one), one(new)) else {
            return Some(Edit::Content(new.to_string()));
        };
        let patch = merge_patch(&before, &after);
        if patch.as_object().is_some_and(|m| m.is_empty()) {
            return None;
        }
        if let Some((key, value)) = single_value(&patch) {
            return Some(Edit::Set { key, value });
        }
        Some(match serde_json::to_string(&patch) {
            Ok(text) => Edit::MergePatch(text),
            Err(_) => Edit::Content(new.to_string()),
        })
    }
}

/// The RFC 7386 merge patch that turns `old` into `new`.
fn merge_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = serde_json::Map::new();
            for key in old.keys().filter(|k| !new.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            for (key, value) in new {
                match old.get(key) {
                    Some(was) if was == value => {}
                    Some(was) if was.is_object() && value.is_object() => {
                        patch.insert(key.clone(), merge_patch(was, value));
                    }
                    _ => {
                        patch.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

/// The key path and YAML value of a patch that sets exactly one scalar.
fn single_value(patch: &Value) -> Option<(String, String)> {
    let mut at = patch;
    let mut path = String::new();
    while let Value::Object(map) = at {
        let [(key, value)] =
            <[(&String, &Value); 1]>::try_from(map.iter().collect::<Vec<_>>()).ok()?;
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/');
        let step = if plain {
            key.clone()
        } else if !key.contains('"') {
            format!("[\"{key}\"]")
        } else {
            return None;
        };
        if path.is_empty() || !plain {
            path.push_str(&step);
        } else {
            path = format!("{path}.{step}");
        }
        at = value;
    }
    if path.is_empty() || at.is_null() || at.is_array() {
        return None;
    }
    Some((path, serde_json::to_string(at).ok()?))
}

impl FleetChange {
    /// One line for people: `set spec.hard.cpu=8 in desired/quota.yaml`.
    pub fn describe(&self) -> String {
        match &self.edit {
            Edit::Content(_) => format!("new content of {}", self.path),
            Edit::MergePatch(_) => format!("merge patch of {}", self.path),
            Edit::Set { key, value } => format!("set {key}={} in {}", value.trim(), self.path),
        }
    }

    /// The file's new text given its text now (None: absent).
    pub fn apply(&self, current: Option<&str>) -> Result<String, ChangeError> {
        let invalid = |path: &str, message: String| ChangeError::Invalid {
            path: path.to_string(),
            message,
        };
        let document = || -> Result<Value, ChangeError> {
            let text = current.ok_or_else(|| ChangeError::Missing {
                path: self.path.clone(),
            })?;
            let docs: Vec<Value> = serde_saphyr::from_multiple(text)
                .map_err(|e| invalid(&self.path, e.to_string()))?;
            let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
            match <[Value; 1]>::try_from(docs) {
                Ok([doc]) => Ok(doc),
                Err(docs) => Err(invalid(
                    &self.path,
                    format!(
                        "holds {} YAML documents; --patch and --set edit a file of exactly one (use --content)",
                        docs.len()
                    ),
                )),
            }
        };
        let render = |doc: &Value| -> Result<String, ChangeError> {
            serde_saphyr::to_string(doc).map_err(|e| invalid(&self.path, e.to_string()))
        };
        match &self.edit {
            Edit::Content(text) => Ok(text.clone()),
            Edit::MergePatch(patch) => {
                let patch: Value =
                    serde_saphyr::from_str(patch).map_err(|e| invalid("--patch", e.to_string()))?;
                let mut doc = document()?;
                json_patch::merge(&mut doc, &patch);
                render(&doc)
            }
            Edit::Set { key, value } => {
                let path = parse_key(key).map_err(|m| invalid("--set", m))?;
                let value: Value = serde_saphyr::from_str(value)
                    .map_err(|e| invalid("--set", format!("value {value:?}: {e}")))?;
                let mut doc = document()?;
                set(&mut doc, &path, value).map_err(|m| invalid(&self.path, m))?;
                render(&doc)
            }
        }
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `a.b["c.d"][0].e` as its segments.
fn parse_key(key: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = key;
    let bad = |why: &str| format!("key {key:?}: {why}");
    if rest.is_empty() {
        return Err(bad("empty"));
    }
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after
                .find("\"]")
                .ok_or_else(|| bad("`[\"` without `\"]`"))?;
            out.push(Segment::Key(after[..end].to_string()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| bad("`[` without `]`"))?;
            let n = after[..end]
                .parse()
                .map_err(|_| bad("a list index is a number, a key in brackets is quoted"))?;
            out.push(Segment::Index(n));
            rest = &after[end + 1..];
        } else {
            let rest2 = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest2.find(['.', '[']).unwrap_or(rest2.len());
            if end == 0 {
                return Err(bad("an empty step"));
            }
            out.push(Segment::Key(rest2[..end].to_string()));
            rest = &rest2[end..];
        }
    }
    Ok(out)
}

/// Sets `path` in `doc` to `value`, creating mappings on the way (never list items).
fn set(doc: &mut Value, path: &[Segment], value: Value) -> Result<(), String> {
    let mut at = doc;
    let mut walked = String::new();
    for (i, segment) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match segment {
            Segment::Key(k) => {
                if at.is_null() {
                    *at = Value::Object(Default::default());
                }
                let Value::Object(map) = at else {
                    return Err(format!("{walked} is not a mapping"));
                };
                if last {
                    map.insert(k.clone(), value);
                    return Ok(());
                }
                at = map.entry(k.clone()).or_insert(Value::Null);
                walked = if walked.is_empty() {
                    k.clone()
                } else {
                    format!("{walked}.{k}")
                };
            }
            Segment::Index(n) => {
                let Value::Array(items) = at else {
                    return Err(format!("{walked} is not a list"));
                };
                let len = items.len();
                let item = items
                    .get_mut(*n)
                    .ok_or_else(|| format!("{walked}[{n}]: the list has {len} items"))?;
                if last {
                    *item = value;
                    return Ok(());
                }
                at = item;
                walked = format!("{walked}[{n}]");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTA: &str = "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: team\nspec:\n  hard:\n    cpu: '4'\n    requests.memory: 8Gi\n";

    fn change(edit: Edit) -> FleetChange {
        FleetChange {
            path: "desired/quota.yaml".into(),
            edit,
        }
    }

    fn parsed(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn set_patch_and_content() {
        let set = change(Edit::Set {
            key: "spec.hard.cpu".into(),
            value: "\"8\"".into(),
        });
        let out = parsed(&set.apply(Some(QUOTA)).unwrap());
        assert_eq!(out["spec"]["hard"]["cpu"], "8");
        assert_eq!(out["spec"]["hard"]["requests.memory"], "8Gi");
        assert_eq!(
            set.describe(),
            "set spec.hard.cpu=\"8\" in desired/quota.yaml"
        );

        let dotted = change(Edit::Set {
            key: "spec.hard[\"requests.memory\"]".into(),
            value: "16Gi".into(),
        });
        let out = parsed(&dotted.apply(Some(QUOTA)).unwrap());
        assert_eq!(out["spec"]["hard"]["requests.memory"], "16Gi");

        let new_key = change(Edit::Set {
            key: "metadata.labels.team".into(),
            value: "a".into(),
        });
        let out = parsed(&new_key.apply(Some(QUOTA)).unwrap());
        assert_eq!(out["metadata"]["labels"]["team"], "a");

        let patch = change(Edit::MergePatch(
            "spec:\n  hard:\n    cpu: '6'\n    requests.memory: null\n".into(),
        ));
        let out = parsed(&patch.apply(Some(QUOTA)).unwrap());
        assert_eq!(out["spec"]["hard"], serde_json::json!({"cpu": "6"}));

        let content = change(Edit::Content("x: 1\n".into()));
        assert_eq!(content.apply(None).unwrap(), "x: 1\n");
    }

    #[test]
    fn an_edit_becomes_the_change_other_orbs_can_take() {
        let edited = QUOTA.replace("cpu: '4'", "cpu: '8'");
        let set = Edit::between(Some(QUOTA), &edited);
        assert_eq!(
            set,
            Some(Edit::Set {
                key: "spec.hard.cpu".into(),
                value: "\"8\"".into()
            })
        );
        let dotted = QUOTA.replace("8Gi", "16Gi");
        let Some(Edit::Set { key, .. }) = Edit::between(Some(QUOTA), &dotted) else {
            panic!("one value changed");
        };
        assert_eq!(key, "spec.hard[\"requests.memory\"]");
        // Another ORB's file, with its own values, takes only what changed here.
        let elsewhere = QUOTA.replace("8Gi", "32Gi");
        let two = QUOTA
            .replace("cpu: '4'", "cpu: '6'")
            .replace("    requests.memory: 8Gi\n", "");
        let patch = Edit::between(Some(QUOTA), &two).unwrap();
        assert!(matches!(patch, Edit::MergePatch(_)), "{patch:?}");
        let out = parsed(&change(patch).apply(Some(&elsewhere)).unwrap());
        assert_eq!(out["spec"]["hard"], serde_json::json!({"cpu": "6"}));
        let set = change(Edit::between(Some(QUOTA), &edited).unwrap());
        let out = parsed(&set.apply(Some(&elsewhere)).unwrap());
        assert_eq!(out["spec"]["hard"]["requests.memory"], "32Gi");
        assert_eq!(out["spec"]["hard"]["cpu"], "8");
        // A new file or several documents: the whole file.
        assert_eq!(
            Edit::between(None, QUOTA),
            Some(Edit::Content(QUOTA.to_string()))
        );
        let many = format!("{QUOTA}---\n{QUOTA}");
        assert_eq!(
            Edit::between(Some(&many), &many.replace("'4'", "'5'")),
            Some(Edit::Content(many.replace("'4'", "'5'")))
        );
        // Only a comment or the layout changed: nothing to roll out.
        let commented = format!("# the team's quota\n{QUOTA}");
        assert_eq!(Edit::between(Some(QUOTA), &commented), None);
    }

    #[test]
    fn what_cannot_be_done_says_why() {
        let set = |key: &str| {
            change(Edit::Set {
                key: key.into(),
                value: "1".into(),
            })
        };
        let e = set("spec.hard.cpu").apply(None).unwrap_err();
        assert!(matches!(e, ChangeError::Missing { .. }), "{e}");
        let e = set("kind.x").apply(Some(QUOTA)).unwrap_err().to_string();
        assert!(
            e.contains("desired/quota.yaml: kind is not a mapping"),
            "{e}"
        );
        let e = set("spec..x").apply(Some(QUOTA)).unwrap_err().to_string();
        assert!(e.contains("--set: key \"spec..x\": an empty step"), "{e}");
        let two = format!("{QUOTA}---\n{QUOTA}");
        let e = set("spec.x").apply(Some(&two)).unwrap_err().to_string();
        assert!(e.contains("holds 2 YAML documents"), "{e}");
        let e = set("spec.x").apply(Some("a: [\n")).unwrap_err().to_string();
        assert!(e.starts_with("desired/quota.yaml: "), "{e}");
    }
}
