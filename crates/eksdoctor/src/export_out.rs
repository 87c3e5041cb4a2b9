//! `--format ocsf` and `--format asff`: a live run's findings for security
//! tooling (OCSF Detection Findings) and AWS Security Hub (ASFF import
//! batches). The converters are `eksdoctor_core::export`; this file scopes a
//! run's findings to accounts, regions and clusters and prints the result
//! through the redacting [`Output`]. Formats: docs/formats.md.
//!
//! `--previous FILE` ([`load_previous`]) carries findings across runs: the
//! same three formats, JSON included, keep a finding's first-seen time and
//! print the findings gone since as resolved.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use eksdoctor_aws::LiveSnapshot;
use eksdoctor_core::export::previous::{Previous, PreviousFormat, resolved_json};
use eksdoctor_core::export::{ExportContext, ScopedFinding, asff, ocsf, unique_ids};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::fleet::FleetReport;
use eksdoctor_core::report::{Report, Summary};
use serde::Serialize;
use serde_json::Value;

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

/// `--previous FILE`: the previous run's report, read and checked before
/// anything is probed. It must be in this run's format (json, ocsf or
/// asff), told from its shape.
///
/// # Errors
/// `--previous` with another format (usage), or a file that cannot be read
/// or is not such a report (input): exit 2 either way.
pub fn load_previous(path: Option<&Path>, format: Format) -> Result<Option<Previous>, CliError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let want = match format {
        Format::Json => PreviousFormat::Json,
        Format::Ocsf => PreviousFormat::Ocsf,
        Format::Asff => PreviousFormat::Asff,
        Format::Text | Format::Sarif => {
            return Err(CliError::Usage(
                "--previous is for --format json, ocsf or asff (the formats that carry finding ids)"
                    .to_owned(),
            ));
        }
    };
    let name = crate::input::display_name(path);
    let text = crate::input::read_text(path)?;
    let previous = Previous::parse(&text).map_err(|e| CliError::input(&name, e.to_string()))?;
    if previous.format != want {
        return Err(CliError::input(
            &name,
            format!(
                "a --format {} report, but this run prints {}: pass the previous {} report",
                previous.format.as_str(),
                want.as_str(),
                want.as_str()
            ),
        ));
    }
    Ok(Some(previous))
}

/// The findings in `format` (OCSF or ASFF). `None` for the other formats.
#[must_use]
pub fn render(
    format: Format,
    findings: &[ScopedFinding<'_>],
    ctx: &ExportContext<'_>,
    previous: Option<&Previous>,
) -> Option<String> {
    match format {
        Format::Ocsf => Some(ocsf::to_json_tracked(findings, ctx, previous)),
        Format::Asff => Some(asff::to_json_tracked(findings, ctx, previous)),
        Format::Text | Format::Json | Format::Sarif => None,
    }
}

/// A finding of the JSON report with its stable id and when it was first
/// seen (now, or the previous report's `first_seen`).
#[derive(Serialize)]
struct Tracked<'a> {
    id: &'a str,
    first_seen: String,
    #[serde(flatten)]
    finding: &'a Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<Scope<'a>>,
}

/// Where a fleet finding was seen (as `FleetReport::to_json` has it).
#[derive(Serialize)]
struct Scope<'a> {
    account_id: &'a str,
    account_name: Option<&'a str>,
    region: Option<&'a str>,
    cluster: Option<&'a str>,
}

/// The previous findings gone since (`resolved`, each with
/// `resolved_at`), and those of accounts this run could not check (`held`,
/// as they were).
#[derive(Serialize)]
struct Gone {
    resolved: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    held: Vec<Value>,
}

/// Each finding's id and first-seen time, and what is gone since.
fn track<'a>(
    scoped: &[ScopedFinding<'a>],
    ids: &'a [String],
    previous: Option<&Previous>,
    now: jiff::Timestamp,
    with_scope: bool,
) -> (Vec<Tracked<'a>>, Option<Gone>) {
    let findings = scoped
        .iter()
        .zip(ids)
        .map(|(sf, id)| Tracked {
            id,
            first_seen: previous
                .and_then(|p| p.seen(id))
                .map_or(now, |p| p.first_seen)
                .to_string(),
            finding: sf.finding,
            scope: with_scope.then_some(Scope {
                account_id: sf.account_id,
                account_name: sf.account_name,
                region: sf.region,
                cluster: sf.cluster,
            }),
        })
        .collect();
    let gone = previous.map(|p| {
        let current: HashSet<&str> = ids.iter().map(String::as_str).collect();
        Gone {
            resolved: p
                .resolved(&current)
                .map(|gone| resolved_json(gone, now))
                .collect(),
            held: p.held(&current).map(|h| h.record.clone()).collect(),
        }
    });
    (findings, gone)
}

fn pretty<T: Serialize>(doc: &T) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

/// `check --format json`: the report with each finding's `id` and
/// `first_seen`, and with `--previous` the findings gone since
/// (`resolved`). Without an identity there is no account to derive ids
/// from: the report is printed as it is.
///
/// # Errors
/// As [`Output::report`].
pub fn print_check_json(
    out: &Output,
    report: &Report,
    snap: &LiveSnapshot,
    previous: Option<&Previous>,
) -> Result<i32, CliError> {
    #[derive(Serialize)]
    struct Doc<'a> {
        findings: Vec<Tracked<'a>>,
        summary: Summary,
        #[serde(flatten)]
        gone: Option<Gone>,
        #[serde(flatten)]
        extra: &'a serde_json::Map<String, Value>,
    }
    let Some((account, cluster_regions, home)) = account_scope(snap) else {
        return out.report(report);
    };
    let scoped = scope_account(&report.findings, &account, None, &cluster_regions, &home);
    let ids = unique_ids(&scoped);
    let (findings, gone) = track(&scoped, &ids, previous, jiff::Timestamp::now(), false);
    out.print(&pretty(&Doc {
        findings,
        summary: report.summary,
        gone,
        extra: &report.extra,
    }));
    Ok(report.exit_code())
}

/// `check --org --format json`: `FleetReport::to_json` with each
/// top-level finding's `id` and `first_seen`, and with `--previous` the
/// findings gone since (`resolved`).
#[must_use]
pub fn fleet_json(report: &FleetReport, previous: Option<&Previous>) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        findings: Vec<Tracked<'a>>,
        #[serde(flatten)]
        gone: Option<Gone>,
        #[serde(flatten)]
        report: &'a FleetReport,
    }
    let scoped = report.scoped_findings();
    let ids = unique_ids(&scoped);
    let (findings, gone) = track(&scoped, &ids, previous, jiff::Timestamp::now(), true);
    pretty(&Doc {
        findings,
        gone,
        report,
    })
}

/// The caller's account, where each cluster was found, and the home region.
fn account_scope(snap: &LiveSnapshot) -> Option<(String, BTreeMap<String, Vec<String>>, String)> {
    let identity = snap.identity.ready()?;
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
    Some((identity.account.clone(), cluster_regions, home))
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
pub fn print_check(
    out: &Output,
    report: &Report,
    snap: &LiveSnapshot,
    previous: Option<&Previous>,
) -> Result<i32, CliError> {
    let Some((account, cluster_regions, home)) = account_scope(snap) else {
        return out.report(report);
    };
    let ctx = context(out, &home);
    let scoped = scope_account(&report.findings, &account, None, &cluster_regions, &home);
    if let Some(text) = render(out.format, &scoped, &ctx, previous) {
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
