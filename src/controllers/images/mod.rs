//! The images family (seed 000's pod-image-updater and pod-image-replicator): pods admitted with
//! their images rewritten to a registry the cluster can reach ([`admission`], on every engine
//! replica, the pure rewrite in [`desired`]), and, on the leader only, the replicator: it watches
//! ImageReplications and copies each image exactly ([`copy`]) with at most the policy's
//! `concurrency` copies at once, retrying failures after a jittered exponential delay
//! ([`schedule`]) until `maxAttempts`, each step in the object's status and in
//! `current/replications.yaml`, and a Warning Event when it gives up.

pub mod admission;
pub mod copy;
pub mod desired;
pub mod presence;
pub mod registry;
pub mod schedule;

use crate::controllers::runtime::{Context, status, watch};
use crate::model::{
    ImageReplication, ImageReplicationPolicy, ImageReplicationStatus, ReplicationPhase,
};
use crate::wellknown::ENGINE_NAMESPACE;
use copy::{Copied, Progress};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use schedule::Step;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The family's name (metrics label).
pub const FAMILY: &str = "images";

/// Where the family's report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/replications.yaml";

/// How often a running copy's progress is written to its status.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// `current/replications.yaml`: every ImageReplication as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// How many are `Failed` (to be retried) or `MaxAttemptsExceeded`.
    pub failed: usize,
    /// One entry per image, by name.
    pub replications: Vec<ReplicationReport>,
}

/// One image copy as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationReport {
    /// The ImageReplication's name.
    pub name: String,
    /// Image copied from.
    pub source: String,
    /// Image copied to.
    pub destination: String,
    /// Its phase.
    pub phase: String,
    /// Why, e.g. `AlreadyPresent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Attempts made, of the policy's `maxAttempts`.
    pub attempts: String,
    /// Bytes copied of the total, in this attempt.
    pub bytes: String,
    /// The last attempt's message (the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One OCI client per policy, kept while its spec and credentials stay the same (its
/// connections and registry tokens are reused by the next copies).
type Clients = Arc<
    Mutex<
        HashMap<
            String,
            (
                crate::model::ImageReplicationPolicySpec,
                registry::Credentials,
                oci_client::Client,
            ),
        >,
    >,
>;

/// This engine's copies.
#[derive(Default)]
struct Copies {
    /// Copies under way, by ImageReplication name: their policy and progress.
    running: HashMap<String, (String, Progress)>,
    /// Copies whose outcome this engine wrote but the watch may not show yet, by name: the
    /// object's uid and the attempt (so a lagging watch never starts the same copy again, and
    /// an object made again under the name starts afresh).
    written: HashMap<String, (String, u32)>,
}

/// This engine's copies, shared by the passes and the copy tasks.
type Running = Arc<Mutex<Copies>>;

/// Runs the replicator until the term ends; `report` holds the last pass's report.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<Report>>>) {
    let kinds = [
        ("orbdeck.io/v1alpha1", "ImageReplication"),
        ("orbdeck.io/v1alpha1", "ImageReplicationPolicy"),
    ];
    if !ctx.served("images", &kinds).await {
        return;
    }
    registry::install_tls_provider();
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let replications = watch::store::<ImageReplication>(
        Api::namespaced(client.clone(), ENGINE_NAMESPACE),
        &wake,
        &ctx.shutdown,
    );
    let policies = watch::store::<ImageReplicationPolicy>(Api::all(client), &wake, &ctx.shutdown);
    let running: Running = Arc::default();
    let clients: Clients = Arc::default();
    let waiting: Arc<Mutex<HashSet<(String, i64)>>> = Arc::default();
    wake.notify_one();
    let pass_ctx = ctx.clone();
    let pass_wake = wake.clone();
    watch::passes(ctx, FAMILY, wake, move || {
        let (ctx, wake) = (pass_ctx.clone(), pass_wake.clone());
        let (replications, policies) = (replications.clone(), policies.clone());
        let (running, waiting, report) = (running.clone(), waiting.clone(), report.clone());
        let clients = clients.clone();
        async move {
            let ok = pass(
                &ctx,
                &wake,
                (&replications, &policies),
                (&running, &clients),
                &waiting,
            )
            .await;
            let built = build_report(&replications, &running);
            *lock(&report) = Some(built);
            ok
        }
    })
    .await;
}

/// One pass: every ImageReplication's step taken; copies started within each policy's
/// concurrency.
async fn pass(
    ctx: &Arc<Context>,
    wake: &Arc<Notify>,
    (replications, policies): (&Store<ImageReplication>, &Store<ImageReplicationPolicy>),
    (running, clients): (&Running, &Clients),
    waiting: &Arc<Mutex<HashSet<(String, i64)>>>,
) -> bool {
    let mut all = replications.state();
    all.sort_by(|a, b| {
        let key = |r: &ImageReplication| {
            (
                r.metadata.creation_timestamp.clone(),
                r.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    let now = Timestamp::now().as_millisecond();
    let api: Api<ImageReplication> = Api::namespaced(ctx.client.clone(), ENGINE_NAMESPACE);
    let mut ok = true;
    lock(running).written.retain(|name, _| {
        all.iter()
            .any(|r| r.metadata.name.as_deref() == Some(name.as_str()))
    });
    for r in all {
        let name = r.metadata.name.clone().unwrap_or_default();
        let busy =
            {
                let mut copies = lock(running);
                let status = r.status.clone().unwrap_or_default();
                let uid = r.metadata.uid.clone().unwrap_or_default();
                if copies.written.get(&name).is_some_and(|(of, attempt)| {
                    *of != uid || !schedule::predates(&status, *attempt)
                }) {
                    copies.written.remove(&name);
                }
                copies.running.contains_key(&name) || copies.written.contains_key(&name)
            };
        match schedule::step(&r, busy, now) {
            Step::Nothing => {}
            Step::WaitMillis(ms) => {
                let due = now + ms;
                if lock(waiting).insert((name.clone(), due)) {
                    let (wake, waiting) = (wake.clone(), waiting.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
                            .await;
                        lock(&waiting).remove(&(name, due));
                        wake.notify_one();
                    });
                }
            }
            Step::Reset { retried } => {
                tracing::info!(name, "images: retry asked for; attempts start over");
                let wanted = ImageReplicationStatus {
                    retried: Some(retried),
                    message: Some("retry asked for".into()),
                    ..Default::default()
                };
                ok &= write(&api, &name, &wanted).await;
            }
            Step::Start { attempt } => {
                let Some(policy) = policies.get(&ObjectRef::new(&r.spec.policy)) else {
                    let message = format!("waiting for ImageReplicationPolicy {}", r.spec.policy);
                    let current = r.status.clone().unwrap_or_default();
                    if current.message.as_deref() != Some(message.as_str()) {
                        let wanted = ImageReplicationStatus {
                            message: Some(message),
                            ..current
                        };
                        ok &= write(&api, &name, &wanted).await;
                    }
                    continue;
                };
                let concurrency = usize::try_from(policy.spec.concurrency.max(1)).unwrap_or(1);
                let progress = {
                    let mut copies = lock(running);
                    let busy = copies
                        .running
                        .values()
                        .filter(|(p, _)| *p == r.spec.policy)
                        .count();
                    if busy >= concurrency {
                        continue;
                    }
                    let progress = Progress::default();
                    copies
                        .running
                        .insert(name.clone(), (r.spec.policy.clone(), progress.clone()));
                    progress
                };
                let (ctx, wake, running) = (ctx.clone(), wake.clone(), running.clone());
                let clients = clients.clone();
                tokio::spawn(async move {
                    let written =
                        attempt_copy(&ctx, &r, &policy, attempt, (&progress, &clients)).await;
                    let mut copies = lock(&running);
                    copies.running.remove(&name);
                    if written {
                        let uid = r.metadata.uid.clone().unwrap_or_default();
                        copies.written.insert(name, (uid, attempt));
                    }
                    wake.notify_one();
                });
            }
        }
    }
    ok
}

/// One attempt: status `Replicating` with progress every second, then `Succeeded`, `Failed`
/// (with the time of the next attempt) or `MaxAttemptsExceeded`; whether that outcome was
/// written.
async fn attempt_copy(
    ctx: &Context,
    r: &ImageReplication,
    policy: &ImageReplicationPolicy,
    attempt: u32,
    (progress, clients): (&Progress, &Clients),
) -> bool {
    let name = r.metadata.name.clone().unwrap_or_default();
    let api: Api<ImageReplication> = Api::namespaced(ctx.client.clone(), ENGINE_NAMESPACE);
    let previous = r.status.clone().unwrap_or_default();
    let max_attempts = policy.spec.max_attempts.max(1);
    let mut current = ImageReplicationStatus {
        phase: ReplicationPhase::Replicating,
        attempts: attempt,
        max_attempts,
        last_attempt_time: Some(Time(Timestamp::now())),
        retried: previous.retried.clone(),
        ..Default::default()
    };
    write(&api, &name, &current).await;
    tracing::info!(
        name,
        source = %r.spec.source,
        destination = %r.spec.destination,
        attempt,
        max_attempts,
        "images: copying"
    );
    let work = copy_once(ctx, r, policy, progress, clients);
    tokio::pin!(work);
    let mut ticks = tokio::time::interval(PROGRESS_EVERY);
    ticks.tick().await;
    let outcome = loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return false,
            outcome = &mut work => break outcome,
            _ = ticks.tick() => {
                let (copied, total) = (progress.copied.load(Ordering::Relaxed), progress.total.load(Ordering::Relaxed));
                if (copied, total) != (current.bytes_copied, current.bytes_total) {
                    current.bytes_copied = copied;
                    current.bytes_total = total;
                    write(&api, &name, &current).await;
                }
            }
        }
    };
    current.bytes_copied = progress.copied.load(Ordering::Relaxed);
    current.bytes_total = progress.total.load(Ordering::Relaxed);
    match outcome {
        Ok(copied) => {
            let (reason, digest) = match copied {
                Copied::AlreadyPresent(d) => ("AlreadyPresent", d),
                Copied::Copied(d) => ("Copied", d),
            };
            tracing::info!(name, reason, digest, "images: replicated");
            current.phase = ReplicationPhase::Succeeded;
            current.reason = Some(reason.into());
            current.digest = Some(digest);
            if reason == "AlreadyPresent" {
                current.bytes_copied = current.bytes_total;
            }
        }
        Err(message) => {
            let message = crate::text::sanitize(&message).into_owned();
            if attempt >= max_attempts {
                tracing::warn!(name, attempt, error = %message, "images: copy failed; no attempts left");
                current.phase = ReplicationPhase::MaxAttemptsExceeded;
                current.reason = Some("MaxAttemptsExceeded".into());
                let text = format!(
                    "gave up copying {} after {attempt} attempts: {message}",
                    r.spec.source
                );
                let warning = crate::controllers::Warning::new("MaxAttemptsExceeded", text);
                ctx.recorder.warn_about(r, Some(&warning)).await;
            } else {
                let delay = schedule::delay(attempt, 0.75 + rand::random::<f64>() * 0.5);
                tracing::warn!(name, attempt, error = %message, retry_in = ?delay, "images: copy failed; retrying");
                let next = Timestamp::now().as_millisecond()
                    + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                current.phase = ReplicationPhase::Failed;
                current.reason = Some("CopyFailed".into());
                current.next_attempt_time = Timestamp::from_millisecond(next).ok().map(Time);
            }
            current.message = Some(message);
        }
    }
    write(&api, &name, &current).await
}

/// The copy of one attempt, its error as text.
async fn copy_once(
    ctx: &Context,
    r: &ImageReplication,
    policy: &ImageReplicationPolicy,
    progress: &Progress,
    clients: &Clients,
) -> Result<Copied, String> {
    let source: oci_client::Reference = r
        .spec
        .source
        .parse()
        .map_err(|e| format!("source {:?}: {e}", r.spec.source))?;
    let destination: oci_client::Reference = r
        .spec
        .destination
        .parse()
        .map_err(|e| format!("destination {:?}: {e}", r.spec.destination))?;
    let credentials = registry::credentials(&ctx.client, &policy.spec).await?;
    let name = policy.metadata.name.clone().unwrap_or_default();
    let client = {
        let mut clients = lock(clients);
        match clients.get(&name) {
            Some((spec, creds, client)) if *spec == policy.spec && *creds == credentials => {
                client.clone()
            }
            _ => {
                let client = registry::client(&policy.spec);
                clients.insert(
                    name,
                    (policy.spec.clone(), credentials.clone(), client.clone()),
                );
                client
            }
        }
    };
    copy::copy(&client, &credentials, &source, &destination, progress)
        .await
        .map_err(|e| e.to_string())
}

/// Writes `wanted` as the status of `name`; a failure is logged (the next pass tries again).
async fn write(api: &Api<ImageReplication>, name: &str, wanted: &ImageReplicationStatus) -> bool {
    let Ok(body) = serde_json::to_value(wanted) else {
        return false;
    };
    match status::apply(api, name, None, body).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(name, error = %e, "images: writing the status");
            false
        }
    }
}

/// The report of every ImageReplication, with the live progress of this engine's copies.
fn build_report(replications: &Store<ImageReplication>, running: &Running) -> Report {
    let running = lock(running);
    let mut report = Report::default();
    let mut all = replications.state();
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for r in all {
        let name = r.metadata.name.clone().unwrap_or_default();
        let status = r.status.clone().unwrap_or_default();
        let (copied, total) = match running.running.get(&name) {
            Some((_, p)) => (
                p.copied.load(Ordering::Relaxed),
                p.total.load(Ordering::Relaxed),
            ),
            None => (status.bytes_copied, status.bytes_total),
        };
        if matches!(
            status.phase,
            ReplicationPhase::Failed | ReplicationPhase::MaxAttemptsExceeded
        ) {
            report.failed += 1;
        }
        report.replications.push(ReplicationReport {
            name,
            source: r.spec.source.clone(),
            destination: r.spec.destination.clone(),
            phase: status.phase.as_str().into(),
            reason: status.reason.clone(),
            attempts: format!("{}/{}", status.attempts, status.max_attempts),
            bytes: format!("{copied}/{total}"),
            message: status.message.clone(),
        });
    }
    report
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
