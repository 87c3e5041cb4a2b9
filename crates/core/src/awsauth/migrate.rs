//! aws-auth/migrate: the access entries that replace each mapping.
//!
//! Access entries need the principal's full ARN, role path included: the
//! opposite of aws-auth, where the path must be left out. The path is
//! restored from saved `aws iam list-roles` output when given, and said to be
//! unknown otherwise.

use super::arns::{MappedArn, classify, path_free_role_arn};
use super::reader::{AwsAuth, MapEntry, Section};
use super::rules::{FARGATE_USERNAME, NODE_USERNAME, RESERVED_PREFIXES};
use crate::access::RolePaths;
use crate::arn::PrincipalKind;
use crate::finding::{Finding, Fix};
use crate::rules;
use crate::snapshot::AuthenticationMode;

/// The access policy that replaces system:masters.
pub const CLUSTER_ADMIN_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/// What stands for the cluster name when `--cluster` is not given.
pub const CLUSTER_PLACEHOLDER: &str = "CLUSTER_NAME";

/// What the migration commands need to know.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    pub cluster: Option<String>,
    pub role_paths: RolePaths,
    pub authentication_mode: Option<AuthenticationMode>,
}

/// One mapping's replacement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// The ARN as aws-auth has it.
    pub mapped_arn: String,
    pub line: usize,
    /// The ARN the access entry needs.
    pub principal_arn: String,
    /// STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX.
    #[serde(rename = "type")]
    pub entry_type: &'static str,
    /// Whether the role's path is known (always true for users).
    pub path_known: bool,
    pub commands: Vec<String>,
}

/// Quote for a POSIX shell when needed.
#[must_use]
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:./@=,+".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The plan for one entry, or `None` when the entry maps nobody.
#[must_use]
pub fn plan(entry: &MapEntry, opts: &MigrateOptions) -> Option<Plan> {
    let a = entry.arn.as_ref()?;
    let MappedArn::Principal(p) = classify(&a.value) else {
        return None;
    };
    let (principal_arn, path_known) = match p.kind {
        PrincipalKind::Role if p.path != "/" => (a.value.clone(), true),
        PrincipalKind::Role | PrincipalKind::AssumedRole => {
            let free = path_free_role_arn(&p)?;
            let name = p.role_name().unwrap_or("");
            match opts.role_paths.full_arn(p.account().unwrap_or(""), name) {
                Some(full) => (full.to_owned(), true),
                None => (free, false),
            }
        }
        PrincipalKind::User | PrincipalKind::Root | PrincipalKind::FederatedUser => {
            (a.value.clone(), true)
        }
        PrincipalKind::Service => return None,
    };
    if p.kind == PrincipalKind::FederatedUser {
        // Access entries take IAM principals only.
        return None;
    }
    let cluster = shell_quote(opts.cluster.as_deref().unwrap_or(CLUSTER_PLACEHOLDER));
    let groups = entry.groups.names();
    let username = entry.username();
    let entry_type = if username == NODE_USERNAME {
        if groups.iter().any(|g| g == "eks:kube-proxy-windows") {
            "EC2_WINDOWS"
        } else {
            "EC2_LINUX"
        }
    } else if username == FARGATE_USERNAME {
        "FARGATE_LINUX"
    } else {
        "STANDARD"
    };
    let principal = shell_quote(&principal_arn);
    let mut create =
        format!("aws eks create-access-entry --cluster-name {cluster} --principal-arn {principal}");
    let mut commands = Vec::new();
    if entry_type == "STANDARD" {
        let k8s_groups: Vec<String> = groups
            .iter()
            .filter(|g| *g != "system:masters" && !g.is_empty())
            .map(|g| shell_quote(g))
            .collect();
        if !k8s_groups.is_empty() {
            create.push_str(" --kubernetes-groups ");
            create.push_str(&k8s_groups.join(" "));
        }
        let lower = username.to_ascii_lowercase();
        if !username.is_empty() && !RESERVED_PREFIXES.iter().any(|r| lower.starts_with(r)) {
            create.push_str(" --username ");
            create.push_str(&shell_quote(username));
        }
        create.push_str(" --type STANDARD");
        commands.push(create);
        if groups.iter().any(|g| g == "system:masters") {
            commands.push(format!(
                "aws eks associate-access-policy --cluster-name {cluster} --principal-arn {principal} --policy-arn {CLUSTER_ADMIN_POLICY} --access-scope type=cluster"
            ));
        }
    } else {
        create.push_str(" --type ");
        create.push_str(entry_type);
        commands.push(create);
    }
    Some(Plan {
        mapped_arn: a.value.clone(),
        line: a.line,
        principal_arn,
        entry_type,
        path_known,
        commands,
    })
}

/// Every mapping's plan, mapRoles then mapUsers, in file order.
#[must_use]
pub fn plans(auth: &AwsAuth, opts: &MigrateOptions) -> Vec<Plan> {
    auth.entries(Section::Roles)
        .chain(auth.entries(Section::Users))
        .filter(|e| !e.ignored())
        .filter_map(|e| plan(e, opts))
        .collect()
}

/// The aws-auth/migrate finding, when the ConfigMap maps anyone.
#[must_use]
pub fn finding(auth: &AwsAuth, opts: &MigrateOptions) -> Option<Finding> {
    let plans = plans(auth, opts);
    let accounts: Vec<&str> = auth
        .effective(Section::Accounts)
        .map(|v| v.accounts.iter().map(|a| a.value.as_str()).collect())
        .unwrap_or_default();
    if plans.is_empty() && accounts.is_empty() {
        return None;
    }
    let unknown: Vec<&Plan> = plans.iter().filter(|p| !p.path_known).collect();
    let mut detail = String::from(
        "The aws-auth ConfigMap is deprecated: EKS access entries replace it, are managed through the EKS API (no kubectl needed, no YAML to break) and take precedence over aws-auth for the same principal in API_AND_CONFIG_MAP mode. Create the entries below, check access, then remove the mappings from aws-auth and finally switch the cluster to API. Access entries need the principal's full ARN, role path included, the opposite of aws-auth.",
    );
    if !unknown.is_empty() {
        let roles: Vec<String> = unknown
            .iter()
            .map(|p| format!("{} (line {})", p.principal_arn, p.line))
            .collect();
        detail.push_str(&format!(
            " The path of {} role{} is unknown: the commands use the path-free ARN, which is right only if the role has no path; check with `aws iam get-role --role-name NAME --query Role.Arn` or pass --role-paths with saved `aws iam list-roles` output. Unknown: {}.",
            unknown.len(),
            if unknown.len() == 1 { "" } else { "s" },
            roles.join(", ")
        ));
    }
    if !accounts.is_empty() {
        detail.push_str(&format!(
            " mapAccounts ({}) has no access-entry equivalent: each principal of those accounts needs its own access entry.",
            accounts.join(", ")
        ));
    }
    if opts.cluster.is_none() {
        detail.push_str(&format!(
            " Replace {CLUSTER_PLACEHOLDER} with the cluster name (or pass --cluster)."
        ));
    }
    let cluster = shell_quote(opts.cluster.as_deref().unwrap_or(CLUSTER_PLACEHOLDER));
    let mut fix = Fix::new("create an access entry for each mapping");
    if opts
        .authentication_mode
        .is_none_or(|m| m == AuthenticationMode::ConfigMap)
    {
        fix = fix.command(format!(
            "aws eks update-cluster-config --name {cluster} --access-config authenticationMode=API_AND_CONFIG_MAP"
        ));
    }
    for p in &plans {
        for c in &p.commands {
            fix = fix.command(c.clone());
        }
    }
    Some(
        Finding::new(
            rules::AWS_AUTH_MIGRATE,
            format!(
                "aws-auth is deprecated: {} mapping{} to move to access entries",
                plans.len(),
                if plans.len() == 1 { "" } else { "s" }
            ),
        )
        .detail(detail)
        .evidence(
            "mappings",
            serde_json::to_value(&plans).unwrap_or(serde_json::Value::Null),
        )
        .evidence(
            "unknown_paths",
            unknown
                .iter()
                .map(|p| serde_json::Value::from(p.principal_arn.clone()))
                .collect::<Vec<_>>(),
        )
        .at(&auth.file, auth.data_line)
        .fix(fix),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("system:masters"), "system:masters");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("{{SessionName}}"), "'{{SessionName}}'");
    }
}
