//! EKS Pod Identity error texts: the agent at 169.254.170.23 unreachable,
//! `Unable to load credentials from any providers` with
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` set, and `sts:TagSession` /
//! `AssumeRoleForPodIdentity` denials for `pods.eks.amazonaws.com`.
//! The checks themselves live in [`crate::podid`].

use serde_json::{Value, json};

use crate::finding::{Finding, Fix};
use crate::podid::{AGENT_ADDON, AGENT_ADDRESS, SERVICE_PRINCIPAL};
use crate::rules;

use super::Diagnosis;

fn parsed(action: Option<&str>) -> Value {
    json!({
        "principal": Value::Null,
        "action": action,
        "resource": Value::Null,
        "denial": {"kind": "unspecified", "policy_type": Value::Null, "policy_arn": Value::Null},
        "count": 1,
    })
}

/// Whether a parsed denial is Pod Identity's own (the principal is the
/// service principal `pods.eks.amazonaws.com`): its cause is the role's
/// trust policy, which the podid finding explains, so the generic
/// permission diagnosis (no identity policy for a service) is not given too.
#[must_use]
pub fn owns_denial(d: &super::Denial) -> bool {
    d.principal_text
        .as_deref()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case(SERVICE_PRINCIPAL))
}

/// The Pod Identity finding one line of text holds, if any; `lower` is the
/// line in ASCII lowercase (same byte offsets).
#[must_use]
pub fn diagnose_line(text: &str, lower: &str) -> Option<Diagnosis> {
    // Every finding below needs one of these phrases: one pass over the line
    // rules out the common one (a plain denial) before the separate searches.
    if !gate(lower) {
        return None;
    }
    // The node role denied eks-auth:AssumeRoleForPodIdentity is the node
    // role's permission (AmazonEKSWorkerNodePolicy grants it), not the
    // association role's trust: the generic denial diagnosis says that.
    if lower.contains("eks-auth:assumeroleforpodidentity")
        && lower.contains("not authorized to perform")
        && !lower.contains(SERVICE_PRINCIPAL)
    {
        return None;
    }
    let pod_identity =
        lower.contains(SERVICE_PRINCIPAL) || lower.contains("assumeroleforpodidentity");
    if pod_identity
        && (lower.contains("sts:tagsession")
            || lower.contains("accessdenied")
            || lower.contains("not authorized"))
    {
        return Some(trust(lower.contains("sts:tagsession")));
    }
    if lower.contains(AGENT_ADDRESS)
        && [
            "connection refused",
            "connect: ",
            "timeout",
            "timed out",
            "no route to host",
            "dial tcp",
            "failed",
            "error",
            "unable",
        ]
        .iter()
        .any(|p| lower.contains(p))
    {
        return Some(agent(true));
    }
    if lower.contains("unable to load credentials")
        && lower.contains("aws_container_credentials_full_uri")
    {
        return Some(agent(false));
    }
    if lower.contains("not authorized to perform")
        && let Some(role) = node_role_session(lower).and_then(|r| text.get(r))
    {
        return Some(node_role(role));
    }
    None
}

/// What [`diagnose_line`] needs one of (lowercase): the service principal,
/// the Pod Identity call, the agent's address, the SDK's "unable to load
/// credentials", and an instance session (`/i-`, for [`node_role_session`]).
pub(crate) const GATE: &[&str] = &[
    SERVICE_PRINCIPAL,
    "assumeroleforpodidentity",
    AGENT_ADDRESS,
    "unable to load credentials",
    "/i-",
];

/// Whether `lower` holds one of [`GATE`]: a SIMD substring search each (an
/// Aho-Corasick automaton over these steps byte by byte through ARNs, whose
/// `/` its prefilter keeps stopping on).
fn gate(lower: &str) -> bool {
    static F: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    F.get_or_init(|| GATE.iter().map(memchr::memmem::Finder::new).collect())
        .iter()
        .any(|f| f.find(lower.as_bytes()).is_some())
}

/// `assumed-role/ROLE/i-0123456789abcdef0` where ROLE looks like an EKS
/// node role (eksctl's `NodeInstanceRole`, managed node groups'
/// `...node...` names): where the role name sits in the line.
fn node_role_session(lower: &str) -> Option<std::ops::Range<usize>> {
    let start = lower.find(":assumed-role/")? + ":assumed-role/".len();
    let rest = &lower[start..];
    let (role, rest) = rest.split_once('/')?;
    let session: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let instance = session
        .strip_prefix("i-")
        .is_some_and(|h| (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()));
    (instance && role.contains("node")).then(|| start..start + role.len())
}

fn node_role(role: &str) -> Diagnosis {
    let f = Finding::new(
        rules::PODID_NO_ASSOCIATION,
        format!(
            "the denied principal is the EKS node role {role} (an instance session): if this came from a pod, the pod got no credentials of its own and fell back to the node role"
        ),
    )
    .detail("A pod whose service account has neither a Pod Identity association nor an IRSA annotation (or whose association was created after the pod started) uses the node's instance profile. Give the workload its own role instead of widening the node role.")
    .evidence("parsed", parsed(None))
    .fix(
        Fix::new("Give the pod's service account its own role, then restart the pods")
            .command("kubectl get pod POD -n NAMESPACE -o jsonpath='{.spec.serviceAccountName}'")
            .command("aws eks list-pod-identity-associations --cluster-name CLUSTER --namespace NAMESPACE")
            .command("aws eks create-pod-identity-association --cluster-name CLUSTER --namespace NAMESPACE --service-account SERVICE_ACCOUNT --role-arn ROLE_ARN"),
    );
    Diagnosis {
        key: format!("{}:{role}", rules::PODID_NO_ASSOCIATION.id),
        finding: f,
    }
}

fn trust(tag_session: bool) -> Diagnosis {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": SERVICE_PRINCIPAL},
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }]
    });
    let message = if tag_session {
        "EKS Pod Identity was denied sts:TagSession: the role's trust policy must let pods.eks.amazonaws.com call both sts:AssumeRole and sts:TagSession"
    } else {
        "EKS Pod Identity could not assume the association's role: its trust policy does not let pods.eks.amazonaws.com assume it"
    };
    let f = Finding::new(rules::PODID_TRUST_MISMATCH, message)
        .detail("EKS Auth assumes the role of a Pod Identity association as the service principal pods.eks.amazonaws.com, with sts:AssumeRole, and adds session tags (eks-cluster-name, kubernetes-namespace, ...) with sts:TagSession. A trust policy that allows only sts:AssumeRole, names another principal, or has aws:SourceAccount / aws:SourceArn conditions for another cluster fails the whole call, and the pod gets no credentials.")
        .evidence("parsed", parsed(Some(if tag_session { "sts:TagSession" } else { "sts:AssumeRole" })))
        .fix(
            Fix::new("Trust pods.eks.amazonaws.com with both actions (check the role with eksdoctor lint podid)")
                .policy(policy)
                .command("aws eks describe-pod-identity-association --cluster-name CLUSTER --association-id ID --query association.roleArn")
                .command("aws iam get-role --role-name ROLE_NAME > role.json")
                .command("eksdoctor lint podid --trust role.json --cluster-arn CLUSTER_ARN")
                .command("aws iam update-assume-role-policy --role-name ROLE_NAME --policy-document file://trust.json"),
        );
    Diagnosis {
        key: format!("{}:{tag_session}", rules::PODID_TRUST_MISMATCH.id),
        finding: f,
    }
}

fn agent(unreachable: bool) -> Diagnosis {
    let message = if unreachable {
        format!(
            "the EKS Pod Identity agent at {AGENT_ADDRESS} did not answer: the pod cannot get its credentials"
        )
    } else {
        "the SDK found no credentials although EKS Pod Identity is configured (AWS_CONTAINER_CREDENTIALS_FULL_URI is set): the Pod Identity agent did not provide them".to_owned()
    };
    let f = Finding::new(rules::PODID_AGENT_MISSING, message)
        .detail(format!(
            "With a Pod Identity association EKS sets AWS_CONTAINER_CREDENTIALS_FULL_URI=http://{AGENT_ADDRESS}/v1/credentials in the pod, and the {AGENT_ADDON} DaemonSet on the node serves it. A refused or timed-out connection means the agent is not running on that node (add-on missing or not ACTIVE, a Fargate or Windows node, or a node without the agent's host-network port); an error body from the agent usually means the role's trust policy refuses pods.eks.amazonaws.com (podid/trust-mismatch)."
        ))
        .evidence("parsed", parsed(None))
        .fix(
            Fix::new("Check the agent add-on and its pods on the pod's node")
                .command(format!(
                    "aws eks describe-addon --cluster-name CLUSTER --addon-name {AGENT_ADDON} --query 'addon.[status,health]'"
                ))
                .command(format!("kubectl -n kube-system get pods -l app.kubernetes.io/name={AGENT_ADDON} -o wide"))
                .command(format!(
                    "aws eks create-addon --cluster-name CLUSTER --addon-name {AGENT_ADDON}"
                )),
        );
    Diagnosis {
        key: format!("{}:{unreachable}", rules::PODID_AGENT_MISSING.id),
        finding: f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> Option<&'static str> {
        diagnose_line(s, &s.to_ascii_lowercase()).map(|d| d.finding.rule)
    }

    #[test]
    fn recognises_pod_identity_texts() {
        for (text, want) in [
            (
                r#"An error occurred (AccessDeniedException) when calling the AssumeRoleForPodIdentity operation: User: pods.eks.amazonaws.com is not authorized to perform: sts:TagSession on resource: arn:aws:iam::111122223333:role/web"#,
                Some("podid/trust-mismatch"),
            ),
            (
                "Error retrieving credentials from container-role (AWS_CONTAINER_CREDENTIALS_FULL_URI): dial tcp 169.254.170.23:80: connect: connection refused",
                Some("podid/agent-missing"),
            ),
            (
                "Get \"http://169.254.170.23/v1/credentials\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                Some("podid/agent-missing"),
            ),
            (
                "CredentialsProviderError: Unable to load credentials from any providers (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials)",
                Some("podid/agent-missing"),
            ),
            ("Unable to load credentials from any providers", None),
            (
                "User: arn:aws:sts::111122223333:assumed-role/eksctl-prod-nodegroup-ng-1-NodeInstanceRole-1A2B3C/i-0abc123def4567890 is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::data/k",
                Some("podid/no-association"),
            ),
            (
                "User: arn:aws:sts::111122223333:assumed-role/ci-runner/i-0abc123def4567890 is not authorized to perform: s3:GetObject",
                None,
            ),
            (
                "User: arn:aws:sts::111122223333:assumed-role/my-node-role/bob is not authorized to perform: s3:GetObject",
                None,
            ),
            ("GET http://169.254.170.23/v1/credentials 200", None),
            ("all good", None),
        ] {
            assert_eq!(rule(text), want, "{text}");
        }
    }

    #[test]
    fn a_tag_session_denial_is_the_trust_finding_alone() {
        // The agent's log line when the trust policy lacks sts:TagSession
        // (EKS User Guide, pod-id-role), in our own values.
        let text = "An error occurred (AccessDeniedException) when calling the AssumeRoleForPodIdentity operation: User: pods.eks.amazonaws.com is not authorized to perform: sts:TagSession on resource: arn:aws:iam::111122223333:role/web";
        let rules: Vec<&str> = crate::explain::explain_text(text)
            .iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(rules, ["podid/trust-mismatch"]);
        // The node role lacking eks-auth:AssumeRoleForPodIdentity is a
        // permission problem of the node role, not a trust problem.
        let node = "User: arn:aws:sts::111122223333:assumed-role/eks-node-role/i-0abc123def4567890 is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: arn:aws:eks:us-west-2:111122223333:cluster/prod because no identity-based policy allows the eks-auth:AssumeRoleForPodIdentity action";
        let rules: Vec<&str> = crate::explain::explain_text(node)
            .iter()
            .map(|f| f.rule)
            .collect();
        assert!(!rules.contains(&"podid/trust-mismatch"), "{rules:?}");
        assert!(rules.iter().any(|r| r.starts_with("authz/")), "{rules:?}");
    }

    #[test]
    fn explain_text_reports_them() {
        let log = "2026-12-01T10:00:00Z INFO starting\n\
                   2026-12-01T10:00:01Z ERROR dial tcp 169.254.170.23:80: connect: connection refused\n\
                   2026-12-01T10:00:02Z ERROR dial tcp 169.254.170.23:80: connect: connection refused\n";
        let f = crate::explain::explain_text(log);
        let agent: Vec<_> = f
            .iter()
            .filter(|f| f.rule == "podid/agent-missing")
            .collect();
        assert_eq!(agent.len(), 1, "{f:#?}");
        assert_eq!(agent[0].evidence["parsed"]["count"], 2);
    }
}
