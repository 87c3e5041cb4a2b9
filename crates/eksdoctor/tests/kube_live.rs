//! The Kubernetes half, live: `eksdoctor token` as the real kubectl's exec
//! plugin, against the stand-in API server (`k8s/apiserver.rs`, a test
//! stand-in for an EKS API server) that verifies each token by calling the
//! presigned GetCallerIdentity at moto. Needs EKSDOCTOR_MOTO_SERVER and
//! kubectl (`cargo xtask setup` installs Debian's kubernetes-client).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "k8s/apiserver.rs"]
mod apiserver;
#[path = "../../aws/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use apiserver::{Allow, ApiServer, Config, Mapping};
use assert_cmd::Command;
use base64::Engine as _;
use common::World;
use serde_json::{Value, json};

const CLUSTER: &str = "demo";

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("eksdoctor")
}

/// A process with a clean AWS environment and these static keys.
fn clean_env(cmd: &mut Std, home: &Path, keys: &[(&str, &str)]) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k == "KUBECONFIG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    for (k, v) in keys {
        cmd.env(k, v);
    }
}

fn token_args(world: &World, role_arn: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "token".to_owned(),
        "--cluster".to_owned(),
        CLUSTER.to_owned(),
        "--region".to_owned(),
        common::REGION.to_owned(),
        // AssumeRole (for --role-arn) goes to moto; the token itself always
        // names the regional STS host.
        "--endpoint-url".to_owned(),
        world.endpoint(),
    ];
    if let Some(r) = role_arn {
        args.extend(["--role-arn".to_owned(), r.to_owned()]);
    }
    args
}

fn world() -> World {
    World::new(&json!({
        "users": [{"name": "alice", "keys": 1}, {"name": "bob", "keys": 1}],
        "roles": [{"name": "eks-admin", "path": "/team/dev/", "session": "alice"}]
    }))
}

fn server(world: &World, aws_auth_readable: bool) -> ApiServer {
    let mut c = Config::new(CLUSTER, world.moto.addr);
    c.mappings = vec![
        Mapping {
            arn: format!("arn:aws:iam::{}:user/alice", common::ACCOUNT),
            username: "alice".into(),
            groups: vec!["devs".into()],
        },
        // aws-auth style: the role without its path.
        Mapping {
            arn: format!("arn:aws:iam::{}:role/eks-admin", common::ACCOUNT),
            username: "admin:{{SessionName}}".into(),
            groups: vec!["system:masters".into()],
        },
    ];
    if aws_auth_readable {
        c.allow
            .push(Allow::new("devs", &["get", "list"], &["configmaps"]));
    }
    c.aws_auth = Some(json!({"mapUsers": format!(
        "- userarn: arn:aws:iam::{}:user/alice\n  username: alice\n  groups: [devs]\n",
        common::ACCOUNT
    )}));
    ApiServer::start(c)
}

fn keys(world: &World, user: &str) -> Vec<(&'static str, String)> {
    let (id, secret) = world.user_key(user, 0);
    vec![("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)]
}

fn run_token(world: &World, home: &Path, user: &str, role: Option<&str>) -> std::process::Output {
    let mut cmd = Std::new(bin());
    let k = keys(world, user);
    let k: Vec<(&str, &str)> = k.iter().map(|(a, b)| (*a, b.as_str())).collect();
    clean_env(&mut cmd, home, &k);
    cmd.args(token_args(world, role)).output().unwrap()
}

#[test]
fn token_prints_an_exec_credential_the_stand_in_accepts() {
    let world = world();
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let out = run_token(&world, home.path(), "alice", None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "ExecCredential");
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let token = v["status"]["token"].as_str().unwrap();
    let exp: jiff::Timestamp = v["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = exp.duration_since(jiff::Timestamp::now()).as_secs();
    assert!((13 * 60..=14 * 60).contains(&left), "{left}");
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.strip_prefix("k8s-aws-v1.").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        url.starts_with("https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=60"));
    let config = Config::new(CLUSTER, world.moto.addr);
    let mut config = config;
    config.mappings = vec![Mapping {
        arn: format!("arn:aws:iam::{}:user/alice", common::ACCOUNT),
        username: "alice".into(),
        groups: vec![],
    }];
    let user = apiserver::verify(token, &config).unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(user.access_key_id, world.user_key("alice", 0).0);
    // A token tampered into another shape is refused.
    assert!(apiserver::verify(&token.replace("k8s-aws-v1.", "k8s-aws-v2."), &config).is_err());
    drop(api);
}

#[test]
fn token_after_assuming_a_role_with_a_path() {
    let world = world();
    let home = tempfile::tempdir().unwrap();
    let role = format!("arn:aws:iam::{}:role/team/dev/eks-admin", common::ACCOUNT);
    let out = run_token(&world, home.path(), "alice", Some(&role));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut config = Config::new(CLUSTER, world.moto.addr);
    config.mappings = vec![Mapping {
        // Mapped without the path (as aws-auth needs): matched.
        arn: format!("arn:aws:iam::{}:role/eks-admin", common::ACCOUNT),
        username: "admin:{{SessionName}}".into(),
        groups: vec!["system:masters".into()],
    }];
    let user = apiserver::verify(v["status"]["token"].as_str().unwrap(), &config).unwrap();
    assert_eq!(user.username, "admin:EKSGetTokenAuth");
    // Mapped with the path, as written in IAM: the authenticator never matches it.
    config.mappings[0].arn = role.clone();
    let err = apiserver::verify(v["status"]["token"].as_str().unwrap(), &config).unwrap_err();
    assert!(err.contains("not mapped"), "{err}");
}

#[test]
fn token_without_credentials_fails_plainly() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Std::new(bin());
    clean_env(&mut cmd, home.path(), &[]);
    let out = cmd
        .args(["token", "--cluster", CLUSTER, "--region", "us-west-2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot build the EKS token"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---- the real kubectl ----

fn kubectl_available() -> bool {
    Std::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// kubectl's client minor version (Debian 12's kubernetes-client is 1.20).
fn kubectl_minor() -> u32 {
    let out = Std::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["clientVersion"]["minor"]
        .as_str()
        .unwrap_or("0")
        .trim_end_matches('+')
        .parse()
        .unwrap_or(0)
}

/// A kubeconfig whose exec plugin is `eksdoctor token`.
fn kubeconfig(dir: &Path, api: &ApiServer, world: &World, user: &str) -> PathBuf {
    let (id, secret) = world.user_key(user, 0);
    let ca = base64::engine::general_purpose::STANDARD.encode(api.ca_pem.as_bytes());
    let args: Vec<Value> = token_args(world, None)
        .into_iter()
        .map(Value::from)
        .collect();
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "demo", "cluster": {"server": api.url(), "certificate-authority-data": ca}}],
        "users": [{"name": "demo-user", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": bin().to_string_lossy(),
            "args": args,
            "env": [
                {"name": "AWS_ACCESS_KEY_ID", "value": id},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": secret}
            ],
            "interactiveMode": "Never"
        }}}],
        "contexts": [{"name": "demo", "context": {"cluster": "demo", "user": "demo-user"}}],
        "current-context": "demo"
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

fn kubectl(home: &Path, kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Std::new("kubectl");
    clean_env(&mut cmd, home, &[]);
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn kubectl_signs_in_with_eksdoctor_token() {
    assert!(
        kubectl_available(),
        "kubectl not found: run `cargo xtask setup` (installs kubernetes-client)"
    );
    let world = world();
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let kc = kubeconfig(home.path(), &api, &world, "alice");

    let out = kubectl(home.path(), &kc, &["auth", "whoami", "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("unknown command") || stderr.contains("unknown flag") {
        // Debian's kubernetes-client 1.20 predates `auth whoami`: ask the same question raw.
        let review = home.path().join("review.json");
        std::fs::write(
            &review,
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#,
        )
        .unwrap();
        let out = kubectl(
            home.path(),
            &kc,
            &[
                "create",
                "--raw",
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                "-f",
                review.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"]["userInfo"]["username"], "alice");
    } else {
        assert!(out.status.success(), "{stderr}\n{:?}", api.requests());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"]["userInfo"]["username"], "alice");
        assert_eq!(
            v["status"]["userInfo"]["extra"]["accessKeyId"][0],
            world.user_key("alice", 0).0
        );
    }

    let out = kubectl(
        home.path(),
        &kc,
        &[
            "get",
            "configmap",
            "-n",
            "kube-system",
            "aws-auth",
            "-o",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}\n{:?}",
        String::from_utf8_lossy(&out.stderr),
        api.requests()
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metadata"]["name"], "aws-auth");
    assert!(
        v["data"]["mapUsers"]
            .as_str()
            .unwrap()
            .contains("user/alice")
    );
    // The token never reaches kubectl's error output.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("k8s-aws-v1."));
}

#[test]
fn kubectl_unauthorized_for_an_unmapped_caller_and_explain_diagnoses_it() {
    assert!(
        kubectl_available(),
        "kubectl not found: run `cargo xtask setup` (installs kubernetes-client)"
    );
    let world = world();
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let kc = kubeconfig(home.path(), &api, &world, "bob");
    let out = kubectl(
        home.path(),
        &kc,
        &["get", "configmap", "-n", "kube-system", "aws-auth"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // kubectl 1.2x prints "You must be logged in to the server (the server has
    // asked for the client to provide credentials)" for a 401; older ones "(Unauthorized)".
    assert!(
        stderr.contains("You must be logged in to the server"),
        "{stderr}"
    );
    assert!(
        api.requests().iter().any(|r| r.ends_with("-> 401")),
        "{:?}",
        api.requests()
    );

    let explained = Command::cargo_bin("eksdoctor")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["explain", "--format", "json", "-"])
        .write_stdin(stderr)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&explained.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(rules.contains(&"cluster/unauthorized"), "{v}");
}

#[test]
fn kubectl_forbidden_when_aws_auth_is_not_readable() {
    assert!(
        kubectl_available(),
        "kubectl not found: run `cargo xtask setup` (installs kubernetes-client)"
    );
    let world = world();
    let api = server(&world, false);
    let home = tempfile::tempdir().unwrap();
    let kc = kubeconfig(home.path(), &api, &world, "alice");
    let out = kubectl(
        home.path(),
        &kc,
        &["get", "configmap", "-n", "kube-system", "aws-auth"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("forbidden"), "{stderr}");
    let explained = Command::cargo_bin("eksdoctor")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["explain", "--format", "json", "-"])
        .write_stdin(stderr)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert!(v.to_string().contains("cluster/forbidden"), "{v}");
}

#[test]
fn kubectl_refuses_a_v1alpha1_exec_and_lint_kubeconfig_says_why() {
    assert!(
        kubectl_available(),
        "kubectl not found: run `cargo xtask setup` (installs kubernetes-client)"
    );
    let world = world();
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let kc = kubeconfig(home.path(), &api, &world, "alice");
    let text = std::fs::read_to_string(&kc).unwrap().replace(
        "client.authentication.k8s.io/v1beta1",
        "client.authentication.k8s.io/v1alpha1",
    );
    std::fs::write(&kc, text).unwrap();
    // kubectl 1.24 removed v1alpha1 (older ones, e.g. Debian 12's 1.20, still run it).
    if kubectl_minor() >= 24 {
        let out = kubectl(
            home.path(),
            &kc,
            &["get", "configmap", "-n", "kube-system", "aws-auth"],
        );
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("v1alpha1"), "{stderr}");
        // No request reached the server: kubectl refused the entry itself.
        assert!(api.requests().is_empty(), "{:?}", api.requests());
    }

    let lint = Command::cargo_bin("eksdoctor")
        .unwrap()
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .args(["lint", "kubeconfig", "--format", "json"])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&lint.stdout).unwrap();
    assert_eq!(
        v["findings"][0]["rule"], "kubeconfig/exec-api-version",
        "{v}"
    );
    assert_eq!(
        v["findings"][0]["fix"]["commands"][0],
        "aws eks update-kubeconfig --name demo --region us-west-2"
    );
}

#[test]
fn check_kubernetes_asks_the_cluster_itself() {
    let world = World::new(&json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [{"name": CLUSTER, "version": "1.31", "region": common::REGION}]
    }));
    let api = server(&world, true);
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, &api.ca_pem).unwrap();
    let mut cmd = Std::new(bin());
    let k = keys(&world, "alice");
    let k: Vec<(&str, &str)> = k.iter().map(|(a, b)| (*a, b.as_str())).collect();
    clean_env(&mut cmd, home.path(), &k);
    let out = cmd
        .args([
            "check",
            "--cluster",
            CLUSTER,
            "--no-console",
            "--format",
            "json",
        ])
        // --can implies the Kubernetes probes.
        .args(["--can", "delete", "pods", "-n", "team"])
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ])
        // moto's endpoint is a made-up AWS name: the probes go to the stand-in.
        .args(["--kube-endpoint", &api.url(), "--kube-ca"])
        .arg(&ca)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let k = &v["kubernetes"][format!("{}/{CLUSTER}", common::REGION)];
    assert_eq!(k["whoami"]["username"], "alice", "{v}");
    assert_eq!(k["aws_auth"]["caller_mapping"]["username"], "alice", "{k}");
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(rules.contains(&"cluster/console-rbac"), "{rules:?}");
    assert!(rules.contains(&"cluster/forbidden"), "{rules:?} {k}");
    assert_eq!(k["can"]["allowed"], false, "{k}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("k8s-aws-v1."));
    // On by default, no flag needed; the text report prints each answer.
    let mut cmd = Std::new(bin());
    let alice = keys(&world, "alice");
    let alice: Vec<(&str, &str)> = alice.iter().map(|(a, b)| (*a, b.as_str())).collect();
    clean_env(&mut cmd, home.path(), &alice);
    let out = cmd
        .args(["check", "--cluster", CLUSTER, "--no-console"])
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ])
        .args(["--kube-endpoint", &api.url(), "--kube-ca"])
        .arg(&ca)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  whoami   alice, groups devs"), "{text}");
    assert!(
        text.contains("  aws-auth line 8 maps the caller as alice"),
        "{text}"
    );
    assert!(text.contains("of the console's 58 reads denied"), "{text}");
    assert!(text.contains("(+50 more)"), "{text}");
    assert!(text.contains("  access   mapped via"), "{text}");
    assert!(!text.contains("k8s-aws-v1."), "{text}");
}

/// A private endpoint seen from outside its VPC: connections hang. `check`
/// (Kubernetes probes on by default) still ends within its deadline, and the
/// cluster says so: cluster/unreachable with DescribeCluster's endpoint access.
#[test]
fn check_with_a_silent_api_server_ends_and_says_so() {
    let world = World::new(&json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [{"name": CLUSTER, "version": "1.31", "region": common::REGION}]
    }));
    let hung = common::HungEndpoint::start();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Std::new(bin());
    let k = keys(&world, "alice");
    let k: Vec<(&str, &str)> = k.iter().map(|(a, b)| (*a, b.as_str())).collect();
    clean_env(&mut cmd, home.path(), &k);
    let started = std::time::Instant::now();
    let out = cmd
        .args([
            "check",
            "--cluster",
            CLUSTER,
            "--no-console",
            "--format",
            "json",
        ])
        .args(["--timeout", "2"])
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ])
        .args(["--kube-endpoint", &format!("https://{}", hung.addr)])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(elapsed < std::time::Duration::from_secs(15), "{elapsed:?}");
    assert_eq!(out.status.code(), Some(1), "{v}");
    let k = &v["kubernetes"][format!("{}/{CLUSTER}", common::REGION)];
    assert_eq!(k["reachable"], false, "{k}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cluster/unreachable")
        .unwrap_or_else(|| panic!("{v}"));
    assert!(f["evidence"]["endpoint_access"].is_object(), "{f}");
    // The access path stops at the cluster, not at an error of eksdoctor's.
    assert_eq!(v["identity"]["state"], "ready");
}

/// kubeconfig/cluster-mismatch, live: the context for `demo` points at an
/// old endpoint with another CA; the fix rewrites it with update-kubeconfig
/// (values single-quoted, the context's own profile kept).
#[test]
fn check_says_when_the_kubeconfig_context_is_not_the_cluster() {
    let world = World::new(&json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [{"name": CLUSTER, "version": "1.31", "region": common::REGION}]
    }));
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            r"apiVersion: v1
kind: Config
current-context: demo
clusters:
- name: demo
  cluster:
    server: https://OLD0000000000000000000000000000.gr7.{r}.eks.amazonaws.com
    certificate-authority-data: {ca}
contexts:
- name: demo
  context: {{cluster: demo, user: demo}}
users:
- name: demo
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, {r}, eks, get-token, --cluster-name, {CLUSTER}]
      env: [{{name: AWS_PROFILE, value: ops}}]
",
            r = common::REGION,
            ca = base64::engine::general_purpose::STANDARD
                .encode("-----BEGIN CERTIFICATE-----\nOLD\n"),
        ),
    )
    .unwrap();
    let mut cmd = Std::new(bin());
    let k = keys(&world, "alice");
    let k: Vec<(&str, &str)> = k.iter().map(|(a, b)| (*a, b.as_str())).collect();
    clean_env(&mut cmd, home.path(), &k);
    let out = cmd
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "check",
            "--cluster",
            CLUSTER,
            "--no-console",
            "--format",
            "json",
        ])
        .args(["--timeout", "2"])
        .args([
            "--region",
            common::REGION,
            "--endpoint-url",
            &world.endpoint(),
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "kubeconfig/cluster-mismatch")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(f["evidence"]["context"], "demo", "{f}");
    assert_eq!(
        f["fix"]["commands"][0],
        format!(
            "aws eks update-kubeconfig --name '{CLUSTER}' --region '{}' --profile 'ops' --alias 'demo'",
            common::REGION
        ),
        "{f}"
    );
    let k = &v["kubernetes"][format!("{}/{CLUSTER}", common::REGION)];
    assert_eq!(k["kubeconfig"]["context"], "demo", "{k}");
}

/// `cargo xtask bench live --kubernetes`: `check --all-clusters` with the
/// Kubernetes probes on, over EKSDOCTOR_BENCH_CLUSTERS (50) clusters in moto
/// behind the fault proxy and one stand-in API server, both adding
/// EKSDOCTOR_BENCH_LATENCY_MS (50) to every answer; against the floor
/// ceil(calls / concurrency) x round trip (target: within 1.5x).
#[test]
#[ignore = "a benchmark: cargo xtask bench live --kubernetes"]
fn bench_check_all_clusters_with_kubernetes() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("EKSDOCTOR_BENCH_CLUSTERS", 50);
    let latency = std::time::Duration::from_millis(env("EKSDOCTOR_BENCH_LATENCY_MS", 50));
    let concurrency: u64 = 16;
    let clusters: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("c{i:03}"), "version": "1.31", "region": common::REGION}))
        .collect();
    let world = World::new(&json!({"users": [{"name": "alice", "keys": 1}], "clusters": clusters}));
    let mut c = Config::new(CLUSTER, world.moto.addr);
    c.mappings = vec![Mapping {
        arn: format!("arn:aws:iam::{}:user/alice", common::ACCOUNT),
        username: "alice".into(),
        groups: vec!["devs".into()],
    }];
    c.allow.push(Allow::new(
        "devs",
        &["get", "list"],
        &["configmaps", "pods", "nodes"],
    ));
    c.aws_auth = Some(json!({"mapUsers": format!(
        "- userarn: arn:aws:iam::{}:user/alice\n  username: alice\n  groups: [devs]\n",
        common::ACCOUNT
    )}));
    c.latency = latency;
    let api = ApiServer::start(c);
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, &api.ca_pem).unwrap();
    world.faults().latency = latency;
    let aws_calls = || -> usize { world.proxy.seen.lock().map_or(0, |m| m.values().sum()) };
    let run = |kubernetes: bool| -> (std::time::Duration, usize, usize) {
        let mut cmd = Std::new(bin());
        let k = keys(&world, "alice");
        let k: Vec<(&str, &str)> = k.iter().map(|(a, b)| (*a, b.as_str())).collect();
        clean_env(&mut cmd, home.path(), &k);
        cmd.args(["check", "--all-clusters", "--format", "json"])
            .args(["--concurrency", &concurrency.to_string()])
            .args([
                "--region",
                common::REGION,
                "--endpoint-url",
                &world.endpoint(),
            ]);
        if kubernetes {
            cmd.args(["--kube-endpoint", &api.url(), "--kube-ca"])
                .arg(&ca);
        } else {
            cmd.arg("--no-kubernetes");
        }
        let (aws0, k0) = (aws_calls(), api.requests().len());
        let c0 = api.connections.load(std::sync::atomic::Ordering::Relaxed);
        let started = std::time::Instant::now();
        let out = cmd.output().unwrap();
        let t = started.elapsed();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let described = v["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["cluster"]["state"] == "ready")
            .count();
        assert_eq!(
            described as u64,
            n,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if kubernetes {
            let answered = v["kubernetes"]
                .as_object()
                .unwrap()
                .values()
                .filter(|k| k["whoami"]["username"] == "alice")
                .count();
            assert_eq!(answered as u64, n, "{}", v["kubernetes"]);
        }
        let handshakes = api.connections.load(std::sync::atomic::Ordering::Relaxed) - c0;
        if kubernetes {
            println!("  ({handshakes} TLS connections to the API server)");
        }
        (t, aws_calls() - aws0, api.requests().len() - k0)
    };
    // Warm up (moto's first answers, the page cache), then measure.
    let _ = run(true);
    let (t, aws, kube) = run(true);
    let (t_aws, aws_only, _) = run(false);
    let calls = (aws + kube) as u64;
    let floor = latency * u32::try_from(calls.div_ceil(concurrency)).unwrap();
    let ratio = t.as_secs_f64() / floor.as_secs_f64();
    let aws_floor = latency * u32::try_from((aws_only as u64).div_ceil(concurrency)).unwrap();
    println!(
        "bench live --kubernetes: {n} clusters, {} ms per answer (AWS and Kubernetes), concurrency {concurrency}",
        latency.as_millis()
    );
    println!(
        "  check --all-clusters, Kubernetes probes on:  {:>7.2} s  ({aws} AWS + {kube} Kubernetes calls; floor {:.2} s; {ratio:.2}x the floor, target 1.5x {})",
        t.as_secs_f64(),
        floor.as_secs_f64(),
        if ratio <= 1.5 { "ok" } else { "MISSED" }
    );
    println!(
        "  check --all-clusters --no-kubernetes:        {:>7.2} s  ({aws_only} AWS calls; floor {:.2} s; {:.2}x)",
        t_aws.as_secs_f64(),
        aws_floor.as_secs_f64(),
        t_aws.as_secs_f64() / aws_floor.as_secs_f64()
    );
}
