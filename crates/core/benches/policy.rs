//! `cargo bench -p eksdoctor-core --bench policy`: evaluations per second
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
//! against a 50-statement policy set with conditions (target: at least
//! 100,000 per second on one core), and the cost of compiling that set.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eksdoctor_core::policy::{
    self, Caller, Context, Policy, PolicyKind, PolicySet, Request, explain,
};
use serde_json::{Value, json};

const SERVICES: &[&str] = &[
    "eks", "s3", "ec2", "iam", "sts", "logs", "kms", "ecr", "ssm", "sqs",
];

/// 40 identity statements over three files, a 5-statement boundary and a
/// 5-statement SCP: 50 statements, most with conditions.
fn documents() -> Vec<(PolicyKind, String, Value)> {
    let conditions = [
        json!({"StringEquals": {"aws:PrincipalTag/team": ["platform", "sre"]}}),
        json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"StringLike": {"aws:ResourceTag/project": "falcon-*"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}),
        json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        json!({"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro", "t3.small"]}}),
        json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}}),
        Value::Null,
    ];
    let mut docs = Vec::new();
    for file in 0..3 {
        let mut statements = Vec::new();
        let count = if file == 2 { 12 } else { 14 };
        for i in 0..count {
            let n = file * 14 + i;
            let svc = SERVICES[n % SERVICES.len()];
            let mut s = json!({
                "Sid": format!("S{n}"),
                "Effect": if n % 9 == 8 { "Deny" } else { "Allow" },
                "Action": [format!("{svc}:Describe*"), format!("{svc}:Get*"), format!("{svc}:List*")],
                "Resource": [
                    format!("arn:aws:{svc}:*:111122223333:thing-{n}/*"),
                    format!("arn:aws:{svc}:us-west-2:111122223333:*"),
                    "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
                ],
            });
            let c = &conditions[n % conditions.len()];
            if !c.is_null() {
                s["Condition"] = c.clone();
            }
            statements.push(s);
        }
        docs.push((
            PolicyKind::Identity,
            format!("identity-{file}.json"),
            json!({"Version": "2012-10-17", "Statement": statements}),
        ));
    }
    let boundary: Vec<Value> = (0..5)
        .map(|i| {
            json!({"Effect": "Allow", "Action": format!("{}:*", SERVICES[i * 2]), "Resource": "*",
                   "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-west-2", "eu-west-1"]}}})
        })
        .collect();
    docs.push((
        PolicyKind::PermissionsBoundary,
        "boundary.json".to_owned(),
        json!({"Version": "2012-10-17", "Statement": boundary}),
    ));
    docs.push((
        PolicyKind::ServiceControl,
        "scp.json".to_owned(),
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"},
            {"Effect": "Deny", "NotAction": ["iam:*", "sts:*", "s3:*"], "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-west-2", "eu-west-1", "us-east-1"]}}},
            {"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*",
             "Condition": {"Null": {"aws:RequestTag/owner": "true"}}},
            {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:ViaAWSService": "false"}, "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/quarantine-*"}}},
        ]}),
    ));
    docs
}

fn policy_set() -> PolicySet {
    let mut set = PolicySet::new();
    for (kind, name, doc) in documents() {
        match Policy::parse(&name, kind, &doc.to_string()) {
            Ok(p) => set.add(p),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    set
}

fn requests() -> Vec<Request> {
    let caller = Caller::parse(
        "arn:aws:sts::111122223333:assumed-role/EksAdmin/alice",
        false,
    )
    .ok();
    let mut ctx = Context::new();
    for (k, v) in [
        ("aws:PrincipalTag/team", "platform"),
        ("aws:SourceIp", "10.1.2.3"),
        ("aws:SecureTransport", "true"),
        ("aws:ResourceTag/project", "falcon-1"),
        ("aws:TagKeys", "env"),
        ("aws:CurrentTime", "2026-11-29T05:00:00Z"),
        ("aws:RequestedRegion", "us-west-2"),
        ("aws:ViaAWSService", "false"),
    ] {
        ctx.insert(k, v);
    }
    [
        (
            "eks:DescribeCluster",
            "arn:aws:eks:us-west-2:111122223333:cluster/dev",
        ),
        ("s3:GetObject", "arn:aws:s3:::bucket/platform/key"),
        (
            "ec2:DescribeInstances",
            "arn:aws:ec2:us-west-2:111122223333:instance/i-1",
        ),
        ("iam:GetRole", "arn:aws:iam::111122223333:role/x"),
        ("kms:Decrypt", "arn:aws:kms:us-west-2:111122223333:key/1"),
        (
            "logs:GetLogEvents",
            "arn:aws:logs:us-west-2:111122223333:log-group:g",
        ),
        (
            "ssm:GetParameter",
            "arn:aws:ssm:eu-west-1:111122223333:parameter/p",
        ),
        (
            "eks:DeleteCluster",
            "arn:aws:eks:us-west-2:111122223333:cluster/prod",
        ),
    ]
    .into_iter()
    .map(|(a, r)| Request::new(a, r, caller.clone(), ctx.clone()))
    .collect()
}

fn bench(c: &mut Criterion) {
    let set = policy_set();
    let statements: usize = set.policies().iter().map(|p| p.statements.len()).sum();
    assert_eq!(statements, 50);
    let reqs = requests();

    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(reqs.len() as u64));
    g.bench_function("evaluate/50-statements", |b| {
        b.iter(|| {
            for r in &reqs {
                black_box(policy::evaluate(black_box(&set), black_box(r)).decision);
            }
        });
    });
    g.bench_function("evaluate+explain/50-statements", |b| {
        b.iter(|| {
            for r in &reqs {
                let ev = policy::evaluate(&set, r);
                black_box(explain::reasons(&set, r, &ev));
            }
        });
    });
    g.finish();

    let docs: Vec<(PolicyKind, String, String)> = documents()
        .into_iter()
        .map(|(k, n, d)| (k, n, d.to_string()))
        .collect();
    let mut g = c.benchmark_group("policy-compile");
    g.throughput(Throughput::Elements(statements as u64));
    g.bench_function("parse+compile/50-statements", |b| {
        b.iter(|| {
            for (k, n, d) in &docs {
                black_box(Policy::parse(n, *k, d).ok());
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
