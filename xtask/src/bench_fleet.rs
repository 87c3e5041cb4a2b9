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
//! The floor counts the injected latency only, but moto also takes time:
//! about 2 ms of Python CPU per call, one core per shard, while eksdoctor
//! needs its own CPU on the same machine. While the test proxy opened a new
//! connection to moto per call (and to eksdoctor: `Connection: close`), moto
//! spent 3.4 ms of CPU per call and the no-injected-latency run alone took
//! longer than 1.5x the floor at 32 (10.1 s against 6.25 s), so that ratio
//! measured the emulator; with connections kept alive on both sides (as AWS
//! and the SDK keep them) it is 6.2 s, below the floor (docs/fleet.md has
//! the numbers). The bench runs each concurrency of
//! `--concurrency` (default `32,16`: the product's default, and a lower
//! one), each with and without the injected
//! latency, and prints for each: the floor, the ratio, moto's own time (the
//! no-latency run) and the emulator-bound floor max(floor, moto-only). The
//! proxy's per-call timeline says where the time went: calls in flight on
//! average (idle slots are eksdoctor's barriers) and how long moto held
//! each call beyond the injected latency (queueing at a shard).
//!
//! `--baseline PATH` runs another eksdoctor binary (say, the main branch's
//! release build) the same way against the same seeded moto, right after
//! this build's runs, for a before/after in the same minute.
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
    /// The runs' concurrencies; the first is also the warm-up's.
    concurrency: Vec<usize>,
    shards: usize,
    baseline: Option<std::path::PathBuf>,
}

fn parse(rest: &[String]) -> Result<Options, String> {
    let usage = "usage: cargo xtask bench fleet [ACCOUNTS] [--regions N] [--clusters N] \
                 [--latency-ms MS] [--concurrency N[,N...]] [--shards N] [--baseline PATH] [--debug]";
    let mut o = Options {
        debug: false,
        accounts: 100,
        regions: 3,
        clusters: 5,
        latency: Duration::from_millis(50),
        concurrency: vec![32, 16],
        shards: super::default_shards(),
        baseline: None,
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
            "--concurrency" => {
                let list = it
                    .next()
                    .ok_or_else(|| format!("--concurrency needs a number; {usage}"))?;
                o.concurrency = list
                    .split(',')
                    .map(|n| n.trim().parse::<usize>().map(|n| n.clamp(1, 256)))
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        format!("--concurrency takes numbers, comma-separated; got {list:?}")
                    })?;
            }
            "--shards" => o.shards = num("--shards")?.clamp(1, 16),
            "--debug" => o.debug = true,
            "--baseline" => {
                o.baseline = Some(
                    it.next()
                        .ok_or_else(|| format!("--baseline needs a path; {usage}"))?
                        .into(),
                );
            }
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

    let moto_cpu = || -> f64 {
        shards
            .iter()
            .filter_map(|m| super::cpu_seconds(m.pid()))
            .sum()
    };
    let round = |eksdoctor: &Path, concurrency: usize| -> Result<Round, String> {
        let before: usize = proxy.seen.lock().map_or(0, |m| m.values().sum());
        let moto_before = moto_cpu();
        let spans_before = proxy.upstreams.timeline.lock().map_or(0, |t| t.len());
        let t_start = proxy.upstreams.epoch.elapsed();
        let started = Instant::now();
        let mut child = Command::new(eksdoctor)
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
            .args([
                "--concurrency",
                &concurrency.to_string(),
                "--timeout",
                "120",
            ])
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
        let report: serde_json::Value = serde_json::from_slice(&stdout).map_err(|e| {
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
        let spans = proxy
            .upstreams
            .timeline
            .lock()
            .map(|t| t[spans_before.min(t.len())..].to_vec())
            .unwrap_or_default();
        Ok(Round {
            elapsed,
            calls,
            hwm_kib: hwm,
            cpu,
            moto_cpu: moto_used,
            report,
            timeline: Timeline::of(&spans, t_start, elapsed),
        })
    };
    let set_latency = |l: Duration| {
        if let Ok(mut f) = proxy.faults.lock() {
            f.latency = l;
        }
    };

    // Warm up moto's first answers (every account's backends, the
    // credential reports), then measure each concurrency with the injected
    // latency and without it (moto's own time: the floor does not count it).
    let mut binaries = vec![("this build", eksdoctor.clone())];
    if let Some(b) = &o.baseline {
        binaries.push(("baseline", b.clone()));
    }
    let _ = round(&eksdoctor, o.concurrency[0])?;
    let mut runs = Vec::new();
    for (label, bin) in &binaries {
        for &c in &o.concurrency {
            set_latency(o.latency);
            let with = round(bin, c)?;
            set_latency(Duration::ZERO);
            let without = round(bin, c)?;
            runs.push((*label, c, with, without));
        }
    }
    let _ = std::fs::remove_dir_all(&home);

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let first = &runs.first().ok_or("no run")?.2;
    let accounts = first.report["summary"]["accounts"].as_u64().unwrap_or(0);
    println!(
        "bench fleet: {accounts} accounts (management included) x {} regions, {clusters} clusters, \
         {} ms injected per call; {} moto shard(s), {cpus} CPUs, load average {load}",
        o.regions,
        o.latency.as_millis(),
        o.shards,
    );
    let rtt = o.latency.as_secs_f64();
    for (label, c, r, r0) in &runs {
        let seen_clusters = r.report["summary"]["clusters"].as_u64().unwrap_or(0);
        if seen_clusters != clusters as u64 {
            return Err(format!(
                "check --org --concurrency {c} saw {seen_clusters} of {clusters} clusters (throttles: {})",
                r.report["throttles"]
            ));
        }
        let t = r.elapsed.as_secs_f64();
        let t0 = r0.elapsed.as_secs_f64();
        let floor = r.calls.div_ceil(*c) as f64 * rtt;
        let bound = floor.max(t0);
        let ratio = t / floor.max(f64::EPSILON);
        let bound_ratio = t / bound.max(f64::EPSILON);
        let mark = |x: f64| if x <= 1.5 { "ok" } else { "MISSED" };
        let mib = r.hwm_kib as f64 / 1024.0;
        println!(
            "{label}, --concurrency {c}{}:",
            if *c == 32 { " (the default)" } else { "" }
        );
        println!(
            "  calls: {} ({} throttled)  eksdoctor check --org: {t:>6.2} s",
            r.calls, r.report["throttles"]["total"]
        );
        println!(
            "  floor ceil(calls/concurrency) x rtt: {floor:>6.2} s -> {ratio:.2}x (target 1.5x) {}",
            mark(ratio)
        );
        println!(
            "  moto-only (same run, no injected latency): {t0:>6.2} s; emulator-bound floor \
             max(floor, moto-only) {bound:.2} s -> {bound_ratio:.2}x {}",
            mark(bound_ratio)
        );
        let tl = &r.timeline;
        println!(
            "  timeline: first call after {:.2} s, last answer {:.2} s before exit; \
             calls in flight {:.1} on average of {c} ({:.0}% of slot time); \
             a call took {:.1} ms on average: {:.0} injected + {:.1} answering \
             ({:.1} ms for the calls moto answered: its queue and service time)",
            tl.first_call,
            tl.after_last,
            tl.mean_in_flight,
            100.0 * tl.mean_in_flight / *c as f64,
            tl.mean_call * 1e3,
            rtt * 1e3,
            (tl.mean_call - tl.mean_latency) * 1e3,
            tl.mean_moto * 1e3,
        );
        println!(
            "  CPU: eksdoctor {:.2} s (sampled every 20 ms), moto shards {:.2} s; peak memory (VmHWM) \
             {mib:.1} MiB (target 128 MiB) {}",
            r.cpu,
            r.moto_cpu,
            if mib <= 128.0 { "ok" } else { "MISSED" }
        );
    }
    let per_shard: Vec<String> = proxy
        .upstreams
        .per_shard
        .iter()
        .map(|n| n.load(std::sync::atomic::Ordering::Relaxed).to_string())
        .collect();
    println!(
        "  requests each moto shard answered over all {} runs: {}",
        1 + 2 * runs.len(),
        per_shard.join(", ")
    );
    Ok(())
}

/// One measured `check --org`.
struct Round {
    elapsed: Duration,
    calls: usize,
    hwm_kib: u64,
    /// eksdoctor's CPU seconds.
    cpu: f64,
    /// The moto shards' CPU seconds.
    moto_cpu: f64,
    report: serde_json::Value,
    timeline: Timeline,
}

/// Where a run's time went, from the proxy's per-call spans (seconds).
#[derive(Debug, Default)]
struct Timeline {
    /// From the process's start to its first call.
    first_call: f64,
    /// From the last answer to the process's exit.
    after_last: f64,
    /// Calls in flight at the proxy, averaged over the whole run.
    mean_in_flight: f64,
    /// Arrival to answer.
    mean_call: f64,
    /// Arrival to the end of the injected latency.
    mean_latency: f64,
    /// End of the injected latency to answer, calls moto answered.
    mean_moto: f64,
}

impl Timeline {
    fn of(spans: &[proxy::CallSpan], start: Duration, elapsed: Duration) -> Self {
        if spans.is_empty() {
            return Self::default();
        }
        let secs = |d: Duration| d.as_secs_f64();
        let first = spans.iter().map(|s| s.arrived).min().unwrap_or(start);
        let last = spans.iter().map(|s| s.done).max().unwrap_or(start);
        let n = spans.len() as f64;
        let busy: f64 = spans
            .iter()
            .map(|s| secs(s.done.saturating_sub(s.arrived)))
            .sum();
        let moto: Vec<f64> = spans
            .iter()
            .filter(|s| s.shard.is_some())
            .map(|s| secs(s.done.saturating_sub(s.forwarded)))
            .collect();
        Self {
            first_call: secs(first.saturating_sub(start)),
            after_last: (secs(start + elapsed) - secs(last)).max(0.0),
            mean_in_flight: busy / secs(elapsed).max(f64::EPSILON),
            mean_call: busy / n,
            mean_latency: spans
                .iter()
                .map(|s| secs(s.forwarded.saturating_sub(s.arrived)))
                .sum::<f64>()
                / n,
            mean_moto: moto.iter().sum::<f64>() / (moto.len() as f64).max(1.0),
        }
    }
}
