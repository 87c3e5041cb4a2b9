//! Pod credentials, live: which credentials each workload really gets,
//! from what the cluster and EKS answer (service accounts and pods as the
//! API server holds them, Pod Identity associations, the agent add-on, the
//! roles' trust policies from GetRole), run through the same engines as
//! the offline lints: [`crate::sts`] for the STS endpoint, [`crate::irsa`]
//! for IRSA trust, [`super`] for Pod Identity.
//!
//! A running pod's spec is the truth about its mechanism: the EKS webhook
//! injected `AWS_ROLE_ARN` (IRSA) or `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! (Pod Identity) when the pod was created. With both, the SDKs' chain takes
//! web identity first: IRSA wins. With neither, the pod uses the node role,
//! even if its service account was annotated or associated later
//! (podid/pod-not-restarted).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::{
    Addons, Association, Cluster, ComputeHint, RoleTrust, ServiceAccountInfo, WorkloadInfo,
};
use crate::finding::{Finding, Fix};
use crate::irsa::{self, Issuer, ServiceAccountRef, TrustSource};
use crate::k8s::{Manifests, ServiceAccount, Workload};
use crate::rules;
use crate::sts::{self, EndpointType, SourceFile, SourceKind, StsOptions};

const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";

/// How a workload's pods get AWS credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    Irsa,
    PodIdentity,
    /// Neither: the node's instance role (IMDS).
    NodeRole,
}

impl Mechanism {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Irsa => "irsa",
            Self::PodIdentity => "pod-identity",
            Self::NodeRole => "node-role",
        }
    }
}

/// One pod as read from the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePodInput {
    /// The pod (kind Pod, containers with their credential env).
    pub workload: Workload,
    /// `Deployment/web`, `StatefulSet/db`, `Pod/x`.
    pub workload_name: String,
    pub compute: ComputeHint,
}

/// GetRole's answer for one role ARN: its trust policy, or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAnswer {
    pub arn: String,
    pub trust: Result<Value, String>,
}

/// Everything known about one cluster's workload credentials.
#[derive(Debug, Clone, Default)]
pub struct LiveInputs<'a> {
    pub cluster: Cluster,
    pub region: Option<String>,
    pub version: Option<(u32, u32)>,
    /// DescribeCluster's OIDC issuer URL.
    pub issuer: Option<String>,
    pub service_accounts: &'a [ServiceAccount],
    pub pods: &'a [LivePodInput],
    /// `None`: the associations could not be read.
    pub associations: Option<&'a [Association]>,
    pub roles: &'a [RoleAnswer],
    /// `None`: the add-ons could not be read.
    pub addons: Option<&'a Addons>,
    /// Pods of a self-managed agent in kube-system.
    pub agent_pods: usize,
    /// Managed node groups with a Windows AMI.
    pub windows_nodegroups: Vec<String>,
    pub fargate_profiles: Vec<String>,
}

/// One row: a workload (or a service account without pods) and the
/// credentials it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodCredential {
    pub namespace: String,
    pub service_account: String,
    /// `Deployment/web`; `None` for a service account no pod runs as.
    pub workload: Option<String>,
    /// One of its pods.
    pub pod: Option<String>,
    pub pods: usize,
    pub mechanism: Mechanism,
    /// The role the pods really get (the node role is not known here).
    pub role: Option<String>,
    /// What is configured for the service account: `irsa`, `pod-identity`.
    pub configured: Vec<&'static str>,
    /// The STS endpoint the SDK in the pod resolves.
    pub sts_endpoint: String,
    pub sts_endpoint_type: EndpointType,
    pub sts_source: String,
    /// `ok`, `problem` or `unknown`.
    pub verdict: &'static str,
    /// Rule ids of the problems, or why the answer is unknown.
    pub reasons: Vec<String>,
}

/// Rows, findings and notes for one cluster.
#[derive(Debug, Clone, Default)]
pub struct LiveAnswer {
    pub rows: Vec<PodCredential>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

fn env_of<'a>(w: &'a Workload, name: &str) -> Option<&'a str> {
    w.containers
        .iter()
        .filter(|c| !c.init)
        .find_map(|c| c.env(name))
        .map(|e| e.value.as_deref().unwrap_or(""))
}

fn find_assoc<'a>(assocs: &'a [Association], ns: &str, sa: &str) -> Option<&'a Association> {
    assocs
        .iter()
        .find(|a| a.namespace == ns && a.service_account == sa)
}

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Tag a finding with its cluster (and workload), drop the meaningless
/// file location of live objects.
fn live(mut f: Finding, cluster: &str, workload: Option<&str>) -> Finding {
    f.location = None;
    f.evidence.insert("cluster".to_owned(), cluster.into());
    if let Some(w) = workload {
        f.evidence.entry("workload".to_owned()).or_insert(w.into());
    }
    f
}

/// Which credentials each workload gets, and what is wrong with them.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn evaluate(inp: &LiveInputs<'_>) -> LiveAnswer {
    let mut out = LiveAnswer::default();
    let cname = inp
        .cluster
        .name
        .clone()
        .unwrap_or_else(|| "CLUSTER".to_owned());
    let assocs = inp.associations.unwrap_or_default();
    let sa_index: HashMap<(&str, &str), &ServiceAccount> = inp
        .service_accounts
        .iter()
        .map(|s| ((s.meta.namespace_or_default(), s.meta.name.as_str()), s))
        .collect();
    let sa_of = |ns: &str, name: &str| sa_index.get(&(ns, name)).copied();
    let irsa_of = |ns: &str, name: &str| {
        sa_of(ns, name)
            .and_then(|s| s.meta.annotation(sts::ROLE_ARN_ANNOTATION))
            .map(|a| a.value.clone())
    };
    let role_index: HashMap<String, &RoleAnswer> = inp
        .roles
        .iter()
        .map(|r| (r.arn.to_ascii_lowercase(), r))
        .collect();
    let trust_of = |arn: &str| role_index.get(&arn.to_ascii_lowercase()).copied();

    // Group pods by (namespace, service account, workload), in first-seen order.
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut index: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, p) in inp.pods.iter().enumerate() {
        let key = (
            p.workload.meta.namespace_or_default(),
            p.workload.service_account.as_str(),
            p.workload_name.as_str(),
        );
        match index.get(&key) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(key, groups.len());
                groups.push((i, vec![i]));
            }
        }
    }
    // STS endpoints: the sts engine over the live objects, as one "file"
    // (one pod per workload: its pods share a template).
    let file = SourceFile {
        name: format!("cluster {cname}"),
        text: String::new(),
        kind: SourceKind::Manifests(Manifests {
            service_accounts: inp.service_accounts.to_vec(),
            workloads: groups
                .iter()
                .map(|(first, _)| inp.pods[*first].workload.clone())
                .collect(),
            skipped: Vec::new(),
        }),
    };
    let files = std::slice::from_ref(&file);
    let opts = StsOptions {
        cluster_version: inp.version,
        region: inp.region.clone(),
    };
    let sts_rows: Vec<sts::EndpointRow> = groups
        .iter()
        .map(|(first, _)| sts::resolve(&file, &inp.pods[*first].workload, files, &opts))
        .collect();
    // The cluster-wide sts/legacy-global-default (a version before 1.22) is
    // already said from DescribeCluster alone; only the per-workload ones here.
    for f in sts::rules::bad_annotation(files).into_iter().chain(
        sts::rules::legacy_global_default(files, &sts_rows, &opts)
            .into_iter()
            .filter(|f| !f.evidence.contains_key("cluster_version")),
    ) {
        out.findings.push(live(f, &cname, None));
    }

    // Trust checks, once per (role, service account).
    let issuer = inp.issuer.as_deref().and_then(|i| Issuer::parse(i).ok());
    let mut checked: Vec<(String, String, String, Vec<&'static str>)> = Vec::new();
    let mut check_role = |out: &mut LiveAnswer,
                          mech: Mechanism,
                          role: &str,
                          ns: &str,
                          sa: &str,
                          assoc: Option<&Association>,
                          workload: Option<&str>|
     -> Result<Vec<&'static str>, String> {
        if let Some((.., r)) = checked
            .iter()
            .find(|(m, n, s, _)| m == &format!("{}:{role}", mech.as_str()) && n == ns && s == sa)
        {
            return Ok(r.clone());
        }
        let Some(answer) = trust_of(role) else {
            return Err(format!("trust of {role} not read"));
        };
        let doc = match &answer.trust {
            Ok(d) => d,
            Err(e) => return Err(format!("GetRole {}: {e}", role_name(role))),
        };
        let mut found = Vec::new();
        match mech {
            Mechanism::Irsa => {
                let Some(issuer) = &issuer else {
                    return Err("the cluster has no OIDC issuer: IRSA cannot work".to_owned());
                };
                let trust = irsa::trust::read(&doc.to_string()).map_err(|e| e.to_string())?;
                let sa_ref = ServiceAccountRef {
                    namespace: ns.to_owned(),
                    name: sa.to_owned(),
                    audience: sa_of(ns, sa)
                        .and_then(|s| s.meta.annotation(AUDIENCE_ANNOTATION))
                        .map_or_else(|| irsa::DEFAULT_AUDIENCE.to_owned(), |a| a.value.clone()),
                };
                let src = TrustSource {
                    file: format!("iam get-role {}", role_name(role)),
                    role_name: role_name(role).to_owned(),
                };
                found.extend(irsa::check(&trust, issuer, &sa_ref, &src));
            }
            Mechanism::PodIdentity => {
                let view = RoleTrust {
                    file: "iam get-role",
                    document: doc,
                    name: role_name(role).to_owned(),
                    arn: Some(role.to_owned()),
                };
                let tags = assoc.is_none_or(|a| !a.disable_session_tags);
                let t = super::check_trust(&view, &inp.cluster, Some((ns, sa)), tags)?;
                out.notes
                    .extend(t.undecided.iter().map(|u| format!("{ns}/{sa}: {u}")));
                found.extend(t.findings);
                if let Some(a) = assoc
                    && a.target_role_arn.is_some()
                {
                    let t = super::check_cross_account(a, None, &[])?;
                    out.notes.extend(t.undecided);
                }
            }
            Mechanism::NodeRole => {}
        }
        let ids: Vec<&'static str> = found.iter().map(|f| f.rule).collect();
        for f in found {
            out.findings.push(live(f, &cname, workload));
        }
        checked.push((
            format!("{}:{role}", mech.as_str()),
            ns.to_owned(),
            sa.to_owned(),
            ids.clone(),
        ));
        Ok(ids)
    };

    let mut rows = Vec::new();
    let mut stale: Vec<Finding> = Vec::new();
    for ((first, members), row_sts) in groups.iter().zip(&sts_rows) {
        let p = &inp.pods[*first];
        let ns = p.workload.meta.namespace_or_default().to_owned();
        let sa = p.workload.service_account.clone();
        let irsa_env = env_of(&p.workload, "AWS_ROLE_ARN").map(str::to_owned);
        let pi_env = env_of(&p.workload, "AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some();
        let annotation = irsa_of(&ns, &sa);
        let assoc = find_assoc(assocs, &ns, &sa);
        let mut configured = Vec::new();
        if annotation.is_some() {
            configured.push("irsa");
        }
        if assoc.is_some() {
            configured.push("pod-identity");
        }
        let mut reasons: Vec<String> = Vec::new();
        let mut unknown = false;
        let (mechanism, role) = if let Some(r) = irsa_env.filter(|r| !r.is_empty()) {
            (Mechanism::Irsa, Some(r))
        } else if pi_env {
            (
                Mechanism::PodIdentity,
                assoc.and_then(|a| a.role_arn.clone()),
            )
        } else {
            (Mechanism::NodeRole, None)
        };
        let wname = p.workload_name.clone();
        match mechanism {
            Mechanism::Irsa | Mechanism::PodIdentity => {
                if mechanism == Mechanism::PodIdentity && assoc.is_none() {
                    if inp.associations.is_some() {
                        reasons.push(rules::PODID_NO_ASSOCIATION.id.to_owned());
                        out.findings.push(live(
                            Finding::new(
                                rules::PODID_NO_ASSOCIATION,
                                format!(
                                    "{wname} in {ns} has Pod Identity credentials injected, but no association names {ns}/{sa} any more: the agent refuses its credential requests"
                                ),
                            )
                            .detail("EKS injected AWS_CONTAINER_CREDENTIALS_FULL_URI when the pod started; the association has since been deleted (or the service account changed). The agent answers such pods with an error and the SDK finds no credentials.")
                            .evidence("service_account", format!("{ns}/{sa}"))
                            .fix(Fix::new("Create the association again (or restart the pods so they stop expecting one)")
                                .command(format!("aws eks create-pod-identity-association --cluster-name {cname} --namespace {ns} --service-account {sa} --role-arn ROLE_ARN"))
                                .command(format!("kubectl rollout restart {} -n {ns}", wname.to_ascii_lowercase()))),
                            &cname,
                            Some(&wname),
                        ));
                    } else {
                        unknown = true;
                        reasons.push("associations not readable".to_owned());
                    }
                }
                match &role {
                    Some(r) => {
                        match check_role(&mut out, mechanism, r, &ns, &sa, assoc, Some(&wname)) {
                            Ok(ids) => reasons.extend(ids.iter().map(|s| (*s).to_owned())),
                            Err(why) => {
                                unknown = true;
                                reasons.push(why);
                            }
                        }
                    }
                    None if mechanism == Mechanism::PodIdentity && assoc.is_some() => {
                        unknown = true;
                        reasons.push("the association's role is not known".to_owned());
                    }
                    None => {}
                }
            }
            Mechanism::NodeRole => {
                if !configured.is_empty() {
                    reasons.push(rules::PODID_POD_NOT_RESTARTED.id.to_owned());
                    let what = if annotation.is_some() {
                        format!("the IRSA annotation {}", sts::ROLE_ARN_ANNOTATION)
                    } else {
                        "the Pod Identity association".to_owned()
                    };
                    stale.push(live(
                        Finding::new(
                            rules::PODID_POD_NOT_RESTARTED,
                            format!(
                                "{wname} in {ns} runs as {ns}/{sa}, which has {what}, but its pods ({}) got no credentials of their own: they started before it and use the node role",
                                p.workload.meta.name
                            ),
                        )
                        .detail("EKS injects credentials (AWS_ROLE_ARN for IRSA, AWS_CONTAINER_CREDENTIALS_FULL_URI for Pod Identity) only when a pod is created. Pods that were running when the service account was annotated or associated keep the node's instance role until they are recreated; their AWS calls are denied as the node role.")
                        .evidence("service_account", format!("{ns}/{sa}"))
                        .evidence("pods", members.len())
                        .fix(Fix::new("Recreate the pods").command(format!(
                            "kubectl rollout restart {} -n {ns}",
                            wname.to_ascii_lowercase()
                        ))),
                        &cname,
                        Some(&wname),
                    ));
                }
            }
        }
        if mechanism == Mechanism::Irsa
            && let (Some(a), Some(r)) = (&annotation, &role)
            && !a.eq_ignore_ascii_case(r)
        {
            reasons.push(rules::PODID_POD_NOT_RESTARTED.id.to_owned());
            stale.push(live(
                Finding::new(
                    rules::PODID_POD_NOT_RESTARTED,
                    format!(
                        "{wname} in {ns} still assumes {r}: its service account {ns}/{sa} now names {a}, but the pods started before the change"
                    ),
                )
                .detail("The IRSA webhook copies the role ARN into AWS_ROLE_ARN when a pod is created; changing the annotation later changes nothing in running pods, which keep assuming the old role.")
                .evidence("service_account", format!("{ns}/{sa}"))
                .evidence("pod_role", r.as_str())
                .evidence("annotation_role", a.as_str())
                .fix(Fix::new("Recreate the pods").command(format!(
                    "kubectl rollout restart {} -n {ns}",
                    wname.to_ascii_lowercase()
                ))),
                &cname,
                Some(&wname),
            ));
        }
        if mechanism == Mechanism::Irsa && assoc.is_some() {
            reasons.push(rules::PODID_IRSA_PRECEDENCE.id.to_owned());
        }
        let verdict = if reasons.iter().any(|r| rules::by_id(r).is_some()) {
            "problem"
        } else if unknown {
            "unknown"
        } else {
            "ok"
        };
        rows.push(PodCredential {
            namespace: ns,
            service_account: sa,
            workload: Some(wname),
            pod: Some(p.workload.meta.name.clone()),
            pods: members.len(),
            mechanism,
            role,
            configured,
            sts_endpoint: row_sts.endpoint.clone(),
            sts_endpoint_type: row_sts.effective,
            sts_source: row_sts.source.clone(),
            verdict,
            reasons,
        });
    }
    out.findings.extend(stale);
    let seen: HashSet<(String, String)> = rows
        .iter()
        .map(|r: &PodCredential| (r.namespace.clone(), r.service_account.clone()))
        .collect();

    // Service accounts with credentials configured that no pod runs as:
    // their configuration is still checked (the next pod gets it).
    for s in inp.service_accounts {
        let ns = s.meta.namespace_or_default().to_owned();
        let sa = s.meta.name.clone();
        if seen.contains(&(ns.clone(), sa.clone())) {
            continue;
        }
        let annotation = irsa_of(&ns, &sa);
        let assoc = find_assoc(assocs, &ns, &sa);
        let (mechanism, role) = match (&annotation, assoc) {
            (Some(r), _) => (Mechanism::Irsa, Some(r.clone())),
            (None, Some(a)) => (Mechanism::PodIdentity, a.role_arn.clone()),
            (None, None) => continue,
        };
        let mut configured = Vec::new();
        if annotation.is_some() {
            configured.push("irsa");
        }
        if assoc.is_some() {
            configured.push("pod-identity");
        }
        let mut reasons = Vec::new();
        let mut unknown = false;
        if let Some(r) = &role {
            match check_role(&mut out, mechanism, r, &ns, &sa, assoc, None) {
                Ok(ids) => reasons.extend(ids.iter().map(|s| (*s).to_owned())),
                Err(why) => {
                    unknown = true;
                    reasons.push(why);
                }
            }
        }
        if annotation.is_some() && assoc.is_some() {
            reasons.push(rules::PODID_IRSA_PRECEDENCE.id.to_owned());
        }
        let verdict = if reasons.iter().any(|r| rules::by_id(r).is_some()) {
            "problem"
        } else if unknown {
            "unknown"
        } else {
            "ok"
        };
        let t = if mechanism == Mechanism::Irsa {
            sts::cluster_default(inp.version)
        } else {
            EndpointType::SdkDefault
        };
        rows.push(PodCredential {
            namespace: ns,
            service_account: sa,
            workload: None,
            pod: None,
            pods: 0,
            mechanism,
            role,
            configured,
            sts_endpoint: sts::endpoint_url(t, inp.region.as_deref()),
            sts_endpoint_type: t,
            sts_source: "no pods: what the next pod gets".to_owned(),
            verdict,
            reasons,
        });
    }

    // Both mechanisms, compute, and the agent: the offline checks.
    let accounts: Vec<ServiceAccountInfo> = inp
        .service_accounts
        .iter()
        .map(|s| ServiceAccountInfo {
            namespace: s.meta.namespace_or_default().to_owned(),
            name: s.meta.name.clone(),
            irsa_role: s
                .meta
                .annotation(sts::ROLE_ARN_ANNOTATION)
                .map(|a| a.value.clone()),
            file: String::new(),
            line: 0,
        })
        .collect();
    let workloads: Vec<WorkloadInfo> = groups
        .iter()
        .map(|(first, _)| {
            let p = &inp.pods[*first];
            let mut hint = p.compute.clone();
            hint.workload.clone_from(&p.workload_name);
            WorkloadInfo {
                hint,
                file: String::new(),
            }
        })
        .filter(|w| {
            find_assoc(
                assocs,
                w.hint.namespace.as_deref().unwrap_or("default"),
                &w.hint.service_account,
            )
            .is_some()
        })
        .collect();
    for f in super::check_associations(inp.associations, &accounts, &workloads, &inp.cluster, None)
    {
        let w = f
            .evidence
            .get("workload")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if f.rule == rules::PODID_UNSUPPORTED_COMPUTE.id
            && let Some(w) = &w
        {
            for r in rows.iter_mut().filter(|r| r.workload.as_deref() == Some(w)) {
                r.reasons.push(f.rule.to_owned());
                r.verdict = "problem";
            }
        }
        out.findings.push(live(f, &cname, w.as_deref()));
    }
    let uses_pod_identity =
        !assocs.is_empty() || rows.iter().any(|r| r.mechanism == Mechanism::PodIdentity);
    if uses_pod_identity {
        match inp.addons {
            Some(addons) => {
                let agent = super::check_agent(addons, inp.agent_pods > 0, &inp.cluster);
                if !agent.is_empty() {
                    for r in rows
                        .iter_mut()
                        .filter(|r| r.mechanism == Mechanism::PodIdentity)
                    {
                        r.reasons.push(rules::PODID_AGENT_MISSING.id.to_owned());
                        r.verdict = "problem";
                    }
                }
                out.findings
                    .extend(agent.into_iter().map(|f| live(f, &cname, None)));
            }
            None => out.notes.push(format!(
                "the add-ons could not be read: whether {} runs is unknown",
                super::AGENT_ADDON
            )),
        }
        if !inp.windows_nodegroups.is_empty() {
            out.notes.push(format!(
                "node groups {} run Windows: Pod Identity pods scheduled there get no credentials",
                inp.windows_nodegroups.join(", ")
            ));
        }
        if !inp.fargate_profiles.is_empty() {
            out.notes.push(format!(
                "Fargate profiles {}: pods they select cannot use Pod Identity (use IRSA)",
                inp.fargate_profiles.join(", ")
            ));
        }
    }
    if inp.associations.is_none() {
        out.notes.push(
            "the Pod Identity associations could not be read: Pod Identity answers are unknown"
                .to_owned(),
        );
    }
    rows.sort_by(|a, b| {
        (&a.namespace, &a.service_account, &a.workload).cmp(&(
            &b.namespace,
            &b.service_account,
            &b.workload,
        ))
    });
    out.rows = rows;
    out
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
