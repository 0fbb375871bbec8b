//! What goes into `update` (`Action`: keys, time, data, results of background work) and what
//! comes out (`Effect`: background work the app runtime runs, reporting back as actions).

use std::time::Instant;

use crossterm::event::KeyEvent;

use super::data::{ChildRow, Health, OrbView, Rows};

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
    /// The terminal's new size (columns, rows); send one at start.
    Resize(u16, u16),
    /// Time passed: saves debounced drafts, expires messages, ages.
    Tick(Clock),
    /// Replace the whole fleet (start-up, fleet config change).
    SetFleet(Vec<OrbView>),
    /// Replace one ORB's view (index into the fleet).
    OrbUpdated(usize, Box<OrbView>),
    /// Replace one kind of rows of one ORB: the cheap path for watch events.
    OrbRows(usize, Rows),
    /// One ORB's connection changed (no row lists touched).
    OrbHealth(usize, Health),
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
    /// Result of [`Effect::Commit`]: the pushed commit (short hex) or the conflict report.
    Pushed(Result<String, String>),
    /// Result of [`Effect::FetchLiveYaml`].
    LiveYaml(String),
    /// Result of [`Effect::ThreeWay`].
    ThreeWay {
        /// The object in `desired/`.
        desired: String,
        /// The object in `current/`.
        current: String,
        /// The object in the cluster.
        live: String,
    },
    /// Result of [`Effect::Children`].
    Children(Vec<ChildRow>),
    /// Background work failed; shown as a message.
    Error(String),
    /// Background work finished with something to say (e.g. an upgrade paused by a commit).
    Notice(String),
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
    /// Save the editor's text as the file's draft (debounced 300 ms after the last edit).
    SaveDraft {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
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
    /// Plan the change → [`Action::Planned`].
    Plan {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
    },
    /// Commit and push the file → [`Action::PushProgress`]*, then [`Action::Pushed`].
    Commit {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
        /// Full text.
        text: String,
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
    /// Fetch desired, current and live YAML → [`Action::ThreeWay`].
    ThreeWay {
        /// ORB name.
        orb: String,
        /// The object.
        target: ObjectRef,
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
    /// Leave the program (restore the terminal first).
    Quit,
}
