//! `eksdoctor lint sts`: the endpoint table, the three rules, bad input.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;

fn fixture(rel: &str) -> String {
    format!("{}/../../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn sts(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("eksdoctor")
        .unwrap()
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .args(["lint", "sts"])
        .args(args)
        .assert()
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let a = sts(&all);
    let out = a.get_output();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn findings<'a>(v: &'a Value, rule: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn workloads_table_and_rules() {
    let (code, v) = json(&[
        &fixture("sts/workloads.yaml"),
        &fixture("sts/list.yaml"),
        &fixture("sts/aws-config"),
        &fixture("sts/client.py"),
        "--region",
        "eu-west-1",
        "--cluster-version",
        "1.29",
    ]);
    assert_eq!(code, 1);
    let rows = v["workloads"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["workload"], "Deployment/uploader");
    assert_eq!(rows[0]["annotation"], "true");
    assert_eq!(rows[0]["effective"], "regional");
    assert_eq!(rows[0]["endpoint"], "https://sts.eu-west-1.amazonaws.com");
    assert_eq!(rows[1]["workload"], "CronJob/nightly");
    assert_eq!(rows[1]["env"], "legacy");
    assert_eq!(rows[1]["effective"], "global");
    assert_eq!(rows[2]["workload"], "Pod/worker");
    assert_eq!(rows[2]["service_account"], "default");

    let global = findings(&v, "sts/global-endpoint");
    assert_eq!(global.len(), 2);
    assert!(
        global[0]["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("workloads.yaml")
    );
    assert_eq!(global[0]["location"]["line"], 34);
    assert_eq!(global[1]["location"]["line"], 4);
    assert_eq!(
        global[1]["fix"]["replacement"],
        "sts = boto3.client(\"sts\", endpoint_url=\"https://sts.eu-west-1.amazonaws.com\")"
    );
    let bad = findings(&v, "sts/bad-annotation");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["location"]["line"], 18);
    assert_eq!(findings(&v, "sts/legacy-global-default").len(), 2);
}

#[test]
fn partitions_and_old_clusters() {
    let (code, v) = json(&[
        &fixture("sts/list.yaml"),
        "--region",
        "cn-north-1",
        "--cluster-version",
        "1.21",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        v["workloads"][0]["endpoint"],
        "https://sts.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(findings(&v, "sts/legacy-global-default").len(), 1);
    let (_, v) = json(&[&fixture("sts/list.yaml"), "--region", "us-gov-west-1"]);
    assert_eq!(
        v["workloads"][0]["endpoint"],
        "https://sts.us-gov-west-1.amazonaws.com"
    );
}

#[test]
fn example_service_account_is_clean() {
    let (code, v) = json(&[&fixture("examples/serviceaccount-regional.yaml")]);
    assert_eq!(code, 0);
    assert!(v["findings"].as_array().unwrap().is_empty());
}

#[test]
fn text_prints_the_table() {
    let a = sts(&[&fixture("sts/workloads.yaml"), "--region", "eu-west-1"]).code(1);
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(out.starts_with("WORKLOAD"), "{out}");
    assert!(out.contains("https://sts.eu-west-1.amazonaws.com"));
}

#[test]
fn bad_input_exits_2() {
    let a = sts(&[&fixture("sts/bad.yaml")]).code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("bad.yaml: line "), "{err}");
    sts(&["/nonexistent.yaml"]).code(2);
    sts(&[&fixture("sts/list.yaml"), "--cluster-version", "latest"]).code(2);
    sts(&[]).code(2);
}

#[test]
fn sarif_output() {
    let a = sts(&[&fixture("sts/client.py"), "--format", "sarif"]).code(1);
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "sts/global-endpoint");
}

/// Issue 18: a directory is walked (the README shows `lint sts manifests/`),
/// and input without workloads says so instead of an empty table and "ok".
#[test]
fn directories_are_walked_and_nothing_found_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("apps");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(fixture("sts/workloads.yaml"), sub.join("workloads.yaml")).unwrap();
    std::fs::write(sub.join("notes.bin"), [0u8, 1, 2, 3]).unwrap();
    let d = dir.path().to_str().unwrap();
    let (_, v) = json(&[d, "--region", "eu-west-1", "--cluster-version", "1.29"]);
    assert!(!v["workloads"].as_array().unwrap().is_empty(), "{v}");

    let empty = tempfile::tempdir().unwrap();
    std::fs::write(
        empty.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let e = empty.path().to_str().unwrap();
    let a = sts(&[e]).code(0);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("no workloads found in"), "{text}");
    let (_, v) = json(&[e]);
    assert!(
        v["note"].as_str().unwrap().contains("no workloads found"),
        "{v}"
    );
}
