//! aws-auth/migrate: the access entries that replace each mapping.
//!
//! Access entries need the principal's full ARN, role path included: the
//! opposite of aws-auth, where the path must be left out. The path is
//! restored from saved `aws iam list-roles` output when given, and said to be
//! unknown otherwise.

use super::arns::{MappedArn, classify, path_free_role_arn};
use super::effective;
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

/// A mapping left out of the migration, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    pub line: usize,
    pub arn: String,
    pub why: String,
}

/// What to migrate: exactly the mappings in effect, once each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Migration {
    pub plans: Vec<Plan>,
    /// Entries that grant nothing today (migrating them would grant new access).
    pub left_out: Vec<LeftOut>,
}

/// Why an entry that the authenticator reads is not the one in effect.
fn why_ignored(w: &effective::Winners<'_>, e: &MapEntry, a: &super::reader::Field) -> String {
    if e.arn_and_sso() {
        return "it has both rolearn and sso, and the authenticator rejects it".to_owned();
    }
    match classify(&a.value) {
        MappedArn::Invalid(why) => return format!("it is not a valid IAM ARN ({why})"),
        MappedArn::Principal(p) if p.kind == PrincipalKind::AssumedRole => {
            return "it is an sts assumed-role ARN, which the authenticator never matches (aws-auth/assumed-role-arn)".to_owned();
        }
        MappedArn::Principal(p) if p.kind == PrincipalKind::Role && p.path != "/" => {
            return "its ARN has a path, which the authenticator never matches (aws-auth/role-path)".to_owned();
        }
        MappedArn::Principal(_) => {}
    }
    match w.winner(&a.value) {
        Some(o) if o.section != e.section => format!(
            "the {} entry on line {} for the same ARN is the one in effect ({} is looked up first)",
            o.section.key(),
            o.arn.as_ref().map_or(o.line, |x| x.line),
            o.section.key()
        ),
        Some(o) => format!(
            "the entry on line {} for the same ARN is the one in effect (aws-auth/duplicate)",
            o.arn.as_ref().map_or(o.line, |x| x.line)
        ),
        None => "the authenticator does not use it".to_owned(),
    }
}

/// The mappings to migrate: each principal's entry in effect, once.
#[must_use]
pub fn migration(auth: &AwsAuth, opts: &MigrateOptions) -> Migration {
    let mut m = Migration::default();
    if auth.rejected().is_some()
        || auth
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != "kube-system")
    {
        return m;
    }
    let w = effective::Winners::new(auth);
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for e in auth
        .entries(Section::Roles)
        .chain(auth.entries(Section::Users))
    {
        let Some(a) = e.arn.as_ref().filter(|a| !a.value.is_empty()) else {
            continue;
        };
        if e.not_a_mapping.is_some() {
            continue;
        }
        if !w.in_effect(e) {
            m.left_out.push(LeftOut {
                line: a.line,
                arn: a.value.clone(),
                why: why_ignored(&w, e, a),
            });
            continue;
        }
        // mapUsers entries differing only in case: the authenticator picks either.
        if e.section == Section::Users
            && let Some(other) = w.case_variants(e).first()
        {
            m.left_out.push(LeftOut {
                line: a.line,
                arn: a.value.clone(),
                why: format!(
                    "mapUsers also maps it on line {} with the ARN in another case, and which entry the authenticator uses is not defined: keep one, then migrate it",
                    other.arn.as_ref().map_or(other.line, |x| x.line)
                ),
            });
            continue;
        }
        let Some(p) = plan(e, opts) else { continue };
        if seen.insert(p.principal_arn.to_lowercase()) {
            m.plans.push(p);
        }
    }
    m
}

/// Every mapping's plan (those in effect, once each), mapRoles then mapUsers.
#[must_use]
pub fn plans(auth: &AwsAuth, opts: &MigrateOptions) -> Vec<Plan> {
    migration(auth, opts).plans
}

/// The aws-auth/migrate finding, when the ConfigMap maps anyone.
#[must_use]
pub fn finding(auth: &AwsAuth, opts: &MigrateOptions) -> Option<Finding> {
    let Migration { plans, left_out } = migration(auth, opts);
    let accounts: Vec<&str> = if auth.rejected().is_some() {
        Vec::new()
    } else {
        auth.effective(Section::Accounts)
            .filter(|v| v.parse_error.is_none())
            .map(|v| v.accounts.iter().map(|a| a.value.as_str()).collect())
            .unwrap_or_default()
    };
    if plans.is_empty() && accounts.is_empty() {
        return None;
    }
    let unknown: Vec<&Plan> = plans.iter().filter(|p| !p.path_known).collect();
    let mut detail = String::from(
        "The aws-auth ConfigMap is deprecated: EKS access entries replace it, are managed through the EKS API (no kubectl needed, no YAML to break) and take precedence over aws-auth for the same principal in API_AND_CONFIG_MAP mode. Create the entries below, check access, then remove the mappings from aws-auth and finally switch the cluster to API. Access entries need the principal's full ARN, role path included, the opposite of aws-auth. Only the mappings in effect today are migrated, once each.",
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
    if !left_out.is_empty() {
        let items: Vec<String> = left_out
            .iter()
            .map(|l| format!("line {} {}: {}", l.line, l.arn, l.why))
            .collect();
        detail.push_str(&format!(
            " Left out, because {} grant{} nothing today and migrating would grant access nobody has now: {}.",
            if left_out.len() == 1 { "it" } else { "they" },
            if left_out.len() == 1 { "s" } else { "" },
            items.join("; ")
        ));
    }
    if !accounts.is_empty() {
        detail.push_str(&format!(
            " mapAccounts ({}) has no access-entry equivalent: each principal of those accounts needs its own access entry.",
            accounts.join(", ")
        ));
    }
    if opts.cluster.is_none() && !plans.is_empty() {
        detail.push_str(&format!(
            " Replace {CLUSTER_PLACEHOLDER} with the cluster name (or pass --cluster)."
        ));
    }
    let cluster = shell_quote(opts.cluster.as_deref().unwrap_or(CLUSTER_PLACEHOLDER));
    let mut fix = Fix::new(if plans.is_empty() {
        "create an access entry for each principal of the mapped accounts"
    } else {
        "create an access entry for each mapping"
    });
    if !plans.is_empty()
        && opts
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
        .evidence(
            "left_out",
            serde_json::to_value(&left_out).unwrap_or(serde_json::Value::Null),
        )
        .at(&auth.file, auth.data_line)
        .fix(fix),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsauth::reader::{Read, read};

    fn one(data: &str) -> AwsAuth {
        let text = format!(
            "kind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n{data}"
        );
        match read(&text, "f").unwrap() {
            Read::ConfigMaps(mut v) => v.remove(0),
            Read::Invalid(e) => panic!("{e}"),
        }
    }

    /// Issue 18: the losing duplicate and the path-carrying role grant
    /// nothing today; migrating them would. Each principal once.
    #[test]
    fn migrates_exactly_the_mappings_in_effect() {
        let a = one(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/build\n      username: build\n      groups: [builders]\n    - rolearn: arn:aws:iam::111122223333:role/ci/build\n      username: build-admin\n      groups: [system:masters]\n    - rolearn: arn:aws:iam::111122223333:role/dev\n      username: old\n    - rolearn: arn:aws:iam::111122223333:role/dev\n      username: new\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:role/dev\n      username: shadowed\n",
        );
        let m = migration(&a, &MigrateOptions::default());
        let arns: Vec<&str> = m.plans.iter().map(|p| p.principal_arn.as_str()).collect();
        assert_eq!(
            arns,
            vec![
                "arn:aws:iam::111122223333:role/build",
                "arn:aws:iam::111122223333:role/dev"
            ]
        );
        assert!(m.plans[1].commands[0].contains("--username new"));
        let lines: Vec<usize> = m.left_out.iter().map(|l| l.line).collect();
        assert_eq!(lines, vec![10, 13, 18], "{:?}", m.left_out);
        assert!(m.left_out[0].why.contains("path"));
        assert!(m.left_out[1].why.contains("line 15"));
        assert!(m.left_out[2].why.contains("mapRoles is looked up first"));
        let f = finding(&a, &MigrateOptions::default()).unwrap();
        assert!(f.detail.contains("Left out"), "{}", f.detail);
    }

    #[test]
    fn no_mappings_no_advice() {
        let a = one(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/team/x\n      username: x\n",
        );
        assert!(finding(&a, &MigrateOptions::default()).is_none());
        let a = one("  mapRoles: ''\n");
        assert!(finding(&a, &MigrateOptions::default()).is_none());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("system:masters"), "system:masters");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("{{SessionName}}"), "'{{SessionName}}'");
    }
}
