//! The fleet report as text (the table first) and as JSON.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::FleetReport;
use crate::finding::Severity;
use crate::report::{TextStyle, render_finding};

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('~');
        t
    }
}

impl FleetReport {
    /// The text report: the summary line, the accounts table, findings by
    /// rule, then each account's findings under account → region → cluster.
    #[must_use]
    pub fn to_text(&self, style: TextStyle) -> String {
        let mut out = String::new();
        let s = &self.summary;
        let _ = writeln!(
            out,
            "fleet      {} account{} ({} not reachable), {} cluster{} in {} account-region{}",
            s.accounts,
            plural(s.accounts),
            s.accounts_unreachable,
            s.clusters,
            plural(s.clusters),
            s.regions,
            plural(s.regions),
        );
        let t = &self.throttles;
        let services: Vec<String> = t
            .by_service
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "throttled  {} time{}{}; {} probe{} still throttled after retries",
            t.total,
            plural(usize::try_from(t.total).unwrap_or(usize::MAX)),
            if services.is_empty() {
                String::new()
            } else {
                format!(" ({})", services.join(", "))
            },
            t.exhausted,
            plural(usize::try_from(t.exhausted).unwrap_or(usize::MAX)),
        );
        out.push('\n');
        let _ = writeln!(
            out,
            "{:<12}  {:<20}  {:>8}  {:>5}  {:>4}  {:>4}  WORST",
            "ACCOUNT", "NAME", "CLUSTERS", "ERROR", "WARN", "INFO"
        );
        for a in &self.accounts {
            let (e, w, i) = a.counts();
            let worst = a.worst().map_or("-", |f| f.rule);
            let clusters = if a.status == "ok" {
                a.cluster_count().to_string()
            } else {
                "?".to_owned()
            };
            let _ = writeln!(
                out,
                "{:<12}  {:<20}  {:>8}  {:>5}  {:>4}  {:>4}  {worst}",
                a.account_id,
                cut(a.account_name.as_deref().unwrap_or("-"), 20),
                clusters,
                e,
                w,
                i
            );
        }
        if !s.by_rule.is_empty() {
            out.push('\n');
            let width = s.by_rule.keys().map(String::len).max().unwrap_or(4).max(4);
            let _ = writeln!(
                out,
                "{:<width$}  {:>5}  {:>4}  {:>4}",
                "RULE", "ERROR", "WARN", "INFO"
            );
            for (rule, sev) in &s.by_rule {
                let n = |x: Severity| sev.get(&x).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "{rule:<width$}  {:>5}  {:>4}  {:>4}",
                    n(Severity::Error),
                    n(Severity::Warning),
                    n(Severity::Info)
                );
            }
        }
        for a in &self.accounts {
            let scoped = a.scoped_findings();
            if scoped.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n== account {}{} ==",
                a.account_id,
                a.account_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            let mut last: Option<(Option<&str>, Option<&str>)> = None;
            for f in &scoped {
                let here = (f.region, f.cluster);
                if last != Some(here) {
                    let _ = match here {
                        (None, _) => writeln!(out, "-- account-wide"),
                        (Some(r), None) => writeln!(out, "-- {r}"),
                        (Some(r), Some(c)) => writeln!(out, "-- {r} / {c}"),
                    };
                    last = Some(here);
                }
                render_finding(&mut out, f.finding, style);
            }
        }
        let _ = writeln!(
            out,
            "\n{} error{}, {} warning{}, {} info",
            s.error,
            plural(s.error),
            s.warning,
            plural(s.warning),
            s.info
        );
        out
    }

    /// The JSON report: `findings` (every finding with its `scope`) and
    /// `summary` as every report has them, plus the `accounts` tree and
    /// `throttles`. Serialized straight from the report (no intermediate
    /// `Value`: a thousand-cluster fleet stays a few megabytes).
    #[must_use]
    pub fn to_json(&self) -> String {
        let doc = FleetJson {
            findings: self
                .scoped_findings()
                .into_iter()
                .map(|s| ScopedJson {
                    finding: s.finding,
                    scope: Scope {
                        account_id: s.account_id,
                        account_name: s.account_name,
                        region: s.region,
                        cluster: s.cluster,
                    },
                })
                .collect(),
            report: self,
        };
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
        s.push('\n');
        s
    }

    /// [`Self::to_json`] as a value (tests, embedding).
    #[must_use]
    pub fn to_json_value(&self) -> Value {
        serde_json::from_str(&self.to_json()).unwrap_or(Value::Null)
    }
}

#[derive(Serialize)]
struct FleetJson<'a> {
    findings: Vec<ScopedJson<'a>>,
    #[serde(flatten)]
    report: &'a FleetReport,
}

#[derive(Serialize)]
struct ScopedJson<'a> {
    #[serde(flatten)]
    finding: &'a crate::finding::Finding,
    scope: Scope<'a>,
}

#[derive(Serialize)]
struct Scope<'a> {
    account_id: &'a str,
    account_name: Option<&'a str>,
    region: Option<&'a str>,
    cluster: Option<&'a str>,
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
