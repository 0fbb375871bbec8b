//! Edits one scalar under `spec:` of one object in a YAML file (or under a top-level section of
//! a one-document file such as orb.yaml), as text: the rest of the file (comments, order,
//! quoting, other documents) stays byte for byte as it was. Used by the upgrade controls and the
//! engine's suspend/resume, which must not rewrite the operator's file.

use serde_json::Value;

/// The text of `file` with `spec.<key>: <value>` set in the document of `kind` named `name`;
/// None when no document is that object or it has no top-level `spec:` mapping line.
pub fn set_spec_scalar(
    file: &str,
    kind: &str,
    name: &str,
    key: &str,
    value: &str,
) -> Option<String> {
    let lines: Vec<&str> = file.split_inclusive('\n').collect();
    // Each document spans from the line its content starts on to the next one's (the
    // validator's parser says where documents start).
    let documents = crate::validate::documents(file).ok()?;
    let starts: Vec<usize> = documents.iter().map(|d| d.line - 1).collect();
    for (i, doc) in documents.iter().enumerate() {
        let is_it = doc.value.get("kind").and_then(Value::as_str) == Some(kind)
            && doc.value.pointer("/metadata/name").and_then(Value::as_str) == Some(name);
        if !is_it {
            continue;
        }
        let range = starts[i]..starts.get(i + 1).copied().unwrap_or(lines.len());
        let edited = edit_doc(&lines[range.clone()], "spec", key, value)?;
        let mut out: String = lines[..range.start].concat();
        out.push_str(&edited);
        out.push_str(&lines[range.end..].concat());
        return Some(out);
    }
    None
}

/// The text of one-document `file` with `<section>.<key>: <value>` set, the section added at
/// the end when the file has none.
pub fn set_section_scalar(file: &str, section: &str, key: &str, value: &str) -> String {
    let lines: Vec<&str> = file.split_inclusive('\n').collect();
    edit_doc(&lines, section, key, value).unwrap_or_else(|| {
        let sep = if file.is_empty() || file.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        format!("{file}{sep}{section}:\n  {key}: {value}\n")
    })
}

/// One document's lines with the scalar set (replaced in place, or added first under the
/// top-level `section:` line); None without that line.
fn edit_doc(lines: &[&str], section: &str, key: &str, value: &str) -> Option<String> {
    let head = format!("{section}:");
    let spec = lines.iter().position(|l| {
        let l = l.trim_end();
        l == head || l.starts_with(&format!("{head} #")) || l.starts_with(&format!("{head}\t#"))
    })?;
    let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let is_content = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let body_end = lines[spec + 1..]
        .iter()
        .position(|l| is_content(l) && indent_of(l) == 0)
        .map_or(lines.len(), |p| spec + 1 + p);
    let indent = lines[spec + 1..body_end]
        .iter()
        .find(|l| is_content(l))
        .map_or(2, |l| indent_of(l));
    let prefix = format!("{}{key}:", " ".repeat(indent));
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let found = (spec + 1..body_end).find(|&i| {
        let l = lines[i];
        indent_of(l) == indent && l.trim_end().starts_with(&prefix)
    });
    match found {
        Some(i) => {
            let rest = &lines[i][prefix.len()..];
            let comment = rest.find(" #").map_or("", |p| rest[p..].trim_end());
            let eol = if lines[i].ends_with('\n') { "\n" } else { "" };
            out[i] = format!("{prefix} {value}{comment}{eol}");
        }
        None => {
            if !out[spec].ends_with('\n') {
                out[spec].push('\n');
            }
            out.insert(spec + 1, format!("{prefix} {value}\n"));
        }
    }
    Some(out.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# upgrade of the fleet\napiVersion: orbdeck.io/v1alpha1\nkind: ClusterUpgrade\nmetadata:\n  name: to-1-34\nspec:\n  version: v1.34.1 # the target\n  paused: false # set by ops\n  strategy:\n    paused: nested\n";

    #[test]
    fn only_the_scalar_changes_and_comments_stay() {
        let out = set_spec_scalar(FILE, "ClusterUpgrade", "to-1-34", "paused", "true").unwrap();
        assert_eq!(
            out,
            FILE.replace("paused: false # set by ops", "paused: true # set by ops")
        );
        let out = set_spec_scalar(FILE, "ClusterUpgrade", "to-1-34", "abort", "true").unwrap();
        assert_eq!(out, FILE.replace("spec:\n", "spec:\n  abort: true\n"));
        assert!(set_spec_scalar(FILE, "ClusterUpgrade", "other", "paused", "true").is_none());
    }

    #[test]
    fn a_section_of_orb_yaml_keeps_its_comments_or_is_added() {
        let orb = "name: alpha\nengine:\n  interval: 30s # often\n";
        assert_eq!(
            set_section_scalar(orb, "engine", "suspend", "true"),
            "name: alpha\nengine:\n  suspend: true\n  interval: 30s # often\n"
        );
        let suspended = set_section_scalar(orb, "engine", "suspend", "true");
        assert_eq!(
            set_section_scalar(&suspended, "engine", "suspend", "false"),
            "name: alpha\nengine:\n  suspend: false\n  interval: 30s # often\n"
        );
        assert_eq!(
            set_section_scalar("name: beta", "engine", "suspend", "true"),
            "name: beta\nengine:\n  suspend: true\n"
        );
    }

    #[test]
    fn the_right_document_of_several() {
        let two = format!(
            "{}---\n{}",
            FILE.replace("to-1-34", "a"),
            FILE.replace("to-1-34", "b")
        );
        let out = set_spec_scalar(&two, "ClusterUpgrade", "b", "paused", "true").unwrap();
        let (first, second) = out.split_once("---\n").unwrap();
        assert!(first.contains("paused: false"), "{out}");
        assert!(second.contains("paused: true # set by ops"), "{out}");
    }
}
