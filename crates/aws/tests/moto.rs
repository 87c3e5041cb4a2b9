//! The probes against moto (one moto_server per test, own port), through the
//! fault-injecting proxy. EKS access entries / access policies and IAM
//! SimulatePrincipalPolicy are not implemented by moto: the proxy answers
//! those from its stub world (`common/proxy.rs`), with the same wire format
//! as AWS, so the real SDK deserializers run on them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{StubEntry, World};
use eksdoctor_aws::{
    ClusterSelection, LiveConfig, ProbeError, ProbeOptions, RegionSelection, stream_probes,
};
use eksdoctor_core::arn::PrincipalKind;
use eksdoctor_core::snapshot::{AuthenticationMode, CredentialKind, Probe, ProbeUpdate};
use serde_json::json;

fn config(world: &World, (id, secret): (String, String)) -> LiveConfig {
    LiveConfig::new(None, Some(common::REGION), Some(&world.endpoint()))
        .static_credentials(id, secret, None)
        .probe_timeout(Duration::from_secs(10))
}

/// Clusters 1.21 (us-east-1, no OIDC provider) and 1.29 (us-west-2, with
/// one). They sit in different regions because moto gives every cluster of
/// a region the same issuer.
fn user_world(keys: usize) -> World {
    World::new(&json!({
        "users": [{"name": "alice", "keys": keys}],
        "clusters": [
            {"name": "old", "version": "1.21", "region": "us-east-1"},
            {"name": "new", "version": "1.29", "oidc_provider": true}
        ]
    }))
}

async fn round(
    world: &World,
    cfg: LiveConfig,
    opts: ProbeOptions,
) -> (eksdoctor_aws::LiveSnapshot, Vec<ProbeUpdate>) {
    let live = cfg.connect().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let h = tokio::spawn(async move { stream_probes(&live, &opts, tx).await });
    let mut updates = Vec::new();
    while let Some(u) = rx.recv().await {
        updates.push(u);
    }
    let _ = world;
    (h.await.unwrap(), updates)
}

fn all_clusters() -> ProbeOptions {
    ProbeOptions {
        clusters: ClusterSelection::All,
        regions: RegionSelection::List(vec!["us-west-2".into(), "us-east-1".into()]),
        ..ProbeOptions::default()
    }
}

fn rules_of(snap: &eksdoctor_aws::LiveSnapshot) -> Vec<&'static str> {
    eksdoctor_aws::findings::derive(snap)
        .iter()
        .map(|f| f.rule)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_user_caller() {
    let world = user_world(1);
    let live = config(&world, world.user_key("alice", 0))
        .connect()
        .await
        .unwrap();
    assert_eq!(live.credential_kind(), Some(CredentialKind::LongTerm));
    let id = eksdoctor_aws::sts::caller_identity(&live).await.unwrap();
    assert_eq!(
        id.arn,
        format!("arn:aws:iam::{}:user/alice", common::ACCOUNT)
    );
    assert_eq!(id.kind, PrincipalKind::User);
    assert_eq!(id.canonical_arn, id.arn);
    assert_eq!(id.account, common::ACCOUNT);
    assert_eq!(id.region.as_deref(), Some(common::REGION));
}

/// Calls one after another go over one kept-alive connection, as they do
/// to AWS's endpoints: the proxy must not close them (a connection per
/// call cost the benches a thread and ~10 ms at moto per call).
#[tokio::test(flavor = "multi_thread")]
async fn calls_one_after_another_share_one_connection() {
    use std::sync::atomic::Ordering;
    let world = user_world(1);
    let live = config(&world, world.user_key("alice", 0))
        .connect()
        .await
        .unwrap();
    let before = world.proxy.connections.load(Ordering::Relaxed);
    let forwarded = world.proxy.forwarded.load(Ordering::Relaxed);
    for _ in 0..5 {
        eksdoctor_aws::sts::caller_identity(&live).await.unwrap();
    }
    assert_eq!(world.proxy.forwarded.load(Ordering::Relaxed), forwarded + 5);
    assert_eq!(
        world.proxy.connections.load(Ordering::Relaxed),
        before + 1,
        "five calls in turn, one connection"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn assumed_role_with_path_is_canonicalised_without_it() {
    let world = World::new(&json!({
        "roles": [{"name": "eks-admin", "path": "/team/dev/", "session": "alice"}],
        "clusters": [{"name": "c1"}]
    }));
    let (id, secret, token) = world.role_creds("eks-admin");
    let cfg = LiveConfig::new(None, Some(common::REGION), Some(&world.endpoint()))
        .static_credentials(id, secret, Some(token));
    let opts = ProbeOptions {
        clusters: ClusterSelection::All,
        ..ProbeOptions::default()
    };
    let (snap, _) = round(&world, cfg, opts).await;
    // The console check simulates the role itself, path included (an STS
    // session ARN cannot be simulated; the path-free ARN does not exist).
    assert_eq!(
        world.faults().simulated_principals,
        vec![format!(
            "arn:aws:iam::{}:role/team/dev/eks-admin",
            common::ACCOUNT
        )]
    );
    assert_eq!(world.proxy.count("GetRole"), 1);
    let id = snap.identity.ready().unwrap();
    assert_eq!(id.kind, PrincipalKind::AssumedRole);
    assert_eq!(id.credential_kind, CredentialKind::Temporary);
    assert_eq!(
        id.canonical_arn,
        format!("arn:aws:iam::{}:role/eks-admin", common::ACCOUNT)
    );
    // GetRole gives the path back (access entries need it).
    let role = snap.caller_role.as_ref().unwrap().ready().unwrap();
    assert_eq!(role.path, "/team/dev/");
    assert!(role.trust_policy.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_refused_before_anything_is_sent() {
    let world = user_world(1);
    let live = config(&world, world.user_key("alice", 0))
        .connect()
        .await
        .unwrap();
    let err = live
        .iam()
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        ProbeError::from_sdk(&err, "iam:CreateAccessKey"),
        ProbeError::Refused(_)
    ));
    let err = live
        .eks(None)
        .create_access_entry()
        .cluster_name("new")
        .principal_arn("arn:aws:iam::123456789012:user/alice")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(
        ProbeError::from_sdk(&err, "eks:CreateAccessEntry"),
        ProbeError::Refused(_)
    ));
    assert_eq!(world.proxy.count("CreateAccessKey"), 0);
    assert_eq!(world.proxy.count("CreateAccessEntry"), 0);
    // And the user still has one key.
    let keys = eksdoctor_aws::iam::access_keys(&live, Some("alice"))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn full_round_two_keys_and_two_cluster_versions() {
    let world = user_world(2);
    let (snap, updates) = round(
        &world,
        config(&world, world.user_key("alice", 0)),
        all_clusters(),
    )
    .await;
    assert!(matches!(updates.last(), Some(ProbeUpdate::Done)));
    assert!(
        updates
            .iter()
            .any(|u| matches!(u, ProbeUpdate::Findings(_)))
    );
    let keys = snap.keys.as_ref().unwrap().ready().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(snap.clusters.len(), 2);
    let old = &snap.clusters[&("us-east-1".to_owned(), "old".to_owned())];
    assert_eq!(
        old.cluster.ready().unwrap().version.as_deref(),
        Some("1.21")
    );
    assert_eq!(old.oidc_provider, Probe::Ready(false));
    let new = &snap.clusters[&(common::REGION.to_owned(), "new".to_owned())];
    assert_eq!(new.oidc_provider, Probe::Ready(true));
    assert_eq!(new.entry, Probe::Ready(None));
    let rules = rules_of(&snap);
    assert!(rules.contains(&"keys/limit-reached"), "{rules:?}");
    assert!(rules.contains(&"keys/long-term-credentials"));
    assert!(rules.contains(&"sts/legacy-global-default"));
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "sts/legacy-global-default")
            .count(),
        1
    );
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "irsa/oidc-provider-missing")
            .count(),
        1
    );
    assert!(!rules.iter().any(|r| r.starts_with("creds/")), "{rules:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn access_entries_and_modes_from_the_stub() {
    let world = user_world(1);
    let alice = format!("arn:aws:iam::{}:user/alice", common::ACCOUNT);
    {
        let mut f = world.faults();
        f.auth_mode.insert("new".into(), "API".into());
        f.auth_mode.insert("old".into(), "CONFIG_MAP".into());
        f.access_entries.insert(
            "new".into(),
            vec![
                StubEntry {
                    principal_arn: "arn:aws:iam::123456789012:role/other".into(),
                    ..StubEntry::default()
                },
                StubEntry {
                    principal_arn: alice.clone(),
                    username: "alice".into(),
                    groups: vec!["devs".into()],
                    policies: vec![(
                        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".into(),
                        "namespace".into(),
                        vec!["team-a".into()],
                    )],
                },
            ],
        );
        f.simulate_denied.insert("eks:AccessKubernetesApi".into());
    }
    let (snap, _) = round(
        &world,
        config(&world, world.user_key("alice", 0)),
        all_clusters(),
    )
    .await;
    let new = &snap.clusters[&(common::REGION.to_owned(), "new".to_owned())];
    assert_eq!(
        new.cluster.ready().unwrap().authentication_mode,
        Some(AuthenticationMode::Api)
    );
    let entry = new.entry.ready().unwrap().as_ref().unwrap();
    assert_eq!(entry.principal_arn, alice);
    assert_eq!(entry.kubernetes_groups, vec!["devs"]);
    assert_eq!(entry.access_policies[0].scope, "namespace");
    assert_eq!(entry.access_policies[0].namespaces, vec!["team-a"]);
    // CONFIG_MAP: no access entries call at all for "old".
    assert_eq!(world.proxy.count("ListAccessEntries"), 1);
    let rules = rules_of(&snap);
    assert!(rules.contains(&"cluster/config-map-only"), "{rules:?}");
    assert!(!rules.contains(&"cluster/not-mapped"));
    assert!(rules.contains(&"cluster/console-no-k8s-access"));

    // Same world, the entry removed: not mapped in API mode.
    world.faults().access_entries.clear();
    let (snap, _) = round(
        &world,
        config(&world, world.user_key("alice", 0)),
        all_clusters(),
    )
    .await;
    assert!(rules_of(&snap).contains(&"cluster/not-mapped"));
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_then_reported() {
    let world = user_world(2);
    // Two throttles: the standard retry absorbs them.
    world.faults().throttle.insert("ListAccessKeys".into(), 2);
    world.faults().throttle.insert("ListClusters".into(), 1);
    let (snap, _) = round(
        &world,
        config(&world, world.user_key("alice", 0)),
        all_clusters(),
    )
    .await;
    assert_eq!(snap.keys.as_ref().unwrap().ready().unwrap().len(), 2);
    assert_eq!(world.proxy.count("ListAccessKeys"), 3);
    assert_eq!(snap.clusters.len(), 2);

    // Throttled for good: that probe fails as throttled, the others answer.
    world
        .faults()
        .throttle
        .insert("DescribeCluster".into(), 1000);
    let (snap, _) = round(
        &world,
        config(&world, world.user_key("alice", 0)).max_attempts(2),
        all_clusters(),
    )
    .await;
    assert!(
        snap.problems
            .iter()
            .any(|p| matches!(p, ProbeError::Throttled { .. }))
    );
    for c in snap.clusters.values() {
        assert!(matches!(c.cluster, Probe::Failed { .. }), "{:?}", c.cluster);
    }
    assert!(snap.keys.as_ref().unwrap().ready().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_probe_times_out_alone() {
    let world = user_world(1);
    world.faults().hang.insert("DescribeCluster".into());
    let started = std::time::Instant::now();
    let (snap, _) = round(
        &world,
        config(&world, world.user_key("alice", 0)).probe_timeout(Duration::from_secs(2)),
        all_clusters(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(15));
    for c in snap.clusters.values() {
        assert_eq!(c.cluster, Probe::TimedOut);
    }
    assert!(snap.identity.ready().is_some());
    assert!(snap.keys.as_ref().unwrap().ready().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_endpoint_fails_connect_in_time() {
    let hung = common::HungEndpoint::start();
    let cfg = LiveConfig::new(None, Some(common::REGION), Some(&hung.url()))
        .static_credentials("AKIAIOSFODNN7TESTKEY", "secret-not-real", None)
        .probe_timeout(Duration::from_secs(2));
    let live = cfg.connect().await.unwrap();
    let started = std::time::Instant::now();
    let err = eksdoctor_aws::sts::caller_identity(&live)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::TimedOut { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_probe_names_its_permission() {
    // moto enforces IAM once seeding is done (seed.py resets the no-auth
    // count). EKS GETs then fail moto's signature check, so this test stays
    // on IAM and STS probes.
    let world = World::new(&json!({
        "users": [{"name": "limited", "keys": 1, "policy": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]
        }}],
        "enforce_auth": true
    }));
    let (snap, _) = round(
        &world,
        config(&world, world.user_key("limited", 0)),
        ProbeOptions::default(),
    )
    .await;
    assert!(snap.identity.ready().is_some());
    assert_eq!(
        snap.keys,
        Some(Probe::Denied {
            permission: "iam:ListAccessKeys".into()
        })
    );
    let findings = eksdoctor_aws::findings::derive(&snap);
    let denied: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "creds/probe-denied")
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].evidence["permission"], "iam:ListAccessKeys");
    assert!(denied[0].fix.as_ref().unwrap().policy.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_keys_are_creds_invalid() {
    let world = World::new(&json!({"enforce_auth": true}));
    let cfg = LiveConfig::new(None, Some(common::REGION), Some(&world.endpoint()))
        .static_credentials("AKIAIOSFODNN7UNKNOWN", "not-a-real-secret", None);
    let (snap, _) = round(&world, cfg, ProbeOptions::default()).await;
    assert!(snap.fatal().is_some(), "{:?}", snap.problems);
    assert_eq!(rules_of(&snap), vec!["creds/invalid"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_list_is_probed_concurrently() {
    let world = World::new(&json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [
            {"name": "a", "region": "us-west-2"},
            {"name": "b", "region": "eu-west-1"}
        ]
    }));
    let opts = ProbeOptions {
        regions: RegionSelection::List(vec!["us-west-2".into(), "eu-west-1".into()]),
        clusters: ClusterSelection::All,
        ..ProbeOptions::default()
    };
    let (snap, _) = round(&world, config(&world, world.user_key("alice", 0)), opts).await;
    assert_eq!(snap.regions.len(), 2);
    assert!(
        snap.clusters
            .contains_key(&("eu-west-1".to_owned(), "b".to_owned()))
    );
    assert!(
        snap.clusters
            .contains_key(&("us-west-2".to_owned(), "a".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn decode_authorization_message_for_explain() {
    // moto lacks sts:DecodeAuthorizationMessage: the proxy answers it (stub).
    let world = user_world(1);
    let live = config(&world, world.user_key("alice", 0))
        .connect()
        .await
        .unwrap();
    let v = eksdoctor_aws::sts::decode_authorization_message(&live, "  encoded-blob  ")
        .await
        .unwrap();
    assert_eq!(v["context"]["action"], "ec2:RunInstances");
    assert_eq!(v["allowed"], false);
}
