//! Project tasks: `cargo xtask ci | demo | dist [--check] | deploy-policy [--check] | setup |
//! bench NAME | fuzz NAME [SECONDS] | iam-actions DOCS_DIR`.
//!
//! `ci` is exactly what CI runs (`.ci/run` calls it): it installs what the
//! tests need when it is missing (tmux; moto in a venv), then fmt, clippy
//! with warnings denied, the rule-page check, and every test. It does not
//! run `dist --check` (a from-scratch release build, ~11 CPU-minutes): see
//! `dist.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod deploy;
mod dist;
mod iam_actions;
mod tui_bench;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("demo") => demo(&root, &args[1..]),
        Some("dist") => dist::run_dist(&root, &args[1..]),
        Some("deploy-policy") => deploy::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("iam-actions") => iam_actions::run(&root, &args[1..]),
        Some("setup") => setup(&root).map(|_| ()),
        _ => Err(
            "usage: cargo xtask ci | demo | dist [--check] | deploy-policy [--check] | setup | bench NAME | fuzz TARGET [SECONDS] | iam-actions DOCS_DIR".to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), Path::to_path_buf)
}

pub fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: $ {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// `python3`, else `python`.
fn python() -> &'static str {
    if Command::new("python3").arg("--version").output().is_ok() {
        "python3"
    } else {
        "python"
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// Make sure what the tests need is installed: tmux, kubectl, moto in a venv,
/// and cfn-lint in another (the deploy template's test). Returns the path of
/// `moto_server`.
fn setup(root: &Path) -> Result<PathBuf, String> {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("xtask: installing tmux");
        let _ = run(Command::new("apt-get").arg("update").arg("-qq"));
        run(Command::new("apt-get").args(["install", "-y", "-qq", "tmux"]))?;
    }
    // The Kubernetes live tests drive the real kubectl (Debian's kubernetes-client).
    if Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_err()
    {
        eprintln!("xtask: installing kubectl (kubernetes-client)");
        let _ = run(Command::new("apt-get").arg("update").arg("-qq"));
        run(Command::new("apt-get").args(["install", "-y", "-qq", "kubernetes-client"]))?;
    }
    let venv = root.join(".venv-moto");
    let server = venv.join("bin/moto_server");
    if !server.exists() {
        eprintln!("xtask: installing moto into {}", venv.display());
        run(Command::new(python()).arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "moto[server]==5.2.5",
        ]))?;
    }
    deploy::setup_cfn_lint(root)?;
    Ok(server)
}

fn ci(root: &Path) -> Result<(), String> {
    let moto = setup(root)?;
    run(cargo().current_dir(root).args(["fmt", "--all", "--check"]))?;
    run(cargo().current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))?;
    check_rule_pages(root)?;
    run(cargo()
        .current_dir(root)
        .env("EKSDOCTOR_MOTO_SERVER", &moto)
        .args(["test", "--workspace", "--all-targets"]))?;
    run(cargo()
        .current_dir(root)
        .args(["test", "--workspace", "--doc", "--quiet"]))?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// Every page under docs/rules/ must name a rule of the catalog, and start
/// with its id as the title.
fn check_rule_pages(root: &Path) -> Result<(), String> {
    let dir = root.join("docs/rules");
    let mut bad = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                let id = p
                    .strip_prefix(&dir)
                    .unwrap_or(&p)
                    .with_extension("")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                if !text.starts_with(&format!("# {id}\n")) {
                    bad.push(format!("{}: must start with \"# {id}\"", p.display()));
                }
            }
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("rule pages:\n  {}", bad.join("\n  ")))
    }
}

/// Build with cargo's progress showing (a first build takes minutes), then
/// run the built binary directly, so nothing but the dashboard is printed.
fn demo(root: &Path, rest: &[String]) -> Result<(), String> {
    let mut build = cargo();
    build
        .current_dir(root)
        .args([
            "build",
            "--package",
            "eksdoctor",
            "--bin",
            "eksdoctor",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(std::process::Stdio::piped());
    eprintln!("xtask: $ {build:?}");
    let out = build
        .spawn()
        .and_then(std::process::Child::wait_with_output)
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build failed: {}", out.status));
    }
    // The last compiler-artifact line naming an executable is the binary,
    // wherever CARGO_TARGET_DIR put it.
    let bin = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|m| m.get("executable")?.as_str().map(PathBuf::from))
        .next_back()
        .ok_or("cargo build named no eksdoctor executable")?;
    let status = Command::new(&bin)
        .arg("--demo")
        .args(rest)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    match status.code() {
        Some(0) => Ok(()),
        _ => Err(format!("{} --demo exited: {status}", bin.display())),
    }
}

/// The fuzz targets in `fuzz-kube/`; all others are in `fuzz/`.
const KUBE_FUZZ_TARGETS: &[&str] = &["kubeconfig"];

/// `cargo xtask fuzz TARGET [SECONDS]`: run a cargo-fuzz target on the stable
/// toolchain (RUSTC_BOOTSTRAP lets cargo-fuzz use its nightly flags).
fn fuzz(root: &Path, rest: &[String]) -> Result<(), String> {
    let target = rest
        .first()
        .ok_or("usage: cargo xtask fuzz TARGET [SECONDS]")?;
    let secs = rest.get(1).map_or("60", String::as_str);
    if Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        run(cargo().args(["install", "--locked", "cargo-fuzz"]))?;
    }
    // Targets that need eksdoctor-kube (kube-rs, TLS) live in fuzz-kube/, so
    // the core targets in fuzz/ build without them.
    let dir = if KUBE_FUZZ_TARGETS.contains(&target.as_str()) {
        "fuzz-kube"
    } else {
        "fuzz"
    };
    run(cargo()
        .current_dir(root.join(dir))
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "fuzz",
            "run",
            target,
            "--",
            &format!("-max_total_time={secs}"),
        ]))
}
