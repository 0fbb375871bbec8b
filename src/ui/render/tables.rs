//! The main pane: tab bar, title, and each tab's table (cells per kind), its empty, loading
//! and unreachable states, and the node list under Upgrades.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::cell::{age, fit, line, usage};
use super::table::{self, Window};
use crate::ui::data::{Health, OrbView};
use crate::ui::layout::{MainAreas, main_areas};
use crate::ui::state::{Focus, Mode, Scope, State};
use crate::ui::tab::{Column, Field, NODE_COLUMNS, ORB_COLUMN, Tab};

/// Draws the main pane (border, tabs, body) in `area`.
pub(crate) fn render(state: &State, frame: &mut Frame, area: Rect) {
    let theme = &state.theme;
    let focused = state.focus == Focus::Main;
    let block = Block::bordered()
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(title(state, usize::from(area.width.saturating_sub(4))));
    frame.render_widget(block, area);
    let MainAreas { tabs, body, detail } = main_areas(area, state.tab);
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

fn title(state: &State, width: usize) -> Line<'static> {
    let theme = &state.theme;
    let view = state.view();
    let place = match (state.scope, state.orb()) {
        (Scope::Fleet, _) => "all ORBs".to_string(),
        (Scope::Orb, Some(orb)) => orb.name.clone(),
        (Scope::Orb, None) => "no ORB".to_string(),
    };
    let mut spans = vec![
        Span::styled(format!(" {} ", state.tab.title()), theme.title),
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
    if state.scope == Scope::Orb
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
    // Full titles with gaps, else short titles, else short titles packed.
    let styles: [(TitleOf, &str, &str); 3] = [
        (Tab::title, " ", " "),
        (Tab::short_title, " ", " "),
        (Tab::short_title, "", ""),
    ];
    let (name, pad, gap) = styles
        .into_iter()
        .find(|(name, pad, gap)| {
            let w: usize = Tab::ALL
                .iter()
                .map(|t| name(*t).len() + 3 + pad.len() + gap.len())
                .sum();
            w <= usize::from(width)
        })
        .unwrap_or(styles[2]);
    let spans = Tab::ALL.iter().enumerate().flat_map(|(i, t)| {
        let style = if *t == state.tab {
            theme.tab_active
        } else {
            theme.dim
        };
        [
            Span::styled(format!(" {} {}{pad}", i + 1, name(*t)), style),
            Span::raw(gap),
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
    cols.extend_from_slice(state.tab.columns());
    cols
}

fn rows(state: &State, frame: &mut Frame, area: Rect, focused: bool) {
    let cols = columns(state);
    let view = state.view();
    let window = Window {
        columns: &cols,
        sort: Some((view.sort_column, view.descending)),
        total: state.rows.len(),
        selected: Some(view.selected),
        offset: view.offset,
        focused,
    };
    let shift = usize::from(state.has_orb_column());
    let theme = &state.theme;
    table::draw(frame, area, theme, &window, |pos, col, w| {
        let (o, r) = state.rows[pos];
        let orb = &state.fleet[o as usize];
        if col < shift {
            return line(&orb.name, w, theme.accent);
        }
        cell(state, orb, r as usize, pos, col - shift, w)
    });
}

/// One cell: column `col` (of the tab's own columns) of row `r` of `orb`, drawn by what the
/// column shows.
fn cell(state: &State, orb: &OrbView, r: usize, pos: usize, col: usize, w: usize) -> Line<'static> {
    let t = &state.theme;
    let Some(field) = state.tab.columns().get(col).map(|c| c.field) else {
        return Line::default();
    };
    match state.tab {
        Tab::Overview => overview_cell(state, orb, field, w),
        Tab::Profiles => {
            let p = &orb.profiles[r];
            match field {
                Field::Name => line(&p.name, w, t.text),
                Field::Owner => line(
                    &format!("{} ({})", p.owner, p.owner_kind.as_str()),
                    w,
                    t.text,
                ),
                Field::Namespace => line(&p.namespace, w, t.text),
                Field::Cpu => usage(p.cpu.as_ref(), w, t),
                Field::Memory => usage(p.memory.as_ref(), w, t),
                Field::Gpu => usage(p.gpu.as_ref(), w, t),
                Field::Pods => usage(p.pods.as_ref(), w, t),
                Field::Policies => line(
                    &p.policies.to_string(),
                    w,
                    if p.policies == 0 { t.warn } else { t.text },
                ),
                Field::Conditions => line(
                    &p.conditions,
                    w,
                    if p.conditions == "Ready" {
                        t.ok
                    } else {
                        t.error
                    },
                ),
                _ => Line::default(),
            }
        }
        Tab::Quotas => {
            let q = &orb.quotas[r];
            match field {
                Field::Namespace => line(&q.namespace, w, t.text),
                Field::Resource => line(&q.resource, w, t.text),
                Field::Used => line(&q.used_text, w, t.text),
                Field::Hard => line(&q.hard_text, w, t.text),
                Field::Percent => match q.percent() {
                    Some(p) => line(&format!("{p:.0}"), w, t.percent(p)),
                    None => line("-", w, t.dim),
                },
                Field::Source => line(&q.source, w, t.dim),
                _ => Line::default(),
            }
        }
        Tab::Replications => {
            let x = &orb.replications[r];
            match field {
                Field::Namespace => line(&x.namespace, w, t.text),
                Field::Name => line(&x.name, w, t.text),
                Field::Source => line(&x.source, w, t.text),
                Field::Destination => line(&x.destination, w, t.text),
                Field::Phase => line(&x.phase, w, phase_style(state, &x.phase)),
                Field::Tries => line(
                    &format!("{}/3", x.attempts),
                    w,
                    if x.attempts >= 3 { t.error } else { t.text },
                ),
                Field::Message => line(&x.message, w, t.dim),
                _ => Line::default(),
            }
        }
        Tab::Upgrades => {
            let u = &orb.upgrades[r];
            match field {
                Field::Name => line(&u.name, w, t.text),
                Field::Version => line(&u.version, w, t.accent),
                Field::Strategy => line(&u.strategy, w, t.text),
                Field::Phase => line(&u.phase, w, phase_style(state, &u.phase)),
                Field::Paused => line(
                    if u.paused { "yes" } else { "no" },
                    w,
                    if u.paused { t.warn } else { t.dim },
                ),
                Field::Nodes => {
                    let done = u
                        .nodes
                        .iter()
                        .filter(|n| {
                            n.kubelet_version.trim_start_matches('v')
                                == u.version.trim_start_matches('v')
                        })
                        .count();
                    line(&format!("{done}/{}", u.nodes.len()), w, t.text)
                }
                _ => Line::default(),
            }
        }
        Tab::Desired => desired_cell(state, orb, r, pos, w),
        Tab::Events => {
            let e = &orb.events[r];
            let warn = e.type_ == "Warning";
            match field {
                Field::Age => line(&age(state.clock.unix, e.time), w, t.dim),
                Field::Namespace => line(&e.namespace, w, t.text),
                Field::Object => line(&e.object, w, t.text),
                Field::Type => line(&e.type_, w, if warn { t.warn } else { t.text }),
                Field::Reason => line(&e.reason, w, if warn { t.warn } else { t.text }),
                Field::Message => line(&e.message, w, t.text),
                _ => Line::default(),
            }
        }
    }
}

fn phase_style(state: &State, phase: &str) -> ratatui::style::Style {
    let t = &state.theme;
    match phase {
        "Succeeded" | "Completed" | "Ready" | "Upgraded" => t.ok,
        "Failed" | "Aborted" | "Error" => t.error,
        "Pending" | "Paused" => t.warn,
        _ => t.text,
    }
}

/// A desired file as a tree line: folders shared with the previous row are left blank.
fn desired_cell(state: &State, orb: &OrbView, r: usize, pos: usize, w: usize) -> Line<'static> {
    let t = &state.theme;
    let path = orb.desired_files[r].as_str();
    let prev = pos
        .checked_sub(1)
        .map(|p| state.rows[p])
        .filter(|(o, _)| state.fleet[*o as usize].name == orb.name)
        .map(|(o, r)| state.fleet[o as usize].desired_files[r as usize].as_str());
    let dirs: Vec<&str> = path.split('/').collect();
    let shared = prev.map_or(0, |p| {
        p.split('/')
            .zip(&dirs[..dirs.len() - 1])
            .take_while(|(a, b)| a == *b)
            .count()
    });
    let indent: usize = dirs[..shared].iter().map(|d| d.len() + 1).sum();
    let folder = dirs[shared..dirs.len() - 1]
        .iter()
        .map(|d| format!("{d}/"))
        .collect::<String>();
    let file = dirs[dirs.len() - 1];
    let draft = orb.drafts.iter().any(|d| d.path == path);
    let mut spans = vec![
        Span::raw(" ".repeat(indent.min(w))),
        Span::styled(fit(&folder, w.saturating_sub(indent)), t.dim),
    ];
    let used = indent.min(w) + spans[1].width();
    spans.push(Span::styled(
        fit(file, w.saturating_sub(used + if draft { 2 } else { 0 })),
        t.text,
    ));
    if draft {
        spans.push(Span::styled(" ✎", t.draft));
    }
    Line::from(spans)
}

fn overview_cell(state: &State, orb: &OrbView, field: Field, w: usize) -> Line<'static> {
    let t = &state.theme;
    let sync = orb.sync.as_ref();
    match field {
        Field::Health => super::orbs::health_line(state, orb, w),
        Field::Commit => line(sync.map_or("-", |s| s.commit.as_str()), w, t.accent),
        Field::Synced => line(
            &sync
                .and_then(|s| s.time)
                .map_or("-".into(), |x| age(state.clock.unix, x)),
            w,
            t.dim,
        ),
        Field::Result => line(sync.map_or("-", |s| s.result.as_str()), w, t.text),
        Field::Drift => match orb.drift {
            Some(0) => line("0", w, t.ok),
            Some(d) => line(&d.to_string(), w, t.warn),
            None => line("-", w, t.dim),
        },
        Field::Errors => {
            let n = sync.map_or(0, |s| s.errors.len()) + usize::from(orb.repo.error.is_some());
            line(&n.to_string(), w, if n > 0 { t.error } else { t.dim })
        }
        Field::Profiles => line(&orb.profiles.len().to_string(), w, t.text),
        Field::Drafts => line(
            &orb.drafts.len().to_string(),
            w,
            if orb.drafts.is_empty() {
                t.dim
            } else {
                t.draft
            },
        ),
        _ => Line::default(),
    }
}

fn empty(state: &State, frame: &mut Frame, area: Rect) {
    let t = &state.theme;
    let kind = state.tab.title();
    let mut lines: Vec<Line> = Vec::new();
    let w = usize::from(area.width.saturating_sub(2)).max(1) * 4;
    if !state.sorted.is_empty() {
        lines.push(line(
            &format!("No {kind} match /{}.", state.view().filter),
            w,
            t.warn,
        ));
        lines.push(line("esc clears the filter.", w, t.dim));
    } else if let (Scope::Orb, Some(orb)) = (state.scope, state.orb()) {
        let name = &orb.name;
        match (&orb.health, state.tab) {
            (_, Tab::Desired) if orb.repo.error.is_some() => {
                lines.push(line(&format!("Fetching {name}'s repo failed:"), w, t.error));
                lines.push(line(
                    orb.repo.error.as_deref().unwrap_or_default(),
                    w,
                    t.text,
                ));
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
            _ if orb.loading => {
                lines.push(line(&format!("Loading {kind} from {name}…"), w, t.warn))
            }
            _ => lines.push(line(state.tab.empty_hint(), w, t.dim)),
        }
    } else {
        if state.scope == Scope::Fleet && !state.fleet.is_empty() {
            lines.push(line(&format!("No {kind} in any ORB."), w, t.warn));
        }
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
    let title = format!("Nodes of {} → {}", upgrade.name, upgrade.version);
    frame.render_widget(line(&title, usize::from(area.width), t.title), head);
    let body = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(1),
    );
    if upgrade.nodes.is_empty() {
        frame.render_widget(
            line(
                "No NodeUpgrades yet: the coordinator creates one per node.",
                usize::from(area.width),
                t.dim,
            ),
            body,
        );
        return;
    }
    let window = Window {
        columns: NODE_COLUMNS,
        sort: None,
        total: upgrade.nodes.len(),
        selected: None,
        offset: 0,
        focused: false,
    };
    let target = upgrade.version.trim_start_matches('v');
    table::draw(frame, body, t, &window, |pos, col, w| {
        let n = &upgrade.nodes[pos];
        match col {
            0 => line(&n.name, w, t.text),
            1 => {
                let done = n.kubelet_version.trim_start_matches('v') == target;
                line(&n.kubelet_version, w, if done { t.ok } else { t.text })
            }
            _ => line(&n.phase, w, phase_style(state, &n.phase)),
        }
    });
}
