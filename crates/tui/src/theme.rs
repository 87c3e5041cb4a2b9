//! Colours, borders and glyphs: full Unicode and colour by default, plain
//! under `NO_COLOR`/`--no-color`, ASCII-only under `--ascii` for poor
//! terminals and serial consoles.

use eksdoctor_core::finding::Severity;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// An ASCII border set.
pub const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const ASCII_SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

impl Theme {
    #[must_use]
    pub fn border(self) -> border::Set<'static> {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::ROUNDED
        }
    }

    #[must_use]
    pub fn spinner(self, frame: usize) -> &'static str {
        if self.ascii {
            ASCII_SPINNER[frame % ASCII_SPINNER.len()]
        } else {
            SPINNER[frame % SPINNER.len()]
        }
    }

    #[must_use]
    pub fn ok(self) -> &'static str {
        if self.ascii { "ok" } else { "✓" }
    }

    #[must_use]
    pub fn bad(self) -> &'static str {
        if self.ascii { "x" } else { "✗" }
    }

    #[must_use]
    pub fn bar_full(self) -> &'static str {
        if self.ascii { "#" } else { "█" }
    }

    #[must_use]
    pub fn bar_empty(self) -> &'static str {
        if self.ascii { "." } else { "░" }
    }

    #[must_use]
    pub fn dash(self) -> &'static str {
        if self.ascii { "-" } else { "—" }
    }

    #[must_use]
    pub fn arrow(self) -> &'static str {
        if self.ascii { "->" } else { "→" }
    }

    #[must_use]
    pub fn sep(self) -> &'static str {
        if self.ascii { "|" } else { "│" }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    #[must_use]
    pub fn severity(self, s: Severity) -> Style {
        match s {
            Severity::Error => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::Warning => self.fg(Color::Yellow),
            Severity::Info => self.fg(Color::Cyan),
        }
    }

    #[must_use]
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    #[must_use]
    pub fn error(self) -> Style {
        self.fg(Color::Red)
    }

    #[must_use]
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    #[must_use]
    pub fn label(self) -> Style {
        self.fg(Color::DarkGray)
    }

    #[must_use]
    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    #[must_use]
    pub fn command(self) -> Style {
        self.fg(Color::LightBlue)
    }

    /// The selected row: reversed works with and without colour.
    #[must_use]
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    #[must_use]
    pub fn active_tab(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    #[must_use]
    pub fn spinner_style(self) -> Style {
        self.fg(Color::Magenta)
    }
}
