//! `check --kubernetes`, pod credentials: for each cluster the round
//! described, which credentials each workload really gets. EKS answers the
//! Pod Identity side (associations, the agent add-on, node groups, Fargate
//! profiles; eksdoctor_aws::podid), the cluster answers the workloads
//! (service accounts and pods; eksdoctor_kube::workloads), IAM answers the
//! roles' trust (GetRole), and eksdoctor_core::podid::live judges them with
//! the sts, irsa and podid engines. Findings, a text table and the
//! `pod_credentials` JSON section (`{"REGION/NAME": {"workloads": [...]}}`).

use std::fmt::Write as _;
use std::time::Duration;

use eksdoctor_aws::{Live, LiveConfig, LiveSnapshot, ProbeError};
use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::podid::live::{self, LiveInputs, LivePodInput, PodCredential, RoleAnswer};
use eksdoctor_core::podid::{self, Cluster};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::Probe;
use eksdoctor_kube::probes::Target;
use eksdoctor_kube::workloads::{self, WorkloadsError};
use futures_util::stream::{self, StreamExt as _};
use serde_json::{Value, json};

use crate::cli::CheckArgs;
use crate::error::CliError;

/// Where to send the Kubernetes reads instead of DescribeCluster's endpoint
/// (`--kube-endpoint`, a tunnel or a test stand-in), and the CA to trust there
/// (`--kube-ca`).
#[derive(Debug, Clone, Default)]
pub struct Override {
    pub endpoint: Option<String>,
    pub ca_pem: Option<String>,
}

impl Override {
    /// From `check`'s flags.
    ///
    /// # Errors
    /// An unreadable `--kube-ca` file (exit 2).
    pub fn from_args(args: &CheckArgs) -> Result<Self, CliError> {
        Ok(Self {
            endpoint: args.kube_endpoint.clone(),
            ca_pem: args
                .kube_ca
                .as_deref()
                .map(crate::input::read_text)
                .transpose()?,
        })
    }
}

/// Pod credentials of every cluster: findings, text and JSON.
#[derive(Debug, Clone, Default)]
pub struct PodCredentials {
    pub findings: Vec<Finding>,
    pub text: String,
    pub json: Value,
}

/// One cluster's answer (also what the dashboard is fed).
#[derive(Debug, Clone)]
pub struct ClusterPods {
    pub region: String,
    pub name: String,
    pub answer: Result<live::LiveAnswer, String>,
    /// Service accounts and pods could not be listed (then only what EKS
    /// and IAM say is judged: the associations' roles, the agent).
    pub unreadable: Option<String>,
}

/// Probe every described cluster, `concurrency` at a time.
pub async fn probe_all(
    live: &Live,
    config: &LiveConfig,
    snap: &LiveSnapshot,
    concurrency: usize,
    timeout: Duration,
    over: &Override,
) -> PodCredentials {
    let clusters: Vec<(String, String, eksdoctor_core::snapshot::Cluster)> = snap
        .clusters
        .values()
        .filter_map(|c| match &c.cluster {
            Probe::Ready(k) => Some((c.region.clone(), c.name.clone(), k.clone())),
            _ => None,
        })
        .collect();
    let account = snap.identity.ready().map(|i| i.account.clone());
    let results: Vec<(ClusterPods, Vec<Finding>)> = stream::iter(clusters)
        .map(|(region, name, cluster)| {
            let account = account.clone();
            async move {
                let deadline = timeout.saturating_mul(4);
                match tokio::time::timeout(
                    deadline,
                    one(
                        live,
                        config,
                        &cluster,
                        account.as_deref(),
                        concurrency,
                        timeout,
                        over,
                    ),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => (
                        ClusterPods {
                            region,
                            name,
                            answer: Err(format!("no answer within {}s", deadline.as_secs())),
                            unreadable: None,
                        },
                        Vec::new(),
                    ),
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut out = PodCredentials::default();
    let mut sections = serde_json::Map::new();
    let mut sorted = results;
    sorted.sort_by(|a, b| (&a.0.region, &a.0.name).cmp(&(&b.0.region, &b.0.name)));
    for (c, extra) in sorted {
        out.findings.extend(extra);
        out.text.push_str(&text(&c));
        let key = format!("{}/{}", c.region, c.name);
        match c.answer {
            Ok(a) => {
                out.findings.extend(a.findings);
                let mut section = json!({"workloads": a.rows, "notes": a.notes});
                if let Some(e) = c.unreadable {
                    section["error"] = json!(e);
                }
                sections.insert(key, section);
            }
            Err(e) => {
                sections.insert(key, json!({"error": e}));
            }
        }
    }
    out.json = Value::Object(sections);
    out
}

/// One cluster's rows as the dashboard's `Feed::PodCredentials` carries
/// them (for the live dashboard; `check` uses [`probe_all`]).
pub(crate) async fn dashboard_rows(
    live: &Live,
    config: &LiveConfig,
    cluster: &eksdoctor_core::snapshot::Cluster,
    account: Option<&str>,
    concurrency: usize,
    timeout: Duration,
) -> Probe<Vec<PodCredential>> {
    let over = Override::default();
    let work = one(live, config, cluster, account, concurrency, timeout, &over);
    match tokio::time::timeout(timeout.saturating_mul(4), work).await {
        Err(_) => Probe::TimedOut,
        Ok((c, extra)) => match c.answer {
            Ok(_) if c.unreadable.is_some() => Probe::Denied {
                permission: "list pods and serviceaccounts (Kubernetes RBAC)".to_owned(),
            },
            Ok(a) => Probe::Ready(a.rows),
            Err(_) if extra.iter().any(|f| f.rule == rules::CREDS_PROBE_DENIED.id) => {
                Probe::Denied {
                    permission: "list pods and serviceaccounts (Kubernetes RBAC)".to_owned(),
                }
            }
            Err(message) => Probe::Failed { message },
        },
    }
}

fn denied_finding(cluster: &str, e: &WorkloadsError) -> Finding {
    Finding::new(
        rules::CREDS_PROBE_DENIED,
        format!("{cluster}: {}", e.message()),
    )
    .detail("Which credentials the workloads get is unknown from here: eksdoctor reads service accounts and pods (list, all namespaces) to tell IRSA, Pod Identity and the node role apart.")
    .evidence("cluster", cluster)
    .evidence("resource", e.resource)
    .evidence("error", e.error.to_string())
    .fix(
        Fix::new("Bind a group the caller's mapping carries to eksdoctor's read-only ClusterRole (or run check as a cluster reader)")
            .command("kubectl apply -f docs/eksdoctor-readonly-clusterrole.yaml"),
    )
}

/// The role ARNs to read with GetRole: every role a workload may get.
fn roles_named(
    accounts: &[eksdoctor_core::k8s::ServiceAccount],
    pods: &[LivePodInput],
    assocs: &[podid::Association],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |a: &str| {
        if a.starts_with("arn:") && !out.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            out.push(a.to_owned());
        }
    };
    for s in accounts {
        if let Some(a) = s.meta.annotation(eksdoctor_core::sts::ROLE_ARN_ANNOTATION) {
            add(&a.value);
        }
    }
    for p in pods {
        for c in &p.workload.containers {
            if let Some(v) = c.env("AWS_ROLE_ARN").and_then(|e| e.value.as_deref()) {
                add(v);
            }
        }
    }
    for a in assocs {
        if let Some(r) = &a.role_arn {
            add(r);
        }
    }
    out
}

async fn read_role(live: &Live, arn: &str, account: Option<&str>) -> RoleAnswer {
    let in_account = arn.split(':').nth(4);
    if let (Some(a), Some(mine)) = (in_account, account)
        && a != mine
    {
        return RoleAnswer {
            arn: arn.to_owned(),
            trust: Err(format!(
                "the role is in account {a}, not the caller's ({mine}): its trust policy is not readable from here"
            )),
        };
    }
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let trust = match eksdoctor_aws::iam::get_role(live, name).await {
        Ok(r) => r
            .trust_policy
            .ok_or_else(|| "GetRole returned no readable trust policy".to_owned()),
        Err(e) => Err(e.to_string()),
    };
    RoleAnswer {
        arn: arn.to_owned(),
        trust,
    }
}

#[allow(clippy::too_many_arguments)]
async fn one(
    live: &Live,
    config: &LiveConfig,
    cluster: &eksdoctor_core::snapshot::Cluster,
    account: Option<&str>,
    concurrency: usize,
    timeout: Duration,
    over: &Override,
) -> (ClusterPods, Vec<Finding>) {
    let (region, name) = (cluster.region.clone(), cluster.name.clone());
    let fail = |m: String| ClusterPods {
        region: region.clone(),
        name: name.clone(),
        answer: Err(m),
        unreadable: None,
    };
    let target = match eksdoctor_aws::kube_target::kube_target(live, &region, &name).await {
        Ok(t) => t,
        Err(e) => return (fail(format!("eks:DescribeCluster: {e}")), Vec::new()),
    };
    let Some(endpoint) = over.endpoint.clone().or(target.endpoint.clone()) else {
        return (
            fail("the cluster has no endpoint yet".to_owned()),
            Vec::new(),
        );
    };
    let token = match eksdoctor_aws::token::token(config, &name, None).await {
        Ok(t) => t,
        Err(e) => return (fail(format!("cannot build the EKS token: {e}")), Vec::new()),
    };
    let t = Target {
        endpoint,
        ca: over.ca_pem.clone().or(target.ca_data),
        timeout,
    };
    let client = match eksdoctor_kube::probes::client(&t, &token) {
        Ok(c) => c,
        Err(e) => return (fail(e.to_string()), Vec::new()),
    };
    let (eks, listed) = tokio::join!(
        eksdoctor_aws::podid::probe(live, &region, &name),
        workloads::list(&client, timeout)
    );
    let mut extra = Vec::new();
    let mut unreadable = None;
    let (accounts, pods) = match listed {
        Ok(l) => l,
        Err(e) => {
            if e.error.code() == Some(403) {
                extra.push(denied_finding(&name, &e));
            }
            unreadable = Some(e.message());
            (Vec::new(), Vec::new())
        }
    };
    let denied: Vec<ProbeError> = [
        eks.associations.as_ref().err(),
        eks.agent.as_ref().err(),
        eks.nodegroups.as_ref().err(),
        eks.fargate_profiles.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    extra.extend(
        eksdoctor_aws::findings::probe_denied(&denied)
            .into_iter()
            .map(|f| f.evidence("cluster", name.as_str())),
    );
    let assocs = eks.associations.as_ref().ok();
    let wanted: Vec<(String, String)> = assocs
        .into_iter()
        .flatten()
        .map(|a| (a.namespace.clone(), a.service_account.clone()))
        .collect();
    let mut w = workloads::select(&accounts, &pods, &wanted);
    if unreadable.is_some() {
        // Without the cluster's objects, the associations still name
        // service accounts whose roles can be judged.
        for (ns, sa) in &wanted {
            w.service_accounts
                .push(eksdoctor_core::k8s::ServiceAccount {
                    meta: eksdoctor_core::k8s::ObjectMeta {
                        name: sa.clone(),
                        namespace: Some(ns.clone()),
                        annotations: Vec::new(),
                    },
                    line: 0,
                });
        }
    }
    let pod_inputs: Vec<LivePodInput> = w
        .pods
        .iter()
        .map(|p| LivePodInput {
            workload_name: p.workload_name(),
            workload: p.workload.clone(),
            compute: p.compute.clone(),
        })
        .collect();
    let arns = roles_named(
        &w.service_accounts,
        &pod_inputs,
        assocs.map_or(&[][..], Vec::as_slice),
    );
    let roles: Vec<RoleAnswer> = stream::iter(arns)
        .map(|arn| async move { read_role(live, &arn, account).await })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut podid_cluster = Cluster {
        name: Some(name.clone()),
        arn: cluster.arn.clone(),
    };
    for a in assocs.into_iter().flatten() {
        podid_cluster.learn(a);
    }
    let inputs = LiveInputs {
        cluster: podid_cluster,
        region: Some(region.clone()),
        version: cluster.version_tuple(),
        issuer: cluster.oidc_issuer.clone(),
        service_accounts: &w.service_accounts,
        pods: &pod_inputs,
        associations: assocs.map(Vec::as_slice),
        roles: &roles,
        addons: eks.agent.as_ref().ok(),
        agent_pods: w.agent_pods,
        windows_nodegroups: eks
            .nodegroups
            .as_ref()
            .map(|n| {
                n.iter()
                    .filter(|g| g.is_windows())
                    .map(|g| g.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        fargate_profiles: eks.fargate_profiles.clone().unwrap_or_default(),
    };
    let mut answer = live::evaluate(&inputs);
    for (what, e) in [
        (
            "eks:ListPodIdentityAssociations",
            eks.associations.as_ref().err(),
        ),
        ("eks:ListAddons", eks.agent.as_ref().err()),
        ("eks:ListNodegroups", eks.nodegroups.as_ref().err()),
        (
            "eks:ListFargateProfiles",
            eks.fargate_profiles.as_ref().err(),
        ),
    ] {
        if let Some(e) = e
            && !matches!(e, ProbeError::Denied { .. })
        {
            answer.notes.push(format!("{what}: {e}"));
        }
    }
    (
        ClusterPods {
            region,
            name,
            answer: Ok(answer),
            unreadable,
        },
        extra,
    )
}

fn row_text(r: &PodCredential) -> [String; 6] {
    let who = match (&r.workload, r.pods) {
        (Some(w), 1) => w.clone(),
        (Some(w), n) => format!("{w} ({n} pods)"),
        (None, _) => "(no pods)".to_owned(),
    };
    let verdict = if r.reasons.is_empty() {
        r.verdict.to_owned()
    } else {
        format!("{}: {}", r.verdict, r.reasons.join(", "))
    };
    [
        who,
        format!("{}/{}", r.namespace, r.service_account),
        r.mechanism.as_str().to_owned(),
        r.role
            .as_deref()
            .map_or("-", |a| a.rsplit('/').next().unwrap_or(a))
            .to_owned(),
        r.sts_endpoint_type.as_str().to_owned(),
        verdict,
    ]
}

/// One cluster's table.
fn text(c: &ClusterPods) -> String {
    let mut s = format!("\npod credentials  {} ({})\n", c.name, c.region);
    if let Some(u) = &c.unreadable {
        let _ = writeln!(s, "  pods unknown: {u}");
    }
    match &c.answer {
        Err(e) => {
            let _ = writeln!(s, "  unknown: {e}");
        }
        Ok(a) if a.rows.is_empty() => {
            let _ = writeln!(s, "  no workload has IRSA or Pod Identity configured");
            for n in &a.notes {
                let _ = writeln!(s, "  note: {n}");
            }
        }
        Ok(a) => {
            let headers = [
                "WORKLOAD",
                "SERVICE ACCOUNT",
                "MECHANISM",
                "ROLE",
                "STS",
                "VERDICT",
            ];
            let cells: Vec<[String; 6]> = a.rows.iter().map(row_text).collect();
            let mut widths = headers.map(str::len);
            for c in &cells {
                for (w, x) in widths.iter_mut().zip(c.iter()) {
                    *w = (*w).max(x.chars().count());
                }
            }
            let line = |s: &mut String, c: &[&str]| {
                let mut l = String::from("  ");
                for (i, x) in c.iter().enumerate() {
                    if i + 1 == c.len() {
                        l.push_str(x);
                    } else {
                        let _ = write!(l, "{x:<w$}  ", w = widths[i]);
                    }
                }
                s.push_str(l.trim_end());
                s.push('\n');
            };
            line(&mut s, &headers);
            for c in &cells {
                let refs: Vec<&str> = c.iter().map(String::as_str).collect();
                line(&mut s, &refs);
            }
            for n in &a.notes {
                let _ = writeln!(s, "  note: {n}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksdoctor_core::podid::live::Mechanism;
    use eksdoctor_core::sts::EndpointType;

    #[test]
    fn table_names_mechanism_role_and_verdict() {
        let row = PodCredential {
            namespace: "app".into(),
            service_account: "web".into(),
            workload: Some("Deployment/web".into()),
            pod: Some("web-1".into()),
            pods: 2,
            mechanism: Mechanism::Irsa,
            role: Some("arn:aws:iam::123456789012:role/web".into()),
            configured: vec!["irsa"],
            sts_endpoint: "https://sts.us-west-2.amazonaws.com".into(),
            sts_endpoint_type: EndpointType::Regional,
            sts_source: "x".into(),
            verdict: "problem",
            reasons: vec!["irsa/trust-mismatch".into()],
        };
        let c = ClusterPods {
            region: "us-west-2".into(),
            name: "demo".into(),
            answer: Ok(live::LiveAnswer {
                rows: vec![row],
                findings: vec![],
                notes: vec!["n".into()],
            }),
            unreadable: None,
        };
        let t = text(&c);
        assert!(t.contains("Deployment/web (2 pods)  app/web"), "{t}");
        assert!(t.contains("problem: irsa/trust-mismatch"), "{t}");
        assert!(t.contains("note: n"), "{t}");
        let e = text(&ClusterPods {
            region: "r".into(),
            name: "n".into(),
            answer: Err("cannot list pods".into()),
            unreadable: None,
        });
        assert!(e.contains("unknown: cannot list pods"), "{e}");
    }
}
