//! The report: findings sorted by severity, a summary, and the text and JSON
//! renderings of `../shared/spec/cli.md`. Every rendering goes through
//! [`crate::mask::Redactor`] in the binary before it is written.

use std::fmt::Write as _;

use serde::Serialize;

use crate::finding::{Finding, Severity};

/// Counts per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

/// A command's findings plus command-specific top-level members
/// (`mapping` for `lint aws-auth --principal`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    /// A report of these findings, sorted errors first (stable within a severity).
    #[must_use]
    pub fn new(mut findings: Vec<Finding>) -> Self {
        findings.sort_by_key(|f| f.severity.rank());
        let mut summary = Summary::default();
        for f in &findings {
            match f.severity {
                Severity::Error => summary.error += 1,
                Severity::Warning => summary.warning += 1,
                Severity::Info => summary.info += 1,
            }
        }
        Self {
            findings,
            summary,
            extra: serde_json::Map::new(),
        }
    }

    /// Add a top-level member to the JSON report.
    #[must_use]
    pub fn with(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The exit status: 1 when any finding is an error, else 0.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        i32::from(self.summary.error > 0)
    }

    /// The JSON report (pretty, one object, trailing newline).
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned());
        s.push('\n');
        s
    }

    /// The human report.
    #[must_use]
    pub fn to_text(&self, style: TextStyle) -> String {
        let mut out = String::new();
        for f in &self.findings {
            render_finding(&mut out, f, style);
            out.push('\n');
        }
        let s = self.summary;
        let _ = writeln!(
            out,
            "{} error{}, {} warning{}, {} info",
            s.error,
            plural(s.error),
            s.warning,
            plural(s.warning),
            s.info
        );
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How to render text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    pub color: bool,
    /// Columns to wrap prose to (the binary passes the terminal's width).
    pub width: usize,
}

/// The width when none is known: 100 columns.
pub const DEFAULT_WIDTH: usize = 100;

impl Default for TextStyle {
    fn default() -> Self {
        Self {
            color: false,
            width: DEFAULT_WIDTH,
        }
    }
}

impl TextStyle {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Render one finding as text (also used by the dashboard's detail pane).
pub fn render_finding(out: &mut String, f: &Finding, style: TextStyle) {
    let sev = match f.severity {
        Severity::Error => style.paint("1;31", "error"),
        Severity::Warning => style.paint("1;33", "warning"),
        Severity::Info => style.paint("1;36", "info"),
    };
    // Prose wraps to the width (never below 40); commands, policies and
    // replacements are never wrapped: they are pasted as they are.
    let width = style.width.max(40);
    let head = format!("{}[{}]: ", f.severity.as_str(), f.rule);
    let mut msg = wrap_hanging(
        &f.message,
        width.saturating_sub(head.len()).max(20),
        width - 2,
    )
    .into_iter();
    let first = msg.next().unwrap_or_default();
    let _ = writeln!(out, "{sev}[{}]: {}", f.rule, style.paint("1", &first));
    for line in msg {
        let _ = writeln!(out, "  {}", style.paint("1", &line));
    }
    if let Some(loc) = &f.location {
        match loc.column {
            Some(c) => {
                let _ = writeln!(out, "  --> {}:{}:{}", loc.file, loc.line, c);
            }
            None => {
                let _ = writeln!(out, "  --> {}:{}", loc.file, loc.line);
            }
        }
    }
    let count = f
        .evidence
        .get("parsed")
        .and_then(|p| p.get("count"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1);
    if count > 1 {
        let _ = writeln!(out, "  seen {count} times");
    }
    if !f.detail.is_empty() {
        for line in wrap(&f.detail, width - 2) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(fix) = &f.fix {
        let mut summary = wrap_hanging(&fix.summary, width - 7, width - 7).into_iter();
        let _ = writeln!(
            out,
            "  {} {}",
            style.paint("1;32", "fix:"),
            summary.next().unwrap_or_default()
        );
        for line in summary {
            let _ = writeln!(out, "       {line}");
        }
        if let Some(policy) = &fix.policy {
            let text = serde_json::to_string_pretty(policy).unwrap_or_default();
            for line in text.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        for cmd in &fix.commands {
            let _ = writeln!(out, "    $ {cmd}");
        }
        if let Some(rep) = &fix.replacement {
            for line in rep.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
}

/// Greedy word wrap with a first line of `first` columns and the rest of `rest`.
#[must_use]
pub fn wrap_hanging(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let width = if lines.is_empty() { first } else { rest };
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// Greedy word wrap.
#[must_use]
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Fix;
    use crate::rules;

    #[test]
    fn json_has_the_contract_shape() {
        let r = Report::new(vec![
            Finding::new(rules::KEYS_INACTIVE, "inactive"),
            Finding::new(rules::AWS_AUTH_ROLE_PATH, "path")
                .at("aws-auth.yaml", 8)
                .fix(Fix::new("remove the path").replacement("rolearn: x")),
        ]);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["findings"][0]["rule"], "aws-auth/role-path");
        assert_eq!(v["findings"][0]["location"]["line"], 8);
        assert!(v["findings"][0]["fix"].get("policy").is_none());
        assert!(v["findings"][1].get("location").is_none());
        assert_eq!(v["summary"]["error"], 1);
        assert_eq!(v["summary"]["info"], 1);
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn prose_wraps_to_the_width() {
        let f = Finding::new(rules::KEYS_INACTIVE, "word ".repeat(30).trim().to_owned())
            .detail("detail ".repeat(40).trim().to_owned())
            .fix(Fix::new("summary ".repeat(20).trim().to_owned()).command("x ".repeat(60)));
        for width in [40, 80, 120] {
            let mut out = String::new();
            render_finding(
                &mut out,
                &f,
                TextStyle {
                    color: false,
                    width,
                },
            );
            for line in out.lines().filter(|l| !l.trim_start().starts_with('$')) {
                assert!(line.len() <= width, "{width}: {line:?}");
            }
            // Commands are never cut.
            assert!(out.contains(&format!("$ {}", "x ".repeat(60))));
        }
    }

    #[test]
    fn text_ends_with_summary() {
        let r = Report::new(vec![]);
        assert_eq!(
            r.to_text(TextStyle::default()),
            "0 errors, 0 warnings, 0 info\n"
        );
        assert_eq!(r.exit_code(), 0);
    }
}
