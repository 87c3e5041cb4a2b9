//! The Kubernetes half of a cluster's answers: who the cluster thinks the
//! caller is, aws-auth read from the cluster, RBAC, the kubeconfig context
//! that points at it, and whether its API server answered at all. Filled by
//! `crates/kube` as [`KubeUpdate`]s; read through [`super::ClusterProbes`].
//!
//! Also the one live kubeconfig rule, `kubeconfig/cluster-mismatch`
//! ([`cluster_mismatch`]): the context's server and CA against
//! DescribeCluster's.

use serde::Serialize;
use serde_json::json;

use super::{ApiEndpoint, Cluster, Mapping, Probe};
use crate::access_path::{AwsAuthAnswer, KubernetesIdentity, RbacCheck};
use crate::finding::{Finding, Fix};
use crate::kubeconfig::{EksExec, cluster_of_arn, region_of_server};
use crate::rules;

/// The user the cluster sees (SelfSubjectReview's `status.userInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KubeUser {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// The authenticator's `arn` extra.
    pub arn: Option<String>,
    pub session_name: Option<String>,
    pub access_key_id: Option<String>,
    /// Which API version answered.
    pub api_version: String,
}

impl KubeUser {
    /// Whether the cluster served the request as nobody.
    #[must_use]
    pub fn is_anonymous(&self) -> bool {
        self.username == "system:anonymous"
    }

    /// The username and groups, as the access path shows them.
    #[must_use]
    pub fn identity(&self) -> KubernetesIdentity {
        KubernetesIdentity {
            username: self.username.clone(),
            groups: self.groups.clone(),
        }
    }
}

/// kube-system/aws-auth as read from the cluster and run through the
/// aws-auth engine, for the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AwsAuthRead {
    /// The ConfigMap does not exist (404).
    pub absent: bool,
    /// The entry that maps the caller.
    pub mapping: Option<Mapping>,
    /// The line of that entry (or of the entry that names the caller but is refused).
    pub line: Option<usize>,
    /// An entry matches but the authenticator refuses it: why.
    pub refused: Option<String>,
    /// Entries that nearly name the caller ("the entry on line 8 has a path").
    pub near_misses: Vec<String>,
}

impl AwsAuthRead {
    /// What the access path reads.
    #[must_use]
    pub fn answer(&self) -> AwsAuthAnswer {
        AwsAuthAnswer {
            mapping: self.mapping.clone(),
            line: self.line,
        }
    }
}

/// The kubeconfig context that points at a cluster, as kubectl would use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    pub name: String,
    /// kubectl's current context.
    pub current: bool,
    /// The cluster entry's `server`.
    pub server: Option<String>,
    /// The cluster entry's `certificate-authority-data` (public; base64 of PEM).
    pub ca_data: Option<String>,
    /// What the user entry's exec plugin says (cluster, region, role, profile).
    pub exec: Option<EksExec>,
}

/// Everything the Kubernetes probes found on one cluster. `None`: not asked
/// (the probes are off, or stopped before it); `Some(Pending)`: in flight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeProbes {
    /// Where the probes went (DescribeCluster's endpoint, or `--kube-endpoint`).
    pub endpoint: Option<String>,
    /// Whether the API server answered at all (`Ready(endpoint)`), even with 401.
    pub reach: Option<Probe<String>>,
    /// SelfSubjectReview. `Denied` with "Unauthorized": the cluster maps the caller to nobody.
    pub whoami: Option<Probe<KubeUser>>,
    pub aws_auth: Option<Probe<AwsAuthRead>>,
    /// The console's reads (SelfSubjectAccessReview), `console: true`.
    pub rbac: Option<Probe<Vec<RbacCheck>>>,
    /// `check --can VERB RESOURCE [-n NS]`.
    pub can: Option<Probe<RbacCheck>>,
    /// The kubeconfig context that points at this cluster, when one does.
    pub context: Option<KubeContext>,
}

impl KubeProbes {
    /// Any probe still in flight.
    #[must_use]
    pub fn pending(&self) -> bool {
        [
            self.reach.as_ref().map(Probe::is_pending),
            self.whoami.as_ref().map(Probe::is_pending),
            self.aws_auth.as_ref().map(Probe::is_pending),
            self.rbac.as_ref().map(Probe::is_pending),
            self.can.as_ref().map(Probe::is_pending),
        ]
        .into_iter()
        .any(|p| p == Some(true))
    }

    /// Whether the Kubernetes probes ran (or are running) on this cluster.
    #[must_use]
    pub fn asked(&self) -> bool {
        self.reach.is_some()
    }

    /// The cluster's own answer: `Some(true)` it knows the caller,
    /// `Some(false)` 401 (maps it to nobody), `None` not known.
    #[must_use]
    pub fn knows_caller(&self) -> Option<bool> {
        match self.whoami.as_ref()? {
            Probe::Ready(u) => Some(!u.is_anonymous()),
            Probe::Denied { permission } if permission.contains("Unauthorized") => Some(false),
            _ => None,
        }
    }

    pub fn apply(&mut self, u: KubeUpdate) {
        match u {
            KubeUpdate::Started { endpoint, can } => {
                self.endpoint = Some(endpoint);
                self.reach = Some(Probe::Pending);
                self.whoami = Some(Probe::Pending);
                self.aws_auth = Some(Probe::Pending);
                self.rbac = Some(Probe::Pending);
                self.can = can.then_some(Probe::Pending);
            }
            KubeUpdate::Reach(p) => self.reach = Some(p),
            KubeUpdate::Identity(p) => self.whoami = Some(p),
            KubeUpdate::AwsAuth(p) => self.aws_auth = Some(p),
            KubeUpdate::Rbac(p) => self.rbac = Some(p),
            KubeUpdate::Can(p) => self.can = Some(p),
            KubeUpdate::Context(c) => self.context = c,
            KubeUpdate::Stopped(why) => {
                stop(&mut self.reach, &why);
                stop(&mut self.whoami, &why);
                stop(&mut self.aws_auth, &why);
                stop(&mut self.rbac, &why);
                stop(&mut self.can, &why);
            }
        }
    }

    /// The `kubernetes` section of `check --format json` for this cluster
    /// (`reachable`, `whoami`, `aws_auth`, `console`, `can`, `kubeconfig`),
    /// `None` when the probes never ran here.
    #[must_use]
    pub fn json(&self) -> Option<serde_json::Value> {
        if self.reach.is_none() && self.context.is_none() {
            return None;
        }
        let whoami = match &self.whoami {
            Some(Probe::Ready(u)) => serde_json::to_value(u).unwrap_or_default(),
            Some(p) => err_json(p),
            None => serde_json::Value::Null,
        };
        let aws_auth = match &self.aws_auth {
            Some(Probe::Ready(a)) if a.absent => json!({"read": true, "absent": true}),
            Some(Probe::Ready(a)) => {
                let caller_mapping = match (&a.mapping, &a.refused) {
                    (Some(m), _) => {
                        json!({"line": a.line, "username": m.username, "groups": m.groups})
                    }
                    (None, Some(r)) => json!({"line": a.line, "refused": r}),
                    (None, None) => serde_json::Value::Null,
                };
                json!({"read": true, "caller_mapping": caller_mapping, "near_misses": a.near_misses})
            }
            Some(p @ Probe::Denied { .. }) => {
                let mut v = err_json(p);
                v["read"] = json!(false);
                v["status"] = json!(403);
                v
            }
            Some(p) => {
                let mut v = err_json(p);
                v["read"] = json!(false);
                v
            }
            None => serde_json::Value::Null,
        };
        let console = match &self.rbac {
            Some(Probe::Ready(checks)) => {
                let denied: Vec<String> = checks
                    .iter()
                    .filter(|c| !c.allowed)
                    .map(|c| format!("{} {}", c.verb, c.resource))
                    .collect();
                json!({"checked": checks.len(), "denied": denied})
            }
            Some(p) => err_json(p),
            None => serde_json::Value::Null,
        };
        let can = match &self.can {
            Some(Probe::Ready(c)) => {
                let (resource, group) = c.resource.split_once('.').unwrap_or((&c.resource, ""));
                json!({"group": group, "resource": resource, "verb": c.verb, "namespace": c.namespace, "allowed": c.allowed})
            }
            Some(p) => err_json(p),
            None => serde_json::Value::Null,
        };
        let kubeconfig = self.context.as_ref().map_or(serde_json::Value::Null, |c| {
            json!({
                "context": c.name,
                "current": c.current,
                "server": c.server,
                "exec_cluster": c.exec.as_ref().and_then(|e| e.cluster.clone()),
                "exec_region": c.exec.as_ref().and_then(|e| e.region.clone()),
                "role_arn": c.exec.as_ref().and_then(|e| e.role_arn.clone()),
                "profile": c.exec.as_ref().and_then(|e| e.profile.clone()),
            })
        });
        let reachable = matches!(self.reach, Some(Probe::Ready(_)));
        let mut v = json!({
            "reachable": reachable,
            "endpoint": self.endpoint,
            "whoami": whoami,
            "aws_auth": aws_auth,
            "console": console,
            "can": can,
            "kubeconfig": kubeconfig,
        });
        if let Some(p) = self
            .reach
            .as_ref()
            .filter(|p| !matches!(p, Probe::Ready(_)))
        {
            v["error"] = err_json(p)["error"].clone();
        }
        Some(v)
    }
}

/// A probe still pending fails with `why`.
fn stop<T>(p: &mut Option<Probe<T>>, why: &str) {
    if p.as_ref().is_some_and(Probe::is_pending) {
        *p = Some(Probe::Failed {
            message: why.to_owned(),
        });
    }
}

/// A probe that did not answer, as `{"error": ..., "status": N}`.
fn err_json<T>(p: &Probe<T>) -> serde_json::Value {
    let message = match p {
        Probe::Ready(_) => return serde_json::Value::Null,
        Probe::Pending => "not answered".to_owned(),
        Probe::Denied { permission } => permission.clone(),
        Probe::TimedOut => "timed out".to_owned(),
        Probe::Failed { message } => message.clone(),
    };
    // KubeError's text starts "HTTP 403 Forbidden: ..." when the server answered.
    let status = message
        .split("HTTP ")
        .nth(1)
        .and_then(|r| r.get(..3))
        .and_then(|d| d.parse::<u16>().ok());
    json!({"error": message, "status": status})
}

/// One piece of a cluster's Kubernetes answers.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeUpdate {
    /// The probes start against `endpoint` (`can`: `--can` was asked too).
    Started {
        endpoint: String,
        can: bool,
    },
    /// The API server answered (`Ready(endpoint)`), or why not.
    Reach(Probe<String>),
    Identity(Probe<KubeUser>),
    AwsAuth(Probe<AwsAuthRead>),
    Rbac(Probe<Vec<RbacCheck>>),
    Can(Probe<RbacCheck>),
    Context(Option<KubeContext>),
    /// The probes stopped early: every answer still pending fails with this reason.
    Stopped(String),
}

fn normalize_server(s: &str) -> String {
    s.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn names_cluster(exec: &EksExec, cluster: &Cluster) -> bool {
    exec.cluster.as_deref().is_some_and(|n| {
        n == cluster.name
            || cluster_of_arn(n)
                .is_some_and(|(name, region)| name == cluster.name && region == cluster.region)
            || cluster.arn.as_deref() == Some(n)
    })
}

/// The context that points at `cluster`: first one whose server is the
/// cluster's endpoint, else one whose exec plugin names the cluster (in its
/// region, when it says one), else one named after the cluster's ARN (as
/// `aws eks update-kubeconfig` names them). kubectl's current context wins ties.
#[must_use]
pub fn match_context<'a>(
    contexts: &'a [KubeContext],
    cluster: &Cluster,
    api: Option<&ApiEndpoint>,
) -> Option<&'a KubeContext> {
    let endpoint = api
        .and_then(|a| a.endpoint.as_deref())
        .map(normalize_server);
    let pick = |f: &dyn Fn(&KubeContext) -> bool| -> Option<&'a KubeContext> {
        let mut hits = contexts.iter().filter(|c| f(c));
        let first = hits.next()?;
        Some(
            std::iter::once(first)
                .chain(hits)
                .find(|c| c.current)
                .unwrap_or(first),
        )
    };
    let region_ok = |c: &KubeContext| {
        let region = c
            .exec
            .as_ref()
            .and_then(|e| e.region.clone())
            .or_else(|| c.server.as_deref().and_then(region_of_server));
        region.is_none_or(|r| r == cluster.region)
    };
    pick(&|c| {
        endpoint.is_some()
            && c.server.as_deref().map(normalize_server).as_deref() == endpoint.as_deref()
    })
    .or_else(|| {
        pick(&|c| c.exec.as_ref().is_some_and(|e| names_cluster(e, cluster)) && region_ok(c))
    })
    .or_else(|| pick(&|c| cluster.arn.as_deref() == Some(c.name.as_str())))
}

/// A value for a POSIX shell, single-quoted.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The CA as comparable text: base64 without whitespace.
fn ca_key(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `kubeconfig/cluster-mismatch`: the context that points at `cluster` has
/// another server URL or CA than DescribeCluster's, or its exec plugin
/// names another cluster or region than the server belongs to.
#[must_use]
pub fn cluster_mismatch(
    ctx: &KubeContext,
    cluster: &Cluster,
    api: &ApiEndpoint,
) -> Option<Finding> {
    let mut wrong = Vec::new();
    let endpoint = api.endpoint.as_deref();
    if let (Some(server), Some(endpoint)) = (ctx.server.as_deref(), endpoint)
        && normalize_server(server) != normalize_server(endpoint)
    {
        wrong.push(format!(
            "its server is {server}, the cluster's endpoint is {endpoint}"
        ));
    }
    if ctx.server.is_none() {
        wrong.push("its cluster entry has no server".to_owned());
    }
    let ca_differs = matches!(
        (ctx.ca_data.as_deref(), api.ca_data.as_deref()),
        (Some(a), Some(b)) if ca_key(a) != ca_key(b)
    );
    if ca_differs {
        wrong.push(
            "its certificate-authority-data is not the cluster's certificate (kubectl fails with \
             \"x509: certificate signed by unknown authority\")"
                .to_owned(),
        );
    }
    if let Some(exec) = &ctx.exec {
        if let Some(n) = exec.cluster.as_deref()
            && !names_cluster(exec, cluster)
        {
            wrong.push(format!(
                "its exec plugin asks a token for cluster {n}, the server belongs to {}",
                cluster.name
            ));
        }
        if let Some(r) = exec.region.as_deref()
            && r != cluster.region
        {
            wrong.push(format!(
                "its exec plugin signs in region {r}, the cluster is in {}",
                cluster.region
            ));
        }
    }
    if wrong.is_empty() {
        return None;
    }
    let role = ctx.exec.as_ref().and_then(|e| e.role_arn.as_deref());
    let profile = ctx.exec.as_ref().and_then(|e| e.profile.as_deref());
    let mut cmd = format!(
        "aws eks update-kubeconfig --name {} --region {}",
        sq(&cluster.name),
        sq(&cluster.region)
    );
    if let Some(r) = role {
        cmd.push_str(&format!(" --role-arn {}", sq(r)));
    }
    if let Some(p) = profile {
        cmd.push_str(&format!(" --profile {}", sq(p)));
    }
    // Rewrite the context the operator uses, not a new one named after the ARN.
    if cluster.arn.as_deref() != Some(ctx.name.as_str()) {
        cmd.push_str(&format!(" --alias {}", sq(&ctx.name)));
    }
    Some(
        Finding::new(
            rules::KUBECONFIG_CLUSTER_MISMATCH,
            format!(
                "kubeconfig context {} does not match cluster {} ({}): {}",
                ctx.name,
                cluster.name,
                cluster.region,
                wrong.join("; ")
            ),
        )
        .detail(
            "kubectl uses the context's server, CA and exec plugin as written, whatever the \
             cluster is today. A cluster re-created under the same name gets a new endpoint and \
             CA; a copied or hand-edited entry can ask the token for another cluster (the \
             authenticator then answers Unauthorized, since the token names the wrong cluster). \
             update-kubeconfig rewrites the entry from DescribeCluster.",
        )
        .evidence("cluster", cluster.name.as_str())
        .evidence("region", cluster.region.as_str())
        .evidence("context", ctx.name.as_str())
        .evidence("server", ctx.server.clone())
        .evidence("endpoint", api.endpoint.clone())
        .evidence("ca_matches", !ca_differs)
        .evidence("problems", wrong)
        .fix(Fix::new("rewrite the context from DescribeCluster").command(cmd)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeconfig::TokenTool;

    fn cluster() -> Cluster {
        Cluster {
            name: "prod".into(),
            region: "eu-west-1".into(),
            arn: Some("arn:aws:eks:eu-west-1:111122223333:cluster/prod".into()),
            status: Some("ACTIVE".into()),
            version: Some("1.30".into()),
            endpoint_public_access: Some(true),
            endpoint_private_access: Some(false),
            authentication_mode: None,
            oidc_issuer: None,
            role_arn: None,
        }
    }

    fn api() -> ApiEndpoint {
        ApiEndpoint {
            endpoint: Some("https://ABC.gr7.eu-west-1.eks.amazonaws.com".into()),
            ca_data: Some("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=".into()),
            ..ApiEndpoint::default()
        }
    }

    fn ctx(
        name: &str,
        server: &str,
        ca: &str,
        exec_cluster: &str,
        region: Option<&str>,
    ) -> KubeContext {
        KubeContext {
            name: name.into(),
            current: false,
            server: Some(server.into()),
            ca_data: Some(ca.into()),
            exec: Some(EksExec {
                tool: TokenTool::AwsCli,
                cluster: Some(exec_cluster.into()),
                region: region.map(str::to_owned),
                role_arn: None,
                profile: Some("ops".into()),
            }),
        }
    }

    /// Case table: (what, context, fires, a word the message must carry).
    #[test]
    fn cluster_mismatch_cases() {
        let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=";
        let ep = "https://ABC.gr7.eu-west-1.eks.amazonaws.com";
        let arn = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
        let cases: Vec<(&str, KubeContext, bool, &str)> = vec![
            (
                "all match",
                ctx(arn, ep, ca, "prod", Some("eu-west-1")),
                false,
                "",
            ),
            (
                "trailing slash and case",
                ctx(
                    arn,
                    "https://abc.gr7.eu-west-1.eks.amazonaws.com/",
                    &format!("{ca}\n"),
                    "prod",
                    None,
                ),
                false,
                "",
            ),
            (
                "exec names the ARN (--cluster-id)",
                ctx(arn, ep, ca, arn, None),
                false,
                "",
            ),
            (
                "re-created cluster: new endpoint",
                ctx(
                    arn,
                    "https://OLD.gr7.eu-west-1.eks.amazonaws.com",
                    ca,
                    "prod",
                    None,
                ),
                true,
                "server",
            ),
            (
                "re-created cluster: new CA",
                ctx(arn, ep, "LS0tLS1PTEQ=", "prod", None),
                true,
                "certificate-authority-data",
            ),
            (
                "copied entry asks for another cluster",
                ctx("prod", ep, ca, "staging", None),
                true,
                "cluster staging",
            ),
            (
                "exec signs in another region",
                ctx("prod", ep, ca, "prod", Some("us-east-1")),
                true,
                "region us-east-1",
            ),
        ];
        for (what, c, fires, word) in cases {
            let f = cluster_mismatch(&c, &cluster(), &api());
            assert_eq!(f.is_some(), fires, "{what}: {f:?}");
            if let Some(f) = f {
                assert!(f.message.contains(word), "{what}: {}", f.message);
                assert_eq!(f.rule, "kubeconfig/cluster-mismatch");
                let cmd = &f.fix.as_ref().unwrap().commands[0];
                assert!(
                    cmd.starts_with("aws eks update-kubeconfig --name 'prod' --region 'eu-west-1'"),
                    "{cmd}"
                );
                assert!(cmd.contains("--profile 'ops'"), "{cmd}");
                // A context not named after the ARN is rewritten in place.
                assert_eq!(cmd.contains("--alias 'prod'"), c.name == "prod", "{cmd}");
            }
        }
    }

    #[test]
    fn values_are_single_quoted_for_the_shell() {
        assert_eq!(sq("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_context_is_found_by_server_then_exec_then_name() {
        let ca = "x";
        let arn = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
        let by_exec = ctx(
            "a",
            "https://OTHER.gr7.eu-west-1.eks.amazonaws.com",
            ca,
            "prod",
            None,
        );
        let by_server = ctx(
            "b",
            "https://abc.gr7.eu-west-1.eks.amazonaws.com",
            ca,
            "x",
            None,
        );
        let other_region = ctx(
            "c",
            "https://Z.gr7.us-east-1.eks.amazonaws.com",
            ca,
            "prod",
            None,
        );
        let mut by_name = ctx(arn, "https://Q.example", ca, "zz", None);
        by_name.exec = None;
        let all = vec![
            by_exec.clone(),
            by_server.clone(),
            other_region.clone(),
            by_name.clone(),
        ];
        assert_eq!(
            match_context(&all, &cluster(), Some(&api())),
            Some(&by_server)
        );
        assert_eq!(
            match_context(&all[..1], &cluster(), Some(&api())),
            Some(&by_exec)
        );
        assert_eq!(match_context(&all[2..3], &cluster(), Some(&api())), None);
        assert_eq!(match_context(&all[3..], &cluster(), None), Some(&by_name));
        // The current context wins a tie.
        let mut cur = by_exec.clone();
        cur.name = "cur".into();
        cur.current = true;
        let two = vec![by_exec, cur.clone()];
        assert_eq!(match_context(&two, &cluster(), None), Some(&cur));
    }

    proptest::proptest! {
        /// Whatever a kubeconfig holds (server, CA, exec args), matching a
        /// context and the rule never panic, and a context that matches the
        /// cluster exactly never fires.
        #[test]
        fn any_context_is_judged_without_panicking(
            server in ".{0,60}",
            ca in ".{0,40}",
            exec_cluster in ".{0,30}",
            region in proptest::option::of("[a-z0-9-]{0,15}"),
            name in ".{0,30}",
        ) {
            let c = ctx(&name, &server, &ca, &exec_cluster, region.as_deref());
            let all = vec![c.clone()];
            let _ = match_context(&all, &cluster(), Some(&api()));
            let _ = cluster_mismatch(&c, &cluster(), &api());
            let exact = ctx(&name, api().endpoint.as_deref().unwrap(), api().ca_data.as_deref().unwrap(), "prod", Some("eu-west-1"));
            proptest::prop_assert!(cluster_mismatch(&exact, &cluster(), &api()).is_none());
        }
    }

    #[test]
    fn stopped_fails_what_is_still_pending() {
        let mut k = KubeProbes::default();
        k.apply(KubeUpdate::Started {
            endpoint: "https://x".into(),
            can: false,
        });
        assert!(k.pending());
        k.apply(KubeUpdate::Reach(Probe::TimedOut));
        k.apply(KubeUpdate::Stopped("the API server did not answer".into()));
        assert!(!k.pending());
        assert_eq!(k.reach, Some(Probe::TimedOut));
        assert!(matches!(k.rbac, Some(Probe::Failed { .. })));
        assert_eq!(k.can, None);
        let j = k.json().unwrap();
        assert_eq!(j["reachable"], false);
        assert_eq!(j["error"], "timed out");
    }
}
