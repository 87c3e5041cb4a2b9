//! `cargo bench -p eksdoctor-core --bench aws_auth`: linting a generated
//! aws-auth ConfigMap of 5k / 10k / 20k entries (reading, every rule,
//! duplicate detection and the migration plan included). Target: 20k under
//! 1 s, growing linearly.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eksdoctor_core::awsauth::{self, MigrateOptions};

/// A ConfigMap of `n` entries: roles (some with paths, some duplicated),
/// users, node roles, as a `|` block like kubectl prints it.
fn configmap(n: usize) -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n",
    );
    for i in 0..n {
        let path = if i % 10 == 0 { "team/" } else { "" };
        // Every 50th entry repeats an earlier role.
        let id = if i % 50 == 49 { i - 7 } else { i };
        if i % 5 == 0 {
            let _ = write!(
                s,
                "    - rolearn: arn:aws:iam::111122223333:role/{path}node-{id}\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n"
            );
        } else {
            let _ = write!(
                s,
                "    - rolearn: arn:aws:iam::111122223333:role/{path}dev-{id}\n      username: dev-{id}:{{{{SessionName}}}}\n      groups:\n        - devs-{}\n",
                id % 17
            );
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("lint_aws_auth");
    g.sample_size(10);
    let opts = MigrateOptions::default();
    for n in [5_000usize, 10_000, 20_000] {
        let text = configmap(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let lint = awsauth::lint(black_box(text), "aws-auth.yaml", &opts);
                black_box(lint.map(|l| l.findings.len()).unwrap_or(0))
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
