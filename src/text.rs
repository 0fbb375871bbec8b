//! The one sanitiser for text from outside (object names, messages, git output, file contents
//! shown in lists): control characters, terminal escape sequences and bidi overrides are removed
//! before the text reaches a terminal; [`sanitize_sgr`], the same for logs with their SGR colour
//! codes kept as attribute runs; [`error_chain`], the one way an error is shown to people; and
//! [`table`], the CLI's plain-text columns.

use std::borrow::Cow;

/// `text` without escape sequences (CSI, OSC, other ESC forms), C0/C1 controls (tab becomes a
/// space) and Unicode bidi controls. Returns the input unchanged (borrowed) when it is clean.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_string(&mut chars),
            '\t' => out.push(' '),
            c if unsafe_char(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn unsafe_char(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | '_' | '^' | 'X') => skip_string(chars),
        // Two-character escapes (ESC c, ESC 7, ESC ( B...): drop the intermediates and final.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameters and intermediates up to a final byte in @..~.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS/APC/PM/SOS strings: up to BEL or ST (ESC \ or U+009C).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// A colour an SGR code names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgrColor {
    /// One of the 256 indexed colours (0-15 are the terminal's named ones).
    Indexed(u8),
    /// A 24-bit colour.
    Rgb(u8, u8, u8),
}

/// The text attributes SGR codes (`ESC [ … m`) set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sgr {
    /// Foreground colour.
    pub fg: Option<SgrColor>,
    /// Background colour.
    pub bg: Option<SgrColor>,
    /// Bold.
    pub bold: bool,
    /// Faint.
    pub dim: bool,
    /// Italic.
    pub italic: bool,
    /// Underlined.
    pub underline: bool,
    /// Foreground and background swapped.
    pub reverse: bool,
    /// Crossed out.
    pub crossed: bool,
}

/// A run of text (byte range of the cleaned text) with the attributes SGR codes gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgrRun {
    /// Start byte.
    pub start: u32,
    /// End byte (exclusive).
    pub end: u32,
    /// Its attributes.
    pub sgr: Sgr,
}

/// `text` cleaned as [`sanitize`] cleans it, but with its SGR colour and attribute codes
/// (`ESC [ … m`, CSI `…m`) kept as runs over the clean text; every other escape sequence, control
/// character and bidi control is removed. Runs with no attribute are left out.
pub fn sanitize_sgr(text: &str) -> (String, Vec<SgrRun>) {
    let mut out = String::with_capacity(text.len());
    let mut runs = Vec::new();
    let (mut cur, mut start) = (Sgr::default(), 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let params = match c {
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                csi(&mut chars)
            }
            '\u{1b}' => {
                skip_escape(&mut chars);
                None
            }
            '\u{9b}' => csi(&mut chars),
            '\u{9d}' => {
                skip_string(&mut chars);
                None
            }
            '\t' => {
                out.push(' ');
                None
            }
            c if unsafe_char(c) => None,
            c => {
                out.push(c);
                None
            }
        };
        if let Some(params) = params {
            let next = apply_sgr(cur, &params);
            if next != cur {
                push_run(&mut runs, start, out.len(), cur);
                (cur, start) = (next, out.len());
            }
        }
    }
    push_run(&mut runs, start, out.len(), cur);
    (out, runs)
}

fn push_run(runs: &mut Vec<SgrRun>, start: usize, end: usize, sgr: Sgr) {
    if end > start && sgr != Sgr::default() {
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        runs.push(SgrRun {
            start: at(start),
            end: at(end),
            sgr,
        });
    }
}

/// The rest of a CSI sequence: its parameters when it is an SGR (`…m` with digits, `;` and `:`
/// only), else None (the sequence is dropped).
fn csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Vec<u16>> {
    let mut raw = String::new();
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            if c != 'm'
                || raw.len() > 64
                || !raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ';' || c == ':')
            {
                return None;
            }
            return Some(
                raw.split([';', ':'])
                    .map(|p| p.parse().unwrap_or(0))
                    .collect(),
            );
        }
        raw.push(c);
    }
    None
}

/// `sgr` after the codes `params` (an empty list resets, as `ESC [ m` does).
fn apply_sgr(mut sgr: Sgr, params: &[u16]) -> Sgr {
    if params.is_empty() {
        return Sgr::default();
    }
    let mut i = 0;
    while i < params.len() {
        let p = params[i];
        match p {
            0 => sgr = Sgr::default(),
            1 => sgr.bold = true,
            2 => sgr.dim = true,
            3 => sgr.italic = true,
            4 => sgr.underline = true,
            7 => sgr.reverse = true,
            9 => sgr.crossed = true,
            22 => (sgr.bold, sgr.dim) = (false, false),
            23 => sgr.italic = false,
            24 => sgr.underline = false,
            27 => sgr.reverse = false,
            29 => sgr.crossed = false,
            30..=37 => sgr.fg = Some(SgrColor::Indexed((p - 30) as u8)),
            39 => sgr.fg = None,
            40..=47 => sgr.bg = Some(SgrColor::Indexed((p - 40) as u8)),
            49 => sgr.bg = None,
            90..=97 => sgr.fg = Some(SgrColor::Indexed((p - 90 + 8) as u8)),
            100..=107 => sgr.bg = Some(SgrColor::Indexed((p - 100 + 8) as u8)),
            38 | 48 => {
                let byte = |k: usize| params.get(k).map(|&v| v.min(255) as u8);
                let colour = match params.get(i + 1) {
                    Some(5) => {
                        i += 2;
                        byte(i).map(SgrColor::Indexed)
                    }
                    Some(2) => {
                        i += 4;
                        match (byte(i - 2), byte(i - 1), byte(i)) {
                            (Some(r), Some(g), Some(b)) => Some(SgrColor::Rgb(r, g, b)),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if p == 38 {
                    sgr.fg = colour;
                } else {
                    sgr.bg = colour;
                }
            }
            _ => {}
        }
        i += 1;
    }
    sgr
}

/// An error for people: its root cause first ("Connection refused (os error 111)"), then the
/// outer error for context.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut root = e.source();
    while let Some(next) = root.and_then(|r| r.source()) {
        root = Some(next);
    }
    match root {
        Some(r) => format!("{r} ({e})"),
        None => e.to_string(),
    }
}

/// Rows as columns as wide as their widest cell, two spaces apart (the last one unpadded).
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn removes_escapes_controls_and_bidi() {
        assert!(matches!(
            sanitize("plain name-1"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(sanitize("a\u{1b}]0;evil title\u{7}b"), "ab");
        assert_eq!(
            sanitize("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "alink"
        );
        assert_eq!(sanitize("x\r\ny\u{0}z\u{7f}"), "xyz");
        assert_eq!(sanitize("tab\there"), "tab here");
        assert_eq!(sanitize("abc\u{202e}txt.exe\u{2066}"), "abctxt.exe");
        assert_eq!(sanitize("\u{9b}2Jclear"), "clear");
        assert_eq!(sanitize("\u{1b}(Bok\u{1b}c"), "ok");
        assert_eq!(sanitize("日本語 ok"), "日本語 ok");
    }

    #[test]
    fn sgr_codes_become_runs_and_every_other_escape_goes() {
        use super::{Sgr, SgrColor, SgrRun, sanitize_sgr};
        let (text, runs) = sanitize_sgr("ok \u{1b}[1;31mERROR\u{1b}[0m done");
        assert_eq!(text, "ok ERROR done");
        let red_bold = Sgr {
            fg: Some(SgrColor::Indexed(1)),
            bold: true,
            ..Default::default()
        };
        assert_eq!(
            runs,
            [SgrRun {
                start: 3,
                end: 8,
                sgr: red_bold
            }]
        );
        let (text, runs) = sanitize_sgr("\u{1b}[38;5;208mA\u{1b}[38;2;1;2;3mB\u{1b}[m");
        assert_eq!(text, "AB");
        assert_eq!(runs[0].sgr.fg, Some(SgrColor::Indexed(208)));
        assert_eq!(runs[1].sgr.fg, Some(SgrColor::Rgb(1, 2, 3)));
        // Cursor moves, screen clears, titles, hyperlinks, bidi and controls never get through.
        let hostile = "a\u{1b}[2J\u{1b}[Hb\u{1b}]0;t\u{7}c\u{202e}d\u{1b}[?1049h\r\u{8}e\u{9b}31mf";
        let (text, runs) = sanitize_sgr(hostile);
        assert_eq!(text, "abcdef");
        assert_eq!(runs.len(), 1, "the C1 CSI's SGR still styles: {runs:?}");
    }
}
