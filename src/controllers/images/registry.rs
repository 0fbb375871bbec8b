//! Talking to registries for one policy: the OCI client (plain HTTP for the registries the policy
//! says are insecure, TLS with ring otherwise) and the credentials of its Secret. Used by the
//! replicator's copies and by the admission's HEAD probes.

use crate::model::ImageReplicationPolicySpec;
use crate::wellknown::ENGINE_NAMESPACE;
use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

/// Installs ring as rustls' process-wide provider (oci-client is built without one), once; a
/// provider installed before (by anyone) is kept.
pub fn install_tls_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The `host[:port]` of a target registry `host[:port][/prefix]`.
pub fn target_host(target: &str) -> &str {
    target.split('/').next().unwrap_or(target)
}

/// An OCI client for the registries of `spec`: plain HTTP to its target when `insecure` and to
/// its `insecureSources`.
pub fn client(spec: &ImageReplicationPolicySpec) -> Client {
    install_tls_provider();
    let mut plain = spec.insecure_sources.clone();
    if spec.insecure {
        plain.push(target_host(&spec.target_registry).to_owned());
    }
    Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(plain),
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    })
}

/// The credentials of a policy, by registry host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    by_host: HashMap<String, (String, String)>,
}

impl Credentials {
    /// What to present to the registry of `reference` (anonymous when nothing is known).
    pub fn for_reference(&self, reference: &Reference) -> RegistryAuth {
        [reference.registry(), reference.resolve_registry()]
            .iter()
            .find_map(|h| self.by_host.get(*h))
            .map_or(RegistryAuth::Anonymous, |(u, p)| {
                RegistryAuth::Basic(u.clone(), p.clone())
            })
    }
}

/// Reads the policy's credential Secret (in the engine's namespace): `username`/`password` for
/// the target, or a `.dockerconfigjson` with `auths` by registry. No Secret named: anonymous.
pub async fn credentials(
    client: &kube::Client,
    spec: &ImageReplicationPolicySpec,
) -> Result<Credentials, String> {
    let Some(name) = spec.credential_secret.as_deref() else {
        return Ok(Credentials::default());
    };
    let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), ENGINE_NAMESPACE);
    let secret = api
        .get(name)
        .await
        .map_err(|e| format!("credential Secret {ENGINE_NAMESPACE}/{name}: {e}"))?;
    let data = secret.data.unwrap_or_default();
    let text = |key: &str| {
        data.get(key)
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
    };
    let mut out = Credentials::default();
    if let Some(config) = text(".dockerconfigjson") {
        out.by_host = docker_config(&config)
            .map_err(|e| format!("credential Secret {ENGINE_NAMESPACE}/{name}: {e}"))?;
    }
    if let (Some(user), Some(password)) = (text("username"), text("password")) {
        out.by_host.insert(
            target_host(&spec.target_registry).to_owned(),
            (user, password),
        );
    }
    if out.by_host.is_empty() {
        return Err(format!(
            "credential Secret {ENGINE_NAMESPACE}/{name} has neither username and password nor .dockerconfigjson"
        ));
    }
    Ok(out)
}

/// The `auths` of a Docker config file, by registry host.
fn docker_config(text: &str) -> Result<HashMap<String, (String, String)>, String> {
    let config: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!(".dockerconfigjson: {e}"))?;
    let mut out = HashMap::new();
    let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
        return Err(".dockerconfigjson has no auths".into());
    };
    for (key, entry) in auths {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let field = |f: &str| entry.get(f).and_then(|v| v.as_str()).map(str::to_owned);
        let pair = match (field("username"), field("password"), field("auth")) {
            (Some(u), Some(p), _) => (u, p),
            (_, _, Some(auth)) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|e| format!(".dockerconfigjson: auths.{key}.auth: {e}"))?;
                let decoded = String::from_utf8_lossy(&decoded).into_owned();
                let (u, p) = decoded.split_once(':').ok_or_else(|| {
                    format!(".dockerconfigjson: auths.{key}.auth is not user:password")
                })?;
                (u.to_owned(), p.to_owned())
            }
            _ => continue,
        };
        if host == "index.docker.io" {
            out.insert("docker.io".to_owned(), pair.clone());
        }
        out.insert(host, pair);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_configs_by_host() {
        let auth = base64::engine::general_purpose::STANDARD.encode("u:p:q");
        let config = format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{auth}"}}, "r.example:5000": {{"username": "a", "password": "b"}}}}}}"#
        );
        let hosts = docker_config(&config).unwrap();
        assert_eq!(hosts["docker.io"], ("u".into(), "p:q".into()));
        assert_eq!(hosts["r.example:5000"], ("a".into(), "b".into()));
        let creds = Credentials { by_host: hosts };
        let nginx: Reference = "nginx".parse().unwrap();
        assert!(matches!(
            creds.for_reference(&nginx),
            RegistryAuth::Basic(..)
        ));
        let other: Reference = "quay.io/x".parse().unwrap();
        assert!(matches!(
            creds.for_reference(&other),
            RegistryAuth::Anonymous
        ));
        assert!(docker_config("{}").is_err());
    }
}
