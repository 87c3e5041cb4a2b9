//! `cargo xtask deploy-policy [--check]`: keep the shipped read-only policy
//! and the StackSet template equal to the probe allowlist
//! (crates/aws/src/guard.rs).
//!
//! 1. docs/eksdoctor-readonly-policy.json is written from the allowlist by
//!    eksdoctor-aws's own (ignored) `write_policy` test, so the allowlist's
//!    code stays the only source; `--check` runs its freshness test instead.
//! 2. The policy, less the runner-only actions ([`RUNNER_ONLY`]), is
//!    spliced, as JSON (which is YAML), between the GENERATED markers of
//!    docs/deploy/eksdoctor-readonly-stackset.yaml; `--check` compares
//!    instead of writing.
//!
//! crates/eksdoctor/tests/deploy.rs checks the same equalities on every test
//! run, so a drift fails CI even when nobody runs this.

use std::path::Path;

pub const POLICY: &str = "docs/eksdoctor-readonly-policy.json";
pub const TEMPLATE: &str = "docs/deploy/eksdoctor-readonly-stackset.yaml";
const BEGIN: &str = "# BEGIN GENERATED";
const END: &str = "# END GENERATED";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => return Err("usage: cargo xtask deploy-policy [--check]".to_owned()),
    };
    let test = if check {
        vec!["guard::tests::shipped_policy_is_the_allowlist", "--exact"]
    } else {
        vec!["guard::tests::write_policy", "--exact", "--ignored"]
    };
    crate::run(
        crate::cargo()
            .current_dir(root)
            .args(["test", "--quiet", "-p", "eksdoctor-aws", "--lib", "--"])
            .args(test),
    )
    .map_err(|e| {
        if check {
            format!("{POLICY} is stale ({e}): run `cargo xtask deploy-policy`")
        } else {
            e
        }
    })?;
    let policy_path = root.join(POLICY);
    let written = std::fs::read_to_string(&policy_path)
        .map_err(|e| format!("cannot read {}: {e}", policy_path.display()))?;
    let value = serde_json::from_str::<serde_json::Value>(&written)
        .map_err(|e| format!("{POLICY} is not JSON: {e}"))?;
    // serde_json's member order depends on which crates a build unifies
    // (`preserve_order`): write IAM's reading order, whoever generated it.
    let policy = policy_json(&value);
    if policy != written {
        if check {
            return Err(format!(
                "{POLICY} is not in IAM's member order: run `cargo xtask deploy-policy`"
            ));
        }
        std::fs::write(&policy_path, &policy)
            .map_err(|e| format!("cannot write {}: {e}", policy_path.display()))?;
    }
    let template_path = root.join(TEMPLATE);
    let template = std::fs::read_to_string(&template_path)
        .map_err(|e| format!("cannot read {}: {e}", template_path.display()))?;
    let fresh = splice(&template, &policy_json(&member_policy(&value)))?;
    if check {
        if fresh != template {
            return Err(format!(
                "{TEMPLATE} does not carry the allowlist's policy: run `cargo xtask deploy-policy`"
            ));
        }
        eprintln!("xtask: {POLICY} and {TEMPLATE} match the probe allowlist");
    } else if fresh == template {
        eprintln!("xtask: {TEMPLATE} already up to date");
    } else {
        std::fs::write(&template_path, fresh)
            .map_err(|e| format!("cannot write {}: {e}", template_path.display()))?;
        eprintln!("xtask: wrote {TEMPLATE}");
    }
    Ok(())
}

/// Actions of the allowlist that only the *runner* calls, in its own
/// account: listing the organization and assuming the member roles. The
/// member role never needs them, and `sts:AssumeRole` there would let it
/// chain into any role that trusts its account. Keep equal to the list in
/// crates/eksdoctor/tests/deploy.rs.
pub const RUNNER_ONLY: &[&str] = &["organizations:*", "sts:AssumeRole"];

fn runner_only(action: &str) -> bool {
    RUNNER_ONLY.iter().any(|r| match r.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => action == *r,
    })
}

/// The member accounts' policy: the allowlist's, without [`RUNNER_ONLY`]
/// actions (a statement left with none is dropped).
#[must_use]
pub fn member_policy(policy: &serde_json::Value) -> serde_json::Value {
    let mut p = policy.clone();
    if let Some(statements) = p["Statement"].as_array_mut() {
        for s in statements.iter_mut() {
            if let Some(actions) = s["Action"].as_array_mut() {
                actions.retain(|a| !a.as_str().is_some_and(runner_only));
            }
        }
        statements.retain(|s| s["Action"].as_array().is_none_or(|a| !a.is_empty()));
    }
    p
}

/// IAM's usual member order; other members follow alphabetically.
const ORDER: &[&str] = &[
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// A policy as pretty JSON (two-space indent, trailing newline) with its
/// members in [`ORDER`].
#[must_use]
pub fn policy_json(v: &serde_json::Value) -> String {
    let mut s = String::new();
    write_json(v, 0, &mut s);
    s.push('\n');
    s
}

fn write_json(v: &serde_json::Value, depth: usize, out: &mut String) {
    use serde_json::Value;
    let pad = |d: usize| "  ".repeat(d);
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_json(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
            keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push_str(": ");
                write_json(&map[*k], depth + 1, out);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The cfn-lint release the template's test runs (pinned: new releases add
/// rules, and CI must not turn red on its own).
pub const CFN_LINT: &str = "cfn-lint==1.58.0";

/// Install cfn-lint into `.venv-cfnlint` when it is not there: the
/// template's test runs it (and skips, saying so, without it).
pub fn setup_cfn_lint(root: &Path) -> Result<(), String> {
    let venv = root.join(".venv-cfnlint");
    if venv.join("bin/cfn-lint").exists() {
        return Ok(());
    }
    eprintln!("xtask: installing {CFN_LINT} into {}", venv.display());
    crate::run(
        std::process::Command::new(crate::python())
            .arg("-m")
            .arg("venv")
            .arg(&venv),
    )?;
    crate::run(std::process::Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        CFN_LINT,
    ]))
}

/// The template with the lines between its GENERATED markers replaced by
/// the policy's text (JSON, which is YAML), indented like the BEGIN marker.
pub fn splice(template: &str, policy: &str) -> Result<String, String> {
    let lines: Vec<&str> = template.lines().collect();
    let begin = lines
        .iter()
        .position(|l| l.trim_start().starts_with(BEGIN))
        .ok_or_else(|| format!("{TEMPLATE}: no `{BEGIN}` line"))?;
    let end = lines[begin..]
        .iter()
        .position(|l| l.trim_start().starts_with(END))
        .map(|i| begin + i)
        .ok_or_else(|| format!("{TEMPLATE}: no `{END}` line after `{BEGIN}`"))?;
    let indent = &lines[begin][..lines[begin].len() - lines[begin].trim_start().len()];
    let mut out: Vec<String> = lines[..=begin].iter().map(|l| (*l).to_owned()).collect();
    out.extend(policy.trim_end().lines().map(|l| format!("{indent}{l}")));
    out.extend(lines[end..].iter().map(|l| (*l).to_owned()));
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_between_the_markers() {
        let t = "a:\n  b:\n    # BEGIN GENERATED x\n    {}\n    # END GENERATED\nc: 1\n";
        let policy = "{\n  \"k\": [\n    \"v\"\n  ]\n}\n";
        let got = splice(t, policy).unwrap();
        assert_eq!(
            got,
            "a:\n  b:\n    # BEGIN GENERATED x\n    {\n      \"k\": [\n        \"v\"\n      ]\n    }\n    # END GENERATED\nc: 1\n"
        );
        // Idempotent.
        assert_eq!(splice(&got, policy).unwrap(), got);
        assert!(splice("no markers", policy).is_err());
    }

    #[test]
    fn member_policy_leaves_out_the_runner_only_actions() {
        let p = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["eks:ListClusters", "sts:AssumeRole",
                "organizations:ListAccounts", "sts:GetCallerIdentity"], "Resource": "*"},
            {"Sid": "B", "Effect": "Allow", "Action": ["organizations:DescribeOrganization"], "Resource": "*"}
        ]});
        assert_eq!(
            member_policy(&p),
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "A", "Effect": "Allow",
                 "Action": ["eks:ListClusters", "sts:GetCallerIdentity"], "Resource": "*"}
            ]})
        );
    }

    #[test]
    fn policies_are_written_in_iam_member_order() {
        assert_eq!(
            policy_json(&serde_json::json!({
                "Statement": [{"Resource": "*", "Action": ["a"], "Effect": "Allow", "Sid": "S"}],
                "Version": "2012-10-17",
                "X": {}
            })),
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"S\",\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        \"a\"\n      ],\n      \"Resource\": \"*\"\n    }\n  ],\n  \"X\": {}\n}\n"
        );
    }
}
