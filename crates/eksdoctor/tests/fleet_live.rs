//! `check --org`, the fleet run, as a user runs it: the real binary against
//! moto (Organizations, multi-account STS: moto takes an assumed session's
//! account id from the role ARN) behind the fault-injecting proxy.
//!
//! The test organization (tests/fixtures/live/seed_org.py): the management
//! account plus 11 active members and one closed member, clusters in three
//! regions, users with one or two keys. moto lets any role ARN be assumed,
//! so the account whose role is missing is played by the proxy answering
//! AccessDenied for its role ARN (what AWS answers for a missing role); the
//! proxy also throttles DescribeCluster and patches authentication modes in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "k8s/apiserver.rs"]
mod apiserver;
#[path = "../../aws/tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use common::{Faults, Moto, Proxy, World};
use serde_json::{Value, json};

const REGIONS: &str = "us-west-2,us-east-1,eu-west-1";

fn seed_org(moto: &Moto, spec: &Value) -> Value {
    let script = common::workspace().join("tests/fixtures/live/seed_org.py");
    moto.python(&[script.as_os_str()], spec)
}

/// The 12-account organization (management + 11 active members, 1 closed).
fn organization() -> Value {
    let regions = ["us-west-2", "us-east-1", "eu-west-1"];
    let mut accounts = vec![
        json!({"name": "prod", "users": [{"name": "ci", "keys": 2}, {"name": "ops", "keys": 1}],
               "clusters": [
                   {"name": "prod-web", "region": "us-west-2", "version": "1.21", "oidc_provider": false},
                   {"name": "prod-api", "region": "us-east-1", "version": "1.29"},
                   {"name": "prod-eu", "region": "eu-west-1", "version": "1.30"}]}),
        json!({"name": "sandbox", "role": false,
               "clusters": [{"name": "sandbox-1", "region": "us-west-2"}]}),
        json!({"name": "retired", "closed": true}),
    ];
    for i in 0..9 {
        let region = regions[i % 3];
        let clusters: Vec<Value> = (0..(i % 3))
            .map(|c| {
                json!({"name": format!("team{i}-c{c}"), "region": region,
                            "oidc_provider": c != 1})
            })
            .collect();
        let users: Vec<Value> = (0..(i % 2))
            .map(|_| json!({"name": format!("svc{i}"), "keys": 1}))
            .collect();
        accounts.push(json!({"name": format!("team{i}"), "clusters": clusters, "users": users}));
    }
    json!({"accounts": accounts})
}

fn org_world() -> World {
    let moto = Moto::start();
    let seeded = seed_org(&moto, &organization());
    let proxy = Proxy::start(moto.addr, Faults::default());
    World {
        moto,
        proxy,
        seeded,
    }
}

fn account_id(world: &World, name: &str) -> String {
    world.seeded["accounts"][name]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn eksdoctor(home: &std::path::Path, world: &World) -> Command {
    let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let a = &world.seeded["auditor"];
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", a["id"].as_str().unwrap())
        .env("AWS_SECRET_ACCESS_KEY", a["secret"].as_str().unwrap())
        .args(["--region", "us-west-2", "--endpoint-url", &world.endpoint()]);
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

fn account<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == id)
        .unwrap_or_else(|| panic!("no account {id} in the report"))
}

fn rules_of(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_whole_organization_in_one_report_with_a_missing_role_and_throttling() {
    let world = org_world();
    let sandbox = account_id(&world, "sandbox");
    let prod = account_id(&world, "prod");
    {
        let mut f = world.faults();
        f.assume_denied
            .insert(format!("arn:aws:iam::{sandbox}:role/EksDoctorReadOnly"));
        f.throttle.insert("DescribeCluster".to_owned(), 3);
        f.auth_mode
            .insert("prod-api".to_owned(), "CONFIG_MAP".to_owned());
        f.auth_mode
            .insert("prod-web".to_owned(), "API_AND_CONFIG_MAP".to_owned());
    }
    let home = tempfile::tempdir().unwrap();
    let out = eksdoctor(home.path(), &world)
        .args([
            "check",
            "--org",
            // moto's clusters have made-up endpoints: the AWS side only.
            "--no-kubernetes",
            "--regions",
            REGIONS,
            "--concurrency",
            "8",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 12 active accounts (the management account is a member too); the
    // closed one is not listed.
    let s = &v["summary"];
    assert_eq!(s["accounts"], 12, "{s}");
    assert_eq!(s["accounts_unreachable"], 1);
    assert!(
        !v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["account_name"] == "retired")
    );
    // prod 3 + team accounts (0+1+2)*3 = 12 clusters; sandbox's is unseen.
    assert_eq!(s["clusters"], 12, "{s}");

    // The missing role: a finding for that account, not a failed run.
    let sb = account(&v, &sandbox);
    assert_eq!(sb["status"], "assume-failed");
    assert_eq!(rules_of(&sb["findings"]), ["fleet/assume-failed"]);
    assert_eq!(
        sb["findings"][0]["evidence"]["role_arn"],
        format!("arn:aws:iam::{sandbox}:role/EksDoctorReadOnly")
    );

    // prod: account → region → cluster.
    let p = account(&v, &prod);
    assert_eq!(p["account_name"], "prod");
    let region = |r: &str| {
        p["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["region"] == r)
            .unwrap()
            .clone()
    };
    let web = &region("us-west-2")["clusters"][0];
    assert_eq!(web["name"], "prod-web");
    let web_rules = rules_of(&web["findings"]);
    assert!(
        web_rules.contains(&"irsa/oidc-provider-missing".to_owned()),
        "{web_rules:?}"
    );
    assert!(
        web_rules.contains(&"sts/legacy-global-default".to_owned()),
        "{web_rules:?}"
    );
    // The audit role itself is not in any access entry: no cluster/not-mapped noise.
    assert!(!web_rules.contains(&"cluster/not-mapped".to_owned()));
    let api = &region("us-east-1")["clusters"][0];
    assert_eq!(api["authentication_mode"], "CONFIG_MAP");
    assert_eq!(rules_of(&api["findings"]), ["cluster/config-map-only"]);
    // Keys from prod's credential report: ci holds two.
    let key_rules = rules_of(&p["findings"]);
    assert!(
        key_rules.contains(&"keys/limit-reached".to_owned()),
        "{key_rules:?}"
    );
    assert!(
        p["rotation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["user"] == "ci")
    );

    // Every finding also flat, with its scope.
    let flat = v["findings"].as_array().unwrap();
    let irsa = flat
        .iter()
        .find(|f| f["rule"] == "irsa/oidc-provider-missing" && f["scope"]["cluster"] == "prod-web")
        .unwrap();
    assert_eq!(irsa["scope"]["account_id"], prod.as_str());
    assert_eq!(irsa["scope"]["region"], "us-west-2");

    // Three DescribeCluster answers were throttled, retried, and counted;
    // none failed for it.
    assert_eq!(v["throttles"]["by_service"]["eks"], 3, "{}", v["throttles"]);
    assert_eq!(v["throttles"]["exhausted"], 0);
    for a in v["accounts"].as_array().unwrap() {
        for r in a["regions"].as_array().unwrap() {
            assert!(r["error"].is_null(), "{r}");
            for c in r["clusters"].as_array().unwrap() {
                assert!(c["error"].is_null(), "{c}");
            }
        }
    }
    // No session secret or token anywhere.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(world.seeded["auditor"]["secret"].as_str().unwrap()));
    assert!(!text.contains("SessionToken"));
}

#[test]
fn text_shows_the_accounts_table_first_and_accounts_limits_the_run() {
    let world = org_world();
    let prod = account_id(&world, "prod");
    let team1 = account_id(&world, "team1");
    let home = tempfile::tempdir().unwrap();
    let out = eksdoctor(home.path(), &world)
        .args([
            "check",
            "--org",
            // moto's clusters have made-up endpoints: the AWS side only.
            "--no-kubernetes",
            "--regions",
            REGIONS,
            "--accounts",
            &format!("{prod},{team1}"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let table = text.find("ACCOUNT ").unwrap();
    assert!(table < text.find("== account").unwrap(), "{text}");
    assert!(text.starts_with("fleet      2 accounts"), "{text}");
    // Names come from ListAccounts even with --accounts.
    assert!(text.contains(&format!("{prod}  prod ")), "{text}");
    assert!(text.contains("-- us-west-2 / prod-web"), "{text}");
}

#[test]
fn bad_account_lists_and_names_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
        cmd.env("HOME", home.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["check", "--org", "--accounts", "123,456789012345"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"123\" is not an AWS account id"));
    let out = run(&["check", "--org", "--session-name", "has space"]);
    assert_eq!(out.status.code(), Some(2));
    let list = home.path().join("accounts.txt");
    std::fs::write(&list, "111111111111\nprod\n").unwrap();
    let out = run(&["check", "--org", "--accounts-file", list.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    // --role-name without --org.
    let out = run(&["check", "--role-name", "X"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn outside_an_organization_it_says_to_name_the_accounts_and_exits_3() {
    // seed.py's world has no organization (AWS answers
    // AWSOrganizationsNotInUseException; moto lists no account).
    let world = World::new(&json!({"users": [{"name": "alice", "keys": 1}]}));
    let (id, secret) = world.user_key("alice", 0);
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", &id)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ])
        .args(["check", "--org"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot list the organization's accounts"),
        "{err}"
    );
    assert!(err.contains("--accounts"), "{err}");
    assert!(!err.contains(&secret));
}

/// The fleet run asks each cluster itself as the account's read-only role:
/// aws-auth, read through the engine, reports the mapping the authenticator
/// silently ignores (a role ARN with a path), scoped to that account and
/// cluster. The cluster is the token-verifying stand-in (moto's cluster
/// endpoints are made-up names); the audit role's own RBAC is not reported.
#[test]
fn aws_auth_read_from_each_cluster_as_the_accounts_role() {
    let moto = Moto::start();
    let seeded = seed_org(
        &moto,
        &json!({"accounts": [{"name": "prod",
            "clusters": [{"name": "prod-api", "region": "us-east-1"}]}]}),
    );
    let proxy = Proxy::start(moto.addr, Faults::default());
    let world = World {
        moto,
        proxy,
        seeded,
    };
    let prod = account_id(&world, "prod");
    let mut c = apiserver::Config::new("prod-api", world.moto.addr);
    c.mappings = vec![apiserver::Mapping {
        arn: format!("arn:aws:iam::{prod}:role/EksDoctorReadOnly"),
        username: "eksdoctor".into(),
        groups: vec!["eksdoctor-readers".into()],
    }];
    c.allow.push(apiserver::Allow::new(
        "eksdoctor-readers",
        &["get", "list"],
        &["configmaps"],
    ));
    c.aws_auth = Some(json!({"mapRoles": format!(
        "- rolearn: arn:aws:iam::{prod}:role/team/dev/eks-admin\n  username: admin\n  groups: [admins]\n"
    )}));
    let api = apiserver::ApiServer::start(c);
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, &api.ca_pem).unwrap();
    let out = eksdoctor(home.path(), &world)
        .args([
            "check",
            "--org",
            "--regions",
            "us-east-1",
            "--accounts",
            &prod,
        ])
        .args([
            "--format",
            "json",
            "--kube-endpoint",
            &api.url(),
            "--kube-ca",
        ])
        .arg(&ca)
        .output()
        .unwrap();
    let v = json_of(&out);
    let findings = &account(&v, &prod)["regions"][0]["clusters"][0]["findings"];
    let flat: Vec<&Value> = v["findings"].as_array().unwrap().iter().collect();
    let path = flat
        .iter()
        .find(|f| f["rule"] == "aws-auth/role-path")
        .unwrap_or_else(|| panic!("no aws-auth/role-path in {findings} / {v}"));
    assert_eq!(path["scope"]["account_id"], prod.as_str(), "{path}");
    assert_eq!(path["scope"]["cluster"], "prod-api", "{path}");
    // The audit role's own RBAC (console reads) is no account's problem.
    for f in &flat {
        assert_ne!(f["rule"], "cluster/forbidden", "{f}");
        assert_ne!(f["rule"], "cluster/console-rbac", "{f}");
    }
    // The stand-in verified the role's token through moto's STS and saw reads only.
    let log = api.requests();
    assert!(
        log.iter()
            .any(|r| r.contains("configmaps/aws-auth") && r.ends_with("200")),
        "{log:?}"
    );
}

/// `--previous` on a fleet run: run 1's JSON (ids and first_seen on every
/// finding) with one finding more for prod and one for sandbox is run 2's
/// previous report. Run 2 cannot assume sandbox's role: prod's extra
/// finding is resolved, sandbox's is held open, everything else keeps its
/// first_seen. Run 3 prints OCSF from the same JSON previous report: the
/// same story as Close and held events.
#[test]
fn previous_resolves_the_fixed_and_holds_accounts_not_checked() {
    let world = org_world();
    let sandbox = account_id(&world, "sandbox");
    let prod = account_id(&world, "prod");
    let run_as = |format: &str, previous: Option<&std::path::Path>| {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = eksdoctor(home.path(), &world);
        cmd.args([
            "check",
            "--org",
            "--no-kubernetes",
            "--regions",
            REGIONS,
            "--accounts",
            &format!("{prod},{sandbox}"),
            "--format",
            format,
        ]);
        if let Some(p) = previous {
            cmd.arg("--previous").arg(p);
        }
        cmd.output().unwrap()
    };
    let run = |previous: Option<&std::path::Path>| run_as("json", previous);
    let run1 = run(None);
    let mut prev = json_of(&run1);
    let findings = prev["findings"].as_array_mut().unwrap();
    let mut ids1: Vec<String> = Vec::new();
    for f in findings.iter_mut() {
        f["first_seen"] = "2026-01-01T00:00:00Z".into();
        ids1.push(f["id"].as_str().unwrap().to_owned());
    }
    let fake = |account: &str| {
        json!({"id": format!("eksdoctor/{account}/us-west-2/gone/irsa/oidc-provider-missing/0123456789abcdef"),
               "first_seen": "2026-01-01T00:00:00Z", "rule": "irsa/oidc-provider-missing",
               "scope": {"account_id": account, "region": "us-west-2", "cluster": "gone"}})
    };
    findings.push(fake(&prod));
    findings.push(fake(&sandbox));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("previous.json");
    std::fs::write(&file, prev.to_string()).unwrap();

    world
        .faults()
        .assume_denied
        .insert(format!("arn:aws:iam::{sandbox}:role/EksDoctorReadOnly"));
    let run2 = run(Some(&file));
    assert_eq!(run2.status.code(), Some(1));
    let v = json_of(&run2);
    let resolved: Vec<&str> = v["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let held: Vec<&str> = v["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(resolved, [fake(&prod)["id"].as_str().unwrap()], "{v}");
    assert!(
        held.contains(&fake(&sandbox)["id"].as_str().unwrap()),
        "{v}"
    );
    // Every id of run 1 is still there, held (sandbox) or found again.
    for id in &ids1 {
        let found = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id.as_str());
        match found {
            Some(f) => assert_eq!(f["first_seen"], "2026-01-01T00:00:00Z", "{f}"),
            None => assert!(
                held.contains(&id.as_str()),
                "{id} neither found nor held: {v}"
            ),
        }
    }

    // The same previous report (JSON) read by an OCSF run.
    let run3 = run_as("ocsf", Some(&file));
    assert_eq!(
        run3.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run3.stderr)
    );
    let events = json_of(&run3);
    let events = events.as_array().unwrap();
    let uid = |e: &Value| e["finding_info"]["uid"].as_str().unwrap().to_owned();
    let closed: Vec<String> = events
        .iter()
        .filter(|e| e["activity_id"] == 3)
        .map(uid)
        .collect();
    assert_eq!(closed, [fake(&prod)["id"].as_str().unwrap()]);
    let open: Vec<String> = events
        .iter()
        .filter(|e| e["activity_id"] != 3)
        .map(uid)
        .collect();
    assert!(open.contains(&fake(&sandbox)["id"].as_str().unwrap().to_owned()));
    for id in &ids1 {
        assert!(open.contains(id), "{id} is not in run 3: {events:?}");
    }
}
