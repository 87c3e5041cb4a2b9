//! Explain: paste an AWS or kubectl error and its findings appear at once,
//! offline; when the dashboard is live the account's real policies are then
//! asked (`explain --live`) and the line under the box says where that
//! stands: asking, answered (the findings become the live ones: the
//! deciding statement and the smallest fix), or why it failed. The box
//! shows the pasted text masked: a secret in it is never displayed.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::findings::list_and_detail;
use crate::app::{App, LiveExplain};
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let lines_in = u16::try_from(app.explain_text.lines().count()).unwrap_or(u16::MAX);
    let box_height = (lines_in + 2).clamp(4, area.height / 3 + 1);
    let status = live_status(app, theme);
    let [input, status_area, rest] = Layout::vertical([
        Constraint::Length(box_height),
        Constraint::Length(u16::from(status.is_some())),
        Constraint::Min(0),
    ])
    .areas(area);
    if let Some(line) = status {
        line.render(status_area, buf);
    }
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

/// The line under the box: where the live answer stands (none when the
/// dashboard is not live or the text holds no denial).
fn live_status(app: &App, theme: Theme) -> Option<Line<'static>> {
    let line = match &app.explain_live {
        LiveExplain::Off => return None,
        LiveExplain::Asking => Line::styled(
            format!(
                "{} asking IAM{} (the offline answer is below until it answers)",
                theme.spinner(app.spinner),
                theme.ellipsis()
            ),
            theme.spinner_style(),
        ),
        LiveExplain::Answered { reads } => {
            let decided = app
                .explain_findings
                .iter()
                .find_map(|f| f.evidence.get("live"))
                .map_or_else(String::new, |live| decided_by(live, theme, true));
            Line::from(vec![
                Span::styled(format!("{} live: ", theme.ok()), theme.good()),
                Span::raw(decided),
                Span::styled(format!(" ({reads} reads)"), theme.label()),
            ])
        }
        LiveExplain::NothingToAsk => Line::styled(
            "live: nothing to ask IAM: no denial names an IAM user or role, an action and a resource",
            theme.label(),
        ),
        LiveExplain::Failed { message } => Line::from(vec![
            Span::styled(format!("{} live: ", theme.bad()), theme.error()),
            Span::raw(message.clone()),
            Span::styled(" (offline answer below)", theme.label()),
        ]),
    };
    Some(line)
}

/// "explicit deny — decided by identity policy ARN, statement 'Sid'" from
/// a finding's `live` evidence (`explain --live`'s JSON); `short` (the
/// line under the box, which must fit 80 columns): "explicit deny —
/// NAME 'Sid'" (the policy's name without its ARN).
pub(super) fn decided_by(live: &serde_json::Value, theme: Theme, short: bool) -> String {
    let decision = live["decision"].as_str().unwrap_or("?").replace('-', " ");
    let by = if let Some(d) = live["deciding"].as_object() {
        let label = d.get("statement").and_then(|v| v.as_str()).unwrap_or("?");
        // The JSON carries the Sid, else the statement's index.
        let sid = if label.chars().all(|c| c.is_ascii_digit()) {
            format!("#{label}")
        } else {
            format!("'{label}'")
        };
        let statement = format!("statement {sid}");
        let policy = d.get("policy").and_then(|v| v.as_str()).unwrap_or("?");
        if short {
            let name = policy.rsplit('/').next().unwrap_or(policy);
            format!("{name} {sid}")
        } else {
            format!(
                "decided by {} {policy}, {statement}",
                d.get("policy_kind")
                    .and_then(|v| v.as_str())
                    .unwrap_or("policy"),
            )
        }
    } else if let Some(ps) = live["layer_policies"].as_array().filter(|a| !a.is_empty()) {
        let names: Vec<&str> = ps.iter().filter_map(|p| p.as_str()).collect();
        format!("no statement of {} allows it", names.join(", "))
    } else if let Some(layer) = live["layer"].as_str() {
        format!("no policy read allows it ({layer} layer)")
    } else {
        String::new()
    };
    if by.is_empty() {
        decision
    } else {
        format!("{decision} {} {by}", theme.dash())
    }
}
