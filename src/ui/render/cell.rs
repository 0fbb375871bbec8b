//! Text for cells: every outside string is sanitised and cut to its column here, looking at a
//! bounded prefix only, so a 10,000-character name costs what a short one does.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::text::sanitize;
use crate::ui::data::Usage;
use crate::ui::theme::Theme;

/// Put before the title of the pane that has focus, so focus shows without colour too.
pub(crate) const FOCUS_MARK: &str = "▶ ";

/// `text` sanitised and cut to `width` display cells, ending in `…` when cut.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    // Escape sequences only shrink text, so a prefix of this many chars is always enough.
    let bound = text
        .char_indices()
        .nth(width * 4 + 64)
        .map_or(text.len(), |(i, _)| i);
    let clean = sanitize(&text[..bound]);
    let mut out = String::new();
    let mut used = 0;
    let mut cut_at = None;
    for c in clean.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            let len = cut_at.unwrap_or(0);
            out.truncate(len);
            out.push('…');
            return out;
        }
        if used + w < width {
            cut_at = Some(out.len() + c.len_utf8());
        }
        out.push(c);
        used += w;
    }
    if bound < text.len() {
        let len = cut_at.unwrap_or(0);
        out.truncate(len);
        out.push('…');
    }
    out
}

/// `text` sanitised and word-wrapped to `width` cells, in at most `max` lines (the last ends in
/// `…` when the text goes on); a word longer than a line is broken.
pub(crate) fn wrapped(text: &str, width: usize, max: usize) -> Vec<String> {
    if width == 0 || max == 0 {
        return Vec::new();
    }
    let bound = text
        .char_indices()
        .nth(width * max * 4 + 64)
        .map_or(text.len(), |(i, _)| i);
    let clean = sanitize(&text[..bound]);
    let mut lines: Vec<String> = Vec::new();
    let (mut current, mut used) = (String::new(), 0);
    for word in clean.split(' ') {
        let ww: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        let gap = usize::from(!current.is_empty());
        if used + gap + ww <= width {
            if gap == 1 {
                current.push(' ');
            }
            current.push_str(word);
            used += gap + ww;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
            used = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width {
                lines.push(std::mem::take(&mut current));
                used = 0;
            }
            current.push(c);
            used += cw;
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    if lines.len() > max || bound < text.len() {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            *last = fit(&format!("{last} …"), width);
            if !last.ends_with('…') {
                last.push('…');
            }
        }
    }
    lines
}

/// A styled span of `text` fitted to `width`.
pub(crate) fn span(text: &str, width: usize, style: Style) -> Span<'static> {
    Span::styled(fit(text, width), style)
}

/// A one-span line of `text` fitted to `width`.
pub(crate) fn line(text: &str, width: usize, style: Style) -> Line<'static> {
    Line::from(span(text, width, style))
}

/// `1 object`, `3 objects`: a count with its noun, singular for one.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Age of Unix time `then` at `now`: `42s`, `5m`, `3h`, `2d`.
pub(crate) fn age(now: u64, then: u64) -> String {
    let s = now.saturating_sub(then);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// `used/hard` with a 4-cell bar coloured by the percentage when `width` allows.
pub(crate) fn usage(u: Option<&Usage>, width: usize, theme: &Theme) -> Line<'static> {
    let Some(u) = u else {
        return line("-", width, theme.dim);
    };
    let text = format!("{}/{}", u.used_text, u.hard_text);
    let Some(pct) = u.percent() else {
        return line(&text, width, theme.text);
    };
    let style = theme.percent(pct);
    if width < 9 {
        return line(&text, width, style);
    }
    let filled = ((pct / 25.0).round() as usize).min(4);
    Line::from(vec![
        Span::styled("■".repeat(filled), style),
        Span::styled("□".repeat(4 - filled), theme.dim),
        Span::raw(" "),
        span(&text, width - 5, theme.text),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrapped_text_breaks_at_spaces_and_says_when_it_goes_on() {
        assert_eq!(super::wrapped("one two three", 7, 3), ["one two", "three"]);
        assert_eq!(super::wrapped("abcdefghij", 4, 3), ["abcd", "efgh", "ij"]);
        let cut = super::wrapped("one two three four", 7, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'), "{cut:?}");
        assert_eq!(super::wrapped("", 5, 2), [""]);
        assert_eq!(super::wrapped("a\x1b[31mred", 10, 1), ["ared"]);
    }

    use super::*;

    #[test]
    fn fit_cuts_to_display_width() {
        assert_eq!(fit("hello", 10), "hello");
        assert_eq!(fit("hello world", 5), "hell…");
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(fit("\u{1b}[31mred\u{1b}[0m", 10), "red");
        assert_eq!(fit(&"x".repeat(10_000), 4), "xxx…");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn ages() {
        assert_eq!(age(100, 58), "42s");
        assert_eq!(age(10_000, 9_700), "5m");
        assert_eq!(age(200_000, 0), "2d");
        assert_eq!(age(0, 5), "0s");
    }
}
