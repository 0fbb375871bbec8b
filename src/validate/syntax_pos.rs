//! Where a YAML syntax error's cause is written, when the parser's marker is elsewhere.
//!
//! A line such as `  name alice` (a key missing its `: `) is valid on its own: the parser reads
//! it as plain text running on into the next line and only fails at that line's `:`, so its
//! marker is one line (or more) after the line to fix. A tab in the indentation of a line that
//! continues a plain scalar is reported at the scalar's start, the line before the tab.

use super::yaml::Pos;
use serde_saphyr::granit_parser::{ErrorKind, ScanError};

/// The position and message of syntax error `e` in `text`: where the user has to look.
pub(crate) fn locate(text: &str, e: &ScanError) -> (Pos, String) {
    let marker = e.marker();
    let at = Pos {
        line: marker.line(),
        column: marker.col() + 1,
    };
    let message = format!("syntax error: {}", e.info());
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    match e.kind() {
        ErrorKind::MappingValueNotAllowed => match run_on_start(&lines, at) {
            Some(start) => {
                let hint = format!(
                    "{message} (the text runs on into line {}: a missing `: ` or a wrong indent?)",
                    at.line
                );
                (start, hint)
            }
            None => (at, message),
        },
        ErrorKind::TabInPlainScalar => (tab_after(&lines, at).unwrap_or(at), message),
        _ => (at, message),
    }
}

/// Where the plain text ending at the refused `:` at `at` starts, when that is on an earlier
/// line (None when the text before the `:` starts on its own line).
fn run_on_start(lines: &[&str], at: Pos) -> Option<Pos> {
    let line = lines.get(at.line.checked_sub(1)?)?;
    let before: String = line.chars().take(at.column - 1).collect();
    let before = before.trim();
    // Only plain text continues a scalar from the line above.
    if before.is_empty()
        || before.contains(": ")
        || before.contains(" #")
        || before.starts_with(['-', '?', '#', '"', '\'', '[', '{'])
    {
        return None;
    }
    let mut first = at.line;
    for n in (1..at.line).rev() {
        let text = lines[n - 1];
        let trimmed = text.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with("---") || trimmed.starts_with("...") {
            break;
        }
        match value_start(text) {
            Some(Some(column)) => return Some(Pos { line: n, column }),
            Some(None) => break,
            None => first = n,
        }
    }
    (first < at.line).then(|| Pos {
        line: first,
        column: indent(lines[first - 1]) + 1,
    })
}

/// On a line with a `key:` or `- ` indicator: the 1-based column of the plain text after the
/// last one (`Some(None)` when nothing follows it); None for a line of plain text.
fn value_start(line: &str) -> Option<Option<usize>> {
    let chars: Vec<char> = line.chars().collect();
    let code = chars
        .iter()
        .enumerate()
        .position(|(i, &c)| c == '#' && (i == 0 || chars[i - 1].is_whitespace()))
        .unwrap_or(chars.len());
    let mut after = None;
    for i in 0..code {
        let colon = chars[i] == ':' && (i + 1 == code || chars[i + 1] == ' ');
        let dash = chars[i] == '-'
            && (i + 1 == code || chars[i + 1] == ' ')
            && chars[..i].iter().all(|c| *c == ' ' || *c == '-');
        if colon || dash {
            after = Some(i + 1);
        }
    }
    let after = after?;
    Some((after..code).find(|&i| chars[i] != ' ').map(|i| i + 1))
}

/// Spaces (and tabs) at the start of `line`, in characters.
fn indent(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// The first tab in the indentation of the lines after the scalar starting at `at`.
fn tab_after(lines: &[&str], at: Pos) -> Option<Pos> {
    lines.iter().enumerate().skip(at.line).find_map(|(i, l)| {
        l.chars()
            .take(indent(l))
            .position(|c| c == '\t')
            .map(|c| Pos {
                line: i + 1,
                column: c + 1,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;

    fn first_error(text: &str) -> (usize, usize, String) {
        let parsed = parse(text);
        let e = &parsed.errors[0];
        (e.pos.line, e.pos.column, e.message.clone())
    }

    #[test]
    fn a_key_missing_its_colon_is_reported_on_its_own_line() {
        let (line, column, message) = first_error("metadata:\n  name alice\n  labels:\n    a: b\n");
        assert_eq!((line, column), (2, 3), "{message}");
        assert!(
            message.contains("(the text runs on into line 3: a missing `: `"),
            "{message}"
        );
    }

    #[test]
    fn a_value_running_on_is_reported_where_the_value_starts() {
        let (line, column, _) = first_error("owner:\n   kind: User\n    name: a\n");
        assert_eq!((line, column), (2, 10));
    }

    #[test]
    fn a_refused_colon_on_the_line_of_its_text_stays() {
        let (line, column, _) = first_error("a: 1\nb: c: d\n");
        assert_eq!((line, column), (2, 5));
    }

    #[test]
    fn a_tab_is_reported_on_its_own_line() {
        let (line, column, message) = first_error("apiVersion: v1\n\tkind: Profile\n");
        assert_eq!((line, column), (2, 1), "{message}");
        assert!(message.contains("found a tab"), "{message}");
    }
}
