//! A windowed table: column widths from the tab registry (narrow terminals drop the least
//! important columns), and cells built only for the rows on screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

use crate::ui::kinds::{Column, Width};
use crate::ui::theme::Theme;

/// Widths of `columns` in `total` cells (1-cell gaps); `None` for columns dropped to fit.
/// `natural[i]` is what column `i`'s content needs (its widest cell on screen, its title
/// included): flexible columns grow towards it, and what is left goes to the widest of them.
pub(crate) fn widths(columns: &[Column], total: u16, natural: &[u16]) -> Vec<Option<u16>> {
    let min = |c: &Column| match c.width {
        Width::Fixed(w) | Width::Flex(w, _) => w,
    };
    // The cells the shown columns need at their minimum, with their gaps.
    let needed = |shown: &[bool]| {
        columns
            .iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(c, _)| min(c) + 1)
            .sum::<u16>()
            .saturating_sub(1)
    };
    let mut shown: Vec<bool> = vec![true; columns.len()];
    loop {
        if needed(&shown) <= total {
            break;
        }
        let victim = columns
            .iter()
            .enumerate()
            .filter(|(i, c)| shown[*i] && c.drop > 0)
            .max_by_key(|(i, c)| (c.drop, *i));
        match victim {
            Some((i, _)) => shown[i] = false,
            None => break,
        }
    }
    let extra = total.saturating_sub(needed(&shown));
    let flex: Vec<usize> = (0..columns.len())
        .filter(|&i| shown[i] && matches!(columns[i].width, Width::Flex(..)))
        .collect();
    // What each flexible column lacks of its content's width.
    let lack = |i: usize| {
        natural
            .get(i)
            .copied()
            .unwrap_or(0)
            .saturating_sub(min(&columns[i]))
    };
    let mut grow = vec![0u16; columns.len()];
    // Not enough for all: shared fairly, the columns that lack least served whole first, so
    // only the widest texts are cut.
    let mut by_lack = flex.clone();
    by_lack.sort_by_key(|&i| lack(i));
    let mut remaining = extra;
    for (served, &i) in by_lack.iter().enumerate() {
        let share = remaining / (by_lack.len() - served) as u16;
        grow[i] = lack(i).min(share);
        remaining -= grow[i];
    }
    let left = extra - grow.iter().sum::<u16>();
    // The rest to the flexible column with the widest content (ties: the last, usually a message).
    let widest = flex
        .iter()
        .copied()
        .max_by_key(|&i| (natural.get(i).copied().unwrap_or(0), i));
    if let Some(i) = widest {
        grow[i] += left;
    }
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| shown[i].then(|| min(c) + grow[i]))
        .collect()
}

/// The widest a cell is measured at when sizing columns to their content.
const NATURAL_MAX: usize = 160;

/// What a windowed table shows.
pub(crate) struct Window<'a> {
    /// Columns, including a leading ORB column when fleet-wide.
    pub columns: &'a [Column],
    /// Sorted column and whether descending, for the header arrow.
    pub sort: Option<(usize, bool)>,
    /// Number of rows in the whole list.
    pub total: usize,
    /// Selected position, if any.
    pub selected: Option<usize>,
    /// First row to show.
    pub offset: usize,
    /// The table has the keyboard focus.
    pub focused: bool,
}

/// Draws rows `offset..` of a table in `area`; `cell(position, column, width)` builds one cell
/// and is called only for rows on screen.
pub(crate) fn draw(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    window: &Window,
    mut cell: impl FnMut(usize, usize, usize) -> Line<'static>,
) {
    let height = usize::from(area.height.saturating_sub(1));
    let mut offset = window.offset.min(window.total.saturating_sub(height));
    if let Some(sel) = window.selected {
        if sel < offset {
            offset = sel;
        } else if height > 0 && sel >= offset + height {
            offset = sel + 1 - height;
        }
    }
    let end = (offset + height).min(window.total);
    // What the content on screen needs, column by column (cells built wide and measured).
    let natural: Vec<u16> = (0..window.columns.len())
        .map(|col| {
            let title = window.columns[col].title.chars().count() + 1;
            (offset..end)
                .map(|pos| cell(pos, col, NATURAL_MAX).width())
                .max()
                .unwrap_or(0)
                .max(title)
                .min(NATURAL_MAX) as u16
        })
        .collect();
    let widths = widths(window.columns, area.width, &natural);
    // Cells are written straight into the buffer: one pass per cell, nothing for rows off screen.
    let mut columns = Vec::with_capacity(widths.len());
    let mut x = area.x;
    for (col, w) in widths.iter().enumerate() {
        if let Some(w) = *w {
            columns.push((x, w, col));
            x = x.saturating_add(w + 1);
        }
    }
    let buf = frame.buffer_mut();
    buf.set_style(
        Rect::new(area.x, area.y, area.width, 1.min(area.height)),
        theme.table_header,
    );
    for &(x, w, col) in &columns {
        let arrow = match window.sort {
            Some((s, true)) if s == col => "↓",
            Some((s, false)) if s == col => "↑",
            _ => "",
        };
        let title = super::cell::fit(
            &format!("{}{arrow}", window.columns[col].title),
            usize::from(w),
        );
        buf.set_stringn(x, area.y, title, usize::from(w), theme.table_header);
    }
    let selected_style = if window.focused {
        theme.selected
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    };
    for (i, pos) in (offset..end).enumerate() {
        let y = area.y + 1 + i as u16;
        if window.selected == Some(pos) {
            buf.set_style(Rect::new(area.x, y, area.width, 1), selected_style);
        }
        for &(x, w, col) in &columns {
            buf.set_line(x, y, &cell(pos, col, usize::from(w)), w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tab::Tab;

    #[test]
    fn narrow_tables_drop_least_important_columns() {
        let cols = &Tab::Profiles.kind().columns();
        let wide = widths(cols, 200, &[]);
        assert!(wide.iter().all(Option::is_some));
        assert_eq!(
            wide.iter().flatten().sum::<u16>() + cols.len() as u16 - 1,
            200
        );
        let narrow = widths(cols, 56, &[]);
        assert!(
            narrow[0].is_some() && narrow[3].is_some(),
            "name and cpu stay"
        );
        assert!(narrow[7].is_none(), "policies go first");
        let used: u16 = narrow.iter().flatten().map(|w| w + 1).sum::<u16>() - 1;
        assert!(used <= 56);
    }

    #[test]
    fn flexible_columns_grow_to_their_content_and_the_widest_takes_the_rest() {
        use crate::ui::kinds::Column;
        let col = |title, width| Column {
            title,
            width,
            drop: 0,
        };
        let cols = [
            col("NAME", Width::Flex(8, 1)),
            col("OWNER", Width::Flex(10, 1)),
            col("AGE", Width::Fixed(4)),
            col("MESSAGE", Width::Flex(8, 1)),
        ];
        // Room for everything: each gets its content, the widest (OWNER) the rest.
        let w = widths(&cols, 80, &[12, 30, 4, 9]);
        assert_eq!(
            w,
            [
                Some(12),
                Some(30 + 80 - 12 - 30 - 4 - 9 - 3),
                Some(4),
                Some(9)
            ]
        );
        // Too little: shared in proportion to what each lacks, nobody below its minimum.
        let w = widths(&cols, 40, &[12, 30, 4, 9]);
        assert!(w.iter().flatten().zip(&cols).all(|(w, c)| match c.width {
            Width::Fixed(m) | Width::Flex(m, _) => *w >= m,
        }));
        assert_eq!(w.iter().flatten().sum::<u16>() + 3, 40);
        assert!(w[1] > w[0], "{w:?}");
    }
}
