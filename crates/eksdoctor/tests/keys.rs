//! `eksdoctor keys` from saved CLI output: exit codes, JSON fields, masking.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-11-29T00:00:00Z";

fn fixture(rel: &str) -> String {
    format!("{}/../../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn keys(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("eksdoctor")
        .unwrap()
        .arg("keys")
        .args(["--now", NOW])
        .args(args)
        .assert()
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let a = keys(&all);
    let out = a.get_output();
    let code = out.status.code().unwrap();
    (code, serde_json::from_slice(&out.stdout).unwrap())
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
fn example_list_access_keys() {
    let (code, v) = json(&["-i", &fixture("examples/list-access-keys.json")]);
    assert_eq!(code, 1, "example keys are errors");
    let r = rules(&v);
    for rule in [
        "keys/example-key",
        "keys/limit-reached",
        "keys/old",
        "keys/inactive",
    ] {
        assert!(r.iter().any(|x| x == rule), "{rule} missing from {r:?}");
    }
    // Without the credential report, last use is unknown: no keys/unused.
    assert!(!r.iter().any(|x| x == "keys/unused"));
    let users = &v["users"];
    assert_eq!(users[0]["user"], "marymajor");
    assert_eq!(users[0]["count"], 2);
    assert_eq!(users[0]["limit"], 2);
    // AKIAIOSFODNN7EXAMPLE and AKIAI44QH8DHBEXAMPLE both mask to
    // AKIA************MPLE: enough of the end is shown to tell them apart.
    assert_eq!(users[0]["keys"][0]["access_key_id"], "AKIA********7EXAMPLE");
    assert_eq!(users[0]["keys"][1]["access_key_id"], "AKIA********BEXAMPLE");
    assert_eq!(users[0]["keys"][0]["age_days"], 1001);
    // The limit-reached fix deletes the inactive key first, by full id.
    let limit = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "keys/limit-reached")
        .unwrap();
    let cmds = limit["fix"]["commands"].as_array().unwrap();
    assert_eq!(
        cmds[0],
        "aws iam delete-access-key --user-name marymajor --access-key-id AKIAI44QH8DHBEXAMPLE"
    );
    assert_eq!(cmds[1], "aws iam create-access-key --user-name marymajor");
    assert!(
        limit["fix"]["summary"]
            .as_str()
            .unwrap()
            .contains("shown only once")
    );
}

#[test]
fn credential_report_json_and_csv_agree() {
    let (c1, a) = json(&["-i", &fixture("keys/credential-report.json")]);
    let (c2, b) = json(&["-i", &fixture("keys/credential-report.csv")]);
    assert_eq!(c1, 1, "root keys are an error");
    assert_eq!(c1, c2);
    assert_eq!(a, b);
    let r = rules(&a);
    assert!(r.contains(&"keys/root-keys".to_owned()), "{r:?}");
    // carol: two active keys, one unused for over 90 days.
    assert!(r.contains(&"keys/two-active".to_owned()), "{r:?}");
    assert!(r.contains(&"keys/unused".to_owned()), "{r:?}");
    let root = a["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "<root_account>")
        .unwrap();
    assert_eq!(root["keys"][0]["access_key_id"], "unknown");
    assert_eq!(root["keys"][0]["placeholder"], "ACCESS_KEY_ID");
    assert_eq!(root["keys"][0]["last_used"]["service"], "iam");
}

#[test]
fn combined_inputs_fill_in_last_use() {
    let (_, v) = json(&[
        "-i",
        &fixture("keys/list-access-keys-concatenated.json"),
        "-i",
        &fixture("keys/credential-report.csv"),
        "--user",
        "carol",
    ]);
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    let keys = users[0]["keys"].as_array().unwrap();
    assert_eq!(keys[0]["access_key_id"], "AKIA************OL2B");
    assert_eq!(keys[0]["last_used"]["date"], "2026-07-01");
    let unused = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "keys/unused")
        .unwrap();
    assert!(
        unused["fix"]["commands"][0]
            .as_str()
            .unwrap()
            .contains("AKIAJ2EXAMPLECAROL2B")
    );
}

#[test]
fn thresholds_are_configurable() {
    let (code, v) = json(&[
        "-i",
        &fixture("keys/list-access-keys-concatenated.json"),
        "--user",
        "bob",
        "--max-age-days",
        "30",
    ]);
    assert_eq!(code, 0);
    assert_eq!(rules(&v), ["keys/old"]);
    let (_, v) = json(&[
        "-i",
        &fixture("keys/list-access-keys-concatenated.json"),
        "--user",
        "bob",
    ]);
    assert!(rules(&v).is_empty());
}

#[test]
fn text_prints_the_table_first() {
    let a = keys(&["-i", &fixture("examples/list-access-keys.json")]).code(1);
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(
        out.starts_with("marymajor: 2/2 keys (limit reached)"),
        "{out}"
    );
    assert!(out.contains("AKIA********7EXAMPLE  Active"), "{out}");
}

/// Issue 18: two keys whose usual masks look alike (`AKIA************MPLE`
/// twice) are told apart in the table, the findings and the plan.
#[test]
fn look_alike_keys_are_told_apart_everywhere() {
    let (_, v) = json(&["-i", &fixture("examples/list-access-keys.json")]);
    let text = v.to_string();
    assert!(!text.contains("AKIA************MPLE"), "{text}");
    for f in v["findings"].as_array().unwrap() {
        if let Some(id) = f["evidence"]["access_key_id"].as_str() {
            assert!(id.contains("7EXAMPLE") || id.contains("BEXAMPLE"), "{id}");
        }
    }
    let steps = v["users"][0]["rotation_plan"]["steps"].as_array().unwrap();
    let summaries: Vec<&str> = steps.iter().filter_map(|s| s["summary"].as_str()).collect();
    assert!(
        summaries.iter().any(|s| s.contains("BEXAMPLE")),
        "{summaries:?}"
    );
}

/// A plan from the credential report alone: one placeholder per key, never
/// the same one twice, never masked.
#[test]
fn report_only_plan_has_distinct_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let header = std::fs::read_to_string(fixture("keys/credential-report.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let row = "dave,arn:aws:iam::111122223333:user/dave,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,\
               true,2021-01-01T00:00:00+00:00,2026-11-01T00:00:00+00:00,us-east-1,s3,\
               true,2022-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A";
    let path = dir.path().join("report.csv");
    std::fs::write(&path, format!("{header}\n{row}\n")).unwrap();
    let (_, v) = json(&["-i", path.to_str().unwrap()]);
    let user = &v["users"][0];
    assert_eq!(user["keys"][0]["placeholder"], "ACCESS_KEY_ID_1");
    assert_eq!(user["keys"][1]["placeholder"], "ACCESS_KEY_ID_2");
    let cmds: Vec<String> = user["rotation_plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["commands"].as_array().unwrap().clone())
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let all = cmds.join("\n");
    assert!(
        all.contains("ACCESS_KEY_ID_1") || all.contains("ACCESS_KEY_ID_2"),
        "{all}"
    );
    assert!(
        !all.contains("--access-key-id ACCESS_KEY_ID\n") && !all.contains('*'),
        "{all}"
    );
    let a = keys(&["-i", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(text.contains("unknown (ACCESS_KEY_ID_1)"), "{text}");
    assert!(text.contains("unknown (ACCESS_KEY_ID_2)"), "{text}");
}

#[test]
fn secret_in_input_is_never_shown() {
    let a = keys(&[
        "-i",
        &fixture("keys/create-access-key.json"),
        "--format",
        "json",
    ])
    .code(1);
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(!out.contains("Xy9kLmN0pQrStUvWxYz1A2b3C4d5E6f7G8h9I0jK"));
    // The id arrived with its secret: masked everywhere, commands included.
    assert!(!out.contains("AKIADAVEEXAMPLEKEY01"), "{out}");
    assert!(out.contains("keys/secret-in-input"));
}

#[test]
fn bad_input_exits_2_with_file_and_line() {
    let a = keys(&["-i", &fixture("keys/malformed.json")]).code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("malformed.json: line 6"), "{err}");
    let a = keys(&["-i", &fixture("keys/credential-report-bad-row.csv")]).code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("credential-report-bad-row.csv: line 3"),
        "{err}"
    );
    keys(&["-i", "/nonexistent/keys.json"]).code(2);
    keys(&["-i", &fixture("examples/aws-auth-with-path.yaml")]).code(2);
}

#[test]
fn no_input_is_a_live_error() {
    keys(&[]).code(3);
}
