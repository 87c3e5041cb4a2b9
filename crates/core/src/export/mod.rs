//! Findings in the formats security tooling ingests: OCSF Detection Finding
//! ([`ocsf`]) and AWS Security Hub's ASFF ([`asff`]).
//!
//! Both converters read [`ScopedFinding`]s: a finding plus where it was seen
//! (account, region, cluster). `check` scopes its findings to the caller's
//! account; a fleet run scopes each finding to the account it came from.
//!
//! Every free-text field is redacted ([`crate::mask::Redactor`]) *before* it
//! is truncated to a format's limit, so a secret cut in half by a limit can
//! never slip past the shape-based mask. The binary redacts the whole output
//! once more on its way out.
//!
//! Ids are stable: the same problem on the same subject in the same scope
//! gets the same id on every run ([`stable_id`]), so re-importing a run into
//! Security Hub updates its findings instead of duplicating them.

pub mod asff;
pub mod ocsf;
pub mod previous;

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::finding::Finding;
use crate::mask::Redactor;

/// A finding and where it was seen. `account_name` comes from AWS
/// Organizations on a fleet run; `region` is `None` for account-wide
/// findings (IAM keys, the caller's identity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScopedFinding<'a> {
    pub account_id: &'a str,
    pub account_name: Option<&'a str>,
    pub region: Option<&'a str>,
    pub cluster: Option<&'a str>,
    pub finding: &'a Finding,
}

/// What every converted finding shares: the producing version, the time of
/// the run, and the region account-wide findings are filed under.
#[derive(Debug, Clone)]
pub struct ExportContext<'a> {
    /// eksdoctor's version (`metadata.product.version`, ASFF `ProductFields`).
    pub product_version: &'a str,
    /// When the run happened: OCSF `time`, ASFF `CreatedAt`/`UpdatedAt`.
    pub now: jiff::Timestamp,
    /// The region for findings that have none (IAM is global): the region
    /// their ASFF batch is imported into.
    pub home_region: &'a str,
    /// Applied to every text field before it is truncated.
    pub redactor: Redactor,
    /// Where rule pages live on the web (`…/docs/rules/<id>.md`), if
    /// anywhere: remediation links. `None` leaves links out.
    pub rule_page_base: Option<String>,
}

impl<'a> ExportContext<'a> {
    /// A context with a fresh redactor, and rule links when the project's
    /// repository is a real address ([`crate::sarif::information_uri`]).
    #[must_use]
    pub fn new(product_version: &'a str, now: jiff::Timestamp, home_region: &'a str) -> Self {
        Self {
            product_version,
            now,
            home_region,
            redactor: Redactor::new(),
            rule_page_base: crate::sarif::information_uri()
                .map(|u| format!("{}/blob/main/docs/rules", u.trim_end_matches('/'))),
        }
    }

    #[must_use]
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The rule's page on the web, when there is one.
    #[must_use]
    pub fn rule_url(&self, rule: &str) -> Option<String> {
        self.rule_page_base
            .as_ref()
            .map(|base| format!("{base}/{rule}.md"))
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.redact(text).into_owned()
    }
}

/// Evidence members that name *what* a finding is about (a user, a key, a
/// role, a service account, a denied permission), in the order they are
/// hashed. Volatile members (ages, counts, error text) are left out so the
/// id survives the next run, and so are members the cluster already
/// determines (its OIDC issuer).
const SUBJECT_KEYS: &[&str] = &[
    "user",
    "access_key_id",
    "key_id",
    "arn",
    "canonical_arn",
    "principal",
    "principal_arn",
    "role",
    "role_arn",
    "rolearn",
    "username",
    "group",
    "service_account",
    "namespace",
    "workload",
    "permission",
    "resource",
    "verb",
    "profile",
    "source_role",
    "target_role",
];

/// The text that tells two findings of one rule in one scope apart: the
/// subject members of the evidence, and the file and line.
#[must_use]
pub fn subject(f: &Finding) -> String {
    let mut s = String::new();
    for key in SUBJECT_KEYS {
        if let Some(v) = f.evidence.get(*key) {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(s, "{key}={v};");
        }
    }
    if let Some(loc) = &f.location {
        let _ = write!(s, "at={}:{};", loc.file, loc.line);
    }
    s
}

/// FNV-1a, 64 bits: a hash whose value is fixed by its definition (not by
/// the Rust release, as `DefaultHasher` is), so ids stay put across builds.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A finding's id, the same on every run for the same problem on the same
/// subject: `eksdoctor/ACCOUNT/REGION/CLUSTER/RULE/HASH` (`global` and `-`
/// where there is no region or cluster). The cluster name is hashed in with
/// the subject instead of spelt out when the id would pass 256 characters,
/// far under ASFF's 512.
#[must_use]
pub fn stable_id(sf: &ScopedFinding<'_>) -> String {
    let region = sf.region.unwrap_or("global");
    let cluster = sf.cluster.unwrap_or("-");
    let subject = subject(sf.finding);
    let hashed = format!("{}\u{0}{cluster}\u{0}{subject}", sf.finding.rule);
    let hash = fnv1a64(hashed.as_bytes());
    let id = format!(
        "eksdoctor/{}/{region}/{cluster}/{}/{hash:016x}",
        sf.account_id, sf.finding.rule
    );
    if id.len() <= 256 {
        id
    } else {
        let short = format!(
            "eksdoctor/{}/{}/{}/{hash:016x}",
            truncate_utf16(sf.account_id, 64),
            truncate_utf16(region, 32),
            truncate_utf16(sf.finding.rule, 64)
        );
        truncate_utf16(&short, 256)
    }
}

/// Ids for a run's findings: each its [`stable_id`], a repeat (two findings
/// no subject member tells apart) suffixed `/2`, `/3`... in order.
#[must_use]
pub fn unique_ids(findings: &[ScopedFinding<'_>]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    findings
        .iter()
        .map(|sf| {
            let id = stable_id(sf);
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            if *n == 1 { id } else { format!("{id}/{n}") }
        })
        .collect()
}

/// The AWS partition a region belongs to (one table: [`crate::arn::partition_of_region`]).
pub use crate::arn::partition_of_region as partition;

/// The rule's area: `keys` for `keys/old`.
#[must_use]
pub fn area(rule: &str) -> &str {
    rule.split_once('/').map_or(rule, |(a, _)| a)
}

/// `text` cut to at most `max` UTF-16 code units, on a character boundary,
/// ending in `…` when cut. Security Hub's limits are Java string lengths
/// (UTF-16 units), which are never fewer than the characters, so a text
/// within this limit is within either count.
#[must_use]
pub fn truncate_utf16(text: &str, max: usize) -> String {
    let units: usize = text.chars().map(char::len_utf16).sum();
    if units <= max {
        return text.to_owned();
    }
    let budget = max.saturating_sub(1);
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// The fix as one paragraph of text: the summary, then each command.
#[must_use]
pub fn fix_text(f: &Finding) -> Option<String> {
    let fix = f.fix.as_ref()?;
    let mut s = fix.summary.clone();
    for c in &fix.commands {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str("$ ");
        s.push_str(c);
    }
    (!s.trim().is_empty()).then_some(s)
}

/// A string member of the evidence.
pub(crate) fn evidence_str<'f>(f: &'f Finding, key: &str) -> Option<&'f str> {
    f.evidence
        .get(key)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The IAM user or role the finding is about, as an ARN, if it names one.
pub(crate) fn principal_arn(sf: &ScopedFinding<'_>) -> Option<(PrincipalResource, String)> {
    let f = sf.finding;
    for key in [
        "role_arn",
        "rolearn",
        "principal_arn",
        "canonical_arn",
        "arn",
        "principal",
    ] {
        if let Some(arn) = evidence_str(f, key)
            && let Some(kind) = iam_kind(arn)
        {
            return Some((kind, arn.to_owned()));
        }
    }
    let user = evidence_str(f, "user")?;
    if user == crate::keys::ROOT_USER || user.contains(['/', ':', ' ']) {
        return None;
    }
    let part = partition(sf.region.unwrap_or("us-east-1"));
    Some((
        PrincipalResource::User,
        format!("arn:{part}:iam::{}:user/{user}", sf.account_id),
    ))
}

/// An IAM principal resource: user or role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalResource {
    User,
    Role,
}

fn iam_kind(arn: &str) -> Option<PrincipalResource> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("iam"), Some(_), Some(_), Some(res)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if res.starts_with("user/") {
        Some(PrincipalResource::User)
    } else if res.starts_with("role/") {
        Some(PrincipalResource::Role)
    } else {
        None
    }
}

/// Rules whose findings are a security incident in themselves (a leaked or
/// root secret), not a configuration problem: one step above `error` in the
/// formats that have the step (ASFF `CRITICAL`, OCSF `Critical`).
#[must_use]
pub fn is_critical(rule: &str) -> bool {
    matches!(rule, "keys/root-keys" | "keys/secret-in-input")
}

/// The cluster's ARN.
#[must_use]
pub fn cluster_arn(account_id: &str, region: &str, cluster: &str) -> String {
    format!(
        "arn:{}:eks:{region}:{account_id}:cluster/{cluster}",
        partition(region)
    )
}

#[cfg(test)]
mod tests;
