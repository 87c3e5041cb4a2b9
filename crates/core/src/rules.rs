//! The rule catalog: every rule id eksdoctor can report, its default severity
//! and a one-line title. Ids are stable: scripts and CI gates key on them
//! (`../shared/spec/rules.md`). Each rule's long page is
//! `docs/rules/<id>.md`, embedded in the binary for `eksdoctor rules ID`.

use crate::finding::Severity;

/// One rule of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
}

macro_rules! catalog {
    ($( $konst:ident = $id:literal, $sev:ident, $title:literal; )*) => {
        $( #[doc = $title] pub const $konst: Rule = Rule { id: $id, severity: Severity::$sev, title: $title }; )*
        /// Every rule, in catalog order.
        pub const CATALOG: &[Rule] = &[ $( $konst ),* ];
    };
}

catalog! {
    AUTHZ_NO_IDENTITY_POLICY = "authz/no-identity-policy", Error, "No identity-based policy allows the action";
    AUTHZ_EXPLICIT_DENY = "authz/explicit-deny", Error, "An explicit Deny in a policy blocks the action";
    AUTHZ_SERVICE_CONTROL_POLICY = "authz/service-control-policy", Error, "An AWS Organizations service control policy blocks the action";
    AUTHZ_RESOURCE_CONTROL_POLICY = "authz/resource-control-policy", Error, "An AWS Organizations resource control policy blocks the action";
    AUTHZ_PERMISSIONS_BOUNDARY = "authz/permissions-boundary", Error, "The permissions boundary does not allow the action";
    AUTHZ_SESSION_POLICY = "authz/session-policy", Error, "The session policy narrows the role session below the action";
    AUTHZ_RESOURCE_POLICY = "authz/resource-policy", Error, "No resource-based policy allows the action";
    AUTHZ_ROLE_TRUST = "authz/role-trust", Error, "The role's trust policy does not let the caller assume it";
    AUTHZ_VPC_ENDPOINT_POLICY = "authz/vpc-endpoint-policy", Error, "A VPC endpoint policy blocks the action";
    AUTHZ_PASS_ROLE = "authz/pass-role", Error, "The caller may not pass the role to the service";
    AUTHZ_ENCODED_MESSAGE = "authz/encoded-message", Info, "The denial carries an encoded authorization message";
    AUTHZ_AUTHORIZATION_ID = "authz/authorization-id", Info, "The denial carries an authorization id for the Access Troubleshooter";
    AUTHZ_ALLOWED_NOW = "authz/allowed-now", Info, "The account's policies, read live, now allow the denied request";

    CLUSTER_CONSOLE_NO_K8S_ACCESS = "cluster/console-no-k8s-access", Error, "The console cannot show Kubernetes objects for this principal";
    CLUSTER_UNAUTHORIZED = "cluster/unauthorized", Error, "The cluster does not recognise the caller (Unauthorized)";
    CLUSTER_FORBIDDEN = "cluster/forbidden", Error, "The caller is mapped but Kubernetes RBAC forbids the request";
    CLUSTER_NOT_MAPPED = "cluster/not-mapped", Error, "The caller is in neither the access entries nor aws-auth";
    CLUSTER_ACCESS_ENTRY_PATH = "cluster/access-entry-path", Error, "Access entries need the role's full ARN, path included";
    CLUSTER_CONFIG_MAP_ONLY = "cluster/config-map-only", Info, "The cluster authenticates from aws-auth only (CONFIG_MAP)";
    CLUSTER_ANONYMOUS = "cluster/anonymous", Error, "No valid credentials reached the cluster (system:anonymous)";
    CLUSTER_UNREACHABLE = "cluster/unreachable", Error, "The cluster's API server does not answer from here";
    CLUSTER_CONSOLE_RBAC = "cluster/console-rbac", Error, "RBAC denies reads the EKS console needs";

    KUBECONFIG_EXEC_API_VERSION = "kubeconfig/exec-api-version", Error, "The exec plugin uses a removed ExecCredential version (v1alpha1)";
    KUBECONFIG_EXEC_COMMAND_MISSING = "kubeconfig/exec-command-missing", Error, "The exec plugin's command is not on PATH";
    KUBECONFIG_MISSING_ENTRY = "kubeconfig/missing-entry", Error, "A context, cluster or user entry is missing";
    KUBECONFIG_IDENTITY_MISMATCH = "kubeconfig/identity-mismatch", Warning, "kubectl signs in as another profile or role than the one diagnosed";
    KUBECONFIG_NOT_EKS = "kubeconfig/not-eks", Info, "The context does not authenticate with an EKS token";
    KUBECONFIG_CLUSTER_MISMATCH = "kubeconfig/cluster-mismatch", Error, "The context's server or CA is not the cluster's (or its exec names another cluster)";

    AWS_AUTH_ROLE_PATH = "aws-auth/role-path", Error, "A mapped role ARN carries a path the authenticator never matches";
    AWS_AUTH_ASSUMED_ROLE_ARN = "aws-auth/assumed-role-arn", Error, "An assumed-role (sts) ARN is mapped instead of the role";
    AWS_AUTH_WRONG_SECTION = "aws-auth/wrong-section", Error, "A user ARN under mapRoles or a role ARN under mapUsers";
    AWS_AUTH_INVALID_ARN = "aws-auth/invalid-arn", Error, "A mapped ARN is not a valid IAM ARN";
    AWS_AUTH_MALFORMED_ENTRY = "aws-auth/malformed-entry", Error, "A mapping entry is malformed";
    AWS_AUTH_UNKNOWN_KEY = "aws-auth/unknown-key", Warning, "A data key the authenticator ignores";
    AWS_AUTH_DUPLICATE = "aws-auth/duplicate", Warning, "The same ARN is mapped twice";
    AWS_AUTH_NODE_ROLE_GROUPS = "aws-auth/node-role-groups", Error, "A node role lacks system:bootstrappers or system:nodes";
    AWS_AUTH_RESERVED_USERNAME = "aws-auth/reserved-username", Warning, "A username with a reserved prefix or unknown template";
    AWS_AUTH_SYSTEM_MASTERS = "aws-auth/system-masters", Warning, "A mapping into system:masters";
    AWS_AUTH_INVALID_YAML = "aws-auth/invalid-yaml", Error, "The ConfigMap is not valid YAML";
    AWS_AUTH_MIGRATE = "aws-auth/migrate", Info, "aws-auth is deprecated: the access entries that replace it";

    KEYS_LIMIT_REACHED = "keys/limit-reached", Warning, "The user holds two access keys: no new key can be created";
    KEYS_TWO_ACTIVE = "keys/two-active", Warning, "Both access keys are active";
    KEYS_OLD = "keys/old", Warning, "An access key is older than the rotation age";
    KEYS_UNUSED = "keys/unused", Warning, "An access key is unused";
    KEYS_INACTIVE = "keys/inactive", Info, "An inactive access key still counts toward the limit";
    KEYS_ROOT_KEYS = "keys/root-keys", Error, "The account root user has access keys";
    KEYS_EXAMPLE_KEY = "keys/example-key", Error, "AWS documentation placeholder keys used as credentials";
    KEYS_SECRET_IN_INPUT = "keys/secret-in-input", Error, "A secret access key appeared in the input: rotate it";
    KEYS_LONG_TERM_CREDENTIALS = "keys/long-term-credentials", Info, "The caller uses long-term access keys";
    KEYS_LOST_SECRET = "keys/lost-secret", Info, "A lost secret access key cannot be shown again";

    STS_GLOBAL_ENDPOINT = "sts/global-endpoint", Error, "A workload calls the global STS endpoint where regional is required";
    STS_LEGACY_GLOBAL_DEFAULT = "sts/legacy-global-default", Info, "Clusters before 1.22 default pods to the global STS endpoint";
    STS_BAD_ANNOTATION = "sts/bad-annotation", Warning, "The sts-regional-endpoints annotation is neither \"true\" nor \"false\"";
    IRSA_OIDC_PROVIDER_MISSING = "irsa/oidc-provider-missing", Error, "No IAM OIDC provider for the cluster's issuer";
    IRSA_TRUST_MISMATCH = "irsa/trust-mismatch", Error, "The role's trust policy does not admit the service account";

    PODID_TRUST_MISMATCH = "podid/trust-mismatch", Error, "The role's trust policy does not let EKS Pod Identity assume it";
    PODID_NO_ASSOCIATION = "podid/no-association", Error, "No Pod Identity association for the pod's service account: it falls back to the node role";
    PODID_AGENT_MISSING = "podid/agent-missing", Error, "The eks-pod-identity-agent add-on is missing or not ACTIVE";
    PODID_UNSUPPORTED_COMPUTE = "podid/unsupported-compute", Warning, "Pod Identity configured for pods on Fargate or Windows, which cannot use it";
    PODID_IRSA_PRECEDENCE = "podid/irsa-precedence", Warning, "Both IRSA and Pod Identity configured for a service account: IRSA wins";
    PODID_CROSS_ACCOUNT = "podid/cross-account", Error, "A Pod Identity target role chain is not allowed on one side";
    PODID_POD_NOT_RESTARTED = "podid/pod-not-restarted", Error, "Pods started before their service account got IRSA or Pod Identity: they use the node role";

    CREDS_NONE = "creds/none", Error, "No AWS credentials were found";
    CREDS_EXPIRED = "creds/expired", Error, "The credentials have expired";
    CREDS_INVALID = "creds/invalid", Error, "The credentials are not valid";
    CREDS_PROBE_DENIED = "creds/probe-denied", Warning, "eksdoctor was denied a read-only probe";

    FLEET_ASSUME_FAILED = "fleet/assume-failed", Error, "The fleet run cannot assume its read-only role in an account";
}

/// Look a rule up by id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static Rule> {
    CATALOG.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in CATALOG {
            assert!(seen.insert(r.id), "duplicate {}", r.id);
            let (area, name) = r.id.split_once('/').unwrap();
            assert!(!area.is_empty() && !name.is_empty());
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'/')
            );
        }
        assert_eq!(by_id("authz/pass-role"), Some(&AUTHZ_PASS_ROLE));
    }
}
