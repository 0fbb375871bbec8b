//! A windowed table: column widths from the tab registry (narrow terminals drop the least
//! important columns), and cells built only for the rows on screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

use crate::ui::kinds::{Column, Width};
use crate::ui::theme::Theme;

/// Widths of `columns` in `total` cells (1-cell gaps); `None` for columns dropped to fit.
pub(crate) fn widths(columns: &[Column], total: u16) -> Vec<Option<u16>> {
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
    let used = needed(&shown);
    let weights: u16 = columns
        .iter()
        .zip(&shown)
        .filter_map(|(c, s)| match c.width {
            Width::Flex(_, weight) if *s => Some(weight),
            _ => None,
        })
        .sum();
    let extra = total.saturating_sub(used);
    let mut left = extra;
    let mut widths: Vec<Option<u16>> = columns
        .iter()
        .zip(&shown)
        .map(|(c, s)| {
            s.then(|| match c.width {
                Width::Fixed(w) => w,
                Width::Flex(w, weight) => {
                    let share =
                        (u32::from(extra) * u32::from(weight) / u32::from(weights.max(1))) as u16;
                    left -= share;
                    w + share
                }
            })
        })
        .collect();
    // Flexible columns other than the last stop at twice their minimum (24 at least), so
    // wide screens give the room to the last one (usually a message); rounding goes there too.
    let last_flex = columns
        .iter()
        .zip(&widths)
        .rposition(|(c, w)| w.is_some() && matches!(c.width, Width::Flex(..)));
    for (i, (c, w)) in columns.iter().zip(widths.iter_mut()).enumerate() {
        if let (Width::Flex(min, _), Some(w)) = (c.width, w.as_mut())
            && Some(i) != last_flex
        {
            let cap = (min * 2).max(24);
            if *w > cap {
                left += *w - cap;
                *w = cap;
            }
        }
    }
    if let Some(w) = last_flex.and_then(|i| widths[i].as_mut()) {
        *w += left;
    }
    widths
}

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
    let widths = widths(window.columns, area.width);
    let height = usize::from(area.height.saturating_sub(1));
    let mut offset = window.offset.min(window.total.saturating_sub(height));
    if let Some(sel) = window.selected {
        if sel < offset {
            offset = sel;
        } else if height > 0 && sel >= offset + height {
            offset = sel + 1 - height;
        }
    }
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
    let end = (offset + height).min(window.total);
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
        let wide = widths(cols, 200);
        assert!(wide.iter().all(Option::is_some));
        assert_eq!(
            wide.iter().flatten().sum::<u16>() + cols.len() as u16 - 1,
            200
        );
        let narrow = widths(cols, 56);
        assert!(
            narrow[0].is_some() && narrow[3].is_some(),
            "name and cpu stay"
        );
        assert!(narrow[7].is_none(), "policies go first");
        let used: u16 = narrow.iter().flatten().map(|w| w + 1).sum::<u16>() - 1;
        assert!(used <= 56);
    }
}
