//! `--format ocsf` and `--format asff`: a live run's findings for security
//! tooling (OCSF Detection Findings) and AWS Security Hub (ASFF import
//! batches). The converters are `eksdoctor_core::export`; this file scopes a
//! run's findings to accounts, regions and clusters and prints the result
//! through the redacting [`Output`]. Formats: docs/formats.md.
//!
//! `--previous FILE` ([`load_previous`]) carries findings across runs: the
//! same three formats, JSON included, keep a finding's first-seen time and
//! print the findings gone since as resolved. The previous report may be in
//! any of the three, whatever this run prints: its findings are rebuilt in
//! this run's format (ids and times kept). A part of the account a probe
//! could not see this time keeps its findings open ([`hold_unseen`]).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use eksdoctor_aws::LiveSnapshot;
use eksdoctor_core::export::previous::{Previous, PreviousFinding, PreviousFormat, resolved_json};
use eksdoctor_core::export::{ExportContext, ScopedFinding, asff, ocsf, unique_ids};
use eksdoctor_core::finding::{Finding, Severity};
use eksdoctor_core::fleet::FleetReport;
use eksdoctor_core::report::{Report, Summary};
use eksdoctor_core::snapshot::Probe;
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
/// anything is probed. It may be any of json, ocsf or asff (told from its
/// shape); one in another format than this run's is rebuilt in this run's
/// format, each finding keeping its id and times.
///
/// # Errors
/// `--previous` with `--format text|sarif` (usage), or a file that cannot
/// be read or is not such a report (input): exit 2 either way.
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
    if previous.format == want {
        return Ok(Some(previous));
    }
    let unreadable = |e: &dyn std::fmt::Display| {
        CliError::input(
            &name,
            format!(
                "a --format {} report that cannot be read as {}: {e}",
                previous.format.as_str(),
                want.as_str()
            ),
        )
    };
    let rebuilt = translate(&previous, want).map_err(|e| unreadable(&e))?;
    Previous::parse(&rebuilt)
        .map_err(|e| unreadable(&e))
        .map(Some)
}

/// What a previous finding's record says, whatever its format: the
/// finding (rule, severity, message, detail, evidence) and where it was.
struct Recovered {
    finding: Finding,
    account_id: String,
    account_name: Option<String>,
    region: Option<String>,
    cluster: Option<String>,
}

fn recover(format: PreviousFormat, p: &PreviousFinding) -> Result<Recovered, String> {
    let r = &p.record;
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let (rule, severity, message, detail, evidence, account_name) = match format {
        PreviousFormat::Json => (
            text(&r["rule"]),
            text(&r["severity"]),
            text(&r["message"]),
            text(&r["detail"]),
            r["evidence"].clone(),
            text(&r["scope"]["account_name"]),
        ),
        PreviousFormat::Ocsf => {
            let own = &r["unmapped"]["eksdoctor"];
            (
                text(&own["rule"]),
                text(&own["severity"]),
                text(&r["message"]),
                text(&r["finding_info"]["desc"]),
                own["evidence"].clone(),
                text(&r["cloud"]["account"]["name"]),
            )
        }
        PreviousFormat::Asff => {
            let description = text(&r["Description"]).unwrap_or_default();
            let (message, detail) = match description.split_once("\n\n") {
                Some((m, d)) => (m.to_owned(), Some(d.to_owned())),
                None => (description, None),
            };
            (
                text(&r["ProductFields"]["eksdoctor/Rule"]).or_else(|| text(&r["GeneratorId"])),
                text(&r["Severity"]["Original"]),
                Some(message),
                detail,
                Value::Null,
                text(&r["ProductFields"]["eksdoctor/AccountName"]),
            )
        }
    };
    let rule = rule.ok_or_else(|| format!("{}: no rule id", p.id))?;
    let rule = *eksdoctor_core::rules::by_id(&rule)
        .ok_or_else(|| format!("{}: rule {rule} is not one this eksdoctor knows", p.id))?;
    let mut finding = Finding::new(rule, message.unwrap_or_default());
    if let Some(s) = severity.and_then(|s| {
        [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .find(|v| v.as_str() == s)
    }) {
        finding.severity = s;
    }
    if let Some(d) = detail {
        finding = finding.detail(d);
    }
    if let Value::Object(map) = evidence {
        finding.evidence = map.into_iter().collect();
    }
    // The id names the scope: eksdoctor/ACCOUNT/REGION/CLUSTER/RULE/HASH.
    let mut parts = p.id.split('/').skip(1);
    let account_id = parts.next().unwrap_or_default().to_owned();
    let region = parts.next().filter(|r| *r != "global").map(str::to_owned);
    let cluster = parts.next().filter(|c| *c != "-").map(str::to_owned);
    Ok(Recovered {
        finding,
        account_id,
        account_name,
        region,
        cluster,
    })
}

/// A previous report rebuilt in another format, as that format's text.
fn translate(previous: &Previous, want: PreviousFormat) -> Result<String, String> {
    let mut json = Vec::new();
    let mut events = Vec::new();
    let mut batches: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for p in &previous.findings {
        let r = recover(previous.format, p)?;
        let home = r
            .region
            .clone()
            .unwrap_or_else(|| FALLBACK_REGION.to_owned());
        let sf = ScopedFinding {
            account_id: &r.account_id,
            account_name: r.account_name.as_deref(),
            region: r.region.as_deref(),
            cluster: r.cluster.as_deref(),
            finding: &r.finding,
        };
        // The record as the previous run would have written it in `want`.
        let ctx = ExportContext::new(env!("CARGO_PKG_VERSION"), p.created, &home);
        match want {
            PreviousFormat::Json => json.push(
                serde_json::to_value(Tracked {
                    id: &p.id,
                    first_seen: p.first_seen.to_string(),
                    finding: &r.finding,
                    scope: Some(Scope {
                        account_id: &r.account_id,
                        account_name: r.account_name.as_deref(),
                        region: r.region.as_deref(),
                        cluster: r.cluster.as_deref(),
                    }),
                })
                .map_err(|e| e.to_string())?,
            ),
            PreviousFormat::Ocsf => {
                let mut v = serde_json::to_value(ocsf::convert(&sf, &p.id, &ctx))
                    .map_err(|e| e.to_string())?;
                v["finding_info"]["first_seen_time"] = Value::from(p.first_seen.as_millisecond());
                events.push(v);
            }
            PreviousFormat::Asff => {
                let mut v = serde_json::to_value(asff::convert(&sf, &p.id, &ctx))
                    .map_err(|e| e.to_string())?;
                v["FirstObservedAt"] = Value::from(p.first_seen.to_string());
                let key = p.batch.clone().unwrap_or((r.account_id.clone(), home));
                batches.entry(key).or_default().push(v);
            }
        }
    }
    let doc = match want {
        PreviousFormat::Json => serde_json::json!({ "findings": json }),
        PreviousFormat::Ocsf => Value::Array(events),
        PreviousFormat::Asff => Value::Array(
            batches
                .into_iter()
                .map(|((account_id, region), findings)| {
                    serde_json::json!({"account_id": account_id, "region": region, "findings": findings})
                })
                .collect(),
        ),
    };
    let doc = if want == PreviousFormat::Asff {
        serde_json::json!({ "batches": doc })
    } else {
        doc
    };
    Ok(doc.to_string())
}

/// `--previous`: the parts of `account_id` this run's probes could not see
/// keep their previous findings open (held, printed as they were) instead
/// of being resolved: a region whose clusters could not be listed, a
/// cluster that could not be described or probed, the access keys when
/// they could not be read.
pub fn hold_unseen(previous: &mut Previous, account_id: &str, snap: &LiveSnapshot) {
    fn failed<T>(p: &Probe<T>) -> bool {
        matches!(
            p,
            Probe::Denied { .. } | Probe::TimedOut | Probe::Failed { .. }
        )
    }
    for (region, listed) in &snap.regions {
        if failed(listed) {
            previous.hold_scope(account_id, Some(region), None, None);
        }
    }
    for c in snap.clusters.values() {
        // A console check that did not run ("not checked") is no failure.
        let console = matches!(c.console, Probe::Denied { .. } | Probe::TimedOut);
        if failed(&c.cluster) || failed(&c.entry) || failed(&c.oidc_provider) || console {
            previous.hold_scope(account_id, Some(&c.region), Some(&c.name), None);
        }
    }
    if let Some(keys) = &snap.keys
        && failed(keys)
    {
        previous.hold_scope(account_id, None, None, Some("keys/"));
    }
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
