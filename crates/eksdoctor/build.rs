//! Embeds every rule page under `docs/rules/` so `eksdoctor rules ID` works
//! from the installed binary, and sets `EKSDOCTOR_VERSION` for `--version`:
//! the version, the git commit and whether the tree was dirty.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            println!("cargo:rerun-if-changed={}", path.display());
            let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let id = rel.to_string_lossy().replace('\\', "/");
            out.push((id, path.canonicalize().unwrap_or(path.clone())));
        }
    }
}

/// Run git in `dir`; its trimmed stdout when it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        // `git status` would otherwise refresh .git/index, which would rerun us.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `0.1.0 (commit 0123456789ab, clean tree)`. `cargo xtask dist` passes the
/// commit it saw in EKSDOCTOR_BUILD_GIT (`<sha>` or `<sha>-dirty`), so the
/// shipped binary is exact; otherwise git is asked here, and rerun when HEAD,
/// the branch or the index move (an unstaged edit alone does not rerun this
/// script in a dev build). Without git or outside our own checkout (a crate
/// tarball) the commit is "unknown".
fn version(manifest: &Path) -> String {
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rerun-if-env-changed=EKSDOCTOR_BUILD_GIT");
    let described = std::env::var("EKSDOCTOR_BUILD_GIT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| from_git(manifest));
    match described {
        Some(d) => match d.trim().strip_suffix("-dirty") {
            Some(sha) => format!("{pkg} (commit {sha}, dirty tree)"),
            None => format!("{pkg} (commit {}, clean tree)", d.trim()),
        },
        None => format!("{pkg} (commit unknown: not built from a git checkout)"),
    }
}

fn from_git(manifest: &Path) -> Option<String> {
    // Only our own repository: a tarball unpacked inside some other git tree
    // must not borrow that tree's commit.
    git(manifest, &["ls-files", "--error-unmatch", "Cargo.toml"])?;
    let mut watch = vec![
        "HEAD".to_owned(),
        "index".to_owned(),
        "packed-refs".to_owned(),
    ];
    watch.extend(git(manifest, &["symbolic-ref", "-q", "HEAD"]));
    for path in watch {
        // A missing file would make cargo rerun this script on every build.
        if let Some(p) = git(manifest, &["rev-parse", "--git-path", &path])
            && manifest.join(&p).exists()
        {
            println!("cargo:rerun-if-changed={}", manifest.join(p).display());
        }
    }
    let sha = git(manifest, &["rev-parse", "--short=12", "HEAD"])?;
    let dirty = git(manifest, &["status", "--porcelain", "--untracked-files=no"])
        .is_none_or(|s| !s.is_empty());
    Some(if dirty { format!("{sha}-dirty") } else { sha })
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rustc-env=EKSDOCTOR_VERSION={}", version(&manifest));
    let root = manifest.join("../../docs/rules");
    let mut pages = Vec::new();
    collect(&root, &root, &mut pages);
    let mut code = String::from(
        "/// (rule id, page) for every page under docs/rules.\npub static PAGES: &[(&str, &str)] = &[\n",
    );
    for (id, path) in &pages {
        let _ = writeln!(
            code,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("rule_pages.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
