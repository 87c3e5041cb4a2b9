//! Pod credentials: which STS endpoint pods reach on each cluster, and for
//! the selected cluster which credentials each workload really gets (read
//! live: IRSA, Pod Identity or the node role, its role and verdict), else
//! what the workloads' manifests set and where code and configuration
//! disagree.

use eksdoctor_core::podid::live::PodCredential;
use eksdoctor_core::snapshot::Probe;
use eksdoctor_core::sts::EndpointType;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::wrap::hanging;
use super::{probe_line, probe_word};
use crate::app::App;
use crate::engines::{sts_default, sts_regional_url};
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
        let (version, mut default) = match c.cluster.ready() {
            Some(k) => {
                let v = k.version.clone().unwrap_or_default();
                let d = match sts_default(k) {
                    EndpointType::Global => Span::styled("global (<1.22)".to_owned(), theme.warn()),
                    other => Span::styled(other.as_str().to_owned(), theme.good()),
                };
                (v, d)
            }
            None => (String::new(), probe_word(app, theme, &c.cluster)),
        };
        default.content = format!("{:<15}", default.content).into();
        let mut line = Line::from(vec![
            Span::raw(format!("{marker}{:<16.16}{version:<8}", c.name)),
            default,
            Span::raw(sts_regional_url(&c.region)),
        ]);
        if selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    let selected = app.clusters.values().nth(app.endpoint_sel);
    if let Some(c) = selected
        && let Some(pods) = &c.pods
    {
        pod_lines(app, theme, area, &c.name, pods, &mut lines);
    }
    // What the manifests set: unless only the live answer is there.
    if let Some(c) = selected
        && !(c.pods.is_some() && matches!(c.workloads, Probe::Pending))
    {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!("Workloads on {} (IRSA)", c.name),
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
        let conflicts: Vec<_> = app
            .findings
            .iter()
            .filter(|f| f.rule.starts_with("sts/"))
            .filter(|f| f.evidence.get("cluster").and_then(|v| v.as_str()) == Some(c.name.as_str()))
            .collect();
        if let Some(rows) = c.workloads.ready() {
            if rows.is_empty() {
                lines.push(Line::from(" No workloads with an IAM role (IRSA)."));
            }
            for r in rows {
                let conflict = conflicts.iter().find(|f| {
                    f.evidence.get("workload").and_then(|v| v.as_str()) == Some(r.workload.as_str())
                });
                let (mark, style) = if conflict.is_some() {
                    (theme.bad(), theme.error())
                } else {
                    (theme.ok(), theme.good())
                };
                let mut head = hanging(
                    &format!(
                        "{}/{} {} {} (by {})",
                        r.namespace,
                        r.workload,
                        theme.arrow(),
                        r.effective.as_str(),
                        r.source
                    ),
                    &format!(" {mark} "),
                    area.width,
                    Style::new(),
                );
                if let Some(first) = head.first_mut() {
                    first.spans[0].style = style;
                }
                lines.extend(head);
                let annotation = r
                    .annotation
                    .as_ref()
                    .map_or_else(|| theme.dash().to_owned(), |a| format!("\"{a}\""));
                let env = r.env.clone().unwrap_or_else(|| theme.dash().to_owned());
                lines.extend(hanging(
                    &format!(
                        "resolves to {}  sa {}  annotation {annotation}  env {env}",
                        r.endpoint, r.service_account
                    ),
                    "     ",
                    area.width,
                    theme.label(),
                ));
                if let Some(f) = conflict {
                    lines.extend(hanging(&f.message, "     ", area.width, theme.error()));
                }
            }
        }
        let general: Vec<_> = conflicts
            .iter()
            .filter(|f| !f.evidence.contains_key("workload"))
            .collect();
        for f in general {
            lines.extend(hanging(
                &format!("{} {}", f.rule, f.message),
                " ! ",
                area.width,
                theme.severity(f.severity),
            ));
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// The live answer: one entry per workload (or service account without pods).
fn pod_lines(
    app: &App,
    theme: Theme,
    area: Rect,
    cluster: &str,
    pods: &Probe<Vec<PodCredential>>,
    lines: &mut Vec<Line<'static>>,
) {
    lines.push(Line::from(""));
    lines.push(Line::styled(
        format!("Pod credentials on {cluster} (live)"),
        theme.title(),
    ));
    if let Some(mut l) = probe_line(
        app,
        theme,
        pods,
        "reading service accounts, pods and associations",
    ) {
        l.spans.insert(0, Span::raw(" "));
        lines.push(l);
    }
    let Some(rows) = pods.ready() else {
        return;
    };
    if rows.is_empty() {
        lines.push(Line::from(
            " No workload has IRSA or Pod Identity configured.",
        ));
    }
    for r in rows {
        let (mark, style) = match r.verdict {
            "ok" => (theme.ok(), theme.good()),
            "problem" => (theme.bad(), theme.error()),
            _ => ("?", theme.warn()),
        };
        let who = match (&r.workload, r.pods) {
            (Some(w), 1) => format!("{}/{w}", r.namespace),
            (Some(w), n) => format!("{}/{w} ({n} pods)", r.namespace),
            (None, _) => format!("{}/{} (no pods)", r.namespace, r.service_account),
        };
        let role = r.role.as_deref().map_or_else(
            || theme.dash().to_owned(),
            |a| a.rsplit('/').next().unwrap_or(a).to_owned(),
        );
        let mut head = hanging(
            &format!("{who} {} {} {role}", theme.arrow(), r.mechanism.as_str()),
            &format!(" {mark} "),
            area.width,
            Style::new(),
        );
        if let Some(first) = head.first_mut() {
            first.spans[0].style = style;
        }
        lines.extend(head);
        lines.extend(hanging(
            &format!(
                "sa {}  sts {} {}  configured {}",
                r.service_account,
                r.sts_endpoint_type.as_str(),
                r.sts_endpoint,
                if r.configured.is_empty() {
                    theme.dash().to_owned()
                } else {
                    r.configured.join("+")
                }
            ),
            "     ",
            area.width,
            theme.label(),
        ));
        if !r.reasons.is_empty() {
            lines.extend(hanging(&r.reasons.join(", "), "     ", area.width, style));
        }
    }
}
