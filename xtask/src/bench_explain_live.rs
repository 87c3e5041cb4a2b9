//! `cargo xtask bench explain-live [DENIALS] [--principals N] [--latency-ms MS] [--shards N] [--debug]`:
//! `eksdoctor explain --live` on a log of DENIALS (default 10,000) denials
//! from N (default 50) principals (half IAM users in a group, half role
//! sessions; each with an inline policy, a shared managed policy and a
//! permissions boundary; the account under an organization with SCPs) against
//! moto, every call delayed by the fault-injecting proxy of `bench live`
//! (default 50 ms).
//!
//! Reports: the reads made, by call (they must grow with the principals,
//! not the denials), the wall time against the floor ceil(reads /
//! concurrency) x round trip (target <= 1.5x), where the rest goes (the
//! proxy's per-request timeline: before the first request, per request,
//! requests in flight; written to target/bench-explain-live/timeline.csv),
//! and the time per denial once the policies are cached: eksdoctor's own
//! phase times (`EKSDOCTOR_BENCH_PHASES`) on a log ten times longer (same
//! principals, same reads), reading and evaluating without the reads,
//! divided by its denials.
//!
//! moto answers one request at a time, which bounds any client: the reads
//! are spread over `--shards` (default: one per CPU, at least 2) moto processes seeded alike (the
//! same moto random seed and the same calls, so ids match) and taking
//! requests in turn behind the proxy.
//!
//! Measured on 2 quiet cores (release): 1.00 to 1.03 s against the 0.75 s
//! floor, 1.33x to 1.38x (docs/explain-live.md has the rest). It was 1.27 to
//! 1.53 s while the proxy made a new connection to moto per call and read
//! each answer to the close (werkzeug closes ~10 ms after answering).

use std::collections::HashMap;
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

    let run_once = |input: &Path| -> Result<Run, String> {
        let mut cmd = Command::new(&eksdoctor);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("AWS_CONFIG_FILE", dir.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", &key_id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            // eksdoctor prints its phase times on stderr.
            .env("EKSDOCTOR_BENCH_PHASES", "1")
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
        let by_op = || -> HashMap<String, usize> {
            proxy.seen.lock().map(|m| m.clone()).unwrap_or_default()
        };
        let before = by_op();
        let spans_before = proxy.timeline.lock().map_or(0, |t| t.len());
        let started = Instant::now();
        let out = cmd.output().map_err(|e| e.to_string())?;
        let wall = started.elapsed();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "explain --live output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let mut ops: Vec<(String, usize)> = by_op()
            .into_iter()
            .map(|(op, n)| {
                let was = before.get(&op).copied().unwrap_or(0);
                (op, n - was)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        ops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let spans = proxy
            .timeline
            .lock()
            .map(|t| t.get(spans_before..).unwrap_or_default().to_vec())
            .unwrap_or_default();
        Ok(Run {
            wall,
            started,
            reads: v["live"]["reads"].as_u64().unwrap_or(0) as usize,
            requests: v["live"]["requests"].as_u64().unwrap_or(0) as usize,
            seen: ops.iter().map(|(_, n)| n).sum(),
            ops,
            spans,
            phases: Phases::of(&String::from_utf8_lossy(&out.stderr)),
        })
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
    let moto_only = run_once(&small)?;
    set_latency(opts.latency);
    let one = run_once(&small)?;
    let ten = run_once(&large)?;
    let reads = one.reads;
    let rtt = opts.latency.as_secs_f64();
    let floor = reads.div_ceil(CONCURRENCY) as f64 * rtt;
    let t1 = one.wall.as_secs_f64();
    let ratio = t1 / floor.max(f64::EPSILON);
    println!(
        "bench explain-live: {} denials from {} principals ({} distinct requests), {} ms injected per call, concurrency {CONCURRENCY}, {} moto shard(s)",
        opts.denials,
        opts.principals,
        one.requests,
        opts.latency.as_millis(),
        opts.shards
    );
    println!(
        "  reads made:                {reads} (proxy saw {}); {:.1} per principal",
        one.seen,
        reads as f64 / opts.principals as f64
    );
    println!(
        "  reads by call:             {}",
        one.ops
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  reads for 10x the denials: {} (must equal: reads follow the principals)",
        ten.reads
    );
    println!("  wall time:                 {t1:.2} s");
    println!(
        "  floor ceil(reads/{CONCURRENCY}) x rtt: {floor:.2} s -> {ratio:.2}x (target <= 1.5x) {}",
        if ratio <= 1.5 { "ok" } else { "MISSED" }
    );
    let t0 = moto_only.wall.as_secs_f64();
    let served = floor.max(t0);
    println!(
        "  same run without injected latency: {t0:.2} s (moto's service time over the shards, process start included)"
    );
    println!(
        "  against max(floor, that): {:.2}x",
        t1 / served.max(f64::EPSILON)
    );
    timeline(&one, rtt);
    std::fs::write(dir.join("timeline.csv"), one.csv()).map_err(|e| e.to_string())?;
    println!(
        "  (per-request timeline: {})",
        dir.join("timeline.csv").display()
    );
    if let (Some(p1), Some(p10)) = (one.phases, ten.phases) {
        println!(
            "  phases, {} denials:       input {:.1} ms, reads {:.1} ms, evaluate {:.1} ms",
            opts.denials,
            p1.input * 1e3,
            p1.reads * 1e3,
            p1.evaluate * 1e3
        );
        let n10 = (opts.denials * 10) as f64;
        println!(
            "  phases, {} denials:      input {:.1} ms, reads {:.1} ms, evaluate {:.1} ms",
            opts.denials * 10,
            p10.input * 1e3,
            p10.reads * 1e3,
            p10.evaluate * 1e3
        );
        println!(
            "  per denial once cached:    {:.2} us (reading, diagnosing and evaluating {} denials, reads excluded, / {})",
            (p10.input + p10.evaluate) / n10 * 1e6,
            opts.denials * 10,
            opts.denials * 10
        );
    } else {
        println!("  per denial once cached:    (eksdoctor printed no phase times)");
    }
    println!(
        "  load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let reads10 = ten.reads;
    if reads10 != reads {
        return Err(format!("reads grew with the denials: {reads} -> {reads10}"));
    }
    Ok(())
}

/// One `explain --live` run.
struct Run {
    wall: Duration,
    started: Instant,
    reads: usize,
    requests: usize,
    /// Requests the proxy saw, and by operation (most first).
    seen: usize,
    ops: Vec<(String, usize)>,
    spans: Vec<proxy::Span>,
    phases: Option<Phases>,
}

impl Run {
    fn ms(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.started).as_secs_f64() * 1e3
    }

    fn csv(&self) -> String {
        let mut spans = self.spans.clone();
        spans.sort_by_key(|s| s.start);
        let mut out = "op,start_ms,end_ms,moto_ms\n".to_owned();
        for s in &spans {
            let _ = writeln!(
                out,
                "{},{:.2},{:.2},{:.2}",
                s.op,
                self.ms(s.start),
                self.ms(s.end),
                s.upstream.as_secs_f64() * 1e3
            );
        }
        out
    }
}

/// eksdoctor's own phase times (`EKSDOCTOR_BENCH_PHASES`), in seconds.
#[derive(Debug, Clone, Copy)]
struct Phases {
    input: f64,
    reads: f64,
    evaluate: f64,
}

impl Phases {
    /// From the stderr line `eksdoctor: phases: input_s=.. reads_s=.. evaluate_s=..`.
    fn of(stderr: &str) -> Option<Self> {
        let line = stderr
            .lines()
            .find_map(|l| l.strip_prefix("eksdoctor: phases: "))?;
        let get = |k: &str| -> Option<f64> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
        };
        Some(Self {
            input: get("input_s")?,
            reads: get("reads_s")?,
            evaluate: get("evaluate_s")?,
        })
    }
}

/// Where the time over the floor goes, from the proxy's per-request spans:
/// before the first request (process start, config, parsing), the requests
/// themselves (the injected latency plus moto's queue and service), the
/// slots left idle while requests were under way, and after the last answer.
fn timeline(run: &Run, rtt: f64) {
    if run.spans.is_empty() {
        return;
    }
    let first = run
        .spans
        .iter()
        .map(|s| s.start)
        .min()
        .unwrap_or(run.started);
    let last = run.spans.iter().map(|s| s.end).max().unwrap_or(run.started);
    let n = run.spans.len() as f64;
    let mean = |f: &dyn Fn(&proxy::Span) -> f64| run.spans.iter().map(f).sum::<f64>() / n;
    let took = mean(&|s| s.end.saturating_duration_since(s.start).as_secs_f64());
    let moto = mean(&|s| s.upstream.as_secs_f64());
    let mut sorted: Vec<f64> = run
        .spans
        .iter()
        .map(|s| s.end.saturating_duration_since(s.start).as_secs_f64())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let p95 = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
    // In flight over time: +1 at a start, -1 at an end.
    let mut events: Vec<(Instant, i32)> = run
        .spans
        .iter()
        .flat_map(|s| [(s.start, 1), (s.end, -1)])
        .collect();
    events.sort_by_key(|&(t, d)| (t, d));
    let (mut level, mut at) = (0i32, first);
    let mut area = 0.0;
    let mut full = 0.0;
    for (t, d) in events {
        let dt = t.saturating_duration_since(at).as_secs_f64();
        area += f64::from(level) * dt;
        if level as usize >= CONCURRENCY {
            full += dt;
        }
        level += d;
        at = t;
    }
    let span = last.saturating_duration_since(first).as_secs_f64();
    let in_flight = area / span.max(f64::EPSILON);
    println!(
        "  timeline (proxy):          first request at {:.0} ms, last answer at {:.0} ms, exit at {:.0} ms",
        run.ms(first),
        run.ms(last),
        run.wall.as_secs_f64() * 1e3
    );
    println!(
        "  per request:               {:.1} ms mean, {:.1} ms p95 ({:.0} ms injected, {:.1} ms mean in moto's queue and service)",
        took * 1e3,
        p95 * 1e3,
        rtt * 1e3,
        moto * 1e3
    );
    println!(
        "  in flight:                 {in_flight:.1} of {CONCURRENCY} on average between the first request and the last answer ({:.0}% utilisation; all {CONCURRENCY} busy {:.0}% of that time)",
        in_flight / CONCURRENCY as f64 * 100.0,
        full / span.max(f64::EPSILON) * 100.0
    );
}
