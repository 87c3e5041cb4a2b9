//! Where a cluster's Kubernetes API answers and how to trust it, from
//! DescribeCluster (for the Kubernetes probes in eksdoctor-kube).

use crate::config::Live;
use crate::error::ProbeError;

/// DescribeCluster's endpoint, CA and endpoint access settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeTarget {
    /// `https://XXXX.gr7.REGION.eks.amazonaws.com` (none while CREATING).
    pub endpoint: Option<String>,
    /// `certificateAuthority.data`: base64 of the PEM CA.
    pub ca_data: Option<String>,
    pub public_access: Option<bool>,
    pub private_access: Option<bool>,
    pub public_access_cidrs: Vec<String>,
}

/// eks:DescribeCluster for the Kubernetes endpoint.
///
/// # Errors
/// The classified failure.
pub async fn kube_target(live: &Live, region: &str, name: &str) -> Result<KubeTarget, ProbeError> {
    let c = crate::eks::describe(live, region, name).await?;
    let c = &c;
    let vpc = c.resources_vpc_config();
    Ok(KubeTarget {
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
    })
}
