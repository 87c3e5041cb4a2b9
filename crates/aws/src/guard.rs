//! Read-only by construction.
//!
//! Every client this crate builds carries [`ReadOnlyGuard`], an SDK
//! interceptor that looks up the operation about to run (the `Metadata` the
//! generated code puts in the config bag) and refuses anything outside
//! [`ALLOWED`] before the request is serialized (so before it is signed or
//! sent). A second
//! check runs just before signing, so a request never leaves the process
//! unless its operation is on the list.
//!
//! [`ALLOWED`] is also the source of `docs/eksdoctor-readonly-policy.json`
//! (a test keeps the two equal): the least policy that lets every probe run.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One operation eksdoctor may call: the SDK's service and operation names
/// and the IAM action that authorises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedOperation {
    pub service: &'static str,
    pub operation: &'static str,
    pub action: &'static str,
}

const fn op(
    service: &'static str,
    operation: &'static str,
    action: &'static str,
) -> AllowedOperation {
    AllowedOperation {
        service,
        operation,
        action,
    }
}

/// Every operation eksdoctor may call. All are reads.
pub const ALLOWED: &[AllowedOperation] = &[
    op("STS", "GetCallerIdentity", "sts:GetCallerIdentity"),
    // The fleet run (`check --org`): list the organization's accounts, take
    // a session in each one's read-only role, read its credential report.
    op(
        "Organizations",
        "ListAccounts",
        "organizations:ListAccounts",
    ),
    op("STS", "AssumeRole", "sts:AssumeRole"),
    op(
        "IAM",
        "GenerateCredentialReport",
        "iam:GenerateCredentialReport",
    ),
    op("IAM", "GetCredentialReport", "iam:GetCredentialReport"),
    op(
        "STS",
        "DecodeAuthorizationMessage",
        "sts:DecodeAuthorizationMessage",
    ),
    op("EKS", "ListClusters", "eks:ListClusters"),
    op("EKS", "DescribeCluster", "eks:DescribeCluster"),
    op("EKS", "ListAccessEntries", "eks:ListAccessEntries"),
    op("EKS", "DescribeAccessEntry", "eks:DescribeAccessEntry"),
    op(
        "EKS",
        "ListAssociatedAccessPolicies",
        "eks:ListAssociatedAccessPolicies",
    ),
    // Pod Identity (crate::podid).
    op(
        "EKS",
        "ListPodIdentityAssociations",
        "eks:ListPodIdentityAssociations",
    ),
    op(
        "EKS",
        "DescribePodIdentityAssociation",
        "eks:DescribePodIdentityAssociation",
    ),
    op("EKS", "ListAddons", "eks:ListAddons"),
    op("EKS", "DescribeAddon", "eks:DescribeAddon"),
    op("EKS", "ListNodegroups", "eks:ListNodegroups"),
    op("EKS", "DescribeNodegroup", "eks:DescribeNodegroup"),
    op("EKS", "ListFargateProfiles", "eks:ListFargateProfiles"),
    op("IAM", "ListAccessKeys", "iam:ListAccessKeys"),
    op("IAM", "GetAccessKeyLastUsed", "iam:GetAccessKeyLastUsed"),
    op("IAM", "GetRole", "iam:GetRole"),
    op(
        "IAM",
        "ListOpenIDConnectProviders",
        "iam:ListOpenIDConnectProviders",
    ),
    op(
        "IAM",
        "SimulatePrincipalPolicy",
        "iam:SimulatePrincipalPolicy",
    ),
    // explain --live: the policies that decide a request (policies.rs).
    op("IAM", "GetUser", "iam:GetUser"),
    op("IAM", "ListUserPolicies", "iam:ListUserPolicies"),
    op("IAM", "GetUserPolicy", "iam:GetUserPolicy"),
    op(
        "IAM",
        "ListAttachedUserPolicies",
        "iam:ListAttachedUserPolicies",
    ),
    op("IAM", "ListGroupsForUser", "iam:ListGroupsForUser"),
    op("IAM", "ListGroupPolicies", "iam:ListGroupPolicies"),
    op("IAM", "GetGroupPolicy", "iam:GetGroupPolicy"),
    op(
        "IAM",
        "ListAttachedGroupPolicies",
        "iam:ListAttachedGroupPolicies",
    ),
    op("IAM", "ListRolePolicies", "iam:ListRolePolicies"),
    op("IAM", "GetRolePolicy", "iam:GetRolePolicy"),
    op(
        "IAM",
        "ListAttachedRolePolicies",
        "iam:ListAttachedRolePolicies",
    ),
    op("IAM", "ListPolicyVersions", "iam:ListPolicyVersions"),
    op("IAM", "GetPolicyVersion", "iam:GetPolicyVersion"),
    op("S3", "GetBucketPolicy", "s3:GetBucketPolicy"),
    op("KMS", "GetKeyPolicy", "kms:GetKeyPolicy"),
    op("ECR", "GetRepositoryPolicy", "ecr:GetRepositoryPolicy"),
    // The SDK names the service by its sdkId, with the space.
    op(
        "Secrets Manager",
        "GetResourcePolicy",
        "secretsmanager:GetResourcePolicy",
    ),
    op("SNS", "GetTopicAttributes", "sns:GetTopicAttributes"),
    op("SQS", "GetQueueUrl", "sqs:GetQueueUrl"),
    op("SQS", "GetQueueAttributes", "sqs:GetQueueAttributes"),
    // Resource tags (aws:ResourceTag/...), read only when a policy read
    // names such a key.
    op("S3", "GetBucketTagging", "s3:GetBucketTagging"),
    op("KMS", "ListResourceTags", "kms:ListResourceTags"),
    op("ECR", "ListTagsForResource", "ecr:ListTagsForResource"),
    op(
        "Secrets Manager",
        "DescribeSecret",
        "secretsmanager:DescribeSecret",
    ),
    op("SNS", "ListTagsForResource", "sns:ListTagsForResource"),
    op("SQS", "ListQueueTags", "sqs:ListQueueTags"),
    // The management account is exempt from SCPs and RCPs.
    op(
        "Organizations",
        "DescribeOrganization",
        "organizations:DescribeOrganization",
    ),
    op("Organizations", "ListParents", "organizations:ListParents"),
    op(
        "Organizations",
        "ListPoliciesForTarget",
        "organizations:ListPoliciesForTarget",
    ),
    op(
        "Organizations",
        "DescribePolicy",
        "organizations:DescribePolicy",
    ),
];

/// The IAM action for an allowed operation.
#[must_use]
pub fn action_for(service: &str, operation: &str) -> Option<&'static str> {
    ALLOWED
        .iter()
        .find(|o| o.service.eq_ignore_ascii_case(service) && o.operation == operation)
        .map(|o| o.action)
}

/// The least IAM policy that lets every probe run.
#[must_use]
pub fn readonly_policy() -> serde_json::Value {
    let mut actions: Vec<&str> = ALLOWED.iter().map(|o| o.action).collect();
    actions.sort_unstable();
    actions.dedup();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EksdoctorReadOnlyProbes",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*"
        }]
    })
}

/// The error a refused operation fails with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "eksdoctor refused to call {service} {operation}: it is not on the read-only allowlist (nothing was sent)"
)]
pub struct RefusedWrite {
    pub service: String,
    pub operation: String,
}

/// The interceptor that keeps every client read-only.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOnlyGuard;

impl ReadOnlyGuard {
    fn check(cfg: &ConfigBag) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Err(Box::new(RefusedWrite {
                service: "?".to_owned(),
                operation: "an unnamed operation".to_owned(),
            }));
        };
        if action_for(meta.service(), meta.name()).is_some() {
            Ok(())
        } else {
            Err(Box::new(RefusedWrite {
                service: meta.service().to_owned(),
                operation: meta.name().to_owned(),
            }))
        }
    }
}

impl Intercept for ReadOnlyGuard {
    fn name(&self) -> &'static str {
        "eksdoctor::ReadOnlyGuard"
    }

    // Not `read_before_execution`: client-level interceptors run that hook
    // before the operation's own config (and its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Self::check(cfg)
    }

    fn modify_before_signing(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        Self::check(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_are_allowed() {
        // Not reads by name, but they change nothing the account runs on:
        // AssumeRole hands out a session (the fleet run's way into each
        // account); GenerateCredentialReport refreshes IAM's report of the
        // account's credentials (at most every four hours).
        const NOT_READS_BY_NAME: [&str; 2] = ["AssumeRole", "GenerateCredentialReport"];
        for o in ALLOWED {
            let name = o.operation;
            assert!(
                ["Get", "List", "Describe", "Decode", "Simulate"]
                    .iter()
                    .any(|p| name.starts_with(p))
                    || NOT_READS_BY_NAME.contains(&name),
                "{name} is not a read"
            );
            let (svc, act) = o.action.split_once(':').unwrap_or_default();
            assert_eq!(svc, o.service.to_ascii_lowercase().replace(' ', ""));
            assert_eq!(act, name);
        }
        assert_eq!(action_for("IAM", "CreateAccessKey"), None);
        assert_eq!(action_for("EKS", "CreateAccessEntry"), None);
        assert_eq!(action_for("iam", "GetRole"), Some("iam:GetRole"));
    }

    #[test]
    fn shipped_policy_is_the_allowlist() {
        let shipped = include_str!("../../../docs/eksdoctor-readonly-policy.json");
        let shipped: serde_json::Value = serde_json::from_str(shipped).unwrap();
        assert_eq!(
            shipped,
            readonly_policy(),
            "docs/eksdoctor-readonly-policy.json is stale: regenerate it with \
             `cargo test -p eksdoctor-aws -- --ignored write_policy`"
        );
    }

    #[test]
    #[ignore = "writes docs/eksdoctor-readonly-policy.json"]
    fn write_policy() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/eksdoctor-readonly-policy.json"
        );
        let text = serde_json::to_string_pretty(&readonly_policy()).unwrap() + "\n";
        std::fs::write(path, text).unwrap();
    }
}
