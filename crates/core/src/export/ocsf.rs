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
//! A run on its own makes every event activity 1 (Create) with status 1
//! (New); `finding_info.uid` is the finding's stable id, so a consumer can
//! fold repeated runs into one finding. Given the previous run's events
//! ([`super::previous`]), a finding seen then is activity 2 (Update) and
//! keeps its `created_time` and `first_seen_time`, and one gone since is
//! sent again as activity 3 (Close) with status 4 (Resolved): the
//! `activity_id` and `status_id` enums of `finding.json` in OCSF 1.1. What OCSF has
//! no member for (the evidence, the fix's policy and commands, the file
//! location) is under `unmapped.eksdoctor`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::previous::{Previous, PreviousFinding, PreviousFormat};
use super::{
    ExportContext, PrincipalResource, ScopedFinding, area, cluster_arn, fix_text, is_critical,
    partition, principal_arn, unique_ids,
};
use crate::finding::{Fix, Location, Severity};

/// The OCSF version the events declare.
pub const SCHEMA_VERSION: &str = "1.1.0";
pub const CLASS_UID: u32 = 2004;
pub const CATEGORY_UID: u32 = 2;
/// Activity 1: Create.
pub const ACTIVITY_CREATE: u32 = 1;
pub const TYPE_UID: u32 = CLASS_UID * 100 + ACTIVITY_CREATE;
/// Activity 2: Update (a finding the previous run saw too).
pub const ACTIVITY_UPDATE: u32 = 2;
/// Activity 3: Close (a finding the previous run saw and this one does not).
pub const ACTIVITY_CLOSE: u32 = 3;
/// `status_id` 1: New.
pub const STATUS_NEW: u8 = 1;
/// `status_id` 4: Resolved.
pub const STATUS_RESOLVED: u8 = 4;

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

/// One Detection Finding event. Members in the schema's reading order.
#[derive(Debug, Clone, Serialize)]
pub struct OcsfEvent<'a> {
    pub activity_id: u32,
    pub activity_name: &'static str,
    pub category_uid: u32,
    pub category_name: &'static str,
    pub class_uid: u32,
    pub class_name: &'static str,
    pub type_uid: u32,
    pub type_name: &'static str,
    pub severity_id: u8,
    pub severity: &'static str,
    pub status_id: u8,
    pub status: &'static str,
    pub time: i64,
    pub message: String,
    pub metadata: Metadata<'a>,
    pub cloud: Cloud<'a>,
    pub finding_info: FindingInfo<'a>,
    pub resources: Vec<Resource<'a>>,
    pub remediation: Remediation,
    pub unmapped: Unmapped<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata<'a> {
    pub version: &'static str,
    pub profiles: [&'static str; 1],
    pub product: Product<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Product<'a> {
    pub name: &'static str,
    pub vendor_name: &'static str,
    pub version: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cloud<'a> {
    pub provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
    pub account: Account<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Account<'a> {
    pub uid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub type_id: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingInfo<'a> {
    pub uid: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    pub types: [&'a str; 2],
    pub analytic: Analytic<'a>,
    pub created_time: i64,
    pub first_seen_time: i64,
    pub last_seen_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Analytic<'a> {
    pub uid: &'a str,
    pub name: &'a str,
    pub type_id: u8,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An affected resource (`resource_details`).
#[derive(Debug, Clone, Serialize)]
pub struct Resource<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_partition: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Remediation {
    pub desc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<[String; 1]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unmapped<'a> {
    pub eksdoctor: Own<'a>,
}

/// The finding's own members OCSF has no place for, redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Own<'a> {
    pub rule: &'a str,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Redacted<'a, BTreeMap<String, Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Redacted<'a, Fix>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a Location>,
}

/// A member as it is when no secret is in it (borrowed, not copied), else
/// its masked copy.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Redacted<'a, T> {
    Clean(&'a T),
    Masked(Value),
}

/// Masks are plain characters inside JSON strings, so the masked text still
/// parses; if it ever did not, the member is dropped (`null`) rather than
/// shown unmasked.
fn redacted<'a, T: Serialize>(v: &'a T, ctx: &ExportContext<'_>) -> Redacted<'a, T> {
    let text = serde_json::to_string(v).unwrap_or_default();
    match ctx.redactor.redact(&text) {
        Cow::Borrowed(_) => Redacted::Clean(v),
        Cow::Owned(masked) => {
            Redacted::Masked(serde_json::from_str(&masked).unwrap_or(Value::Null))
        }
    }
}

fn resources<'a>(sf: &ScopedFinding<'a>) -> Vec<Resource<'a>> {
    let mut out = Vec::new();
    if let (Some(cluster), Some(region)) = (sf.cluster, sf.region) {
        out.push(Resource {
            kind: "AWS::EKS::Cluster",
            uid: cluster_arn(sf.account_id, region, cluster),
            name: Some(cluster.to_owned()),
            region: Some(region),
            cloud_partition: Some(partition(region)),
        });
    }
    if let Some((kind, arn)) = principal_arn(sf) {
        let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
        out.push(Resource {
            kind: match kind {
                PrincipalResource::User => "AWS::IAM::User",
                PrincipalResource::Role => "AWS::IAM::Role",
            },
            uid: arn,
            name: Some(name),
            region: None,
            cloud_partition: Some(partition(sf.region.unwrap_or("us-east-1"))),
        });
    }
    if out.is_empty() {
        out.push(Resource {
            kind: "AWS::Account",
            uid: sf.account_id.to_owned(),
            name: sf.account_name.map(str::to_owned),
            region: None,
            cloud_partition: None,
        });
    }
    out
}

/// One finding as an OCSF Detection Finding event. `id` is its stable id
/// ([`super::stable_id`], unique in the run).
#[must_use]
pub fn convert<'a>(sf: &ScopedFinding<'a>, id: &str, ctx: &'a ExportContext<'_>) -> OcsfEvent<'a> {
    let f = sf.finding;
    let (severity_id, severity_name) = severity(f.rule, f.severity);
    let rule_title = crate::rules::by_id(f.rule).map_or(f.rule, |r| r.title);
    let now = millis(ctx);
    let message = ctx.redact(&f.message);
    let title = if message.trim().is_empty() {
        rule_title.to_owned()
    } else {
        message
    };
    let url = ctx.rule_url(f.rule);
    OcsfEvent {
        activity_id: ACTIVITY_CREATE,
        activity_name: "Create",
        category_uid: CATEGORY_UID,
        category_name: "Findings",
        class_uid: CLASS_UID,
        class_name: "Detection Finding",
        type_uid: TYPE_UID,
        type_name: "Detection Finding: Create",
        severity_id,
        severity: severity_name,
        status_id: STATUS_NEW,
        status: "New",
        time: now,
        message: title.clone(),
        metadata: Metadata {
            version: SCHEMA_VERSION,
            profiles: ["cloud"],
            product: Product {
                name: "eksdoctor",
                vendor_name: "eksdoctor",
                version: ctx.product_version,
            },
        },
        cloud: Cloud {
            provider: "AWS",
            region: sf.region,
            account: Account {
                uid: sf.account_id,
                name: sf.account_name,
                kind: "AWS Account",
                type_id: 10,
            },
        },
        finding_info: FindingInfo {
            uid: id.to_owned(),
            title,
            desc: (!f.detail.trim().is_empty()).then(|| ctx.redact(&f.detail)),
            types: [f.rule, area(f.rule)],
            analytic: Analytic {
                uid: f.rule,
                name: rule_title,
                type_id: 1,
                kind: "Rule",
            },
            created_time: now,
            first_seen_time: now,
            last_seen_time: now,
            src_url: url.clone(),
        },
        resources: resources(sf),
        remediation: Remediation {
            desc: fix_text(f).map_or_else(
                || format!("Run `eksdoctor rules {}` for the fix.", f.rule),
                |t| ctx.redact(&t),
            ),
            references: url.map(|u| [u]),
        },
        unmapped: Unmapped {
            eksdoctor: Own {
                rule: f.rule,
                severity: f.severity.as_str(),
                cluster: sf.cluster,
                evidence: (!f.evidence.is_empty()).then(|| redacted(&f.evidence, ctx)),
                fix: f.fix.as_ref().map(|x| redacted(x, ctx)),
                location: f.location.as_ref(),
            },
        },
    }
}

/// Every finding as an event, in order.
#[must_use]
pub fn events<'a>(
    findings: &[ScopedFinding<'a>],
    ctx: &'a ExportContext<'_>,
) -> Vec<OcsfEvent<'a>> {
    let ids = unique_ids(findings);
    findings
        .iter()
        .zip(&ids)
        .map(|(sf, id)| convert(sf, id, ctx))
        .collect()
}

/// Every finding as an event, as JSON values.
#[must_use]
pub fn to_events(findings: &[ScopedFinding<'_>], ctx: &ExportContext<'_>) -> Vec<Value> {
    events(findings, ctx)
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect()
}

/// A previous run's finding that this run no longer sees, as a Close
/// event: activity 3, status 4 (Resolved), `time` now; the finding's uid
/// and times (`first_seen_time`, and `last_seen_time`: when it was last
/// seen) as the previous run wrote them.
#[must_use]
pub fn resolved(p: &PreviousFinding, ctx: &ExportContext<'_>) -> Value {
    let mut v = p.record.clone();
    if let Some(o) = v.as_object_mut() {
        for (k, x) in [
            ("activity_id", Value::from(ACTIVITY_CLOSE)),
            ("activity_name", Value::from("Close")),
            ("type_uid", Value::from(CLASS_UID * 100 + ACTIVITY_CLOSE)),
            ("type_name", Value::from("Detection Finding: Close")),
            ("status_id", Value::from(STATUS_RESOLVED)),
            ("status", Value::from("Resolved")),
            ("time", Value::from(millis(ctx))),
        ] {
            o.insert(k.to_owned(), x);
        }
    }
    v
}

/// [`to_events`] with the previous run's events: a finding seen then is an
/// Update keeping its `created_time` and `first_seen_time`; one gone since
/// is closed ([`resolved`]), after this run's events, unless its account is
/// held ([`Previous::hold_account`]): then its event is repeated as it was.
#[must_use]
pub fn to_events_tracked(
    findings: &[ScopedFinding<'_>],
    ctx: &ExportContext<'_>,
    previous: Option<&Previous>,
) -> Vec<Value> {
    let mut events = events(findings, ctx);
    let Some(previous) = previous else {
        return events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect();
    };
    for e in &mut events {
        if let Some(p) = previous.seen(&e.finding_info.uid) {
            e.activity_id = ACTIVITY_UPDATE;
            e.activity_name = "Update";
            e.type_uid = CLASS_UID * 100 + ACTIVITY_UPDATE;
            e.type_name = "Detection Finding: Update";
            e.finding_info.created_time = p.created.as_millisecond();
            e.finding_info.first_seen_time = p.first_seen.as_millisecond();
        }
    }
    let mut out: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    if previous.format == PreviousFormat::Ocsf {
        let current: HashSet<&str> = events.iter().map(|e| e.finding_info.uid.as_str()).collect();
        out.extend(previous.resolved(&current).map(|p| resolved(p, ctx)));
        // Accounts this run could not check: their events as they were.
        out.extend(previous.held(&current).map(|p| p.record.clone()));
    }
    out
}

/// The events as one pretty JSON array, with a trailing newline
/// (`jq -c '.[]'` makes it NDJSON).
#[must_use]
pub fn to_json(findings: &[ScopedFinding<'_>], ctx: &ExportContext<'_>) -> String {
    to_json_tracked(findings, ctx, None)
}

/// [`to_json`] with the previous run's events ([`to_events_tracked`]).
#[must_use]
pub fn to_json_tracked(
    findings: &[ScopedFinding<'_>],
    ctx: &ExportContext<'_>,
    previous: Option<&Previous>,
) -> String {
    let mut s = serde_json::to_string_pretty(&to_events_tracked(findings, ctx, previous))
        .unwrap_or_else(|_| "[]".to_owned());
    s.push('\n');
    s
}
