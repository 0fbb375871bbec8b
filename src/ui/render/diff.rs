//! The diff view (`d`): a fixed column header with where the view is, then each object's head,
//! the engine's word from current/, and its rows, live left and desired right (or unified).
//! Only change lines are coloured, each with a marker (`-` removed, `+` added, `~` changed) so
//! they read without colour too. Every text is sanitised and cut with `…`, never silently.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

use super::cell::{fit, line};
use super::editor::popup;
use crate::ui::diff::{self, DiffView, LiveScope, Mark, Numbered, Shown, Verdict};
use crate::ui::keymap::Command;
use crate::ui::state::State;
use crate::ui::theme::Theme;

/// Draws the diff view in `area`.
pub(crate) fn render(state: &State, frame: &mut Frame, area: Rect, view: &DiffView) {
    let t = &state.theme;
    let km = &state.keymap;
    // The first key of each command keeps the hint within 80 columns.
    let key = |c: Command| {
        let keys = km.keys_of(c);
        match keys.split_once('/') {
            Some((first, _)) if !first.is_empty() => first.to_string(),
            _ => keys,
        }
    };
    let hint = format!(
        " {} {} · {} {} · {}/{} change · {}/{} scroll · {} close ",
        key(Command::DiffUnified),
        if view.unified {
            "side by side"
        } else {
            "unified"
        },
        key(Command::DiffFull),
        match view.scope {
            LiveScope::Owned => "whole object",
            LiveScope::Full => "desired's fields",
        },
        key(Command::NextChange),
        key(Command::PrevChange),
        key(Command::ScrollLeft),
        key(Command::ScrollRight),
        key(Command::Back),
    );
    let title = match &view.sources {
        None => format!("Diff: {}", view.title),
        Some(_) if view.changes() == 0 => format!("Diff: {} · no change", view.title),
        Some(_) => format!(
            "Diff: {} · {}",
            view.title,
            super::cell::count(view.changes(), "changed line")
        ),
    };
    let inner = popup(frame, area, t, &title, &hint);
    let w = usize::from(inner.width);
    if view.sources.is_none() {
        let text = "Reading desired/, current/status.yaml and the cluster…";
        frame.render_widget(line(text, w, t.warn), inner);
        return;
    }
    let lines = view.shown();
    let h = usize::from(inner.height).saturating_sub(1);
    let scroll = view.scroll.min(lines.len().saturating_sub(h));
    let end = (scroll + h).min(lines.len());
    let hunks = diff::hunks(&lines);
    let gutter = gutter_width(&lines);
    let mut body = vec![column_header(view, t, w, scroll, end, lines.len(), &hunks)];
    if lines.is_empty() {
        body.push(line("Nothing to compare.", w, t.dim));
    }
    for shown in &lines[scroll..end] {
        body.push(match shown {
            Shown::Head(s) => head(s, t, w),
            Shown::Info(text) => line(&format!("  {text}"), w, t.dim),
            Shown::Gap => Line::default(),
            Shown::Pair(row) => pair(row, t, w, gutter, view.hscroll),
            Shown::Single {
                mark,
                live,
                desired,
                text,
            } => single(*mark, (*live, *desired), text, t, w, gutter, view.hscroll),
        });
    }
    frame.render_widget(Paragraph::new(body), inner);
}

/// What the columns are and, right-aligned when it fits, where the view is.
fn column_header(
    view: &DiffView,
    t: &Theme,
    w: usize,
    scroll: usize,
    end: usize,
    len: usize,
    hunks: &[usize],
) -> Line<'static> {
    let live = match view.scope {
        LiveScope::Owned => "live: the fields desired sets",
        LiveScope::Full => "live: the whole object",
    };
    let desired = "desired/ (git)";
    let first = (scroll + 1).min(end);
    let change = hunks.iter().position(|&h| h >= scroll && h < end);
    let mut long = format!("lines {first}–{end} of {len}");
    let mut short = format!("{first}–{end}/{len}");
    match change {
        Some(k) => {
            long.push_str(&format!(" · change {}/{}", k + 1, hunks.len()));
            short.push_str(&format!(" · {}/{}", k + 1, hunks.len()));
        }
        None if !hunks.is_empty() => {
            long.push_str(&format!(" · {}", super::cell::count(hunks.len(), "change")));
        }
        None => {}
    }
    if view.hscroll > 0 {
        long.push_str(&format!(" · col {}", view.hscroll + 1));
        short.push_str(&format!(" ·c{}", view.hscroll + 1));
    }
    let labels = if view.unified {
        format!("--- {live}  +++ {desired}")
    } else {
        let half = w.saturating_sub(1) / 2;
        let left = fit(&format!("- {live}"), half);
        let pad = half.saturating_sub(left.chars().count());
        format!("{left}{}│+ {desired}", " ".repeat(pad))
    };
    let used = labels.chars().count();
    let at = [long, short]
        .into_iter()
        .find(|a| used + 2 + a.chars().count() <= w)
        .unwrap_or_default();
    let gap = w.saturating_sub(used + at.chars().count());
    line(
        &format!("{labels}{}{at}", " ".repeat(gap)),
        w,
        t.table_header,
    )
}

/// `changed  Profile alice  desired/profiles/alice.yaml:1`.
fn head(s: &diff::Section, t: &Theme, w: usize) -> Line<'static> {
    let style = match s.verdict {
        Verdict::InSync => t.ok,
        Verdict::Changed | Verdict::Missing => t.warn,
        Verdict::Extra | Verdict::Unknown => t.error,
        Verdict::Absent => t.dim,
    };
    let word = format!("{} ", s.verdict.word());
    let name = fit(&s.name, w.saturating_sub(word.chars().count()));
    let used = word.chars().count() + name.chars().count();
    let mut spans = vec![Span::styled(word, style), Span::styled(name, t.title)];
    if let Some(file) = &s.file {
        spans.push(Span::styled(
            fit(&format!("  {file}"), w.saturating_sub(used)),
            t.dim,
        ));
    }
    Line::from(spans)
}

/// Width of the line numbers: the widest number shown.
fn gutter_width(lines: &[Shown<'_>]) -> usize {
    let widest = lines
        .iter()
        .filter_map(|l| match l {
            Shown::Pair(r) => [&r.live, &r.desired]
                .iter()
                .filter_map(|s| s.as_ref().map(|n| n.n))
                .max(),
            Shown::Single { live, desired, .. } => (*live).max(*desired),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    widest.to_string().len().max(2)
}

/// A side-by-side row: each half its line number, marker and text from column `hscroll`.
fn pair(row: &diff::Row, t: &Theme, w: usize, gutter: usize, hscroll: usize) -> Line<'static> {
    let half = w.saturating_sub(1) / 2;
    let (left_mark, right_mark, left_style, right_style) = match row.mark {
        Mark::Same => (' ', ' ', t.text, t.text),
        Mark::Changed => ('~', '~', t.warn, t.warn),
        Mark::Removed => ('-', ' ', t.diff_del, t.text),
        Mark::Added => (' ', '+', t.text, t.diff_add),
    };
    let mut spans = side(
        row.live.as_ref(),
        left_mark,
        left_style,
        t,
        half,
        gutter,
        hscroll,
    );
    spans.push(Span::styled("│", t.dim));
    spans.extend(side(
        row.desired.as_ref(),
        right_mark,
        right_style,
        t,
        w.saturating_sub(half + 1),
        gutter,
        hscroll,
    ));
    Line::from(spans)
}

/// One half of a row, exactly `w` cells wide; blank filler when the side has no line here.
fn side(
    n: Option<&Numbered>,
    mark: char,
    style: Style,
    t: &Theme,
    w: usize,
    gutter: usize,
    hscroll: usize,
) -> Vec<Span<'static>> {
    let Some(n) = n else {
        return vec![Span::raw(" ".repeat(w))];
    };
    let number = fit(&format!("{:>gutter$} ", n.n), w);
    let text_w = w.saturating_sub(number.chars().count() + 2);
    let text = from_column(&n.text, hscroll, text_w);
    let pad = text_w.saturating_sub(text.chars().map(|c| c.width().unwrap_or(0)).sum());
    vec![
        Span::styled(number, t.dim),
        Span::styled(
            fit(&format!("{mark} "), w.saturating_sub(gutter + 1)),
            style,
        ),
        Span::styled(format!("{text}{}", " ".repeat(pad)), style),
    ]
}

/// A unified line: both line numbers (live, desired), the marker and the text from column
/// `hscroll`.
fn single(
    mark: Mark,
    (live, desired): (Option<usize>, Option<usize>),
    text: &str,
    t: &Theme,
    w: usize,
    gutter: usize,
    hscroll: usize,
) -> Line<'static> {
    let (m, style) = match mark {
        Mark::Removed => ('-', t.diff_del),
        Mark::Added => ('+', t.diff_add),
        Mark::Same | Mark::Changed => (' ', t.text),
    };
    let num = |n: Option<usize>| n.map_or(" ".repeat(gutter), |n| format!("{n:>gutter$}"));
    let numbers = fit(&format!("{} {}", num(live), num(desired)), w);
    let text_w = w.saturating_sub(numbers.chars().count() + 3);
    Line::from(vec![
        Span::styled(numbers, t.dim),
        Span::styled(format!(" {m} "), style),
        Span::styled(from_column(text, hscroll, text_w), style),
    ])
}

/// `text` from display column `skip` on, cut to `w` cells; `…` marks either cut end.
fn from_column(text: &str, skip: usize, w: usize) -> String {
    if skip == 0 {
        return fit(text, w);
    }
    let mut used = 0;
    let rest = text
        .char_indices()
        .find(|(_, c)| {
            let past = used >= skip;
            used += c.width().unwrap_or(0);
            past
        })
        .map_or("", |(i, _)| &text[i..]);
    if rest.is_empty() || w == 0 {
        return String::new();
    }
    format!("…{}", fit(rest, w - 1))
}

#[cfg(test)]
mod tests {
    use super::from_column;

    #[test]
    fn horizontal_scroll_marks_both_cut_ends() {
        assert_eq!(from_column("abcdef", 0, 10), "abcdef");
        assert_eq!(from_column("abcdef", 0, 4), "abc…");
        assert_eq!(from_column("abcdef", 2, 10), "…cdef");
        assert_eq!(from_column("abcdefgh", 2, 4), "…cd…");
        assert_eq!(from_column("ab", 4, 10), "");
    }
}
