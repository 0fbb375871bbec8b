//! `render`: draws the whole screen from `&State`, with no I/O and no state changes. Header,
//! ORB list, main pane, footer, then the overlay of the current mode.

pub(super) mod cell;
mod diff;
mod editor;
mod logs;
pub(super) mod orbs;
mod overlays;
mod overview;
mod table;
mod tables;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::editor::EditorPane;
use crate::ui::keymap::Command;
use crate::ui::layout::{MIN_SIZE, areas};
use crate::ui::state::{Focus, Level, Mode, PlanCommit, Prompt, Scope, State, Viewer};
use crate::ui::tab::Tab;
use cell::{fit, line};

/// Draws `state` into `frame`. Pure: the same state always draws the same screen.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!("orbdeck needs at least {}x{}", MIN_SIZE.0, MIN_SIZE.1);
        frame.render_widget(line(&text, usize::from(area.width), state.theme.warn), area);
        return;
    }
    let a = areas(area, state.pane_focus());
    frame.render_widget(header(state, a.header.width), a.header);
    // Below the single-pane width only the focused pane has room.
    if a.orbs.width > 0 {
        orbs::render(state, frame, a.orbs);
    }
    if a.main.width > 0 {
        tables::render(state, frame, a.main);
    }
    frame.render_widget(footer(state, a.footer), a.footer);
    overlays::render(state, frame);
    if state.mode == Mode::Logs {
        logs::render(state, frame);
    }
}

fn header(state: &State, width: u16) -> Paragraph<'static> {
    let t = &state.theme;
    let fleet = &state.fleet;
    let reachable = fleet.iter().filter(|o| o.health.is_reachable()).count();
    let drifted = fleet
        .iter()
        .filter(|o| o.drift.is_some_and(|d| d > 0))
        .count();
    let alerts = fleet.iter().filter(|o| !o.alerts().is_empty()).count();
    let drafts: usize = fleet.iter().map(|o| o.drafts.len()).sum();
    let mut spans = vec![
        Span::styled(" orbdeck ", t.header),
        Span::raw(format!(
            " ORBs {} · reachable {reachable} · drifted {drifted} · ",
            fleet.len()
        )),
        Span::styled(
            format!("alerts {alerts}"),
            if alerts > 0 { t.error } else { t.ok },
        ),
    ];
    if drafts > 0 {
        spans.push(Span::styled(
            format!(" · ✎ {}", cell::count(drafts, "draft")),
            t.draft,
        ));
    }
    let scope = match (state.scope, state.orb()) {
        (Scope::Fleet, _) => "all ORBs".to_string(),
        (Scope::Orb, Some(o)) => {
            let access = if state.is_writable(state.selected_orb) {
                "rw"
            } else {
                "ro"
            };
            format!("{} ({access})", fit(&o.name, 30))
        }
        (Scope::Orb, None) => String::new(),
    };
    let right = format!(" {scope} · {} help ", state.keymap.keys_of(Command::Help));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = usize::from(width).saturating_sub(used + right.chars().count());
    if pad > 0 {
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(right, t.accent));
    }
    Paragraph::new(Line::from(spans))
}

/// (keys, label) hints for the footer in the current mode.
fn hints(state: &State) -> Vec<(String, &'static str)> {
    let km = &state.keymap;
    let orb = state
        .editor
        .as_ref()
        .map_or_else(|| state.target_orb(), |e| e.orb);
    let writable = state.is_writable(orb);
    // Write keys are left out on a read-only ORB (they would only be refused).
    let k = |c: Command, label: &'static str| {
        if c.is_write() && !writable {
            (String::new(), label)
        } else {
            (km.keys_of(c), label)
        }
    };
    let mut v = mode_hints(state, &k);
    v.retain(|(keys, _)| !keys.is_empty());
    v
}

/// The hints of the current mode (`k` gives a command's keys, empty for a hidden one).
fn mode_hints(
    state: &State,
    k: &dyn Fn(Command, &'static str) -> (String, &'static str),
) -> Vec<(String, &'static str)> {
    let text_input =
        |action: &'static str| vec![("enter".to_string(), action), ("esc".to_string(), "cancel")];
    match &state.mode {
        Mode::Editor => match state.editor.as_ref().map(|e| &e.pane) {
            Some(EditorPane::Search(_)) => text_input("next match"),
            Some(EditorPane::Errors { .. }) => vec![
                k(Command::NextError, "next error"),
                k(Command::PrevError, "previous"),
                k(Command::Back, "back to text"),
            ],
            Some(EditorPane::CommitMessage) => text_input("commit & push"),
            Some(EditorPane::Conflicts { .. }) => vec![
                ("t".to_string(), "take theirs"),
                ("m".to_string(), "keep mine"),
                ("T/M".to_string(), "all"),
                ("enter".to_string(), "merge"),
                ("e/esc".to_string(), "edit the file"),
            ],
            Some(EditorPane::Editing) if state.editor.as_ref().is_some_and(|e| e.read_only) => {
                vec![
                    k(Command::Save, "plan"),
                    k(Command::Search, "search"),
                    k(Command::SearchNext, "next match"),
                    k(Command::Back, "files"),
                ]
            }
            Some(EditorPane::Editing) if state.editor_upstream().is_some() => {
                vec![
                    k(Command::MergeUpstream, "merge upstream"),
                    k(Command::TheirChange, "their change"),
                    k(Command::Save, "validate+plan"),
                    k(Command::Back, "files (draft kept)"),
                ]
            }
            Some(EditorPane::Plan { .. }) => vec![
                k(Command::Commit, "commit"),
                k(Command::Down, "down"),
                k(Command::Up, "up"),
                k(Command::Back, "back to text"),
            ],
            Some(EditorPane::Pushing(_)) => vec![("…".to_string(), "pushing, wait for the result")],
            Some(EditorPane::PushResult(_)) => vec![("enter/esc".to_string(), "close")],
            _ => vec![
                k(Command::Save, "validate+plan"),
                k(Command::Search, "search"),
                k(Command::SearchNext, "next match"),
                k(Command::Undo, "undo"),
                k(Command::Redo, "redo"),
                k(Command::Back, "files (draft kept)"),
            ],
        },
        Mode::Command(_) => vec![
            ("tab".to_string(), "complete"),
            ("enter".to_string(), "run"),
            ("esc".to_string(), "cancel"),
        ],
        Mode::Viewer(Viewer::Drafts { .. }) => vec![
            k(Command::Open, "open"),
            k(Command::DraftDiff, "diff"),
            k(Command::DiscardDraft, "discard"),
            k(Command::CommitAll, "commit all of the ORB"),
            k(Command::Back, "close"),
        ],
        Mode::Viewer(Viewer::Text {
            then: Some(PlanCommit::Drafts(_)),
            ..
        }) => vec![
            (String::from("c"), "commit all"),
            k(Command::Down, "down"),
            k(Command::Back, "close"),
        ],
        Mode::Viewer(Viewer::Text {
            then: Some(PlanCommit::Revert { .. }),
            ..
        }) => vec![
            (String::from("c"), "commit the revert"),
            k(Command::Down, "down"),
            k(Command::Back, "back"),
        ],
        Mode::Viewer(Viewer::Drift { .. }) => vec![
            k(Command::ThreeWay, "diff"),
            k(Command::Down, "down"),
            k(Command::Back, "close"),
        ],
        Mode::Viewer(Viewer::History { path, .. }) => {
            let mut v = vec![k(Command::Open, "diff"), k(Command::Revert, "revert")];
            if path.is_some() {
                v.push(k(Command::Blame, "blame"));
            }
            v.push(k(Command::Back, "close"));
            v
        }
        Mode::Help { .. } | Mode::Viewer(_) => vec![
            k(Command::Down, "down"),
            k(Command::Up, "up"),
            k(Command::Back, "close"),
        ],
        Mode::Logs if state.logs.as_ref().is_some_and(|l| l.typing) => text_input("search"),
        Mode::Logs => vec![
            k(Command::LogFollow, "follow"),
            k(Command::LogSearch, "search"),
            k(Command::LogNext, "next"),
            k(Command::LogWrap, "wrap"),
            k(Command::LogTimestamps, "time"),
            k(Command::LogContainer, "container"),
            k(Command::LogPrevious, "previous"),
            k(Command::LogTail, "tail"),
            k(Command::Back, "close"),
        ],
        Mode::Prompt { .. } => text_input("ok"),
        Mode::Confirm(_) => vec![("y".to_string(), "yes"), ("n".to_string(), "no")],
        Mode::NewFile { .. } => vec![k(Command::Open, "create"), k(Command::Back, "cancel")],
        Mode::Normal | Mode::Filter => {
            let mut v = vec![
                k(Command::CommandLine, "cmd"),
                k(Command::Filter, "filter"),
                k(Command::Help, "help"),
            ];
            if state.pane_focus() == Focus::OrbList {
                v.push(k(Command::Open, "open"));
            } else {
                match state.tab {
                    Tab::Profiles => v.extend([
                        k(Command::Open, "children"),
                        k(Command::Edit, "edit"),
                        k(Command::LiveYaml, "yaml"),
                        k(Command::ThreeWay, "diff"),
                    ]),
                    Tab::Upgrades => v.extend([
                        k(Command::UpgradePause, "pause"),
                        k(Command::UpgradeResume, "resume"),
                        k(Command::UpgradeAbort, "abort"),
                        k(Command::LiveYaml, "yaml"),
                    ]),
                    Tab::Desired => v.extend([
                        k(Command::Open, "edit"),
                        k(Command::NewFile, "new"),
                        k(Command::ThreeWay, "diff"),
                    ]),
                    Tab::Replications => {
                        v.extend([k(Command::LiveYaml, "yaml"), k(Command::ThreeWay, "diff")])
                    }
                    Tab::Events => v.extend([
                        k(Command::Open, "whole event"),
                        k(Command::LiveYaml, "object yaml"),
                    ]),
                    Tab::Live => {
                        v.extend([k(Command::Logs, "logs"), k(Command::ThreeWay, "describe")])
                    }
                    Tab::Access => v.extend([
                        k(Command::LiveYaml, "binding yaml"),
                        k(Command::ThreeWay, "diff"),
                    ]),
                    Tab::Rollouts => {
                        v.extend([k(Command::Open, "status"), k(Command::Mark, "mark ORB")])
                    }
                    Tab::Overview | Tab::Quotas => {}
                }
            }
            v.extend([
                k(Command::SortNext, "sort"),
                k(Command::SortReverse, "reverse"),
                k(Command::SwitchPane, "pane"),
                k(Command::Quit, "quit"),
            ]);
            v
        }
    }
}

fn footer(state: &State, area: Rect) -> Paragraph<'static> {
    let t = &state.theme;
    let w = usize::from(area.width);
    let input = |prefix: &str, text: &str| {
        Line::from(vec![
            Span::styled(prefix.to_string(), t.key),
            Span::raw(fit(text, w.saturating_sub(prefix.len() + 2))),
            Span::styled("▏", t.key),
        ])
    };
    let line = match (&state.mode, state.editor.as_ref().map(|e| &e.pane)) {
        (Mode::Command(c), _) => input(":", &c.input),
        (Mode::Filter, _) => input("/", &state.view().filter),
        (Mode::Editor, Some(EditorPane::Search(s))) => input("search: ", s),
        (
            Mode::Prompt {
                prompt,
                input: text,
            },
            _,
        ) => input(
            &match prompt {
                Prompt::NewName { .. } => "name: ".to_string(),
                Prompt::CommitAll { .. } => "commit message: ".to_string(),
                Prompt::ConfirmDelete(t) => {
                    format!("type {} to delete it from {}: ", t.name(), t.orb)
                }
            },
            text,
        ),
        _ => match &state.message {
            Some(m) => {
                let style = match m.level {
                    Level::Info => t.accent,
                    Level::Warn => t.warn,
                    Level::Error => t.error,
                };
                // A message too long for the line says where to read it whole.
                if m.text.chars().count() > w {
                    let more = " (:msg)";
                    Line::from(vec![
                        cell::span(&m.text, w.saturating_sub(more.len()), style),
                        Span::styled(more, t.dim),
                    ])
                } else {
                    cell::line(&m.text, w, style)
                }
            }
            None => hint_line(state, w),
        },
    };
    Paragraph::new(line)
}

fn hint_line(state: &State, w: usize) -> Line<'static> {
    let t = &state.theme;
    let mut spans = Vec::new();
    let mut used = 0;
    for (keys, label) in hints(state) {
        let len = keys.chars().count() + label.len() + 3;
        if used + len > w {
            break;
        }
        spans.push(Span::styled(format!(" {keys}"), t.key));
        spans.push(Span::styled(format!(" {label} "), t.dim));
        used += len;
    }
    Line::from(spans)
}
