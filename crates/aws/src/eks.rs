//! EKS probes: clusters, and how the caller is mapped through access entries.

use aws_sdk_eks::types::AccessScopeType;
use eksdoctor_core::snapshot::{AccessEntry, AccessPolicyAssociation, AuthenticationMode, Cluster};

use crate::config::Live;
use crate::error::ProbeError;
use crate::timed;

/// ListClusters in `region`, every page.
///
/// # Errors
/// The classified failure.
pub async fn list_clusters(live: &Live, region: &str) -> Result<Vec<String>, ProbeError> {
    const PERM: &str = "eks:ListClusters";
    let client = live.eks(Some(region));
    timed(live, PERM, async {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_clusters()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, PERM))?;
            names.extend(out.clusters().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(names)
    })
    .await
}

/// DescribeCluster's answer as the SDK gives it (for [`describe_cluster`]
/// and the Kubernetes target).
///
/// # Errors
/// The classified failure; NotFound when the answer has no cluster.
pub(crate) async fn describe(
    live: &Live,
    region: &str,
    name: &str,
) -> Result<aws_sdk_eks::types::Cluster, ProbeError> {
    const PERM: &str = "eks:DescribeCluster";
    let client = live.eks(Some(region));
    let out = timed(live, PERM, async {
        client
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    out.cluster
        .ok_or_else(|| ProbeError::NotFound(format!("cluster {name} in {region}")))
}

/// DescribeCluster.
///
/// # Errors
/// The classified failure.
pub async fn describe_cluster(
    live: &Live,
    region: &str,
    name: &str,
) -> Result<Cluster, ProbeError> {
    let c = describe(live, region, name).await?;
    Ok(to_cluster(&c, region, name))
}

/// DescribeCluster's answer as core's [`Cluster`].
pub(crate) fn to_cluster(c: &aws_sdk_eks::types::Cluster, region: &str, name: &str) -> Cluster {
    let vpc = c.resources_vpc_config();
    Cluster {
        name: c.name().unwrap_or(name).to_owned(),
        region: region.to_owned(),
        arn: c.arn().map(str::to_owned),
        status: c.status().map(|s| s.as_str().to_owned()),
        version: c.version().map(str::to_owned),
        endpoint_public_access: vpc
            .map(aws_sdk_eks::types::VpcConfigResponse::endpoint_public_access),
        endpoint_private_access: vpc
            .map(aws_sdk_eks::types::VpcConfigResponse::endpoint_private_access),
        authentication_mode: c
            .access_config()
            .and_then(|a| a.authentication_mode())
            .and_then(|m| AuthenticationMode::parse(m.as_str())),
        oidc_issuer: c
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .map(str::to_owned),
        role_arn: c.role_arn().map(str::to_owned),
    }
}

/// `arn:aws:iam::1:role/team/x` → `arn:aws:iam::1:role/x` (lower-cased), for
/// matching the caller's canonical (path-free) ARN against access entries,
/// which carry the full ARN with its path.
fn without_path(arn: &str) -> String {
    let lower = arn.to_ascii_lowercase();
    for kind in [":role/", ":user/"] {
        if let Some(i) = lower.find(kind) {
            let (head, rest) = lower.split_at(i + kind.len());
            let name = rest.rsplit('/').next().unwrap_or(rest);
            return format!("{head}{name}");
        }
    }
    lower
}

/// The caller's access entry on a cluster (ListAccessEntries, then
/// DescribeAccessEntry and ListAssociatedAccessPolicies for the match), or
/// `None` when no entry names the caller.
///
/// # Errors
/// The classified failure of the first call that failed.
pub async fn caller_access_entry(
    live: &Live,
    region: &str,
    cluster: &str,
    canonical_arn: &str,
) -> Result<Option<AccessEntry>, ProbeError> {
    const LIST: &str = "eks:ListAccessEntries";
    const DESCRIBE: &str = "eks:DescribeAccessEntry";
    const POLICIES: &str = "eks:ListAssociatedAccessPolicies";
    let client = live.eks(Some(region));
    let wanted = without_path(canonical_arn);
    let found = timed(live, LIST, async {
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_access_entries()
                .cluster_name(cluster)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, LIST))?;
            if let Some(hit) = out
                .access_entries()
                .iter()
                .find(|a| without_path(a) == wanted)
            {
                return Ok(Some(hit.clone()));
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(None),
            }
        }
    })
    .await?;
    let Some(principal_arn) = found else {
        return Ok(None);
    };
    let describe = timed(live, DESCRIBE, async {
        client
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(&principal_arn)
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, DESCRIBE))
    });
    let policies = timed(live, POLICIES, async {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_associated_access_policies()
                .cluster_name(cluster)
                .principal_arn(&principal_arn)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, POLICIES))?;
            for p in out.associated_access_policies() {
                let scope = p.access_scope();
                all.push(AccessPolicyAssociation {
                    policy_arn: p.policy_arn().unwrap_or_default().to_owned(),
                    scope: match scope.and_then(|s| s.r#type()) {
                        Some(AccessScopeType::Namespace) => "namespace".to_owned(),
                        _ => "cluster".to_owned(),
                    },
                    namespaces: scope.map(|s| s.namespaces().to_vec()).unwrap_or_default(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    });
    let (describe, policies) = tokio::join!(describe, policies);
    let describe = describe?;
    let e = describe.access_entry();
    Ok(Some(AccessEntry {
        principal_arn: e
            .and_then(|e| e.principal_arn())
            .unwrap_or(&principal_arn)
            .to_owned(),
        username: e.and_then(|e| e.username()).map(str::to_owned),
        kubernetes_groups: e
            .map(|e| e.kubernetes_groups().to_vec())
            .unwrap_or_default(),
        entry_type: e.and_then(|e| e.r#type()).map(str::to_owned),
        access_policies: policies?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_ignored_when_matching() {
        assert_eq!(
            without_path("arn:aws:iam::111122223333:role/team/dev/Admin"),
            without_path("arn:aws:iam::111122223333:role/admin")
        );
        assert_ne!(
            without_path("arn:aws:iam::111122223333:role/a"),
            without_path("arn:aws:iam::111122223333:user/a")
        );
    }
}
