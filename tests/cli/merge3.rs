use orbdeck::repo::merge3::{Conflict, MergeError, merge3};
use serde_json::{Value, json};

fn parse_all(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text).expect("merged output must be valid YAML")
}

fn merged(base: &str, ours: &str, theirs: &str) -> Vec<Value> {
    let out = merge3(base, ours, theirs).unwrap_or_else(|e| panic!("unexpected error: {e}"));
    parse_all(&out)
}

fn conflicts(base: &str, ours: &str, theirs: &str) -> Vec<Conflict> {
    match merge3(base, ours, theirs) {
        Err(MergeError::Conflicts(c)) => c,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

const QUOTA_BASE: &str = r#"
apiVersion: kubeflow.org/v1
kind: Profile
metadata:
  name: alice
  labels:
    team: ml
spec:
  owner:
    kind: User
    name: alice@example.com
  resourceQuotaSpec:
    hard:
      requests.cpu: "4"
      requests.memory: 16Gi
"#;

#[test]
fn disjoint_key_edits_merge() {
    let ours = QUOTA_BASE.replace("team: ml", "team: ml\n    tier: gold");
    let theirs = QUOTA_BASE.replace("requests.memory: 16Gi", "requests.memory: 32Gi");
    let docs = merged(QUOTA_BASE, &ours, &theirs);
    assert_eq!(
        docs,
        vec![json!({
            "apiVersion": "kubeflow.org/v1",
            "kind": "Profile",
            "metadata": {"name": "alice", "labels": {"team": "ml", "tier": "gold"}},
            "spec": {
                "owner": {"kind": "User", "name": "alice@example.com"},
                "resourceQuotaSpec": {"hard": {"requests.cpu": "4", "requests.memory": "32Gi"}}
            }
        })]
    );
    let keys: Vec<_> = docs[0]["metadata"]["labels"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["team", "tier"]);
}

#[test]
fn same_key_changed_differently_reports_every_path() {
    let base = r#"
apiVersion: kubeflow.org/v1
kind: Profile
metadata:
  name: alice
spec:
  resourceQuotaSpec:
    hard:
      requests.cpu: "4"
  containers:
    - name: main
      image: app:1
    - name: sidecar
      image: proxy:1
"#;
    let ours = base
        .replace(r#"requests.cpu: "4""#, r#"requests.cpu: "8""#)
        .replace("app:1", "app:2");
    let theirs = base
        .replace(r#"requests.cpu: "4""#, r#"requests.cpu: "6""#)
        .replace("app:1", "app:3")
        .replace("proxy:1", "proxy:2");
    let got = conflicts(base, &ours, &theirs);
    assert_eq!(
        got,
        vec![
            Conflict {
                doc: "kubeflow.org/v1 Profile alice".into(),
                path: r#"spec.resourceQuotaSpec.hard["requests.cpu"]"#.into(),
                ours: Some(r#""8""#.into()),
                theirs: Some(r#""6""#.into()),
            },
            Conflict {
                doc: "kubeflow.org/v1 Profile alice".into(),
                path: "spec.containers[name=main].image".into(),
                ours: Some(r#""app:2""#.into()),
                theirs: Some(r#""app:3""#.into()),
            },
        ]
    );
    let message = MergeError::Conflicts(got).to_string();
    assert_eq!(
        message,
        "kubeflow.org/v1 Profile alice: spec.resourceQuotaSpec.hard[\"requests.cpu\"]: ours=\"8\" theirs=\"6\"\n\
         kubeflow.org/v1 Profile alice: spec.containers[name=main].image: ours=\"app:2\" theirs=\"app:3\""
    );
    assert!(!message.contains("<<<<<<<"));
}

#[test]
fn same_change_on_both_sides_is_not_a_conflict() {
    let changed = QUOTA_BASE.replace(r#"requests.cpu: "4""#, r#"requests.cpu: "8""#);
    let docs = merged(QUOTA_BASE, &changed, &changed);
    assert_eq!(
        docs[0]["spec"]["resourceQuotaSpec"]["hard"]["requests.cpu"],
        json!("8")
    );
}

#[test]
fn delete_against_unchanged_deletes() {
    let ours = QUOTA_BASE.replace("  labels:\n    team: ml\n", "");
    let docs = merged(QUOTA_BASE, &ours, QUOTA_BASE);
    assert_eq!(docs[0]["metadata"], json!({"name": "alice"}));
    // Symmetric: theirs deletes.
    let docs = merged(QUOTA_BASE, QUOTA_BASE, &ours);
    assert_eq!(docs[0]["metadata"], json!({"name": "alice"}));
}

#[test]
fn delete_against_modify_conflicts() {
    let ours = QUOTA_BASE.replace("      requests.memory: 16Gi\n", "");
    let theirs = QUOTA_BASE.replace("16Gi", "64Gi");
    let got = conflicts(QUOTA_BASE, &ours, &theirs);
    assert_eq!(
        got,
        vec![Conflict {
            doc: "kubeflow.org/v1 Profile alice".into(),
            path: r#"spec.resourceQuotaSpec.hard["requests.memory"]"#.into(),
            ours: None,
            theirs: Some(r#""64Gi""#.into()),
        }]
    );
    assert!(
        MergeError::Conflicts(got)
            .to_string()
            .ends_with("ours=(absent) theirs=\"64Gi\"")
    );
}

#[test]
fn whole_document_delete_against_modify_conflicts_and_delete_against_unchanged_deletes() {
    let base = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ns\ndata:\n  k: v\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: ns\n";
    let (first, second) = base.split_once("---\n").unwrap();
    // ours deletes `a`, theirs leaves it alone → deleted.
    assert_eq!(
        merged(base, second, base),
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "ns"}})
        ]
    );
    // ours deletes `a`, theirs modifies it → conflict on the whole document.
    let theirs = format!("{}---\n{second}", first.replace("k: v", "k: w"));
    let got = conflicts(base, second, &theirs);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].doc, "v1 ConfigMap ns/a");
    assert_eq!(got[0].path, ".");
    assert_eq!(got[0].ours, None);
}

#[test]
fn multi_document_files_match_by_identity_when_reordered() {
    let base = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: team
data:
  a: "1"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
  namespace: team
data:
  b: "1"
"#;
    // ours swaps the documents and edits `two`; theirs edits `one` and adds a third.
    let ours = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
  namespace: team
data:
  b: "2"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: team
data:
  a: "1"
"#;
    let theirs = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: team
data:
  a: "3"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
  namespace: team
data:
  b: "1"
---
apiVersion: v1
kind: Namespace
metadata:
  name: team
"#;
    let out = merge3(base, ours, theirs).unwrap();
    assert_eq!(
        out.matches("\n---\n").count(),
        2,
        "documents separated by ---:\n{out}"
    );
    assert_eq!(
        parse_all(&out),
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two", "namespace": "team"}, "data": {"b": "2"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "team"}, "data": {"a": "3"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        ]
    );
}

#[test]
fn documents_without_identity_match_by_position() {
    let base = "a: 1\n---\nb: 1\n";
    assert_eq!(
        merged(base, "a: 2\n---\nb: 1\n", "a: 1\n---\nb: 3\n"),
        vec![json!({"a": 2}), json!({"b": 3})]
    );
    let got = conflicts(base, "a: 1\n---\nb: 2\n", "a: 1\n---\nb: 3\n");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].doc, "document 2");
    assert_eq!(got[0].path, "b");
}

#[test]
fn named_lists_merge_item_by_item() {
    let base = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: main
          image: app:1
          env:
            - name: A
              value: "1"
"#;
    let ours = base.replace(
        "              value: \"1\"\n",
        "              value: \"1\"\n        - name: sidecar\n          image: proxy:1\n",
    );
    let theirs = base.replace("app:1", "app:2").replace(
        "              value: \"1\"\n",
        "              value: \"1\"\n            - name: B\n              value: \"2\"\n",
    );
    let docs = merged(base, &ours, &theirs);
    assert_eq!(
        docs[0]["spec"]["template"]["spec"]["containers"],
        json!([
            {"name": "main", "image": "app:2", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "sidecar", "image": "proxy:1"}
        ])
    );
}

#[test]
fn named_list_additions_from_both_sides_keep_ours_order_then_theirs() {
    let base = "containers:\n  - name: a\n    image: a\n";
    let ours = "containers:\n  - name: a\n    image: a\n  - name: o\n    image: o\n";
    let theirs = "containers:\n  - name: t\n    image: t\n  - name: a\n    image: a\n";
    let docs = merged(base, ours, theirs);
    let names: Vec<_> = docs[0]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a", "o", "t"]);
}

#[test]
fn other_lists_are_atomic() {
    let base = "args: [a, b]\n";
    let got = conflicts(base, "args: [a, b, c]\n", "args: [a]\n");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "args");
    assert_eq!(got[0].ours.as_deref(), Some(r#"["a","b","c"]"#));
    assert_eq!(
        merged(base, "args: [x]\n", base),
        vec![json!({"args": ["x"]})]
    );
}

#[test]
fn file_added_on_both_sides_merges_against_empty_base() {
    let docs = merged(
        "",
        "kind: Namespace\nmetadata:\n  name: x\n  labels:\n    a: \"1\"\n",
        "kind: Namespace\nmetadata:\n  name: x\n  annotations:\n    b: \"2\"\n",
    );
    assert_eq!(
        docs,
        vec![
            json!({"kind": "Namespace", "metadata": {"name": "x", "labels": {"a": "1"}, "annotations": {"b": "2"}}})
        ]
    );
    let got = conflicts(
        "",
        "kind: Namespace\nmetadata:\n  name: x\n  labels:\n    a: \"1\"\n",
        "kind: Namespace\nmetadata:\n  name: x\n  labels:\n    a: \"2\"\n",
    );
    assert_eq!(got[0].doc, "Namespace x");
    assert_eq!(got[0].path, "metadata.labels.a");
}

#[test]
fn parse_error_names_the_side() {
    let bad = "a: [unclosed\n";
    for (base, ours, theirs, side) in [
        (bad, "a: 1\n", "a: 1\n", "base"),
        ("a: 1\n", bad, "a: 1\n", "ours"),
        ("a: 1\n", "a: 1\n", bad, "theirs"),
    ] {
        match merge3(base, ours, theirs) {
            Err(e @ MergeError::Parse { .. }) => {
                let MergeError::Parse { side: got, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(*got, side);
                assert!(
                    e.to_string()
                        .contains(&format!("cannot parse {side} version"))
                );
            }
            other => panic!("expected a parse error for {side}, got {other:?}"),
        }
    }
}

#[test]
fn output_round_trips_tricky_scalars() {
    let base = "kind: ConfigMap\nmetadata:\n  name: tricky\ndata:\n  keep: x\n";
    let theirs = r#"kind: ConfigMap
metadata:
  name: tricky
data:
  keep: x
  yes: "yes"
  y: "y"
  on: "on"
  tilde: "~"
  dash: "-"
  star: "*x"
  num: "1"
  octal: "0o17"
  nul: "null"
  empty: ""
  colon: "a: b"
  hash: "x # y"
  multi: "line one\nline two\n"
  lead: " spaced"
  "weird key/with.dots": "v"
  int: 3
  float: 1.5
  bool: true
  none: null
"#;
    let ours = base.replace("keep: x", "keep: changed");
    let out = merge3(base, &ours, theirs).unwrap();
    let mut expected: Value = serde_saphyr::from_str(theirs).unwrap();
    expected["data"]["keep"] = json!("changed");
    assert_eq!(parse_all(&out), vec![expected], "output was:\n{out}");
}

#[test]
fn conflict_display_is_one_line_per_conflict() {
    let base = "x: 1\ny: 1\nz: 1\n";
    let err = merge3(base, "x: 2\ny: 2\nz: 1\n", "x: 3\ny: 3\nz: 9\n").unwrap_err();
    let text = err.to_string();
    assert_eq!(text.lines().count(), 2);
    assert_eq!(text.lines().next(), Some("document 1: x: ours=2 theirs=3"));
}
