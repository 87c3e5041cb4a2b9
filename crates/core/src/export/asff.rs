//! AWS Security Finding Format (ASFF), for `aws securityhub
//! batch-import-findings`.
//!
//! Field names, required members and limits follow the Security Hub API
//! reference (`AwsSecurityFinding`, `Resource`, `Recommendation`) and the
//! ASFF guide's "required top-level attributes"
//! (docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html):
//! `Id` and `GeneratorId` at most 512 characters, `Title` 256,
//! `Description` 1024, `Recommendation.Text` 512, `Resource.Region` 16,
//! `ProductFields` values 2048; every string non-blank (`.*\S.*`).
//!
//! Findings are imported with the *default* product ARN
//! (`arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`), which
//! Security Hub only accepts from the account the finding belongs to, in the
//! region of the ARN. So the output is a list of batches, one or more per
//! (account, region), each at most 100 findings (BatchImportFindings' limit;
//! AWS's partner guide: 100 findings, 240 KB a finding, 6 MB a batch).
//! A finding's region is its cluster's; account-wide findings (keys, the
//! caller's identity) go to the context's home region.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::previous::{Previous, PreviousFinding, PreviousFormat};
use super::{
    ExportContext, PrincipalResource, ScopedFinding, area, cluster_arn, fix_text, is_critical,
    partition, principal_arn, truncate_utf16, unique_ids,
};
use crate::finding::Severity;

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Findings per BatchImportFindings call.
pub const MAX_BATCH: usize = 100;
pub const ID_MAX: usize = 512;
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 1024;
pub const RECOMMENDATION_MAX: usize = 512;
pub const PRODUCT_FIELD_MAX: usize = 2048;
pub const RESOURCE_REGION_MAX: usize = 16;
/// `RecordState` of a finding that is gone.
pub const RECORD_ARCHIVED: &str = "ARCHIVED";
/// `Workflow.Status` of a finding that is gone.
pub const WORKFLOW_RESOLVED: &str = "RESOLVED";
/// Resources a finding may name.
pub const MAX_RESOURCES: usize = 32;

/// One ASFF finding (the members eksdoctor fills).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub schema_version: &'static str,
    pub id: String,
    pub product_arn: String,
    /// Settable with the default product ARN (a custom integration).
    pub product_name: &'static str,
    pub company_name: &'static str,
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<String>,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub severity: AsffSeverity,
    pub title: String,
    pub description: String,
    pub remediation: AsffRemediation,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<AsffResource>,
    pub record_state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    pub label: &'static str,
    /// eksdoctor's own severity.
    pub original: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRemediation {
    pub recommendation: AsffRecommendation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRecommendation {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    /// `AwsEksCluster`, `AwsIamUser`, `AwsIamRole`, `AwsAccount` or `Other`.
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Up to [`MAX_BATCH`] findings of one account, to import in one region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsffBatch {
    pub account_id: String,
    pub region: String,
    pub findings: Vec<AsffFinding>,
}

/// ASFF's label for a severity.
#[must_use]
pub fn label(rule: &str, severity: Severity) -> &'static str {
    if is_critical(rule) {
        return "CRITICAL";
    }
    match severity {
        Severity::Error => "HIGH",
        Severity::Warning => "MEDIUM",
        Severity::Info => "INFORMATIONAL",
    }
}

/// The finding types: namespace/category/classifier.
fn types(rule: &str) -> Vec<String> {
    let mut t = vec![format!(
        "Software and Configuration Checks/AWS Security Best Practices/eksdoctor {}",
        area(rule)
    )];
    if rule == "keys/secret-in-input" {
        t.push("Sensitive Data Identifications/Security/AWS Secret Access Key".to_owned());
    }
    t
}

/// A string ASFF accepts: non-blank, within `max`.
fn bounded(text: &str, max: usize, fallback: &str) -> String {
    let t = if text.trim().is_empty() {
        fallback
    } else {
        text
    };
    truncate_utf16(t, max)
}

/// The default product ARN of an account in a region.
#[must_use]
pub fn product_arn(account_id: &str, region: &str) -> String {
    format!(
        "arn:{}:securityhub:{region}:{account_id}:product/{account_id}/default",
        partition(region)
    )
}

fn resources(sf: &ScopedFinding<'_>, region: &str) -> Vec<AsffResource> {
    let part = match partition(region) {
        p @ ("aws" | "aws-cn" | "aws-us-gov") => Some(p),
        _ => None,
    };
    let fits = |r: &str| (!r.is_empty() && r.len() <= RESOURCE_REGION_MAX).then(|| r.to_owned());
    let mut out = Vec::new();
    if let (Some(cluster), Some(r)) = (sf.cluster, sf.region) {
        out.push(AsffResource {
            kind: "AwsEksCluster",
            id: cluster_arn(sf.account_id, r, cluster),
            partition: part,
            region: fits(r),
        });
    }
    if let Some((kind, arn)) = principal_arn(sf) {
        out.push(AsffResource {
            kind: match kind {
                PrincipalResource::User => "AwsIamUser",
                PrincipalResource::Role => "AwsIamRole",
            },
            id: arn,
            partition: part,
            region: fits(region),
        });
    }
    if out.is_empty() {
        out.push(AsffResource {
            kind: "AwsAccount",
            id: format!("AWS::::Account:{}", sf.account_id),
            partition: part,
            region: fits(region),
        });
    }
    for r in &mut out {
        r.id = bounded(&r.id, ID_MAX, "unknown");
    }
    out.truncate(MAX_RESOURCES);
    out
}

/// One finding in ASFF. `id` is its [`super::stable_id`], made unique in
/// the run ([`unique_ids`]).
#[must_use]
pub fn convert(sf: &ScopedFinding<'_>, id: &str, ctx: &ExportContext<'_>) -> AsffFinding {
    let f = sf.finding;
    let region = sf.region.unwrap_or(ctx.home_region);
    let rule_title = crate::rules::by_id(f.rule).map_or(f.rule, |r| r.title);
    let message = ctx.redact(&f.message);
    let title = match sf.cluster {
        Some(c) if !message.contains(c) => format!("{c}: {message}"),
        _ => message.clone(),
    };
    let mut description = message;
    if !f.detail.trim().is_empty() {
        description.push_str("\n\n");
        description.push_str(&ctx.redact(&f.detail));
    }
    if let Some(loc) = &f.location {
        description.push_str(&format!("\n\nSeen at {}:{}.", loc.file, loc.line));
    }
    let text = fix_text(f).map_or_else(
        || format!("Run `eksdoctor rules {}` for the fix.", f.rule),
        |t| ctx.redact(&t),
    );
    let now = ctx.now.to_string();
    let mut fields = BTreeMap::new();
    let mut field = |k: &str, v: &str| {
        if !v.trim().is_empty() {
            fields.insert(
                format!("eksdoctor/{k}"),
                truncate_utf16(&ctx.redact(v), PRODUCT_FIELD_MAX),
            );
        }
    };
    field("Rule", f.rule);
    field("Version", ctx.product_version);
    if let Some(c) = sf.cluster {
        field("Cluster", c);
    }
    if let Some(n) = sf.account_name {
        field("AccountName", n);
    }
    if let Some(loc) = &f.location {
        field("Location", &format!("{}:{}", loc.file, loc.line));
    }
    AsffFinding {
        schema_version: SCHEMA_VERSION,
        id: bounded(id, ID_MAX, "eksdoctor"),
        product_arn: product_arn(sf.account_id, region),
        product_name: "eksdoctor",
        company_name: "eksdoctor",
        generator_id: bounded(f.rule, ID_MAX, "eksdoctor"),
        aws_account_id: sf.account_id.to_owned(),
        types: types(f.rule),
        first_observed_at: now.clone(),
        last_observed_at: now.clone(),
        created_at: now.clone(),
        updated_at: now,
        severity: AsffSeverity {
            label: label(f.rule, f.severity),
            original: f.severity.as_str(),
        },
        title: bounded(&title, TITLE_MAX, rule_title),
        description: bounded(&description, DESCRIPTION_MAX, rule_title),
        remediation: AsffRemediation {
            recommendation: AsffRecommendation {
                text: bounded(&text, RECOMMENDATION_MAX, "See the rule's page."),
                url: ctx.rule_url(f.rule),
            },
        },
        product_fields: fields,
        resources: resources(sf, region),
        record_state: "ACTIVE",
    }
}

/// Every finding, grouped by (account, region) in that order, in batches
/// of at most [`MAX_BATCH`].
#[must_use]
pub fn to_batches(findings: &[ScopedFinding<'_>], ctx: &ExportContext<'_>) -> Vec<AsffBatch> {
    let ids = unique_ids(findings);
    let mut groups: BTreeMap<(String, String), Vec<AsffFinding>> = BTreeMap::new();
    for (sf, id) in findings.iter().zip(&ids) {
        let region = sf.region.unwrap_or(ctx.home_region).to_owned();
        groups
            .entry((sf.account_id.to_owned(), region))
            .or_default()
            .push(convert(sf, id, ctx));
    }
    let mut batches = Vec::new();
    for ((account_id, region), group) in groups {
        for chunk in group.chunks(MAX_BATCH) {
            batches.push(AsffBatch {
                account_id: account_id.clone(),
                region: region.clone(),
                findings: chunk.to_vec(),
            });
        }
    }
    batches
}

/// `{"batches": [{"account_id", "region", "findings": [...]}]}`, pretty,
/// with a trailing newline. Each `findings` array is what
/// `aws securityhub batch-import-findings --region REGION --findings
/// file://...` takes, run with the account's credentials.
#[must_use]
pub fn to_json(findings: &[ScopedFinding<'_>], ctx: &ExportContext<'_>) -> String {
    to_json_tracked(findings, ctx, None)
}

/// A finding in an import batch: this run's, or one of the previous run's
/// (closed, or held as it was).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Record {
    Current(Box<AsffFinding>),
    Previous(Value),
}

/// A previous run's finding that this run no longer sees, closed:
/// `RecordState: ARCHIVED`, `Workflow.Status: RESOLVED`, `UpdatedAt` now;
/// everything else (`Id`, `CreatedAt`, `FirstObservedAt`,
/// `LastObservedAt`: when it was last seen) as the previous run wrote it.
#[must_use]
pub fn resolved(p: &PreviousFinding, ctx: &ExportContext<'_>) -> Value {
    let mut v = p.record.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("RecordState".to_owned(), Value::from(RECORD_ARCHIVED));
        o.insert(
            "Workflow".to_owned(),
            serde_json::json!({"Status": WORKFLOW_RESOLVED}),
        );
        o.insert("UpdatedAt".to_owned(), Value::from(ctx.now.to_string()));
    }
    v
}

/// [`to_json`] with the previous run's report: a finding seen then keeps
/// its `CreatedAt` and `FirstObservedAt`; one gone since is closed
/// ([`resolved`]) in the batch of its account and region, unless its
/// account is held ([`Previous::hold_account`]): then it is printed as it
/// was.
#[must_use]
pub fn to_json_tracked(
    findings: &[ScopedFinding<'_>],
    ctx: &ExportContext<'_>,
    previous: Option<&Previous>,
) -> String {
    #[derive(Serialize)]
    struct Batch {
        account_id: String,
        region: String,
        findings: Vec<Record>,
    }
    #[derive(Serialize)]
    struct Output {
        batches: Vec<Batch>,
    }
    let ids = unique_ids(findings);
    let mut groups: BTreeMap<(String, String), Vec<Record>> = BTreeMap::new();
    for (sf, id) in findings.iter().zip(&ids) {
        let region = sf.region.unwrap_or(ctx.home_region).to_owned();
        let mut f = convert(sf, id, ctx);
        if let Some(p) = previous.and_then(|p| p.seen(&f.id)) {
            f.created_at = p.created.to_string();
            f.first_observed_at = p.first_seen.to_string();
        }
        groups
            .entry((sf.account_id.to_owned(), region))
            .or_default()
            .push(Record::Current(Box::new(f)));
    }
    if let Some(p) = previous.filter(|p| p.format == PreviousFormat::Asff) {
        let current: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let key = |gone: &PreviousFinding| {
            gone.batch.clone().unwrap_or_else(|| {
                let account = gone.record["AwsAccountId"].as_str().unwrap_or_default();
                (account.to_owned(), ctx.home_region.to_owned())
            })
        };
        for gone in p.resolved(&current) {
            groups
                .entry(key(gone))
                .or_default()
                .push(Record::Previous(resolved(gone, ctx)));
        }
        // Accounts this run could not check: their findings as they were.
        for held in p.held(&current) {
            groups
                .entry(key(held))
                .or_default()
                .push(Record::Previous(held.record.clone()));
        }
    }
    let mut batches = Vec::new();
    for ((account_id, region), group) in groups {
        for chunk in group.chunks(MAX_BATCH) {
            batches.push(Batch {
                account_id: account_id.clone(),
                region: region.clone(),
                findings: chunk.to_vec(),
            });
        }
    }
    let mut s = serde_json::to_string_pretty(&Output { batches })
        .unwrap_or_else(|_| "{\"batches\": []}".to_owned());
    s.push('\n');
    s
}
