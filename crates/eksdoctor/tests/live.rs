//! The live commands (`whoami`, `keys`, `check`) as a user runs them: the
//! real binary against moto behind the fault-injecting proxy (the harness is
//! shared with crates/aws/tests), with dummy credentials in the environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../aws/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use common::World;
use serde_json::{Value, json};

/// The binary with a clean AWS environment: no profile, no files, no IMDS.
fn eksdoctor(home: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    cmd
}

fn with_keys(cmd: &mut Command, world: &World, (id, secret): (String, String)) {
    cmd.env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ]);
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn whoami_json_has_the_contract_fields() {
    let world = World::new(&json!({"users": [{"name": "alice", "keys": 1}]}));
    let home = tempfile::tempdir().unwrap();
    let key = world.user_key("alice", 0);
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, key.clone());
    let out = cmd.args(["whoami", "--format", "json"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(v["account"], "123456789012");
    assert_eq!(v["kind"], "user");
    assert_eq!(v["canonical_arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(v["credential_kind"], "long-term");
    assert_eq!(v["region"], common::REGION);
    assert!(v["user_id"].is_string());
    assert_eq!(v["findings"][0]["rule"], "keys/long-term-credentials");
    // The secret never shows.
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key.1));
}

#[test]
fn whoami_text_for_an_assumed_role_with_a_path() {
    let world = World::new(&json!({
        "roles": [{"name": "eks-admin", "path": "/team/dev/", "session": "alice"}]
    }));
    let (id, secret, token) = world.role_creds("eks-admin");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, (id, secret));
    cmd.env("AWS_SESSION_TOKEN", &token);
    let out = cmd.arg("whoami").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("assumed-role"), "{text}");
    assert!(
        text.contains("canonical_arn    arn:aws:iam::123456789012:role/eks-admin\n"),
        "{text}"
    );
    assert!(text.contains("temporary"));
    assert!(!text.contains(&token));
}

#[test]
fn no_credentials_is_creds_none_and_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let out = eksdoctor(home.path())
        .args(["whoami", "--region", "us-west-2", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["findings"][0]["rule"], "creds/none");
    assert!(
        v["findings"][0]["fix"]["commands"][0]
            .as_str()
            .unwrap()
            .starts_with("aws configure")
    );
}

#[test]
fn expired_sso_profile_names_the_login_command() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config"),
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = Admin\nregion = us-west-2\n\n[sso-session corp]\n\
         sso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    let out = eksdoctor(home.path())
        .args(["whoami", "--profile", "dev", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    let rule = v["findings"][0]["rule"].as_str().unwrap();
    assert!(rule == "creds/expired" || rule == "creds/none", "{v}");
    assert_eq!(
        v["findings"][0]["fix"]["commands"][0],
        "aws sso login --profile dev"
    );
}

#[test]
fn no_region_is_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let out = eksdoctor(home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7TESTKEY")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
        .arg("whoami")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("region"));
}
