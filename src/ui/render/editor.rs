//! The editor in the Desired tab: file header, the line numbers (error lines marked), the text
//! area with YAML colouring, the validation error list, and the plan / commit / push popups.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::collections::BTreeSet;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthChar;

use super::cell::{fit, line};
use crate::repo::merge3::Side;
use crate::ui::action::PushResult;
use crate::ui::editor::{Editor, EditorPane};
use crate::ui::keymap::Command;
use crate::ui::layout::centered;
use crate::ui::state::State;
use crate::ui::theme::Theme;

/// Draws the open editor in `area` (the main pane's body).
pub(crate) fn render(state: &State, frame: &mut Frame, area: Rect) {
    let Some(e) = &state.editor else { return };
    let t = &state.theme;
    let w = usize::from(area.width);
    frame.render_widget(
        header(state, e, w),
        Rect::new(area.x, area.y, area.width, 1),
    );
    // The banner: someone else changed this file since the draft's base.
    let banner_h = match state.editor_upstream() {
        Some(up) if area.height > 4 => {
            let km = &state.keymap;
            let text = format!(
                "⚠ changed upstream by {} in {}: {} to merge now, {} to see their change",
                up.author,
                up.commit,
                km.keys_of(Command::MergeUpstream),
                km.keys_of(Command::TheirChange)
            );
            frame.render_widget(
                line(&text, w, t.warn),
                Rect::new(area.x, area.y + 1, area.width, 1),
            );
            1
        }
        _ => 0,
    };
    let errors_h = if e.errors.is_empty() {
        0
    } else {
        (e.errors.len() as u16 + 1).min(6).min(area.height / 3)
    };
    let text_h = area.height.saturating_sub(1 + banner_h + errors_h);
    // The line numbers are drawn here, not by the text area, which would scroll them away with
    // the text.
    let gutter_w = gutter_width(e).min(area.width);
    let gutter_area = Rect::new(area.x, area.y + 1 + banner_h, gutter_w, text_h);
    let text_area = Rect::new(
        area.x + gutter_w,
        area.y + 1 + banner_h,
        area.width - gutter_w,
        text_h,
    );
    frame.render_widget(&e.area, text_area);
    colour_yaml(e, t, text_area, frame.buffer_mut());
    let marked = error_lines(e);
    gutter(e, t, &marked, gutter_area, frame.buffer_mut());
    underline_errors(e, t, &marked, text_area, frame.buffer_mut());
    if errors_h > 0 {
        let strip = Rect::new(area.x, area.y + 1 + banner_h + text_h, area.width, errors_h);
        errors(state, e, frame, strip);
    }
    popups(state, e, frame);
}

fn header(state: &State, e: &Editor, w: usize) -> Line<'static> {
    let t = &state.theme;
    let (row, col) = e.cursor();
    let status = match &e.pane {
        _ if e.read_only => Span::styled(" [READ-ONLY]", t.warn),
        EditorPane::Validating => Span::styled(" validating…", t.warn),
        EditorPane::Planning => Span::styled(" planning…", t.warn),
        EditorPane::Merging => Span::styled(" merging…", t.warn),
        _ if e.dirty => Span::styled(" ✎ editing", t.draft),
        _ if e.drafted && e.base_text.is_none() => {
            Span::styled(" ✎ new file, draft saved", t.draft)
        }
        _ if e.drafted => Span::styled(" ✎ draft saved", t.draft),
        _ => Span::styled(" committed version", t.dim),
    };
    let pos = format!("  ln {}, col {}", row + 1, col + 1);
    let room = w.saturating_sub(status.width() + pos.len() + 1);
    Line::from(vec![
        Span::styled(fit(&e.path, room), t.title),
        status,
        Span::styled(pos, t.dim),
    ])
}

/// Width of the line-number column: a margin (where an error line's `✖` goes), the widest
/// number, a margin.
fn gutter_width(e: &Editor) -> u16 {
    let digits = e.area.lines().len().max(1).ilog10() + 1;
    u16::try_from(digits).unwrap_or(u16::MAX).saturating_add(2)
}

/// The 1-based lines the last validation found errors on.
fn error_lines(e: &Editor) -> BTreeSet<usize> {
    e.errors
        .iter()
        .filter(|(line, _)| *line > 0)
        .map(|(line, _)| *line as usize)
        .collect()
}

/// Draws the numbers of the lines the text area shows in `area`; a line with an error is
/// marked `✖` (seen without colour too) in the error style.
fn gutter(e: &Editor, t: &Theme, marked: &BTreeSet<usize>, area: Rect, buf: &mut Buffer) {
    let (top, _) = e.area.scroll_offset();
    let digits = usize::from(area.width.saturating_sub(2));
    let w = usize::from(area.width);
    for y in 0..area.height {
        let line = usize::from(top) + usize::from(y) + 1;
        if line > e.area.lines().len() {
            break;
        }
        let (mark, style) = if marked.contains(&line) {
            ("✖", t.error)
        } else {
            (" ", t.dim)
        };
        let cell = fit(&format!("{mark}{line:>digits$} "), w);
        buf.set_stringn(area.x, area.y + y, cell, w, style);
    }
}

/// Underlines the text of each error line the text area shows (in the error colour, when the
/// theme has one), from its indentation to its end.
fn underline_errors(e: &Editor, t: &Theme, marked: &BTreeSet<usize>, area: Rect, buf: &mut Buffer) {
    let (top_row, top_col) = e.area.scroll_offset();
    let tab = usize::from(e.area.tab_length().max(1));
    let mut style = Style::new().add_modifier(Modifier::UNDERLINED);
    if let Some(colour) = t.error.fg {
        style = style.underline_color(colour);
    }
    for y in 0..area.height {
        let row = usize::from(top_row) + usize::from(y);
        let Some(text) = e.area.lines().get(row) else {
            break;
        };
        if !marked.contains(&(row + 1)) {
            continue;
        }
        let (mut col, mut indent) = (0usize, None);
        for c in text.chars() {
            if indent.is_none() && !c.is_whitespace() {
                indent = Some(col);
            }
            col += if c == '\t' {
                tab - col % tab
            } else {
                c.width().unwrap_or(0)
            };
        }
        let Some(indent) = indent else { continue };
        let left = usize::from(top_col);
        for screen in indent.saturating_sub(left)..col.saturating_sub(left) {
            match u16::try_from(screen).map(|s| area.x.saturating_add(s)) {
                Ok(x) if x < area.right() => {
                    buf[(x, area.y + y)].set_style(style);
                }
                _ => break,
            }
        }
    }
}

fn errors(state: &State, e: &Editor, frame: &mut Frame, area: Rect) {
    let t = &state.theme;
    let w = usize::from(area.width);
    // The error walked to, or while typing the first error of the cursor's line.
    let selected = match e.pane {
        EditorPane::Errors { selected } => Some(selected),
        _ => {
            let line = e.cursor().0 + 1;
            e.errors.iter().position(|(l, _)| *l as usize == line)
        }
    };
    let km = &state.keymap;
    let head = format!(
        "{} · {}/{} walk · {} text",
        super::cell::count(e.errors.len(), "error"),
        km.keys_of(Command::NextError),
        km.keys_of(Command::PrevError),
        km.keys_of(Command::Back),
    );
    let mut lines = vec![line(&head, w, t.error)];
    let room = usize::from(area.height).saturating_sub(1);
    let first = selected.map_or(0, |s| s.saturating_sub(room.saturating_sub(1)));
    for (i, (ln, msg)) in e.errors.iter().enumerate().skip(first).take(room) {
        let style = if Some(i) == selected {
            t.selected
        } else {
            t.text
        };
        lines.push(line(&format!("  line {ln}: {msg}"), w, style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// What a character range of a YAML line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Key,
    Comment,
}

/// Key and comment ranges of one YAML line, in char indices.
fn yaml_parts(line: &str) -> Vec<(usize, usize, Part)> {
    let chars: Vec<char> = line.chars().collect();
    let mut quote = None;
    let mut comment = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || chars[i - 1].is_whitespace() => {
                comment = i;
                break;
            }
            _ => {}
        }
    }
    let mut parts = Vec::new();
    let mut start = 0;
    while start < comment && chars[start] == ' ' {
        start += 1;
    }
    while start + 1 < comment && chars[start] == '-' && chars[start + 1] == ' ' {
        start += 2;
        while start < comment && chars[start] == ' ' {
            start += 1;
        }
    }
    if let Some(colon) =
        (start..comment).find(|&i| chars[i] == ':' && (i + 1 == chars.len() || chars[i + 1] == ' '))
        && colon > start
        && !matches!(chars[start], '"' | '\'' | '{' | '[')
    {
        parts.push((start, colon, Part::Key));
    }
    if comment < chars.len() {
        parts.push((comment, chars.len(), Part::Comment));
    }
    parts
}

/// A YAML line for read-only views: sanitised, fitted to `w`, keys and comments coloured.
pub(crate) fn yaml_line(text: &str, w: usize, t: &Theme) -> Line<'static> {
    let fitted = fit(text, w);
    let chars: Vec<char> = fitted.chars().collect();
    let mut spans = Vec::new();
    let mut at = 0;
    for (start, end, part) in yaml_parts(&fitted) {
        if start > at {
            spans.push(Span::styled(
                chars[at..start].iter().collect::<String>(),
                t.text,
            ));
        }
        let style = if part == Part::Key {
            t.yaml_key
        } else {
            t.yaml_comment
        };
        spans.push(Span::styled(
            chars[start..end].iter().collect::<String>(),
            style,
        ));
        at = end;
    }
    if at < chars.len() {
        spans.push(Span::styled(chars[at..].iter().collect::<String>(), t.text));
    }
    Line::from(spans)
}

/// Colours YAML keys and comments in the cells the text area drew (its API has no styling
/// hook for text, so this patches the buffer using its scroll position).
fn colour_yaml(e: &Editor, t: &Theme, area: Rect, buf: &mut Buffer) {
    let (top_row, top_col) = e.area.scroll_offset();
    let tab = usize::from(e.area.tab_length().max(1));
    let left = area.x;
    for y in 0..area.height {
        let Some(text) = e.area.lines().get(usize::from(top_row) + usize::from(y)) else {
            break;
        };
        let parts = yaml_parts(text);
        if parts.is_empty() {
            continue;
        }
        let mut col = 0usize;
        for (i, c) in text.chars().enumerate() {
            let w = if c == '\t' {
                tab - col % tab
            } else {
                c.width().unwrap_or(0)
            };
            let style: Option<Style> =
                parts
                    .iter()
                    .find(|(s, e, _)| (*s..*e).contains(&i))
                    .map(|(.., p)| match p {
                        Part::Key => t.yaml_key,
                        Part::Comment => t.yaml_comment,
                    });
            if let Some(style) = style {
                for dx in 0..w {
                    let screen = (col + dx).checked_sub(usize::from(top_col));
                    if let Some(x) = screen
                        .and_then(|s| u16::try_from(s).ok())
                        .map(|s| left.saturating_add(s))
                        && x < area.right()
                    {
                        buf[(x, area.y + y)].set_style(style);
                    }
                }
            }
            col += w;
        }
    }
}

fn popups(state: &State, e: &Editor, frame: &mut Frame) {
    let t = &state.theme;
    let km = &state.keymap;
    let screen = frame.area();
    match &e.pane {
        EditorPane::Plan { lines, scroll } => {
            let height = (lines.len() as u16 + 2)
                .max(8)
                .min(screen.height.saturating_sub(4));
            let area = centered(screen, screen.width.saturating_sub(6).min(120), height);
            let hint = if e.read_only {
                format!(
                    " read-only ORB: no commit · {}/{} scroll · {} back to the file ",
                    km.keys_of(Command::Down),
                    km.keys_of(Command::Up),
                    km.keys_of(Command::Back)
                )
            } else {
                format!(
                    " {} commit · {}/{} scroll · {} back to the file ",
                    km.keys_of(Command::Commit),
                    km.keys_of(Command::Down),
                    km.keys_of(Command::Up),
                    km.keys_of(Command::Back)
                )
            };
            let inner = popup(
                frame,
                area,
                t,
                &format!("Plan: {} → {}", e.path, e.orb_name),
                &hint,
            );
            let w = usize::from(inner.width);
            let shown: Vec<Line> = lines
                .iter()
                .skip(*scroll)
                .take(usize::from(inner.height))
                .map(|l| line(l, w, plan_style(t, l)))
                .collect();
            let body = if lines.is_empty() {
                vec![line(
                    "Nothing to change: the file matches what is applied.",
                    w,
                    t.dim,
                )]
            } else {
                shown
            };
            frame.render_widget(Paragraph::new(body), inner);
        }
        EditorPane::CommitMessage => {
            let area = centered(screen, screen.width.saturating_sub(6).min(72), 7);
            let inner = popup(
                frame,
                area,
                t,
                "Commit message",
                " enter commit & push · esc back (the message is kept) ",
            );
            let w = usize::from(inner.width);
            let typed = if e.message.is_empty() {
                Span::styled(fit(&e.default_message(), w.saturating_sub(4)), t.dim)
            } else {
                Span::raw(fit(&e.message, w.saturating_sub(3)))
            };
            let lines = vec![
                line(&format!("{} → {}", e.path, e.orb_name), w, t.dim),
                Line::default(),
                Line::from(vec![
                    Span::styled("> ", t.key),
                    Span::styled("▏", t.key),
                    typed,
                ]),
                line("(enter with nothing typed uses the grey message)", w, t.dim),
            ];
            frame.render_widget(Paragraph::new(lines), inner);
        }
        EditorPane::Pushing(progress) => {
            let area = centered(screen, screen.width.saturating_sub(6).min(80), 12);
            let inner = popup(
                frame,
                area,
                t,
                &format!("Pushing to {}…", e.orb_name),
                " wait for the result ",
            );
            let w = usize::from(inner.width);
            let room = usize::from(inner.height);
            let lines: Vec<Line> = progress
                .iter()
                .skip(progress.len().saturating_sub(room))
                .map(|l| line(l, w, t.text))
                .collect();
            frame.render_widget(Paragraph::new(lines), inner);
        }
        EditorPane::PushResult(PushResult::Unchanged(commit)) => {
            let area = centered(screen, screen.width.saturating_sub(6).min(72), 7);
            let inner = popup(
                frame,
                area,
                t,
                "Nothing to commit",
                " enter/esc back to the files ",
            );
            let w = usize::from(inner.width);
            let lines = vec![
                line(
                    &format!("nothing to commit: the file equals {commit}"),
                    w,
                    t.accent,
                ),
                line(&e.path, w, t.dim),
                Line::default(),
                line("No commit was made; there is no draft left.", w, t.text),
            ];
            frame.render_widget(Paragraph::new(lines), inner);
        }
        EditorPane::Conflicts {
            rows,
            choices,
            selected,
        } => {
            let height = (rows.len() as u16 * 3 + 6).min(screen.height.saturating_sub(4));
            let area = centered(screen, screen.width.saturating_sub(6).min(120), height);
            let inner = popup(
                frame,
                area,
                t,
                &format!("Conflicts with the remote: {}", e.path),
                " t theirs · m mine · T/M all · enter merge · e/esc edit the file ",
            );
            let w = usize::from(inner.width);
            let mut lines = vec![
                line(
                    "Nothing was pushed; the draft is kept. Both sides changed these keys:",
                    w,
                    t.warn,
                ),
                Line::default(),
            ];
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
            let room = usize::from(inner.height).saturating_sub(2) / 3;
            let first = selected.saturating_sub(room.saturating_sub(1));
            for (i, (row, choice)) in rows.iter().zip(choices).enumerate().skip(first).take(room) {
                let style = if i == *selected { t.selected } else { t.text };
                let mark = match choice {
                    Some(Side::Theirs) => "[theirs]",
                    Some(Side::Ours) => "[mine]  ",
                    None => "[?]     ",
                };
                lines.push(line(&format!("{mark} {}: {}", row.doc, row.path), w, style));
                lines.push(line(
                    &format!("           theirs {}", show(&row.theirs)),
                    w,
                    t.dim,
                ));
                lines.push(line(
                    &format!("           yours  {}", show(&row.ours)),
                    w,
                    t.dim,
                ));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
        EditorPane::PushResult(PushResult::Committed(commit)) => {
            let area = centered(screen, screen.width.saturating_sub(6).min(72), 7);
            let inner = popup(frame, area, t, "Pushed", " enter/esc back to the files ");
            let w = usize::from(inner.width);
            let lines = vec![
                Line::from(vec![
                    Span::styled("✔ pushed ", t.ok),
                    Span::styled(fit(commit, 16), t.accent),
                    Span::raw(format!(" to {}", fit(&e.orb_name, 30))),
                ]),
                line(&e.path, w, t.dim),
                Line::default(),
                line(
                    "Draft cleared. The engine applies it on its next sync.",
                    w,
                    t.text,
                ),
            ];
            frame.render_widget(Paragraph::new(lines), inner);
        }
        EditorPane::PushResult(PushResult::Rejected(report)) => {
            let height = (report.lines().count() as u16 + 6).min(screen.height.saturating_sub(4));
            let area = centered(screen, screen.width.saturating_sub(6).min(100), height);
            let inner = popup(
                frame,
                area,
                t,
                "Push rejected",
                " enter/esc back to the file, then ctrl-s to retry ",
            );
            let w = usize::from(inner.width);
            let mut lines = vec![
                line("The push was rejected. Your draft is kept.", w, t.error),
                Line::default(),
            ];
            let room = usize::from(inner.height).saturating_sub(4);
            lines.extend(report.lines().take(room).map(|l| line(l, w, t.text)));
            lines.push(Line::default());
            lines.push(line(
                "Fix the file (or wait for the other change to land), then validate again.",
                w,
                t.dim,
            ));
            frame.render_widget(Paragraph::new(lines), inner);
        }
        _ => {}
    }
}

/// Colour of a plan line: `+` added, `-` removed, `@@`/`~` headers.
pub(crate) fn plan_style(t: &Theme, l: &str) -> Style {
    if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
        t.diff_hunk
    } else if l.starts_with('+') {
        t.diff_add
    } else if l.starts_with('-') {
        t.diff_del
    } else if l.starts_with("create")
        || l.starts_with("update")
        || l.starts_with("delete")
        || l.starts_with('~')
    {
        t.title
    } else {
        t.text
    }
}

/// Clears `area`, draws a titled border with a bottom hint; returns the inside.
pub(crate) fn popup(frame: &mut Frame, area: Rect, t: &Theme, title: &str, hint: &str) -> Rect {
    let w = usize::from(area.width.saturating_sub(4));
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" {} ", fit(title, w.saturating_sub(2))),
            t.title,
        ))
        .title_bottom(Span::styled(fit(hint, w), t.dim));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keys_and_comments() {
        assert_eq!(
            yaml_parts("  name: x # c"),
            vec![(2, 6, Part::Key), (10, 13, Part::Comment)]
        );
        assert_eq!(yaml_parts("- match: a"), vec![(2, 7, Part::Key)]);
        assert_eq!(yaml_parts("url: \"http://x#y\""), vec![(0, 3, Part::Key)]);
        assert_eq!(yaml_parts("# only"), vec![(0, 6, Part::Comment)]);
        assert_eq!(yaml_parts("plain text"), vec![]);
    }
}
