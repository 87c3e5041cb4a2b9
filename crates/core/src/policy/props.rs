//! Property tests: an explicit `Deny` of `*` always wins; adding an Allow
//! never turns allow into a denial; the parser never panics.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Caller, Context, Decision, Policy, PolicyKind, PolicySet, Request, evaluate, explain};

fn action() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "*",
        "eks:*",
        "eks:Describe*",
        "eks:DescribeCluster",
        "s3:GetObject",
        "s3:?etObject",
        "sts:AssumeRole",
        "iam:*",
    ])
}

fn resource() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "*",
        "arn:aws:s3:::b/*",
        "arn:aws:eks:*:111122223333:cluster/*",
        "arn:aws:eks:us-west-2:111122223333:cluster/dev",
        "arn:aws:s3:::b/${aws:username}/*",
    ])
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop::sample::select(vec![
        json!({"StringEquals": {"aws:PrincipalTag/team": "platform"}}),
        json!({"StringNotEquals": {"aws:PrincipalTag/team": ["a", "b"]}}),
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        json!({"ForAllValues:StringLike": {"aws:TagKeys": "env*"}}),
        json!({"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}),
        json!({"Null": {"aws:TokenIssueTime": "true"}}),
        json!({"NumericLessThan": {"s3:max-keys": "10"}}),
    ]))
}

fn statement(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(action(), 1..3),
        prop::collection::vec(resource(), 1..3),
        condition(),
        any::<bool>(),
    )
        .prop_map(move |(actions, resources, cond, not_action)| {
            let mut s = json!({"Effect": effect, "Resource": resources});
            s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
            if let Some(c) = cond {
                s["Condition"] = c;
            }
            s
        })
}

fn any_statement() -> impl Strategy<Value = Value> {
    prop_oneof![3 => statement("Allow"), 1 => statement("Deny")]
}

fn policy_doc() -> impl Strategy<Value = Value> {
    prop::collection::vec(any_statement(), 1..5)
        .prop_map(|st| json!({"Version": "2012-10-17", "Statement": st}))
}

fn context() -> impl Strategy<Value = Context> {
    (
        prop::option::of(prop::sample::select(vec!["platform", "a", "dev"])),
        prop::option::of(prop::sample::select(vec!["true", "false"])),
        prop::option::of(prop::sample::select(vec!["10.1.2.3", "192.0.2.1"])),
        prop::collection::vec(prop::sample::select(vec!["env", "envx", "owner"]), 0..3),
    )
        .prop_map(|(team, tls, ip, tags)| {
            let mut c = Context::new();
            if let Some(t) = team {
                c.insert("aws:PrincipalTag/team", t);
            }
            if let Some(t) = tls {
                c.insert("aws:SecureTransport", t);
            }
            if let Some(i) = ip {
                c.insert("aws:SourceIp", i);
            }
            c.insert_empty("aws:TagKeys");
            for t in tags {
                c.insert("aws:TagKeys", t);
            }
            c.insert("s3:max-keys", "5");
            c
        })
}

fn request() -> impl Strategy<Value = (&'static str, &'static str, Context)> {
    (
        prop::sample::select(vec![
            "eks:DescribeCluster",
            "eks:DeleteCluster",
            "s3:GetObject",
            "iam:CreateUser",
        ]),
        prop::sample::select(vec![
            "arn:aws:eks:us-west-2:111122223333:cluster/dev",
            "arn:aws:s3:::b/alice/x",
            "*",
        ]),
        context(),
    )
}

fn compile(kind: PolicyKind, name: &str, doc: &Value) -> Policy {
    Policy::parse(name, kind, &doc.to_string()).unwrap()
}

fn make_request(action: &str, resource: &str, ctx: Context) -> Request {
    let caller = Caller::parse("arn:aws:iam::111122223333:user/alice", false).unwrap();
    Request::new(action, resource, Some(caller), ctx)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn explicit_deny_of_everything_always_wins(
        identity in prop::collection::vec(policy_doc(), 0..3),
        boundary in prop::option::of(policy_doc()),
        deny_in in 0usize..3,
        (action, resource, ctx) in request(),
    ) {
        let mut set = PolicySet::new();
        for (i, d) in identity.iter().enumerate() {
            set.add(compile(PolicyKind::Identity, &format!("p{i}"), d));
        }
        if let Some(b) = &boundary {
            set.add(compile(PolicyKind::PermissionsBoundary, "b", b));
        }
        let deny = json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}});
        let kind = [PolicyKind::Identity, PolicyKind::PermissionsBoundary, PolicyKind::ServiceControl][deny_in];
        set.add(compile(kind, "deny", &deny));
        let req = make_request(action, resource, ctx);
        let ev = evaluate(&set, &req);
        prop_assert_eq!(ev.decision, Decision::ExplicitDeny);
        let reasons = explain::reasons(&set, &req, &ev);
        prop_assert!(reasons.iter().any(|r| r.contains("deny")));
    }

    #[test]
    fn adding_an_allow_never_turns_allow_into_deny(
        identity in prop::collection::vec(policy_doc(), 1..3),
        extra in statement("Allow"),
        (action, resource, ctx) in request(),
    ) {
        let mut set = PolicySet::new();
        for (i, d) in identity.iter().enumerate() {
            set.add(compile(PolicyKind::Identity, &format!("p{i}"), d));
        }
        let req = make_request(action, resource, ctx);
        let before = evaluate(&set, &req).decision;
        let extra_doc = json!({"Version": "2012-10-17", "Statement": [extra]});
        set.add(compile(PolicyKind::Identity, "extra", &extra_doc));
        let after = evaluate(&set, &req).decision;
        if before == Decision::Allow {
            prop_assert_eq!(after, Decision::Allow);
        }
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn parser_never_panics_on_text(text in "\\PC{0,200}") {
        for kind in [PolicyKind::Identity, PolicyKind::Trust] {
            let _ = Policy::parse("f", kind, &text);
        }
    }

    #[test]
    fn parser_never_panics_on_policy_shaped_json(
        doc in policy_like_json(),
        kind in prop::sample::select(vec![PolicyKind::Identity, PolicyKind::ResourceBased, PolicyKind::Trust]),
        (action, resource, ctx) in request(),
    ) {
        if let Ok(p) = Policy::parse("f", kind, &doc.to_string()) {
            let set = PolicySet::new().with(p);
            let req = make_request(action, resource, ctx);
            let ev = evaluate(&set, &req);
            let _ = explain::reasons(&set, &req, &ev);
        }
    }
}

/// JSON with policy element names in it, often malformed.
fn policy_like_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "Allow",
            "Deny",
            "*",
            "s3:*",
            "2012-10-17",
            "2008-10-17",
            "${aws:username}",
            "${",
            "arn:aws:iam::111122223333:root",
            "111122223333",
            "10.0.0.0/8",
            "true",
            "",
            "a:b:c",
        ])
        .prop_map(|s| json!(s)),
    ];
    let keys = prop::sample::select(vec![
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "AWS",
        "Service",
        "StringEquals",
        "ForAllValues:StringLike",
        "IpAddress",
        "Null",
        "DateLessThanIfExists",
        "aws:SourceIp",
        "PolicyDocument",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

/// `n * 10^-scale` written as a decimal string (`-1234`, 2 → `-12.34`).
fn decimal_text(n: i64, scale: u32) -> String {
    let neg = n < 0;
    let digits = n.unsigned_abs().to_string();
    let scale = scale as usize;
    let body = if scale == 0 {
        digits
    } else if digits.len() > scale {
        format!(
            "{}.{}",
            &digits[..digits.len() - scale],
            &digits[digits.len() - scale..]
        )
    } else {
        format!("0.{}{digits}", "0".repeat(scale - digits.len()))
    };
    if neg { format!("-{body}") } else { body }
}

proptest! {
    /// Exact decimal comparison agrees with integer comparison at one scale,
    /// however the numbers are written (trailing zeros, exponent).
    #[test]
    fn decimals_compare_exactly(a in any::<i64>(), b in any::<i64>(), scale in 0u32..20, pad in 0usize..4) {
        use super::condition::Decimal;
        let da = Decimal::parse(&decimal_text(a, scale)).unwrap();
        let db = Decimal::parse(&decimal_text(b, scale)).unwrap();
        prop_assert_eq!(da.cmp(&db), a.cmp(&b));
        let padded = if scale > 0 {
            format!("{}{}", decimal_text(a, scale), "0".repeat(pad))
        } else {
            format!("{a}e0")
        };
        prop_assert_eq!(Decimal::parse(&padded).unwrap(), da);
    }

    /// With --absent-keys, no condition is ever unknown, so the decision is
    /// never indeterminate once the caller is given.
    #[test]
    fn absent_keys_always_decide(c in condition(), d in condition()) {
        let mut st = json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
        if let Some(c) = c { st["Condition"] = c; }
        let mut deny = json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"});
        if let Some(d) = d { deny["Condition"] = d; }
        let doc = json!({"Version": "2012-10-17", "Statement": [st, deny]});
        let p = Policy::parse("p.json", PolicyKind::Identity, &doc.to_string()).unwrap();
        let set = PolicySet::new().with(p);
        let mut ctx = Context::new();
        ctx.set_all_absent(true);
        let caller = Caller::parse("arn:aws:iam::111122223333:user/alice", false).unwrap();
        let req = Request::new("s3:GetObject", "arn:aws:s3:::b/k", Some(caller), ctx);
        prop_assert_ne!(evaluate(&set, &req).decision, Decision::Indeterminate);
    }
}
