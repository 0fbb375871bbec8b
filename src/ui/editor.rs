//! The desired-file editor's state: a `ratatui_textarea::TextArea` plus the draft, validation,
//! plan, commit and push steps of the file. `update::editor` drives it; `render::editor` draws it.

mod undo;

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui_textarea::{CursorMove, TextArea};

use super::action::{ConflictRow, PushResult};
use super::theme::Theme;
use crate::repo::merge3::Side;
use crate::text::sanitize;

/// Which step of the edit → validate → plan → commit → push flow the editor is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorPane {
    /// Typing in the file.
    Editing,
    /// Typing a search (the text area highlights matches as you type).
    Search(String),
    /// Waiting for [`super::Action::Validated`].
    Validating,
    /// Walking the validation errors; `selected` indexes [`Editor::errors`].
    Errors {
        /// Selected error.
        selected: usize,
    },
    /// Waiting for [`super::Action::Planned`].
    Planning,
    /// Reading the plan.
    Plan {
        /// Plan lines.
        lines: Vec<String>,
        /// First visible line.
        scroll: usize,
    },
    /// Typing the commit message for the plan (kept in [`Editor::message`]).
    CommitMessage,
    /// Committing and pushing; progress lines so far.
    Pushing(Vec<String>),
    /// The push result.
    PushResult(PushResult),
    /// Waiting for [`super::Action::Merged`].
    Merging,
    /// The same keys changed upstream and here: the user picks a side per key.
    Conflicts {
        /// Every conflicting key path.
        rows: Vec<ConflictRow>,
        /// The side chosen for each row so far.
        choices: Vec<Option<Side>>,
        /// Selected row.
        selected: usize,
    },
}

/// One open desired file.
pub struct Editor {
    /// ORB index.
    pub orb: usize,
    /// ORB name (effects carry names).
    pub orb_name: String,
    /// Path in the repo.
    pub path: String,
    /// The text and cursor.
    pub area: TextArea<'static>,
    /// Opened from an unpushed draft.
    pub from_draft: bool,
    /// Edited since the last `SaveDraft`.
    pub dirty: bool,
    /// The file differs from the committed version (a draft exists or edits were made).
    pub drafted: bool,
    /// When the last edit happened (for the 300 ms debounce).
    pub last_edit: Option<Instant>,
    /// Errors of the last validation: (1-based line, message).
    pub errors: Vec<(u32, String)>,
    /// Current step.
    pub pane: EditorPane,
    /// Last search text.
    pub search: String,
    /// The commit (hex) the file was opened from; a draft keeps it until an explicit merge.
    pub base: Option<String>,
    /// The file at `base` (None: a new file); an edit back to it is no draft.
    pub base_text: Option<String>,
    /// The ORB is read-only: the text cannot be changed.
    pub read_only: bool,
    /// The file's lines end with CRLF (kept when the text is written back).
    crlf: bool,
    /// The file ends with a line break (kept when the text is written back).
    final_newline: bool,
    /// The commit message typed so far (kept when the commit box is left with esc); empty
    /// means [`Editor::default_message`].
    pub message: String,
    /// Undo and redo steps (see [`undo`] for how keys are grouped).
    history: undo::History,
}

/// Lines of `text` made safe for the terminal (escape sequences and control characters
/// dropped; tabs kept, the text area expands them).
fn safe_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            line.split('\t')
                .map(|part| sanitize(part).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

/// A text area on `text` with the editor's settings (its own history off: the editor keeps
/// grouped steps, see [`undo`]).
fn text_area(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(safe_lines(text));
    area.set_max_histories(0);
    area.set_tab_length(2);
    area
}

/// Pasted `text` made safe like an opened file's lines, its line breaks (LF or CRLF) kept as
/// LF, a final one included.
fn safe_paste(text: &str) -> String {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    lines
        .iter()
        .map(|line| safe_lines(line).join(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` as a regular expression matching it literally.
fn literal_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Editor {
    /// An editor on `text` of `path` in ORB `orb` (`orb_name`).
    pub fn open(
        orb: usize,
        orb_name: &str,
        path: &str,
        text: &str,
        from_draft: bool,
        theme: &Theme,
    ) -> Editor {
        let mut editor = Editor {
            orb,
            orb_name: orb_name.to_string(),
            path: path.to_string(),
            area: text_area(text),
            from_draft,
            dirty: false,
            drafted: from_draft,
            last_edit: None,
            errors: Vec::new(),
            pane: EditorPane::Editing,
            search: String::new(),
            base: None,
            base_text: None,
            read_only: false,
            crlf: text.contains("\r\n"),
            final_newline: text.ends_with('\n'),
            message: String::new(),
            history: undo::History::default(),
        };
        editor.apply_theme(theme);
        editor
    }

    /// Replaces the whole text (a merge result), keeping the cursor's line where it can; the
    /// undo steps start again from it.
    pub fn replace_text(&mut self, text: &str, theme: &Theme) {
        let (row, _) = self.cursor();
        self.crlf = text.contains("\r\n");
        self.final_newline = text.ends_with('\n');
        self.area = text_area(text);
        self.history = undo::History::default();
        self.apply_theme(theme);
        self.jump_to_line(u32::try_from(row + 1).unwrap_or(1));
        if !self.search.is_empty() {
            let search = self.search.clone();
            self.set_search(&search);
        }
    }

    /// The commit message used when none is typed.
    pub fn default_message(&self) -> String {
        let verb = if self.base_text.is_none() {
            "add"
        } else {
            "edit"
        };
        format!("orbdeck: {verb} {}", self.path)
    }

    /// The text equals the file at the base: there is nothing to commit or keep.
    pub fn equals_base(&self) -> bool {
        self.base_text.as_deref() == Some(self.text().as_str())
    }

    /// Restyles the text area after a theme change (the line numbers are drawn by the editor's
    /// view, so they stay put when the text scrolls sideways).
    pub fn apply_theme(&mut self, theme: &Theme) {
        self.area.remove_line_number();
        self.area.set_cursor_line_style(Style::new());
        self.area.set_search_style(theme.search);
        self.area.set_style(theme.text);
    }

    /// The whole text, with the file's own line breaks (LF or CRLF, and a final one if the file
    /// had it), so an untouched file is byte for byte what was opened.
    pub fn text(&self) -> String {
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut text = self.area.lines().join(eol);
        if self.final_newline {
            text.push_str(eol);
        }
        text
    }

    /// Cursor as (0-based line, 0-based column).
    pub fn cursor(&self) -> (usize, usize) {
        let c = self.area.cursor();
        (c.0, c.1)
    }

    /// Puts the cursor at the start of 1-based `line` (clamped to the file).
    pub fn jump_to_line(&mut self, line: u32) {
        let last = self.area.lines().len().saturating_sub(1);
        let row = (line.max(1) as usize - 1).min(last);
        self.area.move_cursor(CursorMove::Jump(row as u16, 0));
    }

    /// Applies `key` to the text area at `now` (an edit, grouped into undo steps, or a cursor
    /// move, which ends the current step); returns whether the text changed.
    pub fn input(&mut self, key: KeyEvent, now: Instant) -> bool {
        let edit = self.edit_of(&key);
        self.history
            .edit(&mut self.area, edit, now, |area| area.input(key))
    }

    /// Inserts pasted `text` at the cursor (over the selection) as one undo step; returns
    /// whether the text changed.
    pub fn paste(&mut self, text: &str, now: Instant) -> bool {
        let text = safe_paste(text);
        self.history
            .edit(&mut self.area, undo::Edit::Other, now, |area| {
                area.insert_str(&text)
            })
    }

    /// Undoes the last step; false when there is none.
    pub fn undo(&mut self) -> bool {
        self.history.undo(&mut self.area)
    }

    /// Redoes the last undone step; false when there is none.
    pub fn redo(&mut self) -> bool {
        self.history.redo(&mut self.area)
    }

    /// What `key` would do to the text, as the text area maps keys (typing over a selection is
    /// another kind of change).
    fn edit_of(&self, key: &KeyEvent) -> undo::Edit {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let ctrl = key.modifiers == KeyModifiers::CONTROL;
        let (row, col) = self.cursor();
        let line = self.area.lines().get(row).map_or("", String::as_str);
        if self.area.is_selecting() {
            return undo::Edit::Other;
        }
        let before = col
            .checked_sub(1)
            .and_then(|i| line.chars().nth(i))
            .unwrap_or('\n');
        let at = line.chars().nth(col).unwrap_or('\n');
        match key.code {
            KeyCode::Enter => undo::Edit::Type('\n'),
            KeyCode::Char('m') if ctrl => undo::Edit::Type('\n'),
            KeyCode::Char('h') if ctrl => undo::Edit::Erase(before),
            KeyCode::Char('d') if ctrl => undo::Edit::Delete(at),
            KeyCode::Char(c) if plain => undo::Edit::Type(c),
            KeyCode::Tab if plain => undo::Edit::Type('\t'),
            KeyCode::Backspace if plain => undo::Edit::Erase(before),
            KeyCode::Delete if plain => undo::Edit::Delete(at),
            _ => undo::Edit::Other,
        }
    }

    /// Scrolls the text back left as far as the cursor allows (after a resize: a wider window
    /// shows the start of the lines again); the cursor stays where it is.
    pub fn scroll_back_left(&mut self) {
        let (_, left) = self.area.scroll_offset();
        if left == 0 {
            return;
        }
        let (row, col) = self.cursor();
        // Scrolling moves the cursor into the old view; it is put back, and the next frame
        // scrolls only as far right as it needs.
        self.area
            .scroll((0, -i16::try_from(left).unwrap_or(i16::MAX)));
        let at = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        self.area.move_cursor(CursorMove::Jump(at(row), at(col)));
    }

    /// Records an edit at `now`: the draft needs saving.
    pub fn touch(&mut self, now: Instant) {
        self.dirty = true;
        self.drafted = true;
        self.last_edit = Some(now);
    }

    /// Sets the search text and highlights its matches.
    pub fn set_search(&mut self, text: &str) {
        self.search = text.to_string();
        // A literal pattern is always a valid regular expression.
        let _ = self.area.set_search_pattern(literal_pattern(text));
    }

    /// Moves to the next match of the search text; false when there is none.
    pub fn search_next(&mut self) -> bool {
        !self.search.is_empty() && self.area.search_forward(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_drops_escapes_but_keeps_tabs() {
        let e = Editor::open(
            0,
            "a",
            "p",
            "a:\t1\u{1b}[31m\nb: 2\n",
            false,
            &Theme::plain(),
        );
        assert_eq!(e.area.lines(), ["a:\t1", "b: 2"]);
        assert_eq!(e.text(), "a:\t1\nb: 2\n");
    }

    #[test]
    fn an_untouched_file_is_written_back_as_it_was() {
        for text in ["a: 1\nb: 2\n", "a: 1\nb: 2", "a: 1\r\nb: 2\r\n", ""] {
            let e = Editor::open(0, "a", "p", text, false, &Theme::plain());
            assert_eq!(e.text(), text);
        }
    }

    #[test]
    fn search_is_literal() {
        let mut e = Editor::open(0, "a", "p", "x: a.b\ny: a.b\n", false, &Theme::plain());
        e.set_search("a.b");
        assert!(e.search_next());
        assert_eq!(e.cursor(), (0, 3));
    }
}
