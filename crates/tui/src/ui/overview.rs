//! The overview: every area at a glance. On a small terminal one column of
//! sections (caller, clusters, keys, STS, findings) that fits 80x24 without
//! scrolling; from 120x32 a grid of tiles (Identity | Keys over Clusters |
//! Endpoints, findings along the bottom) that grows with the terminal.
//! Rows are cut, never wrapped; only the rows on screen are computed, so a
//! thousand clusters cost what a screenful does.

use eksdoctor_core::finding::{Finding, Severity};
use eksdoctor_core::snapshot::{AccessKey, AuthenticationMode, CredentialKind, Probe};
use eksdoctor_core::sts::EndpointType;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Widget};

use super::path::{self, fit, fit_middle};
use super::{probe_line, scroll_offset};
use crate::app::{App, ClusterState, Tile};
use crate::engines::sts_default;
use crate::theme::Theme;

/// From this size on, the overview is a grid of tiles.
pub const GRID_WIDTH: u16 = 120;
pub const GRID_HEIGHT: u16 = 32;

const KEY_LIMIT: usize = 2;
/// The label column of the one-column overview.
const LW: usize = 10;

#[must_use]
pub(super) fn is_grid(area: Rect) -> bool {
    area.width >= GRID_WIDTH && area.height >= GRID_HEIGHT
}

fn label(theme: Theme, app: &App, tile: Tile, text: &str, width: usize) -> Span<'static> {
    let style = if app.overview.focus == tile {
        theme.active_tab()
    } else {
        theme.title()
    };
    Span::styled(format!("{text:<width$}"), style)
}

/// One column of sections, for the bordered panel area.
pub(super) fn render_compact(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let w = area.width;
    let mut lines: Vec<Line<'static>> = Vec::new();
    identity_lines(app, theme, w, true, &mut lines);
    let keys = key_lines(app, theme, w, true);
    let sts = sts_lines(app, theme, w, 1, true);
    let fixed = lines.len() + keys.len() + sts.len() + 2;
    let left = usize::from(area.height).saturating_sub(fixed);
    // Clusters get up to half of what is left (at least 3 rows), findings the rest.
    let cluster_rows = app
        .clusters
        .len()
        .max(1)
        .min((left / 2).max(3))
        .min(left.saturating_sub(2));
    lines.extend(cluster_lines(app, theme, w, cluster_rows, true));
    lines.extend(keys);
    lines.extend(sts);
    let rest = usize::from(area.height).saturating_sub(lines.len());
    lines.extend(finding_lines(app, theme, w, rest, true));
    lines.truncate(usize::from(area.height));
    Paragraph::new(lines).render(area, buf);
}

/// The grid of tiles, for the whole body area.
pub(super) fn render_grid(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let top_h = 7 + (area.height.saturating_sub(GRID_HEIGHT)) / 6;
    let bottom_h = (area.height / 4).max(8);
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Min(0),
        Constraint::Length(bottom_h),
    ])
    .areas(area);
    let split = |r: Rect| -> [Rect; 2] {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(r)
    };
    let [id_area, keys_area] = split(top);
    let [clusters_area, endpoints_area] = split(middle);
    for (tile, r) in [
        (Tile::Identity, id_area),
        (Tile::Keys, keys_area),
        (Tile::Clusters, clusters_area),
        (Tile::Endpoints, endpoints_area),
        (Tile::Findings, bottom),
    ] {
        let inner = tile_block(app, theme, tile, r, buf);
        let w = inner.width;
        let h = usize::from(inner.height);
        let lines = match tile {
            Tile::Identity => {
                let mut l = Vec::new();
                identity_lines(app, theme, w, false, &mut l);
                l
            }
            Tile::Keys => key_lines(app, theme, w, false),
            Tile::Clusters => clusters_tile(app, theme, w, h),
            Tile::Endpoints => sts_lines(app, theme, w, h, false),
            Tile::Findings => finding_lines(app, theme, w, h, false),
        };
        Paragraph::new(lines).render(inner, buf);
    }
}

fn tile_block(app: &App, theme: Theme, tile: Tile, area: Rect, buf: &mut Buffer) -> Rect {
    let focused = app.overview.focus == tile;
    let mut title = format!(" {} ", tile.panel().title());
    if tile == Tile::Findings && !app.findings.is_empty() {
        title = format!(" Findings {} ", app.findings.len());
    }
    if app.tile_pending(tile) {
        title.push_str(theme.spinner(app.spinner));
        title.push(' ');
    }
    let (title_style, border_style) = if focused {
        (theme.active_tab(), theme.title())
    } else {
        (theme.title(), theme.label())
    };
    let mut block = Block::bordered()
        .border_set(theme.border())
        .border_style(border_style)
        .padding(Padding::horizontal(1))
        .title(Span::styled(title, title_style));
    if focused {
        block = block.title_bottom(Span::styled(" Enter: full panel ", theme.label()));
    }
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

fn identity_lines(
    app: &App,
    theme: Theme,
    width: u16,
    compact: bool,
    out: &mut Vec<Line<'static>>,
) {
    let w = usize::from(width);
    let lw = LW;
    let head = |text: &str| label(theme, app, Tile::Identity, text, lw);
    if let Some(mut l) = probe_line(app, theme, &app.identity, "asking STS who you are") {
        l.spans.insert(0, head("Caller"));
        out.push(l);
        return;
    }
    let Some(id) = app.identity.ready() else {
        return;
    };
    let room = w.saturating_sub(lw);
    out.push(Line::from(vec![
        head("Caller"),
        Span::styled(fit_middle(&id.arn, room, theme), theme.title()),
    ]));
    out.push(Line::from(vec![
        Span::styled(format!("{:<lw$}", " EKS sees"), theme.label()),
        Span::styled(fit_middle(&id.canonical_arn, room, theme), theme.good()),
    ]));
    let kind = match id.credential_kind {
        CredentialKind::Temporary => "temporary",
        CredentialKind::LongTerm => "long-term key",
    };
    let source = id
        .credential_source
        .clone()
        .unwrap_or_else(|| "default chain".to_owned());
    let region = id.region.clone().unwrap_or_else(|| "no region".to_owned());
    let text = format!("{kind} {} {source} {} {region}", dot(theme), dot(theme));
    out.push(Line::from(vec![
        Span::styled(format!("{:<lw$}", " creds"), theme.label()),
        Span::raw(fit(&text, room, theme)),
    ]));
    if !compact && id.arn != id.canonical_arn {
        out.push(Line::styled(
            fit(
                "access entries: the role's full ARN, path included; aws-auth: no path",
                w,
                theme,
            ),
            theme.label(),
        ));
    }
}

fn dot(theme: Theme) -> &'static str {
    if theme.ascii { "-" } else { "·" }
}

fn key_lines(app: &App, theme: Theme, width: u16, compact: bool) -> Vec<Line<'static>> {
    let w = usize::from(width);
    let lw = if compact { LW } else { 0 };
    let mut out = Vec::new();
    let head = |text: &str| label(theme, app, Tile::Keys, text, lw);
    if let Some(mut l) = probe_line(app, theme, &app.keys, "ListAccessKeys") {
        if compact {
            l.spans.insert(0, head("Keys"));
        }
        out.push(l);
        return out;
    }
    let Some(keys) = app.keys.ready() else {
        return out;
    };
    if keys.is_empty() {
        let mut l = Line::from(Span::styled("no access keys", theme.good()));
        if compact {
            l.spans.insert(0, head("Keys"));
        }
        out.push(l);
        return out;
    }
    let mut users: Vec<&str> = keys.iter().map(|k| k.user_name.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    for (i, user) in users.iter().enumerate() {
        let mine: Vec<&AccessKey> = keys.iter().filter(|k| k.user_name == *user).collect();
        let n = mine.len();
        let gauge: String = (0..KEY_LIMIT)
            .map(|i| {
                if i < n {
                    theme.bar_full()
                } else {
                    theme.bar_empty()
                }
                .repeat(3)
            })
            .collect();
        let oldest = mine
            .iter()
            .map(|k| (app.options.now.as_second() - k.created.as_second()).max(0) / 86_400)
            .max()
            .unwrap_or(0);
        let rotation = i64::from(app.options.rotation_days);
        let count_style = if n >= KEY_LIMIT {
            theme.warn()
        } else {
            theme.good()
        };
        let age_style = if oldest > rotation {
            theme.error()
        } else {
            theme.good()
        };
        let mut spans = Vec::new();
        if compact {
            spans.push(if i == 0 {
                head("Keys")
            } else {
                Span::raw(" ".repeat(lw))
            });
        }
        let name_w = w.saturating_sub(lw + 30).clamp(6, 24);
        spans.push(Span::raw(format!("{:<name_w$} ", fit(user, name_w, theme))));
        spans.push(Span::styled(
            format!("{n}/{KEY_LIMIT} [{gauge}]"),
            count_style,
        ));
        spans.push(Span::styled(format!(" oldest {oldest}d"), age_style));
        if n >= KEY_LIMIT {
            spans.push(Span::styled(
                fit(" limit", w.saturating_sub(lw + name_w + 26), theme),
                theme.warn(),
            ));
        }
        out.push(Line::from(spans));
    }
    if !compact && out.len() < 4 {
        out.push(Line::styled(
            format!(
                "{} bar: keys held of {KEY_LIMIT}; age vs {} days",
                dot(theme),
                app.options.rotation_days
            ),
            theme.label(),
        ));
    }
    out
}

fn auth_short(m: Option<AuthenticationMode>) -> &'static str {
    match m {
        Some(AuthenticationMode::Api) => "API",
        Some(AuthenticationMode::ApiAndConfigMap) => "API+CM",
        Some(AuthenticationMode::ConfigMap) | None => "CM",
    }
}

/// mapped and console marks for one cluster, from its access path.
fn marks(app: &App, theme: Theme, c: &ClusterState) -> (Span<'static>, Span<'static>) {
    if !matches!(c.cluster, Probe::Ready(_)) {
        let w = super::probe_word(app, theme, &c.cluster);
        let short = Span::styled(fit(&w.content, 2, theme), w.style);
        return (short.clone(), short);
    }
    (
        path::mark(app, theme, c.marks.0),
        path::mark(app, theme, c.marks.1),
    )
}

fn cluster_lines(
    app: &App,
    theme: Theme,
    width: u16,
    rows: usize,
    compact: bool,
) -> Vec<Line<'static>> {
    let w = usize::from(width);
    let lw = if compact { LW } else { 0 };
    let fixed = 1 + 10 + 6 + 7 + 4 + 8 + 9;
    let name_w = w.saturating_sub(lw + fixed).clamp(8, 28);
    let mut out = Vec::new();
    let mut header = Vec::new();
    if compact {
        header.push(label(theme, app, Tile::Clusters, "Clusters", lw));
    }
    header.push(Span::styled(
        format!(
            " {:<name_w$}{:<10}{:<6}{:<7}{:<4}{:<8}{}",
            "name", "region", "ver", "auth", "map", "console", "STS"
        ),
        theme.label(),
    ));
    out.push(Line::from(header));
    // A region that could not be listed, as its own error state.
    for (region, p) in app
        .regions
        .iter()
        .filter(|(_, p)| !matches!(p, Probe::Ready(_) | Probe::Pending))
        .take(2)
    {
        if let Some(l) = probe_line(app, theme, p, "ListClusters") {
            let mut spans = vec![Span::raw(" ".repeat(lw + 1))];
            spans.push(Span::styled(format!("{region}: "), theme.error()));
            spans.extend(l.spans);
            out.push(Line::from(spans));
        }
    }
    if app.clusters.is_empty() {
        let pad = " ".repeat(lw + 1);
        let msg = if app.done {
            Line::styled(
                format!("{pad}no clusters in the regions probed"),
                theme.label(),
            )
        } else {
            Line::styled(
                format!("{pad}{} listing clusters", theme.spinner(app.spinner)),
                theme.spinner_style(),
            )
        };
        out.push(msg);
        return out;
    }
    let sel = app.overview.selected(Tile::Clusters);
    let offset = scroll_offset(sel, rows);
    let focused = app.overview.focus == Tile::Clusters;
    for (i, c) in app.clusters.values().enumerate().skip(offset).take(rows) {
        let (ver, auth, sts) = match c.cluster.ready() {
            Some(k) => (
                k.version.clone().unwrap_or_default(),
                auth_short(k.authentication_mode),
                match sts_default(k) {
                    EndpointType::Global => "global",
                    _ => "regional",
                },
            ),
            None => (String::new(), "", ""),
        };
        let (mapped, console) = marks(app, theme, c);
        let selected = i == sel && focused;
        let marker = if i == sel { ">" } else { " " };
        let mut spans = Vec::new();
        if compact {
            spans.push(Span::raw(" ".repeat(lw)));
        }
        spans.push(Span::raw(format!(
            "{marker}{:<name_w$}{:<10}{ver:<6}{auth:<7}",
            fit(&c.name, name_w.saturating_sub(1), theme),
            fit(&c.region, 9, theme)
        )));
        let mw = mapped.content.chars().count();
        spans.push(mapped);
        spans.push(Span::raw(" ".repeat(4usize.saturating_sub(mw))));
        let cw = console.content.chars().count();
        spans.push(console);
        spans.push(Span::raw(" ".repeat(8usize.saturating_sub(cw))));
        spans.push(Span::styled(
            sts.to_owned(),
            if sts == "global" {
                theme.warn()
            } else {
                Style::new()
            },
        ));
        let mut line = Line::from(spans);
        if selected {
            line = line.style(theme.selected());
        }
        out.push(line);
    }
    out
}

/// The Clusters tile: the table, then the selected cluster's path as a chain.
fn clusters_tile(app: &App, theme: Theme, width: u16, height: usize) -> Vec<Line<'static>> {
    let rows = app
        .clusters
        .len()
        .max(1)
        .min(height.saturating_sub(5).max(1));
    let mut out = cluster_lines(app, theme, width, rows, false);
    let sel = app
        .overview
        .selected(Tile::Clusters)
        .min(app.clusters.len().saturating_sub(1));
    if let Some(c) = app.clusters.values().nth(sel)
        && out.len() + 3 <= height
    {
        let p = c.path(&app.identity, &app.findings, app.done);
        out.push(Line::from(""));
        out.push(Line::styled(
            format!("Access path into {}", c.name),
            theme.title(),
        ));
        let full = path::lines(app, theme, &p, width);
        if out.len() + full.len() <= height {
            // Room to draw every hop, as the Clusters panel does.
            out.extend(full);
            return out;
        }
        out.extend(path::chain(app, theme, &p, width));
        if let Some(h) = path::headline(theme, &p, width) {
            out.push(h);
        }
        if let Some(h) = p.broken_hop()
            && let Some(fix) = &h.fix
        {
            out.push(Line::styled(
                fit(
                    &format!("fix: {}  (c copies it)", fix.summary),
                    usize::from(width),
                    theme,
                ),
                theme.label(),
            ));
        }
    }
    out.truncate(height);
    out
}

/// STS: which endpoint the workloads reach, and where they disagree.
fn sts_lines(
    app: &App,
    theme: Theme,
    width: u16,
    height: usize,
    compact: bool,
) -> Vec<Line<'static>> {
    let w = usize::from(width);
    let (mut regional, mut global, mut unknown) = (0usize, 0usize, 0usize);
    for c in app.clusters.values() {
        match c.workloads.ready() {
            Some(rows) => {
                for r in rows {
                    match r.effective {
                        EndpointType::Global => global += 1,
                        _ => regional += 1,
                    }
                }
            }
            None => unknown += 1,
        }
    }
    let conflicts: Vec<&Finding> = app
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("sts/") && f.severity == Severity::Error)
        .collect();
    let pending = app.tile_pending(Tile::Endpoints);
    let mut spans = Vec::new();
    if compact {
        spans.push(label(theme, app, Tile::Endpoints, "STS", LW));
    }
    spans.push(Span::raw(format!(
        "workloads {regional} regional {} ",
        dot(theme)
    )));
    spans.push(Span::styled(
        format!("{global} global"),
        if global > 0 {
            theme.warn()
        } else {
            Style::new()
        },
    ));
    spans.push(Span::raw(format!(" {} ", dot(theme))));
    spans.push(Span::styled(
        format!(
            "{} conflict{}",
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" }
        ),
        if conflicts.is_empty() {
            theme.good()
        } else {
            theme.error()
        },
    ));
    if unknown > 0 {
        spans.push(Span::styled(
            format!(" {} {unknown} cluster(s) unread", dot(theme)),
            theme.label(),
        ));
    }
    if pending {
        spans.push(Span::styled(
            format!(" {}", theme.spinner(app.spinner)),
            theme.spinner_style(),
        ));
    }
    let mut out = vec![Line::from(spans)];
    if compact {
        return out;
    }
    let sel = app.overview.selected(Tile::Endpoints);
    out.push(Line::styled(
        format!(
            " {:<15}{:<15}{}",
            "cluster", "pods default", "workloads reg/glob"
        ),
        theme.label(),
    ));
    let conflict_rows = conflicts.len().min(height / 3);
    let rows = height.saturating_sub(2 + conflict_rows).max(1);
    let offset = scroll_offset(sel, rows);
    for (i, c) in app.clusters.values().enumerate().skip(offset).take(rows) {
        let default = match c.cluster.ready().map(sts_default) {
            Some(EndpointType::Global) => Span::styled("global (<1.22) ", theme.warn()),
            Some(_) => Span::raw("regional       "),
            None => Span::raw("               "),
        };
        let work = match c.workloads.ready() {
            Some(rows) => {
                let g = rows
                    .iter()
                    .filter(|r| r.effective == EndpointType::Global)
                    .count();
                format!("{}/{g}", rows.len() - g)
            }
            None if matches!(c.workloads, Probe::Pending) && !app.done => {
                theme.spinner(app.spinner).to_owned()
            }
            None => "not read".to_owned(),
        };
        let marker = if i == sel { ">" } else { " " };
        let mut line = Line::from(vec![
            Span::raw(format!("{marker}{:<15}", fit(&c.name, 14, theme))),
            default,
            Span::raw(fit(&work, w.saturating_sub(31), theme)),
        ]);
        if i == sel && app.overview.focus == Tile::Endpoints {
            line = line.style(theme.selected());
        }
        out.push(line);
    }
    for f in conflicts.into_iter().take(conflict_rows.max(1)) {
        out.push(Line::styled(
            fit(&format!("{} {}", theme.bad(), f.message), w, theme),
            theme.error(),
        ));
    }
    out
}

/// Findings, errors first, one line each.
fn finding_lines(
    app: &App,
    theme: Theme,
    width: u16,
    height: usize,
    compact: bool,
) -> Vec<Line<'static>> {
    let w = usize::from(width);
    let mut out = Vec::new();
    let count = |s: Severity| app.findings.iter().filter(|f| f.severity == s).count();
    let (e, wa, i) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let mut head = Vec::new();
    if compact {
        head.push(label(theme, app, Tile::Findings, "Findings", LW));
    }
    if app.findings.is_empty() {
        head.push(if app.done {
            Span::styled(format!("{} none", theme.ok()), theme.good())
        } else {
            Span::styled(
                format!("{} waiting for the probes", theme.spinner(app.spinner)),
                theme.spinner_style(),
            )
        });
        out.push(Line::from(head));
        return out;
    }
    head.push(Span::styled(
        format!("{e} error{}", if e == 1 { "" } else { "s" }),
        if e > 0 {
            theme.error().add_modifier(Modifier::BOLD)
        } else {
            theme.good()
        },
    ));
    head.push(Span::styled(
        format!(
            " {} {wa} warning{} {} {i} info",
            dot(theme),
            if wa == 1 { "" } else { "s" },
            dot(theme)
        ),
        theme.label(),
    ));
    out.push(Line::from(head));
    let rows = height.saturating_sub(out.len());
    if rows == 0 {
        return out;
    }
    let sel = app.overview.selected(Tile::Findings);
    let total = app.findings.len();
    let shown = if total > rows { rows - 1 } else { rows };
    let offset = scroll_offset(sel, shown);
    let focused = app.overview.focus == Tile::Findings;
    let rule_w = if w >= 100 { 31 } else { 0 };
    for (idx, f) in app.findings.iter().enumerate().skip(offset).take(shown) {
        let sev = match f.severity {
            Severity::Error => theme.bad().to_owned(),
            Severity::Warning => "!".to_owned(),
            Severity::Info => "i".to_owned(),
        };
        let marker = if idx == sel { ">" } else { " " };
        let mut spans = vec![
            Span::raw(marker.to_owned()),
            Span::styled(format!("{sev} "), theme.severity(f.severity)),
        ];
        let text = if rule_w > 0 {
            spans.push(Span::styled(
                format!("{:<rule_w$}", fit(f.rule, rule_w - 1, theme)),
                theme.severity(f.severity),
            ));
            fit(&f.message, w.saturating_sub(3 + rule_w), theme)
        } else {
            fit(
                &format!("{}: {}", f.rule, f.message),
                w.saturating_sub(3),
                theme,
            )
        };
        spans.push(Span::raw(text));
        let mut line = Line::from(spans);
        if idx == sel && focused {
            line = line.style(theme.selected());
        }
        out.push(line);
    }
    if total > shown + offset {
        out.push(Line::styled(
            format!("  +{} more (5: all findings)", total - shown - offset),
            theme.label(),
        ));
    }
    out
}
