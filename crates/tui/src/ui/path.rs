//! The access path, drawn: one line per hop (✓ ✗ ?), the first broken hop
//! highlighted with its fix under it, an unknown hop with what would answer
//! it. Also the one-line chain the overview shows.

use eksdoctor_core::access_path::{AccessPath, Hop, HopKind, HopState};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::wrap::hanging;
use crate::app::App;
use crate::theme::Theme;

/// `s` cut to `width` characters, with an ellipsis when cut.
pub(crate) fn fit(s: &str, width: usize, theme: Theme) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_owned();
    }
    let dots = if theme.ascii { "~" } else { "…" };
    let keep = width.saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect();
    if width > 0 {
        out.push_str(dots);
    }
    out
}

/// `s` cut in the middle to `width` characters: ARNs keep their account and their name.
pub(crate) fn fit_middle(s: &str, width: usize, theme: Theme) -> String {
    let n = s.chars().count();
    if n <= width || width < 8 {
        return fit(s, width, theme);
    }
    let dots = if theme.ascii { "~" } else { "…" };
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let mut out: String = s.chars().take(head).collect();
    out.push_str(dots);
    out.extend(s.chars().skip(n - tail));
    out
}

pub(crate) fn mark(app: &App, theme: Theme, state: HopState) -> Span<'static> {
    match state {
        HopState::Ok => Span::styled(theme.ok().to_owned(), theme.good()),
        HopState::Broken => Span::styled(theme.bad().to_owned(), theme.error()),
        HopState::Unknown => Span::styled("?".to_owned(), theme.warn()),
        HopState::Pending => {
            Span::styled(theme.spinner(app.spinner).to_owned(), theme.spinner_style())
        }
    }
}

/// The path, one hop a line, for a pane `width` wide.
pub(crate) fn lines(app: &App, theme: Theme, path: &AccessPath, width: u16) -> Vec<Line<'static>> {
    let w = usize::from(width);
    let label_w = 20;
    let mut out = Vec::new();
    for (i, h) in path.hops.iter().enumerate() {
        let first_broken = Some(i) == path.first_broken;
        let head = format!(" {} ", i + 1);
        let room = w.saturating_sub(head.chars().count() + 2 + label_w);
        let (label_style, summary_style) = match h.state {
            HopState::Broken if first_broken => (
                theme
                    .error()
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
                theme.error(),
            ),
            HopState::Broken => (theme.error(), theme.label()),
            HopState::Unknown if is_not_reached(h) => (theme.label(), theme.label()),
            HopState::Unknown => (theme.warn(), theme.warn()),
            _ => (Style::new(), Style::new()),
        };
        let summary = if matches!(h.hop, HopKind::Identity | HopKind::EksMatches) {
            fit_middle(&h.summary, room, theme)
        } else {
            fit(&h.summary, room, theme)
        };
        out.push(Line::from(vec![
            Span::styled(head, theme.label()),
            mark(app, theme, h.state),
            Span::raw(" "),
            Span::styled(
                format!("{:<label_w$}", fit(&h.label, label_w - 1, theme)),
                label_style,
            ),
            Span::styled(summary, summary_style),
        ]));
        if first_broken && let Some(fix) = &h.fix {
            let indent = "      ";
            let mut head = hanging(
                &format!("fix: {}  (c copies it)", fix.summary),
                indent,
                width,
                theme.title(),
            );
            out.append(&mut head);
            for c in &fix.commands {
                out.extend(hanging(c, "      $ ", width, theme.command()));
            }
            if let Some(r) = &fix.replacement {
                for l in r.lines() {
                    out.extend(hanging(l, "        ", width, theme.command()));
                }
            }
            if fix.commands.is_empty()
                && fix.replacement.is_none()
                && let Some(p) = &fix.policy
            {
                let compact = serde_json::to_string(p).unwrap_or_default();
                out.extend(hanging(&compact, "        ", width, theme.command()));
            }
        }
        if h.state == HopState::Unknown
            && !is_not_reached(h)
            && let Some(a) = &h.answer
        {
            out.extend(hanging(
                &format!("would answer it: {a}"),
                "      ",
                width,
                theme.label(),
            ));
        }
    }
    out
}

fn is_not_reached(h: &Hop) -> bool {
    h.why
        .as_deref()
        .is_some_and(|w| w.starts_with("not reached"))
}

/// A hop's name in the one-line chain.
fn short(h: &Hop) -> String {
    match h.hop {
        HopKind::Credentials => "creds".to_owned(),
        HopKind::Identity => "IAM".to_owned(),
        HopKind::EksMatches => "EKS ARN".to_owned(),
        HopKind::DescribeCluster => "Describe".to_owned(),
        HopKind::Mapping => match h.label.strip_prefix("aws-auth line ") {
            Some(n) => format!("aws-auth:{n}"),
            None if h.label.starts_with("aws-auth") => "aws-auth".to_owned(),
            None if h.label == "access entry" => "entry".to_owned(),
            None => "mapping".to_owned(),
        },
        HopKind::KubernetesUser => "user".to_owned(),
        HopKind::Rbac => "RBAC".to_owned(),
        HopKind::Reach => "kubectl".to_owned(),
    }
}

/// `creds ✓ → IAM ✓ → ... → kubectl ✗`, wrapped to `width`.
pub(crate) fn chain(app: &App, theme: Theme, path: &AccessPath, width: u16) -> Vec<Line<'static>> {
    let w = usize::from(width);
    let mut out = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (i, h) in path.hops.iter().enumerate() {
        let name = short(h);
        let sep = if i == 0 {
            String::new()
        } else {
            format!(" {} ", theme.arrow())
        };
        let len = sep.chars().count() + name.chars().count() + 2;
        if used + len > w && !cur.is_empty() {
            out.push(Line::from(std::mem::take(&mut cur)));
            used = 0;
        }
        if used > 0 {
            cur.push(Span::styled(sep.clone(), theme.label()));
            used += sep.chars().count();
        }
        let style = if Some(i) == path.first_broken {
            theme.error().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        cur.push(Span::styled(format!("{name} "), style));
        cur.push(mark(app, theme, h.state));
        used += name.chars().count() + 2;
    }
    if !cur.is_empty() {
        out.push(Line::from(cur));
    }
    out
}

/// The first broken hop's one-line headline: `✗ aws-auth line 13: ...`.
pub(crate) fn headline(theme: Theme, path: &AccessPath, width: u16) -> Option<Line<'static>> {
    let h = path.broken_hop()?;
    let text = format!("{} {}: {}", theme.bad(), h.label, h.summary);
    Some(Line::styled(
        fit(&text, usize::from(width), theme),
        theme.error(),
    ))
}
