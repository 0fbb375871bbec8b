//! The shared vocabulary of every layer: the orbdeck.io labels and annotations, the field
//! manager, and the identity of an object. A leaf: it imports nothing of the crate.

/// The label every object applied by the engine carries, with the ORB's name.
pub const ORB_LABEL: &str = "orbdeck.io/orb";
/// The annotation that keeps an object from ever being pruned (`"false"`).
pub const PRUNE_ANNOTATION: &str = "orbdeck.io/prune";
/// The annotation that orders applying, Argo CD style: lower waves first (an integer, default
/// 0), each wave only once the ones before it are applied and healthy.
pub const SYNC_WAVE_ANNOTATION: &str = "orbdeck.io/sync-wave";
/// The field manager of the engine's server-side applies.
pub const FIELD_MANAGER: &str = "orbdeck";
/// The annotation recording a hash of what the engine applied (so an unchanged object is not
/// written again).
pub const HASH_ANNOTATION: &str = "orbdeck.io/applied-hash";
/// The annotation on a node orbdeck cordoned for an upgrade, naming the ClusterUpgrade (it is
/// uncordoned only when this is there).
pub const CORDONED_BY_ANNOTATION: &str = "orbdeck.io/cordoned-by";
/// The label on a node upgraded by orbdeck, with the version it was upgraded to.
pub const UPGRADED_TO_LABEL: &str = "orbdeck.io/upgraded-to";
/// The label on a NodeUpgrade naming its node (what the node's agent watches).
pub const NODE_LABEL: &str = "orbdeck.io/node";

/// The engine's own namespace: its Lease, its Secrets, and the ImageReplications it makes.
pub const ENGINE_NAMESPACE: &str = "orbdeck-system";

/// apiVersion, kind, namespace and name of an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    /// apiVersion.
    pub api_version: String,
    /// kind.
    pub kind: String,
    /// Namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectId {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(
                f,
                "{} {}/{} ({})",
                self.api_version, self.kind, self.name, ns
            ),
            None => write!(f, "{} {}/{}", self.api_version, self.kind, self.name),
        }
    }
}

/// The object as the engine applies it: with the ORB label.
pub fn labelled(value: &serde_json::Value, orb: &str) -> serde_json::Value {
    let mut v = value.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        let labels = meta
            .entry("labels")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(ORB_LABEL.into(), orb.into());
        }
    }
    v
}

/// The object's sync wave: its `orbdeck.io/sync-wave` annotation, 0 when absent or not an
/// integer (validation refuses the latter).
pub fn sync_wave(value: &serde_json::Value) -> i32 {
    value
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SYNC_WAVE_ANNOTATION))
        .and_then(|v| v.as_str())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the object opts out of pruning.
pub fn prune_disabled(value: &serde_json::Value) -> bool {
    value
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(PRUNE_ANNOTATION))
        .and_then(|v| v.as_str())
        == Some("false")
}
