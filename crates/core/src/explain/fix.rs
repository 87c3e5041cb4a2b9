//! Building blocks of the fixes: least-privilege policy documents scoped to
//! the resource a message names (or the narrowest sensible pattern when it
//! names none), and the command that attaches a policy to the principal.

use serde_json::{Value, json};

use crate::arn::{Principal, PrincipalKind};

use super::denial::{Denial, ResourceRef};

/// A policy document of these statements.
#[must_use]
pub fn policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The policy as one line, quoted for a shell (`'{"Version":...}'`).
#[must_use]
pub fn shell_json(v: &Value) -> String {
    q(&v.to_string())
}

/// A value from the input, quoted for any POSIX shell with the `shlex` crate
/// (single quotes around anything but plain `[A-Za-z0-9@%+=:,./_-]` words), so
/// that no input text can become a redirection, an expansion or a second
/// command. Control characters (which no shell quotes portably) become `?`.
#[must_use]
pub fn q(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    match shlex::try_quote(&clean) {
        Ok(c) => c.into_owned(),
        Err(_) => "''".to_owned(),
    }
}

/// A Sid from an action: `eks:DescribeCluster` → `AllowEksDescribeCluster`.
#[must_use]
pub fn sid(prefix: &str, action: &str) -> String {
    let mut out = prefix.to_owned();
    for part in action.split([':', '-', '_', '*', '.']) {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            out.extend(f.to_uppercase());
            out.push_str(c.as_str());
        }
    }
    out.retain(|c| c.is_ascii_alphanumeric());
    out
}

/// An inline policy name for the attach commands.
#[must_use]
pub fn policy_name(action: &str) -> String {
    let mut s: String = action
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(100);
    format!("eksdoctor-allow-{s}")
}

/// The resource a fix is scoped to, and whether the message named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub resource: String,
    /// The message named this exact resource.
    pub exact: bool,
    /// What to tell the operator about the scope.
    pub note: Option<String>,
}

fn service_and_name(action: &str) -> (String, &str) {
    match action.split_once(':') {
        Some((s, n)) => (s.to_ascii_lowercase(), n),
        None => (String::new(), action),
    }
}

/// EKS actions that take no resource ARN (Resource must be "*").
const EKS_UNSCOPED: &[&str] = &[
    "ListClusters",
    "CreateCluster",
    "DescribeAddonVersions",
    "DescribeAddonConfiguration",
    "DescribeClusterVersions",
    "ListAccessPolicies",
    "RegisterCluster",
    "ListEksAnywhereSubscriptions",
];

/// The narrowest pattern for an action when the message names no resource.
#[must_use]
pub fn pattern_for(action: &str, partition: &str, account: Option<&str>) -> (String, String) {
    let acct = account.unwrap_or("*");
    let (service, name) = service_and_name(action);
    let any = || {
        (
            "*".to_owned(),
            format!(
                "The message names no resource; {action} either takes no resource ARN or AWS left it out, so the policy uses \"*\". Narrow it to the resource's ARN where the action supports one."
            ),
        )
    };
    match service.as_str() {
        "eks" => {
            if EKS_UNSCOPED.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                return (
                    "*".to_owned(),
                    format!("{action} takes no resource ARN, so the policy uses \"*\"."),
                );
            }
            let kind = if name.contains("Nodegroup")
                && !name.starts_with("List")
                && name != "CreateNodegroup"
            {
                "nodegroup/*/*/*"
            } else if name.contains("Addon") && !name.starts_with("List") && name != "CreateAddon" {
                "addon/*/*/*"
            } else if name.contains("FargateProfile")
                && !name.starts_with("List")
                && name != "CreateFargateProfile"
            {
                "fargateprofile/*/*/*"
            } else if name.contains("AccessEntry")
                && !name.starts_with("List")
                && name != "CreateAccessEntry"
            {
                "access-entry/*/*/*/*/*"
            } else if name.contains("PodIdentityAssociation")
                && !name.starts_with("List")
                && name != "CreatePodIdentityAssociation"
            {
                "podidentityassociation/*/*"
            } else {
                "cluster/*"
            };
            (
                format!("arn:{partition}:eks:*:{acct}:{kind}"),
                format!(
                    "The message names no resource, so the policy covers every matching EKS resource of account {acct}; replace the * with the cluster's region and name (arn:{partition}:eks:REGION:{acct}:cluster/NAME) to grant just one."
                ),
            )
        }
        "iam" => {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("list") && !lower.contains("role") && !lower.contains("user") {
                return any();
            }
            let kind = if lower.contains("role") {
                "role/*"
            } else if lower.contains("user")
                || lower.contains("accesskey")
                || lower.contains("loginprofile")
                || lower.contains("mfa")
            {
                "user/*"
            } else if lower.contains("policy") {
                "policy/*"
            } else {
                return any();
            };
            (
                format!("arn:{partition}:iam::{acct}:{kind}"),
                format!(
                    "The message names no resource, so the policy covers every {} of account {acct}; replace the * with the name to grant just one.",
                    kind.trim_end_matches("/*")
                ),
            )
        }
        "sts" if name.to_ascii_lowercase().starts_with("assumerole") => (
            format!("arn:{partition}:iam::{acct}:role/*"),
            "The message names no role; replace role/* with the role you assume.".to_owned(),
        ),
        _ => any(),
    }
}

/// Resolve the resource of a denial to something a policy can name.
#[must_use]
pub fn scope(d: &Denial) -> Scope {
    let partition = d.partition();
    let account = d.account();
    let action = d.action.as_deref().unwrap_or("*");
    match &d.resource {
        Some(ResourceRef::Arn(a)) => Scope {
            resource: a.clone(),
            exact: true,
            note: None,
        },
        Some(ResourceRef::Named(n)) => {
            let (service, _) = service_and_name(action);
            // `role TestReadOnly`: an IAM role by name.
            let role = n.strip_prefix("role ").map(str::trim);
            if let (Some(role), true, Some(acct)) = (
                role,
                service == "iam" || service == "sts",
                account.as_deref(),
            ) && !role.is_empty()
                && !role.contains(char::is_whitespace)
            {
                return Scope {
                    resource: format!("arn:{partition}:iam::{acct}:role/{role}"),
                    exact: true,
                    note: Some(format!(
                        "The message names the role only by name; if {role} has a path, use its full ARN (aws iam get-role --role-name {role} --query Role.Arn --output text)."
                    )),
                };
            }
            let (resource, note) = pattern_for(action, &partition, account.as_deref());
            Scope {
                resource,
                exact: false,
                note: Some(format!(
                    "The message names the resource only as \"{n}\". {note}"
                )),
            }
        }
        Some(ResourceRef::This) | None => {
            let (resource, note) = pattern_for(action, &partition, account.as_deref());
            Scope {
                resource,
                exact: false,
                note: Some(note),
            }
        }
    }
}

/// How to give this principal an identity-based policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    pub commands: Vec<String>,
    /// A sentence for the fix summary or detail.
    pub note: Option<String>,
}

/// `AWSReservedSSO_PermSetName_0123456789abcdef` → `PermSetName`.
#[must_use]
pub fn permission_set_name(role: &str) -> Option<&str> {
    let rest = role.strip_prefix("AWSReservedSSO_")?;
    let (name, _hash) = rest.rsplit_once('_')?;
    (!name.is_empty()).then_some(name)
}

/// The command that puts `doc` on the principal as an inline policy.
#[must_use]
pub fn attach(
    principal: Option<&Principal>,
    principal_text: Option<&str>,
    name: &str,
    doc: &Value,
) -> Attach {
    let json = shell_json(doc);
    let Some(p) = principal else {
        if principal_text.is_none() {
            return Attach {
                commands: vec!["aws sts get-caller-identity --query Arn --output text".to_owned()],
                note: Some("The message does not name the caller, and eksdoctor does not guess it: run get-caller-identity (it needs no permission) with the same credentials that got the error (same profile, environment variables, instance or pod role), then attach the policy to the user or role it prints (aws iam put-user-policy or put-role-policy).".to_owned()),
            };
        }
        let who = principal_text.unwrap_or("the caller");
        let note = if who == "anonymous" {
            "The request was not signed (anonymous): sign it with AWS credentials that carry this policy, or grant the access in the resource's policy (rarely what you want).".to_owned()
        } else {
            format!(
                "{who} is not an IAM user or role, so no identity policy can be attached to it directly; attach the policy to the user or role that acts as it."
            )
        };
        return Attach {
            commands: Vec::new(),
            note: Some(note),
        };
    };
    match p.kind {
        PrincipalKind::User => Attach {
            commands: vec![format!(
                "aws iam put-user-policy --user-name {} --policy-name {} --policy-document {json}",
                q(&p.name),
                q(name)
            )],
            note: None,
        },
        PrincipalKind::Role | PrincipalKind::AssumedRole => {
            let role = p.role_name().unwrap_or(&p.name);
            if let Some(set) = permission_set_name(role) {
                return Attach {
                    commands: vec![
                        "aws sso-admin list-instances --query 'Instances[0].InstanceArn' --output text".to_owned(),
                        format!(
                            "aws sso-admin put-inline-policy-to-permission-set --instance-arn INSTANCE_ARN --permission-set-arn PERMISSION_SET_ARN --inline-policy {json}"
                        ),
                        format!(
                            "aws sso-admin provision-permission-set --instance-arn INSTANCE_ARN --permission-set-arn PERMISSION_SET_ARN --target-type AWS_ACCOUNT --target-id {}",
                            q(p.account().unwrap_or("ACCOUNT_ID"))
                        ),
                    ],
                    note: Some(format!(
                        "{role} is an IAM Identity Center role: IAM Identity Center owns it and reverts direct edits, so add the statement to the permission set {set} (in the Identity Center administration account) and provision it."
                    )),
                };
            }
            Attach {
                commands: vec![format!(
                    "aws iam put-role-policy --role-name {} --policy-name {} --policy-document {json}",
                    q(role),
                    q(name)
                )],
                note: (p.kind == PrincipalKind::AssumedRole).then(|| {
                    format!(
                        "The caller is a session of the role {role}; the policy goes on the role, and new sessions get it."
                    )
                }),
            }
        }
        PrincipalKind::FederatedUser => Attach {
            commands: vec![format!(
                "aws iam put-user-policy --user-name IAM_USER_THAT_CALLED_GETFEDERATIONTOKEN --policy-name {} --policy-document {json}", q(name)
            )],
            note: Some(format!(
                "{} is a federated user (GetFederationToken): its permissions are the intersection of the IAM user that requested the token and the session policy passed then. Add the statement to that IAM user's policy and to the session policy, then request a new token.",
                p.name
            )),
        },
        PrincipalKind::Root => Attach {
            commands: Vec::new(),
            note: Some("The root user is allowed everything its account grants: a denial of the root user comes from a service or resource control policy or a resource-based policy, not from a missing identity policy.".to_owned()),
        },
        PrincipalKind::Service => Attach {
            commands: Vec::new(),
            note: Some(format!(
                "{} is an AWS service acting on its own: identity policies do not apply to it. Grant it in the resource's policy (a statement with \"Principal\": {{\"Service\": \"{}\"}}) or in the role the service uses.",
                p.name, p.name
            )),
        },
    }
}

/// The principal element naming the caller in a trust or resource policy.
#[must_use]
pub fn principal_element(d: &Denial) -> Value {
    match &d.principal {
        Some(p) if p.kind == PrincipalKind::Service => json!({"Service": p.name}),
        Some(p) => match p.canonical_arn() {
            Some(a) => json!({"AWS": a}),
            None => json!({"AWS": p.to_string()}),
        },
        None => match d.principal_text.as_deref() {
            Some(t) if t.starts_with("arn:") => json!({"AWS": t}),
            _ => json!({"AWS": "CALLER_ARN"}),
        },
    }
}

/// The IAM role a resource ARN names: (name, account).
#[must_use]
pub fn role_of(resource: &str) -> Option<(String, String)> {
    let arn: crate::arn::Arn = resource.parse().ok()?;
    let rest = arn.resource.strip_prefix("role/")?;
    let name = rest.rsplit('/').next()?;
    (!name.is_empty() && !name.contains('*')).then(|| (name.to_owned(), arn.account.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sids() {
        assert_eq!(
            sid("Allow", "eks:DescribeCluster"),
            "AllowEksDescribeCluster"
        );
        assert_eq!(policy_name("iam:PassRole"), "eksdoctor-allow-iam-PassRole");
        assert_eq!(
            permission_set_name("AWSReservedSSO_Admin_0123456789abcdef"),
            Some("Admin")
        );
        assert_eq!(permission_set_name("eks-admin"), None);
    }

    #[test]
    fn patterns_are_partition_aware() {
        let (r, _) = pattern_for("eks:DescribeCluster", "aws-cn", Some("111122223333"));
        assert_eq!(r, "arn:aws-cn:eks:*:111122223333:cluster/*");
        assert_eq!(pattern_for("eks:ListClusters", "aws", None).0, "*");
        assert_eq!(
            pattern_for("iam:PassRole", "aws-us-gov", Some("111122223333")).0,
            "arn:aws-us-gov:iam::111122223333:role/*"
        );
        assert_eq!(
            pattern_for("codecommit:ListRepositories", "aws", None).0,
            "*"
        );
    }

    #[test]
    fn shell_quoting() {
        let quoted = shell_json(&json!({"a": "it's"}));
        assert_eq!(
            shlex::split(&quoted),
            Some(vec!["{\"a\":\"it's\"}".to_owned()])
        );
        assert_eq!(q("<CLUSTER-NAME>"), "'<CLUSTER-NAME>'");
        assert_eq!(q("prod"), "prod");
        assert_eq!(
            shlex::split(&q("$(rm -rf ~)")),
            Some(vec!["$(rm -rf ~)".to_owned()])
        );
        assert_eq!(
            role_of("arn:aws:iam::111122223333:role/team/eks-admin"),
            Some(("eks-admin".into(), "111122223333".into()))
        );
    }
}
