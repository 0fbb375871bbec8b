//! Keys of the out-of-sync list (`:drift`) and the whole-ORB plan (`:plan`): `d` or enter on an
//! object opens the diff view of it (esc comes back to the list).

use super::keys::{moved, open_viewer};
use crate::ui::action::Effect;
use crate::ui::keymap::Command;
use crate::ui::state::{Mode, State, Viewer};

/// `:drift`: the out-of-sync list of the selected ORB.
pub(super) fn open(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(orb) = state.fleet.get(state.target_orb()).map(|o| o.name.clone()) else {
        return;
    };
    open_viewer(
        state,
        Viewer::Drift {
            orb: orb.clone(),
            rows: None,
            notes: Vec::new(),
            selected: 0,
        },
    );
    fx.push(Effect::Drift { orb });
}

/// `:plan`: the selected ORB's whole plan, as `orbdeck plan` prints it.
pub(super) fn plan(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(orb) = state.fleet.get(state.target_orb()).map(|o| o.name.clone()) else {
        return;
    };
    open_viewer(
        state,
        Viewer::Text {
            title: format!("Plan of {orb} (desired/ against the cluster)"),
            lines: None,
            scroll: 0,
            then: None,
        },
    );
    fx.push(Effect::PlanOrb { orb });
}

/// Keys of an open out-of-sync list.
pub(super) fn on_key(state: &mut State, cmd: Option<Command>, fx: &mut Vec<Effect>) {
    let page = usize::from(state.size.1.saturating_sub(8));
    let Mode::Viewer(Viewer::Drift {
        orb,
        rows,
        selected,
        ..
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
    let row = rows.as_ref().and_then(|r| r.get(*selected)).cloned();
    let orb = orb.clone();
    match (cmd, row) {
        (Command::Back, _) => super::keys::close_overlay(state),
        (Command::Open | Command::ThreeWay, Some(row)) => {
            super::diff::open_drift_row(state, orb, &row, fx)
        }
        _ => {}
    }
}
