//! `eksdoctor lint irsa`: trust policy against a service account, both input forms.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;

const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn fixture(rel: &str) -> String {
    format!(
        "{}/../../tests/fixtures/irsa/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn irsa(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("eksdoctor")
        .unwrap()
        .args(["lint", "irsa"])
        .args(args)
        .assert()
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let a = irsa(&all);
    let out = a.get_output();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn problems(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["rule"], "irsa/trust-mismatch");
            f["evidence"]["problem"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn single(trust: &str, sa: &str) -> (i32, Value) {
    json(&[
        "--role-trust",
        &fixture(trust),
        "--service-account",
        sa,
        "--issuer",
        ISSUER,
    ])
}

#[test]
fn every_mismatch_kind() {
    assert_eq!(single("trust-ok.json", "media/uploader").0, 0);
    let (code, v) = single("trust-wildcard-equals.json", "media/uploader");
    assert_eq!(code, 1);
    assert_eq!(problems(&v), ["wildcard-with-string-equals"]);
    let (_, v) = single("trust-wrong-sub.json", "media/uploader");
    assert_eq!(problems(&v), ["wrong-sub", "missing-aud"]);
    assert_eq!(v["findings"][1]["severity"], "warning");
    let (_, v) = single("trust-wrong-action.json", "media/uploader");
    assert_eq!(problems(&v), ["wrong-action"]);
    let (_, v) = single("trust-other-cluster.json", "media/uploader");
    assert_eq!(problems(&v), ["no-federated-principal"]);
    let fix = &v["findings"][0]["fix"];
    assert_eq!(
        fix["commands"][0],
        "aws iam update-assume-role-policy --role-name ROLE_NAME --policy-document file://trust.json"
    );
    assert_eq!(
        fix["policy"]["Statement"][0]["Principal"]["Federated"],
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    // The right policy for another service account is a wrong sub for this one.
    let (_, v) = single("trust-ok.json", "media/other");
    assert_eq!(problems(&v), ["wrong-sub"]);
}

/// Issue 18: without --issuer the trust policy's own provider stood in for
/// the cluster's, so a trust naming another cluster's provider said "ok".
#[test]
fn issuer_is_required_never_inferred() {
    for trust in ["trust-ok.json", "trust-other-cluster.json"] {
        let (code, v) = json(&[
            "--role-trust",
            &fixture(trust),
            "--service-account",
            "media/uploader",
        ]);
        assert_eq!(code, 2, "{trust}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("--issuer") && msg.contains("it trusts https://oidc.eks."),
            "{msg}"
        );
    }
    // Manifests with a saved get-role: the same.
    let (code, v) = json(&[
        &fixture("serviceaccounts.yaml"),
        "--role",
        &fixture("get-role-uploader.json"),
    ]);
    assert_eq!(code, 2);
    assert_eq!(v["error"]["kind"], "usage");
    // With the issuer, another cluster's provider is a mismatch, never ok.
    let (code, v) = single("trust-other-cluster.json", "media/uploader");
    assert_eq!(code, 1);
    assert!(!problems(&v).is_empty());
}

#[test]
fn nothing_to_check_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let a = irsa(&[dir.path().to_str().unwrap(), "--issuer", ISSUER]).code(0);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("no service accounts found in"), "{text}");
    // A directory is walked; a service account without a role's get-role is "not checked".
    let sub = dir.path().join("apps");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(fixture("serviceaccounts.yaml"), sub.join("sa.yaml")).unwrap();
    let (code, v) = json(&[dir.path().to_str().unwrap(), "--issuer", ISSUER]);
    assert_eq!(code, 0);
    let rows = v["service_accounts"].as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert!(
            r["result"].as_str().unwrap().starts_with("not checked"),
            "{r}"
        );
    }
    let a = irsa(&[dir.path().to_str().unwrap(), "--issuer", ISSUER]).code(0);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("not checked"), "{text}");
}

#[test]
fn manifests_with_saved_get_role() {
    let (code, v) = json(&[
        &fixture("serviceaccounts.yaml"),
        "--role",
        &fixture("get-role-uploader.json"),
        "--role",
        &fixture("get-role-reporter.json"),
        "--issuer",
        ISSUER,
    ]);
    assert_eq!(code, 1);
    let rows = v["service_accounts"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0]["result"], "ok",
        "URL-encoded get-role document decoded"
    );
    assert_eq!(rows[1]["role"], "reporter");
    let f = &v["findings"][0];
    assert!(
        f["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("serviceaccounts.yaml")
    );
    assert_eq!(f["location"]["line"], 15);
    assert_eq!(
        f["fix"]["commands"][0],
        "aws iam update-assume-role-policy --role-name reporter --policy-document file://trust.json"
    );
}

#[test]
fn bad_input_exits_2() {
    let a = irsa(&[
        "--role-trust",
        &fixture("malformed.json"),
        "--service-account",
        "a/b",
    ])
    .code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("malformed.json: line 4"), "{err}");
    irsa(&["--role-trust", &fixture("trust-ok.json")]).code(2);
    irsa(&[
        "--role-trust",
        &fixture("trust-ok.json"),
        "--service-account",
        "nope",
    ])
    .code(2);
    irsa(&[]).code(2);
    irsa(&[&fixture("../sts/bad.yaml"), "--issuer", ISSUER]).code(2);
}
