//! Identity: who the caller is to AWS, and the ARN EKS matches.

use eksdoctor_core::snapshot::CredentialKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{kv, kv_wrapped, probe_line};
use crate::app::App;
use crate::theme::Theme;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    if let Some(l) = probe_line(
        app,
        theme,
        &app.identity,
        "asking STS who you are (GetCallerIdentity)",
    ) {
        lines.push(l);
    }
    if let Some(id) = app.identity.ready() {
        let plain = Style::new();
        lines.extend(kv_wrapped(theme, "ARN", &id.arn, theme.title(), area.width));
        lines.extend(kv_wrapped(
            theme,
            "EKS matches",
            &id.canonical_arn,
            theme.good(),
            area.width,
        ));
        lines.push(kv(theme, "Account", id.account.clone(), plain));
        lines.push(kv(theme, "Principal", id.kind.as_str(), plain));
        let cred = match id.credential_kind {
            CredentialKind::Temporary => "temporary (ASIA..., expires)",
            CredentialKind::LongTerm => "long-term access key (AKIA...)",
        };
        lines.push(kv(theme, "Credentials", cred, plain));
        lines.push(kv(
            theme,
            "From",
            id.credential_source
                .clone()
                .unwrap_or_else(|| "default chain".to_owned()),
            plain,
        ));
        lines.push(kv(
            theme,
            "Region",
            id.region
                .clone()
                .unwrap_or_else(|| "(none: set AWS_REGION or --region)".to_owned()),
            plain,
        ));
        lines.extend(kv_wrapped(
            theme,
            "User id",
            &id.user_id,
            theme.label(),
            area.width,
        ));
        lines.push(Line::from(""));
        if id.arn != id.canonical_arn {
            lines.push(Line::from(vec![
                Span::styled("Note ", theme.title()),
                Span::raw(
                    "the EKS authenticator matches the role, not the session. An \
                     access entry names the role's full ARN, path included (as IAM \
                     lists it); an aws-auth entry names it without the path (the ARN \
                     above, \"EKS matches\").",
                ),
            ]));
        }
        if id.credential_kind == CredentialKind::LongTerm {
            lines.push(Line::from(vec![
                Span::styled("Note ", theme.title()),
                Span::raw("long-term keys: prefer SSO or a role (keys/long-term-credentials)."),
            ]));
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}
