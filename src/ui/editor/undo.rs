//! The editor's undo steps, grouped the way editors group them.
//!
//! The text area's own history undoes one key at a time and has no way to group its entries,
//! so the editor keeps its own: a snapshot of the text and cursor before each step, restored
//! into the same text area (which keeps its scroll position and search).
//!
//! The rule: a step is a run of typed characters, or of backspaces, or of deletes, going on from
//! where the last key of the run left the cursor. A run ends at a cursor move, any other key, a
//! pause of [`PAUSE`], a change of kind (typing after deleting), or a word boundary: a word
//! keeps the blanks typed after it (a newline is a blank), so typing `hello world` is two
//! steps, `hello ` and `world`, and one undo leaves `hello `. Backspacing over `hello world`
//! is likewise two steps, `world` and `hello `. A paste, a cut, a word or line deletion and
//! typing over a selection are one step each.

use std::time::{Duration, Instant};

use ratatui_textarea::{CursorMove, TextArea};

/// Quiet time after which the next key starts a new step.
pub(crate) const PAUSE: Duration = Duration::from_secs(1);

/// Most undo steps kept.
const STEPS: usize = 200;

/// What a key does to the text, for grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Edit {
    /// Types the character (a newline `'\n'`, a tab `'\t'`).
    Type(char),
    /// Deletes the character before the cursor (backspace; `'\n'` joins lines).
    Erase(char),
    /// Deletes the character at the cursor (`'\n'` joins lines).
    Delete(char),
    /// Any other change: a step of its own.
    Other,
}

impl Edit {
    /// Whether `next` may join the step whose last edit is this one.
    fn goes_on_with(self, next: Edit) -> bool {
        // A boundary is a blank followed by a non-blank, in the text's order.
        let boundary = |left: char, right: char| left.is_whitespace() && !right.is_whitespace();
        match (self, next) {
            (Edit::Type(last), Edit::Type(c)) | (Edit::Delete(last), Edit::Delete(c)) => {
                !boundary(last, c)
            }
            (Edit::Erase(last), Edit::Erase(c)) => !boundary(c, last),
            _ => false,
        }
    }
}

/// The text and cursor before a step.
#[derive(Debug)]
struct Snapshot {
    lines: Vec<String>,
    cursor: (usize, usize),
}

impl Snapshot {
    fn of(area: &TextArea<'_>) -> Snapshot {
        let c = area.cursor();
        Snapshot {
            lines: area.lines().to_vec(),
            cursor: (c.0, c.1),
        }
    }

    /// Puts this text and cursor back into `area`.
    fn restore(self, area: &mut TextArea<'_>) {
        area.select_all();
        area.insert_str(self.lines.join("\n"));
        area.cancel_selection();
        let (row, col) = self.cursor;
        let at = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        area.move_cursor(CursorMove::Jump(at(row), at(col)));
    }
}

/// The run of keys the current step is made of.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Its last edit.
    last: Edit,
    /// Where it left the cursor.
    cursor: (usize, usize),
    /// When its last key came.
    at: Instant,
}

/// Undo and redo steps of one open file.
#[derive(Debug, Default)]
pub(super) struct History {
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
    run: Option<Run>,
}

impl History {
    /// Applies `change` (one key's `edit`) to `area` at `now`, starting a new step unless it
    /// goes on with the current run; returns whether the text changed. A key that changes
    /// nothing ends the run.
    pub fn edit(
        &mut self,
        area: &mut TextArea<'static>,
        edit: Edit,
        now: Instant,
        change: impl FnOnce(&mut TextArea<'static>) -> bool,
    ) -> bool {
        let cursor = cursor_of(area);
        let goes_on = self.run.is_some_and(|run| {
            run.cursor == cursor
                && now.duration_since(run.at) < PAUSE
                && run.last.goes_on_with(edit)
        });
        let before = (!goes_on).then(|| Snapshot::of(area));
        if !change(area) {
            self.run = None;
            return false;
        }
        if let Some(before) = before {
            if self.undo.len() == STEPS {
                self.undo.remove(0);
            }
            self.undo.push(before);
        }
        self.redo.clear();
        self.run = (edit != Edit::Other).then_some(Run {
            last: edit,
            cursor: cursor_of(area),
            at: now,
        });
        true
    }

    /// Undoes the last step; false when there is none.
    pub fn undo(&mut self, area: &mut TextArea<'static>) -> bool {
        self.run = None;
        let Some(before) = self.undo.pop() else {
            return false;
        };
        self.redo.push(Snapshot::of(area));
        before.restore(area);
        true
    }

    /// Redoes the last undone step; false when there is none.
    pub fn redo(&mut self, area: &mut TextArea<'static>) -> bool {
        self.run = None;
        let Some(after) = self.redo.pop() else {
            return false;
        };
        self.undo.push(Snapshot::of(area));
        after.restore(area);
        true
    }
}

fn cursor_of(area: &TextArea<'_>) -> (usize, usize) {
    let c = area.cursor();
    (c.0, c.1)
}
