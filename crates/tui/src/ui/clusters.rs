//! Cluster access: the clusters by region, and for the selected one how the
//! caller gets in (or why not).

use eksdoctor_core::snapshot::Probe;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{kv, kv_wrapped, probe_line, probe_word, scroll_offset};
use crate::app::{Access, App, ClusterState};
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let list_width = if area.width >= 100 { 34 } else { 26 };
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(area);
    render_list(app, theme, list, buf);
    let block = Block::new()
        .borders(Borders::LEFT)
        .border_set(theme.border());
    let inner = block.inner(detail);
    block.render(detail, buf);
    render_detail(app, theme, inner, buf);
}

fn render_list(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    if app.regions.is_empty()
        && app.clusters.is_empty()
        && let Some(l) = probe_line(app, theme, &Probe::<()>::Pending, "listing clusters")
    {
        lines.push(l);
    }
    let mut regions: Vec<&String> = app.regions.keys().collect();
    for c in app.clusters.values() {
        if !regions.contains(&&c.region) {
            regions.push(&c.region);
        }
    }
    regions.sort();
    let mut index = 0;
    for region in regions {
        lines.push(Line::styled(region.clone(), theme.title()));
        if let Some(p) = app.regions.get(region) {
            if let Some(mut l) = probe_line(app, theme, p, "ListClusters") {
                l.spans.insert(0, Span::raw("  "));
                lines.push(l);
            } else if p.ready().is_some_and(Vec::is_empty) {
                lines.push(Line::styled("  (no clusters)", theme.label()));
            }
        }
        for c in app.clusters.values().filter(|c| &c.region == region) {
            let selected = index == app.cluster_sel;
            if selected {
                selected_line = lines.len();
            }
            let version = c
                .cluster
                .ready()
                .and_then(|k| k.version.clone())
                .unwrap_or_default();
            let marker = if selected { "> " } else { "  " };
            let name_width = usize::from(area.width).saturating_sub(12).max(8);
            let mut spans = vec![Span::raw(format!(
                "{marker}{:<name_width$.name_width$} {version:<5} ",
                c.name
            ))];
            spans.push(access_word(app, theme, c));
            let mut line = Line::from(spans);
            if selected {
                line = line.style(theme.selected());
            }
            lines.push(line);
            index += 1;
        }
    }
    let offset = scroll_offset(selected_line, usize::from(area.height));
    Paragraph::new(lines)
        .scroll((u16::try_from(offset).unwrap_or(0), 0))
        .render(area, buf);
}

/// ✓ mapped, ✗ not mapped or denied, spinner while waiting.
fn access_word(app: &App, theme: Theme, c: &ClusterState) -> Span<'static> {
    if !matches!(c.cluster, Probe::Ready(_)) {
        return probe_word(app, theme, &c.cluster);
    }
    match c.access() {
        Access::Mapped(_) => Span::styled(theme.ok().to_owned(), theme.good()),
        _ if matches!(c.entry, Probe::Pending) && !app.done => {
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
    let plain = Style::new();
    let mut lines = vec![Line::from(vec![
        Span::styled(c.name.clone(), theme.title()),
        Span::styled(format!("  {}", c.region), theme.label()),
    ])];
    match &c.cluster {
        Probe::Ready(k) => {
            lines.push(kv(
                theme,
                "Status",
                k.status.clone().unwrap_or_default(),
                plain,
            ));
            lines.push(kv(
                theme,
                "Version",
                k.version.clone().unwrap_or_default(),
                plain,
            ));
            lines.push(kv(
                theme,
                "Auth mode",
                k.authentication_mode
                    .map_or("CONFIG_MAP (default)", |m| m.as_str()),
                plain,
            ));
            lines.push(kv(
                theme,
                "DescribeCluster",
                format!("{} allowed", theme.ok()),
                theme.good(),
            ));
        }
        other => {
            if let Some(l) = probe_line(app, theme, other, "DescribeCluster") {
                let mut l = l;
                l.spans.insert(
                    0,
                    Span::styled(format!("{:<16}", "DescribeCluster"), theme.label()),
                );
                lines.push(l);
            }
        }
    }
    lines.push(Line::from(""));
    render_mapping(app, theme, c, area.width, &mut lines);
    lines.push(Line::from(""));
    render_console(app, theme, c, &mut lines);
    match &c.oidc {
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
    let related: Vec<_> = app
        .findings
        .iter()
        .filter(|f| f.evidence.get("cluster").and_then(|v| v.as_str()) == Some(c.name.as_str()))
        .collect();
    if !related.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::styled("Findings (5 for details)", theme.title()));
        for f in related {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{:<8}", f.severity.as_str()),
                    theme.severity(f.severity),
                ),
                Span::raw(f.rule),
            ]));
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

fn render_mapping(
    app: &App,
    theme: Theme,
    c: &ClusterState,
    width: u16,
    lines: &mut Vec<Line<'static>>,
) {
    let plain = Style::new();
    match c.mapping() {
        Some(m) => {
            let via = if m.source == "access-entry" {
                "access entry"
            } else {
                "aws-auth ConfigMap"
            };
            lines.push(kv(
                theme,
                "Mapped via",
                format!("{} {via}", theme.ok()),
                theme.good(),
            ));
            lines.extend(kv_wrapped(theme, "  username", &m.username, plain, width));
            let groups = if m.groups.is_empty() {
                theme.dash().to_owned()
            } else {
                m.groups.join(", ")
            };
            lines.push(kv(theme, "  groups", groups, plain));
            if !m.access_policies.is_empty() {
                let short: Vec<&str> = m
                    .access_policies
                    .iter()
                    .map(|p| p.rsplit('/').next().unwrap_or(p))
                    .collect();
                lines.push(kv(theme, "  policies", short.join(", "), plain));
            }
        }
        None => {
            let waiting = (matches!(c.entry, Probe::Pending)
                || matches!(c.aws_auth, Probe::Pending))
                && !app.done;
            if waiting {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<16}", "Mapped via"), theme.label()),
                    Span::styled(
                        format!(
                            "{} looking up access entries and aws-auth",
                            theme.spinner(app.spinner)
                        ),
                        theme.spinner_style(),
                    ),
                ]));
            } else if let Access::Unknown(why) = c.access() {
                lines.push(kv(
                    theme,
                    "Mapped via",
                    format!("? unknown: {why}"),
                    theme.warn(),
                ));
            } else {
                lines.push(kv(
                    theme,
                    "Mapped via",
                    format!(
                        "{} not mapped: the cluster answers Unauthorized",
                        theme.bad()
                    ),
                    theme.error(),
                ));
            }
        }
    }
    let entry = match &c.entry {
        Probe::Ready(Some(_)) => Span::styled("present".to_owned(), theme.good()),
        Probe::Ready(None) => Span::styled("none for this principal".to_owned(), plain),
        other => probe_state_span(app, theme, other),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:<16}", "Access entry"), theme.label()),
        entry,
    ]));
    let aws_auth = match &c.aws_auth {
        Probe::Ready(Some(m)) => Span::styled(format!("maps it as {}", m.username), theme.good()),
        Probe::Ready(None) => {
            Span::styled("no entry matches this principal".to_owned(), theme.warn())
        }
        Probe::Pending if app.done => Span::styled(
            "not read (needs Kubernetes access to kube-system)".to_owned(),
            theme.label(),
        ),
        other => probe_state_span(app, theme, other),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:<16}", "aws-auth"), theme.label()),
        aws_auth,
    ]));
}

fn probe_state_span<T>(app: &App, theme: Theme, p: &Probe<T>) -> Span<'static> {
    match p {
        Probe::Denied { permission } => {
            Span::styled(format!("denied ({permission})"), theme.error())
        }
        other => probe_word(app, theme, other),
    }
}

/// The console needs both IAM (DescribeCluster and friends) and a
/// Kubernetes identity with read RBAC.
fn render_console(app: &App, theme: Theme, c: &ClusterState, lines: &mut Vec<Line<'static>>) {
    let iam = matches!(c.cluster, Probe::Ready(_));
    let access = c.access();
    let k8s = matches!(access, Access::Mapped(_));
    let waiting =
        !app.done && (matches!(c.cluster, Probe::Pending) || matches!(c.entry, Probe::Pending));
    let (text, style) = if waiting {
        (
            format!("{} checking", theme.spinner(app.spinner)),
            theme.spinner_style(),
        )
    } else if iam && k8s {
        (
            format!(
                "{} IAM {} Kubernetes: the console can show workloads",
                theme.ok(),
                theme.ok()
            ),
            theme.good(),
        )
    } else if iam && let Access::Unknown(why) = &access {
        (
            format!("{} IAM ? Kubernetes: unknown ({why})", theme.ok()),
            theme.warn(),
        )
    } else if iam {
        (
            format!(
                "{} IAM {} Kubernetes: no Kubernetes identity (cluster/console-no-k8s-access)",
                theme.ok(),
                theme.bad()
            ),
            theme.error(),
        )
    } else {
        (
            format!(
                "{} IAM: the console cannot describe the cluster",
                theme.bad()
            ),
            theme.error(),
        )
    };
    lines.push(kv(theme, "Console", text, style));
}
