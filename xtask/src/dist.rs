//! `cargo xtask dist [--check]`: the one-file install for jump hosts.
//!
//! Builds `eksdoctor` against glibc 2.17 with cargo-zigbuild (zig links
//! against a 2.17 stub of glibc, so the binary runs on CentOS 7, Amazon
//! Linux 2, RHEL 8, Ubuntu 20.04 and anything newer), then packs
//! `target/dist/eksdoctor-<version>-x86_64-linux.tar.gz` and its `.sha256`:
//! the binary, completions (bash, zsh, fish) and man pages made by that very
//! binary, README, LICENSE and the read-only IAM policy.
//!
//! Why not a static (musl or static-glibc) binary: the musl target cannot be
//! installed here (rustup reaches no network), and a static glibc binary
//! still `dlopen`s NSS modules for DNS and user lookups, which must then
//! match the build's glibc exactly — the very thing we are avoiding. A
//! dynamic binary that asks only for symbols up to GLIBC_2.17 uses the
//! host's own resolver and NSS config (VPC DNS, /etc/hosts, sssd).
//!
//! zig and cargo-zigbuild come from PyPI (prebuilt wheels: nothing to
//! compile), installed into `.venv-zig` when missing.
//!
//! Every run checks the binary's ELF dynamic section (see [`check_elf`]);
//! `--check` also unpacks the tarball and runs the binary from it with an
//! empty environment, in an empty directory, without network when the
//! sandbox allows a network namespace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use object::read::elf::{ElfFile64, FileHeader as _};
use object::{Endianness, elf};

use crate::run;

const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The glibc baseline: CentOS/RHEL 7. Amazon Linux 2 has 2.26.
const GLIBC_MAX: (u32, u32) = (2, 17);
const ZIGLANG: &str = "ziglang==0.15.2";
const ZIGBUILD: &str = "cargo-zigbuild==0.24.1";

/// Shared objects the binary may need. All but libgcc_s ship in the glibc
/// package itself (its version check below covers them); libgcc_s (GCC's
/// unwinder, used by Rust panics) is a dependency of glibc's own packages on
/// every distribution we target (glibc dlopens it for pthread_cancel), so it
/// is always there; its symbol versions are held to GCC 4.8 (CentOS 7).
const ALLOWED_LIBS: &[&str] = &[
    "libc.so.6",
    "ld-linux-x86-64.so.2",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libgcc_s.so.1",
];

pub fn run_dist(root: &Path, rest: &[String]) -> Result<(), String> {
    let mut check = false;
    for a in rest {
        match a.as_str() {
            "--check" => check = true,
            other => {
                return Err(format!(
                    "dist: unknown argument {other:?} (usage: dist [--check])"
                ));
            }
        }
    }
    let started = Instant::now();
    let bin = build(root)?;
    let build_time = started.elapsed();
    let report = check_elf(&bin)?;
    eprintln!("xtask: {report}");

    let version = version_of(&bin)?;
    let name = format!("eksdoctor-{version}-x86_64-linux");
    let dist = root.join("target/dist");
    let stage = dist.join(&name);
    stage_files(root, &bin, &stage)?;
    let tarball = dist.join(format!("{name}.tar.gz"));
    pack(root, &dist, &name, &tarball)?;

    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    eprintln!(
        "xtask: {} ({:.1} MB; binary {:.1} MB stripped; build {})",
        tarball.display(),
        mb(size(&tarball)),
        mb(size(&bin)),
        minutes(build_time)
    );
    if check {
        smoke(root, &tarball, &name, &version)?;
        eprintln!("xtask: dist --check passed");
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss)]
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

/// `.venv-zig/bin`, holding `cargo-zigbuild` and a python that has ziglang.
fn zig_tools(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".venv-zig");
    let bin = venv.join("bin");
    let ready = Command::new(bin.join("python3"))
        .args(["-m", "ziglang", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
        && bin.join("cargo-zigbuild").exists();
    if !ready {
        eprintln!(
            "xtask: installing zig and cargo-zigbuild into {}",
            venv.display()
        );
        let python = if Command::new("python3").arg("--version").output().is_ok() {
            "python3"
        } else {
            "python"
        };
        run(Command::new(python).arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(bin.join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            ZIGLANG,
            ZIGBUILD,
        ]))?;
    }
    Ok(bin)
}

/// What `eksdoctor --version` should say: `<sha>` or `<sha>-dirty`.
fn git_state(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let sha = git(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_none_or(|s| !s.is_empty());
    Some(if dirty { format!("{sha}-dirty") } else { sha })
}

/// The release build against glibc 2.17, in its own target dir; cargo's
/// progress shows. Returns the binary.
fn build(root: &Path) -> Result<PathBuf, String> {
    let tools = zig_tools(root)?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![tools.clone()];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    let target_dir = root.join("target/dist-build");
    let mut cmd = Command::new(tools.join("cargo-zigbuild"));
    // `cargo xtask` runs us with xtask's own CARGO_PKG_NAME, CARGO_MANIFEST_DIR
    // ...; ring's build script watches those, so keeping them would rebuild
    // ring and everything above it whenever dist is run another way.
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "OUT_DIR",
            ]
            .contains(&k.as_ref())
        {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(root)
        .env("PATH", path)
        .args([
            "zigbuild",
            "--profile",
            "dist",
            "--locked",
            "-p",
            "eksdoctor",
            "--target",
        ])
        .arg(format!("{TARGET}.{}.{}", GLIBC_MAX.0, GLIBC_MAX.1))
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(state) = git_state(root) {
        cmd.env("EKSDOCTOR_BUILD_GIT", state);
    }
    run(&mut cmd)?;
    Ok(target_dir.join(TARGET).join("dist/eksdoctor"))
}

/// `eksdoctor 0.1.0 (commit ...)` -> `0.1.0`.
fn version_of(bin: &Path) -> Result<String, String> {
    let out = output(Command::new(bin).arg("--version"))?;
    out.split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .ok_or_else(|| format!("{} --version said {out:?}", bin.display()))
}

/// Run and return stdout; fail with stderr on a non-zero exit.
fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

fn stage_files(root: &Path, bin: &Path, stage: &Path) -> Result<(), String> {
    if stage.exists() {
        std::fs::remove_dir_all(stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    copy(bin, &stage.join("eksdoctor"))?;
    copy(&root.join("README.md"), &stage.join("README.md"))?;
    copy(&root.join("LICENSE"), &stage.join("LICENSE"))?;
    copy(
        &root.join("docs/eksdoctor-readonly-policy.json"),
        &stage.join("eksdoctor-readonly-policy.json"),
    )?;
    let completions = stage.join("completions");
    std::fs::create_dir_all(&completions).map_err(|e| e.to_string())?;
    for (shell, file) in [
        ("bash", "eksdoctor.bash"),
        ("zsh", "_eksdoctor"),
        ("fish", "eksdoctor.fish"),
    ] {
        let script = output(Command::new(bin).args(["completions", shell]))?;
        if script.trim().is_empty() {
            return Err(format!("eksdoctor completions {shell} printed nothing"));
        }
        std::fs::write(completions.join(file), script).map_err(|e| e.to_string())?;
    }
    output(Command::new(bin).arg("man").arg(stage.join("man/man1")))?;
    Ok(())
}

/// A reproducible tarball: sorted names, root owner, the commit's time.
fn pack(root: &Path, dist: &Path, name: &str, tarball: &Path) -> Result<(), String> {
    let mtime = std::env::var("SOURCE_DATE_EPOCH").ok().or_else(|| {
        Command::new("git")
            .current_dir(root)
            .args(["log", "-1", "--format=%ct"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    });
    let mut tar = Command::new("tar");
    tar.current_dir(dist)
        .args([
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--use-compress-program=gzip -n -9",
        ])
        .arg(format!("--mtime=@{}", mtime.as_deref().unwrap_or("0")))
        .arg("-cf")
        .arg(tarball)
        .arg(name);
    run(&mut tar)?;
    let file = format!("{name}.tar.gz");
    let sum = output(Command::new("sha256sum").current_dir(dist).arg(&file))?;
    std::fs::write(dist.join(format!("{file}.sha256")), sum).map_err(|e| e.to_string())
}

/// What the ELF check found, for the log.
pub struct ElfReport {
    pub needed: Vec<String>,
    pub newest_glibc: (u32, u32, u32),
}

impl std::fmt::Display for ElfReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b, c) = self.newest_glibc;
        write!(
            f,
            "ELF ok: needs {}; newest symbol version GLIBC_{a}.{b}{}",
            self.needed.join(", "),
            if c > 0 {
                format!(".{c}")
            } else {
                String::new()
            }
        )
    }
}

/// `GLIBC_2.2.5` -> (2, 2, 5); None for GLIBC_PRIVATE and the like.
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(str::parse::<u32>);
    let a = parts.next()?.ok()?;
    let b = parts.next().unwrap_or(Ok(0)).ok()?;
    let c = parts.next().unwrap_or(Ok(0)).ok()?;
    parts.next().is_none().then_some((a, b, c))
}

/// Read the dynamic section and the version needs of `bin`: fail if it needs
/// a library outside [`ALLOWED_LIBS`], any GLIBC symbol version newer than
/// 2.17, a GLIBC_PRIVATE symbol, or a GCC_ version newer than 4.8.
pub fn check_elf(bin: &Path) -> Result<ElfReport, String> {
    let data = std::fs::read(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let elf = ElfFile64::<Endianness>::parse(&*data)
        .map_err(|e| format!("{}: not a 64-bit ELF: {e}", bin.display()))?;
    let endian = elf.endian();
    if elf.elf_header().e_machine(endian) != elf::EM_X86_64 {
        return Err(format!("{}: not an x86_64 binary", bin.display()));
    }
    let sections = elf.elf_section_table();
    let err = |e: object::Error| format!("{}: {e}", bin.display());
    let mut problems = Vec::new();

    let dynamic = sections.dynamic_table(endian, &*data).map_err(err)?;
    let mut needed = Vec::new();
    for d in &dynamic {
        if d.tag == elf::DT_NEEDED {
            let lib = String::from_utf8_lossy(dynamic.string(d).map_err(err)?).into_owned();
            if !ALLOWED_LIBS.contains(&lib.as_str()) {
                problems.push(format!("links {lib}, which is not part of glibc"));
            }
            needed.push(lib);
        }
    }
    if needed.is_empty() {
        problems.push("no DT_NEEDED entries: not the dynamic glibc binary expected".to_owned());
    }

    let mut newest_glibc = (0, 0, 0);
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, &*data).map_err(err)? {
        let strings = sections.strings(endian, &*data, link).map_err(err)?;
        while let Some((need, mut aux)) = needs.next().map_err(err)? {
            let file =
                String::from_utf8_lossy(need.file(endian, strings).map_err(err)?).into_owned();
            while let Some(a) = aux.next().map_err(err)? {
                let name =
                    String::from_utf8_lossy(a.name(endian, strings).map_err(err)?).into_owned();
                if let Some(v) = name.strip_prefix("GLIBC_") {
                    match parse_version(v) {
                        Some(ver) => {
                            newest_glibc = newest_glibc.max(ver);
                            if (ver.0, ver.1) > GLIBC_MAX {
                                problems.push(format!("{file} {name} is newer than GLIBC_2.17"));
                            }
                        }
                        None => problems.push(format!("{file} {name}: not a public glibc version")),
                    }
                } else if let Some(v) = name.strip_prefix("GCC_") {
                    if parse_version(v).is_none_or(|ver| ver > (4, 8, 0)) {
                        problems.push(format!("{file} {name} is newer than GCC 4.8's libgcc_s"));
                    }
                } else {
                    problems.push(format!("{file} {name}: unexpected symbol version"));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(ElfReport {
            needed,
            newest_glibc,
        })
    } else {
        Err(format!(
            "{} would not run on glibc 2.17:\n  {}",
            bin.display(),
            problems.join("\n  ")
        ))
    }
}

/// Unpack the tarball and run what it holds the way an operator would on a
/// bare jump host.
fn smoke(root: &Path, tarball: &Path, name: &str, version: &str) -> Result<(), String> {
    let dist = tarball.parent().unwrap_or(root);
    output(
        Command::new("sha256sum")
            .current_dir(dist)
            .arg("-c")
            .arg(format!("{name}.tar.gz.sha256")),
    )?;
    let scratch = dist.join(format!("check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let cwd = scratch.join("cwd");
    let home = scratch.join("home");
    for d in [&cwd, &home] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    run(Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(&scratch))?;
    let result = smoke_in(root, &scratch, &cwd, &home, name, version);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn smoke_in(
    root: &Path,
    scratch: &Path,
    cwd: &Path,
    home: &Path,
    name: &str,
    version: &str,
) -> Result<(), String> {
    let unpacked = scratch.join(name);
    let bin = unpacked.join("eksdoctor");
    for f in [
        "README.md",
        "LICENSE",
        "eksdoctor-readonly-policy.json",
        "completions/eksdoctor.bash",
        "completions/_eksdoctor",
        "completions/eksdoctor.fish",
        "man/man1/eksdoctor.1",
        "man/man1/eksdoctor-explain.1",
        "man/man1/eksdoctor-lint-aws-auth.1",
        "man/man1/eksdoctor-policy-eval.1",
    ] {
        if !unpacked.join(f).is_file() {
            return Err(format!("the tarball lacks {f}"));
        }
    }
    eprintln!("xtask: {}", check_elf(&bin)?);

    // No network when the sandbox lets us make an empty network namespace.
    let offline = Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    eprintln!(
        "xtask: smoke runs {}",
        if offline {
            "without network (unshare -n)"
        } else {
            "with the network (unshare -n is not allowed here)"
        }
    );
    // A bare environment in an empty directory: nothing to find but itself.
    let bare = |utf8: bool| {
        let mut c = if offline {
            let mut c = Command::new("unshare");
            c.arg("-n");
            c
        } else {
            Command::new("env")
        };
        c.arg("env")
            .arg("-i")
            .arg("PATH=/usr/bin:/bin")
            .arg(format!("HOME={}", home.display()))
            .arg("TERM=xterm-256color");
        if utf8 {
            c.arg("LANG=C.UTF-8");
        }
        c.current_dir(cwd);
        c
    };

    let v = output(bare(true).arg(&bin).arg("--version"))?;
    let want = format!("eksdoctor {version} (commit ");
    if !v.starts_with(&want) {
        return Err(format!("--version said {v:?}, wanted {want}..."));
    }
    eprintln!("xtask: --version: {}", v.trim());

    let sample = root.join("tests/fixtures/examples/errors.txt");
    let out = bare(true)
        .arg(&bin)
        .arg("explain")
        .arg("--input")
        .arg(&sample)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !matches!(out.status.code(), Some(0 | 1)) || !text.contains("authz/pass-role") {
        return Err(format!(
            "explain on {} ({}): {text}{}",
            sample.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!(
        "xtask: explain found {} lines of findings",
        text.lines().count()
    );

    let page = output(bare(true).arg(&bin).args(["rules", "authz/pass-role"]))?;
    if !page.starts_with("# authz/pass-role") {
        return Err(format!("rules authz/pass-role printed {page:?}"));
    }

    demo_frame(&bare, &bin, scratch, true)?;
    demo_frame(&bare, &bin, scratch, false)?;
    Ok(())
}

/// `--demo` in a private tmux server for one frame; without a UTF-8 locale
/// the frame must be pure ASCII (the automatic fallback).
fn demo_frame(
    bare: &dyn Fn(bool) -> Command,
    bin: &Path,
    scratch: &Path,
    utf8: bool,
) -> Result<(), String> {
    let socket = scratch.join(format!("tmux-{utf8}"));
    let tmux = |args: &[&str]| {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&socket).args(args).env_remove("TMUX");
        c
    };
    // tmux itself always runs in UTF-8 (else it would draw `_` for any
    // non-ASCII cell and hide what the binary chose); the binary in the pane
    // gets the locale under test.
    let mut start = bare(true);
    start.arg("tmux").arg("-S").arg(&socket).args([
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "-s",
        "smoke",
    ]);
    if !utf8 {
        start.args(["env", "-u", "LANG", "-u", "LC_ALL", "-u", "LC_CTYPE"]);
    }
    start.arg(bin).arg("--demo");
    run(&mut start)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut screen = String::new();
    let found = loop {
        if let Ok(out) = tmux(&["capture-pane", "-p", "-t", "smoke"]).output() {
            screen = String::from_utf8_lossy(&out.stdout).into_owned();
            if screen.contains("AWSReservedSSO") {
                break true;
            }
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = tmux(&["send-keys", "-t", "smoke", "q"]).output();
    std::thread::sleep(Duration::from_millis(300));
    let _ = tmux(&["kill-server"]).output();
    if !found {
        return Err(format!(
            "--demo drew no frame in 20 s; the pane held:\n{screen}"
        ));
    }
    if !utf8 && !screen.is_ascii() {
        return Err(format!(
            "--demo without a UTF-8 locale drew non-ASCII cells:\n{screen}"
        ));
    }
    if utf8 && screen.is_ascii() {
        return Err(format!(
            "--demo with LANG=C.UTF-8 drew ASCII only:\n{screen}"
        ));
    }
    eprintln!(
        "xtask: --demo drew a frame under tmux ({})",
        if utf8 { "UTF-8" } else { "no locale: ASCII" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_elf, parse_version};

    /// This test binary is linked against the build machine's glibc (2.41
    /// here), the very failure the dist build avoids: the check must refuse it.
    #[test]
    fn a_binary_built_against_the_host_glibc_is_refused() {
        let me = std::env::current_exe().unwrap_or_default();
        match check_elf(&me) {
            Ok(report) => assert!(
                report.newest_glibc <= (2, 17, 99),
                "passed, yet needs {report}"
            ),
            Err(e) => assert!(e.contains("newer than GLIBC_2.17"), "{e}"),
        }
    }

    #[test]
    fn glibc_versions_parse() {
        assert_eq!(parse_version("2.2.5"), Some((2, 2, 5)));
        assert_eq!(parse_version("2.17"), Some((2, 17, 0)));
        assert_eq!(parse_version("2.34"), Some((2, 34, 0)));
        assert_eq!(parse_version("PRIVATE"), None);
        assert!(parse_version("2.17").is_some_and(|v| (v.0, v.1) <= super::GLIBC_MAX));
        assert!(parse_version("2.18").is_some_and(|v| (v.0, v.1) > super::GLIBC_MAX));
    }
}
