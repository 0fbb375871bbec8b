//! Editor keys and results: typing (debounced `SaveDraft`), search, undo/redo, `ctrl-s` →
//! validate → errors or plan → commit message → commit → push progress → result.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::moved;
use crate::ui::action::{Action, Effect};
use crate::ui::editor::{Editor, EditorPane};
use crate::ui::keymap::{Command, Context};
use crate::ui::state::{Level, Mode, State};
use crate::ui::tab::Tab;

/// Quiet time after the last keystroke before the draft is saved.
pub(crate) const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(300);

/// Most push progress lines kept.
const PROGRESS_LINES: usize = 200;

/// On a tick: saves the draft once the typing has paused for [`DEBOUNCE`].
pub(super) fn on_tick(state: &mut State, fx: &mut Vec<Effect>) {
    let now = state.clock.now;
    if let Some(e) = &mut state.editor
        && e.dirty
        && e.last_edit
            .is_none_or(|t| now.duration_since(t) >= DEBOUNCE)
    {
        fx.push(save_draft(e));
    }
}

fn save_draft(e: &mut Editor) -> Effect {
    e.dirty = false;
    Effect::SaveDraft {
        orb: e.orb_name.clone(),
        path: e.path.clone(),
        text: e.text(),
    }
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
                    fx.push(save_draft(e));
                }
                state.editor = None;
                state.mode = Mode::Normal;
                state.tab = Tab::Desired;
                state.reindex();
            }
            Some(Command::Save) => {
                if e.dirty {
                    fx.push(save_draft(e));
                }
                e.pane = EditorPane::Validating;
                fx.push(Effect::Validate {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    text: e.text(),
                });
            }
            Some(Command::Search) => e.pane = EditorPane::Search(e.search.clone()),
            Some(Command::SearchNext) => {
                if !e.search_next() {
                    state.say(Level::Info, "No match (ctrl-f to search).");
                }
            }
            Some(Command::Undo) => {
                if e.area.undo() {
                    e.touch(now);
                }
            }
            Some(Command::Redo) => {
                if e.area.redo() {
                    e.touch(now);
                }
            }
            _ => {
                if e.area.input(key) {
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
                    e.pane = EditorPane::CommitMessage(String::new());
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
        EditorPane::CommitMessage(message) => match key.code {
            KeyCode::Esc => e.pane = EditorPane::Editing,
            KeyCode::Enter if message.trim().is_empty() => {
                state.say(
                    Level::Warn,
                    "A commit message is needed (esc goes back to the file).",
                );
            }
            KeyCode::Enter => {
                let message = message.trim().to_string();
                let orb = e.orb;
                if !(state.write_all || state.fleet.get(orb).is_some_and(|o| o.writable)) {
                    e.pane = EditorPane::Editing;
                    return state.refuse_read_only(orb, "commit to its repo");
                }
                fx.push(Effect::Commit {
                    orb: e.orb_name.clone(),
                    path: e.path.clone(),
                    text: e.text(),
                    message,
                });
                e.dirty = false;
                e.pane = EditorPane::Pushing(Vec::new());
            }
            KeyCode::Backspace => {
                message.pop();
            }
            KeyCode::Char(c) if typing(&key) => message.push(c),
            _ => {}
        },
        EditorPane::PushResult(result) => {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
                if result.is_ok() {
                    state.editor = None;
                    state.mode = Mode::Normal;
                    state.tab = Tab::Desired;
                    state.reindex();
                } else {
                    e.pane = EditorPane::Editing;
                }
            }
        }
        // Waiting for a result: esc goes back to the text, the result is then ignored.
        EditorPane::Validating | EditorPane::Planning | EditorPane::Pushing(_) => {
            if key.code == KeyCode::Esc && !matches!(e.pane, EditorPane::Pushing(_)) {
                e.pane = EditorPane::Editing;
            }
        }
    }
}

/// Applies a file, validation, plan or push result.
pub(super) fn on_result(state: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::FileOpened {
            orb,
            path,
            text,
            from_draft,
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
            state.editor = Some(editor);
            state.mode = Mode::Editor;
            state.tab = Tab::Desired;
            state.message = None;
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
            if result.is_ok() {
                e.drafted = false;
                let (orb, path) = (e.orb, e.path.clone());
                e.pane = EditorPane::PushResult(result);
                if let Some(o) = state.fleet.get_mut(orb) {
                    o.drafts.retain(|p| *p != path);
                }
            } else {
                e.pane = EditorPane::PushResult(result);
            }
        }
        _ => {}
    }
}
