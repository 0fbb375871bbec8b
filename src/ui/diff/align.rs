//! Desired against live, line by line: both objects normalised the same way (server-set noise
//! stripped, keys in desired's order, live optionally cut to the fields desired sets), written as
//! YAML, diffed with `similar` and aligned into side-by-side rows. Pure: no I/O.

use crate::plan::{NOISE, NOISY_ANNOTATIONS};
use serde_json::{Map, Value};

use crate::text::sanitize;

/// What a row of the side-by-side diff says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The same on both sides.
    Same,
    /// Both sides have the line, with different text.
    Changed,
    /// Only live has it (a sync takes it away).
    Removed,
    /// Only desired has it (a sync adds it).
    Added,
}

/// One line of a side, with its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Numbered {
    /// Line number in that side's YAML.
    pub n: usize,
    /// The line (sanitised).
    pub text: String,
}

/// One aligned row: live on the left, desired on the right; the missing side is filler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// What the row says.
    pub mark: Mark,
    /// The live line, if live has one here.
    pub live: Option<Numbered>,
    /// The desired line, if desired has one here.
    pub desired: Option<Numbered>,
}

/// Which of the live object is compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LiveScope {
    /// Only the fields desired sets (what the engine's server-side apply owns and would change);
    /// fields the server or other controllers fill in are left out.
    #[default]
    Owned,
    /// The whole live object (server-set noise still stripped).
    Full,
}

/// Shown instead of a Secret's values, on both sides.
pub const HIDDEN: &str = "(hidden)";

/// `value` without server-set metadata; `status` only when `keep_status`; a Secret's values
/// hidden; empty maps left behind dropped.
fn strip(value: &Value, keep_status: bool) -> Value {
    let mut v = value.clone();
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    if !keep_status {
        obj.remove("status");
    }
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
    if obj.get("kind").and_then(Value::as_str) == Some("Secret") {
        for field in ["data", "stringData"] {
            if let Some(data) = obj.get_mut(field).and_then(Value::as_object_mut) {
                for (_, v) in data.iter_mut() {
                    *v = Value::String(HIDDEN.into());
                }
            }
        }
    }
    v
}

/// Desired as compared: noise stripped (its own status kept, if it has one).
pub fn normalize_desired(desired: &Value) -> Value {
    strip(desired, true)
}

/// Live as compared with `desired`: noise stripped, `status` only when desired has one, keys in
/// desired's order (the rest sorted after them), and with [`LiveScope::Owned`] only the fields
/// desired sets. Without a desired object, live is only stripped.
pub fn normalize_live(live: &Value, desired: Option<&Value>, scope: LiveScope) -> Value {
    let Some(desired) = desired else {
        return strip(live, false);
    };
    let desired = normalize_desired(desired);
    let live = strip(live, desired.get("status").is_some());
    shaped(&live, Some(&desired), scope)
}

/// `live` with its keys in `like`'s order (others sorted after; all dropped with `Owned`),
/// recursively; list items are matched by `name` when both are named maps, else by position.
fn shaped(live: &Value, like: Option<&Value>, scope: LiveScope) -> Value {
    match (live, like) {
        (Value::Object(l), Some(Value::Object(d))) => {
            let mut out = Map::new();
            for (k, dv) in d {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), shaped(lv, Some(dv), scope));
                }
            }
            if scope == LiveScope::Full {
                let mut rest: Vec<(&String, &Value)> =
                    l.iter().filter(|(k, _)| !d.contains_key(*k)).collect();
                rest.sort_by(|a, b| a.0.cmp(b.0));
                for (k, lv) in rest {
                    out.insert(k.clone(), sorted(lv));
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Some(Value::Array(d))) => {
            let mut used = vec![false; l.len()];
            let mut out = Vec::with_capacity(l.len());
            for (i, dv) in d.iter().enumerate() {
                let at = match item_name(dv) {
                    Some(name) => l.iter().position(|lv| item_name(lv) == Some(name)),
                    None => (i < l.len()).then_some(i),
                };
                if let Some(j) = at.filter(|&j| !used[j]) {
                    used[j] = true;
                    out.push(shaped(&l[j], Some(dv), scope));
                }
            }
            // Items desired does not have are differences under either scope.
            out.extend(
                l.iter()
                    .zip(&used)
                    .filter(|(_, u)| !**u)
                    .map(|(lv, _)| sorted(lv)),
            );
            Value::Array(out)
        }
        (v, _) => sorted(v),
    }
}

/// The `name` of a list item that is a map with one.
fn item_name(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// `v` with every map's keys sorted.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        v => v.clone(),
    }
}

/// `v` as YAML lines, each sanitised for the terminal.
pub fn yaml_lines(v: &Value) -> Vec<String> {
    let text = serde_saphyr::to_string(v).unwrap_or_else(|e| format!("# {e}\n"));
    text.lines().map(|l| sanitize(l).into_owned()).collect()
}

/// The aligned rows from `live` to `desired`: equal runs side by side, and within each run of
/// changes, lines of the same key paired as changed, the others alone with filler opposite.
pub fn align(live: &[String], desired: &[String]) -> Vec<Row> {
    let ops = similar::capture_diff_slices(similar::Algorithm::Patience, live, desired);
    let mut rows = Vec::new();
    let numbered = |side: &[String], i: usize| Numbered {
        n: i + 1,
        text: side[i].clone(),
    };
    let mut removed: Vec<usize> = Vec::new();
    let mut added: Vec<usize> = Vec::new();
    for op in &ops {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            pair_up(&mut rows, &removed, &added, live, desired);
            removed.clear();
            added.clear();
            for (o, n) in old.zip(new) {
                rows.push(Row {
                    mark: Mark::Same,
                    live: Some(numbered(live, o)),
                    desired: Some(numbered(desired, n)),
                });
            }
        } else {
            removed.extend(old);
            added.extend(new);
        }
    }
    pair_up(&mut rows, &removed, &added, live, desired);
    rows
}

/// The key a YAML line sets (its indentation and the text before `: `), or the indentation and
/// `-` of a list item: lines with the same key are one line changed.
fn line_key(line: &str) -> &str {
    let body = line.trim_start_matches([' ', '-']);
    let indent = line.len() - body.len();
    match body.find(':') {
        Some(i) => &line[..indent + i],
        None => &line[..indent],
    }
}

/// Rows of one run of changes: removed live lines and added desired lines, in order, with the
/// lines of the same key side by side as changed.
fn pair_up(
    rows: &mut Vec<Row>,
    removed: &[usize],
    added: &[usize],
    live: &[String],
    desired: &[String],
) {
    let line = |side: &[String], i: usize| Numbered {
        n: i + 1,
        text: side[i].clone(),
    };
    let mut next = 0;
    for &r in removed {
        let key = line_key(&live[r]);
        match added[next..]
            .iter()
            .position(|&a| line_key(&desired[a]) == key)
        {
            Some(k) => {
                for &a in &added[next..next + k] {
                    rows.push(Row {
                        mark: Mark::Added,
                        live: None,
                        desired: Some(line(desired, a)),
                    });
                }
                rows.push(Row {
                    mark: Mark::Changed,
                    live: Some(line(live, r)),
                    desired: Some(line(desired, added[next + k])),
                });
                next += k + 1;
            }
            None => rows.push(Row {
                mark: Mark::Removed,
                live: Some(line(live, r)),
                desired: None,
            }),
        }
    }
    for &a in &added[next..] {
        rows.push(Row {
            mark: Mark::Added,
            live: None,
            desired: Some(line(desired, a)),
        });
    }
}

/// The rows of desired against live, either possibly absent: a missing side makes every line of
/// the other added or removed.
pub fn compare(desired: Option<&Value>, live: Option<&Value>, scope: LiveScope) -> Vec<Row> {
    let desired_lines = desired
        .map(|d| yaml_lines(&normalize_desired(d)))
        .unwrap_or_default();
    let live_lines = live
        .map(|l| yaml_lines(&normalize_live(l, desired, scope)))
        .unwrap_or_default();
    align(&live_lines, &desired_lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Value {
        json!({
            "apiVersion": "kubeflow.org/v1",
            "kind": "Profile",
            "metadata": {"name": "alice", "labels": {"team": "a"}},
            "spec": {"owner": {"kind": "User", "name": "alice@example.com"},
                     "quota": {"cpu": "4", "memory": "16Gi"}}
        })
    }

    /// Desired as the server returns it: keys in another order, noise, defaults and status.
    fn live() -> Value {
        json!({
            "kind": "Profile",
            "apiVersion": "kubeflow.org/v1",
            "spec": {"quota": {"memory": "16Gi", "cpu": "4"},
                     "owner": {"name": "alice@example.com", "kind": "User"},
                     "plugins": []},
            "metadata": {"uid": "1234", "resourceVersion": "99", "generation": 3,
                         "creationTimestamp": "2024-01-01T00:00:00Z",
                         "managedFields": [{"manager": "orbdeck"}],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                         "labels": {"team": "a"}, "name": "alice"},
            "status": {"conditions": []}
        })
    }

    fn changes(rows: &[Row]) -> Vec<&Row> {
        rows.iter().filter(|r| r.mark != Mark::Same).collect()
    }

    #[test]
    fn equal_objects_in_any_key_order_have_no_change_rows() {
        let rows = compare(Some(&desired()), Some(&live()), LiveScope::Owned);
        assert!(changes(&rows).is_empty(), "{rows:#?}");
        assert_eq!(rows.len(), yaml_lines(&desired()).len());
        let text: Vec<&str> = rows
            .iter()
            .map(|r| r.live.as_ref().unwrap().text.as_str())
            .collect();
        assert!(
            !text
                .iter()
                .any(|l| l.contains("uid") || l.contains("status"))
        );
    }

    #[test]
    fn a_changed_scalar_is_one_changed_row_side_by_side() {
        let mut live = live();
        live["spec"]["quota"]["cpu"] = json!("6");
        let rows = compare(Some(&desired()), Some(&live), LiveScope::Owned);
        let changed = changes(&rows);
        assert_eq!(changed.len(), 1, "{rows:#?}");
        let row = changed[0];
        assert_eq!(row.mark, Mark::Changed);
        assert!(
            row.live.as_ref().unwrap().text.contains("cpu: '6'")
                || row.live.as_ref().unwrap().text.contains("cpu: \"6\""),
            "{row:?}"
        );
        assert!(row.desired.as_ref().unwrap().text.contains("cpu:"));
        assert_eq!(
            row.live.as_ref().unwrap().n,
            row.desired.as_ref().unwrap().n
        );
    }

    #[test]
    fn a_key_live_lacks_is_added_with_filler_opposite() {
        let mut live = live();
        live["metadata"].as_object_mut().unwrap().remove("labels");
        let rows = compare(Some(&desired()), Some(&live), LiveScope::Owned);
        let changed = changes(&rows);
        assert!(!changed.is_empty(), "{rows:#?}");
        assert!(
            changed
                .iter()
                .all(|r| r.mark == Mark::Added && r.live.is_none())
        );
        assert!(
            changed
                .iter()
                .any(|r| r.desired.as_ref().unwrap().text.contains("team: a"))
        );
        // The rows after it stay aligned: equal lines side by side.
        assert!(
            rows.iter()
                .filter(|r| r.mark == Mark::Same)
                .all(|r| r.live.as_ref().unwrap().text == r.desired.as_ref().unwrap().text)
        );
    }

    #[test]
    fn maps_compare_whatever_their_key_order() {
        let a = json!({"kind": "ConfigMap", "data": {"a": "1", "b": "2", "c": "3"}});
        let b = json!({"data": {"c": "3", "a": "1", "b": "2"}, "kind": "ConfigMap"});
        assert!(changes(&compare(Some(&a), Some(&b), LiveScope::Full)).is_empty());
    }

    #[test]
    fn owned_leaves_out_server_defaults_and_full_shows_them() {
        let owned = compare(Some(&desired()), Some(&live()), LiveScope::Owned);
        assert!(changes(&owned).is_empty());
        let full = compare(Some(&desired()), Some(&live()), LiveScope::Full);
        let removed: Vec<&str> = changes(&full)
            .iter()
            .map(|r| r.live.as_ref().unwrap().text.as_str())
            .collect();
        assert_eq!(removed, ["  plugins: []"], "{full:#?}");
        assert!(changes(&full).iter().all(|r| r.mark == Mark::Removed));
    }

    #[test]
    fn list_items_match_by_name_whatever_their_order() {
        let d = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let l = json!({"spec": {"containers": [{"image": "y", "name": "b", "tty": false}, {"name": "a", "image": "x"}]}});
        assert!(changes(&compare(Some(&d), Some(&l), LiveScope::Owned)).is_empty());
    }

    #[test]
    fn status_is_compared_only_when_desired_has_one() {
        let mut d = desired();
        d["status"] = json!({"phase": "Ready"});
        let mut l = live();
        l["status"] = json!({"phase": "Pending"});
        let rows = compare(Some(&d), Some(&l), LiveScope::Owned);
        assert_eq!(changes(&rows).len(), 1, "{rows:#?}");
        assert!(
            changes(&rows)[0]
                .live
                .as_ref()
                .unwrap()
                .text
                .contains("Pending")
        );
    }

    #[test]
    fn a_missing_side_makes_every_line_added_or_removed() {
        let missing = compare(Some(&desired()), None, LiveScope::Owned);
        assert!(!missing.is_empty() && missing.iter().all(|r| r.mark == Mark::Added));
        let extra = compare(None, Some(&live()), LiveScope::Owned);
        assert!(!extra.is_empty() && extra.iter().all(|r| r.mark == Mark::Removed));
        assert!(
            !extra
                .iter()
                .any(|r| r.live.as_ref().unwrap().text.contains("managedFields"))
        );
    }

    #[test]
    fn secret_values_are_hidden_on_both_sides() {
        let d = json!({"kind": "Secret", "data": {"token": "c2VjcmV0"}});
        let l = json!({"kind": "Secret", "data": {"token": "b3RoZXI="}});
        let rows = compare(Some(&d), Some(&l), LiveScope::Owned);
        assert!(changes(&rows).is_empty());
        assert!(
            rows.iter()
                .all(|r| !r.live.as_ref().unwrap().text.contains("b3RoZXI"))
        );
    }

    #[test]
    fn terminal_controls_in_values_are_sanitised() {
        let d = json!({"kind": "ConfigMap", "data": {"a": "x\u{1b}[2Jy"}});
        let rows = compare(Some(&d), None, LiveScope::Owned);
        assert!(
            rows.iter()
                .all(|r| !r.desired.as_ref().unwrap().text.contains('\u{1b}'))
        );
    }
}
