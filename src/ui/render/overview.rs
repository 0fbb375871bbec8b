//! The Overview tab for one ORB: health, access, repo, last sync, the engine and its recent
//! Events, drift, drafts, object counts and the engine's sync errors.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::cell::{age, count, fit, line, wrapped};
use super::orbs::verdict_look;
use crate::ui::data::{Health, OrbView};
use crate::ui::state::State;
use crate::ui::tab::Tab;

const LABEL: usize = 12;

/// The engine as its Lease tells it: who leads, and its last run (when, result, how long).
fn engine_text(state: &State, orb: &crate::ui::OrbView) -> (String, Style) {
    let t = &state.theme;
    let now = state.clock.unix;
    let Some(e) = &orb.engine else {
        let text =
            "its Lease orbdeck-system/orbdeck-engine is not readable (no engine, or no access)";
        return (text.into(), t.dim);
    };
    if e.holder.is_empty() {
        return ("nobody holds its Lease: no engine runs".into(), t.warn);
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
    (text, style)
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
    // A value that wraps under its label (up to three lines) instead of being cut.
    let rows = |label: &str, text: &str, style: Style| -> Vec<Line<'static>> {
        wrapped(text, vw, 3)
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let label = if i == 0 { label } else { "" };
                row(label, Line::from(Span::styled(part, style)))
            })
            .collect()
    };
    let (icon, look) = verdict_look(state, orb);
    let mut lines = vec![Line::default()];
    let health = format!("{icon} {}", orb.overall(state.clock.unix).text);
    lines.extend(rows("Health", &health, look));
    let cluster = match &orb.health {
        Health::Connected { version } => (format!("reachable, {version}"), t.text),
        Health::Connecting => ("connecting…".to_string(), t.warn),
        Health::Unreachable { .. } => ("API unreachable".to_string(), t.error),
        Health::AuthError { .. } => ("credentials refused".to_string(), t.error),
    };
    lines.extend(rows("Cluster", &cluster.0, cluster.1));
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
                lines.extend(rows("", &format!("fetch failed: {err}"), t.error));
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
    let (engine, style) = engine_text(state, orb);
    lines.extend(rows("Engine", &engine, style));
    // What orbdeck itself reported to the cluster (self-heals, warnings), newest first.
    let ours = orb
        .events
        .iter()
        .filter(|e| e.source.starts_with("orbdeck"))
        .take(3);
    for (i, e) in ours.enumerate() {
        let text = format!(
            "{} ago {} {}: {}",
            age(state.clock.unix, e.time),
            e.reason,
            e.object,
            e.message
        );
        let style = if e.type_ == "Warning" { t.warn } else { t.text };
        lines.push(row(
            if i == 0 { "Eng. events" } else { "" },
            line(&text, vw, style),
        ));
    }
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
        lines.extend(rows("", first, t.warn));
    }
    let drift = match orb.drift {
        Some(0) => ("none: live matches desired".to_string(), t.ok),
        Some(d) => (
            format!(
                "{} {} from desired (:drift lists them)",
                count(d, "object"),
                if d == 1 { "differs" } else { "differ" }
            ),
            t.warn,
        ),
        None => ("unknown".to_string(), t.dim),
    };
    if orb.repo.is_some() {
        lines.extend(rows("Drift", &drift.0, drift.1));
    }
    let drafts = if orb.drafts.is_empty() {
        ("none".to_string(), t.dim)
    } else {
        let paths: Vec<&str> = orb.drafts.iter().map(|d| d.path.as_str()).collect();
        let text = format!("✎ {} unpushed: {}", orb.drafts.len(), paths.join(", "));
        (text, t.draft)
    };
    if orb.repo.is_some() {
        lines.extend(rows("Drafts", &drafts.0, drafts.1));
    }
    let counts = format!(
        "{} · {} · {} · {} · {} · {}",
        count(orb.profiles.len(), "profile"),
        count(orb.quotas.len(), "quota line"),
        replications(orb),
        count(orb.upgrades.len(), "upgrade"),
        count(orb.events.len(), "event"),
        count(orb.desired_files.len(), "desired file"),
    );
    lines.extend(rows("Objects", &counts, t.text));
    if orb.loading {
        lines.push(row("", line("still loading…", vw, t.warn)));
    }
    let errors = orb.sync.as_ref().map_or(&[][..], |s| &s.errors[..]);
    if !errors.is_empty() {
        lines.push(Line::default());
        let head = format!("Sync errors ({}) · :errors shows them whole", errors.len());
        lines.push(line(&head, w, t.error));
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

/// `N replications`, with how many failed when some did.
fn replications(orb: &OrbView) -> String {
    let all = count(orb.replications.len(), "replication");
    match orb.replications.iter().filter(|r| r.failed()).count() {
        0 => all,
        failed => format!("{all} ({failed} failing)"),
    }
}
