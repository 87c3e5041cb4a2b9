//! kubeconfig rules (`kubeconfig/*`): how kubectl will reach an EKS cluster
//! and as whom, from the kubeconfig alone.
//!
//! Parsing and merging (`$KUBECONFIG`, as kubectl merges it) belong to the
//! ecosystem's types (`kube::config::Kubeconfig`, in eksdoctor-kube); this
//! module takes the few facts the rules need ([`Kubeconfig`]) and stays pure.
//!
//! What an exec plugin says about EKS ([`EksExec::from_exec`]):
//! * `aws eks get-token --cluster-name N | --cluster-id ID [--region R]
//!   [--role-arn A] [--profile P]` (the global `--profile`/`--region` may come
//!   anywhere in the args);
//! * `aws-iam-authenticator token -i N [-r ROLE] [--region R]`;
//! * `eksdoctor token --cluster N [--role-arn A] [--region R] [--profile P]`;
//! * the exec `env`'s `AWS_PROFILE` and `AWS_REGION`/`AWS_DEFAULT_REGION`.

use serde_json::json;

use crate::finding::{Finding, Fix};
use crate::rules;

/// The ExecCredential versions kubectl still accepts.
pub const SUPPORTED_EXEC_VERSIONS: &[&str] = &[
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
];

/// The facts of a (merged) kubeconfig the rules read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kubeconfig {
    pub current_context: Option<String>,
    pub contexts: Vec<Context>,
    pub clusters: Vec<Cluster>,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub name: String,
    pub cluster: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub server: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub auth: UserAuth,
}

/// How a kubeconfig user authenticates.
#[derive(Debug, Clone, PartialEq)]
pub enum UserAuth {
    Exec(Exec),
    /// A static bearer token or token file.
    Token,
    ClientCertificate,
    /// An `auth-provider` (oidc, gcp, ...), by name.
    AuthProvider(String),
    /// Basic auth or nothing at all.
    Other,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exec {
    pub api_version: Option<String>,
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Which tool builds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTool {
    AwsCli,
    Authenticator,
    Eksdoctor,
}

/// What an EKS exec plugin says about the cluster and the identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksExec {
    pub tool: TokenTool,
    pub cluster: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
    /// `--profile`, else the exec env's AWS_PROFILE.
    pub profile: Option<String>,
}

/// The value of `--flag V` or `--flag=V` (any of `names`).
fn flag(args: &[String], names: &[&str]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for n in names {
            if a == n {
                return it.next().cloned();
            }
            if let Some(v) = a.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// The file name of a command path (`/usr/local/bin/aws` → `aws`).
fn base(command: &str) -> &str {
    let b = command.rsplit(['/', '\\']).next().unwrap_or(command);
    b.strip_suffix(".exe").unwrap_or(b)
}

impl EksExec {
    /// The EKS facts of an exec plugin, if it builds EKS tokens.
    #[must_use]
    pub fn from_exec(exec: &Exec) -> Option<Self> {
        let args = &exec.args;
        let has = |w: &str| args.iter().any(|a| a == w);
        let env = |k: &str| {
            exec.env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let (tool, cluster, role_arn) = match base(&exec.command) {
            "aws" if has("eks") && has("get-token") => (
                TokenTool::AwsCli,
                flag(args, &["--cluster-name", "--cluster-id"]),
                flag(args, &["--role-arn"]),
            ),
            "aws-iam-authenticator" if has("token") => (
                TokenTool::Authenticator,
                flag(args, &["-i", "--cluster-id"]),
                flag(args, &["-r", "--role"]),
            ),
            "eksdoctor" if has("token") => (
                TokenTool::Eksdoctor,
                flag(args, &["--cluster", "--cluster-name", "--cluster-id"]),
                flag(args, &["--role-arn"]),
            ),
            _ => return None,
        };
        Some(Self {
            tool,
            cluster,
            region: flag(args, &["--region"])
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION")),
            role_arn,
            profile: flag(args, &["--profile"]).or_else(|| env("AWS_PROFILE")),
        })
    }
}

/// The region of an EKS endpoint (`https://X.gr7.eu-west-1.eks.amazonaws.com`).
#[must_use]
pub fn region_of_server(server: &str) -> Option<String> {
    let host = server
        .split("://")
        .nth(1)
        .unwrap_or(server)
        .split(['/', ':'])
        .next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let eks = labels.iter().position(|l| *l == "eks")?;
    (eks >= 1 && labels.get(eks + 1) == Some(&"amazonaws"))
        .then(|| labels[eks - 1].to_owned())
        .filter(|r| r.contains('-'))
}

/// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME` (update-kubeconfig's names) → (name, region).
#[must_use]
pub fn cluster_of_arn(s: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "eks" {
        let name = parts[5].strip_prefix("cluster/")?;
        return Some((name.to_owned(), parts[3].to_owned()));
    }
    None
}

/// What the lint is asked.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// Lint this context only (else every context, identity for the current one).
    pub context: Option<&'a str>,
    /// The identity being diagnosed: `--profile`, else `AWS_PROFILE` (None: default).
    pub profile: Option<&'a str>,
    /// Where the findings point (the file name).
    pub source: &'a str,
}

/// `aws eks update-kubeconfig` for this cluster, with the flags that pick the identity.
#[must_use]
pub fn update_kubeconfig(
    name: Option<&str>,
    region: Option<&str>,
    role_arn: Option<&str>,
    profile: Option<&str>,
) -> String {
    let mut c = format!(
        "aws eks update-kubeconfig --name {} --region {}",
        name.unwrap_or("CLUSTER"),
        region.unwrap_or("REGION")
    );
    if let Some(r) = role_arn {
        c.push_str(&format!(" --role-arn {r}"));
    }
    if let Some(p) = profile {
        c.push_str(&format!(" --profile {p}"));
    }
    c
}

/// Lint `kc`. `on_path` answers whether a command can be run (PATH lookup is
/// the caller's: this module does no I/O).
#[must_use]
pub fn lint(kc: &Kubeconfig, opts: &Options<'_>, on_path: &dyn Fn(&str) -> bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let selected = opts.context.or(kc.current_context.as_deref());
    match selected {
        None if opts.context.is_none() => out.push(
            Finding::new(
                rules::KUBECONFIG_MISSING_ENTRY,
                "the kubeconfig has no current context",
            )
            .detail(
                "kubectl fails with \"The connection to the server localhost:8080 was refused\" \
                     or \"current-context is not set\": no context is selected.",
            )
            .evidence("source", opts.source)
            .fix(
                Fix::new("Write (and select) a context for the cluster, or pick one")
                    .command(update_kubeconfig(None, None, None, opts.profile))
                    .command("kubectl config use-context CONTEXT"),
            ),
        ),
        Some(name) if !kc.contexts.iter().any(|c| c.name == name) => out.push(
            Finding::new(
                rules::KUBECONFIG_MISSING_ENTRY,
                format!("context {name:?} does not exist"),
            )
            .detail(format!(
                "kubectl fails with 'context was not found for specified context: {name}'. \
                 Contexts in the kubeconfig: {}.",
                names(kc.contexts.iter().map(|c| c.name.as_str()))
            ))
            .evidence("context", name)
            .evidence("source", opts.source)
            .fix(
                Fix::new("Write the context again").command(cluster_of_arn(name).map_or_else(
                    || update_kubeconfig(None, None, None, opts.profile),
                    |(n, r)| update_kubeconfig(Some(&n), Some(&r), None, opts.profile),
                )),
            ),
        ),
        _ => {}
    }
    for ctx in &kc.contexts {
        if opts.context.is_some_and(|c| c != ctx.name) {
            continue;
        }
        out.extend(lint_context(
            kc,
            ctx,
            selected == Some(ctx.name.as_str()),
            opts,
            on_path,
        ));
    }
    out
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

fn lint_context(
    kc: &Kubeconfig,
    ctx: &Context,
    selected: bool,
    opts: &Options<'_>,
    on_path: &dyn Fn(&str) -> bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let cluster = ctx
        .cluster
        .as_deref()
        .and_then(|n| kc.clusters.iter().find(|c| c.name == n));
    let user = ctx
        .user
        .as_deref()
        .and_then(|n| kc.users.iter().find(|u| u.name == n));
    let server = cluster.and_then(|c| c.server.as_deref());
    let eks = user.and_then(|u| match &u.auth {
        UserAuth::Exec(e) => EksExec::from_exec(e),
        _ => None,
    });
    // Name and region for the fix: the exec args, the context/cluster ARN, the server URL.
    let from_arn =
        cluster_of_arn(&ctx.name).or_else(|| ctx.cluster.as_deref().and_then(cluster_of_arn));
    let name = eks
        .as_ref()
        .and_then(|e| e.cluster.clone())
        .or_else(|| from_arn.as_ref().map(|(n, _)| n.clone()));
    let region = eks
        .as_ref()
        .and_then(|e| e.region.clone())
        .or_else(|| server.and_then(region_of_server))
        .or_else(|| from_arn.as_ref().map(|(_, r)| r.clone()));
    let role = eks.as_ref().and_then(|e| e.role_arn.clone());
    let profile = eks.as_ref().and_then(|e| e.profile.clone());
    let fix_cmd = |profile: Option<&str>| {
        update_kubeconfig(name.as_deref(), region.as_deref(), role.as_deref(), profile)
    };
    let base = |f: Finding| {
        f.evidence("context", ctx.name.as_str())
            .evidence("source", opts.source)
    };

    let missing: Vec<String> = [
        (ctx.cluster.as_deref(), cluster.is_some(), "cluster"),
        (ctx.user.as_deref(), user.is_some(), "user"),
    ]
    .into_iter()
    .filter(|(_, found, _)| !found)
    .map(|(n, _, kind)| match n {
        Some(n) => format!("{kind} {n:?}"),
        None => format!("no {kind}"),
    })
    .collect();
    if !missing.is_empty() {
        out.push(base(
            Finding::new(
                rules::KUBECONFIG_MISSING_ENTRY,
                format!(
                    "context {:?} names {} that the kubeconfig does not hold",
                    ctx.name,
                    missing.join(" and ")
                ),
            )
            .detail(
                "kubectl cannot build a client from a context whose cluster or user entry is \
                 missing (often a kubeconfig merged from files where one was deleted).",
            )
            .evidence("missing", missing.clone())
            .fix(
                Fix::new("Write the cluster, user and context entries again")
                    .command(fix_cmd(profile.as_deref())),
            ),
        ));
    }
    let Some(user) = user else { return out };
    let exec =
        match &user.auth {
            UserAuth::Exec(e) => e,
            other => {
                let how = match other {
                    UserAuth::Token => "a static token".to_owned(),
                    UserAuth::ClientCertificate => "a client certificate".to_owned(),
                    UserAuth::AuthProvider(p) => format!("the {p} auth-provider"),
                    _ => "no EKS token".to_owned(),
                };
                out.push(base(
                Finding::new(
                    rules::KUBECONFIG_NOT_EKS,
                    format!("context {:?} signs in with {how}, not an EKS token", ctx.name),
                )
                .detail(
                    "eksdoctor diagnoses IAM sign-in to EKS (an exec plugin building a k8s-aws-v1 \
                     token); this context is not diagnosed further.",
                )
                .evidence("user", user.name.as_str()),
            ));
                return out;
            }
        };
    if let Some(v) = exec.api_version.as_deref()
        && !SUPPORTED_EXEC_VERSIONS.contains(&v)
    {
        out.push(base(
            Finding::new(
                rules::KUBECONFIG_EXEC_API_VERSION,
                format!("user {:?} uses exec apiVersion {v}, which kubectl no longer accepts", user.name),
            )
            .detail(
                "client.authentication.k8s.io/v1alpha1 was removed in Kubernetes 1.24: kubectl \
                 fails with 'exec plugin: invalid apiVersion \"client.authentication.k8s.io/v1alpha1\"'. \
                 Kubeconfigs written by old aws CLI versions carry it; update the aws CLI and \
                 write the entry again (v1beta1).",
            )
            .evidence("user", user.name.as_str())
            .evidence("apiVersion", v)
            .fix(Fix::new("Update the aws CLI, then write the entry again").command(fix_cmd(profile.as_deref()))),
        ));
    }
    if !exec.command.is_empty() && !on_path(&exec.command) {
        out.push(base(
            Finding::new(
                rules::KUBECONFIG_EXEC_COMMAND_MISSING,
                format!(
                    "the exec command {:?} of user {:?} is not on PATH",
                    exec.command, user.name
                ),
            )
            .detail(
                "kubectl runs the exec plugin for every request; when it cannot be found kubectl \
                 fails with 'exec: executable ... not found'. Install it (the aws CLI v2, \
                 aws-iam-authenticator) or point the entry at its full path.",
            )
            .evidence("command", exec.command.as_str())
            .fix(
                Fix::new("Install the tool, or write the entry again with the aws CLI")
                    .command(fix_cmd(profile.as_deref())),
            ),
        ));
    }
    let Some(eks) = eks else {
        out.push(base(
            Finding::new(
                rules::KUBECONFIG_NOT_EKS,
                format!("context {:?} runs {:?}, not an EKS token command", ctx.name, exec.command),
            )
            .detail("Only aws eks get-token, aws-iam-authenticator token and eksdoctor token are diagnosed.")
            .evidence("command", exec.command.as_str()),
        ));
        return out;
    };
    if selected {
        let diagnosing = opts.profile.unwrap_or("default");
        if let Some(p) = eks.profile.as_deref()
            && p != diagnosing
        {
            let mut msg = format!(
                "kubectl signs in with AWS profile {p:?} (context {:?}), you are diagnosing profile {diagnosing:?}",
                ctx.name
            );
            if let Some(r) = &eks.role_arn {
                msg.push_str(&format!(", then assumes {r}"));
            }
            out.push(base(
                Finding::new(rules::KUBECONFIG_IDENTITY_MISMATCH, msg)
                    .detail(
                        "The exec plugin's --profile or env AWS_PROFILE wins over your shell's: \
                         the cluster sees that identity, not the one you checked. Either diagnose \
                         that profile (--profile) or write the entry for the profile you meant.",
                    )
                    .evidence("exec_profile", p)
                    .evidence("diagnosing_profile", diagnosing)
                    .evidence("exec", json!({"command": exec.command, "args": exec.args}))
                    .fix(
                        Fix::new("Write the entry for the profile you are diagnosing")
                            .command(fix_cmd(opts.profile)),
                    ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
