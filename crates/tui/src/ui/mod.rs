//! Rendering: `impl Widget for &App`. Reads state, never changes it.
//!
//! One module per panel; this one lays out the tab bar, the panel, the
//! status line and the help overlay, and finally passes every row of the
//! frame through the redactor as a backstop (state is redacted on the way
//! in already, see `sanitize`).

mod clusters;
mod endpoints;
mod explain;
mod findings;
mod fleet;
mod identity;
mod keys;
mod overview;
mod path;
mod wrap;

pub use overview::{GRID_HEIGHT, GRID_WIDTH};

use eksdoctor_core::snapshot::Probe;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Widget, Wrap};

use crate::action::KEYS;
use crate::app::{App, Panel};
use crate::theme::Theme;

/// Below this the dashboard shows a message instead of a broken layout.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            too_small(area, buf);
            return;
        }
        let [tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_tabs(theme, tabs, buf);
        // A fleet run with no account open: the Overview is the account list.
        if self.panel == Panel::Overview && self.fleet.as_ref().is_some_and(|f| f.listing()) {
            fleet::render(self, theme, body, buf);
            self.render_status(theme, status, buf);
            if self.help {
                help(theme, area, buf);
            }
            redact_buffer(self, area, buf);
            return;
        }
        if self.panel == Panel::Overview && overview::is_grid(area) {
            overview::render_grid(self, theme, body, buf);
            self.render_status(theme, status, buf);
            if self.help {
                help(theme, area, buf);
            }
            redact_buffer(self, area, buf);
            return;
        }
        let block = Block::bordered()
            .border_set(theme.border())
            .padding(Padding::left(1))
            .title(Span::styled(
                format!(" {} ", self.panel.title()),
                theme.title(),
            ));
        let inner = block.inner(body);
        block.render(body, buf);
        match self.panel {
            Panel::Overview => overview::render_compact(self, theme, inner, buf),
            Panel::Identity => identity::render(self, theme, inner, buf),
            Panel::Clusters => clusters::render(self, theme, inner, buf),
            Panel::Keys => keys::render(self, theme, inner, buf),
            Panel::Endpoints => endpoints::render(self, theme, inner, buf),
            Panel::Findings => findings::render(self, theme, inner, buf),
            Panel::Explain => explain::render(self, theme, inner, buf),
        }
        self.render_status(theme, status, buf);
        if self.help {
            help(theme, area, buf);
        }
        redact_buffer(self, area, buf);
    }
}

impl App {
    #[must_use]
    pub fn theme(&self) -> Theme {
        Theme {
            color: self.options.color,
            ascii: self.options.ascii,
        }
    }

    fn render_tabs(&self, theme: Theme, area: Rect, buf: &mut Buffer) {
        // Full labels when they fit; else tighter, then shorter names.
        for style in 0..3 {
            let spans = self.tab_spans(theme, style);
            let width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            if width <= usize::from(area.width) || style == 2 {
                Line::from(spans).render(area, buf);
                return;
            }
        }
    }

    fn tab_spans(&self, theme: Theme, style: u8) -> Vec<Span<'static>> {
        let mut spans = Vec::new();
        for (i, p) in Panel::ALL.iter().enumerate() {
            let title = if style == 2 {
                match p {
                    Panel::Overview => "Overview",
                    Panel::Identity => "Id",
                    Panel::Clusters => "Clust",
                    Panel::Endpoints => "Pods",
                    Panel::Explain => "Expl",
                    other => other.title(),
                }
            } else if *p == Panel::Endpoints {
                // "Pod credentials" in its block title; the tab stays short.
                "Pods"
            } else {
                p.title()
            };
            let mut label = if style == 0 {
                format!(" {i} {title}")
            } else {
                format!("{i} {title}")
            };
            match p {
                Panel::Findings if !self.findings.is_empty() => {
                    label.push_str(&format!(" {}", self.findings.len()));
                }
                Panel::Explain if !self.explain_findings.is_empty() => {
                    label.push_str(&format!(" {}", self.explain_findings.len()));
                }
                _ => {}
            }
            if self.panel_pending(*p) {
                label.push(' ');
                label.push_str(theme.spinner(self.spinner));
            }
            label.push(' ');
            let look = if *p == self.panel {
                theme.active_tab()
            } else {
                Style::new()
            };
            spans.push(Span::styled(label, look));
        }
        spans
    }

    fn render_status(&self, theme: Theme, area: Rect, buf: &mut Buffer) {
        let mode = if self.options.demo { "demo" } else { "live" };
        let mode = format!(" {mode} ");
        let hint = if self.filtering {
            "type to filter · Enter keep · Esc clear".to_owned()
        } else if self.editing && self.panel == Panel::Explain {
            "typing · Esc stop · Ctrl-U clear".to_owned()
        } else if let Some(s) = &self.status {
            s.clone()
        } else if self.panel == Panel::Overview {
            "Tab tile  j/k move  Enter open  c copy fix  0-6 panels  ? help  q quit".to_owned()
        } else if self.zoomed {
            "Esc overview  j/k move  Enter detail  c copy fix  / filter  ? help  q quit".to_owned()
        } else {
            "Tab panel  j/k move  Enter detail  c copy fix  / filter  ? help  q quit".to_owned()
        };
        let line = Line::from(vec![
            Span::styled(mode, theme.active_tab()),
            Span::raw(" "),
            Span::styled(hint, theme.label()),
        ]);
        line.render(area, buf);
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let text = Text::from(vec![
        Line::from("eksdoctor needs a larger terminal"),
        Line::from(format!(
            "at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {}x{}",
            area.width, area.height
        )),
        Line::from("enlarge the window, or press q to quit"),
    ]);
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

fn help(theme: Theme, area: Rect, buf: &mut Buffer) {
    let rows = u16::try_from(KEYS.len()).unwrap_or(u16::MAX);
    let height = (rows + 4).min(area.height);
    let width = 76.min(area.width);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_set(theme.border())
        .title(Span::styled(" Keys (? or Esc closes) ", theme.title()));
    let mut lines = vec![Line::from("")];
    for (k, what) in KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!(" {k:<17}"), theme.title()),
            Span::raw(*what),
        ]));
    }
    Paragraph::new(lines).block(block).render(popup, buf);
}

/// Rewrite any row of the frame that still holds a secret. A backstop: the
/// state is redacted as it comes in.
fn redact_buffer(app: &App, area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        let row: String = (area.left()..area.right())
            .map(|x| buf[(x, y)].symbol())
            .collect();
        let red = app.redactor.redact(&row);
        if red != row {
            let mut chars = red.chars();
            for x in area.left()..area.right() {
                let c = chars.next().unwrap_or(' ');
                buf[(x, y)].set_char(c);
            }
        }
    }
}

/// A one-line state for a probe that has not answered with data.
pub(crate) fn probe_line<T>(
    app: &App,
    theme: Theme,
    probe: &Probe<T>,
    waiting: &str,
) -> Option<Line<'static>> {
    Some(match probe {
        Probe::Ready(_) => return None,
        Probe::Pending if app.done => {
            Line::styled(format!("{} not probed", theme.dash()), theme.label())
        }
        Probe::Pending => Line::styled(
            format!("{} {waiting}", theme.spinner(app.spinner)),
            theme.spinner_style(),
        ),
        Probe::Denied { permission } => Line::styled(
            format!(
                "{} denied: eksdoctor may not call {permission}",
                theme.bad()
            ),
            theme.error(),
        ),
        Probe::TimedOut => Line::styled(format!("{} timed out", theme.bad()), theme.error()),
        Probe::Failed { message } => Line::styled(
            format!("{} failed: {}", theme.bad(), app.redactor.redact(message)),
            theme.error(),
        ),
    })
}

/// A short state word for a probe, for tables.
pub(crate) fn probe_word<T>(app: &App, theme: Theme, probe: &Probe<T>) -> Span<'static> {
    match probe {
        Probe::Ready(_) => Span::styled(theme.ok().to_owned(), theme.good()),
        Probe::Pending if app.done => Span::styled(theme.dash().to_owned(), theme.label()),
        Probe::Pending => {
            Span::styled(theme.spinner(app.spinner).to_owned(), theme.spinner_style())
        }
        Probe::Denied { .. } => Span::styled("denied".to_owned(), theme.error()),
        Probe::TimedOut => Span::styled("timed out".to_owned(), theme.error()),
        Probe::Failed { .. } => Span::styled("failed".to_owned(), theme.error()),
    }
}

/// `label      value` with the label dimmed.
pub(crate) fn kv(
    theme: Theme,
    label: &str,
    value: impl Into<String>,
    style: Style,
) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<16}"), theme.label()),
        Span::styled(value.into(), style),
    ])
}

/// `label      value`, the value hard-wrapped under itself so long ARNs
/// stay in their column.
pub(crate) fn kv_wrapped(
    theme: Theme,
    label: &str,
    value: &str,
    style: Style,
    width: u16,
) -> Vec<Line<'static>> {
    let room = usize::from(width).saturating_sub(16).max(10);
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= room {
        return vec![kv(theme, label, value.to_owned(), style)];
    }
    chars
        .chunks(room)
        .enumerate()
        .map(|(i, chunk)| {
            let part: String = chunk.iter().collect();
            kv(theme, if i == 0 { label } else { "" }, part, style)
        })
        .collect()
}

/// The first row to show so that `selected` is visible in `height` rows.
pub(crate) fn scroll_offset(selected: usize, height: usize) -> usize {
    if height == 0 || selected < height {
        0
    } else {
        selected + 1 - height
    }
}
