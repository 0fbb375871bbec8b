//! The engine's controllers, in families, each in its own folder with the same parts: pure
//! builders of the objects it wants (unit-tested, no API calls) and its run-time loop.
//!
//! - [`runtime`]: what every family shares: one [`runtime::Context`], [`runtime::converge`]
//!   (slim watch caches of what the controllers made and the one routine that converges them),
//!   watched sources and the pass loop, Events, status, and [`runtime::running`] (the families of
//!   one leadership term, started and stopped together).
//! - [`profiles`]: Kubeflow Profiles (seed 001): namespace, RBAC, quotas, limit range, network and
//!   authorization policies, notebook defaults; the run-time `Controller` with its finalizer.
//! - [`pod_settings`]: PodSettings to PodDefaults and their copies in team members' namespaces
//!   (seed 000).
//! - [`addons`]: AddonTemplates stamped into every namespace they select (seed 000).
//! - [`credentials`]: RegistryCredentials' pull Secrets and imagePullSecrets entries in every
//!   namespace they select (seed 002's containership and registry controllers).
//! - [`labels`]: ClusterLabels and NodePoolLabels kept on nodes under their own field manager
//!   (seed 002's cluster and node-pool label controllers).
//! - [`images`]: pods' images rewritten at admission to a reachable registry, and the leader's
//!   replicator copying them there (seed 000's pod-image-updater and pod-image-replicator).
//! - [`environments`]: Environments rendered into runner Deployments, Services and Ingresses
//!   from the AddonTemplate serving their language, and the orchestrator API (seed 003).
//!
//! Each family has `desired.rs` (pure: what it wants, unit-tested without a cluster) and its
//! `mod.rs` (run, status, Events, report). This module holds the vocabulary the families share:
//! labels and [`Warning`].

pub mod addons;
pub mod admission;
pub mod credentials;
pub mod environments;
pub mod images;
pub mod labels;
pub mod pod_settings;
pub mod profiles;
pub mod runtime;
pub mod upgrades;

use serde_json::{Value, json};

/// Label naming the tool that manages an object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`] on everything these controllers create.
pub const MANAGER: &str = "orbdeck";
/// Label naming the Profile an object was derived from.
pub const PROFILE_LABEL: &str = "orbdeck.io/profile";
/// Label naming the family that made an object, on the fan-out families' objects (their
/// converge scope).
pub const FAMILY_LABEL: &str = "orbdeck.io/controller";

/// The object labelled as made by the family `name`.
pub fn family(mut object: Value, name: &str) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert(FAMILY_LABEL.into(), json!(name));
        }
    }
    object
}

/// The string at `pointer` in a JSON object, empty when absent.
pub fn str_at(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// StatCan's data classification label on workloads (seed 001).
pub const CLASSIFICATION_LABEL: &str = "data.statcan.gc.ca/classification";
/// The classification that restricts a workload's network and file transfers.
pub const PROTECTED_B: &str = "protected-b";

/// A problem found while computing desired objects, to report as an Event on the source object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Machine-readable reason, e.g. `InvalidQuotaLabel`.
    pub reason: String,
    /// Human-readable detail naming what is wrong and what was done instead.
    pub message: String,
}

impl Warning {
    /// Builds a warning from a reason and a message.
    pub fn new(reason: &str, message: impl Into<String>) -> Warning {
        Warning {
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}
