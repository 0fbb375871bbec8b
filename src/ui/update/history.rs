//! Keys of the history: `H` opens the commit log of the ORB (of the selected file on the Desired
//! tab), `b` a file's blame; in the log, enter shows a commit's diff, `R` plans its revert and
//! `c` on that plan commits it. Overlays opened from the log go back to it.

use super::keys::{moved, open_viewer, push_viewer};
use crate::ui::action::Effect;
use crate::ui::keymap::Command;
use crate::ui::state::{Level, Mode, PlanCommit, State, Viewer};
use crate::ui::tab::Tab;

/// The selected desired file, on the Desired tab.
fn selected_file(state: &State) -> Option<(usize, String)> {
    if state.tab != Tab::Desired {
        return None;
    }
    let (orb, row) = state.selected_row()?;
    let path = state
        .fleet
        .get(orb as usize)?
        .desired_files
        .get(row as usize)?;
    Some((orb as usize, path.clone()))
}

/// `H`: the log of the selected file on the Desired tab, else of the ORB.
pub(super) fn open(state: &mut State, fx: &mut Vec<Effect>) {
    let (orb, path) = match selected_file(state) {
        Some((orb, path)) => (orb, Some(path)),
        None => (state.target_orb(), None),
    };
    let Some(name) = state.fleet.get(orb).map(|o| o.name.clone()) else {
        return;
    };
    open_log(state, name, path, fx);
}

/// Opens the log of ORB `orb` (or of one file) and asks for it.
pub(super) fn open_log(state: &mut State, orb: String, path: Option<String>, fx: &mut Vec<Effect>) {
    if let Some(i) = state.fleet.iter().position(|o| o.name == orb)
        && state.refuse_live_only(i, "show its history")
    {
        return;
    }
    open_viewer(
        state,
        Viewer::History {
            orb: orb.clone(),
            path: path.clone(),
            rows: None,
            selected: 0,
        },
    );
    fx.push(Effect::History { orb, path });
}

/// `b` on the Desired tab: the blame of the selected file.
pub(super) fn blame_selected(state: &mut State, fx: &mut Vec<Effect>) {
    let Some((orb, path)) = selected_file(state) else {
        state.say(
            Level::Info,
            "b shows the blame of a desired file: select one in the Desired tab (6).",
        );
        return;
    };
    let orb = state.fleet[orb].name.clone();
    open_viewer(state, blame_viewer(&orb, &path));
    fx.push(Effect::Blame { orb, path });
}

fn blame_viewer(orb: &str, path: &str) -> Viewer {
    Viewer::Text {
        title: format!("Blame: {path} @ {orb}"),
        lines: None,
        scroll: 0,
        then: None,
    }
}

/// Keys of an open log.
pub(super) fn on_key(state: &mut State, cmd: Option<Command>, fx: &mut Vec<Effect>) {
    let page = usize::from(state.size.1.saturating_sub(8));
    let Mode::Viewer(Viewer::History {
        orb,
        path,
        rows,
        selected,
    }) = &mut state.mode
    else {
        return;
    };
    let Some(cmd) = cmd else { return };
    let len = rows.as_ref().map_or(0, Vec::len);
    if let Some(pos) = moved(cmd, *selected, len, page) {
        *selected = pos;
        return;
    }
    let (orb, path) = (orb.clone(), path.clone());
    let row = rows.as_ref().and_then(|r| r.get(*selected)).cloned();
    match (cmd, row) {
        (Command::Back, _) => super::keys::close_overlay(state),
        (Command::Blame, _) => match path {
            Some(path) => {
                push_viewer(state, blame_viewer(&orb, &path));
                fx.push(Effect::Blame { orb, path });
            }
            None => state.say(
                Level::Info,
                "b blames a file: open a file's history with H on the Desired tab.",
            ),
        },
        (Command::Open, Some(row)) => {
            push_viewer(
                state,
                Viewer::Text {
                    title: format!("Commit {:.8} by {} @ {orb}", row.commit, row.author),
                    lines: None,
                    scroll: 0,
                    then: None,
                },
            );
            fx.push(Effect::ShowCommit {
                orb,
                commit: row.commit,
            });
        }
        (Command::Revert, Some(row)) => {
            let index = state.fleet.iter().position(|o| o.name == orb);
            if row.engine {
                state.say(
                    Level::Info,
                    "That is the engine's current/ commit: it writes current/ again on its next sync; nothing to revert.",
                );
            } else if !index.is_some_and(|i| state.is_writable(i)) {
                state.refuse_read_only(index.unwrap_or(state.selected_orb), "revert its commits");
            } else {
                push_viewer(
                    state,
                    Viewer::Text {
                        title: format!(
                            "Plan of reverting {:.8} \"{}\" @ {orb}",
                            row.commit, row.summary
                        ),
                        lines: None,
                        scroll: 0,
                        then: Some(PlanCommit::Revert {
                            orb: orb.clone(),
                            commit: row.commit.clone(),
                        }),
                    },
                );
                fx.push(Effect::PlanRevert {
                    orb,
                    commit: row.commit,
                });
            }
        }
        _ => {}
    }
}

/// `c` on a revert's plan: commit it, and go back to the log, which reloads once it is pushed.
pub(super) fn commit_revert(state: &mut State, orb: String, commit: String, fx: &mut Vec<Effect>) {
    state.say(
        Level::Info,
        format!("Reverting {commit:.8} on {orb}: committing and pushing…"),
    );
    super::keys::close_overlay(state);
    let mut path = None;
    if let Mode::Viewer(Viewer::History {
        rows,
        selected,
        path: p,
        ..
    }) = &mut state.mode
    {
        *rows = None;
        *selected = 0;
        path = p.clone();
    }
    fx.push(Effect::Revert { orb, commit, path });
}
