//! `eksdoctor completions SHELL`, `eksdoctor man DIR`, and `--version`
//! naming the commit: what an operator who copied only the binary needs.
#![allow(clippy::unwrap_used, clippy::panic)]

use assert_cmd::Command;

fn eksdoctor() -> Command {
    let mut c = Command::cargo_bin("eksdoctor").unwrap();
    c.env_remove("AWS_PROFILE");
    c
}

fn stdout_of(args: &[&str]) -> String {
    let out = eksdoctor().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F _eksdoctor"),
        ("zsh", "#compdef eksdoctor"),
        ("fish", "complete -c eksdoctor"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in [
            "explain",
            "lint",
            "aws-auth",
            "policy",
            "rules",
            "completions",
            "man",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
}

#[test]
fn the_bash_script_parses() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eksdoctor.bash");
    std::fs::write(&file, script).unwrap();
    let Ok(out) = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
    else {
        return; // no bash here
    };
    assert!(out.status.success(), "bash -n: {out:?}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = eksdoctor().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bash, zsh, fish"), "{err}");
}

#[test]
fn man_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = eksdoctor().arg("man").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for page in [
        "eksdoctor.1",
        "eksdoctor-explain.1",
        "eksdoctor-lint-aws-auth.1",
        "eksdoctor-lint-sts.1",
        "eksdoctor-lint-irsa.1",
        "eksdoctor-policy-eval.1",
        "eksdoctor-keys.1",
        "eksdoctor-whoami.1",
        "eksdoctor-check.1",
        "eksdoctor-rules.1",
        "eksdoctor-completions.1",
        "eksdoctor-man.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
}

#[test]
fn version_names_the_commit_and_the_tree() {
    let v = stdout_of(&["--version"]);
    let want = format!("eksdoctor {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(v.starts_with(&want), "{v}");
    assert!(
        v.contains(", clean tree)")
            || v.contains(", dirty tree)")
            || v.contains("unknown: not built from a git checkout)"),
        "{v}"
    );
    // Subcommands say the same.
    assert_eq!(stdout_of(&["explain", "--version"]).trim(), {
        let rest = v.trim().trim_start_matches("eksdoctor ");
        format!("eksdoctor-explain {rest}")
    });
}
