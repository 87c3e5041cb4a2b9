//! `cargo bench -p eksdoctor-core --bench export`: a fleet run's findings
//! converted for security tooling. The size is the fleet bench's
//! organization (100 accounts x 3 regions x 5 clusters) with 5 findings a
//! cluster and 3 account-wide ones: 7,800 findings, 15.7 MB of OCSF JSON.
//! Target: under 250 ms for either format, a small share of a run that
//! spends tens of seconds on the network. Measured on the shared 2-core box
//! at load average 13-14 (six builds at once), so noisy: ASFF 0.21-0.35 s;
//! OCSF 0.63-1.1 s end to end, of which building the events took 67 ms and
//! pretty-printing them 52 ms in a split run. Typed events (not
//! `serde_json::Value` trees) took the OCSF build from 677 ms to 67 ms.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eksdoctor_core::export::{ExportContext, ScopedFinding, asff, ocsf};
use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::rules;

struct Org {
    accounts: Vec<String>,
    clusters: Vec<String>,
    account_findings: Vec<Finding>,
    cluster_findings: Vec<Finding>,
}

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn org() -> Org {
    let cluster_findings = vec![
        Finding::new(rules::CLUSTER_NOT_MAPPED, "arn:aws:iam::111122223333:role/dev is not mapped")
            .detail("The cluster authenticates from access entries only; the role has none.")
            .evidence("principal", "arn:aws:iam::111122223333:role/dev")
            .fix(Fix::new("Create an access entry.").command(
                "aws eks create-access-entry --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/dev",
            )),
        Finding::new(rules::IRSA_OIDC_PROVIDER_MISSING, "no IAM OIDC provider")
            .evidence("issuer", "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF"),
        Finding::new(rules::STS_LEGACY_GLOBAL_DEFAULT, "1.21 defaults pods to the global STS endpoint"),
        Finding::new(rules::CLUSTER_CONFIG_MAP_ONLY, "aws-auth only"),
        Finding::new(rules::CREDS_PROBE_DENIED, "denied eks:ListAccessEntries")
            .evidence("permission", "eks:ListAccessEntries"),
    ];
    let account_findings = vec![
        Finding::new(rules::KEYS_OLD, "alice's key is 400 days old")
            .evidence("user", "alice")
            .evidence("access_key_id", "AKIA************MPLE")
            .evidence("age_days", 400),
        Finding::new(rules::KEYS_LIMIT_REACHED, "bob holds two keys").evidence("user", "bob"),
        Finding::new(rules::KEYS_ROOT_KEYS, "the root user has keys")
            .evidence("user", "<root_account>"),
    ];
    Org {
        accounts: (0..100)
            .map(|i| format!("{:012}", 100_000_000_000_u64 + i))
            .collect(),
        clusters: (0..5).map(|i| format!("cluster-{i}")).collect(),
        account_findings,
        cluster_findings,
    }
}

fn scoped(o: &Org) -> Vec<ScopedFinding<'_>> {
    let mut out = Vec::new();
    for a in &o.accounts {
        for f in &o.account_findings {
            out.push(ScopedFinding {
                account_id: a,
                account_name: Some("team"),
                region: None,
                cluster: None,
                finding: f,
            });
        }
        for r in REGIONS {
            for c in &o.clusters {
                for f in &o.cluster_findings {
                    out.push(ScopedFinding {
                        account_id: a,
                        account_name: Some("team"),
                        region: Some(r),
                        cluster: Some(c),
                        finding: f,
                    });
                }
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let o = org();
    let list = scoped(&o);
    let ctx = ExportContext::new("0.1.0", jiff::Timestamp::UNIX_EPOCH, "us-east-1");
    let mut g = c.benchmark_group("export");
    g.sample_size(10);
    g.throughput(Throughput::Elements(list.len() as u64));
    g.bench_function("asff_7800_findings", |b| {
        b.iter(|| black_box(asff::to_json(&list, &ctx)))
    });
    g.bench_function("ocsf_7800_findings", |b| {
        b.iter(|| black_box(ocsf::to_json(&list, &ctx)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
