//! The credentials a restarted sim keeps with `--state-dir`, so that it is the same cluster to
//! its clients: the CA and serving certificate, and per cluster the admin's bearer token and the
//! key that signs ServiceAccount tokens. Written once, private to the owner.

use crate::tls::TlsBundle;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};
use std::path::Path;

/// The admin token and signing key of one cluster.
pub struct ClusterSecrets {
    /// The admin's bearer token.
    pub token: String,
    /// The ServiceAccount token signing key.
    pub signing_key: Vec<u8>,
}

/// The TLS bundle kept in `dir`, or a new one saved there.
pub fn tls(dir: &Path) -> std::io::Result<TlsBundle> {
    let path = dir.join("tls.json");
    if let Some(v) = read(&path)? {
        let bytes = |k: &str| B64.decode(v[k].as_str().unwrap_or_default()).ok();
        if let (Some(ca), Some(cert), Some(key)) = (v["ca"].as_str(), bytes("cert"), bytes("key")) {
            return Ok(TlsBundle {
                ca_pem: ca.to_string(),
                chain: vec![CertificateDer::from(cert)],
                key_der: key,
            });
        }
    }
    let bundle = TlsBundle::generate(&[]).map_err(std::io::Error::other)?;
    let chain = bundle
        .chain
        .first()
        .map(|c| B64.encode(c.as_ref()))
        .unwrap_or_default();
    write(
        &path,
        &json!({"ca": bundle.ca_pem, "cert": chain, "key": B64.encode(&bundle.key_der)}),
    )?;
    Ok(bundle)
}

/// The secrets of cluster `name` kept in `dir`, or new ones saved there.
pub fn cluster(dir: &Path, name: &str) -> std::io::Result<ClusterSecrets> {
    let path = dir.join(format!("{name}.credentials.json"));
    if let Some(v) = read(&path)?
        && let (Some(token), Some(key)) = (
            v["token"].as_str(),
            v["signingKey"].as_str().and_then(|k| B64.decode(k).ok()),
        )
    {
        return Ok(ClusterSecrets {
            token: token.to_string(),
            signing_key: key,
        });
    }
    let secrets = fresh();
    write(
        &path,
        &json!({"token": secrets.token, "signingKey": B64.encode(&secrets.signing_key)}),
    )?;
    Ok(secrets)
}

/// New secrets for a cluster that keeps no state.
pub fn fresh() -> ClusterSecrets {
    ClusterSecrets {
        token: uuid::Uuid::new_v4().simple().to_string(),
        signing_key: (0..32).map(|_| rand::random::<u8>()).collect(),
    }
}

fn read(path: &Path) -> std::io::Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write(path: &Path, v: &Value) -> std::io::Result<()> {
    std::fs::write(path, v.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
