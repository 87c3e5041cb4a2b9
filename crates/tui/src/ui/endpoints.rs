//! Endpoints: which STS endpoint pods reach on each cluster, what the
//! workloads set, and where code and configuration disagree.

use eksdoctor_core::snapshot::Probe;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{probe_line, probe_word};
use crate::app::App;
use crate::endpoints::{StsEndpointKind, default_for_version, regional_url, resolve};
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    if app.clusters.is_empty() {
        if let Some(l) = probe_line(
            app,
            theme,
            &Probe::<()>::Pending,
            "waiting for the clusters",
        ) {
            lines.push(l);
        } else {
            lines.push(Line::from("No clusters: nothing to resolve."));
        }
    } else {
        lines.push(Line::styled(
            format!(
                " {:<16}{:<8}{:<15}{}",
                "Cluster", "Version", "Pods default", "Regional URL"
            ),
            theme.label(),
        ));
    }
    for (i, c) in app.clusters.values().enumerate() {
        let selected = i == app.endpoint_sel;
        let marker = if selected { ">" } else { " " };
        let (version, default) = match c.cluster.ready() {
            Some(k) => {
                let v = k.version.clone().unwrap_or_default();
                let d = match k.version.as_deref().and_then(default_for_version) {
                    Some(StsEndpointKind::Regional) => {
                        Span::styled("regional".to_owned(), theme.good())
                    }
                    Some(StsEndpointKind::Global) => {
                        Span::styled("global (<1.22)".to_owned(), theme.warn())
                    }
                    None => Span::raw("?"),
                };
                (v, d)
            }
            None => (String::new(), probe_word(app, theme, &c.cluster)),
        };
        let mut default = default;
        default.content = format!("{:<15}", default.content).into();
        let mut line = Line::from(vec![
            Span::raw(format!("{marker}{:<16.16}{version:<8}", c.name)),
            default,
            Span::raw(regional_url(&c.region)),
        ]);
        if selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    if let Some(c) = app.clusters.values().nth(app.endpoint_sel) {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!("Workloads on {}", c.name),
            theme.title(),
        ));
        if let Some(mut l) = probe_line(
            app,
            theme,
            &c.workloads,
            "reading service accounts and pods",
        ) {
            l.spans.insert(0, Span::raw(" "));
            lines.push(l);
        }
        match (c.workloads.ready(), c.cluster.ready()) {
            (Some(ws), _) if ws.is_empty() => {
                lines.push(Line::from(" No workloads with an IAM role (IRSA)."));
            }
            (Some(ws), Some(k)) => {
                for w in ws {
                    let r = resolve(k, w);
                    let (mark, style) = if r.conflict.is_some() {
                        (theme.bad(), theme.error())
                    } else {
                        (theme.ok(), theme.good())
                    };
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {mark} "), style),
                        Span::styled(w.workload.clone(), theme.title()),
                        Span::raw(format!(
                            " {} {} ({})",
                            theme.arrow(),
                            r.endpoint.as_str(),
                            r.because
                        )),
                    ]));
                    let annotation = w
                        .annotation
                        .as_ref()
                        .map_or_else(|| theme.dash().to_owned(), |a| format!("\"{a}\""));
                    let env = if w.env.is_empty() {
                        theme.dash().to_owned()
                    } else {
                        w.env
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    lines.push(Line::styled(
                        format!(
                            "     sa {}  annotation {annotation}  env {env}",
                            w.service_account
                        ),
                        theme.label(),
                    ));
                    if let Some(calls) = &w.calls {
                        lines.push(Line::styled(
                            format!("     code calls {calls}"),
                            Style::new(),
                        ));
                    }
                    if let Some(conflict) = &r.conflict {
                        lines.push(Line::styled(format!("     {conflict}"), theme.error()));
                    }
                }
            }
            _ => {}
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}
