//! The same fix as the tool the text came from writes it: a Terraform
//! resource (AWS provider) or a CloudFormation resource, for every fix that
//! has one: identity policies (and `iam:PassRole`), trust policies, resource
//! policies (S3, KMS, ECR, Secrets Manager, SQS, SNS, Lambda, CloudWatch
//! Logs), permissions boundaries, Organizations policies, VPC endpoint
//! policies, service-linked roles and EKS access entries.
//!
//! Each function returns the text for `fix.replacement`, starting with a
//! `#` comment that says where it goes; values from the input are written as
//! JSON strings (valid HCL and YAML strings), never spliced in bare.

use serde_json::Value;

/// The tools with a rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Terraform,
    CloudFormation,
}

impl Tool {
    /// From the name [`super::wild::tool_of`] gives.
    #[must_use]
    pub fn from_name(name: Option<&str>) -> Option<Self> {
        match name? {
            "terraform" => Some(Self::Terraform),
            "cloudformation" => Some(Self::CloudFormation),
            _ => None,
        }
    }
}

/// A string as HCL / YAML writes it (JSON string syntax is valid in both).
fn s(v: &str) -> String {
    Value::String(v.to_owned()).to_string()
}

/// A Terraform resource label from a name: lowercase, `_` for the rest.
#[must_use]
pub fn label(name: &str) -> String {
    let mut l: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if !l.starts_with(|c: char| c.is_ascii_alphabetic()) {
        l.insert_str(0, "r_");
    }
    l
}

/// A policy document pretty-printed and indented by `indent` spaces after
/// its first line (so it can follow `jsonencode(` or a YAML key).
fn doc_at(doc: &Value, indent: usize) -> String {
    let pretty = serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string());
    pretty.replace('\n', &format!("\n{}", " ".repeat(indent)))
}

/// An inline identity policy on a user or role (`kind` is `user` or `role`).
#[must_use]
pub fn identity(tool: Tool, kind: &str, who: &str, name: &str, doc: &Value) -> String {
    match tool {
        Tool::Terraform => format!(
            "# Terraform: the same permission as a resource change\nresource \"aws_iam_{kind}_policy\" \"{}\" {{\n  name   = {}\n  {kind:<6} = {}\n  policy = jsonencode({})\n}}",
            label(name),
            s(name),
            s(who),
            doc_at(doc, 2)
        ),
        Tool::CloudFormation => format!(
            "# CloudFormation: add under Properties.Policies of the {kind} (AWS::IAM::{}) whose credentials the stack uses\n- PolicyName: {}\n  PolicyDocument:\n    {}",
            if kind == "user" { "User" } else { "Role" },
            s(name),
            doc_at(doc, 4)
        ),
    }
}

/// A statement for a role's trust policy.
#[must_use]
pub fn trust(tool: Tool, role: &str, doc: &Value) -> String {
    match tool {
        Tool::Terraform => format!(
            "# Terraform: the role's trust policy is its assume_role_policy; merge the statement into the one the aws_iam_role has\nresource \"aws_iam_role\" \"{}\" {{\n  name               = {}\n  assume_role_policy = jsonencode({})\n  # ... the role's other arguments as they are\n}}",
            label(role),
            s(role),
            doc_at(doc, 2)
        ),
        Tool::CloudFormation => format!(
            "# CloudFormation: the role's Properties.AssumeRolePolicyDocument (AWS::IAM::Role {}); merge the statement into its Statement list\nAssumeRolePolicyDocument:\n  {}",
            s(role),
            doc_at(doc, 2)
        ),
    }
}

/// The name part of an ARN's resource after `prefix` (`repository/`, `secret:`).
fn arn_name<'a>(arn: Option<&'a str>, prefix: &str) -> Option<&'a str> {
    let r = arn?.splitn(6, ':').nth(5)?;
    r.strip_prefix(prefix).filter(|n| !n.is_empty())
}

/// A statement for a resource-based policy of `service`'s `resource`.
#[must_use]
pub fn resource_policy(
    tool: Tool,
    service: &str,
    resource: Option<&str>,
    doc: &Value,
) -> Option<String> {
    let merge = "merge the statement into the policy the resource has";
    let tf = |res: &str, name: &str, args: &[(&str, String)], policy_arg: &str| {
        let width = args
            .iter()
            .map(|(k, _)| k.len())
            .chain([policy_arg.len()])
            .max()
            .unwrap_or(0);
        let mut out = format!(
            "# Terraform: {merge} ({res} holds the whole document)\nresource \"{res}\" \"{}\" {{\n",
            label(name)
        );
        for (k, v) in args {
            out.push_str(&format!("  {k:<width$} = {v}\n"));
        }
        out.push_str(&format!(
            "  {policy_arg:<width$} = jsonencode({})\n}}",
            doc_at(doc, 2)
        ));
        out
    };
    let cfn = |ty: &str, props: &[(&str, String)], policy_prop: &str| {
        let mut out = format!("# CloudFormation: {merge}\nType: {ty}\nProperties:\n");
        for (k, v) in props {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        out.push_str(&format!("  {policy_prop}:\n    {}", doc_at(doc, 4)));
        out
    };
    let arn = resource.unwrap_or("RESOURCE_ARN");
    match service {
        "s3" => {
            let bucket = resource
                .and_then(|r| r.strip_prefix("arn:"))
                .and_then(|r| r.splitn(5, ':').nth(4))
                .and_then(|r| r.split('/').next())
                .filter(|b| !b.is_empty())
                .unwrap_or("BUCKET");
            Some(match tool {
                Tool::Terraform => tf(
                    "aws_s3_bucket_policy",
                    bucket,
                    &[("bucket", s(bucket))],
                    "policy",
                ),
                Tool::CloudFormation => cfn(
                    "AWS::S3::BucketPolicy",
                    &[("Bucket", s(bucket))],
                    "PolicyDocument",
                ),
            })
        }
        "kms" => Some(match tool {
            Tool::Terraform => {
                tf(
                    "aws_kms_key_policy",
                    arn_name(resource, "key/").unwrap_or("key"),
                    &[("key_id", s(arn))],
                    "policy",
                ) + "\n# (or the policy argument of the aws_kms_key itself, if it sets one)"
            }
            Tool::CloudFormation => format!(
                "# CloudFormation: the key's Properties.KeyPolicy (AWS::KMS::Key {}); merge the statement into its Statement list\nKeyPolicy:\n  {}",
                s(arn),
                doc_at(doc, 2)
            ),
        }),
        "ecr" => {
            let repo = arn_name(resource, "repository/").unwrap_or("REPOSITORY");
            Some(match tool {
                Tool::Terraform => tf(
                    "aws_ecr_repository_policy",
                    repo,
                    &[("repository", s(repo))],
                    "policy",
                ),
                Tool::CloudFormation => format!(
                    "# CloudFormation: the repository's Properties.RepositoryPolicyText (AWS::ECR::Repository {}); merge the statement into its Statement list\nRepositoryPolicyText:\n  {}",
                    s(repo),
                    doc_at(doc, 2)
                ),
            })
        }
        "secretsmanager" => Some(match tool {
            Tool::Terraform => tf(
                "aws_secretsmanager_secret_policy",
                arn_name(resource, "secret:").unwrap_or("secret"),
                &[("secret_arn", s(arn))],
                "policy",
            ),
            Tool::CloudFormation => cfn(
                "AWS::SecretsManager::ResourcePolicy",
                &[("SecretId", s(arn))],
                "ResourcePolicy",
            ),
        }),
        "sqs" => Some(match tool {
            Tool::Terraform => tf(
                "aws_sqs_queue_policy",
                resource
                    .and_then(|r| r.rsplit(':').next())
                    .unwrap_or("queue"),
                &[("queue_url", s("QUEUE_URL"))],
                "policy",
            ),
            Tool::CloudFormation => cfn(
                "AWS::SQS::QueuePolicy",
                &[("Queues", format!("[{}]", s("QUEUE_URL")))],
                "PolicyDocument",
            ),
        }),
        "sns" => Some(match tool {
            Tool::Terraform => tf(
                "aws_sns_topic_policy",
                resource
                    .and_then(|r| r.rsplit(':').next())
                    .unwrap_or("topic"),
                &[("arn", s(arn))],
                "policy",
            ),
            Tool::CloudFormation => cfn(
                "AWS::SNS::TopicPolicy",
                &[("Topics", format!("[{}]", s(arn)))],
                "PolicyDocument",
            ),
        }),
        "logs" => Some(match tool {
            Tool::Terraform => tf(
                "aws_cloudwatch_log_resource_policy",
                "logs",
                &[("policy_name", s("POLICY_NAME"))],
                "policy_document",
            ),
            Tool::CloudFormation => cfn(
                "AWS::Logs::ResourcePolicy",
                &[("PolicyName", s("POLICY_NAME"))],
                "PolicyDocument",
            ),
        }),
        "lambda" => {
            let st = doc.get("Statement").and_then(|v| v.get(0));
            let action = st
                .and_then(|v| v.get("Action"))
                .and_then(Value::as_str)
                .unwrap_or("lambda:InvokeFunction");
            let principal = st
                .and_then(|v| v.get("Principal"))
                .and_then(|p| p.get("AWS").or_else(|| p.get("Service")))
                .and_then(Value::as_str)
                .unwrap_or("CALLER_ARN");
            let function = arn_name(resource, "function:").unwrap_or("FUNCTION_NAME");
            Some(match tool {
                Tool::Terraform => format!(
                    "# Terraform: a Lambda function policy statement is an aws_lambda_permission\nresource \"aws_lambda_permission\" \"{}\" {{\n  statement_id  = {}\n  action        = {}\n  function_name = {}\n  principal     = {}\n}}",
                    label(function),
                    s("eksdoctor-allow"),
                    s(action),
                    s(function),
                    s(principal)
                ),
                Tool::CloudFormation => format!(
                    "# CloudFormation: a Lambda function policy statement is an AWS::Lambda::Permission\nType: AWS::Lambda::Permission\nProperties:\n  Action: {}\n  FunctionName: {}\n  Principal: {}",
                    s(action),
                    s(function),
                    s(principal)
                ),
            })
        }
        _ => None,
    }
}

/// A statement for a permissions boundary (a managed policy).
#[must_use]
pub fn boundary(tool: Tool, boundary_arn: &str, doc: &Value) -> String {
    let name = if boundary_arn.starts_with("arn:") {
        boundary_arn
            .rsplit('/')
            .next()
            .unwrap_or("BOUNDARY_POLICY_NAME")
    } else {
        "BOUNDARY_POLICY_NAME"
    };
    match tool {
        Tool::Terraform => format!(
            "# Terraform: the boundary is the managed policy the user or role names in permissions_boundary ({}); merge the statement into its document\nresource \"aws_iam_policy\" \"{}\" {{\n  name   = {}\n  policy = jsonencode({})\n}}",
            s(boundary_arn),
            label(name),
            s(name),
            doc_at(doc, 2)
        ),
        Tool::CloudFormation => format!(
            "# CloudFormation: the boundary is the AWS::IAM::ManagedPolicy the PermissionsBoundary property names ({}); merge the statement into its PolicyDocument\nType: AWS::IAM::ManagedPolicy\nProperties:\n  PolicyDocument:\n    {}",
            s(boundary_arn),
            doc_at(doc, 4)
        ),
    }
}

/// An allow statement for an Organizations policy (`SERVICE_CONTROL_POLICY`
/// or `RESOURCE_CONTROL_POLICY`), for the management account's code.
#[must_use]
pub fn organizations(tool: Tool, kind: &str, doc: &Value) -> String {
    match tool {
        Tool::Terraform => format!(
            "# Terraform, in the organization's management account: merge the statement into the policy's content\nresource \"aws_organizations_policy\" \"{}\" {{\n  name    = {}\n  type    = {}\n  content = jsonencode({})\n}}",
            label(kind),
            s("POLICY_NAME"),
            s(kind),
            doc_at(doc, 2)
        ),
        Tool::CloudFormation => format!(
            "# CloudFormation, in the organization's management account: merge the statement into the policy's Content\nType: AWS::Organizations::Policy\nProperties:\n  Name: {}\n  Type: {}\n  Content:\n    {}",
            s("POLICY_NAME"),
            kind,
            doc_at(doc, 4)
        ),
    }
}

/// A statement for a VPC endpoint policy.
#[must_use]
pub fn vpc_endpoint(tool: Tool, doc: &Value) -> String {
    match tool {
        Tool::Terraform => format!(
            "# Terraform: merge the statement into the endpoint's policy (the policy argument of its aws_vpc_endpoint, or an aws_vpc_endpoint_policy)\nresource \"aws_vpc_endpoint_policy\" \"endpoint\" {{\n  vpc_endpoint_id = {}\n  policy          = jsonencode({})\n}}",
            s("VPCE_ID"),
            doc_at(doc, 2)
        ),
        Tool::CloudFormation => format!(
            "# CloudFormation: the endpoint's Properties.PolicyDocument (AWS::EC2::VPCEndpoint); merge the statement into its Statement list\nPolicyDocument:\n  {}",
            doc_at(doc, 2)
        ),
    }
}

/// A service-linked role created once, by someone allowed to.
#[must_use]
pub fn service_linked_role(tool: Tool, service: &str) -> String {
    match tool {
        Tool::Terraform => format!(
            "# Terraform: or create the service-linked role once, with credentials that may (then the permission is no longer needed)\nresource \"aws_iam_service_linked_role\" \"{}\" {{\n  aws_service_name = {}\n}}",
            label(service.split('.').next().unwrap_or(service)),
            s(service)
        ),
        Tool::CloudFormation => format!(
            "# CloudFormation: or create the service-linked role once, with credentials that may (then the permission is no longer needed)\nType: AWS::IAM::ServiceLinkedRole\nProperties:\n  AWSServiceName: {}",
            s(service)
        ),
    }
}

/// An EKS access entry with an access policy association. `scope` is
/// `None` for the cluster, else the namespace; `groups` the Kubernetes
/// groups the entry carries (for RBAC bound to a group).
#[must_use]
pub fn access_entry(
    tool: Tool,
    principal_arn: &str,
    policy_arn: &str,
    namespace: Option<&str>,
    groups: &[String],
) -> String {
    let groups_list = groups.iter().map(|g| s(g)).collect::<Vec<_>>().join(", ");
    match tool {
        Tool::Terraform => {
            let scope = match namespace {
                Some(ns) => format!(
                    "  access_scope {{\n    type       = \"namespace\"\n    namespaces = [{}]\n  }}",
                    s(ns)
                ),
                None => "  access_scope {\n    type = \"cluster\"\n  }".to_owned(),
            };
            let (groups_arg, w) = if groups.is_empty() {
                (String::new(), 13)
            } else {
                (format!("  kubernetes_groups = [{groups_list}]\n"), 17)
            };
            format!(
                "# Terraform: the access entry and its access policy (CLUSTER is the cluster's name)\nresource \"aws_eks_access_entry\" \"eksdoctor\" {{\n  {:<w$} = {c}\n  {:<w$} = {p}\n{groups_arg}}}\n\nresource \"aws_eks_access_policy_association\" \"eksdoctor\" {{\n  cluster_name  = {c}\n  principal_arn = {p}\n  policy_arn    = {a}\n{scope}\n  depends_on    = [aws_eks_access_entry.eksdoctor]\n}}",
                "cluster_name",
                "principal_arn",
                c = s("CLUSTER"),
                p = s(principal_arn),
                a = s(policy_arn),
            )
        }
        Tool::CloudFormation => {
            let scope = match namespace {
                Some(ns) => format!(
                    "          Type: namespace\n          Namespaces: [{}]",
                    s(ns)
                ),
                None => "          Type: cluster".to_owned(),
            };
            let groups_prop = if groups.is_empty() {
                String::new()
            } else {
                format!("  KubernetesGroups: [{groups_list}]\n")
            };
            format!(
                "# CloudFormation: the access entry with its access policy (CLUSTER is the cluster's name)\nType: AWS::EKS::AccessEntry\nProperties:\n  ClusterName: {}\n  PrincipalArn: {}\n{groups_prop}  AccessPolicies:\n    - PolicyArn: {}\n      AccessScope:\n{scope}",
                s("CLUSTER"),
                s(principal_arn),
                s(policy_arn)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Principal": {"AWS": "arn:aws:iam::210987654321:role/reader"}, "Resource": "arn:aws:s3:::media/x"}]})
    }

    #[test]
    fn labels_are_terraform_identifiers() {
        assert_eq!(
            label("eksdoctor-allow-eks-DescribeCluster"),
            "eksdoctor_allow_eks_describecluster"
        );
        assert_eq!(label("123"), "r_123");
        assert_eq!(label("a\"b} c"), "a_b__c");
    }

    #[test]
    fn every_resource_policy_service_has_both_tools() {
        for svc in [
            "s3",
            "kms",
            "ecr",
            "secretsmanager",
            "sqs",
            "sns",
            "logs",
            "lambda",
        ] {
            for tool in [Tool::Terraform, Tool::CloudFormation] {
                let r = resource_policy(tool, svc, Some("arn:aws:s3:::media/x"), &doc());
                let r = r.unwrap_or_else(|| panic!("{svc} {tool:?}"));
                assert!(r.starts_with('#'), "{r}");
                match tool {
                    Tool::Terraform => assert!(r.contains("resource \"aws_"), "{r}"),
                    Tool::CloudFormation => {
                        assert!(r.contains("AWS::") || r.contains("Policy"), "{r}")
                    }
                }
            }
        }
        assert!(resource_policy(Tool::Terraform, "eks", None, &doc()).is_none());
    }

    #[test]
    fn input_values_stay_inside_strings() {
        let r = resource_policy(
            Tool::Terraform,
            "s3",
            Some("arn:aws:s3:::b\"}\nresource x {/k"),
            &doc(),
        )
        .unwrap();
        assert!(r.contains(r#"bucket = "b\"}\nresource x {""#), "{r}");
        let r = access_entry(
            Tool::CloudFormation,
            "arn:aws:iam::210987654321:role/a\"b",
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
            Some("web"),
            &["eksdoctor:dev".to_owned()],
        );
        assert!(
            r.contains(r#"PrincipalArn: "arn:aws:iam::210987654321:role/a\"b""#),
            "{r}"
        );
        assert!(r.contains("Namespaces: [\"web\"]"), "{r}");
    }
}
