//! Screen geometry shared by `render` (where to draw) and `update` (how many rows a page has),
//! so scrolling in `update` agrees with what `render` shows.

use ratatui::layout::Rect;

use super::state::Focus;
use super::tab::Tab;

/// The fixed regions of the screen.
pub(crate) struct Areas {
    /// Fleet summary bar.
    pub header: Rect,
    /// ORB list.
    pub orbs: Rect,
    /// Tabbed main pane (with its border).
    pub main: Rect,
    /// Key hints, messages, text inputs.
    pub footer: Rect,
}

/// Smallest terminal the layout supports; below it a notice is drawn instead.
pub(crate) const MIN_SIZE: (u16, u16) = (40, 10);

/// Below this width one pane shows at a time: the focused one takes the whole body (the ORB
/// list hides while the main pane has focus).
pub(crate) const SINGLE_PANE_BELOW: u16 = 80;

/// Splits the terminal into header, ORB list, main pane and footer; below
/// [`SINGLE_PANE_BELOW`] columns the pane without `focus` gets no width.
pub(crate) fn areas(area: Rect, focus: Focus) -> Areas {
    let body_h = area.height.saturating_sub(2);
    let list_w = match (area.width, focus) {
        (w, Focus::OrbList) if w < SINGLE_PANE_BELOW => w,
        (w, Focus::Main) if w < SINGLE_PANE_BELOW => 0,
        (w, _) if w >= 160 => 32,
        (w, _) if w >= 120 => 28,
        _ => 20,
    };
    let body_y = area.y + 1;
    Areas {
        header: Rect::new(area.x, area.y, area.width, 1.min(area.height)),
        orbs: Rect::new(area.x, body_y, list_w.min(area.width), body_h),
        main: Rect::new(
            area.x + list_w.min(area.width),
            body_y,
            area.width.saturating_sub(list_w),
            body_h,
        ),
        footer: Rect::new(
            area.x,
            area.bottom().saturating_sub(1),
            area.width,
            1.min(area.height),
        ),
    }
}

/// The inside of the main pane.
pub(crate) struct MainAreas {
    /// Tab bar.
    pub tabs: Rect,
    /// Table (header line + rows) or page.
    pub body: Rect,
    /// Second table under the first (Upgrades: the selected upgrade's nodes).
    pub detail: Option<Rect>,
    /// A line under the table (Live: the kind, the namespace filter, the ORBs missing and why).
    pub note: Option<Rect>,
}

/// Splits the main pane (border included) for `tab`.
pub(crate) fn main_areas(main: Rect, tab: Tab) -> MainAreas {
    let inner = Rect::new(
        main.x + 1,
        main.y + 1,
        main.width.saturating_sub(2),
        main.height.saturating_sub(2),
    );
    let tabs = Rect::new(inner.x, inner.y, inner.width, 1.min(inner.height));
    let rest = Rect::new(
        inner.x,
        inner.y + tabs.height,
        inner.width,
        inner.height - tabs.height,
    );
    if tab == Tab::Upgrades && rest.height >= 10 {
        let top = rest.height * 3 / 5;
        let body = Rect::new(rest.x, rest.y, rest.width, top);
        let detail = Rect::new(rest.x, rest.y + top, rest.width, rest.height - top);
        MainAreas {
            tabs,
            body,
            detail: Some(detail),
            note: None,
        }
    } else if matches!(tab, Tab::Live | Tab::Access | Tab::Rollouts) && rest.height >= 3 {
        let body = Rect::new(rest.x, rest.y, rest.width, rest.height - 1);
        let note = Rect::new(rest.x, rest.y + rest.height - 1, rest.width, 1);
        MainAreas {
            tabs,
            body,
            detail: None,
            note: Some(note),
        }
    } else {
        MainAreas {
            tabs,
            body: rest,
            detail: None,
            note: None,
        }
    }
}

/// Data rows the current table shows at terminal size `size` (columns, rows).
pub(crate) fn table_rows(size: (u16, u16), tab: Tab) -> usize {
    let main = areas(Rect::new(0, 0, size.0, size.1), Focus::Main).main;
    usize::from(main_areas(main, tab).body.height.saturating_sub(1))
}

/// The width of a full-screen overlay on a screen `width` wide: two columns of the panes show
/// on each side, except below [`SINGLE_PANE_BELOW`] where every column counts.
pub(crate) fn overlay_width(width: u16) -> u16 {
    if width < SINGLE_PANE_BELOW {
        width
    } else {
        width.saturating_sub(4)
    }
}

/// A `width` x `height` rectangle centred in `area`, shrunk to fit.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The log view's box: the whole screen but the header and footer lines.
pub(crate) fn log_area(screen: Rect) -> Rect {
    Rect::new(
        screen.x,
        screen.y + 1,
        screen.width,
        screen.height.saturating_sub(2),
    )
}

/// Log lines the log view shows at terminal size `size` (inside its border, under its status
/// line).
pub(crate) fn log_rows(size: (u16, u16)) -> usize {
    let area = log_area(Rect::new(0, 0, size.0, size.1));
    usize::from(area.height.saturating_sub(3)).max(1)
}
