//! `check`'s access path: for each cluster, the chain from the credentials
//! to kubectl (`eksdoctor_core::access_path`), printed as text or carried
//! in the JSON report as `access_paths`.

use eksdoctor_aws::LiveSnapshot;
use eksdoctor_core::access_path::AccessPath;
use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::Probe;
use serde_json::Value;

/// The path for every cluster of the round, in the round's order, from the
/// one cluster model (its Kubernetes answers fill the mapping, Kubernetes
/// user and RBAC hops when the probes ran).
#[must_use]
pub fn paths(snap: &LiveSnapshot, findings: &[Finding]) -> Vec<AccessPath> {
    // The credentials hop says where they came from.
    let mut identity = snap.identity.clone();
    if let Probe::Ready(id) = &mut identity
        && id.credential_source.is_none()
    {
        id.credential_source = Some(snap.credential_source.describe());
    }
    snap.clusters
        .values()
        .map(|c| c.path(&identity, snap.role_path(), findings, true))
        .collect()
}

/// The paths as `check` prints them, one block per cluster.
#[must_use]
pub fn text(paths: &[AccessPath], ascii: bool) -> String {
    let mut s = String::new();
    for p in paths {
        s.push('\n');
        s.push_str(&p.text(ascii));
    }
    s
}

/// The paths for the JSON report's `access_paths` member.
#[must_use]
pub fn json(paths: &[AccessPath]) -> Value {
    serde_json::to_value(paths).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksdoctor_aws::source::{CredentialSource, SourceKind};
    use eksdoctor_core::snapshot::{ProbeUpdate, Snapshot};

    fn snapshot() -> LiveSnapshot {
        let id = eksdoctor_core::snapshot::CallerIdentity::from_sts(
            "arn:aws:sts::111122223333:assumed-role/dev/bob",
            "111122223333",
            "AROAEXAMPLE:bob",
            None,
        )
        .unwrap();
        let mut snapshot = Snapshot {
            identity: Probe::Ready(id),
            ..Snapshot::default()
        };
        snapshot.cluster_mut("eu-west-1", "apps").cluster = Probe::Denied {
            permission: "eks:DescribeCluster".into(),
        };
        LiveSnapshot {
            snapshot,
            problems: Vec::new(),
            credential_source: CredentialSource {
                kind: SourceKind::Sso,
                profile: "dev".into(),
                profile_explicit: true,
                tried: Vec::new(),
                skipped: Vec::new(),
            },
            access_key_id: "ASIAEXAMPLEEXAMPLE00".into(),
        }
    }

    #[test]
    fn text_and_json_carry_the_broken_hop() {
        let snap = snapshot();
        let p = paths(&snap, &[]);
        let t = text(&p, true);
        assert!(
            t.contains("access path  apps (eu-west-1): broken at eks:DescribeCluster"),
            "{t}"
        );
        assert!(t.contains(&snap.credential_source.describe()), "{t}");
        let j = json(&p);
        assert_eq!(j[0]["first_broken"], 3);
        assert_eq!(j[0]["hops"][3]["state"], "broken");
        assert_eq!(j[0]["hops"][3]["evidence"]["denied"], "eks:DescribeCluster");
        assert_eq!(j[0]["hops"][4]["state"], "unknown");
    }

    /// The cluster's own answers feed the mapping, Kubernetes user and
    /// RBAC hops: here the console's `list nodes` is denied.
    #[test]
    fn the_clusters_own_answers_fill_the_kubernetes_hops() {
        use eksdoctor_core::access_path::RbacCheck;
        use eksdoctor_core::snapshot::{
            AuthenticationMode, AwsAuthRead, Cluster, KubeUpdate, KubeUser, Mapping,
        };
        let mut snap = snapshot();
        for c in snap.clusters.values_mut() {
            c.cluster = Probe::Ready(Cluster {
                name: "apps".into(),
                region: "eu-west-1".into(),
                arn: None,
                status: Some("ACTIVE".into()),
                version: Some("1.30".into()),
                endpoint_public_access: Some(true),
                endpoint_private_access: Some(false),
                authentication_mode: Some(AuthenticationMode::ConfigMap),
                oidc_issuer: None,
                role_arn: None,
            });
            c.entry = Probe::Ready(None);
        }
        let kube = |snap: &mut LiveSnapshot, update: KubeUpdate| {
            snap.apply(ProbeUpdate::Kubernetes {
                region: "eu-west-1".into(),
                name: "apps".into(),
                update,
            });
        };
        let mut ok = snap.clone();
        kube(
            &mut ok,
            KubeUpdate::Started {
                endpoint: "https://k".into(),
                can: false,
            },
        );
        kube(&mut ok, KubeUpdate::Reach(Probe::Ready("https://k".into())));
        kube(
            &mut ok,
            KubeUpdate::Identity(Probe::Ready(KubeUser {
                username: "dev:bob".into(),
                groups: vec!["devs".into()],
                ..KubeUser::default()
            })),
        );
        kube(
            &mut ok,
            KubeUpdate::AwsAuth(Probe::Ready(AwsAuthRead {
                mapping: Some(Mapping {
                    source: "aws-auth",
                    username: "dev:{{SessionName}}".into(),
                    groups: vec!["devs".into()],
                    access_policies: Vec::new(),
                }),
                line: Some(12),
                ..AwsAuthRead::default()
            })),
        );
        kube(
            &mut ok,
            KubeUpdate::Rbac(Probe::Ready(vec![RbacCheck {
                verb: "list".into(),
                resource: "nodes".into(),
                namespace: None,
                allowed: false,
                console: true,
            }])),
        );
        let p = paths(&ok, &[]);
        let j = json(&p);
        let hop = |kind: &str| {
            j[0]["hops"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["hop"] == kind)
                .cloned()
                .unwrap_or_else(|| panic!("no {kind} hop in {j}"))
        };
        assert_eq!(hop("mapping")["state"], "ok", "{j}");
        assert_eq!(hop("kubernetes-user")["state"], "ok", "{j}");
        assert_eq!(hop("rbac")["state"], "broken", "{j}");
        let t = text(&p, true);
        assert!(t.contains("list nodes"), "{t}");

        // aws-auth unreadable (403): the mapping hop cannot be answered from it.
        let mut denied = snap;
        kube(
            &mut denied,
            KubeUpdate::Started {
                endpoint: "https://k".into(),
                can: false,
            },
        );
        kube(
            &mut denied,
            KubeUpdate::AwsAuth(Probe::Denied {
                permission: "get configmaps/aws-auth -n kube-system".into(),
            }),
        );
        kube(&mut denied, KubeUpdate::Rbac(Probe::TimedOut));
        let j = json(&paths(&denied, &[]));
        assert_ne!(j[0]["verdict"], "ok", "{j}");
    }
}
