//! TLS material for the embedded API server and test webhooks: a throw-away CA (rcgen) and
//! leaf certificates for loopback names, plus the rustls server configuration.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// A CA with one server certificate signed by it, all in memory.
pub struct TlsBundle {
    /// PEM of the CA certificate (what clients trust).
    pub ca_pem: String,
    /// The server certificate chain (DER).
    pub chain: Vec<CertificateDer<'static>>,
    /// The server key (PKCS#8 DER).
    pub key_der: Vec<u8>,
}

/// Errors making certificates.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused the parameters.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// rustls refused the material.
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsBundle {
    /// A fresh CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and `extra` names.
    pub fn generate(extra: &[String]) -> Result<Self, TlsError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "orbdeck-sim-ca");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
        let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
        names.extend(extra.iter().cloned());
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "orbdeck-sim");
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;
        Ok(TlsBundle {
            ca_pem: ca.pem(),
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
        })
    }

    /// A rustls server configuration offering HTTP/2 and HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
