//! The one sanitiser for text from outside (object names, messages, git output, file contents
//! shown in lists): control characters, terminal escape sequences and bidi overrides are removed
//! before the text reaches a terminal; and [`error_chain`], the one way an error is shown to people.

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
}
