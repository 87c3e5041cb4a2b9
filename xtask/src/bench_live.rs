//! `cargo xtask bench live [CLUSTERS] [--cli-sample N] [--latency-ms MS] [--debug]`:
//! `eksdoctor check --all-clusters` over CLUSTERS (default 200) clusters in
//! moto, every call delayed by the fault-injecting proxy (default 50 ms),
//! against the same calls made by a sequential `aws` CLI script, and against
//! `--concurrency 1`, in the same run.
//!
//! Targets: at least 20x faster than the CLI script, 8x faster than
//! `--concurrency 1`. The CLI script makes one `aws` process per call (as an
//! operator's script does); `--cli-sample N` times it on the first N clusters
//! only and scales the per-cluster part linearly (the report says so).
//!
//! Needs the moto venv (`cargo xtask setup`) and installs awscli into it for
//! this benchmark only.
//!
//! `cargo xtask bench live --kubernetes [CLUSTERS] [--latency-ms MS] [--debug]`:
//! the same `check --all-clusters` (default 50 clusters) with the Kubernetes
//! probes on, every cluster's API behind the test stand-in API server
//! (crates/eksdoctor/tests/k8s/apiserver.rs, which verifies each token at
//! moto) adding the same latency to every answer, against the floor
//! ceil(calls / concurrency) x round trip (target: within 1.5x). The stand-in
//! lives with the tests, so this runs the ignored test
//! `kube_live::bench_check_all_clusters_with_kubernetes` (release build
//! unless --debug).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../crates/aws/tests/common/proxy.rs"]
pub(super) mod proxy;

const USER: &str = "bench";
const REGION: &str = "us-west-2";

struct Options {
    /// Use the debug binary (`cargo build`), when a release build is too slow to wait for.
    debug: bool,
    clusters: usize,
    cli_sample: Option<usize>,
    latency: Duration,
    /// The Kubernetes case (behind the stand-in API server).
    kubernetes: bool,
}

fn parse(rest: &[String]) -> Result<Options, String> {
    let mut o = Options {
        debug: false,
        clusters: 200,
        cli_sample: None,
        latency: Duration::from_millis(50),
        kubernetes: false,
    };
    let mut clusters_given = false;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--cli-sample" => {
                o.cli_sample = Some(usize::try_from(num("--cli-sample")?).unwrap_or(1))
            }
            "--latency-ms" => o.latency = Duration::from_millis(num("--latency-ms")?),
            "--debug" => o.debug = true,
            "--kubernetes" => o.kubernetes = true,
            n => {
                clusters_given = true;
                o.clusters = n
                    .parse()
                    .map_err(|_| format!("usage: cargo xtask bench live [CLUSTERS] [--cli-sample N] [--latency-ms MS] [--kubernetes] [--debug]; got {n:?}"))?;
            }
        }
    }
    if o.kubernetes && !clusters_given {
        o.clusters = 50;
    }
    Ok(o)
}

/// A moto_server on a free port, killed on drop (also used by `bench explain-live`).
pub(super) struct Moto {
    child: std::process::Child,
    pub(super) url: String,
    pub(super) addr: std::net::SocketAddr,
}

impl Moto {
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn start_moto(server: &Path) -> Result<Moto, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let moto = Moto {
        child,
        url: format!("http://{addr}"),
        addr,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err("moto_server did not start".to_owned());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(moto)
}

fn seed(
    root: &Path,
    python: &Path,
    moto: &Moto,
    clusters: usize,
) -> Result<serde_json::Value, String> {
    let spec = serde_json::json!({
        "region": REGION,
        "users": [{"name": USER, "keys": 1}],
        "clusters": (0..clusters).map(|i| serde_json::json!({
            "name": format!("cluster-{i:03}"),
            "version": if i % 2 == 0 { "1.29" } else { "1.21" },
            // moto gives every cluster of a region the same issuer: one provider covers them.
            "oidc_provider": i == 0,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(python)
        .arg(root.join("tests/fixtures/live/seed.py"))
        .arg(&moto.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("seed.py: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(spec.to_string().as_bytes())
            .map_err(|e| format!("seed.py: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("seed.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "seed.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("seed.py output: {e}"))
}

fn timed(cmd: &mut Command) -> Result<(Duration, std::process::Output), String> {
    let started = Instant::now();
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    Ok((started.elapsed(), out))
}

/// The same calls as `check --all-clusters`, one `aws` process per call.
fn cli_script(aws: &Path, endpoint: &str, key_id: &str, limit: Option<usize>) -> String {
    let head = limit.map_or(String::new(), |n| format!(" | head -n {n}"));
    format!(
        r#"set -eu
A="{aws} --endpoint-url {endpoint} --region {REGION} --output json"
$A sts get-caller-identity >/dev/null
$A iam list-access-keys --user-name {USER} >/dev/null
$A iam get-access-key-last-used --access-key-id {key_id} >/dev/null
$A iam list-open-id-connect-providers >/dev/null
ME=$($A sts get-caller-identity --query Arn --output text)
for c in $($A eks list-clusters --query 'clusters[]' --output text | tr '\t' '\n'{head}); do
  ARN=$($A eks describe-cluster --name "$c" --query cluster.arn --output text)
  $A eks list-access-entries --cluster-name "$c" >/dev/null
  $A iam simulate-principal-policy --policy-source-arn "$ME" --resource-arns "$ARN" \
    --action-names eks:ListClusters eks:DescribeCluster eks:ListNodegroups eks:DescribeNodegroup \
    eks:ListFargateProfiles eks:ListUpdates eks:ListAddons eks:DescribeAddonVersions \
    eks:ListIdentityProviderConfigs eks:AccessKubernetesApi >/dev/null
done
"#,
        aws = aws.display()
    )
}

/// The Kubernetes case: the ignored benchmark test, which has the stand-in.
fn run_kubernetes(root: &Path, opts: &Options, moto_server: &Path) -> Result<(), String> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root).args([
        "test",
        "--quiet",
        "--package",
        "eksdoctor",
        "--test",
        "kube_live",
    ]);
    if !opts.debug {
        cmd.arg("--release");
    }
    cmd.args([
        "bench_check_all_clusters_with_kubernetes",
        "--",
        "--ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("EKSDOCTOR_MOTO_SERVER", moto_server)
    .env("EKSDOCTOR_BENCH_CLUSTERS", opts.clusters.to_string())
    .env(
        "EKSDOCTOR_BENCH_LATENCY_MS",
        opts.latency.as_millis().to_string(),
    );
    crate::run(&mut cmd)
}

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    let opts = parse(rest)?;
    if opts.kubernetes {
        // The stand-in test needs moto only (no awscli): an existing server will do.
        let server = match std::env::var_os("EKSDOCTOR_MOTO_SERVER") {
            Some(s) => std::path::PathBuf::from(s),
            None => crate::setup(root)?,
        };
        return run_kubernetes(root, &opts, &server);
    }
    let server = crate::setup(root)?;
    let bin = server
        .parent()
        .ok_or("moto_server has no directory")?
        .to_path_buf();
    let python = bin.join("python");
    let aws = bin.join("aws");
    if !aws.exists() {
        eprintln!("xtask: installing awscli into the moto venv (for this benchmark only)");
        crate::run(Command::new(bin.join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "awscli",
        ]))?;
    }
    let eksdoctor = super::build_eksdoctor(root, opts.debug)?;

    let moto = start_moto(&server)?;
    eprintln!("xtask: seeding {} clusters", opts.clusters);
    let seeded = seed(root, &python, &moto, opts.clusters)?;
    let key = &seeded["users"][USER]["keys"][0];
    let key_id = key["id"].as_str().ok_or("seed: no key")?.to_owned();
    let secret = key["secret"].as_str().ok_or("seed: no secret")?.to_owned();
    let faults = proxy::Faults {
        latency: opts.latency,
        ..proxy::Faults::default()
    };
    let proxy = proxy::Proxy::start(moto.addr, faults);
    let endpoint = proxy.url();
    let home = std::env::temp_dir().join(format!("eksdoctor-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;

    let check = |concurrency: &str| -> Result<(Duration, usize), String> {
        let mut cmd = Command::new(&eksdoctor);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", &key_id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .args(["--region", REGION, "--endpoint-url", &endpoint])
            .args([
                "check",
                "--all-clusters",
                "--format",
                "json",
                "--concurrency",
                concurrency,
                // The AWS calls only, as the CLI script makes them (moto's
                // clusters have made-up endpoints); `--kubernetes` measures those.
                "--no-kubernetes",
            ]);
        let total = || -> usize { proxy.seen.lock().map_or(0, |m| m.values().sum()) };
        let before = total();
        let (t, out) = timed(&mut cmd)?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "check output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let described = v["clusters"].as_array().map_or(0, |c| {
            c.iter()
                .filter(|c| c["cluster"]["state"] == "ready")
                .count()
        });
        if described != opts.clusters {
            return Err(format!(
                "check described {described} of {} clusters: {}",
                opts.clusters,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let calls = total().saturating_sub(before);
        eprintln!(
            "xtask: check --concurrency {concurrency}: {:.2} s ({calls} calls)",
            t.as_secs_f64()
        );
        Ok((t, calls))
    };

    // Warm up (moto's first answers, page cache), then measure.
    let _ = check("16")?;
    let (t16, calls) = check("16")?;
    let (t1, _) = check("1")?;

    let sample = opts.cli_sample.map(|n| n.min(opts.clusters));
    let script = cli_script(&aws, &endpoint, &key_id, sample);
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", &key_id)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .env_remove("AWS_PROFILE");
    eprintln!(
        "xtask: running the sequential aws CLI script over {} clusters (one process per call)...",
        sample.unwrap_or(opts.clusters)
    );
    let (t_cli_measured, out) = timed(&mut cmd)?;
    if !out.status.success() {
        return Err(format!(
            "aws CLI script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let t_cli = match sample {
        Some(n) if n < opts.clusters && n > 0 => {
            // 6 fixed calls + 3 per cluster: scale the per-cluster part.
            let per_call = t_cli_measured.as_secs_f64() / (6 + 3 * n) as f64;
            Duration::from_secs_f64(per_call * (6 + 3 * opts.clusters) as f64)
        }
        _ => t_cli_measured,
    };
    let _ = std::fs::remove_dir_all(&home);

    let vs_cli = t_cli.as_secs_f64() / t16.as_secs_f64();
    let vs_c1 = t1.as_secs_f64() / t16.as_secs_f64();
    println!(
        "bench live: {} clusters, {} ms injected per call, {calls} calls per round",
        opts.clusters,
        opts.latency.as_millis()
    );
    println!(
        "  eksdoctor check --all-clusters (concurrency 16): {:>8.2} s",
        t16.as_secs_f64()
    );
    println!(
        "  eksdoctor check --all-clusters --concurrency 1:  {:>8.2} s",
        t1.as_secs_f64()
    );
    match sample {
        Some(n) if n < opts.clusters => println!(
            "  sequential aws CLI script:                        {:>8.2} s (measured {:.2} s on {n} clusters, scaled)",
            t_cli.as_secs_f64(),
            t_cli_measured.as_secs_f64()
        ),
        _ => println!(
            "  sequential aws CLI script:                        {:>8.2} s",
            t_cli.as_secs_f64()
        ),
    }
    println!(
        "  speedup vs CLI script: {vs_cli:.1}x (target 20x) {}",
        if vs_cli >= 20.0 { "ok" } else { "MISSED" }
    );
    println!(
        "  speedup vs --concurrency 1: {vs_c1:.1}x (target 8x) {}",
        if vs_c1 >= 8.0 { "ok" } else { "MISSED" }
    );
    Ok(())
}
