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

/// The project's home page, the SARIF driver's `informationUri`: the
/// workspace's `repository` (Cargo.toml). A placeholder (an `.invalid`
/// host, RFC 2606) is left out rather than shipped: SARIF makes it optional.
#[must_use]
pub fn information_uri() -> Option<&'static str> {
    real_uri(env!("CARGO_PKG_REPOSITORY"))
}

fn real_uri(uri: &str) -> Option<&str> {
    let host = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?
        .split('/')
        .next()?;
    (!host.is_empty()
        && !host.ends_with(".invalid")
        && !host.ends_with(".example")
        && host != "example.com")
        .then_some(uri)
}

/// A path as a `file://` URI: absolute paths as they are, relative ones
/// resolved against `base` (the working directory, absolute). Percent-encodes
/// everything outside RFC 3986's unreserved characters and `/`. `None` for
/// stdin (`<stdin>`, `-`), which has no URI.
#[must_use]
pub fn file_uri(path: &str, base: &str) -> Option<String> {
    if path.is_empty() || path == "-" || path == "<stdin>" {
        return None;
    }
    let path = path.replace('\\', "/");
    let joined = if path.starts_with('/') || has_drive(&path) {
        path
    } else {
        let rel = path.trim_start_matches("./");
        format!("{}/{rel}", base.replace('\\', "/").trim_end_matches('/'))
    };
    let mut out = String::from("file://");
    if has_drive(&joined) {
        out.push('/');
    }
    for b in joined.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Some(out)
}

/// `C:/...`: a Windows drive path.
fn has_drive(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/'
}

fn result(f: &Finding, rule_index: usize, default_file: Option<&str>, base: &str) -> Value {
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
        (Some(loc), _) => file_uri(&loc.file, base).map(|uri| {
            let mut region = json!({"startLine": loc.line.max(1)});
            if let Some(c) = loc.column {
                region["startColumn"] = json!(c.max(1));
            }
            json!({"physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": region,
            }})
        }),
        (None, Some(file)) => file_uri(file, base).map(|uri| {
            json!({"physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": 1},
            }})
        }),
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

/// The SARIF log of a report, relative paths resolved against the working directory.
#[must_use]
pub fn render(report: &Report, default_file: Option<&str>) -> Value {
    let base = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "/".to_owned());
    render_at(report, default_file, &base)
}

/// The SARIF log of a report, relative paths resolved against `base`.
#[must_use]
pub fn render_at(report: &Report, default_file: Option<&str>, base: &str) -> Value {
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
            let mut d = json!({
                "id": id,
                "name": id.replace(['/', '-'], "_"),
                "shortDescription": {"text": rule.map_or(*id, |r| r.title)},
                "fullDescription": {"text": format!("{}. Run `eksdoctor rules {id}` for the full page.", rule.map_or(*id, |r| r.title))},
                "defaultConfiguration": {"level": level(rule.map_or(Severity::Warning, |r| r.severity))},
                "help": {"text": format!("eksdoctor rules {id}")},
            });
            if let Some(home) = information_uri() {
                d["helpUri"] = json!(format!("{}/blob/main/docs/rules/{id}.md", home.trim_end_matches('/')));
            }
            d
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let idx = ids.iter().position(|i| *i == f.rule).unwrap_or(0);
            result(f, idx, default_file, base)
        })
        .collect();
    let mut driver = json!({
        "name": "eksdoctor",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": descriptors,
    });
    if let Some(home) = information_uri() {
        driver["informationUri"] = json!(home);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
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
        let v = render_at(&report, Some("a.yaml"), "/work/repo");
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let r0 = &run["results"][0];
        assert_eq!(r0["ruleId"], "aws-auth/role-path");
        assert_eq!(r0["level"], "error");
        assert_eq!(
            r0["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///work/repo/dir/aws%20auth.yaml"
        );
        assert_eq!(
            r0["locations"][0]["physicalLocation"]["region"]["startLine"],
            8
        );
        assert_eq!(run["results"][1]["ruleIndex"], 0);
        assert_eq!(
            run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///work/repo/a.yaml"
        );
        assert_eq!(
            run["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///work/repo/a.yaml"
        );
        assert_eq!(run["results"][2]["level"], "note");
        // Never a placeholder: a real home page, or none.
        if let Some(info) = run["tool"]["driver"]["informationUri"].as_str() {
            assert!(real_uri(info).is_some(), "{info}");
        }
        assert_eq!(real_uri("https://example.invalid/eksdoctor"), None);
        assert_eq!(
            real_uri("https://github.com/o/eksdoctor"),
            Some("https://github.com/o/eksdoctor")
        );
    }

    #[test]
    fn uris() {
        assert_eq!(
            file_uri("/abs/x y#.yaml", "/b").as_deref(),
            Some("file:///abs/x%20y%23.yaml")
        );
        assert_eq!(
            file_uri("rel.yaml", "/b/").as_deref(),
            Some("file:///b/rel.yaml")
        );
        assert_eq!(
            file_uri("C:\\x\\a.yaml", "/b").as_deref(),
            Some("file:///C:/x/a.yaml")
        );
        assert_eq!(file_uri("<stdin>", "/b"), None);
        assert_eq!(
            file_uri("caf\u{e9}.yaml", "/b").as_deref(),
            Some("file:///b/caf%C3%A9.yaml")
        );
    }
}
