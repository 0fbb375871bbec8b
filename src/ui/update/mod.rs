//! `update`: applies one `Action` to the `State` and returns the background work it asks for.
//! The runtime calls it for every key, tick, data change and effect result, then redraws.

mod command;
mod diff;
mod drift;
mod editor;
mod history;
mod keys;
mod logs;
mod rollout;

use crossterm::event::KeyEventKind;

use super::action::{Action, Effect, LiveWatch, Watched};
use super::data::{DraftKind, DraftRow};
use super::state::{Confirm, Level, Message, Mode, Scope, State, Viewer};
use super::tab::Tab;

/// How long a footer message stays.
const MESSAGE_SECS: u64 = 5;

/// Applies `action` to `state`; returns the effects for the runtime to run.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    match action {
        Action::Key(key) if key.kind != KeyEventKind::Release => {
            keys::on_key(state, key, &mut effects)
        }
        Action::Key(_) => {}
        Action::Paste(text) => editor::on_paste(state, &text, &mut effects),
        Action::Resize(w, h) => {
            state.size = (w, h);
            state.keep_selection_visible();
            editor::on_resize(state);
        }
        Action::Tick(clock) => {
            state.clock = clock;
            editor::on_tick(state, &mut effects);
            if state
                .message
                .as_ref()
                .is_some_and(|m| clock.now.duration_since(m.since).as_secs() >= MESSAGE_SECS)
            {
                state.message = None;
            }
        }
        Action::OrbUpdated(i, view) => {
            if let Some(slot) = state.fleet.get_mut(i) {
                let mut rollouts = std::mem::take(&mut slot.rollouts);
                for row in &mut rollouts {
                    row.drift = view.drift;
                }
                *slot = *view;
                slot.rollouts = rollouts;
                keep_local_draft(state, i);
                reindex_if_shown(state, i);
            }
            // Asked only because of drafts that a later read shows pushed: quit, as asked.
            if state.mode == Mode::Confirm(Confirm::Quit) && !state.has_drafts() {
                effects.push(Effect::Quit);
            }
        }
        Action::Rollouts { rows, notes } => rollout::arrived(state, rows, notes),
        Action::RolloutPlanned { id, text, draft } => rollout::planned(state, id, text, draft),
        Action::LiveYaml(text) => {
            if let Mode::Viewer(Viewer::Yaml { lines, .. }) = &mut state.mode {
                *lines = Some(text.lines().map(str::to_string).collect());
            }
        }
        Action::Diff(sources, notes) => {
            if let Mode::Viewer(Viewer::Diff(view)) = &mut state.mode {
                view.arrived(sources, notes);
            }
        }
        Action::Text(text) => {
            if let Mode::Viewer(Viewer::Text { lines, .. }) = &mut state.mode {
                *lines = Some(text.lines().map(str::to_string).collect());
            }
        }
        Action::Drift(objects, plan_notes) => {
            if let Mode::Viewer(Viewer::Drift {
                rows,
                notes,
                selected,
                ..
            }) = &mut state.mode
            {
                *selected = (*selected).min(objects.len().saturating_sub(1));
                *rows = Some(objects);
                *notes = plan_notes;
            }
        }
        Action::History(entries) => {
            if let Mode::Viewer(Viewer::History { rows, selected, .. }) = &mut state.mode {
                *selected = (*selected).min(entries.len().saturating_sub(1));
                *rows = Some(entries);
            }
        }
        Action::Children(children) => {
            if let Mode::Viewer(Viewer::Children { rows, .. }) = &mut state.mode {
                *rows = Some(children);
            }
        }
        Action::LogLines { stream, lines } => logs::on_lines(state, stream, lines),
        Action::LogPod {
            stream,
            pod,
            containers,
        } => logs::on_pod(state, stream, pod, containers),
        Action::LogEnded { stream, why } => logs::on_ended(state, stream, why),
        Action::Error(text) => state.say(Level::Error, text),
        Action::Notice(text) => state.say(Level::Info, text),
        result => editor::on_result(state, result, &mut effects),
    }
    // Overlays to go back to only exist under an open one.
    if !matches!(state.mode, Mode::Viewer(_)) {
        state.back.clear();
    }
    let wanted = wanted_watch(state);
    if wanted != state.watching {
        state.watching.clone_from(&wanted);
        effects.push(Effect::Watch(wanted));
    }
    effects
}

/// The live watch the screen needs: the Live tab's kind, or the Access tab's RBAC objects, in
/// the ORBs it shows.
fn wanted_watch(state: &State) -> Option<LiveWatch> {
    let what = match state.tab {
        Tab::Live => Watched::Kind(state.live_kind.clone()),
        Tab::Access => Watched::Access,
        _ => return None,
    };
    let orbs = match state.scope {
        Scope::Fleet => state.fleet.iter().map(|o| o.name.clone()).collect(),
        Scope::Orb => state.orb().map(|o| vec![o.name.clone()])?,
    };
    Some(LiveWatch { what, orbs })
}

/// The open editor's file stays marked as a draft even if the runtime's list lags behind.
fn keep_local_draft(state: &mut State, orb: usize) {
    let unix = state.clock.unix;
    if let Some(e) = state.editor.as_ref().filter(|e| e.orb == orb && e.drafted) {
        let view = &mut state.fleet[orb];
        if !view.drafts.iter().any(|d| d.path == e.path) {
            view.drafts.push(DraftRow {
                path: e.path.clone(),
                kind: if e.base_text.is_none() {
                    DraftKind::New
                } else {
                    DraftKind::Edit
                },
                updated: unix,
                base: crate::repo::short_hex(e.base.as_deref().unwrap_or_default()),
                upstream: None,
                error: None,
            });
            view.drafts.sort_by(|a, b| a.path.cmp(&b.path));
        }
        if !view.desired_files.contains(&e.path) {
            let pos = view
                .desired_files
                .binary_search(&e.path)
                .unwrap_or_else(|p| p);
            view.desired_files.insert(pos, e.path.clone());
        }
    }
}

/// Rebuilds the row index when ORB `orb`'s change is visible in the current table.
fn reindex_if_shown(state: &mut State, orb: usize) {
    if state.has_orb_column() || state.tab == Tab::Overview || orb == state.selected_orb {
        state.reindex();
    }
}

impl State {
    /// Shows `text` in the footer for a few seconds.
    pub(crate) fn say(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        self.last_message = Some(text.clone());
        self.message = Some(Message {
            text,
            level,
            since: self.clock.now,
        });
    }

    /// Says why ORB `orb` cannot `what` when it is live only (no repo paired), and how to pair
    /// one; whether it was refused.
    pub(crate) fn refuse_live_only(&mut self, orb: usize, what: &str) -> bool {
        let Some(view) = self.fleet.get(orb).filter(|o| o.repo.is_none()) else {
            return false;
        };
        let text = format!(
            "{} is live only (no repo paired): cannot {what}. Pair one: {}",
            view.name,
            view.pair_hint()
        );
        self.say(Level::Info, text);
        true
    }

    /// The message for refusing a write to ORB `orb`.
    pub(crate) fn refuse_read_only(&mut self, orb: usize, what: &str) {
        if self.refuse_live_only(orb, what) {
            return;
        }
        let name = self
            .fleet
            .get(orb)
            .map_or("", |o| o.name.as_str())
            .to_string();
        self.say(
            Level::Warn,
            format!(
                "{name} is read-only: cannot {what}. Start with --write, or set `write: true` for {name} in the fleet config."
            ),
        );
    }
}
