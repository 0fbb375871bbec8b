//! `State`: everything the control room shows, changed only by `update` and read by `render`.
//! Fields are public for reading (tests, the runtime's redraw decisions); change them via actions.

use std::collections::BTreeMap;
use std::time::Instant;

use super::action::{Clock, LiveWatch, ObjectRef, UpgradeOp};
use super::data::{ChildRow, DriftRow, HistoryRow, OrbView, Upstream};
use super::editor::Editor;
use super::index::FilterCache;
use super::keymap::Keymap;
use super::layout;
use super::logs::LogView;
use super::order::SortCache;
use super::tab::Tab;
use super::theme::Theme;

/// A row of the current table: (ORB index, row index within that ORB's list).
pub type RowRef = (u32, u32);

/// Start-up settings the runtime reads from flags, config and environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Key bindings.
    pub keymap: Keymap,
    /// `dark` or `light`.
    pub theme: &'static str,
    /// `NO_COLOR` is set: use [`Theme::plain`] whatever the theme.
    pub no_color: bool,
    /// `--write`: every ORB writable, whatever its `write:` setting.
    pub write_all: bool,
    /// Where drafts are kept across runs; None when they go when the program ends (the demo
    /// without `--keep`).
    pub drafts_home: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            keymap: Keymap::default(),
            theme: "dark",
            no_color: false,
            write_all: false,
            drafts_home: Some("this machine's data dir".into()),
        }
    }
}

/// Which ORBs the tables show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The selected ORB only.
    Orb,
    /// Every ORB (`:all`), with an ORB column.
    Fleet,
}

/// Which pane gets the navigation keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The ORB list on the left.
    OrbList,
    /// The tabbed main pane.
    Main,
}

/// Per-tab table view: sort, filter, selection, scroll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableView {
    /// Sort column: an index into the tab's own columns (the ORB column, shown fleet-wide,
    /// is `sort_orb`), so the sort names the same column in one ORB and across the fleet.
    pub sort_column: usize,
    /// Sorted by the ORB column (fleet-wide only; one ORB keeps `sort_column`).
    pub sort_orb: bool,
    /// Sort descending.
    pub descending: bool,
    /// Live filter text (case-insensitive substring).
    pub filter: String,
    /// Selected position in the visible rows.
    pub selected: usize,
    /// First visible position.
    pub offset: usize,
}

impl Default for TableView {
    /// Sorted by the first column: the ORB fleet-wide, the tab's first column in one ORB.
    fn default() -> Self {
        TableView {
            sort_column: 0,
            sort_orb: true,
            descending: false,
            filter: String::new(),
            selected: 0,
            offset: 0,
        }
    }
}

/// The `:` command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// What was typed after `:`.
    pub input: String,
    /// Completions of the word being typed, recomputed on each key.
    pub candidates: Vec<String>,
    /// While tab cycles through the completions: which one is in the input.
    pub cycling: Option<usize>,
}

/// What a confirmation dialog is asking about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// Quit although drafts are unpushed.
    Quit,
    /// Pause, resume or abort a ClusterUpgrade (a commit).
    Upgrade {
        /// ORB name.
        orb: String,
        /// ClusterUpgrade name.
        name: String,
        /// What to do.
        op: UpgradeOp,
    },
    /// Delete a desired file, or one object's document in it (a commit); asks again by name.
    Delete(DeleteTarget),
    /// Abort or revert a rollout.
    Rollout {
        /// The rollout's id.
        id: String,
        /// Abort or revert.
        wanted: crate::rollout::run::Move,
    },
    /// Throw a draft away.
    DiscardDraft {
        /// ORB name.
        orb: String,
        /// Path in the repo.
        path: String,
    },
}

/// What a delete takes out of desired/.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteTarget {
    /// ORB name.
    pub orb: String,
    /// The file.
    pub path: String,
    /// The object (kind, name) whose document goes; None: the whole file.
    pub object: Option<(String, String)>,
}

impl DeleteTarget {
    /// What the operator types to confirm: the object's name, else the file's path.
    pub fn name(&self) -> &str {
        self.object.as_ref().map_or(&self.path, |(_, n)| n)
    }

    /// `Profile alice (desired/profiles/alice.yaml)`, or the path.
    pub fn describe(&self) -> String {
        match &self.object {
            Some((kind, name)) => format!("{kind} {name} ({})", self.path),
            None => self.path.clone(),
        }
    }
}

/// What a one-line prompt asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// The name of a new object from template `template` (index into the templates) in ORB
    /// `orb` (index into the fleet).
    NewName {
        /// Template index.
        template: usize,
        /// ORB index.
        orb: usize,
    },
    /// The name of what is deleted, typed again (the second step of a delete).
    ConfirmDelete(DeleteTarget),
    /// The message of one commit of every draft of ORB `orb`.
    CommitAll {
        /// ORB name.
        orb: String,
    },
}

/// Read-only overlays filled by a background result (`None` content: still loading).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Live YAML of one object.
    Yaml {
        /// What is shown, e.g. `Profile alice @ alpha`.
        title: String,
        /// Lines, once arrived.
        lines: Option<Vec<String>>,
        /// First visible line.
        scroll: usize,
    },
    /// Desired against live, with the engine's word from current/ (`d`).
    Diff(Box<super::diff::DiffView>),
    /// A diff or a plan (their change, a draft against the committed file, all drafts' plan,
    /// a commit, a blame).
    Text {
        /// What is shown.
        title: String,
        /// Lines, once arrived.
        lines: Option<Vec<String>>,
        /// First visible line.
        scroll: usize,
        /// What `c` commits when the text is a plan.
        then: Option<PlanCommit>,
    },
    /// Whole messages, wrapped to the width: an event, the sync errors, the alerts, the last
    /// message of the footer.
    Message {
        /// What is shown.
        title: String,
        /// Paragraphs, each wrapped on screen.
        lines: Vec<String>,
        /// First visible paragraph.
        scroll: usize,
    },
    /// Every object of an ORB whose live state differs from desired (`:drift`).
    Drift {
        /// ORB name.
        orb: String,
        /// The objects, once the plan arrived.
        rows: Option<Vec<DriftRow>>,
        /// What the plan was made against, or why there is none.
        notes: Vec<String>,
        /// Selected row.
        selected: usize,
    },
    /// The commit log of an ORB or of one of its files.
    History {
        /// ORB name.
        orb: String,
        /// The file, when it is a file's history.
        path: Option<String>,
        /// Entries newest first, once arrived.
        rows: Option<Vec<HistoryRow>>,
        /// Selected row.
        selected: usize,
    },
    /// Every draft of the fleet.
    Drafts {
        /// Selected row.
        selected: usize,
    },
    /// Objects a profile owns.
    Children {
        /// ORB the profile lives in.
        orb: String,
        /// Profile name.
        profile: String,
        /// Rows, once arrived.
        rows: Option<Vec<ChildRow>>,
        /// Selected row.
        selected: usize,
    },
}

/// What `c` commits from a plan shown in [`Viewer::Text`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanCommit {
    /// Start the planned rollout `id`; the draft (ORB, path) it was made from is dropped.
    StartRollout {
        /// The rollout's id.
        id: String,
        /// The draft the change came from.
        draft: Option<(String, String)>,
    },
    /// Every draft of this ORB, as one commit (asks for the message).
    Drafts(String),
    /// The revert of a commit, as a new commit.
    Revert {
        /// ORB name.
        orb: String,
        /// The commit to revert, full hex.
        commit: String,
    },
}

/// What takes the keys, besides the normal tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Tables and ORB list.
    #[default]
    Normal,
    /// Typing a `:` command.
    Command(CommandLine),
    /// Typing the live filter of the current tab.
    Filter,
    /// Key help overlay.
    Help {
        /// First visible line.
        scroll: usize,
    },
    /// Yes/no dialog.
    Confirm(Confirm),
    /// The editor (see [`State::editor`]).
    Editor,
    /// A read-only overlay.
    Viewer(Viewer),
    /// The log view (see [`State::logs`]).
    Logs,
    /// Choosing a template for a new desired file.
    NewFile {
        /// Selected template.
        selected: usize,
    },
    /// Typing one line of input (a new object's name, a commit message).
    Prompt {
        /// What is asked.
        prompt: Prompt,
        /// Typed so far.
        input: String,
    },
}

/// How a transient message is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Something was refused or needs attention.
    Warn,
    /// Something failed.
    Error,
}

/// A transient message in the footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Text (sanitised when drawn).
    pub text: String,
    /// Colour.
    pub level: Level,
    /// When it appeared (it fades after a few seconds of ticks).
    pub since: Instant,
}

/// Where `e` asked to jump once the file arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOpen {
    /// ORB name.
    pub orb: String,
    /// Path in the repo.
    pub path: String,
    /// 1-based line to put the cursor on.
    pub line: u32,
}

/// The control room's whole state.
pub struct State {
    /// The ORBs, in fleet-config order.
    pub fleet: Vec<OrbView>,
    /// Index of the selected ORB.
    pub selected_orb: usize,
    /// First ORB shown in the ORB list.
    pub orb_offset: usize,
    /// One ORB or the whole fleet.
    pub scope: Scope,
    /// Focused pane.
    pub focus: Focus,
    /// Current tab.
    pub tab: Tab,
    /// Sort, filter, selection and scroll per tab (indexed by [`Tab::index`]).
    pub views: [TableView; Tab::ALL.len()],
    /// Current tab's rows in sort order, before the filter.
    pub sorted: Vec<RowRef>,
    /// Current tab's visible rows: filtered and sorted. Recomputed in `update` only.
    pub rows: Vec<RowRef>,
    /// Search text and last result of the filter (internal).
    pub(crate) filter_cache: FilterCache,
    /// Orders of the current tab's rows per sort column (internal).
    pub(crate) sort_cache: SortCache,
    /// What takes the keys.
    pub mode: Mode,
    /// The open desired file, while [`Mode::Editor`].
    pub editor: Option<Editor>,
    /// The overlays under the open one, to go back to (a commit opened from a history).
    pub back: Vec<Viewer>,
    /// What the Live tab shows, as the operator typed it (`pods`, `deploy`, `configmaps`).
    pub live_kind: String,
    /// The namespace filter of each ORB (by name), set with `:ns NAME`.
    pub namespaces: BTreeMap<String, String>,
    /// The live watch last asked of the runtime (None: no view shows one).
    pub watching: Option<LiveWatch>,
    /// The open log view, while [`Mode::Logs`].
    pub logs: Option<LogView>,
    /// A file requested with `e`, to jump into once it arrives.
    pub pending_open: Option<PendingOpen>,
    /// Footer message.
    pub message: Option<Message>,
    /// The text of the last message said, kept after the footer clears it (`:msg`).
    pub last_message: Option<String>,
    /// Colours.
    pub theme: Theme,
    /// Colours stay off (`NO_COLOR`).
    pub no_color: bool,
    /// Key bindings.
    pub keymap: Keymap,
    /// `--write` given: every ORB is writable.
    pub write_all: bool,
    /// Where drafts are kept across runs (None: they go when the program ends).
    pub drafts_home: Option<String>,
    /// Terminal size (columns, rows), from [`super::Action::Resize`].
    pub size: (u16, u16),
    /// ORBs marked with space in the ORB list, by name: what `:rollout` rolls an edit out to.
    pub marked: std::collections::BTreeSet<String>,
    /// One line per rollout the Rollouts tab shows (phase and figures), newest first.
    pub rollout_notes: Vec<(String, String)>,
    /// Time of the last tick.
    pub clock: Clock,
}

impl State {
    /// A state showing `fleet`, at time `clock`, assuming an 80x24 terminal until resized.
    pub fn new(fleet: Vec<OrbView>, settings: Settings, clock: Clock) -> State {
        let theme = Theme::named(settings.theme, settings.no_color).unwrap_or_else(Theme::dark);
        let mut state = State {
            fleet,
            selected_orb: 0,
            orb_offset: 0,
            scope: Scope::Orb,
            focus: Focus::Main,
            tab: Tab::Overview,
            views: Default::default(),
            sorted: Vec::new(),
            rows: Vec::new(),
            filter_cache: FilterCache::default(),
            sort_cache: SortCache::default(),
            mode: Mode::Normal,
            editor: None,
            back: Vec::new(),
            live_kind: "pods".into(),
            namespaces: BTreeMap::new(),
            watching: None,
            logs: None,
            pending_open: None,
            message: None,
            last_message: None,
            theme,
            no_color: settings.no_color,
            keymap: settings.keymap,
            write_all: settings.write_all,
            drafts_home: settings.drafts_home,
            size: (80, 24),
            marked: Default::default(),
            rollout_notes: Vec::new(),
            clock,
        };
        state.reindex();
        state
    }

    /// The selected ORB, if the fleet is not empty.
    pub fn orb(&self) -> Option<&OrbView> {
        self.fleet.get(self.selected_orb)
    }

    /// The pane drawn focused, which is the one that gets the keys: the main pane while the
    /// editor is open in it, else [`State::focus`].
    pub fn pane_focus(&self) -> Focus {
        if self.editor.is_some() {
            Focus::Main
        } else {
            self.focus
        }
    }

    /// View state of the current tab.
    pub fn view(&self) -> &TableView {
        &self.views[self.tab.index()]
    }

    pub(crate) fn view_mut(&mut self) -> &mut TableView {
        &mut self.views[self.tab.index()]
    }

    /// The selected visible row, if any.
    pub fn selected_row(&self) -> Option<RowRef> {
        self.rows.get(self.view().selected).copied()
    }

    /// Whether ORB `orb` may be written (`--write`, or `write: true` for it); a live-only ORB
    /// has no repo to write to.
    pub fn is_writable(&self, orb: usize) -> bool {
        if self.fleet.get(orb).is_some_and(|o| o.repo.is_none()) {
            return false;
        }
        self.write_all || self.fleet.get(orb).is_some_and(|o| o.writable)
    }

    /// The upstream change of the open draft, when the background fetch saw its file move since
    /// the editor's base.
    pub fn editor_upstream(&self) -> Option<&Upstream> {
        let e = self.editor.as_ref()?;
        let row = self
            .fleet
            .get(e.orb)?
            .drafts
            .iter()
            .find(|d| d.path == e.path)?;
        let base = e.base.as_deref().unwrap_or_default();
        if row.base.is_empty() || !base.starts_with(&row.base) {
            return None;
        }
        row.upstream.as_ref()
    }

    /// Every draft of the fleet as (ORB index, draft index), in fleet then path order.
    pub fn all_drafts(&self) -> Vec<(usize, usize)> {
        self.fleet
            .iter()
            .enumerate()
            .flat_map(|(o, view)| (0..view.drafts.len()).map(move |d| (o, d)))
            .collect()
    }

    /// True when any ORB has an unpushed draft or the editor has unsaved edits.
    pub fn has_drafts(&self) -> bool {
        self.fleet.iter().any(|o| !o.drafts.is_empty())
            || self.editor.as_ref().is_some_and(|e| e.dirty)
    }

    /// The ORB that actions act on: the selected row's in fleet-wide tables, else the selected.
    pub fn target_orb(&self) -> usize {
        match (self.scope, self.selected_row()) {
            (Scope::Fleet, Some((orb, _))) => orb as usize,
            _ => self.selected_orb,
        }
    }

    /// Rows of the current table that fit on screen.
    pub fn page_rows(&self) -> usize {
        layout::table_rows(self.size, self.tab)
    }

    /// Moves the current table's scroll offset so the selection is visible.
    pub(crate) fn keep_selection_visible(&mut self) {
        let page = self.page_rows().max(1);
        let view = self.view_mut();
        if view.selected < view.offset {
            view.offset = view.selected;
        } else if view.selected >= view.offset + page {
            view.offset = view.selected + 1 - page;
        }
    }

    /// Object reference for `y`/`d` on the selected row, with its ORB, when the tab has one.
    pub fn selected_object(&self) -> Option<(usize, ObjectRef)> {
        let (orb, row) = self.selected_row()?;
        let view = self.fleet.get(orb as usize)?;
        let target = self.tab.kind().object(view, row as usize)?;
        Some((orb as usize, target))
    }
}
