//! OCSF Detection Finding events (class 2004, category 2 Findings).
//!
//! Written against OCSF 1.1.0 (`metadata.version`), whose every member used
//! here is unchanged through 1.3 and later (github.com/ocsf/ocsf-schema:
//! `events/findings/detection_finding.json` extends `finding.json`, which
//! extends `base_event.json` with the `cloud` profile;
//! `objects/finding_info.json`, `objects/remediation.json`,
//! `objects/resource_details.json`, `objects/metadata.json`,
//! `objects/product.json`, `objects/cloud.json`, `objects/account.json`,
//! `objects/analytic.json`). Required there: `activity_id`, `category_uid`,
//! `class_uid`, `type_uid` (= `class_uid` × 100 + `activity_id`),
//! `severity_id`, `time` (epoch milliseconds), `metadata.product.vendor_name`,
//! `metadata.version`, `finding_info.uid` and `.title`, `cloud.provider`,
//! `remediation.desc`, `analytic.type_id`.
//!
//! eksdoctor keeps no state between runs, so every event is activity 1
//! (Create) with status 1 (New); `finding_info.uid` is the finding's stable
//! id, so a consumer can fold repeated runs into one finding. What OCSF has
//! no member for (the evidence, the fix's policy and commands, the file
//! location) is under `unmapped.eksdoctor`.

use serde_json::{Value, json};

use super::{
    ExportContext, PrincipalResource, ScopedFinding, area, cluster_arn, fix_text, is_critical,
    partition, principal_arn, unique_ids,
};
use crate::finding::Severity;

/// The OCSF version the events declare.
pub const SCHEMA_VERSION: &str = "1.1.0";
pub const CLASS_UID: u32 = 2004;
pub const CATEGORY_UID: u32 = 2;
/// Activity 1: Create.
pub const ACTIVITY_CREATE: u32 = 1;
pub const TYPE_UID: u32 = CLASS_UID * 100 + ACTIVITY_CREATE;

/// OCSF `severity_id` and its caption.
#[must_use]
pub fn severity(rule: &str, s: Severity) -> (u8, &'static str) {
    if is_critical(rule) {
        return (5, "Critical");
    }
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Warning => (3, "Medium"),
        Severity::Error => (4, "High"),
    }
}

fn millis(ctx: &ExportContext<'_>) -> i64 {
    ctx.now.as_millisecond()
}

fn resources(sf: &ScopedFinding<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    if let (Some(cluster), Some(region)) = (sf.cluster, sf.region) {
        out.push(json!({
            "type": "AWS::EKS::Cluster",
            "uid": cluster_arn(sf.account_id, region, cluster),
            "name": cluster,
            "region": region,
            "cloud_partition": partition(region),
        }));
    }
    if let Some((kind, arn)) = principal_arn(sf) {
        let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
        out.push(json!({
            "type": match kind {
                PrincipalResource::User => "AWS::IAM::User",
                PrincipalResource::Role => "AWS::IAM::Role",
            },
            "uid": arn,
            "name": name,
            "cloud_partition": partition(sf.region.unwrap_or("us-east-1")),
        }));
    }
    if out.is_empty() {
        let mut account = json!({"type": "AWS::Account", "uid": sf.account_id});
        if let Some(n) = sf.account_name {
            account["name"] = json!(n);
        }
        out.push(account);
    }
    out
}

/// The finding's own members OCSF has no place for, redacted.
fn unmapped(sf: &ScopedFinding<'_>, ctx: &ExportContext<'_>) -> Value {
    let f = sf.finding;
    let mut own = json!({ "rule": f.rule, "severity": f.severity.as_str() });
    if !f.evidence.is_empty() {
        own["evidence"] = redacted_value(&json!(f.evidence), ctx);
    }
    if let Some(fix) = &f.fix {
        own["fix"] = redacted_value(&json!(fix), ctx);
    }
    if let Some(loc) = &f.location {
        own["location"] = json!(loc);
    }
    if let Some(c) = sf.cluster {
        own["cluster"] = json!(c);
    }
    json!({ "eksdoctor": own })
}

/// A JSON value with every secret in its text masked. Masks are plain
/// characters inside JSON strings, so the text still parses; if it ever
/// did not, the value is dropped rather than shown unmasked.
fn redacted_value(v: &Value, ctx: &ExportContext<'_>) -> Value {
    let text = v.to_string();
    let masked = ctx.redact(&text);
    if masked == text {
        return v.clone();
    }
    serde_json::from_str(&masked).unwrap_or(Value::Null)
}

/// One finding as an OCSF Detection Finding event. `id` is its stable id
/// ([`super::stable_id`], unique in the run).
#[must_use]
pub fn convert(sf: &ScopedFinding<'_>, id: &str, ctx: &ExportContext<'_>) -> Value {
    let f = sf.finding;
    let (severity_id, severity_name) = severity(f.rule, f.severity);
    let rule_title = crate::rules::by_id(f.rule).map_or(f.rule, |r| r.title);
    let now = millis(ctx);
    let message = ctx.redact(&f.message);
    let title = if message.trim().is_empty() {
        rule_title.to_owned()
    } else {
        message.clone()
    };
    let mut finding_info = json!({
        "uid": id,
        "title": title,
        "types": [f.rule, area(f.rule)],
        "analytic": {"uid": f.rule, "name": rule_title, "type_id": 1, "type": "Rule"},
        "created_time": now,
        "first_seen_time": now,
        "last_seen_time": now,
    });
    if !f.detail.trim().is_empty() {
        finding_info["desc"] = json!(ctx.redact(&f.detail));
    }
    let url = ctx.rule_url(f.rule);
    if let Some(u) = &url {
        finding_info["src_url"] = json!(u);
    }
    let mut remediation = json!({
        "desc": fix_text(f).map_or_else(
            || format!("Run `eksdoctor rules {}` for the fix.", f.rule),
            |t| ctx.redact(&t),
        ),
    });
    if let Some(u) = url {
        remediation["references"] = json!([u]);
    }
    let mut account = json!({"uid": sf.account_id, "type": "AWS Account", "type_id": 10});
    if let Some(n) = sf.account_name {
        account["name"] = json!(n);
    }
    let mut cloud = json!({"provider": "AWS", "account": account});
    if let Some(r) = sf.region {
        cloud["region"] = json!(r);
    }
    json!({
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": TYPE_UID,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": 1,
        "status": "New",
        "time": now,
        "message": title,
        "metadata": {
            "version": SCHEMA_VERSION,
            "profiles": ["cloud"],
            "product": {
                "name": "eksdoctor",
                "vendor_name": "eksdoctor",
                "version": ctx.product_version,
            },
        },
        "cloud": cloud,
        "finding_info": finding_info,
        "resources": resources(sf),
        "remediation": remediation,
        "unmapped": unmapped(sf, ctx),
    })
}

/// Every finding as an event, in order.
#[must_use]
pub fn to_events(findings: &[ScopedFinding<'_>], ctx: &ExportContext<'_>) -> Vec<Value> {
    let ids = unique_ids(findings);
    findings
        .iter()
        .zip(&ids)
        .map(|(sf, id)| convert(sf, id, ctx))
        .collect()
}

/// The events as one pretty JSON array, with a trailing newline
/// (`jq -c '.[]'` makes it NDJSON).
#[must_use]
pub fn to_json(findings: &[ScopedFinding<'_>], ctx: &ExportContext<'_>) -> String {
    let mut s =
        serde_json::to_string_pretty(&to_events(findings, ctx)).unwrap_or_else(|_| "[]".to_owned());
    s.push('\n');
    s
}
