//! `--previous FILE`: the last run's report, so that a finding keeps its
//! first-seen time while it lasts and is closed once it is gone.
//!
//! The file is the previous run's `--format json`, `ocsf` or `asff` output;
//! which one is told from its shape (an object with `batches`: ASFF; an
//! array: OCSF events; an object with `findings`: the JSON report). Every
//! finding in it is keyed on its stable id ([`super::stable_id`]: rule,
//! account, region, cluster and subject, never the order or the time), so
//! the next run can tell which findings are still there and which are gone.
//!
//! A finding the previous file already closed (ASFF `RecordState:
//! ARCHIVED`, an OCSF Close event, the JSON report's `resolved` list) is not
//! carried: it was reported closed once, and is forgotten.
//!
//! An account this run could not check (its role could not be assumed)
//! says nothing about its findings: they are *held* ([`Previous::hold_account`])
//! and printed again as the previous run had them, not resolved. So are
//! the findings of a part of an account a probe could not see this time (a
//! region not listed, a cluster not described, keys not read:
//! [`Previous::hold_scope`]).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// The format a previous report was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousFormat {
    Json,
    Ocsf,
    Asff,
}

impl PreviousFormat {
    /// The `--format` value that writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ocsf => "ocsf",
            Self::Asff => "asff",
        }
    }
}

/// Why a previous report cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PreviousError(pub String);

fn err(msg: impl Into<String>) -> PreviousError {
    PreviousError(msg.into())
}

/// One open finding of the previous run.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousFinding {
    pub id: String,
    /// When it was first seen (ASFF `FirstObservedAt`, OCSF
    /// `finding_info.first_seen_time`, JSON `first_seen`).
    pub first_seen: jiff::Timestamp,
    /// When its record was created (ASFF `CreatedAt`, OCSF
    /// `finding_info.created_time`; JSON: `first_seen`).
    pub created: jiff::Timestamp,
    /// ASFF: the account and region of its batch (where it was imported).
    pub batch: Option<(String, String)>,
    /// The finding as the previous file has it, to be closed as it was.
    pub record: Value,
}

/// The previous run's open findings, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    pub format: PreviousFormat,
    pub findings: Vec<PreviousFinding>,
    by_id: HashMap<String, usize>,
    held_accounts: HashSet<String>,
    held_scopes: Vec<HeldScope>,
}

/// A part of an account this run could not see: `None` is any region,
/// cluster or rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeldScope {
    account: String,
    region: Option<String>,
    cluster: Option<String>,
    rule_prefix: Option<String>,
}

impl HeldScope {
    /// Whether a stable id (`eksdoctor/ACCOUNT/REGION/CLUSTER/RULE/HASH`) is in it.
    fn covers(&self, id: &str) -> bool {
        let mut parts = id.splitn(5, '/');
        let (Some(_), Some(account), Some(region), Some(cluster), Some(rest)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return false;
        };
        account == self.account
            && self.region.as_deref().is_none_or(|r| r == region)
            && self.cluster.as_deref().is_none_or(|c| c == cluster)
            && self
                .rule_prefix
                .as_deref()
                .is_none_or(|p| rest.starts_with(p))
    }
}

impl Previous {
    /// Read a previous report, telling its format from its shape.
    ///
    /// # Errors
    /// Not JSON, not one of the three shapes, or a finding without its id
    /// or times: the message says which and where.
    pub fn parse(text: &str) -> Result<Self, PreviousError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            err(format!(
                "not JSON ({e}); --previous takes the last run's --format json, ocsf or asff output"
            ))
        })?;
        let (format, findings) = match &doc {
            Value::Object(o) if o.contains_key("batches") => (PreviousFormat::Asff, asff(o)?),
            Value::Object(o) if o.contains_key("findings") => (PreviousFormat::Json, json(o)?),
            Value::Object(o) if o.contains_key("error") => {
                return Err(err(
                    "it is the error object of a failed run, not a report; keep only the \
                     reports of runs that exited 0 or 1",
                ));
            }
            Value::Array(events) => (PreviousFormat::Ocsf, ocsf(events)?),
            _ => {
                return Err(err(
                    "not an eksdoctor report: expected the last run's --format json (an object \
                     with findings), ocsf (an array of events) or asff (an object with batches)",
                ));
            }
        };
        let mut by_id = HashMap::new();
        for (i, f) in findings.iter().enumerate() {
            if by_id.insert(f.id.clone(), i).is_some() {
                return Err(err(format!("the id {} is there twice", f.id)));
            }
        }
        Ok(Self {
            format,
            findings,
            by_id,
            held_accounts: HashSet::new(),
            held_scopes: Vec::new(),
        })
    }

    /// The previous run's open finding with this id.
    #[must_use]
    pub fn seen(&self, id: &str) -> Option<&PreviousFinding> {
        self.by_id.get(id).map(|&i| &self.findings[i])
    }

    /// This run could not check `account_id`: its previous findings are
    /// neither still there nor fixed, and are printed again as they were
    /// ([`Self::held`]) instead of resolved.
    pub fn hold_account(&mut self, account_id: &str) {
        self.held_accounts.insert(account_id.to_owned());
    }

    /// This run could not see a part of `account_id`: a region (`cluster`
    /// `None`), one cluster of a region, or the findings of rules starting
    /// with `rule_prefix` (`keys/` when the keys could not be read). Its
    /// previous findings are held as with [`Self::hold_account`].
    pub fn hold_scope(
        &mut self,
        account_id: &str,
        region: Option<&str>,
        cluster: Option<&str>,
        rule_prefix: Option<&str>,
    ) {
        self.held_scopes.push(HeldScope {
            account: account_id.to_owned(),
            region: region.map(str::to_owned),
            cluster: cluster.map(str::to_owned),
            rule_prefix: rule_prefix.map(str::to_owned),
        });
    }

    fn is_held(&self, f: &PreviousFinding) -> bool {
        (!self.held_accounts.is_empty() && self.held_accounts.contains(account_of(&f.id)))
            || self.held_scopes.iter().any(|s| s.covers(&f.id))
    }

    /// The previous run's open findings whose id is not among `current`
    /// and whose account this run checked: fixed since, in the previous
    /// file's order.
    pub fn resolved<'s>(
        &'s self,
        current: &'s HashSet<&str>,
    ) -> impl Iterator<Item = &'s PreviousFinding> + 's {
        self.findings
            .iter()
            .filter(move |f| !current.contains(f.id.as_str()) && !self.is_held(f))
    }

    /// The previous run's open findings of the accounts this run could not
    /// check ([`Self::hold_account`]) that this run does not have.
    pub fn held<'s>(
        &'s self,
        current: &'s HashSet<&str>,
    ) -> impl Iterator<Item = &'s PreviousFinding> + 's {
        self.findings
            .iter()
            .filter(move |f| !current.contains(f.id.as_str()) && self.is_held(f))
    }
}

/// The account a stable id names: `eksdoctor/ACCOUNT/...`.
fn account_of(id: &str) -> &str {
    id.split('/').nth(1).unwrap_or_default()
}

fn text<'v>(o: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    o.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn rfc3339(s: &str, what: &str, id: &str) -> Result<jiff::Timestamp, PreviousError> {
    s.parse()
        .map_err(|e| err(format!("{id}: {what} {s:?} is not an RFC 3339 time ({e})")))
}

fn millis(v: Option<&Value>, what: &str, id: &str) -> Result<jiff::Timestamp, PreviousError> {
    let ms = v
        .and_then(Value::as_i64)
        .ok_or_else(|| err(format!("{id}: {what} is missing or not epoch milliseconds")))?;
    jiff::Timestamp::from_millisecond(ms)
        .map_err(|e| err(format!("{id}: {what} {ms} is out of range ({e})")))
}

fn asff(doc: &Map<String, Value>) -> Result<Vec<PreviousFinding>, PreviousError> {
    let batches = doc
        .get("batches")
        .and_then(Value::as_array)
        .ok_or_else(|| err("ASFF: batches is not an array"))?;
    let mut out = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let batch = batch
            .as_object()
            .ok_or_else(|| err(format!("ASFF: batches[{b}] is not an object")))?;
        let (Some(account), Some(region)) = (text(batch, "account_id"), text(batch, "region"))
        else {
            return Err(err(format!(
                "ASFF: batches[{b}] lacks its account_id or region"
            )));
        };
        let findings = batch
            .get("findings")
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("ASFF: batches[{b}].findings is not an array")))?;
        for (i, f) in findings.iter().enumerate() {
            let o = f
                .as_object()
                .ok_or_else(|| err(format!("ASFF: batches[{b}].findings[{i}] is not an object")))?;
            let id = text(o, "Id")
                .ok_or_else(|| err(format!("ASFF: batches[{b}].findings[{i}] has no Id")))?;
            if text(o, "RecordState") == Some("ARCHIVED") {
                continue;
            }
            let created = rfc3339(
                text(o, "CreatedAt").ok_or_else(|| err(format!("{id}: no CreatedAt")))?,
                "CreatedAt",
                id,
            )?;
            let first_seen = match text(o, "FirstObservedAt") {
                Some(s) => rfc3339(s, "FirstObservedAt", id)?,
                None => created,
            };
            out.push(PreviousFinding {
                id: id.to_owned(),
                first_seen,
                created,
                batch: Some((account.to_owned(), region.to_owned())),
                record: f.clone(),
            });
        }
    }
    Ok(out)
}

fn ocsf(events: &[Value]) -> Result<Vec<PreviousFinding>, PreviousError> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let o = e
            .as_object()
            .ok_or_else(|| err(format!("OCSF: event {i} is not an object")))?;
        if o.get("class_uid").and_then(Value::as_u64) != Some(u64::from(super::ocsf::CLASS_UID)) {
            return Err(err(format!(
                "OCSF: event {i} is not a Detection Finding (class_uid {})",
                super::ocsf::CLASS_UID
            )));
        }
        let info = o
            .get("finding_info")
            .and_then(Value::as_object)
            .ok_or_else(|| err(format!("OCSF: event {i} has no finding_info")))?;
        let id = text(info, "uid")
            .ok_or_else(|| err(format!("OCSF: event {i} has no finding_info.uid")))?;
        let closed = o.get("activity_id").and_then(Value::as_u64)
            == Some(u64::from(super::ocsf::ACTIVITY_CLOSE))
            || o.get("status_id").and_then(Value::as_u64)
                == Some(u64::from(super::ocsf::STATUS_RESOLVED));
        if closed {
            continue;
        }
        let created = millis(info.get("created_time"), "finding_info.created_time", id)?;
        let first_seen = match info.get("first_seen_time") {
            Some(v) => millis(Some(v), "finding_info.first_seen_time", id)?,
            None => created,
        };
        out.push(PreviousFinding {
            id: id.to_owned(),
            first_seen,
            created,
            batch: None,
            record: e.clone(),
        });
    }
    Ok(out)
}

fn json(doc: &Map<String, Value>) -> Result<Vec<PreviousFinding>, PreviousError> {
    let findings = doc
        .get("findings")
        .and_then(Value::as_array)
        .ok_or_else(|| err("JSON report: findings is not an array"))?;
    // Findings of accounts that run could not check: still open.
    let held = doc.get("held").and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, f) in findings
        .iter()
        .chain(held.into_iter().flatten())
        .enumerate()
    {
        let o = f
            .as_object()
            .ok_or_else(|| err(format!("JSON report: findings[{i}] is not an object")))?;
        let Some(id) = text(o, "id") else {
            return Err(err(format!(
                "JSON report: findings[{i}] has no id (a report of a command other than check, \
                 or of an eksdoctor without --previous); run once without --previous"
            )));
        };
        let first_seen = rfc3339(
            text(o, "first_seen").ok_or_else(|| err(format!("{id}: no first_seen")))?,
            "first_seen",
            id,
        )?;
        out.push(PreviousFinding {
            id: id.to_owned(),
            first_seen,
            created: first_seen,
            batch: None,
            record: f.clone(),
        });
    }
    Ok(out)
}

/// The JSON report's entry for a finding gone since the previous run: the
/// previous entry as it was (id, first_seen and scope included), with
/// `resolved_at`.
#[must_use]
pub fn resolved_json(p: &PreviousFinding, now: jiff::Timestamp) -> Value {
    let mut v = p.record.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("resolved_at".to_owned(), Value::from(now.to_string()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_scope_holds_its_region_cluster_or_rules_only() {
        let ids = [
            "eksdoctor/111122223333/us-west-2/prod/cluster/not-mapped/01",
            "eksdoctor/111122223333/us-west-2/dev/irsa/oidc-provider-missing/02",
            "eksdoctor/111122223333/eu-west-1/prod/cluster/not-mapped/03",
            "eksdoctor/111122223333/global/-/keys/old/04",
            "eksdoctor/444455556666/us-west-2/prod/cluster/not-mapped/05",
        ];
        let findings: Vec<String> = ids
            .iter()
            .map(|id| format!(r#"{{"id": "{id}", "first_seen": "2026-01-01T00:00:00Z"}}"#))
            .collect();
        let text = format!(r#"{{"findings": [{}]}}"#, findings.join(","));
        // (region, cluster, rule prefix) held in account 1111... -> the ids held
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            &'a [usize],
        );
        let cases: &[Case] = &[
            (Some("us-west-2"), None, None, &[0, 1]),
            (Some("us-west-2"), Some("prod"), None, &[0]),
            (None, None, Some("keys/"), &[3]),
            (Some("ap-south-1"), None, None, &[]),
        ];
        for (region, cluster, prefix, want) in cases {
            let mut p = Previous::parse(&text).unwrap();
            p.hold_scope("111122223333", *region, *cluster, *prefix);
            let none = HashSet::new();
            let held: Vec<&str> = p.held(&none).map(|f| f.id.as_str()).collect();
            let want: Vec<&str> = want.iter().map(|&i| ids[i]).collect();
            assert_eq!(held, want, "{region:?} {cluster:?} {prefix:?}");
            assert_eq!(p.resolved(&none).count(), ids.len() - want.len());
        }
    }
}
