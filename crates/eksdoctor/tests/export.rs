//! `check --format ocsf|asff` as a user runs it: the real binary against moto
//! behind the fault proxy (the harness shared with crates/aws/tests), and the
//! refusal of those formats by every command that has no such output.
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

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Two clusters in two regions, a user at two keys: findings in each
/// region and account-wide ones.
fn run_check(format: &str) -> (std::process::Output, World, String) {
    let world = World::new(&json!({
        "users": [{"name": "alice", "keys": 2}],
        "clusters": [
            {"name": "old", "version": "1.21", "region": "us-east-1"},
            {"name": "new", "version": "1.29", "oidc_provider": true}
        ]
    }));
    world.faults().auth_mode.insert("new".into(), "API".into());
    let out = check_in(&world, &["--format", format]);
    let (_, secret) = world.user_key("alice", 0);
    (out, world, secret)
}

/// `check --all-clusters` in both regions of `world`, as alice, with `args`.
fn check_in(world: &World, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let (id, secret) = world.user_key("alice", 0);
    eksdoctor(home.path())
        .env("AWS_ACCESS_KEY_ID", &id)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ])
        .args([
            "check",
            "--all-clusters",
            "--regions",
            "us-west-2,us-east-1",
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_asff_batches_per_region_ready_for_batch_import() {
    let (out, _world, secret) = run_check("asff");
    assert_eq!(out.status.code(), Some(1), "errors found: exit 1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(&secret),
        "the secret access key reached the output"
    );
    let v = json_of(&out);
    let batches = v["batches"].as_array().unwrap();
    let regions: Vec<&str> = batches
        .iter()
        .map(|b| b["region"].as_str().unwrap())
        .collect();
    // Account-wide findings (keys) go to the caller's region; old's to us-east-1.
    assert_eq!(regions, ["us-east-1", "us-west-2"], "{v}");
    let mut rules = Vec::new();
    for b in batches {
        assert_eq!(b["account_id"], common::ACCOUNT);
        let findings = b["findings"].as_array().unwrap();
        assert!(!findings.is_empty() && findings.len() <= 100);
        for f in findings {
            assert_eq!(f["SchemaVersion"], "2018-10-08");
            assert_eq!(f["AwsAccountId"], common::ACCOUNT);
            assert_eq!(
                f["ProductArn"],
                format!(
                    "arn:aws:securityhub:{}:{a}:product/{a}/default",
                    b["region"].as_str().unwrap(),
                    a = common::ACCOUNT
                )
            );
            assert_eq!(f["RecordState"], "ACTIVE");
            assert!(f["Title"].as_str().unwrap().chars().count() <= 256);
            assert!(f["Description"].as_str().unwrap().chars().count() <= 1024);
            rules.push((
                b["region"].as_str().unwrap().to_owned(),
                f["GeneratorId"].as_str().unwrap().to_owned(),
                f["Resources"][0]["Type"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let has = |region: &str, rule: &str, kind: &str| {
        rules
            .iter()
            .any(|(r, g, t)| r == region && g == rule && t == kind)
    };
    assert!(
        has("us-east-1", "irsa/oidc-provider-missing", "AwsEksCluster"),
        "{rules:?}"
    );
    assert!(
        has("us-west-2", "cluster/not-mapped", "AwsEksCluster"),
        "{rules:?}"
    );
    assert!(
        has("us-west-2", "keys/limit-reached", "AwsIamUser"),
        "{rules:?}"
    );
}

/// Security Hub's own API model (botocore, from moto's venv) accepts every
/// batch, limits included, and moto's Security Hub imports them and gives
/// every id back: see asff_against_securityhub.py.
#[test]
fn check_asff_is_what_security_hub_accepts() {
    let (out, world, _) = run_check("asff");
    assert_eq!(out.status.code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("asff.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let python = common::moto_server_path().with_file_name("python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asff_against_securityhub.py");
    let check = std::process::Command::new(&python)
        .arg(&script)
        .arg(&file)
        .arg(world.moto.url())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn check_asff_ids_are_stable_across_runs() {
    let ids = |out: &std::process::Output| {
        let v = json_of(out);
        let mut ids: Vec<String> = v["batches"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["findings"].as_array().unwrap().clone())
            .map(|f| f["Id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    // Two separate worlds: fresh moto, fresh keys, the same shape.
    let (a, ..) = run_check("asff");
    let (b, ..) = run_check("asff");
    let (a, b) = (ids(&a), ids(&b));
    // Key ids differ between the worlds, so only the cluster findings compare.
    let clusters = |v: &[String]| -> Vec<String> {
        v.iter()
            .filter(|i| !i.contains("/global/"))
            .cloned()
            .collect()
    };
    assert_eq!(clusters(&a), clusters(&b));
    assert!(!clusters(&a).is_empty());
}

#[test]
fn check_ocsf_detection_findings() {
    let (out, _world, secret) = run_check("ocsf");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret));
    let v = json_of(&out);
    let events = v.as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        assert_eq!(e["class_uid"], 2004);
        assert_eq!(e["type_uid"], 200_401);
        assert_eq!(e["cloud"]["account"]["uid"], common::ACCOUNT);
        assert!(
            e["finding_info"]["uid"]
                .as_str()
                .unwrap()
                .starts_with("eksdoctor/")
        );
    }
    let not_mapped = events
        .iter()
        .find(|e| e["finding_info"]["analytic"]["uid"] == "cluster/not-mapped")
        .unwrap();
    assert_eq!(not_mapped["cloud"]["region"], "us-west-2");
    assert_eq!(not_mapped["severity_id"], 4);
    assert_eq!(not_mapped["resources"][0]["name"], "new");
}

/// Without credentials there is no account to file findings under: stdout
/// stays empty (a consumer never reads half a format), the creds/none
/// report goes to stderr, exit 3.
#[test]
fn check_without_credentials_prints_nothing_and_exits_3() {
    let home = tempfile::tempdir().unwrap();
    for format in ["ocsf", "asff"] {
        let out = eksdoctor(home.path())
            .args(["check", "--region", "us-west-2", "--format", format])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{format}: {err}");
        assert!(out.stdout.is_empty(), "{format}: stdout not empty");
        assert!(err.contains("creds/none"), "{format}: {err}");
    }
}

#[test]
fn the_export_formats_are_refused_where_there_is_no_such_output() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("sa.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["explain", "AccessDenied"],
        &["lint", "sts", file],
        &["lint", "aws-auth", file],
        &["rules"],
        &["whoami"],
        &["keys", "--input", file],
    ];
    for format in ["ocsf", "asff"] {
        for args in cases {
            let out = eksdoctor(home.path())
                .args(*args)
                .args(["--format", format])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?} --format {format}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("are for check"), "{err}");
            assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
    }
}

// ---- --previous ---------------------------------------------------------------

const LONG_AGO: &str = "2026-01-01T00:00:00Z";

/// A finding the previous run had and this one cannot have: it is closed.
fn gone_id() -> String {
    format!(
        "eksdoctor/{}/us-west-2/gone/cluster/not-mapped/0123456789abcdef",
        common::ACCOUNT
    )
}

/// Run 1's ASFF, aged (created long ago) and with one finding more, is
/// run 2's --previous: what is still there keeps its creation time, the
/// extra one comes back ARCHIVED / RESOLVED under its own Id, and Security
/// Hub's API model and moto's Security Hub take the batches.
#[test]
fn check_asff_previous_keeps_created_and_archives_the_fixed() {
    let (run1, world, _) = run_check("asff");
    assert_eq!(run1.status.code(), Some(1));
    let mut prev = json_of(&run1);
    let mut ids1 = Vec::new();
    for b in prev["batches"].as_array_mut().unwrap() {
        let region = b["region"].as_str().unwrap().to_owned();
        let findings = b["findings"].as_array_mut().unwrap();
        for f in findings.iter_mut() {
            f["CreatedAt"] = LONG_AGO.into();
            f["FirstObservedAt"] = LONG_AGO.into();
            ids1.push(f["Id"].as_str().unwrap().to_owned());
        }
        if region == "us-west-2" {
            let mut gone = findings[0].clone();
            gone["Id"] = gone_id().into();
            findings.push(gone);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("previous.asff.json");
    std::fs::write(&file, prev.to_string()).unwrap();
    let run2 = check_in(
        &world,
        &["--format", "asff", "--previous", file.to_str().unwrap()],
    );
    assert_eq!(
        run2.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run2.stderr)
    );
    let v = json_of(&run2);
    let mut ids2 = Vec::new();
    let mut closed = Vec::new();
    for b in v["batches"].as_array().unwrap() {
        for f in b["findings"].as_array().unwrap() {
            let id = f["Id"].as_str().unwrap().to_owned();
            assert_eq!(f["CreatedAt"], LONG_AGO, "{id}");
            assert_eq!(f["FirstObservedAt"], LONG_AGO, "{id}");
            assert_ne!(f["UpdatedAt"], LONG_AGO, "{id}");
            if f["RecordState"] == "ARCHIVED" {
                assert_eq!(f["Workflow"]["Status"], "RESOLVED");
                assert_eq!(b["region"], "us-west-2");
                closed.push(id);
            } else {
                assert_eq!(f["RecordState"], "ACTIVE");
                ids2.push(id);
            }
        }
    }
    assert_eq!(closed, [gone_id()]);
    ids1.sort();
    ids2.sort();
    assert_eq!(ids1, ids2, "the same world, the same ids");

    let out = dir.path().join("run2.asff.json");
    std::fs::write(&out, &run2.stdout).unwrap();
    let python = common::moto_server_path().with_file_name("python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asff_against_securityhub.py");
    let check = std::process::Command::new(&python)
        .arg(&script)
        .arg(&out)
        .arg(world.moto.url())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The JSON report carries ids and first_seen; with --previous the first
/// seen time is kept and the fixed finding is listed under `resolved`.
#[test]
fn check_json_previous_lists_the_resolved() {
    let (run1, world, _) = run_check("json");
    let mut prev = json_of(&run1);
    let findings = prev["findings"].as_array_mut().unwrap();
    assert!(!findings.is_empty());
    let mut ids1 = Vec::new();
    for f in findings.iter_mut() {
        assert!(f["id"].as_str().unwrap().starts_with("eksdoctor/"), "{f}");
        assert!(f["first_seen"].is_string(), "{f}");
        f["first_seen"] = LONG_AGO.into();
        ids1.push(f["id"].as_str().unwrap().to_owned());
    }
    let mut gone = findings[0].clone();
    gone["id"] = gone_id().into();
    findings.push(gone);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("previous.json");
    std::fs::write(&file, prev.to_string()).unwrap();
    let run2 = check_in(
        &world,
        &["--format", "json", "--previous", file.to_str().unwrap()],
    );
    assert_eq!(
        run2.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run2.stderr)
    );
    let v = json_of(&run2);
    let mut ids2: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["first_seen"], LONG_AGO, "{f}");
            f["id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids1.sort();
    ids2.sort();
    assert_eq!(ids1, ids2);
    let resolved = v["resolved"].as_array().unwrap();
    assert_eq!(resolved.len(), 1, "{v}");
    assert_eq!(resolved[0]["id"], gone_id());
    assert_eq!(resolved[0]["first_seen"], LONG_AGO);
    assert!(resolved[0]["resolved_at"].is_string());
}

/// A previous report that cannot be used stops the run before anything is
/// probed: a plain error, exit 2 (no AWS needed to get there).
#[test]
fn a_bad_previous_report_is_a_plain_error() {
    let home = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = home.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let garbage = write("garbage.json", "{not json");
    let ocsf = write("ocsf.json", "[]");
    // An event of a rule this eksdoctor does not know cannot be rebuilt as ASFF.
    let unknown_rule = write(
        "unknown.ocsf.json",
        r#"[{"class_uid": 2004, "activity_id": 1,
             "finding_info": {"uid": "eksdoctor/111111111111/global/-/no/such-rule/ab", "created_time": 1},
             "unmapped": {"eksdoctor": {"rule": "no/such-rule", "severity": "error"}}}]"#,
    );
    let error = write(
        "error.json",
        r#"{"error": {"kind": "live", "message": "m", "exit_code": 3}}"#,
    );
    let no_ids = write("old.json", r#"{"findings": [{"rule": "keys/old"}]}"#);
    let missing = home.path().join("nope.json").to_str().unwrap().to_owned();
    // (format, file, words the error has)
    let cases: &[(&str, &str, &str)] = &[
        ("json", &garbage, "not JSON"),
        (
            "asff",
            &unknown_rule,
            "a --format ocsf report that cannot be read as asff",
        ),
        ("json", &error, "error object of a failed run"),
        ("json", &no_ids, "has no id"),
        ("ocsf", &missing, "nope.json"),
        (
            "text",
            &ocsf,
            "--previous is for --format json, ocsf or asff",
        ),
        // sarif is refused before --previous is read: exit 2 all the same.
        ("sarif", &ocsf, "--format sarif"),
    ];
    for (format, file, words) in cases {
        for org in [false, true] {
            let mut cmd = eksdoctor(home.path());
            cmd.args([
                "check",
                "--region",
                "us-west-2",
                "--format",
                format,
                "--previous",
                file,
            ]);
            if org {
                cmd.args(["--org", "--accounts", "111111111111"]);
            }
            let out = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{format} {file} org={org}: {err}"
            );
            assert!(err.contains(words), "{format} {file} org={org}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

/// LONG_AGO, as OCSF's epoch milliseconds.
fn long_ago_ms() -> i64 {
    LONG_AGO
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

/// Run 1's report in `format` aged (first seen LONG_AGO) with one finding
/// more ([`gone_id`], in us-west-2), as run 2's --previous; and run 1's ids.
fn aged_with_gone(format: &str, mut v: Value) -> (Value, Vec<String>) {
    let mut ids = Vec::new();
    match format {
        "json" => {
            let findings = v["findings"].as_array_mut().unwrap();
            for f in findings.iter_mut() {
                f["first_seen"] = LONG_AGO.into();
                ids.push(f["id"].as_str().unwrap().to_owned());
            }
            let mut gone = findings[0].clone();
            gone["id"] = gone_id().into();
            findings.push(gone);
        }
        "ocsf" => {
            let events = v.as_array_mut().unwrap();
            for e in events.iter_mut() {
                e["finding_info"]["created_time"] = long_ago_ms().into();
                e["finding_info"]["first_seen_time"] = long_ago_ms().into();
                ids.push(e["finding_info"]["uid"].as_str().unwrap().to_owned());
            }
            let mut gone = events[0].clone();
            gone["finding_info"]["uid"] = gone_id().into();
            events.push(gone);
        }
        "asff" => {
            for b in v["batches"].as_array_mut().unwrap() {
                let region = b["region"].as_str().unwrap().to_owned();
                let findings = b["findings"].as_array_mut().unwrap();
                for f in findings.iter_mut() {
                    f["CreatedAt"] = LONG_AGO.into();
                    f["FirstObservedAt"] = LONG_AGO.into();
                    ids.push(f["Id"].as_str().unwrap().to_owned());
                }
                if region == "us-west-2" {
                    let mut gone = findings[0].clone();
                    gone["Id"] = gone_id().into();
                    findings.push(gone);
                }
            }
        }
        other => panic!("{other}"),
    }
    (v, ids)
}

/// A finding of a report in `format`: its id, when it was first seen, and
/// whether the report closes it (`resolved`, Close, ARCHIVED) or holds it.
#[derive(Debug, PartialEq)]
struct Seen {
    id: String,
    first_seen: jiff::Timestamp,
    state: &'static str,
}

fn seen_in(format: &str, v: &Value) -> Vec<Seen> {
    let ts = |s: &Value| s.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let mut out = Vec::new();
    match format {
        "json" => {
            for (list, state) in [
                ("findings", "open"),
                ("resolved", "closed"),
                ("held", "held"),
            ] {
                for f in v[list].as_array().into_iter().flatten() {
                    out.push(Seen {
                        id: f["id"].as_str().unwrap().to_owned(),
                        first_seen: ts(&f["first_seen"]),
                        state,
                    });
                }
            }
        }
        "ocsf" => {
            for e in v.as_array().unwrap() {
                out.push(Seen {
                    id: e["finding_info"]["uid"].as_str().unwrap().to_owned(),
                    first_seen: jiff::Timestamp::from_millisecond(
                        e["finding_info"]["first_seen_time"].as_i64().unwrap(),
                    )
                    .unwrap(),
                    state: if e["activity_id"] == 3 {
                        "closed"
                    } else {
                        "open"
                    },
                });
            }
        }
        "asff" => {
            for b in v["batches"].as_array().unwrap() {
                for f in b["findings"].as_array().unwrap() {
                    out.push(Seen {
                        id: f["Id"].as_str().unwrap().to_owned(),
                        first_seen: ts(&f["FirstObservedAt"]),
                        state: if f["RecordState"] == "ARCHIVED" {
                            "closed"
                        } else {
                            "open"
                        },
                    });
                }
            }
        }
        other => panic!("{other}"),
    }
    out
}

/// `--previous` reads a report of any of the three formats whatever this
/// run prints: each pair below reads one format and writes another (every
/// format read once and written once). Still-open findings keep their
/// first-seen time; the one gone since is closed in this run's format.
#[test]
fn previous_in_another_format_is_read() {
    let cases: &[(&str, &str)] = &[("json", "ocsf"), ("ocsf", "asff"), ("asff", "json")];
    for (from, to) in cases {
        let (run1, world, _) = run_check(from);
        assert_eq!(run1.status.code(), Some(1), "{from}");
        let (prev, mut ids1) = aged_with_gone(from, json_of(&run1));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("previous.{from}.json"));
        std::fs::write(&file, prev.to_string()).unwrap();
        let run2 = check_in(
            &world,
            &["--format", to, "--previous", file.to_str().unwrap()],
        );
        assert_eq!(
            run2.status.code(),
            Some(1),
            "{from} -> {to}: {}",
            String::from_utf8_lossy(&run2.stderr)
        );
        let long_ago: jiff::Timestamp = LONG_AGO.parse().unwrap();
        let seen = seen_in(to, &json_of(&run2));
        let mut open: Vec<String> = seen
            .iter()
            .filter(|s| s.state == "open")
            .map(|s| s.id.clone())
            .collect();
        let closed: Vec<&Seen> = seen.iter().filter(|s| s.state == "closed").collect();
        for s in &seen {
            assert_eq!(s.first_seen, long_ago, "{from} -> {to}: {s:?}");
        }
        ids1.sort();
        open.sort();
        assert_eq!(open, ids1, "{from} -> {to}");
        assert_eq!(closed.len(), 1, "{from} -> {to}: {seen:?}");
        assert_eq!(closed[0].id, gone_id(), "{from} -> {to}");
    }
}

/// A single-account run whose probes fail (DescribeCluster and
/// ListAccessKeys throttled to exhaustion) cannot tell whether those
/// clusters' and keys' findings are fixed: they are held, as they were;
/// the finding of a cluster the run listed and no longer has is resolved.
#[test]
fn check_previous_holds_what_a_failed_probe_could_not_see() {
    let (run1, world, _) = run_check("json");
    let (prev, ids1) = aged_with_gone("json", json_of(&run1));
    assert!(
        ids1.iter().any(|id| id.contains("/keys/")),
        "run 1 has key findings: {ids1:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("previous.json");
    std::fs::write(&file, prev.to_string()).unwrap();
    {
        let mut f = world.faults();
        f.throttle.insert("DescribeCluster".into(), 10_000);
        f.throttle.insert("ListAccessKeys".into(), 10_000);
    }
    let run2 = check_in(
        &world,
        &["--format", "json", "--previous", file.to_str().unwrap()],
    );
    let v = json_of(&run2);
    let seen = seen_in("json", &v);
    let state = |id: &str| seen.iter().find(|s| s.id == id).map(|s| s.state);
    assert_eq!(state(&gone_id()), Some("closed"), "{v}");
    for id in &ids1 {
        let st = state(id);
        assert!(
            matches!(st, Some("open" | "held")),
            "{id} is {st:?}, neither found again nor held: {v}"
        );
    }
    assert!(
        seen.iter()
            .any(|s| s.state == "held" && s.id.contains("/keys/")),
        "the keys could not be read: their findings are held: {v}"
    );
    assert_eq!(
        seen.iter().filter(|s| s.state == "closed").count(),
        1,
        "nothing else is resolved: {v}"
    );
}
