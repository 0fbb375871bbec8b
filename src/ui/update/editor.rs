//! Editor keys and results: typing (debounced `SaveDraft`), search, undo/redo, `ctrl-s` →
//! validate → errors or plan → commit message → commit → push progress → result; the upstream
//! change of a draft (merge now, their change) and the per-key conflict choice.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::moved;
use crate::repo::merge3::{Resolution, Side};
use crate::ui::action::{Action, Effect, PushResult};
use crate::ui::data::DraftKind;
use crate::ui::editor::{Editor, EditorPane};
use crate::ui::keymap::{Command, Context};
use crate::ui::state::{Level, Mode, State, Viewer};
use crate::ui::tab::Tab;

/// Quiet time after the last keystroke before the draft is saved.
pub(crate) const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(300);

/// Most push progress lines kept.
const PROGRESS_LINES: usize = 200;

/// On a tick: saves the draft once the typing has paused for [`DEBOUNCE`].
pub(super) fn on_tick(state: &mut State, fx: &mut Vec<Effect>) {
    let now = state.clock.now;
    if state.editor.as_ref().is_some_and(|e| {
        e.dirty
            && e.last_edit
                .is_none_or(|t| now.duration_since(t) >= DEBOUNCE)
    }) {
        save_draft(state, fx, false);
    }
}

/// Saves the open file's draft (with the editor's base replacing the draft's when `rebased`),
/// or, when the text is back to the base file, discards it.
fn save_draft(state: &mut State, fx: &mut Vec<Effect>, rebased: bool) {
    let Some(e) = state.editor.as_mut() else {
        return;
    };
    e.dirty = false;
    if e.equals_base() {
        e.drafted = false;
        let (orb, path) = (e.orb, e.path.clone());
        fx.push(Effect::DiscardDraft {
            orb: e.orb_name.clone(),
            path: path.clone(),
        });
        if let Some(view) = state.fleet.get_mut(orb) {
            view.drafts.retain(|d| d.path != path);
        }
        // The Overview sorts by the draft count: the next sort reads it again.
        state.sort_cache.clear();
        return;
    }
    fx.push(Effect::SaveDraft {
        orb: e.orb_name.clone(),
        path: e.path.clone(),
        text: e.text(),
        base: e.base.clone(),
        base_text: e.base_text.clone(),
        rebased,
    });
}

/// Keys that only move the cursor or the view (allowed in a read-only file).
fn is_navigation(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Up
            | KeyCode::Down
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Home
            | KeyCode::End
            | KeyCode::PageUp
            | KeyCode::PageDown
    )
}

fn typing(key: &KeyEvent) -> bool {
    !key.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

/// Handles a key while the editor is open; an edited file shows as a draft of its ORB.
pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    editor_key(state, key, fx);
    if let Some(orb) = state.editor.as_ref().map(|e| e.orb) {
        super::keep_local_draft(state, orb);
    }
}

/// After a resize: the editor's text scrolls back left as far as its cursor allows.
pub(super) fn on_resize(state: &mut State) {
    if let Some(e) = state.editor.as_mut() {
        e.scroll_back_left();
    }
}

/// Pasted text: one undo step in the editor's text; typed key by key anywhere else (the command
/// line, a filter, the search, the commit message), as a terminal without bracketed paste does.
pub(super) fn on_paste(state: &mut State, text: &str, fx: &mut Vec<Effect>) {
    let now = state.clock.now;
    let Some(e) = state
        .editor
        .as_mut()
        .filter(|e| e.pane == EditorPane::Editing && matches!(state.mode, Mode::Editor))
    else {
        for c in text.chars() {
            let code = match c {
                '\r' => continue,
                '\n' => KeyCode::Enter,
                '\t' => KeyCode::Tab,
                c => KeyCode::Char(c),
            };
            super::keys::on_key(state, KeyEvent::new(code, KeyModifiers::NONE), fx);
        }
        return;
    };
    if e.read_only {
        let orb = e.orb;
        return state.refuse_read_only(orb, "edit its files");
    }
    if e.paste(text, now) {
        e.touch(now);
    }
    let orb = e.orb;
    super::keep_local_draft(state, orb);
}

fn editor_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let now = state.clock.now;
    let page = usize::from(state.size.1.saturating_sub(8));
    let Some(e) = state.editor.as_mut() else {
        state.mode = Mode::Normal;
        return;
    };
    match &mut e.pane {
        EditorPane::Editing => match state.keymap.command(Context::Editor, &key) {
            Some(Command::Back) => {
                if e.dirty {
                    save_draft(state, fx, false);
                }
                state.editor = None;
                state.mode = Mode::Normal;
                state.tab = Tab::Desired;
                state.reindex();
            }
            Some(Command::Save) => {
                if e.dirty {
                    save_draft(state, fx, false);
                }
                let Some(e) = state.editor.as_mut() else {
                    return;
                };
                e.pane = EditorPane::Validating;
                fx.push(Effect::Validate {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    text: e.text(),
                });
            }
            Some(Command::MergeUpstream) if e.read_only => {
                let orb = e.orb;
                state.refuse_read_only(orb, "merge into a draft");
            }
            Some(Command::MergeUpstream) => {
                e.pane = EditorPane::Merging;
                fx.push(Effect::Merge {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    text: e.text(),
                    base: e.base.clone(),
                    resolutions: Vec::new(),
                });
            }
            Some(Command::TheirChange) => {
                let title = format!("Upstream change of {} @ {}", e.path, e.orb_name);
                fx.push(Effect::TheirChange {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    base: e.base.clone(),
                });
                state.mode = Mode::Viewer(Viewer::Text {
                    title,
                    lines: None,
                    scroll: 0,
                    then: None,
                });
            }
            Some(Command::Search) => e.pane = EditorPane::Search(e.search.clone()),
            Some(Command::SearchNext) => {
                if !e.search_next() {
                    state.say(Level::Info, "No match (ctrl-f to search).");
                }
            }
            Some(Command::Undo | Command::Redo) | None if e.read_only && !is_navigation(&key) => {
                let orb = e.orb;
                state.refuse_read_only(orb, "edit its files");
            }
            Some(Command::Undo) => {
                if e.undo() {
                    e.touch(now);
                }
            }
            Some(Command::Redo) => {
                if e.redo() {
                    e.touch(now);
                }
            }
            _ => {
                if e.input(key, now) {
                    e.touch(now);
                }
            }
        },
        EditorPane::Search(text) => match key.code {
            KeyCode::Esc => e.pane = EditorPane::Editing,
            KeyCode::Enter => {
                let found = e.search_next();
                e.pane = EditorPane::Editing;
                if !found {
                    let text = format!("`{}` not found.", e.search);
                    state.say(Level::Info, text);
                }
            }
            KeyCode::Backspace => {
                text.pop();
                let t = text.clone();
                e.set_search(&t);
            }
            KeyCode::Char(c) if typing(&key) => {
                text.push(c);
                let t = text.clone();
                e.set_search(&t);
            }
            _ => {}
        },
        EditorPane::Errors { selected } => {
            let cmd = state.keymap.command(Context::Errors, &key);
            let len = e.errors.len();
            let pos = match cmd {
                Some(Command::Back | Command::Open) => {
                    e.pane = EditorPane::Editing;
                    return;
                }
                Some(Command::NextError) => (*selected + 1) % len.max(1),
                Some(Command::PrevError) => (*selected + len.max(1) - 1) % len.max(1),
                Some(c) => match moved(c, *selected, len, page) {
                    Some(p) => p,
                    None => return,
                },
                None => return,
            };
            *selected = pos;
            if let Some(&(line, _)) = e.errors.get(pos) {
                e.jump_to_line(line);
            }
        }
        EditorPane::Plan { lines, scroll } => match state.keymap.command(Context::Plan, &key) {
            Some(Command::Back) => e.pane = EditorPane::Editing,
            Some(Command::Commit) => {
                if state.write_all || state.fleet.get(e.orb).is_some_and(|o| o.writable) {
                    e.pane = EditorPane::CommitMessage;
                } else {
                    let orb = e.orb;
                    state.refuse_read_only(orb, "commit to its repo");
                }
            }
            Some(c) => {
                if let Some(p) = moved(c, *scroll, lines.len(), page) {
                    *scroll = p;
                }
            }
            None => {}
        },
        EditorPane::CommitMessage => match key.code {
            // The message stays in the editor for the next try.
            KeyCode::Esc => e.pane = EditorPane::Editing,
            KeyCode::Enter => {
                let message = match e.message.trim() {
                    "" => e.default_message(),
                    typed => typed.to_string(),
                };
                let orb = e.orb;
                if !(state.write_all || state.fleet.get(orb).is_some_and(|o| o.writable)) {
                    e.pane = EditorPane::Editing;
                    return state.refuse_read_only(orb, "commit to its repo");
                }
                fx.push(Effect::Commit {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    text: e.text(),
                    base: e.base.clone(),
                    message,
                });
                e.dirty = false;
                e.pane = EditorPane::Pushing(Vec::new());
            }
            KeyCode::Backspace => {
                e.message.pop();
            }
            KeyCode::Char(c) if typing(&key) => e.message.push(c),
            _ => {}
        },
        EditorPane::PushResult(result) => {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
                if matches!(result, PushResult::Rejected(_)) {
                    e.pane = EditorPane::Editing;
                } else {
                    state.editor = None;
                    state.mode = Mode::Normal;
                    state.tab = Tab::Desired;
                    state.reindex();
                }
            }
        }
        EditorPane::Conflicts {
            rows,
            choices,
            selected,
        } => match key.code {
            KeyCode::Char('j') | KeyCode::Down => *selected = (*selected + 1).min(rows.len() - 1),
            KeyCode::Char('k') | KeyCode::Up => *selected = selected.saturating_sub(1),
            KeyCode::Char('t') => choices[*selected] = Some(Side::Theirs),
            KeyCode::Char('m') => choices[*selected] = Some(Side::Ours),
            KeyCode::Char('T') => choices.iter_mut().for_each(|c| *c = Some(Side::Theirs)),
            KeyCode::Char('M') => choices.iter_mut().for_each(|c| *c = Some(Side::Ours)),
            KeyCode::Char('e') | KeyCode::Esc => e.pane = EditorPane::Editing,
            KeyCode::Enter => {
                let left = choices.iter().filter(|c| c.is_none()).count();
                if left > 0 {
                    let text = format!(
                        "{left} key(s) still open: t takes theirs, m keeps yours (T/M for all)."
                    );
                    return state.say(Level::Warn, text);
                }
                let resolutions = rows
                    .iter()
                    .zip(choices.iter())
                    .map(|(r, c)| Resolution {
                        doc: r.doc.clone(),
                        path: r.path.clone(),
                        take: c.unwrap_or(Side::Ours),
                    })
                    .collect();
                fx.push(Effect::Merge {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    text: e.text(),
                    base: e.base.clone(),
                    resolutions,
                });
                e.pane = EditorPane::Merging;
            }
            _ => {}
        },
        // Waiting for a result: esc goes back to the text, the result is then ignored.
        EditorPane::Validating
        | EditorPane::Planning
        | EditorPane::Merging
        | EditorPane::Pushing(_) => {
            if key.code == KeyCode::Esc && !matches!(e.pane, EditorPane::Pushing(_)) {
                e.pane = EditorPane::Editing;
            }
        }
    }
}

/// The open editor, when it shows `path` of ORB `orb`.
fn editor_on<'a>(state: &'a mut State, orb: &str, path: &str) -> Option<&'a mut Editor> {
    state
        .editor
        .as_mut()
        .filter(|e| e.orb_name == orb && e.path == path)
}

/// Applies a file, validation, plan or push result.
pub(super) fn on_result(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::FileOpened {
            orb,
            path,
            text,
            from_draft,
            base,
            base_text,
        } => {
            let Some(i) = state.fleet.iter().position(|o| o.name == orb) else {
                return;
            };
            let line = state
                .pending_open
                .take()
                .filter(|p| p.orb == orb && p.path == path)
                .map_or(1, |p| p.line);
            let mut editor = Editor::open(i, &orb, &path, &text, from_draft, &state.theme);
            editor.jump_to_line(line);
            editor.base = base;
            editor.base_text = base_text;
            editor.read_only = !state.is_writable(i);
            state.editor = Some(editor);
            state.mode = Mode::Editor;
            state.tab = Tab::Desired;
            state.message = None;
            if !state.is_writable(i) {
                state.refuse_read_only(i, "edit its files (read-only view)");
            }
        }
        Action::Validated { errors } => {
            let Some(e) = state
                .editor
                .as_mut()
                .filter(|e| e.pane == EditorPane::Validating)
            else {
                return;
            };
            e.errors = errors;
            match e.errors.first() {
                Some(&(line, _)) => {
                    e.jump_to_line(line);
                    e.pane = EditorPane::Errors { selected: 0 };
                }
                None => {
                    e.pane = EditorPane::Planning;
                    fx.push(Effect::Plan {
                        orb: e.orb_name.clone(),
                        path: e.path.clone(),
                        text: e.text(),
                        base: e.base.clone(),
                    });
                }
            }
        }
        Action::Planned(plan) => {
            if let Some(e) = state
                .editor
                .as_mut()
                .filter(|e| e.pane == EditorPane::Planning)
            {
                let lines = plan.lines().map(str::to_string).collect();
                e.pane = EditorPane::Plan { lines, scroll: 0 };
            }
        }
        Action::PushProgress(line) => {
            if let Some(EditorPane::Pushing(lines)) = state.editor.as_mut().map(|e| &mut e.pane) {
                if lines.len() == PROGRESS_LINES {
                    lines.remove(0);
                }
                lines.push(line);
            }
        }
        Action::Pushed(result) => {
            let Some(e) = state
                .editor
                .as_mut()
                .filter(|e| matches!(e.pane, EditorPane::Pushing(_)))
            else {
                return;
            };
            if matches!(result, PushResult::Rejected(_)) {
                e.pane = EditorPane::PushResult(result);
            } else {
                e.drafted = false;
                let (orb, path) = (e.orb, e.path.clone());
                e.pane = EditorPane::PushResult(result);
                if let Some(o) = state.fleet.get_mut(orb) {
                    o.drafts.retain(|d| d.path != path);
                }
                state.sort_cache.clear();
            }
        }
        Action::Conflicts {
            orb,
            path,
            conflicts,
        } => {
            let n = conflicts.len();
            // Only a step that waits for it takes the answer (esc there means: ignore it).
            let Some(e) = editor_on(state, &orb, &path).filter(|e| {
                matches!(
                    e.pane,
                    EditorPane::Planning | EditorPane::Pushing(_) | EditorPane::Merging
                )
            }) else {
                return;
            };
            if conflicts.is_empty() {
                e.pane = EditorPane::Editing;
                return;
            }
            e.pane = EditorPane::Conflicts {
                choices: vec![None; n],
                rows: conflicts,
                selected: 0,
            };
            state.say(
                Level::Warn,
                format!(
                    "{n} key(s) changed upstream and here: nothing was pushed, the draft is kept."
                ),
            );
        }
        Action::Merged {
            orb,
            path,
            text,
            base,
            base_text,
        } => {
            let theme = state.theme.clone();
            let Some(e) = editor_on(state, &orb, &path).filter(|e| e.pane == EditorPane::Merging)
            else {
                return;
            };
            e.replace_text(&text, &theme);
            e.base = base;
            e.base_text = base_text;
            e.drafted = true;
            e.pane = EditorPane::Editing;
            let short = crate::repo::short_hex(e.base.as_deref().unwrap_or_default());
            let i = e.orb;
            // The explicit re-base: the draft on disk takes the new base with the merged text.
            save_draft(state, fx, true);
            if let Some(row) = state.fleet[i].drafts.iter_mut().find(|d| d.path == path) {
                row.base = short.clone();
                row.upstream = None;
                row.error = None;
            }
            state.say(
                Level::Info,
                format!("Merged the upstream change: the draft is now based on {short}; ctrl-s to plan and commit."),
            );
        }
        Action::DraftDiscarded { orb, path } => {
            let Some(i) = state.fleet.iter().position(|o| o.name == orb) else {
                return;
            };
            let view = &mut state.fleet[i];
            let new = view
                .drafts
                .iter()
                .any(|d| d.path == path && d.kind == DraftKind::New);
            view.drafts.retain(|d| d.path != path);
            if new {
                view.desired_files.retain(|f| *f != path);
            }
            if let Some(e) = editor_on(state, &orb, &path) {
                e.drafted = false;
            }
            if let Mode::Viewer(Viewer::Drafts { selected }) = &mut state.mode {
                *selected = (*selected).min(
                    state
                        .fleet
                        .iter()
                        .map(|o| o.drafts.len())
                        .sum::<usize>()
                        .saturating_sub(1),
                );
            }
            state.reindex();
        }
        _ => {}
    }
}
