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

fn two_cluster_world() -> World {
    // 1.21 in us-east-1 without an OIDC provider, 1.29 in us-west-2 with one
    // (moto gives every cluster of a region the same issuer).
    World::new(&json!({
        "users": [{"name": "alice", "keys": 2}],
        "clusters": [
            {"name": "old", "version": "1.21", "region": "us-east-1"},
            {"name": "new", "version": "1.29", "oidc_provider": true}
        ]
    }))
}

#[test]
fn check_all_clusters_json() {
    let world = two_cluster_world();
    world.faults().auth_mode.insert("new".into(), "API".into());
    let home = tempfile::tempdir().unwrap();
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, world.user_key("alice", 0));
    let out = cmd
        .args([
            "check",
            "--all-clusters",
            "--regions",
            "us-west-2,us-east-1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    // cluster/not-mapped (API mode, no access entry) and irsa/oidc-provider-missing are errors.
    assert_eq!(out.status.code(), Some(1), "{v}");
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for r in [
        "keys/limit-reached",
        "keys/long-term-credentials",
        "sts/legacy-global-default",
        "irsa/oidc-provider-missing",
        "cluster/not-mapped",
    ] {
        assert!(rules.contains(&r), "{r} missing from {rules:?}");
    }
    assert_eq!(v["identity"]["state"], "ready");
    assert_eq!(v["clusters"].as_array().unwrap().len(), 2);
    let new = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "new")
        .unwrap();
    assert_eq!(new["cluster"]["value"]["authentication_mode"], "API");
    assert_eq!(new["mapped"], false);
    assert_eq!(new["oidc_provider"]["value"], true);
    let not_mapped = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cluster/not-mapped")
        .unwrap();
    assert!(
        not_mapped["fix"]["commands"][0]
            .as_str()
            .unwrap()
            .contains("--cluster-name new --region us-west-2"),
        "{not_mapped}"
    );
    // The Kubernetes probes are on by default: moto's made-up endpoints do
    // not answer, and each cluster says so (with DescribeCluster's endpoint
    // access), as a finding, not a failed run.
    for c in v["clusters"].as_array().unwrap() {
        assert_eq!(c["kubernetes"]["reachable"], false, "{c}");
        let key = format!(
            "{}/{}",
            c["region"].as_str().unwrap(),
            c["name"].as_str().unwrap()
        );
        assert_eq!(v["kubernetes"][&key]["reachable"], false, "{v}");
    }
    let unreachable: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "cluster/unreachable")
        .collect();
    assert_eq!(unreachable.len(), 2, "{unreachable:?}");
    assert!(
        unreachable[0]["evidence"]["endpoint_access"]
            .get("public")
            .is_some(),
        "{unreachable:?}"
    );
}

#[test]
fn check_one_cluster_text() {
    let world = two_cluster_world();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, world.user_key("alice", 0));
    // Without the Kubernetes probes: moto's clusters have made-up endpoints
    // (check_all_clusters_json shows what the probes say about them).
    let out = cmd
        .args(["check", "--cluster", "new", "--no-kubernetes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("cluster    new (us-west-2)"), "{text}");
    assert!(text.contains("version 1.29"), "{text}");
    assert!(text.contains("OIDC provider present"), "{text}");
    assert!(!text.contains("cluster    old"), "{text}");
    // Key ids masked in the summary (fix commands carry the full id, by the
    // spec: the operator must paste them); the secret never shows.
    let (id, secret) = world.user_key("alice", 0);
    assert!(
        text.contains(&eksdoctor_core::mask::mask_key_id(&id)),
        "{text}"
    );
    assert!(!text.contains(&secret), "{text}");
}

#[test]
fn check_with_a_hung_describe_times_out_that_section() {
    let world = two_cluster_world();
    world.faults().hang.insert("DescribeCluster".into());
    let home = tempfile::tempdir().unwrap();
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, world.user_key("alice", 0));
    let started = std::time::Instant::now();
    let out = cmd
        .args(["check", "--timeout", "2", "--format", "json"])
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let v = json_of(&out);
    assert_eq!(v["clusters"][0]["cluster"]["state"], "timed-out", "{v}");
    assert_eq!(v["identity"]["state"], "ready");
}

#[test]
fn check_bad_regions_is_usage() {
    let home = tempfile::tempdir().unwrap();
    let out = eksdoctor(home.path())
        .args(["check", "--regions", "us-west-2,not a region"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keys_live_two_keys() {
    let world = two_cluster_world();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, world.user_key("alice", 0));
    let out = cmd.args(["keys", "--format", "json"]).output().unwrap();
    let v = json_of(&out);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"keys/limit-reached"), "{v}");
    let (_, secret) = world.user_key("alice", 0);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret));
}

#[test]
fn keys_live_denied_is_probe_denied() {
    let world = World::new(&json!({
        "users": [{"name": "limited", "keys": 1, "policy": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]
        }}],
        "enforce_auth": true
    }));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = eksdoctor(home.path());
    with_keys(&mut cmd, &world, world.user_key("limited", 0));
    let out = cmd.args(["keys", "--format", "json"]).output().unwrap();
    let v = json_of(&out);
    let denied = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "creds/probe-denied")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(denied["evidence"]["permission"], "iam:ListAccessKeys");
    assert_eq!(out.status.code(), Some(0));
}
