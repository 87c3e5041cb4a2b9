//! Where a cluster's Kubernetes API answers and how to trust it, from
//! DescribeCluster, and the EKS token that signs eksdoctor in (for the
//! Kubernetes probes in eksdoctor-kube).

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials as _;
use eksdoctor_core::snapshot::{ApiEndpoint, Cluster};

use crate::config::Live;
use crate::error::ProbeError;
use crate::token::{self, EksToken};

/// DescribeCluster's endpoint, CA and endpoint access settings (core's
/// [`ApiEndpoint`]: the cluster model holds it).
pub type KubeTarget = ApiEndpoint;

fn to_target(c: &aws_sdk_eks::types::Cluster) -> KubeTarget {
    let vpc = c.resources_vpc_config();
    KubeTarget {
        endpoint: c.endpoint().map(str::to_owned),
        ca_data: c
            .certificate_authority()
            .and_then(|a| a.data())
            .map(str::to_owned),
        public_access: vpc.map(aws_sdk_eks::types::VpcConfigResponse::endpoint_public_access),
        private_access: vpc.map(aws_sdk_eks::types::VpcConfigResponse::endpoint_private_access),
        public_access_cidrs: vpc
            .map(|v| v.public_access_cidrs().to_vec())
            .unwrap_or_default(),
    }
}

/// One DescribeCluster call: the cluster and its Kubernetes endpoint.
///
/// # Errors
/// The classified failure.
pub async fn describe(
    live: &Live,
    region: &str,
    name: &str,
) -> Result<(Cluster, KubeTarget), ProbeError> {
    let c = crate::eks::describe(live, region, name).await?;
    Ok((crate::eks::to_cluster(&c, region, name), to_target(&c)))
}

/// eks:DescribeCluster for the Kubernetes endpoint.
///
/// # Errors
/// The classified failure.
pub async fn kube_target(live: &Live, region: &str, name: &str) -> Result<KubeTarget, ProbeError> {
    let c = crate::eks::describe(live, region, name).await?;
    Ok(to_target(&c))
}

/// The EKS token for `cluster` with the run's own credentials (no second
/// credential resolution: the connected config's provider answers), signed
/// for the run's home region, as `aws eks get-token` signs for its region.
///
/// # Errors
/// The credentials cannot be resolved in time, or signing failed.
pub async fn token_for(live: &Live, cluster: &str) -> Result<EksToken, ProbeError> {
    let provider = live
        .sdk()
        .credentials_provider()
        .ok_or_else(|| ProbeError::NoCredentials("no credential provider".to_owned()))?;
    let creds = crate::timed(live, "sts:GetCallerIdentity", async {
        provider
            .provide_credentials()
            .await
            .map_err(|e| ProbeError::from_credentials_error(&e))
    })
    .await?;
    token::presign(cluster, live.region(), &creds, SystemTime::now())
}
