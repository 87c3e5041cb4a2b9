//! `check`'s access path: for each cluster, the chain from the credentials
//! to kubectl (`eksdoctor_core::access_path`), printed as text or carried
//! in the JSON report as `access_paths`.

use eksdoctor_aws::LiveSnapshot;
use eksdoctor_aws::round::ClusterProbes;
use eksdoctor_core::access_path::{self, AccessPath, PathInputs};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::{CallerIdentity, Probe};
use serde_json::Value;

/// The path for every cluster of the round, in the round's order.
#[must_use]
pub fn paths(snap: &LiveSnapshot, findings: &[Finding]) -> Vec<AccessPath> {
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
        .map(|c| path(&identity, c, role_path, findings))
        .collect()
}

fn path(
    identity: &Probe<CallerIdentity>,
    c: &ClusterProbes,
    role_path: Option<&str>,
    findings: &[Finding],
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
}
