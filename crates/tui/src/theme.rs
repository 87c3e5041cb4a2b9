//! Colours, borders and glyphs: full Unicode and colour by default, plain
//! under `NO_COLOR`/`--no-color`, ASCII-only under `--ascii` for poor
//! terminals and serial consoles, and chosen automatically by
//! [`ascii_wanted`] when the locale is not UTF-8 or `TERM=dumb`.

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

/// Should the dashboard draw ASCII only, whatever `--ascii` says? Yes under
/// `TERM=dumb`, and when the locale that decides the character set (the
/// first non-empty of `LC_ALL`, `LC_CTYPE`, `LANG`; none means "C") is not
/// UTF-8: tmux and screen then turn every non-ASCII cell into `_`, and a
/// serial console or old terminal shows mojibake. `var` reads the
/// environment (`|k| std::env::var(k).ok()`), so tests pass their own.
#[must_use]
pub fn ascii_wanted(var: impl Fn(&str) -> Option<String>) -> bool {
    if var("TERM").is_some_and(|t| t.trim() == "dumb") {
        return true;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .into_iter()
        .find_map(|k| var(k).filter(|v| !v.is_empty()))
        .unwrap_or_default();
    // en_US.UTF-8, C.utf8, and macOS's bare LC_CTYPE=UTF-8 (sent over ssh).
    !locale
        .to_ascii_lowercase()
        .replace('-', "")
        .contains("utf8")
}

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
    pub fn ellipsis(self) -> &'static str {
        if self.ascii { "..." } else { "…" }
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

#[cfg(test)]
mod tests {
    use super::ascii_wanted;

    fn wanted(env: &[(&str, &str)]) -> bool {
        ascii_wanted(|k| {
            env.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn ascii_follows_the_locale_and_term() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (
                &[("LANG", "en_US.UTF-8"), ("TERM", "xterm-256color")],
                false,
            ),
            (&[("LANG", "C.UTF-8")], false),
            (&[("LANG", "de_DE.utf8")], false),
            (&[("LC_CTYPE", "UTF-8")], false),
            (&[("LANG", "en_US.UTF-8@euro")], false),
            // LC_ALL wins over LC_CTYPE, which wins over LANG.
            (&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")], true),
            (&[("LC_CTYPE", "POSIX"), ("LANG", "en_US.UTF-8")], true),
            (
                &[("LC_ALL", ""), ("LC_CTYPE", "en_US.UTF-8"), ("LANG", "C")],
                false,
            ),
            (&[("LANG", "en_US.ISO-8859-1")], true),
            (&[("LANG", "C")], true),
            // Nothing set is the C locale.
            (&[], true),
            (&[("TERM", "dumb"), ("LANG", "en_US.UTF-8")], true),
            (
                &[("TERM", "screen-256color"), ("LANG", "en_US.UTF-8")],
                false,
            ),
        ];
        for (env, want) in cases {
            assert_eq!(wanted(env), *want, "{env:?}");
        }
    }
}
