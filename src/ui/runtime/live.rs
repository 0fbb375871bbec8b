//! The control room's live data, one worker per ORB: a health probe with backoff, one watch per
//! kind shown feeding slim caches (rows holding only what the views show, never whole objects),
//! and a background git loop (fetch, current/ status, drift, desired files, drafts). Each worker
//! sends its ORB's view to the UI at most every 250 ms, and only when something changed. An
//! unreachable or silent cluster only ever delays its own worker.

use crate::engine::leader::{ENGINE_NAMESPACE, LEASE_NAME};
use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::model::{ClusterUpgrade, ImageReplication, Profile, ProfileSettings};
use crate::repo::status::OrbStatus;
use crate::repo::{DESIRED, Draft, Drafts, ORB_FILE, OrbRepo, RepoError, short_hex};
use crate::text::sanitize;
use crate::ui::kinds::{engine, events, live, profiles, quotas, replications, text, upgrades};
use crate::ui::{
    AccessTable, Action, DraftRow, EngineInfo, EventRow, Health, LiveRow, LiveTable, LiveWatch,
    NodeRow, OrbView, ProfileRow, ReplicationRow, SyncInfo, UpgradeRow, Upstream, Watched,
};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, ResourceQuota};
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long a probe of the API server may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the repo is fetched.
const FETCH_EVERY: Duration = Duration::from_secs(5);

/// Starts one worker per ORB of the fleet; they stop with `shutdown`. Each watches the Live
/// tab's kind while `wanted` names its ORB.
pub fn spawn(
    config: &FleetConfig,
    paths: &Paths,
    write_all: bool,
    tx: UnboundedSender<Action>,
    wanted: watch::Receiver<Option<LiveWatch>>,
    shutdown: CancellationToken,
) {
    for (index, entry) in config.orbs.iter().enumerate() {
        let worker = Worker {
            index,
            entry: entry.clone(),
            config: config.clone(),
            paths: paths.clone(),
            writable: write_all || entry.write,
            tx: tx.clone(),
            caches: Arc::new(Caches::default()),
            wanted: wanted.clone(),
        };
        tokio::spawn(worker.run(shutdown.clone()));
    }
}

/// The first views of a fleet, before any worker reported (every ORB connecting).
pub fn initial_views(config: &FleetConfig, write_all: bool) -> Vec<OrbView> {
    config
        .orbs
        .iter()
        .map(|e| OrbView {
            name: sanitize(&e.name).into_owned(),
            writable: write_all || e.write,
            labels: crate::ui::data::label_text(&e.labels),
            repo: e.repo.as_ref().map(|url| crate::ui::RepoInfo {
                url: sanitize(url).into_owned(),
                fetching: true,
                error: None,
            }),
            loading: true,
            ..Default::default()
        })
        .collect()
}

/// A slim cache: rows by object key.
type Slim<R> = Mutex<HashMap<String, R>>;

/// What one ORB's watches and git loop know.
#[derive(Default)]
struct Caches {
    dirty: AtomicBool,
    health: Mutex<Health>,
    profiles: Slim<(ProfileRow, BTreeMap<String, String>)>,
    quotas: Slim<quotas::Figures>,
    replications: Slim<ReplicationRow>,
    upgrades: Slim<UpgradeRow>,
    nodes: Slim<NodeRow>,
    events: Slim<EventRow>,
    engine: Slim<EngineInfo>,
    live: Mutex<LiveCache>,
    access: Mutex<Option<AccessTable>>,
    git: Mutex<GitView>,
}

/// The Live tab's kind in this ORB, while shown: slim rows by object key.
#[derive(Default)]
struct LiveCache {
    table: LiveTable,
    rows: HashMap<String, LiveRow>,
}

/// What the git loop read.
#[derive(Default, Clone)]
struct GitView {
    fetched: bool,
    tip: Option<git2::Oid>,
    error: Option<String>,
    sync: Option<SyncInfo>,
    drift: Option<usize>,
    desired_files: Vec<String>,
    drafts: Vec<DraftRow>,
    sources: HashMap<String, (String, u32)>,
    settings: ProfileSettings,
    policies: HashMap<String, u16>,
    access: AccessTable,
}

struct Worker {
    index: usize,
    entry: OrbEntry,
    config: FleetConfig,
    paths: Paths,
    writable: bool,
    tx: UnboundedSender<Action>,
    caches: Arc<Caches>,
    wanted: watch::Receiver<Option<LiveWatch>>,
}

impl Worker {
    async fn run(self, shutdown: CancellationToken) {
        let caches = self.caches.clone();
        // A live-only ORB has no repo to read: its desired and current views say so.
        if self.entry.repo.is_some() {
            tokio::spawn(git_loop(
                self.entry.clone(),
                self.config.clone(),
                self.paths.clone(),
                caches.clone(),
                shutdown.clone(),
            ));
        }
        tokio::spawn(cluster_loop(
            self.entry.clone(),
            caches.clone(),
            self.wanted.clone(),
            shutdown.clone(),
        ));
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if !caches.dirty.swap(false, Ordering::Relaxed) {
                continue;
            }
            let view = self.view();
            if self
                .tx
                .send(Action::OrbUpdated(self.index, Box::new(view)))
                .is_err()
            {
                return;
            }
        }
    }

    /// The ORB's view from the caches, rows sorted by name.
    fn view(&self) -> OrbView {
        let c = &self.caches;
        let git = lock(&c.git).clone();
        let quota_figures = lock(&c.quotas).clone();
        let profiles = profiles::rows(
            lock(&c.profiles).values().map(|(row, _)| row),
            &quota_figures,
            &git.sources,
            &git.policies,
        );
        let sources: HashMap<String, BTreeMap<String, String>> = lock(&c.profiles)
            .values()
            .map(|(row, s)| (row.namespace.clone(), s.clone()))
            .collect();
        let quota_rows = quotas::rows(&quota_figures, &sources);
        let nodes = lock(&c.nodes).clone();
        let upgrades = upgrades::rows(lock(&c.upgrades).values().cloned(), &nodes);
        let replications = replications::rows(lock(&c.replications).values().cloned());
        let events = events::rows(lock(&c.events).values().cloned());
        let health = lock(&c.health).clone();
        let live = {
            let cache = lock(&c.live);
            LiveTable {
                rows: live::rows(cache.rows.values().cloned()),
                ..cache.table.clone()
            }
        };
        OrbView {
            name: sanitize(&self.entry.name).into_owned(),
            writable: self.writable,
            labels: crate::ui::data::label_text(&self.entry.labels),
            loading: (!git.fetched || self.entry.repo.is_none())
                && matches!(health, Health::Connecting),
            health,
            repo: self.entry.repo.as_ref().map(|url| crate::ui::RepoInfo {
                url: sanitize(url).into_owned(),
                fetching: !git.fetched,
                error: git.error.clone(),
            }),
            sync: git.sync.clone(),
            drift: git.drift,
            profiles,
            quotas: quota_rows,
            replications,
            upgrades,
            events,
            live,
            access: lock(&c.access)
                .clone()
                .unwrap_or_else(|| git.access.clone()),
            desired_files: with_new_drafts(&git.desired_files, &git.drafts),
            tip: git.tip.map(|t| t.to_string()),
            drafts: git.drafts.clone(),
            rollouts: Vec::new(),
            engine: lock(&c.engine)
                .get(&format!("{ENGINE_NAMESPACE}/{LEASE_NAME}"))
                .cloned(),
        }
    }
}

/// Probes the API server until it answers, then watches the kinds shown; keeps probing so the
/// ORB list shows a cluster that goes away and comes back.
async fn cluster_loop(
    entry: OrbEntry,
    caches: Arc<Caches>,
    wanted: watch::Receiver<Option<LiveWatch>>,
    shutdown: CancellationToken,
) {
    let mut watching = false;
    let mut wait = Duration::from_secs(1);
    loop {
        let health = match connect::watch_client(&entry, PROBE_TIMEOUT).await {
            Err(e) => (
                Health::Unreachable {
                    reason: e.to_string(),
                },
                None,
            ),
            Ok(client) => {
                match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
                    Ok(Ok(v)) => (
                        Health::Connected {
                            version: v.git_version,
                        },
                        Some(client),
                    ),
                    Ok(Err(kube::Error::Api(s))) if s.code == 401 || s.code == 403 => {
                        (Health::AuthError { reason: s.message }, None)
                    }
                    Ok(Err(e)) => {
                        let mut reason = crate::text::error_chain(&e);
                        if reason.contains("deadline has elapsed") {
                            reason = format!(
                                "no answer within {} s (connected, then silence)",
                                PROBE_TIMEOUT.as_secs()
                            );
                        }
                        (Health::Unreachable { reason }, None)
                    }
                    Err(_) => (
                        Health::Unreachable {
                            reason: format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
                        },
                        None,
                    ),
                }
            }
        };
        let (health, client) = health;
        let ok = client.is_some();
        let health = match health {
            Health::Unreachable { reason } => Health::Unreachable {
                reason: sanitize(&reason).into_owned(),
            },
            Health::AuthError { reason } => Health::AuthError {
                reason: sanitize(&reason).into_owned(),
            },
            other => other,
        };
        {
            let mut current = lock(&caches.health);
            if *current != health {
                *current = health;
                caches.dirty.store(true, Ordering::Relaxed);
            }
        }
        if let Some(client) = client
            && !watching
        {
            watching = true;
            tokio::spawn(live_loop(
                client.clone(),
                sanitize(&entry.name).into_owned(),
                caches.clone(),
                wanted.clone(),
                shutdown.clone(),
            ));
            start_watches(client, &caches, &shutdown);
        }
        wait = if ok {
            Duration::from_secs(10)
        } else {
            (wait * 2).min(Duration::from_secs(30))
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn start_watches(client: kube::Client, caches: &Arc<Caches>, shutdown: &CancellationToken) {
    let c = caches.clone();
    slim_watch(
        Api::<Profile>::all(client.clone()),
        caches,
        shutdown,
        move |p| {
            let settings = lock(&c.git).settings.clone();
            profiles::row(p, &settings)
        },
        |c| &c.profiles,
    );
    slim_watch(
        Api::<ResourceQuota>::all(client.clone()),
        caches,
        shutdown,
        quotas::figures,
        |c| &c.quotas,
    );
    slim_watch(
        Api::<ImageReplication>::all(client.clone()),
        caches,
        shutdown,
        replications::row,
        |c| &c.replications,
    );
    slim_watch(
        Api::<ClusterUpgrade>::all(client.clone()),
        caches,
        shutdown,
        upgrades::row,
        |c| &c.upgrades,
    );
    slim_watch(
        Api::<Node>::all(client.clone()),
        caches,
        shutdown,
        upgrades::node_row,
        |c| &c.nodes,
    );
    slim_watch(
        Api::<Event>::all(client.clone()),
        caches,
        shutdown,
        events::row,
        |c| &c.events,
    );
    // The engine's Lease: who leads, and the last sync its renewals carry.
    slim_watch(
        Api::<Lease>::namespaced(client, ENGINE_NAMESPACE),
        caches,
        shutdown,
        engine::info,
        |c| &c.engine,
    );
}

/// Watches what `wanted` asks of this ORB (`orb`): the Live tab's kind, or the Access tab's RBAC
/// objects; stops the watch and forgets its rows when no view shows them.
async fn live_loop(
    client: kube::Client,
    orb: String,
    caches: Arc<Caches>,
    mut wanted: watch::Receiver<Option<LiveWatch>>,
    shutdown: CancellationToken,
) {
    let mut current: Option<(Watched, CancellationToken)> = None;
    loop {
        let want = wanted
            .borrow_and_update()
            .as_ref()
            .filter(|w| w.orbs.contains(&orb))
            .map(|w| w.what.clone());
        if want.as_ref() != current.as_ref().map(|(what, _)| what) {
            if let Some((_, stop)) = current.take() {
                stop.cancel();
            }
            let asked = match &want {
                Some(Watched::Kind(asked)) => Some(asked.clone()),
                _ => None,
            };
            *lock(&caches.live) = LiveCache {
                table: LiveTable {
                    asked: asked.clone().unwrap_or_default(),
                    loading: asked.is_some(),
                    ..Default::default()
                },
                rows: HashMap::new(),
            };
            *lock(&caches.access) = None;
            caches.dirty.store(true, Ordering::Relaxed);
            if let Some(what) = want {
                let stop = shutdown.child_token();
                match &what {
                    Watched::Kind(asked) => tokio::spawn(watch_kind(
                        client.clone(),
                        asked.clone(),
                        caches.clone(),
                        stop.clone(),
                    )),
                    Watched::Access => {
                        tokio::spawn(watch_access(client.clone(), caches.clone(), stop.clone()))
                    }
                };
                current = Some((what, stop));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = wanted.changed() => if changed.is_err() { return },
        }
    }
}

/// How often at most the Access tab's rows are resolved again while RBAC objects change.
const ACCESS_SETTLE: Duration = Duration::from_millis(300);

/// Watches the four RBAC kinds and the service accounts (metadata only) into stores until
/// `stop`, resolving them into the Access tab's rows once all are listed and again after each
/// change (at most every [`ACCESS_SETTLE`]).
async fn watch_access(client: kube::Client, caches: Arc<Caches>, stop: CancellationToken) {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    use kube::core::PartialObjectMeta;
    use kube::runtime::reflector::{self, Store};
    let changed = Arc::new(tokio::sync::Notify::new());
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let mut ready = Vec::new();
    fn run<K>(
        api: Api<K>,
        stop: &CancellationToken,
        changed: &Arc<tokio::sync::Notify>,
        failed: &Arc<Mutex<Option<String>>>,
        ready: &mut Vec<Arc<AtomicBool>>,
    ) -> Store<K>
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + Send
            + Sync
            + 'static,
    {
        let (reader, writer) = reflector::store();
        let stream =
            reflector::reflector(writer, watcher::watcher(api, watcher::Config::default()))
                .default_backoff();
        ready.push(spawn_stream(stream, stop, changed, failed));
        reader
    }
    let (stop_, changed_, failed_) = (&stop, &changed, &failed);
    let roles = run(
        Api::<Role>::all(client.clone()),
        stop_,
        changed_,
        failed_,
        &mut ready,
    );
    let cluster_roles = run(
        Api::<ClusterRole>::all(client.clone()),
        stop_,
        changed_,
        failed_,
        &mut ready,
    );
    let role_bindings = run(
        Api::<RoleBinding>::all(client.clone()),
        stop_,
        changed_,
        failed_,
        &mut ready,
    );
    let cluster_role_bindings = run(
        Api::<ClusterRoleBinding>::all(client.clone()),
        stop_,
        changed_,
        failed_,
        &mut ready,
    );
    // Service accounts by metadata only: a binding to a missing one is a finding.
    let accounts = run(
        Api::<PartialObjectMeta<ServiceAccount>>::all(client),
        stop_,
        changed_,
        failed_,
        &mut ready,
    );
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = changed.notified() => {}
        }
        let table = if ready.iter().all(|r| r.load(Ordering::Relaxed)) {
            let objects = crate::access::Objects {
                roles: roles.state().iter().map(|r| (**r).clone()).collect(),
                cluster_roles: cluster_roles
                    .state()
                    .iter()
                    .map(|r| (**r).clone())
                    .collect(),
                role_bindings: role_bindings
                    .state()
                    .iter()
                    .map(|r| (**r).clone())
                    .collect(),
                cluster_role_bindings: (cluster_role_bindings.state().iter())
                    .map(|r| (**r).clone())
                    .collect(),
                service_accounts: Some(
                    (accounts.state().iter())
                        .map(|a| {
                            (
                                a.metadata.namespace.clone().unwrap_or_default(),
                                a.metadata.name.clone().unwrap_or_default(),
                            )
                        })
                        .collect(),
                ),
            };
            let policy = crate::access::Policy::resolve(&objects);
            Some(AccessTable::of(&policy, "live bindings"))
        } else {
            lock(&failed).as_ref().map(|e| AccessTable {
                source: sanitize(&format!("live bindings not readable: {e}")).into_owned(),
                ..Default::default()
            })
        };
        if table.is_some() {
            *lock(&caches.access) = table;
            caches.dirty.store(true, Ordering::Relaxed);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(ACCESS_SETTLE) => {}
        }
    }
}

/// Drives a reflector stream until `stop`: each event wakes the resolver (`changed`), each
/// error is kept (`failed`) to say why the tab shows no live rows; the flag returned is set
/// once the first list is in.
fn spawn_stream<S, T>(
    stream: S,
    stop: &CancellationToken,
    changed: &Arc<tokio::sync::Notify>,
    failed: &Arc<Mutex<Option<String>>>,
) -> Arc<AtomicBool>
where
    S: futures::Stream<Item = Result<WatchEvent<T>, watcher::Error>> + Send + 'static,
    T: Send,
{
    let listed = Arc::new(AtomicBool::new(false));
    let (stop, changed, failed, ready) = (
        stop.clone(),
        changed.clone(),
        failed.clone(),
        listed.clone(),
    );
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                next = stream.next() => next,
            };
            match next {
                None => return,
                Some(Ok(event)) => {
                    if matches!(event, WatchEvent::InitDone) {
                        ready.store(true, Ordering::Relaxed);
                    }
                    *lock(&failed) = None;
                }
                Some(Err(e)) => *lock(&failed) = Some(crate::text::error_chain(&e)),
            }
            changed.notify_one();
        }
    });
    listed
}

/// The served resource the operator asked for (`deploy`, `pods`, `configmaps`), by discovery.
async fn resolve(
    client: &kube::Client,
    asked: &str,
) -> Result<kube::discovery::ApiResource, String> {
    let discovery = tokio::time::timeout(
        PROBE_TIMEOUT * 2,
        kube::Discovery::new(client.clone()).run(),
    )
    .await
    .map_err(|_| "discovery did not answer".to_owned())?
    .map_err(|e| format!("discovery failed: {}", crate::text::error_chain(&e)))?;
    let found = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .map(|(ar, _)| ar)
        .find(|ar| {
            live::is_asked(asked, &ar.plural, &ar.kind)
                || format!("{}.{}", ar.plural, ar.group) == asked
        });
    found.ok_or_else(|| {
        format!("no kind `{asked}` is served here (kubectl api-resources lists them)")
    })
}

/// Watches one kind into the Live cache until `stop`.
async fn watch_kind(
    client: kube::Client,
    asked: String,
    caches: Arc<Caches>,
    stop: CancellationToken,
) {
    let ar = tokio::select! {
        _ = stop.cancelled() => return,
        ar = resolve(&client, &asked) => ar,
    };
    let ar = match ar {
        Ok(ar) => ar,
        Err(e) => {
            let mut cache = lock(&caches.live);
            cache.table.error = Some(sanitize(&e).into_owned());
            cache.table.loading = false;
            caches.dirty.store(true, Ordering::Relaxed);
            return;
        }
    };
    {
        let mut cache = lock(&caches.live);
        cache.table.kind = text(&ar.kind);
        cache.table.api_version = text(&ar.api_version);
        cache.table.plural = text(&ar.plural);
    }
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let row = |o: &DynamicObject| {
        let mut value = serde_json::to_value(o).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("apiVersion".into(), ar.api_version.clone().into());
            map.insert("kind".into(), ar.kind.clone().into());
        }
        live::row(&value)
    };
    let mut stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut initial: Option<HashMap<String, LiveRow>> = None;
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        let mut cache = lock(&caches.live);
        match event {
            Ok(WatchEvent::Init) => initial = Some(HashMap::new()),
            Ok(WatchEvent::InitApply(o)) => {
                if let Some(b) = initial.as_mut() {
                    b.insert(cache_key(&o.metadata), row(&o));
                }
            }
            Ok(WatchEvent::InitDone) => {
                if let Some(b) = initial.take() {
                    cache.rows = b;
                }
                cache.table.loading = false;
                cache.table.error = None;
            }
            Ok(WatchEvent::Apply(o)) => {
                cache.rows.insert(cache_key(&o.metadata), row(&o));
            }
            Ok(WatchEvent::Delete(o)) => {
                cache.rows.remove(&cache_key(&o.metadata));
            }
            Err(e) => {
                let why = format!("watching {}: {}", ar.plural, crate::text::error_chain(&e));
                cache.table.error = Some(sanitize(&why).into_owned());
                cache.table.loading = false;
            }
        }
        caches.dirty.store(true, Ordering::Relaxed);
    }
}

/// What a slim cache keys an object by: `namespace/name`, or the bare name of a cluster-scoped
/// object (upgrade rows join nodes by name).
fn cache_key(meta: &kube::api::ObjectMeta) -> String {
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

/// Watches a kind (with backoff) into a slim cache, keyed by namespace/name.
fn slim_watch<K, R>(
    api: Api<K>,
    caches: &Arc<Caches>,
    shutdown: &CancellationToken,
    row: impl Fn(&K) -> R + Send + 'static,
    cache: fn(&Caches) -> &Slim<R>,
) where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
    R: Send + 'static,
{
    let caches = caches.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut stream = watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut initial: Option<HashMap<String, R>> = None;
        let key = |o: &K| cache_key(o.meta());
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = stream.next() => e,
            };
            let Some(event) = event else { return };
            let map = cache(&caches);
            match event {
                Ok(WatchEvent::Init) => initial = Some(HashMap::new()),
                Ok(WatchEvent::InitApply(o)) => {
                    if let Some(b) = initial.as_mut() {
                        b.insert(key(&o), row(&o));
                    }
                }
                Ok(WatchEvent::InitDone) => {
                    if let Some(b) = initial.take() {
                        *lock(map) = b;
                    }
                }
                Ok(WatchEvent::Apply(o)) => {
                    lock(map).insert(key(&o), row(&o));
                }
                Ok(WatchEvent::Delete(o)) => {
                    lock(map).remove(&key(&o));
                }
                Err(_) => continue,
            }
            caches.dirty.store(true, Ordering::Relaxed);
        }
    });
}

/// Fetches the repo now and then; reads status, drift, desired files and drafts off the UI task.
async fn git_loop(
    entry: OrbEntry,
    config: FleetConfig,
    paths: Paths,
    caches: Arc<Caches>,
    shutdown: CancellationToken,
) {
    let repo: Arc<Mutex<Option<OrbRepo>>> = Arc::new(Mutex::new(None));
    loop {
        let (entry2, config2, paths2, repo2, caches2) = (
            entry.clone(),
            config.clone(),
            paths.clone(),
            repo.clone(),
            caches.clone(),
        );
        let read = tokio::task::spawn_blocking(move || {
            let mut slot = lock(&repo2);
            if slot.is_none() {
                match connect::open_repo(&config2, &paths2, &entry2) {
                    Ok(repo) => *slot = Some(repo),
                    Err(e) => return (Err(e), draft_rows(None, &entry2, &paths2)),
                }
            }
            let repo = slot.as_ref().expect("opened above");
            let previous = lock(&caches2.git).clone();
            read_git(repo, &entry2, &paths2, previous)
        })
        .await;
        let (result, drafts) = match read {
            Ok((result, drafts)) => (result.map_err(|e| e.to_string()), drafts),
            Err(e) => (Err(e.to_string()), Vec::new()),
        };
        {
            let mut git = lock(&caches.git);
            match result {
                Ok(view) => *git = view,
                Err(e) => {
                    // The drafts stay in view while the remote cannot be reached.
                    git.fetched = true;
                    git.error = Some(sanitize(&e).into_owned());
                    git.drafts = drafts;
                }
            }
        }
        caches.dirty.store(true, Ordering::Relaxed);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(FETCH_EVERY) => {}
        }
    }
}

/// This machine's drafts of the ORB, checked against `tip` of `repo` when there is one.
fn draft_rows(
    repo: Option<(&OrbRepo, Option<git2::Oid>)>,
    entry: &OrbEntry,
    paths: &Paths,
) -> Vec<DraftRow> {
    Drafts::new(paths.drafts_dir())
        .list(Some(&entry.name))
        .iter()
        .map(|d| draft_row(repo, d))
        .collect()
}

/// What the repo says now, with the drafts; when the tip has not moved only the drafts are read
/// again. A failed fetch still gives the drafts (checked against the last fetched tip).
fn read_git(
    repo: &OrbRepo,
    entry: &OrbEntry,
    paths: &Paths,
    previous: GitView,
) -> (Result<GitView, RepoError>, Vec<DraftRow>) {
    let tip = match repo.fetch() {
        Ok(tip) => tip,
        Err(e) => {
            return (Err(e), draft_rows(Some((repo, repo.tip())), entry, paths));
        }
    };
    let drafts = draft_rows(Some((repo, tip)), entry, paths);
    (read_tip(repo, tip, previous, drafts.clone()), drafts)
}

/// The view of `tip` (re-read only when it moved since `previous`).
fn read_tip(
    repo: &OrbRepo,
    tip: Option<git2::Oid>,
    previous: GitView,
    drafts: Vec<DraftRow>,
) -> Result<GitView, RepoError> {
    if previous.fetched && previous.error.is_none() && previous.tip == tip {
        return Ok(GitView { drafts, ..previous });
    }
    let Some(tip) = tip else {
        return Ok(GitView {
            fetched: true,
            drafts,
            ..Default::default()
        });
    };
    let files = repo.files(tip, DESIRED)?;
    let desired_files = files.iter().map(|(p, _)| text(p)).collect();
    let report = crate::validate::validate_files(
        &files
            .iter()
            .map(|(p, b)| (std::path::PathBuf::from(p), b.clone()))
            .collect::<Vec<_>>(),
        &crate::validate::ModelSchemas,
    );
    let access = AccessTable::of(
        &crate::access::Policy::resolve(&crate::access::Objects::from_manifests(
            report.objects.iter().map(|o| &o.value),
        )),
        &format!(
            "desired/ at {} (the live bindings show while the cluster answers)",
            crate::repo::short_hex(&tip.to_string())
        ),
    );
    let sources = report
        .objects
        .iter()
        .filter(|o| o.kind == "Profile")
        .map(|o| {
            (
                o.name.clone(),
                (
                    o.file.display().to_string(),
                    u32::try_from(o.line).unwrap_or(u32::MAX),
                ),
            )
        })
        .collect();
    let settings = repo
        .file(Some(tip), ORB_FILE)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| crate::model::OrbFile::parse(&t).ok())
        .map(|o| o.profiles)
        .unwrap_or_default();
    let policies = crate::controllers::profiles::report::ProfilesReport::read(repo, tip)
        .map(|r| {
            r.profiles
                .into_iter()
                .map(|p| (p.name, u16::try_from(p.policies.len()).unwrap_or(u16::MAX)))
                .collect()
        })
        .unwrap_or_default();
    let status = OrbStatus::read(repo, tip);
    let drift = status.as_ref().map(|s| drift(repo, tip, s));
    let sync = status.map(|s| SyncInfo {
        commit: text(&s.commit.chars().take(8).collect::<String>()),
        time: chrono::DateTime::parse_from_rfc3339(&s.time)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp()).ok()),
        result: text(&s.result),
        errors: s.errors.iter().map(|e| text(e)).collect(),
        health: s.health.map(|h| h.as_str().to_string()),
        unhealthy: s
            .objects
            .iter()
            .filter(|o| {
                o.health
                    .is_some_and(|h| h != crate::health::Health::Healthy)
            })
            .map(|o| {
                let at = o
                    .namespace
                    .as_deref()
                    .map_or(String::new(), |n| format!("{n}/"));
                let why = o
                    .health_message
                    .as_deref()
                    .map_or(String::new(), |m| format!(": {m}"));
                text(&format!(
                    "{} {at}{}: {}{why}",
                    o.kind,
                    o.name,
                    o.health.map_or("", |h| h.as_str())
                ))
            })
            .collect(),
        waiting: s
            .objects
            .iter()
            .filter(|o| o.outcome == "waiting")
            .map(|o| {
                let at = o
                    .namespace
                    .as_deref()
                    .map_or(String::new(), |n| format!("{n}/"));
                let why = o.message.as_deref().unwrap_or("waiting");
                text(&format!("{} {at}{}: {why}", o.kind, o.name))
            })
            .collect(),
    });
    Ok(GitView {
        fetched: true,
        tip: Some(tip),
        error: None,
        sync,
        drift,
        desired_files,
        drafts,
        sources,
        settings,
        policies,
        access,
    })
}

/// The desired files with the paths of new-file drafts added (sorted).
fn with_new_drafts(files: &[String], drafts: &[DraftRow]) -> Vec<String> {
    let mut out = files.to_vec();
    for d in drafts {
        if let Err(pos) = out.binary_search(&d.path) {
            out.insert(pos, d.path.clone());
        }
    }
    out
}

/// One draft as the views show it: whether its file moved upstream since its base (at `tip` of
/// the repo, when known), and by whom.
fn draft_row(repo: Option<(&OrbRepo, Option<git2::Oid>)>, d: &Draft) -> DraftRow {
    let base = d.base_oid();
    let moved = repo.and_then(|(repo, tip)| {
        let t = tip.filter(|_| tip != base)?;
        let at_tip = repo.file(Some(t), &d.path).ok()?;
        let at_base = d.base_content.as_ref().map(|c| c.as_bytes().to_vec());
        if at_tip == at_base {
            return None;
        }
        repo.last_change(t, &d.path, base).ok().flatten()
    });
    DraftRow {
        path: text(&d.path),
        kind: d.kind(),
        updated: chrono::DateTime::parse_from_rfc3339(&d.updated)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp()).ok())
            .unwrap_or_default(),
        base: short_hex(d.base.as_deref().unwrap_or_default()),
        upstream: moved.map(|(commit, author)| Upstream {
            commit: short_hex(&commit.to_string()),
            author: text(&author),
        }),
        error: d.last_error.as_deref().map(text),
    }
}

/// Desired files changed since the commit the engine last applied, plus objects it failed or
/// holds for a sync wave.
fn drift(repo: &OrbRepo, tip: git2::Oid, status: &OrbStatus) -> usize {
    let failed = status
        .objects
        .iter()
        .filter(|o| o.outcome == "failed" || o.outcome == "waiting")
        .count();
    let git = repo.git();
    let tree_of = |oid: git2::Oid| {
        git.find_commit(oid)
            .ok()?
            .tree()
            .ok()?
            .get_path(std::path::Path::new(DESIRED))
            .ok()?
            .to_object(git)
            .ok()?
            .into_tree()
            .ok()
    };
    let Ok(applied) = git2::Oid::from_str(&status.commit) else {
        return failed;
    };
    let changed = match (tree_of(applied), tree_of(tip)) {
        (Some(a), Some(b)) => git
            .diff_tree_to_tree(Some(&a), Some(&b), None)
            .map(|d| d.deltas().len())
            .unwrap_or(0),
        _ => 0,
    };
    changed + failed
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::kinds::upgrades;
    use k8s_openapi::api::core::v1::{Node, NodeStatus, NodeSystemInfo};

    #[test]
    fn a_node_is_cached_under_its_name_so_upgrade_rows_show_its_live_version() {
        let mut node = Node::default();
        node.metadata.name = Some("node-1".into());
        node.status = Some(NodeStatus {
            node_info: Some(NodeSystemInfo {
                kubelet_version: "v1.34.1".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let key = cache_key(&node.metadata);
        assert_eq!(key, "node-1");
        let nodes = HashMap::from([(key, upgrades::node_row(&node))]);
        let mut upgrade = crate::model::ClusterUpgrade::new(
            "to-1-34",
            serde_json::from_value(serde_json::json!({"targetVersion": "1.34.1"})).unwrap(),
        );
        upgrade.status = serde_json::from_value(serde_json::json!({
            "nodes": [{"name": "node-1", "fromVersion": "v1.33.0", "phase": "Upgrading"}]
        }))
        .unwrap();
        let rows = upgrades::rows([upgrades::row(&upgrade)].into_iter(), &nodes);
        assert_eq!(rows[0].nodes[0].kubelet_version, "v1.34.1");
    }
}
