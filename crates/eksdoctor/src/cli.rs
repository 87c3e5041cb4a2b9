//! The command line, as `../shared/spec/cli.md` specifies it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Why can't I reach my EKS cluster or this AWS API, and what do I paste to fix it.
///
/// Without a command, opens the dashboard on live AWS (`--demo` for the
/// built-in scenario). Offline commands (explain, lint, policy eval, keys
/// --input, rules) need no credentials.
#[derive(Debug, Parser)]
#[command(
    name = "eksdoctor",
    version = crate::VERSION,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes, plus the AWS flags of the dashboard (the
/// commands that call AWS take [`AwsArgs`] themselves, so their help shows
/// them and `rules --help` does not). After parsing, [`Cli::resolve_aws`]
/// folds a command's AWS flags and AWS_PROFILE in here.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// AWS profile (else AWS_PROFILE, else the default chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region (else AWS_REGION / AWS_DEFAULT_REGION / the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (else AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No colour (NO_COLOR is honoured too).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// The dashboard on the built-in scenario: no AWS, no network.
    #[arg(long)]
    pub demo: bool,
    /// ASCII-only borders in the dashboard, for poor terminals.
    #[arg(long, global = true)]
    pub ascii: bool,
    /// The dashboard without the Kubernetes probes (each cluster's API: who it thinks you are, aws-auth, the console's reads, the pods), as `check --no-kubernetes`.
    #[arg(long)]
    pub no_kubernetes: bool,
    /// The dashboard's live Explain answers, for a role session: the session policy it was created with (AWS cannot read it back), as `explain --live --session-policy`.
    #[arg(long, value_name = "FILE")]
    pub session_policy: Option<PathBuf>,
    /// The dashboard's live Explain answers: a condition key of the request, KEY=VALUE (repeats), as `explain --live --context`.
    #[arg(long, value_name = "KEY=VALUE")]
    pub context: Vec<String>,
}

/// The AWS CLI's flags, for the commands that call AWS.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS profile (else AWS_PROFILE, else the default chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region (else AWS_REGION / AWS_DEFAULT_REGION / the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (else AWS_ENDPOINT_URL).
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl Cli {
    /// Fold the command's own AWS flags (which win over the same flags given
    /// before the command) and AWS_PROFILE into [`GlobalArgs`].
    pub fn resolve_aws(&mut self) {
        let sub = match &self.command {
            Some(Command::Whoami(a)) => Some(a.clone()),
            Some(Command::Explain(a)) => Some(a.aws.clone()),
            Some(Command::Check(a)) => Some(a.aws.clone()),
            Some(Command::Keys(a)) => Some(a.aws.clone()),
            Some(Command::Token(a)) => Some(a.aws.clone()),
            Some(Command::Lint(LintArgs {
                target: LintTarget::Kubeconfig(a),
            })) => Some(AwsArgs {
                profile: a.profile.clone(),
                ..AwsArgs::default()
            }),
            Some(Command::Lint(LintArgs {
                target: LintTarget::Sts(a),
            })) => Some(AwsArgs {
                region: a.region.clone(),
                ..AwsArgs::default()
            }),
            _ => None,
        };
        let g = &mut self.global;
        if let Some(sub) = sub {
            g.profile = sub.profile.or(g.profile.take());
            g.region = sub.region.or(g.region.take());
            g.endpoint_url = sub.endpoint_url.or(g.endpoint_url.take());
        }
        if g.profile.is_none() {
            g.profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    /// OCSF Detection Finding events (check only).
    Ocsf,
    /// AWS Security Hub findings (ASFF), in import batches (check only).
    Asff,
}

impl Format {
    /// OCSF or ASFF: the formats for security tooling, which only `check` renders.
    #[must_use]
    pub fn is_export(self) -> bool {
        matches!(self, Self::Ocsf | Self::Asff)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose pasted AWS or kubectl error text, a log, or CloudTrail JSON.
    Explain(ExplainArgs),
    /// Lint an aws-auth ConfigMap, STS endpoint settings, an IRSA trust policy, or a kubeconfig.
    Lint(LintArgs),
    /// Offline IAM policy evaluation.
    Policy(PolicyArgs),
    /// Access-key hygiene, live or from saved `aws iam list-access-keys` / credential report.
    Keys(KeysArgs),
    /// The caller as AWS and as the EKS authenticator see it.
    Whoami(AwsArgs),
    /// Every live probe, as a report.
    Check(CheckArgs),
    /// List the rules, or print one rule's page.
    Rules(RulesArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completions(CompletionsArgs),
    /// Write the man pages (eksdoctor.1 and one per command) into a directory.
    Man(ManArgs),
    /// The EKS bearer token as an ExecCredential (a kubeconfig exec plugin, like `aws eks get-token`).
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The cluster name (or, for local clusters on Outposts, its id).
    #[arg(long, visible_alias = "cluster-name", alias = "cluster-id")]
    pub cluster: String,
    /// Assume this role first (session name EKSGetTokenAuth, as `aws eks get-token`).
    #[arg(long)]
    pub role_arn: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The error text; `-` (or nothing, with piped input) reads stdin.
    pub text: Option<String>,
    /// A log file or CloudTrail JSON (one record a line, or {"Records": [...]}); gzip too. Repeats.
    #[arg(long, short = 'i')]
    pub input: Vec<PathBuf>,
    /// Read the account's real policies (read-only) and name the statement that decided each denial, with the smallest fix.
    #[arg(long)]
    pub live: bool,
    /// With --live, for a role session: the session policy it was created with (AWS cannot read it back).
    #[arg(long, value_name = "FILE", requires = "live")]
    pub session_policy: Option<PathBuf>,
    /// With --live: a condition key of the request, KEY=VALUE (repeats; KEY=[] for present and empty).
    #[arg(long, value_name = "KEY=VALUE", requires = "live")]
    pub context: Vec<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(subcommand)]
    pub target: LintTarget,
}

#[derive(Debug, Subcommand)]
pub enum LintTarget {
    /// Lint an aws-auth ConfigMap (kubectl -o yaml output or a manifest); `-` reads stdin.
    AwsAuth(LintAwsAuthArgs),
    /// Which STS endpoint each workload resolves to.
    Sts(LintStsArgs),
    /// An IRSA role's trust policy against a service account.
    Irsa(LintIrsaArgs),
    /// EKS Pod Identity: role trust, associations, the agent add-on, manifests.
    Podid(LintPodidArgs),
    /// How kubectl reaches each EKS cluster and as whom (default: $KUBECONFIG, else ~/.kube/config).
    Kubeconfig(LintKubeconfigArgs),
}

#[derive(Debug, Args)]
pub struct LintPodidArgs {
    /// A role's trust policy (JSON, or saved `aws iam get-role`). Repeats; matched to
    /// associations by role ARN.
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Saved `aws eks list-pod-identity-associations` / `describe-pod-identity-association`
    /// JSON. Repeats.
    #[arg(long)]
    pub associations: Vec<PathBuf>,
    /// Saved `aws eks describe-addon --addon-name eks-pod-identity-agent` or `list-addons`
    /// JSON. Repeats.
    #[arg(long)]
    pub addon: Vec<PathBuf>,
    /// The cluster's ARN (default: from the association ARNs).
    #[arg(long)]
    pub cluster_arn: Option<String>,
    /// NAMESPACE/NAME of the service account the pods use.
    #[arg(long)]
    pub service_account: Option<String>,
    /// A target role's trust policy, for associations with a target role. Repeats.
    #[arg(long)]
    pub target_trust: Vec<PathBuf>,
    /// Permission policies of the association's role (JSON or saved get-role-policy /
    /// get-policy-version): the target-role chain and the session tags they rely on. Repeats.
    #[arg(long)]
    pub policy: Vec<PathBuf>,
    /// Manifests: service accounts, pods and workloads.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LintKubeconfigArgs {
    /// One kubeconfig file, or `-` for stdin (default: $KUBECONFIG merged, else ~/.kube/config).
    pub file: Option<PathBuf>,
    /// Lint this context only (default: every context; identity for the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// The AWS profile being diagnosed (else AWS_PROFILE): kubeconfig/identity-mismatch
    /// compares the exec plugin's profile against it.
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintAwsAuthArgs {
    /// The ConfigMap file, or `-` for stdin.
    pub file: String,
    /// Print the corrected ConfigMap (to stdout, or --output-file).
    #[arg(long)]
    pub fix: bool,
    /// Write the corrected ConfigMap here (atomically; never over an existing file without --force).
    #[arg(long, requires = "fix")]
    pub output_file: Option<PathBuf>,
    /// Allow --output-file to replace an existing file.
    #[arg(long, requires = "output_file")]
    pub force: bool,
    /// Would this caller be mapped, and to what?
    #[arg(long)]
    pub principal: Option<String>,
    /// Saved access entries JSON (list-access-entries + describe-access-entry + list-associated-access-policies).
    #[arg(long)]
    pub access_entries: Option<PathBuf>,
    /// The cluster's authentication mode.
    #[arg(long, value_parser = ["API", "API_AND_CONFIG_MAP", "CONFIG_MAP"])]
    pub authentication_mode: Option<String>,
    /// Saved `aws iam list-roles` JSON, to restore role paths in migration commands.
    #[arg(long)]
    pub role_paths: Option<PathBuf>,
    /// The cluster name, for the migration commands.
    #[arg(long)]
    pub cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintStsArgs {
    /// Manifests, AWS config files, or source files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The cluster's Kubernetes version (1.22+ defaults pods to the regional endpoint).
    #[arg(long)]
    pub cluster_version: Option<String>,
    /// The region the workloads run in (else AWS_REGION / AWS_DEFAULT_REGION).
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintIrsaArgs {
    /// The role's trust policy (JSON, or saved `aws iam get-role` output).
    #[arg(long)]
    pub role_trust: Option<PathBuf>,
    /// NAMESPACE/NAME of the service account.
    #[arg(long)]
    pub service_account: Option<String>,
    /// The cluster's OIDC issuer URL.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Saved `aws iam get-role` JSON for roles named by manifests. Repeats.
    #[arg(long)]
    pub role: Vec<PathBuf>,
    /// Manifests whose service accounts carry eks.amazonaws.com/role-arn.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub action: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Would this action on this resource be allowed, and which statement decided?
    ///
    /// Exit status: 0 allow; 1 explicit-deny, implicit-deny or indeterminate (a condition
    /// needs a --context key); 2 bad input. How it decides: docs/policy-eval.md.
    Eval(PolicyEvalArgs),
}

#[derive(Debug, Args)]
pub struct PolicyEvalArgs {
    /// Identity-based policy files (JSON, or saved get-policy-version / get-role-policy /
    /// get-user-policy output). Repeats.
    #[arg(long)]
    pub policy: Vec<PathBuf>,
    /// The permissions boundary.
    #[arg(long)]
    pub boundary: Option<PathBuf>,
    /// Service control policies, one file per OU level (each level must allow). Repeats.
    #[arg(long)]
    pub scp: Vec<PathBuf>,
    /// Resource control policies (each must allow). Repeats.
    #[arg(long)]
    pub rcp: Vec<PathBuf>,
    /// The session policy.
    #[arg(long)]
    pub session_policy: Option<PathBuf>,
    /// A resource-based policy (bucket policy, key policy, queue policy, ...).
    #[arg(long)]
    pub resource_policy: Option<PathBuf>,
    /// A role trust policy (with --caller; JSON, or saved `aws iam get-role` output).
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// The calling principal: user, role, assumed-role or federated-user ARN, account
    /// root ARN, service (eks.amazonaws.com), or identity provider (oidc-provider ARN).
    #[arg(long)]
    pub caller: Option<String>,
    /// The action, e.g. eks:DescribeCluster or sts:AssumeRole / sts:AssumeRoleWithWebIdentity.
    #[arg(long)]
    pub action: String,
    /// The resource ARN (default `*`); with --trust, the role's ARN.
    #[arg(long)]
    pub resource: Option<String>,
    /// Condition context, KEY=VALUE. Repeats; a repeated key is multivalued;
    /// KEY=[] gives a key present with no value.
    #[arg(long)]
    pub context: Vec<String>,
    /// Treat every condition key not given with --context as absent from the request
    /// (AWS's answer) instead of unknown (decision `indeterminate`).
    #[arg(long)]
    pub absent_keys: bool,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The IAM user (live; default: the caller's own user).
    #[arg(long)]
    pub user: Option<String>,
    /// Saved `aws iam list-access-keys` JSON or the credential report (CSV or JSON). Repeats.
    #[arg(long, short = 'i')]
    pub input: Vec<PathBuf>,
    /// Rotation age in days.
    #[arg(long, default_value_t = 90)]
    pub max_age_days: u32,
    /// A key unused this many days is reported.
    #[arg(long, default_value_t = 90)]
    pub unused_days: u32,
    /// Evaluate ages as of this time (RFC 3339), for reproducible reports.
    #[arg(long, hide = true)]
    pub now: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// One cluster.
    #[arg(long, conflicts_with = "all_clusters")]
    pub cluster: Option<String>,
    /// Every cluster in the regions.
    #[arg(long)]
    pub all_clusters: bool,
    /// Regions to look in: R,R or `all`.
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Probes in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Each probe's deadline in seconds (retries included).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=600))]
    pub timeout: u16,
    /// Skip the console-permission check (iam:SimulatePrincipalPolicy).
    #[arg(long)]
    pub no_console: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Skip the Kubernetes probes (each cluster's API: who it thinks you are, aws-auth, the console's reads, the kubeconfig context).
    #[arg(long, conflicts_with = "can")]
    pub no_kubernetes: bool,
    /// The Kubernetes probes are on by default; kept so that scripts keep working.
    #[arg(long, hide = true, conflicts_with = "no_kubernetes")]
    pub kubernetes: bool,
    /// May I VERB RESOURCE (e.g. `--can list pods`, `--can get deployments.apps`)? Asked of each cluster.
    #[arg(long, num_args = 2, value_names = ["VERB", "RESOURCE"])]
    pub can: Vec<String>,
    /// The namespace for --can (default: cluster-wide).
    #[arg(short = 'n', long, requires = "can")]
    pub namespace: Option<String>,
    /// Send the Kubernetes probes here instead of DescribeCluster's endpoint (a tunnel, a test stand-in).
    #[arg(long, hide = true)]
    pub kube_endpoint: Option<String>,
    /// The CA (PEM file) to trust at --kube-endpoint.
    #[arg(long, requires = "kube_endpoint", hide = true)]
    pub kube_ca: Option<PathBuf>,
    /// The previous run's report (--format json, ocsf or asff, as this run): findings seen then keep their first-seen time, findings gone since are printed as resolved.
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgArgs,
}

/// `check --org`: the fleet run (crates/eksdoctor/src/cmd/check_org.rs).
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// Every active account of the organization (run from the management account or a delegated administrator).
    #[arg(long, conflicts_with_all = ["cluster", "kubernetes", "can"])]
    pub org: bool,
    /// The read-only role to assume in each account (docs/deploy/ creates it).
    #[arg(long, requires = "org", default_value = eksdoctor_aws::fleet::DEFAULT_ROLE_NAME)]
    pub role_name: String,
    /// The external id the role's trust policy requires (sts:ExternalId).
    #[arg(long, requires = "org")]
    pub external_id: Option<String>,
    /// The role session name member accounts' CloudTrail shows.
    #[arg(long, requires = "org", default_value = eksdoctor_aws::fleet::DEFAULT_SESSION_NAME)]
    pub session_name: String,
    /// Only these accounts: ID,ID (organizations:ListAccounts is then only used for names).
    #[arg(
        long,
        requires = "org",
        value_delimiter = ',',
        conflicts_with = "accounts_file"
    )]
    pub accounts: Vec<String>,
    /// Only the accounts listed in this file (ids separated by commas or newlines, # comments).
    #[arg(long, requires = "org")]
    pub accounts_file: Option<PathBuf>,
    /// Show the fleet run in the dashboard (the accounts on the Overview, Enter opens one).
    #[arg(long, requires = "org")]
    pub dashboard: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id, e.g. aws-auth/role-path.
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write eksdoctor.1, eksdoctor-explain.1, ...
    pub dir: PathBuf,
}
