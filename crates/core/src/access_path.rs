//! The access path: every hop between the caller's credentials and a working
//! `kubectl` (or the console's Resources tab) on one cluster, each marked
//! ok, broken or unknown, with the evidence behind the mark.
//!
//! ```text
//! credentials → IAM identity → what EKS matches → eks:DescribeCluster →
//! access entry / aws-auth entry → Kubernetes user and groups → RBAC →
//! console Resources tab / kubectl
//! ```
//!
//! [`build`] is pure: it reads what is known ([`PathInputs`]: the probes'
//! answers, the findings the rules produced) and never asks for more. A hop
//! whose data does not exist is [`HopState::Unknown`] and says why and what
//! would answer it; the first [`HopState::Broken`] hop carries its fix (the
//! fix of the finding that breaks it, so the path and the findings agree).
//! The dashboard draws it, `check` prints [`AccessPath::text`], and
//! `--format json` carries the serialized [`AccessPath`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::arn::PrincipalKind;
use crate::finding::{Finding, Fix};
use crate::rules;
use crate::snapshot::{AccessEntry, AuthenticationMode, CallerIdentity, Cluster, Mapping, Probe};

/// What a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopKind {
    /// Where the credentials come from (profile, environment, SSO, web identity...).
    Credentials,
    /// The IAM identity STS reports (GetCallerIdentity).
    Identity,
    /// The ARN the EKS authenticator matches: an assumed role's role, without path.
    EksMatches,
    /// `eks:DescribeCluster`: kubectl's kubeconfig and the console both need it.
    DescribeCluster,
    /// The access entry or aws-auth entry that maps the caller.
    Mapping,
    /// The Kubernetes user and groups the caller becomes.
    KubernetesUser,
    /// What RBAC lets that user do (the console's verbs, kubectl's).
    Rbac,
    /// The console's Resources tab and kubectl.
    Reach,
}

impl HopKind {
    pub const ALL: [HopKind; 8] = [
        Self::Credentials,
        Self::Identity,
        Self::EksMatches,
        Self::DescribeCluster,
        Self::Mapping,
        Self::KubernetesUser,
        Self::Rbac,
        Self::Reach,
    ];

    /// A short label, at most 19 characters.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Identity => "IAM identity",
            Self::EksMatches => "EKS matches",
            Self::DescribeCluster => "eks:DescribeCluster",
            Self::Mapping => "mapping",
            Self::KubernetesUser => "Kubernetes user",
            Self::Rbac => "RBAC",
            Self::Reach => "console / kubectl",
        }
    }
}

/// The mark on a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopState {
    Ok,
    Broken,
    /// Not known: `why` says why, `answer` what would tell.
    Unknown,
    /// A probe that would answer it is still running.
    Pending,
}

impl HopState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Broken => "broken",
            Self::Unknown => "unknown",
            Self::Pending => "pending",
        }
    }

    /// `✓`, `✗`, `?` (and `…` while pending); ASCII `ok`, `x`, `?`, `..`.
    #[must_use]
    pub fn mark(self, ascii: bool) -> &'static str {
        match (self, ascii) {
            (Self::Ok, false) => "✓",
            (Self::Ok, true) => "ok",
            (Self::Broken, false) => "✗",
            (Self::Broken, true) => "x",
            (Self::Unknown, _) => "?",
            (Self::Pending, false) => "…",
            (Self::Pending, true) => "..",
        }
    }
}

/// One hop of the path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    pub hop: HopKind,
    pub state: HopState,
    /// The hop's title as drawn: `aws-auth line 13`, `access entry`...
    pub label: String,
    /// One line: what is known (or what is wrong).
    pub summary: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// Unknown: why it is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Unknown: what would answer it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Broken: the rule id of the finding that breaks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// Broken: what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Hop {
    fn new(hop: HopKind, state: HopState, summary: impl Into<String>) -> Self {
        Self {
            hop,
            state,
            label: hop.label().to_owned(),
            summary: summary.into(),
            evidence: BTreeMap::new(),
            why: None,
            answer: None,
            rule: None,
            fix: None,
        }
    }

    fn ok(hop: HopKind, summary: impl Into<String>) -> Self {
        Self::new(hop, HopState::Ok, summary)
    }

    fn unknown(hop: HopKind, why: impl Into<String>, answer: impl Into<String>) -> Self {
        let why = why.into();
        let mut h = Self::new(hop, HopState::Unknown, format!("unknown: {why}"));
        h.why = Some(why);
        h.answer = Some(answer.into());
        h
    }

    fn pending(hop: HopKind, waiting: impl Into<String>) -> Self {
        Self::new(hop, HopState::Pending, waiting)
    }

    fn broken(hop: HopKind, summary: impl Into<String>) -> Self {
        Self::new(hop, HopState::Broken, summary)
    }

    fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    fn evidence(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.evidence.insert(key.to_owned(), value.into());
        self
    }

    fn fixed_by(mut self, f: &Finding) -> Self {
        self.rule = Some(f.rule);
        self.fix.clone_from(&f.fix);
        if let Some(loc) = &f.location {
            self = self.evidence("at", format!("{}:{}", loc.file, loc.line));
        }
        self
    }

    fn with_fix(mut self, rule: &'static str, fix: Fix) -> Self {
        self.rule = Some(rule);
        self.fix = Some(fix);
        self
    }
}

/// The whole path on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessPath {
    pub cluster: String,
    pub region: String,
    /// `ok` (every hop ✓), `broken` (one is ✗), `unknown` or `pending`.
    pub verdict: HopState,
    /// Index into `hops` of the first broken hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<usize>,
    pub hops: Vec<Hop>,
}

impl AccessPath {
    #[must_use]
    pub fn broken_hop(&self) -> Option<&Hop> {
        self.hops.get(self.first_broken?)
    }

    /// The path as `check` prints it: one line per hop, the fix of the
    /// first broken hop under it, the reason and the answer under an unknown one.
    #[must_use]
    pub fn text(&self, ascii: bool) -> String {
        let mut s = String::new();
        let verdict = match self.verdict {
            HopState::Ok => "every hop ok".to_owned(),
            HopState::Broken => match self.broken_hop() {
                Some(h) => format!("broken at {}", h.label),
                None => "broken".to_owned(),
            },
            HopState::Unknown => "not fully known".to_owned(),
            HopState::Pending => "still probing".to_owned(),
        };
        let _ = writeln!(
            s,
            "access path  {} ({}): {verdict}",
            self.cluster, self.region
        );
        for (i, h) in self.hops.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:<2} {:<20} {}",
                h.state.mark(ascii),
                h.label,
                h.summary
            );
            if Some(i) == self.first_broken
                && let Some(fix) = &h.fix
            {
                let _ = writeln!(s, "       fix: {}", fix.summary);
                for c in &fix.commands {
                    let _ = writeln!(s, "         $ {c}");
                }
                if let Some(r) = &fix.replacement {
                    for l in r.lines() {
                        let _ = writeln!(s, "         {l}");
                    }
                }
                if fix.commands.is_empty()
                    && fix.replacement.is_none()
                    && let Some(p) = &fix.policy
                {
                    let _ = writeln!(s, "         {p}");
                }
            }
            if h.state == HopState::Unknown
                && let Some(a) = &h.answer
            {
                let _ = writeln!(s, "       would answer it: {a}");
            }
        }
        s
    }
}

/// What RBAC answered for one verb on one resource (SelfSubjectAccessReview
/// or `kubectl auth can-i`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RbacCheck {
    pub verb: String,
    /// `pods`, `deployments.apps`...
    pub resource: String,
    /// `None`: all namespaces / cluster scope.
    pub namespace: Option<String>,
    pub allowed: bool,
    /// One of the console's reads (else one of kubectl's).
    pub console: bool,
}

/// The reads the console's Resources tab makes (the verbs of the
/// `eks-console-dashboard-full-access-clusterrole` AWS documents).
pub const CONSOLE_VERBS: [(&str, &str); 5] = [
    ("list", "namespaces"),
    ("list", "nodes"),
    ("list", "pods"),
    ("list", "events"),
    ("list", "deployments.apps"),
];

/// A few of kubectl's everyday verbs.
pub const KUBECTL_VERBS: [(&str, &str); 3] = [
    ("get", "pods"),
    ("create", "deployments.apps"),
    ("create", "pods/exec"),
];

/// The caller as Kubernetes sees it (SelfSubjectReview, `kubectl auth whoami`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubernetesIdentity {
    pub username: String,
    pub groups: Vec<String>,
}

/// What the aws-auth ConfigMap said about the caller, when it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsAuthAnswer {
    pub mapping: Option<Mapping>,
    /// The line of the mapping entry.
    pub line: Option<usize>,
}

/// What is known on one cluster. Everything borrowed; `None` for a probe
/// that does not exist (yet), `Some(Probe::Pending)` for one still running.
#[derive(Debug, Clone, Copy)]
pub struct PathInputs<'a> {
    pub cluster_name: &'a str,
    pub region: &'a str,
    pub identity: &'a Probe<CallerIdentity>,
    /// The caller's role path (`/` when none), when IAM GetRole answered.
    pub role_path: Option<&'a str>,
    pub cluster: &'a Probe<Cluster>,
    pub entry: &'a Probe<Option<AccessEntry>>,
    pub aws_auth: Option<&'a Probe<AwsAuthAnswer>>,
    pub whoami: Option<&'a Probe<KubernetesIdentity>>,
    pub rbac: Option<&'a Probe<Vec<RbacCheck>>>,
    /// The console's IAM actions, simulated: (action, allowed).
    pub console_iam: Option<&'a Probe<Vec<(String, bool)>>>,
    /// Findings (of this cluster and of the caller): the broken hops take their fixes here.
    pub findings: &'a [Finding],
    /// Every probe has answered: a pending probe now means "not probed".
    pub settled: bool,
}

impl<'a> PathInputs<'a> {
    /// The inputs with nothing but the three probes every source has.
    #[must_use]
    pub fn new(
        cluster_name: &'a str,
        region: &'a str,
        identity: &'a Probe<CallerIdentity>,
        cluster: &'a Probe<Cluster>,
        entry: &'a Probe<Option<AccessEntry>>,
    ) -> Self {
        Self {
            cluster_name,
            region,
            identity,
            role_path: None,
            cluster,
            entry,
            aws_auth: None,
            whoami: None,
            rbac: None,
            console_iam: None,
            findings: &[],
            settled: true,
        }
    }

    fn finding(&self, rule: &str) -> Option<&'a Finding> {
        self.findings.iter().find(|f| {
            f.rule == rule
                && f.evidence
                    .get("cluster")
                    .and_then(|v| v.as_str())
                    .is_none_or(|c| c == self.cluster_name)
        })
    }
}

/// Whether a probe state blocks a hop, and how.
enum Gate<'p, T> {
    Ready(&'p T),
    Stop(Box<Hop>),
}

fn gate<'p, T>(
    p: &'p Probe<T>,
    hop: HopKind,
    call: &str,
    settled: bool,
    answer: &str,
) -> Gate<'p, T> {
    Gate::Stop(Box::new(match p {
        Probe::Ready(t) => return Gate::Ready(t),
        Probe::Pending if settled => Hop::unknown(hop, format!("{call} was not probed"), answer),
        Probe::Pending => Hop::pending(hop, format!("waiting for {call}")),
        Probe::Denied { permission } => Hop::unknown(
            hop,
            format!("eksdoctor may not call {permission}"),
            format!("allow {permission} to the identity eksdoctor runs as"),
        )
        .evidence("denied", permission.clone()),
        Probe::TimedOut => Hop::unknown(
            hop,
            format!("{call} timed out"),
            "run again (r / eksdoctor check)",
        ),
        Probe::Failed { message } => Hop::unknown(hop, format!("{call} failed: {message}"), answer),
    }))
}

/// Mark everything after `from` as not reached.
fn not_reached(hops: &mut Vec<Hop>, from: HopKind, because: &str) {
    let start = HopKind::ALL
        .iter()
        .position(|k| *k == from)
        .map_or(HopKind::ALL.len(), |i| i + 1);
    for k in &HopKind::ALL[start..] {
        if *k == HopKind::Reach {
            hops.push(reach_blocked(because));
        } else {
            let mut h = Hop::new(*k, HopState::Unknown, format!("not reached: {because}"));
            h.why = Some(format!("not reached: {because}"));
            hops.push(h);
        }
    }
}

fn reach_unknown(because: &str) -> Hop {
    let why = format!("not reached: {because}");
    let mut h = Hop::new(HopKind::Reach, HopState::Unknown, why.clone());
    h.why = Some(why);
    h
}

fn reach_blocked(because: &str) -> Hop {
    Hop::broken(HopKind::Reach, format!("blocked: {because}"))
}

/// The path the caller takes into one cluster, from what is known.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn build(inp: &PathInputs<'_>) -> AccessPath {
    let mut hops = Vec::with_capacity(8);
    let id = match gate(
        inp.identity,
        HopKind::Credentials,
        "sts:GetCallerIdentity",
        inp.settled,
        "eksdoctor check with credentials",
    ) {
        Gate::Ready(id) => id,
        Gate::Stop(h) => {
            let mut h = *h;
            if matches!(inp.identity, Probe::Failed { .. } | Probe::Denied { .. }) {
                h.state = HopState::Broken;
                h.summary = match inp.identity {
                    Probe::Failed { message } => format!("no usable credentials: {message}"),
                    _ => "STS refused GetCallerIdentity".to_owned(),
                };
                h.why = None;
                h.answer = None;
                let f = inp
                    .finding(rules::CREDS_NONE.id)
                    .or_else(|| inp.findings.iter().find(|f| f.rule.starts_with("creds/")));
                h = match f {
                    Some(f) => h.fixed_by(f),
                    None => h.with_fix(
                        rules::CREDS_NONE.id,
                        Fix::new("sign in, or point eksdoctor at a profile")
                            .command("aws sso login --profile PROFILE")
                            .command("export AWS_PROFILE=PROFILE"),
                    ),
                };
                hops.push(h);
                not_reached(&mut hops, HopKind::Credentials, "no credentials");
            } else {
                hops.push(h);
                not_reached(
                    &mut hops,
                    HopKind::Credentials,
                    "the identity is not known yet",
                );
                if let Some(last) = hops.last_mut() {
                    *last = reach_unknown("the identity is not known yet");
                }
            }
            return finish(inp, hops);
        }
    };

    // 1. Credentials.
    let source = id
        .credential_source
        .clone()
        .unwrap_or_else(|| "the default chain".to_owned());
    hops.push(
        Hop::ok(
            HopKind::Credentials,
            format!("{source}, {}", id.credential_kind.as_str()),
        )
        .evidence("source", source.clone())
        .evidence("kind", id.credential_kind.as_str()),
    );
    // 2. IAM identity.
    hops.push(
        Hop::ok(HopKind::Identity, id.arn.clone())
            .evidence("arn", id.arn.clone())
            .evidence("account", id.account.clone())
            .evidence("principal", id.kind.as_str()),
    );
    // 3. What EKS matches.
    let is_role = matches!(id.kind, PrincipalKind::AssumedRole | PrincipalKind::Role);
    let mut matches = Hop::ok(HopKind::EksMatches, id.canonical_arn.clone())
        .evidence("canonical_arn", id.canonical_arn.clone());
    if is_role {
        match inp.role_path {
            Some(p) if p != "/" => {
                let name = id.canonical_arn.rsplit('/').next().unwrap_or_default();
                let full = id.canonical_arn.replacen(
                    &format!(":role/{name}"),
                    &format!(":role{p}{name}"),
                    1,
                );
                matches = matches
                    .evidence("role_path", p)
                    .evidence("access_entry_arn", full);
            }
            Some(_) => matches = matches.evidence("role_path", "/"),
            None => {}
        }
        matches = matches.evidence(
            "note",
            "access entries name the role's full ARN (with path); aws-auth names it without path",
        );
    }
    hops.push(matches);

    // 4. eks:DescribeCluster.
    let cluster = match inp.cluster {
        Probe::Ready(c) => c,
        Probe::Denied { permission } => {
            let arn = format!(
                "arn:aws:eks:{}:{}:cluster/{}",
                inp.region, id.account, inp.cluster_name
            );
            let h = Hop::broken(
                HopKind::DescribeCluster,
                format!("denied: {} may not call {permission}", id.canonical_arn),
            )
            .evidence("denied", permission.clone())
            .evidence("resource", arn.clone());
            let h = match inp.finding(rules::AUTHZ_NO_IDENTITY_POLICY.id) {
                Some(f) if f.fix.is_some() => h.fixed_by(f),
                _ => h.with_fix(
                    rules::AUTHZ_NO_IDENTITY_POLICY.id,
                    Fix::new(format!(
                        "allow eks:DescribeCluster on the cluster to {}",
                        id.canonical_arn
                    ))
                    .policy(serde_json::json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Action": ["eks:DescribeCluster", "eks:ListClusters"],
                            "Resource": arn,
                        }]
                    })),
                ),
            };
            hops.push(h);
            not_reached(
                &mut hops,
                HopKind::DescribeCluster,
                "eks:DescribeCluster is denied",
            );
            return finish(inp, hops);
        }
        other => {
            if let Gate::Stop(h) = gate(
                other,
                HopKind::DescribeCluster,
                "eks:DescribeCluster",
                inp.settled,
                "eks:DescribeCluster",
            ) {
                hops.push(*h);
            }
            not_reached(
                &mut hops,
                HopKind::DescribeCluster,
                "the cluster is not described yet",
            );
            if let Some(last) = hops.last_mut() {
                *last = reach_unknown("the cluster is not described");
            }
            return finish(inp, hops);
        }
    };
    let mode = cluster.authentication_mode;
    hops.push(
        Hop::ok(
            HopKind::DescribeCluster,
            format!(
                "allowed: {} {}, auth {}",
                cluster.status.as_deref().unwrap_or("?"),
                cluster.version.as_deref().unwrap_or("?"),
                mode.map_or("not reported", AuthenticationMode::as_str)
            ),
        )
        .evidence(
            "authentication_mode",
            mode.map_or(serde_json::Value::Null, |m| m.as_str().into()),
        ),
    );

    // 5. The mapping.
    let mapping = mapping_hop(inp, id, mode);
    let mapped = mapping.1.clone();
    let state = mapping.0.state;
    hops.push(mapping.0);
    if state != HopState::Ok {
        let because = if state == HopState::Broken {
            "the caller is not mapped into Kubernetes"
        } else {
            "the mapping is not known"
        };
        not_reached(&mut hops, HopKind::Mapping, because);
        if state != HopState::Broken
            && let Some(last) = hops.last_mut()
        {
            *last = reach_unknown("the mapping is not known");
        }
        return finish(inp, hops);
    }
    let Some(mapping) = mapped else {
        return finish(inp, hops);
    };

    // 6. Kubernetes user and groups.
    let session = session_name(id);
    let username = fill(&mapping.username, id, session.as_deref());
    let groups: Vec<String> = mapping
        .groups
        .iter()
        .map(|g| fill(g, id, session.as_deref()))
        .collect();
    let user_hop = match inp.whoami {
        Some(Probe::Ready(k)) => {
            Hop::ok(HopKind::KubernetesUser, user_line(&k.username, &k.groups))
                .evidence("username", k.username.clone())
                .evidence("groups", k.groups.clone())
                .evidence("from", "SelfSubjectReview")
        }
        Some(Probe::Denied { permission }) if permission.contains("Unauthorized") => {
            Hop::broken(HopKind::KubernetesUser, "the cluster answered Unauthorized")
                .evidence("from", "SelfSubjectReview")
                .with_fix(
                    rules::CLUSTER_UNAUTHORIZED.id,
                    Fix::new("refresh the kubeconfig so kubectl signs as this identity").command(
                        format!(
                            "aws eks update-kubeconfig --name {} --region {}",
                            inp.cluster_name, inp.region
                        ),
                    ),
                )
        }
        _ => Hop::ok(HopKind::KubernetesUser, user_line(&username, &groups))
            .evidence("username", username.clone())
            .evidence("groups", groups.clone())
            .evidence("from", format!("the {}", mapping_source_name(&mapping))),
    };
    hops.push(user_hop);

    // 7. RBAC.
    let rbac = rbac_hop(inp, &username, &groups, &mapping);
    let rbac_state = rbac.state;
    hops.push(rbac);

    // 8. Console Resources tab / kubectl.
    let reach = match rbac_state {
        HopState::Ok => console_iam_hop(inp, id),
        HopState::Broken => reach_blocked("RBAC forbids the reads"),
        _ => reach_unknown("RBAC is not known"),
    };
    hops.push(reach);
    finish(inp, hops)
}

fn user_line(username: &str, groups: &[String]) -> String {
    if groups.is_empty() {
        format!("{username}, no groups")
    } else {
        format!("{username}, groups {}", groups.join(", "))
    }
}

fn mapping_source_name(m: &Mapping) -> &'static str {
    if m.source == "access-entry" {
        "access entry"
    } else {
        "aws-auth entry"
    }
}

fn session_name(id: &CallerIdentity) -> Option<String> {
    (id.kind == PrincipalKind::AssumedRole)
        .then(|| id.arn.rsplit('/').next().map(str::to_owned))
        .flatten()
}

/// Fill the templates the authenticator fills for a caller.
fn fill(template: &str, id: &CallerIdentity, session: Option<&str>) -> String {
    let mut s = template.replace("{{AccountID}}", &id.account).replace(
        "{{SessionNameRaw}}",
        session.unwrap_or("{{SessionNameRaw}}"),
    );
    if let Some(sess) = session {
        // The authenticator replaces '@' in {{SessionName}} with '-'.
        s = s.replace("{{SessionName}}", &sess.replace('@', "-"));
    }
    s
}

fn mapping_hop(
    inp: &PathInputs<'_>,
    id: &CallerIdentity,
    mode: Option<AuthenticationMode>,
) -> (Hop, Option<Mapping>) {
    let uses_entries = mode.is_none_or(AuthenticationMode::uses_access_entries);
    let uses_cm = mode.is_none_or(AuthenticationMode::uses_config_map);
    // Access entries first: they take precedence over aws-auth.
    if uses_entries && let Probe::Ready(Some(e)) = inp.entry {
        let policies: Vec<&str> = e
            .access_policies
            .iter()
            .map(|p| p.policy_arn.rsplit('/').next().unwrap_or(&p.policy_arn))
            .collect();
        let mut summary = format!(
            "{} ({})",
            e.principal_arn,
            e.entry_type.as_deref().unwrap_or("STANDARD")
        );
        if !policies.is_empty() {
            let _ = write!(summary, ", {}", policies.join(", "));
        }
        let m = Mapping {
            source: "access-entry",
            username: e
                .username
                .clone()
                .unwrap_or_else(|| crate::access::default_username(e)),
            groups: e.kubernetes_groups.clone(),
            access_policies: e
                .access_policies
                .iter()
                .map(|p| p.policy_arn.clone())
                .collect(),
        };
        let h = Hop::ok(HopKind::Mapping, summary)
            .label("access entry")
            .evidence("principal_arn", e.principal_arn.clone())
            .evidence(
                "access_policies",
                policies.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>(),
            );
        return (h, Some(m));
    }
    if uses_cm
        && let Some(Probe::Ready(a)) = inp.aws_auth
        && let Some(m) = &a.mapping
    {
        let label = a.line.map_or_else(
            || "aws-auth entry".to_owned(),
            |l| format!("aws-auth line {l}"),
        );
        let h = Hop::ok(
            HopKind::Mapping,
            format!("maps {} as {}", id.canonical_arn, m.username),
        )
        .label(label)
        .evidence(
            "line",
            a.line
                .map_or(serde_json::Value::Null, serde_json::Value::from),
        );
        return (h, Some(m.clone()));
    }
    // Not mapped, or not known. What is unknown?
    let mut unknown: Vec<(String, String)> = Vec::new();
    let mut pending = false;
    if uses_entries && !matches!(inp.entry, Probe::Ready(_)) {
        match inp.entry {
            Probe::Pending if !inp.settled => pending = true,
            Probe::Denied { permission } => unknown.push((
                format!("eksdoctor may not call {permission}"),
                format!(
                    "allow {permission}, eks:DescribeAccessEntry, eks:ListAssociatedAccessPolicies"
                ),
            )),
            _ => unknown.push((
                "the access entries were not read".to_owned(),
                "eks:ListAccessEntries on the cluster".to_owned(),
            )),
        }
    }
    if uses_cm && !matches!(inp.aws_auth, Some(Probe::Ready(_))) {
        match inp.aws_auth {
            Some(Probe::Pending) if !inp.settled => pending = true,
            Some(Probe::Denied { permission }) => unknown.push((
                format!("aws-auth not readable ({permission})"),
                "read kube-system/aws-auth with Kubernetes access (kubectl -n kube-system get cm aws-auth)".to_owned(),
            )),
            _ => unknown.push((
                "aws-auth not read (it needs Kubernetes access to kube-system)".to_owned(),
                "the Kubernetes probes, or `kubectl -n kube-system get configmap aws-auth -o yaml` saved and linted".to_owned(),
            )),
        }
    }
    let label = match mode {
        Some(AuthenticationMode::Api) => "access entry",
        Some(AuthenticationMode::ConfigMap) => "aws-auth entry",
        _ => "entry or aws-auth",
    };
    // A near miss in aws-auth (the role mapped with its path) explains the
    // break better than "not mapped", and is known even when another source is not.
    if uses_cm
        && let Some(f) = inp.finding(rules::AWS_AUTH_ROLE_PATH.id).filter(|f| {
            f.evidence
                .get("canonical_arn")
                .and_then(|v| v.as_str())
                .is_none_or(|a| a == id.canonical_arn)
        })
        && (unknown.is_empty() || !uses_entries || matches!(inp.entry, Probe::Ready(None)))
    {
        let line = f.location.as_ref().map(|l| l.line);
        let path = f
            .evidence
            .get("path")
            .and_then(|v| v.as_str())
            .unwrap_or("a path");
        let h = Hop::broken(
            HopKind::Mapping,
            format!("the role is mapped with its path {path}: the authenticator never matches it"),
        )
        .label(line.map_or_else(
            || "aws-auth entry".to_owned(),
            |l| format!("aws-auth line {l}"),
        ))
        .evidence("path", path)
        .fixed_by(f);
        return (h, None);
    }
    if pending {
        return (
            Hop::pending(HopKind::Mapping, "looking up access entries and aws-auth").label(label),
            None,
        );
    }
    if let Some((why, answer)) = unknown.first() {
        let mut h = Hop::unknown(HopKind::Mapping, why.clone(), answer.clone()).label(label);
        if unknown.len() > 1 {
            h.why = Some(
                unknown
                    .iter()
                    .map(|(w, _)| w.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            h.answer = Some(
                unknown
                    .iter()
                    .map(|(_, a)| a.as_str())
                    .collect::<Vec<_>>()
                    .join("; or "),
            );
            h.summary = format!("unknown: {}", h.why.clone().unwrap_or_default());
        }
        return (h, None);
    }
    let what = match mode {
        Some(AuthenticationMode::Api) => "no access entry for",
        Some(AuthenticationMode::ConfigMap) => "no aws-auth entry for",
        _ => "neither an access entry nor aws-auth maps",
    };
    let mut h = Hop::broken(HopKind::Mapping, format!("{what} {}", id.canonical_arn)).label(label);
    h = match inp.finding(rules::CLUSTER_NOT_MAPPED.id) {
        Some(f) => h.fixed_by(f),
        None => h.with_fix(
            rules::CLUSTER_NOT_MAPPED.id,
            Fix::new("map the principal (access entry: the full ARN with its path)").command(format!(
                "aws eks create-access-entry --cluster-name {} --principal-arn {} --type STANDARD",
                inp.cluster_name, id.canonical_arn
            )),
        ),
    };
    (h, None)
}

/// EKS access policies that grant everything (as `cluster-admin`).
const ADMIN_POLICIES: [&str; 1] = ["AmazonEKSClusterAdminPolicy"];

fn rbac_hop(inp: &PathInputs<'_>, username: &str, groups: &[String], mapping: &Mapping) -> Hop {
    match inp.rbac {
        Some(Probe::Ready(checks)) => {
            let denied = |console: bool| -> Vec<String> {
                checks
                    .iter()
                    .filter(|c| c.console == console && !c.allowed)
                    .map(|c| format!("{} {}", c.verb, c.resource))
                    .collect()
            };
            let (console, kubectl) = (denied(true), denied(false));
            let word = |d: &[String]| {
                if d.is_empty() {
                    "ok".to_owned()
                } else {
                    format!("denied {}", d.join(", "))
                }
            };
            let summary = format!("console {}; kubectl {}", word(&console), word(&kubectl));
            let evidence: Vec<serde_json::Value> = checks
                .iter()
                .map(|c| serde_json::json!({"verb": c.verb, "resource": c.resource, "namespace": c.namespace, "allowed": c.allowed, "console": c.console}))
                .collect();
            if console.is_empty() && kubectl.is_empty() {
                return Hop::ok(HopKind::Rbac, summary).evidence("checks", evidence);
            }
            if console.is_empty() {
                // The console works; kubectl's writes being forbidden is a policy choice.
                return Hop::ok(HopKind::Rbac, summary).evidence("checks", evidence);
            }
            let h = Hop::broken(HopKind::Rbac, summary).evidence("checks", evidence);
            // The console's reads are denied: the cluster's own finding
            // (check --kubernetes) carries AWS's console ClusterRole.
            match inp
                .finding(rules::CLUSTER_CONSOLE_RBAC.id)
                .or_else(|| inp.finding(rules::CLUSTER_FORBIDDEN.id))
            {
                Some(f) if f.fix.is_some() => h.fixed_by(f),
                _ => h.with_fix(
                    rules::CLUSTER_CONSOLE_RBAC.id,
                    rbac_fix(inp, username, groups, mapping),
                ),
            }
        }
        Some(Probe::Pending) if !inp.settled => {
            Hop::pending(HopKind::Rbac, "asking RBAC (SelfSubjectAccessReview)")
        }
        other => {
            if groups.iter().any(|g| g == "system:masters") {
                return Hop::ok(
                    HopKind::Rbac,
                    "console ok, kubectl ok (system:masters bypasses RBAC)",
                )
                .evidence("from", "group system:masters");
            }
            if let Some(p) = mapping
                .access_policies
                .iter()
                .map(|p| p.rsplit('/').next().unwrap_or(p))
                .find(|p| ADMIN_POLICIES.contains(p))
            {
                return Hop::ok(
                    HopKind::Rbac,
                    format!("console ok, kubectl ok ({p}: cluster-admin)"),
                )
                .evidence("from", format!("access policy {p}"));
            }
            let why = match other {
                Some(Probe::Denied { permission }) => {
                    format!("eksdoctor may not ask ({permission})")
                }
                Some(Probe::TimedOut) => "the RBAC probe timed out".to_owned(),
                Some(Probe::Failed { message }) => format!("the RBAC probe failed: {message}"),
                _ => "RBAC was not asked (it needs Kubernetes access)".to_owned(),
            };
            Hop::unknown(
                HopKind::Rbac,
                why,
                format!("kubectl auth can-i list pods --all-namespaces (as {username})"),
            )
        }
    }
}

fn rbac_fix(inp: &PathInputs<'_>, username: &str, groups: &[String], mapping: &Mapping) -> Fix {
    if mapping.source == "access-entry" {
        let principal = inp
            .entry
            .ready()
            .and_then(|e| e.as_ref())
            .map_or(username, |e| e.principal_arn.as_str());
        return Fix::new("associate a read access policy with the access entry").command(format!(
            "aws eks associate-access-policy --cluster-name {} --principal-arn {principal} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster",
            inp.cluster_name
        ));
    }
    // Bind a group the mapping carries, never a per-session username; the
    // ClusterRole is the console's own (AWS's eks-console-full-access.yaml):
    // `view` would not cover nodes, which are cluster-scoped.
    let group = groups
        .iter()
        .find(|g| !g.starts_with("system:"))
        .map_or("eks-console-dashboard-full-access-group", String::as_str);
    let summary = if groups.iter().all(|g| g.starts_with("system:")) {
        format!(
            "{username} carries no group of its own: add {group} to its mapping's groups (aws-auth groups, or the access entry's --kubernetes-groups), then let that group read what the console shows"
        )
    } else {
        format!("let group {group} read what the console shows (AWS's console ClusterRole)")
    };
    Fix::new(summary)
    .command("kubectl apply -f https://s3.us-west-2.amazonaws.com/amazon-eks/docs/eks-console-full-access.yaml")
    .command(format!(
        "kubectl create clusterrolebinding eks-console-dashboard-full-access-binding-{} --clusterrole=eks-console-dashboard-full-access-clusterrole --group='{group}'",
        group.replace(|c: char| !c.is_ascii_alphanumeric(), "-").to_ascii_lowercase()
    ))
}

fn console_iam_hop(inp: &PathInputs<'_>, id: &CallerIdentity) -> Hop {
    if let Some(Probe::Ready(decisions)) = inp.console_iam {
        let denied: Vec<&str> = decisions
            .iter()
            .filter(|(_, allowed)| !allowed)
            .map(|(a, _)| a.as_str())
            .collect();
        if !denied.is_empty() {
            let h = Hop::broken(
                HopKind::Reach,
                format!("kubectl works; the console lacks {}", denied.join(", ")),
            )
            .evidence(
                "denied",
                denied.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>(),
            );
            return match inp.finding(rules::CLUSTER_CONSOLE_NO_K8S_ACCESS.id) {
                Some(f) => h.fixed_by(f),
                None => h.with_fix(
                    rules::CLUSTER_CONSOLE_NO_K8S_ACCESS.id,
                    Fix::new(format!("allow the console's reads to {}", id.canonical_arn)),
                ),
            };
        }
    }
    Hop::ok(HopKind::Reach, "the Resources tab and kubectl work")
}

fn finish(inp: &PathInputs<'_>, hops: Vec<Hop>) -> AccessPath {
    let first_broken = hops.iter().position(|h| h.state == HopState::Broken);
    let verdict = if first_broken.is_some() {
        HopState::Broken
    } else if hops.iter().any(|h| h.state == HopState::Pending) {
        HopState::Pending
    } else if hops.iter().any(|h| h.state == HopState::Unknown) {
        HopState::Unknown
    } else {
        HopState::Ok
    };
    AccessPath {
        cluster: inp.cluster_name.to_owned(),
        region: inp.region.to_owned(),
        verdict,
        first_broken,
        hops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::AccessPolicyAssociation;

    const ROLE: &str = "arn:aws:sts::111122223333:assumed-role/Dev/alice";

    fn id() -> Probe<CallerIdentity> {
        Probe::Ready(CallerIdentity::from_sts(ROLE, "111122223333", "AROAX:alice", None).unwrap())
    }

    fn cluster(mode: AuthenticationMode) -> Probe<Cluster> {
        Probe::Ready(Cluster {
            name: "c1".into(),
            region: "eu-west-1".into(),
            arn: None,
            status: Some("ACTIVE".into()),
            version: Some("1.30".into()),
            endpoint_public_access: Some(true),
            endpoint_private_access: None,
            authentication_mode: Some(mode),
            oidc_issuer: None,
            role_arn: None,
        })
    }

    fn entry(policies: &[&str], groups: &[&str]) -> Probe<Option<AccessEntry>> {
        Probe::Ready(Some(AccessEntry {
            principal_arn: "arn:aws:iam::111122223333:role/Dev".into(),
            username: None,
            kubernetes_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            entry_type: Some("STANDARD".into()),
            access_policies: policies
                .iter()
                .map(|p| AccessPolicyAssociation {
                    policy_arn: format!("arn:aws:eks::aws:cluster-access-policy/{p}"),
                    scope: "cluster".into(),
                    namespaces: vec![],
                })
                .collect(),
        }))
    }

    fn states(p: &AccessPath) -> String {
        p.hops
            .iter()
            .map(|h| h.state.mark(true))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn all_ok_through_an_admin_access_entry() {
        let (i, c, e) = (
            id(),
            cluster(AuthenticationMode::Api),
            entry(&["AmazonEKSClusterAdminPolicy"], &[]),
        );
        let p = build(&PathInputs::new("c1", "eu-west-1", &i, &c, &e));
        assert_eq!(p.verdict, HopState::Ok, "{}", p.text(true));
        assert_eq!(p.hops.len(), 8);
        assert_eq!(p.hops[2].summary, "arn:aws:iam::111122223333:role/Dev");
        assert!(
            p.hops[5]
                .summary
                .contains("arn:aws:sts::111122223333:assumed-role/Dev/alice")
        );
    }

    #[test]
    fn no_credentials_breaks_the_first_hop() {
        let i = Probe::Failed {
            message: "no credentials in the chain".into(),
        };
        let (c, e) = (Probe::Pending, Probe::Pending);
        let p = build(&PathInputs::new("c1", "eu-west-1", &i, &c, &e));
        assert_eq!(p.first_broken, Some(0));
        assert_eq!(p.hops[0].rule, Some(rules::CREDS_NONE.id));
        assert_eq!(states(&p), "x ? ? ? ? ? ? x");
    }

    #[test]
    fn describe_cluster_denied() {
        let (i, e) = (id(), Probe::Pending);
        let c = Probe::Denied {
            permission: "eks:DescribeCluster".into(),
        };
        let p = build(&PathInputs::new("c1", "eu-west-1", &i, &c, &e));
        assert_eq!(p.first_broken, Some(3));
        let fix = p.hops[3].fix.as_ref().unwrap();
        assert!(
            fix.policy
                .as_ref()
                .unwrap()
                .to_string()
                .contains("cluster/c1")
        );
    }

    #[test]
    fn no_access_entry_in_api_mode() {
        let (i, c) = (id(), cluster(AuthenticationMode::Api));
        let e = Probe::Ready(None);
        let p = build(&PathInputs::new("c1", "eu-west-1", &i, &c, &e));
        assert_eq!(p.first_broken, Some(4));
        assert_eq!(p.hops[4].rule, Some(rules::CLUSTER_NOT_MAPPED.id));
        assert_eq!(states(&p), "ok ok ok ok x ? ? x");
    }

    #[test]
    fn unknown_mapping_says_what_would_answer_it() {
        let (i, c) = (id(), cluster(AuthenticationMode::ApiAndConfigMap));
        let e = Probe::Denied {
            permission: "eks:ListAccessEntries".into(),
        };
        let p = build(&PathInputs::new("c1", "eu-west-1", &i, &c, &e));
        assert_eq!(p.verdict, HopState::Unknown);
        let h = &p.hops[4];
        assert!(h.why.as_ref().unwrap().contains("eks:ListAccessEntries"));
        assert!(h.answer.as_ref().unwrap().contains("aws-auth"), "{h:?}");
        assert!(p.text(false).contains("would answer it"));
    }

    #[test]
    fn role_path_in_aws_auth() {
        let (i, c) = (id(), cluster(AuthenticationMode::ConfigMap));
        let e = Probe::Ready(None);
        let aws_auth = Probe::Ready(AwsAuthAnswer {
            mapping: None,
            line: None,
        });
        let findings = vec![
            Finding::new(rules::AWS_AUTH_ROLE_PATH, "rolearn has a path")
                .evidence("path", "/team/")
                .evidence("canonical_arn", "arn:aws:iam::111122223333:role/Dev")
                .at("aws-auth", 13)
                .fix(
                    Fix::new("drop the path")
                        .replacement("rolearn: arn:aws:iam::111122223333:role/Dev"),
                ),
        ];
        let mut inp = PathInputs::new("c1", "eu-west-1", &i, &c, &e);
        inp.aws_auth = Some(&aws_auth);
        inp.findings = &findings;
        let p = build(&inp);
        assert_eq!(p.first_broken, Some(4));
        let h = &p.hops[4];
        assert_eq!(h.label, "aws-auth line 13");
        assert_eq!(h.rule, Some(rules::AWS_AUTH_ROLE_PATH.id));
        assert!(
            p.text(true)
                .contains("rolearn: arn:aws:iam::111122223333:role/Dev")
        );
    }

    #[test]
    fn rbac_forbidden_and_rbac_unknown() {
        let (i, c, e) = (
            id(),
            cluster(AuthenticationMode::Api),
            entry(&[], &["devs"]),
        );
        let mut inp = PathInputs::new("c1", "eu-west-1", &i, &c, &e);
        let p = build(&inp);
        assert_eq!(states(&p), "ok ok ok ok ok ok ? ?");
        assert!(
            p.hops[6]
                .answer
                .as_ref()
                .unwrap()
                .contains("kubectl auth can-i")
        );
        let rbac = Probe::Ready(
            CONSOLE_VERBS
                .iter()
                .map(|(v, r)| RbacCheck {
                    verb: (*v).into(),
                    resource: (*r).into(),
                    namespace: None,
                    allowed: *r == "namespaces",
                    console: true,
                })
                .collect(),
        );
        inp.rbac = Some(&rbac);
        let p = build(&inp);
        assert_eq!(p.first_broken, Some(6));
        assert_eq!(p.hops[6].rule, Some(rules::CLUSTER_CONSOLE_RBAC.id));
        let fix = p.hops[6].fix.as_ref().unwrap();
        assert!(
            fix.commands[0].contains("associate-access-policy"),
            "{fix:?}"
        );
        assert_eq!(p.hops[7].state, HopState::Broken);
    }

    #[test]
    fn session_templates_are_filled() {
        let i = Probe::Ready(
            CallerIdentity::from_sts(
                "arn:aws:sts::111122223333:assumed-role/Dev/alice@example.com",
                "111122223333",
                "AROAX:alice@example.com",
                None,
            )
            .unwrap(),
        );
        let c = cluster(AuthenticationMode::ConfigMap);
        let e = Probe::Ready(None);
        let aws_auth = Probe::Ready(AwsAuthAnswer {
            mapping: Some(Mapping {
                source: "aws-auth",
                username: "dev:{{SessionName}}".into(),
                groups: vec!["system:masters".into()],
                access_policies: vec![],
            }),
            line: Some(9),
        });
        let mut inp = PathInputs::new("c1", "eu-west-1", &i, &c, &e);
        inp.aws_auth = Some(&aws_auth);
        let p = build(&inp);
        assert_eq!(p.verdict, HopState::Ok, "{}", p.text(true));
        assert_eq!(p.hops[4].label, "aws-auth line 9");
        assert!(
            p.hops[5].summary.starts_with("dev:alice-example.com"),
            "{}",
            p.hops[5].summary
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["hops"][4]["state"], "ok");
        assert_eq!(json["hops"][6]["evidence"]["from"], "group system:masters");
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn text_shows_every_hop_and_the_fix() {
        let i = Probe::Ready(
            CallerIdentity::from_sts(
                "arn:aws:sts::111122223333:assumed-role/Dev/alice",
                "111122223333",
                "AROAX:alice",
                None,
            )
            .unwrap(),
        );
        let c = Probe::Denied {
            permission: "eks:DescribeCluster".into(),
        };
        let e = Probe::Pending;
        let p = build(&PathInputs::new("apps", "eu-west-1", &i, &c, &e));
        let t = p.text(true);
        assert_eq!(t.lines().count(), 1 + 8 + 2, "{t}");
        assert!(
            t.starts_with("access path  apps (eu-west-1): broken at eks:DescribeCluster"),
            "{t}"
        );
        assert!(t.contains("  x  eks:DescribeCluster  denied"), "{t}");
        assert!(t.contains("       fix: allow eks:DescribeCluster"), "{t}");
        assert!(t.is_ascii(), "{t}");
    }
}
