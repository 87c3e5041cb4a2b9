//! `cargo xtask bench NAME`: benchmarks that compare against a baseline in the
//! same run. Criterion benches (`cargo bench`) live beside their crates.

use std::path::{Path, PathBuf};

#[path = "bench_explain.rs"]
mod bench_explain;

#[path = "bench_fleet.rs"]
mod bench_fleet;

#[path = "bench_live.rs"]
mod bench_live;

#[path = "bench_explain_live.rs"]
mod bench_explain_live;

#[path = "bench_token.rs"]
mod bench_token;

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    match rest.first().map(String::as_str) {
        Some("tui") => crate::tui_bench::run(root, &rest[1..]),
        // Evaluations per second against a 50-statement set with conditions
        // (target: 100,000 on one core).
        Some("policy") => criterion(root, "policy", &rest[1..]),
        Some("live") => bench_live::run(root, &rest[1..]),
        // `check --org`: 100 accounts x 3 regions x 5 clusters vs ceil(calls/concurrency) x rtt.
        Some("fleet") => bench_fleet::run(root, &rest[1..]),
        // The `keys` and `lint sts` readers: credential report, manifests, source scan.
        Some("inputs") => criterion(root, "inputs", &rest[1..]),
        Some("explain") => bench_explain::run(root, &rest[1..]),
        // `explain --live` on 10,000 denials from 50 principals, 50 ms per call:
        // reads, time against ceil(reads / concurrency) x rtt (target <= 1.5x).
        Some("explain-live") => bench_explain_live::run(root, &rest[1..]),
        // `eksdoctor token` vs `aws eks get-token` (target: 20x faster).
        Some("token") => bench_token::run(root, &rest[1..]),
        Some(other) => Err(format!("no benchmark {other:?}")),
        None => Err("usage: cargo xtask bench NAME".to_owned()),
    }
}

/// Run one of core's criterion benches (`crates/core/benches/NAME.rs`).
fn criterion(root: &Path, bench: &str, rest: &[String]) -> Result<(), String> {
    crate::run(
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .current_dir(root)
            .args(["bench", "-p", "eksdoctor-core", "--bench", bench, "--"])
            .args(rest),
    )
}

/// moto processes for the benches that shard it: one per CPU (each answers
/// one request at a time), at least two, at most eight.
fn default_shards() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// Seconds of CPU (user + system) a live process has used so far, from
/// /proc/PID/stat (Linux; `None` elsewhere or once it has gone).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3,
    // utime and stime fields 14 and 15, in clock ticks (USER_HZ, 100).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Build the eksdoctor binary (release unless `debug`) and return its path.
fn build_eksdoctor(root: &Path, debug: bool) -> Result<PathBuf, String> {
    let mut build =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build
        .current_dir(root)
        .args(["build", "--quiet", "--package", "eksdoctor"]);
    if !debug {
        build.arg("--release");
    }
    crate::run(&mut build)?;
    Ok(root.join(if debug {
        "target/debug/eksdoctor"
    } else {
        "target/release/eksdoctor"
    }))
}
