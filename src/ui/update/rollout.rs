//! Rollouts from the control room: ORBs marked with space, `:rollout [FLAGS]` planning an
//! edit made in one ORB (its draft) for the marked ORBs, `c` on the plan starting it, the
//! moves (`:rollout start|resume|skip|abort|revert|status [ID]`, abort and revert asked
//! first), and the Rollouts tab's rows as the runtime reads them from the rollout files.

use super::keys::open_viewer;
use crate::rollout::run::Move;
use crate::ui::action::Effect;
use crate::ui::data::RolloutRow;
use crate::ui::state::{Confirm, Level, Mode, PlanCommit, State, Viewer};
use crate::ui::tab::Tab;
use std::collections::BTreeMap;

/// Marks the selected ORB for `:rollout`, or unmarks it.
pub(super) fn mark(state: &mut State) {
    let Some(name) = state.fleet.get(state.target_orb()).map(|o| o.name.clone()) else {
        return;
    };
    if !state.marked.remove(&name) {
        state.marked.insert(name);
    }
    let text = if state.marked.is_empty() {
        "No ORB marked: :rollout rolls an edit out to the whole fleet.".to_string()
    } else {
        format!(
            "Marked {}: :rollout rolls an edit out to them (space unmarks).",
            state.marked.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    state.say(Level::Info, text);
}

/// The moves `:rollout WORD [ID]` takes.
const MOVES: &[(&str, Option<Move>)] = &[
    ("status", None),
    ("start", Some(Move::Start)),
    ("resume", Some(Move::Resume)),
    ("skip", Some(Move::Skip)),
    ("abort", Some(Move::Abort)),
    ("revert", Some(Move::Revert)),
];

/// `:rollout ARGS`: a move on a rollout, or the plan of a new one.
pub(super) fn command(state: &mut State, args: &str, fx: &mut Vec<Effect>) {
    let words = match shlex::split(args) {
        Some(w) => w,
        None => {
            return state.say(Level::Warn, ":rollout: a quote is not closed.");
        }
    };
    if let Some((word, wanted)) = words
        .first()
        .and_then(|w| MOVES.iter().find(|(name, _)| name == w))
    {
        let Some(id) = words.get(1).cloned().or_else(|| chosen_rollout(state)) else {
            return state.say(
                Level::Warn,
                format!(":rollout {word}: no rollout on this machine; :rollout plans one."),
            );
        };
        return match wanted {
            None => status(state, id, fx),
            Some(wanted @ (Move::Abort | Move::Revert)) => {
                state.mode = Mode::Confirm(Confirm::Rollout {
                    id,
                    wanted: *wanted,
                });
            }
            Some(wanted) => fx.push(Effect::RolloutMove {
                id,
                wanted: *wanted,
                draft: None,
            }),
        };
    }
    plan(state, words, fx);
}

/// Opens rollout `id`'s status, as `orbdeck rollout status` prints it.
pub(super) fn status(state: &mut State, id: String, fx: &mut Vec<Effect>) {
    open_viewer(
        state,
        Viewer::Text {
            title: format!("Rollout {id}"),
            lines: None,
            scroll: 0,
            then: None,
        },
    );
    fx.push(Effect::RolloutStatus(id));
}

/// The rollout a move is about: the selected row's on the Rollouts tab, else the newest.
fn chosen_rollout(state: &State) -> Option<String> {
    if state.tab == Tab::Rollouts
        && let Some((o, r)) = state.selected_row()
        && let Some(row) = state.fleet[o as usize].rollouts.get(r as usize)
    {
        return Some(row.id.clone());
    }
    state.rollout_notes.first().map(|(id, _)| id.clone())
}

/// Plans a rollout of the selected ORB's draft (the one shown on the Desired tab, or its only
/// one) to the marked ORBs, unless the flags say the file, the change or the ORBs.
fn plan(state: &mut State, mut words: Vec<String>, fx: &mut Vec<Effect>) {
    let has = |words: &[String], flag: &str| {
        words
            .iter()
            .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
    };
    let names_edit = ["--set", "--patch", "--content"]
        .iter()
        .any(|f| has(&words, f));
    let mut draft = None;
    if !has(&words, "--file") {
        match selected_draft(state) {
            Ok((orb, path)) => {
                words.extend(["--file".to_string(), path.clone()]);
                if !names_edit {
                    draft = Some((orb, path));
                }
            }
            Err(why) => return state.say(Level::Warn, why),
        }
    }
    if !has(&words, "--orbs") {
        let mut names = state.marked.clone();
        if let Some((orb, _)) = &draft {
            names.insert(orb.clone());
        }
        let selector = if state.marked.is_empty() {
            "*".to_string()
        } else {
            format!(
                "name in ({})",
                names.into_iter().collect::<Vec<_>>().join(",")
            )
        };
        words.extend(["--orbs".to_string(), selector]);
    }
    open_viewer(
        state,
        Viewer::Text {
            title: PLANNING.into(),
            lines: None,
            scroll: 0,
            then: None,
        },
    );
    fx.push(Effect::PlanRollout { args: words, draft });
}

/// The draft `:rollout` rolls out: the selected file on the Desired tab, else the selected
/// ORB's only draft; why not, in words.
fn selected_draft(state: &State) -> Result<(String, String), String> {
    let orb = state
        .fleet
        .get(state.target_orb())
        .ok_or_else(|| "No ORB selected.".to_string())?;
    // The selected file even when the view's list of drafts lags behind the one just saved:
    // the plan reads the draft itself and says so when there is none.
    if state.tab == Tab::Desired
        && let Some((_, r)) = state.selected_row()
        && let Some(path) = orb.desired_files.get(r as usize)
    {
        return Ok((orb.name.clone(), path.clone()));
    }
    match orb.drafts.as_slice() {
        [one] => Ok((orb.name.clone(), one.path.clone())),
        [] => Err(format!(
            ":rollout rolls out an edit: open a desired file of {} (6, enter), change it, esc, then :rollout (space marks the ORBs it goes to), or give --file PATH --set KEY VALUE.",
            orb.name
        )),
        _ => Err(format!(
            "{} has {} drafts: select the one to roll out on the Desired tab (6), then :rollout.",
            orb.name,
            orb.drafts.len()
        )),
    }
}

/// `c` on a rollout's plan: start it; the draft it was made from (when the rollout carries it
/// to its ORB) is dropped once the start is made.
pub(super) fn start(
    state: &mut State,
    id: String,
    draft: Option<(String, String)>,
    fx: &mut Vec<Effect>,
) {
    state.mode = Mode::Normal;
    super::keys::set_tab(state, Tab::Rollouts);
    state.say(Level::Info, format!("Starting rollout {id}…"));
    fx.push(Effect::RolloutMove {
        id,
        wanted: Move::Start,
        draft,
    });
}

/// What the plan's viewer is titled until the plan arrives.
const PLANNING: &str = "Rollout plan (planning every ORB: diff and server-side dry run…)";

/// The plan arrived: shown, with `c` to start it when it waits to be; only in the viewer
/// opened for it (the operator may have gone on to another).
pub(super) fn planned(
    state: &mut State,
    id: Option<String>,
    text: String,
    draft: Option<(String, String)>,
) {
    if let Mode::Viewer(Viewer::Text {
        title,
        lines: lines @ None,
        then,
        ..
    }) = &mut state.mode
        && title == PLANNING
    {
        *lines = Some(text.lines().map(str::to_string).collect());
        *title = match &id {
            Some(id) => format!("Rollout {id}: plan (c starts it; esc keeps it planned)"),
            None => "Rollout plan".to_string(),
        };
        *then = id.map(|id| PlanCommit::StartRollout { id, draft });
    }
}

/// The runtime read the rollout files again: every ORB's rows, with the drift its view knows.
pub(super) fn arrived(
    state: &mut State,
    mut rows: BTreeMap<String, Vec<RolloutRow>>,
    notes: Vec<(String, String)>,
) {
    for view in &mut state.fleet {
        view.rollouts = rows.remove(&view.name).unwrap_or_default();
        for row in &mut view.rollouts {
            row.drift = view.drift;
        }
    }
    state.rollout_notes = notes;
    if state.tab == Tab::Rollouts {
        state.reindex();
    }
}
