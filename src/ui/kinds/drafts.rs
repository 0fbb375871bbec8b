//! This machine's unpushed drafts, listed fleet-wide in the Drafts view (`:drafts`): the view's
//! columns and cells. The runtime builds the rows from the drafts store and the repo.

use ratatui::text::Line;

use super::Width::Flex;
use super::{At, Column};
use crate::ui::data::DraftRow;
use crate::ui::render::cell::{age, line};

/// Columns of the Drafts view.
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        title: "ORB",
        width: Flex(8, 1),
        drop: 0,
    },
    Column {
        title: "PATH",
        width: Flex(20, 3),
        drop: 0,
    },
    Column {
        title: "KIND",
        width: Flex(6, 0),
        drop: 1,
    },
    Column {
        title: "AGE",
        width: Flex(5, 0),
        drop: 2,
    },
    Column {
        title: "BASE",
        width: Flex(8, 0),
        drop: 3,
    },
    Column {
        title: "UPSTREAM",
        width: Flex(24, 2),
        drop: 0,
    },
    Column {
        title: "LAST ERROR",
        width: Flex(10, 1),
        drop: 1,
    },
];

/// The cell of `draft` (of the ORB at `at`) in column `col` of [`COLUMNS`].
pub(crate) fn cell(at: &At<'_>, draft: &DraftRow, col: usize) -> Line<'static> {
    let (t, w) = (at.theme(), at.w);
    match col {
        0 => line(&at.orb.name, w, t.text),
        1 => line(&draft.path, w, t.text),
        2 => line(draft.kind.as_str(), w, t.draft),
        3 => line(&age(at.state.clock.unix, draft.updated), w, t.dim),
        4 => line(&draft.base, w, t.dim),
        5 => match &draft.upstream {
            Some(up) => line(&format!("moved: {} {}", up.commit, up.author), w, t.warn),
            None => line("-", w, t.dim),
        },
        _ => match &draft.error {
            Some(e) => line(&e.replace('\n', " · "), w, t.error),
            None => line("", w, t.dim),
        },
    }
}
