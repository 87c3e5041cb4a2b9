//! `cargo bench -p eksdoctor-core --bench inputs` (or `cargo xtask bench inputs`):
#![allow(clippy::unwrap_used)]
//! reading operator inputs at the size of a large account or cluster dump.
//! Targets (measured on the 2-core dev box in brackets): a 5,000-user
//! credential report read, merged and checked in under 500 ms [~270 ms,
//! allocation-bound: about three findings with fixes per user]; 1,000
//! manifest documents resolved and linted in under 100 ms [~47 ms]; 1 MB of
//! source scanned for the global STS endpoint in under 10 ms [~0.85 ms].

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eksdoctor_core::keys::{self, KeyPolicy, merge, saved};
use eksdoctor_core::sts::{self, SourceFile, StsOptions};

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

fn report(users: usize) -> String {
    let mut s = format!("{HEADER}\n");
    for i in 0..users {
        let _ = writeln!(
            s,
            "user{i},arn:aws:iam::111122223333:user/user{i},2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-0{m}-02T10:11:12+00:00,2026-11-20T09:00:00+00:00,us-east-1,s3,{two},2025-10-20T08:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
            m = 1 + i % 9,
            two = if i % 3 == 0 { "true" } else { "false" }
        );
    }
    s
}

fn manifests(docs: usize) -> String {
    let mut s = String::new();
    for i in 0..docs / 2 {
        let _ = write!(
            s,
            "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa{i}\n  namespace: ns{n}\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/r{i}\n    eks.amazonaws.com/sts-regional-endpoints: \"true\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: ns{n}\nspec:\n  template:\n    spec:\n      serviceAccountName: sa{i}\n      containers:\n        - name: app\n          env:\n            - name: AWS_REGION\n              value: eu-west-1\n            - name: AWS_ENDPOINT_URL_STS\n              value: https://sts.amazonaws.com\n",
            n = i % 20
        );
    }
    s
}

fn source(bytes: usize) -> String {
    let line = "    client = boto3.client(\"s3\", region_name=\"eu-west-1\")  # nothing to see\n";
    let mut s = String::new();
    let mut i = 0;
    while s.len() < bytes {
        if i % 500 == 0 {
            s.push_str("sts = boto3.client(\"sts\", endpoint_url=\"https://sts.amazonaws.com\")\n");
        }
        s.push_str(line);
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let now = "2026-11-29T00:00:00Z".parse().unwrap();
    let policy = KeyPolicy::new(now);
    let csv = report(5_000);
    let mut g = c.benchmark_group("keys");
    g.throughput(Throughput::Bytes(csv.len() as u64));
    g.bench_function("credential_report_5000_users", |b| {
        b.iter(|| {
            let s = saved::read(black_box(&csv)).unwrap();
            let all = merge::combine(&s);
            black_box(keys::check(&all, &policy));
        });
    });
    g.finish();

    let yaml = manifests(1_000);
    let opts = StsOptions {
        cluster_version: Some((1, 29)),
        region: Some("eu-west-1".to_owned()),
    };
    let mut g = c.benchmark_group("sts");
    g.throughput(Throughput::Bytes(yaml.len() as u64));
    g.bench_function("manifests_1000_docs", |b| {
        b.iter(|| {
            let files = [SourceFile::classify("m.yaml", black_box(yaml.clone())).unwrap()];
            let rows = sts::resolve_all(&files, &opts);
            black_box(sts::rules::check(&files, &rows, &opts));
        });
    });
    let src = source(1 << 20);
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.bench_function("scan_1mb_source", |b| {
        b.iter(|| black_box(sts::endpoint::find_global_endpoint(black_box(&src))));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
