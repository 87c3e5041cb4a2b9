//! Access keys: the two-key limit, each key's age against the rotation age,
//! and the rotation plan that never asks IAM for a third key.

use eksdoctor_core::mask::mask_key_id_among;
use eksdoctor_core::snapshot::{AccessKey, KeyStatus};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::probe_line;
use super::wrap::hanging;
use crate::app::App;
use crate::theme::Theme;

/// IAM's limit of access keys per user, active or inactive.
const KEY_LIMIT: usize = 2;
const BAR: usize = 10;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    if let Some(l) = probe_line(
        app,
        theme,
        &app.keys,
        "ListAccessKeys / GetAccessKeyLastUsed",
    ) {
        lines.push(l);
    }
    if let Some(keys) = app.keys.ready() {
        if keys.is_empty() {
            lines.push(Line::from("No access keys: nothing to rotate."));
        }
        let mut users: Vec<&str> = keys.iter().map(|k| k.user_name.as_str()).collect();
        users.dedup();
        for user in users {
            let mine: Vec<&AccessKey> = keys.iter().filter(|k| k.user_name == user).collect();
            user_lines(app, theme, user, &mine, &mut lines);
        }
        for plan in &app.plans {
            lines.push(Line::from(""));
            lines.push(Line::styled(
                format!("Rotation plan for {} (never a third key)", plan.user),
                theme.title(),
            ));
            let start = keys.iter().filter(|k| k.user_name == plan.user).count();
            let counts = plan.counts(start);
            for (i, step) in plan.steps.iter().enumerate() {
                let after = counts.get(i).copied().unwrap_or(start);
                let head = format!("{} ({after}/{KEY_LIMIT} keys after)", step.summary);
                lines.extend(hanging(
                    &head,
                    &format!(" {}. ", i + 1),
                    area.width,
                    Style::new(),
                ));
                for c in &step.commands {
                    lines.extend(hanging(c, "    $ ", area.width, theme.command()));
                }
            }
        }
    }
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let scroll = app.keys_scroll.min(total.saturating_sub(1));
    let mut body = area;
    if total.saturating_sub(scroll) > area.height {
        body.height = area.height.saturating_sub(1);
        let hint = Rect {
            y: area.bottom().saturating_sub(1),
            height: 1,
            ..area
        };
        Line::styled(
            format!("{} more below: j/k scroll", theme.arrow()),
            theme.label(),
        )
        .render(hint, buf);
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(body, buf);
}

fn user_lines(
    app: &App,
    theme: Theme,
    user: &str,
    keys: &[&AccessKey],
    lines: &mut Vec<Line<'static>>,
) {
    let n = keys.len();
    let gauge: String = (0..KEY_LIMIT)
        .map(|i| {
            if i < n {
                theme.bar_full()
            } else {
                theme.bar_empty()
            }
            .repeat(4)
        })
        .collect();
    let (verdict, vstyle) = if n >= KEY_LIMIT {
        (
            "limit reached: delete one before creating one",
            theme.warn(),
        )
    } else {
        ("room for one more key", theme.good())
    };
    lines.push(Line::from(vec![
        Span::styled(format!("User {user}  "), theme.title()),
        Span::styled(format!("{n}/{KEY_LIMIT} keys [{gauge}] "), vstyle),
        Span::styled(verdict.to_owned(), vstyle),
    ]));
    lines.push(Line::styled(
        format!(
            " {:<21}{:<9}{:<11}{:<17}{}",
            "Key id", "Status", "Created", "Age", "Last used"
        ),
        theme.label(),
    ));
    for k in keys {
        let age = days_between(k.created, app.options.now);
        let rotation = i64::from(app.options.rotation_days.max(1));
        let filled =
            usize::try_from((age * i64::try_from(BAR).unwrap_or(10) / rotation).clamp(0, 10))
                .unwrap_or(0);
        let bar = format!(
            "{}{}",
            theme.bar_full().repeat(filled),
            theme.bar_empty().repeat(BAR - filled)
        );
        let age_style = if age > rotation {
            theme.error()
        } else {
            theme.good()
        };
        let status = match k.status {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        };
        let last = match (&k.last_used, k.last_used_known) {
            (Some(u), _) => format!(
                "{}d ago {}",
                days_between(u.date, app.options.now),
                u.service.clone().unwrap_or_default()
            ),
            (None, true) => "never".to_owned(),
            (None, false) => "unknown".to_owned(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                " {:<21}{status:<9}{:<11}",
                // Enough of the end to tell two look-alike keys apart (issue 18).
                mask_key_id_among(
                    &k.access_key_id,
                    &keys
                        .iter()
                        .map(|o| o.access_key_id.as_str())
                        .collect::<Vec<_>>()
                ),
                date(k.created)
            )),
            Span::styled(format!("{age:>4}d {bar} "), age_style),
            Span::styled(
                last,
                if k.last_used.is_none() {
                    theme.warn()
                } else {
                    Style::new()
                },
            ),
        ]));
    }
    lines.push(Line::styled(
        format!(
            " bar: age against the rotation age of {} days",
            app.options.rotation_days
        ),
        theme.label(),
    ));
}

fn days_between(from: jiff::Timestamp, to: jiff::Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0) / 86_400
}

fn date(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}
