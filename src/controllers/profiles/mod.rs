//! The Profile controller at run time: kube-runtime's `Controller` over Profiles (bounded
//! concurrency, per-object backoff), the finalizer `profile-finalizer`, the namespace adoption
//! rule, every derived object converged through the runtime's caches, conditions on the Profile
//! (server-side apply, only when they change), and warnings as Events (once per distinct warning
//! set, not once per reconcile). Collaborators come from a watched cache of RoleBindings, so a
//! converged Profile costs no API request.

pub mod authorization;
pub mod desired;
pub mod limitrange;
pub mod namespace;
pub mod network_policies;
pub mod notebook_defaults;
pub mod quotas;
pub mod report;

use crate::controllers::PROFILE_LABEL;
use crate::controllers::runtime::converge::{Converged, key};
use crate::controllers::runtime::{Context, events, status, watch};
use crate::model::{Condition, Profile, ProfileSettings};
use desired::{Inputs, desired_children, profile_name};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::store::WriterDropped;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The finalizer Kubeflow's profile controller puts on every Profile.
pub const FINALIZER: &str = "profile-finalizer";

/// The apiVersion of Istio's AuthorizationPolicy as the controllers write it.
pub const ISTIO_API: &str = "security.istio.io/v1beta1";

/// Every kind a Profile's children may have: what is looked at when removing leftovers.
pub const KINDS: [(&str, &str); 8] = [
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("kubeflow.org/v1alpha1", "PodDefault"),
    (ISTIO_API, "AuthorizationPolicy"),
];

/// Reconciles in flight at once.
const CONCURRENCY: u16 = 16;

/// Longest wait between retries of a failing Profile.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A reconcile that did not complete; the Profile is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The watched cache of RoleBindings did not list within 30 s.
    #[error("rolebindings: not listed within 30 s")]
    RoleBindingsNotListed,
    /// The watched cache of RoleBindings stopped before it listed.
    #[error("rolebindings: {0}")]
    RoleBindings(#[source] WriterDropped),
    /// The cache of a kind could not be started or filled (the runtime's message).
    #[error("{0}")]
    Cache(String),
    /// Reading the Profile's namespace failed.
    #[error("namespace {name}: {source}")]
    Namespace {
        /// The namespace.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// Writing the Profile's conditions failed.
    #[error("profile {profile} status: {source}")]
    Status {
        /// The Profile.
        profile: String,
        /// The API error.
        source: kube::Error,
    },
    /// Some derived objects could not be written (each the converger's message).
    #[error("profile {profile}: {}", .errors.join("; "))]
    Apply {
        /// The Profile.
        profile: String,
        /// What failed, one message per object.
        errors: Vec<String>,
    },
    /// Some derived objects could not be deleted after the Profile went.
    #[error("profile {profile}: clean-up: {}", .errors.join("; "))]
    CleanUp {
        /// The Profile.
        profile: String,
        /// What failed, one message per object.
        errors: Vec<String>,
    },
    /// The finalizer's work failed (its root cause shown first).
    #[error("profile {profile}: {}", crate::text::error_chain(.source))]
    Finalizer {
        /// The Profile.
        profile: String,
        /// What the finalizer reported.
        source: Box<finalizer::Error<ReconcileError>>,
    },
}

/// What the last reconcile of one Profile found, for current/profiles.yaml.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Objects that could not be written and other errors.
    pub errors: Vec<String>,
    /// Warnings (bad quota labels and the like).
    pub warnings: Vec<String>,
}

/// What reconciling Profiles needs: the families' context and the family's own memory.
pub struct Ctx {
    /// Client, caches, metrics, events and settings shared by every family.
    pub context: Arc<Context>,
    outcomes: Mutex<BTreeMap<String, Outcome>>,
    failures: Mutex<HashMap<String, u32>>,
    profiles: Mutex<Option<Store<Profile>>>,
    rolebindings: tokio::sync::OnceCell<Store<RoleBinding>>,
}

impl Ctx {
    /// A context with no history.
    pub fn new(context: Arc<Context>) -> Ctx {
        Ctx {
            context,
            outcomes: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(HashMap::new()),
            profiles: Mutex::new(None),
            rolebindings: tokio::sync::OnceCell::new(),
        }
    }

    /// The controller's cache of Profiles, once it runs.
    pub fn profiles(&self) -> Option<Store<Profile>> {
        lock(&self.profiles).clone()
    }

    /// The last outcome of every Profile reconciled, by name.
    pub fn outcomes(&self) -> BTreeMap<String, Outcome> {
        lock(&self.outcomes).clone()
    }

    /// The watched cache of every RoleBinding, started on first use and listed before it is
    /// returned.
    async fn rolebindings(&self) -> Result<&Store<RoleBinding>, ReconcileError> {
        let store = self
            .rolebindings
            .get_or_init(|| async {
                let api: Api<RoleBinding> = Api::all(self.context.client.clone());
                watch::source(api, &self.context.shutdown).store()
            })
            .await;
        tokio::time::timeout(Duration::from_secs(30), store.wait_until_ready())
            .await
            .map_err(|_| ReconcileError::RoleBindingsNotListed)?
            .map_err(ReconcileError::RoleBindings)?;
        Ok(store)
    }
}

/// Runs the Profile controller until the term ends.
pub async fn run(ctx: Arc<Ctx>) {
    if !ctx
        .context
        .served("profiles", &[("kubeflow.org/v1", "Profile")])
        .await
    {
        return;
    }
    let shutdown = ctx.context.shutdown.clone();
    let client = ctx.context.client.clone();
    let profiles: Api<Profile> = Api::all(client);
    // A derived object deleted or changed by someone else: reconcile its Profile now.
    let changes = futures::stream::unfold(ctx.context.converge.changes(), |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(change) => {
                    if let Some(name) = change.labels.get(PROFILE_LABEL) {
                        return Some((ObjectRef::<Profile>::new(name), rx));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // New settings: every Profile again.
    let settings = futures::stream::unfold(ctx.context.settings.clone(), |mut rx| async move {
        rx.changed().await.ok().map(|_| ((), rx))
    });
    // The cached Profiles keep no managedFields: nothing reads them, and they are most of a
    // Profile's size once the finalizer and the status have been written.
    let (reader, writer) = reflector::store();
    let watched = watcher::watcher(profiles, watcher::Config::default())
        .default_backoff()
        .modify(|p: &mut Profile| p.metadata.managed_fields = None)
        .reflect(writer)
        .applied_objects();
    let controller = Controller::for_stream(watched, reader);
    *lock(&ctx.profiles) = Some(controller.store());
    controller
        .with_config(controller::Config::default().concurrency(CONCURRENCY))
        .reconcile_on(changes)
        .reconcile_all_on(settings)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// Reconciles one Profile: adds the finalizer, converges its children, or cleans up after it.
pub async fn reconcile(profile: Arc<Profile>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let name = profile_name(&profile).to_owned();
    let api: Api<Profile> = Api::all(ctx.context.client.clone());
    let result = finalizer(&api, FINALIZER, profile, |event| async {
        match event {
            FinalizerEvent::Apply(p) => apply(&p, &ctx).await,
            FinalizerEvent::Cleanup(p) => cleanup(&p, &ctx).await,
        }
    })
    .await
    .map_err(|source| ReconcileError::Finalizer {
        profile: name.clone(),
        source: Box::new(source),
    });
    ctx.context
        .metrics
        .record_reconcile("profile", started.elapsed(), result.is_ok());
    if result.is_ok() {
        lock(&ctx.failures).remove(&name);
    }
    ctx.context
        .metrics
        .set_queue_depth(lock(&ctx.failures).len());
    result
}

/// Retries a failed Profile after 1 s, 2 s, 4 s ... up to five minutes.
pub fn error_policy(profile: Arc<Profile>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    let name = profile_name(&profile).to_owned();
    let mut failures = lock(&ctx.failures);
    let n = failures.entry(name).or_default();
    *n = n.saturating_add(1);
    tracing::warn!(%error, attempt = *n, "profile reconcile failed");
    let wait = Duration::from_secs(1 << (*n - 1).min(9)).min(MAX_BACKOFF);
    Action::requeue(wait)
}

async fn apply(profile: &Profile, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let name = profile_name(profile).to_owned();
    let settings = ctx.context.settings.borrow().clone();
    if let Some(conflict) = namespace_conflict(profile, ctx).await? {
        record(ctx, &name, vec![conflict.clone()], Vec::new());
        set_conditions(profile, ctx, status::failed("NamespaceConflict", &conflict)).await?;
        return Ok(Action::requeue(ctx.context.resync));
    }
    let istio = ctx
        .context
        .converge
        .serves(ISTIO_API, "AuthorizationPolicy")
        .await;
    let collaborators = if istio {
        let bindings = ctx.rolebindings().await?;
        collaborators(bindings, &name)
    } else {
        Vec::new()
    };
    let inputs = Inputs {
        settings: &settings,
        network: &settings.network_policies,
        authorization: &settings.authorization,
        istio,
        collaborators: &collaborators,
    };
    let (children, warnings) = desired_children(profile, &inputs);
    let Converged { writes, errors } = ctx
        .context
        .converge
        .converge((PROFILE_LABEL, &name), &KINDS, children)
        .await;
    if writes > 0 {
        remove_namespace_labels(ctx, &name, &settings).await;
    }
    let warning_text: Vec<String> = warnings.iter().map(|w| w.message.clone()).collect();
    record(ctx, &name, errors.clone(), warning_text);
    ctx.context
        .recorder
        .warn(&events::reference(profile), &warnings)
        .await;
    if errors.is_empty() {
        set_conditions(profile, ctx, status::ready("Reconciled")).await?;
        Ok(Action::requeue(ctx.context.resync))
    } else {
        let message = errors.join("; ");
        set_conditions(profile, ctx, status::failed("ApplyFailed", &message)).await?;
        Err(ReconcileError::Apply {
            profile: name,
            errors,
        })
    }
}

/// Deletes everything derived from the Profile (its namespace first among them).
async fn cleanup(profile: &Profile, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let name = profile_name(profile).to_owned();
    let Converged { errors, .. } = ctx
        .context
        .converge
        .converge((PROFILE_LABEL, &name), &KINDS, Vec::new())
        .await;
    ctx.context.recorder.forget(&events::reference(profile));
    if !errors.is_empty() {
        return Err(ReconcileError::CleanUp {
            profile: name,
            errors,
        });
    }
    lock(&ctx.outcomes).remove(&name);
    Ok(Action::await_change())
}

/// Why the Profile's namespace may not be adopted (the message for its Failed condition), when
/// it exists and may not be.
async fn namespace_conflict(
    profile: &Profile,
    ctx: &Ctx,
) -> Result<Option<String>, ReconcileError> {
    let name = profile_name(profile);
    let namespaces = ctx
        .context
        .converge
        .kind("v1", "Namespace")
        .await
        .map_err(ReconcileError::Cache)?;
    if let Some(ours) = namespaces.get(&key(None, name)) {
        return Ok(match ours.labels.get(PROFILE_LABEL) {
            Some(p) if p == name => None,
            other => Some(format!(
                "namespace {name:?} is managed by orbdeck for {}; it is not adopted",
                other.map_or("another controller".to_owned(), |p| format!(
                    "profile {p:?}"
                ))
            )),
        });
    }
    let api: Api<Namespace> = Api::all(ctx.context.client.clone());
    let existing = api
        .get_opt(name)
        .await
        .map_err(|source| ReconcileError::Namespace {
            name: name.to_owned(),
            source,
        })?;
    Ok(existing.and_then(|ns| {
        let value = serde_json::to_value(ns).unwrap_or_default();
        namespace::adoptable(&value, profile).err()
    }))
}

/// Users given edit access in the namespace (RoleBindings annotated `role: edit`).
fn collaborators(bindings: &Store<RoleBinding>, namespace: &str) -> Vec<String> {
    let values: Vec<serde_json::Value> = bindings
        .state()
        .iter()
        .filter(|rb| rb.metadata.namespace.as_deref() == Some(namespace))
        .filter_map(|rb| serde_json::to_value(rb.as_ref()).ok())
        .collect();
    authorization::collaborators(&values)
}

/// Removes the namespace labels the settings ask to remove (keys with an empty value) when some
/// other writer put them there.
async fn remove_namespace_labels(ctx: &Ctx, name: &str, settings: &ProfileSettings) {
    let removed = namespace::removed_labels(settings);
    if removed.is_empty() {
        return;
    }
    let api: Api<Namespace> = Api::all(ctx.context.client.clone());
    let Ok(Some(ns)) = api.get_opt(name).await else {
        return;
    };
    let present = ns.metadata.labels.unwrap_or_default();
    let patch: serde_json::Map<String, serde_json::Value> = removed
        .into_iter()
        .filter(|k| present.contains_key(k))
        .map(|k| (k, serde_json::Value::Null))
        .collect();
    if !patch.is_empty() {
        let body = json!({"metadata": {"labels": patch}});
        if let Err(e) = api
            .patch(name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            tracing::warn!(namespace = name, error = %e, "removing namespace labels");
        }
    }
}

/// Records a Profile's outcome.
fn record(ctx: &Ctx, name: &str, errors: Vec<String>, warnings: Vec<String>) {
    lock(&ctx.outcomes).insert(name.to_owned(), Outcome { errors, warnings });
}

/// Writes the Profile's conditions (server-side apply) unless they already say the same
/// (transition times kept).
async fn set_conditions(
    profile: &Profile,
    ctx: &Ctx,
    conditions: Vec<Condition>,
) -> Result<(), ReconcileError> {
    let current = profile
        .status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let conditions = status::keep_times(&current, conditions);
    let name = profile_name(profile);
    let api: Api<Profile> = Api::all(ctx.context.client.clone());
    status::apply(
        &api,
        name,
        Some(serde_json::json!({ "conditions": current })),
        serde_json::json!({ "conditions": conditions }),
    )
    .await
    .map(|_| ())
    .map_err(|source| ReconcileError::Status {
        profile: name.to_owned(),
        source,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
