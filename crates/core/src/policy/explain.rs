//! Plain-words explanations of an [`Evaluation`], and its JSON and text
//! renderings (`{"decision", "matched", "reasons"}` of the CLI spec).

use std::fmt::Write as _;

use serde::Serialize;

use crate::finding::Finding;
use crate::rules::{self, Rule};

use super::Tri;
use super::document::{Effect, PolicyKind};
use super::eval::{Decision, Evaluation, PolicySet, Request, StatementRef};
use super::principal::{Caller, Grant};

/// `identity policy a.json statement 'EksRead'`.
fn where_(set: &PolicySet, at: StatementRef) -> String {
    match set.statement(at) {
        Some((p, s)) => format!("{} {} {}", p.kind.describe(), p.name, s.describe()),
        None => "an unknown statement".to_owned(),
    }
}

fn names(set: &PolicySet, kind: PolicyKind) -> String {
    let v: Vec<&str> = set
        .policies()
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.name.as_str())
        .collect();
    v.join(", ")
}

fn first_allow(set: &PolicySet, ev: &Evaluation, kind: PolicyKind) -> Option<StatementRef> {
    ev.allowing_statements().find(|at| {
        set.policies()
            .get(at.policy)
            .is_some_and(|p| p.kind == kind)
    })
}

/// The reasons for the decision, most important first.
#[must_use]
pub fn reasons(set: &PolicySet, req: &Request, ev: &Evaluation) -> Vec<String> {
    let mut out = Vec::new();
    let action = &req.action;
    let l = &ev.layers;
    match ev.decision {
        Decision::ExplicitDeny => {
            for at in ev.denying_statements() {
                out.push(format!(
                    "denied explicitly by {}: an explicit Deny overrides every Allow",
                    where_(set, at)
                ));
            }
        }
        Decision::Indeterminate => {
            out.extend(unresolved_reasons(set, ev, None));
            out.push(format!(
                "the decision depends on these keys: give them with --context KEY=VALUE to decide{}",
                if ev.layers.deny == Tri::Unknown {
                    " (a Deny statement might apply)"
                } else {
                    ""
                }
            ));
        }
        Decision::ImplicitDeny => {
            implicit_deny_reasons(set, req, ev, &mut out);
            if l.deny == Tri::Unknown {
                let extra = unresolved_reasons(set, ev, Some(Effect::Deny));
                for r in extra {
                    out.push(format!("also, {r} (it would deny explicitly)"));
                }
            }
        }
        Decision::Allow if l.always_allowed => {
            out.push(format!(
                "{action} needs no permission: AWS answers it for every authenticated caller, and an explicit Deny does not block it (STS API reference, GetCallerIdentity)"
            ));
            for at in ev.denying_statements() {
                out.push(format!(
                    "{} denies it, which has no effect on {action}",
                    where_(set, at)
                ));
            }
        }
        Decision::Allow => {
            allow_reasons(set, req, ev, &mut out);
        }
    }
    if out.is_empty() {
        out.push(format!("no statement decides {action}"));
    }
    out
}

fn unresolved_reasons(set: &PolicySet, ev: &Evaluation, only: Option<Effect>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for u in &ev.unresolved {
        if only.is_some_and(|e| e != u.effect) {
            continue;
        }
        let m = &u.missing;
        let r = if m.operator.ends_with("Principal") {
            format!(
                "{} ({}) names principals, and no caller was given (--caller ARN)",
                where_(set, u.at),
                u.effect
            )
        } else if m.variable {
            format!(
                "{} ({}) uses the policy variable ${{{}}} in {}, which the context does not give (--context {}=VALUE)",
                where_(set, u.at),
                u.effect,
                m.key,
                m.operator,
                m.key
            )
        } else {
            let hint = if m.operator.starts_with("ForAllValues:") {
                format!(
                    "; AWS treats an absent key as true for ForAllValues: --context {}=[] gives the empty set",
                    m.key
                )
            } else {
                String::new()
            };
            format!(
                "{} ({}) has a {} condition on {}, which the context does not give (--context {}=VALUE){hint}",
                where_(set, u.at),
                u.effect,
                m.operator,
                m.key,
                m.key
            )
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

fn implicit_deny_reasons(set: &PolicySet, req: &Request, ev: &Evaluation, out: &mut Vec<String>) {
    let action = &req.action;
    let l = &ev.layers;
    for (i, p) in set.policies().iter().enumerate() {
        if set.level_allows(&ev.outcomes, i) == Tri::False {
            match p.kind {
                PolicyKind::ServiceControl => out.push(format!(
                    "the service control policy {} allows no {action}: every SCP level must allow it, and this cannot be fixed inside the account (ask the organization's management account)",
                    p.name
                )),
                PolicyKind::ResourceControl => out.push(format!(
                    "the resource control policy {} allows no {action} on {}: every RCP must allow it (ask the organization's management account)",
                    p.name, req.resource
                )),
                _ => {}
            }
        }
    }
    let caller = req
        .caller
        .as_ref()
        .map_or_else(|| "the caller".to_owned(), Caller::describe);
    let trust = set.has(PolicyKind::Trust);
    let any_grant = l.resource_direct.or(l.resource_role).or(l.resource_account);
    not_principal_notes(set, req, out);
    if trust && any_grant == Tri::False {
        out.push(format!(
            "the trust policy {} has no statement that lets {caller} perform {action}: a role's trust policy must allow the caller explicitly",
            names(set, PolicyKind::Trust)
        ));
    }
    if l.key_policy && !l.cross_account && any_grant == Tri::False {
        if set.has(PolicyKind::ResourceBased) {
            out.push(format!(
                "the key policy {} allows {caller} no {action}: a KMS key policy must allow, either naming the caller or delegating to the account with its root ARN (arn:aws:iam::ACCOUNT:root) so that identity-based policies count; identity-based policies alone have no effect on a KMS key",
                names(set, PolicyKind::ResourceBased)
            ));
        } else {
            out.push(format!(
                "no key policy was given (--resource-policy): a KMS key policy must allow {action}, directly or by delegating to the account root so that identity-based policies count; identity-based policies alone have no effect on a KMS key (the default key policy delegates to the account)"
            ));
        }
    }
    if l.cross_account && !trust && any_grant == Tri::False {
        let acct = req.caller.as_ref().and_then(Caller::account).unwrap_or("?");
        let racct = req.resource_account().unwrap_or("?");
        if set.has(PolicyKind::ResourceBased) {
            out.push(format!(
                "cross-account request (caller in {acct}, resource in {racct}): the resource-based policy {} must allow it too, and it allows {caller} no {action}",
                names(set, PolicyKind::ResourceBased)
            ));
        } else {
            out.push(format!(
                "cross-account request (caller in {acct}, resource in {racct}): a resource-based policy in {racct} must allow it too, and none was given (--resource-policy)"
            ));
        }
    }
    let identity_allow = first_allow(set, ev, PolicyKind::Identity);
    let res_kind = if trust {
        PolicyKind::Trust
    } else {
        PolicyKind::ResourceBased
    };
    // A same-account grant to the caller itself (or its role) needs no
    // identity-based Allow; anything else does.
    let own_grant = !l.cross_account && l.resource_direct.or(l.resource_role) == Tri::True;
    if l.identity == Tri::False && !own_grant {
        let via_account = l.resource_account == Tri::True;
        if !set.has(PolicyKind::Identity) {
            out.push(format!(
                "no identity-based policy was given (--policy), so none allows {action} on {}{}",
                req.resource,
                if via_account {
                    format!(
                        ": the {} trusts the whole account, which must still allow its principals through identity-based policies",
                        res_kind.describe()
                    )
                } else {
                    String::new()
                }
            ));
        } else {
            out.push(format!(
                "no identity-based policy ({}) allows {action} on {}{}",
                names(set, PolicyKind::Identity),
                req.resource,
                if via_account {
                    format!(
                        ": the {} trusts the whole account, which must still allow its principals through identity-based policies",
                        res_kind.describe()
                    )
                } else {
                    String::new()
                }
            ));
        }
    }
    let role_grant = ev.matched.iter().find(|m| {
        m.grant == Some(Grant::Role)
            && set
                .policies()
                .get(m.at.policy)
                .is_some_and(|p| p.kind == res_kind)
    });
    let lead = match (identity_allow, role_grant) {
        (Some(at), _) if l.identity == Tri::True => Some(format!("allowed by {}", where_(set, at))),
        (_, Some(m)) if l.resource_direct != Tri::True => Some(format!(
            "allowed by {}, which names the role of the caller's session",
            where_(set, m.at)
        )),
        _ => None,
    };
    if let Some(lead) = lead {
        let why_role = if identity_allow.is_none() || l.identity != Tri::True {
            " (a grant to the role ARN is capped by it; one naming the role session ARN would not be)"
        } else {
            ""
        };
        if l.boundary == Some(Tri::False) {
            out.push(format!(
                "{lead}, but the permissions boundary {} allows no {action}{why_role}",
                names(set, PolicyKind::PermissionsBoundary)
            ));
        }
        if l.session == Some(Tri::False) {
            out.push(format!(
                "{lead}, but the session policy {} allows no {action}: a session policy narrows the role session{why_role}",
                names(set, PolicyKind::Session)
            ));
        }
    }
}

/// Whether the statement uses `NotPrincipal`.
fn is_not_principal(set: &PolicySet, at: StatementRef) -> bool {
    set.statement(at)
        .is_some_and(|(_, s)| s.principals.as_ref().is_some_and(|p| p.not))
}

/// Allow statements with `NotPrincipal` that leave the caller out.
fn not_principal_notes(set: &PolicySet, req: &Request, out: &mut Vec<String>) {
    let Some(caller) = &req.caller else { return };
    for (pi, p) in set.policies().iter().enumerate() {
        for (si, st) in p.statements.iter().enumerate() {
            let Some(pm) = st.principals.as_ref().filter(|pm| pm.not) else {
                continue;
            };
            if st.effect == Effect::Allow
                && st.actions.covers(&req.action.to_ascii_lowercase())
                && pm.set.names_any(caller, &req.context)
            {
                out.push(format!(
                    "{} (Allow) uses NotPrincipal, which allows every principal except those it names, and it names {} (or its role or account): it does not allow this caller",
                    where_(set, StatementRef { policy: pi, statement: si }),
                    caller.describe()
                ));
            }
        }
    }
}

fn allow_reasons(set: &PolicySet, req: &Request, ev: &Evaluation, out: &mut Vec<String>) {
    let action = &req.action;
    let l = &ev.layers;
    let identity_allow = first_allow(set, ev, PolicyKind::Identity);
    let res_kind = if set.has(PolicyKind::Trust) {
        PolicyKind::Trust
    } else {
        PolicyKind::ResourceBased
    };
    let res_allow: Vec<_> = ev
        .matched
        .iter()
        .filter(|m| {
            m.effect == Effect::Allow
                && set
                    .policies()
                    .get(m.at.policy)
                    .is_some_and(|p| p.kind == res_kind)
        })
        .collect();
    for m in &res_allow {
        let w = where_(set, m.at);
        let s = match m.grant {
            Some(Grant::Account) => {
                let acct = req
                    .caller
                    .as_ref()
                    .and_then(Caller::account)
                    .unwrap_or("the caller's account");
                format!(
                    "{w}, which trusts account {acct} (its root principal): that means any principal of that account whose own identity-based policies allow {action}, not the root user alone"
                )
            }
            Some(Grant::Role) => format!(
                "{w}, which names the role of this session (role ARN principal): the session is limited by the role's permissions boundary and session policy"
            ),
            Some(Grant::Wildcard) if is_not_principal(set, m.at) => format!(
                "{w}, whose NotPrincipal allows every principal except those it names, and it does not name {}",
                req.caller
                    .as_ref()
                    .map_or_else(|| "the caller".to_owned(), Caller::describe)
            ),
            Some(Grant::Wildcard) => format!("{w}, which allows any principal (\"*\")"),
            _ => {
                if l.cross_account || res_kind == PolicyKind::Trust {
                    format!("{w}, which names the caller")
                } else {
                    format!(
                        "{w}, which names the caller directly: within one account that suffices without an identity-based Allow"
                    )
                }
            }
        };
        out.push(format!("allowed by {s}"));
    }
    if let Some(at) = identity_allow {
        out.push(format!("allowed by {}", where_(set, at)));
    }
    if l.identity_assumed {
        out.push(format!(
            "no identity policies were given: this assumes the caller's own identity-based policies allow {action} on {} (pass them with --policy to check){}",
            req.resource,
            if l.resource_direct == Tri::True && !l.cross_account {
                "; within one account the trust policy naming the caller suffices"
            } else {
                ""
            }
        ));
    }
    for (kind, what) in [
        (
            PolicyKind::PermissionsBoundary,
            "the permissions boundary allows",
        ),
        (PolicyKind::Session, "the session policy allows"),
        (
            PolicyKind::ServiceControl,
            "the service control policies allow",
        ),
        (
            PolicyKind::ResourceControl,
            "the resource control policies allow",
        ),
    ] {
        if let Some(at) = first_allow(set, ev, kind).filter(|_| set.has(kind)) {
            out.push(format!("{what} it too ({})", where_(set, at)));
        }
    }
    if l.cross_account && !l.identity_assumed {
        out.push("cross-account request: both the caller's identity-based policies and the resource-based policy allow it".to_owned());
    }
}

/// `{"decision", "matched": [{"policy", "statement", "effect"}], "reasons"}`,
/// pretty-printed in that order, with a trailing newline.
#[must_use]
pub fn to_json(set: &PolicySet, ev: &Evaluation, reasons: &[String]) -> String {
    #[derive(Serialize)]
    struct MatchedOut<'a> {
        policy: &'a str,
        statement: String,
        effect: String,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        decision: &'static str,
        matched: Vec<MatchedOut<'a>>,
        reasons: &'a [String],
    }
    let matched = ev
        .matched
        .iter()
        .filter_map(|m| {
            let (p, s) = set.statement(m.at)?;
            Some(MatchedOut {
                policy: &p.name,
                statement: s.label(),
                effect: m.effect.to_string(),
            })
        })
        .collect();
    let out = Out {
        decision: ev.decision.as_str(),
        matched,
        reasons,
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

/// The human form.
#[must_use]
pub fn to_text(set: &PolicySet, req: &Request, ev: &Evaluation, reasons: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "decision: {}  ({} on {})",
        ev.decision.as_str(),
        req.action,
        req.resource
    );
    if !ev.matched.is_empty() {
        let _ = writeln!(out, "matched:");
        for m in &ev.matched {
            let _ = writeln!(out, "  {} ({})", where_(set, m.at), m.effect);
        }
    }
    let _ = writeln!(out, "reasons:");
    for r in reasons {
        let _ = writeln!(out, "  - {r}");
    }
    out
}

/// The catalog rule that names what blocked the request, for callers that
/// report findings (the live check, the dashboard): `None` for allow and
/// indeterminate.
#[must_use]
pub fn blocking_rule(set: &PolicySet, ev: &Evaluation) -> Option<Rule> {
    let l = &ev.layers;
    let denied_by = |kind: PolicyKind| {
        set.policies()
            .iter()
            .enumerate()
            .any(|(i, p)| p.kind == kind && set.level_allows(&ev.outcomes, i) == Tri::False)
    };
    let any_grant = l.resource_direct.or(l.resource_role).or(l.resource_account);
    match ev.decision {
        Decision::Allow | Decision::Indeterminate => None,
        Decision::ExplicitDeny => Some(rules::AUTHZ_EXPLICIT_DENY),
        Decision::ImplicitDeny => Some(if denied_by(PolicyKind::ServiceControl) {
            rules::AUTHZ_SERVICE_CONTROL_POLICY
        } else if denied_by(PolicyKind::ResourceControl) {
            rules::AUTHZ_RESOURCE_CONTROL_POLICY
        } else if set.has(PolicyKind::Trust) && any_grant == Tri::False {
            rules::AUTHZ_ROLE_TRUST
        } else if (l.cross_account || l.key_policy) && any_grant == Tri::False {
            rules::AUTHZ_RESOURCE_POLICY
        } else if l.identity == Tri::False {
            rules::AUTHZ_NO_IDENTITY_POLICY
        } else if l.boundary == Some(Tri::False) {
            rules::AUTHZ_PERMISSIONS_BOUNDARY
        } else if l.session == Some(Tri::False) {
            rules::AUTHZ_SESSION_POLICY
        } else {
            rules::AUTHZ_NO_IDENTITY_POLICY
        }),
    }
}

/// The denial as a [`Finding`] of the rule [`blocking_rule`] names: the
/// first reason as message, the others as detail, the decision and the
/// statements that applied as evidence. `None` for allow and indeterminate.
#[must_use]
pub fn finding(set: &PolicySet, req: &Request, ev: &Evaluation) -> Option<Finding> {
    let rule = blocking_rule(set, ev)?;
    let reasons = reasons(set, req, ev);
    let matched: Vec<serde_json::Value> = ev
        .matched
        .iter()
        .filter_map(|m| {
            let (p, s) = set.statement(m.at)?;
            Some(serde_json::json!({"policy": p.name, "statement": s.label(), "effect": m.effect.to_string()}))
        })
        .collect();
    Some(
        Finding::new(rule, reasons.first().cloned().unwrap_or_default())
            .detail(reasons.get(1..).unwrap_or_default().join("; "))
            .evidence("decision", ev.decision.as_str())
            .evidence("action", req.action.as_str())
            .evidence("resource", req.resource.as_str())
            .evidence("matched", matched),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Context, Policy, evaluate};

    fn set(docs: &[(PolicyKind, &str)]) -> PolicySet {
        let mut s = PolicySet::new();
        for (i, (k, d)) in docs.iter().enumerate() {
            s.add(Policy::parse(&format!("p{i}.json"), *k, d).unwrap());
        }
        s
    }

    #[test]
    fn blocking_rules_name_the_layer() {
        let allow = r#"{"Statement":{"Effect":"Allow","Action":"eks:*","Resource":"*"}}"#;
        let s3 = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let deny = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#;
        let req = Request::new("eks:ListClusters", "*", None, Context::new());
        for (docs, want) in [
            (
                vec![
                    (PolicyKind::Identity, allow),
                    (PolicyKind::PermissionsBoundary, s3),
                ],
                Some(rules::AUTHZ_PERMISSIONS_BOUNDARY),
            ),
            (
                vec![
                    (PolicyKind::Identity, allow),
                    (PolicyKind::ServiceControl, s3),
                ],
                Some(rules::AUTHZ_SERVICE_CONTROL_POLICY),
            ),
            (
                vec![(PolicyKind::Identity, allow), (PolicyKind::Session, s3)],
                Some(rules::AUTHZ_SESSION_POLICY),
            ),
            (
                vec![(PolicyKind::Identity, s3)],
                Some(rules::AUTHZ_NO_IDENTITY_POLICY),
            ),
            (
                vec![(PolicyKind::Identity, allow), (PolicyKind::Identity, deny)],
                Some(rules::AUTHZ_EXPLICIT_DENY),
            ),
            (vec![(PolicyKind::Identity, allow)], None),
        ] {
            let s = set(&docs);
            let ev = evaluate(&s, &req);
            assert_eq!(blocking_rule(&s, &ev).map(|r| r.id), want.map(|r| r.id));
            assert_eq!(finding(&s, &req, &ev).map(|f| f.rule), want.map(|r| r.id));
        }
    }
}
