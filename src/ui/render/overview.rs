//! The Overview tab for one ORB: health, access, repo, last sync, drift, drafts, object
//! counts and the engine's sync errors.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::cell::{age, count, fit, line};
use super::orbs::health_line;
use crate::ui::state::State;
use crate::ui::tab::Tab;

const LABEL: usize = 12;

/// The engine as its Lease tells it: who leads, and its last run (when, result, how long).
fn engine_line(state: &State, orb: &crate::ui::OrbView, vw: usize) -> Line<'static> {
    let t = &state.theme;
    let now = state.clock.unix;
    let Some(e) = &orb.engine else {
        return line(
            "its Lease orbdeck-system/orbdeck-engine is not readable (no engine, or no access)",
            vw,
            t.dim,
        );
    };
    if e.holder.is_empty() {
        return line("nobody holds its Lease: no engine runs", vw, t.warn);
    }
    let stale = e
        .renewed
        .is_some_and(|r| now.saturating_sub(r) > e.lease_seconds);
    // The last run first: it is what a narrow screen keeps.
    let mut text = match e.ran {
        Some(ran) => format!(
            "ran {} ago: {} in {:.1} s at {} · ",
            age(now, ran),
            e.result,
            e.took_ms as f64 / 1000.0,
            e.commit
        ),
        None => "no run reported yet · ".to_string(),
    };
    if stale {
        let ago = e.renewed.map_or(String::new(), |r| age(now, r));
        text.push_str(&format!(
            "{} last renewed its Lease {ago} ago: down?",
            e.holder
        ));
    } else {
        text.push_str(&format!("{} leads", e.holder));
    }
    let style = match (stale, e.result.as_str()) {
        (true, _) => t.warn,
        (false, "Synced" | "") => t.ok,
        (false, "Waiting") => t.warn,
        _ => t.error,
    };
    line(&text, vw, style)
}

/// Draws the selected ORB's overview page in `area`.
pub(crate) fn render(state: &State, frame: &mut Frame, area: Rect) {
    let t = &state.theme;
    let area = Rect::new(
        area.x + 1,
        area.y,
        area.width.saturating_sub(2),
        area.height,
    );
    let w = usize::from(area.width);
    let Some(orb) = state.orb() else {
        frame.render_widget(line(Tab::Overview.empty_hint(), w, t.dim), area);
        return;
    };
    let vw = w.saturating_sub(LABEL);
    let row = |label: &str, value: Line<'static>| {
        let mut spans = vec![Span::styled(format!("{label:<LABEL$}"), t.dim)];
        spans.extend(value.spans);
        Line::from(spans)
    };
    let mut lines = vec![Line::default(), row("Health", health_line(state, orb, vw))];
    let access = if orb.repo.is_none() {
        line("live views only: edits need a repo", vw, t.dim)
    } else if state.is_writable(state.selected_orb) {
        line("read-write", vw, t.ok)
    } else {
        line("read-only: --write or `write: true` enables", vw, t.dim)
    };
    lines.push(row("Access", access));
    match &orb.repo {
        // Live only: the live rows stay, the repo's rows say how to pair one.
        None => {
            lines.push(row("Repo", line("none paired (live only)", vw, t.warn)));
            // The hint in two rows, so that 80 columns show it whole.
            let hint = orb.pair_hint();
            let (add, rest) = hint.split_once(" --repo").unwrap_or((&hint, ""));
            lines.push(row("", line(&format!("pair: {add}"), vw, t.dim)));
            lines.push(row("", line(&format!("  --repo{rest}"), vw, t.dim)));
            let no_sync = "none: syncs, drift and drafts need a repo";
            lines.push(row("Last sync", line(no_sync, vw, t.dim)));
        }
        Some(info) => {
            let fetching = if info.fetching { 11 } else { 0 };
            let mut repo = vec![Span::styled(
                fit(&info.url, vw.saturating_sub(fetching)),
                t.text,
            )];
            if info.fetching {
                repo.push(Span::styled(" fetching…", t.warn));
            }
            lines.push(row("Repo", Line::from(repo)));
            if let Some(err) = &info.error {
                lines.push(row("", line(&format!("fetch failed: {err}"), vw, t.error)));
            }
            let sync = match &orb.sync {
                Some(s) => {
                    let when = s.time.map_or(String::new(), |x| {
                        format!(" {} ago", age(state.clock.unix, x))
                    });
                    let style = if s.errors.is_empty() { t.ok } else { t.error };
                    Line::from(vec![
                        Span::styled(fit(&s.commit, 12), t.accent),
                        Span::styled(when, t.dim),
                        Span::raw(" "),
                        Span::styled(fit(&s.result, vw.saturating_sub(24)), style),
                    ])
                }
                None => line("the engine has not recorded a sync yet", vw, t.dim),
            };
            lines.push(row("Last sync", sync));
        }
    }
    lines.push(row("Engine", engine_line(state, orb, vw)));
    if let Some(health) = orb.sync.as_ref().and_then(|s| s.health.as_deref()) {
        let unhealthy = orb.sync.as_ref().map_or(&[][..], |s| &s.unhealthy[..]);
        let style = match health {
            "Healthy" => t.ok,
            "Progressing" | "Suspended" => t.warn,
            _ => t.error,
        };
        let summary = if unhealthy.is_empty() {
            format!("{health}: every object")
        } else {
            format!("{health}: {} not healthy", unhealthy.len())
        };
        lines.push(row("Obj health", line(&summary, vw, style)));
        for u in unhealthy.iter().take(5) {
            lines.push(row("", line(u, vw, style)));
        }
        if unhealthy.len() > 5 {
            lines.push(row(
                "",
                line(&format!("and {} more", unhealthy.len() - 5), vw, t.dim),
            ));
        }
    }
    let waiting = orb.sync.as_ref().map_or(&[][..], |s| &s.waiting[..]);
    if let Some(first) = waiting.first() {
        let summary = format!("{} held by a sync wave", waiting.len());
        lines.push(row("Waiting", line(&summary, vw, t.warn)));
        lines.push(row("", line(first, vw, t.warn)));
    }
    let drift = match orb.drift {
        Some(0) => line("none: live matches desired", vw, t.ok),
        Some(d) => line(
            &format!(
                "{} {} from desired (:drift lists them)",
                count(d, "object"),
                if d == 1 { "differs" } else { "differ" }
            ),
            vw,
            t.warn,
        ),
        None => line("unknown", vw, t.dim),
    };
    if orb.repo.is_some() {
        lines.push(row("Drift", drift));
    }
    let drafts = if orb.drafts.is_empty() {
        line("none", vw, t.dim)
    } else {
        line(
            &format!(
                "✎ {} unpushed: {}",
                orb.drafts.len(),
                orb.drafts
                    .iter()
                    .map(|d| d.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            vw,
            t.draft,
        )
    };
    if orb.repo.is_some() {
        lines.push(row("Drafts", drafts));
    }
    let counts = format!(
        "{} profiles · {} quota lines · {} replications",
        orb.profiles.len(),
        orb.quotas.len(),
        orb.replications.len()
    );
    lines.push(row("Objects", line(&counts, vw, t.text)));
    let more = format!(
        "{} upgrades · {} events · {} desired files",
        orb.upgrades.len(),
        orb.events.len(),
        orb.desired_files.len()
    );
    lines.push(row("", line(&more, vw, t.text)));
    if orb.loading {
        lines.push(row("", line("still loading…", vw, t.warn)));
    }
    let errors = orb.sync.as_ref().map_or(&[][..], |s| &s.errors[..]);
    if !errors.is_empty() {
        lines.push(Line::default());
        lines.push(line(&format!("Sync errors ({})", errors.len()), w, t.error));
    }
    let used = lines.len() as u16;
    frame.render_widget(Paragraph::new(lines), area);
    if errors.is_empty() {
        return;
    }
    // Errors wrap (up to 3 lines each) so file:line and the message stay readable.
    let rest = Rect::new(
        area.x,
        area.y + used,
        area.width,
        area.height.saturating_sub(used),
    );
    let room = usize::from(rest.height);
    let mut shown: Vec<Line> = errors
        .iter()
        .map(|e| line(&format!("• {e}"), w * 3, t.text))
        .collect();
    if shown.len() > room {
        shown.truncate(room.saturating_sub(1));
        shown.push(line(
            &format!("… {} more", errors.len() - shown.len()),
            w,
            t.dim,
        ));
    }
    frame.render_widget(Paragraph::new(shown).wrap(Wrap { trim: false }), rest);
}
