//! The MutatingWebhookConfiguration the engine manages for its webhooks (pure builder), and
//! the probe that calls each webhook the way the API server does, to say in current/ when the
//! API server cannot reach it.

use super::report::WebhookReport;
use super::server::{IMAGES_PATH, PODDEFAULTS_PATH, PODSETTINGS_PATH};
use crate::model::{AdmissionSettings, FailurePolicy, PodDefaultsServer};
use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;

/// Name of the MutatingWebhookConfiguration.
pub const CONFIGURATION_NAME: &str = "orbdeck-webhooks";
/// How long the API server waits for a webhook (and the probe too).
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Name of the Service in front of the engine's webhook port, in a cluster.
pub const SERVICE_NAME: &str = "orbdeck-webhook";

/// Where the API server reaches the webhooks.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A base URL (`https://host:port`), for an engine outside its cluster (the demo, tests).
    Url(String),
    /// The Service [`SERVICE_NAME`] in the engine's namespace, port 443.
    Service {
        /// The engine's namespace.
        namespace: String,
    },
}

impl Target {
    /// The URL of the webhook at `path`, as the API server calls it.
    pub fn url(&self, path: &str) -> String {
        match self {
            Target::Url(base) => format!("{}{path}", base.trim_end_matches('/')),
            Target::Service { namespace } => {
                format!("https://{SERVICE_NAME}.{namespace}.svc{path}")
            }
        }
    }

    fn client_config(&self, path: &str, ca_pem: &str) -> Value {
        let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
        match self {
            Target::Url(_) => json!({"url": self.url(path), "caBundle": ca}),
            Target::Service { namespace } => json!({
                "service": {"name": SERVICE_NAME, "namespace": namespace, "path": path, "port": 443},
                "caBundle": ca,
            }),
        }
    }
}

/// The webhooks to configure, in the order the API server calls them: (name, path), per
/// `settings`. Images come last, so an image a PodSetting sets is replicated too.
pub fn webhooks(settings: &AdmissionSettings) -> Vec<(&'static str, &'static str)> {
    let mut hooks = vec![("podsettings.orbdeck.io", PODSETTINGS_PATH)];
    if settings.pod_defaults == PodDefaultsServer::Orbdeck {
        hooks.push(("poddefaults.orbdeck.io", PODDEFAULTS_PATH));
    }
    hooks.push(("images.orbdeck.io", IMAGES_PATH));
    hooks
}

/// The MutatingWebhookConfiguration: Pod CREATE in every namespace but kube-system and the
/// engine's own (the PodSettings webhook only in team namespaces), timeout 5 s,
/// `sideEffects: NoneOnDryRun`, failurePolicy from orb.yaml.
pub fn configuration(
    target: &Target,
    ca_pem: &str,
    settings: &AdmissionSettings,
    engine_namespace: &str,
) -> Value {
    let failure = match settings.failure_policy {
        FailurePolicy::Ignore => "Ignore",
        FailurePolicy::Fail => "Fail",
    };
    let hooks: Vec<Value> = webhooks(settings)
        .into_iter()
        .map(|(name, path)| {
            let mut expressions = vec![json!({
                "key": "kubernetes.io/metadata.name", "operator": "NotIn",
                "values": ["kube-system", engine_namespace],
            })];
            if path == PODSETTINGS_PATH {
                expressions.push(json!({
                    "key": crate::controllers::pod_settings::desired::TEAM_LABEL,
                    "operator": "Exists",
                }));
            }
            json!({
                "name": name,
                "admissionReviewVersions": ["v1"],
                "clientConfig": target.client_config(path, ca_pem),
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["pods"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchExpressions": expressions},
                "failurePolicy": failure,
                "matchPolicy": "Equivalent",
                "sideEffects": "NoneOnDryRun",
                "timeoutSeconds": TIMEOUT.as_secs(),
                "reinvocationPolicy": "Never",
            })
        })
        .collect();
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": CONFIGURATION_NAME,
            "labels": {crate::controllers::MANAGED_BY_LABEL: crate::controllers::MANAGER},
        },
        "webhooks": hooks,
    })
}

/// Calls the webhook `name` at `url` as the API server would (a dry-run Pod CREATE review,
/// trusting only `ca_pem`, within [`TIMEOUT`]) and says whether it answered.
pub async fn probe(name: &str, url: &str, ca_pem: &str, failure_policy: &str) -> WebhookReport {
    let result = tokio::time::timeout(TIMEOUT, post(url, ca_pem))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", TIMEOUT.as_secs())));
    WebhookReport {
        name: name.to_owned(),
        url: url.to_owned(),
        failure_policy: failure_policy.to_owned(),
        reachable: result.is_ok(),
        error: result.err(),
    }
}

/// The probe's review: a dry-run CREATE of a pod in a namespace no team has.
fn probe_review() -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "orbdeck-probe",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "orbdeck-probe", "namespace": "orbdeck-probe", "operation": "CREATE",
            "userInfo": {"username": "orbdeck-probe"},
            "object": {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "orbdeck-probe", "namespace": "orbdeck-probe"},
                       "spec": {"containers": [{"name": "probe", "image": "probe"}]}},
            "dryRun": true,
        }
    })
}

async fn post(url: &str, ca_pem: &str) -> Result<(), String> {
    use http_body_util::{BodyExt, Full};
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad url {url}: {e}"))?;
    let host = uri.host().ok_or("the url has no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("caBundle: {e}"))?;
        roots.add(cert).map_err(|e| format!("caBundle: {e}"))?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("dial tcp {host}:{port}: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| format!("bad host {host}: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let body = serde_json::to_vec(&probe_review()).map_err(|e| e.to_string())?;
    let request = hyper::Request::post(uri.path())
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let review: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    match review.pointer("/response/uid").and_then(Value::as_str) {
        Some("orbdeck-probe") => Ok(()),
        _ => Err("the answer is not a response to the probe".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_its_target_and_spares_system_namespaces() {
        let settings = AdmissionSettings::default();
        let c = configuration(
            &Target::Url("https://127.0.0.1:9443/".into()),
            "PEM",
            &settings,
            "orbdeck-system",
        );
        let hooks = c["webhooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 3);
        assert_eq!(
            hooks[2]["clientConfig"]["url"],
            "https://127.0.0.1:9443/mutate/images"
        );
        assert_eq!(
            hooks[0]["clientConfig"]["url"],
            "https://127.0.0.1:9443/mutate/podsettings"
        );
        assert_eq!(hooks[0]["failurePolicy"], "Ignore");
        assert_eq!(hooks[0]["sideEffects"], "NoneOnDryRun");
        assert_eq!(hooks[0]["timeoutSeconds"], 5);
        let excluded = &hooks[1]["namespaceSelector"]["matchExpressions"][0]["values"];
        assert_eq!(excluded, &json!(["kube-system", "orbdeck-system"]));
        let kubeflow = AdmissionSettings {
            pod_defaults: PodDefaultsServer::Kubeflow,
            failure_policy: FailurePolicy::Fail,
        };
        let c = configuration(
            &Target::Service {
                namespace: "orbdeck-system".into(),
            },
            "PEM",
            &kubeflow,
            "orbdeck-system",
        );
        assert_eq!(c["webhooks"].as_array().unwrap().len(), 2);
        assert_eq!(c["webhooks"][0]["failurePolicy"], "Fail");
        assert_eq!(
            c["webhooks"][0]["clientConfig"]["service"]["name"],
            SERVICE_NAME
        );
    }
}
