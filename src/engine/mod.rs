//! The headless engine of one ORB: fetch the repo, apply desired/ to the cluster (see [`sync`]),
//! and write the current state back to current/ — only while it leads, only when something
//! changed, at most one commit per write interval. It runs as `orbdeck engine` in a cluster or as
//! a tokio task in-process (the demo runs one per ORB).

pub mod elected;
pub mod health;
pub mod identity;
pub mod leader;
pub mod preflight;
pub mod sync;
pub mod waves;

use crate::apply::Applier;
use crate::controllers::profiles::report::PROFILES_FILE;
use crate::controllers::runtime::running::Controllers;
use crate::controllers::runtime::running::Reports;
use crate::controllers::{addons, pod_settings};
use crate::model::OrbFile;
use crate::repo::status::{OrbStatus, STATUS_FILE};
use crate::repo::{Change, DESIRED, Edit, ORB_FILE, OrbRepo, RepoError, RetryPolicy};
use git2::Oid;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// How long a sync wave may take to become healthy when orb.yaml does not say.
const DEFAULT_WAVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Why the engine could not read or write its repo, or decrypt a desired Secret.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A git or remote operation on the ORB repo failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The blocking task doing the repo work did not finish (it panicked or was cancelled).
    #[error("engine: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A file for current/ could not be written as YAML.
    #[error("{file}: {source}")]
    Yaml {
        /// The file in the repo.
        file: &'static str,
        /// Why it does not serialize.
        source: serde_saphyr::SerializeError,
    },
    /// A desired Secret is encrypted but the engine was given no age identity.
    #[error("encrypted Secret, but the engine has no age identity")]
    NoIdentity,
    /// A desired Secret could not be decrypted.
    #[error(transparent)]
    Decrypt(#[from] crate::secrets::CipherError),
}

/// How one engine runs.
pub struct EngineOptions {
    /// The ORB's repo (bare clone kept at `clone_dir`).
    pub repo: OrbRepo,
    /// How often to fetch and apply when nothing asks sooner (orb.yaml's `engine.interval` wins).
    pub interval: Duration,
    /// age identities for encrypted Secrets.
    pub identities: Vec<age::x25519::Identity>,
    /// Where the controllers count their reconciles.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This replica's admission webhook server, configured (and reported on) while it leads.
    pub webhook: Option<Arc<crate::controllers::admission::Webhook>>,
}

/// What the engine last did, shared with health endpoints and tests.
#[derive(Debug, Default, Clone)]
pub struct EngineState {
    /// The last status written (or that would have been written).
    pub status: Option<OrbStatus>,
    /// Syncs completed.
    pub syncs: u64,
    /// Commits of current/ pushed.
    pub writes: u64,
    /// The writes the last sync made to the cluster.
    pub actions: Vec<(crate::wellknown::ObjectId, sync::Action)>,
    /// Why the repo could not be fetched, until a fetch succeeds.
    pub fetch_error: Option<String>,
    /// Why current/ could not be pushed, until a push succeeds.
    pub push_error: Option<String>,
    /// The last sync: when it finished, how long it took, its result and commit.
    pub last_run: Option<leader::LastRun>,
}

impl EngineState {
    /// `Ok` while the engine can do its work, else why not (what `/readyz` answers): the repo
    /// cannot be fetched, or current/ cannot be pushed. A desired state that does not validate
    /// or apply is the ORB's problem, not the engine's: it stays ready and says so in current/.
    pub fn readiness(&self) -> Result<(), String> {
        match (&self.fetch_error, &self.push_error) {
            (Some(e), _) => Err(format!("cannot fetch the ORB repo: {e}")),
            (None, Some(e)) => Err(format!("cannot push current/: {e}")),
            (None, None) => Ok(()),
        }
    }
}

/// Handles to a running engine: ask it to sync now, read its state.
#[derive(Clone)]
pub struct EngineHandle {
    /// Wakes the loop for an immediate sync (SIGHUP, the Lease annotation).
    pub sync_now: Arc<Notify>,
    /// The engine's state after each sync.
    pub state: watch::Receiver<EngineState>,
}

/// Runs the engine until `shutdown`; syncs only while `leading` is true.
pub fn spawn(
    client: kube::Client,
    options: EngineOptions,
    leading: watch::Receiver<bool>,
    shutdown: CancellationToken,
) -> (EngineHandle, tokio::task::JoinHandle<()>) {
    let sync_now = Arc::new(Notify::new());
    let (tx, rx) = watch::channel(EngineState::default());
    let handle = EngineHandle {
        sync_now: sync_now.clone(),
        state: rx,
    };
    let task = tokio::spawn(run(client, options, leading, shutdown, sync_now, tx));
    (handle, task)
}

/// Identity of desired/ and orb.yaml at a commit (tree and blob ids): commits that only touch
/// current/ keep it.
type DesiredKey = (Option<Oid>, Option<Oid>);

/// Desired state as read from one commit.
struct Desired {
    commit: Oid,
    key: DesiredKey,
    orb: OrbFile,
    orb_error: Option<String>,
    files: Vec<(PathBuf, Vec<u8>)>,
    previous: Option<OrbStatus>,
    previous_reports: Reports,
}

async fn run(
    client: kube::Client,
    options: EngineOptions,
    mut leading: watch::Receiver<bool>,
    shutdown: CancellationToken,
    sync_now: Arc<Notify>,
    state: watch::Sender<EngineState>,
) {
    let repo = Arc::new(std::sync::Mutex::new(options.repo));
    let mut applier = Applier::new(client.clone(), "");
    let events = crate::controllers::runtime::events::Recorder::new(client.clone());
    let mut written: Option<OrbStatus> = None;
    let mut written_reports: Option<Reports> = None;
    let mut last_write: Option<Instant> = None;
    let mut pending: Option<OrbStatus> = None;
    let mut pending_reports = Reports::new();
    // The first commit seen with each desired state: what status.commit names.
    let mut applied_key: Option<(DesiredKey, Oid)> = None;
    let mut interval = options.interval;
    // After a sync some of whose objects failed (their namespace or CRD not there yet), the
    // next one comes sooner: 1 s, 2 s, 4 s ... up to the interval.
    let mut retry: Option<Duration> = None;
    let mut write_interval = Duration::from_secs(10);
    let mut controllers: Option<Controllers> = None;
    let mut waves = waves::WaveClock::default();
    let mut last_sync: Option<Instant> = None;
    let mut force = true;
    let mut election_open = true;
    loop {
        if !*leading.borrow() {
            // A standby runs no controllers.
            controllers = None;
        } else {
            // A sync counts as finished once its status is written (or known unchanged).
            let mut finished = None;
            let next = retry.unwrap_or(interval).min(interval);
            if force || last_sync.is_none_or(|t| t.elapsed() >= next) {
                force = false;
                last_sync = Some(Instant::now());
                let read = read_desired(repo.clone()).await;
                if read.is_ok() && state.borrow().fetch_error.is_some() {
                    state.send_modify(|s| s.fetch_error = None);
                }
                match read {
                    Ok(Some(desired)) => {
                        if let Some(i) = parse_duration(&desired.orb.engine.interval) {
                            interval = i;
                        }
                        if let Some(w) = parse_duration(&desired.orb.engine.write_interval) {
                            write_interval = w;
                        }
                        let commit = match &applied_key {
                            Some((key, commit)) if *key == desired.key => *commit,
                            _ => {
                                applied_key = Some((desired.key, desired.commit));
                                desired.commit
                            }
                        };
                        applier.set_orb(&desired.orb.name);
                        if written_reports.is_none() {
                            written_reports = Some(desired.previous_reports.clone());
                        }
                        let report = match &desired.orb_error {
                            None if desired.orb.engine.suspend => {
                                let last = desired.previous.as_ref().or(written.as_ref());
                                sync::SyncReport {
                                    status: OrbStatus {
                                        commit: commit.to_string(),
                                        result: "Suspended".into(),
                                        objects: last
                                            .map(|s| s.objects.clone())
                                            .unwrap_or_default(),
                                        health: last.and_then(|s| s.health),
                                        ..Default::default()
                                    },
                                    actions: Vec::new(),
                                }
                            }
                            Some(e) => sync::SyncReport {
                                status: OrbStatus {
                                    commit: commit.to_string(),
                                    result: "Invalid".into(),
                                    errors: vec![format!("{ORB_FILE}: {e}")],
                                    ..Default::default()
                                },
                                actions: Vec::new(),
                            },
                            None => {
                                sync::sync(
                                    &mut applier,
                                    sync::SyncInput {
                                        commit: commit.to_string(),
                                        files: desired.files,
                                        prune: &desired.orb.engine.prune,
                                        previous: desired.previous.as_ref().or(written.as_ref()),
                                        identities: &options.identities,
                                        waves: &mut waves,
                                        wave_timeout: parse_duration(
                                            &desired.orb.engine.sync_wave_timeout,
                                        )
                                        .unwrap_or(DEFAULT_WAVE_TIMEOUT),
                                    },
                                )
                                .await
                            }
                        };
                        if let (None, Some(w)) = (&desired.orb_error, &options.webhook) {
                            w.configure(&desired.orb.admission);
                        }
                        if desired.orb_error.is_none() {
                            match &controllers {
                                Some(c) => c.set_settings(&desired.orb.profiles),
                                // Each family starts once the cluster serves its kinds.
                                None => {
                                    controllers = Some(Controllers::start(
                                        client.clone(),
                                        desired.orb.profiles.clone(),
                                        options.metrics.clone(),
                                        interval,
                                    ))
                                }
                            }
                        }
                        let mut status = report.status;
                        if written.is_none() {
                            written = desired.previous.clone();
                        }
                        let changed = written.as_ref().is_none_or(|w| !same_content(w, &status));
                        if changed {
                            status.time = chrono::Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                            pending = Some(status.clone());
                        }
                        retry = retry_after(&status, retry);
                        for (id, _) in report
                            .actions
                            .iter()
                            .filter(|(_, a)| *a == sync::Action::Healed)
                        {
                            let object = k8s_openapi::api::core::v1::ObjectReference {
                                api_version: Some(id.api_version.clone()),
                                kind: Some(id.kind.clone()),
                                namespace: id.namespace.clone(),
                                name: Some(id.name.clone()),
                                ..Default::default()
                            };
                            events.healed(&object, "the engine (desired/ in git)").await;
                        }
                        finished = Some((status, report.actions));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "fetching the ORB repo");
                        state.send_modify(|s| s.fetch_error = Some(e.to_string()));
                    }
                }
            }
            let webhook_report = options.webhook.as_ref().and_then(|w| w.report());
            if controllers.is_some() || webhook_report.is_some() {
                let written = written_reports.get_or_insert_with(Reports::new);
                pending_reports = match &controllers {
                    Some(c) => c.reports().await,
                    None => Reports::new(),
                };
                pending_reports.extend(webhook_report);
                pending_reports.retain(|path, yaml| written.get(path) != Some(yaml));
            }
            let due = last_write.is_none_or(|t| t.elapsed() >= write_interval);
            if due && (pending.is_some() || !pending_reports.is_empty()) {
                match write_current(repo.clone(), pending.clone(), pending_reports.clone()).await {
                    Ok(()) => {
                        last_write = Some(Instant::now());
                        if let Some(s) = pending.take() {
                            written = Some(s);
                        }
                        written_reports
                            .get_or_insert_with(Reports::new)
                            .append(&mut pending_reports);
                        state.send_modify(|s| {
                            s.writes += 1;
                            s.push_error = None;
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pushing current/");
                        state.send_modify(|s| s.push_error = Some(e.to_string()));
                    }
                }
            }
            if let Some((status, actions)) = finished {
                let last_run = leader::LastRun {
                    time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    seconds: last_sync.map_or(0.0, |t| t.elapsed().as_secs_f64()),
                    result: status.result.clone(),
                    commit: status.commit.chars().take(8).collect(),
                };
                state.send_modify(|s| {
                    s.last_run = Some(last_run);
                    s.syncs += 1;
                    s.status = Some(status);
                    s.actions = actions;
                });
            }
        }
        // Wake for the next sync, and meanwhile every write interval while there is something
        // to write or controllers (or webhooks) whose report may change.
        let next = retry.unwrap_or(interval).min(interval);
        let until_sync = last_sync.map_or(Duration::ZERO, |t| next.saturating_sub(t.elapsed()));
        let reporting = controllers.is_some() || options.webhook.is_some();
        let wait = if pending.is_some() || !pending_reports.is_empty() || reporting {
            until_sync.min(write_interval.max(Duration::from_secs(1)))
        } else {
            until_sync
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sync_now.notified() => force = true,
            changed = leading.changed(), if election_open => match changed {
                Ok(()) => force = true,
                // Nobody decides leadership any more: keep the last answer.
                Err(_) => election_open = false,
            },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// When the next sync comes early: after one with failed objects, 1 s, then twice as long each
/// time (the caller caps it at the interval); `None` once nothing failed. An invalid desired
/// state waits for a new commit instead, and so does a suspended engine.
fn retry_after(status: &OrbStatus, previous: Option<Duration>) -> Option<Duration> {
    let failed = status
        .objects
        .iter()
        .any(|o| o.outcome == "failed" || o.outcome == "waiting");
    if !failed || status.result == "Invalid" || status.result == "Suspended" {
        return None;
    }
    Some(previous.map_or(Duration::from_secs(1), |d| d.saturating_mul(2)))
}

/// Two statuses that differ only in their time are the same content.
fn same_content(a: &OrbStatus, b: &OrbStatus) -> bool {
    let strip = |s: &OrbStatus| OrbStatus {
        time: String::new(),
        ..s.clone()
    };
    strip(a) == strip(b)
}

/// Parses `30s`, `2m`, `1h 5m` (humantime).
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

async fn read_desired(
    repo: Arc<std::sync::Mutex<OrbRepo>>,
) -> Result<Option<Desired>, EngineError> {
    tokio::task::spawn_blocking(move || -> Result<_, RepoError> {
        let repo = repo.lock().unwrap_or_else(|e| e.into_inner());
        let Some(commit) = repo.fetch()? else {
            return Ok(None);
        };
        let tree = repo.git().find_commit(commit)?.tree()?;
        let id_of = |p: &str| tree.get_path(std::path::Path::new(p)).ok().map(|e| e.id());
        let key = (id_of("desired"), id_of(ORB_FILE));
        let (orb, orb_error) = match repo.file(Some(commit), ORB_FILE)? {
            Some(bytes) => match String::from_utf8(bytes)
                .map_err(|_| "not UTF-8".to_string())
                .and_then(|t| OrbFile::parse(&t))
            {
                Ok(orb) => (orb, None),
                Err(e) => (unnamed_orb(), Some(e)),
            },
            None => (
                unnamed_orb(),
                Some("missing: the repo has no orb.yaml".into()),
            ),
        };
        let files = repo
            .files(commit, DESIRED)?
            .into_iter()
            .filter(|(p, _)| crate::validate::is_manifest_path(p))
            .map(|(p, b)| (PathBuf::from(p), b))
            .collect();
        let previous = OrbStatus::read(&repo, commit);
        let mut previous_reports = Reports::new();
        for path in [
            PROFILES_FILE,
            pod_settings::REPORT_FILE,
            addons::REPORT_FILE,
        ] {
            if let Some(text) = repo
                .file(Some(commit), path)?
                .and_then(|b| String::from_utf8(b).ok())
            {
                previous_reports.insert(path, text.into());
            }
        }
        Ok(Some(Desired {
            commit,
            key,
            orb,
            orb_error,
            files,
            previous,
            previous_reports,
        }))
    })
    .await?
    .map_err(EngineError::from)
}

/// Commits and pushes the status and the families' reports (whichever are given) in one commit.
async fn write_current(
    repo: Arc<std::sync::Mutex<OrbRepo>>,
    status: Option<OrbStatus>,
    reports: Reports,
) -> Result<(), EngineError> {
    tokio::task::spawn_blocking(move || {
        let repo = repo.lock().unwrap_or_else(|e| e.into_inner());
        let mut changes = Vec::new();
        let mut message = String::from("orbdeck-engine:");
        if let Some(status) = &status {
            changes.push(Change {
                path: STATUS_FILE.into(),
                content: Some(
                    serde_saphyr::to_string(status)
                        .map_err(|source| EngineError::Yaml {
                            file: STATUS_FILE,
                            source,
                        })?
                        .into_bytes(),
                ),
            });
            message.push_str(&format!(" {} at {:.8}", status.result, status.commit));
        }
        for (path, text) in reports {
            changes.push(Change {
                path: path.into(),
                content: Some(text.as_bytes().to_vec()),
            });
            message.push_str(&format!(" {path}"));
        }
        let edit = Edit {
            base: repo.tip(),
            changes,
            message,
        };
        crate::repo::write::write(&repo, &edit, &RetryPolicy::default())?;
        Ok(())
    })
    .await?
}

/// The settings used while orb.yaml is missing or invalid (nothing is applied then).
fn unnamed_orb() -> OrbFile {
    OrbFile::parse("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: unnamed\n")
        .expect("a minimal orb.yaml parses")
}
