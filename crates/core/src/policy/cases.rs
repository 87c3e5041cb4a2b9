//! The documented-cases table: `tests/fixtures/policy/cases/*.json`, each
//! case taken from an AWS documentation page (named in its `doc` member),
//! with the decision AWS documents, and optionally the statements that must
//! match and a phrase a reason must contain.
//!
//! Case shape: `{"name", "doc", "policies": {"identity": [DOC...],
//! "boundary": DOC, "session": DOC, "scp": [DOC...], "rcp": [DOC...],
//! "resource": DOC, "trust": DOC}, "request": {"action", "resource",
//! "caller"?, "context"?: {KEY: VALUE | [VALUES]}, "absent_keys"?: BOOL},
//! "expect": DECISION,
//! "matched"?: [SID-or-INDEX...], "reason"?: TEXT}`.

use std::path::PathBuf;

use serde_json::Value;

use super::{Caller, Context, Policy, PolicyKind, PolicySet, Request, evaluate, explain};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/policy/cases")
}

fn load(kind: PolicyKind, name: &str, doc: &Value) -> Policy {
    Policy::parse(name, kind, &doc.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn build(case: &Value) -> (PolicySet, Request) {
    let mut set = PolicySet::new();
    let pols = &case["policies"];
    let many = |key: &str| pols[key].as_array().cloned().unwrap_or_default();
    for (i, d) in many("identity").iter().enumerate() {
        set.add(load(PolicyKind::Identity, &format!("identity[{i}]"), d));
    }
    for (key, kind) in [
        ("boundary", PolicyKind::PermissionsBoundary),
        ("session", PolicyKind::Session),
        ("resource", PolicyKind::ResourceBased),
        ("trust", PolicyKind::Trust),
    ] {
        if pols[key].is_object() {
            set.add(load(kind, key, &pols[key]));
        }
    }
    for (i, d) in many("scp").iter().enumerate() {
        set.add(load(PolicyKind::ServiceControl, &format!("scp[{i}]"), d));
    }
    for (i, d) in many("rcp").iter().enumerate() {
        set.add(load(PolicyKind::ResourceControl, &format!("rcp[{i}]"), d));
    }
    let r = &case["request"];
    let action = r["action"].as_str().unwrap_or_default();
    let mut ctx = Context::new();
    ctx.set_all_absent(r["absent_keys"].as_bool().unwrap_or(false));
    if let Some(m) = r["context"].as_object() {
        for (k, v) in m {
            match v {
                Value::Array(vs) if vs.is_empty() => ctx.insert_empty(k),
                Value::Array(vs) => {
                    for x in vs {
                        ctx.insert(k, x.as_str().unwrap_or_default());
                    }
                }
                other => ctx.insert(k, other.as_str().unwrap_or_default()),
            }
        }
    }
    let federated = action
        .to_ascii_lowercase()
        .starts_with("sts:assumerolewith");
    let caller = r["caller"]
        .as_str()
        .map(|c| Caller::parse(c, federated).unwrap_or_else(|e| panic!("{e}")));
    let resource = r["resource"].as_str().unwrap_or("*");
    (set, Request::new(action, resource, caller, ctx))
}

#[test]
fn documented_cases() {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for case in v["cases"].as_array().unwrap() {
            total += 1;
            let name = case["name"].as_str().unwrap_or("?");
            let (set, req) = build(case);
            let ev = evaluate(&set, &req);
            let reasons = explain::reasons(&set, &req, &ev);
            let want = case["expect"].as_str().unwrap_or("?");
            let file = f.file_name().unwrap().to_string_lossy();
            if std::env::var_os("POLICY_CASES_PRINT").is_some() {
                println!("{file}: {name}: {} {reasons:#?}", ev.decision.as_str());
            }
            if ev.decision.as_str() != want {
                failures.push(format!(
                    "{file}: {name}: got {}, want {want}; reasons: {reasons:?}",
                    ev.decision.as_str()
                ));
                continue;
            }
            if let Some(m) = case["matched"].as_array() {
                let mut want: Vec<&str> = m.iter().filter_map(Value::as_str).collect();
                let mut got: Vec<String> = ev
                    .matched
                    .iter()
                    .filter_map(|x| set.statement(x.at).map(|(_, s)| s.label()))
                    .collect();
                want.sort_unstable();
                got.sort();
                if got != want {
                    failures.push(format!("{file}: {name}: matched {got:?}, want {want:?}"));
                }
            }
            if let Some(r) = case["reason"].as_str()
                && !reasons.iter().any(|x| x.contains(r))
            {
                failures.push(format!(
                    "{file}: {name}: no reason contains {r:?}: {reasons:?}"
                ));
            }
        }
    }
    assert!(total >= 200, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
