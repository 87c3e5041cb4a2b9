//! The fleet report: every account of an organization, account → region →
//! cluster, each finding with its scope, and a summary.
//!
//! The live crate gathers one [`AccountInput`] per account (its findings as
//! `check` derives them, its clusters, its credential-report keys, or why its
//! role could not be assumed); [`FleetReport::build`] groups, counts and
//! sorts them. Pure: no I/O, testable from values.
//!
//! Adding a fleet-level rule: its id goes in [`crate::rules::CATALOG`] under
//! `fleet/`, a function here builds the [`Finding`], and
//! `docs/rules/fleet/<name>.md` explains it.

pub mod accounts;
mod render;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::finding::{Finding, Fix, Severity};
use crate::keys::{self, AccessKey, KeyPolicy};
use crate::rules;

/// One account as the fleet run saw it (the input to [`FleetReport::build`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInput {
    pub account_id: String,
    pub account_name: Option<String>,
    /// The role the run assumed (or tried to).
    pub role_arn: String,
    /// Why the role could not be assumed (`None`: it was).
    pub assume_error: Option<String>,
    /// The regions probed, with their clusters.
    pub regions: Vec<RegionInput>,
    /// Every finding of the account's round. Findings whose evidence names a
    /// `region` and `cluster` land under that cluster, the rest under the account.
    pub findings: Vec<Finding>,
    /// The credential report's keys (`None`: not read; the why is a finding).
    pub keys: Option<Vec<AccessKey>>,
}

/// One region of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInput {
    pub region: String,
    /// Why ListClusters did not answer (`None`: it did).
    pub error: Option<String>,
    pub clusters: Vec<ClusterFacts>,
}

/// What DescribeCluster said about a cluster (the fleet report's columns).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterFacts {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_mode: Option<String>,
    /// Why DescribeCluster did not answer (`None`: it did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    pub accounts: Vec<AccountReport>,
    pub summary: FleetSummary,
    pub throttles: Throttles,
}

/// One account: its own findings (keys, the assume failure, denied probes),
/// its regions and clusters, and the rotation plan of each user with keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountReport {
    pub account_id: String,
    pub account_name: Option<String>,
    pub role_arn: String,
    /// `ok`, or `assume-failed` (nothing else in the account was probed).
    pub status: &'static str,
    pub findings: Vec<Finding>,
    pub regions: Vec<RegionReport>,
    /// Per user: the keys table (as `keys` prints it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<keys::table::UserKeys>,
    /// Per user with keys: the rotation that never needs a third key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rotation: Vec<keys::rotation::RotationPlan>,
}

/// One region of an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionReport {
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub clusters: Vec<ClusterReport>,
    /// Findings about the region that name no cluster.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// One cluster and its findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterReport {
    #[serde(flatten)]
    pub facts: ClusterFacts,
    pub findings: Vec<Finding>,
}

/// Counts over the whole fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FleetSummary {
    pub accounts: usize,
    /// Accounts whose role could not be assumed.
    pub accounts_unreachable: usize,
    pub regions: usize,
    pub clusters: usize,
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    /// rule id → severity → count.
    pub by_rule: BTreeMap<String, BTreeMap<Severity, usize>>,
}

/// Throttling the run met: attempts AWS answered with a throttling error
/// (the SDK retried them), and probes still throttled after every retry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Throttles {
    pub total: u64,
    /// service (`eks`, `iam`, `sts`, `organizations`) → throttled attempts.
    pub by_service: BTreeMap<String, u64>,
    /// Probes that failed throttled after the retries.
    pub exhausted: u64,
}

/// A finding with where it was found: what the OCSF / ASFF converters take.
pub use crate::export::ScopedFinding;

/// The role ARN the fleet run assumes in `account_id`.
#[must_use]
pub fn role_arn(partition: &str, account_id: &str, role_name: &str) -> String {
    // A role name may carry a path (`team/EksDoctorReadOnly`): keep it whole.
    let name = role_name.trim_matches('/');
    format!("arn:{partition}:iam::{account_id}:role/{name}")
}

/// `fleet/assume-failed`: the account's role could not be assumed.
#[must_use]
pub fn assume_failed(account_id: &str, role_arn: &str, why: &str) -> Finding {
    let role_name = role_arn.split_once(":role/").map_or(role_arn, |(_, n)| n);
    Finding::new(
        rules::FLEET_ASSUME_FAILED,
        format!("account {account_id}: cannot assume {role_arn}: nothing in it was checked"),
    )
    .detail(
        "The fleet run reads each member account through a read-only role. AWS answers \
         AccessDenied both when the role does not exist and when its trust policy does not \
         admit the caller (or the external id differs), so the account's clusters and keys \
         went unchecked. Deploy the role to the account (the StackSet in docs/deploy/) or \
         fix its trust policy.",
    )
    .evidence("account_id", account_id)
    .evidence("role_arn", role_arn)
    .evidence("error", why)
    .fix(
        Fix::new("check the role exists and trusts the account running eksdoctor")
            .command(format!(
                "aws iam get-role --role-name {role_name} --query Role.AssumeRolePolicyDocument   # in account {account_id}"
            ))
            .command(format!(
                "aws sts assume-role --role-arn {role_arn} --role-session-name eksdoctor-test   # from the running account"
            )),
    )
}

fn evidence_str<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.evidence.get(key).and_then(serde_json::Value::as_str)
}

fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        (a.severity.rank(), a.rule, &a.message).cmp(&(b.severity.rank(), b.rule, &b.message))
    });
}

impl AccountReport {
    fn from_input(input: AccountInput, policy: &KeyPolicy) -> Self {
        let AccountInput {
            account_id,
            account_name,
            role_arn,
            assume_error,
            regions,
            findings,
            keys,
        } = input;
        if let Some(why) = assume_error {
            let f = assume_failed(&account_id, &role_arn, &why);
            return Self {
                account_id,
                account_name,
                role_arn,
                status: "assume-failed",
                findings: vec![f],
                regions: Vec::new(),
                users: Vec::new(),
                rotation: Vec::new(),
            };
        }
        let mut regions: Vec<RegionReport> = regions
            .into_iter()
            .map(|r| RegionReport {
                region: r.region,
                error: r.error,
                clusters: r
                    .clusters
                    .into_iter()
                    .map(|facts| ClusterReport {
                        facts,
                        findings: Vec::new(),
                    })
                    .collect(),
                findings: Vec::new(),
            })
            .collect();
        let mut own = Vec::new();
        for f in findings {
            let region = evidence_str(&f, "region").map(str::to_owned);
            let cluster = evidence_str(&f, "cluster").map(str::to_owned);
            let Some(r) = region
                .as_deref()
                .and_then(|reg| regions.iter_mut().find(|r| r.region == reg))
            else {
                own.push(f);
                continue;
            };
            match cluster
                .as_deref()
                .and_then(|c| r.clusters.iter_mut().find(|x| x.facts.name == c))
            {
                Some(c) => c.findings.push(f),
                None => r.findings.push(f),
            }
        }
        let (mut users, mut rotation) = (Vec::new(), Vec::new());
        if let Some(k) = &keys {
            own.extend(keys::check(k, policy));
            users = keys::table::summarize(k, policy);
            rotation = keys::rotation_plans(k);
        }
        sort_findings(&mut own);
        regions.sort_by(|a, b| a.region.cmp(&b.region));
        for r in &mut regions {
            sort_findings(&mut r.findings);
            r.clusters.sort_by(|a, b| a.facts.name.cmp(&b.facts.name));
            for c in &mut r.clusters {
                sort_findings(&mut c.findings);
            }
        }
        Self {
            account_id,
            account_name,
            role_arn,
            status: "ok",
            findings: own,
            regions,
            users,
            rotation,
        }
    }

    /// Every finding of the account with its scope.
    #[must_use]
    pub fn scoped_findings(&self) -> Vec<ScopedFinding<'_>> {
        fn scope<'a>(
            a: &'a AccountReport,
            region: Option<&'a str>,
            cluster: Option<&'a str>,
            finding: &'a Finding,
        ) -> ScopedFinding<'a> {
            ScopedFinding {
                account_id: &a.account_id,
                account_name: a.account_name.as_deref(),
                region,
                cluster,
                finding,
            }
        }
        let mut out: Vec<ScopedFinding<'_>> = self
            .findings
            .iter()
            .map(|f| scope(self, None, None, f))
            .collect();
        for r in &self.regions {
            out.extend(
                r.findings
                    .iter()
                    .map(|f| scope(self, Some(&r.region), None, f)),
            );
            for c in &r.clusters {
                out.extend(
                    c.findings
                        .iter()
                        .map(|f| scope(self, Some(&r.region), Some(&c.facts.name), f)),
                );
            }
        }
        out
    }

    /// The account's most severe finding (first by severity, then rule id).
    #[must_use]
    pub fn worst(&self) -> Option<&Finding> {
        self.scoped_findings()
            .into_iter()
            .map(|s| s.finding)
            .min_by(|a, b| (a.severity.rank(), a.rule).cmp(&(b.severity.rank(), b.rule)))
    }

    /// (error, warning, info) counts.
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for s in self.scoped_findings() {
            match s.finding.severity {
                Severity::Error => c.0 += 1,
                Severity::Warning => c.1 += 1,
                Severity::Info => c.2 += 1,
            }
        }
        c
    }

    /// Clusters found in the account.
    #[must_use]
    pub fn cluster_count(&self) -> usize {
        self.regions.iter().map(|r| r.clusters.len()).sum()
    }
}

impl FleetReport {
    /// Group, count and sort the accounts' findings; key rules use `policy`.
    #[must_use]
    pub fn build(inputs: Vec<AccountInput>, throttles: Throttles, policy: &KeyPolicy) -> Self {
        let mut accounts: Vec<AccountReport> = inputs
            .into_iter()
            .map(|a| AccountReport::from_input(a, policy))
            .collect();
        accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let mut summary = FleetSummary {
            accounts: accounts.len(),
            ..FleetSummary::default()
        };
        for a in &accounts {
            if a.status != "ok" {
                summary.accounts_unreachable += 1;
            }
            summary.regions += a.regions.len();
            summary.clusters += a.cluster_count();
            for s in a.scoped_findings() {
                let f = s.finding;
                match f.severity {
                    Severity::Error => summary.error += 1,
                    Severity::Warning => summary.warning += 1,
                    Severity::Info => summary.info += 1,
                }
                *summary
                    .by_rule
                    .entry(f.rule.to_owned())
                    .or_default()
                    .entry(f.severity)
                    .or_default() += 1;
            }
        }
        Self {
            accounts,
            summary,
            throttles,
        }
    }

    /// Every finding of every account with its scope, in report order.
    #[must_use]
    pub fn scoped_findings(&self) -> Vec<ScopedFinding<'_>> {
        self.accounts
            .iter()
            .flat_map(AccountReport::scoped_findings)
            .collect()
    }

    /// Whether any finding is an error (exit status 1).
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.summary.error > 0
    }
}

#[cfg(test)]
mod tests;
