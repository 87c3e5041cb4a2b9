//! `cargo bench -p eksdoctor-core --bench podid_live`: judging the pod
//! credentials of a large cluster (what `check --kubernetes` does per
//! cluster once the answers are in). Target: 2,000 credentialed service
//! accounts with 2,000 distinct roles and 10,000 pods (500 Pod Identity
//! associations) in under 500 ms on the 2-core dev box [~445 ms, of which
//! most is the 2,000 trust evaluations (irsa::check, podid::check_trust);
//! the pod grouping and STS resolution are indexed].
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use eksdoctor_core::k8s::{
    Annotation, Container, EnvVar, ObjectMeta, ServiceAccount, Workload, WorkloadKind,
};
use eksdoctor_core::podid::live::{LiveInputs, LivePodInput, RoleAnswer, evaluate};
use eksdoctor_core::podid::{Addons, Association, Cluster, ComputeHint};
use serde_json::json;

const HP: &str = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn meta(ns: &str, name: &str, role: Option<String>) -> ObjectMeta {
    ObjectMeta {
        name: name.to_owned(),
        namespace: Some(ns.to_owned()),
        annotations: role
            .map(|r| Annotation {
                key: "eks.amazonaws.com/role-arn".to_owned(),
                value: r,
                is_string: true,
                line: 0,
            })
            .into_iter()
            .collect(),
    }
}

fn world(
    accounts: usize,
    pods: usize,
    assocs: usize,
) -> (
    Vec<ServiceAccount>,
    Vec<LivePodInput>,
    Vec<Association>,
    Vec<RoleAnswer>,
) {
    let role = |i: usize| format!("arn:aws:iam::111122223333:role/r{i}");
    let sas: Vec<ServiceAccount> = (0..accounts)
        .map(|i| ServiceAccount {
            meta: meta(
                &format!("ns{}", i % 50),
                &format!("sa{i}"),
                (i >= assocs).then(|| role(i)),
            ),
            line: 0,
        })
        .collect();
    let pod_list = (0..pods)
        .map(|j| {
            let i = j % accounts;
            let ns = format!("ns{}", i % 50);
            let env = if i >= assocs {
                vec![
                    ("AWS_ROLE_ARN", role(i)),
                    ("AWS_STS_REGIONAL_ENDPOINTS", "regional".to_owned()),
                ]
            } else {
                vec![(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://169.254.170.23/v1/credentials".to_owned(),
                )]
            };
            LivePodInput {
                workload: Workload {
                    kind: WorkloadKind::Pod,
                    meta: meta(&ns, &format!("app{i}-{j}"), None),
                    service_account: format!("sa{i}"),
                    containers: vec![Container {
                        name: "app".to_owned(),
                        env: env
                            .into_iter()
                            .map(|(k, v)| EnvVar {
                                name: k.to_owned(),
                                value: Some(v),
                                line: 0,
                            })
                            .collect(),
                        init: false,
                    }],
                    line: 0,
                },
                workload_name: format!("Deployment/app{i}"),
                compute: ComputeHint {
                    workload: format!("Pod/app{i}-{j}"),
                    namespace: Some(ns),
                    service_account: format!("sa{i}"),
                    windows: None,
                    fargate: None,
                    agent_daemonset: false,
                    line: 0,
                },
            }
        })
        .collect();
    let associations = (0..assocs)
        .map(|i| Association {
            association_id: Some(format!("a-{i}")),
            namespace: format!("ns{}", i % 50),
            service_account: format!("sa{i}"),
            role_arn: Some(role(i)),
            ..Association::default()
        })
        .collect();
    let roles = (0..accounts)
        .map(|i| RoleAnswer {
            arn: role(i),
            trust: Ok(if i >= assocs {
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{HP}")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {format!("{HP}:sub"): format!("system:serviceaccount:ns{}:sa{i}", i % 50),
                                                   format!("{HP}:aud"): "sts.amazonaws.com"}}}]})
            } else {
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
            }),
        })
        .collect();
    (sas, pod_list, associations, roles)
}

fn bench(c: &mut Criterion) {
    let (sas, pods, assocs, roles) = world(2_000, 10_000, 500);
    let addons = Addons {
        listed: vec!["eks-pod-identity-agent".to_owned()],
        described: vec![(
            "eks-pod-identity-agent".to_owned(),
            "ACTIVE".to_owned(),
            None,
        )],
    };
    let inputs = LiveInputs {
        cluster: Cluster::from_arn("arn:aws:eks:us-west-2:111122223333:cluster/prod").unwrap(),
        region: Some("us-west-2".to_owned()),
        version: Some((1, 31)),
        issuer: Some(format!("https://{HP}")),
        service_accounts: &sas,
        pods: &pods,
        associations: Some(&assocs),
        roles: &roles,
        addons: Some(&addons),
        ..LiveInputs::default()
    };
    let a = evaluate(&inputs);
    assert_eq!(a.rows.len(), 2_000);
    assert!(a.findings.is_empty(), "{:?}", a.findings.first());
    let mut g = c.benchmark_group("podid_live");
    g.sample_size(10);
    g.bench_function("2000_accounts_10000_pods", |b| {
        b.iter(|| black_box(evaluate(black_box(&inputs))));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
