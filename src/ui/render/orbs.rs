//! The ORB list on the left: two lines per ORB (health and name; last sync, drift, the objects'
//! health when not Healthy, errors, drafts), windowed around the selection.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::cell::{FOCUS_MARK, age, fit, line, span};
use crate::ui::data::{Health, OrbView, Verdict};
use crate::ui::state::{Focus, Scope, State};

/// The icon and style of an ORB's overall health (see [`OrbView::overall`]).
pub(crate) fn verdict_look(state: &State, orb: &OrbView) -> (&'static str, Style) {
    let t = &state.theme;
    match (&orb.health, orb.overall(state.clock.unix).verdict) {
        (Health::AuthError { .. }, _) => ("⊘", t.error),
        (_, Verdict::Bad) => ("✖", t.error),
        (_, Verdict::Warn) => ("◐", t.warn),
        (_, Verdict::Unknown) => ("◌", t.dim),
        (_, Verdict::Good) => ("●", t.ok),
    }
}

/// Overall health as its icon and words, e.g. `● Healthy`, `✖ sync failing: 1 error`.
pub(crate) fn health_line(state: &State, orb: &OrbView, w: usize) -> Line<'static> {
    let (icon, style) = verdict_look(state, orb);
    let text = format!("{icon} {}", orb.overall(state.clock.unix).text);
    line(&text, w, style)
}

/// Draws the ORB list in `area`.
pub(crate) fn render(state: &State, frame: &mut Frame, area: Rect) {
    let t = &state.theme;
    let focused = state.pane_focus() == Focus::OrbList;
    let mark = if focused { FOCUS_MARK } else { "" };
    let title = match state.scope {
        Scope::Fleet => format!(" {mark}ORBs {} · all ", state.fleet.len()),
        Scope::Orb => format!(" {mark}ORBs {} ", state.fleet.len()),
    };
    let block = Block::bordered()
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Span::styled(title, t.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let per_page = usize::from(inner.height / 2).max(1);
    let sel = state.selected_orb;
    let mut offset = state.orb_offset.min(sel);
    if sel >= offset + per_page {
        offset = sel + 1 - per_page;
    }
    let mut lines = Vec::with_capacity(per_page * 2);
    for (i, orb) in state.fleet.iter().enumerate().skip(offset).take(per_page) {
        let selected = i == sel && state.scope == Scope::Orb;
        lines.push(name_line(state, orb, w, selected, focused));
        lines.push(detail_line(state, orb, w));
    }
    if state.fleet.is_empty() {
        lines.push(line("No ORBs in the fleet config.", w, t.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn name_line(
    state: &State,
    orb: &OrbView,
    w: usize,
    selected: bool,
    focused: bool,
) -> Line<'static> {
    let t = &state.theme;
    let (icon, look) = verdict_look(state, orb);
    let icon = Span::styled(format!("{icon} "), look);
    // A live-only ORB has no repo to write to, whatever --write says.
    let read_only = orb.repo.is_none() || !(orb.writable || state.write_all);
    let marks = format!(
        "{}{}{}",
        if state.marked.contains(&orb.name) {
            " +"
        } else {
            ""
        },
        if orb.drafts.is_empty() { "" } else { " ✎" },
        if read_only { " ro" } else { "" }
    );
    let name_w = w.saturating_sub(2 + marks.chars().count());
    let style = if selected && focused {
        t.selected
    } else if selected {
        t.accent.add_modifier(Modifier::BOLD | Modifier::REVERSED)
    } else {
        t.text.add_modifier(Modifier::BOLD)
    };
    let mut spans = vec![icon, span(&orb.name, name_w, style)];
    if state.marked.contains(&orb.name) {
        spans.push(Span::styled(" +", t.accent));
    }
    if !orb.drafts.is_empty() {
        spans.push(Span::styled(" ✎", t.draft));
    }
    if read_only {
        spans.push(Span::styled(" ro", t.dim));
    }
    Line::from(spans)
}

fn detail_line(state: &State, orb: &OrbView, w: usize) -> Line<'static> {
    let t = &state.theme;
    let w = w.saturating_sub(2);
    let mut spans = vec![Span::raw("  ")];
    match &orb.health {
        Health::Unreachable { reason } | Health::AuthError { reason } => {
            spans.push(span(reason, w, t.error));
            return Line::from(spans);
        }
        Health::Connecting => {
            spans.push(span("connecting…", w, t.warn));
            return Line::from(spans);
        }
        Health::Connected { .. } => {}
    }
    let mut parts: Vec<Span> = Vec::new();
    match &orb.sync {
        Some(s) => {
            parts.push(Span::styled(fit(&s.commit, 8), t.accent));
            if let Some(time) = orb.last_run() {
                parts.push(Span::styled(
                    format!(" {}", age(state.clock.unix, time)),
                    t.dim,
                ));
            }
        }
        None if orb.repo.is_none() => parts.push(Span::styled("live only", t.dim)),
        None => parts.push(Span::styled("not synced", t.dim)),
    }
    if let Some(d) = orb.drift.filter(|d| *d > 0) {
        parts.push(Span::styled(format!(" Δ{d}"), t.warn));
    }
    // The objects' health roll-up, when it is not Healthy (the Overview lists the objects).
    if let Some(h) = orb.sync.as_ref().and_then(|s| s.health.as_deref()) {
        let style = match h {
            "Healthy" => None,
            "Progressing" | "Suspended" => Some(t.warn),
            _ => Some(t.error),
        };
        if let Some(style) = style {
            parts.push(Span::styled(format!(" {h}"), style));
        }
    }
    let errors =
        orb.sync.as_ref().map_or(0, |s| s.errors.len()) + usize::from(orb.repo_error().is_some());
    if errors > 0 {
        parts.push(Span::styled(format!(" !{errors}"), t.error));
    }
    let mut used = 0;
    for p in parts {
        used += p.width();
        if used > w {
            break;
        }
        spans.push(p);
    }
    Line::from(spans)
}
