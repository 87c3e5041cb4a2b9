//! Cluster access: the clusters by region, and for the selected one the
//! access path drawn hop by hop (how the caller gets in, or where it stops).

use eksdoctor_core::snapshot::Probe;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{kv, path, probe_line, probe_word, scroll_offset};
use crate::app::{Access, App, ClusterState};
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    if area.width < 100 {
        // Narrow: the list above, the path below at full width.
        let rows = u16::try_from(app.clusters.len() + app.regions.len().max(1))
            .unwrap_or(u16::MAX)
            .clamp(2, (area.height / 3).max(2));
        let [list, detail] =
            Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(area);
        render_list(app, theme, list, buf);
        let block = Block::new()
            .borders(Borders::TOP)
            .border_set(theme.border());
        let inner = block.inner(detail);
        block.render(detail, buf);
        render_detail(app, theme, inner, buf);
        return;
    }
    let [list, detail] =
        Layout::horizontal([Constraint::Length(34), Constraint::Min(0)]).areas(area);
    render_list(app, theme, list, buf);
    let block = Block::new()
        .borders(Borders::LEFT)
        .border_set(theme.border());
    let inner = block.inner(detail);
    block.render(detail, buf);
    render_detail(app, theme, inner, buf);
}

/// One row of the cluster list, before it is drawn.
enum Row<'a> {
    Region(&'a str),
    RegionState(&'a Probe<Vec<String>>),
    Cluster(usize, &'a ClusterState),
}

fn render_list(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    if app.regions.is_empty()
        && app.clusters.is_empty()
        && let Some(l) = probe_line(app, theme, &Probe::<()>::Pending, "listing clusters")
    {
        Paragraph::new(l).render(area, buf);
        return;
    }
    // The rows, cheaply (no text yet): regions in order, each with its
    // clusters (the map is ordered by region, then name).
    let mut regions: Vec<&str> = app.regions.keys().map(String::as_str).collect();
    regions.extend(app.clusters.keys().map(|(r, _)| r.as_str()));
    regions.sort_unstable();
    regions.dedup();
    let mut rows: Vec<Row> = Vec::with_capacity(regions.len() * 2 + app.clusters.len());
    let mut clusters = app.clusters.values().enumerate().peekable();
    let mut selected_line = 0;
    for region in regions {
        rows.push(Row::Region(region));
        if let Some(p) = app.regions.get(region)
            && !matches!(p, Probe::Ready(v) if !v.is_empty())
        {
            rows.push(Row::RegionState(p));
        }
        while let Some((i, c)) = clusters.next_if(|(_, c)| c.region == region) {
            if i == app.cluster_sel {
                selected_line = rows.len();
            }
            rows.push(Row::Cluster(i, c));
        }
    }
    // Only the rows on screen become text.
    let height = usize::from(area.height);
    let offset = scroll_offset(selected_line, height);
    let name_width = usize::from(area.width).saturating_sub(12).clamp(8, 30);
    let lines: Vec<Line> = rows
        .iter()
        .skip(offset)
        .take(height)
        .filter_map(|row| match row {
            Row::Region(r) => Some(Line::styled((*r).to_owned(), theme.title())),
            Row::RegionState(p) => match probe_line(app, theme, *p, "ListClusters") {
                Some(mut l) => {
                    l.spans.insert(0, Span::raw("  "));
                    Some(l)
                }
                None if p.ready().is_some_and(Vec::is_empty) => {
                    Some(Line::styled("  (no clusters)", theme.label()))
                }
                None => None,
            },
            Row::Cluster(i, c) => {
                let selected = *i == app.cluster_sel;
                let version = c
                    .cluster
                    .ready()
                    .and_then(|k| k.version.as_deref())
                    .unwrap_or_default();
                let marker = if selected { "> " } else { "  " };
                let mut line = Line::from(vec![
                    Span::raw(format!(
                        "{marker}{:<name_width$.name_width$} {version:<5} ",
                        c.name
                    )),
                    access_word(app, theme, c),
                ]);
                if selected {
                    line = line.style(theme.selected());
                }
                Some(line)
            }
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
}

/// ✓ mapped, ✗ not mapped or denied, spinner while waiting.
pub(super) fn access_word(app: &App, theme: Theme, c: &ClusterState) -> Span<'static> {
    if !matches!(c.cluster, Probe::Ready(_)) {
        return probe_word(app, theme, &c.cluster);
    }
    match c.access() {
        Access::Mapped(_) => Span::styled(theme.ok().to_owned(), theme.good()),
        _ if (matches!(c.entry, Probe::Pending) || c.kube.pending()) && !app.done => {
            Span::styled(theme.spinner(app.spinner).to_owned(), theme.spinner_style())
        }
        Access::Unknown(_) => Span::styled("?".to_owned(), theme.warn()),
        Access::NotMapped => Span::styled(theme.bad().to_owned(), theme.error()),
    }
}

fn render_detail(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(c) = app.selected_cluster() else {
        let msg = if app.done {
            "No clusters found in the regions probed."
        } else {
            ""
        };
        Paragraph::new(msg).render(area, buf);
        return;
    };
    let mut head = vec![
        Span::styled(c.name.clone(), theme.title()),
        Span::styled(format!("  {}", c.region), theme.label()),
    ];
    if let Some(k) = c.cluster.ready() {
        head.push(Span::styled(
            format!(
                "  {} {} {}",
                k.status.as_deref().unwrap_or_default(),
                k.version.as_deref().unwrap_or_default(),
                k.authentication_mode
                    .map_or("CONFIG_MAP (default)", |m| m.as_str())
            ),
            theme.label(),
        ));
    }
    let mut lines = vec![Line::from(head)];
    let path = c.path(&app.identity, &app.findings, app.done);
    lines.push(Line::styled(
        "Access path: credentials to kubectl",
        theme.title(),
    ));
    lines.extend(path::lines(app, theme, &path, area.width));
    lines.push(Line::from(""));
    match &c.oidc_provider {
        Probe::Ready(true) => lines.push(kv(
            theme,
            "IAM OIDC",
            format!("{} provider present", theme.ok()),
            theme.good(),
        )),
        Probe::Ready(false) => lines.push(kv(
            theme,
            "IAM OIDC",
            format!(
                "{} no provider for the issuer (irsa/oidc-provider-missing)",
                theme.bad()
            ),
            theme.error(),
        )),
        other => {
            if let Some(mut l) = probe_line(app, theme, other, "ListOpenIDConnectProviders") {
                l.spans.insert(
                    0,
                    Span::styled(format!("{:<16}", "IAM OIDC"), theme.label()),
                );
                lines.push(l);
            }
        }
    }
    lines.extend(kubernetes_lines(app, theme, c));
    let related: Vec<_> = app
        .findings
        .iter()
        .filter(|f| f.evidence.get("cluster").and_then(|v| v.as_str()) == Some(c.name.as_str()))
        .collect();
    if !related.is_empty() {
        let mut spans = vec![Span::styled(
            format!("Findings ({}, 5 for details) ", related.len()),
            theme.label(),
        )];
        for f in related {
            spans.push(Span::styled(
                format!("{} ", f.rule),
                theme.severity(f.severity),
            ));
        }
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// A probe's own state, labelled: `None` when it answered (the caller draws the answer).
fn state<T>(
    app: &App,
    theme: Theme,
    label: &str,
    p: &Probe<T>,
    waiting: &str,
) -> Option<Line<'static>> {
    let mut l = match p {
        // Not a failure: an earlier answer made this question moot.
        Probe::Failed { message } if message.starts_with("not asked") => {
            Line::styled(format!("{} {message}", theme.dash()), theme.label())
        }
        _ => probe_line(app, theme, p, waiting)?,
    };
    l.spans
        .insert(0, Span::styled(format!("{label:<16}"), theme.label()));
    Some(l)
}

/// The cluster's own answers: API server, mapped as (and via what), console
/// verbs, the kubeconfig context; each with its own spinner and error state.
fn kubernetes_lines(app: &App, theme: Theme, c: &ClusterState) -> Vec<Line<'static>> {
    let k = &c.kube;
    let mut lines = Vec::new();
    let context = match &k.context {
        Some(ctx) => Some(kv(
            theme,
            "kubeconfig",
            format!(
                "context {}{}",
                ctx.name,
                if ctx.current { " (current)" } else { "" }
            ),
            Style::default(),
        )),
        None if k.asked() && (app.done || !k.pending()) => Some(kv(
            theme,
            "kubeconfig",
            "no context points at this cluster",
            theme.label(),
        )),
        None if k.asked() => None,
        None => return lines,
    };
    let Some(reach) = &k.reach else {
        lines.extend(context);
        return lines;
    };
    lines.push(Line::styled(
        "Kubernetes: the cluster's own answers",
        theme.title(),
    ));
    match reach {
        Probe::Ready(endpoint) => lines.push(kv(
            theme,
            "API server",
            format!("{} answers at {endpoint}", theme.ok()),
            theme.good(),
        )),
        Probe::Pending => lines.extend(state(app, theme, "API server", reach, "connecting")),
        other => {
            lines.extend(state(app, theme, "API server", other, "connecting"));
            lines.extend(context);
            return lines;
        }
    }
    match k.whoami.as_ref() {
        Some(Probe::Ready(u)) => {
            let via = c
                .mapped_via()
                .map_or(String::new(), |v| format!(" (via {v})"));
            lines.push(kv(
                theme,
                "mapped as",
                format!("{} {}{via}", theme.ok(), u.username),
                theme.good(),
            ));
            let groups: Vec<&str> = u
                .groups
                .iter()
                .map(String::as_str)
                .filter(|g| *g != "system:authenticated")
                .collect();
            lines.push(kv(
                theme,
                "groups",
                if groups.is_empty() {
                    "none".to_owned()
                } else {
                    groups.join(", ")
                },
                Style::default(),
            ));
        }
        Some(Probe::Denied { .. }) => lines.push(kv(
            theme,
            "mapped as",
            format!(
                "{} nobody: the cluster answers 401 Unauthorized",
                theme.bad()
            ),
            theme.error(),
        )),
        Some(other) => lines.extend(state(
            app,
            theme,
            "mapped as",
            other,
            "asking SelfSubjectReview",
        )),
        None => {}
    }
    match k.aws_auth.as_ref() {
        Some(Probe::Ready(a)) => {
            let (text, style) = match (&a.mapping, a.line, &a.refused) {
                _ if a.absent => ("absent".to_owned(), theme.label()),
                (Some(_), Some(l), _) => (
                    format!("{} line {l} maps the caller", theme.ok()),
                    theme.good(),
                ),
                (None, Some(l), Some(r)) => (
                    format!("{} line {l} refused: {r}", theme.bad()),
                    theme.error(),
                ),
                (None, Some(l), None) => (
                    format!(
                        "{} no entry maps the caller (line {l} nearly does)",
                        theme.bad()
                    ),
                    theme.error(),
                ),
                _ if !a.near_misses.is_empty() => (
                    format!(
                        "{} no entry maps the caller: {}",
                        theme.bad(),
                        a.near_misses.join("; ")
                    ),
                    theme.error(),
                ),
                _ => ("no entry maps the caller".to_owned(), theme.label()),
            };
            lines.push(kv(theme, "aws-auth", text, style));
        }
        Some(Probe::Denied { .. }) => lines.push(kv(
            theme,
            "aws-auth",
            format!("{} not readable as this caller (403)", theme.dash()),
            theme.warn(),
        )),
        Some(other) => lines.extend(state(
            app,
            theme,
            "aws-auth",
            other,
            "reading kube-system/aws-auth",
        )),
        None => {}
    }
    match k.rbac.as_ref() {
        Some(Probe::Ready(checks)) => {
            let denied: Vec<String> = checks
                .iter()
                .filter(|c| !c.allowed)
                .map(|c| format!("{} {}", c.verb, c.resource))
                .collect();
            let allowed = checks.len() - denied.len();
            if denied.is_empty() {
                lines.push(kv(
                    theme,
                    "console verbs",
                    format!("{} all {allowed} reads allowed", theme.ok()),
                    theme.good(),
                ));
            } else {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<16}", "console verbs"), theme.label()),
                    Span::styled(format!("{} {allowed} allowed ", theme.ok()), theme.good()),
                    Span::styled(
                        format!(
                            "{} {} denied: {}",
                            theme.bad(),
                            denied.len(),
                            denied.join(", ")
                        ),
                        theme.error(),
                    ),
                ]));
            }
        }
        Some(other) => lines.extend(state(app, theme, "console verbs", other, "asking RBAC")),
        None => {}
    }
    if let Some(p) = k.can.as_ref() {
        match p {
            Probe::Ready(can) => lines.push(kv(
                theme,
                "can-i",
                format!(
                    "{} {} {}",
                    if can.allowed { theme.ok() } else { theme.bad() },
                    can.verb,
                    can.resource
                ),
                if can.allowed {
                    theme.good()
                } else {
                    theme.error()
                },
            )),
            other => lines.extend(state(app, theme, "can-i", other, "asking RBAC")),
        }
    }
    lines.extend(context);
    lines
}
