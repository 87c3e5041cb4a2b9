//! Pod credentials, live: `check --kubernetes` tells which credentials each
//! workload really gets. Real parts: moto (IAM roles with their trust
//! policies read by GetRole, the EKS cluster, a Windows managed node group),
//! the stand-in API server (`k8s/apiserver.rs`, which verifies eksdoctor's
//! token against moto and serves service accounts and pods).
//!
//! STUBBED: moto implements neither EKS Pod Identity associations
//! (ListPodIdentityAssociations, DescribePodIdentityAssociation) nor add-ons
//! (ListAddons, DescribeAddon). The test proxy in front of moto answers
//! those from canned JSON in AWS's documented response shapes
//! (`Faults::canned`), the way the access-entry tests stub access entries.
//! Needs EKSDOCTOR_MOTO_SERVER.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "k8s/apiserver.rs"]
mod apiserver;
#[path = "../../aws/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use apiserver::{Allow, ApiServer, Config, Mapping};
use common::{ACCOUNT, REGION, World};
use serde_json::{Value, json};

const CLUSTER: &str = "demo";

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("eksdoctor")
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Roles with the trust policies under test, and a Windows node group, made
/// in moto with boto3 (moto's own Python), as seed.py does.
fn seed_extra(world: &World, issuer: &str) {
    let host = issuer.trim_start_matches("https://");
    let irsa = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{host}:sub"): "system:serviceaccount:app:web",
            format!("{host}:aud"): "sts.amazonaws.com"}}
    }]});
    // The commonest slip: sts:AssumeRole without sts:TagSession.
    let slip = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": "sts:AssumeRole"}]});
    let good = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
    let script = format!(
        r#"
import json, boto3
s = boto3.session.Session(aws_access_key_id="AKIAIOSFODNN7SEEDER1",
    aws_secret_access_key="seeder-secret-not-real-0000000000000000", region_name="{REGION}")
iam = s.client("iam", endpoint_url="{url}")
eks = s.client("eks", endpoint_url="{url}")
for name, doc in [("web-irsa", {irsa}), ("jobs-podid", {slip}), ("reports-podid", {good})]:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(doc))
eks.create_nodegroup(clusterName="{CLUSTER}", nodegroupName="win", subnets=["subnet-1"],
    nodeRole="arn:aws:iam::{ACCOUNT}:role/node", amiType="WINDOWS_CORE_2022_x86_64")
"#,
        url = world.moto.url(),
    );
    let python = common::moto_server_path().with_file_name("python");
    let out = Command::new(python)
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seeding roles failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn association(id: &str, ns: &str, sa: &str, role: &str) -> Value {
    json!({
        "clusterName": CLUSTER, "namespace": ns, "serviceAccount": sa,
        "roleArn": role_arn(role), "associationId": id,
        "associationArn": format!("arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{CLUSTER}/{id}"),
        "createdAt": 1_700_000_000, "modifiedAt": 1_700_000_000, "tags": {},
        "disableSessionTags": false
    })
}

/// The canned EKS answers moto cannot give.
fn stub_pod_identity(world: &World, agent_status: Option<&str>) {
    let assocs = [
        association("a-web0000000000001", "app", "web", "reports-podid"),
        association("a-jobs000000000001", "jobs", "jobs", "jobs-podid"),
        association("a-rep0000000000001", "reports", "reports", "reports-podid"),
    ];
    let mut f = world.faults();
    let base = format!("/clusters/{CLUSTER}");
    let summaries: Vec<Value> = assocs
        .iter()
        .map(|a| {
            json!({"clusterName": a["clusterName"], "namespace": a["namespace"],
                   "serviceAccount": a["serviceAccount"], "associationArn": a["associationArn"],
                   "associationId": a["associationId"]})
        })
        .collect();
    f.canned.insert(
        format!("GET {base}/pod-identity-associations"),
        ("200 OK", json!({"associations": summaries}).to_string()),
    );
    for a in &assocs {
        f.canned.insert(
            format!(
                "GET {base}/pod-identity-associations/{}",
                a["associationId"].as_str().unwrap()
            ),
            ("200 OK", json!({"association": a}).to_string()),
        );
    }
    let mut listed = vec!["vpc-cni", "coredns"];
    if let Some(status) = agent_status {
        listed.push("eks-pod-identity-agent");
        f.canned.insert(
            format!("GET {base}/addons/eks-pod-identity-agent"),
            (
                "200 OK",
                json!({"addon": {"addonName": "eks-pod-identity-agent", "clusterName": CLUSTER,
                    "status": status, "addonVersion": "v1.3.4-eksbuild.1",
                    "health": {"issues": []}}})
                .to_string(),
            ),
        );
    }
    f.canned.insert(
        format!("GET {base}/addons"),
        ("200 OK", json!({"addons": listed}).to_string()),
    );
}

fn env(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect(),
    )
}

fn pod(ns: &str, name: &str, sa: &str, owner: Option<&str>, env: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}")},
        "spec": {"serviceAccountName": sa, "nodeName": "ip-10-0-1-2.us-west-2.compute.internal",
                 "containers": [{"name": "app", "image": "public.ecr.aws/x/app:1", "env": env}]},
        "status": {"phase": "Running"}
    });
    if let Some(o) = owner {
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": o, "uid": "rs", "controller": true}]);
    }
    p
}

fn server(world: &World, readers_may_list_pods: bool) -> ApiServer {
    let mut c = Config::new(CLUSTER, world.moto.addr);
    c.mappings = vec![Mapping {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        username: "alice".into(),
        groups: vec!["readers".into()],
    }];
    let mut resources = vec!["serviceaccounts", "configmaps"];
    if readers_may_list_pods {
        resources.push("pods");
    }
    c.allow
        .push(Allow::new("readers", &["get", "list"], &resources));
    let sa = |ns: &str, name: &str, ann: Value| {
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": name, "namespace": ns, "annotations": ann}})
    };
    c.service_accounts = vec![
        sa(
            "app",
            "web",
            json!({"eks.amazonaws.com/role-arn": role_arn("web-irsa")}),
        ),
        sa("jobs", "jobs", json!({})),
        sa("reports", "reports", json!({})),
        sa("default", "default", json!({})),
    ];
    let pi = (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://169.254.170.23/v1/credentials",
    );
    let web_arn = role_arn("web-irsa");
    let irsa = [
        ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
        ("AWS_ROLE_ARN", web_arn.as_str()),
        (
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        ),
    ];
    c.pods = vec![
        // Both injected: IRSA wins.
        pod(
            "app",
            "web-7d9f8b6c5d-abcde",
            "web",
            Some("web-7d9f8b6c5d"),
            env(&[&irsa[..], &[pi]].concat()),
        ),
        pod(
            "app",
            "web-7d9f8b6c5d-fghij",
            "web",
            Some("web-7d9f8b6c5d"),
            env(&[&irsa[..], &[pi]].concat()),
        ),
        pod("jobs", "jobs-0", "jobs", None, env(&[pi])),
        // Started before its association: no credentials of its own.
        pod(
            "reports",
            "reports-5f6c7d8e9a-zzzzz",
            "reports",
            Some("reports-5f6c7d8e9a"),
            env(&[("DB_PASSWORD", "not-kept")]),
        ),
        pod("default", "nginx", "default", None, env(&[])),
    ];
    ApiServer::start(c)
}

fn check(world: &World, api: &ApiServer, home: &Path) -> (Value, std::process::Output) {
    let ca = home.join("ca.pem");
    std::fs::write(&ca, &api.ca_pem).unwrap();
    let (id, secret) = world.user_key("alice", 0);
    let mut cmd = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "KUBECONFIG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret);
    let out = cmd
        .args([
            "check",
            "--cluster",
            CLUSTER,
            "--kubernetes",
            "--no-console",
            "--format",
            "json",
        ])
        .args(["--region", REGION, "--endpoint-url", &world.endpoint()])
        .args(["--kube-endpoint", &api.url(), "--kube-ca"])
        .arg(&ca)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn world() -> World {
    let world = World::new(&json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [{"name": CLUSTER, "version": "1.31", "region": REGION, "oidc_provider": true}]
    }));
    let issuer = world.seeded["clusters"][CLUSTER]["issuer"]
        .as_str()
        .unwrap()
        .to_owned();
    seed_extra(&world, &issuer);
    world
}

fn rules(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str().map(str::to_owned))
        .collect()
}

fn row<'a>(rows: &'a [Value], ns: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["namespace"] == ns)
        .unwrap_or_else(|| panic!("no row for {ns}: {rows:?}"))
}

#[test]
fn check_tells_which_credentials_each_workload_gets() {
    let world = world();
    stub_pod_identity(&world, Some("ACTIVE"));
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let (v, out) = check(&world, &api, home.path());
    let section = &v["pod_credentials"][format!("{REGION}/{CLUSTER}")];
    let rows = section["workloads"]
        .as_array()
        .unwrap_or_else(|| panic!("{section}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(rows.len(), 3, "default/nginx has no credentials: {rows:?}");

    let web = row(rows, "app");
    assert_eq!(web["workload"], "Deployment/web");
    assert_eq!(web["pods"], 2);
    assert_eq!(web["mechanism"], "irsa", "IRSA wins over Pod Identity");
    assert_eq!(web["role"], role_arn("web-irsa"));
    assert_eq!(
        web["sts_endpoint"],
        format!("https://sts.{REGION}.amazonaws.com")
    );
    assert_eq!(web["configured"], json!(["irsa", "pod-identity"]));
    assert_eq!(web["reasons"], json!(["podid/irsa-precedence"]), "{web}");

    let jobs = row(rows, "jobs");
    assert_eq!(jobs["mechanism"], "pod-identity");
    assert_eq!(jobs["role"], role_arn("jobs-podid"));
    assert_eq!(jobs["verdict"], "problem");
    assert_eq!(jobs["reasons"], json!(["podid/trust-mismatch"]), "{jobs}");

    let reports = row(rows, "reports");
    assert_eq!(reports["mechanism"], "node-role");
    assert_eq!(reports["reasons"], json!(["podid/pod-not-restarted"]));

    let notes = section["notes"].to_string();
    assert!(notes.contains("node groups win run Windows"), "{notes}");

    let r = rules(&v);
    for want in [
        "podid/trust-mismatch",
        "podid/irsa-precedence",
        "podid/pod-not-restarted",
    ] {
        assert!(r.iter().any(|x| x == want), "{want} not in {r:?}");
    }
    assert!(!r.iter().any(|x| x == "irsa/trust-mismatch"), "{r:?}");
    assert!(!r.iter().any(|x| x == "podid/agent-missing"), "{r:?}");
    // The trust fix names the role and adds sts:TagSession.
    let trust = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "podid/trust-mismatch")
        .unwrap();
    assert_eq!(trust["evidence"]["cluster"], CLUSTER);
    assert!(
        trust["fix"]["commands"][0]
            .as_str()
            .unwrap()
            .contains("--role-name jobs-podid"),
        "{trust}"
    );
    // Read-only: the stand-in saw only GETs and the self reviews.
    for line in api.requests() {
        assert!(
            line.starts_with("GET ") || line.contains("selfsubject"),
            "{line}"
        );
    }
    // No env value other than the credential variables leaves the cluster read.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("not-kept") && !stdout.contains("k8s-aws-v1."));
}

#[test]
fn a_degraded_agent_and_text_output() {
    let world = world();
    stub_pod_identity(&world, Some("DEGRADED"));
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let (v, _) = check(&world, &api, home.path());
    let r = rules(&v);
    assert!(r.iter().any(|x| x == "podid/agent-missing"), "{r:?}");
    let rows = v["pod_credentials"][format!("{REGION}/{CLUSTER}")]["workloads"]
        .as_array()
        .unwrap();
    assert!(
        row(rows, "jobs")["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("podid/agent-missing"))
    );

    // The text report carries the table.
    stub_pod_identity(&world, None);
    let ca = home.path().join("ca.pem");
    let (id, secret) = world.user_key("alice", 0);
    let out = assert_cmd::Command::new(bin())
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args([
            "check",
            "--cluster",
            CLUSTER,
            "--kubernetes",
            "--no-console",
        ])
        .args(["--region", REGION, "--endpoint-url", &world.endpoint()])
        .args(["--kube-endpoint", &api.url(), "--kube-ca"])
        .arg(&ca)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pod credentials  demo (us-west-2)"), "{text}");
    assert!(text.contains("Deployment/web (2 pods)"), "{text}");
    assert!(text.contains("jobs/jobs"), "{text}");
    assert!(
        text.contains("podid/agent-missing"),
        "add-on not installed: {text}"
    );
}

#[test]
fn pods_not_listable_says_so_and_who_can() {
    let world = world();
    stub_pod_identity(&world, Some("ACTIVE"));
    let api = server(&world, false);
    let home = tempfile::tempdir().unwrap();
    let (v, _) = check(&world, &api, home.path());
    let section = &v["pod_credentials"][format!("{REGION}/{CLUSTER}")];
    let e = section["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{section}"));
    assert!(e.contains("cannot list pods") && e.contains("403"), "{e}");
    let denied = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "creds/probe-denied" && f["evidence"]["resource"] == "pods")
        .unwrap_or_else(|| panic!("{}", v["findings"]));
    assert!(
        denied["message"].as_str().unwrap().contains("Who can"),
        "{denied}"
    );
    // What EKS and IAM say is still judged: the associations' roles.
    let rows = section["workloads"].as_array().unwrap();
    let jobs = row(rows, "jobs");
    assert_eq!(jobs["pods"], 0);
    assert_eq!(jobs["mechanism"], "pod-identity");
    assert_eq!(jobs["reasons"], json!(["podid/trust-mismatch"]), "{jobs}");
}
