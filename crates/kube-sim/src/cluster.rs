//! One simulated cluster: its store, container logs, credentials, request counters and timing
//! settings.
//! Shared (behind an `Arc`) by the HTTP handlers and the sim's controllers.

use super::logs::Logs;
use super::store::Store;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Timing and size settings of a simulated cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Events kept for watches at most; older resourceVersions get 410 Gone.
    pub watch_window: usize,
    /// How long events are kept for watches, as etcd keeps history until the API server's
    /// compaction (every 5 minutes): a watch from an older resourceVersion gets 410 Gone.
    pub watch_history: Duration,
    /// How often a watch with allowWatchBookmarks gets a BOOKMARK (besides the one 2 s before
    /// its timeout); Kubernetes sends one a minute.
    pub bookmark_interval: Duration,
    /// Delay between a pod being bound and it running.
    pub pod_start_delay: Duration,
    /// How long a Job's pod runs before it succeeds.
    pub job_run_time: Duration,
    /// Number of simulated nodes.
    pub nodes: usize,
    /// kubelet version of new nodes.
    pub kubelet_version: String,
    /// Users besides the admin, each with its own bearer token (`orbdeck sim --user`).
    pub users: Vec<StaticUser>,
}

/// A user known by a static bearer token, like a token-auth-file entry of a real API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticUser {
    /// User name.
    pub name: String,
    /// Bearer token.
    pub token: String,
    /// Groups (`system:authenticated` is added).
    pub groups: Vec<String>,
}

impl std::str::FromStr for StaticUser {
    type Err = String;

    /// `NAME:TOKEN[:GROUP,GROUP…]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let (Some(name), Some(token)) = (parts.next(), parts.next()) else {
            return Err(format!("{s:?}: expected NAME:TOKEN[:GROUP,GROUP...]"));
        };
        if name.is_empty() || token.is_empty() {
            return Err(format!("{s:?}: the name and the token must not be empty"));
        }
        let groups = parts
            .next()
            .map(|g| {
                g.split(',')
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(StaticUser {
            name: name.into(),
            token: token.into(),
            groups,
        })
    }
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            watch_window: 100_000,
            watch_history: Duration::from_secs(300),
            bookmark_interval: Duration::from_secs(5),
            pod_start_delay: Duration::from_millis(300),
            job_run_time: Duration::from_secs(1),
            nodes: 0,
            kubelet_version: "v1.32.0".into(),
            users: vec![],
        }
    }
}

/// A simulated cluster.
#[derive(Debug)]
pub struct Cluster {
    /// Context name in the kubeconfig.
    pub name: String,
    /// The objects.
    pub store: Store,
    /// The bearer token clients must present.
    pub token: String,
    /// Settings.
    pub options: ClusterOptions,
    /// Requests served, keyed by "verb resource user-agent".
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// The URL clients reach it at (set once listening).
    pub url: Mutex<String>,
    /// PEM of the CA that signed the serving certificate (published in `kube-root-ca.crt`).
    pub ca_pem: Mutex<String>,
    /// Key that signs and checks ServiceAccount tokens.
    pub signing_key: Vec<u8>,
    /// Permissions each user was granted so far: (user, verb, group, resource[/sub]).
    pub used: Mutex<std::collections::BTreeSet<(String, String, String, String)>>,
    /// The compiled RBAC rules and the resourceVersion they were built at.
    pub rbac: Mutex<Option<(u64, std::sync::Arc<crate::auth::rbac::Compiled>)>>,
    /// The containers' logs, written by the kubelet and served by `pods/log`.
    pub logs: Logs,
}

impl Cluster {
    /// A new, empty cluster.
    pub fn new(name: &str, token: &str, options: ClusterOptions) -> Self {
        Cluster {
            name: name.into(),
            store: Store::new(options.watch_window, options.watch_history),
            token: token.into(),
            options,
            counts: Mutex::new(BTreeMap::new()),
            url: Mutex::new(String::new()),
            ca_pem: Mutex::new(String::new()),
            signing_key: (0..32).map(|_| rand::random::<u8>()).collect(),
            rbac: Mutex::new(None),
            used: Mutex::new(Default::default()),
            logs: Logs::default(),
        }
    }

    /// Counts one request.
    pub fn count(&self, verb: &str, resource: &str, agent: &str) {
        let key = format!("{verb} {resource} {agent}");
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(key).or_default() += 1;
    }
}
