//! `check --kubernetes`: for each cluster the round described, ask the
//! cluster itself (eksdoctor-kube): who it thinks the caller is, aws-auth
//! through the engine, the console's reads. Under the same --concurrency and
//! --timeout as the AWS probes; a cluster that does not answer is a
//! cluster/unreachable finding, never a hang.

use std::time::Duration;

use eksdoctor_aws::{Live, LiveConfig, LiveSnapshot};
use eksdoctor_core::awsauth::mapper::Caller;
use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::Probe;
use eksdoctor_kube::findings::EndpointAccess;
use eksdoctor_kube::probes::{KubeError, Target};
use futures_util::stream::{self, StreamExt as _};
use serde_json::{Value, json};

/// Where to send the Kubernetes probes instead of DescribeCluster's
/// endpoint (a tunnel, or a test stand-in), and the CA file to trust there.
#[derive(Debug, Clone, Default)]
pub struct Override {
    pub endpoint: Option<String>,
    pub ca_pem: Option<String>,
    /// `--can VERB RESOURCE [-n NS]`.
    pub can: Option<eksdoctor_kube::cluster::Can>,
}

/// Findings, and `{"REGION/NAME": section}` for the JSON report.
pub async fn probe_all(
    live: &Live,
    config: &LiveConfig,
    snap: &LiveSnapshot,
    concurrency: usize,
    timeout: Duration,
    over: &Override,
) -> (Vec<Finding>, Value) {
    let Some(id) = snap.identity.ready() else {
        return (Vec::new(), Value::Null);
    };
    let caller = Caller::from_identity(id);
    let clusters: Vec<(String, String)> = snap
        .clusters
        .values()
        .filter(|c| matches!(c.cluster, Probe::Ready(_)))
        .map(|c| (c.region.clone(), c.name.clone()))
        .collect();
    let results: Vec<(String, Vec<Finding>, Value)> = stream::iter(clusters)
        .map(|(region, name)| {
            let caller = &caller;
            async move {
                let (f, j) = one(
                    live,
                    config,
                    &region,
                    &name,
                    caller,
                    concurrency,
                    timeout,
                    over,
                )
                .await;
                (format!("{region}/{name}"), f, j)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut findings = Vec::new();
    let mut sections = serde_json::Map::new();
    for (key, f, j) in results {
        findings.extend(f);
        sections.insert(key, j);
    }
    (findings, Value::Object(sections))
}

#[allow(clippy::too_many_arguments)]
async fn one(
    live: &Live,
    config: &LiveConfig,
    region: &str,
    name: &str,
    caller: &Caller,
    concurrency: usize,
    timeout: Duration,
    over: &Override,
) -> (Vec<Finding>, Value) {
    let target = match eksdoctor_aws::kube_target::kube_target(live, region, name).await {
        Ok(t) => t,
        Err(e) => {
            return (
                Vec::new(),
                json!({"error": format!("eks:DescribeCluster: {e}")}),
            );
        }
    };
    let access = EndpointAccess {
        public: target.public_access,
        private: target.private_access,
        public_cidrs: target.public_access_cidrs.clone(),
    };
    let Some(endpoint) = over.endpoint.clone().or(target.endpoint.clone()) else {
        return (
            Vec::new(),
            json!({"error": "the cluster has no endpoint yet"}),
        );
    };
    let token = match eksdoctor_aws::token::token(config, name, None).await {
        Ok(t) => t,
        Err(e) => {
            return (
                Vec::new(),
                json!({"error": format!("cannot build the EKS token: {e}")}),
            );
        }
    };
    let t = Target {
        endpoint: endpoint.clone(),
        ca: over.ca_pem.clone().or(target.ca_data),
        timeout,
    };
    // The whole cluster under one deadline too (console reads are many requests).
    let deadline = timeout.saturating_mul(4);
    match tokio::time::timeout(
        deadline,
        eksdoctor_kube::cluster::probe(
            name,
            &t,
            &token,
            caller,
            &access,
            concurrency,
            over.can.as_ref(),
        ),
    )
    .await
    {
        Ok(a) => (a.findings, a.json),
        Err(_) => {
            let e = KubeError::TimedOut(deadline);
            (
                vec![eksdoctor_kube::findings::unreachable(
                    name, &endpoint, &e, &access,
                )],
                json!({"reachable": false, "error": e.to_string()}),
            )
        }
    }
}
