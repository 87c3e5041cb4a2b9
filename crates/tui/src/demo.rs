//! The built-in scenario behind `eksdoctor --demo`: no AWS, no network,
//! every panel with something to show. An SSO operator (an assumed role)
//! with three clusters, one still on 1.21 and mapped in aws-auth with the
//! role's path (so the operator is locked out), a CI user at 2/2 keys with
//! one 400 days old, a workload calling the global STS endpoint on a 1.29
//! cluster, and a PassRole denial waiting in Explain.
//!
//! The scenario is data only; swapping hand-built findings for an engine's
//! output changes this file alone.

use std::time::Duration;

use eksdoctor_core::access_path::{
    AwsAuthAnswer, CONSOLE_VERBS, KUBECTL_VERBS, KubernetesIdentity, RbacCheck,
};
use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::kubeconfig::{EksExec, TokenTool};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::{
    AccessEntry, AccessKey, AccessPolicyAssociation, AuthenticationMode, CallerIdentity, Cluster,
    KeyLastUsed, KeyStatus, KubeContext, KubeUpdate, Probe, ProbeUpdate,
};

use crate::engines::{self, AwsAuthCheck, StsCheck};
use crate::feed::{Feed, FeedSink, FeedSource, LiveAnswer};

pub const ACCOUNT: &str = "111122223333";
pub const SSO_ROLE: &str = "AWSReservedSSO_PlatformAdmin_7f3a9c2e51d04b6a";
pub const SESSION: &str = "alice@example.com";
pub const HOME_REGION: &str = "eu-west-1";
pub const CI_USER: &str = "ci-deployer";
/// The old key (400 days) and the unused one. Not AWS's documentation
/// placeholders, which are a finding of their own.
pub const OLD_KEY: &str = "AKIA3DEMO7PLATFORM1A";
pub const NEW_KEY: &str = "AKIA3DEMO4ROTATEME2B";

/// The error waiting in Explain.
pub const PASS_ROLE_ERROR: &str = "An error occurred (AccessDeniedException) when calling the CreateNodegroup operation: User: arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_PlatformAdmin_7f3a9c2e51d04b6a/alice@example.com is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/eks-node-role";

/// The SSO role as IAM lists it: with its path.
fn role_with_path() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{HOME_REGION}/{SSO_ROLE}")
}

fn role_canonical() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}")
}

fn cluster(name: &str, region: &str, version: &str, mode: AuthenticationMode) -> Cluster {
    Cluster {
        name: name.to_owned(),
        region: region.to_owned(),
        arn: Some(format!("arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}")),
        status: Some("ACTIVE".to_owned()),
        version: Some(version.to_owned()),
        endpoint_public_access: Some(true),
        endpoint_private_access: Some(true),
        authentication_mode: Some(mode),
        oidc_issuer: Some(format!(
            "https://oidc.eks.{region}.amazonaws.com/id/5C1E2F7A9B3D4E6F8A0B1C2D3E4F5A6B"
        )),
        role_arn: Some(format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role")),
    }
}

fn days_ago(now: jiff::Timestamp, days: i64) -> jiff::Timestamp {
    now.checked_sub(jiff::SignedDuration::from_hours(days * 24))
        .unwrap_or(now)
}

/// The identity: an SSO user's assumed role.
fn identity() -> Probe<CallerIdentity> {
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/{SESSION}");
    match CallerIdentity::from_sts(
        &arn,
        ACCOUNT,
        &format!("AROA3DEMOEXAMPLE7ROLE:{SESSION}"),
        Some("ASIA3DEMOEXAMPLE7TMP"),
    ) {
        Ok(mut id) => {
            id.credential_source = Some("sso (profile platform-admin)".to_owned());
            id.region = Some(HOME_REGION.to_owned());
            Probe::Ready(id)
        }
        Err(e) => Probe::Failed {
            message: e.to_string(),
        },
    }
}

fn keys(now: jiff::Timestamp) -> Vec<AccessKey> {
    vec![
        AccessKey {
            user_name: CI_USER.to_owned(),
            access_key_id: OLD_KEY.to_owned(),
            status: KeyStatus::Active,
            created: days_ago(now, 400),
            last_used: Some(KeyLastUsed {
                date: days_ago(now, 1),
                service: Some("sts".to_owned()),
                region: Some(HOME_REGION.to_owned()),
            }),
            last_used_known: true,
        },
        AccessKey {
            user_name: CI_USER.to_owned(),
            access_key_id: NEW_KEY.to_owned(),
            status: KeyStatus::Active,
            created: days_ago(now, 31),
            last_used: None,
            last_used_known: true,
        },
    ]
}

/// The workloads the demo "reads" on `prod-eu`: one that forces the global
/// STS endpoint on a 1.29 cluster, one set up right.
pub const PROD_MANIFESTS: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: ledger-api
  namespace: payments
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/ledger-api
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger-api
  namespace: payments
spec:
  template:
    spec:
      serviceAccountName: ledger-api
      containers:
        - name: api
          image: ledger-api:1.4.2
          env:
            - name: AWS_REGION
              value: eu-west-1
            - name: AWS_ENDPOINT_URL_STS
              value: https://sts.amazonaws.com
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: external-dns
  namespace: kube-system
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/external-dns
    eks.amazonaws.com/sts-regional-endpoints: \"true\"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: external-dns
  namespace: kube-system
spec:
  template:
    spec:
      serviceAccountName: external-dns
      containers:
        - name: external-dns
          image: external-dns:0.14
          env:
            - name: AWS_REGION
              value: eu-west-1
";

/// The workloads of `legacy-batch` (1.21): on the global endpoint by default.
pub const LEGACY_MANIFESTS: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: etl-runner
  namespace: batch
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/nightly-etl
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly-etl
  namespace: batch
spec:
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: etl-runner
          containers:
            - name: etl
              image: etl:2024.10
";

fn sts_check(name: &str) -> StsCheck {
    let (cluster, manifests) = if name == "prod-eu" {
        (prod_cluster(), PROD_MANIFESTS)
    } else {
        (legacy_cluster(), LEGACY_MANIFESTS)
    };
    engines::check_sts(
        &cluster,
        &[(format!("{name}/workloads.yaml"), manifests.to_owned())],
    )
}

/// The aws-auth ConfigMap of `legacy-batch`: the SSO role mapped with its path.
pub fn legacy_aws_auth() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::{ACCOUNT}:role/eks-node-role\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n    - rolearn: {}\n      username: platform-admin:{{{{SessionName}}}}\n      groups:\n        - system:masters\n",
        role_with_path()
    )
}

fn findings(now: jiff::Timestamp) -> Vec<Finding> {
    let mut all = hand_built_findings();
    all.extend(engines::key_findings(&keys(now), now, 90));
    for (_, check) in aws_auth_checks() {
        all.extend(check.findings);
    }
    for name in ["prod-eu", "legacy-batch"] {
        all.extend(sts_check(name).findings);
    }
    all
}

/// The aws-auth ConfigMaps the demo "reads", linted and resolved for the
/// caller by the real engines: (cluster name, result).
fn aws_auth_checks() -> Vec<(&'static str, AwsAuthCheck)> {
    let Probe::Ready(caller) = identity() else {
        return Vec::new();
    };
    vec![
        (
            "legacy-batch",
            engines::check_aws_auth(&legacy_aws_auth(), &legacy_cluster(), &caller, None),
        ),
        (
            "prod-eu",
            engines::check_aws_auth(&prod_aws_auth(), &prod_cluster(), &caller, None),
        ),
    ]
}

fn aws_auth_answer(name: &str) -> Probe<AwsAuthAnswer> {
    let (mapping, line) = aws_auth_checks()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map_or((None, None), |(_, c)| (c.mapping, c.line));
    Probe::Ready(AwsAuthAnswer { mapping, line })
}

/// What the Kubernetes probes would answer on `prod-eu` (SelfSubjectReview,
/// SelfSubjectAccessReview): the admin policy lets everything through.
/// A demo cluster's API endpoint.
fn endpoint(name: &str, region: &str) -> String {
    let id: String = format!("{name}{region}")
        .bytes()
        .map(|b| format!("{:X}", b % 16))
        .collect();
    format!("https://{id}.gr7.{region}.eks.amazonaws.com")
}

/// One of a cluster's Kubernetes answers.
fn kube(region: &str, name: &str, update: KubeUpdate) -> Feed {
    Feed::Probe(ProbeUpdate::Kubernetes {
        region: region.to_owned(),
        name: name.to_owned(),
        update,
    })
}

/// The operator's kubeconfig context for prod-eu, as update-kubeconfig wrote it.
fn prod_context() -> KubeContext {
    KubeContext {
        name: format!("arn:aws:eks:{HOME_REGION}:{ACCOUNT}:cluster/prod-eu"),
        current: true,
        server: Some(endpoint("prod-eu", HOME_REGION)),
        ca_data: None,
        exec: Some(EksExec {
            tool: TokenTool::AwsCli,
            cluster: Some("prod-eu".to_owned()),
            region: Some(HOME_REGION.to_owned()),
            role_arn: None,
            profile: Some("platform-admin".to_owned()),
        }),
    }
}

fn prod_whoami() -> Probe<KubernetesIdentity> {
    Probe::Ready(KubernetesIdentity {
        username: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/{SESSION}"),
        groups: vec!["system:authenticated".to_owned()],
    })
}

fn prod_rbac() -> Probe<Vec<RbacCheck>> {
    let console = CONSOLE_VERBS.iter().map(|v| (v, true));
    let kubectl = KUBECTL_VERBS.iter().map(|v| (v, false));
    Probe::Ready(
        console
            .chain(kubectl)
            .map(|((verb, resource), console)| RbacCheck {
                verb: (*verb).to_owned(),
                resource: (*resource).to_owned(),
                namespace: None,
                allowed: true,
                console,
            })
            .collect(),
    )
}

fn prod_cluster() -> Cluster {
    cluster(
        "prod-eu",
        HOME_REGION,
        "1.29",
        AuthenticationMode::ApiAndConfigMap,
    )
}

fn legacy_cluster() -> Cluster {
    cluster(
        "legacy-batch",
        HOME_REGION,
        "1.21",
        AuthenticationMode::ConfigMap,
    )
}

/// The aws-auth ConfigMap of `prod-eu`: the SSO role mapped right (no path).
pub fn prod_aws_auth() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::{ACCOUNT}:role/eks-node-role\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n    - rolearn: {}\n      username: platform-admin:{{{{SessionName}}}}\n      groups:\n        - platform-admins\n",
        role_canonical()
    )
}

/// Findings whose engines have not landed yet (or need data the demo
/// cannot probe), written out by hand.
fn hand_built_findings() -> Vec<Finding> {
    vec![
        Finding::new(rules::CLUSTER_CONSOLE_NO_K8S_ACCESS, "legacy-batch: the console cannot show Kubernetes objects for this role")
            .detail("The console signs in to Kubernetes as the caller's role; without a mapping it shows 'Your current user or role does not have access to Kubernetes objects on this EKS cluster'.")
            .evidence("cluster", "legacy-batch")
            .fix(Fix::new("Map the role (see cluster/not-mapped)")),
        Finding::new(rules::CREDS_PROBE_DENIED, "staging-us: eksdoctor may not call eks:ListAccessEntries")
            .detail("The mapping on staging-us could not be checked; the rest of the dashboard is unaffected.")
            .evidence("permission", "eks:ListAccessEntries")
            .fix(Fix::new("Allow the read-only probe").policy(serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["eks:ListAccessEntries", "eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies"], "Resource": "*"}]
            }))),
    ]
}

/// The scenario as a timeline: each update with the delay before it.
#[must_use]
pub fn timeline(now: jiff::Timestamp) -> Vec<(Duration, Feed)> {
    let ms = Duration::from_millis;
    let eu = HOME_REGION.to_owned();
    let us = "us-east-1".to_owned();
    let prod = prod_cluster();
    let legacy = legacy_cluster();
    let staging = cluster("staging-us", "us-east-1", "1.30", AuthenticationMode::Api);
    let admin_entry = AccessEntry {
        principal_arn: role_canonical(),
        username: Some(format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/{{{{SessionName}}}}"
        )),
        kubernetes_groups: vec![],
        entry_type: Some("STANDARD".to_owned()),
        access_policies: vec![AccessPolicyAssociation {
            policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
                .to_owned(),
            scope: "cluster".to_owned(),
            namespaces: vec![],
        }],
    };
    let p = Feed::Probe;
    vec![
        (ms(150), p(ProbeUpdate::Identity(identity()))),
        (
            ms(150),
            p(ProbeUpdate::ClusterList {
                region: eu.clone(),
                clusters: Probe::Ready(vec!["legacy-batch".into(), "prod-eu".into()]),
            }),
        ),
        (
            ms(50),
            p(ProbeUpdate::ClusterList {
                region: us.clone(),
                clusters: Probe::Ready(vec!["staging-us".into()]),
            }),
        ),
        (
            ms(100),
            p(ProbeUpdate::Cluster {
                region: eu.clone(),
                name: "prod-eu".into(),
                cluster: Probe::Ready(prod),
            }),
        ),
        (
            ms(50),
            p(ProbeUpdate::Cluster {
                region: eu.clone(),
                name: "legacy-batch".into(),
                cluster: Probe::Ready(legacy),
            }),
        ),
        (ms(50), p(ProbeUpdate::AccessKeys(Probe::Ready(keys(now))))),
        (
            ms(100),
            p(ProbeUpdate::Cluster {
                region: us.clone(),
                name: "staging-us".into(),
                cluster: Probe::Ready(staging),
            }),
        ),
        (
            ms(100),
            p(ProbeUpdate::CallerAccessEntry {
                region: eu.clone(),
                name: "prod-eu".into(),
                entry: Probe::Ready(Some(admin_entry)),
            }),
        ),
        (
            ms(50),
            p(ProbeUpdate::CallerAccessEntry {
                region: eu.clone(),
                name: "legacy-batch".into(),
                entry: Probe::Ready(None),
            }),
        ),
        (
            ms(50),
            p(ProbeUpdate::CallerAccessEntry {
                region: us.clone(),
                name: "staging-us".into(),
                entry: Probe::Denied {
                    permission: "eks:ListAccessEntries".into(),
                },
            }),
        ),
        // The Kubernetes probes start as each cluster is described.
        (
            ms(50),
            kube(
                &eu,
                "prod-eu",
                KubeUpdate::Started {
                    endpoint: endpoint("prod-eu", &eu),
                    can: false,
                },
            ),
        ),
        (
            ms(0),
            kube(
                &eu,
                "legacy-batch",
                KubeUpdate::Started {
                    endpoint: endpoint("legacy-batch", &eu),
                    can: false,
                },
            ),
        ),
        (
            ms(0),
            kube(
                &us,
                "staging-us",
                KubeUpdate::Started {
                    endpoint: endpoint("staging-us", &us),
                    can: false,
                },
            ),
        ),
        (
            ms(0),
            kube(&eu, "prod-eu", KubeUpdate::Context(Some(prod_context()))),
        ),
        (
            ms(50),
            kube(
                &eu,
                "prod-eu",
                KubeUpdate::Reach(Probe::Ready(endpoint("prod-eu", &eu))),
            ),
        ),
        (
            ms(0),
            kube(
                &eu,
                "legacy-batch",
                KubeUpdate::Reach(Probe::Ready(endpoint("legacy-batch", &eu))),
            ),
        ),
        // The role's path in aws-auth: the cluster maps the caller to nobody.
        (
            ms(0),
            kube(
                &eu,
                "legacy-batch",
                KubeUpdate::Identity(Probe::Denied {
                    permission: "Unauthorized (HTTP 401 Unauthorized: Unauthorized)".into(),
                }),
            ),
        ),
        (
            ms(50),
            Feed::AwsAuth {
                region: eu.clone(),
                name: "legacy-batch".into(),
                answer: aws_auth_answer("legacy-batch"),
            },
        ),
        (
            ms(0),
            Feed::AwsAuth {
                region: eu.clone(),
                name: "prod-eu".into(),
                answer: aws_auth_answer("prod-eu"),
            },
        ),
        (
            ms(50),
            Feed::KubernetesIdentity {
                region: eu.clone(),
                name: "prod-eu".into(),
                identity: prod_whoami(),
            },
        ),
        (
            ms(0),
            Feed::Rbac {
                region: eu.clone(),
                name: "prod-eu".into(),
                checks: prod_rbac(),
            },
        ),
        (
            ms(0),
            Feed::AwsAuthMapping {
                region: us.clone(),
                name: "staging-us".into(),
                mapping: Probe::TimedOut,
            },
        ),
        // staging-us's endpoint is private: from here the connection times out.
        (
            ms(0),
            kube(&us, "staging-us", KubeUpdate::Reach(Probe::TimedOut)),
        ),
        (
            ms(0),
            kube(
                &us,
                "staging-us",
                KubeUpdate::Stopped("not asked: the API server did not answer".into()),
            ),
        ),
        (
            ms(0),
            kube(
                &eu,
                "legacy-batch",
                KubeUpdate::Stopped(
                    "not asked: the cluster maps the caller to nobody (401)".into(),
                ),
            ),
        ),
        (
            ms(100),
            p(ProbeUpdate::OidcProvider {
                region: eu.clone(),
                name: "prod-eu".into(),
                present: Probe::Ready(true),
            }),
        ),
        (
            ms(0),
            p(ProbeUpdate::OidcProvider {
                region: eu.clone(),
                name: "legacy-batch".into(),
                present: Probe::Ready(true),
            }),
        ),
        (
            ms(0),
            p(ProbeUpdate::OidcProvider {
                region: us.clone(),
                name: "staging-us".into(),
                present: Probe::Ready(false),
            }),
        ),
        (
            ms(100),
            Feed::StsWorkloads {
                region: eu.clone(),
                name: "prod-eu".into(),
                workloads: Probe::Ready(sts_check("prod-eu").rows),
            },
        ),
        (
            ms(0),
            Feed::StsWorkloads {
                region: eu.clone(),
                name: "legacy-batch".into(),
                workloads: Probe::Ready(sts_check("legacy-batch").rows),
            },
        ),
        (
            ms(0),
            Feed::StsWorkloads {
                region: us,
                name: "staging-us".into(),
                workloads: Probe::Denied {
                    permission: "list pods (Kubernetes RBAC)".into(),
                },
            },
        ),
        (
            ms(0),
            Feed::PodCredentials {
                region: eu.clone(),
                name: "legacy-batch".into(),
                workloads: Probe::Ready(legacy_pod_credentials()),
            },
        ),
        (ms(100), p(ProbeUpdate::Findings(findings(now)))),
        (ms(0), p(ProbeUpdate::Done)),
    ]
}

/// What `check --kubernetes` reads live on `legacy-batch` (1.21): the IRSA
/// CronJob on the global STS endpoint by default, and a Pod Identity role
/// whose trust lacks sts:TagSession.
fn legacy_pod_credentials() -> Vec<eksdoctor_core::podid::live::PodCredential> {
    use eksdoctor_core::podid::live::{Mechanism, PodCredential};
    use eksdoctor_core::sts::EndpointType;
    let irsa = PodCredential {
        namespace: "batch".into(),
        service_account: "etl-runner".into(),
        workload: Some("CronJob/nightly-etl".into()),
        pod: Some("nightly-etl-28911230-x2k4q".into()),
        pods: 1,
        mechanism: Mechanism::Irsa,
        role: Some("arn:aws:iam::111122223333:role/nightly-etl".into()),
        configured: vec!["irsa"],
        sts_endpoint: "https://sts.amazonaws.com".into(),
        sts_endpoint_type: EndpointType::Global,
        sts_source: "cluster default (1.21)".into(),
        verdict: "ok",
        reasons: Vec::new(),
    };
    let pod_identity = PodCredential {
        namespace: "batch".into(),
        service_account: "loader".into(),
        workload: Some("Deployment/loader".into()),
        pod: Some("loader-7d9f8b6c5d-m3p9z".into()),
        pods: 2,
        mechanism: Mechanism::PodIdentity,
        role: Some("arn:aws:iam::111122223333:role/batch-loader".into()),
        configured: vec!["pod-identity"],
        sts_endpoint: "https://sts.eu-west-1.amazonaws.com".into(),
        sts_endpoint_type: EndpointType::SdkDefault,
        sts_source: "service account has no role-arn: not mutated, SDK default".into(),
        verdict: "problem",
        reasons: vec!["podid/trust-mismatch".into()],
    };
    vec![irsa, pod_identity]
}

/// Feeds the scenario with its delays, so spinners show; `r` replays it.
#[derive(Debug)]
pub struct DemoSource {
    now: jiff::Timestamp,
    /// Multiplies the delays (0 feeds everything at once).
    pub speed: u32,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DemoSource {
    #[must_use]
    pub fn new(now: jiff::Timestamp) -> Self {
        Self {
            now,
            speed: 1,
            task: None,
        }
    }
}

impl FeedSource for DemoSource {
    /// The canned live answer, after a pause long enough to see the spinner.
    fn explain_live(&mut self, request: u64, text: String, sink: FeedSink) {
        let delay = LIVE_DELAY * self.speed;
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            sink.send(Feed::ExplainLive {
                request,
                answer: live_answer(&text),
            });
        });
    }

    fn start(&mut self, sink: FeedSink) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        let steps = timeline(self.now);
        let speed = self.speed;
        self.task = Some(tokio::spawn(async move {
            for (delay, feed) in steps {
                if speed > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay * speed).await;
                }
                if !sink.send(feed) {
                    return;
                }
            }
        }));
    }
}

/// How long the demo's account "takes" to answer the Explain box.
const LIVE_DELAY: Duration = Duration::from_millis(1500);

/// The guardrail policy whose Deny decides the demo's PassRole denial.
const GUARDRAILS_ARN: &str = "arn:aws:iam::111122223333:policy/PlatformGuardrails";

/// The demo's `explain --live` answer: for its PassRole denial, what the
/// real engine answers against a guardrail policy whose Deny (roles outside
/// the `/platform/` path may not be passed) decides; any other text has no
/// account to ask.
#[must_use]
pub fn live_answer(text: &str) -> LiveAnswer {
    let mut findings = engines::explain(text).findings;
    let node_role = format!("arn:aws:iam::{ACCOUNT}:role/eks-node-role");
    let asked = |f: &Finding| {
        f.rule == rules::AUTHZ_PASS_ROLE.id
            && f.evidence["parsed"]["resource"].as_str() == Some(node_role.as_str())
            && f.evidence["parsed"]["principal"]["arn"]
                .as_str()
                .is_some_and(|a| a.contains(SSO_ROLE))
    };
    if !findings.iter().any(asked) {
        return LiveAnswer::Failed {
            message: "the demo has no account to ask: only its PassRole denial has a live answer"
                .to_owned(),
        };
    }
    let statement = serde_json::json!({
        "Sid": "DenyPassRoleOutsidePlatformPath",
        "Effect": "Deny",
        "Action": "iam:PassRole",
        "NotResource": format!("arn:aws:iam::{ACCOUNT}:role/platform/*"),
    });
    let lines = serde_json::to_string_pretty(&statement).unwrap_or_default();
    let mut narrowed = statement.clone();
    narrowed["Condition"] = serde_json::json!({
        "ArnNotLike": {"aws:PrincipalArn": role_with_path()}
    });
    let document = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EksAdmin", "Effect": "Allow", "Action": ["eks:*", "iam:PassRole"], "Resource": "*"},
            narrowed,
        ],
    });
    let command = format!(
        "aws iam create-policy-version --policy-arn {GUARDRAILS_ARN} --policy-document '{}' --set-as-default",
        serde_json::to_string(&document).unwrap_or_default()
    );
    let summary = format!(
        "narrow statement 'DenyPassRoleOutsidePlatformPath' of {GUARDRAILS_ARN}: except the caller's role (ArnNotLike aws:PrincipalArn), as a new default version (v4 of 5)"
    );
    let live = serde_json::json!({
        "decision": "explicit-deny",
        "complete": true,
        "layer": "explicit-deny",
        "deciding": {
            "policy": GUARDRAILS_ARN,
            "policy_kind": "identity policy",
            "statement": "DenyPassRoleOutsidePlatformPath",
            "index": 1,
            "effect": "Deny",
            "lines": lines,
        },
        "layer_policies": [GUARDRAILS_ARN],
        "trace": [
            format!("identity policies of role {SSO_ROLE}: AwsSSOInlinePolicy, {GUARDRAILS_ARN} (v3)"),
            format!("statement 'EksAdmin' of {GUARDRAILS_ARN} allows iam:PassRole on *"),
            format!("statement 'DenyPassRoleOutsidePlatformPath' denies iam:PassRole on {node_role}: the role is not under /platform/"),
            "an explicit Deny wins over every Allow: denied".to_owned(),
        ],
        "notes": [
            "the caller is a role session: session policies cannot be read back from AWS, so this answer assumes the session was created without one (give it with --session-policy FILE)",
        ],
        "decision_after_fix": "allow",
    });
    for f in findings.iter_mut().filter(|f| asked(f)) {
        f.rule = rules::AUTHZ_EXPLICIT_DENY.id;
        f.severity = rules::AUTHZ_EXPLICIT_DENY.severity;
        f.message = format!(
            "statement 'DenyPassRoleOutsidePlatformPath' of identity policy {GUARDRAILS_ARN} explicitly denies iam:PassRole on {node_role}"
        );
        f.detail = "The role to pass is not under the /platform/ path the guardrail allows; an Allow elsewhere cannot override a Deny.".to_owned();
        f.evidence.insert("live".to_owned(), live.clone());
        let mut fix = Fix::new(summary.clone());
        fix.policy = Some(document.clone());
        fix.commands = vec![command.clone()];
        f.fix = Some(fix);
    }
    LiveAnswer::Answered { findings, reads: 7 }
}
