//! The Endpoints panel's model: which STS endpoint each cluster's pods
//! resolve to, and where a workload's code disagrees.
//!
//! EKS's pod identity webhook sets `AWS_STS_REGIONAL_ENDPOINTS=regional` on
//! pods whose service account carries `eks.amazonaws.com/sts-regional-endpoints:
//! "true"`, and on every IRSA pod from Kubernetes 1.22 on; before 1.22 pods
//! default to the global endpoint `sts.amazonaws.com`.

use eksdoctor_core::snapshot::{Cluster, parse_k8s_version};

use crate::feed::StsWorkload;

/// Regional or global STS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsEndpointKind {
    Regional,
    Global,
}

impl StsEndpointKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regional => "regional",
            Self::Global => "global",
        }
    }
}

/// The endpoint pods get by default on a cluster of this version.
#[must_use]
pub fn default_for_version(version: &str) -> Option<StsEndpointKind> {
    let (major, minor) = parse_k8s_version(version)?;
    Some(if (major, minor) >= (1, 22) {
        StsEndpointKind::Regional
    } else {
        StsEndpointKind::Global
    })
}

/// `https://sts.REGION.amazonaws.com`, partition-aware.
#[must_use]
pub fn regional_url(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://sts.{region}.{suffix}")
}

/// The global endpoint.
pub const GLOBAL_URL: &str = "https://sts.amazonaws.com";

/// One workload, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedWorkload {
    pub workload: StsWorkload,
    pub endpoint: StsEndpointKind,
    /// Why: `annotation "true"`, `env AWS_STS_REGIONAL_ENDPOINTS=regional`, `cluster 1.29 default`.
    pub because: String,
    /// What is wrong, if anything.
    pub conflict: Option<String>,
}

/// Resolve a workload on a cluster.
#[must_use]
pub fn resolve(cluster: &Cluster, w: &StsWorkload) -> ResolvedWorkload {
    let env = |k: &str| {
        w.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let version_default = cluster
        .version
        .as_deref()
        .and_then(default_for_version)
        .unwrap_or(StsEndpointKind::Global);
    let mut conflict = None;
    let (endpoint, because) = if let Some(url) = env("AWS_ENDPOINT_URL_STS") {
        let kind = if url.trim_end_matches('/') == GLOBAL_URL {
            StsEndpointKind::Global
        } else {
            StsEndpointKind::Regional
        };
        (kind, format!("env AWS_ENDPOINT_URL_STS={url}"))
    } else if let Some(v) = env("AWS_STS_REGIONAL_ENDPOINTS") {
        let kind = if v == "regional" {
            StsEndpointKind::Regional
        } else {
            StsEndpointKind::Global
        };
        (kind, format!("env AWS_STS_REGIONAL_ENDPOINTS={v}"))
    } else {
        match w.annotation.as_deref().map(str::trim) {
            Some("true") => (StsEndpointKind::Regional, "annotation \"true\"".to_owned()),
            Some("false") => (StsEndpointKind::Global, "annotation \"false\"".to_owned()),
            Some(other) => {
                conflict = Some(format!(
                    "annotation {other:?} is neither \"true\" nor \"false\" (sts/bad-annotation)"
                ));
                (
                    version_default,
                    format!(
                        "cluster {} default",
                        cluster.version.as_deref().unwrap_or("?")
                    ),
                )
            }
            None => (
                version_default,
                format!(
                    "cluster {} default",
                    cluster.version.as_deref().unwrap_or("?")
                ),
            ),
        }
    };
    if let Some(calls) = &w.calls {
        let global = calls.trim_end_matches('/') == GLOBAL_URL;
        if global && endpoint == StsEndpointKind::Regional {
            conflict = Some(format!(
                "code calls {calls} but the pod resolves to {} (sts/global-endpoint)",
                regional_url(&cluster.region)
            ));
        }
    }
    ResolvedWorkload {
        workload: w.clone(),
        endpoint,
        because,
        conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(version: &str) -> Cluster {
        Cluster {
            name: "c".into(),
            region: "eu-west-1".into(),
            arn: None,
            status: None,
            version: Some(version.into()),
            endpoint_public_access: None,
            endpoint_private_access: None,
            authentication_mode: None,
            oidc_issuer: None,
            role_arn: None,
        }
    }

    fn workload() -> StsWorkload {
        StsWorkload {
            workload: "ns/app".into(),
            service_account: "ns/app".into(),
            annotation: None,
            env: vec![],
            calls: None,
        }
    }

    #[test]
    fn regional_from_1_22() {
        assert_eq!(default_for_version("1.21"), Some(StsEndpointKind::Global));
        assert_eq!(default_for_version("1.22"), Some(StsEndpointKind::Regional));
        assert_eq!(
            default_for_version("v1.29.3"),
            Some(StsEndpointKind::Regional)
        );
        assert_eq!(
            regional_url("cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn global_call_on_new_cluster_conflicts() {
        let mut w = workload();
        w.calls = Some(GLOBAL_URL.into());
        let r = resolve(&cluster("1.29"), &w);
        assert_eq!(r.endpoint, StsEndpointKind::Regional);
        assert!(r.conflict.is_some());
        let r = resolve(&cluster("1.21"), &w);
        assert_eq!(r.endpoint, StsEndpointKind::Global);
        assert!(r.conflict.is_none());
    }

    #[test]
    fn annotation_and_env_win_over_version() {
        let mut w = workload();
        w.annotation = Some("true".into());
        assert_eq!(
            resolve(&cluster("1.21"), &w).endpoint,
            StsEndpointKind::Regional
        );
        w.env = vec![("AWS_STS_REGIONAL_ENDPOINTS".into(), "legacy".into())];
        assert_eq!(
            resolve(&cluster("1.29"), &w).endpoint,
            StsEndpointKind::Global
        );
        w.env.clear();
        w.annotation = Some("yes".into());
        assert!(resolve(&cluster("1.29"), &w).conflict.is_some());
    }
}
