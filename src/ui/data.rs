//! The slim caches the runtime fills for each ORB: only the fields the views show, as plain
//! strings and numbers. The runtime builds them from watches and git; `update` stores them.

pub use crate::repo::DraftKind;
use crate::text::sanitize;

/// Everything the control room shows about one ORB (cluster + repo).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrbView {
    /// ORB name from the fleet config.
    pub name: String,
    /// `write: true` in the fleet config for this ORB (`--write` enables all ORBs).
    pub writable: bool,
    /// Its fleet-file labels as `key=value` joined by `,` (sanitised; empty without labels).
    pub labels: String,
    /// Connection to the cluster's API.
    pub health: Health,
    /// The ORB's Git repository; none for a live-only ORB (no repo paired).
    pub repo: Option<RepoInfo>,
    /// Last sync the engine recorded in `current/status.yaml`, if any.
    pub sync: Option<SyncInfo>,
    /// Objects whose live state differs from desired, when known.
    pub drift: Option<usize>,
    /// Profiles with their quota usage.
    pub profiles: Vec<ProfileRow>,
    /// ResourceQuota lines, one per namespace and resource.
    pub quotas: Vec<QuotaRow>,
    /// ImageReplications, one per copied image.
    pub replications: Vec<ReplicationRow>,
    /// ClusterUpgrades with their nodes.
    pub upgrades: Vec<UpgradeRow>,
    /// Recent cluster events.
    pub events: Vec<EventRow>,
    /// The objects of the kind the Live tab shows (`:pods`, `:deploy`, `:KIND`), while it does.
    pub live: LiveTable,
    /// Who can do what, where: live while the Access tab shows, else from desired/.
    pub access: AccessTable,
    /// Paths of the files under `desired/` (relative to the repo root).
    pub desired_files: Vec<String>,
    /// The last fetched tip of the repo (hex), the base of new files.
    pub tip: Option<String>,
    /// Saved but unpushed drafts, by path.
    pub drafts: Vec<DraftRow>,
    /// The first list of objects has not arrived yet.
    pub loading: bool,
    /// The engine as its Lease tells it, when the Lease can be read.
    pub engine: Option<EngineInfo>,
    /// Its part in this machine's rollouts (`orbdeck rollout`, `:rollout`), newest first.
    pub rollouts: Vec<RolloutRow>,
}

/// One ORB's part in one rollout: a row of the Rollouts tab.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolloutRow {
    /// The rollout's id.
    pub id: String,
    /// The ORB's wave, 0 the canary (the Unassigned sort last).
    pub wave: usize,
    /// `0 canary`, `1 wave 1`, or `-` for an Unassigned ORB.
    pub wave_name: String,
    /// Where the ORB is (`Waiting`, `Pushed`, `Applying`, `Healthy`, `Degraded`…, `Unassigned`).
    pub state: String,
    /// 0 fine or done, 1 under way, 2 a failure.
    pub severity: u8,
    /// The rollout's commit on the ORB's remote, short hex (empty before the push).
    pub commit: String,
    /// The commit the engine last reported applied, short hex.
    pub applied: String,
    /// The engine's health roll-up, as last seen.
    pub health: String,
    /// When the ORB entered its state, Unix seconds.
    pub since: u64,
    /// The last thing said about it (sanitised).
    pub message: String,
    /// The ORB's drift as its view last knew it (shown; it does not gate the rollout).
    pub drift: Option<usize>,
}

/// An ORB's labels as shown and searched: `env=prod,region=eu`, sanitised.
pub fn label_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    let joined: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    sanitize(&joined.join(",")).into_owned()
}

impl OrbView {
    /// The last fetch error of the ORB's repo, if it has one and the fetch failed.
    pub fn repo_error(&self) -> Option<&str> {
        self.repo.as_ref().and_then(|r| r.error.as_deref())
    }

    /// When the engine last ran, as its Lease tells it, else when its status last changed
    /// (current/status.yaml is only committed on a change, so its time alone looks stuck).
    pub fn last_run(&self) -> Option<u64> {
        self.engine
            .as_ref()
            .and_then(|e| e.ran)
            .or_else(|| self.sync.as_ref().and_then(|s| s.time))
    }

    /// What the header's alerts count for this ORB: its cluster unreachable or refusing the
    /// credentials, its repo failing to fetch, the engine's sync errors (one line each).
    pub fn alerts(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.health {
            Health::Unreachable { reason } => out.push(format!("cluster unreachable: {reason}")),
            Health::AuthError { reason } => out.push(format!("credentials refused: {reason}")),
            _ => {}
        }
        if let Some(e) = self.repo_error() {
            out.push(format!("repo: {e}"));
        }
        for e in self.sync.iter().flat_map(|s| &s.errors) {
            out.push(format!("sync error: {e}"));
        }
        out
    }

    /// How the ORB is doing at Unix time `now`, worst first: its cluster's API, then the engine's
    /// sync errors, its objects' health, its Lease, the repo's fetch, what is still progressing.
    pub fn overall(&self, now: u64) -> Overall {
        let (verdict, text) = self.verdict(now);
        Overall { verdict, text }
    }

    fn verdict(&self, now: u64) -> (Verdict, String) {
        match &self.health {
            Health::AuthError { reason } => return (Verdict::Bad, format!("auth error: {reason}")),
            Health::Unreachable { reason } => {
                return (Verdict::Bad, format!("unreachable: {reason}"));
            }
            Health::Connecting => return (Verdict::Unknown, "connecting".into()),
            Health::Connected { .. } => {}
        }
        if self.repo.is_none() {
            return (Verdict::Good, "reachable (live only)".into());
        }
        let sync = self.sync.as_ref();
        let errors = sync.map_or(0, |s| s.errors.len());
        if errors > 0 {
            let n = if errors == 1 { "error" } else { "errors" };
            return (Verdict::Bad, format!("sync failing: {errors} {n}"));
        }
        let health = sync.and_then(|s| s.health.as_deref()).unwrap_or_default();
        let unhealthy = sync.map_or(0, |s| s.unhealthy.len());
        if matches!(health, "Degraded" | "Missing") {
            return (Verdict::Bad, format!("{health}: {unhealthy} not healthy"));
        }
        if let Some(e) = &self.engine {
            if e.holder.is_empty() {
                return (Verdict::Warn, "no engine holds the Lease".into());
            }
            if e.renewed
                .is_some_and(|r| now.saturating_sub(r) > e.lease_seconds)
            {
                return (
                    Verdict::Warn,
                    "engine down? its Lease is not renewed".into(),
                );
            }
        }
        if let Some(e) = self.repo_error() {
            return (Verdict::Warn, format!("repo fetch failing: {e}"));
        }
        let result = sync.map_or("", |s| s.result.as_str());
        let waiting = sync.map_or(0, |s| s.waiting.len());
        match (health, result) {
            ("Progressing", _) => (
                Verdict::Warn,
                format!("Progressing: {unhealthy} not yet healthy"),
            ),
            (_, "Waiting") => (
                Verdict::Warn,
                format!("Waiting: {waiting} held by a sync wave"),
            ),
            (_, "Suspended") => (
                Verdict::Warn,
                "Suspended: engine.suspend in orb.yaml".into(),
            ),
            ("Suspended", _) => (Verdict::Warn, format!("Suspended: {unhealthy} objects")),
            _ if sync.is_none() => (Verdict::Unknown, "no sync recorded yet".into()),
            _ => (Verdict::Good, "Healthy".into()),
        }
    }

    /// How to pair a repo with this live-only ORB (the context is named like the ORB).
    pub fn pair_hint(&self) -> String {
        let name = if crate::names::is_dns_label(&self.name) {
            self.name.as_str()
        } else {
            "NAME"
        };
        format!("orbdeck orb add {name} --repo URL --context {}", self.name)
    }
}

/// An ORB's health as one word and its reason (see [`OrbView::overall`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overall {
    /// How bad it is.
    pub verdict: Verdict,
    /// What the HEALTH column and the Overview's Health row say, e.g. `Healthy`,
    /// `sync failing: 2 errors`, `unreachable: connection refused`.
    pub text: String,
}

/// How bad an ORB's health is, worst first (the order the HEALTH column sorts by).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Unreachable, refused, failing to sync, or objects Degraded / Missing.
    Bad,
    /// Reachable but something needs a look: progressing, waiting, suspended, no engine.
    Warn,
    /// Connecting, or nothing recorded yet.
    Unknown,
    /// Reachable, synced, every object healthy.
    Good,
}

/// The engine of an ORB as its Lease tells it: who leads and its last sync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineInfo {
    /// The leader's identity (sanitised); empty when nobody holds the Lease.
    pub holder: String,
    /// When the leader last renewed, Unix seconds.
    pub renewed: Option<u64>,
    /// How long a renewal holds, in seconds.
    pub lease_seconds: u64,
    /// When the last sync finished, Unix seconds.
    pub ran: Option<u64>,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
    /// Its result (sanitised).
    pub result: String,
    /// Its commit, short (sanitised).
    pub commit: String,
}

/// Connection state of an ORB's cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Health {
    /// First contact in progress.
    #[default]
    Connecting,
    /// API reachable; `version` is the server's Kubernetes version.
    Connected {
        /// Server version, e.g. `v1.33.2`.
        version: String,
    },
    /// API not reachable.
    Unreachable {
        /// Why, as the client reported it.
        reason: String,
    },
    /// API reachable but the credentials were refused.
    AuthError {
        /// Why, as the server reported it.
        reason: String,
    },
}

impl Health {
    /// True when the cluster answers with valid credentials.
    pub fn is_reachable(&self) -> bool {
        matches!(self, Health::Connected { .. })
    }
}

/// The ORB's Git repository as last fetched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoInfo {
    /// Remote URL.
    pub url: String,
    /// A fetch is running.
    pub fetching: bool,
    /// Last fetch error, if the last fetch failed.
    pub error: Option<String>,
}

/// The engine's last sync, from `current/status.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncInfo {
    /// Applied commit, short hex.
    pub commit: String,
    /// When it was applied, in Unix seconds.
    pub time: Option<u64>,
    /// Result word: `Synced`, `Waiting` (a sync wave), `Partial` or `Invalid`.
    pub result: String,
    /// Errors with `file:line` where the engine knew them.
    pub errors: Vec<String>,
    /// The worst health of the ORB's objects (Argo CD's rules), when the engine assessed any.
    pub health: Option<String>,
    /// The objects that are not Healthy: `Kind namespace/name: Health: why`.
    pub unhealthy: Vec<String>,
    /// The objects held by an earlier sync wave: `Kind namespace/name: why`.
    pub waiting: Vec<String>,
}

/// One object whose live state differs from desired (the out-of-sync list, `:drift`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriftRow {
    /// `missing` (desired, not live), `changed`, `extra` (live, owned, left desired/: pruned
    /// at the next sync), or `held` (extra, but the last sync's prune fence held it back).
    pub state: String,
    /// apiVersion.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty: cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The diff from live to desired, noise stripped (sanitised lines).
    pub diff: Vec<String>,
}

/// One entry of an ORB's history: a commit, or a run of the engine's current/ commits folded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryRow {
    /// The (newest) commit, full hex.
    pub commit: String,
    /// Author's name (sanitised).
    pub author: String,
    /// Commit time, Unix seconds.
    pub time: u64,
    /// First line of the message (sanitised).
    pub summary: String,
    /// Files changed.
    pub files: Vec<String>,
    /// How many commits the entry stands for (engine runs are folded).
    pub commits: usize,
    /// The engine's (current/ only): not revertible.
    pub engine: bool,
}

/// Who owns a profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum OwnerKind {
    /// A single user.
    #[default]
    User,
    /// A group of users.
    Group,
}

impl OwnerKind {
    /// `User` or `Group`, as Kubeflow writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "User",
            OwnerKind::Group => "Group",
        }
    }
}

/// One Kubeflow profile with its namespace's quota usage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileRow {
    /// Profile name.
    pub name: String,
    /// Owner (user email or group name).
    pub owner: String,
    /// Whether the owner is a user or a group.
    pub owner_kind: OwnerKind,
    /// The profile's namespace.
    pub namespace: String,
    /// CPU requests used / hard, when a quota exists.
    pub cpu: Option<Usage>,
    /// Memory requests used / hard, when a quota exists.
    pub memory: Option<Usage>,
    /// GPUs used / hard, when a quota exists.
    pub gpu: Option<Usage>,
    /// Pods used / hard, when a quota exists.
    pub pods: Option<Usage>,
    /// Network policies present in the namespace.
    pub policies: u16,
    /// Short condition text, e.g. `Ready` or `Failed: namespace owned by bob`.
    pub conditions: String,
    /// Where the profile is defined: path under the repo and 1-based line.
    pub source: Option<(String, u32)>,
}

/// Used and hard amounts of one quota resource, as numbers (for bars and sorting) and as text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Used amount in base units.
    pub used: f64,
    /// Hard limit in base units.
    pub hard: f64,
    /// Used amount as Kubernetes writes it, e.g. `1500m`.
    pub used_text: String,
    /// Hard limit as Kubernetes writes it, e.g. `4`.
    pub hard_text: String,
}

impl Usage {
    /// Percentage used, or `None` without a positive hard limit.
    pub fn percent(&self) -> Option<f64> {
        (self.hard > 0.0).then(|| self.used / self.hard * 100.0)
    }
}

/// One resource of one namespace's ResourceQuota.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuotaRow {
    /// Namespace of the quota.
    pub namespace: String,
    /// Resource name, e.g. `requests.cpu`.
    pub resource: String,
    /// Used amount as text.
    pub used_text: String,
    /// Hard limit as text.
    pub hard_text: String,
    /// Used amount in base units.
    pub used: f64,
    /// Hard limit in base units.
    pub hard: f64,
    /// Where the limit came from, e.g. `default`, `spec`, `label quotas.statcan.gc.ca/gpu`.
    pub source: String,
}

impl QuotaRow {
    /// Percentage used, or `None` without a positive hard limit.
    pub fn percent(&self) -> Option<f64> {
        (self.hard > 0.0).then(|| self.used / self.hard * 100.0)
    }
}

/// One ImageReplication (one image copied to the target registry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationRow {
    /// Namespace of the object.
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Source image reference.
    pub source: String,
    /// Destination image reference.
    pub destination: String,
    /// Phase, e.g. `Pending`, `Replicating`, `Succeeded`, `Failed`, `MaxAttemptsExceeded`.
    pub phase: String,
    /// Copy attempts so far.
    pub attempts: u8,
    /// The policy's attempts (3 by default; 0 before the first attempt).
    pub max_attempts: u8,
    /// Bytes of blobs copied in this attempt.
    pub bytes_copied: u64,
    /// Bytes of every blob (0 until the manifests are read).
    pub bytes_total: u64,
    /// Last message.
    pub message: String,
}

impl ReplicationRow {
    /// Whether it failed (to be retried, or given up).
    pub fn failed(&self) -> bool {
        matches!(self.phase.as_str(), "Failed" | "MaxAttemptsExceeded")
    }

    /// Percentage of the bytes copied, or `None` before the total is known.
    pub fn percent(&self) -> Option<f64> {
        (self.bytes_total > 0).then(|| self.bytes_copied as f64 / self.bytes_total as f64 * 100.0)
    }
}

/// One ClusterUpgrade and its nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeRow {
    /// Object name.
    pub name: String,
    /// Target Kubernetes version.
    pub version: String,
    /// Strategy summary, e.g. `maxUnavailable 1`.
    pub strategy: String,
    /// Phase, e.g. `Progressing`.
    pub phase: String,
    /// Paused in desired state.
    pub paused: bool,
    /// Per-node progress, in upgrade order (the plan, before it starts).
    pub nodes: Vec<NodeRow>,
    /// When the first node started, in Unix seconds.
    pub started: Option<u64>,
    /// When it ended, in Unix seconds.
    pub finished: Option<u64>,
    /// What holds a drain back (which PodDisruptionBudget, which pods), while one does.
    pub blocker: Option<String>,
    /// The coordinator's message.
    pub message: String,
}

/// One node's upgrade progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// Kubelet version the node reports.
    pub kubelet_version: String,
    /// NodeUpgrade phase, e.g. `Draining`.
    pub phase: String,
    /// A control-plane node (upgraded first, one at a time).
    pub control_plane: bool,
    /// When its upgrade started, in Unix seconds.
    pub started: Option<u64>,
    /// When it ended, in Unix seconds.
    pub finished: Option<u64>,
}

/// One Kubernetes event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventRow {
    /// Last seen, in Unix seconds.
    pub time: u64,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Involved object as `Kind/name`.
    pub object: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// Reason, e.g. `FailedCreate`.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Who reported it: `reportingComponent`, else `source.component` (e.g. `kubelet`,
    /// `orbdeck-controllers`).
    pub source: String,
}

/// One object a profile controller created (namespace, RBAC, quota, policies...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChildRow {
    /// Object kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Short status, e.g. `Ready` or `missing`.
    pub status: String,
}

/// Someone else's commit that changed a drafted file after the draft's base.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upstream {
    /// The commit, short hex.
    pub commit: String,
    /// Its author's name.
    pub author: String,
}

/// One unpushed draft of this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftRow {
    /// Path in the repo.
    pub path: String,
    /// New file, edit or deletion.
    pub kind: DraftKind,
    /// Last saved, in Unix seconds.
    pub updated: u64,
    /// The commit the file was opened from, short hex (empty for an empty repo).
    pub base: String,
    /// Set when the file changed upstream since the base.
    pub upstream: Option<Upstream>,
    /// Why the last push failed, if it did.
    pub error: Option<String>,
}

/// The Access tab of one ORB: its RBAC grants, and where they were read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessTable {
    /// Where the bindings come from: the live cluster, or desired/ (and why).
    pub source: String,
    /// One row per subject of each binding.
    pub rows: Vec<AccessRow>,
    /// How many findings (cluster-admin equivalents, missing subjects or roles) there are.
    pub findings: usize,
}

/// What one binding grants one subject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRow {
    /// The subject's name (`NAMESPACE/NAME` for a service account).
    pub subject: String,
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// Where: the RoleBinding's namespace, `*` for a ClusterRoleBinding.
    pub namespace: String,
    /// `ClusterRole NAME` or `Role NAME`.
    pub role: String,
    /// The role's rules, one line.
    pub rules: String,
    /// `cluster-admin`, `no such role`, `no such subject`, or empty.
    pub flag: String,
    /// 0 nothing to see, 1 worth a look, 2 cluster-admin equivalent.
    pub severity: u8,
    /// `RoleBinding NS/NAME` or `ClusterRoleBinding NAME`.
    pub binding: String,
}

/// The objects of one kind, watched while the Live tab shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveTable {
    /// What the operator asked for (`pods`, `deploy`, `configmaps`...).
    pub asked: String,
    /// The kind served under that name, e.g. `Pod` (empty until discovery answered).
    pub kind: String,
    /// Its apiVersion, e.g. `apps/v1`.
    pub api_version: String,
    /// Its resource name, e.g. `deployments`.
    pub plural: String,
    /// The rows, sorted by namespace and name.
    pub rows: Vec<LiveRow>,
    /// Why the ORB shows no rows of the kind (not served, forbidden, the watch failed).
    pub error: Option<String>,
    /// The first list has not arrived yet.
    pub loading: bool,
}

/// One live object of the Live tab, slim: only what its columns, logs and describe need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveRow {
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Ready containers or replicas, e.g. `1/2` (empty when the kind has none).
    pub ready: String,
    /// Short status, e.g. `Running`, `CrashLoopBackOff`, `Available`, `Active`.
    pub status: String,
    /// Container restarts (pods).
    pub restarts: u32,
    /// Created, in Unix seconds.
    pub created: u64,
    /// Argo CD health (`Healthy`, `Degraded`...), empty when the kind has no health rule.
    pub health: String,
    /// Why it has that health.
    pub health_message: String,
    /// The containers of a pod (for logs).
    pub containers: Vec<String>,
    /// The pods a workload runs, as a label selector (`app=notebook`), for its logs.
    pub selector: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_show_sorted_and_sanitised() {
        let labels = [("region", "eu"), ("canary", "true"), ("x", "a\u{1b}[31mb")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into_iter()
            .collect();
        let shown = super::label_text(&labels);
        assert!(shown.starts_with("canary=true,region=eu,x=a"), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }
}
