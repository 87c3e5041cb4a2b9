//! One cluster's answers, AWS and Kubernetes ([`ClusterProbes`]), and the
//! account's ([`Snapshot`]): the model `check`, its JSON and the dashboard
//! read, filled by [`ProbeUpdate`]s in any order.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    AccessEntry, AccessKey, CallerIdentity, Cluster, IamRole, KubeProbes, KubeUpdate, Mapping,
    Probe, ProbeUpdate,
};
use crate::access_path::{self, AccessPath, PathInputs};
use crate::finding::Finding;
use crate::sts::EndpointRow;

/// One IAM action as SimulatePrincipalPolicy answered it for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimulatedDecision {
    pub action: String,
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
}

impl SimulatedDecision {
    #[must_use]
    pub fn allowed(&self) -> bool {
        self.decision == "allowed"
    }
}

/// Where a cluster's Kubernetes API answers and how to trust it
/// (DescribeCluster's endpoint, CA and endpoint access settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiEndpoint {
    /// `https://XXXX.gr7.REGION.eks.amazonaws.com` (none while CREATING).
    pub endpoint: Option<String>,
    /// `certificateAuthority.data`: base64 of the PEM CA (public).
    pub ca_data: Option<String>,
    pub public_access: Option<bool>,
    pub private_access: Option<bool>,
    pub public_access_cidrs: Vec<String>,
}

/// Whether the caller gets into a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Mapped(Mapping),
    NotMapped,
    /// A source the cluster consults could not be read: what.
    Unknown(String),
}

/// Everything one cluster's probes found, AWS and Kubernetes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterProbes {
    pub region: String,
    pub name: String,
    pub cluster: Probe<Cluster>,
    /// The endpoint and CA from the same DescribeCluster.
    pub api: Option<ApiEndpoint>,
    /// The caller's access entry (`Ready(None)`: the caller has none).
    pub entry: Probe<Option<AccessEntry>>,
    /// Whether the IAM OIDC provider for the issuer exists.
    pub oidc_provider: Probe<bool>,
    /// The console's IAM permissions, simulated for the caller.
    pub console: Probe<Vec<SimulatedDecision>>,
    /// The STS endpoint each workload resolves to, when manifests were read.
    pub workloads: Probe<Vec<EndpointRow>>,
    /// The cluster's own answers.
    pub kube: KubeProbes,
}

impl ClusterProbes {
    #[must_use]
    pub fn new(region: &str, name: &str) -> Self {
        Self {
            region: region.to_owned(),
            name: name.to_owned(),
            cluster: Probe::Pending,
            api: None,
            entry: Probe::Pending,
            oidc_provider: Probe::Pending,
            console: Probe::Pending,
            workloads: Probe::Pending,
            kube: KubeProbes::default(),
        }
    }

    /// Fold in one update about this cluster (others are ignored).
    pub fn apply(&mut self, u: ProbeUpdate) {
        match u {
            ProbeUpdate::Cluster { cluster, .. } => self.cluster = cluster,
            ProbeUpdate::CallerAccessEntry { entry, .. } => self.entry = entry,
            ProbeUpdate::OidcProvider { present, .. } => self.oidc_provider = present,
            ProbeUpdate::Console { decisions, .. } => self.console = decisions,
            ProbeUpdate::ApiEndpoint { api, .. } => self.api = Some(api),
            ProbeUpdate::Kubernetes { update, .. } => self.kube.apply(update),
            _ => {}
        }
    }

    /// Fold in one Kubernetes answer.
    pub fn apply_kube(&mut self, u: KubeUpdate) {
        self.kube.apply(u);
    }

    /// The AWS probes still in flight (DescribeCluster, the access entry).
    #[must_use]
    pub fn pending(&self) -> bool {
        self.cluster.is_pending() || self.entry.is_pending()
    }

    /// How EKS maps the caller: access entries win over aws-auth; the
    /// cluster's own answer (SelfSubjectReview) gives the rendered user.
    #[must_use]
    pub fn mapping(&self) -> Option<Mapping> {
        let mode = self.cluster.ready().and_then(|c| c.authentication_mode);
        let uses_entries = mode.is_none_or(|m| m.uses_access_entries());
        let uses_config_map = mode.is_none_or(|m| m.uses_config_map());
        let mut m = None;
        if uses_entries && let Some(Some(e)) = self.entry.ready() {
            m = Some(Mapping {
                source: "access-entry",
                username: e
                    .username
                    .clone()
                    .unwrap_or_else(|| e.principal_arn.clone()),
                groups: e.kubernetes_groups.clone(),
                access_policies: e
                    .access_policies
                    .iter()
                    .map(|p| p.policy_arn.clone())
                    .collect(),
            });
        }
        if m.is_none()
            && uses_config_map
            && let Some(Probe::Ready(a)) = &self.kube.aws_auth
        {
            m.clone_from(&a.mapping);
        }
        if let Some(Probe::Ready(user)) = &self.kube.whoami
            && !user.is_anonymous()
        {
            let mut known = m.unwrap_or(Mapping {
                source: "cluster",
                username: String::new(),
                groups: Vec::new(),
                access_policies: Vec::new(),
            });
            known.username.clone_from(&user.username);
            known.groups = user
                .groups
                .iter()
                .filter(|g| g.as_str() != "system:authenticated")
                .cloned()
                .collect();
            return Some(known);
        }
        m
    }

    /// Where the mapping comes from, as an operator reads it: `access entry`,
    /// `aws-auth line 12`, `the cluster (SelfSubjectReview)`.
    #[must_use]
    pub fn mapped_via(&self) -> Option<String> {
        let m = self.mapping()?;
        Some(match m.source {
            "access-entry" => "access entry".to_owned(),
            "aws-auth" => match self.kube.aws_auth.as_ref().and_then(|a| a.ready()?.line) {
                Some(l) => format!("aws-auth line {l}"),
                None => "aws-auth".to_owned(),
            },
            _ => "the cluster (SelfSubjectReview)".to_owned(),
        })
    }

    /// Mapped, not mapped, or unknown because a source EKS consults could
    /// not be read (aws-auth needs Kubernetes access; a denied probe). The
    /// cluster's own answer, when there is one, settles it.
    #[must_use]
    pub fn access(&self) -> Access {
        if let Some(m) = self.mapping() {
            return Access::Mapped(m);
        }
        if self.kube.knows_caller() == Some(false) {
            return Access::NotMapped;
        }
        let mode = self.cluster.ready().and_then(|c| c.authentication_mode);
        let mut unknown = Vec::new();
        if mode.is_none_or(|m| m.uses_access_entries()) && !matches!(self.entry, Probe::Ready(_)) {
            unknown.push("access entries");
        }
        if mode.is_none_or(|m| m.uses_config_map())
            && !matches!(self.kube.aws_auth, Some(Probe::Ready(_)))
        {
            unknown.push("aws-auth");
        }
        if unknown.is_empty() {
            Access::NotMapped
        } else {
            Access::Unknown(format!("{} not readable", unknown.join(" and ")))
        }
    }

    /// The access path into this cluster, from what is known now.
    #[must_use]
    pub fn path(
        &self,
        identity: &Probe<CallerIdentity>,
        role_path: Option<&str>,
        findings: &[Finding],
        settled: bool,
    ) -> AccessPath {
        let aws_auth = self
            .kube
            .aws_auth
            .as_ref()
            .map(|p| p.map_ref(super::AwsAuthRead::answer));
        let whoami = self
            .kube
            .whoami
            .as_ref()
            .map(|p| p.map_ref(super::KubeUser::identity));
        let rbac = self.kube.rbac.as_ref().map(|p| {
            let mut checks = p.clone();
            if let (Probe::Ready(list), Some(Probe::Ready(can))) = (&mut checks, &self.kube.can) {
                list.push(can.clone());
            }
            checks
        });
        let console: Option<Probe<Vec<(String, bool)>>> = match &self.console {
            Probe::Ready(d) => Some(Probe::Ready(
                d.iter().map(|d| (d.action.clone(), d.allowed())).collect(),
            )),
            _ => None,
        };
        let mut inp = PathInputs::new(
            &self.name,
            &self.region,
            identity,
            &self.cluster,
            &self.entry,
        );
        inp.role_path = role_path;
        inp.aws_auth = aws_auth.as_ref();
        inp.whoami = whoami.as_ref();
        inp.rbac = rbac.as_ref();
        inp.console_iam = console.as_ref();
        inp.findings = findings;
        inp.settled = settled;
        access_path::build(&inp)
    }
}

/// What a round found about the account and its clusters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub identity: Probe<CallerIdentity>,
    /// The caller's role (assumed-role and role callers): path and trust policy.
    pub caller_role: Option<Probe<IamRole>>,
    pub keys: Option<Probe<Vec<AccessKey>>>,
    /// The user whose keys were listed.
    pub keys_user: Option<String>,
    /// ListClusters per region.
    pub regions: BTreeMap<String, Probe<Vec<String>>>,
    /// Per (region, cluster).
    pub clusters: BTreeMap<(String, String), ClusterProbes>,
    /// Findings that arrived during the round (the Kubernetes probes').
    pub findings: Vec<Finding>,
}

impl Snapshot {
    /// The cluster's entry, created when new.
    pub fn cluster_mut(&mut self, region: &str, name: &str) -> &mut ClusterProbes {
        self.clusters
            .entry((region.to_owned(), name.to_owned()))
            .or_insert_with(|| ClusterProbes::new(region, name))
    }

    /// Fold in one update.
    pub fn apply(&mut self, u: ProbeUpdate) {
        if let Some((region, name)) = u.cluster_key() {
            let (region, name) = (region.to_owned(), name.to_owned());
            self.cluster_mut(&region, &name).apply(u);
            return;
        }
        match u {
            ProbeUpdate::Identity(p) => self.identity = p,
            ProbeUpdate::CallerRole(p) => self.caller_role = Some(p),
            ProbeUpdate::AccessKeys(p) => self.keys = Some(p),
            ProbeUpdate::ClusterList { region, clusters } => {
                self.regions.insert(region, clusters);
            }
            ProbeUpdate::Findings(f) => self.findings.extend(f),
            _ => {}
        }
    }

    /// The caller's role path, when GetRole answered.
    #[must_use]
    pub fn role_path(&self) -> Option<&str> {
        self.caller_role
            .as_ref()
            .and_then(|p| p.ready())
            .map(|r| r.path.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_path::RbacCheck;
    use crate::snapshot::{AuthenticationMode, AwsAuthRead, KubeUser};

    fn described(mode: AuthenticationMode) -> Cluster {
        Cluster {
            name: "apps".into(),
            region: "eu-west-1".into(),
            arn: None,
            status: Some("ACTIVE".into()),
            version: Some("1.30".into()),
            endpoint_public_access: Some(true),
            endpoint_private_access: Some(false),
            authentication_mode: Some(mode),
            oidc_issuer: None,
            role_arn: None,
        }
    }

    fn kube(c: &mut ClusterProbes, u: KubeUpdate) {
        c.apply(ProbeUpdate::Kubernetes {
            region: "eu-west-1".into(),
            name: "apps".into(),
            update: u,
        });
    }

    /// A CONFIG_MAP cluster is "unknown" from AWS alone; the cluster's own
    /// answers settle it: mapped via aws-auth line 12, or 401 (nobody).
    #[test]
    fn the_clusters_answers_settle_the_mapping() {
        let mut c = ClusterProbes::new("eu-west-1", "apps");
        c.cluster = Probe::Ready(described(AuthenticationMode::ConfigMap));
        c.entry = Probe::Ready(None);
        assert!(matches!(c.access(), Access::Unknown(_)));
        kube(
            &mut c,
            KubeUpdate::Started {
                endpoint: "https://k".into(),
                can: false,
            },
        );
        assert!(c.kube.pending());
        kube(
            &mut c,
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
            &mut c,
            KubeUpdate::Identity(Probe::Ready(KubeUser {
                username: "dev:bob".into(),
                groups: vec!["devs".into(), "system:authenticated".into()],
                ..KubeUser::default()
            })),
        );
        let Access::Mapped(m) = c.access() else {
            panic!("{:?}", c.access())
        };
        assert_eq!(m.username, "dev:bob");
        assert_eq!(m.groups, vec!["devs".to_owned()]);
        assert_eq!(c.mapped_via().as_deref(), Some("aws-auth line 12"));

        let mut nobody = ClusterProbes::new("eu-west-1", "apps");
        nobody.cluster = Probe::Ready(described(AuthenticationMode::ConfigMap));
        kube(
            &mut nobody,
            KubeUpdate::Identity(Probe::Denied {
                permission: "Unauthorized (HTTP 401)".into(),
            }),
        );
        assert_eq!(nobody.access(), Access::NotMapped);
    }

    #[test]
    fn the_path_reads_rbac_and_the_can_question() {
        let id = CallerIdentity::from_sts(
            "arn:aws:sts::111122223333:assumed-role/dev/bob",
            "111122223333",
            "AROAEXAMPLE:bob",
            None,
        )
        .unwrap();
        let mut c = ClusterProbes::new("eu-west-1", "apps");
        c.cluster = Probe::Ready(described(AuthenticationMode::ConfigMap));
        c.entry = Probe::Ready(None);
        kube(
            &mut c,
            KubeUpdate::Started {
                endpoint: "https://k".into(),
                can: true,
            },
        );
        kube(
            &mut c,
            KubeUpdate::Identity(Probe::Ready(KubeUser {
                username: "dev:bob".into(),
                groups: vec!["devs".into()],
                ..KubeUser::default()
            })),
        );
        kube(
            &mut c,
            KubeUpdate::AwsAuth(Probe::Ready(AwsAuthRead {
                mapping: Some(Mapping {
                    source: "aws-auth",
                    username: "dev:{{SessionName}}".into(),
                    groups: vec!["devs".into()],
                    access_policies: Vec::new(),
                }),
                line: Some(3),
                ..AwsAuthRead::default()
            })),
        );
        let check = |verb: &str, allowed: bool, console: bool| RbacCheck {
            verb: verb.into(),
            resource: "nodes".into(),
            namespace: None,
            allowed,
            console,
        };
        kube(
            &mut c,
            KubeUpdate::Rbac(Probe::Ready(vec![
                check("list", false, true),
                check("get", true, true),
            ])),
        );
        kube(
            &mut c,
            KubeUpdate::Can(Probe::Ready(check("delete", false, false))),
        );
        let identity = Probe::Ready(id);
        let p = c.path(&identity, None, &[], true);
        let rbac = p
            .hops
            .iter()
            .find(|h| h.hop == access_path::HopKind::Rbac)
            .unwrap();
        assert_eq!(rbac.state, access_path::HopState::Broken, "{rbac:?}");
        assert!(rbac.summary.contains("list nodes"), "{}", rbac.summary);
        assert!(rbac.summary.contains("delete nodes"), "{}", rbac.summary);
        let j = c.kube.json().unwrap();
        assert_eq!(j["console"]["denied"][0], "list nodes");
        assert_eq!(j["can"]["allowed"], false);
        assert_eq!(j["aws_auth"]["caller_mapping"]["line"], 3);
        assert_eq!(j["whoami"]["username"], "dev:bob");
    }

    #[test]
    fn snapshot_routes_updates_by_cluster() {
        let mut s = Snapshot::default();
        s.apply(ProbeUpdate::OidcProvider {
            region: "r".into(),
            name: "n".into(),
            present: Probe::Ready(true),
        });
        s.apply(ProbeUpdate::Findings(Vec::new()));
        assert_eq!(
            s.clusters[&("r".into(), "n".into())].oidc_provider,
            Probe::Ready(true)
        );
    }
}
