//! Key handling outside the editor: the tables and ORB list, the filter, help, dialogs,
//! viewers and the template picker. The keymap turns keys into commands first.

use crossterm::event::{KeyCode, KeyEvent};

use super::command;
use super::editor;
use super::history;
use super::logs;
use crate::ui::action::{Effect, UpgradeOp};
use crate::ui::editor::Editor;
use crate::ui::keymap::{Command, Context};
use crate::ui::state::{
    Confirm, DeleteTarget, Focus, Level, Mode, PendingOpen, PlanCommit, Prompt, Scope, State,
    Viewer,
};
use crate::ui::tab::Tab;
use crate::ui::templates::{self, TEMPLATES};

/// Routes `key` by mode.
pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    match &state.mode {
        Mode::Normal => normal(state, key, fx),
        Mode::Command(_) => command::on_key(state, key, fx),
        Mode::Filter => filter(state, key),
        Mode::Help { .. } => help(state, key),
        Mode::Confirm(_) => confirm(state, key, fx),
        Mode::Editor => editor::on_key(state, key, fx),
        Mode::Viewer(_) => viewer(state, key, fx),
        Mode::Logs => logs::on_key(state, key, fx),
        Mode::NewFile { .. } => new_file(state, key),
        Mode::Prompt { .. } => prompt(state, key, fx),
    }
}

/// New position after a navigation command in a list of `len` items showing `page` at once.
pub(super) fn moved(command: Command, pos: usize, len: usize, page: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match command {
        Command::Down => (pos + 1).min(last),
        Command::Up => pos.saturating_sub(1),
        Command::Top => 0,
        Command::Bottom => last,
        Command::PageDown => (pos + page.max(1)).min(last),
        Command::PageUp => pos.saturating_sub(page.max(1)),
        _ => return None,
    })
}

fn normal(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(cmd) = state.keymap.command(Context::Main, &key) else {
        return;
    };
    let (pos, len) = match state.focus {
        Focus::OrbList => (state.selected_orb, state.fleet.len()),
        Focus::Main => (state.view().selected, state.rows.len()),
    };
    if let Some(pos) = moved(cmd, pos, len, state.page_rows()) {
        match state.focus {
            Focus::OrbList => select_orb(state, pos),
            Focus::Main => {
                state.view_mut().selected = pos;
                state.keep_selection_visible();
            }
        }
        return;
    }
    if state.focus == Focus::OrbList && acts_on_row(cmd) {
        let orb = state.orb().map_or("the ORB", |o| o.name.as_str());
        let text = format!(
            "The ORB list has focus: {} moves it to {orb}'s {} table first.",
            state.keymap.keys_of(Command::SwitchPane),
            state.tab.title()
        );
        state.say(Level::Info, text);
        return;
    }
    if let Some(what) = needs_repo(cmd, state.tab)
        && state.refuse_live_only(state.target_orb(), what)
    {
        return;
    }
    match cmd {
        Command::Quit if state.has_drafts() => state.mode = Mode::Confirm(Confirm::Quit),
        Command::Quit => fx.push(Effect::Quit),
        Command::Help => state.mode = Mode::Help { scroll: 0 },
        Command::CommandLine => {
            state.mode = Mode::Command(command::fresh(state));
        }
        Command::Filter => {
            state.focus = Focus::Main;
            state.mode = Mode::Filter;
            state.prepare_search();
        }
        Command::Back => back(state),
        Command::SwitchPane => {
            state.focus = match state.focus {
                Focus::OrbList => Focus::Main,
                Focus::Main => Focus::OrbList,
            }
        }
        Command::NextTab => set_tab(state, Tab::ALL[(state.tab.index() + 1) % Tab::ALL.len()]),
        Command::PrevTab => set_tab(
            state,
            Tab::ALL[(state.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()],
        ),
        Command::GoTab(tab) => set_tab(state, tab),
        Command::SortNext => {
            let n = state.sort_columns();
            let next = (state.sort_position() + 1) % n.max(1);
            state.set_sort_position(next);
            state.view_mut().descending = false;
            state.resort();
            say_sort(state);
        }
        Command::SortReverse => {
            let view = state.view_mut();
            view.descending = !view.descending;
            state.resort();
            say_sort(state);
        }
        Command::Open | Command::LiveYaml | Command::ThreeWay if state.tab == Tab::Live => {
            open_live(state, fx)
        }
        Command::Open => open(state, fx),
        Command::LiveYaml => live_yaml(state, fx),
        Command::ThreeWay => super::diff::open(state, fx),
        Command::Logs => logs::open(state, fx),
        Command::Edit => edit(state, fx),
        Command::NewFile if state.tab == Tab::Desired => {
            let orb = state.target_orb();
            if state.is_writable(orb) {
                state.mode = Mode::NewFile { selected: 0 };
            } else {
                state.refuse_read_only(orb, "create files in its repo");
            }
        }
        Command::NewFile => state.say(
            Level::Info,
            "n creates a desired file from a template in the Desired tab (6).",
        ),
        Command::UpgradePause => upgrade(state, UpgradeOp::Pause),
        Command::UpgradeResume => upgrade(state, UpgradeOp::Resume),
        Command::UpgradeAbort => upgrade(state, UpgradeOp::Abort),
        Command::RetryReplication => retry_replication(state, fx),
        Command::Mark => super::rollout::mark(state),
        Command::History => history::open(state, fx),
        Command::Delete => delete(state),
        Command::SyncNow => {
            let orb = state.target_orb();
            if let Some(name) = state.fleet.get(orb).map(|o| o.name.clone()) {
                state.say(
                    Level::Info,
                    format!("Asking the engine of {name} to sync now…"),
                );
                fx.push(Effect::SyncNow { orb: name });
            }
        }
        Command::Blame => history::blame_selected(state, fx),
        _ => {}
    }
}

/// Whether `cmd` acts on the main pane's selected row (and so waits for the main pane's focus:
/// keys go to the pane drawn focused).
fn acts_on_row(cmd: Command) -> bool {
    matches!(
        cmd,
        Command::Edit
            | Command::LiveYaml
            | Command::ThreeWay
            | Command::Logs
            | Command::Delete
            | Command::Blame
            | Command::UpgradePause
            | Command::UpgradeResume
            | Command::UpgradeAbort
            | Command::RetryReplication
    )
}

/// What `cmd` would do with the ORB's repo (for the refusal on a live-only ORB), if it needs one.
fn needs_repo(cmd: Command, tab: Tab) -> Option<&'static str> {
    Some(match cmd {
        Command::ThreeWay if tab != Tab::Live => "compare desired with live",
        Command::Edit => "edit its desired files",
        Command::NewFile => "create desired files",
        Command::History => "show its history",
        Command::Blame => "blame its files",
        _ => return None,
    })
}

/// Selects ORB `i` and shows it (leaving the fleet-wide scope).
pub(super) fn select_orb(state: &mut State, i: usize) {
    if i >= state.fleet.len() {
        return;
    }
    let changed = state.selected_orb != i || state.scope != Scope::Orb;
    state.selected_orb = i;
    state.scope = Scope::Orb;
    let rows = usize::from(state.size.1.saturating_sub(4)) / 2;
    if i < state.orb_offset {
        state.orb_offset = i;
    } else if rows > 0 && i >= state.orb_offset + rows {
        state.orb_offset = i + 1 - rows;
    }
    if changed {
        for view in &mut state.views {
            view.selected = 0;
            view.offset = 0;
        }
        state.reindex();
    }
}

/// Switches to `tab` and rebuilds its index.
pub(super) fn set_tab(state: &mut State, tab: Tab) {
    state.tab = tab;
    let n = state.tab.kind().column_count();
    let view = state.view_mut();
    view.sort_column = view.sort_column.min(n.saturating_sub(1));
    state.reindex();
}

fn say_sort(state: &mut State) {
    let view = state.view();
    let title = if state.has_orb_column() {
        if view.sort_orb {
            "ORB"
        } else {
            state.tab.kind().columns()[view.sort_column].title
        }
    } else {
        state.tab.kind().columns()[view.sort_column].title
    };
    let dir = if view.descending {
        "descending"
    } else {
        "ascending"
    };
    let keys = (
        state.keymap.keys_of(Command::SortNext),
        state.keymap.keys_of(Command::SortReverse),
    );
    let text = format!(
        "Sorted by {title}, {dir} ({}: next column, {}: reverse).",
        keys.0, keys.1
    );
    state.say(Level::Info, text);
}

fn back(state: &mut State) {
    if !state.view().filter.is_empty() {
        state.view_mut().filter.clear();
        state.apply_filter();
    } else if state.message.is_some() {
        state.message = None;
    } else if state.focus == Focus::Main {
        state.focus = Focus::OrbList;
    }
}

fn filter(state: &mut State, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => {
            state.view_mut().filter.clear();
            state.apply_filter();
            state.mode = Mode::Normal;
        }
        KeyCode::Enter => state.mode = Mode::Normal,
        KeyCode::Backspace => {
            state.view_mut().filter.pop();
            state.apply_filter();
        }
        KeyCode::Char(c)
            if !key.modifiers.intersects(
                crossterm::event::KeyModifiers::CONTROL | crossterm::event::KeyModifiers::ALT,
            ) =>
        {
            state.view_mut().filter.push(c);
            state.view_mut().selected = 0;
            state.apply_filter();
        }
        _ => {}
    }
}

fn help(state: &mut State, key: KeyEvent) {
    let Mode::Help { scroll } = &mut state.mode else {
        return;
    };
    let cmd = state.keymap.command(Context::List, &key);
    match cmd {
        Some(Command::Back) => state.mode = Mode::Normal,
        Some(c) => {
            if let Some(pos) = moved(c, *scroll, usize::MAX, usize::from(state.size.1 / 2)) {
                *scroll = pos;
            }
        }
        None if matches!(key.code, KeyCode::Char('?' | 'q')) => state.mode = Mode::Normal,
        None => {}
    }
}

fn confirm(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Mode::Confirm(what) = &state.mode else {
        return;
    };
    let back = match what {
        Confirm::DiscardDraft { .. } => Mode::Viewer(Viewer::Drafts { selected: 0 }),
        _ => Mode::Normal,
    };
    match key.code {
        KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
            match what.clone() {
                Confirm::Quit => fx.push(Effect::Quit),
                Confirm::Upgrade { orb, name, op } => {
                    state.say(
                        Level::Info,
                        format!(
                            "Committing: {} ClusterUpgrade {name} on {orb}…",
                            op_verb(op)
                        ),
                    );
                    fx.push(Effect::UpgradeControl { orb, name, op });
                }
                Confirm::DiscardDraft { orb, path } => {
                    fx.push(Effect::DiscardDraft { orb, path });
                }
                Confirm::Rollout { id, wanted } => {
                    state.say(Level::Info, format!("Rollout {id}: {wanted:?}…"));
                    fx.push(Effect::RolloutMove {
                        id,
                        wanted,
                        draft: None,
                    });
                }
                // The second step: the name typed again.
                Confirm::Delete(target) => {
                    state.mode = Mode::Prompt {
                        prompt: Prompt::ConfirmDelete(target),
                        input: String::new(),
                    };
                    return;
                }
            }
            state.mode = back;
        }
        KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => state.mode = back,
        _ => {}
    }
}

fn op_verb(op: UpgradeOp) -> &'static str {
    match op {
        UpgradeOp::Pause => "pause",
        UpgradeOp::Resume => "resume",
        UpgradeOp::Abort => "abort",
    }
}

/// Opens a viewer from the tables (nothing to go back to but them).
pub(super) fn open_viewer(state: &mut State, viewer: Viewer) {
    state.back.clear();
    state.mode = Mode::Viewer(viewer);
}

/// Opens `viewer` over the current one, which esc comes back to.
pub(super) fn push_viewer(state: &mut State, viewer: Viewer) {
    if let Mode::Viewer(current) = std::mem::take(&mut state.mode) {
        state.back.push(current);
    }
    state.mode = Mode::Viewer(viewer);
}

/// Leaves an overlay: back to the one it was opened from, else to the editor if one is open,
/// else to the tables.
pub(super) fn close_overlay(state: &mut State) {
    if let Some(viewer) = state.back.pop() {
        state.mode = Mode::Viewer(viewer);
        return;
    }
    state.mode = if state.editor.is_some() {
        Mode::Editor
    } else {
        Mode::Normal
    };
}

fn viewer(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let page = usize::from(state.size.1.saturating_sub(8));
    let cmd = state.keymap.command(Context::List, &key);
    if let Mode::Viewer(Viewer::Drafts { selected }) = &state.mode {
        let selected = *selected;
        return drafts_view(state, cmd, selected, fx);
    }
    if let Mode::Viewer(Viewer::History { .. }) = &state.mode {
        return history::on_key(state, cmd, fx);
    }
    if let Mode::Viewer(Viewer::Drift { .. }) = &state.mode {
        // `d` is not a List key: it compares here as on the tables.
        let cmd = cmd.or_else(|| state.keymap.command(Context::Main, &key));
        return super::drift::on_key(state, cmd, fx);
    }
    if let Mode::Viewer(Viewer::Diff(_)) = &state.mode {
        return super::diff::on_key(state, key);
    }
    if let Mode::Viewer(Viewer::Text {
        then: Some(PlanCommit::Revert { orb, commit }),
        lines: Some(_),
        ..
    }) = &state.mode
        && key.code == KeyCode::Char('c')
    {
        let (orb, commit) = (orb.clone(), commit.clone());
        return history::commit_revert(state, orb, commit, fx);
    }
    if let Mode::Viewer(Viewer::Text {
        then: Some(PlanCommit::StartRollout { id, draft }),
        lines: Some(_),
        ..
    }) = &state.mode
        && key.code == KeyCode::Char('c')
    {
        let (id, draft) = (id.clone(), draft.clone());
        return super::rollout::start(state, id, draft, fx);
    }
    if let Mode::Viewer(Viewer::Text {
        then: Some(PlanCommit::Drafts(orb)),
        lines: Some(_),
        ..
    }) = &state.mode
        && key.code == KeyCode::Char('c')
    {
        let orb = orb.clone();
        let n = state
            .fleet
            .iter()
            .find(|o| o.name == orb)
            .map_or(0, |o| o.drafts.len());
        state.mode = Mode::Prompt {
            prompt: Prompt::CommitAll { orb },
            input: format!("orbdeck: edit {n} desired files"),
        };
        return;
    }
    let Mode::Viewer(v) = &mut state.mode else {
        return;
    };
    match (cmd, v) {
        (Some(Command::Back), _) => close_overlay(state),
        (Some(c), Viewer::Yaml { scroll, lines, .. } | Viewer::Text { scroll, lines, .. }) => {
            let len = lines.as_ref().map_or(0, Vec::len);
            if let Some(pos) = moved(c, *scroll, len, page) {
                *scroll = pos;
            }
        }
        (Some(c), Viewer::Message { scroll, lines, .. }) => {
            if let Some(pos) = moved(c, *scroll, lines.len(), page) {
                *scroll = pos;
            }
        }
        (
            Some(Command::Open | Command::LiveYaml),
            Viewer::Children {
                orb,
                rows,
                selected,
                ..
            },
        ) => {
            if let Some(child) = rows.as_ref().and_then(|r| r.get(*selected)) {
                let target = crate::ui::action::ObjectRef {
                    kind: child.kind.clone(),
                    namespace: (!child.namespace.is_empty()).then(|| child.namespace.clone()),
                    name: child.name.clone(),
                };
                let orb = orb.clone();
                // Esc comes back to this list.
                let yaml = Viewer::Yaml {
                    title: format!("{} {} @ {orb}", target.kind, target.name),
                    lines: None,
                    scroll: 0,
                };
                push_viewer(state, yaml);
                fx.push(Effect::FetchLiveYaml { orb, target });
            }
        }
        (Some(c), Viewer::Children { rows, selected, .. }) => {
            let len = rows.as_ref().map_or(0, Vec::len);
            if let Some(pos) = moved(c, *selected, len, page) {
                *selected = pos;
            }
        }
        (None, _) if key.code == KeyCode::Char('q') => close_overlay(state),
        _ => {}
    }
}

/// Keys of the Drafts view (`:drafts`).
fn drafts_view(state: &mut State, cmd: Option<Command>, selected: usize, fx: &mut Vec<Effect>) {
    let all = state.all_drafts();
    let page = usize::from(state.size.1.saturating_sub(8));
    let Some(cmd) = cmd else { return };
    if let Some(pos) = moved(cmd, selected, all.len(), page) {
        state.mode = Mode::Viewer(Viewer::Drafts { selected: pos });
        return;
    }
    if cmd == Command::Back {
        return close_overlay(state);
    }
    let Some(&(orb, d)) = all.get(selected) else {
        return;
    };
    let name = state.fleet[orb].name.clone();
    let path = state.fleet[orb].drafts[d].path.clone();
    if cmd.is_write() && !state.is_writable(orb) {
        return state.refuse_read_only(orb, "change its drafts");
    }
    match cmd {
        Command::Open => {
            select_orb(state, orb);
            set_tab(state, Tab::Desired);
            state.mode = Mode::Normal;
            open_path(state, name, path, 1, fx);
        }
        Command::DiscardDraft => {
            state.mode = Mode::Confirm(Confirm::DiscardDraft { orb: name, path });
        }
        Command::DraftDiff => {
            state.mode = Mode::Viewer(Viewer::Text {
                title: format!("Draft vs committed: {path} @ {name}"),
                lines: None,
                scroll: 0,
                then: None,
            });
            fx.push(Effect::DraftDiff { orb: name, path });
        }
        Command::CommitAll => {
            state.mode = Mode::Viewer(Viewer::Text {
                title: format!(
                    "Plan of {} of {name} as one commit",
                    crate::ui::render::cell::count(state.fleet[orb].drafts.len(), "draft")
                ),
                lines: None,
                scroll: 0,
                then: Some(PlanCommit::Drafts(name.clone())),
            });
            fx.push(Effect::PlanAll { orb: name });
        }
        _ => {}
    }
}

/// Keys of a one-line prompt.
fn prompt(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Mode::Prompt { prompt, input } = &mut state.mode else {
        return;
    };
    match key.code {
        KeyCode::Esc => state.mode = Mode::Normal,
        KeyCode::Backspace => {
            input.pop();
        }
        KeyCode::Char(c)
            if !key.modifiers.intersects(
                crossterm::event::KeyModifiers::CONTROL | crossterm::event::KeyModifiers::ALT,
            ) =>
        {
            input.push(c)
        }
        KeyCode::Enter => {
            let (prompt, input) = (prompt.clone(), input.trim().to_string());
            match prompt {
                Prompt::NewName { template, orb } => create_file(state, template, orb, &input),
                Prompt::CommitAll { .. } if input.is_empty() => {
                    state.say(Level::Warn, "A commit message is needed (esc cancels).");
                }
                Prompt::ConfirmDelete(target) if input != target.name() => {
                    let text = format!(
                        "Not deleted: {input:?} is not {}; nothing changed (D starts again).",
                        target.name()
                    );
                    state.mode = Mode::Normal;
                    state.say(Level::Warn, text);
                }
                Prompt::ConfirmDelete(target) => {
                    let text = format!("Deleting {} from {}…", target.describe(), target.orb);
                    state.say(Level::Info, text);
                    fx.push(Effect::DeleteDesired(target));
                    state.mode = Mode::Normal;
                }
                Prompt::CommitAll { orb } => {
                    state.say(Level::Info, format!("Committing every draft of {orb}…"));
                    fx.push(Effect::CommitAll {
                        orb,
                        message: input,
                    });
                    state.mode = Mode::Normal;
                }
            }
        }
        _ => {}
    }
}

/// Creates the draft of a new object `name` from template `template` in ORB `orb`.
fn create_file(state: &mut State, template: usize, orb: usize, name: &str) {
    let template = &TEMPLATES[template];
    if let Some(why) = crate::names::dns_label_problem(name) {
        return state.say(Level::Warn, format!("{name:?}: {why}"));
    }
    let Some(view) = state.fleet.get_mut(orb) else {
        state.mode = Mode::Normal;
        return;
    };
    let path = templates::path_for(template, name);
    if view.desired_files.contains(&path) {
        let text = format!("{path} exists already: pick another name (esc cancels).");
        return state.say(Level::Warn, text);
    }
    let mut editor = Editor::open(
        orb,
        &view.name,
        &path,
        &templates::with_name(template, name),
        false,
        &state.theme,
    );
    editor.base = view.tip.clone();
    editor.touch(state.clock.now);
    state.editor = Some(editor);
    state.mode = Mode::Editor;
    set_tab(state, Tab::Desired);
    super::keep_local_draft(state, orb);
    state.reindex();
    state.say(
        Level::Info,
        format!(
            "New {} in {path}: saved as a draft; fill it in, then ctrl-s.",
            template.kind
        ),
    );
}

fn new_file(state: &mut State, key: KeyEvent) {
    let Mode::NewFile { selected } = &mut state.mode else {
        return;
    };
    let cmd = state.keymap.command(Context::List, &key);
    match cmd {
        Some(Command::Back) => state.mode = Mode::Normal,
        Some(Command::Open) => {
            let template = *selected;
            let orb = state.target_orb();
            let kind = TEMPLATES[template].kind;
            state.mode = Mode::Prompt {
                prompt: Prompt::NewName { template, orb },
                input: String::new(),
            };
            state.say(
                Level::Info,
                format!("Name of the new {kind} (lowercase letters, digits and -)"),
            );
        }
        Some(c) => {
            if let Some(pos) = moved(c, *selected, TEMPLATES.len(), TEMPLATES.len()) {
                *selected = pos;
            }
        }
        None => {}
    }
}

fn open(state: &mut State, fx: &mut Vec<Effect>) {
    if state.focus == Focus::OrbList {
        state.focus = Focus::Main;
        return;
    }
    let Some((orb, row)) = state.selected_row() else {
        return;
    };
    let (orb, row) = (orb as usize, row as usize);
    let name = state.fleet[orb].name.clone();
    match state.tab {
        Tab::Overview => {
            select_orb(state, orb);
        }
        Tab::Profiles => {
            let profile = state.fleet[orb].profiles[row].name.clone();
            state.mode = Mode::Viewer(Viewer::Children {
                orb: name.clone(),
                profile: profile.clone(),
                rows: None,
                selected: 0,
            });
            fx.push(Effect::Children { orb: name, profile });
        }
        Tab::Desired => {
            let path = state.fleet[orb].desired_files[row].clone();
            open_path(state, name, path, 1, fx);
        }
        Tab::Rollouts => {
            let id = state.fleet[orb].rollouts[row].id.clone();
            super::rollout::status(state, id, fx);
        }
        Tab::Events => {
            let event = &state.fleet[orb].events[row];
            let viewer = event_message(event, &name, state.clock.unix);
            open_viewer(state, viewer);
        }
        _ => live_yaml(state, fx),
    }
}

/// One event whole: its fields, then its message wrapped.
fn event_message(e: &crate::ui::data::EventRow, orb: &str, now: u64) -> Viewer {
    let ago = crate::ui::render::cell::age(now, e.time);
    let place = if e.namespace.is_empty() {
        "cluster-scoped".to_string()
    } else {
        format!("namespace {}", e.namespace)
    };
    Viewer::Message {
        title: format!("{} event {} @ {orb}", e.type_, e.reason),
        lines: vec![
            format!("Object:    {} ({place})", e.object),
            format!("Type:      {}", e.type_),
            format!("Reason:    {}", e.reason),
            format!("Last seen: {ago} ago"),
            String::new(),
            e.message.clone(),
        ],
        scroll: 0,
    }
}

/// Enter, `d` or `y` on a Live row: a namespace filters to it and shows its pods; any other
/// object is described (its YAML without noise, its events, its owners and children).
fn open_live(state: &mut State, fx: &mut Vec<Effect>) {
    let Some((orb, row)) = state.selected_row() else {
        return;
    };
    let view = &state.fleet[orb as usize];
    let r = &view.live.rows[row as usize];
    if view.live.kind == "Namespace" {
        let (orb, ns) = (view.name.clone(), r.name.clone());
        state.namespaces.insert(orb.clone(), ns.clone());
        command::run(state, "pods", fx);
        let text = format!("Namespace {ns} in {orb} (:ns all shows every namespace).");
        return state.say(Level::Info, text);
    }
    let (kind, name) = (view.live.kind.clone(), r.name.clone());
    let orb_name = view.name.clone();
    state.mode = Mode::Viewer(Viewer::Text {
        title: format!("Describe {kind} {name} @ {orb_name}"),
        lines: None,
        scroll: 0,
        then: None,
    });
    fx.push(Effect::Describe {
        orb: orb_name,
        api_version: view.live.api_version.clone(),
        kind,
        namespace: r.namespace.clone(),
        name,
    });
}

fn live_yaml(state: &mut State, fx: &mut Vec<Effect>) {
    let Some((orb, target)) = state.selected_object() else {
        state.say(
            Level::Info,
            format!(
                "y shows live YAML of a selected object; {} has none.",
                state.tab.title()
            ),
        );
        return;
    };
    let orb = state.fleet[orb].name.clone();
    state.mode = Mode::Viewer(Viewer::Yaml {
        title: format!("{} {} @ {orb}", target.kind, target.name),
        lines: None,
        scroll: 0,
    });
    fx.push(Effect::FetchLiveYaml { orb, target });
}

fn edit(state: &mut State, fx: &mut Vec<Effect>) {
    if state.tab == Tab::Desired {
        return open(state, fx);
    }
    let Some((orb, row)) = state.selected_row() else {
        return;
    };
    let view = &state.fleet[orb as usize];
    let source = match state.tab {
        Tab::Profiles => view.profiles[row as usize].source.clone(),
        _ => None,
    };
    let Some((path, line)) = source else {
        state.say(
            Level::Info,
            "No desired file is known for this row: e works on Profiles; other files are in the Desired tab (6).",
        );
        return;
    };
    let name = view.name.clone();
    open_path(state, name, path, line, fx);
}

/// Asks for `path` of ORB `orb`, to open it at `line` once it arrives.
fn open_path(state: &mut State, orb: String, path: String, line: u32, fx: &mut Vec<Effect>) {
    state.pending_open = Some(PendingOpen {
        orb: orb.clone(),
        path: path.clone(),
        line,
    });
    state.say(Level::Info, format!("Opening {path}:{line}…"));
    fx.push(Effect::OpenFile { orb, path });
}

/// `D`: the first step of deleting the selected desired file (Desired tab) or Profile.
fn delete(state: &mut State) {
    let Some((orb, row)) = state.selected_row() else {
        return;
    };
    let (orb, row) = (orb as usize, row as usize);
    if !state.is_writable(orb) {
        return state.refuse_read_only(orb, "delete from its desired state");
    }
    let view = &state.fleet[orb];
    let target = match state.tab {
        Tab::Desired => view.desired_files.get(row).map(|path| DeleteTarget {
            orb: view.name.clone(),
            path: path.clone(),
            object: None,
        }),
        Tab::Profiles => view.profiles.get(row).and_then(|p| {
            let (path, _) = p.source.clone()?;
            Some(DeleteTarget {
                orb: view.name.clone(),
                path,
                object: Some(("Profile".into(), p.name.clone())),
            })
        }),
        _ => None,
    };
    match target {
        Some(target) => state.mode = Mode::Confirm(Confirm::Delete(target)),
        None => state.say(
            Level::Info,
            "D deletes a desired file (Desired tab) or a Profile whose desired file is known.",
        ),
    }
}

/// `a` in the Replications tab: another round of attempts for the selected replication that
/// gave up (`MaxAttemptsExceeded`).
fn retry_replication(state: &mut State, fx: &mut Vec<Effect>) {
    if state.tab != Tab::Replications {
        return state.say(
            Level::Info,
            "a retries a replication that gave up, in the Replications tab.",
        );
    }
    let Some((orb, row)) = state.selected_row() else {
        return;
    };
    let orb = orb as usize;
    if !state.is_writable(orb) {
        return state.refuse_read_only(orb, "retry a replication");
    }
    let orb_name = state.fleet[orb].name.clone();
    let Some(r) = state.fleet[orb].replications.get(row as usize) else {
        return;
    };
    if r.phase != "MaxAttemptsExceeded" {
        let text = format!(
            "Nothing to retry: ImageReplication {} is {} (only one that gave up is retried).",
            r.name, r.phase
        );
        return state.say(Level::Info, text);
    }
    let (namespace, name) = (r.namespace.clone(), r.name.clone());
    state.say(
        Level::Info,
        format!("Asking the replicator of {orb_name} to try {name} again…"),
    );
    fx.push(Effect::RetryReplication {
        orb: orb_name,
        namespace,
        name,
    });
}

fn upgrade(state: &mut State, op: UpgradeOp) {
    if state.tab != Tab::Upgrades {
        state.say(
            Level::Info,
            "p / r / x pause, resume and abort upgrades in the Upgrades tab (5).",
        );
        return;
    }
    let Some((orb, row)) = state.selected_row() else {
        return;
    };
    let orb = orb as usize;
    let what = match op {
        UpgradeOp::Pause => "pause the upgrade",
        UpgradeOp::Resume => "resume the upgrade",
        UpgradeOp::Abort => "abort the upgrade",
    };
    if !state.is_writable(orb) {
        return state.refuse_read_only(orb, what);
    }
    let orb_name = state.fleet[orb].name.clone();
    let upgrade = &state.fleet[orb].upgrades[row as usize];
    let name = upgrade.name.clone();
    let nothing = match op {
        UpgradeOp::Pause if upgrade.paused => Some("it is paused already"),
        UpgradeOp::Resume if !upgrade.paused => Some("it is not paused"),
        _ => None,
    };
    if let Some(why) = nothing {
        let text = format!("Nothing to {}: ClusterUpgrade {name} {why}.", op_verb(op));
        return state.say(Level::Info, text);
    }
    state.mode = Mode::Confirm(Confirm::Upgrade {
        orb: orb_name,
        name,
        op,
    });
}
