//! `--format ocsf` and `--format asff`: a live run's findings for security
//! tooling (OCSF Detection Findings) and AWS Security Hub (ASFF import
//! batches). The converters are `eksdoctor_core::export`; this file scopes a
//! run's findings to accounts, regions and clusters and prints the result
//! through the redacting [`Output`]. Formats: docs/formats.md.

use std::collections::BTreeMap;

use eksdoctor_aws::LiveSnapshot;
use eksdoctor_core::export::{ExportContext, ScopedFinding, asff, ocsf};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::report::Report;

use crate::cli::Format;
use crate::error::CliError;
use crate::output::Output;

/// The region account-wide findings are filed under when nothing names one.
pub const FALLBACK_REGION: &str = "us-east-1";

/// The error for `--format ocsf|asff` on a command that has no such output.
#[must_use]
pub fn not_here() -> CliError {
    CliError::Usage(
        "--format ocsf and --format asff are for check (live findings of an AWS account); \
         use text or json"
            .to_owned(),
    )
}

/// The context every converted finding shares: this version, now, the
/// output's redactor (its tainted key ids included).
#[must_use]
pub fn context<'a>(out: &Output, home_region: &'a str) -> ExportContext<'a> {
    ExportContext::new(
        env!("CARGO_PKG_VERSION"),
        jiff::Timestamp::now(),
        home_region,
    )
    .with_redactor(out.redactor())
}

/// The findings in `format` (OCSF or ASFF). `None` for the other formats.
#[must_use]
pub fn render(
    format: Format,
    findings: &[ScopedFinding<'_>],
    ctx: &ExportContext<'_>,
) -> Option<String> {
    match format {
        Format::Ocsf => Some(ocsf::to_json(findings, ctx)),
        Format::Asff => Some(asff::to_json(findings, ctx)),
        Format::Text | Format::Json | Format::Sarif => None,
    }
}

/// One account's findings scoped for export: the cluster a finding names
/// (`evidence.cluster`) and its region (`evidence.region`, else the region
/// the run found that cluster in when that is one region, else
/// `home_region`); findings that name no cluster are account-wide.
#[must_use]
pub fn scope_account<'a>(
    findings: &'a [Finding],
    account_id: &'a str,
    account_name: Option<&'a str>,
    cluster_regions: &'a BTreeMap<String, Vec<String>>,
    home_region: &'a str,
) -> Vec<ScopedFinding<'a>> {
    findings
        .iter()
        .map(|f| {
            let text = |k: &str| {
                f.evidence
                    .get(k)
                    .and_then(serde_json::Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let cluster = text("cluster");
            let region = cluster.map(|c| {
                text("region")
                    .or_else(|| match cluster_regions.get(c).map(Vec::as_slice) {
                        Some([only]) => Some(only.as_str()),
                        _ => None,
                    })
                    .unwrap_or(home_region)
            });
            ScopedFinding {
                account_id,
                account_name,
                region,
                cluster,
                finding: f,
            }
        })
        .collect()
}

/// `check --format ocsf|asff`: the report's findings, scoped to the
/// caller's account. Returns the report's exit status. Without an identity
/// there is no account to file findings under: stdout stays empty, the
/// findings go to stderr as text, and `check` exits 3 saying why.
///
/// # Errors
/// As [`Output::report`].
pub fn print_check(out: &Output, report: &Report, snap: &LiveSnapshot) -> Result<i32, CliError> {
    let Some(identity) = snap.identity.ready() else {
        return out.report(report);
    };
    let mut cluster_regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (region, name) in snap.clusters.keys() {
        cluster_regions
            .entry(name.clone())
            .or_default()
            .push(region.clone());
    }
    let home = identity
        .region
        .clone()
        .or_else(|| snap.regions.keys().next().cloned())
        .unwrap_or_else(|| FALLBACK_REGION.to_owned());
    let ctx = context(out, &home);
    let scoped = scope_account(
        &report.findings,
        &identity.account,
        None,
        &cluster_regions,
        &home,
    );
    if let Some(text) = render(out.format, &scoped, &ctx) {
        out.print(&text);
    }
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksdoctor_core::rules;

    #[test]
    fn findings_take_their_cluster_and_its_region() {
        let findings = vec![
            Finding::new(rules::CLUSTER_NOT_MAPPED, "a")
                .evidence("cluster", "prod")
                .evidence("region", "eu-west-1"),
            Finding::new(rules::IRSA_OIDC_PROVIDER_MISSING, "b").evidence("cluster", "dev"),
            Finding::new(rules::CLUSTER_UNREACHABLE, "c").evidence("cluster", "twice"),
            Finding::new(rules::KEYS_OLD, "d").evidence("user", "alice"),
        ];
        let mut regions = BTreeMap::new();
        regions.insert("dev".to_owned(), vec!["ap-south-1".to_owned()]);
        regions.insert(
            "twice".to_owned(),
            vec!["us-east-2".to_owned(), "us-west-2".to_owned()],
        );
        let s = scope_account(&findings, "111122223333", None, &regions, "us-east-1");
        let got: Vec<(Option<&str>, Option<&str>)> =
            s.iter().map(|x| (x.cluster, x.region)).collect();
        assert_eq!(
            got,
            [
                (Some("prod"), Some("eu-west-1")),
                (Some("dev"), Some("ap-south-1")),
                (Some("twice"), Some("us-east-1")),
                (None, None),
            ]
        );
    }
}
