//! `cargo xtask bench explain-live [DENIALS] [--principals N] [--latency-ms MS] [--shards N] [--debug]`:
//! `eksdoctor explain --live` on a log of DENIALS (default 10,000) denials
//! from N (default 50) principals (half IAM users in a group, half role
//! sessions; each with an inline policy, a shared managed policy and a
//! permissions boundary; the account under an organization with SCPs) against
//! moto, every call delayed by the fault-injecting proxy of `bench live`
//! (default 50 ms).
//!
//! Reports: the reads made (they must grow with the principals, not the
//! denials), the wall time against the floor ceil(reads / concurrency) x
//! round trip (target <= 1.5x), and the time per denial once the policies
//! are cached: the same run on a log ten times longer (same principals, same
//! reads) minus the first, divided by the extra denials.
//!
//! moto answers one request at a time, which bounds any client: the reads
//! are spread over `--shards` (default: one per CPU, at least 2) moto processes seeded alike (the
//! same moto random seed and the same calls, so ids match) and taking
//! requests in turn behind the proxy.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::bench_live::proxy;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-west-2";
/// `explain --live`'s calls in flight (crates/eksdoctor/src/cmd/explain_live.rs).
const CONCURRENCY: usize = 16;

struct Options {
    debug: bool,
    denials: usize,
    principals: usize,
    latency: Duration,
    shards: usize,
}

fn parse(rest: &[String]) -> Result<Options, String> {
    let mut o = Options {
        debug: false,
        denials: 10_000,
        principals: 50,
        latency: Duration::from_millis(50),
        shards: super::default_shards(),
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--principals" => {
                o.principals = usize::try_from(num("--principals")?.max(2)).unwrap_or(50)
            }
            "--latency-ms" => o.latency = Duration::from_millis(num("--latency-ms")?),
            "--shards" => o.shards = usize::try_from(num("--shards")?.clamp(1, 16)).unwrap_or(1),
            "--debug" => o.debug = true,
            n => {
                o.denials = n.parse().map_err(|_| {
                    format!("usage: cargo xtask bench explain-live [DENIALS] [--principals N] [--latency-ms MS] [--shards N] [--debug]; got {n:?}")
                })?;
            }
        }
    }
    Ok(o)
}

/// boto3 calls against moto (`tests/fixtures/live/boto_calls.py`, shared
/// with the explain_live tests); each call's answer.
fn boto(
    root: &Path,
    python: &Path,
    url: &str,
    calls: &serde_json::Value,
) -> Result<Vec<serde_json::Value>, String> {
    let mut child = Command::new(python)
        .arg(root.join("tests/fixtures/live/boto_calls.py"))
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(calls.to_string().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("boto3: {}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn call(service: &str, op: &str, args: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"service": service, "op": op, "args": args})
}

fn doc(statements: serde_json::Value) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Make a moto's generated ids repeatable (its `/moto-api/seed` endpoint).
fn moto_random_seed(addr: std::net::SocketAddr) -> Result<(), String> {
    use std::io::Read as _;
    let mut conn = std::net::TcpStream::connect(addr).map_err(|e| format!("moto {addr}: {e}"))?;
    write!(
        conn,
        "POST /moto-api/seed?a=1066 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("moto {addr}: {e}"))?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .map_err(|e| format!("moto {addr}: {e}"))?;
    if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!(
            "moto {addr} refused /moto-api/seed: {}",
            answer.lines().next().unwrap_or("")
        ))
    }
}

/// The principals' ARNs as a denial names them.
fn seed(
    root: &Path,
    python: &Path,
    url: &str,
    n: usize,
) -> Result<(Vec<String>, String, String), String> {
    use serde_json::json;
    let allow = |a: &str| json!({"Effect": "Allow", "Action": a, "Resource": "*"});
    let trust = doc(
        json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]),
    );
    let mut calls = vec![
        call("iam", "create_user", json!({"UserName": "reader"})),
        call("iam", "create_access_key", json!({"UserName": "reader"})),
        call(
            "iam",
            "create_policy",
            json!({"PolicyName": "shared-read", "PolicyDocument": doc(json!([allow("eks:Describe*"), allow("s3:List*")]))}),
        ),
        call(
            "iam",
            "create_policy",
            json!({"PolicyName": "boundary", "PolicyDocument": doc(json!([allow("eks:*"), allow("s3:*")]))}),
        ),
        call("iam", "create_group", json!({"GroupName": "devs"})),
        call(
            "iam",
            "put_group_policy",
            json!({"GroupName": "devs", "PolicyName": "g", "PolicyDocument": doc(json!([{"Effect": "Deny", "Action": "eks:DeleteCluster", "Resource": "*"}]))}),
        ),
        call(
            "iam",
            "attach_group_policy",
            json!({"GroupName": "devs", "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/shared-read")}),
        ),
        call(
            "organizations",
            "create_organization",
            json!({"FeatureSet": "ALL"}),
        ),
    ];
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/boundary");
    let shared = format!("arn:aws:iam::{ACCOUNT}:policy/shared-read");
    let mut arns = Vec::new();
    for i in 0..n {
        if i % 2 == 0 {
            let u = format!("user-{i:03}");
            calls.push(call(
                "iam",
                "create_user",
                json!({"UserName": u, "PermissionsBoundary": boundary}),
            ));
            calls.push(call("iam", "put_user_policy", json!({"UserName": u, "PolicyName": "own", "PolicyDocument": doc(json!([allow("eks:List*")]))})));
            calls.push(call(
                "iam",
                "attach_user_policy",
                json!({"UserName": u, "PolicyArn": shared}),
            ));
            calls.push(call(
                "iam",
                "add_user_to_group",
                json!({"GroupName": "devs", "UserName": u}),
            ));
            arns.push(format!("arn:aws:iam::{ACCOUNT}:user/{u}"));
        } else {
            let r = format!("role-{i:03}");
            calls.push(call("iam", "create_role", json!({"RoleName": r, "Path": "/team/", "AssumeRolePolicyDocument": trust, "PermissionsBoundary": boundary})));
            calls.push(call("iam", "put_role_policy", json!({"RoleName": r, "PolicyName": "own", "PolicyDocument": doc(json!([allow("eks:List*")]))})));
            calls.push(call(
                "iam",
                "attach_role_policy",
                json!({"RoleName": r, "PolicyArn": shared}),
            ));
            arns.push(format!("arn:aws:sts::{ACCOUNT}:assumed-role/{r}/s{i}"));
        }
    }
    let got = boto(root, python, url, &serde_json::Value::Array(calls))?;
    let key = &got[1]["AccessKey"];
    let id = key["AccessKeyId"]
        .as_str()
        .ok_or("seed: no key")?
        .to_owned();
    let secret = key["SecretAccessKey"]
        .as_str()
        .ok_or("seed: no secret")?
        .to_owned();
    Ok((arns, id, secret))
}

/// DENIALS log lines cycling over the principals and four requests each.
fn log(path: &Path, principals: &[String], denials: usize) -> Result<(), String> {
    let requests = [
        (
            "eks:DescribeCluster",
            format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod"),
        ),
        (
            "eks:DeleteCluster",
            format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod"),
        ),
        (
            "sqs:SendMessage",
            format!("arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"),
        ),
        ("iam:CreateRole", format!("arn:aws:iam::{ACCOUNT}:role/new")),
    ];
    let mut s = String::with_capacity(denials * 220);
    for i in 0..denials {
        let p = &principals[i % principals.len()];
        let (a, r) = &requests[(i / principals.len()) % requests.len()];
        let _ = writeln!(
            s,
            "2026-12-02T10:00:{:02}Z ERROR An error occurred (AccessDenied) when calling the X operation: User: {p} is not authorized to perform: {a} on resource: {r}",
            i % 60
        );
    }
    std::fs::write(path, s).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    let opts = parse(rest)?;
    let server = crate::setup(root)?;
    let python = server
        .parent()
        .ok_or("moto_server has no directory")?
        .join("python");
    let eksdoctor = super::build_eksdoctor(root, opts.debug)?;

    let shards = (0..opts.shards)
        .map(|_| super::bench_live::start_moto(&server))
        .collect::<Result<Vec<_>, _>>()?;
    eprintln!(
        "xtask: seeding {} principals into {} moto shard(s)",
        opts.principals, opts.shards
    );
    // Every shard from the same moto random seed with the same calls: the
    // same ids (keys, organization root, SCPs) everywhere.
    let seeded = std::thread::scope(|s| {
        let each: Vec<_> = shards
            .iter()
            .map(|m| {
                let python = &python;
                s.spawn(move || {
                    moto_random_seed(m.addr)?;
                    seed(root, python, &m.url, opts.principals)
                })
            })
            .collect();
        each.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("seeding panicked".to_owned()))
            })
            .collect::<Result<Vec<_>, String>>()
    })?;
    let (principals, key_id, secret) = seeded[0].clone();
    if seeded.iter().any(|(_, id, _)| *id != key_id) {
        return Err("the moto shards were seeded differently (access key ids differ)".to_owned());
    }
    let proxy = proxy::Proxy::start_sharded(
        proxy::Upstreams::identical(shards.iter().map(|m| m.addr).collect()),
        proxy::Faults {
            latency: opts.latency,
            ..proxy::Faults::default()
        },
    );
    let endpoint = proxy.url();
    let dir = root.join("target/bench-explain-live");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let small = dir.join("denials.log");
    let large = dir.join("denials-x10.log");
    log(&small, &principals, opts.denials)?;
    log(&large, &principals, opts.denials * 10)?;

    let run_once = |input: &Path| -> Result<(Duration, usize, usize, usize), String> {
        let mut cmd = Command::new(&eksdoctor);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("AWS_CONFIG_FILE", dir.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", &key_id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .args([
                "explain",
                "--live",
                "--region",
                REGION,
                "--endpoint-url",
                &endpoint,
            ])
            .args(["--format", "json", "--input"])
            .arg(input);
        let seen = || -> usize { proxy.seen.lock().map_or(0, |m| m.values().sum()) };
        let before = seen();
        let started = Instant::now();
        let out = cmd.output().map_err(|e| e.to_string())?;
        let t = started.elapsed();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "explain --live output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let reads = v["live"]["reads"].as_u64().unwrap_or(0) as usize;
        let requests = v["live"]["requests"].as_u64().unwrap_or(0) as usize;
        Ok((t, reads, seen().saturating_sub(before), requests))
    };
    // Warm up moto and the page cache, then measure. Each moto shard is one
    // Python process: their service time bounds any client; the run without
    // injected latency measures it.
    let _ = run_once(&small)?;
    let set_latency = |l: Duration| {
        if let Ok(mut f) = proxy.faults.lock() {
            f.latency = l;
        }
    };
    set_latency(Duration::ZERO);
    let (t0, _, _, _) = run_once(&small)?;
    set_latency(opts.latency);
    let (t1, reads, seen, requests) = run_once(&small)?;
    let (t10, reads10, _, _) = run_once(&large)?;
    let rtt = opts.latency.as_secs_f64();
    let floor = reads.div_ceil(CONCURRENCY) as f64 * rtt;
    let ratio = t1.as_secs_f64() / floor.max(f64::EPSILON);
    let extra = (opts.denials * 9) as f64;
    let per_denial = (t10.as_secs_f64() - t1.as_secs_f64()).max(0.0) / extra;
    println!(
        "bench explain-live: {} denials from {} principals ({requests} distinct requests), {} ms injected per call, concurrency {CONCURRENCY}, {} moto shard(s)",
        opts.denials,
        opts.principals,
        opts.latency.as_millis(),
        opts.shards
    );
    println!(
        "  reads made:                {reads} (proxy saw {seen}); {:.1} per principal",
        reads as f64 / opts.principals as f64
    );
    println!("  reads for 10x the denials: {reads10} (must equal: reads follow the principals)");
    println!("  wall time:                 {:.2} s", t1.as_secs_f64());
    println!(
        "  floor ceil(reads/{CONCURRENCY}) x rtt: {floor:.2} s -> {ratio:.2}x (target <= 1.5x) {}",
        if ratio <= 1.5 { "ok" } else { "MISSED" }
    );
    let served = floor.max(t0.as_secs_f64());
    println!(
        "  same run without injected latency: {:.2} s (moto's service time over the shards, process start included)",
        t0.as_secs_f64()
    );
    println!(
        "  against max(floor, that): {:.2}x",
        t1.as_secs_f64() / served.max(f64::EPSILON)
    );
    println!(
        "  per denial once cached:    {:.2} us ({} denials took {:.2} s)",
        per_denial * 1e6,
        opts.denials * 10,
        t10.as_secs_f64()
    );
    println!(
        "  load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if reads10 != reads {
        return Err(format!("reads grew with the denials: {reads} -> {reads10}"));
    }
    Ok(())
}
