//! `eksdoctor lint podid`: EKS Pod Identity from saved AWS CLI output and
//! manifests (offline; no AWS, no cluster).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;

const CLUSTER: &str = "arn:aws:eks:us-west-2:111122223333:cluster/prod";

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/podid/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn lint(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("eksdoctor")
        .unwrap()
        .args(["lint", "podid"])
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
    let (code, stdout, stderr) = lint(&all);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (code, v)
}

fn rules(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn documented_trust_policy_is_clean() {
    let (code, v) = json(&[
        "--trust",
        &fixture("trust-good.json"),
        "--cluster-arn",
        CLUSTER,
    ]);
    assert_eq!(code, 0, "{v}");
    assert!(rules(&v).is_empty());
    assert_eq!(v["associations"][0]["result"], "ok");
}

#[test]
fn missing_tag_session_gives_the_fixed_policy_and_command() {
    let (code, v) = json(&[
        "--trust",
        &fixture("get-role-web-missing-tagsession.json"),
        "--associations",
        &fixture("describe-web.json"),
    ]);
    assert_eq!(code, 1);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "podid/trust-mismatch");
    assert_eq!(f["evidence"]["problem"], "missing-action");
    assert_eq!(
        f["fix"]["policy"]["Statement"][0]["Action"],
        serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
    );
    assert_eq!(
        f["fix"]["commands"][0],
        "aws iam update-assume-role-policy --role-name web-pods --policy-document file://trust-web-pods.json"
    );
}

#[test]
fn source_arn_of_another_cluster() {
    let (code, v) = json(&[
        "--trust",
        &fixture("trust-wrong-cluster.json"),
        "--cluster-arn",
        CLUSTER,
    ]);
    assert_eq!(code, 1);
    let f = &v["findings"][0];
    assert_eq!(f["evidence"]["problem"], "condition-mismatch");
    assert!(
        f["evidence"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("cluster/staging")
    );
    assert_eq!(
        f["fix"]["policy"]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        CLUSTER
    );
}

#[test]
fn associations_manifests_addons_and_target_role() {
    let (code, v) = json(&[
        "--associations",
        &fixture("list-associations.json"),
        "--associations",
        &fixture("describe-web.json"),
        "--associations",
        &fixture("describe-reports.json"),
        "--trust",
        &fixture("get-role-web-missing-tagsession.json"),
        "--target-trust",
        &fixture("get-role-reports-reader.json"),
        "--policy",
        &fixture("reports-policy.json"),
        "--addon",
        &fixture("list-addons.json"),
        &fixture("app.yaml"),
    ]);
    assert_eq!(code, 1);
    let mut got = rules(&v);
    got.sort();
    assert_eq!(
        got,
        [
            "podid/agent-missing",
            "podid/cross-account",
            "podid/irsa-precedence",
            "podid/no-association",
            "podid/trust-mismatch",
            "podid/unsupported-compute",
        ]
    );
    let rows = v["associations"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["service_account"], "app/legacy");
    assert!(rows[1]["result"].as_str().unwrap().contains("not checked"));
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().contains("team")),
        "session tag the policy relies on but Pod Identity does not set: {notes:?}"
    );
    let irsa = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "podid/irsa-precedence")
        .unwrap();
    assert!(
        irsa["message"]
            .as_str()
            .unwrap()
            .contains("role/legacy-irsa")
    );
    assert_eq!(irsa["location"]["line"], 7);
}

#[test]
fn degraded_agent_addon() {
    let (code, v) = json(&["--addon", &fixture("describe-addon-degraded.json")]);
    assert_eq!(code, 1);
    assert_eq!(rules(&v), ["podid/agent-missing"]);
    assert_eq!(v["findings"][0]["evidence"]["status"], "DEGRADED");
}

#[test]
fn service_account_without_association() {
    let (code, v) = json(&[
        "--associations",
        &fixture("list-associations.json"),
        "--service-account",
        "app/uploader",
    ]);
    assert_eq!(code, 1);
    assert_eq!(rules(&v), ["podid/no-association"]);
    assert!(
        v["findings"][0]["fix"]["commands"][0]
            .as_str()
            .unwrap()
            .contains("--cluster-name prod --namespace app --service-account uploader")
    );
}

#[test]
fn bad_input_is_exit_2_with_a_plain_message() {
    for args in [
        vec![
            "--associations".to_owned(),
            fixture("bad-associations.json"),
        ],
        vec![
            "--cluster-arn".to_owned(),
            "prod".to_owned(),
            "--addon".to_owned(),
            fixture("list-addons.json"),
        ],
        vec![
            "--service-account".to_owned(),
            "nonamespace".to_owned(),
            "--addon".to_owned(),
            fixture("list-addons.json"),
        ],
        vec!["--trust".to_owned(), fixture("missing.json")],
        vec!["--addon".to_owned(), fixture("app.yaml")],
        vec![],
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = lint(&a);
        assert_eq!(code, 2, "{args:?}: {stdout} {stderr}");
        assert!(stderr.contains("error"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bare_trust_file_pairs_with_the_one_association() {
    let (code, v) = json(&[
        "--trust",
        &fixture("trust-good.json"),
        "--associations",
        &fixture("describe-web.json"),
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["associations"][0]["service_account"], "app/web");
    assert_eq!(v["associations"][0]["result"], "ok");
}
