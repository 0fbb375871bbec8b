//! The `:` command line: editing, tab completion (command names, ORB names, themes) and
//! running `:profiles`, `:orb NAME`, `:all [VIEW]`, `:history [PATH]`, `:pods`, `:deploy`,
//! `:ns [NAME]`, any other kind the clusters serve (`:configmaps`), `:theme dark`, `:q` and the rest.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::{select_orb, set_tab};
use crate::ui::action::Effect;
use crate::ui::state::{CommandLine, Confirm, Level, Mode, Scope, State, Viewer};
use crate::ui::tab::Tab;
use crate::ui::theme::Theme;

/// Commands besides the tab names; those taking an argument end with a space.
const COMMANDS: &[&str] = &[
    "orb ", "all", "alerts", "errors", "msg", "drafts", "drift", "plan", "history", "rollout ",
    "suspend", "resume", "theme ", "help", "quit", "q", "pods", "deploy", "svc", "ns",
];
/// What `:ns` takes to clear the namespace filter.
const ALL_NAMESPACES: &[&str] = &["all", "-"];
const THEMES: &[&str] = &["dark", "light"];

/// An empty command line with every command as a candidate.
pub(super) fn fresh(state: &State) -> CommandLine {
    CommandLine {
        input: String::new(),
        candidates: candidates(state, ""),
        cycling: None,
    }
}

/// Completions of the last word of `input`: full replacements for the whole input.
fn candidates(state: &State, input: &str) -> Vec<String> {
    let (head, word, options): (&str, &str, Vec<&str>) = match input.split_once(' ') {
        Some(("orb", arg)) => (
            "orb ",
            arg,
            state.fleet.iter().map(|o| o.name.as_str()).collect(),
        ),
        Some(("theme", arg)) => ("theme ", arg, THEMES.to_vec()),
        Some(_) => return Vec::new(),
        None => (
            "",
            input,
            Tab::ALL
                .iter()
                .map(|t| t.command())
                .chain(COMMANDS.iter().copied())
                .collect(),
        ),
    };
    options
        .into_iter()
        .filter(|o| o.starts_with(word))
        .map(|o| format!("{head}{o}"))
        .collect()
}

fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut len = first.len();
    for item in &items[1..] {
        len = first
            .char_indices()
            .zip(item.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    first[..len].to_string()
}

/// Handles a key while the command line is open.
pub(super) fn on_key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Mode::Command(line) = &mut state.mode else {
        return;
    };
    match key.code {
        KeyCode::Esc => {
            state.mode = Mode::Normal;
            return;
        }
        KeyCode::Enter => {
            let input = line.input.trim().to_string();
            state.mode = Mode::Normal;
            run(state, &input, fx);
            return;
        }
        KeyCode::Tab | KeyCode::BackTab => {
            // Extend to what every completion shares; once nothing is shared, cycle through
            // them (shift-tab backwards), keeping the list the cycle started from.
            let prefix = common_prefix(&line.candidates);
            let n = line.candidates.len();
            if line.cycling.is_none() && prefix.len() > line.input.len() {
                line.input = prefix;
            } else if n > 1 || line.cycling.is_some() {
                let back = key.code == KeyCode::BackTab;
                let next = match (line.cycling, back) {
                    (None, false) => 0,
                    (None, true) => n - 1,
                    (Some(i), false) => (i + 1) % n,
                    (Some(i), true) => (i + n - 1) % n,
                };
                if let Some(choice) = line.candidates.get(next) {
                    line.input = choice.clone();
                    line.cycling = Some(next);
                }
                return;
            }
        }
        KeyCode::Backspace => {
            line.input.pop();
        }
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            line.input.push(c);
        }
        _ => return,
    }
    line.cycling = None;
    let input = line.input.clone();
    let found = candidates(state, &input);
    if let Mode::Command(line) = &mut state.mode {
        line.candidates = found;
    }
}

/// Runs one command line.
pub(super) fn run(state: &mut State, input: &str, fx: &mut Vec<Effect>) {
    let (word, arg) = input
        .split_once(' ')
        .map_or((input, ""), |(w, a)| (w, a.trim()));
    if word.is_empty() {
        return;
    }
    if let Some(tab) = Tab::ALL.iter().copied().find(|t| t.command() == word) {
        return set_tab(state, tab);
    }
    match word {
        "all" if !arg.is_empty() => {
            run(state, "all", fx);
            run(state, arg, fx);
        }
        "ns" if !arg.is_empty() => namespace(state, arg),
        "rollout" => super::rollout::command(state, arg, fx),
        "orb" => match state.fleet.iter().position(|o| o.name == arg) {
            Some(i) => select_orb(state, i),
            None => state.say(
                Level::Warn,
                format!("No ORB named `{arg}`: :orb <tab> lists them."),
            ),
        },
        "drafts" => state.mode = Mode::Viewer(Viewer::Drafts { selected: 0 }),
        "drift" => super::drift::open(state, fx),
        "alerts" => {
            let mut lines = Vec::new();
            for orb in &state.fleet {
                for alert in orb.alerts() {
                    lines.push(format!("{}: {alert}", orb.name));
                }
            }
            if lines.is_empty() {
                lines.push(
                    "No alerts: every ORB is reachable, fetched and synced without errors.".into(),
                );
            }
            let n = state
                .fleet
                .iter()
                .filter(|o| !o.alerts().is_empty())
                .count();
            super::keys::open_viewer(
                state,
                Viewer::Message {
                    title: format!("Alerts: {n} of {} ORBs", state.fleet.len()),
                    lines,
                    scroll: 0,
                },
            );
        }
        "errors" => {
            let orb = state.target_orb();
            let Some(view) = state.fleet.get(orb) else {
                return;
            };
            let errors = view.sync.as_ref().map_or(&[][..], |s| &s.errors[..]);
            let mut lines: Vec<String> = errors.iter().map(|e| format!("• {e}")).collect();
            if lines.is_empty() {
                lines.push("The engine's last sync reported no errors.".into());
            }
            let title = format!("Sync errors of {} ({})", view.name, errors.len());
            super::keys::open_viewer(
                state,
                Viewer::Message {
                    title,
                    lines,
                    scroll: 0,
                },
            );
        }
        "msg" => {
            let text = state
                .last_message
                .clone()
                .unwrap_or_else(|| "No message yet.".into());
            super::keys::open_viewer(
                state,
                Viewer::Message {
                    title: "Last message".into(),
                    lines: vec![text],
                    scroll: 0,
                },
            );
        }
        "suspend" | "resume" => {
            let orb = state.target_orb();
            if !state.is_writable(orb) {
                return state.refuse_read_only(orb, "suspend or resume its engine");
            }
            if let Some(name) = state.fleet.get(orb).map(|o| o.name.clone()) {
                let suspend = word == "suspend";
                state.say(
                    Level::Info,
                    format!("Committing engine.suspend: {suspend} to {name}'s orb.yaml…"),
                );
                fx.push(Effect::Suspend { orb: name, suspend });
            }
        }
        "plan" => super::drift::plan(state, fx),
        "history" => {
            let orb = state.target_orb();
            if let Some(name) = state.fleet.get(orb).map(|o| o.name.clone()) {
                let path = (!arg.is_empty()).then(|| arg.to_string());
                super::history::open_log(state, name, path, fx);
            }
        }
        "all" => {
            state.scope = Scope::Fleet;
            for view in &mut state.views {
                view.selected = 0;
                view.offset = 0;
            }
            state.reindex();
        }
        "theme" => match Theme::named(arg, state.no_color) {
            Some(theme) => {
                if state.no_color {
                    state.say(Level::Info, "NO_COLOR is set: colours stay off.");
                }
                if let Some(editor) = &mut state.editor {
                    editor.apply_theme(&theme);
                }
                state.theme = theme;
            }
            None => state.say(
                Level::Warn,
                format!("No theme `{arg}`: use :theme dark or :theme light."),
            ),
        },
        "help" => state.mode = Mode::Help { scroll: 0 },
        "q" | "quit" if state.has_drafts() => state.mode = Mode::Confirm(Confirm::Quit),
        "q" | "quit" => fx.push(Effect::Quit),
        _ => {
            // A unique prefix of a command name runs that command (`:prof` → `:profiles`);
            // any other word is a kind the clusters may serve (`:pods`, `:configmaps`).
            let matches = candidates(state, word);
            match matches.as_slice() {
                [only] if only.trim_end() != word => {
                    let full = format!("{} {arg}", only.trim_end());
                    run(state, full.trim(), fx);
                }
                [] | [_] if is_kind_word(word) => live(state, word),
                _ => state.say(Level::Warn, format!("Unknown command `:{word}`: press : then tab to list commands, or ? for help.")),
            }
        }
    }
}

/// Whether `word` may name a kind (`pods`, `deploy`, `ConfigMap`, `configmaps.v1`).
fn is_kind_word(word: &str) -> bool {
    (2..=63).contains(&word.len())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// Shows kind `asked` in the Live tab (watched in the ORBs shown, while shown).
fn live(state: &mut State, asked: &str) {
    if state.live_kind != asked {
        state.live_kind = asked.to_owned();
        for orb in &mut state.fleet {
            orb.live = crate::ui::data::LiveTable {
                asked: asked.to_owned(),
                loading: true,
                ..Default::default()
            };
        }
        state.views[Tab::Live.index()] = Default::default();
    }
    set_tab(state, Tab::Live);
}

/// `:ns NAME`: the namespace filter of the selected ORB (of every ORB fleet-wide); `:ns all`
/// clears it.
fn namespace(state: &mut State, name: &str) {
    let orbs: Vec<String> = match state.scope {
        Scope::Fleet => state.fleet.iter().map(|o| o.name.clone()).collect(),
        Scope::Orb => state.orb().map(|o| o.name.clone()).into_iter().collect(),
    };
    let place = match state.scope {
        Scope::Fleet => "every ORB".to_owned(),
        Scope::Orb => orbs.join(""),
    };
    if ALL_NAMESPACES.contains(&name) {
        for orb in &orbs {
            state.namespaces.remove(orb);
        }
        state.say(Level::Info, format!("All namespaces in {place}."));
    } else {
        for orb in orbs {
            state.namespaces.insert(orb, name.to_owned());
        }
        state.say(
            Level::Info,
            format!("Namespace {name} in {place} (:ns all shows every namespace)."),
        );
    }
    state.view_mut().selected = 0;
    state.reindex();
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn common_prefix_of_candidates() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&v(&["orb beta", "orb beta-2"])), "orb beta");
        assert_eq!(common_prefix(&v(&["profiles", "quotas"])), "");
        assert_eq!(common_prefix(&v(&["upgrades"])), "upgrades");
    }
}
