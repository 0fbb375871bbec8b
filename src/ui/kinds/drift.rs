//! The out-of-sync list of an ORB (`:drift`, Argo CD's OutOfSync view): every object whose live
//! state differs from desired, from the same server-side dry run as `orbdeck plan`.

use ratatui::text::Line;

use super::Column;
use super::Width::{Fixed, Flex};
use crate::ui::data::DriftRow;
use crate::ui::render::cell::line;
use crate::ui::theme::Theme;

/// Columns of the list.
pub(crate) const COLUMNS: &[Column] = &[
    Column {
        title: "STATE",
        width: Fixed(8),
        drop: 0,
    },
    Column {
        title: "KIND",
        width: Flex(10, 1),
        drop: 0,
    },
    Column {
        title: "NAMESPACE",
        width: Flex(9, 1),
        drop: 1,
    },
    Column {
        title: "NAME",
        width: Flex(10, 2),
        drop: 0,
    },
    Column {
        title: "CHANGE",
        width: Fixed(9),
        drop: 2,
    },
];

/// The cell of `r` in column `col` of [`COLUMNS`], `w` cells wide.
pub(crate) fn cell(t: &Theme, r: &DriftRow, col: usize, w: usize) -> Line<'static> {
    match col {
        0 => {
            let style = match r.state.as_str() {
                "missing" | "held" => t.warn,
                "extra" => t.error,
                _ => t.accent,
            };
            line(&r.state, w, style)
        }
        1 => line(&r.kind, w, t.text),
        2 => line(&r.namespace, w, t.dim),
        3 => line(&r.name, w, t.text),
        _ => {
            let count = |c: char| {
                r.diff
                    .iter()
                    .filter(|l| l.starts_with(c) && !l.starts_with("+++") && !l.starts_with("---"))
                    .count()
            };
            line(&format!("+{} -{}", count('+'), count('-')), w, t.dim)
        }
    }
}
