//! The webhook server's certificate: a CA and a serving certificate made with rcgen, kept in a
//! Secret of the engine's namespace (shared by every replica), the serving certificate renewed
//! by the same CA when a third of its life is left. The CA, and so the caBundle the API server
//! trusts, stays the same across renewals: a renewal never makes a request fail.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Annotation on the Secret: when the serving certificate expires (RFC 3339).
const NOT_AFTER: &str = "orbdeck.io/not-after";
/// Annotation on the Secret: the names the serving certificate is for, comma-separated.
const NAMES: &str = "orbdeck.io/names";
/// Common name of the CA.
const CA_NAME: &str = "orbdeck-webhook-ca";
/// How long the CA lasts.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The TLS material as kept in the Secret (PEM).
#[derive(Clone, Debug, PartialEq)]
pub struct Material {
    /// The CA certificate: the caBundle.
    pub ca_crt: String,
    ca_key: String,
    /// The serving certificate.
    pub tls_crt: String,
    tls_key: String,
    /// When the serving certificate expires.
    pub not_after: chrono::DateTime<chrono::Utc>,
    /// The names it is for.
    pub names: Vec<String>,
}

/// Why the certificate could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused.
    #[error("making the webhook certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// rustls refused the key.
    #[error("loading the webhook certificate: {0}")]
    Rustls(#[from] rustls::Error),
    /// The Secret exists but holds no certificate orbdeck can read, and could not be replaced.
    #[error("Secret {0} holds no webhook certificate orbdeck can read")]
    Unreadable(String),
    /// The Secret could not be read or written.
    #[error("Secret {0}: {1}")]
    Api(String, kube::Error),
}

impl Material {
    /// A new CA and a serving certificate for `names`, valid for `validity`.
    pub fn generate(names: &[String], validity: Duration) -> Result<Material, TlsError> {
        let ca_key = KeyPair::generate()?;
        let ca = ca_params()?;
        let mut ca_full = ca.clone();
        ca_full.not_before = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        ca_full.not_after = time::OffsetDateTime::now_utc() + CA_VALIDITY;
        let ca_cert = ca_full.self_signed(&ca_key)?;
        let mut m = Material {
            ca_crt: ca_cert.pem(),
            ca_key: ca_key.serialize_pem(),
            tls_crt: String::new(),
            tls_key: String::new(),
            not_after: chrono::Utc::now(),
            names: Vec::new(),
        };
        m.renew(names, validity)?;
        Ok(m)
    }

    /// A new serving certificate for `names`, signed by the same CA.
    pub fn renew(&mut self, names: &[String], validity: Duration) -> Result<(), TlsError> {
        let ca_key = KeyPair::from_pem(&self.ca_key)?;
        let issuer = Issuer::new(ca_params()?, ca_key);
        let mut params = CertificateParams::new(names.to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "orbdeck-webhook");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        let validity = time::Duration::try_from(validity).unwrap_or(time::Duration::days(90));
        params.not_after = now + validity;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        self.tls_crt = cert.pem();
        self.tls_key = key.serialize_pem();
        self.not_after = chrono::Utc::now()
            + chrono::Duration::from_std(validity.unsigned_abs()).unwrap_or_default();
        self.names = names.to_vec();
        Ok(())
    }

    /// Whether the serving certificate should be renewed: a third of `validity` or less left,
    /// or not for `names`.
    pub fn due(&self, names: &[String], validity: Duration) -> bool {
        let left = self.not_after - chrono::Utc::now();
        let third = chrono::Duration::from_std(validity / 3).unwrap_or_default();
        left <= third || !names.iter().all(|n| self.names.contains(n))
    }

    /// The serving certificate and key as rustls wants them.
    pub fn certified_key(&self) -> Result<Arc<CertifiedKey>, TlsError> {
        let chain: Vec<CertificateDer<'static>> =
            rustls::pki_types::pem::PemObject::pem_slice_iter(self.tls_crt.as_bytes())
                .filter_map(Result::ok)
                .collect();
        let key = KeyPair::from_pem(&self.tls_key)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::sign::any_supported_type(&der)?;
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }

    fn from_secret(secret: &Secret) -> Option<Material> {
        let data = secret.data.as_ref()?;
        let text = |k: &str| String::from_utf8(data.get(k)?.0.clone()).ok();
        let ann = secret.metadata.annotations.as_ref()?;
        Some(Material {
            ca_crt: text("ca.crt")?,
            ca_key: text("ca.key")?,
            tls_crt: text("tls.crt")?,
            tls_key: text("tls.key")?,
            not_after: chrono::DateTime::parse_from_rfc3339(ann.get(NOT_AFTER)?)
                .ok()?
                .with_timezone(&chrono::Utc),
            names: ann
                .get(NAMES)?
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    fn to_secret(&self, name: &str, resource_version: Option<String>) -> Secret {
        let bytes = |s: &str| ByteString(s.as_bytes().to_vec());
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                resource_version,
                labels: Some(BTreeMap::from([(
                    crate::controllers::MANAGED_BY_LABEL.to_owned(),
                    crate::controllers::MANAGER.to_owned(),
                )])),
                annotations: Some(BTreeMap::from([
                    (
                        NOT_AFTER.to_owned(),
                        self.not_after
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
                    (NAMES.to_owned(), self.names.join(",")),
                ])),
                ..Default::default()
            },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(BTreeMap::from([
                ("ca.crt".to_owned(), bytes(&self.ca_crt)),
                ("ca.key".to_owned(), bytes(&self.ca_key)),
                ("tls.crt".to_owned(), bytes(&self.tls_crt)),
                ("tls.key".to_owned(), bytes(&self.tls_key)),
            ])),
            ..Default::default()
        }
    }
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, CA_NAME);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(ca)
}

/// The material in Secret `name`, made or renewed (and written back) when missing, unreadable,
/// near expiry or not for `names`. Replicas racing to write it: the first wins (the write is
/// conditional on the resourceVersion read) and the others take its material.
pub async fn ensure(
    secrets: &Api<Secret>,
    name: &str,
    names: &[String],
    validity: Duration,
) -> Result<Material, TlsError> {
    for _ in 0..5 {
        let found = secrets
            .get_opt(name)
            .await
            .map_err(|e| TlsError::Api(name.into(), e))?;
        let existing = found.as_ref().and_then(Material::from_secret);
        if let Some(m) = existing.as_ref().filter(|m| !m.due(names, validity)) {
            return Ok(m.clone());
        }
        let material = match existing {
            Some(mut m) => {
                m.renew(names, validity)?;
                tracing::info!(secret = name, "webhook certificate renewed (same CA)");
                m
            }
            None => {
                tracing::info!(secret = name, "webhook certificate made (new CA)");
                Material::generate(names, validity)?
            }
        };
        let written = match found {
            Some(s) => {
                let rv = s.metadata.resource_version.clone();
                secrets
                    .replace(name, &PostParams::default(), &material.to_secret(name, rv))
                    .await
            }
            None => {
                secrets
                    .create(&PostParams::default(), &material.to_secret(name, None))
                    .await
            }
        };
        match written {
            Ok(_) => return Ok(material),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(TlsError::Api(name.into(), e)),
        }
    }
    // Five lost races in a row: take whatever is there now.
    let s = secrets
        .get(name)
        .await
        .map_err(|e| TlsError::Api(name.into(), e))?;
    Material::from_secret(&s).ok_or_else(|| TlsError::Unreadable(name.into()))
}

/// The serving certificate the server presents, swapped in place on renewal: handshakes in
/// flight keep the key they started with, new ones get the new one.
#[derive(Debug)]
pub struct Resolver(RwLock<Arc<CertifiedKey>>);

impl Resolver {
    /// A resolver presenting `key`.
    pub fn new(key: Arc<CertifiedKey>) -> Resolver {
        Resolver(RwLock::new(key))
    }

    /// Presents `key` from now on.
    pub fn set(&self, key: Arc<CertifiedKey>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renewal_keeps_the_ca_and_takes_new_names() {
        let names = vec!["127.0.0.1".to_owned()];
        let mut m = Material::generate(&names, Duration::from_secs(90 * 86400)).unwrap();
        assert!(!m.due(&names, Duration::from_secs(90 * 86400)));
        let more = vec!["127.0.0.1".to_owned(), "orbdeck-webhook.x.svc".to_owned()];
        assert!(m.due(&more, Duration::from_secs(90 * 86400)));
        let (ca, crt) = (m.ca_crt.clone(), m.tls_crt.clone());
        m.renew(&more, Duration::from_secs(90 * 86400)).unwrap();
        assert_eq!(m.ca_crt, ca);
        assert_ne!(m.tls_crt, crt);
        let back = Material::from_secret(&m.to_secret("s", None)).unwrap();
        assert_eq!(back.names, more);
        back.certified_key().unwrap();
    }
}
