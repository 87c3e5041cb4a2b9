//! The workloads that get AWS credentials, read live: service accounts with
//! `eks.amazonaws.com/role-arn` (IRSA) or named by a Pod Identity
//! association, and the pods that run as them, with the environment EKS
//! injected into them (`AWS_ROLE_ARN`, `AWS_CONTAINER_CREDENTIALS_FULL_URI`,
//! `AWS_STS_REGIONAL_ENDPOINTS`) and where they run (Fargate, Windows).
//!
//! Two LISTs across all namespaces (`/api/v1/serviceaccounts`,
//! `/api/v1/pods`), paged, through the read-only guard. The answers are
//! turned into `eksdoctor_core` types at once, so the sts, irsa and podid
//! engines run on them exactly as on saved manifests.

use std::collections::BTreeMap;
use std::time::Duration;

use eksdoctor_core::k8s::{
    Annotation, Container, EnvVar, ObjectMeta, ServiceAccount as CoreServiceAccount, Workload,
    WorkloadKind,
};
use eksdoctor_core::podid::{AGENT_ADDON, ComputeHint};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, ListParams};

use crate::probes::KubeError;

/// Annotations kept from a service account (the rest are not ours to read).
const KEPT_ANNOTATIONS: &[&str] = &[
    eksdoctor_core::sts::ROLE_ARN_ANNOTATION,
    eksdoctor_core::sts::ANNOTATION,
    "eks.amazonaws.com/audience",
    "eks.amazonaws.com/token-expiration",
];

/// Env vars kept from a container: only the ones that decide credentials.
/// Values of anything else (secrets live in env) are never read into memory
/// we keep.
const KEPT_ENV: &[&str] = &[
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    eksdoctor_core::sts::ENV_VAR,
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// Page size of each LIST (kubectl's default chunk size).
const PAGE: u32 = 500;
/// Pages read at most per LIST (250 000 objects): a bound, never a hang.
const MAX_PAGES: usize = 500;

/// One pod that runs as a service account of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePod {
    /// The pod as a core workload (kind Pod, its containers' kept env).
    pub workload: Workload,
    /// `ReplicaSet/web-7d9f8` etc., from the controller owner reference.
    pub owner: Option<String>,
    /// Where it runs (Fargate, Windows), for podid/unsupported-compute.
    pub compute: ComputeHint,
    pub node_name: Option<String>,
    pub phase: Option<String>,
}

impl LivePod {
    /// The owning workload as operators name it: `Deployment/web` for a
    /// ReplicaSet `web-7d9f8` (the pod-template hash dropped), else the
    /// owner, else `Pod/NAME`.
    #[must_use]
    pub fn workload_name(&self) -> String {
        match self.owner.as_deref() {
            Some(o) => match o.strip_prefix("ReplicaSet/") {
                Some(rs) => match rs.rsplit_once('-') {
                    Some((deploy, hash))
                        if !deploy.is_empty()
                            && (5..=10).contains(&hash.len())
                            && hash.bytes().all(|b| b.is_ascii_alphanumeric()) =>
                    {
                        format!("Deployment/{deploy}")
                    }
                    _ => o.to_owned(),
                },
                None => o.to_owned(),
            },
            None => self.workload.display_name(),
        }
    }
}

/// What the cluster says about workload credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveWorkloads {
    /// Service accounts with an IRSA annotation or named in `wanted`.
    pub service_accounts: Vec<CoreServiceAccount>,
    /// Pods of those service accounts, and pods with Pod Identity or IRSA
    /// env of their own.
    pub pods: Vec<LivePod>,
    /// Whether a self-managed `eks-pod-identity-agent` runs (pods in kube-system).
    pub agent_pods: usize,
    /// Every service account and pod listed (before filtering), for messages.
    pub listed_service_accounts: usize,
    pub listed_pods: usize,
}

/// Why the workloads could not be read, and what to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadsError {
    /// `serviceaccounts` or `pods`.
    pub resource: &'static str,
    pub error: KubeError,
}

impl WorkloadsError {
    /// One line: what failed, why, and (for 403) who can read it.
    #[must_use]
    pub fn message(&self) -> String {
        let r = self.resource;
        match self.error.code() {
            Some(403) => format!(
                "cannot list {r} in all namespaces: {}. Who can: cluster administrators (system:masters, an \
                 AmazonEKSClusterAdminPolicy or AmazonEKSAdminViewPolicy access entry) or anyone bound to a \
                 ClusterRole with list {r} (eksdoctor's docs/eksdoctor-readonly-clusterrole.yaml)",
                self.error
            ),
            _ => format!("cannot list {r}: {}", self.error),
        }
    }
}

fn meta_of(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> ObjectMeta {
    let annotations = m
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| KEPT_ANNOTATIONS.contains(&k.as_str()))
        .map(|(k, v)| Annotation {
            key: k.clone(),
            value: v.clone(),
            is_string: true,
            line: 0,
        })
        .collect();
    ObjectMeta {
        name: m.name.clone().unwrap_or_default(),
        namespace: Some(m.namespace.clone().unwrap_or_else(|| "default".to_owned())),
        annotations,
    }
}

/// A service account as the core engines read it.
#[must_use]
pub fn service_account(sa: &ServiceAccount) -> CoreServiceAccount {
    CoreServiceAccount {
        meta: meta_of(&sa.metadata),
        line: 0,
    }
}

fn containers(spec: &k8s_openapi::api::core::v1::PodSpec) -> Vec<Container> {
    let one = |c: &k8s_openapi::api::core::v1::Container, init: bool| Container {
        name: c.name.clone(),
        env: c
            .env
            .iter()
            .flatten()
            .filter(|e| KEPT_ENV.contains(&e.name.as_str()))
            .map(|e| EnvVar {
                name: e.name.clone(),
                value: e.value.clone(),
                line: 0,
            })
            .collect(),
        init,
    };
    spec.init_containers
        .iter()
        .flatten()
        .map(|c| one(c, true))
        .chain(spec.containers.iter().map(|c| one(c, false)))
        .collect()
}

/// A pod as the core engines read it, with its owner and compute hints.
#[must_use]
pub fn pod(p: &Pod) -> LivePod {
    let meta = meta_of(&p.metadata);
    let spec = p.spec.clone().unwrap_or_default();
    let service_account = spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let labels = p.metadata.labels.clone().unwrap_or_default();
    let selector: BTreeMap<String, String> = spec.node_selector.clone().unwrap_or_default();
    let windows = ["kubernetes.io/os", "beta.kubernetes.io/os"]
        .iter()
        .find_map(|k| {
            selector
                .get(*k)
                .filter(|v| v.eq_ignore_ascii_case("windows"))
                .map(|v| format!("nodeSelector {k}: {v}"))
        });
    let node_name = spec.node_name.clone().filter(|n| !n.is_empty());
    let fargate = if let Some(p) = labels.get("eks.amazonaws.com/fargate-profile") {
        Some(format!("label eks.amazonaws.com/fargate-profile: {p}"))
    } else if spec.scheduler_name.as_deref() == Some("fargate-scheduler") {
        Some("schedulerName: fargate-scheduler".to_owned())
    } else {
        node_name
            .as_deref()
            .filter(|n| n.starts_with("fargate-"))
            .map(|n| format!("nodeName: {n}"))
    };
    let owner = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| format!("{}/{}", o.kind, o.name));
    let workload = Workload {
        kind: WorkloadKind::Pod,
        meta: meta.clone(),
        service_account: service_account.clone(),
        containers: containers(&spec),
        line: 0,
    };
    LivePod {
        compute: ComputeHint {
            workload: workload.display_name(),
            namespace: meta.namespace.clone(),
            service_account,
            windows,
            fargate,
            agent_daemonset: false,
            line: 0,
        },
        workload,
        owner,
        node_name,
        phase: p.status.as_ref().and_then(|s| s.phase.clone()),
    }
}

/// Whether a pod got credentials env of its own (IRSA or Pod Identity).
fn has_credentials_env(p: &LivePod) -> bool {
    p.workload.containers.iter().any(|c| {
        c.env("AWS_ROLE_ARN").is_some() || c.env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    })
}

async fn list_all<K>(api: &Api<K>, timeout: Duration) -> Result<Vec<K>, KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(t) = token.take() {
            lp = lp.continue_token(&t);
        }
        let page = crate::probes::within(timeout, api.list(&lp)).await?;
        out.extend(page.items);
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
    Ok(out)
}

/// Keep the service accounts and pods that matter for credentials: service
/// accounts with an IRSA annotation or in `wanted` (the ones Pod Identity
/// associations name), their pods, and any pod with credentials env of its
/// own. `wanted` is `(namespace, service account)`.
#[must_use]
pub fn select(
    accounts: &[ServiceAccount],
    pods: &[Pod],
    wanted: &[(String, String)],
) -> LiveWorkloads {
    let mut out = LiveWorkloads {
        listed_service_accounts: accounts.len(),
        listed_pods: pods.len(),
        ..LiveWorkloads::default()
    };
    for sa in accounts {
        let s = service_account(sa);
        let ns = s.meta.namespace_or_default();
        let named = wanted.iter().any(|(n, a)| n == ns && *a == s.meta.name);
        if named
            || s.meta
                .annotation(eksdoctor_core::sts::ROLE_ARN_ANNOTATION)
                .is_some()
        {
            out.service_accounts.push(s);
        }
    }
    for p in pods {
        let lp = pod(p);
        let ns = lp.workload.meta.namespace_or_default();
        if ns == "kube-system" && lp.workload.meta.name.starts_with(AGENT_ADDON) {
            out.agent_pods += 1;
        }
        let of_interest = out.service_accounts.iter().any(|s| {
            s.meta.namespace_or_default() == ns && s.meta.name == lp.workload.service_account
        }) || wanted
            .iter()
            .any(|(n, a)| n == ns && *a == lp.workload.service_account);
        if of_interest || has_credentials_env(&lp) {
            out.pods.push(lp);
        }
    }
    out
}

/// List service accounts and pods in all namespaces (both LISTs at once).
///
/// # Errors
/// The first LIST that failed (403: the caller may not list them).
pub async fn list(
    client: &kube::Client,
    timeout: Duration,
) -> Result<(Vec<ServiceAccount>, Vec<Pod>), WorkloadsError> {
    let sa_api: Api<ServiceAccount> = Api::all(client.clone());
    let pod_api: Api<Pod> = Api::all(client.clone());
    let (accounts, pods) = tokio::join!(list_all(&sa_api, timeout), list_all(&pod_api, timeout));
    let accounts = accounts.map_err(|error| WorkloadsError {
        resource: "serviceaccounts",
        error,
    })?;
    let pods = pods.map_err(|error| WorkloadsError {
        resource: "pods",
        error,
    })?;
    Ok((accounts, pods))
}

/// [`list`], then keep what matters (see [`select`]).
///
/// # Errors
/// The first LIST that failed (403: the caller may not list them).
pub async fn read(
    client: &kube::Client,
    timeout: Duration,
    wanted: &[(String, String)],
) -> Result<LiveWorkloads, WorkloadsError> {
    let (accounts, pods) = list(client, timeout).await?;
    Ok(select(&accounts, &pods, wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sa(ns: &str, name: &str, role: Option<&str>) -> ServiceAccount {
        let mut v = json!({"metadata": {"name": name, "namespace": ns}});
        if let Some(r) = role {
            v["metadata"]["annotations"] =
                json!({"eks.amazonaws.com/role-arn": r, "unrelated": "x"});
        }
        serde_json::from_value(v).unwrap()
    }

    fn pod_json(
        ns: &str,
        name: &str,
        sa: &str,
        env: &[(&str, &str)],
        extra: serde_json::Value,
    ) -> Pod {
        let env: Vec<_> = env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .chain([json!({"name": "DB_PASSWORD", "value": "hunter2"})])
            .collect();
        let mut v = json!({
            "metadata": {"name": name, "namespace": ns,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5d",
                                     "uid": "u", "controller": true}]},
            "spec": {"serviceAccountName": sa, "containers": [{"name": "app", "env": env}]},
            "status": {"phase": "Running"}
        });
        if let serde_json::Value::Object(m) = extra {
            for (k, x) in m {
                v["spec"][k] = x;
            }
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn keeps_credential_service_accounts_and_their_pods_only() {
        let accounts = [
            sa("app", "web", Some("arn:aws:iam::111122223333:role/web")),
            sa("app", "plain", None),
            sa("jobs", "worker", None),
        ];
        let pods = [
            pod_json(
                "app",
                "web-1",
                "web",
                &[("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/web")],
                json!({}),
            ),
            pod_json("app", "plain-1", "plain", &[], json!({})),
            pod_json(
                "jobs",
                "worker-1",
                "worker",
                &[],
                json!({"nodeName": "fargate-ip-10-0-1-2.ec2.internal"}),
            ),
            pod_json(
                "other",
                "pi-1",
                "x",
                &[(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://169.254.170.23/v1/credentials",
                )],
                json!({}),
            ),
        ];
        let w = select(&accounts, &pods, &[("jobs".into(), "worker".into())]);
        let names: Vec<_> = w
            .service_accounts
            .iter()
            .map(|s| s.meta.name.as_str())
            .collect();
        assert_eq!(names, ["web", "worker"]);
        let pods: Vec<_> = w
            .pods
            .iter()
            .map(|p| p.workload.meta.name.as_str())
            .collect();
        assert_eq!(pods, ["web-1", "worker-1", "pi-1"]);
        assert_eq!(w.listed_pods, 4);
        // Only the credential env is kept, never other values.
        let env: Vec<_> = w.pods[0].workload.containers[0]
            .env
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(env, ["AWS_ROLE_ARN"]);
        assert_eq!(w.service_accounts[0].meta.annotations.len(), 1);
        assert!(
            w.pods[1]
                .compute
                .fargate
                .as_deref()
                .unwrap()
                .starts_with("nodeName: fargate-")
        );
        assert_eq!(w.pods[0].workload_name(), "Deployment/web");
    }

    #[test]
    fn windows_and_owner_names() {
        let p = pod(&pod_json(
            "a",
            "w",
            "s",
            &[],
            json!({"nodeSelector": {"kubernetes.io/os": "windows"}}),
        ));
        assert!(p.compute.windows.is_some());
        let mut bare = p.clone();
        bare.owner = None;
        assert_eq!(bare.workload_name(), "Pod/w");
        bare.owner = Some("StatefulSet/db".into());
        assert_eq!(bare.workload_name(), "StatefulSet/db");
        bare.owner = Some("ReplicaSet/x".into());
        assert_eq!(bare.workload_name(), "ReplicaSet/x");
    }

    #[test]
    fn forbidden_says_who_can_read() {
        let e = WorkloadsError {
            resource: "pods",
            error: KubeError::Api {
                code: 403,
                reason: "Forbidden".into(),
                message: "pods is forbidden".into(),
            },
        };
        let m = e.message();
        assert!(
            m.contains("cannot list pods") && m.contains("Who can"),
            "{m}"
        );
    }
}
