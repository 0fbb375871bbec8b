//! Defaulting and lifecycle as a real API server does them: built-in objects created with kubectl
//! come back as the fixtures in `tests/fixtures/defaults/` say a real server returns them
//! (allocated addresses, node ports, uids and random suffixes checked for shape), a namespace
//! deleted while its workloads start is gone in seconds, BOOKMARKs come 2 s before a watch's
//! timeout, and the watch history is bounded in time.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube_sim::ClusterOptions;
use kube_sim::testing::{Sim, eventually};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Each object as sent, and the fixture of what a real server returns for it.
const OBJECTS: &[(&str, &str)] = &[
    (
        "namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: fixtures}\n",
    ),
    (
        "service-clusterip.yaml",
        r#"apiVersion: v1
kind: Service
metadata: {name: web, namespace: fixtures}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
"#,
    ),
    (
        "service-nodeport.yaml",
        r#"apiVersion: v1
kind: Service
metadata: {name: web-nodeport, namespace: fixtures}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}, {port: 53, protocol: UDP, targetPort: dns}]
"#,
    ),
    (
        "secret.yaml",
        r#"apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: fixtures}
data: {password: aHVudGVyMg==, token: b2xk}
stringData: {user: admin, token: new}
"#,
    ),
    (
        "pod.yaml",
        r#"apiVersion: v1
kind: Pod
metadata: {name: web, namespace: fixtures, labels: {app: web}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 80}]
    readinessProbe: {httpGet: {port: 80}}
    volumeMounts: [{name: config, mountPath: /etc/web}]
  volumes: [{name: config, configMap: {name: web}}]
"#,
    ),
    (
        "pod-guaranteed.yaml",
        r#"apiVersion: v1
kind: Pod
metadata: {name: sized, namespace: fixtures}
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: registry.example.com/app:1.0
    resources: {limits: {cpu: 500m, memory: 128Mi}}
"#,
    ),
    (
        "deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: fixtures}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"#,
    ),
    (
        "statefulset.yaml",
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: fixtures}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"#,
    ),
    (
        "job.yaml",
        r#"apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: fixtures}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "busybox:1.36"}]
"#,
    ),
    (
        "cronjob.yaml",
        r#"apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: fixtures}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: "busybox:1.36"}]
"#,
    ),
    (
        "ingress.yaml",
        r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: fixtures}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"#,
    ),
];

fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/defaults", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The object without what differs from run to run; allocated values checked for shape and
/// replaced by the fixtures' placeholders.
fn comparable(mut v: Value, with_status: bool) -> Value {
    let uid = v["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(uuid_like(&uid), "uid {uid:?}");
    let meta = v["metadata"].as_object_mut().expect("metadata");
    for k in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
    ] {
        meta.remove(k);
    }
    // What controllers change after the create: the status, and a pod's node (the scheduler's).
    if !with_status && let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("nodeName");
        }
    }
    placeholders(&mut v, &uid, "");
    v
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.split('-').map(str::len).eq([8, 4, 4, 4, 12])
}

fn placeholders(v: &mut Value, uid: &str, key: &str) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                placeholders(child, uid, k);
            }
        }
        Value::Array(a) => {
            for child in a {
                placeholders(child, uid, key);
            }
        }
        Value::String(s) if key == "clusterIP" || key == "clusterIPs" => {
            let ip: std::net::Ipv4Addr = s.parse().unwrap_or_else(|_| panic!("clusterIP {s}"));
            assert_eq!(
                u32::from(ip) >> 20,
                u32::from(std::net::Ipv4Addr::new(10, 96, 0, 0)) >> 20,
                "{ip}"
            );
            *s = "<cluster-ip>".into();
        }
        Value::Number(n) if key == "nodePort" => {
            let port = n.as_u64().unwrap_or_default();
            assert!((30000..=32767).contains(&port), "nodePort {port}");
            *v = json!("<node-port>");
        }
        Value::String(s) if !uid.is_empty() && s == uid => *s = "<uid>".into(),
        Value::String(s) if s.starts_with("kube-api-access-") => {
            let suffix = &s["kube-api-access-".len()..];
            assert!(
                suffix.len() == 5 && suffix.chars().all(|c| c.is_ascii_alphanumeric()),
                "{s}"
            );
            *s = "kube-api-access-<suffix>".into();
        }
        _ => {}
    }
}

fn assert_same(what: &str, actual: &Value, expected: &Value) {
    assert!(
        actual == expected,
        "{what} differs from the fixture:\n{actual:#}\nexpected:\n{expected:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaulted_built_ins_match_what_a_real_server_returns() {
    let sim = Sim::start(1).await;
    for (file, manifest) in OBJECTS {
        let expected = fixture(file);
        let out = sim
            .ok_stdin(&["create", "-f", "-", "-o", "json"], manifest)
            .await;
        let created: Value = serde_json::from_str(&out).expect("create answer");
        assert_same(
            &format!("the create answer for {file}"),
            &comparable(created, true),
            &expected,
        );
        let kind = expected["kind"].as_str().unwrap().to_lowercase();
        let name = expected["metadata"]["name"].as_str().unwrap();
        let mut get = vec!["get", &kind, name, "-o", "json"];
        if let Some(ns) = expected["metadata"]["namespace"].as_str() {
            get.extend(["-n", ns]);
        }
        let got: Value = serde_json::from_str(&sim.ok(&get).await).expect("get answer");
        let mut expected = expected;
        expected.as_object_mut().unwrap().remove("status");
        assert_same(
            &format!("kubectl get of {file}"),
            &comparable(got, false),
            &expected,
        );
    }
    // The pod's QoS class stays through scheduling and start.
    assert!(
        eventually(10, || async {
            let out = sim
                .ok(&["get", "pod", "sized", "-n", "fixtures", "-o", "json"])
                .await;
            let pod: Value = serde_json::from_str(&out).unwrap();
            pod["status"]["phase"] == "Running" && pod["status"]["qosClass"] == "Guaranteed"
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_allocations_are_unique_kept_and_checked() {
    let sim = Sim::start(0).await;
    let svc = |name: &str, extra: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  ports: [{{port: 80}}]\n{extra}"
        )
    };
    let create = |manifest: String| {
        let sim = &sim;
        async move {
            let out = sim
                .ok_stdin(&["create", "-f", "-", "-o", "json"], &manifest)
                .await;
            serde_json::from_str::<Value>(&out).unwrap()
        }
    };
    let a = create(svc("a", "  type: NodePort\n")).await;
    let (ip, port) = (
        a["spec"]["clusterIP"].clone(),
        a["spec"]["ports"][0]["nodePort"].clone(),
    );
    // A requested address or node port already taken is refused, as Kubernetes refuses it.
    let taken = format!("  type: NodePort\n  clusterIP: {}\n", ip.as_str().unwrap());
    let out = sim
        .kubectl_with(&["create", "-f", "-"], Some(&svc("b", &taken)), &[])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provided IP is already allocated"), "{err}");
    let port_taken = format!("  type: NodePort\n  ports: [{{port: 80, nodePort: {port}}}]\n");
    let out = sim
        .kubectl_with(&["create", "-f", "-"], Some(&svc("c", &port_taken)), &[])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provided port is already allocated"), "{err}");
    // Headless: no address, but the family fields.
    let headless = create(svc("h", "  clusterIP: None\n")).await;
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4"]));
    // An update that leaves the allocated fields out keeps them (kubectl replace).
    let replaced = sim
        .ok_stdin(
            &["replace", "-f", "-", "-o", "json"],
            &svc("a", "  type: NodePort\n"),
        )
        .await;
    let replaced: Value = serde_json::from_str(&replaced).unwrap();
    assert_eq!(replaced["spec"]["clusterIP"], ip);
    assert_eq!(replaced["spec"]["ports"][0]["nodePort"], port);
}

const TERMINATING: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: doomed}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: doomed}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: doomed}
spec: {containers: [{name: c, image: "busybox:1.36"}]}
"#;

const OTHER: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: other}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_deleted_while_its_pods_start_is_gone_in_seconds() {
    // Default timings: pods take 300 ms to start, so the delete lands while they do.
    let sim = Sim::start_with(ClusterOptions {
        nodes: 2,
        ..Default::default()
    })
    .await;
    sim.ok_stdin(&["apply", "-f", "-"], OTHER).await;
    for delay in [0, 400, 900] {
        sim.ok_stdin(&["create", "-f", "-"], TERMINATING).await;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let started = Instant::now();
        sim.ok(&["delete", "namespace", "doomed", "--wait=false"])
            .await;
        // Writes elsewhere meanwhile (the sim's controllers once lost the namespace's timer to them).
        tokio::time::sleep(Duration::from_millis(100)).await;
        sim.ok(&[
            "label",
            "deployment",
            "other",
            &format!("round={delay}"),
            "--overwrite",
        ])
        .await;
        let gone = eventually(5, || async {
            !sim.kubectl(&["get", "namespace", "doomed"])
                .await
                .status
                .success()
        })
        .await;
        assert!(
            gone,
            "namespace still there {:?} after its delete ({delay} ms after creation):\n{}",
            started.elapsed(),
            sim.ok(&["get", "all", "-n", "doomed"]).await
        );
        let left = sim
            .ok(&[
                "get",
                "pods,deployments,replicasets",
                "-n",
                "doomed",
                "-o",
                "name",
            ])
            .await;
        assert!(left.trim().is_empty(), "{left}");
    }
}

/// When each BOOKMARK of a watch with `timeoutSeconds` came, and when the watch ended.
async fn bookmarks(api: &Api<ConfigMap>, timeout: u32) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut stream = api
        .watch(&WatchParams::default().timeout(timeout), "0")
        .await
        .unwrap()
        .boxed();
    let mut marks = vec![];
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("the watch ends")
        .unwrap()
    {
        if matches!(ev, WatchEvent::Bookmark(_)) {
            marks.push(started.elapsed());
        }
    }
    (marks, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_come_two_seconds_before_the_timeout() {
    // The periodic bookmark as in Kubernetes: once a minute, so only the pre-timeout one shows.
    let sim = Sim::start_with(ClusterOptions {
        bookmark_interval: Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client().await, "default");
    let ((three, ended), (two, _)) = tokio::join!(bookmarks(&api, 3), bookmarks(&api, 2));
    assert_eq!(three.len(), 1, "{three:?}");
    assert!(
        three[0] >= Duration::from_millis(900) && three[0] < Duration::from_secs(2),
        "{three:?}"
    );
    assert!(ended >= Duration::from_millis(2900), "{ended:?}");
    // Kubernetes schedules none when the deadline is 2 s away or less (cache_watcher.go,
    // nextBookmarkTime).
    assert!(two.is_empty(), "{two:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_history_is_bounded_in_time() {
    let sim = Sim::start_with(ClusterOptions {
        watch_history: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client().await, "default");
    // The namespace's kube-root-ca.crt is made in the background; once it is there, no other
    // ConfigMap event can land after `a` and be seen by the watch from `a`.
    for _ in 0..200 {
        if api.get_opt("kube-root-ca.crt").await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "a"}})).unwrap();
    let created = api.create(&PostParams::default(), &cm).await.unwrap();
    let old = created.metadata.resource_version.unwrap();
    let fresh = |rv: String| {
        let api = api.clone();
        async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(1), &rv)
                .await
                .unwrap()
                .boxed();
            match stream.try_next().await.unwrap() {
                Some(WatchEvent::Error(e)) => Err(e.code),
                other => Ok(other.is_some()),
            }
        }
    };
    assert_eq!(fresh(old.clone()).await, Ok(false), "within the history");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut cm2 = cm.clone();
    cm2.metadata.name = Some("b".into());
    api.create(&PostParams::default(), &cm2).await.unwrap();
    let before_old = (old.parse::<u64>().unwrap() - 1).to_string();
    assert_eq!(fresh(before_old).await, Err(410), "compacted");
}
