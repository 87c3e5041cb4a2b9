//! The Kubernetes probes against the stand-in API server
//! (crates/eksdoctor/tests/k8s/apiserver.rs: a test stand-in that verifies
//! each EKS token by calling the presigned GetCallerIdentity at moto), and
//! the read-only guard on a real kube-rs client. Needs EKSDOCTOR_MOTO_SERVER.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../eksdoctor/tests/k8s/apiserver.rs"]
mod apiserver;
#[path = "../../aws/tests/common/mod.rs"]
mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use apiserver::{Allow, ApiServer, Config, Mapping};
use aws_credential_types_shim::creds;
use eksdoctor_aws::LiveConfig;
use eksdoctor_kube::findings;
use eksdoctor_kube::probes::{self, KubeError, Target};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

mod aws_credential_types_shim {
    /// Dummy credentials for a token that never reaches a server.
    pub fn creds() -> eksdoctor_aws::token::EksToken {
        let c = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "t");
        eksdoctor_aws::token::presign("c", "us-west-2", &c, std::time::SystemTime::now()).unwrap()
    }
}

const CLUSTER: &str = "demo";
const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_guard_refuses_writes_before_anything_is_sent() {
    // A listener that counts connections: a refused request never connects.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    let target = Target {
        endpoint: format!("https://{addr}"),
        ca: None,
        timeout: T,
    };
    let client = probes::client(&target, &creds()).unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let errs = [
        cms.delete("aws-auth", &DeleteParams::default())
            .await
            .map(|_| ()),
        cms.create(&PostParams::default(), &ConfigMap::default())
            .await
            .map(|_| ()),
        cms.replace("aws-auth", &PostParams::default(), &ConfigMap::default())
            .await
            .map(|_| ()),
        cms.patch(
            "aws-auth",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {}})),
        )
        .await
        .map(|_| ()),
    ];
    for e in errs {
        let e = e.unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("read-only") && msg.contains("refused"),
            "{msg}"
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a refused request reached the network"
    );
}

fn world() -> common::World {
    common::World::new(&json!({
        "users": [{"name": "alice", "keys": 1}, {"name": "bob", "keys": 1}, {"name": "carol", "keys": 1}]
    }))
}

fn server(world: &common::World) -> ApiServer {
    let mut c = Config::new(CLUSTER, world.moto.addr);
    let acct = common::ACCOUNT;
    c.mappings = vec![
        Mapping {
            arn: format!("arn:aws:iam::{acct}:user/alice"),
            username: "alice".into(),
            groups: vec!["devs".into()],
        },
        Mapping {
            arn: format!("arn:aws:iam::{acct}:user/carol"),
            username: "carol".into(),
            groups: vec!["admins".into()],
        },
    ];
    // devs: the console's core reads only (apps/batch/... denied); no aws-auth.
    c.allow.push(Allow::new(
        "devs",
        &["get", "list"],
        &["nodes", "namespaces", "pods", "events", "services"],
    ));
    c.allow.push(Allow::new("admins", &["*"], &["*"]));
    c.aws_auth = Some(json!({"mapUsers": format!(
        "- userarn: arn:aws:iam::{acct}:user/alice\n  username: alice\n  groups:\n  - devs\n- userarn: arn:aws:iam::{acct}:user/carol\n  username: carol\n  groups:\n  - admins\n"
    )}));
    // An older cluster: SelfSubjectReview at v1beta1 only.
    c.self_subject_review_v1 = false;
    ApiServer::start(c)
}

async fn token_for(world: &common::World, user: &str) -> eksdoctor_aws::token::EksToken {
    let (id, secret) = world.user_key(user, 0);
    let config = LiveConfig::new(None, Some(common::REGION), Some(&world.endpoint()))
        .static_credentials(id, secret, None);
    eksdoctor_aws::token::token(&config, CLUSTER, None)
        .await
        .unwrap()
}

fn target(api: &ApiServer) -> Target {
    Target {
        endpoint: api.url(),
        ca: Some(api.ca_pem.clone()),
        timeout: T,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_caller_whoami_console_and_aws_auth() {
    let world = world();
    let api = server(&world);
    let client = probes::client(&target(&api), &token_for(&world, "alice").await).unwrap();

    let me = probes::who_am_i(&client, T).await.unwrap();
    assert_eq!(me.username, "alice");
    assert_eq!(
        me.api_version, "authentication.k8s.io/v1beta1",
        "fell back from v1"
    );
    assert_eq!(me.groups, ["devs", "system:authenticated"]);
    assert_eq!(
        me.access_key_id.as_deref(),
        Some(world.user_key("alice", 0).0.as_str())
    );
    assert!(!me.is_anonymous());

    // Console reads partly forbidden.
    let access = probes::console_access(&client, T, 8).await.unwrap();
    assert_eq!(access.len(), 58);
    let f = findings::console_rbac(
        CLUSTER,
        "arn:aws:iam::123456789012:user/alice",
        &me,
        &access,
    )
    .unwrap();
    assert_eq!(f.rule, "cluster/console-rbac");
    let denied = f.evidence["denied"].as_array().unwrap();
    assert!(
        denied.iter().any(|d| d == "list deployments.apps"),
        "{denied:?}"
    );
    assert!(!denied.iter().any(|d| d == "list pods"), "{denied:?}");
    // The binding names the mapping's group, not the username.
    assert!(
        f.fix
            .as_ref()
            .unwrap()
            .replacement
            .as_ref()
            .unwrap()
            .contains("name: devs")
    );

    // aws-auth is not readable for devs: 403 says why.
    let err = probes::aws_auth(&client, T).await.unwrap_err();
    assert_eq!(err.code(), Some(403), "{err}");
    assert!(
        err.to_string()
            .contains("cannot get resource \"configmaps\""),
        "{err}"
    );
    let f = findings::aws_auth_unreadable(CLUSTER, Some(&me), &err);
    assert!(f.message.contains("HTTP 403 Forbidden"), "{}", f.message);
    assert!(
        api.requests()
            .iter()
            .all(|r| !r.starts_with("DELETE") && !r.starts_with("PUT"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reads_aws_auth_and_the_engine_maps_the_caller_with_its_line() {
    let world = world();
    let api = server(&world);
    let client = probes::client(&target(&api), &token_for(&world, "carol").await).unwrap();
    let yaml = probes::aws_auth(&client, T).await.unwrap().unwrap();
    let lint =
        eksdoctor_core::awsauth::lint(&yaml, "kube-system/aws-auth", &Default::default()).unwrap();
    let caller =
        eksdoctor_core::awsauth::mapper::Caller::from_arn("arn:aws:iam::123456789012:user/carol")
            .unwrap();
    let found = eksdoctor_core::awsauth::mapper::lookup(&lint.configmaps[0], &caller);
    match found.outcome {
        eksdoctor_core::awsauth::mapper::Outcome::Entry { line, username, .. } => {
            assert_eq!(username.text, "carol");
            assert_eq!(line, 12, "{yaml}");
        }
        other => panic!("{other:?}"),
    }
    let access = probes::console_access(&client, T, 8).await.unwrap();
    let me = probes::who_am_i(&client, T).await.unwrap();
    assert!(findings::console_rbac(CLUSTER, "carol", &me, &access).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmapped_caller_is_401_and_reported_not_mapped() {
    let world = world();
    let api = server(&world);
    let client = probes::client(&target(&api), &token_for(&world, "bob").await).unwrap();
    let err = probes::who_am_i(&client, T).await.unwrap_err();
    assert_eq!(err.code(), Some(401), "{err}");
    let f = findings::not_mapped(
        CLUSTER,
        "arn:aws:iam::123456789012:user/bob",
        "arn:aws:iam::123456789012:user/bob",
        &err,
        &[],
    );
    assert_eq!(f.rule, "cluster/not-mapped");
    assert!(f.detail.contains("401"), "{}", f.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_and_a_silent_endpoint_are_unreachable_not_hangs() {
    let world = world();
    let api = server(&world);
    let other = ApiServer::start(Config::new(CLUSTER, world.moto.addr));
    let token = token_for(&world, "alice").await;
    // TLS: the CA is another cluster's.
    let t = Target {
        endpoint: api.url(),
        ca: Some(other.ca_pem.clone()),
        timeout: T,
    };
    let err = probes::who_am_i(&probes::client(&t, &token).unwrap(), T)
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    // A private endpoint seen from outside: connections hang.
    let hung = common::HungEndpoint::start();
    let t = Target {
        endpoint: format!("https://{}", hung.addr),
        ca: Some(api.ca_pem.clone()),
        timeout: Duration::from_millis(500),
    };
    let started = std::time::Instant::now();
    let err = probes::who_am_i(&probes::client(&t, &token).unwrap(), t.timeout)
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let access = findings::EndpointAccess {
        public: Some(false),
        private: Some(true),
        public_cidrs: vec![],
    };
    let f = findings::unreachable(CLUSTER, &t.endpoint, &err, &access);
    assert_eq!(f.rule, "cluster/unreachable");
    assert!(f.detail.contains("private only"), "{}", f.detail);
    let _ = KubeError::TimedOut(T);
    let _ = SystemTime::now();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cluster_end_to_end() {
    use eksdoctor_core::awsauth::mapper::Caller;
    let world = world();
    let api = server(&world);
    let access = findings::EndpointAccess::default();
    // carol: mapped on line 12, reads everything.
    let carol = Caller::from_arn("arn:aws:iam::123456789012:user/carol").unwrap();
    let a = eksdoctor_kube::cluster::probe(
        CLUSTER,
        &target(&api),
        &token_for(&world, "carol").await,
        &carol,
        &access,
        8,
        None,
    )
    .await;
    // Only the engine's migration plan, with this cluster's name in the commands.
    let rules: Vec<&str> = a.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["aws-auth/migrate"]);
    let commands = &a.findings[0].fix.as_ref().unwrap().commands;
    assert!(
        commands
            .iter()
            .any(|c| c.contains("create-access-entry --cluster-name demo")),
        "{commands:?}"
    );
    assert_eq!(a.json["whoami"]["username"], "carol");
    assert_eq!(
        a.json["aws_auth"]["caller_mapping"]["line"], 12,
        "{}",
        a.json
    );
    assert_eq!(a.json["console"]["denied"].as_array().unwrap().len(), 0);
    // alice: aws-auth unreadable, console partly denied.
    let alice = Caller::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
    let a = eksdoctor_kube::cluster::probe(
        CLUSTER,
        &target(&api),
        &token_for(&world, "alice").await,
        &alice,
        &access,
        8,
        None,
    )
    .await;
    let rules: Vec<&str> = a.findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        ["creds/probe-denied", "cluster/console-rbac"],
        "{}",
        a.json
    );
    assert_eq!(a.json["aws_auth"]["status"], 403);
    // alice may list pods but not delete them in team.
    let can = eksdoctor_kube::cluster::Can {
        verb: "delete".into(),
        resource: "pods".into(),
        namespace: Some("team".into()),
    };
    let a = eksdoctor_kube::cluster::probe(
        CLUSTER,
        &target(&api),
        &token_for(&world, "alice").await,
        &alice,
        &access,
        8,
        Some(&can),
    )
    .await;
    let f = a
        .findings
        .iter()
        .find(|f| f.rule == "cluster/forbidden")
        .unwrap();
    let manifest = f.fix.as_ref().unwrap().replacement.as_ref().unwrap();
    assert!(
        manifest.contains("kind: RoleBinding") && manifest.contains("name: devs"),
        "{manifest}"
    );
    assert_eq!(a.json["can"]["allowed"], false);
    // bob: 401, not mapped, nothing else asked.
    let bob = Caller::from_arn("arn:aws:iam::123456789012:user/bob").unwrap();
    let a = eksdoctor_kube::cluster::probe(
        CLUSTER,
        &target(&api),
        &token_for(&world, "bob").await,
        &bob,
        &access,
        8,
        None,
    )
    .await;
    let rules: Vec<&str> = a.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["cluster/not-mapped"]);
    assert_eq!(a.json["whoami"]["status"], 401);
}
