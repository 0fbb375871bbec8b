//! Overlays drawn over the panes: help (generated from the keymap), command-line completion,
//! confirmations, live YAML, the diff view, a profile's children, and the template picker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::cell::{FOCUS_MARK, count, fit, line, wrapped};
use super::editor::{popup, yaml_line};
use super::table::{self, Window};
use crate::ui::action::UpgradeOp;
use crate::ui::keymap::{Command, Context};
use crate::ui::kinds::{At, children, drafts as draft_list, drift, history};
use crate::ui::layout::{centered, overlay_width};
use crate::ui::state::{CommandLine, Confirm, Mode, Prompt, State, Viewer};
use crate::ui::tab::Tab;
use crate::ui::templates::TEMPLATES;

/// Draws the overlay of the current mode, if it has one.
pub(crate) fn render(state: &State, frame: &mut Frame) {
    match &state.mode {
        Mode::Help { scroll } => help(state, frame, *scroll),
        Mode::Command(line) => completions(state, frame, line),
        Mode::Confirm(what) => confirm(state, frame, what),
        Mode::Viewer(v) => viewer(state, frame, v),
        Mode::NewFile { selected } => picker(state, frame, *selected),
        Mode::Prompt {
            prompt: Prompt::NewName { template, orb },
            input,
        } => name_prompt(state, frame, *template, *orb, input),
        Mode::Normal | Mode::Filter | Mode::Editor | Mode::Logs | Mode::Prompt { .. } => {}
    }
}

const KEY_W: usize = 18;

/// Every help line: each context's bindings from the keymap, then fixed keys and commands.
fn help_lines(state: &State) -> Vec<Line<'static>> {
    let t = &state.theme;
    let writable = state.is_writable(state.target_orb());
    let mut lines = Vec::new();
    let entry = |keys: &str, text: &str, name: &str| {
        Line::from(vec![
            Span::styled(format!("  {keys:<KEY_W$}"), t.key),
            Span::raw(text.to_string()),
            Span::styled(
                if name.is_empty() {
                    String::new()
                } else {
                    format!("  [{name}]")
                },
                t.dim,
            ),
        ])
    };
    for ctx in [
        Context::Main,
        Context::Editor,
        Context::Errors,
        Context::Plan,
        Context::List,
        Context::Logs,
        Context::Diff,
    ] {
        lines.push(Line::styled(ctx.title(), t.title));
        for (keys, name, text) in state.keymap.bindings(ctx, writable) {
            lines.push(entry(&keys, text, name));
        }
        lines.push(Line::default());
    }
    lines.push(Line::styled(
        "Text inputs (: command, / filter, search, commit message)",
        t.title,
    ));
    lines.push(entry("enter", "run / keep / next match / commit", ""));
    lines.push(entry("esc", "cancel (the filter: clear it)", ""));
    lines.push(entry("tab", "complete a command or ORB name", ""));
    lines.push(entry("backspace", "delete a character", ""));
    lines.push(Line::default());
    lines.push(Line::styled("Dialogs and pickers", t.title));
    lines.push(entry("y/enter", "yes / create", ""));
    lines.push(entry("n/esc", "no / cancel", ""));
    lines.push(Line::default());
    lines.push(Line::styled("Commands", t.title));
    for tab in Tab::ALL {
        lines.push(entry(
            &format!(":{}", tab.command()),
            &format!("{} tab", tab.title()),
            "",
        ));
    }
    lines.push(entry(":orb NAME", "show one ORB (tab completes names)", ""));
    lines.push(entry(":all", "fleet-wide tables with an ORB column", ""));
    lines.push(entry(
        ":all pods",
        "fleet-wide, then a view (:all deploy, :all events)",
        "",
    ));
    lines.push(entry(
        ":pods :deploy :svc",
        "live objects of a kind (Live tab, watched while shown)",
        "",
    ));
    lines.push(entry(
        ":KIND",
        "any kind the cluster serves (:configmaps, :rs, :crd)",
        "",
    ));
    lines.push(entry(
        ":ns",
        "namespaces (enter: filter to one, show its pods)",
        "",
    ));
    lines.push(entry(
        ":ns NAME",
        "namespace filter of this ORB (:ns all clears)",
        "",
    ));
    lines.push(entry(
        ":drafts",
        "every draft: open, diff, discard, commit all",
        "",
    ));
    lines.push(entry(
        ":drift",
        "objects whose live state differs from desired (d: diff)",
        "",
    ));
    lines.push(entry(":plan", "the whole plan, as `orbdeck plan`", ""));
    lines.push(entry(
        ":history [PATH]",
        "commit log (enter diff, b blame, R revert)",
        "",
    ));
    lines.push(entry(
        ":suspend / :resume",
        "engine.suspend in orb.yaml (a commit)",
        "",
    ));
    lines.push(entry(
        ":rollouts / 0",
        "the Rollouts tab: this machine's rollouts, one row per ORB",
        "",
    ));
    lines.push(entry(
        ":rollout [FLAGS]",
        "plan the selected draft for the ORBs marked with space (c starts it)",
        "",
    ));
    lines.push(entry(
        ":rollout start|resume|skip|abort|revert|status [ID]",
        "a move on the selected (or newest) rollout",
        "",
    ));
    lines.push(entry(":alerts", "what the header's alerts count", ""));
    lines.push(entry(":errors", "the engine's sync errors, whole", ""));
    lines.push(entry(
        ":msg",
        "the last message, whole (a cut one ends in (:msg))",
        "",
    ));
    lines.push(entry(
        ":theme dark|light",
        "switch colours (NO_COLOR keeps them off)",
        "",
    ));
    lines.push(entry(":help", "this help", ""));
    lines.push(entry(":q / :quit", "quit", ""));
    lines.push(Line::default());
    lines.push(Line::styled("Notes", t.title));
    if let Some(orb) = state
        .fleet
        .get(state.target_orb())
        .filter(|o| o.repo.is_none())
    {
        lines.push(Line::styled(
            format!(
                "  {} is live only (no repo paired): the write keys are hidden. Pair one: {}",
                orb.name,
                orb.pair_hint()
            ),
            t.warn,
        ));
    } else if !writable {
        lines.push(Line::styled(
            "  This ORB is read-only: its write keys are hidden. Start with --write, or set `write: true` for it in the fleet file.",
            t.warn,
        ));
    }

    lines.push(Line::raw(format!(
        "  Sorting: {} moves to the next column, {} reverses; the header shows ↑/↓.",
        state.keymap.keys_of(Command::SortNext),
        state.keymap.keys_of(Command::SortReverse)
    )));
    lines.push(Line::raw(format!(
        "  Focus: {} marks the pane that gets the keys; {} switches. Below 80 columns only the focused pane shows.",
        FOCUS_MARK.trim(),
        state.keymap.keys_of(Command::SwitchPane)
    )));
    lines.push(Line::raw(
        "  Usage columns sort by the used amount; Events sort youngest first.",
    ));
    lines.push(Line::raw(format!(
        "  Diff: live is cut to the fields desired sets (what the engine's apply owns); {} shows the whole object.",
        state.keymap.keys_of(Command::DiffFull)
    )));
    lines.push(Line::raw(
        "  Rollouts (orbdeck rollout): maxConcurrent and maxUnavailable are counts or percentages of a wave, by Argo CD's rule: 0% is 0, any other percentage rounds down with a floor of 1 (25% of 3 ORBs is 1).",
    ));
    lines.push(Line::raw(
        "  Key names above go in the config file's key bindings, e.g. save = \"ctrl-s\".",
    ));
    lines
}

fn help(state: &State, frame: &mut Frame, scroll: usize) {
    let t = &state.theme;
    let screen = frame.area();
    let lines = help_lines(state);
    let area = centered(
        screen,
        overlay_width(screen.width).min(170),
        screen.height.saturating_sub(2),
    );
    let hint = format!(
        " {}/{} scroll · {} or ? close ",
        state.keymap.keys_of(Command::Down),
        state.keymap.keys_of(Command::Up),
        state.keymap.keys_of(Command::Back)
    );
    let inner = popup(frame, area, t, "Help: every key", &hint);
    let h = usize::from(inner.height).max(1);
    // Two columns on wide screens, split at the section break nearest the middle.
    let split = if inner.width >= 150 {
        let mid = lines.len() / 2;
        (0..lines.len())
            .filter(|&i| lines[i].spans.is_empty())
            .min_by_key(|&i| i.abs_diff(mid))
            .map_or(mid, |i| i + 1)
    } else {
        lines.len()
    };
    let parts = [&lines[..split], &lines[split..]];
    let columns = if split < lines.len() { 2 } else { 1 };
    let longest = parts.iter().map(|p| p.len()).max().unwrap_or(0);
    let scroll = scroll.min(longest.saturating_sub(h));
    let col_w = inner.width / columns as u16;
    for (c, part) in parts.iter().take(columns).enumerate() {
        let part: Vec<Line> = part.iter().skip(scroll).take(h).cloned().collect();
        let rect = Rect::new(
            inner.x + col_w * c as u16,
            inner.y,
            col_w.saturating_sub(1),
            inner.height,
        );
        frame.render_widget(Paragraph::new(part), rect);
    }
}

fn completions(state: &State, frame: &mut Frame, cmd: &CommandLine) {
    let t = &state.theme;
    let screen = frame.area();
    let shown = cmd.candidates.len().min(8) as u16;
    let h = shown.max(1) + 2;
    let w = screen.width.min(48);
    let area = Rect::new(screen.x, screen.bottom().saturating_sub(h + 1), w, h);
    let more = cmd.candidates.len().saturating_sub(8);
    let hint = if more > 0 {
        format!(" tab completes · {more} more ")
    } else {
        " tab completes ".to_string()
    };
    let inner = popup(frame, area, t, "Commands", &hint);
    let iw = usize::from(inner.width);
    let lines: Vec<Line> = if cmd.candidates.is_empty() {
        vec![line("no completion: ? lists the commands", iw, t.dim)]
    } else {
        cmd.candidates
            .iter()
            .take(8)
            .enumerate()
            .map(|(i, c)| {
                let style = if i == 0 { t.key } else { t.text };
                line(&format!(":{c}"), iw, style)
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

fn confirm(state: &State, frame: &mut Frame, what: &Confirm) {
    let t = &state.theme;
    let screen = frame.area();
    let area = centered(screen, screen.width.saturating_sub(4).min(64), 9);
    let (title, text) = match what {
        Confirm::Quit => {
            let with: Vec<String> = state
                .fleet
                .iter()
                .filter(|o| !o.drafts.is_empty())
                .map(|o| format!("{} ({})", o.name, o.drafts.len()))
                .collect();
            let fate = match &state.drafts_home {
                Some(home) => format!("They stay saved in {home} and reopen next time."),
                None => "This demo's directory is deleted on quit, and the drafts with it (`orbdeck demo --keep DIR` keeps them).".to_string(),
            };
            (
                "Quit with unpushed drafts?",
                format!(
                    "Drafts not pushed yet: {}. {fate}",
                    if with.is_empty() {
                        "the open file".to_string()
                    } else {
                        with.join(", ")
                    }
                ),
            )
        }
        Confirm::Upgrade { orb, name, op } => match op {
            UpgradeOp::Abort => (
                "Abort upgrade?",
                format!(
                    "Abort ClusterUpgrade {name} on {orb}? A commit sets spec.abort: true. Nodes already upgraded stay as they are; the rest keep their version."
                ),
            ),
            UpgradeOp::Pause => (
                "Pause upgrade?",
                format!(
                    "Pause ClusterUpgrade {name} on {orb}? A commit sets spec.paused: true; the node being upgraded finishes."
                ),
            ),
            UpgradeOp::Resume => (
                "Resume upgrade?",
                format!("Resume ClusterUpgrade {name} on {orb}? A commit sets spec.paused: false."),
            ),
        },
        Confirm::Delete(target) => (
            "Delete from desired state?",
            format!(
                "Delete {} from {}? A commit takes it out of desired/; the engine then prunes it{}. Next: type its name.",
                target.describe(),
                target.orb,
                if target.object.as_ref().is_some_and(|(k, _)| k == "Profile") {
                    " with its namespace and all in it"
                } else {
                    ""
                }
            ),
        ),
        Confirm::Rollout { id, wanted } => match wanted {
            crate::rollout::run::Move::Revert => (
                "Revert rollout?",
                format!(
                    "Revert rollout {id}? A revert commit goes to every ORB it pushed to, last wave first, through the normal write path."
                ),
            ),
            _ => (
                "Abort rollout?",
                format!(
                    "Abort rollout {id}? Nothing more is pushed; what was pushed stays (revert undoes it)."
                ),
            ),
        },
        Confirm::DiscardDraft { orb, path } => (
            "Discard draft?",
            format!(
                "Throw away the unpushed draft of {path} in {orb}? The repo is not touched; the edit is gone."
            ),
        ),
    };
    let inner = popup(frame, area, t, title, " y/enter yes · n/esc no ");
    let w = usize::from(inner.width);
    let text = fit(&text, w * 4);
    frame.render_widget(
        Paragraph::new(vec![Line::default(), Line::raw(text)])
            .wrap(ratatui::widgets::Wrap { trim: true }),
        inner,
    );
}

fn viewer(state: &State, frame: &mut Frame, v: &Viewer) {
    let t = &state.theme;
    let screen = frame.area();
    let area = centered(
        screen,
        overlay_width(screen.width),
        screen.height.saturating_sub(2),
    );
    let km = &state.keymap;
    let nav = format!(
        " {}/{} scroll · {} close ",
        km.keys_of(Command::Down),
        km.keys_of(Command::Up),
        km.keys_of(Command::Back)
    );
    match v {
        Viewer::Yaml {
            title,
            lines,
            scroll,
        } => {
            let inner = popup(frame, area, t, &format!("Live YAML: {title}"), &nav);
            let body = scrolled(lines.as_deref(), *scroll, inner, t, |l, w| {
                yaml_line(l, w, t)
            });
            frame.render_widget(Paragraph::new(body), inner);
        }
        Viewer::Diff(view) => super::diff::render(state, frame, area, view),
        Viewer::Text {
            title,
            lines,
            scroll,
            ..
        } => {
            let inner = popup(frame, area, t, title, &nav);
            let body = scrolled(lines.as_deref(), *scroll, inner, t, |l, w| {
                line(l, w, super::editor::plan_style(t, l))
            });
            frame.render_widget(Paragraph::new(body), inner);
        }
        Viewer::Message {
            title,
            lines,
            scroll,
        } => {
            let inner = popup(frame, area, t, title, &nav);
            let w = usize::from(inner.width);
            let height = usize::from(inner.height);
            let body: Vec<Line> = lines
                .iter()
                .skip(*scroll)
                .flat_map(|l| wrapped(l, w, height))
                .take(height)
                .map(|l| Line::from(Span::styled(l, t.text)))
                .collect();
            frame.render_widget(Paragraph::new(body), inner);
        }
        Viewer::Drafts { selected } => drafts(state, frame, area, *selected),
        Viewer::Drift {
            orb,
            rows,
            notes,
            selected,
        } => {
            let hint = format!(
                " {}/{} diff · {} close ",
                km.keys_of(Command::ThreeWay),
                km.keys_of(Command::Open),
                km.keys_of(Command::Back)
            );
            let title = match rows {
                Some(rows) => format!("Out of sync: {orb} ({})", count(rows.len(), "object")),
                None => format!("Out of sync: {orb}"),
            };
            let inner = popup(frame, area, t, &title, &hint);
            let w = usize::from(inner.width);
            let Some(rows) = rows else {
                let text = "Planning against the cluster (server-side dry run)…";
                frame.render_widget(line(text, w, t.warn), inner);
                return;
            };
            // The notes (what the plan was made against) under the table.
            let note_rows = u16::try_from(notes.len())
                .unwrap_or(u16::MAX)
                .min(inner.height / 3);
            let table_area = Rect::new(inner.x, inner.y, inner.width, inner.height - note_rows);
            let notes_area =
                Rect::new(inner.x, inner.y + table_area.height, inner.width, note_rows);
            let body: Vec<Line> = notes.iter().map(|n| line(n, w, t.dim)).collect();
            frame.render_widget(Paragraph::new(body), notes_area);
            if rows.is_empty() {
                let text = "Every object is in sync: live matches desired.";
                frame.render_widget(line(text, w, t.ok), table_area);
                return;
            }
            let window = Window {
                columns: drift::COLUMNS,
                sort: None,
                total: rows.len(),
                selected: Some(*selected),
                offset: selected.saturating_sub(usize::from(table_area.height).saturating_sub(2)),
                focused: true,
            };
            table::draw(frame, table_area, t, &window, |pos, col, w| {
                drift::cell(t, &rows[pos], col, w)
            });
        }
        Viewer::History {
            orb,
            path,
            rows,
            selected,
        } => {
            let mut hint = format!(
                " {} diff · {} revert · ",
                km.keys_of(Command::Open),
                km.keys_of(Command::Revert)
            );
            if path.is_some() {
                hint.push_str(&format!("{} blame · ", km.keys_of(Command::Blame)));
            }
            hint.push_str(&format!("{} close ", km.keys_of(Command::Back)));
            let title = match path {
                Some(path) => format!("History of {path} @ {orb}"),
                None => format!("History of {orb}"),
            };
            let inner = popup(frame, area, t, &title, &hint);
            let w = usize::from(inner.width);
            match rows {
                None => frame.render_widget(line("Fetching…", w, t.warn), inner),
                Some(rows) if rows.is_empty() => {
                    frame.render_widget(line("No commits yet.", w, t.dim), inner)
                }
                Some(rows) => {
                    let window = Window {
                        columns: history::COLUMNS,
                        sort: None,
                        total: rows.len(),
                        selected: Some(*selected),
                        // The selection stays on screen (a header row above the entries).
                        offset: selected
                            .saturating_sub(usize::from(inner.height).saturating_sub(2)),
                        focused: true,
                    };
                    let now = state.clock.unix;
                    table::draw(frame, inner, t, &window, |pos, col, w| {
                        history::cell(t, &rows[pos], col, w, now)
                    });
                }
            }
        }
        Viewer::Children {
            orb,
            profile,
            rows,
            selected,
        } => {
            let hint = format!(
                " {} live YAML · {}/{} move · {} close ",
                km.keys_of(Command::Open),
                km.keys_of(Command::Down),
                km.keys_of(Command::Up),
                km.keys_of(Command::Back)
            );
            let area = centered(
                screen,
                screen.width.saturating_sub(8).min(110),
                screen.height.saturating_sub(4),
            );
            let inner = popup(
                frame,
                area,
                t,
                &format!("Objects of Profile {profile} @ {orb}"),
                &hint,
            );
            let w = usize::from(inner.width);
            match rows {
                None => frame.render_widget(line("Loading…", w, t.warn), inner),
                Some(rows) if rows.is_empty() => frame.render_widget(line("The profile owns no objects yet: the engine creates them on its next sync.", w, t.dim), inner),
                Some(rows) => {
                    let window = Window { columns: children::COLUMNS, sort: None, total: rows.len(), selected: Some(*selected), offset: 0, focused: true };
                    table::draw(frame, inner, t, &window, |pos, col, w| children::cell(t, &rows[pos], col, w));
                }
            }
        }
    }
}

/// The lines of a scrolled text that fit `inner`, each drawn by `draw`; "Loading…" until it came.
fn scrolled(
    lines: Option<&[String]>,
    scroll: usize,
    inner: Rect,
    t: &crate::ui::Theme,
    draw: impl Fn(&str, usize) -> Line<'static>,
) -> Vec<Line<'static>> {
    let w = usize::from(inner.width);
    match lines {
        None => vec![line("Loading…", w, t.warn)],
        Some(lines) => lines
            .iter()
            .skip(scroll)
            .take(usize::from(inner.height))
            .map(|l| draw(l, w))
            .collect(),
    }
}

/// The Drafts view: every draft of the fleet.
fn drafts(state: &State, frame: &mut Frame, area: Rect, selected: usize) {
    let t = &state.theme;
    let km = &state.keymap;
    let hint = format!(
        " {} open · {} diff · {} discard · {} commit all of the ORB · {} close ",
        km.keys_of(Command::Open),
        km.keys_of(Command::DraftDiff),
        km.keys_of(Command::DiscardDraft),
        km.keys_of(Command::CommitAll),
        km.keys_of(Command::Back)
    );
    let all = state.all_drafts();
    let inner = popup(
        frame,
        area,
        t,
        &format!("Drafts of this machine ({})", all.len()),
        &hint,
    );
    let w = usize::from(inner.width);
    if all.is_empty() {
        frame.render_widget(line("No unpushed drafts.", w, t.dim), inner);
        return;
    }
    let window = Window {
        columns: draft_list::COLUMNS,
        sort: None,
        total: all.len(),
        selected: Some(selected),
        offset: 0,
        focused: true,
    };
    table::draw(frame, inner, t, &window, |pos, col, w| {
        let (o, d) = all[pos];
        let orb = &state.fleet[o];
        let at = At { state, orb, pos, w };
        draft_list::cell(&at, &orb.drafts[d], col)
    });
}

/// The name prompt of a new object.
fn name_prompt(state: &State, frame: &mut Frame, template: usize, orb: usize, input: &str) {
    let t = &state.theme;
    let screen = frame.area();
    let area = centered(screen, screen.width.saturating_sub(4).min(64), 7);
    let tpl = &TEMPLATES[template];
    let orb = state.fleet.get(orb).map_or("", |o| o.name.as_str());
    let inner = popup(
        frame,
        area,
        t,
        &format!("New {} in {orb}", tpl.kind),
        " enter create · esc cancel ",
    );
    let w = usize::from(inner.width);
    let name = if input.is_empty() { "NAME" } else { input };
    let lines = vec![
        line("Name (lowercase letters, digits and -):", w, t.dim),
        Line::from(vec![
            Span::styled("> ", t.key),
            Span::raw(fit(input, w.saturating_sub(3))),
            Span::styled("▏", t.key),
        ]),
        line(&format!("file: {}/{name}.yaml", tpl.folder), w, t.dim),
    ];
    frame.render_widget(Clear, inner);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn picker(state: &State, frame: &mut Frame, selected: usize) {
    let t = &state.theme;
    let screen = frame.area();
    let area = centered(
        screen,
        screen.width.saturating_sub(4).min(60),
        TEMPLATES.len() as u16 + 4,
    );
    let orb = state
        .fleet
        .get(state.target_orb())
        .map_or("", |o| o.name.as_str());
    let inner = popup(
        frame,
        area,
        t,
        &format!("New desired file in {orb}"),
        " enter create · esc cancel ",
    );
    let w = usize::from(inner.width);
    let lines: Vec<Line> = TEMPLATES
        .iter()
        .enumerate()
        .map(|(i, tpl)| {
            let style = if i == selected { t.selected } else { t.text };
            line(&format!("{:<24} {}/", tpl.kind, tpl.folder), w, style)
        })
        .collect();
    frame.render_widget(Clear, inner);
    frame.render_widget(Paragraph::new(lines), inner);
}
