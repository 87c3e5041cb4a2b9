//! `cargo xtask bench token [RUNS] [--debug]`: `eksdoctor token` against
//! `aws eks get-token`, process start to ExecCredential, same machine, same
//! (dummy, static) credentials: building the token needs no network, so the
//! numbers are the tools' own cost. Target: eksdoctor at least 20x faster.
//!
//! The aws CLI comes from the moto venv (installed there from PyPI for this
//! benchmark if missing), else from PATH.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn time_runs(runs: usize, mut cmd: impl FnMut() -> Command) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut c = cmd();
        let started = Instant::now();
        let out = c.output().map_err(|e| format!("cannot run {c:?}: {e}"))?;
        times.push(started.elapsed());
        if !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("k8s-aws-v1.") {
            return Err(format!(
                "{c:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    times.sort();
    Ok(times)
}

fn median(t: &[Duration]) -> Duration {
    t[t.len() / 2]
}

fn env(c: &mut Command, home: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
}

pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    let debug = rest.iter().any(|a| a == "--debug");
    let runs: usize = rest
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|n| {
            n.parse()
                .map_err(|_| format!("usage: cargo xtask bench token [RUNS] [--debug]; got {n:?}"))
        })
        .transpose()?
        .unwrap_or(20)
        .max(3);
    let server = crate::setup(root)?;
    let venv_bin = server
        .parent()
        .ok_or("moto_server has no directory")?
        .to_path_buf();
    let mut aws: PathBuf = venv_bin.join("aws");
    if !aws.exists() {
        eprintln!("xtask: installing awscli into the moto venv (for this benchmark only)");
        crate::run(Command::new(venv_bin.join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "awscli",
        ]))?;
    }
    if !aws.exists() {
        aws = PathBuf::from("aws");
    }
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build
        .current_dir(root)
        .args(["build", "--quiet", "--package", "eksdoctor"]);
    if !debug {
        build.arg("--release");
    }
    crate::run(&mut build)?;
    let eksdoctor = root.join(if debug {
        "target/debug/eksdoctor"
    } else {
        "target/release/eksdoctor"
    });
    let home = std::env::temp_dir().join(format!("eksdoctor-bench-token-{}", std::process::id()));
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;

    let ours = time_runs(runs, || {
        let mut c = Command::new(&eksdoctor);
        env(&mut c, &home);
        c.args(["token", "--cluster", "demo", "--region", "us-west-2"]);
        c
    })?;
    let theirs = time_runs(runs, || {
        let mut c = Command::new(&aws);
        env(&mut c, &home);
        c.args([
            "eks",
            "get-token",
            "--cluster-name",
            "demo",
            "--region",
            "us-west-2",
        ]);
        c
    })?;
    let _ = std::fs::remove_dir_all(&home);
    let (a, b) = (median(&ours), median(&theirs));
    let ratio = b.as_secs_f64() / a.as_secs_f64().max(1e-9);
    println!("token, {runs} runs each, process start to ExecCredential (median; min..max):");
    println!(
        "  eksdoctor token ({})  {:>8.1} ms  ({:.1}..{:.1})",
        if debug { "debug" } else { "release" },
        a.as_secs_f64() * 1e3,
        ours[0].as_secs_f64() * 1e3,
        ours[ours.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  aws eks get-token       {:>8.1} ms  ({:.1}..{:.1})",
        b.as_secs_f64() * 1e3,
        theirs[0].as_secs_f64() * 1e3,
        theirs[theirs.len() - 1].as_secs_f64() * 1e3
    );
    println!("  eksdoctor is {ratio:.1}x faster (target: 20x)");
    Ok(())
}
