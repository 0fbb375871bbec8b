//! What applying desired state would change: per object create / update / delete with a unified
//! diff of the YAML. Against a reachable cluster this is a server-side dry-run apply (field
//! manager `orbdeck`, as the engine applies); offline it compares desired/ with the desired/
//! of the commit the engine last applied (from current/status.yaml). Server-set noise
//! (managedFields, resourceVersion, uid, status, timestamps) never shows in a diff.

mod diff;
/// The metadata and annotations a comparison of objects leaves out (the diff view's too).
pub(crate) use diff::{NOISE, NOISY_ANNOTATIONS};
mod live;
mod orb_plan;

pub use diff::{normalize, render, unified};
pub use live::against_cluster;
pub use orb_plan::{Overlay, plan_orb};

use crate::validate::Object;
use crate::wellknown::{ObjectId, labelled, prune_disabled};
use std::collections::BTreeMap;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading the ORB repo failed.
    #[error(transparent)]
    Repo(#[from] crate::repo::RepoError),
    /// The blocking task reading the repo did not finish (it panicked or was cancelled).
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// The desired state does not validate (each diagnostic a line).
    #[error("desired state is invalid; nothing to plan:\n{}", .diagnostics.join("\n"))]
    Invalid {
        /// The diagnostics, as shown.
        diagnostics: Vec<String>,
    },
    /// A desired object does not read as a Kubernetes object.
    #[error("{id}: {source}")]
    Object {
        /// The object.
        id: Box<ObjectId>,
        /// Why it does not deserialize.
        source: serde_json::Error,
    },
    /// Reading an object, or its dry-run apply, failed (other than the API refusing it).
    #[error("{id}: {source}")]
    Request {
        /// The object.
        id: Box<ObjectId>,
        /// The client or API error.
        source: kube::Error,
    },
    /// Listing the ORB's objects of a kind failed.
    #[error("{api_version} {kind}: {source}")]
    List {
        /// The kind's apiVersion.
        api_version: String,
        /// The kind.
        kind: String,
        /// The client or API error.
        source: kube::Error,
    },
}

/// What would happen to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// It does not exist and would be created.
    Create,
    /// It exists and would change.
    Update,
    /// It is owned by the ORB, left desired/, and would be pruned.
    Delete,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Create, update or delete.
    pub action: Action,
    /// Object identity.
    pub id: ObjectId,
    /// Unified diff of the normalized YAML (before → after).
    pub diff: String,
}

/// A whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The changes, creates first, then updates, then deletes.
    pub items: Vec<Item>,
    /// Objects that would not change.
    pub unchanged: usize,
    /// What the plan was computed against, and anything the reader should know.
    pub notes: Vec<String>,
}

impl Plan {
    /// (creates, updates, deletes).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |a| self.items.iter().filter(|i| i.action == a).count();
        (n(Action::Create), n(Action::Update), n(Action::Delete))
    }

    fn sort(&mut self) {
        self.items
            .sort_by(|a, b| (a.action, &a.id).cmp(&(b.action, &b.id)));
    }
}

/// Offline plan: desired/ now against desired/ at the commit last applied (`then`).
pub fn against_commit(now: &[Object], then: &[Object], orb: &str) -> Plan {
    let index = |objs: &[Object]| -> BTreeMap<ObjectId, serde_json::Value> {
        objs.iter()
            .map(|o| (o.id(), labelled(&o.value, orb)))
            .collect()
    };
    let (now, then) = (index(now), index(then));
    let mut plan = Plan::default();
    for (id, value) in &now {
        match then.get(id) {
            None => plan.items.push(Item {
                action: Action::Create,
                id: id.clone(),
                diff: unified(None, Some(value), id),
            }),
            Some(old) if normalize(old) != normalize(value) => plan.items.push(Item {
                action: Action::Update,
                id: id.clone(),
                diff: unified(Some(old), Some(value), id),
            }),
            Some(_) => plan.unchanged += 1,
        }
    }
    for (id, old) in &then {
        if !now.contains_key(id) && !prune_disabled(old) {
            plan.items.push(Item {
                action: Action::Delete,
                id: id.clone(),
                diff: unified(Some(old), None, id),
            });
        }
    }
    plan.sort();
    plan
}
