//! Word wrapping with a hanging indent, so continuation lines of a plan
//! step or a command stay under their first line instead of column 0.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// `text` wrapped to `width` columns: the first line starts with `first`,
/// the following ones with as many spaces. Words longer than a line are cut.
/// Newlines in `text` start new lines (with the indent).
pub(crate) fn hanging(text: &str, first: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    let indent = first.chars().count();
    let room = usize::from(width).saturating_sub(indent).max(8);
    let mut out = Vec::new();
    let mut prefix_first = true;
    for para in text.split('\n') {
        let mut current = String::new();
        let mut len = 0;
        let mut push = |current: &mut String, out: &mut Vec<Line<'static>>| {
            let prefix = if prefix_first {
                first.to_owned()
            } else {
                " ".repeat(indent)
            };
            prefix_first = false;
            out.push(Line::from(vec![
                Span::raw(prefix),
                Span::styled(std::mem::take(current), style),
            ]));
        };
        for word in para.split(' ') {
            let mut word: Vec<char> = word.chars().collect();
            loop {
                let wlen = word.len();
                let needed = if len == 0 { wlen } else { len + 1 + wlen };
                if needed <= room {
                    if len > 0 {
                        current.push(' ');
                    }
                    current.extend(word.iter());
                    len = needed;
                    break;
                }
                if len > 0 {
                    push(&mut current, &mut out);
                    len = 0;
                    continue;
                }
                // A word longer than the line: cut it.
                let rest = word.split_off(room.min(word.len()));
                current.extend(word.iter());
                push(&mut current, &mut out);
                word = rest;
                if word.is_empty() {
                    break;
                }
            }
        }
        if len > 0 || out.is_empty() || para.is_empty() {
            push(&mut current, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn hangs_under_the_first_line() {
        let l = hanging("one two three four", " 1. ", 14, Style::new());
        assert_eq!(text(&l), vec![" 1. one two", "    three four"]);
    }

    #[test]
    fn cuts_long_words_and_keeps_newlines() {
        let l = hanging("abcdefghijklmnop\nx", "$ ", 10, Style::new());
        assert_eq!(text(&l), vec!["$ abcdefgh", "  ijklmnop", "  x"]);
    }
}
