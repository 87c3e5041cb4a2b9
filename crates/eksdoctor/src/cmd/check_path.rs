//! `check`'s access path: for each cluster, the chain from the credentials
//! to kubectl (`eksdoctor_core::access_path`), printed as text or carried
//! in the JSON report as `access_paths`.

use eksdoctor_aws::LiveSnapshot;
use eksdoctor_aws::round::ClusterProbes;
use eksdoctor_core::access_path::{
    self, AccessPath, AwsAuthAnswer, CONSOLE_VERBS, KubernetesIdentity, PathInputs, RbacCheck,
};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::{CallerIdentity, Mapping, Probe};
use serde_json::Value;

/// The path for every cluster of the round, in the round's order.
/// `kubernetes` is `check --kubernetes`'s section (`{"REGION/NAME": ...}`):
/// the cluster's own answers for the mapping, Kubernetes identity and RBAC hops.
#[must_use]
pub fn paths(
    snap: &LiveSnapshot,
    findings: &[Finding],
    kubernetes: Option<&Value>,
) -> Vec<AccessPath> {
    let role_path = snap
        .caller_role
        .as_ref()
        .and_then(|p| p.ready())
        .map(|r| r.path.as_str());
    // The credentials hop says where they came from.
    let mut identity = snap.identity.clone();
    if let Probe::Ready(id) = &mut identity
        && id.credential_source.is_none()
    {
        id.credential_source = Some(snap.credential_source.describe());
    }
    snap.clusters
        .values()
        .map(|c| {
            let k = kubernetes
                .and_then(|k| k.get(format!("{}/{}", c.region, c.name)))
                .map(KubeAnswers::from_section)
                .unwrap_or_default();
            path(&identity, c, role_path, findings, &k)
        })
        .collect()
}

/// One cluster's Kubernetes answers, read back from its JSON section.
#[derive(Debug, Default)]
struct KubeAnswers {
    whoami: Option<Probe<KubernetesIdentity>>,
    aws_auth: Option<Probe<AwsAuthAnswer>>,
    rbac: Option<Probe<Vec<RbacCheck>>>,
}

/// A probe that answered with an error: its message.
fn failed<T>(v: &Value) -> Probe<T> {
    Probe::Failed {
        message: v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no answer")
            .to_owned(),
    }
}

impl KubeAnswers {
    fn from_section(v: &Value) -> Self {
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let whoami = v
            .get("whoami")
            .map(|w| match w.get("username").and_then(Value::as_str) {
                Some(u) => Probe::Ready(KubernetesIdentity {
                    username: u.to_owned(),
                    groups: strings(w.get("groups")),
                }),
                None => failed(w),
            });
        let aws_auth = v.get("aws_auth").map(|a| {
            if a.get("read").and_then(Value::as_bool) != Some(true) {
                return Probe::Denied {
                    permission: "get configmaps/aws-auth -n kube-system".to_owned(),
                };
            }
            if a.get("error").is_some() {
                return failed(a);
            }
            let m = a
                .get("caller_mapping")
                .filter(|m| m.get("username").is_some());
            Probe::Ready(AwsAuthAnswer {
                mapping: m.map(|m| Mapping {
                    source: "aws-auth",
                    username: m["username"].as_str().unwrap_or_default().to_owned(),
                    groups: strings(m.get("groups")),
                    access_policies: Vec::new(),
                }),
                line: m
                    .and_then(|m| m.get("line"))
                    .and_then(Value::as_u64)
                    .and_then(|l| usize::try_from(l).ok()),
            })
        });
        let rbac = v.get("console").map(|c| match c.get("denied") {
            Some(denied) => {
                let denied = strings(Some(denied));
                Probe::Ready(
                    CONSOLE_VERBS
                        .iter()
                        .map(|(verb, resource)| RbacCheck {
                            verb: (*verb).to_owned(),
                            resource: (*resource).to_owned(),
                            namespace: None,
                            allowed: !denied.contains(&format!("{verb} {resource}")),
                            console: true,
                        })
                        .collect(),
                )
            }
            None => failed(c),
        });
        Self {
            whoami,
            aws_auth,
            rbac,
        }
    }
}

fn path(
    identity: &Probe<CallerIdentity>,
    c: &ClusterProbes,
    role_path: Option<&str>,
    findings: &[Finding],
    k: &KubeAnswers,
) -> AccessPath {
    // The console's IAM actions as SimulatePrincipalPolicy answered them.
    let console: Option<Probe<Vec<(String, bool)>>> = match &c.console {
        Probe::Ready(d) => Some(Probe::Ready(
            d.iter().map(|d| (d.action.clone(), d.allowed())).collect(),
        )),
        _ => None,
    };
    let mut inp = PathInputs::new(&c.name, &c.region, identity, &c.cluster, &c.entry);
    inp.role_path = role_path;
    inp.console_iam = console.as_ref();
    inp.findings = findings;
    inp.whoami = k.whoami.as_ref();
    inp.aws_auth = k.aws_auth.as_ref();
    inp.rbac = k.rbac.as_ref();
    access_path::build(&inp)
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
    use std::collections::BTreeMap;

    fn snapshot() -> LiveSnapshot {
        let id = eksdoctor_core::snapshot::CallerIdentity::from_sts(
            "arn:aws:sts::111122223333:assumed-role/dev/bob",
            "111122223333",
            "AROAEXAMPLE:bob",
            None,
        )
        .unwrap();
        let cluster = ClusterProbes {
            region: "eu-west-1".into(),
            name: "apps".into(),
            cluster: Probe::Denied {
                permission: "eks:DescribeCluster".into(),
            },
            entry: Probe::Pending,
            oidc_provider: Probe::Pending,
            console: Probe::Pending,
        };
        LiveSnapshot {
            identity: Probe::Ready(id),
            caller_role: None,
            keys: None,
            keys_user: None,
            regions: BTreeMap::new(),
            clusters: BTreeMap::from([(("eu-west-1".into(), "apps".into()), cluster)]),
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
        let p = paths(&snap, &[], None);
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

    /// `check --kubernetes`'s section feeds the mapping, Kubernetes user and
    /// RBAC hops: here the console's `list nodes` is denied.
    #[test]
    fn the_clusters_own_answers_fill_the_kubernetes_hops() {
        use eksdoctor_core::snapshot::{AuthenticationMode, Cluster};
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
        let section = serde_json::json!({"eu-west-1/apps": {
            "reachable": true,
            "whoami": {"username": "dev:bob", "groups": ["devs"], "uid": "", "api_version": "v1"},
            "aws_auth": {"read": true, "caller_mapping": {"line": 12, "username": "dev:{{SessionName}}", "groups": ["devs"]}},
            "console": {"checked": 58, "denied": ["list nodes"]},
            "can": null,
        }});
        let p = paths(&snap, &[], Some(&section));
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
        let section = serde_json::json!({"eu-west-1/apps": {
            "reachable": true,
            "whoami": {"username": "dev:bob", "groups": ["devs"]},
            "aws_auth": {"read": false, "error": "forbidden", "status": 403},
            "console": {"error": "timed out"},
        }});
        let j = json(&paths(&snap, &[], Some(&section)));
        assert_ne!(j[0]["verdict"], "ok", "{j}");
    }
}
