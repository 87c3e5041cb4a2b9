//! The regression corpus (tests/fixtures/explain/corpus.tsv): every message
//! in the form it arrives in, with the rule, principal, action and resource
//! `explain` must find. All failures are reported at once.

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;

const CORPUS: &str = include_str!("../../../../tests/fixtures/explain/corpus.tsv");

/// One corpus row.
pub(crate) struct Case {
    pub class: String,
    pub rule: String,
    pub count: Option<usize>,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub message: String,
}

pub(crate) fn cases() -> Vec<Case> {
    CORPUS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.splitn(6, '\t').collect();
            assert_eq!(cols.len(), 6, "corpus row needs 6 columns: {l}");
            let (rule, count) = match cols[1].split_once('*') {
                Some((r, n)) => (r.to_owned(), n.parse().ok()),
                None => (cols[1].to_owned(), None),
            };
            Case {
                class: cols[0].to_owned(),
                rule,
                count,
                principal: cols[2].to_owned(),
                action: cols[3].to_owned(),
                resource: cols[4].to_owned(),
                message: cols[5].replace('⏎', "\n"),
            }
        })
        .collect()
}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn principal_of(p: &Value) -> String {
    match p {
        Value::Null => "-".to_owned(),
        p if !p["arn"].is_null() => shown(&p["arn"]),
        p => shown(&p["name"]),
    }
}

#[test]
fn corpus_messages_parse_as_expected() {
    let cases = cases();
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        *per_class.entry(c.class.as_str()).or_default() += 1;
        let fs = explain_text(&c.message);
        let Some(first) = fs.first() else {
            failures.push(format!("[{}] no finding: {}", c.class, c.message));
            continue;
        };
        let p = &first.evidence["parsed"];
        let got = (
            first.rule.to_owned(),
            principal_of(&p["principal"]),
            shown(&p["action"]),
            shown(&p["resource"]),
        );
        let want = (
            c.rule.clone(),
            c.principal.clone(),
            c.action.clone(),
            c.resource.clone(),
        );
        if got != want {
            failures.push(format!(
                "[{}] {}\n    want {want:?}\n    got  {got:?} (rules {:?})",
                c.class,
                c.message.replace('\n', "⏎"),
                fs.iter().map(|f| f.rule).collect::<Vec<_>>()
            ));
        }
        if let Some(n) = c.count {
            let k = fs.iter().filter(|f| f.rule == c.rule).count();
            if k != n {
                failures.push(format!(
                    "[{}] want {n} findings of {}, got {k}: {}",
                    c.class, c.rule, c.message
                ));
            }
        }
    }
    eprintln!("corpus: {} messages, per class {per_class:?}", cases.len());
    assert!(cases.len() >= 100, "only {} corpus messages", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus messages fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
