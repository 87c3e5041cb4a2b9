//! Findings: every finding, errors first; the selected one's explanation,
//! evidence and fix below (or full-panel after Enter); `/` filters.

use eksdoctor_core::finding::Finding;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::scroll_offset;
use super::wrap::hanging;
use crate::app::{App, ListView};
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut area = area;
    if app.filtering || !app.filter.is_empty() {
        let [bar, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        let cursor = if app.filtering { "_" } else { "" };
        Line::from(vec![
            Span::styled("/ ", theme.title()),
            Span::raw(format!("{}{cursor}", app.filter)),
            Span::styled(
                format!("   {} of {} shown", app.visible.len(), app.findings.len()),
                theme.label(),
            ),
        ])
        .render(bar, buf);
        area = rest;
    }
    if app.findings.is_empty() {
        let msg = if app.done {
            Line::styled(format!("{} No findings.", theme.ok()), theme.good())
        } else {
            Line::styled(
                format!("{} waiting for the probes", theme.spinner(app.spinner)),
                theme.spinner_style(),
            )
        };
        msg.render(area, buf);
        return;
    }
    let rows: Vec<&Finding> = app
        .visible
        .iter()
        .filter_map(|i| app.findings.get(*i))
        .collect();
    list_and_detail(&rows, &app.findings_view, theme, area, buf);
}

/// The list (windowed around the selection) and the selected finding's
/// detail, split or zoomed.
pub(super) fn list_and_detail(
    rows: &[&Finding],
    view: &ListView,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let selected = rows.get(view.selected).copied();
    if view.detail_open {
        if let Some(f) = selected {
            detail(f, theme, view.detail_scroll, area, buf);
        }
        return;
    }
    let list_height = (area.height / 2)
        .clamp(3, 14)
        .min(u16::try_from(rows.len()).unwrap_or(u16::MAX).max(1));
    let [list, rest] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(0)]).areas(area);
    render_list(rows, view.selected, theme, list, buf);
    if let Some(f) = selected {
        let block = Block::new()
            .borders(Borders::TOP)
            .border_set(theme.border());
        let inner = block.inner(rest);
        block.render(rest, buf);
        detail(f, theme, 0, inner, buf);
    }
}

/// Renders only the rows that fit: cost does not grow with the list.
fn render_list(rows: &[&Finding], selected: usize, theme: Theme, area: Rect, buf: &mut Buffer) {
    let height = usize::from(area.height);
    let offset = scroll_offset(selected, height);
    let width = usize::from(area.width);
    for (row, (i, f)) in rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .enumerate()
    {
        let y = area.y + u16::try_from(row).unwrap_or(0);
        let sev = format!("{:<8}", f.severity.as_str());
        let rule = format!("{:<30} ", f.rule);
        let msg_width = width.saturating_sub(sev.len() + rule.len() + 1);
        let message: String = f.message.chars().take(msg_width).collect();
        let mut line = Line::from(vec![
            Span::raw(if i == selected { ">" } else { " " }),
            Span::styled(sev, theme.severity(f.severity)),
            Span::raw(rule),
            Span::raw(message),
        ]);
        if i == selected {
            line = line.style(theme.selected());
        }
        line.render(
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
    }
}

/// Nested evidence (explain's `parsed`) as `parsed.principal.arn: ...`
/// lines; nulls left out.
fn flatten(key: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push((key.to_owned(), s.clone())),
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        serde_json::Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
            let items: Vec<String> = a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                .collect();
            out.push((key.to_owned(), items.join(", ")));
        }
        other => out.push((key.to_owned(), other.to_string())),
    }
}

/// Explanation, evidence and fix. A finding checked live (`explain
/// --live`, evidence `live`) shows what decided and the fix first, then the
/// trace and notes.
pub(super) fn detail(f: &Finding, theme: Theme, scroll: u16, area: Rect, buf: &mut Buffer) {
    let live = f.evidence.get("live");
    let mut lines = vec![Line::from(vec![
        Span::styled(
            f.severity.as_str().to_uppercase(),
            theme.severity(f.severity),
        ),
        Span::raw(" "),
        Span::styled(f.rule.to_owned(), theme.title()),
        Span::raw(format!(" {} ", theme.dash())),
        Span::raw(f.message.clone()),
    ])];
    if let Some(live) = live {
        let mut head = hanging(
            &super::explain::decided_by(live, theme, false),
            "Live ",
            area.width,
            Style::new(),
        );
        if let Some(first) = head.first_mut() {
            first.spans[0].style = theme.title();
        }
        lines.extend(head);
        if let Some(text) = live["deciding"]["lines"].as_str() {
            for l in text.lines() {
                lines.push(Line::styled(format!("    {l}"), theme.command()));
            }
        }
        fix_lines(f, theme, area.width, &mut lines);
    }
    if !f.detail.is_empty() {
        lines.extend(f.detail.lines().map(|l| Line::from(l.to_owned())));
    }
    if let Some(live) = live {
        let list = |key: &str| -> Vec<String> {
            live[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let trace = list("trace");
        if !trace.is_empty() {
            lines.push(Line::styled("Trace", theme.title()));
            for t in trace {
                lines.extend(hanging(&t, "  ", area.width, Style::new()));
            }
        }
        for n in list("notes") {
            lines.extend(hanging(&n, "note: ", area.width, theme.label()));
        }
    }
    if let Some(loc) = &f.location {
        lines.push(Line::styled(
            format!("at {}:{}", loc.file, loc.line),
            theme.label(),
        ));
    }
    if !f.evidence.is_empty() {
        lines.push(Line::styled("Evidence", theme.title()));
        let mut flat = Vec::new();
        // The live answer is drawn above, not as raw JSON.
        for (k, v) in f.evidence.iter().filter(|(k, _)| k.as_str() != "live") {
            flatten(k, v, &mut flat);
        }
        for (k, v) in flat {
            lines.extend(hanging(&v, &format!("  {k}: "), area.width, Style::new()));
        }
    }
    if live.is_none() {
        fix_lines(f, theme, area.width, &mut lines);
    }
    Paragraph::new(lines)
        .style(Style::new())
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(area, buf);
}

/// The fix: summary, commands, policy, replacement.
fn fix_lines(f: &Finding, theme: Theme, width: u16, lines: &mut Vec<Line<'static>>) {
    if let Some(fix) = &f.fix {
        let mut head = hanging(&fix.summary, "Fix ", width, Style::new());
        if let Some(first) = head.first_mut() {
            first.spans[0].style = theme.title();
        }
        if let Some(last) = head.last_mut() {
            last.spans
                .push(Span::styled("  (c copies it)", theme.label()));
        }
        lines.extend(head);
        for c in &fix.commands {
            lines.extend(hanging(c, "  $ ", width, theme.command()));
        }
        if let Some(p) = &fix.policy {
            for l in serde_json::to_string_pretty(p).unwrap_or_default().lines() {
                lines.push(Line::styled(format!("  {l}"), theme.command()));
            }
        }
        if let Some(r) = &fix.replacement {
            for l in r.lines() {
                lines.push(Line::styled(format!("  {l}"), theme.command()));
            }
        }
    }
}
