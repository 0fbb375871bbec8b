//! The log view: a status line (follow, tail, buffer size, stream state, search) over the window
//! of log lines, each with its SGR colours as styles (off under NO_COLOR), cut or wrapped to the
//! width, search matches reversed. Draws only the lines that fit.

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

use super::cell::{fit, line};
use super::editor::popup;
use crate::text::{Sgr, SgrColor};
use crate::ui::keymap::Command;
use crate::ui::layout::{log_area, log_rows};
use crate::ui::logs::{LogLine, LogStatus, LogView, MAX_LINES};
use crate::ui::state::State;
use crate::ui::theme::Theme;

/// Draws the open log view over the panes.
pub(crate) fn render(state: &State, frame: &mut Frame) {
    let Some(v) = &state.logs else { return };
    let t = &state.theme;
    let area = log_area(frame.area());
    let container = v
        .container_name()
        .map_or(String::new(), |c| format!("/{c}"));
    let pod = if v.pod.is_empty() { "…" } else { &v.pod };
    let what = match &v.workload {
        Some(w) => format!("{w} → {pod}{container}"),
        None => format!("{pod}{container}"),
    };
    let title = format!("Logs {}/{what} @ {}", v.namespace, v.orb);
    let km = &state.keymap;
    let hint = format!(
        " {} follow · {} wrap · {} time · {} previous · {} container · {} tail · {} search · {} close ",
        km.keys_of(Command::LogFollow),
        km.keys_of(Command::LogWrap),
        km.keys_of(Command::LogTimestamps),
        km.keys_of(Command::LogPrevious),
        km.keys_of(Command::LogContainer),
        km.keys_of(Command::LogTail),
        km.keys_of(Command::LogSearch),
        km.keys_of(Command::Back),
    );
    let hint = if usize::from(area.width) < hint.chars().count() + title.chars().count() + 6 {
        format!(" {} close ", km.keys_of(Command::Back))
    } else {
        hint
    };
    let inner = popup(frame, area, t, &title, &hint);
    let w = usize::from(inner.width);
    if inner.height == 0 {
        return;
    }
    let mut rows = vec![status(v, t, w)];
    rows.extend(window(
        v,
        state,
        log_rows(state.size).min(usize::from(inner.height) - 1),
        w,
    ));
    frame.render_widget(Paragraph::new(rows), inner);
}

/// The status line: what is streamed, how much is held, and the search being typed.
fn status(v: &LogView, t: &Theme, w: usize) -> Line<'static> {
    if v.typing {
        return Line::from(vec![
            Span::styled("search: ", t.key),
            Span::raw(fit(&v.search, w.saturating_sub(10))),
            Span::styled("▏", t.key),
        ]);
    }
    let (state, style) = match &v.status {
        LogStatus::Connecting => ("connecting…".to_owned(), t.warn),
        LogStatus::Streaming if v.previous => ("previous container".to_owned(), t.warn),
        LogStatus::Streaming => ("streaming".to_owned(), t.ok),
        LogStatus::Ended(why) => (format!("ended: {why}"), t.warn),
    };
    let mut parts = vec![
        state,
        if v.follow {
            "following"
        } else {
            "paused (G follows)"
        }
        .to_owned(),
        format!("tail {}", v.tail),
        format!(
            "{} lines, {} KiB held (max {MAX_LINES})",
            v.lines.len(),
            v.bytes.div_ceil(1024)
        ),
    ];
    if v.dropped > 0 {
        parts.push(format!("{} older dropped", v.dropped));
    }
    if !v.search.is_empty() {
        parts.push(format!("/{} (n/N)", v.search));
    }
    line(&parts.join(" · "), w, style)
}

/// The lines that fit in `page` rows of width `w`: the newest when following, else from the
/// scroll position; wrapped lines take several rows.
fn window(v: &LogView, state: &State, page: usize, w: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let len = v.lines.len();
    if len == 0 {
        let text = match &v.status {
            LogStatus::Connecting => "Waiting for the first lines…",
            _ => "No log lines (the container has written none, or not yet).",
        };
        return vec![line(text, w, t.dim)];
    }
    let rows_of = |i: usize| rows(&v.lines[i], v, i, state, w);
    let mut out: Vec<Line<'static>> = Vec::with_capacity(page);
    if v.follow {
        // From the newest line back until the page is full.
        let mut i = len;
        while i > 0 && out.len() < page {
            i -= 1;
            let mut r = rows_of(i);
            let room = page - out.len();
            if r.len() > room {
                r.drain(..r.len() - room);
            }
            r.append(&mut out);
            out = r;
        }
    } else {
        let mut i = v.scroll.min(len - 1);
        while i < len && out.len() < page {
            out.extend(rows_of(i));
            i += 1;
        }
        out.truncate(page);
    }
    out
}

/// The screen rows of line `i`: one (cut) or several (wrapped).
fn rows(l: &LogLine, v: &LogView, i: usize, state: &State, w: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let mut spans: Vec<(String, Style)> = Vec::new();
    if v.timestamps && !l.time.is_empty() {
        // HH:MM:SS.mmm of the RFC 3339 time.
        let short = l.time.get(11..23).unwrap_or(&l.time);
        spans.push((format!("{short} "), t.dim));
    }
    let hits = if v.matches(i) {
        matches(&l.text, &v.search)
    } else {
        Vec::new()
    };
    let mut at = 0usize;
    for (text, sgr) in l.pieces() {
        let base = style_of(sgr, state.no_color);
        // Split the piece at search matches.
        let end = at + text.len();
        let mut cut = at;
        for &(s, e) in hits.iter().filter(|(s, e)| *e > at && *s < end) {
            let (s, e) = (s.max(at), e.min(end));
            if s > cut {
                spans.push((l.text[cut..s].to_owned(), base));
            }
            spans.push((
                l.text[s..e].to_owned(),
                t.key.add_modifier(Modifier::REVERSED),
            ));
            cut = e;
        }
        if cut < end {
            spans.push((l.text[cut..end].to_owned(), base));
        }
        at = end;
    }
    let mut rows = vec![Vec::new()];
    let mut used = 0;
    for (text, style) in spans {
        let mut piece = String::new();
        for c in text.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > w {
                if !v.wrap {
                    break;
                }
                rows.last_mut()
                    .expect("one row")
                    .push(Span::styled(std::mem::take(&mut piece), style));
                rows.push(Vec::new());
                used = 0;
            }
            piece.push(c);
            used += cw;
        }
        rows.last_mut()
            .expect("one row")
            .push(Span::styled(piece, style));
        if !v.wrap && used >= w {
            break;
        }
    }
    rows.into_iter().map(Line::from).collect()
}

/// Byte ranges of `needle` in `text`, ASCII case-insensitively.
fn matches(text: &str, needle: &str) -> Vec<(usize, usize)> {
    let (hay, needle) = (text.to_ascii_lowercase(), needle.to_ascii_lowercase());
    hay.match_indices(&needle)
        .map(|(i, m)| (i, i + m.len()))
        .collect()
}

/// The style SGR attributes ask for; colours left out under NO_COLOR.
fn style_of(sgr: Sgr, no_color: bool) -> Style {
    let mut s = Style::default();
    let colour = |c: SgrColor| match c {
        SgrColor::Indexed(n) if n < 16 => [
            Color::Black,
            Color::Red,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::Gray,
            Color::DarkGray,
            Color::LightRed,
            Color::LightGreen,
            Color::LightYellow,
            Color::LightBlue,
            Color::LightMagenta,
            Color::LightCyan,
            Color::White,
        ][usize::from(n)],
        SgrColor::Indexed(n) => Color::Indexed(n),
        SgrColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    };
    if !no_color {
        if let Some(c) = sgr.fg {
            s = s.fg(colour(c));
        }
        if let Some(c) = sgr.bg {
            s = s.bg(colour(c));
        }
    }
    let flags = [
        (sgr.bold, Modifier::BOLD),
        (sgr.dim, Modifier::DIM),
        (sgr.italic, Modifier::ITALIC),
        (sgr.underline, Modifier::UNDERLINED),
        (sgr.reverse, Modifier::REVERSED),
        (sgr.crossed, Modifier::CROSSED_OUT),
    ];
    for (on, m) in flags {
        if on {
            s = s.add_modifier(m);
        }
    }
    s
}
