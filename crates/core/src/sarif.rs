//! SARIF 2.1.0 rendering of a report, for code scanning of manifests in git.
//!
//! Generic over every command's [`Report`]: one `run` of the `eksdoctor`
//! tool, one `reportingDescriptor` per rule id seen (title, default level,
//! full page reference), one `result` per finding with its file location.
//! A finding without a location is placed on the command's main input
//! (`default_file`), line 1, since code scanning needs a location for every
//! result.

use serde_json::{Value, json};

use crate::finding::{Finding, Severity};
use crate::report::Report;
use crate::rules;

/// The SARIF schema this module writes.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative file path as a SARIF URI (`/` separators, spaces and `%` escaped).
#[must_use]
pub fn file_uri(path: &str) -> String {
    let mut out = String::new();
    for c in path.replace('\\', "/").chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
    out.strip_prefix("./").map(str::to_owned).unwrap_or(out)
}

fn result(f: &Finding, rule_index: usize, default_file: Option<&str>) -> Value {
    let mut text = f.message.clone();
    if !f.detail.is_empty() {
        text.push_str("\n\n");
        text.push_str(&f.detail);
    }
    if let Some(fix) = &f.fix {
        text.push_str("\n\nFix: ");
        text.push_str(&fix.summary);
        for c in &fix.commands {
            text.push_str("\n  $ ");
            text.push_str(c);
        }
        if let Some(r) = &fix.replacement {
            text.push('\n');
            text.push_str(r);
        }
    }
    let mut r = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": text},
    });
    let location = match (&f.location, default_file) {
        (Some(loc), _) => {
            let mut region = json!({"startLine": loc.line.max(1)});
            if let Some(c) = loc.column {
                region["startColumn"] = json!(c.max(1));
            }
            Some(json!({"physicalLocation": {
                "artifactLocation": {"uri": file_uri(&loc.file)},
                "region": region,
            }}))
        }
        (None, Some(file)) => Some(json!({"physicalLocation": {
            "artifactLocation": {"uri": file_uri(file)},
            "region": {"startLine": 1},
        }})),
        (None, None) => None,
    };
    if let Some(l) = location {
        r["locations"] = json!([l]);
    }
    if !f.evidence.is_empty() {
        r["properties"] = json!({"evidence": f.evidence});
    }
    r
}

/// The SARIF log of a report.
#[must_use]
pub fn render(report: &Report, default_file: Option<&str>) -> Value {
    let mut ids: Vec<&'static str> = Vec::new();
    for f in &report.findings {
        if !ids.contains(&f.rule) {
            ids.push(f.rule);
        }
    }
    let descriptors: Vec<Value> = ids
        .iter()
        .map(|id| {
            let rule = rules::by_id(id);
            json!({
                "id": id,
                "name": id.replace(['/', '-'], "_"),
                "shortDescription": {"text": rule.map_or(*id, |r| r.title)},
                "fullDescription": {"text": format!("{}. Run `eksdoctor rules {id}` for the full page.", rule.map_or(*id, |r| r.title))},
                "defaultConfiguration": {"level": level(rule.map_or(Severity::Warning, |r| r.severity))},
                "help": {"text": format!("eksdoctor rules {id}")},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let idx = ids.iter().position(|i| *i == f.rule).unwrap_or(0);
            result(f, idx, default_file)
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "eksdoctor",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/eksdoctor",
                "rules": descriptors,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// The SARIF log as pretty JSON with a trailing newline.
#[must_use]
pub fn to_string(report: &Report, default_file: Option<&str>) -> String {
    let mut s = serde_json::to_string_pretty(&render(report, default_file))
        .unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Fix;

    #[test]
    fn shape() {
        let report = Report::new(vec![
            Finding::new(rules::AWS_AUTH_ROLE_PATH, "path")
                .at("dir/aws auth.yaml", 8)
                .fix(Fix::new("remove").replacement("rolearn: x")),
            Finding::new(rules::AWS_AUTH_MIGRATE, "migrate"),
            Finding::new(rules::AWS_AUTH_ROLE_PATH, "again").at("./a.yaml", 3),
        ]);
        let v = render(&report, Some("a.yaml"));
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let r0 = &run["results"][0];
        assert_eq!(r0["ruleId"], "aws-auth/role-path");
        assert_eq!(r0["level"], "error");
        assert_eq!(
            r0["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dir/aws%20auth.yaml"
        );
        assert_eq!(
            r0["locations"][0]["physicalLocation"]["region"]["startLine"],
            8
        );
        assert_eq!(run["results"][1]["ruleIndex"], 0);
        assert_eq!(
            run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "a.yaml"
        );
        assert_eq!(run["results"][2]["level"], "note");
    }
}
