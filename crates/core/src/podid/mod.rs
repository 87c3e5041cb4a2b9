//! EKS Pod Identity, offline: small pure checks over a role's trust policy,
//! saved association and add-on output, and manifests.
//!
//! How Pod Identity works (Amazon EKS User Guide, "Learn how EKS Pod Identity
//! grants pods access to AWS services"): an association names a namespace,
//! a service account and a role. The `eks-pod-identity-agent` add-on runs on
//! every node and serves credentials at `http://169.254.170.23/v1/credentials`;
//! EKS injects `AWS_CONTAINER_CREDENTIALS_FULL_URI` into the pods. EKS Auth
//! assumes the role as the service principal `pods.eks.amazonaws.com`, with
//! `sts:AssumeRole` and `sts:TagSession` (it adds session tags), so the
//! role's trust policy must allow both. With a target role
//! (`targetRoleArn`), EKS then assumes the target role with the first role's
//! session. Fargate and Windows pods cannot use Pod Identity.
//!
//! Each check returns catalog [`Finding`]s (`podid/*`); trust policies are
//! evaluated with [`crate::policy`].

pub mod live;
pub mod reader;

pub use reader::{
    Addons, Association, ComputeHint, ReadError, read_addons, read_associations, read_compute,
};

use serde_json::{Map, Value, json};

use crate::finding::{Finding, Fix};
use crate::policy::{
    self, Caller, Context, Decision, Policy, PolicyKind, PolicySet, Request, explain,
};
use crate::rules;

/// The service principal EKS Auth assumes Pod Identity roles as.
pub const SERVICE_PRINCIPAL: &str = "pods.eks.amazonaws.com";
/// The add-on that serves credentials on each node.
pub const AGENT_ADDON: &str = "eks-pod-identity-agent";
/// The link-local address the agent listens on.
pub const AGENT_ADDRESS: &str = "169.254.170.23";
/// The IRSA annotation on a service account.
pub const IRSA_ANNOTATION: &str = crate::sts::ROLE_ARN_ANNOTATION;
/// The session tags Pod Identity adds ("Enable or disable session tags").
pub const SESSION_TAGS: [&str; 6] = [
    "eks-cluster-arn",
    "eks-cluster-name",
    "kubernetes-namespace",
    "kubernetes-service-account",
    "kubernetes-pod-name",
    "kubernetes-pod-uid",
];
const ACTIONS: [&str; 2] = ["sts:AssumeRole", "sts:TagSession"];

/// The cluster, as far as the inputs say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cluster {
    pub name: Option<String>,
    /// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`.
    pub arn: Option<String>,
}

impl Cluster {
    /// From a cluster ARN.
    ///
    /// # Errors
    /// Text that is not an EKS cluster ARN.
    pub fn from_arn(arn: &str) -> Result<Self, String> {
        let arn = arn.trim();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "eks", region, account, res]
                if !region.is_empty()
                    && crate::arn::is_account_id(account)
                    && res.starts_with("cluster/")
                    && res.len() > "cluster/".len() =>
            {
                Ok(Self {
                    name: res.strip_prefix("cluster/").map(str::to_owned),
                    arn: Some(arn.to_owned()),
                })
            }
            _ => Err(format!(
                "{arn:?} is not an EKS cluster ARN (arn:aws:eks:REGION:ACCOUNT:cluster/NAME; aws eks describe-cluster --name NAME --query cluster.arn)"
            )),
        }
    }

    /// The account that owns the cluster.
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        self.arn.as_deref().and_then(|a| a.split(':').nth(4))
    }

    /// Fill what is unknown from an association.
    pub fn learn(&mut self, a: &Association) {
        if self.arn.is_none() {
            self.arn = a.cluster_arn();
        }
        if self.name.is_none() {
            self.name.clone_from(&a.cluster_name);
        }
    }

    fn name_or_placeholder(&self) -> &str {
        self.name.as_deref().unwrap_or("CLUSTER")
    }
}

/// A role's trust policy and how to name the role in commands.
#[derive(Debug, Clone)]
pub struct RoleTrust<'a> {
    /// File name, for messages and policy names.
    pub file: &'a str,
    pub document: &'a Value,
    pub name: String,
    pub arn: Option<String>,
}

/// The answer of a trust check: findings, and what could not be decided.
#[derive(Debug, Clone, Default)]
pub struct TrustCheck {
    pub findings: Vec<Finding>,
    /// Reasons the evaluator gave when the answer depends on keys the
    /// inputs do not give (a condition on the pod's name, an unknown cluster).
    pub undecided: Vec<String>,
}

fn parse_trust(role: &RoleTrust<'_>) -> Result<Policy, String> {
    Policy::parse(role.file, PolicyKind::Trust, &role.document.to_string())
        .map_err(|e| format!("{}: {e}", role.file))
}

/// The request context EKS Auth's `AssumeRole` carries, as far as known:
/// `aws:SourceAccount`, `aws:SourceArn` (the cluster), the session tags as
/// `aws:RequestTag/...` and `aws:TagKeys`. Request tags Pod Identity never
/// sets are absent.
fn pod_identity_context(
    cluster: &Cluster,
    subject: Option<(&str, &str)>,
    tags: bool,
    doc: &Value,
) -> Context {
    let mut ctx = Context::new();
    if let Some(acct) = cluster.account() {
        ctx.insert("aws:SourceAccount", acct);
    }
    if let Some(arn) = &cluster.arn {
        ctx.insert("aws:SourceArn", arn);
    }
    if tags {
        for t in SESSION_TAGS {
            ctx.insert("aws:TagKeys", t);
        }
        let mut tag = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                ctx.insert(&format!("aws:RequestTag/{k}"), v);
            }
        };
        tag("eks-cluster-arn", cluster.arn.as_deref());
        tag("eks-cluster-name", cluster.name.as_deref());
        tag("kubernetes-namespace", subject.map(|s| s.0));
        tag("kubernetes-service-account", subject.map(|s| s.1));
    }
    for key in condition_keys(doc) {
        let lc = key.to_ascii_lowercase();
        if let Some(tag) = lc.strip_prefix("aws:requesttag/")
            && (!tags || !SESSION_TAGS.contains(&tag))
        {
            ctx.mark_absent(&key);
        }
    }
    ctx
}

/// Every condition key a policy document tests.
fn condition_keys(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for st in statements(doc) {
        if let Some(Value::Object(ops)) = st.get("Condition") {
            for keys in ops.values() {
                if let Value::Object(keys) = keys {
                    out.extend(keys.keys().cloned());
                }
            }
        }
    }
    out
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(v)) => v.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// Whether a statement's `Principal.Service` names `service`.
fn names_service(st: &Value, service: &str) -> bool {
    match st.get("Principal").and_then(|p| p.get("Service")) {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(service),
        Some(Value::Array(v)) => v
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(service))),
        _ => false,
    }
}

/// podid/trust-mismatch: does the role's trust policy let
/// `pods.eks.amazonaws.com` call both `sts:AssumeRole` and `sts:TagSession`
/// for this cluster (and service account, when known)?
///
/// # Errors
/// A trust policy that does not parse as a policy.
pub fn check_trust(
    role: &RoleTrust<'_>,
    cluster: &Cluster,
    subject: Option<(&str, &str)>,
    session_tags: bool,
) -> Result<TrustCheck, String> {
    let policy = parse_trust(role)?;
    let set = PolicySet::new().with(policy);
    let resource = role.arn.clone().unwrap_or_else(|| {
        format!(
            "arn:aws:iam::{}:role/{}",
            cluster.account().unwrap_or("ACCOUNT"),
            role.name
        )
    });
    let mut out = TrustCheck::default();
    let mut denied: Vec<(&str, Decision, Vec<String>)> = Vec::new();
    for action in ACTIONS {
        if action == "sts:TagSession" && !session_tags {
            continue;
        }
        let ctx = pod_identity_context(cluster, subject, session_tags, role.document);
        let req = Request::new(
            action,
            &resource,
            Some(Caller::Service(SERVICE_PRINCIPAL.to_owned())),
            ctx,
        );
        let ev = policy::evaluate(&set, &req);
        let reasons = explain::reasons(&set, &req, &ev);
        match ev.decision {
            Decision::Allow => {}
            Decision::Indeterminate => {
                out.undecided
                    .extend(reasons.into_iter().map(|r| format!("{action}: {r}")));
            }
            d => denied.push((action, d, reasons)),
        }
    }
    if denied.is_empty() {
        return Ok(out);
    }
    let sts = statements(role.document);
    let pod_stmts: Vec<&Value> = sts
        .iter()
        .copied()
        .filter(|s| names_service(s, SERVICE_PRINCIPAL))
        .collect();
    let covers = |action: &str| {
        pod_stmts.iter().any(|s| {
            s.get("Effect").and_then(Value::as_str) == Some("Allow")
                && action_listed(s.get("Action"), action)
        })
    };
    let (problem, message) = if pod_stmts.is_empty() {
        (
            "no-service-principal",
            format!(
                "the trust policy of role {} does not name the service principal {SERVICE_PRINCIPAL}: EKS Pod Identity cannot assume it",
                role.name
            ),
        )
    } else if denied.iter().any(|(_, d, _)| *d == Decision::ExplicitDeny) {
        (
            "denied",
            format!(
                "the trust policy of role {} denies {SERVICE_PRINCIPAL} explicitly",
                role.name
            ),
        )
    } else if let Some((missing, _, _)) = denied.iter().find(|(a, _, _)| !covers(a)) {
        (
            "missing-action",
            format!(
                "the trust policy of role {} lets {SERVICE_PRINCIPAL} call {} but not {missing}: Pod Identity needs both sts:AssumeRole and sts:TagSession",
                role.name,
                ACTIONS
                    .iter()
                    .find(|a| *a != missing)
                    .copied()
                    .unwrap_or("sts:AssumeRole"),
            ),
        )
    } else {
        (
            "condition-mismatch",
            format!(
                "the trust policy of role {} names {SERVICE_PRINCIPAL}, but its conditions do not hold for cluster {}{}",
                role.name,
                cluster
                    .arn
                    .as_deref()
                    .or(cluster.name.as_deref())
                    .unwrap_or("(unknown)"),
                subject
                    .map(|(ns, sa)| format!(" and service account {ns}/{sa}"))
                    .unwrap_or_default()
            ),
        )
    };
    let mut reasons: Vec<String> = if problem == "condition-mismatch" {
        condition_diffs(role.document, cluster, subject)
    } else {
        Vec::new()
    };
    reasons.extend(
        denied
            .iter()
            .flat_map(|(a, _, rs)| rs.iter().map(move |r| format!("{a}: {r}"))),
    );
    let fixed = corrected_trust(role.document, cluster, subject);
    let file = format!("trust-{}.json", role.name);
    let f = Finding::new(rules::PODID_TRUST_MISMATCH, message)
        .detail(format!(
            "EKS Auth assumes the role as {SERVICE_PRINCIPAL} with sts:AssumeRole and adds session tags with sts:TagSession; both must be allowed, and aws:SourceAccount / aws:SourceArn conditions must name the cluster's account and ARN. Pods of the association otherwise get no credentials (the agent returns an AccessDenied). {}",
            reasons.join("; ")
        ))
        .evidence("problem", problem)
        .evidence("role", role.name.as_str())
        .evidence("trust_file", role.file)
        .evidence("reasons", reasons.clone())
        .fix(
            Fix::new(format!(
                "Replace the trust policy of {} (other statements kept): save the policy below as {file}",
                role.name
            ))
            .policy(fixed)
            .command(format!(
                "aws iam update-assume-role-policy --role-name {} --policy-document file://{file}",
                role.name
            )),
        );
    out.findings.push(f);
    Ok(out)
}

fn action_listed(v: Option<&Value>, action: &str) -> bool {
    let one = |s: &str| {
        let s = s.to_ascii_lowercase();
        s == "*" || s == "sts:*" || s == action.to_ascii_lowercase()
    };
    match v {
        Some(Value::String(s)) => one(s),
        Some(Value::Array(a)) => a.iter().any(|s| s.as_str().is_some_and(one)),
        _ => false,
    }
}

/// The trust policy with one correct Pod Identity statement: statements that
/// name `pods.eks.amazonaws.com` are replaced by one that allows both
/// actions, keeping the first one's conditions with `aws:SourceAccount`,
/// `aws:SourceArn` and the session-tag values corrected where they do not
/// allow the known value. Other statements are kept.
#[must_use]
pub fn corrected_trust(doc: &Value, cluster: &Cluster, subject: Option<(&str, &str)>) -> Value {
    let sts = statements(doc);
    let mut kept: Vec<Value> = sts
        .iter()
        .filter(|s| !names_service(s, SERVICE_PRINCIPAL))
        .map(|s| (*s).clone())
        .collect();
    let old = sts
        .iter()
        .find(|s| {
            names_service(s, SERVICE_PRINCIPAL)
                && s.get("Effect").and_then(Value::as_str) == Some("Allow")
        })
        .and_then(|s| s.get("Condition"))
        .and_then(Value::as_object);
    let actual = |key: &str| known_value(key, cluster, subject);
    let mut cond = Map::new();
    if let Some(ops) = old {
        for (op, keys) in ops {
            let Value::Object(keys) = keys else { continue };
            let mut fixed = Map::new();
            for (k, vals) in keys {
                let ok = |v: &str, want: &str| v == want || v.contains(['*', '?']);
                let v = match (actual(k), vals) {
                    (Some(want), Value::String(s)) if !ok(s, &want) => json!(want),
                    (Some(want), Value::Array(a))
                        if !a.iter().any(|x| x.as_str().is_some_and(|s| ok(s, &want))) =>
                    {
                        json!(want)
                    }
                    _ => vals.clone(),
                };
                fixed.insert(k.clone(), v);
            }
            cond.insert(op.clone(), Value::Object(fixed));
        }
    }
    let mut st = Map::new();
    st.insert(
        "Sid".into(),
        json!("AllowEksAuthToAssumeRoleForPodIdentity"),
    );
    st.insert("Effect".into(), json!("Allow"));
    st.insert("Principal".into(), json!({"Service": SERVICE_PRINCIPAL}));
    st.insert("Action".into(), json!(ACTIONS));
    if !cond.is_empty() {
        st.insert("Condition".into(), Value::Object(cond));
    }
    kept.push(Value::Object(st));
    json!({"Version": "2012-10-17", "Statement": kept})
}

/// The value EKS Auth's request carries for a condition key, when known.
fn known_value(key: &str, cluster: &Cluster, subject: Option<(&str, &str)>) -> Option<String> {
    match key.to_ascii_lowercase().as_str() {
        "aws:sourceaccount" => cluster.account().map(str::to_owned),
        "aws:sourcearn" | "aws:requesttag/eks-cluster-arn" => cluster.arn.clone(),
        "aws:requesttag/eks-cluster-name" => cluster.name.clone(),
        "aws:requesttag/kubernetes-namespace" => subject.map(|s| s.0.to_owned()),
        "aws:requesttag/kubernetes-service-account" => subject.map(|s| s.1.to_owned()),
        _ => None,
    }
}

/// Conditions of the Pod Identity statements whose values do not name what
/// the request carries, in words.
fn condition_diffs(doc: &Value, cluster: &Cluster, subject: Option<(&str, &str)>) -> Vec<String> {
    let mut out = Vec::new();
    for st in statements(doc) {
        if !names_service(st, SERVICE_PRINCIPAL) {
            continue;
        }
        let Some(Value::Object(ops)) = st.get("Condition") else {
            continue;
        };
        for (op, keys) in ops {
            let Value::Object(keys) = keys else { continue };
            for (k, v) in keys {
                let lc = k.to_ascii_lowercase();
                let tag = lc.strip_prefix("aws:requesttag/");
                if tag.is_some_and(|t| !SESSION_TAGS.contains(&t)) {
                    out.push(format!(
                        "{op} on {k}: Pod Identity never sets that session tag"
                    ));
                    continue;
                }
                let Some(want) = known_value(k, cluster, subject) else {
                    continue;
                };
                let vals: Vec<&str> = match v {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    Value::String(s) => vec![s.as_str()],
                    _ => Vec::new(),
                };
                if !vals.iter().any(|x| *x == want || x.contains(['*', '?'])) {
                    out.push(format!(
                        "{op} on {k} allows {}, but the request carries {want}",
                        vals.join(", ")
                    ));
                }
            }
        }
    }
    out
}

/// A service account as the manifests give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountInfo {
    pub namespace: String,
    pub name: String,
    /// The IRSA role annotation, if any.
    pub irsa_role: Option<String>,
    pub file: String,
    pub line: usize,
}

/// A workload (pod template) and where its pods run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadInfo {
    pub hint: ComputeHint,
    pub file: String,
}

impl WorkloadInfo {
    fn namespace(&self) -> &str {
        self.hint.namespace.as_deref().unwrap_or("default")
    }
}

fn find<'a>(assocs: &'a [Association], ns: &str, sa: &str) -> Option<&'a Association> {
    assocs
        .iter()
        .find(|a| a.namespace == ns && a.service_account == sa)
}

fn role_or_unknown(a: &Association) -> &str {
    a.role_arn
        .as_deref()
        .unwrap_or("(role not in list output: describe-pod-identity-association)")
}

/// Namespaces whose workloads are the cluster's own (no association expected).
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// podid/no-association, podid/irsa-precedence, podid/unsupported-compute
/// from associations and manifests. `assocs` is `None` when no association
/// output was given (then nothing is said about missing associations);
/// `wanted` is a service account the operator asked about
/// (`--service-account`).
#[must_use]
pub fn check_associations(
    assocs: Option<&[Association]>,
    accounts: &[ServiceAccountInfo],
    workloads: &[WorkloadInfo],
    cluster: &Cluster,
    wanted: Option<(&str, &str)>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let complete = assocs.is_some();
    let assocs = assocs.unwrap_or_default();
    let cname = cluster.name_or_placeholder();
    for sa in accounts {
        let (Some(irsa), Some(a)) = (&sa.irsa_role, find(assocs, &sa.namespace, &sa.name)) else {
            continue;
        };
        out.push(
            Finding::new(
                rules::PODID_IRSA_PRECEDENCE,
                format!(
                    "service account {}/{} has both an IRSA annotation and a Pod Identity association: its pods get the IRSA role {irsa}, not {}",
                    sa.namespace,
                    sa.name,
                    role_or_unknown(a)
                ),
            )
            .detail(
                "EKS injects both AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (IRSA) and AWS_CONTAINER_CREDENTIALS_FULL_URI (Pod Identity); the AWS SDKs' default credential chain tries web identity before container credentials, so IRSA wins. Keep one: remove the annotation to use Pod Identity (then restart the pods), or delete the association.",
            )
            .evidence("service_account", format!("{}/{}", sa.namespace, sa.name))
            .evidence("irsa_role", irsa.as_str())
            .evidence("pod_identity_role", a.role_arn.clone())
            .at(&sa.file, sa.line)
            .fix(
                Fix::new("To use Pod Identity, remove the IRSA annotation and restart the pods")
                    .command(format!(
                        "kubectl annotate serviceaccount -n {} {} {IRSA_ANNOTATION}-",
                        sa.namespace, sa.name
                    ))
                    .command(format!(
                        "kubectl rollout restart deployment -n {} DEPLOYMENT",
                        sa.namespace
                    )),
            ),
        );
    }
    let irsa_of = |ns: &str, name: &str| {
        accounts
            .iter()
            .find(|s| s.namespace == ns && s.name == name)
            .and_then(|s| s.irsa_role.as_deref())
    };
    let mut reported: Vec<(String, String)> = Vec::new();
    let mut no_assoc = |ns: &str, sa: &str, what: String, at: Option<(&str, usize)>| {
        if reported.iter().any(|(n, s)| n == ns && s == sa) {
            return None;
        }
        reported.push((ns.to_owned(), sa.to_owned()));
        let mut f = Finding::new(
            rules::PODID_NO_ASSOCIATION,
            format!(
                "no Pod Identity association for service account {ns}/{sa}{what}: its pods fall back to the node role, so their calls are denied as the node role"
            ),
        )
        .detail(
            "Without an association (and without IRSA), EKS injects no credentials: the SDK reaches the node's instance metadata and acts as the node IAM role. An AccessDenied naming the node role's ARN from a pod is the tell. Associations are eventually consistent, and pods pick them up only when they start: restart the pods after creating it.",
        )
        .evidence("service_account", format!("{ns}/{sa}"))
        .fix(
            Fix::new("Create the association, then restart the pods")
                .command(format!(
                    "aws eks create-pod-identity-association --cluster-name {cname} --namespace {ns} --service-account {sa} --role-arn ROLE_ARN"
                ))
                .command(format!("aws eks list-pod-identity-associations --cluster-name {cname} --namespace {ns}")),
        );
        if let Some((file, line)) = at {
            f = f.at(file, line);
        }
        Some(f)
    };
    if let Some((ns, sa)) = wanted
        && complete
        && find(assocs, ns, sa).is_none()
        && irsa_of(ns, sa).is_none()
    {
        out.extend(no_assoc(ns, sa, String::new(), None));
    }
    for w in workloads {
        let ns = w.namespace();
        let sa = w.hint.service_account.as_str();
        if w.hint.agent_daemonset || SYSTEM_NAMESPACES.contains(&ns) {
            continue;
        }
        match find(assocs, ns, sa) {
            None if irsa_of(ns, sa).is_none() && complete => {
                out.extend(no_assoc(
                    ns,
                    sa,
                    format!(" ({})", w.hint.workload),
                    Some((&w.file, w.hint.line)),
                ));
            }
            Some(a) => {
                let why = w
                    .hint
                    .fargate
                    .as_ref()
                    .map(|r| ("Fargate", r))
                    .or_else(|| w.hint.windows.as_ref().map(|r| ("Windows nodes", r)));
                if let Some((place, reason)) = why {
                    out.push(
                        Finding::new(
                            rules::PODID_UNSUPPORTED_COMPUTE,
                            format!(
                                "{} runs on {place} ({reason}), where EKS Pod Identity does not work: the association for {ns}/{sa} gives its pods no credentials",
                                w.hint.workload
                            ),
                        )
                        .detail("The Pod Identity agent is a DaemonSet on Linux EC2 nodes; Fargate pods and Windows pods cannot reach it. Use IRSA for these workloads (eks.amazonaws.com/role-arn on the service account), or run them on Linux EC2 nodes.")
                        .evidence("workload", w.hint.workload.as_str())
                        .evidence("service_account", format!("{ns}/{sa}"))
                        .evidence("role", a.role_arn.clone())
                        .at(&w.file, w.hint.line)
                        .fix(Fix::new("Use IRSA for this workload").command(format!(
                            "kubectl annotate serviceaccount -n {ns} {sa} {IRSA_ANNOTATION}=ROLE_ARN"
                        ))),
                    );
                }
            }
            None => {}
        }
    }
    out
}

/// podid/agent-missing from saved add-on output: the add-on missing from
/// `list-addons`, or `describe-addon` status other than ACTIVE. A
/// self-managed `eks-pod-identity-agent` DaemonSet in the manifests counts.
#[must_use]
pub fn check_agent(addons: &Addons, self_managed: bool, cluster: &Cluster) -> Vec<Finding> {
    let cname = cluster.name_or_placeholder();
    let described = addons.described.iter().find(|(n, _, _)| n == AGENT_ADDON);
    let (message, fix) = match described {
        Some((_, status, _)) if status == "ACTIVE" => return Vec::new(),
        Some((_, status, version)) => (
            format!(
                "the {AGENT_ADDON} add-on is {status}, not ACTIVE{}: pods may get no Pod Identity credentials (agent unreachable at {AGENT_ADDRESS})",
                version.as_deref().map(|v| format!(" (version {v})")).unwrap_or_default()
            ),
            Fix::new("See why the add-on is not healthy, and the agent pods")
                .command(format!(
                    "aws eks describe-addon --cluster-name {cname} --addon-name {AGENT_ADDON} --query addon.health"
                ))
                .command(format!("kubectl -n kube-system get daemonset {AGENT_ADDON}"))
                .command(format!("kubectl -n kube-system logs daemonset/{AGENT_ADDON}")),
        ),
        None if !addons.listed.is_empty()
            && !self_managed
            && !addons.listed.iter().any(|n| n == AGENT_ADDON) =>
        {
            (
                format!(
                    "the {AGENT_ADDON} add-on is not installed: no node serves Pod Identity credentials at {AGENT_ADDRESS}, whatever associations exist"
                ),
                Fix::new("Install the add-on").command(format!(
                    "aws eks create-addon --cluster-name {cname} --addon-name {AGENT_ADDON}"
                )),
            )
        }
        None => return Vec::new(),
    };
    vec![
        Finding::new(rules::PODID_AGENT_MISSING, message)
            .detail("Pod Identity needs the EKS Pod Identity Agent on every node that runs the pods (the eks-pod-identity-agent add-on, a DaemonSet on the host network). Without a running agent the SDK fails with `Unable to load credentials from any providers` or a connection error to 169.254.170.23.")
            .evidence("addon", AGENT_ADDON)
            .evidence(
                "status",
                described.map_or_else(|| "missing".to_owned(), |(_, s, _)| s.clone()),
            )
            .fix(fix),
    ]
}

/// podid/cross-account: the target role of an association must trust the
/// association's role (both actions, with the association's external id),
/// and the association's role must be allowed to assume it.
///
/// `target_trust` is the target role's trust policy; `source_policies` the
/// permission policies of the association's role (none: assumed, and said).
///
/// # Errors
/// A policy that does not parse.
pub fn check_cross_account(
    assoc: &Association,
    target_trust: Option<(&str, &Value)>,
    source_policies: &[(String, Value)],
) -> Result<TrustCheck, String> {
    let mut out = TrustCheck::default();
    let Some(target) = assoc.target_role_arn.as_deref() else {
        return Ok(out);
    };
    let Some(source) = assoc.role_arn.as_deref() else {
        out.undecided.push(format!(
            "{}: the association's role is not known (give describe-pod-identity-association output)",
            assoc.subject()
        ));
        return Ok(out);
    };
    let Some((file, doc)) = target_trust else {
        out.undecided.push(format!(
            "{}: give the target role's trust policy (--target-trust, aws iam get-role --role-name {} in its account) to check the chain",
            assoc.subject(),
            target.rsplit('/').next().unwrap_or(target)
        ));
        return Ok(out);
    };
    let mut set = PolicySet::new().with(
        Policy::parse(file, PolicyKind::Trust, &doc.to_string())
            .map_err(|e| format!("{file}: {e}"))?,
    );
    for (name, p) in source_policies {
        set.add(
            Policy::parse(name, PolicyKind::Identity, &p.to_string())
                .map_err(|e| format!("{name}: {e}"))?,
        );
    }
    let src_acct = source.split(':').nth(4).unwrap_or_default();
    let src_name = source.rsplit('/').next().unwrap_or(source);
    let session = format!("arn:aws:sts::{src_acct}:assumed-role/{src_name}/eks-pod-identity");
    let caller = Caller::parse(&session, false)?;
    let mut reasons = Vec::new();
    for action in ACTIONS {
        if action == "sts:TagSession" && assoc.disable_session_tags {
            continue;
        }
        let mut ctx = Context::new();
        match &assoc.external_id {
            Some(x) => ctx.insert("sts:ExternalId", x),
            None => ctx.mark_absent("sts:ExternalId"),
        }
        let req = Request::new(action, target, Some(caller.clone()), ctx);
        let ev = policy::evaluate(&set, &req);
        let rs = explain::reasons(&set, &req, &ev);
        match ev.decision {
            Decision::Allow => {}
            Decision::Indeterminate => {
                out.undecided
                    .extend(rs.into_iter().map(|r| format!("{action}: {r}")));
            }
            _ => reasons.extend(rs.into_iter().map(|r| format!("{action}: {r}"))),
        }
    }
    if reasons.is_empty() {
        return Ok(out);
    }
    let target_name = target.rsplit('/').next().unwrap_or(target);
    let mut trust_stmt = json!({
        "Sid": "AllowPodIdentityRoleChain",
        "Effect": "Allow",
        "Principal": {"AWS": source},
        "Action": ACTIONS,
    });
    if let Some(x) = &assoc.external_id {
        trust_stmt["Condition"] = json!({"StringEquals": {"sts:ExternalId": x}});
    }
    let permission = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AssumePodIdentityTargetRole", "Effect": "Allow", "Action": ACTIONS, "Resource": target}]
    });
    out.findings.push(
        Finding::new(
            rules::PODID_CROSS_ACCOUNT,
            format!(
                "the association {} chains from role {source} to target role {target}, and the chain is not allowed: the pods get no credentials",
                assoc.subject()
            ),
        )
        .detail(format!(
            "With a target role, EKS first assumes the association's role, then uses that session to assume the target role (sts:AssumeRole and sts:TagSession, with the association's external id). The target role's trust policy must name the association's role, and the association's role must be allowed to assume the target role. {}",
            reasons.join("; ")
        ))
        .evidence("source_role", source)
        .evidence("target_role", target)
        .evidence("target_trust_file", file)
        .evidence("reasons", reasons)
        .fix(
            Fix::new(format!(
                "In the target role's account, add this statement to the trust policy of {target_name} (save the whole policy as trust-{target_name}.json); in the cluster's account, let {src_name} assume it"
            ))
            .policy(json!({"Version": "2012-10-17", "Statement": [trust_stmt]}))
            .command(format!(
                "aws iam update-assume-role-policy --role-name {target_name} --policy-document file://trust-{target_name}.json"
            ))
            .command(format!(
                "aws iam put-role-policy --role-name {src_name} --policy-name AssumePodIdentityTargetRole --policy-document '{permission}'"
            )),
        ),
    );
    Ok(out)
}

/// The principal tags a role's permission policies rely on, split into
/// those Pod Identity sets as session tags and those it does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionTagUse {
    /// Tags relied on that Pod Identity sets.
    pub set: Vec<String>,
    /// Tags relied on that Pod Identity does not set (nor the role's own tags).
    pub not_set: Vec<String>,
}

/// Which `aws:PrincipalTag/KEY` (condition keys, or `${aws:PrincipalTag/KEY}`
/// variables) the policies use, and whether Pod Identity sets them. With
/// `disable_session_tags` it sets none; `role_tags` are the role's own tags
/// (they apply too, under the session tags).
#[must_use]
pub fn session_tags(
    policies: &[&Value],
    disable_session_tags: bool,
    role_tags: &[String],
) -> SessionTagUse {
    let mut used: Vec<String> = Vec::new();
    for p in policies {
        collect_principal_tags(p, &mut used);
    }
    used.sort_by_key(|t| t.to_ascii_lowercase());
    used.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let mut out = SessionTagUse::default();
    for t in used {
        let by_pod_identity =
            !disable_session_tags && SESSION_TAGS.iter().any(|s| s.eq_ignore_ascii_case(&t));
        if by_pod_identity || role_tags.iter().any(|r| r.eq_ignore_ascii_case(&t)) {
            out.set.push(t);
        } else {
            out.not_set.push(t);
        }
    }
    out
}

fn scan_principal_tags(s: &str, out: &mut Vec<String>) {
    {
        let lower = s.to_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = lower[from..].find("aws:principaltag/") {
            let start = from + i + "aws:principaltag/".len();
            let end = s[start..]
                .find(|c: char| c == '}' || c == ',' || c == '"' || c.is_whitespace())
                .map_or(s.len(), |e| start + e);
            if end > start {
                out.push(s[start..end].to_owned());
            }
            from = end.max(start);
        }
    }
}

fn collect_principal_tags(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => scan_principal_tags(s, out),
        Value::Array(a) => a.iter().for_each(|x| collect_principal_tags(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                scan_principal_tags(k, out);
                collect_principal_tags(x, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
