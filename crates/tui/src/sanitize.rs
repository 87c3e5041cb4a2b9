//! Everything the dashboard keeps for display passes the redactor on the way
//! in, so a secret access key or session token never reaches a screen cell
//! (the rendered buffer gets a second pass as a backstop, see `ui`).

use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::mask::Redactor;
use serde_json::Value;

/// The string with every secret masked.
#[must_use]
pub fn text(r: &Redactor, s: &str) -> String {
    r.redact(s).into_owned()
}

/// A JSON value with every string in it redacted.
#[must_use]
pub fn json(r: &Redactor, v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(text(r, &s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| json(r, v)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (text(r, &k), json(r, v)))
                .collect(),
        ),
        other => other,
    }
}

/// A finding with every string in it redacted.
#[must_use]
pub fn finding(r: &Redactor, f: Finding) -> Finding {
    Finding {
        rule: f.rule,
        severity: f.severity,
        message: text(r, &f.message),
        detail: text(r, &f.detail),
        evidence: f
            .evidence
            .into_iter()
            .map(|(k, v)| (text(r, &k), json(r, v)))
            .collect(),
        location: f.location.map(|mut l| {
            l.file = text(r, &l.file);
            l
        }),
        fix: f.fix.map(|x| Fix {
            summary: text(r, &x.summary),
            policy: x.policy.map(|p| json(r, p)),
            commands: x.commands.iter().map(|c| text(r, c)).collect(),
            replacement: x.replacement.map(|s| text(r, &s)),
        }),
    }
}

/// Access key ids that appear in `raw` next to a secret: once a secret was
/// seen with them they are masked everywhere, commands included.
pub fn taint_paired_key_ids(r: &mut Redactor, raw: &str) {
    if r.redact(raw) == raw {
        return;
    }
    for word in raw.split(|c: char| !c.is_ascii_alphanumeric()) {
        if eksdoctor_core::mask::is_access_key_id(word) {
            r.taint(word);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksdoctor_core::rules;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn finding_strings_are_redacted_everywhere() {
        let r = Redactor::new();
        let f = Finding::new(rules::KEYS_SECRET_IN_INPUT, format!("saw {SECRET}"))
            .detail(SECRET)
            .evidence("line", format!("aws_secret_access_key={SECRET}"))
            .evidence("nested", serde_json::json!({"a": [SECRET]}))
            .fix(Fix::new(SECRET).command(format!("echo {SECRET}")));
        let clean = finding(&r, f);
        let all = serde_json::to_string(&clean).unwrap_or_default();
        assert!(!all.contains(SECRET), "{all}");
        assert!(all.contains("****"));
    }

    #[test]
    fn paired_key_ids_are_tainted() {
        let mut r = Redactor::new();
        taint_paired_key_ids(&mut r, "AKIAIOSFODNN7EXAMPLE alone");
        assert_eq!(r.tainted().count(), 0);
        taint_paired_key_ids(&mut r, &format!("AKIAIOSFODNN7EXAMPLE {SECRET}"));
        assert_eq!(r.redact("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
    }
}
