//! Keys of the diff view (`d`): opening it from a table row, the Desired tab (every object of
//! the file) or the out-of-sync list; scrolling both ways, jumping between changes, unified or
//! side by side, and the whole live object or only the fields desired sets.

use crossterm::event::KeyEvent;

use super::keys::{close_overlay, moved, open_viewer, push_viewer};
use crate::ui::action::{DiffTarget, Effect};
use crate::ui::data::DriftRow;
use crate::ui::diff::{self, DiffView};
use crate::ui::keymap::{Command, Context};
use crate::ui::state::{Level, Mode, State, Viewer};
use crate::ui::tab::Tab;

/// Columns one horizontal scroll key moves.
const STEP: usize = 8;

/// Lines of context kept above a change jumped to.
const CONTEXT: usize = 2;

/// `d` on the tables: the selected object, or on the Desired tab every object of the file.
pub(super) fn open(state: &mut State, fx: &mut Vec<Effect>) {
    if state.tab == Tab::Desired
        && let Some((orb, row)) = state.selected_row()
    {
        let view = &state.fleet[orb as usize];
        let (orb, path) = (view.name.clone(), view.desired_files[row as usize].clone());
        open_viewer(state, viewer(format!("{path} @ {orb}")));
        fx.push(Effect::Diff {
            orb,
            what: DiffTarget::File(path),
        });
        return;
    }
    let object = state.selected_object().filter(|_| state.tab != Tab::Events);
    let Some((orb, target)) = object else {
        state.say(
            Level::Info,
            "d diffs desired against live: on Profiles, Replications, Upgrades, a desired file (6), or :drift.",
        );
        return;
    };
    let orb = state.fleet[orb].name.clone();
    open_viewer(
        state,
        viewer(format!("{} {} @ {orb}", target.kind, target.name)),
    );
    fx.push(Effect::Diff {
        orb,
        what: DiffTarget::Object {
            target,
            api_version: None,
        },
    });
}

/// `d` or enter on a row of the out-of-sync list of `orb` (esc comes back to the list).
pub(super) fn open_drift_row(state: &mut State, orb: String, row: &DriftRow, fx: &mut Vec<Effect>) {
    let target = crate::ui::kinds::object(
        &row.kind,
        (!row.namespace.is_empty()).then_some(row.namespace.as_str()),
        &row.name,
    );
    let title = format!("{} {} {} @ {orb}", row.state, row.kind, row.name);
    push_viewer(state, viewer(title));
    fx.push(Effect::Diff {
        orb,
        what: DiffTarget::Object {
            target,
            api_version: Some(row.api_version.clone()),
        },
    });
}

fn viewer(title: String) -> Viewer {
    Viewer::Diff(Box::new(DiffView::loading(title)))
}

/// Keys of an open diff view.
pub(super) fn on_key(state: &mut State, key: KeyEvent) {
    let page = usize::from(state.size.1.saturating_sub(8));
    let Some(cmd) = state.keymap.command(Context::Diff, &key) else {
        if key.code == crossterm::event::KeyCode::Char('q') {
            close_overlay(state);
        }
        return;
    };
    if cmd == Command::Back {
        return close_overlay(state);
    }
    let Mode::Viewer(Viewer::Diff(view)) = &mut state.mode else {
        return;
    };
    let shown = view.shown();
    let len = shown.len();
    let widest = shown.iter().map(width).max().unwrap_or(0);
    let hunks = diff::hunks(&shown);
    if let Some(pos) = moved(cmd, view.scroll, len, page) {
        view.scroll = pos;
        return;
    }
    match cmd {
        Command::ScrollLeft => view.hscroll = view.hscroll.saturating_sub(STEP),
        Command::ScrollRight => view.hscroll = (view.hscroll + STEP).min(widest),
        Command::DiffUnified => view.unified = !view.unified,
        Command::DiffFull => {
            view.toggle_scope();
            view.scroll = view.scroll.min(view.shown().len().saturating_sub(1));
        }
        Command::NextChange => {
            let at = |h: &usize| h.saturating_sub(CONTEXT);
            match hunks.iter().map(at).find(|&s| s > view.scroll) {
                Some(s) => view.scroll = s,
                None => state.say(Level::Info, "No change below."),
            }
        }
        Command::PrevChange => {
            let at = |h: &usize| h.saturating_sub(CONTEXT);
            match hunks.iter().rev().map(at).find(|&s| s < view.scroll) {
                Some(s) => view.scroll = s,
                None => state.say(Level::Info, "No change above."),
            }
        }
        _ => {}
    }
}

/// The widest text of a line, for the horizontal scroll's end.
fn width(line: &diff::Shown<'_>) -> usize {
    match line {
        diff::Shown::Pair(r) => [&r.live, &r.desired]
            .iter()
            .filter_map(|s| s.as_ref().map(|n| n.text.chars().count()))
            .max()
            .unwrap_or(0),
        diff::Shown::Single { text, .. } | diff::Shown::Info(text) => text.chars().count(),
        diff::Shown::Head(_) | diff::Shown::Gap => 0,
    }
}
