//! What the operator can ask for, and the keys that ask for it. Keys map to
//! actions in one place ([`Action::from_key`]); the help overlay lists
//! [`KEYS`], so the two cannot drift apart silently (a test checks it).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::Panel;

/// One thing the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    NextPanel,
    PrevPanel,
    GoPanel(Panel),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Open the detail of the selected row.
    Enter,
    /// Close the innermost overlay, detail, filter or edit; quit at top level.
    Back,
    Quit,
    Help,
    Refresh,
    /// Copy the selected finding's fix to the clipboard (OSC 52).
    CopyFix,
    /// Start typing a filter for the findings.
    Filter,
    /// Start typing into the Explain box.
    Edit,
    /// Empty the Explain box (or the filter).
    Clear,
    Char(char),
    Newline,
    Backspace,
    /// Bracketed paste.
    Paste(String),
    /// Ctrl-Z.
    Suspend,
}

/// What the keyboard means depends on whether the operator is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyContext {
    Normal,
    /// Typing a findings filter: one line.
    Filter,
    /// Typing into the Explain box: several lines.
    Editing,
}

impl Action {
    /// The action a key press asks for, if any.
    #[must_use]
    pub fn from_key(key: KeyEvent, ctx: KeyContext) -> Option<Self> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl {
            return match key.code {
                KeyCode::Char('c') => Some(Self::Quit),
                KeyCode::Char('z') => Some(Self::Suspend),
                KeyCode::Char('u') if ctx != KeyContext::Normal => Some(Self::Clear),
                KeyCode::Char('d') => Some(Self::PageDown),
                _ => None,
            };
        }
        if ctx != KeyContext::Normal {
            return match key.code {
                KeyCode::Esc => Some(Self::Back),
                KeyCode::Enter if ctx == KeyContext::Filter => Some(Self::Enter),
                KeyCode::Enter => Some(Self::Newline),
                KeyCode::Backspace => Some(Self::Backspace),
                KeyCode::Tab => Some(Self::NextPanel),
                KeyCode::BackTab => Some(Self::PrevPanel),
                KeyCode::Up => Some(Self::Up),
                KeyCode::Down => Some(Self::Down),
                KeyCode::Char(c) => Some(Self::Char(c)),
                _ => None,
            };
        }
        Some(match key.code {
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => Self::NextPanel,
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => Self::PrevPanel,
            KeyCode::Char(c @ '0'..='6') => Self::GoPanel(Panel::ALL[usize::from(c as u8 - b'0')]),
            KeyCode::Up | KeyCode::Char('k') => Self::Up,
            KeyCode::Down | KeyCode::Char('j') => Self::Down,
            KeyCode::PageUp => Self::PageUp,
            KeyCode::PageDown | KeyCode::Char(' ') => Self::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Self::Top,
            KeyCode::End | KeyCode::Char('G') => Self::Bottom,
            KeyCode::Enter => Self::Enter,
            KeyCode::Esc => Self::Back,
            KeyCode::Char('q') => Self::Quit,
            KeyCode::Char('?') => Self::Help,
            KeyCode::Char('r') => Self::Refresh,
            KeyCode::Char('c' | 'y') => Self::CopyFix,
            KeyCode::Char('/') => Self::Filter,
            KeyCode::Char('i' | 'e') => Self::Edit,
            KeyCode::Char('x') => Self::Clear,
            _ => return None,
        })
    }
}

/// Every key, as the help overlay lists it.
pub const KEYS: &[(&str, &str)] = &[
    (
        "Tab / Shift-Tab",
        "next / previous panel; on the overview, tile",
    ),
    ("0", "the overview (what the dashboard opens on)"),
    ("1-6", "jump to a panel"),
    ("Up/Down, k/j", "move the selection (scroll in a detail)"),
    ("PgUp/PgDn, Space", "page up / down (Ctrl-D too)"),
    ("Home/End, g/G", "first / last row"),
    ("Enter", "open the detail; on the overview, zoom the tile"),
    ("Esc", "close help, detail, filter, edit or zoom; else quit"),
    (
        "c / y",
        "copy the fix: finding, or cluster's broken hop (OSC 52)",
    ),
    ("/", "filter the findings (Enter keeps it, Esc clears it)"),
    ("i / e", "type into the Explain box (Esc stops typing)"),
    (
        "paste",
        "paste an error anywhere: Explain diagnoses it offline",
    ),
    ("x / Ctrl-U", "clear the Explain box (or the filter)"),
    ("r", "refresh: probe again"),
    ("?", "this help"),
    ("Ctrl-Z", "suspend (fg to resume)"),
    ("q, Ctrl-C", "quit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_keys_and_arrows_agree() {
        let n = KeyContext::Normal;
        assert_eq!(
            Action::from_key(key(KeyCode::Char('j')), n),
            Action::from_key(key(KeyCode::Down), n)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('k')), n),
            Action::from_key(key(KeyCode::Up), n)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('l')), n),
            Some(Action::NextPanel)
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('3')), n),
            Some(Action::GoPanel(Panel::Keys))
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Char('0')), n),
            Some(Action::GoPanel(Panel::Overview))
        );
    }

    #[test]
    fn typing_contexts_take_letters() {
        assert_eq!(
            Action::from_key(key(KeyCode::Char('q')), KeyContext::Editing),
            Some(Action::Char('q'))
        );
        assert_eq!(
            Action::from_key(key(KeyCode::Enter), KeyContext::Filter),
            Some(Action::Enter)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            Action::from_key(ctrl_c, KeyContext::Editing),
            Some(Action::Quit)
        );
    }

    #[test]
    fn help_lists_every_bound_key() {
        let listed: String = KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(" ");
        for k in [
            "Tab", "1-6", "k/j", "g/G", "Enter", "Esc", "c / y", "/", "i / e", "x", "r", "?",
            "Ctrl-Z", "q",
        ] {
            assert!(listed.contains(k), "help does not list {k}");
        }
    }
}
