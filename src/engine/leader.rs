//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it:
//! only the holder of the Lease applies, runs controllers and writes to git.
//!
//! - A candidate takes the Lease when it is free (no holder: never held, or released) or when its
//!   record has not changed for the holder's lease duration, measured on the candidate's own clock
//!   from when it first saw that record (no clock comparison between machines). Every write carries
//!   the resourceVersion it read, so of two candidates writing at once one gets 409 and loses.
//! - The leader renews every `retry_period`. A renewal counts from the moment its request was sent;
//!   when none succeeded for `renew_deadline` (shorter than `lease_duration`), the leader sets
//!   `leading` to false. A standby counts the same renewal from the later moment it read it, plus the
//!   longer `lease_duration`, so the old leader has stopped before the Lease can pass.
//! - On shutdown the leader sets `leading` to false, then releases the Lease (no holder, duration 1 s)
//!   so a standby takes over at its next retry instead of waiting for expiry.
//! - Humans (or the UI) ask for an immediate sync by changing the annotation
//!   [`SYNC_REQUESTED_ANNOTATION`] on the same Lease; [`watch_sync_requests`] turns that into a signal.
//! - The leader's renewals carry its last sync ([`LAST_RUN_ANNOTATION`], a [`LastRun`]), so
//!   anyone who can read the Lease sees when the engine last ran and how it went, at no extra
//!   write.

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The namespace the engine runs in by default (its Lease, its identity Secret).
pub use crate::wellknown::ENGINE_NAMESPACE;
/// The name of the engine's Lease.
pub const LEASE_NAME: &str = "orbdeck-engine";

/// Annotation on the engine's Lease whose every new value asks the engine to sync now.
pub const SYNC_REQUESTED_ANNOTATION: &str = "orbdeck.io/sync-requested";
/// Annotation on the engine's Lease with the leader's last sync, as JSON ([`LastRun`]).
pub const LAST_RUN_ANNOTATION: &str = "orbdeck.io/last-run";

/// The leader's last sync, as its renewals publish it on the Lease.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LastRun {
    /// When it finished (RFC 3339).
    pub time: String,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// `Synced`, `Waiting`, `Partial` or `Invalid`.
    pub result: String,
    /// The commit it applied (short).
    pub commit: String,
}

/// Where the Lease lives, who we are, and the election's timings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This candidate's identity (unique per process, e.g. the pod name).
    pub identity: String,
    /// How long a standby waits after the holder's last renewal before taking over (default 15 s).
    pub lease_duration: Duration,
    /// How long a leader keeps leading without a successful renewal (default 10 s; must be
    /// shorter than `lease_duration`).
    pub renew_deadline: Duration,
    /// How often the leader renews and a standby retries (default 2 s).
    pub retry_period: Duration,
}

impl Default for LeaseConfig {
    /// No namespace, name or identity yet; the default timings (15 s lease, 10 s renew deadline,
    /// 2 s retry).
    fn default() -> Self {
        LeaseConfig {
            namespace: String::new(),
            name: String::new(),
            identity: String::new(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaseConfig {
    /// A configuration with the default timings.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> LeaseConfig {
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            ..LeaseConfig::default()
        }
    }

    /// The timings made safe: a renew deadline not shorter than the lease would let two leaders
    /// overlap, so it is cut to two thirds of the lease (with a warning); the retry period is kept
    /// below the deadline so a leader gets more than one try.
    fn checked(mut self) -> LeaseConfig {
        if self.renew_deadline >= self.lease_duration {
            let safe = self.lease_duration * 2 / 3;
            tracing::warn!(
                "lease {}/{}: renew deadline {:?} is not shorter than the lease duration {:?}; using {safe:?}",
                self.namespace,
                self.name,
                self.renew_deadline,
                self.lease_duration
            );
            self.renew_deadline = safe;
        }
        if self.retry_period >= self.renew_deadline {
            self.retry_period = self.renew_deadline / 2;
        }
        self
    }

    /// The duration written into the Lease: whole seconds, rounded up, at least 1.
    fn duration_seconds(&self) -> i32 {
        let secs = self.lease_duration.as_secs_f64().ceil();
        i32::try_from(secs as i64).unwrap_or(i32::MAX).max(1)
    }
}

/// Sets the shared flag, and clears it when dropped: an aborted election task never leaves a
/// stale `true` behind.
struct Flag(watch::Sender<bool>);

impl Flag {
    fn set(&self, value: bool) {
        self.0
            .send_if_modified(|v| std::mem::replace(v, value) != value);
    }
}

impl Drop for Flag {
    fn drop(&mut self) {
        self.set(false);
    }
}

/// What one try at taking or renewing the Lease found.
enum Attempt {
    /// We hold the Lease now.
    Held,
    /// Someone else holds it and its record is still fresh.
    Other,
    /// Writes kept conflicting; try again later.
    Conflict,
}

/// Why a leader stopped leading.
enum Stopped {
    /// Shutdown was asked for.
    Shutdown,
    /// Another candidate holds the Lease, or renewal failed past the deadline.
    Lost,
}

struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The last sync to publish with each renewal.
    last_run: Option<watch::Receiver<Option<LastRun>>>,
    /// The last Lease record seen and when (our clock) it was first seen in that form.
    observed: Option<(LeaseSpec, Instant)>,
}

/// Runs the election until `shutdown`: `leading` is true exactly while this candidate may act as
/// leader. On shutdown a leader first clears `leading`, then releases the Lease. If the task is
/// aborted instead, `leading` is cleared and the Lease expires on its own.
pub async fn run(
    client: kube::Client,
    config: LeaseConfig,
    leading: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    run_publishing(client, config, leading, shutdown, None).await;
}

/// [`run`], with every write of the Lease also carrying the engine's last sync from `last_run`.
pub async fn run_publishing(
    client: kube::Client,
    config: LeaseConfig,
    leading: watch::Sender<bool>,
    shutdown: CancellationToken,
    last_run: Option<watch::Receiver<Option<LastRun>>>,
) {
    let flag = Flag(leading);
    flag.set(false);
    let config = config.checked();
    let mut elector = Elector {
        api: Api::namespaced(client, &config.namespace),
        config,
        last_run,
        observed: None,
    };
    loop {
        let Some(renewed) = elector.acquire(&shutdown).await else {
            return;
        };
        flag.set(true);
        tracing::info!(
            "lease {}/{}: {} is the leader",
            elector.config.namespace,
            elector.config.name,
            elector.config.identity
        );
        let stopped = elector.hold(renewed, &shutdown).await;
        flag.set(false);
        match stopped {
            Stopped::Shutdown => {
                elector.release().await;
                return;
            }
            Stopped::Lost => tracing::warn!(
                "lease {}/{}: {} stopped leading",
                elector.config.namespace,
                elector.config.name,
                elector.config.identity
            ),
        }
    }
}

impl Elector {
    /// Tries until the Lease is ours (returns when the successful request was sent) or shutdown.
    async fn acquire(&mut self, shutdown: &CancellationToken) -> Option<Instant> {
        loop {
            let started = Instant::now();
            let outcome =
                tokio::time::timeout(self.config.renew_deadline, self.attempt(started)).await;
            match outcome {
                Ok(Ok(Attempt::Held)) => return Some(started),
                Ok(Ok(Attempt::Other | Attempt::Conflict)) => {}
                Ok(Err(e)) => tracing::debug!("lease {}: {e}", self.config.name),
                Err(_) => tracing::debug!("lease {}: request timed out", self.config.name),
            }
            // Jitter keeps candidates that started together from asking in lockstep.
            let pause = self
                .config
                .retry_period
                .mul_f64(1.0 + rand::random::<f64>() * 0.2);
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Renews every retry period while leading; returns when shutdown is asked for, another
    /// candidate holds the Lease, or no renewal succeeded within the renew deadline.
    async fn hold(&mut self, mut renewed: Instant, shutdown: &CancellationToken) -> Stopped {
        loop {
            let deadline = renewed + self.config.renew_deadline;
            let wake = (Instant::now() + self.config.retry_period).min(deadline);
            tokio::select! {
                _ = shutdown.cancelled() => return Stopped::Shutdown,
                _ = tokio::time::sleep_until(wake) => {}
            }
            let started = Instant::now();
            if started >= deadline {
                tracing::warn!(
                    "lease {}: no renewal within {:?}",
                    self.config.name,
                    self.config.renew_deadline
                );
                return Stopped::Lost;
            }
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return Stopped::Shutdown,
                r = tokio::time::timeout_at(deadline, self.attempt(started)) => r,
            };
            match outcome {
                Ok(Ok(Attempt::Held)) => renewed = started,
                Ok(Ok(Attempt::Other)) => return Stopped::Lost,
                Ok(Ok(Attempt::Conflict)) => {}
                Ok(Err(e)) => tracing::warn!("lease {}: renewal failed: {e}", self.config.name),
                Err(_) => tracing::warn!("lease {}: renewal timed out", self.config.name),
            }
        }
    }

    /// One try at taking or renewing the Lease: read it, and write it back with us as holder when
    /// it is ours, free or expired. A conflict (someone wrote in between) is re-read once, since it
    /// may be a harmless edit such as a sync request.
    async fn attempt(&mut self, now: Instant) -> Result<Attempt, kube::Error> {
        for _ in 0..2 {
            let written = match self.api.get_opt(&self.config.name).await? {
                None => {
                    let mut lease = Lease {
                        metadata: ObjectMeta {
                            name: Some(self.config.name.clone()),
                            namespace: Some(self.config.namespace.clone()),
                            ..Default::default()
                        },
                        spec: Some(self.next_spec(&LeaseSpec::default())),
                    };
                    self.publish(&mut lease);
                    self.api.create(&PostParams::default(), &lease).await
                }
                Some(mut lease) => {
                    let spec = lease.spec.clone().unwrap_or_default();
                    self.observe(&spec, now);
                    let holder = spec.holder_identity.as_deref().unwrap_or_default();
                    if !holder.is_empty() && holder != self.config.identity && !self.expired(now) {
                        return Ok(Attempt::Other);
                    }
                    lease.spec = Some(self.next_spec(&spec));
                    self.publish(&mut lease);
                    // The read resourceVersion stays in the metadata: the write's precondition.
                    self.api
                        .replace(&self.config.name, &PostParams::default(), &lease)
                        .await
                }
            };
            match written {
                Ok(lease) => {
                    self.observe(&lease.spec.unwrap_or_default(), now);
                    return Ok(Attempt::Held);
                }
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Attempt::Conflict)
    }

    /// Puts the last sync, if there is one, on the Lease about to be written.
    fn publish(&self, lease: &mut Lease) {
        let Some(run) = self.last_run.as_ref().and_then(|r| r.borrow().clone()) else {
            return;
        };
        if let Ok(json) = serde_json::to_string(&run) {
            lease
                .metadata
                .annotations
                .get_or_insert_default()
                .insert(LAST_RUN_ANNOTATION.into(), json);
        }
    }

    /// The record to write for us as holder, following `old`.
    fn next_spec(&self, old: &LeaseSpec) -> LeaseSpec {
        let now = Some(MicroTime(Timestamp::now()));
        let ours = old.holder_identity.as_deref() == Some(self.config.identity.as_str());
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.duration_seconds()),
            renew_time: now.clone(),
            acquire_time: if ours {
                old.acquire_time.clone().or(now)
            } else {
                now
            },
            lease_transitions: Some(match (&old.holder_identity, ours) {
                (_, true) => old.lease_transitions.unwrap_or(0),
                (None, false) if old.lease_transitions.is_none() => 0,
                _ => old.lease_transitions.unwrap_or(0).saturating_add(1),
            }),
            ..old.clone()
        }
    }

    /// Remembers when the record was first seen in this form.
    fn observe(&mut self, spec: &LeaseSpec, now: Instant) {
        if self.observed.as_ref().is_none_or(|(seen, _)| seen != spec) {
            self.observed = Some((spec.clone(), now));
        }
    }

    /// Whether the observed record has gone unchanged for its holder's lease duration.
    fn expired(&self, now: Instant) -> bool {
        self.observed.as_ref().is_some_and(|(spec, seen)| {
            let duration = spec
                .lease_duration_seconds
                .filter(|s| *s > 0)
                .map_or(self.config.lease_duration, |s| {
                    Duration::from_secs(s.unsigned_abs().into())
                });
            now >= *seen + duration
        })
    }

    /// Gives the Lease up (no holder, 1 s duration) if we still hold it; bounded by the renew
    /// deadline so a dead API server cannot hold shutdown up.
    async fn release(&mut self) {
        let release = async {
            for _ in 0..2 {
                let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
                    return Ok(());
                };
                let mut spec = lease.spec.clone().unwrap_or_default();
                if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
                    return Ok(());
                }
                spec.holder_identity = None;
                spec.lease_duration_seconds = Some(1);
                spec.renew_time = Some(MicroTime(Timestamp::now()));
                lease.spec = Some(spec);
                match self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 409 => continue,
                    Err(e) => return Err(e),
                }
            }
            Ok::<(), kube::Error>(())
        };
        match tokio::time::timeout(self.config.renew_deadline, release).await {
            Ok(Ok(())) => tracing::info!(
                "lease {}/{}: released by {}",
                self.config.namespace,
                self.config.name,
                self.config.identity
            ),
            Ok(Err(e)) => tracing::warn!("lease {}: release failed: {e}", self.config.name),
            Err(_) => tracing::warn!("lease {}: release timed out", self.config.name),
        }
    }
}

/// The value of the [`SYNC_REQUESTED_ANNOTATION`] on a Lease, if set.
pub fn sync_requested(lease: &Lease) -> Option<String> {
    lease
        .metadata
        .annotations
        .as_ref()?
        .get(SYNC_REQUESTED_ANNOTATION)
        .cloned()
}

/// Watches the Lease of `config` until `shutdown` and sends on `tx` each time the
/// [`SYNC_REQUESTED_ANNOTATION`] takes a new value. The first value seen is the baseline (the engine
/// syncs at start anyway) and a removed annotation asks nothing. Requests coalesce: when one is
/// already waiting in `tx`, another is not queued. The watch backs off while the API is away.
pub async fn watch_sync_requests(
    client: kube::Client,
    config: LeaseConfig,
    tx: mpsc::Sender<()>,
    shutdown: CancellationToken,
) {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let selector = format!("metadata.name={}", config.name);
    let mut leases = watcher(api, watcher::Config::default().fields(&selector))
        .default_backoff()
        .applied_objects()
        .boxed();
    let mut last: Option<Option<String>> = None;
    loop {
        let lease = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = leases.next() => match next {
                Some(Ok(lease)) => lease,
                Some(Err(e)) => {
                    tracing::debug!("lease {} watch: {e}", config.name);
                    continue;
                }
                None => return,
            },
        };
        let value = sync_requested(&lease);
        let changed = last
            .as_ref()
            .is_some_and(|prev| value.is_some() && *prev != value);
        last = Some(value);
        if changed && let Err(mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
            return;
        }
    }
}
