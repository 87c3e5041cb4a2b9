//! One cluster's Kubernetes answers, end to end: who the cluster thinks the
//! caller is, aws-auth read from the cluster and run through the aws-auth
//! engine (findings and the caller's mapping with its line), the console's
//! reads, `--can`, and the kubeconfig context that points at the cluster.
//!
//! [`Prober`] runs inside the AWS round ([`eksdoctor_aws::ClusterFollowUp`]):
//! each described cluster gets these probes under the round's permits, and
//! every answer goes out as a [`KubeUpdate`] into core's cluster model as it
//! arrives. [`probe`] runs the same steps alone and returns the model's
//! answers. Never hangs: every request has the target's deadline and a short
//! connect deadline; a cluster that does not answer is cluster/unreachable.

use std::pin::Pin;
use std::time::Duration;

use eksdoctor_aws::round::{ClusterFollowUp, FollowUp};
use eksdoctor_aws::token::EksToken;
use eksdoctor_core::access_path::RbacCheck;
use eksdoctor_core::awsauth::{self, mapper};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::{
    AwsAuthRead, ClusterProbes, KubeContext, KubeUpdate, Mapping, Probe, cluster_mismatch,
    match_context,
};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::findings::{self, EndpointAccess};
use crate::probes::{self, Access, KubeError, Target};

/// One cluster's Kubernetes findings and its `kubernetes` JSON section.
#[derive(Debug, Clone)]
pub struct ClusterAnswers {
    pub findings: Vec<Finding>,
    pub json: Value,
}

/// An operator's own question: may I VERB RESOURCE (in NAMESPACE)?
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Can {
    pub verb: String,
    /// `pods`, or `deployments.apps` (resource.group).
    pub resource: String,
    pub namespace: Option<String>,
}

/// Where one cluster's answers go, and the permits its calls take.
struct Emit<'a> {
    update: &'a (dyn Fn(KubeUpdate) + Send + Sync),
    permits: &'a Semaphore,
}

impl Emit<'_> {
    async fn call<T>(&self, fut: impl Future<Output = T>) -> T {
        let _permit = self.permits.acquire().await.ok();
        fut.await
    }
}

fn failed<T>(e: &KubeError) -> Probe<T> {
    match e {
        KubeError::TimedOut(_) => Probe::TimedOut,
        other => Probe::Failed {
            message: other.to_string(),
        },
    }
}

fn rbac_check(a: &Access, console: bool) -> RbacCheck {
    RbacCheck {
        verb: a.verb.clone(),
        resource: if a.group.is_empty() {
            a.resource.clone()
        } else {
            format!("{}.{}", a.resource, a.group)
        },
        namespace: a.namespace.clone(),
        allowed: a.allowed,
        console,
    }
}

/// The aws-auth engine's answer for the caller.
fn aws_auth_read(lookup: &mapper::Lookup) -> AwsAuthRead {
    let mut read = AwsAuthRead {
        near_misses: lookup.reasons.clone(),
        ..AwsAuthRead::default()
    };
    match &lookup.outcome {
        mapper::Outcome::Entry {
            line,
            username,
            groups,
            ..
        } => {
            read.line = Some(*line);
            read.mapping = Some(Mapping {
                source: "aws-auth",
                username: username.text.clone(),
                groups: groups.iter().map(|g| g.text.clone()).collect(),
                access_policies: Vec::new(),
            });
        }
        mapper::Outcome::Account { line, username } => {
            read.line = Some(*line);
            read.mapping = Some(Mapping {
                source: "aws-auth",
                username: username.clone(),
                groups: Vec::new(),
                access_policies: Vec::new(),
            });
        }
        mapper::Outcome::Refused { line, reason } => {
            read.line = Some(*line);
            read.refused = Some(reason.clone());
        }
        mapper::Outcome::NotMapped => {}
    }
    read
}

/// The steps, once the probes have started: findings come back in a fixed
/// order (identity, aws-auth, console, --can), answers go out as they come.
#[allow(clippy::too_many_arguments)]
async fn run(
    cluster: &str,
    target: &Target,
    token: &EksToken,
    caller: &mapper::Caller,
    access: &EndpointAccess,
    can: Option<&Can>,
    out: &Emit<'_>,
) -> Vec<Finding> {
    let send = out.update;
    let mut found = Vec::new();
    let client = match probes::client(target, token) {
        Ok(c) => c,
        Err(e) => {
            send(KubeUpdate::Reach(failed(&e)));
            send(KubeUpdate::Stopped(format!("not asked: {e}")));
            found.push(findings::unreachable(cluster, &target.endpoint, &e, access));
            return found;
        }
    };
    let user = match out.call(probes::who_am_i(&client, target.timeout)).await {
        Ok(u) => u,
        Err(e) => {
            if e.code() == Some(401) {
                send(KubeUpdate::Reach(Probe::Ready(target.endpoint.clone())));
                send(KubeUpdate::Identity(Probe::Denied {
                    permission: format!("Unauthorized ({e})"),
                }));
                send(KubeUpdate::Stopped(
                    "not asked: the cluster maps the caller to nobody (401)".to_owned(),
                ));
                found.push(findings::not_mapped(
                    cluster,
                    &caller.arn,
                    &caller.canonical_arn,
                    &e,
                    &[],
                ));
            } else {
                send(KubeUpdate::Reach(if e.code().is_some() {
                    Probe::Ready(target.endpoint.clone())
                } else {
                    failed(&e)
                }));
                send(KubeUpdate::Identity(failed(&e)));
                send(KubeUpdate::Stopped(format!(
                    "not asked: the API server did not answer ({e})"
                )));
                found.push(findings::unreachable(cluster, &target.endpoint, &e, access));
            }
            return found;
        }
    };
    send(KubeUpdate::Reach(Probe::Ready(target.endpoint.clone())));
    send(KubeUpdate::Identity(Probe::Ready(user.clone())));
    if user.is_anonymous() {
        send(KubeUpdate::Stopped(
            "not asked: the cluster served eksdoctor as system:anonymous".to_owned(),
        ));
        found.push(findings::anonymous(cluster));
        return found;
    }
    let aws_auth = async {
        let mut f = Vec::new();
        let answer = match out.call(probes::aws_auth(&client, target.timeout)).await {
            Ok(Some(yaml)) => match awsauth::lint(
                &yaml,
                "kube-system/aws-auth",
                &awsauth::MigrateOptions {
                    cluster: Some(cluster.to_owned()),
                    ..awsauth::MigrateOptions::default()
                },
            ) {
                Ok(lint) => {
                    f.extend(lint.findings);
                    let read = lint
                        .configmaps
                        .first()
                        .map_or_else(AwsAuthRead::default, |a| {
                            aws_auth_read(&mapper::lookup(a, caller))
                        });
                    Probe::Ready(read)
                }
                Err(e) => Probe::Failed {
                    message: format!("kube-system/aws-auth does not parse: {e}"),
                },
            },
            Ok(None) => Probe::Ready(AwsAuthRead {
                absent: true,
                ..AwsAuthRead::default()
            }),
            Err(e) => {
                f.push(findings::aws_auth_unreadable(cluster, Some(&user), &e));
                if e.code() == Some(403) {
                    Probe::Denied {
                        permission: "get configmaps/aws-auth -n kube-system".to_owned(),
                    }
                } else {
                    failed(&e)
                }
            }
        };
        send(KubeUpdate::AwsAuth(answer));
        f
    };
    let console = async {
        type Ask = (&'static str, &'static str, &'static str);
        let asks: Vec<Ask> = probes::CONSOLE_READS
            .iter()
            .flat_map(|(g, r)| probes::CONSOLE_VERBS.iter().map(move |v| (*g, *r, *v)))
            .collect();
        // Each review under one of the round's permits, and at most `width`
        // of this cluster's at once: every one in flight needs a connection
        // of its own (HTTP/1.1), so a cluster that takes every free permit
        // while other clusters wait pays a TLS handshake per permit, again
        // and again as the permits interleave (measured: 878 connections for
        // 50 clusters, against at most 4 per cluster with the cap). Alone in
        // the round, a cluster may use every free permit.
        let width = out.permits.available_permits().max(MIN_WIDTH);
        let local = Semaphore::new(width);
        let answers: Vec<Result<Access, KubeError>> =
            futures_util::future::join_all(asks.into_iter().map(|(g, r, v): Ask| {
                let local = &local;
                let client = &client;
                async move {
                    let _mine = local.acquire().await.ok();
                    out.call(probes::can_i(client, target.timeout, g, r, v, None))
                        .await
                }
            }))
            .await;
        match answers.into_iter().collect::<Result<Vec<_>, _>>() {
            Ok(access) => {
                send(KubeUpdate::Rbac(Probe::Ready(
                    access.iter().map(|a| rbac_check(a, true)).collect(),
                )));
                findings::console_rbac(cluster, &caller.canonical_arn, &user, &access)
            }
            Err(e) => {
                send(KubeUpdate::Rbac(failed(&e)));
                None
            }
        }
    };
    let can = async {
        let c = can?;
        let (resource, group) = c
            .resource
            .split_once('.')
            .unwrap_or((c.resource.as_str(), ""));
        match out
            .call(probes::can_i(
                &client,
                target.timeout,
                group,
                resource,
                &c.verb,
                c.namespace.as_deref(),
            ))
            .await
        {
            Ok(a) => {
                send(KubeUpdate::Can(Probe::Ready(rbac_check(&a, false))));
                (!a.allowed).then(|| findings::forbidden(cluster, &caller.canonical_arn, &user, &a))
            }
            Err(e) => {
                send(KubeUpdate::Can(failed(&e)));
                None
            }
        }
    };
    let (a, c, k) = tokio::join!(aws_auth, console, can);
    found.extend(a);
    found.extend(c);
    found.extend(k);
    found
}

/// Probe `cluster` as `caller` (whose token is `token`), alone: the
/// answers as core's model holds them, and the findings.
pub async fn probe(
    cluster: &str,
    target: &Target,
    token: &EksToken,
    caller: &mapper::Caller,
    access: &EndpointAccess,
    concurrency: usize,
    can: Option<&Can>,
) -> ClusterAnswers {
    let mut started = ClusterProbes::new("", cluster);
    started.apply_kube(KubeUpdate::Started {
        endpoint: target.endpoint.clone(),
        can: can.is_some(),
    });
    let model = std::sync::Mutex::new(started);
    let update = |u: KubeUpdate| {
        if let Ok(mut m) = model.lock() {
            m.apply_kube(u);
        }
    };
    let permits = Semaphore::new(concurrency.max(1));
    let found = run(
        cluster,
        target,
        token,
        caller,
        access,
        can,
        &Emit {
            update: &update,
            permits: &permits,
        },
    )
    .await;
    let json = model
        .lock()
        .ok()
        .and_then(|m| m.kube.json())
        .unwrap_or(Value::Null);
    ClusterAnswers {
        findings: found,
        json,
    }
}

/// A connection that is not up within this is not coming (a private
/// endpoint seen from outside its VPC): fail fast, not after --timeout.
const CONNECT_DEADLINE: Duration = Duration::from_secs(5);

/// The console reviews one cluster keeps in flight while the round is busy.
const MIN_WIDTH: usize = 4;

/// The Kubernetes probes as a follow-up of the AWS round: for each
/// described cluster, its kubeconfig context (and kubeconfig/cluster-mismatch),
/// then who it thinks the caller is, aws-auth, the console's reads and `--can`.
#[derive(Debug, Clone, Default)]
pub struct Prober {
    /// Send the probes here instead of DescribeCluster's endpoint (a tunnel, a test stand-in).
    pub endpoint: Option<String>,
    /// The CA (PEM) to trust at `endpoint`.
    pub ca_pem: Option<String>,
    /// `--can VERB RESOURCE [-n NS]`.
    pub can: Option<Can>,
    /// The kubeconfig's contexts (empty: no kubeconfig).
    pub contexts: Vec<KubeContext>,
    /// Each request's deadline (`None`: the round's probe deadline).
    pub timeout: Option<Duration>,
}

impl Prober {
    async fn one(&self, job: FollowUp<'_>) {
        let cluster = job.cluster;
        let context = match_context(&self.contexts, cluster, Some(job.api)).cloned();
        if let Some(ctx) = &context {
            job.findings(
                cluster_mismatch(ctx, cluster, job.api)
                    .into_iter()
                    .collect(),
            );
        }
        job.send(KubeUpdate::Context(context));
        let access = EndpointAccess {
            public: job.api.public_access,
            private: job.api.private_access,
            public_cidrs: job.api.public_access_cidrs.clone(),
        };
        let Some(endpoint) = self.endpoint.clone().or(job.api.endpoint.clone()) else {
            let why = format!(
                "the cluster has no endpoint yet (status {})",
                cluster.status.as_deref().unwrap_or("unknown")
            );
            job.send(KubeUpdate::Started {
                endpoint: String::new(),
                can: false,
            });
            job.send(KubeUpdate::Reach(Probe::Failed {
                message: why.clone(),
            }));
            job.send(KubeUpdate::Stopped(format!("not asked: {why}")));
            return;
        };
        job.send(KubeUpdate::Started {
            endpoint: endpoint.clone(),
            can: self.can.is_some(),
        });
        let token = match eksdoctor_aws::kube_target::token_for(job.live, &cluster.name).await {
            Ok(t) => t,
            Err(e) => {
                let why = format!("cannot build the EKS token: {e}");
                job.send(KubeUpdate::Reach(Probe::Failed {
                    message: why.clone(),
                }));
                job.send(KubeUpdate::Stopped(format!("not asked: {why}")));
                return;
            }
        };
        let target = Target {
            endpoint,
            ca: self.ca_pem.clone().or(job.api.ca_data.clone()),
            timeout: self.timeout.unwrap_or(job.live.probe_timeout()),
        };
        let caller = mapper::Caller::from_identity(job.identity);
        let update = |u: KubeUpdate| job.send(u);
        let found = run(
            &cluster.name,
            &target,
            &token,
            &caller,
            &access,
            self.can.as_ref(),
            &Emit {
                update: &update,
                permits: job.permits(),
            },
        )
        .await;
        job.findings(found);
    }
}

impl ClusterFollowUp for Prober {
    fn run<'a>(&'a self, job: FollowUp<'a>) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(self.one(job))
    }
}

/// The connect deadline for a request deadline: short, so that a private
/// endpoint seen from outside its VPC fails fast instead of hanging.
#[must_use]
pub fn connect_deadline(timeout: Duration) -> Duration {
    timeout.min(CONNECT_DEADLINE)
}
