//! Key bindings: named commands, their default keys, and user overrides parsed from key specs
//! such as `ctrl-s` or `shift-tab`. `update` looks keys up here; help and footer list them.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tab::Tab;

/// Where a key is looked up: commands of different contexts may share a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Context {
    /// The ORB list and the tables.
    Main,
    /// Scrollable overlays: help, YAML, children.
    List,
    /// The desired-file editor while typing.
    Editor,
    /// The validation error list under the editor.
    Errors,
    /// The plan view.
    Plan,
    /// The log view.
    Logs,
    /// The diff view (`d`).
    Diff,
}

impl Context {
    /// Heading used in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Main => "Tables and ORB list",
            Context::List => "Overlays (help, YAML, children)",
            Context::Editor => "Editor",
            Context::Errors => "Validation errors",
            Context::Plan => "Plan",
            Context::Logs => "Logs (l on a pod or workload)",
            Context::Diff => "Diff (d: live left, desired right)",
        }
    }
}

/// Something a key can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Command {
    /// Quit (asks first when drafts are unpushed).
    Quit,
    /// Open the help overlay.
    Help,
    /// Open the `:` command line.
    CommandLine,
    /// Edit the live `/` filter.
    Filter,
    /// Go back: close an overlay, clear the filter, leave the editor.
    Back,
    /// Move focus between the ORB list and the main pane.
    SwitchPane,
    /// Next row.
    Down,
    /// Previous row.
    Up,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// One page down.
    PageDown,
    /// One page up.
    PageUp,
    /// Next tab.
    NextTab,
    /// Previous tab.
    PrevTab,
    /// Jump to a tab.
    GoTab(Tab),
    /// Mark or unmark the selected ORB (what `:rollout` rolls an edit out to).
    Mark,
    /// Sort by the next column.
    SortNext,
    /// Reverse the sort direction.
    SortReverse,
    /// Open: children of a profile, a desired file, an ORB, a listed error.
    Open,
    /// Live YAML of the selected object.
    LiveYaml,
    /// Diff of desired against live (describe on the Live tab).
    ThreeWay,
    /// Edit the selected object's desired file at its line.
    Edit,
    /// New desired file from a template (Desired tab).
    NewFile,
    /// Pause the selected ClusterUpgrade.
    UpgradePause,
    /// Resume the selected ClusterUpgrade.
    UpgradeResume,
    /// Abort the selected ClusterUpgrade (asks first).
    UpgradeAbort,
    /// Validate the file, then plan it.
    Save,
    /// Search in the file.
    Search,
    /// Next search match.
    SearchNext,
    /// Undo.
    Undo,
    /// Redo.
    Redo,
    /// Next validation error.
    NextError,
    /// Previous validation error.
    PrevError,
    /// Write a commit message for the plan.
    Commit,
    /// Merge the upstream change of the open draft now.
    MergeUpstream,
    /// Show the upstream change of the open draft.
    TheirChange,
    /// Discard the selected draft (asks first).
    DiscardDraft,
    /// Diff the selected draft against the committed file.
    DraftDiff,
    /// Plan, then commit every draft of the selected draft's ORB as one commit.
    CommitAll,
    /// The commit log of the ORB, or of the selected desired file.
    History,
    /// Who last changed each line of the selected desired file.
    Blame,
    /// Plan, then commit the revert of the selected commit (in a history).
    Revert,
    /// Ask the ORB's engine to sync now (the annotation on its Lease).
    SyncNow,
    /// Try a replication that gave up again (the annotation on its ImageReplication).
    RetryReplication,
    /// Delete the selected desired file or Profile from desired/ (a commit; asks twice).
    Delete,
    /// The log of the selected pod, or of a workload's first pod.
    Logs,
    /// Logs: stay at the newest line (or stop).
    LogFollow,
    /// Logs: wrap long lines (or cut them).
    LogWrap,
    /// Logs: show each line's time.
    LogTimestamps,
    /// Logs: the previous (crashed) container's log.
    LogPrevious,
    /// Logs: the next container of the pod.
    LogContainer,
    /// Logs: start again with a longer tail (100, 1000, 10000 lines).
    LogTail,
    /// Logs: search.
    LogSearch,
    /// Logs: next match.
    LogNext,
    /// Logs: previous match.
    LogPrev,
    /// Diff: unified or side by side.
    DiffUnified,
    /// Diff: the whole live object, or only the fields desired sets.
    DiffFull,
    /// Scroll left.
    ScrollLeft,
    /// Scroll right.
    ScrollRight,
    /// Diff: next change.
    NextChange,
    /// Diff: previous change.
    PrevChange,
}

impl Command {
    /// Whether the command writes to an ORB (hidden and refused on read-only ORBs).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Command::Commit
                | Command::UpgradePause
                | Command::UpgradeResume
                | Command::UpgradeAbort
                | Command::RetryReplication
                | Command::NewFile
                | Command::MergeUpstream
                | Command::DiscardDraft
                | Command::CommitAll
                | Command::Revert
                | Command::Delete
        )
    }
}

use Command as C;
use Context as X;

const NAV: &[Context] = &[X::Main, X::List, X::Errors, X::Plan, X::Logs, X::Diff];

/// Every command with its name in config files, contexts, default keys and help text.
const TABLE: &[(Command, &str, &[Context], &str, &str)] = &[
    (
        C::Quit,
        "quit",
        &[X::Main],
        "q",
        "quit (asks when drafts are unpushed)",
    ),
    (C::Help, "help", &[X::Main], "?", "this help"),
    (
        C::CommandLine,
        "command",
        &[X::Main],
        ":",
        "command line (tab completes)",
    ),
    (
        C::Filter,
        "filter",
        &[X::Main],
        "/",
        "filter rows (esc clears)",
    ),
    (
        C::Back,
        "back",
        &[
            X::Main,
            X::List,
            X::Editor,
            X::Errors,
            X::Plan,
            X::Logs,
            X::Diff,
        ],
        "esc",
        "back / close / clear filter",
    ),
    (
        C::SwitchPane,
        "switch-pane",
        &[X::Main],
        "tab",
        "ORB list <-> main pane",
    ),
    (C::Down, "down", NAV, "j,down", "down"),
    (C::Up, "up", NAV, "k,up", "up"),
    (C::Top, "top", NAV, "g,home", "top"),
    (C::Bottom, "bottom", NAV, "G,end", "bottom"),
    (C::PageDown, "page-down", NAV, "pgdn", "page down"),
    (C::PageUp, "page-up", NAV, "pgup", "page up"),
    (C::NextTab, "next-tab", &[X::Main], "]", "next tab"),
    (C::PrevTab, "prev-tab", &[X::Main], "[", "previous tab"),
    (
        C::GoTab(Tab::Overview),
        "tab-overview",
        &[X::Main],
        "1",
        "Overview tab",
    ),
    (
        C::GoTab(Tab::Profiles),
        "tab-profiles",
        &[X::Main],
        "2",
        "Profiles tab",
    ),
    (
        C::GoTab(Tab::Quotas),
        "tab-quotas",
        &[X::Main],
        "3",
        "Quotas tab",
    ),
    (
        C::GoTab(Tab::Replications),
        "tab-replications",
        &[X::Main],
        "4",
        "Replications tab",
    ),
    (
        C::GoTab(Tab::Upgrades),
        "tab-upgrades",
        &[X::Main],
        "5",
        "Upgrades tab",
    ),
    (
        C::GoTab(Tab::Desired),
        "tab-desired",
        &[X::Main],
        "6",
        "Desired tab",
    ),
    (
        C::GoTab(Tab::Events),
        "tab-events",
        &[X::Main],
        "7",
        "Events tab",
    ),
    (
        C::GoTab(Tab::Live),
        "tab-live",
        &[X::Main],
        "8",
        "Live tab (:pods, :deploy, :KIND)",
    ),
    (
        C::GoTab(Tab::Access),
        "tab-access",
        &[X::Main],
        "9",
        "Access tab: who can do what, where",
    ),
    (
        C::GoTab(Tab::Rollouts),
        "tab-rollouts",
        &[X::Main],
        "0",
        "Rollouts tab: fleet-wide changes",
    ),
    (
        C::Mark,
        "mark",
        &[X::Main],
        "space",
        "mark/unmark the ORB for :rollout",
    ),
    (C::SortNext, "sort", &[X::Main], "s", "sort by next column"),
    (
        C::SortReverse,
        "sort-reverse",
        &[X::Main],
        "o",
        "reverse sort",
    ),
    (
        C::Delete,
        "delete",
        &[X::Main],
        "D",
        "delete file/Profile from desired/, asks twice",
    ),
    (
        C::SyncNow,
        "sync-now",
        &[X::Main],
        "S",
        "engine: sync now (its Lease annotation)",
    ),
    (
        C::Open,
        "open",
        &[X::Main, X::List, X::Errors],
        "enter",
        "open (children / file / ORB / error)",
    ),
    (C::LiveYaml, "yaml", &[X::Main, X::List], "y", "live YAML"),
    (
        C::ThreeWay,
        "three-way",
        &[X::Main],
        "d",
        "diff desired against live; describe (Live)",
    ),
    (
        C::Edit,
        "edit",
        &[X::Main],
        "e",
        "edit desired file at the object's line",
    ),
    (
        C::NewFile,
        "new-file",
        &[X::Main],
        "n",
        "new desired file from a template (Desired)",
    ),
    (
        C::UpgradePause,
        "upgrade-pause",
        &[X::Main],
        "p",
        "pause upgrade (Upgrades, writable ORB)",
    ),
    (
        C::UpgradeResume,
        "upgrade-resume",
        &[X::Main],
        "r",
        "resume upgrade (Upgrades, writable ORB)",
    ),
    (
        C::RetryReplication,
        "retry-replication",
        &[X::Main],
        "a",
        "retry a copy that gave up (Replications)",
    ),
    (
        C::UpgradeAbort,
        "upgrade-abort",
        &[X::Main],
        "x",
        "abort upgrade, asks first (Upgrades)",
    ),
    (
        C::Save,
        "save",
        &[X::Editor],
        "ctrl-s",
        "validate, then plan",
    ),
    (
        C::Search,
        "search",
        &[X::Editor],
        "ctrl-f",
        "search (enter: next match)",
    ),
    (
        C::SearchNext,
        "search-next",
        &[X::Editor],
        "f3",
        "next search match",
    ),
    (C::Undo, "undo", &[X::Editor], "ctrl-z", "undo"),
    (C::Redo, "redo", &[X::Editor], "ctrl-y", "redo"),
    (
        C::NextError,
        "next-error",
        &[X::Errors],
        "n",
        "next error (cursor follows)",
    ),
    (
        C::PrevError,
        "prev-error",
        &[X::Errors],
        "p",
        "previous error",
    ),
    (
        C::Commit,
        "commit",
        &[X::Plan],
        "c,enter",
        "write commit message, then push",
    ),
    (
        C::MergeUpstream,
        "merge-upstream",
        &[X::Editor],
        "alt-m",
        "merge the upstream change now",
    ),
    (
        C::TheirChange,
        "their-change",
        &[X::Editor],
        "alt-d",
        "show the upstream change",
    ),
    (
        C::DiscardDraft,
        "discard-draft",
        &[X::List],
        "D",
        "discard draft, asks (:drafts)",
    ),
    (
        C::DraftDiff,
        "draft-diff",
        &[X::List],
        "=",
        "draft vs committed (:drafts)",
    ),
    (
        C::CommitAll,
        "commit-all",
        &[X::List],
        "C",
        "one commit of all ORB drafts",
    ),
    (
        C::History,
        "history",
        &[X::Main],
        "H",
        "commit log of the ORB (of the file on Desired)",
    ),
    (
        C::Blame,
        "blame",
        &[X::Main, X::List],
        "b",
        "blame of the desired file (Desired, a file's history)",
    ),
    (
        C::Revert,
        "revert",
        &[X::List],
        "R",
        "revert the commit, plan first (history)",
    ),
    (
        C::Logs,
        "logs",
        &[X::Main],
        "l",
        "logs of a pod or workload (Live tab)",
    ),
    (C::LogFollow, "log-follow", &[X::Logs], "f", "follow on/off"),
    (C::LogWrap, "log-wrap", &[X::Logs], "w", "wrap long lines"),
    (
        C::LogTimestamps,
        "log-timestamps",
        &[X::Logs],
        "t",
        "timestamps",
    ),
    (
        C::LogPrevious,
        "log-previous",
        &[X::Logs],
        "p",
        "previous container's log",
    ),
    (
        C::LogContainer,
        "log-container",
        &[X::Logs],
        "c",
        "next container",
    ),
    (
        C::LogTail,
        "log-tail",
        &[X::Logs],
        "T",
        "tail 100 / 1000 / 10000",
    ),
    (C::LogSearch, "log-search", &[X::Logs], "/", "search"),
    (C::LogNext, "log-next", &[X::Logs], "n", "next match"),
    (C::LogPrev, "log-prev", &[X::Logs], "N", "previous match"),
    (
        C::DiffUnified,
        "diff-unified",
        &[X::Diff],
        "u",
        "unified / side by side",
    ),
    (
        C::DiffFull,
        "diff-full",
        &[X::Diff],
        "f",
        "whole live object / only the fields desired sets",
    ),
    (
        C::ScrollLeft,
        "scroll-left",
        &[X::Diff],
        "h,left",
        "scroll left",
    ),
    (
        C::ScrollRight,
        "scroll-right",
        &[X::Diff],
        "l,right",
        "scroll right",
    ),
    (C::NextChange, "next-change", &[X::Diff], "n", "next change"),
    (
        C::PrevChange,
        "prev-change",
        &[X::Diff],
        "N",
        "previous change",
    ),
];

/// One key with modifiers, as written in a key spec (`ctrl-s`, `G`, `shift-tab`, `f5`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// The key.
    pub code: KeyCode,
    /// Ctrl / Alt / Shift (Shift only for non-character keys; `G` already says shift).
    pub mods: KeyModifiers,
}

const NAMED: &[(&str, KeyCode)] = &[
    ("esc", KeyCode::Esc),
    ("enter", KeyCode::Enter),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("del", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
];

impl KeySpec {
    /// Parses one spec: optional `ctrl-`, `alt-`, `shift-` prefixes, then a single character
    /// or a key name (esc, enter, tab, space, backspace, delete, insert, arrows, home, end,
    /// pgup, pgdn, f1..f24).
    pub fn parse(spec: &str) -> Result<KeySpec, String> {
        let spec = spec.trim();
        let mut mods = KeyModifiers::NONE;
        let mut rest = spec;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (flag, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break;
            }
            mods |= flag;
            rest = &rest[len..];
        }
        let code = key_code(rest).ok_or_else(|| {
            format!(
                "`{spec}` is not a key: expected one character or a key name \
                 (esc, enter, tab, space, backspace, delete, insert, up, down, left, right, \
                 home, end, pgup, pgdn, f1..f24), optionally after ctrl-, alt- or shift-"
            )
        })?;
        Ok(normalize(code, mods))
    }

    /// True when `key` is this key.
    pub fn matches(&self, key: &KeyEvent) -> bool {
        let pressed = normalize(key.code, key.modifiers);
        pressed.code == self.code && pressed.mods == self.mods
    }

    fn is_plain_char(&self) -> bool {
        matches!(self.code, KeyCode::Char(_))
            && !self
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }
}

fn key_code(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.clone().next()) {
        return Some(KeyCode::Char(c));
    }
    let lower = name.to_ascii_lowercase();
    if let Some((_, code)) = NAMED.iter().find(|(n, _)| *n == lower) {
        return Some(*code);
    }
    let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
    (1..=24).contains(&n).then_some(KeyCode::F(n))
}

/// Case carries shift for characters, and shift-tab is BackTab: drop the redundant SHIFT.
fn normalize(code: KeyCode, mods: KeyModifiers) -> KeySpec {
    let mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    match code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => KeySpec {
            code: KeyCode::Char(c.to_ascii_uppercase()),
            mods: mods - KeyModifiers::SHIFT,
        },
        KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => KeySpec {
            code: KeyCode::BackTab,
            mods: mods - KeyModifiers::SHIFT,
        },
        KeyCode::BackTab => KeySpec {
            code,
            mods: mods - KeyModifiers::SHIFT,
        },
        _ => KeySpec { code, mods },
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::F(n) => write!(f, "f{n}"),
            code => {
                let name = NAMED
                    .iter()
                    .find(|(_, c)| *c == code)
                    .map_or("?", |(n, _)| n);
                f.write_str(name)
            }
        }
    }
}

/// The key bindings in force: defaults patched by the user's overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    keys: Vec<Vec<KeySpec>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = TABLE
            .iter()
            .map(|(_, _, _, spec, _)| parse_list(spec).expect("default key specs parse"))
            .collect();
        Keymap { keys }
    }
}

fn parse_list(specs: &str) -> Result<Vec<KeySpec>, String> {
    if specs.trim().is_empty() {
        return Err("no key given".to_string());
    }
    // A lone "," is the comma key; otherwise commas separate alternatives.
    if specs.trim() == "," {
        return Ok(vec![KeySpec::parse(",")?]);
    }
    specs.split(',').map(KeySpec::parse).collect()
}

impl Keymap {
    /// Defaults with `overrides` (action name → key spec, or several separated by commas)
    /// replacing the keys of the named actions. Errors name the action or key and say why.
    pub fn from_overrides(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, spec) in overrides {
            let Some(i) = TABLE.iter().position(|(_, n, ..)| n == name) else {
                let known: Vec<&str> = TABLE.iter().map(|(_, n, ..)| *n).collect();
                return Err(format!(
                    "unknown action `{name}` in key bindings; known actions: {}",
                    known.join(", ")
                ));
            };
            let keys = parse_list(spec).map_err(|e| format!("key binding for `{name}`: {e}"))?;
            if TABLE[i].2.contains(&Context::Editor)
                && let Some(k) = keys.iter().find(|k| k.is_plain_char())
            {
                return Err(format!(
                    "key binding for `{name}`: `{k}` would stop that character being typed in the \
                     editor; use ctrl-, alt- or a function key"
                ));
            }
            map.keys[i] = keys;
        }
        map.check_conflicts()?;
        Ok(map)
    }

    fn check_conflicts(&self) -> Result<(), String> {
        for (i, a) in TABLE.iter().enumerate() {
            for (j, b) in TABLE.iter().enumerate().skip(i + 1) {
                let shared_context = a.2.iter().any(|c| b.2.contains(c));
                if !shared_context {
                    continue;
                }
                if let Some(k) = self.keys[i].iter().find(|k| self.keys[j].contains(k)) {
                    return Err(format!(
                        "key `{k}` is bound to both `{}` and `{}`; change one of them",
                        a.1, b.1
                    ));
                }
            }
        }
        Ok(())
    }

    /// The command `key` triggers in `context`, if any.
    pub fn command(&self, context: Context, key: &KeyEvent) -> Option<Command> {
        TABLE
            .iter()
            .zip(&self.keys)
            .find(|((_, _, contexts, ..), keys)| {
                contexts.contains(&context) && keys.iter().any(|k| k.matches(key))
            })
            .map(|((command, ..), _)| *command)
    }

    /// The keys of `command`, joined with `/` for display (e.g. `j/down`).
    pub fn keys_of(&self, command: Command) -> String {
        TABLE
            .iter()
            .position(|(c, ..)| *c == command)
            .map(|i| join(&self.keys[i]))
            .unwrap_or_default()
    }

    /// Every binding of `context`: (keys, config name, description), for help and footer;
    /// without the commands that write when `writable` is false.
    pub fn bindings(
        &self,
        context: Context,
        writable: bool,
    ) -> Vec<(String, &'static str, &'static str)> {
        TABLE
            .iter()
            .zip(&self.keys)
            .filter(|((command, _, contexts, ..), _)| {
                contexts.contains(&context) && (writable || !command.is_write())
            })
            .map(|((_, name, _, _, help), keys)| (join(keys), *name, *help))
            .collect()
    }
}

fn join(keys: &[KeySpec]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip() {
        for spec in [
            "ctrl-s",
            "q",
            "shift-tab",
            "f5",
            "esc",
            "G",
            "alt-x",
            "pgdn",
            "space",
        ] {
            assert_eq!(KeySpec::parse(spec).unwrap().to_string(), spec);
        }
        assert_eq!(KeySpec::parse("shift-g").unwrap().to_string(), "G");
        assert_eq!(KeySpec::parse("CTRL-s").unwrap().to_string(), "ctrl-s");
    }

    #[test]
    fn shift_char_events_match_uppercase_specs() {
        let event = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert!(KeySpec::parse("S").unwrap().matches(&event));
        let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert!(KeySpec::parse("shift-tab").unwrap().matches(&backtab));
    }
}
