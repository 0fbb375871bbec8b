//! The `:` command line: editing, tab completion (command names, ORB names, themes) and
//! running `:profiles`, `:orb NAME`, `:all`, `:history [PATH]`, `:theme dark`, `:q` and the rest.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::{select_orb, set_tab};
use crate::ui::action::Effect;
use crate::ui::state::{CommandLine, Confirm, Level, Mode, Scope, State, Viewer};
use crate::ui::tab::Tab;
use crate::ui::theme::Theme;

/// Commands besides the tab names; those taking an argument end with a space.
const COMMANDS: &[&str] = &[
    "orb ", "all", "drafts", "history", "theme ", "help", "quit", "q",
];
const THEMES: &[&str] = &["dark", "light"];

/// An empty command line with every command as a candidate.
pub(super) fn fresh(state: &State) -> CommandLine {
    CommandLine {
        input: String::new(),
        candidates: candidates(state, ""),
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
        KeyCode::Tab => {
            let prefix = common_prefix(&line.candidates);
            if prefix.len() > line.input.len() {
                line.input = prefix;
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
        "orb" => match state.fleet.iter().position(|o| o.name == arg) {
            Some(i) => select_orb(state, i),
            None => state.say(
                Level::Warn,
                format!("No ORB named `{arg}`: :orb <tab> lists them."),
            ),
        },
        "drafts" => state.mode = Mode::Viewer(Viewer::Drafts { selected: 0 }),
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
            // A unique prefix of a command name runs that command (`:prof` → `:profiles`).
            let matches = candidates(state, word);
            match matches.as_slice() {
                [only] if only.trim_end() != word => {
                    let full = format!("{} {arg}", only.trim_end());
                    run(state, full.trim(), fx);
                }
                _ => state.say(Level::Warn, format!("Unknown command `:{word}`: press : then tab to list commands, or ? for help.")),
            }
        }
    }
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
