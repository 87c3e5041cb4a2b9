//! `whoami`: the caller as AWS (GetCallerIdentity) and as the EKS
//! authenticator (canonical ARN) see it.

use std::fmt::Write as _;

use eksdoctor_core::report::Report;
use eksdoctor_core::snapshot::CallerIdentity;

use crate::cli::{Format, GlobalArgs};
use crate::cmd::live;
use crate::error::CliError;
use crate::output::Output;

pub fn run(global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    let rt = live::runtime()?;
    rt.block_on(async {
        let config = live::config(global, None);
        let live = match live::connect(&config, out).await? {
            Ok(l) => l,
            Err(code) => return Ok(code),
        };
        let id = match eksdoctor_aws::sts::caller_identity(&live).await {
            Ok(id) => id,
            Err(e) if e.is_fatal() => return live::fatal(&e, live.credential_source(), out),
            Err(e) => return Err(live::identity_failed(&e)),
        };
        let findings: Vec<_> =
            eksdoctor_aws::findings::long_term_credentials(&id, live.access_key_id())
                .into_iter()
                .collect();
        let report = Report::new(findings);
        if out.format == Format::Text {
            out.print(&render_text(&id));
            if !report.findings.is_empty() {
                out.print("\n");
                out.report(&report)?;
            }
            return Ok(report.exit_code());
        }
        out.report(&with_identity(report, &id))
    })
}

/// The report with cli.md's whoami members at the top level.
#[must_use]
pub fn with_identity(report: Report, id: &CallerIdentity) -> Report {
    report
        .with("arn", id.arn.clone().into())
        .with("account", id.account.clone().into())
        .with("user_id", id.user_id.clone().into())
        .with("kind", id.kind.as_str().into())
        .with("canonical_arn", id.canonical_arn.clone().into())
        .with("credential_kind", id.credential_kind.as_str().into())
        .with(
            "region",
            id.region
                .clone()
                .map_or(serde_json::Value::Null, serde_json::Value::from),
        )
}

fn render_text(id: &CallerIdentity) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| {
        let _ = writeln!(s, "{k:<16} {v}");
    };
    line("arn", &id.arn);
    line("account", &id.account);
    line("user_id", &id.user_id);
    line("kind", id.kind.as_str());
    line("canonical_arn", &id.canonical_arn);
    line("credential_kind", id.credential_kind.as_str());
    line("region", id.region.as_deref().unwrap_or("-"));
    if let Some(src) = &id.credential_source {
        line("source", src);
    }
    if id.canonical_arn != id.arn {
        let _ = writeln!(
            s,
            "\nEKS matches this caller as {} (aws-auth: exactly this ARN; access entries: the \
             role's full ARN, path included).",
            id.canonical_arn
        );
    }
    s
}
