//! Pod logs: the simulated kubelet's lines and appended ones through `kubectl logs [-f]` and
//! kube-rs, with Kubernetes' options and errors.

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use kube_sim::testing::{Sim, eventually};
use serde_json::json;
use std::time::Duration;

const TWO_CONTAINERS: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: multi
spec:
  containers:
  - name: a
    image: nginx:1.25
  - name: b
    image: busybox:1.36
"#;

/// Waits until pod `name` in `default` runs.
async fn running(sim: &Sim, name: &str) {
    let pods: Api<Pod> = Api::default_namespaced(sim.client().await);
    let up = eventually(10, || async {
        pods.get(name)
            .await
            .ok()
            .and_then(|p| p.status?.phase)
            .as_deref()
            == Some("Running")
    })
    .await;
    assert!(up, "pod {name} runs");
}

/// Runs kubectl, asserts it failed and returns its stderr.
async fn fails(sim: &Sim, args: &[&str]) -> String {
    let out = sim.kubectl(args).await;
    assert!(!out.status.success(), "kubectl {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn append(sim: &Sim, pod: &str, container: &str, line: &str) {
    sim.server
        .cluster()
        .append_log("default", pod, container, line)
        .expect("appended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_shows_kubelet_and_appended_lines_with_the_options() {
    let sim = Sim::start(1).await;
    sim.ok(&["run", "app", "--image=nginx:1.25", "--restart=Never"])
        .await;
    running(&sim, "app").await;
    append(&sim, "app", "app", "hello\nworld");
    let out = sim.ok(&["logs", "app"]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "sim-kubelet: pulled image \"nginx:1.25\"",
            "sim-kubelet: started container \"app\" on node \"sim-1-node-1\"",
            "hello",
            "world"
        ]
    );
    assert_eq!(
        sim.ok(&["logs", "app", "-c", "app", "--tail=1"]).await,
        "world\n"
    );
    assert_eq!(sim.ok(&["logs", "app", "--tail=0"]).await, "");

    // --timestamps: each line after its RFC 3339 time and a space.
    let stamped = sim.ok(&["logs", "app", "--timestamps", "--tail=2"]).await;
    let texts: Vec<&str> = stamped
        .lines()
        .map(|l| {
            let (at, text) = l.split_once(' ').expect("a timestamp");
            assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{l}");
            assert_eq!(at.len(), "2024-01-01T00:00:00.123456789Z".len(), "{l}");
            text
        })
        .collect();
    assert_eq!(texts, ["hello", "world"]);

    // --since: only what was written in the last second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    append(&sim, "app", "app", "late");
    assert_eq!(sim.ok(&["logs", "app", "--since=1s"]).await, "late\n");
    assert_eq!(
        sim.ok(&["logs", "app", "--since=1h"]).await.lines().count(),
        5
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(
        sim.ok(&["logs", "app", &format!("--since-time={future}")])
            .await,
        ""
    );
    assert_eq!(sim.ok(&["logs", "app", "--limit-bytes=3"]).await, "sim");

    // The sim never restarts containers, so there is no previous log.
    let err = fails(&sim, &["logs", "app", "--previous"]).await;
    assert!(
        err.contains("previous terminated container \"app\" in pod \"app\" not found"),
        "{err}"
    );
    let err = fails(&sim, &["logs", "app", "-c", "nope"]).await;
    assert!(
        err.contains("container nope is not valid for pod app"),
        "{err}"
    );
    let err = fails(&sim, &["logs", "ghost"]).await;
    assert!(err.contains("pods \"ghost\" not found"), "{err}");

    // A new pod of the same name starts with a new log.
    sim.ok(&["delete", "pod", "app"]).await;
    sim.ok(&["run", "app", "--image=nginx:1.25", "--restart=Never"])
        .await;
    running(&sim, "app").await;
    let out = sim.ok(&["logs", "app"]).await;
    assert!(
        !out.contains("hello") && out.contains("started container"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_of_two_containers_needs_one_named() {
    let sim = Sim::start(1).await;
    sim.ok_stdin(&["apply", "-f", "-"], TWO_CONTAINERS).await;
    running(&sim, "multi").await;
    append(&sim, "multi", "b", "from b");
    // kubectl itself picks the first container (saying so); the API server insists on a name.
    let out = sim.kubectl(&["logs", "multi"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Defaulted container \"a\" out of: a, b"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pulled image \"nginx:1.25\""));
    let err = fails(
        &sim,
        &["get", "--raw", "/api/v1/namespaces/default/pods/multi/log"],
    )
    .await;
    assert!(
        err.contains("a container name must be specified for pod multi, choose one of: [a b]"),
        "{err}"
    );
    let out = sim.ok(&["logs", "multi", "-c", "b"]).await;
    assert!(
        out.contains("pulled image \"busybox:1.36\"") && out.ends_with("from b\n"),
        "{out}"
    );
    assert!(
        !sim.ok(&["logs", "multi", "-c", "a"])
            .await
            .contains("from b")
    );

    // The same through kube-rs.
    let pods: Api<Pod> = Api::default_namespaced(sim.client().await);
    match pods.logs("multi", &LogParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 400);
            assert_eq!(
                s.message,
                "a container name must be specified for pod multi, choose one of: [a b]"
            );
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    let params = LogParams {
        container: Some("c".into()),
        ..Default::default()
    };
    match pods.logs("multi", &params).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(
                (s.code, s.message.as_str()),
                (400, "container c is not valid for pod multi")
            )
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    assert!(matches!(
        sim.server.cluster().append_log("default", "multi", "c", "x"),
        Err(kube_sim::SimError::Log(m)) if m == "container c is not valid for pod multi"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_follow_prints_new_lines_and_ends_when_the_pod_is_deleted() {
    let sim = Sim::start(1).await;
    sim.ok(&["run", "app", "--image=nginx:1.25", "--restart=Never"])
        .await;
    running(&sim, "app").await;
    let sim = std::sync::Arc::new(sim);
    let following = {
        let sim = sim.clone();
        tokio::spawn(async move { sim.kubectl(&["logs", "-f", "app"]).await })
    };
    let streaming = eventually(10, || async {
        sim.server
            .cluster()
            .requests()
            .iter()
            .any(|(verb, resource, agent, _)| {
                verb == "get" && resource == "pods/log" && agent.starts_with("kubectl")
            })
    })
    .await;
    assert!(streaming, "kubectl asked for the log");
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(&sim, "app", "app", "first while following");
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(&sim, "app", "app", "second while following");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!following.is_finished(), "kubectl still follows");
    sim.ok(&["delete", "pod", "app", "--wait=false"]).await;
    let out = tokio::time::timeout(Duration::from_secs(15), following)
        .await
        .expect("kubectl logs -f ends once the pod is gone")
        .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("started container \"app\"")
            && out.ends_with("first while following\nsecond while following\n"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_reads_and_streams_logs() {
    let sim = Sim::start(1).await;
    let client = sim.client().await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    running(&sim, "web").await;

    // The sim-only endpoint appends the body's lines (admin only).
    let req = axum::http::Request::post("/sim/v1/namespaces/default/pods/web/log?container=web")
        .body(b"one\ntwo\n".to_vec())
        .unwrap();
    let answer = client.request_text(req).await.expect("appended");
    assert_eq!(answer, r#"{"appended":2}"#);

    let tail = LogParams {
        tail_lines: Some(2),
        ..Default::default()
    };
    assert_eq!(pods.logs("web", &tail).await.unwrap(), "one\ntwo\n");

    // log_stream with follow: the lines so far, then new ones, until the pod is deleted.
    let follow = LogParams {
        follow: true,
        tail_lines: Some(1),
        timestamps: true,
        ..Default::default()
    };
    let mut lines = pods.log_stream("web", &follow).await.unwrap().lines();
    let first = lines.try_next().await.unwrap().unwrap();
    assert!(first.ends_with(" two"), "{first}");
    append(&sim, "web", "web", "three");
    let next = tokio::time::timeout(Duration::from_secs(5), lines.try_next())
        .await
        .expect("a new line arrives")
        .unwrap()
        .unwrap();
    assert!(next.ends_with(" three"), "{next}");
    pods.delete("web", &DeleteParams::default()).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), lines.try_next())
        .await
        .expect("the stream ends with the pod");
    assert!(matches!(end, Ok(None)), "{end:?}");
    match pods.logs("web", &LogParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 404),
        other => panic!("expected a 404, got {other:?}"),
    }

    // A Job's pod logs its completion, and a follower stops when the container does.
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    let job = serde_json::from_value(json!({"metadata": {"name": "work"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "work", "image": "busybox"}]}}}}))
    .unwrap();
    jobs.create(&PostParams::default(), &job).await.unwrap();
    let first_pod = || async {
        let list = pods.list(&Default::default()).await.unwrap();
        list.items.into_iter().next()
    };
    let up = eventually(10, || async {
        first_pod().await.and_then(|p| p.status?.phase).as_deref() == Some("Running")
    })
    .await;
    assert!(up, "the job's pod runs");
    let name = first_pod().await.and_then(|p| p.metadata.name).unwrap();
    let follow = LogParams {
        follow: true,
        ..Default::default()
    };
    let stream = pods.log_stream(&name, &follow).await.unwrap();
    let all: Vec<String> =
        tokio::time::timeout(Duration::from_secs(10), stream.lines().try_collect())
            .await
            .expect("the stream ends when the job's container completes")
            .unwrap();
    assert_eq!(
        all.last().map(String::as_str),
        Some("sim-kubelet: container \"work\" completed (exit code 0)"),
        "{all:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_log_is_discovered_and_waits_for_the_container() {
    let sim = Sim::start_with(kube_sim::ClusterOptions {
        nodes: 1,
        pod_start_delay: Duration::from_secs(600),
        ..Default::default()
    })
    .await;
    let out = sim.ok(&["get", "--raw", "/api/v1"]).await;
    let resources: serde_json::Value = serde_json::from_str(&out).unwrap();
    let log = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods/log")
        .expect("pods/log is listed");
    assert_eq!(log["verbs"], json!(["get"]));

    // Bound but not started: the kubelet's answer.
    sim.ok(&["run", "slow", "--image=nginx", "--restart=Never"])
        .await;
    let pods: Api<Pod> = Api::default_namespaced(sim.client().await);
    let bound = eventually(10, || async {
        pods.get("slow")
            .await
            .ok()
            .and_then(|p| p.spec?.node_name)
            .is_some()
    })
    .await;
    assert!(bound, "the pod is scheduled");
    let err = fails(&sim, &["logs", "slow"]).await;
    assert!(
        err.contains("container \"slow\" in pod \"slow\" is waiting to start: ContainerCreating"),
        "{err}"
    );
    // Never scheduled: no kubelet to ask, so an empty log.
    let overrides = r#"{"spec": {"nodeSelector": {"disk": "none"}}}"#;
    sim.ok(&[
        "run",
        "idle",
        "--image=nginx",
        "--restart=Never",
        "--overrides",
        overrides,
    ])
    .await;
    assert_eq!(sim.ok(&["logs", "idle"]).await, "");
    // Options are validated as PodLogOptions.
    let err = fails(
        &sim,
        &[
            "get",
            "--raw",
            "/api/v1/namespaces/default/pods/idle/log?tailLines=-1",
        ],
    )
    .await;
    assert!(
        err.contains("tailLines: Invalid value: -1: must be greater than or equal to 0"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_container_has_its_log_as_the_previous_one() {
    let sim = Sim::start(1).await;
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: crashy\n  annotations: {sim.orbdeck.io/crash-containers: \"*\"}\nspec:\n  containers:\n  - name: app\n    image: busybox:1.36\n";
    sim.ok_stdin(&["apply", "-f", "-"], pod).await;
    let looping = eventually(10, || async {
        let out = sim
            .kubectl(&[
                "get",
                "pod",
                "crashy",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
            ])
            .await;
        String::from_utf8_lossy(&out.stdout) == "CrashLoopBackOff"
    })
    .await;
    assert!(looping, "the container crash-loops");
    append(&sim, "crashy", "app", "panic: cannot reach db");
    let err = fails(&sim, &["logs", "crashy"]).await;
    assert!(
        err.contains("is waiting to start: CrashLoopBackOff"),
        "{err}"
    );
    let out = sim.ok(&["logs", "crashy", "--previous"]).await;
    assert!(out.contains("panic: cannot reach db"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_no_node_fits_gets_a_failed_scheduling_event_and_no_log() {
    let sim = Sim::start(2).await;
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: picky\nspec:\n  nodeSelector: {disktype: nvme}\n  containers:\n  - name: app\n    image: busybox:1.36\n";
    sim.ok_stdin(&["apply", "-f", "-"], pod).await;
    let recorded = eventually(10, || async {
        let out = sim
            .kubectl(&[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=picky",
            ])
            .await;
        String::from_utf8_lossy(&out.stdout).contains("FailedScheduling")
    })
    .await;
    assert!(recorded, "the scheduler's Warning event is recorded");
    let out = sim
        .ok(&["get", "events", "-o", "jsonpath={.items[0].message}"])
        .await;
    assert!(out.starts_with("0/2 nodes are available"), "{out}");
    // On no node, there is no kubelet to ask: an empty log, as an API server answers.
    assert_eq!(sim.ok(&["logs", "picky"]).await, "");
}
