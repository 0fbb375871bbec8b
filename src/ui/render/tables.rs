//! The main pane: tab bar, title, and the current tab's table (its cells are its kind's, from
//! `ui/kinds/`), its empty, loading and unreachable states, and the node list under Upgrades.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::cell::{FOCUS_MARK, count, fit, line};
use super::table::{self, Window};
use crate::ui::data::Health;
use crate::ui::kinds::{At, Column, ORB_COLUMN, upgrades};
use crate::ui::layout::{MainAreas, main_areas};
use crate::ui::state::{Focus, Mode, Scope, State};
use crate::ui::tab::Tab;

/// Draws the main pane (border, tabs, body) in `area`.
pub(crate) fn render(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let focused = state.pane_focus() == Focus::Main;
    let block = Block::bordered()
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(title(
            state,
            focused,
            usize::from(area.width.saturating_sub(4)),
        ));
    frame.render_widget(block, area);
    let MainAreas {
        tabs,
        body,
        detail,
        note,
    } = main_areas(area, state.tab);
    frame.render_widget(tab_bar(state, tabs.width), tabs);
    if state.editor.is_some() {
        return super::editor::render(
            state,
            frame,
            Rect::new(
                body.x,
                body.y,
                body.width,
                body.height + detail.map_or(0, |d| d.height),
            ),
        );
    }
    if state.tab == Tab::Overview && state.scope == Scope::Orb {
        return super::overview::render(state, frame, body);
    }
    if let Some(note) = note {
        let w = usize::from(note.width);
        let text = match state.tab {
            Tab::Access => access_note(state, w),
            Tab::Rollouts => rollout_note(state, w),
            _ => live_note(state, w),
        };
        frame.render_widget(text, note);
    }
    if state.rows.is_empty() {
        let body = detail.map_or(body, |d| {
            Rect::new(body.x, body.y, body.width, body.height + d.height)
        });
        return empty(state, frame, body);
    }
    rows(state, frame, body, focused);
    if let Some(detail) = detail {
        nodes(state, frame, detail);
    }
}

fn title(state: &State, focused: bool, width: usize) -> Line<'static> {
    let theme = &state.theme;
    let view = state.view();
    let place = match (state.scope, state.orb()) {
        (Scope::Fleet, _) => "all ORBs".to_string(),
        (Scope::Orb, Some(orb)) => orb.name.clone(),
        (Scope::Orb, None) => "no ORB".to_string(),
    };
    let mark = if focused { FOCUS_MARK } else { "" };
    let mut spans = vec![
        Span::styled(format!(" {mark}{} ", shown_title(state)), theme.title),
        Span::styled(fit(&place, 24), theme.accent),
    ];
    if !state.rows.is_empty() || !state.sorted.is_empty() {
        let pos = if state.rows.is_empty() {
            0
        } else {
            view.selected + 1
        };
        spans.push(Span::styled(
            format!(" [{pos}/{}]", state.rows.len()),
            theme.dim,
        ));
        if state.rows.len() != state.sorted.len() {
            spans.push(Span::styled(
                format!(" of {}", state.sorted.len()),
                theme.dim,
            ));
        }
    }
    if !view.filter.is_empty() || state.mode == Mode::Filter {
        spans.push(Span::styled(
            format!(" /{}", fit(&view.filter, 20)),
            theme.warn,
        ));
    }
    // The Desired tab is read from git, which answers while the cluster does not.
    if state.scope == Scope::Orb
        && state.tab != Tab::Desired
        && !state.sorted.is_empty()
        && state.orb().is_some_and(|o| !o.health.is_reachable())
    {
        spans.push(Span::styled(" stale: not connected", theme.warn));
    }
    spans.push(Span::raw(" "));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if used > width {
        spans.truncate(2);
    }
    Line::from(spans)
}

/// Picks a tab's title (full or short).
type TitleOf = fn(Tab) -> &'static str;

fn tab_bar(state: &State, width: u16) -> Line<'static> {
    let theme = &state.theme;
    // Full titles with gaps, else short titles, else short titles packed, else numbers with
    // only the shown tab's short title.
    let styles: [(TitleOf, &str, &str); 3] = [
        (Tab::title, " ", " "),
        (Tab::short_title, " ", " "),
        (Tab::short_title, "", ""),
    ];
    let chosen = styles.into_iter().find(|(name, pad, gap)| {
        let w: usize = Tab::ALL
            .iter()
            .map(|t| name(*t).len() + 3 + pad.len() + gap.len())
            .sum();
        w <= usize::from(width)
    });
    let spans = Tab::ALL.iter().enumerate().flat_map(|(i, t)| {
        let style = if *t == state.tab {
            theme.tab_active
        } else {
            theme.dim
        };
        let text = match chosen {
            Some((name, pad, _)) => format!(" {} {}{pad}", (i + 1) % 10, name(*t)),
            None if *t == state.tab => format!(" {} {} ", (i + 1) % 10, t.short_title()),
            None => format!(" {}", (i + 1) % 10),
        };
        [
            Span::styled(text, style),
            Span::raw(chosen.map_or("", |(_, _, gap)| gap)),
        ]
    });
    Line::from(spans.collect::<Vec<_>>())
}

/// Columns of the current table, with the ORB column first when fleet-wide.
fn columns(state: &State) -> Vec<Column> {
    let mut cols = Vec::with_capacity(10);
    if state.has_orb_column() {
        cols.push(ORB_COLUMN);
    }
    cols.extend(state.tab.kind().columns());
    cols
}

fn rows(state: &State, frame: &mut Frame, area: Rect, focused: bool) {
    let cols = columns(state);
    let view = state.view();
    let window = Window {
        columns: &cols,
        sort: Some((state.sort_position(), view.descending)),
        total: state.rows.len(),
        selected: Some(view.selected),
        offset: view.offset,
        focused,
    };
    let shift = usize::from(state.has_orb_column());
    let theme = &state.theme;
    let kind = state.tab.kind();
    table::draw(frame, area, theme, &window, |pos, col, w| {
        let (o, r) = state.rows[pos];
        let orb = &state.fleet[o as usize];
        if col < shift {
            return line(&orb.name, w, theme.accent);
        }
        let at = At { state, orb, pos, w };
        kind.cell(&at, r as usize, col - shift)
    });
}

/// What the main pane shows: the tab's title, or the Live tab's kind (`deployments`).
fn shown_title(state: &State) -> String {
    if state.tab != Tab::Live {
        return state.tab.title().to_owned();
    }
    let orbs = state
        .fleet
        .iter()
        .filter(|o| o.live.asked == state.live_kind);
    let plural = orbs.map(|o| &o.live.plural).find(|p| !p.is_empty());
    fit(plural.unwrap_or(&state.live_kind), 30)
}

/// The Live tab's line under its table: which ORBs shown have no rows and why, else the kind and
/// the namespace filter.
fn live_note(state: &State, w: usize) -> Line<'static> {
    let t = &state.theme;
    let shown: Vec<&crate::ui::OrbView> = match state.scope {
        Scope::Fleet => state.fleet.iter().collect(),
        Scope::Orb => state.orb().into_iter().collect(),
    };
    let missing: Vec<String> = shown
        .iter()
        .filter_map(|o| {
            let why = match &o.health {
                Health::Unreachable { reason } => format!("unreachable: {reason}"),
                Health::AuthError { reason } => format!("credentials refused: {reason}"),
                Health::Connecting => "connecting".to_owned(),
                Health::Connected { .. } => match &o.live.error {
                    Some(e) => e.clone(),
                    None if o.live.loading || o.live.asked != state.live_kind => {
                        "loading".to_owned()
                    }
                    None => return None,
                },
            };
            Some(format!("{} ({why})", o.name))
        })
        .collect();
    if !missing.is_empty() {
        let text = format!("Missing: {}", missing.join(" · "));
        return line(&text, w, t.warn);
    }
    let kind = shown
        .iter()
        .find(|o| !o.live.kind.is_empty())
        .map_or_else(String::new, |o| {
            format!("{} {} · ", o.live.kind, o.live.api_version)
        });
    let namespaces: Vec<String> = shown
        .iter()
        .filter_map(|o| {
            let ns = state.namespaces.get(&o.name)?;
            Some(match state.scope {
                Scope::Fleet => format!("{} in {}", ns, o.name),
                Scope::Orb => ns.clone(),
            })
        })
        .collect();
    let ns = if namespaces.is_empty() {
        "all namespaces".to_owned()
    } else {
        format!("namespace {} (:ns all clears)", namespaces.join(", "))
    };
    line(&format!("{kind}{ns} · l logs · d describe"), w, t.dim)
}

/// The Access tab's line under its table: where each ORB's bindings were read (live, or
/// desired/ while the cluster does not answer) and how many findings the FLAG column marks.
fn access_note(state: &State, w: usize) -> Line<'static> {
    let t = &state.theme;
    let shown: Vec<&crate::ui::OrbView> = match state.scope {
        Scope::Fleet => state.fleet.iter().collect(),
        Scope::Orb => state.orb().into_iter().collect(),
    };
    let findings: usize = shown.iter().map(|o| o.access.findings).sum();
    let sources: Vec<String> = shown
        .iter()
        .filter(|o| !o.access.source.is_empty())
        .map(|o| match state.scope {
            Scope::Fleet => format!("{}: {}", o.name, o.access.source),
            Scope::Orb => o.access.source.clone(),
        })
        .collect();
    let text = format!(
        "{} · {} · orbdeck access ORB --who S --can VERB RES",
        sources.join(" · "),
        count(findings, "finding")
    );
    line(&text, w, if findings > 0 { t.warn } else { t.dim })
}

/// The Rollouts tab's line under its table: the newest rollout's phase and figures
/// (`ready 7/20 · wave 2/4 · unavailable 1/2`), and how many more there are.
fn rollout_note(state: &State, w: usize) -> Line<'static> {
    let t = &state.theme;
    let Some((_, first)) = state.rollout_notes.first() else {
        return line(
            "No rollouts · :rollout after an edit (space marks ORBs) · orbdeck rollout plan",
            w,
            t.dim,
        );
    };
    let more = state.rollout_notes.len() - 1;
    let text = if more == 0 {
        first.clone()
    } else {
        format!("{first} · {more} more (:rollout status ID)")
    };
    let style = if first.contains(" Halted") {
        t.error
    } else {
        t.dim
    };
    line(&text, w, style)
}

fn empty(state: &State, frame: &mut Frame, area: Rect) {
    let t = &state.theme;
    let kind = shown_title(state);
    let mut lines: Vec<Line> = Vec::new();
    let w = usize::from(area.width.saturating_sub(2)).max(1) * 4;
    if !state.sorted.is_empty() && state.view().filter.is_empty() {
        let ns = state.orb().and_then(|o| state.namespaces.get(&o.name));
        let text = format!(
            "No {kind} in namespace {}.",
            ns.map_or("filter", String::as_str)
        );
        lines.push(line(&text, w, t.warn));
        lines.push(line(":ns all shows every namespace.", w, t.dim));
    } else if !state.sorted.is_empty() {
        lines.push(line(
            &format!("No {kind} match /{}.", state.view().filter),
            w,
            t.warn,
        ));
        lines.push(line("esc clears the filter.", w, t.dim));
    } else if let (Scope::Orb, Some(orb)) = (state.scope, state.orb()) {
        let name = &orb.name;
        match (&orb.health, state.tab) {
            (_, Tab::Desired) if orb.repo.is_none() => {
                lines.push(line(
                    &format!("{name} is live only: no repo is paired, so there is no desired state, drift or history."),
                    w,
                    t.text,
                ));
                lines.push(line(&format!("Pair one: {}", orb.pair_hint()), w, t.dim));
            }
            (_, Tab::Desired) if orb.repo_error().is_some() => {
                lines.push(line(&format!("Fetching {name}'s repo failed:"), w, t.error));
                lines.push(line(orb.repo_error().unwrap_or_default(), w, t.text));
            }
            (_, Tab::Desired) if orb.loading && orb.desired_files.is_empty() => {
                lines.push(line(&format!("Reading {name}'s repo…"), w, t.warn));
            }
            (Health::Unreachable { reason }, tab) if tab != Tab::Desired => {
                lines.push(line(
                    &format!("{name} is unreachable: {reason}"),
                    w,
                    t.error,
                ));
                lines.push(line(
                    "Nothing cached yet; the list fills in when the cluster answers.",
                    w,
                    t.dim,
                ));
            }
            (Health::AuthError { reason }, tab) if tab != Tab::Desired => {
                lines.push(line(
                    &format!("{name} refused the credentials: {reason}"),
                    w,
                    t.error,
                ));
                lines.push(line(
                    "Check this ORB's kubeconfig context and token.",
                    w,
                    t.dim,
                ));
            }
            (Health::Connecting, tab) if tab != Tab::Desired => {
                lines.push(line(&format!("Connecting to {name}…"), w, t.warn));
            }
            (_, Tab::Live) if orb.live.error.is_some() => {
                let error = orb.live.error.as_deref().unwrap_or_default();
                lines.push(line(&format!("{name}: {error}"), w, t.error));
            }
            (_, Tab::Live) if orb.live.loading || orb.live.asked != state.live_kind => {
                lines.push(line(&format!("Loading {kind} from {name}…"), w, t.warn))
            }
            _ if orb.loading => {
                lines.push(line(&format!("Loading {kind} from {name}…"), w, t.warn))
            }
            _ => lines.push(line(state.tab.empty_hint(), w, t.dim)),
        }
    } else if state.scope == Scope::Fleet && !state.fleet.is_empty() {
        // One line fleet-wide: none anywhere, and which ORBs could not be asked.
        let away: Vec<&str> = state
            .fleet
            .iter()
            .filter(|o| !matches!(o.health, Health::Connected { .. }))
            .map(|o| o.name.as_str())
            .collect();
        let text = match away.as_slice() {
            [] => format!("No {kind} in any ORB."),
            away => format!(
                "No {kind} in the reachable ORBs; not reached: {}.",
                away.join(", ")
            ),
        };
        lines.push(line(&text, w, t.warn));
    } else {
        lines.push(line(state.tab.empty_hint(), w, t.dim));
    }
    let inner = Rect::new(
        area.x + 1,
        area.y + 1,
        area.width.saturating_sub(2),
        area.height.saturating_sub(1),
    );
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

fn nodes(state: &State, frame: &mut Frame, area: Rect) {
    let t = &state.theme;
    let Some((o, r)) = state.selected_row() else {
        return;
    };
    let upgrade = &state.fleet[o as usize].upgrades[r as usize];
    let head = Rect::new(area.x, area.y, area.width, 1);
    let title = format!(
        "Nodes of {} → {}  {}",
        upgrade.name,
        upgrade.version,
        upgrades::progress(upgrade, state.clock.unix)
    );
    frame.render_widget(line(&title, usize::from(area.width), t.title), head);
    // The drain blocker (which PDB, which pods), else the coordinator's message.
    let (note, style) = match &upgrade.blocker {
        Some(b) => (format!("drain held back: {b}"), t.warn),
        None => (upgrade.message.clone(), t.dim),
    };
    let skip = u16::from(!note.is_empty());
    if skip == 1 {
        let at = Rect::new(area.x, area.y + 1, area.width, 1);
        frame.render_widget(line(&note, usize::from(area.width), style), at);
    }
    let body = Rect::new(
        area.x,
        area.y + 1 + skip,
        area.width,
        area.height.saturating_sub(1 + skip),
    );
    if upgrade.nodes.is_empty() {
        frame.render_widget(
            line(
                "No plan yet: the coordinator lists the nodes in upgrade order when it takes the upgrade up.",
                usize::from(area.width),
                t.dim,
            ),
            body,
        );
        return;
    }
    let window = Window {
        columns: upgrades::NODE_COLUMNS,
        sort: None,
        total: upgrade.nodes.len(),
        selected: None,
        offset: 0,
        focused: false,
    };
    let orb = &state.fleet[o as usize];
    table::draw(frame, body, t, &window, |pos, col, w| {
        let at = At { state, orb, pos, w };
        upgrades::node_cell(&at, upgrade, &upgrade.nodes[pos], col)
    });
}
