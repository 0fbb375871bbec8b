//! A real OCI registry for the tests (Debian's `docker-registry`, distribution 2.8, plain HTTP on
//! a loopback port, filesystem storage in a temporary directory), and images built and pushed
//! to it with oci-client: random layers, multi-platform indexes, a large layer streamed.

use bytes::Bytes;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A registry process; killed when dropped.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry on a free loopback port and waits until it answers `/v2/`.
    pub fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry runs (scripts/test installs it)");
        let registry = Registry { host, child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {}: {}",
                registry.host,
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// What the registry logged (its access log among it).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// How many requests of `method` to a path containing `path` it answered.
    pub fn requests(&self, method: &str, path: &str) -> usize {
        let needle = format!("\"{method} /v2/");
        self.log()
            .lines()
            .filter(|l| l.contains(&needle) && l.contains(path))
            .count()
    }

    /// `HOST/REPO:TAG`.
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client speaking plain HTTP to every registry.
pub fn client() -> Client {
    orbdeck::controllers::images::registry::install_tls_provider();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

fn digest(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

fn random(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rng().fill_bytes(&mut data);
    data
}

/// Pushes an image of `layers` random layers of `size` bytes (plus one of `big` bytes streamed
/// in 4 MiB pieces when non-zero) for `platform` to `reference`; returns its manifest digest
/// and its manifest's size.
pub async fn push_image(
    reference: &str,
    layers: usize,
    size: usize,
    big: u64,
    platform: (&str, &str),
) -> (String, usize) {
    let client = client();
    let target: Reference = reference.parse().unwrap();
    let mut descriptors = Vec::new();
    for _ in 0..layers {
        let data = random(size);
        let d = digest(&data);
        client
            .push_blob(&target, Bytes::from(data), &d)
            .await
            .expect("layer pushed");
        descriptors.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": size}));
    }
    if big > 0 {
        let piece = Bytes::from(random(4 * 1024 * 1024));
        let pieces = big.div_ceil(piece.len() as u64);
        let last = big - (pieces - 1) * piece.len() as u64;
        let stream = futures::stream::iter((0..pieces).map(move |i| {
            let mut p = piece.clone();
            // Each piece differs in its first byte so the layer is not one repeated block.
            let mut v = p.to_vec();
            v[0] = (i % 251) as u8;
            p = Bytes::from(v);
            if i == pieces - 1 {
                p.truncate(last as usize);
            }
            Ok(p)
        }));
        let pushed = client
            .push_blob_stream_chunked(&target, stream)
            .await
            .expect("large layer pushed");
        descriptors.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": pushed.blob_digest, "size": pushed.size}));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": platform.1,
        "os": platform.0,
        "rootfs": {"type": "layers", "diff_ids": descriptors.iter().map(|d| d["digest"].clone()).collect::<Vec<_>>()},
    }))
    .unwrap();
    let config_digest = digest(&config);
    let config_size = config.len();
    client
        .push_blob(&target, Bytes::from(config), &config_digest)
        .await
        .expect("config pushed");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": descriptors,
    }))
    .unwrap();
    let manifest_digest = digest(&manifest);
    let len = manifest.len();
    client
        .push_manifest_raw(&target, manifest, OCI_IMAGE_MEDIA_TYPE.parse().unwrap())
        .await
        .expect("manifest pushed");
    (manifest_digest, len)
}

/// Pushes an index of two platforms (linux/amd64 and linux/arm64, two small layers each) to
/// `reference`; returns the index's digest and its children's digests.
pub async fn push_index(reference: &str) -> (String, Vec<String>) {
    let target: Reference = reference.parse().unwrap();
    let repo = format!("{}/{}", target.registry(), target.repository());
    let mut children = Vec::new();
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let (d, size) =
            push_image(&format!("{repo}:{arch}"), 2, 64 * 1024, 0, ("linux", arch)).await;
        entries.push(json!({"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": d, "size": size, "platform": {"os": "linux", "architecture": arch}}));
        children.push(d);
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE,
        "manifests": entries,
    }))
    .unwrap();
    let d = digest(&index);
    client()
        .push_manifest_raw(&target, index, OCI_IMAGE_INDEX_MEDIA_TYPE.parse().unwrap())
        .await
        .expect("index pushed");
    (d, children)
}

/// The manifest digest `reference` has, or `None`.
pub async fn digest_of(reference: &str) -> Option<String> {
    let r: Reference = reference.parse().unwrap();
    client()
        .fetch_manifest_digest(&r, &RegistryAuth::Anonymous)
        .await
        .ok()
}
