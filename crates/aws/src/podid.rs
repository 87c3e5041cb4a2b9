//! EKS Pod Identity, live: a cluster's associations (ListPodIdentityAssociations,
//! then DescribePodIdentityAssociation for the role, target role and session
//! tag setting), the `eks-pod-identity-agent` add-on (ListAddons,
//! DescribeAddon), and where pods can run (node groups' AMI types, Fargate
//! profiles). All reads, all through the allowlist guard; answers are
//! `eksdoctor_core::podid` types, so the offline checks run on them.

use eksdoctor_core::podid::{AGENT_ADDON, Addons, Association};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};

use crate::config::Live;
use crate::error::ProbeError;
use crate::timed;

/// DescribePodIdentityAssociation calls in flight per cluster.
const DESCRIBE_CONCURRENCY: usize = 8;

/// A managed node group and its AMI type (`AL2023_x86_64_STANDARD`,
/// `WINDOWS_CORE_2022_x86_64`, `BOTTLEROCKET_ARM_64`, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodegroupAmi {
    pub name: String,
    pub ami_type: Option<String>,
}

impl NodegroupAmi {
    /// Windows nodes cannot run the Pod Identity agent.
    #[must_use]
    pub fn is_windows(&self) -> bool {
        self.ami_type
            .as_deref()
            .is_some_and(|a| a.to_ascii_uppercase().starts_with("WINDOWS"))
    }
}

/// ListPodIdentityAssociations (every page), then DescribePodIdentityAssociation
/// for each: the role ARN, target role and session-tag setting are only in
/// the describe answer.
///
/// # Errors
/// The classified failure of the list, or of the first describe that failed.
pub async fn associations(
    live: &Live,
    region: &str,
    cluster: &str,
) -> Result<Vec<Association>, ProbeError> {
    const LIST: &str = "eks:ListPodIdentityAssociations";
    const DESCRIBE: &str = "eks:DescribePodIdentityAssociation";
    let client = live.eks(Some(region));
    let summaries = timed(live, LIST, async {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, LIST))?;
            all.extend(out.associations().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    })
    .await?;
    let described: Vec<Association> = stream::iter(summaries)
        .map(|s| {
            let client = client.clone();
            async move {
                let summary = Association {
                    association_id: s.association_id().map(str::to_owned),
                    association_arn: s.association_arn().map(str::to_owned),
                    cluster_name: s.cluster_name().map(str::to_owned),
                    namespace: s.namespace().unwrap_or_default().to_owned(),
                    service_account: s.service_account().unwrap_or_default().to_owned(),
                    ..Association::default()
                };
                let Some(id) = summary.association_id.clone() else {
                    return Ok(summary);
                };
                let out = timed(live, DESCRIBE, async {
                    client
                        .describe_pod_identity_association()
                        .cluster_name(cluster)
                        .association_id(&id)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, DESCRIBE))
                })
                .await?;
                let Some(a) = out.association() else {
                    return Ok(summary);
                };
                Ok::<_, ProbeError>(Association {
                    role_arn: a.role_arn().map(str::to_owned),
                    target_role_arn: a
                        .target_role_arn()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    external_id: a.external_id().filter(|s| !s.is_empty()).map(str::to_owned),
                    disable_session_tags: a.disable_session_tags().unwrap_or(false),
                    ..summary
                })
            }
        })
        .buffered(DESCRIBE_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(described)
}

/// ListAddons, and DescribeAddon for `eks-pod-identity-agent` when it is
/// listed: in the shape `lint podid --addon` reads from saved output.
///
/// # Errors
/// The classified failure.
pub async fn agent_addon(live: &Live, region: &str, cluster: &str) -> Result<Addons, ProbeError> {
    const LIST: &str = "eks:ListAddons";
    const DESCRIBE: &str = "eks:DescribeAddon";
    let client = live.eks(Some(region));
    let listed = timed(live, LIST, async {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_addons()
                .cluster_name(cluster)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, LIST))?;
            all.extend(out.addons().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    })
    .await?;
    let mut addons = Addons {
        listed,
        described: Vec::new(),
    };
    if addons.listed.iter().any(|a| a == AGENT_ADDON) {
        let out = timed(live, DESCRIBE, async {
            client
                .describe_addon()
                .cluster_name(cluster)
                .addon_name(AGENT_ADDON)
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, DESCRIBE))
        })
        .await?;
        if let Some(a) = out.addon() {
            addons.described.push((
                AGENT_ADDON.to_owned(),
                a.status()
                    .map_or_else(|| "UNKNOWN".to_owned(), |s| s.as_str().to_owned()),
                a.addon_version().map(str::to_owned),
            ));
        }
    }
    Ok(addons)
}

/// ListNodegroups and DescribeNodegroup for each: their AMI types (Windows
/// node groups cannot run the agent).
///
/// # Errors
/// The classified failure.
pub async fn nodegroups(
    live: &Live,
    region: &str,
    cluster: &str,
) -> Result<Vec<NodegroupAmi>, ProbeError> {
    const LIST: &str = "eks:ListNodegroups";
    const DESCRIBE: &str = "eks:DescribeNodegroup";
    let client = live.eks(Some(region));
    let names = timed(live, LIST, async {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_nodegroups()
                .cluster_name(cluster)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, LIST))?;
            all.extend(out.nodegroups().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    })
    .await?;
    stream::iter(names)
        .map(|name| {
            let client = client.clone();
            async move {
                let out = timed(live, DESCRIBE, async {
                    client
                        .describe_nodegroup()
                        .cluster_name(cluster)
                        .nodegroup_name(&name)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, DESCRIBE))
                })
                .await?;
                Ok::<_, ProbeError>(NodegroupAmi {
                    ami_type: out
                        .nodegroup()
                        .and_then(|n| n.ami_type())
                        .map(|a| a.as_str().to_owned()),
                    name,
                })
            }
        })
        .buffered(DESCRIBE_CONCURRENCY)
        .try_collect()
        .await
}

/// ListFargateProfiles: the names (pods matching one run on Fargate, where
/// Pod Identity does not work).
///
/// # Errors
/// The classified failure.
pub async fn fargate_profiles(
    live: &Live,
    region: &str,
    cluster: &str,
) -> Result<Vec<String>, ProbeError> {
    const LIST: &str = "eks:ListFargateProfiles";
    let client = live.eks(Some(region));
    timed(live, LIST, async {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = client
                .list_fargate_profiles()
                .cluster_name(cluster)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, LIST))?;
            all.extend(out.fargate_profile_names().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    })
    .await
}

/// Everything Pod Identity needs from EKS for one cluster, the four reads
/// concurrently; each answers on its own (one denied read does not hide
/// the others).
#[derive(Debug)]
pub struct ClusterPodIdentity {
    pub associations: Result<Vec<Association>, ProbeError>,
    pub agent: Result<Addons, ProbeError>,
    pub nodegroups: Result<Vec<NodegroupAmi>, ProbeError>,
    pub fargate_profiles: Result<Vec<String>, ProbeError>,
}

/// Read [`ClusterPodIdentity`] for `cluster` in `region`.
pub async fn probe(live: &Live, region: &str, cluster: &str) -> ClusterPodIdentity {
    let (associations, agent, nodegroups, fargate_profiles) = tokio::join!(
        associations(live, region, cluster),
        agent_addon(live, region, cluster),
        nodegroups(live, region, cluster),
        fargate_profiles(live, region, cluster),
    );
    ClusterPodIdentity {
        associations,
        agent,
        nodegroups,
        fargate_profiles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_ami_types() {
        let ng = |t: &str| NodegroupAmi {
            name: "n".into(),
            ami_type: Some(t.into()),
        };
        assert!(ng("WINDOWS_CORE_2022_x86_64").is_windows());
        assert!(!ng("AL2023_x86_64_STANDARD").is_windows());
        assert!(
            !NodegroupAmi {
                name: "n".into(),
                ami_type: None
            }
            .is_windows()
        );
    }
}
