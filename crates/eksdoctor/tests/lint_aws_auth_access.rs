//! `eksdoctor lint aws-auth`: who has access, before and after what it
//! suggests (issues 18 and 12). A fix or a migration never changes a
//! principal's mapping without saying so; `--principal` answers as the
//! authenticator would, and refuses principals it would refuse.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/aws-auth")
        .join(name);
    p.to_string_lossy().into_owned()
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("eksdoctor").unwrap();
    c.env("NO_COLOR", "1").env_remove("AWS_PROFILE");
    c
}

/// (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json", "lint", "aws-auth"];
    all.extend_from_slice(args);
    let (c, out, err) = run(&all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    (c, v)
}

fn finding<'a>(v: &'a Value, rule: &str) -> Option<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
}

/// The reproduction of issue 18: role/build (builders) and role/ci/build
/// (system:masters). Stripping the path would make the second replace the
/// first: --fix must leave both and say why.
#[test]
fn fix_refuses_to_escalate_a_duplicate_after_the_path_fix() {
    let file = fixture("duplicate-after-path-fix.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let (c, out, err) = run(&["lint", "aws-auth", &file, "--fix"]);
    assert_eq!(c, 1, "{err}");
    assert_eq!(out, original);
    assert!(err.contains("no principal's mapping changes"), "{err}");
    assert!(
        err.contains("not fixed: the fix of the entry on line 12")
            && err.contains("second mapping of arn:aws:iam::111122223333:role/build, which line 8 maps today (username \"build\", groups [builders])"),
        "{err}"
    );
    let (c, v) = json(&[&file, "--fix"]);
    assert_eq!(c, 1);
    assert_eq!(v["fix"]["yaml"], original.as_str());
    assert_eq!(v["fix"]["access_changes"], serde_json::json!([]));
    assert_eq!(v["fix"]["not_fixed"].as_array().unwrap().len(), 1);
}

#[test]
fn fix_names_the_principals_it_maps() {
    let (c, out, err) = run(&["lint", "aws-auth", &fixture("role-path.yaml"), "--fix"]);
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("rolearn: arn:aws:iam::111122223333:role/eks-admin\n"));
    assert!(
        err.contains("1 principal map differently after the fix")
            && err.contains("arn:aws:iam::111122223333:role/eks-admin: not mapped → username \"eks-admin\", groups [eks-admins]"),
        "{err}"
    );
}

#[test]
fn migrate_leaves_out_what_grants_nothing_today() {
    let (_, v) = json(&[
        &fixture("duplicate-after-path-fix.yaml"),
        "--cluster",
        "prod",
    ]);
    let m = finding(&v, "aws-auth/migrate").unwrap();
    let cmds: Vec<&str> = m["fix"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(cmds.iter().all(|c| !c.contains("ci/build")), "{cmds:?}");
    assert_eq!(
        cmds.iter()
            .filter(|c| c.starts_with("aws eks create-access-entry"))
            .count(),
        1
    );
    assert_eq!(m["evidence"]["left_out"][0]["line"], 12);
    assert!(
        m["detail"]
            .as_str()
            .unwrap()
            .contains("Left out, because it grants nothing today")
    );
}

#[test]
fn a_rejected_configmap_maps_nobody() {
    let file = fixture("malformed-missing-pipe.yaml");
    let (c, out, _) = run(&[
        "lint",
        "aws-auth",
        &file,
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/dev/s",
    ]);
    assert_eq!(c, 1);
    assert!(
        out.starts_with(
            "not mapped: this ConfigMap would be rejected; the cluster keeps its previous aws-auth"
        ),
        "{out}"
    );
    let (_, v) = json(&[
        &file,
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/dev/s",
    ]);
    assert!(v.get("mapping").is_none());
    // Nothing to migrate either: the file would never be stored.
    assert!(finding(&v, "aws-auth/migrate").is_none());
}

#[test]
fn rolearn_and_sso_together_map_nobody() {
    let file = fixture("rolearn-and-sso.yaml");
    let (c, v) = json(&[
        &file,
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/viewer/s",
    ]);
    assert_eq!(c, 1);
    let f = finding(&v, "aws-auth/malformed-entry").unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("both rolearn and sso")
    );
    assert_eq!(f["location"]["line"], 8);
    assert!(v.get("mapping").is_none());
    assert!(finding(&v, "cluster/not-mapped").is_some());
}

#[test]
fn invalid_principals_exit_2_with_a_json_error() {
    for (p, needle) in [
        ("not-an-arn", "not an IAM or STS principal ARN"),
        (
            "arn:aws:sts::111122223333:assumed-role/dev",
            "names the role and the session",
        ),
        (
            "arn:aws-xx:iam::111122223333:user/alice",
            "partition \"aws-xx\" is not one the EKS authenticator knows",
        ),
    ] {
        let (c, out, err) = run(&[
            "--format",
            "json",
            "lint",
            "aws-auth",
            &fixture("clean.yaml"),
            "--principal",
            p,
        ]);
        assert_eq!(c, 2, "{p}");
        assert!(err.contains(needle), "{p}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{p}: {e}: {out}"));
        assert!(v["error"]["message"].as_str().unwrap().contains(needle));
        assert_eq!(v["error"]["exit_code"], 2);
        let (c, out, _) = run(&["lint", "aws-auth", &fixture("clean.yaml"), "--principal", p]);
        assert_eq!(c, 2);
        assert!(out.is_empty());
    }
}

#[test]
fn not_mapped_fix_fits_the_mode_and_carries_the_path() {
    let file = fixture("role-path.yaml");
    let who = "arn:aws:sts::111122223333:assumed-role/eks-admin/alice";
    // API: an access entry with the path from the aws-auth line, no aws-auth advice.
    let (_, v) = json(&[
        &file,
        "--principal",
        who,
        "--authentication-mode",
        "API",
        "--access-entries",
        &fixture("access-entries.json"),
    ]);
    let f = finding(&v, "cluster/not-mapped").unwrap();
    assert!(f["fix"].get("replacement").is_none(), "{f}");
    let cmd = f["fix"]["commands"][0].as_str().unwrap();
    assert!(
        cmd.contains("--principal-arn arn:aws:iam::111122223333:role/team/developers/eks-admin "),
        "{cmd}"
    );
    // CONFIG_MAP: aws-auth only, the ARN without path.
    let (_, v) = json(&[
        &file,
        "--principal",
        who,
        "--authentication-mode",
        "CONFIG_MAP",
    ]);
    let f = finding(&v, "cluster/not-mapped").unwrap();
    assert!(f["fix"].get("commands").is_none(), "{f}");
    assert!(
        f["fix"]["replacement"]
            .as_str()
            .unwrap()
            .contains("rolearn: arn:aws:iam::111122223333:role/eks-admin\n")
    );
    // --role-paths wins over the aws-auth line.
    let (_, v) = json(&[
        &fixture("clean.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/ops/bob",
        "--role-paths",
        &fixture("role-paths.json"),
        "--authentication-mode",
        "API_AND_CONFIG_MAP",
    ]);
    let f = finding(&v, "cluster/not-mapped").unwrap();
    assert!(
        f["fix"]["commands"][0]
            .as_str()
            .unwrap()
            .contains("--principal-arn arn:aws:iam::111122223333:role/platform/ops "),
        "{f}"
    );
    assert!(
        f["fix"]["replacement"]
            .as_str()
            .unwrap()
            .contains("rolearn: arn:aws:iam::111122223333:role/ops\n")
    );
}

#[test]
fn fix_refuses_sarif_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.yaml");
    let (c, out, err) = run(&[
        "--format",
        "sarif",
        "lint",
        "aws-auth",
        &fixture("role-path.yaml"),
        "--fix",
        "--output-file",
        target.to_str().unwrap(),
    ]);
    assert_eq!(c, 2);
    assert!(out.is_empty());
    assert!(err.contains("not sarif"), "{err}");
    assert!(!target.exists());
}
