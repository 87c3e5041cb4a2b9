//! Findings for the non-IAM texts (cluster/, creds/, sts/, irsa/, keys/).

use serde_json::{Value, json};

use crate::arn::{Principal, PrincipalKind};
use crate::finding::{Finding, Fix};
use crate::mask::mask_key_id;
use crate::rules;

use super::Diagnosis;
use super::fix::q;
use super::forms::{ExpiredKind, Forbidden, OidcProvider, TextForm};
use super::secrets::SecretSighting;
use super::tools::{self, Tool};

/// `evidence.parsed` for findings that are not IAM denials.
fn parsed(principal: Value, action: Option<&str>, resource: Option<&str>) -> Value {
    json!({
        "principal": principal,
        "action": action,
        "resource": resource,
        "denial": {"kind": "unspecified", "policy_type": Value::Null, "policy_arn": Value::Null},
        "count": 1,
    })
}

fn k8s_principal(user: &str) -> Value {
    match Principal::parse(user) {
        Ok(p) if p.arn.is_some() => json!({
            "arn": user,
            "kind": p.kind.as_str(),
            "account": p.account(),
            "name": p.name,
            "path": p.path,
            "session": p.session,
        }),
        _ => {
            json!({"arn": Value::Null, "kind": Value::Null, "account": Value::Null, "name": user, "path": Value::Null, "session": Value::Null})
        }
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn yaml_str(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn diag(key: String, finding: Finding) -> Diagnosis {
    Diagnosis { key, finding }
}

/// Findings for one recognised text form.
#[must_use]
pub fn diagnose_form(form: &TextForm) -> Diagnosis {
    diagnose_form_from(form, None)
}

/// [`diagnose_form`] for text that came from `tool` (`terraform`,
/// `cloudformation`): the fix also carries that tool's resource change.
#[must_use]
pub fn diagnose_form_from(form: &TextForm, tool: Option<&str>) -> Diagnosis {
    let mut d = diagnose_form_plain(form);
    if let Some(t) = Tool::from_name(tool)
        && let Some(change) = tool_change(form, t)
        && let Some(fix) = d.finding.fix.as_mut()
    {
        fix.replacement = Some(match fix.replacement.take() {
            Some(rest) => format!("{change}\n\n# Or, without the tool:\n{rest}"),
            None => change,
        });
    }
    d
}

/// The tool's resource change for a form, where one exists: EKS access
/// entries for the cluster's refusals.
fn tool_change(form: &TextForm, t: Tool) -> Option<String> {
    match form {
        TextForm::Forbidden(f) => {
            let (principal_arn, policy, groups) = forbidden_grant(f);
            Some(tools::access_entry(
                t,
                &principal_arn,
                &format!("arn:aws:eks::aws:cluster-access-policy/{policy}"),
                f.namespace.as_deref(),
                &groups,
            ))
        }
        TextForm::Unauthorized => Some(format!(
            "{}\n# The identity the tool runs as (aws sts get-caller-identity) is not mapped into the cluster. Narrow the access policy to what the code manages; with the terraform-aws-modules/eks module, enable_cluster_creator_admin_permissions = true maps the creator.",
            tools::access_entry(
                t,
                "PRINCIPAL_ARN",
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                None,
                &[],
            )
        )),
        TextForm::ConsoleNoK8sAccess { .. } => Some(tools::access_entry(
            t,
            "arn:aws:iam::ACCOUNT_ID:role/PATH/ROLE_NAME",
            VIEW_POLICY,
            None,
            &[],
        )),
        _ => None,
    }
}

fn diagnose_form_plain(form: &TextForm) -> Diagnosis {
    match form {
        TextForm::ConsoleNoK8sAccess { iam_principal } => console(*iam_principal),
        TextForm::Unauthorized => unauthorized(),
        TextForm::Forbidden(f) => forbidden(f),
        TextForm::AccessEntryPath { principal_arn } => access_entry_path(principal_arn.as_deref()),
        TextForm::StsGlobalEndpoint { region } => global_endpoint(region.as_deref()),
        TextForm::Expired { kind, code, action } => expired(*kind, code, action.as_deref()),
        TextForm::Invalid { code, action } => invalid(code, action.as_deref()),
        TextForm::KeysLimit => keys_limit(),
        TextForm::WebIdentityDenied { provider, role } => web_identity(*provider, role.as_deref()),
        TextForm::Anonymous(f) => anonymous(f),
        TextForm::LostSecret => lost_secret(),
    }
}

const VIEW_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

fn console(iam_principal: bool) -> Diagnosis {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EksConsoleReadOnly",
            "Effect": "Allow",
            "Action": [
                "eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup",
                "eks:ListFargateProfiles", "eks:DescribeFargateProfile", "eks:ListAddons", "eks:DescribeAddon",
                "eks:ListUpdates", "eks:DescribeUpdate", "eks:ListIdentityProviderConfigs",
                "eks:ListAccessEntries", "eks:ListAssociatedAccessPolicies", "eks:AccessKubernetesApi",
                "ssm:GetParameter"
            ],
            "Resource": "*"
        }]
    });
    let replacement = "# aws-auth ConfigMap (kube-system), under data.mapRoles: the role ARN WITHOUT its path\nmapRoles: |\n  - rolearn: arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME\n    username: console-viewer\n    groups:\n      - eks-console-dashboard-full-access-group";
    let f = Finding::new(
        rules::CLUSTER_CONSOLE_NO_K8S_ACCESS,
        if iam_principal {
            "The EKS console: your IAM principal has no access to Kubernetes objects on this cluster"
        } else {
            "The EKS console: your user or role has no access to Kubernetes objects on this cluster"
        },
    )
    .detail(
        "The console shows nodes and workloads by calling the cluster's Kubernetes API as the IAM principal you are signed in with, so two halves must both be in place. (1) IAM: the principal needs the console's EKS read permissions (the policy below). (2) Kubernetes: the principal must be mapped into the cluster, by an access entry (authentication mode API or API_AND_CONFIG_MAP) or an aws-auth entry, and that identity needs RBAC permission to list the objects: an access policy such as AmazonEKSViewPolicy, or the eks-console-dashboard-full-access-group binding. Access entries take the role's full ARN with its path; aws-auth takes it without the path. For an assumed role (SSO included) map the role, not the session.",
    )
    .evidence("parsed", parsed(Value::Null, None, None))
    .fix(
        Fix::new("Give the principal the console's EKS permissions, then map it into the cluster with view rights (access entry, or aws-auth + RBAC)")
            .policy(policy)
            .command("aws sts get-caller-identity --query Arn --output text")
            .command("aws eks create-access-entry --cluster-name CLUSTER --principal-arn arn:aws:iam::ACCOUNT_ID:role/PATH/ROLE_NAME")
            .command(format!("aws eks associate-access-policy --cluster-name CLUSTER --principal-arn arn:aws:iam::ACCOUNT_ID:role/PATH/ROLE_NAME --access-scope type=cluster --policy-arn {VIEW_POLICY}"))
            .command("kubectl apply -f https://s3.us-west-2.amazonaws.com/amazon-eks/docs/eks-console-full-access.yaml")
            .command("eksctl create iamidentitymapping --cluster CLUSTER --arn arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME --username console-viewer --group eks-console-dashboard-full-access-group")
            .replacement(replacement),
    );
    diag(
        format!(
            "{}\u{1e}{iam_principal}",
            rules::CLUSTER_CONSOLE_NO_K8S_ACCESS.id
        ),
        f,
    )
}

fn unauthorized() -> Diagnosis {
    let f = Finding::new(
        rules::CLUSTER_UNAUTHORIZED,
        "kubectl: the cluster did not accept your credentials (Unauthorized)",
    )
    .detail(
        "kubectl sends a token that `aws eks get-token` signs with the AWS identity your kubeconfig selects. Unauthorized means the API server could not map that identity to a Kubernetes user: the identity is in neither the cluster's access entries nor the aws-auth ConfigMap (or the cluster's authentication mode ignores the one it is in), the kubeconfig uses another profile or role than you think (AWS_PROFILE, --role-arn in the exec args), the credentials behind the token expired, or the kubeconfig points at another cluster or region. Compare the ARN that get-caller-identity prints with the cluster's mappings: an assumed role is matched as its role ARN (arn:aws:iam::ACCOUNT:role/NAME).",
    )
    .evidence("parsed", parsed(Value::Null, None, None))
    .fix(
        Fix::new("Check which identity kubectl uses, refresh the kubeconfig, and map the identity into the cluster")
            .command("kubectl config view --minify -o jsonpath='{.users[0].user.exec.args} {.users[0].user.exec.env}'")
            .command("aws sts get-caller-identity")
            .command("aws eks update-kubeconfig --name CLUSTER --region REGION")
            .command("aws eks describe-cluster --name CLUSTER --region REGION --query cluster.accessConfig.authenticationMode")
            .command("aws eks list-access-entries --cluster-name CLUSTER --region REGION")
            .command("aws eks create-access-entry --cluster-name CLUSTER --region REGION --principal-arn PRINCIPAL_ARN"),
    );
    diag(rules::CLUSTER_UNAUTHORIZED.id.to_owned(), f)
}

fn access_policy_for(verb: &str) -> &'static str {
    match verb {
        "get" | "list" | "watch" => "AmazonEKSViewPolicy",
        "create" | "update" | "patch" | "delete" | "deletecollection" => "AmazonEKSEditPolicy",
        _ => "AmazonEKSAdminPolicy",
    }
}

/// What a Kubernetes RBAC denial is granted to: the principal's IAM ARN for
/// the access entry, the access policy for the verb, and the stable group
/// that replaces a per-session username (an assumed role's).
fn forbidden_grant(f: &Forbidden) -> (String, &'static str, Vec<String>) {
    let (principal_arn, group) = forbidden_principal(f);
    (
        principal_arn,
        access_policy_for(&f.verb),
        group.into_iter().collect(),
    )
}

fn forbidden_principal(f: &Forbidden) -> (String, Option<String>) {
    let principal = Principal::parse(&f.user).ok().filter(|p| p.arn.is_some());
    let principal_arn = principal
        .as_ref()
        .and_then(|p| match p.kind {
            PrincipalKind::AssumedRole | PrincipalKind::Role | PrincipalKind::User => {
                p.canonical_arn()
            }
            _ => None,
        })
        .unwrap_or_else(|| "PRINCIPAL_ARN".to_owned());
    // Bind something stable: a service account as itself, a plain username as
    // itself, but never the per-session username of an assumed role (it changes
    // with every session): a group its mapping carries instead.
    let per_session = principal
        .as_ref()
        .is_some_and(|p| p.kind == PrincipalKind::AssumedRole);
    let group_name = principal.as_ref().filter(|_| per_session).map(|p| {
        let role: String = p
            .role_name()
            .unwrap_or(&p.name)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("eksdoctor:{role}")
    });
    (principal_arn, group_name)
}

fn forbidden(f: &Forbidden) -> Diagnosis {
    let scope = f.namespace.as_ref().map_or_else(
        || "at the cluster scope".to_owned(),
        |ns| format!("in namespace {ns}"),
    );
    let group = if f.api_group.is_empty() {
        "core".to_owned()
    } else {
        f.api_group.clone()
    };
    let (principal_arn, group_name) = forbidden_principal(f);
    let access_scope = f.namespace.as_ref().map_or_else(
        || "type=cluster".to_owned(),
        |ns| format!("type=namespace,namespaces={ns}"),
    );
    let policy = access_policy_for(&f.verb);
    let subject = if let Some(g) = &group_name {
        format!(
            "  - apiGroup: rbac.authorization.k8s.io\n    kind: Group\n    name: {}",
            yaml_str(g)
        )
    } else if let Some(sa) = f.user.strip_prefix("system:serviceaccount:")
        && let Some((ns, name)) = sa.split_once(':')
    {
        format!(
            "  - kind: ServiceAccount\n    name: {}\n    namespace: {}",
            yaml_str(name),
            yaml_str(ns)
        )
    } else {
        format!(
            "  - apiGroup: rbac.authorization.k8s.io\n    kind: User\n    name: {}",
            yaml_str(&f.user)
        )
    };
    let name: String = format!("eksdoctor-{}-{}", f.verb, f.resource)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let rbac = if f.path {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\nrules:\n  - nonResourceURLs: [{}]\n    verbs: [{}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {name}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {name}\nsubjects:\n{subject}",
            yaml_str(&f.resource),
            yaml_str(&f.verb)
        )
    } else {
        let (kind, binding, ns_meta) = match &f.namespace {
            Some(ns) => (
                "Role",
                "RoleBinding",
                format!("\n  namespace: {}", yaml_str(ns)),
            ),
            None => ("ClusterRole", "ClusterRoleBinding", String::new()),
        };
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {name}{ns_meta}\nrules:\n  - apiGroups: [{}]\n    resources: [{}]\n    verbs: [{}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {binding}\nmetadata:\n  name: {name}{ns_meta}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n  name: {name}\nsubjects:\n{subject}",
            yaml_str(&f.api_group),
            yaml_str(&f.resource),
            yaml_str(&f.verb)
        )
    };
    let ns_flag = f
        .namespace
        .as_ref()
        .map(|ns| format!(" -n {}", q(ns)))
        .unwrap_or_default();
    let what = if f.path {
        format!("path {}", f.resource)
    } else {
        format!("{} ({group} API group)", f.resource)
    };
    let finding = Finding::new(
        rules::CLUSTER_FORBIDDEN,
        format!("Kubernetes RBAC: {} may not {} {what} {scope}", f.user, f.verb),
    )
    .detail(format!(
        "The cluster recognised you as Kubernetes user \"{}\", so the IAM side works; what is missing is a permission inside the cluster. Neither the EKS access policies associated with your access entry nor any RBAC Role/ClusterRole bound to this user (or its groups) allows {} on {what} {scope}. Either associate an EKS access policy ({policy} covers {}), or apply the Role and binding below (least privilege: exactly this verb and resource).",
        f.user, f.verb, f.verb
    ) + &group_name.as_ref().map(|g| format!(" The username ends in the session name, which changes with every session: binding it would stop working at the next login. The binding below names the group {g}; add it to the role's mapping (access entry --kubernetes-groups, or groups: in aws-auth). Prefer the access policy association where the cluster has access entries.")).unwrap_or_default())
    .evidence("parsed", parsed(k8s_principal(&f.user), Some(&f.verb), Some(&f.resource)))
    .evidence(
        "kubernetes",
        json!({"user": f.user, "verb": f.verb, "resource": f.resource, "api_group": f.api_group, "namespace": f.namespace}),
    )
    .fix({
        let mut fx = Fix::new(match &group_name {
            Some(g) => format!("Grant exactly this verb on this resource to the role, not to one session: an EKS access policy for the role's access entry, or RBAC bound to the group {g} that the role's mapping carries"),
            None => "Grant exactly this verb on this resource: an EKS access policy for the access entry, or RBAC".to_owned(),
        })
        .command(format!(
            "aws eks associate-access-policy --cluster-name CLUSTER --principal-arn {} --access-scope {} --policy-arn {}",
            q(&principal_arn),
            q(&access_scope),
            q(&format!("arn:aws:eks::aws:cluster-access-policy/{policy}"))
        ));
        if let Some(g) = &group_name {
            fx = fx.command(format!(
                "aws eks update-access-entry --cluster-name CLUSTER --principal-arn {} --kubernetes-groups {}",
                q(&principal_arn),
                q(g)
            ));
        }
        fx = fx.command("kubectl apply -f rbac.yaml");
        let as_who = match &group_name {
            Some(g) => format!("--as {} --as-group {}", q(&f.user), q(g)),
            None => format!("--as {}", q(&f.user)),
        };
        fx.command(format!("kubectl auth can-i {} {}{ns_flag} {as_who}", q(&f.verb), q(&f.resource)))
            .replacement(rbac)
    });
    diag(
        format!(
            "{}\u{1e}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{:?}",
            rules::CLUSTER_FORBIDDEN.id,
            f.user,
            f.verb,
            f.resource,
            f.api_group,
            f.namespace
        ),
        finding,
    )
}

fn access_entry_path(principal_arn: Option<&str>) -> Diagnosis {
    let name = principal_arn
        .and_then(|a| a.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("ROLE_NAME");
    let mut detail = "EKS rejected the access entry's principal ARN. Access entries need the IAM role's (or user's) exact ARN including its path, e.g. arn:aws:iam::111122223333:role/team/developers/eks-admin, and IAM Identity Center roles under /aws-reserved/sso.amazonaws.com/[REGION/]: the opposite of aws-auth, which needs the ARN without the path. An sts assumed-role ARN is not a valid principal either: use the role's ARN.".to_owned();
    if let Some(a) = principal_arn {
        detail.push_str(&format!(" The input names {a}."));
    }
    let f = Finding::new(
        rules::CLUSTER_ACCESS_ENTRY_PATH,
        "EKS rejected the access entry's principal ARN: give the role's full ARN, path included",
    )
    .detail(detail)
    .evidence("parsed", parsed(Value::Null, Some("eks:CreateAccessEntry"), principal_arn))
    .fix(
        Fix::new("Look up the role's full ARN (with its path) and create the access entry with it")
            .command(format!("aws iam get-role --role-name {} --query Role.Arn --output text", q(name)))
            .command("aws eks create-access-entry --cluster-name CLUSTER --principal-arn ROLE_ARN_WITH_PATH"),
    );
    diag(
        format!(
            "{}\u{1e}{}",
            rules::CLUSTER_ACCESS_ENTRY_PATH.id,
            principal_arn.unwrap_or("")
        ),
        f,
    )
}

fn global_endpoint(region: Option<&str>) -> Diagnosis {
    let r = region.unwrap_or("REGION");
    let suffix = crate::arn::partition_dns_suffix(crate::arn::partition_of_region(r));
    let f = Finding::new(
        rules::STS_GLOBAL_ENDPOINT,
        "STS rejected the request's signing region: \"Credential should be scoped to a valid region\"",
    )
    .detail(format!(
        "The request was signed for one STS endpoint and sent to another: typically an app (or SDK configuration) calls the global endpoint sts.amazonaws.com while its environment resolves STS to the regional endpoint (EKS service accounts on clusters 1.22+, or with eks.amazonaws.com/sts-regional-endpoints: \"true\", set AWS_STS_REGIONAL_ENDPOINTS=regional), or signs for a region the endpoint does not serve. Three fixes, any one is enough: drop the explicit global endpoint from the code or config so the SDK picks the regional one; call the regional endpoint sts.{r}.{suffix} explicitly; or set the service account back to the global endpoint (annotation \"false\") and restart its pods."
    ))
    .evidence("parsed", parsed(Value::Null, Some("sts:GetCallerIdentity"), None))
    .fix(
        Fix::new("Use the regional STS endpoint consistently (check it answers, then set the workload to regional; its pods restart)")
            .command(format!("aws sts get-caller-identity --region {} --endpoint-url {}", q(r), q(&format!("https://sts.{r}.{suffix}"))))
            // Regional only: the opposite fix (annotation "false") is in the detail, never in the same paste.
            .command("kubectl set env deployment/DEPLOYMENT -n NAMESPACE AWS_STS_REGIONAL_ENDPOINTS=regional"),
    );
    diag(format!("{}\u{1e}{r}", rules::STS_GLOBAL_ENDPOINT.id), f)
}

fn expired(kind: ExpiredKind, code: &str, action: Option<&str>) -> Diagnosis {
    let during = action
        .map(|a| format!(" (calling {a})"))
        .unwrap_or_default();
    let (message, detail, fix) = match kind {
        ExpiredKind::Sso => (
            format!("The IAM Identity Center (SSO) session has expired{during}"),
            "The AWS CLI and SDKs got their credentials from an IAM Identity Center (SSO) session whose token expired (or was never created on this machine) and could not be refreshed. Sign in again; kubectl's exec plugin uses the same profile (AWS_PROFILE or the kubeconfig's env), so it recovers too.",
            Fix::new("Sign in again with the profile that uses SSO")
                .command("aws sso login --profile PROFILE")
                .command("aws sts get-caller-identity --profile PROFILE"),
        ),
        ExpiredKind::WebIdentity => (
            format!("The web identity token has expired{during}: the service-account (or CI) token is stale, not an SSO session"),
            "STS refused the web identity token because it is past its expiry. For a pod using IAM roles for service accounts, the kubelet rotates the projected token in /var/run/secrets/eks.amazonaws.com/serviceaccount/token and the SDK re-reads it: an expired token means the SDK cached it (an old SDK, or a process that read the file once), the pod's clock is off, or the token file is not the projected one. Nobody logs in here: restart the workload (or upgrade the SDK) so it reads the current token. For a CI job, request a fresh OIDC token in the step that assumes the role.",
            Fix::new("Restart the workload so it reads the current projected token, and check the token's expiry")
                .command("kubectl rollout restart deployment/DEPLOYMENT -n NAMESPACE")
                .command("kubectl exec -n NAMESPACE POD -- sh -c 'ls -l /var/run/secrets/eks.amazonaws.com/serviceaccount/'")
                .command("kubectl get pod -n NAMESPACE POD -o jsonpath='{.spec.volumes[*].projected.sources[*].serviceAccountToken}'"),
        ),
        ExpiredKind::Session => (
            format!("The temporary credentials have expired (ExpiredToken){during}"),
            "The request was signed with temporary credentials (a session token from AssumeRole, SSO, or a credential process) that are past their expiry. Get fresh ones the way these were made: assume the role again, or sign in again if the profile uses SSO. A common trap: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN exported in the shell override the profile, so renewing the profile changes nothing until they are unset.",
            Fix::new("Get fresh credentials (and drop stale ones exported in the environment)")
                .command("unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN")
                .command("aws configure list --profile PROFILE")
                .command("aws sts get-caller-identity --profile PROFILE"),
        ),
    };
    let f = Finding::new(rules::CREDS_EXPIRED, message)
        .detail(detail)
        .evidence("parsed", parsed(Value::Null, action, None))
        .evidence("error_code", json!(code))
        .fix(fix);
    diag(
        format!(
            "{}\u{1e}{kind:?}\u{1f}{}",
            rules::CREDS_EXPIRED.id,
            action.unwrap_or("")
        ),
        f,
    )
}

fn invalid(code: &str, action: Option<&str>) -> Diagnosis {
    let detail = match code {
        "SignatureDoesNotMatch" => {
            "AWS recomputed the request's signature with the secret it holds for this access key id and got a different one: the secret access key in use does not belong to the key id (mistyped, truncated, stray whitespace or quote, or a key id and secret from two different keys), or the system clock is far off, or a proxy altered the request. Check which credentials are in use and re-enter the secret from the creation record; if it is lost, create a new key (keys/lost-secret)."
        }
        "InvalidAccessKeyId" => {
            "The access key id is unknown to AWS: deleted, mistyped, from another partition (aws-cn, aws-us-gov), or a temporary key id (ASIA...) used without its session token."
        }
        _ => {
            "AWS does not recognise the access key id (or session token) the request was signed with: the key was deleted or deactivated, it is mistyped, it belongs to another partition, a temporary key id (ASIA...) is used without its session token, or a session token from the global STS endpoint is used in an opt-in region (tokens from sts.amazonaws.com are only valid in regions enabled by default unless the account sets the global endpoint to issue version 2 tokens)."
        }
    };
    let during = action.map(|a| format!(" calling {a}")).unwrap_or_default();
    let f = Finding::new(rules::CREDS_INVALID, format!("The credentials are not valid ({code}){during}"))
        .detail(format!(
            "{detail} Environment variables win over the shared files: `aws configure list` shows which source is used."
        ))
        .evidence("parsed", parsed(Value::Null, action, None))
        .evidence("error_code", json!(code))
        .fix(
            Fix::new("See which credentials are in use and replace the bad ones")
                .command("aws configure list")
                .command("env | grep -o '^AWS_[A-Z_]*'")
                .command("date -u")
                .command("aws iam list-access-keys --user-name USER_NAME")
                .command("aws iam create-access-key --user-name USER_NAME"),
        );
    diag(
        format!(
            "{}\u{1e}{code}\u{1f}{}",
            rules::CREDS_INVALID.id,
            action.unwrap_or("")
        ),
        f,
    )
}

fn keys_limit() -> Diagnosis {
    let f = Finding::new(
        rules::KEYS_LIMIT_REACHED,
        "The IAM user already has two access keys: AWS refuses a third",
    )
    .detail(
        "An IAM user can hold at most two access keys, and inactive keys count toward the limit. Delete one first: an inactive key, else the one not used for longest (check its last use), after moving its users to the other key. Then create the new key, switch consumers to it, deactivate the old one, and delete it once nothing fails.",
    )
    .evidence("parsed", parsed(Value::Null, Some("iam:CreateAccessKey"), None))
    .fix(
        Fix::new("Delete an inactive or unused key, then create the new one")
            .command("aws iam list-access-keys --user-name USER_NAME")
            .command("aws iam get-access-key-last-used --access-key-id OLD_KEY_ID")
            .command("aws iam delete-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID")
            .command("aws iam create-access-key --user-name USER_NAME"),
    );
    diag(rules::KEYS_LIMIT_REACHED.id.to_owned(), f)
}

fn irsa_trust() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::ACCOUNT_ID:oidc-provider/oidc.eks.REGION.amazonaws.com/id/OIDC_ID"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "oidc.eks.REGION.amazonaws.com/id/OIDC_ID:sub": "system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT",
                "oidc.eks.REGION.amazonaws.com/id/OIDC_ID:aud": "sts.amazonaws.com"
            }}
        }]
    })
}

/// The trust statement for a CI provider's OIDC tokens.
fn ci_trust(provider: OidcProvider, account: &str) -> Value {
    let (host, aud, sub_key, sub) = match provider {
        OidcProvider::GitLab => (
            "gitlab.com",
            "https://gitlab.com",
            "gitlab.com:sub",
            "project_path:GROUP/PROJECT:ref_type:branch:ref:main",
        ),
        _ => (
            "token.actions.githubusercontent.com",
            "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub",
            "repo:ORG/REPO:ref:refs/heads/main",
        ),
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/{host}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{host}:aud"): aud},
                "StringLike": {sub_key: sub}
            }
        }]
    })
}

fn web_identity(provider: OidcProvider, role: Option<&str>) -> Diagnosis {
    let role_name = role
        .and_then(super::fix::role_of)
        .map_or_else(|| "ROLE_NAME".to_owned(), |(n, _)| n);
    let account = role
        .and_then(super::fix::role_of)
        .map_or_else(|| "ACCOUNT_ID".to_owned(), |(_, a)| a);
    let key = format!("{provider:?}\u{1f}{}", role.unwrap_or(""));
    let get = format!(
        "aws iam get-role --role-name {} --query Role.AssumeRolePolicyDocument > trust.json",
        q(&role_name)
    );
    let update = format!(
        "aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
        q(&role_name)
    );
    if matches!(provider, OidcProvider::GitHubActions | OidcProvider::GitLab) {
        let (who, host) = if provider == OidcProvider::GitLab {
            ("GitLab CI", "gitlab.com")
        } else {
            ("GitHub Actions", "token.actions.githubusercontent.com")
        };
        let f = Finding::new(
            rules::AUTHZ_ROLE_TRUST,
            format!("STS refused AssumeRoleWithWebIdentity from {who}: the role's trust policy does not admit this job's OIDC token"),
        )
        .detail(format!(
            "A {who} job exchanges its OIDC token for role credentials. STS refuses when the role's trust policy does not name the IAM OIDC provider for {host} as the Federated principal, or its conditions do not match the token: `aud` ({}), and `sub`, which names the repository and the branch, tag or environment the job runs for (StringLike for wildcards). Also check that the IAM OIDC provider for {host} exists in the role's account and that the job may request a token (GitHub: `permissions: id-token: write`). This is not IRSA: no cluster or service account is involved.",
            if provider == OidcProvider::GitLab { "the audience the job sets in id_tokens" } else { "sts.amazonaws.com" }
        ))
        .evidence("parsed", parsed(Value::Null, Some("sts:AssumeRoleWithWebIdentity"), role))
        .fix(
            Fix::new(format!("Make the trust policy of {role_name} name the {host} OIDC provider and this repository's subject"))
                .policy(ci_trust(provider, &account))
                .command("aws iam list-open-id-connect-providers")
                .command(get)
                .command(update),
        );
        return diag(format!("{}\u{1e}{key}", rules::AUTHZ_ROLE_TRUST.id), f);
    }
    let mut detail = "A pod using IAM roles for service accounts exchanges its projected token for role credentials. STS refuses when the role's trust policy does not name the cluster's OIDC provider as the Federated principal, or its conditions do not match the token: `sub` must be system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT exactly (StringLike for wildcards; StringEquals with a * never matches) and `aud` must be sts.amazonaws.com. Also check that the IAM OIDC provider for the cluster's issuer exists.".to_owned();
    if provider == OidcProvider::Unknown {
        detail.push_str(&format!(
            " The text does not say who presented the token. What decides it is the token's issuer: a pod's token comes from the cluster's OIDC issuer (oidc.eks.REGION.amazonaws.com/id/...), a GitHub Actions job's from token.actions.githubusercontent.com. The fix below is for a pod (IRSA); for GitHub Actions the trust statement is instead: {}",
            ci_trust(OidcProvider::GitHubActions, &account)["Statement"][0]
        ));
    }
    let f = Finding::new(
        rules::IRSA_TRUST_MISMATCH,
        "STS refused AssumeRoleWithWebIdentity: the role's trust policy does not admit this service account",
    )
    .detail(detail)
    .evidence("parsed", parsed(Value::Null, Some("sts:AssumeRoleWithWebIdentity"), role))
    .fix(
        Fix::new("Make the trust policy name the cluster's OIDC provider and this service account")
            .policy(irsa_trust())
            .command("aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer --output text")
            .command("aws iam list-open-id-connect-providers")
            .command(get)
            .command("eksdoctor lint irsa --role-trust trust.json --service-account NAMESPACE/SERVICE_ACCOUNT --issuer ISSUER_URL")
            .command(update),
    );
    diag(format!("{}\u{1e}{key}", rules::IRSA_TRUST_MISMATCH.id), f)
}

fn anonymous(f: &Forbidden) -> Diagnosis {
    let what = if f.path {
        format!("path {}", f.resource)
    } else {
        f.resource.clone()
    };
    let finding = Finding::new(
        rules::CLUSTER_ANONYMOUS,
        format!(
            "The cluster served the request as system:anonymous ({} {what}): no valid credentials reached it",
            f.verb
        ),
    )
    .detail(
        "The API server names a request system:anonymous when it carried no bearer token or client certificate it could verify. On EKS that means kubectl (or the client) sent no token: the kubeconfig has no user for this context, the exec plugin (aws eks get-token) was not run or failed, a proxy stripped the Authorization header, or the client uses an in-cluster config outside the cluster. This is authentication, not RBAC: do not bind anything to system:anonymous (that would open the cluster to everyone). Point the kubeconfig at the cluster with a working token and try again.",
    )
    .evidence("parsed", parsed(k8s_principal(&f.user), Some(&f.verb), Some(&f.resource)))
    .fix(
        Fix::new("Send a real token: regenerate the kubeconfig entry and check that the exec plugin returns a token")
            .command("kubectl config view --minify -o jsonpath='{.users[0].user}'")
            .command("aws eks update-kubeconfig --name CLUSTER --region REGION")
            .command("aws eks get-token --cluster-name CLUSTER --region REGION --query status.expirationTimestamp")
            .command("kubectl auth whoami"),
    );
    diag(
        format!(
            "{}\u{1e}{}\u{1f}{}",
            rules::CLUSTER_ANONYMOUS.id,
            f.verb,
            f.resource
        ),
        finding,
    )
}

fn lost_secret() -> Diagnosis {
    let f = Finding::new(
        rules::KEYS_LOST_SECRET,
        "A lost secret access key cannot be retrieved: create a new key",
    )
    .detail(
        "AWS shows a secret access key exactly once, when the key is created (the CLI output or the .csv download). Nobody can retrieve it later, not the root user, not AWS Support. Create a new access key, switch everything to it, then deactivate and delete the old one. A user holds at most two keys (inactive ones count): if there are two already, delete one first.",
    )
    .evidence("parsed", parsed(Value::Null, None, None))
    .fix(
        Fix::new("Create a new access key within the two-key limit, then retire the lost one")
            .command("aws iam list-access-keys --user-name USER_NAME")
            .command("aws iam create-access-key --user-name USER_NAME")
            .command("aws iam update-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID --status Inactive")
            .command("aws iam delete-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID"),
    );
    diag(rules::KEYS_LOST_SECRET.id.to_owned(), f)
}

/// A stable, secret-free key for grouping sightings of the same secret.
fn fingerprint(secret: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    secret.hash(&mut h);
    h.finish()
}

/// keys/secret-in-input (or keys/example-key for the documentation placeholders).
#[must_use]
pub fn diagnose_secret(s: &SecretSighting) -> Diagnosis {
    let masked = s.key_id.as_deref().map(mask_key_id);
    let id = s.key_id.as_deref().unwrap_or("KEY_ID");
    if s.example {
        return example_key(true);
    }
    let with = masked
        .as_deref()
        .map(|m| format!(" next to key id {m}"))
        .unwrap_or_default();
    if s.key_id.as_deref().is_some_and(|k| k.starts_with("ASIA")) {
        return temporary_secret(s, &with);
    }
    let f = Finding::new(
        rules::KEYS_SECRET_IN_INPUT,
        format!("A secret access key appeared in the input{with}: rotate it now"),
    )
    .detail(format!(
        "The input carried a secret access key (line {}){with}. Whoever saw this text (chat, ticket, CI log, shell history) can act as its IAM user: treat the key as compromised. eksdoctor masked the secret, and the key id that came with it, in every output and stored neither. Rotate: create a new key, move consumers to it, deactivate the exposed key, delete it, and review CloudTrail for its use. The key id in the commands is masked because it arrived with its secret: use the full id from where you copied it.",
        s.line
    ))
    .evidence("parsed", parsed(Value::Null, None, None))
    .evidence("secret", json!(crate::mask::SECRET_MASK))
    .evidence("key_id", json!(masked))
    .fix(
        Fix::new("Rotate the exposed key: deactivate it, create a new one, delete the old one")
            .command(format!("aws iam get-access-key-last-used --access-key-id {}", q(id)))
            .command(format!("aws iam update-access-key --user-name USER_NAME --access-key-id {} --status Inactive", q(id)))
            .command("aws iam create-access-key --user-name USER_NAME")
            .command(format!("aws iam delete-access-key --user-name USER_NAME --access-key-id {}", q(id)))
            .command(format!("aws cloudtrail lookup-events --lookup-attributes {}", q(&format!("AttributeKey=AccessKeyId,AttributeValue={id}")))),
    );
    diag(
        format!(
            "{}\u{1e}{}\u{1f}{}",
            rules::KEYS_SECRET_IN_INPUT.id,
            s.key_id.as_deref().unwrap_or(""),
            fingerprint(&s.secret)
        ),
        f,
    )
}

/// A pasted temporary credential (ASIA... with its secret, usually a session
/// token): no user key to rotate; revoke the role's sessions issued until now.
fn temporary_secret(s: &SecretSighting, with: &str) -> Diagnosis {
    let id = s.key_id.as_deref().unwrap_or("KEY_ID");
    let revoke = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "REVOCATION_TIME_UTC"}}
        }]
    });
    let f = Finding::new(
        rules::KEYS_SECRET_IN_INPUT,
        format!("Temporary credentials (a role session) appeared in the input{with}: revoke the role's sessions now"),
    )
    .detail(format!(
        "The input carried the secret of a temporary access key (ASIA..., line {}){with}, normally with its session token: whoever saw this text can act as the role session until it expires (up to 12 hours, 36 for some sessions). A temporary key cannot be deactivated or deleted, and rotating an IAM user's keys does nothing to it. Revoke it the way the IAM console's \"Revoke active sessions\" does: attach to the role an inline policy that denies everything to sessions issued before now (aws:TokenIssueTime), so new sessions keep working. Find the role from CloudTrail (the key id's events), put the current UTC time in the policy, and review what the session did. eksdoctor masked the secret and the key id in every output.",
        s.line
    ))
    .evidence("parsed", parsed(Value::Null, None, None))
    .evidence("secret", json!(crate::mask::SECRET_MASK))
    .evidence("key_id", json!(s.key_id.as_deref().map(mask_key_id)))
    .fix(
        Fix::new("Revoke the role's active sessions: deny everything to sessions issued before now (aws:TokenIssueTime)")
            .policy(revoke.clone())
            .command(format!(
                "aws cloudtrail lookup-events --lookup-attributes {} --max-results 5 --query 'Events[].CloudTrailEvent' --output text",
                q(&format!("AttributeKey=AccessKeyId,AttributeValue={id}"))
            ))
            .command("date -u +%Y-%m-%dT%H:%M:%SZ")
            .command(format!(
                "aws iam put-role-policy --role-name ROLE_NAME --policy-name AWSRevokeOlderSessions --policy-document {}",
                super::fix::shell_json(&revoke)
            )),
    );
    diag(
        format!(
            "{}\u{1e}{}\u{1f}{}",
            rules::KEYS_SECRET_IN_INPUT.id,
            s.key_id.as_deref().unwrap_or(""),
            fingerprint(&s.secret)
        ),
        f,
    )
}

/// keys/example-key: AWS's documentation placeholders used as credentials.
#[must_use]
pub fn example_key(with_secret: bool) -> Diagnosis {
    let f = Finding::new(
        rules::KEYS_EXAMPLE_KEY,
        "AWS's documentation placeholder keys are configured as credentials",
    )
    .detail(format!(
        "AKIAIOSFODNN7EXAMPLE{} are the examples from AWS's documentation, not a real key: every call signed with them fails (InvalidClientTokenId). Configure the real access key of the IAM user, or better, temporary credentials (aws configure sso, or a role).",
        if with_secret { " and its example secret (wJalr...EXAMPLEKEY)" } else { "" }
    ))
    .evidence("parsed", parsed(Value::Null, None, None))
    .fix(
        Fix::new("Replace the placeholders with real credentials")
            .command("aws configure list")
            .command("aws configure sso")
            .command("aws configure"),
    );
    diag(rules::KEYS_EXAMPLE_KEY.id.to_owned(), f)
}
