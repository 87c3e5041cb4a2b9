//! What the Kubernetes answers mean: cluster/unreachable, cluster/not-mapped
//! (401), cluster/anonymous, cluster/console-rbac, and the aws-auth engine
//! run on the ConfigMap read from the cluster.

use eksdoctor_core::finding::{Finding, Fix, Severity};
use eksdoctor_core::rules::{self, Rule};
use serde_json::json;

use crate::probes::{Access, KubeError, UserInfo};

/// cluster/anonymous (catalogued by the explain rules; the same id string).
pub const CLUSTER_ANONYMOUS: Rule = Rule {
    id: "cluster/anonymous",
    severity: Severity::Error,
    title: "No valid token reached the cluster (system:anonymous)",
};

/// The group AWS's console manifest binds.
pub const CONSOLE_GROUP: &str = "eks-console-dashboard-full-access-group";

/// DescribeCluster's endpoint access settings, when known.
#[derive(Debug, Clone, Default)]
pub struct EndpointAccess {
    pub public: Option<bool>,
    pub private: Option<bool>,
    pub public_cidrs: Vec<String>,
}

/// The API server did not answer from here.
#[must_use]
pub fn unreachable(
    cluster: &str,
    endpoint: &str,
    err: &KubeError,
    access: &EndpointAccess,
) -> Finding {
    let why = match (access.public, access.private) {
        (Some(false), Some(true)) => "The endpoint is private only (endpointPublicAccess false): it answers only from inside the cluster's VPC or a connected network; from this host the connection times out.".to_owned(),
        (Some(true), _) if !access.public_cidrs.is_empty() && access.public_cidrs != ["0.0.0.0/0"] => format!(
            "The public endpoint answers only from {}; a source address outside those ranges times out.",
            access.public_cidrs.join(", ")
        ),
        _ if matches!(err, KubeError::Unreachable(m) if m.to_lowercase().contains("certificate")) => "TLS failed: the CA in use is not the cluster's (an old or another cluster's kubeconfig entry).".to_owned(),
        // No request was sent: DescribeCluster's endpoint or CA is unusable.
        _ if matches!(err, KubeError::Other(_)) => "eksdoctor could not set up a connection from DescribeCluster's answer (its endpoint URL or certificateAuthority.data): check `aws eks describe-cluster --query 'cluster.[endpoint,certificateAuthority.data]'`.".to_owned(),
        _ => "Check DescribeCluster's endpoint access settings, the cluster security group (443 from this host), proxies and DNS.".to_owned(),
    };
    Finding::new(
        rules::CLUSTER_UNREACHABLE,
        match err {
            KubeError::Other(_) => format!("eksdoctor cannot connect to the API server of {cluster}: {err}"),
            _ => format!("the API server of {cluster} does not answer from here: {err}"),
        },
    )
    .detail(why)
    .evidence("cluster", cluster)
    .evidence("endpoint", endpoint)
    .evidence("error", err.to_string())
    .evidence(
        "endpoint_access",
        json!({"public": access.public, "private": access.private, "publicAccessCidrs": access.public_cidrs}),
    )
    .fix(
        Fix::new("See where the endpoint answers; reach it from inside the VPC, or allow this host")
            .command(format!(
                "aws eks describe-cluster --name {cluster} --query 'cluster.resourcesVpcConfig.{{public:endpointPublicAccess,private:endpointPrivateAccess,cidrs:publicAccessCidrs}}'"
            ))
            .command(format!(
                "aws eks update-cluster-config --name {cluster} --resources-vpc-config endpointPublicAccess=true,publicAccessCidrs=YOUR_IP/32"
            )),
    )
}

/// 401 from the cluster: the token was valid AWS-wise but maps to nobody
/// (or was not valid at all).
#[must_use]
pub fn not_mapped(
    cluster: &str,
    caller_arn: &str,
    canonical_arn: &str,
    err: &KubeError,
    why: &[String],
) -> Finding {
    let mut detail = format!(
        "The cluster answered {err} to a token signed for {caller_arn}. The authenticator looks \
         {canonical_arn} up in the access entries and/or kube-system/aws-auth (by the cluster's \
         authentication mode); no entry matched."
    );
    for w in why {
        detail.push(' ');
        detail.push_str(w);
    }
    Finding::new(
        rules::CLUSTER_NOT_MAPPED,
        format!("{cluster} maps {canonical_arn} to nobody (401 Unauthorized)"),
    )
    .detail(detail)
    .evidence("cluster", cluster)
    .evidence("caller_arn", caller_arn)
    .evidence("canonical_arn", canonical_arn)
    .evidence("error", err.to_string())
    .fix(
        Fix::new("Give the principal an access entry (or an aws-auth entry with the path-free ARN)")
            .command(format!(
                "aws eks create-access-entry --cluster-name {cluster} --principal-arn {canonical_arn}"
            ))
            .command(format!(
                "aws eks associate-access-policy --cluster-name {cluster} --principal-arn {canonical_arn} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster"
            )),
    )
}

/// The cluster served the request as system:anonymous.
#[must_use]
pub fn anonymous(cluster: &str) -> Finding {
    Finding::new(
        CLUSTER_ANONYMOUS,
        format!(
            "{cluster} served eksdoctor's request as system:anonymous: no valid token reached it"
        ),
    )
    .detail(
        "A request without a usable bearer token is anonymous. This is an authentication problem \
         (kubeconfig, exec plugin, token), never fixed with a binding for system:anonymous.",
    )
    .evidence("cluster", cluster)
}

/// Console reads RBAC denies, with both fixes.
#[must_use]
pub fn console_rbac(
    cluster: &str,
    principal: &str,
    user: &UserInfo,
    access: &[Access],
) -> Option<Finding> {
    let denied: Vec<&Access> = access.iter().filter(|a| !a.allowed).collect();
    if denied.is_empty() {
        return None;
    }
    let list: Vec<String> = denied
        .iter()
        .map(|a| {
            let r = if a.group.is_empty() {
                a.resource.clone()
            } else {
                format!("{}.{}", a.resource, a.group)
            };
            format!("{} {r}", a.verb)
        })
        .collect();
    // Bind a group the mapping carries (never the per-session username).
    let group = user
        .groups
        .iter()
        .find(|g| !g.starts_with("system:"))
        .cloned()
        .unwrap_or_else(|| CONSOLE_GROUP.to_owned());
    let binding = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: eks-console-dashboard-full-access-binding\nsubjects:\n- kind: Group\n  name: {group}\n  apiGroup: rbac.authorization.k8s.io\nroleRef:\n  kind: ClusterRole\n  name: eks-console-dashboard-full-access-clusterrole\n  apiGroup: rbac.authorization.k8s.io\n"
    );
    Some(
        Finding::new(
            rules::CLUSTER_CONSOLE_RBAC,
            format!(
                "{} is mapped as {:?} but RBAC denies {} of the console's {} reads",
                principal,
                user.username,
                denied.len(),
                access.len()
            ),
        )
        .detail(format!(
            "The EKS console reads Kubernetes objects as the signed-in principal. Denied: {}.",
            list.join(", ")
        ))
        .evidence("cluster", cluster)
        .evidence("username", user.username.as_str())
        .evidence("groups", user.groups.clone())
        .evidence("denied", list)
        .fix(
            Fix::new(format!(
                "Apply AWS's console ClusterRole and bind it to the group {group}, or associate a view access policy"
            ))
            .command("kubectl apply -f https://s3.us-west-2.amazonaws.com/amazon-eks/docs/eks-console-full-access.yaml")
            .command(format!(
                "aws eks associate-access-policy --cluster-name {cluster} --principal-arn {principal} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster"
            ))
            .replacement(binding),
        ),
    )
}

/// aws-auth could not be read from the cluster.
#[must_use]
pub fn aws_auth_unreadable(cluster: &str, user: Option<&UserInfo>, err: &KubeError) -> Finding {
    let who = user.map_or_else(|| "the caller".to_owned(), |u| format!("{:?}", u.username));
    Finding::new(
        rules::CREDS_PROBE_DENIED,
        format!("{cluster}: kube-system/aws-auth cannot be read as {who}: {err}"),
    )
    .detail(
        "The mapping in aws-auth is unknown from here. Who can read it: cluster administrators \
         (system:masters, an AmazonEKSClusterAdminPolicy access entry) or anyone bound to get \
         configmaps in kube-system; ask one of them for `kubectl get configmap -n kube-system aws-auth -o yaml` \
         and run `eksdoctor lint aws-auth FILE --principal ARN`.",
    )
    .evidence("cluster", cluster)
    .evidence("error", err.to_string())
}

/// `check --can VERB RESOURCE [-n NS]` answered no: cluster/forbidden with both fixes.
#[must_use]
pub fn forbidden(cluster: &str, principal: &str, user: &UserInfo, a: &Access) -> Finding {
    let resource = if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    let scope = a.namespace.as_deref().map_or_else(
        || "cluster-wide".to_owned(),
        |n| format!("in namespace {n}"),
    );
    let group = user
        .groups
        .iter()
        .find(|g| !g.starts_with("system:"))
        .cloned()
        .unwrap_or_else(|| "GROUP".to_owned());
    let (kind, ns_meta, access_scope) = match a.namespace.as_deref() {
        Some(n) => (
            "Role",
            format!("\n  namespace: {n}"),
            format!("type=namespace,namespaces={n}"),
        ),
        None => ("ClusterRole", String::new(), "type=cluster".to_owned()),
    };
    let api_group = if a.group.is_empty() {
        "\"\"".to_owned()
    } else {
        a.group.clone()
    };
    let manifest = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: eksdoctor-can-{verb}-{res}{ns_meta}\nrules:\n- apiGroups: [{api_group}]\n  resources: [{res}]\n  verbs: [{verb}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}Binding\nmetadata:\n  name: eksdoctor-can-{verb}-{res}{ns_meta}\nsubjects:\n- kind: Group\n  name: {group}\n  apiGroup: rbac.authorization.k8s.io\nroleRef:\n  kind: {kind}\n  name: eksdoctor-can-{verb}-{res}\n  apiGroup: rbac.authorization.k8s.io\n",
        verb = a.verb,
        res = a.resource,
    );
    Finding::new(
        rules::CLUSTER_FORBIDDEN,
        format!("RBAC forbids {} to {} {resource} {scope}", user.username, a.verb),
    )
    .detail(format!(
        "The cluster knows the caller ({:?}, groups {}) but no Role or ClusterRole binding (or associated access policy) allows {} on {resource} {scope}. Bind a group the mapping carries, never the per-session username.",
        user.username,
        user.groups.join(", "),
        a.verb
    ))
    .evidence("cluster", cluster)
    .evidence("username", user.username.as_str())
    .evidence("groups", user.groups.clone())
    .evidence("verb", a.verb.as_str())
    .evidence("resource", resource.as_str())
    .fix(
        Fix::new(format!("Bind the group {group} to a {kind} that allows it, or associate an access policy"))
            .command(format!(
                "aws eks associate-access-policy --cluster-name {cluster} --principal-arn {principal} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy --access-scope {access_scope}"
            ))
            .replacement(manifest),
    )
}
