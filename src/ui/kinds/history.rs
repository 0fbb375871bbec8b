//! The commit log of an ORB or of one file (`H`, `:history`): its columns and cells. The
//! engine's current/ commits are one dim row per run of them.

use ratatui::text::Line;

use super::Column;
use super::Width::{Fixed, Flex};
use crate::ui::data::HistoryRow;
use crate::ui::render::cell::{age, line};
use crate::ui::theme::Theme;

/// Columns of the log.
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        title: "COMMIT",
        width: Fixed(8),
        drop: 0,
    },
    Column {
        title: "AGE",
        width: Fixed(4),
        drop: 1,
    },
    Column {
        title: "AUTHOR",
        width: Flex(10, 1),
        drop: 0,
    },
    Column {
        title: "MESSAGE",
        width: Flex(16, 6),
        drop: 0,
    },
    Column {
        title: "FILES",
        width: Flex(8, 1),
        drop: 2,
    },
];

/// The cell of `r` in column `col` of [`COLUMNS`], `w` cells wide, at Unix time `now`.
pub(crate) fn cell(t: &Theme, r: &HistoryRow, col: usize, w: usize, now: u64) -> Line<'static> {
    let style = if r.engine { t.dim } else { t.text };
    match col {
        0 => line(&r.commit.chars().take(8).collect::<String>(), w, t.accent),
        1 => line(&age(now, r.time), w, t.dim),
        2 => line(&r.author, w, style),
        3 if r.engine && r.commits > 1 => line(
            &format!("{} ({} engine commits)", r.summary, r.commits),
            w,
            style,
        ),
        3 => line(&r.summary, w, style),
        _ => {
            let files = match r.files.as_slice() {
                [one] => one.clone(),
                many => format!("{} files", many.len()),
            };
            line(&files, w, t.dim)
        }
    }
}
