//! Admission webhooks: the sim calls Mutating and Validating webhooks over HTTPS with
//! AdmissionReview v1, verifying caBundle, honouring rules, selectors, failurePolicy and timeouts.
#![deny(clippy::indexing_slicing)]

use super::cluster::Cluster;
use super::object;
use super::resources::ResourceType;
use super::selector;
use super::status::ApiError;
use super::write::WriteOpts;
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Runs the mutating webhooks that match and returns the (patched) object.
pub async fn mutate(
    c: &Cluster,
    op: &str,
    rt: &ResourceType,
    ns: &str,
    mut obj: Value,
    old: Option<&Value>,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    for (hook, _config) in matching_hooks(
        c,
        "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        op,
        rt,
        ns,
        &obj,
    ) {
        match call(&hook, op, rt, ns, &obj, old, opts).await {
            Ok(response) => {
                deny_if_refused(&hook, &response)?;
                if let Some(raw) = patch_bytes(object::at(&response, &["patch"])) {
                    let raw = raw.map_err(|e| webhook_failure(&hook, &e))?;
                    let ops: json_patch::Patch = serde_json::from_slice(&raw)
                        .map_err(|e| webhook_failure(&hook, &format!("bad JSONPatch: {e}")))?;
                    json_patch::patch(&mut obj, &ops)
                        .map_err(|e| webhook_failure(&hook, &format!("JSONPatch failed: {e}")))?;
                }
            }
            Err(e) => fail_or_ignore(&hook, e)?,
        }
    }
    Ok(obj)
}

/// The bytes of a response's `patch`: a base64 string, or (as Go's encoding/json also
/// accepts for `[]byte`, and kube-rs sends) an array of byte values; `None` when absent.
fn patch_bytes(patch: &Value) -> Option<Result<Vec<u8>, String>> {
    match patch {
        Value::Null => None,
        Value::String(s) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| format!("bad patch encoding: {e}")),
        ),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|b| {
                    b.as_u64()
                        .and_then(|b| u8::try_from(b).ok())
                        .ok_or_else(|| format!("bad patch encoding: {b} is not a byte"))
                })
                .collect(),
        ),
        other => Some(Err(format!("bad patch encoding: {other}"))),
    }
}

/// Runs the validating webhooks that match; any refusal rejects the request.
pub async fn validate(
    c: &Cluster,
    op: &str,
    rt: &ResourceType,
    ns: &str,
    obj: &Value,
    old: Option<&Value>,
    opts: &WriteOpts,
) -> Result<(), ApiError> {
    for (hook, _config) in matching_hooks(
        c,
        "validatingwebhookconfigurations.admissionregistration.k8s.io",
        op,
        rt,
        ns,
        obj,
    ) {
        match call(&hook, op, rt, ns, obj, old, opts).await {
            Ok(response) => deny_if_refused(&hook, &response)?,
            Err(e) => fail_or_ignore(&hook, e)?,
        }
    }
    Ok(())
}

fn deny_if_refused(hook: &Value, response: &Value) -> Result<(), ApiError> {
    if object::at(response, &["allowed"]).as_bool() == Some(true) {
        return Ok(());
    }
    let name = object::at(hook, &["name"]).as_str().unwrap_or("");
    let msg = object::at(response, &["status", "message"])
        .as_str()
        .unwrap_or("without explanation");
    let code = object::at(response, &["status", "code"])
        .as_u64()
        .filter(|c| *c >= 400)
        .unwrap_or(400) as u16;
    Err(ApiError::new(
        code,
        "Forbidden",
        format!("admission webhook \"{name}\" denied the request: {msg}"),
    ))
}

fn webhook_failure(hook: &Value, why: &str) -> ApiError {
    let name = object::at(hook, &["name"]).as_str().unwrap_or("");
    ApiError::internal(format!(
        "Internal error occurred: failed calling webhook \"{name}\": {why}"
    ))
}

fn fail_or_ignore(hook: &Value, why: String) -> Result<(), ApiError> {
    if object::at(hook, &["failurePolicy"]).as_str() == Some("Ignore") {
        tracing::warn!(
            webhook = object::at(hook, &["name"]).as_str(),
            "webhook failed, ignored: {why}"
        );
        return Ok(());
    }
    Err(webhook_failure(
        hook,
        &format!("failed to call webhook: {why}"),
    ))
}

/// Webhooks (with their configuration) whose rules and selectors match the request.
fn matching_hooks(
    c: &Cluster,
    key: &str,
    op: &str,
    rt: &ResourceType,
    ns: &str,
    obj: &Value,
) -> Vec<(Value, Value)> {
    let s = c.store.read();
    if s.count(key) == 0 {
        return vec![];
    }
    let ns_labels = if ns.is_empty() {
        None
    } else {
        s.get_value("namespaces", "", ns)
            .map(|n| object::at(&n, &["metadata", "labels"]).clone())
    };
    let mut out = Vec::new();
    for config in s.list_values(key, None) {
        for hook in object::at(&config, &["webhooks"])
            .as_array()
            .into_iter()
            .flatten()
        {
            if !rules_match(hook, op, rt)
                || !selector_matches(object::at(hook, &["objectSelector"]), object::labels(obj))
            {
                continue;
            }
            if rt.namespaced || rt.plural == "namespaces" {
                let labels = if rt.plural == "namespaces" {
                    object::at(obj, &["metadata", "labels"]).clone()
                } else {
                    ns_labels.clone().unwrap_or(Value::Null)
                };
                if !selector_matches(object::at(hook, &["namespaceSelector"]), labels.as_object()) {
                    continue;
                }
            }
            out.push((hook.clone(), config.clone()));
        }
    }
    out
}

fn selector_matches(sel: &Value, labels: Option<&serde_json::Map<String, Value>>) -> bool {
    if !sel.is_object() {
        return true;
    }
    selector::label_selector_from_object(sel).is_ok_and(|s| s.matches(labels))
}

fn rules_match(hook: &Value, op: &str, rt: &ResourceType) -> bool {
    let has = |list: &Value, want: &str| {
        list.as_array()
            .into_iter()
            .flatten()
            .any(|v| v == "*" || v == want)
    };
    object::at(hook, &["rules"])
        .as_array()
        .into_iter()
        .flatten()
        .any(|rule| {
            let scope_ok = match object::at(rule, &["scope"]).as_str() {
                Some("Namespaced") => rt.namespaced,
                Some("Cluster") => !rt.namespaced,
                _ => true,
            };
            scope_ok
                && has(object::at(rule, &["operations"]), op)
                && has(object::at(rule, &["apiGroups"]), &rt.group)
                && has(object::at(rule, &["apiVersions"]), &rt.version)
                && (has(object::at(rule, &["resources"]), &rt.plural)
                    || has(object::at(rule, &["resources"]), "*/*"))
        })
}

/// Sends one AdmissionReview and returns its `response`.
async fn call(
    hook: &Value,
    op: &str,
    rt: &ResourceType,
    ns: &str,
    obj: &Value,
    old: Option<&Value>,
    opts: &WriteOpts,
) -> Result<Value, String> {
    let url = object::at(hook, &["clientConfig", "url"])
        .as_str()
        .ok_or("the sim reaches webhooks by clientConfig.url only (services are not routable)")?;
    let uid = uuid::Uuid::new_v4().to_string();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "resource": {"group": rt.group, "version": rt.version, "resource": rt.plural},
            "requestKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "requestResource": {"group": rt.group, "version": rt.version, "resource": rt.plural},
            "name": object::name(obj), "namespace": ns, "operation": op,
            "userInfo": {"username": opts.user, "groups": opts.groups},
            "object": obj, "oldObject": old.cloned().unwrap_or(Value::Null),
            "dryRun": opts.dry_run,
        }
    });
    let ca = object::at(hook, &["clientConfig", "caBundle"])
        .as_str()
        .unwrap_or("");
    let timeout = Duration::from_secs(
        object::at(hook, &["timeoutSeconds"])
            .as_u64()
            .unwrap_or(10)
            .clamp(1, 30),
    );
    let body = serde_json::to_vec(&review).map_err(|e| e.to_string())?;
    let reply = tokio::time::timeout(timeout, post(url, ca, body))
        .await
        .map_err(|_| format!("Post \"{url}\": context deadline exceeded"))??;
    let reply: Value =
        serde_json::from_slice(&reply).map_err(|e| format!("bad AdmissionReview: {e}"))?;
    let response = object::at(&reply, &["response"]).clone();
    if object::at(&response, &["uid"]).as_str() != Some(uid.as_str()) {
        return Err("the AdmissionReview response has the wrong uid".into());
    }
    Ok(response)
}

/// POSTs JSON over HTTPS trusting only the PEM (base64-encoded) CA bundle.
async fn post(url: &str, ca_bundle_b64: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("bad webhook url {url}: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("webhook url {url} must use https"));
    }
    let host = uri.host().ok_or("webhook url has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(443);
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca_bundle_b64)
        .map_err(|e| format!("caBundle is not base64: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("caBundle: {e}"))?;
        roots.add(cert).map_err(|e| format!("caBundle: {e}"))?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("Post \"{url}\": dial tcp {host}:{port}: {e}"))?;
    let server_name = rustls_pki_types::ServerName::try_from(host.clone())
        .map_err(|e| format!("bad host {host}: {e}"))?;
    let tls = connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| format!("Post \"{url}\": tls: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let req = hyper::Request::post(path)
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("webhook returned HTTP {}", resp.status()));
    }
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(bytes.to_vec())
}
