//! One exact image copy between registries (the replicator's work): the manifest pulled raw,
//! every blob the target lacks streamed across in ~4 MiB chunks (never a whole layer in memory)
//! or mounted when both sides are one registry, an index's children pushed by digest before the
//! index, and manifests pushed raw so that every digest is unchanged. A copy interrupted and
//! started again skips the blobs already there.

use super::registry::Credentials;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciDescriptor,
};
use oci_client::{Client, Reference};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes sent per upload request.
pub const CHUNK: usize = 4 * 1024 * 1024;

/// Manifest media types asked for, image indexes included.
const ACCEPTED: [&str; 4] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

/// The most manifests one image may have (an index and its children).
const MAX_MANIFESTS: usize = 256;

/// How a copy ended well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Copied {
    /// The target held the image already, with this manifest digest.
    AlreadyPresent(String),
    /// Copied; the manifest digest (the same at both ends).
    Copied(String),
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A registry refused or failed a request.
    #[error("{what}: {source}")]
    Registry {
        /// What was being done.
        what: String,
        /// The registry's answer.
        source: OciDistributionError,
    },
    /// A manifest that cannot be copied as it is.
    #[error("{0}")]
    Manifest(String),
}

/// Progress of a copy, read while it runs.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Bytes of blobs copied or found present.
    pub copied: Arc<AtomicU64>,
    /// Bytes of every blob, once the manifests are read.
    pub total: Arc<AtomicU64>,
}

/// One manifest to push, with what it refers to.
struct Manifest {
    digest: String,
    body: Bytes,
    media_type: String,
    blobs: Vec<OciDescriptor>,
}

fn registry(what: impl Into<String>) -> impl FnOnce(OciDistributionError) -> CopyError {
    let what = what.into();
    move |source| CopyError::Registry { what, source }
}

/// Copies `source` to `destination` exactly.
pub async fn copy(
    client: &Client,
    credentials: &Credentials,
    source: &Reference,
    destination: &Reference,
    progress: &Progress,
) -> Result<Copied, CopyError> {
    let (src_auth, dst_auth) = (
        credentials.for_reference(source),
        credentials.for_reference(destination),
    );
    let (body, digest) = client
        .pull_manifest_raw(source, &src_auth, &ACCEPTED)
        .await
        .map_err(registry(format!("pulling the manifest of {source}")))?;
    let root = manifest(digest.clone(), body)?;
    if let Ok(there) = client.fetch_manifest_digest(destination, &dst_auth).await
        && there == digest
    {
        return Ok(Copied::AlreadyPresent(digest));
    }
    // The children of an index (and theirs), read before any blob moves so the total is known.
    let mut children: Vec<Manifest> = Vec::new();
    let mut queue: Vec<OciDescriptor> = children_of(&root);
    while let Some(child) = queue.pop() {
        if children.len() >= MAX_MANIFESTS {
            return Err(CopyError::Manifest(format!(
                "{source} has more than {MAX_MANIFESTS} manifests"
            )));
        }
        if children.iter().any(|m| m.digest == child.digest) {
            continue;
        }
        let by_digest = source.clone_with_digest(child.digest.clone());
        let (body, digest) = client
            .pull_manifest_raw(&by_digest, &src_auth, &ACCEPTED)
            .await
            .map_err(registry(format!("pulling the manifest {}", child.digest)))?;
        let m = manifest(digest, body)?;
        queue.extend(children_of(&m));
        children.push(m);
    }
    let mut blobs: Vec<&OciDescriptor> = Vec::new();
    let mut seen = HashSet::new();
    for m in children.iter().chain(std::iter::once(&root)) {
        for b in &m.blobs {
            if seen.insert(b.digest.clone()) {
                blobs.push(b);
            }
        }
    }
    let total: i64 = blobs.iter().map(|b| b.size.max(0)).sum();
    progress
        .total
        .store(u64::try_from(total).unwrap_or(0), Ordering::Relaxed);
    progress.copied.store(0, Ordering::Relaxed);
    let same_registry = source.resolve_registry() == destination.resolve_registry();
    for blob in blobs {
        copy_blob(client, source, destination, blob, same_registry, progress).await?;
    }
    // Children first (by digest), deepest last read first, so every manifest's references
    // exist when it is pushed.
    for m in children.iter().rev() {
        let at = Reference::with_digest(
            destination.registry().to_owned(),
            destination.repository().to_owned(),
            m.digest.clone(),
        );
        push_manifest(client, &at, m).await?;
    }
    let at = match destination.tag() {
        Some(tag) => Reference::with_tag(
            destination.registry().to_owned(),
            destination.repository().to_owned(),
            tag.to_owned(),
        ),
        None => destination.clone(),
    };
    push_manifest(client, &at, &root).await?;
    let there = client
        .fetch_manifest_digest(&at, &dst_auth)
        .await
        .map_err(registry(format!("checking {destination}")))?;
    if there != digest {
        return Err(CopyError::Manifest(format!(
            "{destination} has digest {there} after the push, not the source's {digest}"
        )));
    }
    Ok(Copied::Copied(digest))
}

/// The manifest of `body`: its media type (from the document when the registry's answer is not
/// at hand) and the blobs it names.
fn manifest(digest: String, body: Bytes) -> Result<Manifest, CopyError> {
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| CopyError::Manifest(format!("manifest {digest} is not JSON: {e}")))?;
    let media_type = match doc.get("mediaType").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None if doc.get("manifests").is_some() => OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned(),
        None if doc.get("layers").is_some() => OCI_IMAGE_MEDIA_TYPE.to_owned(),
        None => {
            return Err(CopyError::Manifest(format!(
                "manifest {digest} has no mediaType, layers or manifests (a schema 1 manifest cannot be copied exactly)"
            )));
        }
    };
    let mut blobs = Vec::new();
    let descriptors = doc
        .get("config")
        .into_iter()
        .chain(
            doc.get("layers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .chain(
            doc.get("blobs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    for d in descriptors {
        blobs.push(descriptor(d, &digest)?);
    }
    Ok(Manifest {
        digest,
        body,
        media_type,
        blobs,
    })
}

fn descriptor(d: &Value, manifest: &str) -> Result<OciDescriptor, CopyError> {
    serde_json::from_value(d.clone())
        .map_err(|e| CopyError::Manifest(format!("manifest {manifest}: a descriptor: {e}")))
}

/// The manifests an index names (none for an image manifest).
fn children_of(m: &Manifest) -> Vec<OciDescriptor> {
    let Ok(doc) = serde_json::from_slice::<Value>(&m.body) else {
        return Vec::new();
    };
    doc.get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| descriptor(d, &m.digest).ok())
        .collect()
}

async fn push_manifest(client: &Client, at: &Reference, m: &Manifest) -> Result<(), CopyError> {
    let content_type = m
        .media_type
        .parse()
        .map_err(|_| CopyError::Manifest(format!("media type {:?}", m.media_type)))?;
    client
        .push_manifest_raw(at, m.body.clone(), content_type)
        .await
        .map_err(registry(format!(
            "pushing the manifest {} to {at}",
            m.digest
        )))?;
    Ok(())
}

/// One blob to the target: skipped when there, mounted within one registry, else streamed.
async fn copy_blob(
    client: &Client,
    source: &Reference,
    destination: &Reference,
    blob: &OciDescriptor,
    same_registry: bool,
    progress: &Progress,
) -> Result<(), CopyError> {
    let size = u64::try_from(blob.size.max(0)).unwrap_or(0);
    let exists = client
        .blob_exists(destination, &blob.digest)
        .await
        .map_err(registry(format!(
            "looking for blob {} at the target",
            blob.digest
        )))?;
    if exists {
        progress.copied.fetch_add(size, Ordering::Relaxed);
        return Ok(());
    }
    if same_registry
        && client
            .mount_blob(destination, source, &blob.digest)
            .await
            .is_ok()
    {
        progress.copied.fetch_add(size, Ordering::Relaxed);
        return Ok(());
    }
    let stream = client
        .pull_blob_stream(source, blob)
        .await
        .map_err(registry(format!("pulling blob {}", blob.digest)))?;
    let counter = progress.copied.clone();
    let chunks = rechunk(stream).inspect(move |c| {
        if let Ok(c) = c {
            counter.fetch_add(c.len() as u64, Ordering::Relaxed);
        }
    });
    client
        .push_blob_stream(destination, chunks, &blob.digest, Some(size))
        .await
        .map_err(registry(format!("pushing blob {}", blob.digest)))?;
    Ok(())
}

/// The pieces of a download regrouped into chunks of [`CHUNK`] bytes (the last one shorter),
/// so an upload takes few requests and holds at most about one chunk.
fn rechunk(
    pieces: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, OciDistributionError>> + Send + 'static {
    let state = (Box::pin(pieces), BytesMut::new(), false);
    futures::stream::unfold(state, |(mut pieces, mut buf, done)| async move {
        if done {
            return None;
        }
        loop {
            match pieces.next().await {
                Some(Ok(piece)) => {
                    buf.extend_from_slice(&piece);
                    if buf.len() >= CHUNK {
                        let chunk = buf.split_to(CHUNK).freeze();
                        return Some((Ok(chunk), (pieces, buf, false)));
                    }
                }
                Some(Err(e)) => return Some((Err(e.into()), (pieces, buf, true))),
                None if buf.is_empty() => return None,
                None => {
                    let chunk = buf.split().freeze();
                    return Some((Ok(chunk), (pieces, buf, true)));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pieces_are_regrouped_into_chunks() {
        let pieces: Vec<std::io::Result<Bytes>> = (0..1000)
            .map(|_| Ok(Bytes::from(vec![7u8; 10_000])))
            .collect();
        let chunks: Vec<Bytes> = rechunk(futures::stream::iter(pieces))
            .map(|c| c.unwrap())
            .collect()
            .await;
        let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(sizes, vec![CHUNK, CHUNK, 10_000_000 - 2 * CHUNK]);
    }

    #[test]
    fn manifests_name_their_blobs_and_children() {
        let image = manifest(
            "sha256:1".into(),
            Bytes::from_static(
                br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:c","size":2},
                "layers":[{"mediaType":"b","digest":"sha256:l","size":5}]}"#,
            ),
        )
        .unwrap();
        assert_eq!(image.media_type, OCI_IMAGE_MEDIA_TYPE);
        assert_eq!(image.blobs.len(), 2);
        let index = manifest(
            "sha256:2".into(),
            Bytes::from_static(
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
                "manifests":[{"mediaType":"x","digest":"sha256:1","size":9}]}"#,
            ),
        )
        .unwrap();
        assert_eq!(children_of(&index)[0].digest, "sha256:1");
        assert!(manifest("sha256:3".into(), Bytes::from_static(b"{}")).is_err());
    }
}
