//! Fixes name the tool the text came from: a Terraform error gets the
//! Terraform resource change, a CloudFormation event the template's, for every
//! fix kind that has one (besides the CLI commands, which stay).

use super::*;

/// (rule, message, what the replacement must hold).
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "authz/role-trust",
        "│ Error: configuring Terraform AWS Provider: operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: 1a2b, api error AccessDenied: User: arn:aws:iam::210987654321:user/tf-ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/deployer",
        &[
            "resource \"aws_iam_role\" \"deployer\"",
            "assume_role_policy = jsonencode(",
            "arn:aws:iam::210987654321:user/tf-ci",
        ],
    ),
    (
        "authz/role-trust",
        "CREATE_FAILED AWS::EKS::Cluster Resource handler returned message: \"User: arn:aws:iam::210987654321:user/cfn is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/cluster-admin because no role trust policy allows the sts:AssumeRole action\"",
        &["AssumeRolePolicyDocument:", "\"cluster-admin\""],
    ),
    (
        "authz/resource-policy",
        "│ Error: reading S3 Object (media-eu/logo.png): operation error S3: GetObject, https response error StatusCode: 403, api error AccessDenied: User: arn:aws:iam::210987654321:user/tf-ci is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::media-eu/logo.png\" because no resource-based policy allows the s3:GetObject action",
        &[
            "resource \"aws_s3_bucket_policy\" \"media_eu\"",
            "bucket = \"media-eu\"",
            "policy = jsonencode(",
        ],
    ),
    (
        "authz/resource-policy",
        "│ Error: reading KMS Key: User: arn:aws:sts::210987654321:assumed-role/tf-runner/s1 is not authorized to perform: kms:DescribeKey on resource: arn:aws:kms:eu-west-1:210987654321:key/6f1c7a52-0d0e-4b3a-9e51-5f1fa3cba001 because no resource-based policy allows the kms:DescribeKey action",
        &[
            "resource \"aws_kms_key_policy\"",
            "key_id = \"arn:aws:kms:eu-west-1:210987654321:key/6f1c7a52-0d0e-4b3a-9e51-5f1fa3cba001\"",
        ],
    ),
    (
        "authz/resource-policy",
        "UPDATE_FAILED AWS::Lambda::Function User: arn:aws:iam::210987654321:user/cfn is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:eu-west-1:210987654321:repository/team/api because no resource-based policy allows the ecr:BatchGetImage action",
        &["RepositoryPolicyText:", "\"team/api\""],
    ),
    (
        "authz/resource-policy",
        "│ Error: reading Secrets Manager Secret Version: User: arn:aws:iam::210987654321:user/tf-ci is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:eu-west-1:210987654321:secret:db-pass-AbCdEf because no resource-based policy allows the secretsmanager:GetSecretValue action",
        &[
            "resource \"aws_secretsmanager_secret_policy\"",
            "secret_arn",
        ],
    ),
    (
        "authz/pass-role",
        "│ Error: creating EKS Node Group (prod:ng-1): operation error EKS: CreateNodegroup, https response error StatusCode: 403, api error AccessDeniedException: User: arn:aws:iam::210987654321:user/tf-ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::210987654321:role/eks-node because no identity-based policy allows the iam:PassRole action",
        &[
            "resource \"aws_iam_user_policy\"",
            "\"iam:PassRole\"",
            "iam:PassedToService",
            "user   = \"tf-ci\"",
        ],
    ),
    (
        "authz/no-identity-policy",
        "│ Error: creating EKS Node Group (prod:ng-1): InvalidRequestException: Unable to create AWSServiceRoleForAmazonEKSNodegroup due to missing permissions for 'iam:CreateServiceLinkedRole'",
        &[
            "aws_iam_service_linked_role",
            "aws_service_name = \"eks-nodegroup.amazonaws.com\"",
            "iam:AWSServiceName",
        ],
    ),
    (
        "authz/permissions-boundary",
        "│ Error: creating EKS Cluster (prod): operation error EKS: CreateCluster, https response error StatusCode: 403, api error AccessDeniedException: User: arn:aws:iam::210987654321:user/tf-ci is not authorized to perform: eks:CreateCluster on resource: arn:aws:eks:eu-west-1:210987654321:cluster/prod because no permissions boundary allows the eks:CreateCluster action",
        &["resource \"aws_iam_policy\"", "permissions_boundary"],
    ),
    (
        "authz/service-control-policy",
        "CREATE_FAILED AWS::EC2::VPC API: ec2:CreateVpc User: arn:aws:iam::210987654321:user/cfn is not authorized to perform: ec2:CreateVpc because no service control policy allows the ec2:CreateVpc action",
        &[
            "Type: AWS::Organizations::Policy",
            "Type: SERVICE_CONTROL_POLICY",
        ],
    ),
    (
        "authz/vpc-endpoint-policy",
        "│ Error: reading ECR repository: User: arn:aws:sts::210987654321:assumed-role/tf-runner/s1 is not authorized to perform: ecr:DescribeRepositories because no VPC endpoint policy allows the ecr:DescribeRepositories action",
        &["resource \"aws_vpc_endpoint_policy\"", "vpc_endpoint_id"],
    ),
    (
        "cluster/forbidden",
        "│ Error: configmaps \"aws-auth\" is forbidden: User \"arn:aws:sts::210987654321:assumed-role/tf-runner/1700000000123456789\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-system\"",
        &[
            "resource \"aws_eks_access_entry\"",
            "resource \"aws_eks_access_policy_association\"",
            "principal_arn = \"arn:aws:iam::210987654321:role/tf-runner\"",
            "namespaces = [\"kube-system\"]",
            "kubernetes_groups = [\"eksdoctor:tf-runner\"]",
            "kind: RoleBinding",
        ],
    ),
    (
        "cluster/unauthorized",
        "│ Error: Unauthorized",
        &[
            "resource \"aws_eks_access_entry\"",
            "AmazonEKSClusterAdminPolicy",
            "enable_cluster_creator_admin_permissions",
        ],
    ),
];

#[test]
fn every_fix_kind_speaks_the_tool_it_came_from() {
    let mut failures = Vec::new();
    for (rule, msg, want) in CASES {
        let fs = explain_text(msg);
        let Some(f) = fs.iter().find(|f| f.rule == *rule) else {
            failures.push(format!(
                "{rule}: not found in {:?} for {msg}",
                fs.iter().map(|f| f.rule).collect::<Vec<_>>()
            ));
            continue;
        };
        let fix = f.fix.as_ref().unwrap();
        let Some(r) = fix.replacement.as_deref() else {
            failures.push(format!("{rule}: no tool change for {msg}"));
            continue;
        };
        for w in *want {
            if !r.contains(w) {
                failures.push(format!("{rule}: {w:?} missing in\n{r}"));
            }
        }
        // The CLI commands stay beside the tool's change.
        if !fix.commands.is_empty() {
            continue;
        }
        if fix.policy.is_none() {
            failures.push(format!("{rule}: neither commands nor a policy for {msg}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn without_a_tool_there_is_no_tool_change() {
    let fs = explain_text(
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::media-eu/logo.png\" because no resource-based policy allows the s3:GetObject action",
    );
    assert!(fs[0].fix.as_ref().unwrap().replacement.is_none());
}

#[test]
#[ignore = "prints the renderings for review"]
fn print_renderings() {
    for (_, msg, _) in CASES {
        for f in explain_text(msg) {
            if let Some(r) = f.fix.as_ref().and_then(|x| x.replacement.as_deref()) {
                println!("=== {}\n{r}\n", f.rule);
            }
        }
    }
}
