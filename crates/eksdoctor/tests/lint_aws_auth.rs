//! `eksdoctor lint aws-auth` end to end, from the fixtures under
//! tests/fixtures/aws-auth/: one per rule and per authenticator behaviour.

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

/// Run with `--format json`; (exit code, report).
fn json(args: &[&str]) -> (i32, Value) {
    let out = bin()
        .args(["--format", "json", "lint", "aws-auth"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

fn rules_at(v: &Value) -> Vec<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] != "aws-auth/migrate")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["location"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn has(v: &Value, rule: &str, line: u64) -> bool {
    rules_at(v).iter().any(|(r, l)| r == rule && *l == line)
}

#[test]
fn each_rule_fires_at_the_line_of_the_file() {
    let cases: &[(&str, &str, u64, i32)] = &[
        ("role-path.yaml", "aws-auth/role-path", 8, 1),
        ("sso-role-path.yaml", "aws-auth/role-path", 8, 1),
        ("assumed-role-arn.yaml", "aws-auth/assumed-role-arn", 8, 1),
        ("wrong-section-key.yaml", "aws-auth/wrong-section", 8, 1),
        ("wrong-section-kind.yaml", "aws-auth/wrong-section", 13, 0),
        ("invalid-arn.yaml", "aws-auth/invalid-arn", 8, 1),
        ("invalid-arn.yaml", "aws-auth/invalid-arn", 10, 1),
        ("invalid-arn.yaml", "aws-auth/invalid-arn", 12, 1),
        ("invalid-arn.yaml", "aws-auth/invalid-arn", 15, 1),
        (
            "malformed-missing-arn.yaml",
            "aws-auth/malformed-entry",
            8,
            1,
        ),
        (
            "malformed-missing-arn.yaml",
            "aws-auth/malformed-entry",
            11,
            1,
        ),
        (
            "malformed-swallowed-dash.yaml",
            "aws-auth/malformed-entry",
            11,
            1,
        ),
        (
            "malformed-groups-string.yaml",
            "aws-auth/malformed-entry",
            10,
            1,
        ),
        (
            "malformed-missing-pipe.yaml",
            "aws-auth/malformed-entry",
            7,
            1,
        ),
        ("unknown-key.yaml", "aws-auth/unknown-key", 7, 0),
        ("unknown-key.yaml", "aws-auth/unknown-key", 10, 0),
        ("duplicate.yaml", "aws-auth/duplicate", 8, 0),
        ("node-role-groups.yaml", "aws-auth/node-role-groups", 9, 1),
        ("reserved-username.yaml", "aws-auth/reserved-username", 9, 0),
        (
            "reserved-username.yaml",
            "aws-auth/reserved-username",
            13,
            0,
        ),
        ("system-masters.yaml", "aws-auth/system-masters", 11, 0),
        ("invalid-yaml.yaml", "aws-auth/invalid-yaml", 9, 1),
        ("invalid-inner-yaml.yaml", "aws-auth/invalid-yaml", 11, 1),
        ("kubectl-output.yaml", "aws-auth/role-path", 11, 1),
        ("list.yaml", "aws-auth/role-path", 18, 1),
        ("multi-doc.yaml", "aws-auth/role-path", 13, 1),
        ("quoted.yaml", "aws-auth/role-path", 7, 1),
        ("wrong-namespace.yaml", "aws-auth/malformed-entry", 5, 1),
        ("duplicate-data-key.yaml", "aws-auth/malformed-entry", 10, 1),
    ];
    for (file, rule, line, code) in cases {
        let (c, v) = json(&[&fixture(file)]);
        assert!(
            has(&v, rule, *line),
            "{file}: no {rule} at line {line}: {:?}",
            rules_at(&v)
        );
        assert_eq!(c, *code, "{file}: exit");
    }
}

#[test]
fn clean_configmaps_have_only_the_migration_note() {
    for file in [
        "clean.yaml",
        "case-insensitive-keys.yaml",
        "map-accounts.yaml",
    ] {
        let (c, v) = json(&[&fixture(file)]);
        assert_eq!(c, 0, "{file}");
        assert!(rules_at(&v).is_empty(), "{file}: {:?}", rules_at(&v));
        assert_eq!(v["findings"][0]["rule"], "aws-auth/migrate");
    }
}

#[test]
fn invalid_yaml_gives_line_and_column() {
    let (_, v) = json(&[&fixture("invalid-yaml.yaml")]);
    let loc = &v["findings"][0]["location"];
    assert_eq!(loc["line"], 9);
    assert!(loc["column"].as_u64().unwrap() >= 1);
}

#[test]
fn bad_input_is_a_plain_error_with_exit_2() {
    for (file, needle) in [
        (fixture("not-configmap.yaml"), "Deployment web"),
        (fixture("other-configmap.yaml"), "ConfigMap coredns"),
        (fixture("does-not-exist.yaml"), "no such file"),
    ] {
        let out = bin().args(["lint", "aws-auth", &file]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn stdin_is_read_with_dash() {
    let text = std::fs::read_to_string(fixture("role-path.yaml")).unwrap();
    let out = bin()
        .args(["--format", "json", "lint", "aws-auth", "-"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["location"]["file"], "<stdin>");
    assert_eq!(v["findings"][0]["location"]["line"], 8);
}

#[test]
fn principal_with_a_path_entry_is_not_mapped_and_says_why() {
    let (c, v) = json(&[
        &fixture("role-path.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/eks-admin/alice",
    ]);
    assert_eq!(c, 1);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cluster/not-mapped")
        .unwrap();
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("the entry on line 8 has a path; the authenticator compares against arn:aws:iam::111122223333:role/eks-admin"),
        "{msg}"
    );
    assert_eq!(f["location"]["line"], 8);
    assert!(v.get("mapping").is_none());
}

#[test]
fn principal_mapped_renders_templates() {
    let (c, v) = json(&[
        &fixture("case-insensitive-keys.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/dev/alice@example.com",
    ]);
    assert_eq!(c, 0);
    assert_eq!(v["mapping"]["source"], "aws-auth");
    assert_eq!(
        v["mapping"]["username"],
        "dev-111122223333-alice-example.com-alice@example.com"
    );
    assert_eq!(v["mapping"]["groups"], serde_json::json!(["devs"]));
    assert_eq!(v["mapping"]["line"], 8);
}

#[test]
fn node_template_is_unknown_offline() {
    let (_, v) = json(&[
        &fixture("clean.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0123456789abcdef0",
    ]);
    assert_eq!(
        v["mapping"]["username"],
        "system:node:{{EC2PrivateDNSName}}"
    );
    assert_eq!(
        v["mapping"]["unresolved"],
        serde_json::json!(["EC2PrivateDNSName"])
    );
    // A non-instance session on the node role: the authenticator refuses.
    let (c, v) = json(&[
        &fixture("clean.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/eks-node-role/bob",
    ]);
    assert_eq!(c, 1);
    assert!(v.get("mapping").is_none());
}

#[test]
fn map_accounts_maps_with_the_canonical_arn() {
    let (_, v) = json(&[
        &fixture("map-accounts.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/anyone/s",
    ]);
    assert_eq!(
        v["mapping"]["username"],
        "arn:aws:iam::111122223333:role/anyone"
    );
    assert_eq!(v["mapping"]["groups"], serde_json::json!([]));
}

#[test]
fn user_principal_and_wrong_case_section() {
    let (_, v) = json(&[
        &fixture("clean.yaml"),
        "--principal",
        "arn:aws:iam::111122223333:user/alice",
    ]);
    assert_eq!(v["mapping"]["username"], "alice");
    let (_, v) = json(&[
        &fixture("unknown-key.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/dev/s",
    ]);
    let msg = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cluster/not-mapped")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("MapRoles"), "{msg}");
}

#[test]
fn access_entries_take_precedence_in_api_and_config_map() {
    let base = [
        fixture("clean.yaml"),
        "--access-entries".to_owned(),
        fixture("access-entries.json"),
        "--principal".to_owned(),
        "arn:aws:sts::111122223333:assumed-role/dev/bob".to_owned(),
        "--authentication-mode".to_owned(),
    ];
    let run = |mode: &str| {
        let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
        a.push(mode);
        json(&a)
    };
    let (c, v) = run("API_AND_CONFIG_MAP");
    assert_eq!(c, 0);
    assert_eq!(v["mapping"]["source"], "access-entry");
    assert_eq!(v["mapping"]["username"], "ae-dev:bob");
    assert_eq!(v["mapping"]["groups"], serde_json::json!(["ae-devs"]));
    assert_eq!(
        v["mapping"]["access_policies"],
        serde_json::json!(["arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"])
    );
    let (_, v) = run("CONFIG_MAP");
    assert_eq!(v["mapping"]["source"], "aws-auth");
    assert_eq!(v["mapping"]["username"], "dev:bob");
    assert!(has(&v, "cluster/config-map-only", 6));
    let (_, v) = run("API");
    assert_eq!(v["mapping"]["source"], "access-entry");
    // API mode with only aws-auth mapping the caller: not mapped.
    let (c, v) = json(&[
        &fixture("clean.yaml"),
        "--access-entries",
        &fixture("access-entries.json"),
        "--principal",
        "arn:aws:iam::111122223333:user/alice",
        "--authentication-mode",
        "API",
    ]);
    assert_eq!(c, 1);
    assert!(v.get("mapping").is_none());
}

#[test]
fn access_entry_path_and_migration_paths() {
    let (_, v) = json(&[
        &fixture("clean.yaml"),
        "--access-entries",
        &fixture("access-entries.json"),
        "--role-paths",
        &fixture("role-paths.json"),
        "--cluster",
        "prod",
    ]);
    let findings = v["findings"].as_array().unwrap();
    let aep = findings
        .iter()
        .find(|f| f["rule"] == "cluster/access-entry-path")
        .unwrap();
    assert_eq!(
        aep["evidence"]["role_arn"],
        "arn:aws:iam::111122223333:role/platform/ops"
    );
    let mig = findings
        .iter()
        .find(|f| f["rule"] == "aws-auth/migrate")
        .unwrap();
    let cmds: Vec<&str> = mig["fix"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(cmds.contains(&"aws eks create-access-entry --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/team/dev --kubernetes-groups devs --username 'dev:{{SessionName}}' --type STANDARD"), "{cmds:?}");
    assert!(cmds.contains(&"aws eks create-access-entry --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/eks-node-role --type EC2_LINUX"), "{cmds:?}");
    assert_eq!(
        mig["evidence"]["unknown_paths"],
        serde_json::json!(["arn:aws:iam::111122223333:role/eks-node-role"])
    );
}

#[test]
fn system_masters_migrates_to_cluster_admin_policy() {
    let (_, v) = json(&[&fixture("system-masters.yaml"), "--cluster", "prod"]);
    let mig = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "aws-auth/migrate")
        .unwrap();
    let cmds = mig["fix"]["commands"].to_string();
    assert!(cmds.contains("associate-access-policy --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/admin --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster"), "{cmds}");
}

#[test]
fn fix_prints_a_configmap_that_lints_clean_for_what_was_fixed() {
    let fixable = [
        ("role-path.yaml", "aws-auth/role-path"),
        ("sso-role-path.yaml", "aws-auth/role-path"),
        ("assumed-role-arn.yaml", "aws-auth/assumed-role-arn"),
        ("wrong-section-key.yaml", "aws-auth/wrong-section"),
        ("wrong-section-kind.yaml", "aws-auth/wrong-section"),
        ("malformed-swallowed-dash.yaml", "aws-auth/malformed-entry"),
        ("malformed-groups-string.yaml", "aws-auth/malformed-entry"),
        ("malformed-missing-pipe.yaml", "aws-auth/malformed-entry"),
        ("unknown-key.yaml", "aws-auth/unknown-key"),
        ("duplicate.yaml", "aws-auth/duplicate"),
        ("node-role-groups.yaml", "aws-auth/node-role-groups"),
        ("kubectl-output.yaml", "aws-auth/role-path"),
        ("quoted.yaml", "aws-auth/role-path"),
        ("list.yaml", "aws-auth/role-path"),
        ("multi-doc.yaml", "aws-auth/role-path"),
    ];
    for (file, rule) in fixable {
        let out = bin()
            .args(["lint", "aws-auth", &fixture(file), "--fix"])
            .output()
            .unwrap();
        let fixed = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("fixed"), "{file}: {stderr}");
        let again = bin()
            .args(["--format", "json", "lint", "aws-auth", "-"])
            .write_stdin(fixed.clone())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&again.stdout).unwrap();
        assert!(
            !rules_at(&v).iter().any(|(r, _)| r == rule),
            "{file}: {rule} still there after --fix:\n{fixed}\n{:?}",
            rules_at(&v)
        );
    }
}

#[test]
fn fix_keeps_comments_and_order() {
    let out = bin()
        .args(["lint", "aws-auth", &fixture("kubectl-output.yaml"), "--fix"])
        .output()
        .unwrap();
    let fixed = String::from_utf8(out.stdout).unwrap();
    let original = std::fs::read_to_string(fixture("kubectl-output.yaml")).unwrap();
    assert_eq!(
        fixed,
        original.replace(
            "      rolearn: arn:aws:iam::111122223333:role/team/platform/eks-admin\n",
            "      rolearn: arn:aws:iam::111122223333:role/eks-admin\n"
        )
    );
}

#[test]
fn output_file_is_written_atomically_and_never_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fixed.yaml");
    let t = target.to_string_lossy().into_owned();
    let ok = bin()
        .args([
            "lint",
            "aws-auth",
            &fixture("role-path.yaml"),
            "--fix",
            "--output-file",
            &t,
        ])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(ok.stdout.is_empty());
    let first = std::fs::read_to_string(&target).unwrap();
    assert!(first.contains("role/eks-admin\n"));
    let refused = bin()
        .args([
            "lint",
            "aws-auth",
            &fixture("role-path.yaml"),
            "--fix",
            "--output-file",
            &t,
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    let forced = bin()
        .args([
            "lint",
            "aws-auth",
            &fixture("assumed-role-arn.yaml"),
            "--fix",
            "--output-file",
            &t,
            "--force",
        ])
        .output()
        .unwrap();
    assert_eq!(forced.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("role/ops\n")
    );
    // No temporary file left behind; the input is untouched.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(
        std::fs::read_to_string(fixture("role-path.yaml"))
            .unwrap()
            .contains("role/team/developers/eks-admin")
    );
}

#[test]
fn sarif_has_rules_results_and_locations() {
    let out = bin()
        .args([
            "--format",
            "sarif",
            "lint",
            "aws-auth",
            &fixture("role-path.yaml"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "eksdoctor");
    let r = &run["results"][0];
    assert_eq!(r["ruleId"], "aws-auth/role-path");
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
    assert!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("role-path.yaml")
    );
}

#[test]
fn text_output_points_at_the_line() {
    let out = bin()
        .args(["lint", "aws-auth", &fixture("role-path.yaml")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error[aws-auth/role-path]"));
    assert!(text.contains("role-path.yaml:8"));
}

#[test]
fn a_role_arn_with_path_as_principal_stands_for_its_sessions() {
    let (_, v) = json(&[
        &fixture("clean.yaml"),
        "--principal",
        "arn:aws:iam::111122223333:role/team/dev",
    ]);
    assert_eq!(v["mapping"]["source"], "aws-auth");
    assert_eq!(v["mapping"]["username"], "dev:{{SessionName}}");
    assert_eq!(
        v["mapping"]["unresolved"],
        serde_json::json!(["SessionName"])
    );
}

#[test]
fn text_output_says_how_the_principal_is_mapped() {
    let out = bin()
        .args([
            "lint",
            "aws-auth",
            &fixture("clean.yaml"),
            "--principal",
            "arn:aws:sts::111122223333:assumed-role/dev/alice",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("mapped: arn:aws:iam::111122223333:role/dev is mapped by aws-auth (line 9): username \"dev:alice\", groups [devs]"),
        "{text}"
    );
}

#[test]
fn a_configmap_outside_kube_system_maps_nobody() {
    let (_, v) = json(&[
        &fixture("wrong-namespace.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/dev/s",
    ]);
    assert!(v.get("mapping").is_none());
    assert!(has(&v, "cluster/not-mapped", 5));
}

#[test]
fn fix_commands_use_the_cluster_name_and_the_known_role_path() {
    let (_, v) = json(&[
        &fixture("role-path.yaml"),
        "--principal",
        "arn:aws:sts::111122223333:assumed-role/dev/s",
        "--role-paths",
        &fixture("role-paths.json"),
        "--cluster",
        "prod",
    ]);
    let nm = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cluster/not-mapped")
        .unwrap();
    assert_eq!(
        nm["fix"]["commands"][0],
        "aws eks create-access-entry --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/team/dev --type STANDARD"
    );
    let (_, v) = json(&[
        &fixture("system-masters.yaml"),
        "--role-paths",
        &fixture("role-paths.json"),
        "--cluster",
        "prod",
    ]);
    let sm = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "aws-auth/system-masters")
        .unwrap();
    assert_eq!(
        sm["fix"]["commands"][1],
        "aws eks associate-access-policy --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/admin --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster"
    );
}
