//! `cargo xtask bench tui [--release]`: the dashboard's start-up and idle
//! cost, measured on the real binary in a tmux pane (a real terminal).
//!
//! * first frame: from launching `eksdoctor --demo` to its first frame on
//!   screen, while the scenario's probes are still pending (target 100 ms).
//!   The binary reports the moment through EKSDOCTOR_BENCH_FIRST_FRAME.
//! * idle CPU: the process's CPU time (utime + stime from /proc/PID/stat)
//!   over 10 s once the scenario has settled (target under 1%).
//!
//! * overview frames: one frame of the Overview (and the Clusters panel's
//!   access path) with 1,000 clusters and 1,000 findings, at 80x24, 120x32
//!   and 200x50, through criterion (`crates/tui/benches/render.rs`); the
//!   means are read back from criterion's estimates (target under 2 ms).
//!
//! `cargo xtask bench tui frames` runs the frame part alone. Criterion
//! measures the other panels too (`cargo bench -p eksdoctor-tui`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RUNS: usize = 5;
const IDLE_SECS: u64 = 10;

/// The criterion benches of `crates/tui/benches/render.rs` with a 2 ms target.
const FRAME_BENCHES: [&str; 5] = [
    "overview_1000_clusters_80x24",
    "overview_1000_clusters_120x32",
    "overview_1000_clusters_200x50",
    "overview_1000_clusters_scrolled_200x50",
    "clusters_1000_path_120x40",
];
const FRAME_TARGET_MS: f64 = 2.0;

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    if rest.first().is_some_and(|a| a == "frames") {
        return frames(root);
    }
    let terminal = terminal(root, rest);
    let frames = frames(root);
    terminal.and(frames)
}

/// Overview frames with 1,000 clusters and 1,000 findings (criterion, release).
fn frames(root: &Path) -> Result<(), String> {
    let filter = FRAME_BENCHES.join("|");
    crate::run(
        crate::cargo()
            .current_dir(root)
            .args([
                "bench",
                "--package",
                "eksdoctor-tui",
                "--bench",
                "render",
                "--",
            ])
            .arg(format!("^({filter})$")),
    )?;
    println!("tui frames (criterion means, release build; target < {FRAME_TARGET_MS} ms a frame)");
    let mut missed = false;
    for name in FRAME_BENCHES {
        let path = root
            .join("target")
            .join("criterion")
            .join(name)
            .join("new")
            .join("estimates.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let ns = v["mean"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no mean", path.display()))?;
        let ms = ns / 1e6;
        missed |= ms > FRAME_TARGET_MS;
        println!("  {name:<40} {ms:>7.3} ms");
    }
    if missed {
        return Err("a frame took longer than the target".to_owned());
    }
    Ok(())
}

/// First frame and idle CPU of the real binary in a tmux pane.
fn terminal(root: &Path, rest: &[String]) -> Result<(), String> {
    let release = rest.iter().any(|a| a == "--release");
    let mut build = crate::cargo();
    build
        .current_dir(root)
        .args(["build", "--quiet", "--package", "eksdoctor"]);
    if release {
        build.arg("--release");
    }
    crate::run(&mut build)?;
    let bin = root
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("eksdoctor");
    if Command::new("tmux").arg("-V").output().is_err() {
        return Err("tmux is needed: cargo xtask setup installs it".to_owned());
    }
    let socket = format!("eksdoctor-bench-{}", std::process::id());
    let result = measure(&bin, &socket);
    let _ = tmux(&socket, &["kill-server"]);
    let (frames, idle) = result?;
    let profile = if release { "release" } else { "debug" };
    let mut sorted = frames.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let max = sorted[sorted.len() - 1];
    println!("tui bench ({profile} build, 80x24 tmux pane, {RUNS} launches)");
    println!(
        "  first frame, probes pending: median {median:.1} ms, max {max:.1} ms  (target < 100 ms)  runs: {}",
        frames
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  idle CPU over {IDLE_SECS} s after the scenario settled: {idle:.2}%  (target < 1%)");
    if median > 100.0 || idle > 1.0 {
        return Err("a target was missed".to_owned());
    }
    Ok(())
}

fn tmux(socket: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .env_remove("TMUX")
        .output()
        .map_err(|e| format!("tmux: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn measure(bin: &Path, socket: &str) -> Result<(Vec<f64>, f64), String> {
    let dir = std::env::temp_dir().join(format!("eksdoctor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // A pane that idles until we respawn it with the dashboard, so the
    // measurement does not include starting the tmux server.
    tmux(
        socket,
        &[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "bench",
            "sleep",
            "600",
        ],
    )?;
    let mut frames = Vec::new();
    let mut last_pid = String::new();
    for i in 0..RUNS {
        let out = dir.join(format!("first-frame-{i}.txt"));
        let _ = std::fs::remove_file(&out);
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos();
        let cmd = format!(
            "EKSDOCTOR_BENCH_FIRST_FRAME='{}' EKSDOCTOR_BENCH_STARTED_NS={started} exec '{}' --demo",
            out.display(),
            bin.display()
        );
        tmux(socket, &["respawn-pane", "-k", "-t", "bench", &cmd])?;
        let text = wait_for_file(&out)?;
        let ms = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("first_frame_ms="))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("unexpected bench output: {text}"))?;
        if !text.contains("probes_pending=true") {
            return Err(format!("the first frame came after the probes: {text}"));
        }
        frames.push(ms);
        last_pid = tmux(
            socket,
            &["display-message", "-p", "-t", "bench", "#{pane_pid}"],
        )?;
    }
    // The demo streams for about 1.5 s; then nothing animates.
    std::thread::sleep(Duration::from_secs(3));
    let ticks_per_sec = clock_ticks()?;
    let before = cpu_ticks(&last_pid)?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(IDLE_SECS));
    let after = cpu_ticks(&last_pid)?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu_secs = (after - before) as f64 / ticks_per_sec;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((frames, cpu_secs / wall * 100.0))
}

fn wait_for_file(path: &Path) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(t) = std::fs::read_to_string(path)
            && !t.is_empty()
        {
            return Ok(t);
        }
        if Instant::now() > deadline {
            return Err(format!("no first frame reported in {}", path.display()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).ok_or("utime")?;
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).ok_or("stime")?;
    Ok(utime + stime)
}

fn clock_ticks() -> Result<f64, String> {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .map_err(|e| format!("getconf: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("CLK_TCK: {e}"))
}
