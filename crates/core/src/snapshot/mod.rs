//! What eksdoctor knows about an account and its clusters, whether it came
//! from live probes (`crates/aws`, `crates/kube`) or from saved AWS CLI
//! output. The rules take these types, so live and saved data give the same
//! findings.
//!
//! [`ClusterProbes`] is the one model of a cluster's answers (AWS and
//! Kubernetes) that `check`, its JSON report and the dashboard all read;
//! [`Snapshot`] holds the account's. Probes send [`ProbeUpdate`]s as they
//! finish, in any order, and `apply` folds them in.
//!
//! # Adding a hop
//! A new answer about a cluster is: a field of [`ClusterProbes`] (or of
//! [`KubeProbes`]), a [`ProbeUpdate`] / [`KubeUpdate`] variant and its line in
//! [`ClusterProbes::apply`], its member in [`ClusterProbes::json`], and, when
//! the access path reads it, a line in [`ClusterProbes::path`].

use serde::{Deserialize, Serialize};

mod cluster;
mod kube;

pub use cluster::{Access, ApiEndpoint, ClusterProbes, SimulatedDecision, Snapshot};
pub use kube::{
    AwsAuthRead, KubeContext, KubeProbes, KubeUpdate, KubeUser, cluster_mismatch, match_context,
};

use crate::arn::{Principal, PrincipalKind};

/// The state of one probe's answer, for panels that fill in as probes finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "value", rename_all = "kebab-case")]
pub enum Probe<T> {
    Pending,
    Ready(T),
    /// eksdoctor itself was denied this permission (e.g. `eks:DescribeCluster`).
    Denied {
        permission: String,
    },
    TimedOut,
    Failed {
        message: String,
    },
}

// Not derived: the derive would ask `T: Default`, and a probe of any answer starts pending.
#[allow(clippy::derivable_impls)]
impl<T> Default for Probe<T> {
    fn default() -> Self {
        Self::Pending
    }
}

impl<T> Probe<T> {
    #[must_use]
    pub fn ready(&self) -> Option<&T> {
        match self {
            Self::Ready(t) => Some(t),
            _ => None,
        }
    }

    /// The same state, with the answer (if any) mapped.
    #[must_use]
    pub fn map_ref<U>(&self, f: impl FnOnce(&T) -> U) -> Probe<U> {
        match self {
            Self::Ready(t) => Probe::Ready(f(t)),
            Self::Pending => Probe::Pending,
            Self::Denied { permission } => Probe::Denied {
                permission: permission.clone(),
            },
            Self::TimedOut => Probe::TimedOut,
            Self::Failed { message } => Probe::Failed {
                message: message.clone(),
            },
        }
    }

    /// Still waiting for an answer.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Pending)
    }
}

/// Long-term access keys (AKIA...) or temporary credentials (ASIA...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    LongTerm,
    Temporary,
}

impl CredentialKind {
    /// From an access key id's prefix.
    #[must_use]
    pub fn from_key_id(id: &str) -> Option<Self> {
        if id.starts_with("AKIA") {
            Some(Self::LongTerm)
        } else if id.starts_with("ASIA") {
            Some(Self::Temporary)
        } else {
            None
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LongTerm => "long-term",
            Self::Temporary => "temporary",
        }
    }
}

/// The caller as STS reports it (GetCallerIdentity) and as EKS matches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    pub arn: String,
    pub account: String,
    pub user_id: String,
    pub kind: PrincipalKind,
    /// The ARN the EKS authenticator matches: assumed-role → role ARN, no path.
    pub canonical_arn: String,
    pub credential_kind: CredentialKind,
    /// Where the credentials came from: "profile dev", "environment", "sso", "web identity", "imds"...
    pub credential_source: Option<String>,
    pub region: Option<String>,
}

impl CallerIdentity {
    /// Build from GetCallerIdentity's three fields.
    ///
    /// # Errors
    /// When the ARN is not a principal ARN.
    pub fn from_sts(
        arn: &str,
        account: &str,
        user_id: &str,
        access_key_id: Option<&str>,
    ) -> Result<Self, crate::arn::PrincipalError> {
        let p = Principal::parse(arn)?;
        let credential_kind = access_key_id
            .and_then(CredentialKind::from_key_id)
            .unwrap_or(match p.kind {
                PrincipalKind::AssumedRole | PrincipalKind::FederatedUser => {
                    CredentialKind::Temporary
                }
                _ => CredentialKind::LongTerm,
            });
        Ok(Self {
            arn: arn.to_owned(),
            account: account.to_owned(),
            user_id: user_id.to_owned(),
            kind: p.kind,
            canonical_arn: p.canonical_arn().unwrap_or_else(|| arn.to_owned()),
            credential_kind,
            credential_source: None,
            region: None,
        })
    }
}

/// EKS cluster authentication mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthenticationMode {
    Api,
    ApiAndConfigMap,
    ConfigMap,
}

impl AuthenticationMode {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "API" => Some(Self::Api),
            "API_AND_CONFIG_MAP" => Some(Self::ApiAndConfigMap),
            "CONFIG_MAP" => Some(Self::ConfigMap),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "API",
            Self::ApiAndConfigMap => "API_AND_CONFIG_MAP",
            Self::ConfigMap => "CONFIG_MAP",
        }
    }

    /// Whether EKS consults access entries in this mode.
    #[must_use]
    pub fn uses_access_entries(self) -> bool {
        !matches!(self, Self::ConfigMap)
    }

    /// Whether EKS consults the aws-auth ConfigMap in this mode.
    #[must_use]
    pub fn uses_config_map(self) -> bool {
        !matches!(self, Self::Api)
    }
}

/// An EKS access policy associated with an access entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicyAssociation {
    pub policy_arn: String,
    /// `cluster` or `namespace`.
    pub scope: String,
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// An EKS access entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub principal_arn: String,
    pub username: Option<String>,
    #[serde(default)]
    pub kubernetes_groups: Vec<String>,
    /// STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX ...
    pub entry_type: Option<String>,
    #[serde(default)]
    pub access_policies: Vec<AccessPolicyAssociation>,
}

/// How the caller is mapped into Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// `aws-auth` or `access-entry`.
    pub source: &'static str,
    pub username: String,
    pub groups: Vec<String>,
    /// Access policies, for access entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_policies: Vec<String>,
}

/// One EKS cluster as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    pub arn: Option<String>,
    pub status: Option<String>,
    /// `1.29`.
    pub version: Option<String>,
    pub endpoint_public_access: Option<bool>,
    pub endpoint_private_access: Option<bool>,
    pub authentication_mode: Option<AuthenticationMode>,
    /// `https://oidc.eks.REGION.amazonaws.com/id/XXXX`.
    pub oidc_issuer: Option<String>,
    pub role_arn: Option<String>,
}

impl Cluster {
    /// (major, minor) of the Kubernetes version.
    #[must_use]
    pub fn version_tuple(&self) -> Option<(u32, u32)> {
        parse_k8s_version(self.version.as_deref()?)
    }
}

/// `1.29` / `v1.29.3` → (1, 29).
#[must_use]
pub fn parse_k8s_version(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let mut it = v.split('.');
    let major = it.next()?.parse().ok()?;
    let minor_text = it.next()?;
    let digits: String = minor_text
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, digits.parse().ok()?))
}

/// Active or inactive access key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// When and where a key was last used (GetAccessKeyLastUsed / credential report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyLastUsed {
    pub date: jiff::Timestamp,
    pub service: Option<String>,
    pub region: Option<String>,
}

/// One IAM access key. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessKey {
    pub user_name: String,
    /// Full id; render through `mask::mask_key_id` in tables.
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created: jiff::Timestamp,
    /// `None`: never used, or not known (see `last_used_known`).
    pub last_used: Option<KeyLastUsed>,
    /// Whether last-use data was available at all.
    pub last_used_known: bool,
}

/// An IAM role as GetRole reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamRole {
    pub arn: String,
    pub name: String,
    /// `/` when none.
    pub path: String,
    /// The trust policy, URL-decoded and parsed.
    pub trust_policy: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_from_assumed_role() {
        let id = CallerIdentity::from_sts(
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_abc/alice",
            "111122223333",
            "AROAEXAMPLE:alice",
            Some("ASIAIOSFODNN7EXAMPLE"),
        )
        .unwrap();
        assert_eq!(
            id.canonical_arn,
            "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_abc"
        );
        assert_eq!(id.credential_kind, CredentialKind::Temporary);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_k8s_version("1.29"), Some((1, 29)));
        assert_eq!(parse_k8s_version("v1.21.14-eks-1"), Some((1, 21)));
        assert_eq!(parse_k8s_version("x"), None);
        assert!(AuthenticationMode::ConfigMap.uses_config_map());
        assert!(!AuthenticationMode::Api.uses_config_map());
    }
}

/// One piece of live data arriving from the probes (`crates/aws`) for the
/// dashboard and `check`. Probes send these as they finish, in any order.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeUpdate {
    /// GetCallerIdentity.
    Identity(Probe<CallerIdentity>),
    /// ListClusters in one region.
    ClusterList {
        region: String,
        clusters: Probe<Vec<String>>,
    },
    /// DescribeCluster.
    Cluster {
        region: String,
        name: String,
        cluster: Probe<Cluster>,
    },
    /// The caller's access entry (and its policies) on a cluster, or `None` when it has none.
    CallerAccessEntry {
        region: String,
        name: String,
        entry: Probe<Option<AccessEntry>>,
    },
    /// Whether the IAM OIDC provider for the cluster's issuer exists.
    OidcProvider {
        region: String,
        name: String,
        present: Probe<bool>,
    },
    /// The caller's (or `--user`'s) access keys.
    AccessKeys(Probe<Vec<AccessKey>>),
    /// The caller's role (GetRole), for role and assumed-role callers.
    CallerRole(Probe<IamRole>),
    /// The console's IAM actions on a cluster, simulated for the caller.
    Console {
        region: String,
        name: String,
        decisions: Probe<Vec<SimulatedDecision>>,
    },
    /// DescribeCluster's endpoint, CA and endpoint access (the same call as `Cluster`).
    ApiEndpoint {
        region: String,
        name: String,
        api: ApiEndpoint,
    },
    /// One of the cluster's own answers (the Kubernetes probes).
    Kubernetes {
        region: String,
        name: String,
        update: KubeUpdate,
    },
    /// Findings the probes derived (creds/*, keys/*, sts/*, irsa/*, cluster/*).
    Findings(Vec<crate::finding::Finding>),
    /// Every probe of this round has answered.
    Done,
}

impl ProbeUpdate {
    /// The (region, cluster) an update is about, for cluster-scoped updates.
    #[must_use]
    pub fn cluster_key(&self) -> Option<(&str, &str)> {
        match self {
            Self::Cluster { region, name, .. }
            | Self::CallerAccessEntry { region, name, .. }
            | Self::OidcProvider { region, name, .. }
            | Self::Console { region, name, .. }
            | Self::ApiEndpoint { region, name, .. }
            | Self::Kubernetes { region, name, .. } => Some((region, name)),
            _ => None,
        }
    }
}
