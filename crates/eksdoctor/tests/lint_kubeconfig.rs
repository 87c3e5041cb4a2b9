//! `eksdoctor lint kubeconfig` as a user runs it: files, $KUBECONFIG merging,
//! --context, --profile / AWS_PROFILE, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;

const PROD: &str = r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://ABCD.gr7.eu-west-1.eks.amazonaws.com
  name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:eu-west-1:111122223333:cluster/prod
    user: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
current-context: arn:aws:eks:eu-west-1:111122223333:cluster/prod
users:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: sh
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod]
      env:
      - name: AWS_PROFILE
        value: ops
"#;

fn eksdoctor() -> Command {
    let mut c = Command::cargo_bin("eksdoctor").unwrap();
    c.env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("KUBECONFIG");
    c
}

fn rules(out: &std::process::Output) -> Vec<String> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn profile_from_the_exec_env_against_the_one_diagnosed() {
    let dir = tempfile::tempdir().unwrap();
    // `sh` is on PATH; the exec is not an aws CLI, so use one that is.
    let kc = dir.path().join("config");
    std::fs::write(&kc, PROD.replace("command: sh", "command: aws")).unwrap();
    let out = eksdoctor()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
        .args(["--profile", "dev", "lint", "kubeconfig", "--format", "json"])
        .arg(&kc)
        .output()
        .unwrap();
    let r = rules(&out);
    assert!(
        r.contains(&"kubeconfig/identity-mismatch".to_owned()),
        "{r:?}"
    );
    let text = eksdoctor()
        .env("AWS_PROFILE", "ops")
        .args(["lint", "kubeconfig", "--format", "json"])
        .arg(&kc)
        .output()
        .unwrap();
    assert!(!rules(&text).contains(&"kubeconfig/identity-mismatch".to_owned()));
}

#[test]
fn kubeconfig_env_is_merged_and_a_missing_context_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    std::fs::write(&a, PROD.replace("command: sh", "command: /bin/sh")).unwrap();
    let joined = std::env::join_paths([a.as_path(), dir.path().join("absent").as_path()]).unwrap();
    let out = eksdoctor()
        .env("KUBECONFIG", &joined)
        .args([
            "lint",
            "kubeconfig",
            "--format",
            "json",
            "--context",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rules(&out), ["kubeconfig/missing-entry"]);
}

#[test]
fn bad_input_is_exit_2_with_a_plain_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "clusters: [\n").unwrap();
    let out = eksdoctor()
        .args(["lint", "kubeconfig"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("eksdoctor: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));
    let out = eksdoctor()
        .args(["lint", "kubeconfig"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
