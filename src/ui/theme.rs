//! Every colour of the control room in one place: dark and light themes, and a plain theme
//! (modifiers only) for `NO_COLOR`. The runtime picks one at start; `:theme` switches.

use ratatui::style::{Color, Modifier, Style};

/// Styles for each role on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    /// `dark`, `light` or `plain`.
    pub name: &'static str,
    /// Default text.
    pub text: Style,
    /// Less important text: hints, ages, line numbers.
    pub dim: Style,
    /// Header bar.
    pub header: Style,
    /// Pane borders.
    pub border: Style,
    /// Border of the focused pane.
    pub border_focus: Style,
    /// Pane and overlay titles.
    pub title: Style,
    /// Selected tab.
    pub tab_active: Style,
    /// Table column headers.
    pub table_header: Style,
    /// Selected row.
    pub selected: Style,
    /// Keys in hints and help.
    pub key: Style,
    /// Highlights: ORB names, commit hashes.
    pub accent: Style,
    /// Healthy, below 70 %.
    pub ok: Style,
    /// Attention, 70–90 %, connecting.
    pub warn: Style,
    /// Errors, ≥ 90 %, unreachable.
    pub error: Style,
    /// Added lines.
    pub diff_add: Style,
    /// Removed lines.
    pub diff_del: Style,
    /// Diff hunk headers and plan headings.
    pub diff_hunk: Style,
    /// YAML keys in the editor.
    pub yaml_key: Style,
    /// YAML comments in the editor.
    pub yaml_comment: Style,
    /// Search matches in the editor.
    pub search: Style,
    /// Draft marker.
    pub draft: Style,
}

/// The light theme's dim text: grey 241 of the 256-colour ramp (#626262, 6:1 on white).
const LIGHT_DIM: Color = Color::Indexed(241);

impl Theme {
    /// The theme called `name` (`dark` or `light`); `plain` whatever the name when `no_color`.
    pub fn named(name: &str, no_color: bool) -> Option<Theme> {
        match name {
            "dark" | "light" if no_color => Some(Theme::plain()),
            "dark" => Some(Theme::dark()),
            "light" => Some(Theme::light()),
            _ => None,
        }
    }

    /// Light text on a dark terminal.
    pub fn dark() -> Theme {
        let fg = |c| Style::new().fg(c);
        Theme {
            name: "dark",
            text: Style::new(),
            dim: fg(Color::DarkGray),
            header: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            border: fg(Color::DarkGray),
            border_focus: fg(Color::Cyan),
            title: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            tab_active: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            table_header: fg(Color::White).add_modifier(Modifier::BOLD),
            selected: Style::new().fg(Color::Black).bg(Color::Cyan),
            key: fg(Color::Yellow).add_modifier(Modifier::BOLD),
            accent: fg(Color::Cyan),
            ok: fg(Color::Green),
            warn: fg(Color::Yellow),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            diff_add: fg(Color::Green),
            diff_del: fg(Color::Red),
            diff_hunk: fg(Color::Magenta),
            yaml_key: fg(Color::LightBlue),
            yaml_comment: fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            search: Style::new().fg(Color::Black).bg(Color::Yellow),
            draft: fg(Color::Magenta).add_modifier(Modifier::BOLD),
        }
    }

    /// Dark text on a light terminal.
    pub fn light() -> Theme {
        let fg = |c| Style::new().fg(c);
        Theme {
            name: "light",
            text: Style::new(),
            // Greys of the 256-colour ramp: ANSI 7 (`Gray`) is near-invisible on white.
            dim: fg(LIGHT_DIM),
            header: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            border: fg(Color::Indexed(247)),
            border_focus: fg(Color::Blue),
            title: fg(Color::Blue).add_modifier(Modifier::BOLD),
            tab_active: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            table_header: fg(Color::Black).add_modifier(Modifier::BOLD),
            selected: Style::new().fg(Color::White).bg(Color::Blue),
            key: fg(Color::Magenta).add_modifier(Modifier::BOLD),
            accent: fg(Color::Blue),
            ok: fg(Color::Green),
            warn: fg(Color::Rgb(150, 100, 0)),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            diff_add: fg(Color::Green),
            diff_del: fg(Color::Red),
            diff_hunk: fg(Color::Magenta),
            yaml_key: fg(Color::Blue),
            yaml_comment: fg(LIGHT_DIM).add_modifier(Modifier::ITALIC),
            search: Style::new().fg(Color::Black).bg(Color::LightYellow),
            draft: fg(Color::Magenta).add_modifier(Modifier::BOLD),
        }
    }

    /// No colours at all, only bold / dim / reversed / underline: for `NO_COLOR`.
    pub fn plain() -> Theme {
        let m = |m| Style::new().add_modifier(m);
        Theme {
            name: "plain",
            text: Style::new(),
            dim: m(Modifier::DIM),
            header: m(Modifier::REVERSED | Modifier::BOLD),
            border: Style::new(),
            border_focus: m(Modifier::BOLD),
            title: m(Modifier::BOLD),
            tab_active: m(Modifier::REVERSED | Modifier::BOLD),
            table_header: m(Modifier::BOLD | Modifier::UNDERLINED),
            selected: m(Modifier::REVERSED),
            key: m(Modifier::BOLD),
            accent: m(Modifier::BOLD),
            ok: Style::new(),
            warn: m(Modifier::BOLD),
            error: m(Modifier::BOLD | Modifier::UNDERLINED),
            diff_add: m(Modifier::BOLD),
            diff_del: m(Modifier::DIM),
            diff_hunk: m(Modifier::UNDERLINED),
            yaml_key: m(Modifier::BOLD),
            yaml_comment: m(Modifier::DIM),
            search: m(Modifier::REVERSED),
            draft: m(Modifier::BOLD),
        }
    }

    /// Style for a usage percentage: ok below 70, warn below 90, error from 90.
    pub fn percent(&self, percent: f64) -> Style {
        if percent < 70.0 {
            self.ok
        } else if percent < 90.0 {
            self.warn
        } else {
            self.error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_theme_has_no_colours() {
        let t = Theme::plain();
        for s in [
            t.text, t.dim, t.header, t.selected, t.ok, t.warn, t.error, t.diff_add, t.search,
        ] {
            assert_eq!((s.fg, s.bg), (None, None));
        }
        assert_eq!(Theme::named("dark", true), Some(Theme::plain()));
        assert_eq!(Theme::named("neon", false), None);
    }

    /// sRGB of a 256-colour index of the grey ramp or the 6x6x6 cube.
    fn rgb(i: u8) -> (f64, f64, f64) {
        if i >= 232 {
            let v = f64::from(8 + 10 * (i - 232));
            return (v, v, v);
        }
        let c = |v: u8| if v == 0 { 0.0 } else { f64::from(55 + 40 * v) };
        let i = i - 16;
        (c(i / 36), c(i / 6 % 6), c(i % 6))
    }

    fn contrast_on_white(i: u8) -> f64 {
        let lin = |v: f64| {
            let v = v / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = rgb(i);
        let l = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
        1.05 / (l + 0.05)
    }

    #[test]
    fn light_theme_dim_text_is_readable_on_white() {
        let t = Theme::light();
        for style in [t.dim, t.yaml_comment] {
            let Some(Color::Indexed(i)) = style.fg else {
                panic!("the light theme's dim text is not a 256-colour grey: {style:?}");
            };
            let ratio = contrast_on_white(i);
            assert!(ratio >= 4.5, "contrast {ratio:.1}:1 of colour {i} on white");
        }
    }
}
