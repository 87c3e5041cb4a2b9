//! Explain: paste an AWS or kubectl error and its findings appear at once,
//! offline. The box shows the pasted text masked: a secret in it is never
//! displayed.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::findings::list_and_detail;
use crate::app::App;
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let lines_in = u16::try_from(app.explain_text.lines().count()).unwrap_or(u16::MAX);
    let box_height = (lines_in + 2).clamp(4, area.height / 3 + 1);
    let [input, rest] =
        Layout::vertical([Constraint::Length(box_height), Constraint::Min(0)]).areas(area);
    let title = if app.editing {
        " Error text (typing; Esc stops) "
    } else {
        " Error text (paste it, or i to type; x clears) "
    };
    let block = Block::new()
        .borders(Borders::BOTTOM)
        .border_set(theme.border())
        .title_bottom(Span::styled(title, theme.label()));
    let inner = block.inner(input);
    block.render(input, buf);
    let mut text: Vec<Line> = if app.explain_text.is_empty() {
        vec![Line::styled(
            "Paste an AWS CLI, console or kubectl error here: it is diagnosed offline.",
            theme.label(),
        )]
    } else {
        app.explain_text
            .lines()
            .map(|l| Line::from(l.to_owned()))
            .collect()
    };
    if app.editing {
        match text.last_mut() {
            Some(l) if !app.explain_text.is_empty() && !app.explain_text.ends_with('\n') => {
                l.spans.push(Span::raw("_"));
            }
            _ => text.push(Line::from("_")),
        }
    }
    // Keep the end of what was typed in view.
    let overflow = u16::try_from(text.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(inner.height);
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((overflow, 0))
        .render(inner, buf);
    if app.explain_findings.is_empty() {
        let msg = if app.explain_text.trim().is_empty() {
            "No text yet."
        } else {
            "No diagnosis for this text."
        };
        Line::styled(msg, theme.label()).render(rest, buf);
        return;
    }
    let rows: Vec<_> = app.explain_findings.iter().collect();
    list_and_detail(&rows, &app.explain_view, theme, rest, buf);
}
