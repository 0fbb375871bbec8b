//! Admission webhooks against the embedded API server: a real HTTPS webhook (axum + rustls)
//! mutates pods; with the webhook down, failurePolicy Ignore admits and Fail rejects.

use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube_sim::TlsBundle;
use kube_sim::testing::Sim;
use serde_json::{Value, json};

async fn mutate(axum::Json(review): axum::Json<Value>) -> axum::Json<Value> {
    let patch = json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}]);
    let encoded = base64::engine::general_purpose::STANDARD.encode(patch.to_string());
    axum::Json(
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": true, "patchType": "JSONPatch", "patch": encoded}}),
    )
}

async fn deny(axum::Json(review): axum::Json<Value>) -> axum::Json<Value> {
    let name = review["request"]["name"].as_str().unwrap_or("").to_string();
    let allowed = !name.starts_with("forbidden");
    axum::Json(
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": allowed,
            "status": {"message": format!("{name} is not welcome")}}}),
    )
}

/// Starts the webhook server on a free port; returns its port, CA (base64 PEM) and what stops
/// it (its listener and every open connection, as when its process dies).
async fn start_webhook() -> (u16, String, tokio_util::sync::CancellationToken) {
    let bundle = TlsBundle::generate(&[]).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(bundle.server_config().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/mutate", axum::routing::post(mutate))
        .route("/validate", axum::routing::post(deny));
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                _ = stopped.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(c) => c,
                    Err(_) => return,
                },
            };
            let (acceptor, app, stopped) = (acceptor.clone(), app.clone(), stopped.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let conn = builder.serve_connection(TokioIo::new(tls), service);
                tokio::select! {
                    _ = conn => {}
                    _ = stopped.cancelled() => {}
                }
            });
        }
    });
    let ca = base64::engine::general_purpose::STANDARD.encode(&bundle.ca_pem);
    (port, ca, stop)
}

fn config(kind: &str, name: &str, path: &str, port: u16, ca: &str, policy: &str) -> String {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
        "webhooks": [{"name": format!("{name}.example.com"), "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": policy, "timeoutSeconds": 2,
            "clientConfig": {"url": format!("https://127.0.0.1:{port}{path}"), "caBundle": ca},
            "objectSelector": {"matchLabels": {"hooked": "true"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]})
    .to_string()
}

/// Registers the mutating (`/mutate`) and validating (`/validate`) webhooks with one failurePolicy.
async fn install(sim: &Sim, port: u16, ca: &str, policy: &str) {
    for (kind, name, path) in [
        ("MutatingWebhookConfiguration", "labeller", "/mutate"),
        ("ValidatingWebhookConfiguration", "gate", "/validate"),
    ] {
        sim.ok_stdin(
            &["apply", "-f", "-"],
            &config(kind, name, path, port, ca, policy),
        )
        .await;
    }
}

fn pod(name: &str, hooked: bool) -> Pod {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"hooked": hooked.to_string()}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_mutate_validate_and_honour_failure_policy() {
    let sim = Sim::start(0).await;
    let (port, ca, stop) = start_webhook().await;
    install(&sim, port, &ca, "Fail").await;
    let pods: Api<Pod> = Api::namespaced(sim.client().await, "default");

    let created = pods
        .create(&PostParams::default(), &pod("web", true))
        .await
        .unwrap();
    assert_eq!(created.metadata.labels.unwrap()["mutated"], "yes");
    let untouched = pods
        .create(&PostParams::default(), &pod("plain", false))
        .await
        .unwrap();
    assert!(
        !untouched.metadata.labels.unwrap().contains_key("mutated"),
        "objectSelector must skip it"
    );
    match pods
        .create(&PostParams::default(), &pod("forbidden-one", true))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => assert!(
            s.message
                .contains("denied the request: forbidden-one is not welcome"),
            "{}",
            s.message
        ),
        other => panic!("{other}"),
    }

    // Webhook down: Fail rejects, Ignore admits.
    stop.cancel();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    match pods
        .create(&PostParams::default(), &pod("while-down", true))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => assert!(
            s.message.contains("failed calling webhook"),
            "{}",
            s.message
        ),
        other => panic!("{other}"),
    }
    install(&sim, port, &ca, "Ignore").await;
    let admitted = pods
        .create(&PostParams::default(), &pod("while-down", true))
        .await
        .unwrap();
    assert!(!admitted.metadata.labels.unwrap().contains_key("mutated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_the_wrong_ca_is_not_trusted() {
    let sim = Sim::start(0).await;
    let (port, _ca, _stop) = start_webhook().await;
    let other_ca =
        base64::engine::general_purpose::STANDARD.encode(TlsBundle::generate(&[]).unwrap().ca_pem);
    sim.ok_stdin(
        &["apply", "-f", "-"],
        &config(
            "MutatingWebhookConfiguration",
            "labeller",
            "/mutate",
            port,
            &other_ca,
            "Fail",
        ),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(sim.client().await, "default");
    match pods
        .create(&PostParams::default(), &pod("web", true))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => assert!(
            s.message.contains("failed calling webhook") && s.message.contains("tls"),
            "{}",
            s.message
        ),
        other => panic!("{other}"),
    }
}
