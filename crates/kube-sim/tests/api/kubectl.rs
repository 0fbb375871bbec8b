//! End-to-end tests: stock kubectl against the embedded API server. Every test starts its own sim
//! and checks what kubectl prints or what the objects look like afterwards.

use kube_sim::testing::{Sim, eventually};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

const APP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels:
    app: web
data:
  color: blue
  size: large
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wg]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size:
                type: integer
              color:
                type: string
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
"#;

const WIDGET: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: gizmo
  namespace: shop
spec:
  size: 7
  color: purple
"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Writes `content` into the sim's temp dir and returns the path as a string.
fn write(sim: &Sim, name: &str, content: &str) -> String {
    let path: PathBuf = sim.dir.path().join(name);
    std::fs::write(&path, content).expect("manifest written");
    path.to_string_lossy().into_owned()
}

/// `kubectl get ARGS -o json`, parsed.
async fn get_json(sim: &Sim, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = sim.ok(&all).await;
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("kubectl get {args:?} -o json: {e}\n{out}"))
}

/// The non-empty lines of a table, split into whitespace-separated cells.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// Applies `content` (written to a file named `name`) and returns stdout.
async fn apply(sim: &Sim, name: &str, content: &str) -> String {
    let path = write(sim, name, content);
    sim.ok(&["apply", "-f", &path]).await
}

/// Applies the shop manifest and then the Widget, as a user would (CRD first, CR second).
async fn apply_shop(sim: &Sim) {
    let out = apply(sim, "app.yaml", APP).await;
    for line in [
        "namespace/shop created",
        "configmap/settings created",
        "deployment.apps/web created",
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let out = apply(sim, "widget.yaml", WIDGET).await;
    assert!(out.contains("widget.example.com/gizmo created"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_multi_document_then_get_in_every_format() {
    let sim = Sim::start(2).await;
    apply_shop(&sim).await;

    // Re-applying the same file changes nothing.
    let path = write(&sim, "app.yaml", APP);
    let again = sim.ok(&["apply", "-f", &path]).await;
    assert!(again.contains("configmap/settings unchanged"), "{again}");
    assert!(again.contains("deployment.apps/web unchanged"), "{again}");

    // -o yaml
    let yaml = sim
        .ok(&["get", "configmap", "settings", "-n", "shop", "-o", "yaml"])
        .await;
    assert!(yaml.contains("kind: ConfigMap"), "{yaml}");
    assert!(yaml.contains("  color: blue"), "{yaml}");
    assert!(yaml.contains("  name: settings"), "{yaml}");
    assert!(yaml.contains("  namespace: shop"), "{yaml}");
    assert!(yaml.contains("resourceVersion:"), "{yaml}");
    assert!(
        !yaml.contains("managedFields"),
        "kubectl hides managed fields by default:\n{yaml}"
    );

    // -o json
    let deploy = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    assert_eq!(deploy["kind"], "Deployment");
    assert_eq!(deploy["spec"]["replicas"], 2);
    let images: Vec<&str> = deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["nginx:1.25", "busybox:1.36"]);
    assert!(
        deploy["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );

    // -o wide: once the pods run, every one has an IP and a node.
    let out = sim
        .ok(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "shop",
            "--timeout=10s",
        ])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let wide = sim.ok(&["get", "pods", "-n", "shop", "-o", "wide"]).await;
    let table = rows(&wide);
    let header = &table[0];
    let ip = header
        .iter()
        .position(|h| h == "IP")
        .unwrap_or_else(|| panic!("no IP column:\n{wide}"));
    let node = header
        .iter()
        .position(|h| h == "NODE")
        .unwrap_or_else(|| panic!("no NODE column:\n{wide}"));
    assert_eq!(table.len(), 3, "two pods expected:\n{wide}");
    for row in &table[1..] {
        assert!(row[0].starts_with("web-"), "{wide}");
        assert!(row.contains(&"Running".to_string()), "{wide}");
        assert!(
            row[ip].parse::<std::net::Ipv4Addr>().is_ok(),
            "bad IP in:\n{wide}"
        );
        assert!(row[node].starts_with("sim-1-node-"), "bad node in:\n{wide}");
    }

    // Label selector: the pods and the ConfigMap carry app=web, nothing else in the namespace does.
    let by_label = sim
        .ok(&[
            "get",
            "pods,configmaps",
            "-n",
            "shop",
            "-l",
            "app=web",
            "-o",
            "name",
        ])
        .await;
    let mut names: Vec<&str> = by_label.lines().collect();
    names.sort();
    assert_eq!(names.len(), 3, "{by_label}");
    assert_eq!(names[0], "configmap/settings");
    assert!(
        names[1..].iter().all(|n| n.starts_with("pod/web-")),
        "{by_label}"
    );
    let none = sim
        .kubectl(&["get", "pods", "-n", "shop", "-l", "app=db"])
        .await;
    assert!(none.status.success());
    assert!(
        text(&none.stderr).contains("No resources found in shop namespace."),
        "{}",
        describe(&none)
    );

    // Field selector.
    let fs = sim
        .ok(&[
            "get",
            "configmaps",
            "-A",
            "--field-selector",
            "metadata.name=settings",
        ])
        .await;
    let table = rows(&fs);
    assert_eq!(table.len(), 2, "{fs}");
    assert_eq!(table[0][..2], ["NAMESPACE", "NAME"]);
    assert_eq!(table[1][..3], ["shop", "settings", "2"]);
    let fs = sim
        .ok(&[
            "get",
            "pods",
            "-n",
            "shop",
            "--field-selector",
            "status.phase!=Running",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(fs.trim(), "", "all pods run");

    // The custom resource, with its printer columns (by plural and by short name).
    for what in ["widgets", "wg"] {
        let out = sim.ok(&["get", what, "-n", "shop"]).await;
        let table = rows(&out);
        assert_eq!(table[0], ["NAME", "SIZE", "COLOR", "AGE"], "{out}");
        assert_eq!(table[1][..3], ["gizmo", "7", "purple"], "{out}");
    }
    let widget = get_json(&sim, &["widget", "gizmo", "-n", "shop"]).await;
    assert_eq!(widget["spec"]["size"], 7);
    assert_eq!(widget["apiVersion"], "example.com/v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_and_annotate() {
    let sim = Sim::start(1).await;
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tagged\n  labels:\n    app: web\ndata:\n  k: v\n",
    )
    .await;

    let out = sim
        .ok(&["label", "configmap", "tagged", "tier=front", "env=dev"])
        .await;
    assert!(out.contains("configmap/tagged labeled"), "{out}");
    // Changing an existing label needs --overwrite.
    let refused = sim
        .kubectl(&["label", "configmap", "tagged", "tier=back"])
        .await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr)
            .contains("'tier' already has a value (front), and --overwrite is false"),
        "{}",
        describe(&refused)
    );
    sim.ok(&["label", "configmap", "tagged", "tier=back", "--overwrite"])
        .await;
    let out = sim.ok(&["label", "configmap", "tagged", "env-"]).await;
    assert!(out.contains("configmap/tagged unlabeled"), "{out}");

    sim.ok(&[
        "annotate",
        "configmap",
        "tagged",
        "note=first",
        "owner=team-a",
    ])
    .await;
    let refused = sim
        .kubectl(&["annotate", "configmap", "tagged", "note=second"])
        .await;
    assert!(!refused.status.success(), "{}", describe(&refused));
    sim.ok(&[
        "annotate",
        "configmap",
        "tagged",
        "note=second",
        "--overwrite",
    ])
    .await;
    sim.ok(&["annotate", "configmap", "tagged", "owner-"]).await;

    let cm = get_json(&sim, &["configmap", "tagged"]).await;
    let labels = cm["metadata"]["labels"].as_object().unwrap();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert_eq!(labels["app"], "web");
    assert_eq!(labels["tier"], "back");
    let annotations = &cm["metadata"]["annotations"];
    assert_eq!(annotations["note"], "second");
    assert!(annotations.get("owner").is_none(), "{annotations}");
    assert_eq!(cm["data"]["k"], "v", "labels leave the data alone");

    // The label is usable as a selector right away, and -L shows it as a column.
    let out = sim
        .ok(&["get", "configmaps", "-l", "tier=back", "-L", "tier"])
        .await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "DATA", "AGE", "TIER"], "{out}");
    assert_eq!(table[1][0], "tagged");
    assert_eq!(table[1][3], "back");
    assert_eq!(table.len(), 2, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_merge_json_and_strategic() {
    let sim = Sim::start(1).await;
    apply_shop(&sim).await;

    // Merge patch: set one key, delete another with null.
    let out = sim
        .ok(&[
            "patch",
            "configmap",
            "settings",
            "-n",
            "shop",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"color":"red","size":null}}"#,
        ])
        .await;
    assert!(out.contains("configmap/settings patched"), "{out}");
    let cm = get_json(&sim, &["configmap", "settings", "-n", "shop"]).await;
    assert_eq!(cm["data"], serde_json::json!({"color": "red"}));

    // JSON patch: add and replace; a failing test op leaves the object alone.
    sim.ok(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        "shop",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/shape","value":"round"},{"op":"replace","path":"/data/color","value":"green"}]"#,
    ])
    .await;
    let failed = sim
        .kubectl(&[
            "patch",
            "configmap",
            "settings",
            "-n",
            "shop",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/data/color","value":"blue"},{"op":"remove","path":"/data/shape"}]"#,
        ])
        .await;
    assert!(!failed.status.success(), "{}", describe(&failed));
    let cm = get_json(&sim, &["configmap", "settings", "-n", "shop"]).await;
    assert_eq!(
        cm["data"],
        serde_json::json!({"color": "green", "shape": "round"})
    );

    // Strategic merge patch: containers merge by name, the sidecar stays.
    let before = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    sim.ok(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "shop",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
    ])
    .await;
    let deploy = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    let containers = deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 2, "{containers:?}");
    assert_eq!(
        (
            containers[0]["name"].as_str(),
            containers[0]["image"].as_str()
        ),
        (Some("web"), Some("nginx:1.27"))
    );
    assert_eq!(
        containers[0]["ports"][0]["containerPort"], 80,
        "unpatched fields of the merged container stay"
    );
    assert_eq!(
        (
            containers[1]["name"].as_str(),
            containers[1]["image"].as_str()
        ),
        (Some("sidecar"), Some("busybox:1.36"))
    );
    assert_eq!(
        deploy["metadata"]["generation"].as_i64().unwrap(),
        before["metadata"]["generation"].as_i64().unwrap() + 1,
        "a spec change bumps the generation"
    );

    // Strategic is the default for built-ins; $patch: delete removes a list element by key.
    sim.ok(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "shop",
        "-p",
        r#"{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#,
    ])
    .await;
    let deploy = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    assert_eq!(deploy["spec"]["replicas"], 3);
    let names: Vec<&str> = deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web"]);

    // Custom resources take merge patches; strategic is refused as for a real server.
    sim.ok(&[
        "patch",
        "widget",
        "gizmo",
        "-n",
        "shop",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"size":9}}"#,
    ])
    .await;
    let widget = get_json(&sim, &["widget", "gizmo", "-n", "shop"]).await;
    assert_eq!(
        widget["spec"],
        serde_json::json!({"size": 9, "color": "purple"})
    );
    let refused = sim
        .kubectl(&[
            "patch",
            "widget",
            "gizmo",
            "-n",
            "shop",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"size":1}}"#,
        ])
        .await;
    assert!(!refused.status.success(), "{}", describe(&refused));
    assert!(
        text(&refused.stderr).contains(
            "application/strategic-merge-patch+json is not supported by example.com/v1, Kind=Widget"
        ),
        "{}",
        describe(&refused)
    );
}

const SSA_CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  key: one\n  mine: \"yes\"\n";
const SSA_CM_OTHER: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata:\n  key: two\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflicts_and_force() {
    let sim = Sim::start(1).await;
    let first = write(&sim, "first.yaml", SSA_CM);
    let other = write(&sim, "other.yaml", SSA_CM_OTHER);
    let out = sim.ok(&["apply", "--server-side", "-f", &first]).await;
    assert!(out.contains("configmap/shared serverside-applied"), "{out}");

    let conflict = sim
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            &other,
        ])
        .await;
    assert!(!conflict.status.success(), "{}", describe(&conflict));
    let err = text(&conflict.stderr);
    assert!(err.contains("Apply failed with 1 conflict"), "{err}");
    assert!(
        err.contains(r#"conflict with "kubectl": .data.key"#),
        "{err}"
    );
    let cm = get_json(&sim, &["configmap", "shared"]).await;
    assert_eq!(
        cm["data"]["key"], "one",
        "a conflicting apply changes nothing"
    );

    let out = sim
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            &other,
        ])
        .await;
    assert!(out.contains("configmap/shared serverside-applied"), "{out}");
    let cm = get_json(&sim, &["configmap", "shared", "--show-managed-fields"]).await;
    assert_eq!(cm["data"], serde_json::json!({"key": "two", "mine": "yes"}));
    let managers: Vec<(String, Value)> = cm["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap().to_string(),
                m["fieldsV1"].clone(),
            )
        })
        .collect();
    assert_eq!(
        managers,
        [
            (
                "kubectl".to_string(),
                serde_json::json!({"f:data": {"f:mine": {}}})
            ),
            (
                "other".to_string(),
                serde_json::json!({"f:data": {"f:key": {}}})
            ),
        ],
        "the forced field moved to the new manager"
    );

    // The first manager dropping a field it no longer owns is a no-op; dropping one it owns removes it.
    let out = sim
        .ok_stdin(
            &["apply", "--server-side", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: default\ndata: {}\n",
        )
        .await;
    assert!(out.contains("serverside-applied"), "{out}");
    let cm = get_json(&sim, &["configmap", "shared"]).await;
    assert_eq!(cm["data"], serde_json::json!({"key": "two"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_takes_over_client_side_apply() {
    let sim = Sim::start(1).await;
    let first = write(&sim, "first.yaml", SSA_CM);
    sim.ok(&["apply", "-f", &first]).await;
    // Same manifest with a changed value, now applied server-side: no conflict with
    // kubectl-client-side-apply for fields in the last-applied annotation.
    let changed = write(
        &sim,
        "changed.yaml",
        &SSA_CM.replace("key: one", "key: three"),
    );
    let out = sim.ok(&["apply", "--server-side", "-f", &changed]).await;
    assert!(out.contains("configmap/shared serverside-applied"), "{out}");
    let cm = get_json(&sim, &["configmap", "shared", "--show-managed-fields"]).await;
    assert_eq!(
        cm["data"],
        serde_json::json!({"key": "three", "mine": "yes"})
    );
    let last: Value = serde_json::from_str(
        cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        last["data"]["key"], "three",
        "the annotation follows the server-side apply"
    );
    let kubectl = cm["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "kubectl")
        .expect("kubectl manages fields");
    assert_eq!(kubectl["operation"], "Apply");
    assert!(
        kubectl["fieldsV1"]["f:data"].get("f:key").is_some(),
        "{kubectl}"
    );
    // Going back to client-side apply works too.
    let out = sim.ok(&["apply", "-f", &first]).await;
    assert!(out.contains("configmap/shared configured"), "{out}");
    assert_eq!(
        get_json(&sim, &["configmap", "shared"]).await["data"]["key"],
        "one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_through_kube_editor() {
    let sim = Sim::start(1).await;
    apply_shop(&sim).await;
    let script = sim.dir.path().join("editor.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nsed -i -e 's/color: blue/color: teal/' \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let editor = script.to_string_lossy().into_owned();
    let out = sim
        .kubectl_with(
            &["edit", "configmap", "settings", "-n", "shop"],
            None,
            &[("KUBE_EDITOR", &editor)],
        )
        .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("configmap/settings edited"),
        "{}",
        describe(&out)
    );
    let cm = get_json(&sim, &["configmap", "settings", "-n", "shop"]).await;
    assert_eq!(cm["data"]["color"], "teal");
    assert_eq!(cm["data"]["size"], "large");

    // An editor that changes nothing cancels the edit.
    let out = sim
        .kubectl_with(
            &["edit", "configmap", "settings", "-n", "shop"],
            None,
            &[("KUBE_EDITOR", "true")],
        )
        .await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("Edit cancelled, no changes made."),
        "{}",
        describe(&out)
    );

    // Editing a Deployment in JSON form (`-o json` also prints the edited object).
    std::fs::write(
        &script,
        "#!/bin/sh\nsed -i -e 's/nginx:1.25/nginx:1.26/' \"$1\"\n",
    )
    .unwrap();
    let out = sim
        .kubectl_with(
            &["edit", "deployment", "web", "-n", "shop", "-o", "json"],
            None,
            &[("KUBE_EDITOR", &editor)],
        )
        .await;
    assert!(out.status.success(), "{}", describe(&out));
    let printed: Value =
        serde_json::from_slice(&out.stdout).expect("edit -o json prints the object");
    assert_eq!(
        printed["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    let deploy = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_configmap_and_namespace() {
    let sim = Sim::start(1).await;
    apply_shop(&sim).await;
    sim.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "shop",
        "--timeout=10s",
    ])
    .await;

    let out = sim
        .ok(&[
            "delete",
            "configmap",
            "settings",
            "-n",
            "shop",
            "--wait",
            "--timeout=10s",
        ])
        .await;
    assert!(out.contains(r#"configmap "settings" deleted"#), "{out}");
    let gone = sim
        .kubectl(&["get", "configmap", "settings", "-n", "shop"])
        .await;
    assert!(!gone.status.success());
    assert!(
        text(&gone.stderr).contains(r#"configmaps "settings" not found"#),
        "{}",
        describe(&gone)
    );

    let missing = sim
        .kubectl(&["delete", "configmap", "settings", "-n", "shop"])
        .await;
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains(r#"configmaps "settings" not found"#),
        "{}",
        describe(&missing)
    );
    let ignored = sim
        .ok(&[
            "delete",
            "configmap",
            "settings",
            "-n",
            "shop",
            "--ignore-not-found",
        ])
        .await;
    assert_eq!(ignored.trim(), "");

    let out = sim
        .ok(&["delete", "namespace", "shop", "--wait", "--timeout=10s"])
        .await;
    assert!(out.contains(r#"namespace "shop" deleted"#), "{out}");
    let gone = sim.kubectl(&["get", "namespace", "shop"]).await;
    assert!(
        text(&gone.stderr).contains(r#"namespaces "shop" not found"#),
        "{}",
        describe(&gone)
    );
    // Its contents went with it.
    for kind in [
        "deployments",
        "replicasets",
        "pods",
        "configmaps",
        "widgets",
    ] {
        let out = sim.ok(&["get", kind, "-A", "-o", "name"]).await;
        assert!(
            !out.contains("web") && !out.contains("gizmo"),
            "{kind} left behind:\n{out}"
        );
    }
    let ns = sim.ok(&["get", "namespaces", "-o", "name"]).await;
    assert!(
        ns.contains("namespace/default") && !ns.contains("namespace/shop"),
        "{ns}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_sees_changes() {
    let sim = Sim::start(1).await;
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  a: b\n",
    )
    .await;

    let log = sim.dir.path().join("watch.out");
    let mut child = std::process::Command::new("kubectl")
        .env("KUBECONFIG", &sim.kubeconfig)
        .arg("--cache-dir")
        .arg(sim.dir.path().join("cache"))
        .args([
            "get",
            "configmaps",
            "--watch",
            "--output-watch-events",
            "--request-timeout=20s",
        ])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl watch runs");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let has = |needle: &'static str| {
        let read = &read;
        move || {
            let found = read()
                .lines()
                .any(|l| l.split_whitespace().take(2).eq(needle.split_whitespace()));
            async move { found }
        }
    };

    // The initial list arrives as ADDED; then a change and a delete made by another kubectl.
    let listed = eventually(10, has("ADDED watched")).await;
    if listed {
        sim.ok(&["label", "configmap", "watched", "seen=yes"]).await;
    }
    let modified = listed && eventually(10, has("MODIFIED watched")).await;
    if modified {
        sim.ok(&["delete", "configmap", "watched"]).await;
    }
    let deleted = modified && eventually(10, has("DELETED watched")).await;
    let added = deleted && {
        sim.ok_stdin(
            &["apply", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n",
        )
        .await;
        eventually(10, has("ADDED late")).await
    };
    let _ = child.kill();
    let _ = child.wait();
    let output = read();
    assert!(
        listed && modified && deleted && added,
        "watch output:\n{output}"
    );
    let table = rows(&output);
    assert_eq!(table[0], ["EVENT", "NAME", "DATA", "AGE"], "{output}");
    // Every namespace also holds the cluster's kube-root-ca.crt, as in a real cluster.
    let events: Vec<(&str, &str)> = table[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .filter(|(_, name)| *name != "kube-root-ca.crt")
        .collect();
    assert_eq!(
        events,
        [
            ("ADDED", "watched"),
            ("MODIFIED", "watched"),
            ("DELETED", "watched"),
            ("ADDED", "late")
        ],
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_with_name_output_and_request_timeout() {
    let sim = Sim::start(1).await;
    // `-o name` watch that ends by itself through --request-timeout; meanwhile a ConfigMap appears.
    let watcher = sim.kubectl(&[
        "get",
        "configmaps",
        "-w",
        "-o",
        "name",
        "--request-timeout=3s",
    ]);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sim.ok_stdin(
            &["apply", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: appeared\n",
        )
        .await
    };
    let (out, written) = tokio::join!(watcher, writer);
    assert!(written.contains("configmap/appeared created"), "{written}");
    assert!(
        text(&out.stdout).lines().any(|l| l == "configmap/appeared"),
        "{}",
        describe(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_reports_success() {
    let sim = Sim::start(2).await;
    apply_shop(&sim).await;
    let out = sim
        .ok(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "shop",
            "--timeout=10s",
        ])
        .await;
    assert!(
        out.trim_end()
            .ends_with(r#"deployment "web" successfully rolled out"#),
        "{out}"
    );
    let deploy = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    let status = &deploy["status"];
    assert_eq!(
        (
            status["replicas"].as_i64(),
            status["updatedReplicas"].as_i64(),
            status["availableReplicas"].as_i64()
        ),
        (Some(2), Some(2), Some(2)),
        "{status}"
    );
    assert_eq!(
        status["observedGeneration"],
        deploy["metadata"]["generation"]
    );

    // A new image rolls out too, and afterwards every pod runs it.
    sim.ok(&[
        "set",
        "image",
        "deployment/web",
        "-n",
        "shop",
        "web=nginx:1.27",
    ])
    .await;
    let out = sim
        .ok(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "shop",
            "--timeout=10s",
        ])
        .await;
    assert!(
        out.contains(r#"deployment "web" successfully rolled out"#),
        "{out}"
    );
    let pods = get_json(&sim, &["pods", "-n", "shop", "-l", "app=web"]).await;
    let running: Vec<&Value> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    assert_eq!(running.len(), 2, "{pods}");
    for pod in running {
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
    }
    let rs = sim
        .ok(&["get", "replicasets", "-n", "shop", "-o", "name"])
        .await;
    assert_eq!(rs.lines().count(), 2, "old and new ReplicaSet:\n{rs}");

    // The server defaulted the strategy that rollout status relies on.
    let deploy = get_json(&sim, &["deployment", "web", "-n", "shop"]).await;
    assert_eq!(
        deploy["spec"]["strategy"],
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["restartPolicy"],
        "Always"
    );

    // DaemonSets and StatefulSets report their rollouts as well.
    let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: agent}\n  template:\n    metadata:\n      labels: {app: agent}\n    spec:\n      containers:\n      - name: agent\n        image: agent:1\n";
    apply(&sim, "ds.yaml", ds).await;
    let out = sim
        .ok(&[
            "rollout",
            "status",
            "daemonset/agent",
            "-n",
            "shop",
            "--timeout=10s",
        ])
        .await;
    assert!(
        out.contains(r#"daemon set "agent" successfully rolled out"#),
        "{out}"
    );
    // A StatefulSet's rollout status works as well.
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  replicas: 2\n  serviceName: db\n  selector:\n    matchLabels: {app: db}\n  template:\n    metadata:\n      labels: {app: db}\n    spec:\n      containers:\n      - name: db\n        image: postgres:16\n";
    apply(&sim, "sts.yaml", sts).await;
    let out = sim
        .ok(&[
            "rollout",
            "status",
            "statefulset/db",
            "-n",
            "shop",
            "--timeout=10s",
        ])
        .await;
    assert!(
        out.contains("partitioned roll out complete: 2 new pods have been updated"),
        "{out}"
    );
}

const SOLO: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: solo
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: solo}
  template:
    metadata:
      labels: {app: solo}
    spec:
      containers:
      - name: c
        image: busybox:1.36
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: solo
  namespace: default
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: solo}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordon_and_drain_respect_pod_disruption_budget() {
    let sim = Sim::start(3).await;
    apply(&sim, "solo.yaml", SOLO).await;
    sim.ok(&["rollout", "status", "deployment/solo", "--timeout=10s"])
        .await;
    let pods = get_json(&sim, &["pods", "-l", "app=solo"]).await;
    let node = pods["items"][0]["spec"]["nodeName"]
        .as_str()
        .expect("pod scheduled")
        .to_string();

    let out = sim.ok(&["cordon", &node]).await;
    assert!(out.contains(&format!("node/{node} cordoned")), "{out}");
    let nodes = sim.ok(&["get", "nodes"]).await;
    let line = rows(&nodes).into_iter().find(|r| r[0] == node).unwrap();
    assert_eq!(line[1], "Ready,SchedulingDisabled", "{nodes}");
    assert_eq!(
        get_json(&sim, &["node", &node]).await["spec"]["unschedulable"],
        true
    );
    let others = rows(&nodes)
        .into_iter()
        .skip(1)
        .filter(|r| r[0] != node)
        .count();
    assert_eq!(others, 2, "{nodes}");
    assert!(
        rows(&nodes)
            .iter()
            .skip(1)
            .filter(|r| r[0] != node)
            .all(|r| r[1] == "Ready"),
        "{nodes}"
    );

    // The only pod is protected by minAvailable=1: the drain times out.
    let drain = [
        "drain",
        node.as_str(),
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=3s",
    ];
    let blocked = sim.kubectl(&drain).await;
    assert!(!blocked.status.success(), "{}", describe(&blocked));
    let err = text(&blocked.stderr);
    assert!(
        err.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{err}"
    );
    assert!(err.contains("global timeout reached: 3s"), "{err}");
    let pods = get_json(&sim, &["pods", "-l", "app=solo"]).await;
    assert_eq!(pods["items"].as_array().unwrap().len(), 1);
    assert!(
        pods["items"][0]["metadata"]["deletionTimestamp"].is_null(),
        "the pod was not evicted"
    );

    // A second replica lands on another node (the cordoned one gets no new pods); then the drain passes.
    sim.ok(&["scale", "deployment/solo", "--replicas=2"]).await;
    sim.ok(&["rollout", "status", "deployment/solo", "--timeout=10s"])
        .await;
    let pods = get_json(&sim, &["pods", "-l", "app=solo"]).await;
    let placed: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap())
        .collect();
    assert_eq!(
        placed.iter().filter(|n| **n == node).count(),
        1,
        "{placed:?}"
    );
    assert_eq!(placed.len(), 2, "{placed:?}");
    let pdb_ready = eventually(5, || async {
        get_json(&sim, &["pdb", "solo"]).await["status"]["disruptionsAllowed"] == 1
    })
    .await;
    assert!(
        pdb_ready,
        "the PDB allows one disruption with two healthy pods"
    );

    let out = sim.kubectl(&drain).await;
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains(&format!("node/{node} drained")),
        "{}",
        describe(&out)
    );
    let drained = eventually(10, || async {
        let pods = get_json(
            &sim,
            &[
                "pods",
                "-A",
                "--field-selector",
                &format!("spec.nodeName={node}"),
            ],
        )
        .await;
        pods["items"].as_array().unwrap().is_empty()
    })
    .await;
    assert!(drained, "no pods left on {node}");
    // The evicted replica is replaced elsewhere.
    let out = sim
        .ok(&["rollout", "status", "deployment/solo", "--timeout=10s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let pods = get_json(&sim, &["pods", "-l", "app=solo"]).await;
    assert!(
        pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["spec"]["nodeName"] != node.as_str()),
        "{pods}"
    );

    let out = sim.ok(&["uncordon", &node]).await;
    assert!(out.contains(&format!("node/{node} uncordoned")), "{out}");
    let nodes = sim.ok(&["get", "nodes"]).await;
    assert!(
        rows(&nodes).iter().skip(1).all(|r| r[1] == "Ready"),
        "{nodes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_lists_custom_kinds() {
    let sim = Sim::start(1).await;
    let before = sim.ok(&["api-resources"]).await;
    assert!(!before.contains("Widget"), "{before}");
    apply_shop(&sim).await;

    let out = sim.ok(&["api-resources"]).await;
    let table = rows(&out);
    assert_eq!(
        table[0],
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        "{out}"
    );
    assert!(
        table
            .iter()
            .any(|r| r == &["widgets", "wg", "example.com/v1", "true", "Widget"]),
        "{out}"
    );
    assert!(
        table
            .iter()
            .any(|r| r == &["deployments", "deploy", "apps/v1", "true", "Deployment"]),
        "{out}"
    );
    assert!(
        table
            .iter()
            .any(|r| r == &["namespaces", "ns", "v1", "false", "Namespace"]),
        "{out}"
    );

    let out = sim.ok(&["api-resources", "--api-group=example.com"]).await;
    let table = rows(&out);
    assert_eq!(table.len(), 2, "{out}");
    assert_eq!(
        table[1],
        ["widgets", "wg", "example.com/v1", "true", "Widget"]
    );

    let versions = sim.ok(&["api-versions"]).await;
    assert!(
        versions.lines().any(|l| l == "example.com/v1"),
        "{versions}"
    );
    assert!(versions.lines().any(|l| l == "apps/v1"), "{versions}");

    // Deleting the CRD removes the kind again.
    sim.ok(&[
        "delete",
        "crd",
        "widgets.example.com",
        "--wait",
        "--timeout=10s",
    ])
    .await;
    let out = sim.ok(&["api-resources", "--api-group=example.com"]).await;
    assert!(!out.contains("Widget"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_changes_only() {
    let sim = Sim::start(1).await;
    let original = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: diffed\n  namespace: default\ndata:\n  level: low\n  other: same\n";
    let path = write(&sim, "diffed.yaml", original);
    sim.ok(&["apply", "-f", &path]).await;

    let same = sim.kubectl(&["diff", "-f", &path]).await;
    assert_eq!(same.status.code(), Some(0), "{}", describe(&same));
    assert_eq!(text(&same.stdout), "", "{}", describe(&same));

    let changed = write(
        &sim,
        "changed.yaml",
        &original.replace("level: low", "level: high"),
    );
    let diff = sim.kubectl(&["diff", "-f", &changed]).await;
    assert_eq!(diff.status.code(), Some(1), "{}", describe(&diff));
    let out = text(&diff.stdout);
    let changes: Vec<&str> = out
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changes,
        ["-  level: low", "+  level: high"],
        "only the changed line differs:\n{out}"
    );
    assert!(text(&diff.stderr).is_empty(), "{}", describe(&diff));
    // diff is a dry run: nothing changed.
    assert_eq!(
        get_json(&sim, &["configmap", "diffed"]).await["data"]["level"],
        "low"
    );

    // Server-side diff agrees: kubectl's own manager takes over the client-side applied fields
    // (the last-applied annotation allows it) ...
    let diff = sim
        .kubectl(&["diff", "--server-side", "-f", &changed])
        .await;
    assert_eq!(diff.status.code(), Some(1), "{}", describe(&diff));
    let out = text(&diff.stdout);
    assert!(
        out.contains("-  level: low") && out.contains("+  level: high"),
        "{}",
        describe(&diff)
    );
    // ... while another manager conflicts with them.
    let diff = sim
        .kubectl(&[
            "diff",
            "--server-side",
            "--field-manager=differ",
            "-f",
            &changed,
        ])
        .await;
    assert!(diff.status.code().unwrap_or(0) > 1, "{}", describe(&diff));
    assert!(
        text(&diff.stderr)
            .contains(r#"conflict with "kubectl-client-side-apply" using v1: .data.level"#),
        "{}",
        describe(&diff)
    );

    // A new object shows up as all added.
    let new = write(
        &sim,
        "new.yaml",
        &original.replace("name: diffed", "name: brand-new"),
    );
    let diff = sim.kubectl(&["diff", "-f", &new]).await;
    assert_eq!(diff.status.code(), Some(1), "{}", describe(&diff));
    let out = text(&diff.stdout);
    assert!(
        out.contains("+  name: brand-new") && out.contains("+  level: low"),
        "{out}"
    );
    assert!(!out.lines().any(|l| l.starts_with("-  ")), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_describes_fields() {
    let sim = Sim::start(1).await;
    let out = sim.ok(&["explain", "pod.spec"]).await;
    assert!(out.contains("KIND:       Pod"), "{out}");
    assert!(out.contains("VERSION:    v1"), "{out}");
    assert!(out.contains("FIELD: spec <PodSpec>"), "{out}");
    assert!(
        out.contains("  containers\t<[]Container> -required-"),
        "{out}"
    );
    assert!(
        out.contains("List of containers belonging to the pod."),
        "{out}"
    );
    assert!(out.contains("  nodeSelector\t<map[string]string>"), "{out}");

    let out = sim
        .ok(&["explain", "deployment.spec.strategy.rollingUpdate.maxSurge"])
        .await;
    assert!(out.contains("GROUP:      apps"), "{out}");
    assert!(out.contains("FIELD: maxSurge <IntOrString>"), "{out}");

    let unknown = sim.kubectl(&["explain", "pod.spec.nope"]).await;
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains(r#"field "nope" does not exist"#),
        "{}",
        describe(&unknown)
    );

    // A CRD's schema is explained too.
    apply_shop(&sim).await;
    let out = sim.ok(&["explain", "widget.spec"]).await;
    assert!(out.contains("GROUP:      example.com"), "{out}");
    assert!(out.contains("KIND:       Widget"), "{out}");
    assert!(out.contains("  size\t<integer>"), "{out}");
    assert!(out.contains("  color\t<string>"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_range_caps_a_claim_and_defaults_a_container() {
    let sim = Sim::start(1).await;
    apply(
        &sim,
        "limits.yaml",
        "apiVersion: v1\nkind: LimitRange\nmetadata: {name: limits, namespace: default}\nspec:\n  limits:\n  - type: PersistentVolumeClaim\n    max: {storage: 10Gi}\n  - type: Container\n    default: {cpu: 250m}\n",
    )
    .await;
    let claim = |size: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data-{}, namespace: default}}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: {size}}}}}\n",
            size.to_lowercase()
        )
    };
    let path = write(&sim, "big.yaml", &claim("20Gi"));
    let out = sim.kubectl(&["apply", "-f", &path]).await;
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains(
            "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"
        ),
        "{}",
        describe(&out)
    );
    apply(&sim, "small.yaml", &claim("5Gi")).await;
    sim.ok(&["run", "app", "--image=nginx", "--restart=Never"])
        .await;
    let pod = get_json(&sim, &["pod", "app"]).await;
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "250m"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_written_through_events_k8s_io_is_read_through_both_apis() {
    let sim = Sim::start(1).await;
    let event = "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: alice.1, namespace: default}\neventTime: \"2026-12-01T10:00:00.000000Z\"\nreportingController: orbdeck-controllers\nreportingInstance: engine-0\naction: Reconcile\nreason: InvalidQuotaLabel\ntype: Warning\nnote: bad quota label on alice\nregarding: {apiVersion: kubeflow.org/v1, kind: Profile, name: alice}\n";
    let path = write(&sim, "event.yaml", event);
    sim.ok(&["create", "-f", &path]).await;
    let core = get_json(&sim, &["events", "alice.1"]).await;
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "bad quota label on alice");
    assert_eq!(core["involvedObject"]["name"], "alice");
    assert_eq!(core["reportingComponent"], "orbdeck-controllers");
    let table = sim.ok(&["get", "events"]).await;
    assert!(table.contains("bad quota label on alice"), "{table}");
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.split_whitespace().collect::<Vec<_>>()
            == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{table}"
    );
    assert!(table.contains("profile/alice"), "{table}");
    let newer = get_json(&sim, &["events.events.k8s.io", "alice.1"]).await;
    assert_eq!(newer["apiVersion"], "events.k8s.io/v1");
    assert_eq!(newer["note"], "bad quota label on alice");
    assert_eq!(newer["regarding"]["kind"], "Profile");
    assert!(newer.get("message").is_none(), "{newer}");
}
