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
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
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

/// A client per CA bundle, its connections kept alive between calls (kube-apiserver keeps its
/// webhook connections too): a pod admission does not pay a TLS handshake per webhook.
type WebhookClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<bytes::Bytes>,
>;

fn client_for(ca_bundle_b64: &str) -> Result<WebhookClient, String> {
    static CLIENTS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, WebhookClient>>,
    > = std::sync::OnceLock::new();
    let clients = CLIENTS.get_or_init(Default::default);
    let mut clients = clients.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = clients.get(ca_bundle_b64) {
        return Ok(c.clone());
    }
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
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector);
    clients.insert(ca_bundle_b64.to_owned(), client.clone());
    Ok(client)
}

/// POSTs JSON over HTTPS trusting only the PEM (base64-encoded) CA bundle.
async fn post(url: &str, ca_bundle_b64: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("bad webhook url {url}: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("webhook url {url} must use https"));
    }
    let client = client_for(ca_bundle_b64)?;
    let req = hyper::Request::post(uri)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| {
        let chain = error_chain(&e);
        // As Go words it: the TLS failure named as such.
        if chain.contains("certificate") {
            format!("Post \"{url}\": tls: failed to verify certificate: {chain}")
        } else {
            format!("Post \"{url}\": {chain}")
        }
    })?;
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

/// An error with its sources, `a: b: c` (hyper's own message alone says only "client error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
