//! What goes into `update` (`Action`: keys, time, data, results of background work) and what
//! comes out (`Effect`: background work the app runtime runs, reporting back as actions).

use std::time::Instant;

use crossterm::event::KeyEvent;

use super::data::{ChildRow, DriftRow, HistoryRow, OrbView};
use super::logs::LogLine;
use crate::repo::merge3::Resolution;

/// The time, passed in so that `update` and `render` stay deterministic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Monotonic time, for debouncing.
    pub now: Instant,
    /// Wall-clock Unix seconds, for ages (`5m`).
    pub unix: u64,
}

/// Everything that can change the state.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A key press (release events are ignored).
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): one undo step in the editor, typed key by
    /// key anywhere else.
    Paste(String),
    /// The terminal's new size (columns, rows); send one at start.
    Resize(u16, u16),
    /// Time passed: saves debounced drafts, expires messages, ages.
    Tick(Clock),
    /// Replace one ORB's view (index into the fleet).
    OrbUpdated(usize, Box<OrbView>),
    /// This machine's rollouts changed: every ORB's rows (by ORB name) and one note per rollout.
    Rollouts {
        /// The Rollouts tab's rows of each ORB.
        rows: std::collections::BTreeMap<String, Vec<super::data::RolloutRow>>,
        /// One line per rollout shown (id, line), newest first.
        notes: Vec<(String, String)>,
    },
    /// Result of [`Effect::PlanRollout`]: the plan as text, or why there is none.
    RolloutPlanned {
        /// The saved rollout's id while it waits to be started (None: nothing was planned, or
        /// it started at once).
        id: Option<String>,
        /// The plan, as `orbdeck rollout plan` prints it.
        text: String,
        /// The draft (ORB, path) the change came from, when the rollout carries it to its ORB.
        draft: Option<(String, String)>,
    },
    /// Result of [`Effect::OpenFile`]: the file's text (the draft's when `from_draft`).
    FileOpened {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Content.
        text: String,
        /// The text is an unpushed draft rather than the committed file.
        from_draft: bool,
        /// The commit (hex) the file was opened from: a draft's own base, else the tip.
        base: Option<String>,
        /// The file at `base`; None when it did not exist there.
        base_text: Option<String>,
    },
    /// Result of [`Effect::Validate`]: errors with their 1-based lines (empty: valid).
    Validated {
        /// (line, message) pairs.
        errors: Vec<(u32, String)>,
    },
    /// Result of [`Effect::Plan`]: what the commit would create/update/delete, as diff text.
    Planned(String),
    /// A progress line while committing and pushing.
    PushProgress(String),
    /// Result of [`Effect::Commit`].
    Pushed(PushResult),
    /// The edit and the upstream change touch the same keys: each conflict with both values.
    Conflicts {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Every conflicting key path.
        conflicts: Vec<ConflictRow>,
    },
    /// Result of [`Effect::Merge`]: the edit merged with the upstream change, based on the tip
    /// (taken only while the editor waits for it; then saved as the draft's new base).
    Merged {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// The merged text.
        text: String,
        /// The new base commit (hex).
        base: Option<String>,
        /// The file at the new base.
        base_text: Option<String>,
    },
    /// A text for [`super::state::Viewer::Text`] (a diff or a plan).
    Text(String),
    /// A draft is gone: discarded by the user, equal to its base file, or pushed.
    DraftDiscarded {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
    },
    /// Result of [`Effect::FetchLiveYaml`].
    LiveYaml(String),
    /// Result of [`Effect::Diff`]: each object's desired and live state and the engine's word,
    /// and notes on the whole (why a file has no object to compare).
    Diff(Vec<super::diff::Source>, Vec<String>),
    /// Result of [`Effect::Children`].
    Children(Vec<ChildRow>),
    /// The out-of-sync list asked for with [`Effect::Drift`], and its notes.
    Drift(Vec<DriftRow>, Vec<String>),
    /// The commit log asked for with [`Effect::History`].
    History(Vec<HistoryRow>),
    /// Lines of log stream `stream` ([`Effect::Logs`]), in order.
    LogLines {
        /// The stream they belong to.
        stream: u64,
        /// The lines, parsed.
        lines: Vec<LogLine>,
    },
    /// The pod a workload's log stream reads (its first pod by name), with its containers.
    LogPod {
        /// The stream.
        stream: u64,
        /// Pod name.
        pod: String,
        /// Its containers.
        containers: Vec<String>,
    },
    /// Log stream `stream` ended, and why.
    LogEnded {
        /// The stream.
        stream: u64,
        /// Why, for the operator.
        why: String,
    },
    /// Background work failed; shown as a message.
    Error(String),
    /// Background work finished with something to say (e.g. an upgrade paused by a commit).
    Notice(String),
}

/// How a commit ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushResult {
    /// A new commit (short hex) is on the remote.
    Committed(String),
    /// Nothing to commit: the remote's file already equals the text, at this commit (short hex).
    Unchanged(String),
    /// The push failed; the draft is kept with this report.
    Rejected(String),
}

/// One key path both sides changed differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictRow {
    /// The document, e.g. `kubeflow.org/v1 Profile data-team`.
    pub doc: String,
    /// The key path, e.g. `spec.owner.name`.
    pub path: String,
    /// The edit's value (compact JSON), None when absent.
    pub ours: Option<String>,
    /// The upstream value, None when absent.
    pub theirs: Option<String>,
}

/// An object in a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    /// Kind, e.g. `Profile`.
    pub kind: String,
    /// Namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// What a diff compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffTarget {
    /// One object; its apiVersion when known besides desired/ (an object only live has).
    Object {
        /// The object.
        target: ObjectRef,
        /// Its apiVersion, when desired/ may not have it.
        api_version: Option<String>,
    },
    /// Every object of a file under desired/.
    File(String),
}

/// The live watch the screen needs, started on demand: what, in some ORBs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveWatch {
    /// What is watched.
    pub what: Watched,
    /// The ORBs (by name) whose clusters are watched.
    pub orbs: Vec<String>,
}

/// What an on-demand watch is of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Watched {
    /// The Live tab's kind as the operator typed it (`pods`, `deploy`, `configmaps`).
    Kind(String),
    /// The Access tab's RBAC objects and service accounts.
    Access,
}

/// A log stream to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRequest {
    /// Which stream (results carry it; older ones are ignored).
    pub stream: u64,
    /// ORB name.
    pub orb: String,
    /// Namespace of the pod.
    pub namespace: String,
    /// The pod; empty to find the first pod of `selector`.
    pub pod: String,
    /// A workload's pods, as a label selector.
    pub selector: String,
    /// The container (None: the pod's only or first one).
    pub container: Option<String>,
    /// Lines to start with.
    pub tail: u32,
    /// The previous container's logs.
    pub previous: bool,
}

/// What an upgrade control key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpgradeOp {
    /// Set `spec.paused: true`.
    Pause,
    /// Set `spec.paused: false`.
    Resume,
    /// Set `spec.abort: true`.
    Abort,
}

/// Background work for the runtime; results come back as [`Action`]s. ORBs are named, so a
/// result stays meaningful if the fleet is reordered meanwhile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Read a desired file (its draft if one exists) → [`Action::FileOpened`].
    OpenFile {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
    },
    /// Save the editor's text as the file's draft (debounced 300 ms after the last edit); an
    /// existing draft keeps its own base.
    SaveDraft {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
        /// The commit (hex) the file was opened from.
        base: Option<String>,
        /// The file at `base`.
        base_text: Option<String>,
        /// `base` replaces the draft's own (after an explicit merge onto the tip); otherwise an
        /// existing draft keeps its base.
        rebased: bool,
    },
    /// Remove a draft → [`Action::DraftDiscarded`].
    DiscardDraft {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
    },
    /// Validate the text → [`Action::Validated`].
    Validate {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
    },
    /// Plan what committing this one file would do (merged with any upstream change since
    /// `base`) → [`Action::Planned`], or [`Action::Conflicts`].
    Plan {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
        /// The commit (hex) the edit was made against.
        base: Option<String>,
    },
    /// Commit and push the file against `base` → [`Action::PushProgress`]*, then
    /// [`Action::Pushed`] or [`Action::Conflicts`].
    Commit {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
        /// The commit (hex) the edit was made against.
        base: Option<String>,
        /// Commit message.
        message: String,
    },
    /// Merge the edit with the upstream change now → [`Action::Merged`] or [`Action::Conflicts`].
    Merge {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
        /// The commit (hex) the edit was made against.
        base: Option<String>,
        /// How the user settled conflicts reported before.
        resolutions: Vec<Resolution>,
    },
    /// The upstream change of a file since `base`, as a diff → [`Action::Text`].
    TheirChange {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// The commit (hex) the edit was made against.
        base: Option<String>,
    },
    /// A draft against the committed file, as a diff → [`Action::Text`].
    DraftDiff {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
    },
    /// Plan every draft of one ORB as one commit → [`Action::Text`].
    PlanAll {
        /// ORB name.
        orb: String,
    },
    /// Commit and push every draft of one ORB as one commit → a notice or an error.
    CommitAll {
        /// ORB name.
        orb: String,
        /// Commit message.
        message: String,
    },
    /// Fetch an object's live YAML → [`Action::LiveYaml`].
    FetchLiveYaml {
        /// ORB name.
        orb: String,
        /// The object.
        target: ObjectRef,
    },
    /// Read desired, current/status.yaml and live for a diff → [`Action::Diff`].
    Diff {
        /// ORB name.
        orb: String,
        /// The object, or every object of a desired file.
        what: DiffTarget,
    },
    /// List the objects a profile owns → [`Action::Children`].
    Children {
        /// ORB name.
        orb: String,
        /// Profile name.
        profile: String,
    },
    /// Change a ClusterUpgrade in desired state (the engine acts on it).
    UpgradeControl {
        /// ORB name.
        orb: String,
        /// ClusterUpgrade name.
        name: String,
        /// What to do.
        op: UpgradeOp,
    },
    /// One rollout (by id) as `orbdeck rollout status` prints it → [`Action::Text`].
    RolloutStatus(String),
    /// Plan a rollout from `:rollout`'s flags (`args`, `--file` and `--orbs` included), the
    /// change being the draft's edit when no flag says one; saved as Planned → [`Action::RolloutPlanned`].
    PlanRollout {
        /// The flags of `orbdeck rollout plan`.
        args: Vec<String>,
        /// The draft (ORB, path) whose edit is the change, when no flag says one.
        draft: Option<(String, String)>,
    },
    /// Start, resume, skip, abort or revert a rollout (its file; the runtime's rollout task
    /// carries it out) → a notice or an error.
    RolloutMove {
        /// The rollout's id.
        id: String,
        /// What to do.
        wanted: crate::rollout::run::Move,
        /// The draft (ORB, path) to drop once the move is made (a start carrying its edit).
        draft: Option<(String, String)>,
    },
    /// Read the commit log of an ORB (or of one file) after a fetch → [`Action::History`].
    History {
        /// ORB name.
        orb: String,
        /// The file, for a file's history.
        path: Option<String>,
    },
    /// A commit with its diff → [`Action::Text`].
    ShowCommit {
        /// ORB name.
        orb: String,
        /// The commit, full hex.
        commit: String,
    },
    /// Who last changed each line of a desired file → [`Action::Text`].
    Blame {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
    },
    /// Plan reverting a commit as a new commit on the tip → [`Action::Text`].
    PlanRevert {
        /// ORB name.
        orb: String,
        /// The commit, full hex.
        commit: String,
    },
    /// Revert a commit as a new commit, pushed through the normal write path → the log again,
    /// then a notice or an error.
    Revert {
        /// ORB name.
        orb: String,
        /// The commit, full hex.
        commit: String,
        /// The log shown (a file's) to send again after the push, as [`Action::History`].
        path: Option<String>,
    },
    /// Plan the ORB's desired state against its cluster (server-side dry run, as `orbdeck plan`
    /// without drafts) → [`Action::Drift`].
    Drift {
        /// ORB name.
        orb: String,
    },
    /// The same plan as text, as `orbdeck plan` prints it → [`Action::Text`].
    PlanOrb {
        /// ORB name.
        orb: String,
    },
    /// Delete a desired file, or one object's document in it, as a commit pushed through the
    /// write path (what is left validated first) → a notice or an error.
    DeleteDesired(crate::ui::state::DeleteTarget),
    /// Set `engine.suspend` in the ORB's orb.yaml (a commit): the engine applies nothing while
    /// it is true → a notice or an error.
    Suspend {
        /// ORB name.
        orb: String,
        /// Suspend (true) or resume (false).
        suspend: bool,
    },
    /// Ask the ORB's engine to sync now: a new value of the sync-requested annotation on its
    /// Lease → a notice or an error.
    SyncNow {
        /// ORB name.
        orb: String,
    },
    /// Ask the ORB's replicator for another round of attempts of an ImageReplication that gave
    /// up: a new value of its retry annotation → a notice or an error.
    RetryReplication {
        /// ORB name.
        orb: String,
        /// The ImageReplication's namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// Watch the Live tab's kind in these ORBs and stop any other live watch (None: stop).
    Watch(Option<LiveWatch>),
    /// Stream a pod's log → [`Action::LogPod`], [`Action::LogLines`]*, [`Action::LogEnded`];
    /// stops any stream started before.
    Logs(LogRequest),
    /// Stop the log stream.
    StopLogs,
    /// An object's YAML without noise, its events and its owners and children →
    /// [`Action::Text`].
    Describe {
        /// ORB name.
        orb: String,
        /// apiVersion of the object.
        api_version: String,
        /// Its kind.
        kind: String,
        /// Its namespace (empty: cluster-scoped).
        namespace: String,
        /// Its name.
        name: String,
    },
    /// Leave the program (restore the terminal first).
    Quit,
}
