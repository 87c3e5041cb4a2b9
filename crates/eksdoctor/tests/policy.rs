//! `eksdoctor policy eval`: exit codes and the JSON contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/policy/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn eval(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("eksdoctor")
        .unwrap()
        .args(["policy", "eval"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = eval(&all);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (code, v)
}

#[test]
fn allow_exits_zero_and_names_the_statement() {
    let p = fixture("eks-read.json");
    let (code, v) = json(&["--policy", &p, "--action", "eks:DescribeCluster"]);
    assert_eq!(code, 0);
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["matched"][0]["statement"], "EksRead");
    assert_eq!(v["matched"][0]["effect"], "Allow");
    assert_eq!(v["matched"][0]["policy"], p);
    assert!(v["reasons"][0].as_str().unwrap().contains("EksRead"));
}

#[test]
fn boundary_blocks_with_a_plain_reason() {
    let (code, v) = json(&[
        "--policy",
        &fixture("eks-read.json"),
        "--boundary",
        &fixture("boundary-s3-only.json"),
        "--action",
        "eks:ListClusters",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["decision"], "implicit-deny");
    let r = v["reasons"][0].as_str().unwrap();
    assert!(
        r.contains("'EksRead'")
            && r.contains("permissions boundary")
            && r.contains("allows no eks:ListClusters"),
        "{r}"
    );
}

#[test]
fn explicit_deny_wins() {
    let (code, v) = json(&[
        "--policy",
        &fixture("eks-read.json"),
        "--policy",
        &fixture("deny-prod.json"),
        "--action",
        "eks:DescribeCluster",
        "--resource",
        "arn:aws:eks:us-west-2:111122223333:cluster/prod-a",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["decision"], "explicit-deny");
    assert!(
        v["matched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["statement"] == "NoProd" && m["effect"] == "Deny")
    );
}

#[test]
fn missing_condition_key_is_indeterminate_and_named() {
    let (code, v) = json(&[
        "--policy",
        &fixture("require-mfa.json"),
        "--action",
        "eks:DescribeCluster",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["decision"], "indeterminate");
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("aws:MultiFactorAuthPresent")
    );
    let (code, v) = json(&[
        "--policy",
        &fixture("require-mfa.json"),
        "--action",
        "eks:DescribeCluster",
        "--context",
        "aws:MultiFactorAuthPresent=true",
    ]);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")));
}

#[test]
fn trust_policy_with_account_root_and_external_id() {
    let args = [
        "--trust",
        &fixture("trust-account.json"),
        "--caller",
        "arn:aws:sts::111122223333:assumed-role/dev/alice",
        "--action",
        "sts:AssumeRole",
        "--resource",
        "arn:aws:iam::111122223333:role/ops",
    ];
    let (code, v) = json(&args);
    assert_eq!((code, v["decision"].as_str()), (1, Some("indeterminate")));
    let mut with = args.to_vec();
    with.extend(["--context", "sts:ExternalId=s3cr3t-ext"]);
    let (code, v) = json(&with);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")));
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("any principal of that account")
    );
    let mut wrong = args.to_vec();
    wrong.extend(["--context", "sts:ExternalId=nope"]);
    assert_eq!(json(&wrong).1["decision"], "implicit-deny");
}

#[test]
fn irsa_trust_from_saved_get_role_output() {
    let issuer = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let caller = format!("arn:aws:iam::111122223333:oidc-provider/{issuer}");
    let sub = format!("{issuer}:sub=system:serviceaccount:app:app-sa");
    let aud = format!("{issuer}:aud=sts.amazonaws.com");
    let (code, v) = json(&[
        "--trust",
        &fixture("get-role-irsa.json"),
        "--caller",
        &caller,
        "--action",
        "sts:AssumeRoleWithWebIdentity",
        "--resource",
        "arn:aws:iam::111122223333:role/irsa-app",
        "--context",
        &sub,
        "--context",
        &aud,
    ]);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")), "{v}");
    let wrong_sub = format!("{issuer}:sub=system:serviceaccount:app:other");
    let (code, v) = json(&[
        "--trust",
        &fixture("get-role-irsa.json"),
        "--caller",
        &caller,
        "--action",
        "sts:AssumeRoleWithWebIdentity",
        "--context",
        &wrong_sub,
        "--context",
        &aud,
    ]);
    assert_eq!((code, v["decision"].as_str()), (1, Some("implicit-deny")));
}

#[test]
fn bad_input_exits_two_with_place() {
    let (code, _, err) = eval(&[
        "--policy",
        &fixture("invalid.json"),
        "--action",
        "eks:ListClusters",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid.json") && err.contains("line 4, column"),
        "{err}"
    );
    let (code, _, err) = eval(&[
        "--policy",
        &fixture("unknown-operator.json"),
        "--action",
        "eks:ListClusters",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("StringEqualz") && err.contains("'Typo'"),
        "{err}"
    );
    let (code, _, err) = eval(&[
        "--policy",
        "/nonexistent.json",
        "--action",
        "eks:ListClusters",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    let (code, _, _) = eval(&[
        "--policy",
        &fixture("eks-read.json"),
        "--action",
        "eks:X",
        "--context",
        "novalue",
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = eval(&[
        "--trust",
        &fixture("trust-account.json"),
        "--action",
        "sts:AssumeRole",
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = eval(&["--action", "eks:ListClusters"]);
    assert_eq!(code, 2);
    let (code, _, err) = eval(&[
        "--policy",
        &fixture("eks-read.json"),
        "--action",
        "eks:X",
        "--caller",
        "bob",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn text_output_is_readable() {
    let (code, out, _) = eval(&[
        "--policy",
        &fixture("eks-read.json"),
        "--action",
        "eks:ListClusters",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("decision: allow"), "{out}");
    assert!(out.contains("statement 'EksRead'"));
}

#[test]
fn saved_get_policy_version_output_and_scp_regions() {
    let base = [
        "--policy",
        &fixture("get-policy-version.json"),
        "--scp",
        &fixture("scp-deny-regions.json"),
        "--action",
        "eks:DescribeCluster",
        "--resource",
        "arn:aws:eks:us-west-2:111122223333:cluster/dev",
    ];
    let mut ok = base.to_vec();
    ok.extend(["--context", "aws:RequestedRegion=us-west-2"]);
    let (code, v) = json(&ok);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")), "{v}");
    assert_eq!(v["matched"][0]["statement"], "EksAdmin");
    let mut bad = base.to_vec();
    bad.extend(["--context", "aws:RequestedRegion=ap-south-1"]);
    let (code, v) = json(&bad);
    assert_eq!((code, v["decision"].as_str()), (1, Some("explicit-deny")));
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("DenyOutsideApprovedRegions")
    );
    let (code, v) = json(&base);
    assert_eq!((code, v["decision"].as_str()), (1, Some("indeterminate")));
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("aws:RequestedRegion")
    );
}

#[test]
fn resource_policy_role_grant_is_capped_by_the_session_policy() {
    let args = [
        "--resource-policy",
        &fixture("bucket-policy.json"),
        "--caller",
        "arn:aws:sts::111122223333:assumed-role/app/i-0abc",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::app-config/settings.json",
    ];
    let (code, v) = json(&args);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")), "{v}");
    let mut capped = args.to_vec();
    let session = fixture("boundary-s3-only.json");
    capped.extend(["--session-policy", &session]);
    assert_eq!(json(&capped).1["decision"], "allow");
    let eks = fixture("eks-read.json");
    let mut capped = args.to_vec();
    capped.extend(["--session-policy", &eks]);
    let (code, v) = json(&capped);
    assert_eq!(
        (code, v["decision"].as_str()),
        (1, Some("implicit-deny")),
        "{v}"
    );
    assert!(
        v["reasons"][0].as_str().unwrap().contains("session policy"),
        "{v}"
    );
    let (code, v) = json(
        &args[..2]
            .iter()
            .chain(&args[4..])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        (code, v["decision"].as_str()),
        (1, Some("indeterminate")),
        "{v}"
    );
}

#[test]
fn sarif_is_refused_and_principal_in_identity_policy_is_bad_input() {
    let (code, _, err) = eval(&[
        "--format",
        "sarif",
        "--policy",
        &fixture("eks-read.json"),
        "--action",
        "eks:ListClusters",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = eval(&[
        "--policy",
        &fixture("bucket-policy.json"),
        "--action",
        "s3:GetObject",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Principal") && err.contains("--resource-policy"),
        "{err}"
    );
}

#[test]
fn absent_keys_gives_aws_answer_instead_of_indeterminate() {
    let p = fixture("require-mfa.json");
    let (code, v) = json(&["--policy", &p, "--action", "eks:DescribeCluster"]);
    assert_eq!((code, v["decision"].as_str()), (1, Some("indeterminate")));
    let (code, v) = json(&[
        "--policy",
        &p,
        "--action",
        "eks:DescribeCluster",
        "--absent-keys",
    ]);
    assert_eq!((code, v["decision"].as_str()), (1, Some("implicit-deny")));
    let (code, v) = json(&[
        "--policy",
        &p,
        "--action",
        "eks:DescribeCluster",
        "--absent-keys",
        "--context",
        "aws:MultiFactorAuthPresent=true",
    ]);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")));
}

#[test]
fn kms_key_needs_the_key_policy() {
    // AWS KMS "Key policies": without the key policy, IAM policies that
    // allow have no effect.
    let key = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let alice = "arn:aws:iam::111122223333:user/alice";
    let p = fixture("kms-decrypt.json");
    let (code, v) = json(&[
        "--policy",
        &p,
        "--caller",
        alice,
        "--action",
        "kms:Decrypt",
        "--resource",
        key,
    ]);
    assert_eq!(code, 1);
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no key policy was given")
    );
    let (code, v) = json(&[
        "--policy",
        &p,
        "--resource-policy",
        &fixture("key-policy-delegate.json"),
        "--caller",
        alice,
        "--action",
        "kms:Decrypt",
        "--resource",
        key,
    ]);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")));
}

#[test]
fn get_caller_identity_is_allowed_despite_a_deny() {
    let (code, v) = json(&[
        "--policy",
        &fixture("deny-prod.json"),
        "--action",
        "sts:GetCallerIdentity",
    ]);
    assert_eq!((code, v["decision"].as_str()), (0, Some("allow")));
    assert!(
        v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("needs no permission")
    );
}
