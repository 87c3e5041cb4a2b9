//! Amazon Resource Names and IAM principals, and the canonical form the EKS
//! authenticator matches against.
//!
//! The authenticator (aws-iam-authenticator `arn.Canonicalize`) turns the
//! caller's STS identity into the ARN it looks up in access entries and the
//! aws-auth ConfigMap: an assumed-role ARN becomes `arn:P:iam::ACCT:role/NAME`
//! (no path: STS does not report it), user, role, root and federated-user ARNs
//! stay as they are, and lookups are case-insensitive.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Partitions the EKS authenticator accepts.
pub const KNOWN_PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// Why a string is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("not an ARN: it must start with \"arn:\"")]
    MissingPrefix,
    #[error("not an ARN: expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (6 parts)")]
    TooFewParts,
    #[error("empty partition")]
    EmptyPartition,
    #[error("empty service")]
    EmptyService,
    #[error("empty resource")]
    EmptyResource,
}

/// A parsed ARN. Display gives back exactly the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    /// Whether the partition is one the authenticator knows.
    #[must_use]
    pub fn known_partition(&self) -> bool {
        KNOWN_PARTITIONS.contains(&self.partition.as_str())
    }

    /// Whether the account is a 12-digit AWS account id.
    #[must_use]
    pub fn valid_account(&self) -> bool {
        is_account_id(&self.account)
    }

    /// The resource type: the part of the resource before the first `/` or `:`.
    #[must_use]
    pub fn resource_type(&self) -> &str {
        self.resource
            .split(['/', ':'])
            .next()
            .unwrap_or(&self.resource)
    }
}

/// Whether `s` is a 12-digit account id.
#[must_use]
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix("arn:").ok_or(ArnError::MissingPrefix)?;
        let mut parts = rest.splitn(5, ':');
        let partition = parts.next().ok_or(ArnError::TooFewParts)?;
        let service = parts.next().ok_or(ArnError::TooFewParts)?;
        let region = parts.next().ok_or(ArnError::TooFewParts)?;
        let account = parts.next().ok_or(ArnError::TooFewParts)?;
        let resource = parts.next().ok_or(ArnError::TooFewParts)?;
        if partition.is_empty() {
            return Err(ArnError::EmptyPartition);
        }
        if service.is_empty() {
            return Err(ArnError::EmptyService);
        }
        if resource.is_empty() {
            return Err(ArnError::EmptyResource);
        }
        Ok(Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl Serialize for Arn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What kind of principal made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    User,
    Role,
    AssumedRole,
    FederatedUser,
    Root,
    Service,
}

impl PrincipalKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Role => "role",
            Self::AssumedRole => "assumed-role",
            Self::FederatedUser => "federated-user",
            Self::Root => "root",
            Self::Service => "service",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error(transparent)]
    Arn(#[from] ArnError),
    #[error(
        "{0} is not an IAM or STS principal ARN (user, role, assumed-role, federated-user, root)"
    )]
    NotAPrincipal(String),
    #[error(
        "{arn}: partition {partition:?} is not one the EKS authenticator knows ({}), so it rejects the caller before any mapping",
        KNOWN_PARTITIONS.join(", ")
    )]
    UnknownPartition { arn: String, partition: String },
    #[error(
        "{0}: an assumed-role ARN names the role and the session: arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION"
    )]
    NoSession(String),
}

/// An IAM principal: who AWS says made the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The ARN as given; `None` for service principals (`ec2.amazonaws.com`).
    pub arn: Option<Arn>,
    /// The principal's name (role name for assumed roles, service name for services).
    pub name: String,
    /// The IAM path (`/` when none). Assumed-role ARNs never carry one.
    pub path: String,
    /// The role session name of an assumed role.
    pub session: Option<String>,
}

impl Principal {
    /// Parse a principal ARN, or a service principal such as `eks.amazonaws.com`.
    ///
    /// # Errors
    /// When the text is neither an IAM/STS principal ARN nor a service name.
    pub fn parse(s: &str) -> Result<Self, PrincipalError> {
        let s = s.trim();
        if !s.starts_with("arn:") {
            if is_service_principal(s) {
                return Ok(Self {
                    kind: PrincipalKind::Service,
                    arn: None,
                    name: s.to_owned(),
                    path: "/".to_owned(),
                    session: None,
                });
            }
            return Err(PrincipalError::NotAPrincipal(s.to_owned()));
        }
        let arn: Arn = s.parse()?;
        let not = || PrincipalError::NotAPrincipal(s.to_owned());
        let (kind, name, path, session) = match (arn.service.as_str(), arn.resource.as_str()) {
            ("iam", "root") => (PrincipalKind::Root, "root".to_owned(), "/".to_owned(), None),
            ("iam", r) if r.starts_with("user/") => {
                let (path, name) = split_path(&r["user/".len()..]).ok_or_else(not)?;
                (PrincipalKind::User, name, path, None)
            }
            ("iam", r) if r.starts_with("role/") => {
                let (path, name) = split_path(&r["role/".len()..]).ok_or_else(not)?;
                (PrincipalKind::Role, name, path, None)
            }
            ("sts", r) if r.starts_with("assumed-role/") => {
                let rest = &r["assumed-role/".len()..];
                let (role, session) = rest.rsplit_once('/').ok_or_else(not)?;
                if role.is_empty() || session.is_empty() {
                    return Err(not());
                }
                // The authenticator keeps everything between the resource type
                // and the session name as the role "name".
                (
                    PrincipalKind::AssumedRole,
                    role.to_owned(),
                    "/".to_owned(),
                    Some(session.to_owned()),
                )
            }
            ("sts", r) if r.starts_with("federated-user/") => {
                let name = &r["federated-user/".len()..];
                if name.is_empty() {
                    return Err(not());
                }
                (
                    PrincipalKind::FederatedUser,
                    name.to_owned(),
                    "/".to_owned(),
                    None,
                )
            }
            _ => return Err(not()),
        };
        Ok(Self {
            kind,
            arn: Some(arn),
            name,
            path,
            session,
        })
    }

    /// The account id, when the principal has one.
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        self.arn.as_ref().map(|a| a.account.as_str())
    }

    /// The ARN the EKS authenticator matches this principal by, or `None` for
    /// service principals. See the module documentation.
    #[must_use]
    pub fn canonical_arn(&self) -> Option<String> {
        let arn = self.arn.as_ref()?;
        Some(match self.kind {
            PrincipalKind::AssumedRole => {
                format!(
                    "arn:{}:iam::{}:role/{}",
                    arn.partition, arn.account, self.name
                )
            }
            _ => arn.to_string(),
        })
    }

    /// The IAM role name to attach policies to: the role for roles and assumed
    /// roles (the part after the last `/` of an assumed role's role part).
    #[must_use]
    pub fn role_name(&self) -> Option<&str> {
        match self.kind {
            PrincipalKind::Role => Some(&self.name),
            PrincipalKind::AssumedRole => Some(self.name.rsplit('/').next().unwrap_or(&self.name)),
            _ => None,
        }
    }

    /// Whether this is an IAM Identity Center (SSO) permission-set role.
    #[must_use]
    pub fn is_sso_role(&self) -> bool {
        (self.kind == PrincipalKind::Role
            && self.path.starts_with("/aws-reserved/sso.amazonaws.com/"))
            || (self.kind == PrincipalKind::AssumedRole && self.name.starts_with("AWSReservedSSO_"))
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arn {
            Some(a) => a.fmt(f),
            None => f.write_str(&self.name),
        }
    }
}

impl FromStr for Principal {
    type Err = PrincipalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `team/dev/eks-admin` → (`/team/dev/`, `eks-admin`); `eks-admin` → (`/`, `eks-admin`).
fn split_path(rest: &str) -> Option<(String, String)> {
    match rest.rsplit_once('/') {
        Some((path, name)) if !name.is_empty() => Some((format!("/{path}/"), name.to_owned())),
        Some(_) => None,
        None if !rest.is_empty() => Some(("/".to_owned(), rest.to_owned())),
        None => None,
    }
}

/// `eks.amazonaws.com`, `ec2.amazonaws.com.cn`, `eks-fargate-pods.amazonaws.com`.
#[must_use]
pub fn is_service_principal(s: &str) -> bool {
    let Some(host) = s
        .strip_suffix(".amazonaws.com")
        .or_else(|| s.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Case-insensitive ARN equality, as the authenticator compares.
#[must_use]
pub fn arn_eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The partition's DNS suffix (`amazonaws.com`, `amazonaws.com.cn`, ...).
#[must_use]
pub fn partition_dns_suffix(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        "aws-iso-e" => "cloud.adc-e.uk",
        "aws-iso-f" => "csp.hci.ic.gov",
        "aws-eusc" => "amazonaws.eu",
        _ => "amazonaws.com",
    }
}

/// The partition a region belongs to (`cn-north-1` → `aws-cn`).
#[must_use]
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Principal {
        Principal::parse(s).unwrap()
    }

    #[test]
    fn user_with_path() {
        let u = p("arn:aws:iam::111122223333:user/ops/alice");
        assert_eq!(u.kind, PrincipalKind::User);
        assert_eq!(u.name, "alice");
        assert_eq!(u.path, "/ops/");
        assert_eq!(
            u.canonical_arn().unwrap(),
            "arn:aws:iam::111122223333:user/ops/alice"
        );
    }

    #[test]
    fn assumed_role_canonicalizes_without_path() {
        let a = p("arn:aws:sts::111122223333:assumed-role/eks-admin/alice@example.com");
        assert_eq!(a.kind, PrincipalKind::AssumedRole);
        assert_eq!(a.session.as_deref(), Some("alice@example.com"));
        assert_eq!(
            a.canonical_arn().unwrap(),
            "arn:aws:iam::111122223333:role/eks-admin"
        );
        assert_eq!(a.role_name(), Some("eks-admin"));
    }

    #[test]
    fn china_partition_assumed_role() {
        let a = p("arn:aws-cn:sts::111122223333:assumed-role/dev/s");
        assert_eq!(
            a.canonical_arn().unwrap(),
            "arn:aws-cn:iam::111122223333:role/dev"
        );
    }

    #[test]
    fn role_with_path_and_sso() {
        let r = p(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef",
        );
        assert_eq!(r.kind, PrincipalKind::Role);
        assert_eq!(r.path, "/aws-reserved/sso.amazonaws.com/eu-west-1/");
        assert!(r.is_sso_role());
    }

    #[test]
    fn root_federated_service() {
        assert_eq!(
            p("arn:aws:iam::111122223333:root").kind,
            PrincipalKind::Root
        );
        assert_eq!(
            p("arn:aws:sts::111122223333:federated-user/bob").kind,
            PrincipalKind::FederatedUser
        );
        let s = p("eks.amazonaws.com");
        assert_eq!(s.kind, PrincipalKind::Service);
        assert!(s.canonical_arn().is_none());
    }

    #[test]
    fn rejects_non_principals() {
        assert!(Principal::parse("arn:aws:eks:us-west-2:111122223333:cluster/x").is_err());
        assert!(Principal::parse("arn:aws:iam::111122223333:role/").is_err());
        assert!(Principal::parse("arn:aws:sts::111122223333:assumed-role/x").is_err());
        assert!(Principal::parse("bob").is_err());
        assert!("arn:aws:iam".parse::<Arn>().is_err());
    }

    #[test]
    fn regions_to_partitions() {
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(partition_dns_suffix("aws-cn"), "amazonaws.com.cn");
    }

    proptest! {
        #[test]
        fn arn_display_round_trips(
            partition in "[a-z-]{1,10}",
            service in "[a-z0-9-]{1,12}",
            region in "[a-z0-9-]{0,14}",
            account in "[0-9]{0,12}",
            resource in "[A-Za-z0-9/:+=,.@_-]{1,60}",
        ) {
            let text = format!("arn:{partition}:{service}:{region}:{account}:{resource}");
            let arn: Arn = text.parse().unwrap();
            prop_assert_eq!(arn.to_string(), text);
        }

        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            let _ = Principal::parse(&s);
            let _ = s.parse::<Arn>();
        }

        #[test]
        fn principal_round_trips(
            kind in 0..4u8,
            account in "[0-9]{12}",
            path in "(/[A-Za-z0-9_+=,.@-]{1,8}){0,3}",
            name in "[A-Za-z0-9_+=,.@-]{1,20}",
        ) {
            let text = match kind {
                0 => format!("arn:aws:iam::{account}:user{path}/{name}"),
                1 => format!("arn:aws:iam::{account}:role{path}/{name}"),
                2 => format!("arn:aws:sts::{account}:assumed-role/{name}/session"),
                _ => format!("arn:aws:sts::{account}:federated-user/{name}"),
            };
            let parsed = Principal::parse(&text).unwrap();
            prop_assert_eq!(parsed.to_string(), text.clone());
            prop_assert_eq!(&parsed.name, &name);
            let canonical = parsed.canonical_arn().unwrap();
            prop_assert!(!canonical.contains("assumed-role"));
        }
    }
}
