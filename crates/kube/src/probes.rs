//! The Kubernetes probes: one guarded kube-rs client per cluster, and the
//! questions eksdoctor asks it. Every failure says why: HTTP status, reason
//! and the server's message, or the transport error.

use std::time::Duration;

use eksdoctor_aws::token::EksToken;
use futures_util::stream::{self, StreamExt as _};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::Value;

use crate::guard::{ReadOnlyLayer, Refused};

/// Why a Kubernetes probe did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// The API server answered with an error status.
    #[error("HTTP {code} {reason}: {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    /// No answer: DNS, connect, TLS.
    #[error("cannot reach the API server: {0}")]
    Unreachable(String),
    /// The probe's deadline passed.
    #[error("the API server did not answer within {0:?}")]
    TimedOut(Duration),
    /// The read-only guard refused the request.
    #[error("{0}")]
    Refused(String),
    /// A bad endpoint or CA, or an answer that is not what Kubernetes sends.
    #[error("{0}")]
    Other(String),
}

impl KubeError {
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the cluster could not be reached at all.
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::TimedOut(_))
    }

    fn from_kube(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(s) => Self::Api {
                code: s.code,
                reason: s.reason.clone(),
                message: s.message.clone(),
            },
            kube::Error::Service(inner) => {
                if let Some(r) = inner.downcast_ref::<Refused>() {
                    return Self::Refused(r.to_string());
                }
                Self::Unreachable(chain(inner.as_ref()))
            }
            kube::Error::HyperError(h) => Self::Unreachable(chain(&h)),
            kube::Error::SerdeError(s) => {
                Self::Other(format!("the answer is not a Kubernetes object: {s}"))
            }
            other => Self::Other(chain(&other)),
        }
    }
}

/// An error and its causes on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Where a cluster's API server is and how to trust it.
#[derive(Debug, Clone)]
pub struct Target {
    /// DescribeCluster's `endpoint` (or the kubeconfig's server).
    pub endpoint: String,
    /// The cluster CA: PEM, or base64 of PEM as DescribeCluster's
    /// `certificateAuthority.data` holds it.
    pub ca: Option<String>,
    /// Deadline of each request.
    pub timeout: Duration,
}

/// The CA certificates in DER, from PEM or base64-of-PEM.
fn ca_ders(ca: &str) -> Result<Vec<Vec<u8>>, KubeError> {
    use base64::Engine as _;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let pem = if ca.contains("-----BEGIN") {
        ca.as_bytes().to_vec()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(ca.trim())
            .map_err(|e| KubeError::Other(format!("the cluster CA is not base64: {e}")))?
    };
    let ders: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .map(|c| c.as_ref().to_vec())
        .collect();
    if ders.is_empty() {
        return Err(KubeError::Other(
            "the cluster CA holds no PEM certificate".to_owned(),
        ));
    }
    Ok(ders)
}

/// A guarded client that signs every request with `token`.
///
/// # Errors
/// A bad endpoint URL or CA.
pub fn client(target: &Target, token: &EksToken) -> Result<kube::Client, KubeError> {
    let url: http::Uri = target
        .endpoint
        .parse()
        .map_err(|e| KubeError::Other(format!("bad endpoint {:?}: {e}", target.endpoint)))?;
    let mut config = kube::Config::new(url);
    if let Some(ca) = &target.ca {
        config.root_cert = Some(ca_ders(ca)?);
    }
    config.connect_timeout = Some(crate::cluster::connect_deadline(target.timeout));
    config.read_timeout = Some(target.timeout);
    config.write_timeout = Some(target.timeout);
    config.auth_info.token = Some(secrecy::SecretString::from(token.secret().to_owned()));
    let builder =
        kube::client::ClientBuilder::try_from(config).map_err(|e| KubeError::Other(chain(&e)))?;
    Ok(builder.with_layer(&ReadOnlyLayer).build())
}

pub(crate) async fn within<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, KubeError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r.map_err(KubeError::from_kube),
        Err(_) => Err(KubeError::TimedOut(timeout)),
    }
}

/// The user the cluster sees (SelfSubjectReview's `status.userInfo`): core's
/// type, which the cluster model holds.
pub use eksdoctor_core::snapshot::KubeUser as UserInfo;

fn user_from_review(v: &Value, api_version: &str) -> UserInfo {
    let u = &v["status"]["userInfo"];
    let extra = |k: &str| u["extra"][k][0].as_str().map(str::to_owned);
    UserInfo {
        username: u["username"].as_str().unwrap_or_default().to_owned(),
        uid: u["uid"].as_str().unwrap_or_default().to_owned(),
        groups: u["groups"]
            .as_array()
            .map(|g| {
                g.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        arn: extra("arn"),
        session_name: extra("sessionName"),
        access_key_id: extra("accessKeyId"),
        api_version: api_version.to_owned(),
    }
}

/// Who the cluster thinks the caller is: SelfSubjectReview v1 (1.28+), else
/// v1beta1 (1.27), else v1alpha1 (1.26).
///
/// # Errors
/// 401 when the cluster maps the caller to nobody; the transport error.
pub async fn who_am_i(client: &kube::Client, timeout: Duration) -> Result<UserInfo, KubeError> {
    let mut last = None;
    for version in ["v1", "v1beta1", "v1alpha1"] {
        let api_version = format!("authentication.k8s.io/{version}");
        let body = serde_json::json!({"apiVersion": api_version, "kind": "SelfSubjectReview"});
        let req = http::Request::post(format!(
            "/apis/authentication.k8s.io/{version}/selfsubjectreviews"
        ))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&body).unwrap_or_default())
        .map_err(|e| KubeError::Other(e.to_string()))?;
        match within(timeout, client.request::<Value>(req)).await {
            Ok(v) => return Ok(user_from_review(&v, &api_version)),
            Err(e) if e.code() == Some(404) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| KubeError::Other("no SelfSubjectReview version".to_owned())))
}

/// kube-system/aws-auth as the YAML `kubectl get -o yaml` would show (the
/// input of the aws-auth engine); `None` when it does not exist.
///
/// # Errors
/// 403 when the caller may not read it; the transport error.
pub async fn aws_auth(
    client: &kube::Client,
    timeout: Duration,
) -> Result<Option<String>, KubeError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    match within(timeout, api.get("aws-auth")).await {
        Ok(cm) => Ok(Some(configmap_yaml(&cm))),
        Err(e) if e.code() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A ConfigMap as YAML with block scalars, so the engine's line numbers are
/// the lines an operator sees in `kubectl get -o yaml`.
#[must_use]
pub fn configmap_yaml(cm: &ConfigMap) -> String {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n");
    let name = cm.metadata.name.as_deref().unwrap_or("aws-auth");
    let ns = cm.metadata.namespace.as_deref().unwrap_or("kube-system");
    s.push_str(&format!(
        "  name: {}\n  namespace: {}\n",
        json_str(name),
        json_str(ns)
    ));
    let Some(data) = &cm.data else {
        return s;
    };
    s.push_str("data:\n");
    for (k, v) in data {
        let block_safe = !v.is_empty()
            && !v.starts_with([' ', '\t', '\n'])
            && !v.contains(['\r', '\t'])
            && v.lines().all(|l| l.is_empty() || !l.ends_with(' '));
        if block_safe {
            let chomp = if v.ends_with('\n') { "|" } else { "|-" };
            s.push_str(&format!("  {}: {chomp}\n", json_str(k)));
            for line in v.trim_end_matches('\n').split('\n') {
                if line.is_empty() {
                    s.push('\n');
                } else {
                    s.push_str("    ");
                    s.push_str(line);
                    s.push('\n');
                }
            }
        } else {
            s.push_str(&format!("  {}: {}\n", json_str(k), json_str(v)));
        }
    }
    s
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The reads of AWS's `eks-console-dashboard-full-access-clusterrole`
/// (docs: "View Kubernetes resources in the AWS Management Console"):
/// (API group, resource), each with get and list.
pub const CONSOLE_READS: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "namespaces"),
    ("", "pods"),
    ("", "configmaps"),
    ("", "endpoints"),
    ("", "events"),
    ("", "limitranges"),
    ("", "persistentvolumeclaims"),
    ("", "podtemplates"),
    ("", "replicationcontrollers"),
    ("", "resourcequotas"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "services"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("coordination.k8s.io", "leases"),
    ("discovery.k8s.io", "endpointslices"),
    ("events.k8s.io", "events"),
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "networkpolicies"),
    ("policy", "poddisruptionbudgets"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "roles"),
    ("storage.k8s.io", "csistoragecapacities"),
];

/// The console's verbs.
pub const CONSOLE_VERBS: &[&str] = &["get", "list"];

/// One SelfSubjectAccessReview answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Access {
    pub group: String,
    pub resource: String,
    pub verb: String,
    pub namespace: Option<String>,
    pub allowed: bool,
}

/// May the caller `verb` `resource` (of `group`, in `namespace` or cluster-wide)?
///
/// # Errors
/// The transport or API error.
pub async fn can_i(
    client: &kube::Client,
    timeout: Duration,
    group: &str,
    resource: &str,
    verb: &str,
    namespace: Option<&str>,
) -> Result<Access, KubeError> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(group.to_owned()),
                resource: Some(resource.to_owned()),
                verb: Some(verb.to_owned()),
                namespace: namespace.map(str::to_owned),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let out = within(timeout, api.create(&PostParams::default(), &review)).await?;
    Ok(Access {
        group: group.to_owned(),
        resource: resource.to_owned(),
        verb: verb.to_owned(),
        namespace: namespace.map(str::to_owned),
        allowed: out.status.is_some_and(|s| s.allowed),
    })
}

/// Every console read, `concurrency` reviews in flight.
///
/// # Errors
/// The first transport or API error.
pub async fn console_access(
    client: &kube::Client,
    timeout: Duration,
    concurrency: usize,
) -> Result<Vec<Access>, KubeError> {
    let asks: Vec<(&str, &str, &str)> = CONSOLE_READS
        .iter()
        .flat_map(|(g, r)| CONSOLE_VERBS.iter().map(move |v| (*g, *r, *v)))
        .collect();
    let answers: Vec<Result<Access, KubeError>> = stream::iter(asks)
        .map(|(g, r, v)| can_i(client, timeout, g, r, v, None))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    answers.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn configmap_yaml_keeps_the_lines_operators_see() {
        let mut data = BTreeMap::new();
        data.insert(
            "mapRoles".to_owned(),
            "- rolearn: arn:aws:iam::111122223333:role/a\n  username: a\n  groups:\n  - g\n"
                .to_owned(),
        );
        data.insert("odd".to_owned(), " leading space".to_owned());
        let cm = ConfigMap {
            data: Some(data),
            ..ConfigMap::default()
        };
        let y = configmap_yaml(&cm);
        assert_eq!(
            y,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"aws-auth\"\n  namespace: \"kube-system\"\ndata:\n  \"mapRoles\": |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      username: a\n      groups:\n      - g\n  \"odd\": \" leading space\"\n"
        );
        let lint = eksdoctor_core::awsauth::lint(&y, "aws-auth", &Default::default()).unwrap();
        assert_eq!(lint.configmaps.len(), 1);
    }

    #[test]
    fn console_reads_are_the_documented_get_list_set() {
        assert_eq!(CONSOLE_READS.len() * CONSOLE_VERBS.len(), 58);
        assert!(CONSOLE_READS.contains(&("", "nodes")));
    }

    #[test]
    fn bad_ca_is_a_plain_error() {
        assert!(ca_ders("not base64 !!").is_err());
        assert!(ca_ders("aGVsbG8=").is_err());
    }
}
