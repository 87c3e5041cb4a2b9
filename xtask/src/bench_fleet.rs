//! `cargo xtask bench fleet [ACCOUNTS] [--regions N] [--clusters N]
//! [--latency-ms MS] [--concurrency N] [--shards N] [--debug]`: `eksdoctor
//! check --org` over a moto organization of ACCOUNTS (default 100) member
//! accounts, each with `--clusters` (default 5) clusters in each of
//! `--regions` (default 3) regions, every call delayed by the
//! fault-injecting proxy (default 50 ms).
//!
//! moto answers one request at a time, so the member accounts are spread
//! over `--shards` moto processes (default: one per CPU, at least 2; the
//! organization and the management account on the first): the proxy routes
//! each request by the access key that signed it, an AssumeRole to the shard
//! holding the role's account (crates/aws/tests/common/proxy.rs).
//!
//! Reported against the floor: ceil(calls / concurrency) x the injected
//! round trip, the time the run would take if every slot of the global
//! concurrency bound were busy all the time (target: within 1.5x). Peak
//! memory is the process's high-water RSS (VmHWM, target: 128 MiB).
//!
//! Needs the moto venv (`cargo xtask setup`).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// bench_live includes the same proxy privately; a second copy keeps that file untouched.
#[allow(clippy::duplicate_mod)]
#[path = "../../crates/aws/tests/common/proxy.rs"]
mod proxy;

const REGIONS: [&str; 4] = ["us-west-2", "us-east-1", "eu-west-1", "ap-southeast-2"];

struct Options {
    debug: bool,
    accounts: usize,
    regions: usize,
    clusters: usize,
    latency: Duration,
    concurrency: usize,
    shards: usize,
}

fn parse(rest: &[String]) -> Result<Options, String> {
    let usage = "usage: cargo xtask bench fleet [ACCOUNTS] [--regions N] [--clusters N] \
                 [--latency-ms MS] [--concurrency N] [--shards N] [--debug]";
    let mut o = Options {
        debug: false,
        accounts: 100,
        regions: 3,
        clusters: 5,
        latency: Duration::from_millis(50),
        concurrency: 32,
        shards: super::default_shards(),
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number; {usage}"))
        };
        match a.as_str() {
            "--regions" => o.regions = num("--regions")?.clamp(1, REGIONS.len()),
            "--clusters" => o.clusters = num("--clusters")?,
            "--latency-ms" => o.latency = Duration::from_millis(num("--latency-ms")? as u64),
            "--concurrency" => o.concurrency = num("--concurrency")?.clamp(1, 256),
            "--shards" => o.shards = num("--shards")?.clamp(1, 16),
            "--debug" => o.debug = true,
            n => o.accounts = n.parse().map_err(|_| format!("{usage}; got {n:?}"))?,
        }
    }
    Ok(o)
}

use super::bench_live::{Moto, start_moto};

fn seed(
    root: &Path,
    python: &Path,
    shards: &[Moto],
    o: &Options,
) -> Result<serde_json::Value, String> {
    let accounts: Vec<serde_json::Value> = (0..o.accounts)
        .map(|a| {
            let clusters: Vec<serde_json::Value> = REGIONS[..o.regions]
                .iter()
                .flat_map(|r| {
                    (0..o.clusters).map(move |c| {
                        serde_json::json!({
                            "name": format!("a{a:03}-{r}-c{c}"),
                            "region": r,
                            "version": if c % 2 == 0 { "1.29" } else { "1.21" },
                            "oidc_provider": c == 0,
                        })
                    })
                })
                .collect();
            serde_json::json!({
                "name": format!("account-{a:03}"),
                "users": [{"name": "svc", "keys": a % 3}],
                "clusters": clusters,
            })
        })
        .collect();
    let spec = serde_json::json!({ "accounts": accounts });
    let mut child = Command::new(python)
        .arg(root.join("tests/fixtures/live/seed_org.py"))
        .args(shards.iter().map(|m| &m.url))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("seed_org.py: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(spec.to_string().as_bytes())
            .map_err(|e| format!("seed_org.py: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("seed_org.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "seed_org.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("seed_org.py output: {e}"))
}

/// Kilobytes of the process's peak resident set (VmHWM), read until it exits.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    let o = parse(rest)?;
    let server = crate::setup(root)?;
    let python = server
        .parent()
        .ok_or("moto_server has no directory")?
        .join("python");
    let eksdoctor = super::build_eksdoctor(root, o.debug)?;

    let shards = (0..o.shards)
        .map(|_| start_moto(&server))
        .collect::<Result<Vec<_>, _>>()?;
    let clusters = o.accounts * o.regions * o.clusters;
    eprintln!(
        "xtask: seeding {} accounts x {} regions x {} clusters ({clusters} clusters) over {} moto shard(s)",
        o.accounts, o.regions, o.clusters, o.shards
    );
    let seeding = Instant::now();
    let seeded = seed(root, &python, &shards, &o)?;
    eprintln!("xtask: seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let key_id = seeded["auditor"]["id"].as_str().ok_or("seed: no key")?;
    let secret = seeded["auditor"]["secret"]
        .as_str()
        .ok_or("seed: no secret")?;
    // account id -> shard, from the seed's answer.
    let owners: std::collections::HashMap<String, usize> = seeded["accounts"]
        .as_object()
        .ok_or("seed: no accounts")?
        .values()
        .filter_map(|a| {
            Some((
                a["id"].as_str()?.to_owned(),
                usize::try_from(a["shard"].as_u64()?).ok()?,
            ))
        })
        .collect();
    let proxy = proxy::Proxy::start_sharded(
        proxy::Upstreams::sticky(shards.iter().map(|m| m.addr).collect(), owners),
        proxy::Faults {
            latency: o.latency,
            ..proxy::Faults::default()
        },
    );
    let endpoint = proxy.url();
    let home = std::env::temp_dir().join(format!("eksdoctor-bench-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let regions = REGIONS[..o.regions].join(",");
    let concurrency = o.concurrency.to_string();

    let moto_cpu = || -> f64 {
        shards
            .iter()
            .filter_map(|m| super::cpu_seconds(m.pid()))
            .sum()
    };
    // (wall time, calls, peak RSS KiB, eksdoctor's CPU s, moto's CPU s, report)
    let round = || -> Result<(Duration, usize, u64, f64, f64, serde_json::Value), String> {
        let before: usize = proxy.seen.lock().map_or(0, |m| m.values().sum());
        let moto_before = moto_cpu();
        let started = Instant::now();
        let mut child = Command::new(&eksdoctor)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .args(["--region", REGIONS[0], "--endpoint-url", &endpoint])
            .args(["check", "--org", "--no-kubernetes", "--regions", &regions])
            .args(["--concurrency", &concurrency, "--timeout", "120"])
            .args(["--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", eksdoctor.display()))?;
        let pid = child.id();
        // Read stdout on a thread (a full pipe would stall the child) and
        // sample the high-water mark until the child exits.
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
            buf
        });
        let mut hwm = 0;
        let mut cpu = 0.0f64;
        loop {
            if let Some(k) = vm_hwm_kib(pid) {
                hwm = hwm.max(k);
            }
            if let Some(c) = super::cpu_seconds(pid) {
                cpu = cpu.max(c);
            }
            if child.try_wait().map_err(|e| e.to_string())?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let elapsed = started.elapsed();
        let moto_used = moto_cpu() - moto_before;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let stdout = reader.join().map_err(|_| "stdout reader panicked")?;
        let v: serde_json::Value = serde_json::from_slice(&stdout).map_err(|e| {
            format!(
                "check --org output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let calls = proxy
            .seen
            .lock()
            .map_or(0, |m| m.values().sum::<usize>())
            .saturating_sub(before);
        Ok((elapsed, calls, hwm, cpu, moto_used, v))
    };

    // Warm up moto's first answers, then measure.
    let _ = round()?;
    let (t, calls, hwm_kib, cpu, moto_used, v) = round()?;
    // The same run with no injected latency: moto's own service time, which
    // the floor does not count (each shard answers one request at a time).
    if let Ok(mut f) = proxy.faults.lock() {
        f.latency = Duration::ZERO;
    }
    let (t0, _, _, _, _, _) = round()?;
    let _ = std::fs::remove_dir_all(&home);

    let seen_clusters = v["summary"]["clusters"].as_u64().unwrap_or(0);
    let accounts = v["summary"]["accounts"].as_u64().unwrap_or(0);
    if seen_clusters != clusters as u64 {
        return Err(format!(
            "check --org saw {seen_clusters} of {clusters} clusters in {accounts} accounts (throttles: {})",
            v["throttles"]
        ));
    }
    let rtt = o.latency.as_secs_f64();
    let floor = calls.div_ceil(o.concurrency) as f64 * rtt;
    let ratio = t.as_secs_f64() / floor.max(f64::EPSILON);
    let mib = hwm_kib as f64 / 1024.0;
    println!(
        "bench fleet: {accounts} accounts (management included) x {} regions, {clusters} clusters, \
         {} ms injected per call, --concurrency {}",
        o.regions,
        o.latency.as_millis(),
        o.concurrency
    );
    println!("  calls: {calls} ({} throttled)", v["throttles"]["total"]);
    let per_shard: Vec<String> = proxy
        .upstreams
        .per_shard
        .iter()
        .map(|n| n.load(std::sync::atomic::Ordering::Relaxed).to_string())
        .collect();
    println!(
        "  moto shards: {} (requests each over the 3 runs: {})",
        o.shards,
        per_shard.join(", ")
    );
    println!("  eksdoctor check --org: {:>8.2} s", t.as_secs_f64());
    println!(
        "  floor ceil(calls/concurrency) x rtt: {floor:>8.2} s  -> {ratio:.2}x (target 1.5x) {}",
        if ratio <= 1.5 { "ok" } else { "MISSED" }
    );
    let beyond = (t.as_secs_f64() - t0.as_secs_f64()).max(0.0);
    println!(
        "  same run, no injected latency (moto's own time): {:>8.2} s; the latency's share {beyond:.2} s -> {:.2}x the floor",
        t0.as_secs_f64(),
        beyond / floor.max(f64::EPSILON)
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "  CPU used in the measured run: eksdoctor {cpu:.2} s (sampled every 20 ms), moto shards {moto_used:.2} s; \
         {} CPUs, load average {}",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  peak memory (VmHWM): {mib:.1} MiB (target 128 MiB) {}",
        if mib <= 128.0 { "ok" } else { "MISSED" }
    );
    Ok(())
}
