//! The fleet Overview: one row per account, worst first, with its counts and
//! worst finding; the selected row is highlighted. Enter opens the account.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Widget};

use crate::app::App;
use crate::fleet::FleetView;
use crate::theme::Theme;

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        format!("{s:<n$}")
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('~');
        t
    }
}

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(fleet) = app.fleet.as_ref() else {
        return;
    };
    let clusters: usize = fleet.accounts.iter().filter_map(|a| a.clusters).sum();
    let unreachable = fleet
        .accounts
        .iter()
        .filter(|a| a.clusters.is_none())
        .count();
    let block = Block::bordered()
        .border_set(theme.border())
        .padding(Padding::left(1))
        .title(Span::styled(
            format!(
                " Fleet: {} accounts ({unreachable} not reachable), {clusters} clusters, {} throttled ",
                fleet.accounts.len(),
                fleet.throttles
            ),
            theme.title(),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    list(fleet, theme, inner, buf);
}

fn list(fleet: &FleetView, theme: Theme, area: Rect, buf: &mut Buffer) {
    let width = usize::from(area.width);
    let height = usize::from(area.height);
    let mut lines = vec![Line::styled(
        cut(
            &format!(
                "{:<12}  {:<16}  {:>8}  {:>3} {:>3} {:>3}  WORST",
                "ACCOUNT", "NAME", "CLUSTERS", "E", "W", "I"
            ),
            width,
        ),
        theme.label(),
    )];
    // Keep the selection on screen (header and hint take two rows).
    let rows = height.saturating_sub(2).max(1);
    let first = fleet.selected.saturating_sub(rows - 1);
    for (i, a) in fleet.accounts.iter().enumerate().skip(first).take(rows) {
        let (e, w, n) = a.counts;
        let clusters = a.clusters.map_or("?".to_owned(), |c| c.to_string());
        let head = format!(
            "{:<12}  {}  {clusters:>8}  {e:>3} {w:>3} {n:>3}  ",
            a.account_id,
            cut(a.account_name.as_deref().unwrap_or("-"), 16),
        );
        let (worst, style) = match &a.worst {
            Some((sev, rule, message)) => (format!("{rule}: {message}"), theme.severity(*sev)),
            None => (format!("{} no findings", theme.ok()), theme.good()),
        };
        let rest = width.saturating_sub(head.chars().count());
        let mut line = Line::from(vec![
            Span::raw(head),
            Span::styled(cut(&worst, rest).trim_end().to_owned(), style),
        ]);
        if i == fleet.selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    if fleet.accounts.is_empty() {
        lines.push(Line::raw("no accounts"));
    }
    while lines.len() < height.saturating_sub(1) {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(
        cut(
            "Enter: open the account's panels  Esc there: back to the fleet  q: quit",
            width,
        )
        .trim_end()
        .to_owned(),
        Style::new(),
    ));
    Paragraph::new(lines).render(area, buf);
}
