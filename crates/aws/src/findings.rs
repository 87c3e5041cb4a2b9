//! What the live answers mean: creds/* when the credentials do not work,
//! creds/probe-denied for each permission eksdoctor was refused, and the
//! per-cluster rules (sts/legacy-global-default, irsa/oidc-provider-missing,
//! cluster/config-map-only and cluster/not-mapped through
//! `core::access::resolve`, console permissions), plus keys/* on the probed
//! keys through `core::keys` — the same rules the offline commands run.

use std::collections::BTreeSet;

use eksdoctor_core::access::{self, Caller, Resolution};
use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::keys::{self, KeyPolicy};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::{AuthenticationMode, CallerIdentity, ClusterProbes, IamRole, Probe};
use eksdoctor_core::sts::StsOptions;
use eksdoctor_core::sts::rules as sts_rules;

use crate::LiveSnapshot;
use crate::error::ProbeError;
use crate::source::CredentialSource;

/// Every finding of a finished round.
#[must_use]
pub fn derive(snap: &LiveSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(fatal) = snap.fatal() {
        out.extend(for_probe_error(fatal, &snap.credential_source));
        return out;
    }
    out.extend(probe_denied(&snap.problems));
    if let Some(id) = snap.identity.ready() {
        out.extend(long_term_credentials(id, &snap.access_key_id));
        // The caller's role as GetRole answered: its path goes into the
        // access-entry fix (access entries need the full ARN, path included).
        let role = snap.caller_role.as_ref().and_then(|r| r.ready());
        for c in snap.clusters.values() {
            out.extend(cluster(c, id, role));
        }
    }
    if let Some(Probe::Ready(keys)) = &snap.keys {
        out.extend(keys::check(keys, &KeyPolicy::new(jiff::Timestamp::now())));
    }
    out
}

/// Which providers the chain consulted, and which it skipped and why.
fn chain_detail(source: &CredentialSource) -> String {
    let mut d = if source.tried.is_empty() {
        "The default credential chain gave no credentials.".to_owned()
    } else {
        format!(
            "The default chain tried, in order: {}. None of them gave credentials.",
            source.tried.join("; ")
        )
    };
    if !source.skipped.is_empty() {
        d.push_str(&format!(" Not tried: {}.", source.skipped.join("; ")));
    }
    d
}

/// The creds/* finding for a failure of the credentials themselves (or none,
/// for failures that are not about credentials).
#[must_use]
pub fn for_probe_error(e: &ProbeError, source: &CredentialSource) -> Option<Finding> {
    let tried = format!("credentials from: {}", source.describe());
    let login = source.login_commands();
    let fix = |summary: &str| {
        login
            .iter()
            .fold(Fix::new(summary), |f, c| f.command(c.clone()))
            .command(format!(
                "aws sts get-caller-identity{}",
                if source.profile_explicit || source.profile != "default" {
                    format!(" --profile {}", source.profile)
                } else {
                    String::new()
                }
            ))
    };
    Some(match e {
        ProbeError::NoCredentials(msg) => {
            Finding::new(rules::CREDS_NONE, "no AWS credentials were found")
                .detail(chain_detail(source))
                .evidence("tried", source.tried.clone())
                .evidence("skipped", source.skipped.clone())
                .evidence("source", tried)
                .evidence("error", msg.clone())
                .fix(fix(
                    "log in, or configure a profile, then check who you are",
                ))
        }
        ProbeError::Expired(msg) => {
            Finding::new(rules::CREDS_EXPIRED, "the credentials have expired")
                .detail(
                    "Temporary credentials (an SSO session, an assumed role, a session token) \
                 have a lifetime; once past it AWS rejects every call with ExpiredToken.",
                )
                .evidence("tried", tried)
                .evidence("error", msg.clone())
                .fix(fix("get fresh credentials"))
        }
        ProbeError::Invalid(msg) => Finding::new(
            rules::CREDS_INVALID,
            "AWS does not accept these credentials",
        )
        .detail(
            "InvalidClientTokenId means the access key id is unknown to AWS (deleted, \
             mistyped, or from another partition); SignatureDoesNotMatch means the secret \
             does not belong to the key id. Also check that a leftover AWS_SESSION_TOKEN is \
             not paired with long-term keys.",
        )
        .evidence("tried", tried)
        .evidence("error", msg.clone())
        .fix(fix("configure a working key pair or log in again")),
        _ => return None,
    })
}

/// The creds/* finding when [`crate::LiveConfig::connect`] failed.
#[must_use]
pub fn for_connect_error(e: &ProbeError, source: &CredentialSource) -> Vec<Finding> {
    for_probe_error(e, source).into_iter().collect()
}

/// One creds/probe-denied per permission eksdoctor was refused.
#[must_use]
pub fn probe_denied(problems: &[ProbeError]) -> Vec<Finding> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for p in problems {
        let ProbeError::Denied {
            permission,
            message,
        } = p
        else {
            continue;
        };
        if !seen.insert(permission.clone()) {
            continue;
        }
        out.push(
            Finding::new(
                rules::CREDS_PROBE_DENIED,
                format!("eksdoctor was denied {permission}: that section shows \"unknown\""),
            )
            .detail(
                "eksdoctor only reads. The caller's policies do not allow this read-only \
                 call, so what it would have shown is unknown (not necessarily wrong). \
                 docs/eksdoctor-readonly-policy.json grants every probe and nothing else.",
            )
            .evidence("permission", permission.clone())
            .evidence("message", message.clone())
            .fix(
                Fix::new(format!(
                    "allow {permission} (the policy below grants every eksdoctor probe)"
                ))
                .policy(crate::guard::readonly_policy()),
            ),
        );
    }
    out
}

/// keys/long-term-credentials for an AKIA caller (core's rule).
#[must_use]
pub fn long_term_credentials(id: &CallerIdentity, access_key_id: &str) -> Option<Finding> {
    keys::long_term_credentials(access_key_id, Some(&id.arn))
}

/// How the caller is mapped into a cluster, as far as the live answers tell:
/// `None` when it cannot be known (no access entry, and the mode also
/// consults aws-auth, which needs Kubernetes access to read).
#[must_use]
pub fn mapping(c: &ClusterProbes, id: &CallerIdentity) -> Option<Resolution> {
    mapping_with(c, id, None)
}

/// [`mapping`], with the caller's role from GetRole so that the fixes carry
/// the role's path.
fn mapping_with(
    c: &ClusterProbes,
    id: &CallerIdentity,
    role: Option<&IamRole>,
) -> Option<Resolution> {
    let cluster = c.cluster.ready()?;
    let mode = cluster.authentication_mode;
    let entry = c.entry.ready()?;
    let entries: Vec<_> = entry.iter().cloned().collect();
    let caller = Caller::from_identity(id);
    match (mode, entry) {
        // Mapped through an access entry, or API mode (aws-auth ignored):
        // the access entries decide alone.
        (Some(AuthenticationMode::Api), _)
        | (Some(AuthenticationMode::ApiAndConfigMap) | None, Some(_)) => {
            // No cluster name: the fix keeps its CLUSTER_NAME placeholder,
            // which `for_cluster` fills with the name and the region.
            let mut hints = access::Hints::default();
            if let Some(r) = role {
                hints.role_paths.insert(&r.arn);
            }
            Some(access::resolve_with(
                &caller,
                mode,
                None,
                Some(&entries),
                &hints,
            ))
        }
        _ => None,
    }
}

/// Fill a core finding's placeholders with this cluster.
fn for_cluster(mut f: Finding, name: &str, region: &str) -> Finding {
    f.message = format!("cluster {name}: {}", f.message);
    if let Some(fix) = f.fix.as_mut() {
        for c in &mut fix.commands {
            *c = c.replace("CLUSTER_NAME", &format!("{name} --region {region}"));
        }
    }
    f.evidence("cluster", name).evidence("region", region)
}

fn cluster(c: &ClusterProbes, id: &CallerIdentity, role: Option<&IamRole>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(cluster) = c.cluster.ready() else {
        return out;
    };
    let (name, region) = (&cluster.name, &cluster.region);
    // sts/legacy-global-default: core's rule, on the cluster's version alone.
    let sts_opts = StsOptions {
        cluster_version: cluster.version_tuple(),
        region: Some(region.clone()),
    };
    out.extend(
        sts_rules::legacy_global_default(&[], &[], &sts_opts)
            .into_iter()
            .map(|f| for_cluster(f, name, region)),
    );
    if let (Some(issuer), Probe::Ready(false)) = (&cluster.oidc_issuer, &c.oidc_provider) {
        out.push(
            Finding::new(
                rules::IRSA_OIDC_PROVIDER_MISSING,
                format!("no IAM OIDC provider for cluster {name}'s issuer"),
            )
            .detail(
                "IRSA pods exchange their service-account token with \
                 sts:AssumeRoleWithWebIdentity; STS only trusts tokens from an issuer \
                 registered as an IAM OIDC identity provider in the account. Without it \
                 every IRSA pod fails with InvalidIdentityToken.",
            )
            .evidence("cluster", name.clone())
            .evidence("region", region.clone())
            .evidence("issuer", issuer.clone())
            .fix(
                Fix::new("create the IAM OIDC provider for the issuer")
                    .command(format!(
                        "eksctl utils associate-iam-oidc-provider --cluster {name} --region {region} --approve"
                    ))
                    .command(format!(
                        "aws iam create-open-id-connect-provider --url {issuer} --client-id-list sts.amazonaws.com"
                    )),
            ),
        );
    }
    if cluster.authentication_mode == Some(AuthenticationMode::ConfigMap) {
        out.push(for_cluster(access::config_map_only(false), name, region));
    } else if let Some(r) = mapping_with(c, id, role) {
        out.extend(r.findings.into_iter().map(|f| for_cluster(f, name, region)));
    }
    if let Probe::Ready(decisions) = &c.console {
        let missing: Vec<&str> = decisions
            .iter()
            .filter(|d| !d.allowed())
            .map(|d| d.action.as_str())
            .collect();
        if !missing.is_empty() {
            let arn = cluster.arn.clone().unwrap_or_default();
            out.push(
                Finding::new(
                    rules::CLUSTER_CONSOLE_NO_K8S_ACCESS,
                    format!("the console cannot show cluster {name}: {} not allowed", missing.join(", ")),
                )
                .detail(
                    "The EKS console makes these calls as the signed-in principal \
                     (SimulatePrincipalPolicy says they are denied). Kubernetes objects \
                     also need the principal mapped into the cluster (access entry or \
                     aws-auth) with RBAC that allows reading them.",
                )
                .evidence("cluster", name.clone())
                .evidence("principal", id.canonical_arn.clone())
                .evidence("denied", missing.clone())
                .fix(
                    Fix::new("allow the console's read calls on this cluster").policy(serde_json::json!({
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["eks:ListClusters", "eks:DescribeAddonVersions"], "Resource": "*"},
                            {"Effect": "Allow", "Action": missing.iter().filter(|a| **a != "eks:ListClusters" && **a != "eks:DescribeAddonVersions").collect::<Vec<_>>(), "Resource": [arn.clone(), format!("{arn}/*").replace(":cluster/", ":nodegroup/")]}
                        ]
                    })),
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksdoctor_core::snapshot::Cluster;

    /// Issue 18: in API mode a caller with no access entry gets an access
    /// entry fix, and that entry names the role's full ARN with the path
    /// GetRole reported (access entries need the path; aws-auth must not
    /// have it).
    #[test]
    fn the_not_mapped_fix_carries_the_role_path_from_get_role() {
        let id = CallerIdentity::from_sts(
            "arn:aws:sts::111122223333:assumed-role/eks-admin/alice",
            "111122223333",
            "AROAEXAMPLE:alice",
            None,
        )
        .unwrap();
        let mut c = ClusterProbes::new("eu-west-1", "prod");
        c.cluster = Probe::Ready(Cluster {
            name: "prod".into(),
            region: "eu-west-1".into(),
            arn: None,
            status: Some("ACTIVE".into()),
            version: Some("1.30".into()),
            endpoint_public_access: Some(true),
            endpoint_private_access: Some(false),
            authentication_mode: Some(AuthenticationMode::Api),
            oidc_issuer: None,
            role_arn: None,
        });
        c.entry = Probe::Ready(None);
        let role = IamRole {
            arn: "arn:aws:iam::111122223333:role/team/developers/eks-admin".into(),
            name: "eks-admin".into(),
            path: "/team/developers/".into(),
            trust_policy: None,
        };
        let f = cluster(&c, &id, Some(&role));
        let nm = f
            .iter()
            .find(|f| f.rule == "cluster/not-mapped")
            .expect("cluster/not-mapped");
        let commands = &nm.fix.as_ref().expect("a fix").commands;
        assert!(
            commands.iter().any(|c| c.contains("create-access-entry")
                && c.contains("role/team/developers/eks-admin")),
            "{commands:?}"
        );
        assert!(
            !commands.iter().any(|c| c.contains("aws-auth")),
            "API mode: no aws-auth advice: {commands:?}"
        );
    }
}
