//! The orchestrator (seed 003) against the sim: the API creating and deleting Environments, the
//! environments family rendering them into a runner Deployment, Service and Ingress whose pod
//! runs on a sim node, every refusal (400, 401, 409, 413, 415, 500), concurrent starts, and
//! clients that are malformed, huge or slow while others are answered.

use crate::common;
use common::Sim;
use common::engine::Running;
use common::http::{Answer, post_json, request};
use common::repos::Origin;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams, PostParams};
use kube_sim::testing::eventually;
use orbdeck::controllers::environments::api::{self, ApiOptions};
use orbdeck::controllers::runtime::running::Controllers;
use orbdeck::model::{Environment, ProfileSettings};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

const NS: &str = "envs";
const TOKEN: &str = "s3cret-orchestrator-token";

/// The namespace of the Environments and an AddonTemplate serving nodejs and python: the seed's
/// service.yaml with `{{replId}}` where it said `service_name`.
const TEMPLATE: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: envs
---
apiVersion: orbdeck.io/v1alpha1
kind: AddonTemplate
metadata:
  name: runner
spec:
  namespaceSelector: {}
  environment:
    languages: [nodejs, python]
  manifests: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {{replId}}
      labels:
        app: {{replId}}
    spec:
      replicas: 1
      selector:
        matchLabels:
          app: {{replId}}
      template:
        metadata:
          labels:
            app: {{replId}}
        spec:
          containers:
            - name: runner
              image: example.org/runner:latest
              env:
                - name: LANGUAGE
                  value: {{language}}
              ports:
                - containerPort: 3001
                - containerPort: 3000
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: {{replId}}
    spec:
      selector:
        app: {{replId}}
      ports:
        - {protocol: TCP, name: ws, port: 3001, targetPort: 3001}
        - {protocol: TCP, name: user, port: 3000, targetPort: 3000}
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: {{replId}}
    spec:
      ingressClassName: nginx
      rules:
        - host: {{replId}}.example.org
          http:
            paths:
              - path: /
                pathType: Prefix
                backend:
                  service:
                    name: {{replId}}
                    port:
                      number: 3001
"#;

/// A sim with nodes, the CRDs, the template and the token Secret; the leader's families and
/// the orchestrator API running with the engine's identity (the deploy manifests' RBAC).
struct Orchestrator {
    _sim: Sim,
    admin: kube::Client,
    engine: kube::Client,
    addr: SocketAddr,
    controllers: Option<Controllers>,
    stop: CancellationToken,
}

impl Orchestrator {
    async fn start(api_namespace: &str, read_timeout: Duration) -> Orchestrator {
        let sim = Sim::start(2).await;
        let root = env!("CARGO_MANIFEST_DIR");
        sim.ok(&["apply", "-f", &format!("{root}/assets/crds/crds.yaml")])
            .await;
        let admin = sim.client().await;
        let envs: Api<Environment> = Api::all(admin.clone());
        assert!(
            eventually(20, || async {
                envs.list(&Default::default()).await.is_ok()
            })
            .await,
            "Environments are served"
        );
        sim.ok_stdin(&["apply", "-f", "-"], TEMPLATE).await;
        let engine = common::engine_client(&sim).await;
        put_token(&admin, TOKEN).await;
        let controllers = Controllers::start(
            engine.clone(),
            ProfileSettings::default(),
            Arc::new(orbdeck::metrics::Metrics::new()),
            Duration::from_secs(30),
        );
        let stop = CancellationToken::new();
        let addr = api::start(
            engine.clone(),
            ApiOptions {
                listen: ([127, 0, 0, 1], 0).into(),
                namespace: api_namespace.into(),
                token_namespace: "orbdeck-system".into(),
                token_secret: "orbdeck-orchestrator-token".into(),
                read_timeout,
            },
            stop.clone(),
        )
        .await
        .expect("the API binds");
        Orchestrator {
            _sim: sim,
            admin,
            engine,
            addr,
            controllers: Some(controllers),
            stop,
        }
    }

    async fn start_env(&self, repl_id: &str, language: &str) -> Answer {
        post_json(
            self.addr,
            "/start",
            TOKEN,
            &json!({"replId": repl_id, "language": language}),
        )
        .await
    }

    async fn stop_env(&self, repl_id: &str) -> Answer {
        post_json(self.addr, "/stop", TOKEN, &json!({"replId": repl_id})).await
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Writes the token Secret orbdeck-system/orbdeck-orchestrator-token.
async fn put_token(admin: &kube::Client, token: &str) {
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), "orbdeck-system");
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "orbdeck-orchestrator-token"},
        "stringData": {"token": token},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

fn names<K: kube::Resource>(list: &[K]) -> Vec<String> {
    let mut n: Vec<String> = list.iter().filter_map(|o| o.meta().name.clone()).collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_creates_three_owned_objects_whose_runner_pod_runs_and_stop_removes_them() {
    let o = Orchestrator::start(NS, api::READ_TIMEOUT).await;
    let started = Instant::now();
    let answer = o.start_env("proj-42", "nodejs").await;
    assert_eq!(answer.status, 200, "{:?}", answer.json());
    assert_eq!(answer.json(), json!({"success": true, "podCreated": true}));

    let pods: Api<Pod> = Api::namespaced(o.admin.clone(), NS);
    let running = eventually(30, || async {
        let list = pods
            .list(&ListParams::default().labels("orbdeck.io/environment=proj-42"))
            .await
            .unwrap();
        list.items.iter().any(|p| {
            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                && p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()
        })
    })
    .await;
    assert!(running, "the runner pod runs on a sim node");
    println!("/start to runner pod Running: {:?}", started.elapsed());

    let deployment = Api::<Deployment>::namespaced(o.admin.clone(), NS)
        .get("proj-42")
        .await
        .unwrap();
    let service = Api::<Service>::namespaced(o.admin.clone(), NS)
        .get("proj-42")
        .await
        .unwrap();
    let ingress = Api::<Ingress>::namespaced(o.admin.clone(), NS)
        .get("proj-42")
        .await
        .unwrap();
    let env = Api::<Environment>::namespaced(o.admin.clone(), NS)
        .get("proj-42")
        .await
        .unwrap();
    let uid = env.metadata.uid.clone().unwrap();
    for meta in [&deployment.metadata, &service.metadata, &ingress.metadata] {
        let owner = &meta.owner_references.as_ref().expect("owned")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("Environment", uid.as_str())
        );
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels["orbdeck.io/environment"], "proj-42");
        assert_eq!(labels["orbdeck.io/repl-id"], "proj-42");
    }
    let selector = service.spec.unwrap().selector.unwrap();
    assert_eq!(selector["app"], "proj-42");
    let rule = &ingress.spec.unwrap().rules.unwrap()[0];
    assert_eq!(rule.host.as_deref(), Some("proj-42.example.org"));
    let container = &deployment.spec.template.spec.unwrap().containers[0];
    assert_eq!(
        container.env.as_ref().unwrap()[0].value.as_deref(),
        Some("nodejs")
    );

    // The status says the pod runs and where it is served; the API lists it so.
    let envs: Api<Environment> = Api::namespaced(o.admin.clone(), NS);
    assert!(
        eventually(10, || async {
            let s = envs
                .get("proj-42")
                .await
                .unwrap()
                .status
                .unwrap_or_default();
            s.phase.as_deref() == Some("Running")
                && s.host.as_deref() == Some("proj-42.example.org")
                && s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
        })
        .await,
        "the Environment's status: {:?}",
        envs.get("proj-42").await.unwrap().status
    );
    let auth = format!("Authorization: Bearer {TOKEN}");
    let listed = request(o.addr, "GET", "/environments", &[&auth], b"")
        .await
        .unwrap();
    assert_eq!(listed.status, 200);
    let entry = &listed.json()["environments"][0];
    assert_eq!(entry["replId"], "proj-42");
    assert_eq!(entry["phase"], "Running");
    assert_eq!(entry["source"], "api");
    assert_eq!(entry["host"], "proj-42.example.org");
    let report = o.controllers.as_ref().unwrap().reports().await;
    let yaml = &report["current/environments.yaml"];
    assert!(
        yaml.contains("replId: proj-42") && yaml.contains("phase: Running"),
        "{yaml}"
    );

    // Starting it again keeps it.
    let again = o.start_env("proj-42", "nodejs").await;
    assert_eq!(again.json(), json!({"success": true, "podCreated": false}));

    // Stop deletes the Environment; the garbage collector its objects.
    let stopped = o.stop_env("proj-42").await;
    assert_eq!(stopped.status, 200);
    assert_eq!(stopped.json(), json!({"success": true}));
    let deployments: Api<Deployment> = Api::namespaced(o.admin.clone(), NS);
    let services: Api<Service> = Api::namespaced(o.admin.clone(), NS);
    let ingresses: Api<Ingress> = Api::namespaced(o.admin.clone(), NS);
    assert!(
        eventually(20, || async {
            deployments.get_opt("proj-42").await.unwrap().is_none()
                && services.get_opt("proj-42").await.unwrap().is_none()
                && ingresses.get_opt("proj-42").await.unwrap().is_none()
                && pods
                    .list(&Default::default())
                    .await
                    .unwrap()
                    .items
                    .is_empty()
        })
        .await,
        "the Deployment, Service, Ingress and pod are gone"
    );
    let unknown = o.stop_env("proj-42").await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.json(), json!({"success": true, "existed": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_400_401_413_415_naming_what_is_wrong() {
    let o = Orchestrator::start(NS, api::READ_TIMEOUT).await;
    let long = "a".repeat(54);
    for (body, field, says) in [
        (
            json!({"language": "nodejs"}),
            "replId",
            "replId is required",
        ),
        (
            json!({"replId": 42, "language": "nodejs"}),
            "replId",
            "replId must be a string",
        ),
        (
            json!({"replId": long, "language": "nodejs"}),
            "replId",
            "at most 53 characters",
        ),
        (
            json!({"replId": "Proj", "language": "nodejs"}),
            "replId",
            "not a DNS-1123 label",
        ),
        (
            json!({"replId": "-p", "language": "nodejs"}),
            "replId",
            "not a DNS-1123 label",
        ),
        (json!({"replId": "p"}), "language", "language is required"),
        (
            json!({"replId": "p", "language": "cobol"}),
            "language",
            "language \"cobol\" is not served by any AddonTemplate in namespace envs (served: nodejs, python)",
        ),
    ] {
        let a = post_json(o.addr, "/start", TOKEN, &body).await;
        assert_eq!(a.status, 400, "{body}: {:?}", a.json());
        assert_eq!(a.json()["success"], false);
        assert_eq!(a.json()["field"], field, "{body}");
        let error = a.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{body}: {error}");
    }
    let stop = post_json(o.addr, "/stop", TOKEN, &json!({"replId": "A B"})).await;
    assert_eq!(
        (stop.status, stop.json()["field"].clone()),
        (400, json!("replId"))
    );

    let auth = format!("Authorization: Bearer {TOKEN}");
    let json_type = "Content-Type: application/json";
    for (body, says) in [
        (&b"{\"replId\": "[..], "the body is not JSON"),
        (
            &b"[\"p\", \"nodejs\"]"[..],
            "the body must be a JSON object",
        ),
    ] {
        let a = request(o.addr, "POST", "/start", &[json_type, &auth], body)
            .await
            .unwrap();
        assert_eq!(a.status, 400);
        assert!(
            a.json()["error"].as_str().unwrap().contains(says),
            "{:?}",
            a.json()
        );
    }

    // No token, a wrong one, another scheme: 401 before anything else is looked at.
    let good = br#"{"replId": "p", "language": "nodejs"}"#;
    for headers in [
        vec![json_type],
        vec![json_type, "Authorization: Bearer wrong"],
        vec![json_type, "Authorization: Basic czNjcmV0"],
        vec!["Content-Type: text/plain"],
    ] {
        let a = request(o.addr, "POST", "/start", &headers, good)
            .await
            .unwrap();
        assert_eq!(a.status, 401, "{headers:?}");
        assert_eq!(a.header("www-authenticate"), Some("Bearer"));
    }
    let a = request(o.addr, "GET", "/environments", &[], b"")
        .await
        .unwrap();
    assert_eq!(a.status, 401);
    let health = request(o.addr, "GET", "/healthz", &[], b"").await.unwrap();
    assert_eq!((health.status, health.body.as_slice()), (200, &b"ok\n"[..]));

    // A wrong Content-Type: 415.
    for content_type in [
        "Content-Type: text/plain",
        "Content-Type: application/x-www-form-urlencoded",
    ] {
        let a = request(o.addr, "POST", "/start", &[content_type, &auth], good)
            .await
            .unwrap();
        assert_eq!(a.status, 415, "{content_type}");
    }
    let a = request(o.addr, "POST", "/start", &[&auth], good)
        .await
        .unwrap();
    assert_eq!(a.status, 415, "no Content-Type");
    let charset = "Content-Type: application/json; charset=utf-8";
    let a = request(o.addr, "POST", "/start", &[charset, &auth], good)
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{:?}", a.json());

    // Over 64 KB, declared or chunked: 413.
    let big = format!(
        "{{\"replId\": \"p\", \"language\": \"nodejs\", \"pad\": \"{}\"}}",
        "x".repeat(65 * 1024)
    );
    let a = request(
        o.addr,
        "POST",
        "/start",
        &[json_type, &auth],
        big.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status, 413);
    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let a = request(
        o.addr,
        "POST",
        "/start",
        &[json_type, &auth, "Transfer-Encoding: chunked"],
        chunked.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status, 413);
    assert!(a.json()["error"].as_str().unwrap().contains("over 64 KB"));
    // Just under 64 KB is fine.
    let under = format!(
        "{{\"replId\": \"q\", \"language\": \"python\", \"pad\": \"{}\"}}",
        "x".repeat(60 * 1024)
    );
    let a = request(
        o.addr,
        "POST",
        "/start",
        &[json_type, &auth],
        under.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{:?}", a.json());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_secret_every_request_is_401_until_the_secret_is_made() {
    let o = Orchestrator::start(NS, api::READ_TIMEOUT).await;
    let secrets: Api<Secret> = Api::namespaced(o.admin.clone(), "orbdeck-system");
    secrets
        .delete("orbdeck-orchestrator-token", &Default::default())
        .await
        .unwrap();
    assert!(
        eventually(15, || async {
            o.start_env("p", "nodejs").await.status == 401
        })
        .await,
        "a deleted token Secret refuses requests"
    );
    let a = o.start_env("p", "nodejs").await;
    let error = a.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("orbdeck-system/orbdeck-orchestrator-token (key token) does not exist"),
        "{error}"
    );
    put_token(&o.admin, "rotated").await;
    assert!(
        eventually(15, || async {
            post_json(
                o.addr,
                "/start",
                "rotated",
                &json!({"replId": "p", "language": "nodejs"}),
            )
            .await
            .status
                == 200
        })
        .await,
        "the new token is taken"
    );
    assert_eq!(
        o.start_env("p", "nodejs").await.status,
        401,
        "the old token is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubernetes_api_failure_is_a_500_with_its_message() {
    let o = Orchestrator::start("nowhere", api::READ_TIMEOUT).await;
    let a = o.start_env("p", "nodejs").await;
    assert_eq!(a.status, 500, "{:?}", a.json());
    let error = a.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("namespaces \"nowhere\" not found"),
        "{error}"
    );
    // The engine's identity may not delete Environments any more: the 403 is the message.
    let roles: Api<k8s_openapi::api::rbac::v1::ClusterRole> = Api::all(o.admin.clone());
    let mut role = roles.get("orbdeck-engine").await.unwrap();
    for rule in role.rules.iter_mut().flatten() {
        if rule.resources.as_deref() == Some(&["environments".to_owned()][..]) {
            rule.verbs.retain(|v| v != "get");
        }
    }
    roles
        .replace("orbdeck-engine", &PostParams::default(), &role)
        .await
        .unwrap();
    let a = o.stop_env("p").await;
    assert_eq!(a.status, 500, "{:?}", a.json());
    let error = a.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("environments.orbdeck.io \"p\" is forbidden")
            && error.contains("cannot get resource \"environments\""),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_from_desired_renders_and_cannot_be_stopped_through_the_api() {
    let o = Orchestrator::start(NS, api::READ_TIMEOUT).await;
    let origin = Origin::new();
    origin.seed(&[
        (
            "orb.yaml",
            "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n",
        ),
        (
            "desired/envs/demo.yaml",
            "apiVersion: orbdeck.io/v1alpha1\nkind: Environment\nmetadata:\n  name: demo\n  namespace: envs\nspec:\n  replId: demo\n  language: python\n",
        ),
    ]);
    let mut engine = Running::start_via(o.engine.clone(), &origin);
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{status:#?}");
    let deployments: Api<Deployment> = Api::namespaced(o.admin.clone(), NS);
    assert!(
        eventually(20, || async {
            deployments.get_opt("demo").await.unwrap().is_some()
        })
        .await,
        "the desired Environment is rendered"
    );
    let a = o.stop_env("demo").await;
    assert_eq!(a.status, 409, "{:?}", a.json());
    let error = a.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("comes from desired/"), "{error}");
    let envs: Api<Environment> = Api::namespaced(o.admin.clone(), NS);
    assert!(envs.get_opt("demo").await.unwrap().is_some(), "still there");
    let a = o.start_env("demo", "python").await;
    assert_eq!(a.json(), json!({"success": true, "podCreated": false}));
    // current/environments.yaml in the ORB repo says where it comes from.
    let mut engine_report = None;
    for _ in 0..40 {
        engine.sync().await;
        engine_report = origin.file("current/environments.yaml");
        if engine_report
            .as_deref()
            .is_some_and(|r| r.contains("phase: Running"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let report = engine_report.expect("current/environments.yaml is written");
    assert!(
        report.contains("source: desired") && report.contains("phase: Running"),
        "{report}"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_starts_of_100_repl_ids_leave_100_environments_and_deployments() {
    let o = Orchestrator::start(NS, api::READ_TIMEOUT).await;
    let calls = (0..200).map(|i| {
        let addr = o.addr;
        tokio::spawn(async move {
            post_json(
                addr,
                "/start",
                TOKEN,
                &json!({"replId": format!("r{}", i % 100), "language": "nodejs"}),
            )
            .await
        })
    });
    let answers = futures::future::join_all(calls).await;
    let mut created = 0;
    for a in answers {
        let a = a.unwrap();
        assert_eq!(a.status, 200, "{:?}", a.json());
        if a.json()["podCreated"] == true {
            created += 1;
        }
    }
    assert_eq!(created, 100, "each replId was created once");
    let envs: Api<Environment> = Api::namespaced(o.admin.clone(), NS);
    assert_eq!(
        envs.list(&Default::default()).await.unwrap().items.len(),
        100
    );
    let deployments: Api<Deployment> = Api::namespaced(o.admin.clone(), NS);
    assert!(
        eventually(60, || async {
            deployments
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .len()
                == 100
        })
        .await,
        "100 Deployments"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let list = deployments.list(&Default::default()).await.unwrap().items;
    let want: Vec<String> = {
        let mut w: Vec<String> = (0..100).map(|i| format!("r{i}")).collect();
        w.sort();
        w
    };
    assert_eq!(names(&list), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_huge_and_slow_clients_never_keep_others_from_being_answered() {
    let o = Orchestrator::start(NS, Duration::from_secs(2)).await;
    let addr = o.addr;
    let auth = format!("Authorization: Bearer {TOKEN}");
    // Slow-loris: connections that send half their headers, or their headers and then a body
    // a byte at a time.
    let mut lorises = Vec::new();
    for _ in 0..20 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"POST /start HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        lorises.push(tcp);
    }
    let mut dribbler = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}\r\nContent-Length: 100\r\n\r\n{{"
    );
    dribbler.write_all(head.as_bytes()).await.unwrap();
    let dribble = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if dribbler.write_all(b" ").await.is_err() {
                break;
            }
        }
        common::http::read_answer(&mut dribbler).await
    });
    // A 10 MB body, declared and chunked.
    let huge = vec![b'x'; 10 * 1024 * 1024];
    let huge_auth = auth.clone();
    let declared = tokio::spawn(async move {
        let headers = ["Content-Type: application/json", huge_auth.as_str()];
        request(addr, "POST", "/start", &headers, &huge).await
    });
    let chunk_auth = auth.clone();
    let chunked = tokio::spawn(async move {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{chunk_auth}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 1024 * 1024, "x".repeat(1024 * 1024));
        for _ in 0..10 {
            if tcp.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        common::http::read_answer(&mut tcp).await
    });
    // Meanwhile, malformed JSON and real starts are answered at once.
    let json_type = "Content-Type: application/json";
    for i in 0..10 {
        let started = Instant::now();
        let bad = request(
            addr,
            "POST",
            "/start",
            &[json_type, &auth],
            b"{\"replId\": \"x\",",
        )
        .await
        .unwrap();
        assert_eq!(bad.status, 400);
        let good = o.start_env(&format!("ok-{i}"), "nodejs").await;
        assert_eq!(good.status, 200, "{:?}", good.json());
        let health = request(addr, "GET", "/healthz", &[], b"").await.unwrap();
        assert_eq!(health.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered in {:?} while others are slow or huge",
            started.elapsed()
        );
    }
    // The huge bodies are refused with 413 (or the connection cut once the answer is sent).
    for huge in [declared.await.unwrap(), chunked.await.unwrap()]
        .into_iter()
        .flatten()
    {
        assert_eq!(huge.status, 413);
    }
    // The slow body is cut off with 408; the slow headers by closing the connection.
    let slow = dribble.await.unwrap().expect("an answer to the slow body");
    assert_eq!(slow.status, 408, "{:?}", slow.json());
    for mut tcp in lorises {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut rest),
        )
        .await;
        assert!(
            closed.is_ok(),
            "a connection with unfinished headers is closed"
        );
    }
    let envs: Api<Environment> = Api::namespaced(o.admin.clone(), NS);
    assert_eq!(
        envs.list(&Default::default()).await.unwrap().items.len(),
        10
    );
}
