//! A value cut where the message stops (a terminal, a logger's field limit,
//! a partial copy) must not become a confident fix: the finding says which
//! value looks cut and leaves the policy and commands out.

use serde_json::Value;

use super::*;

/// (what the case shows, message, the doubt the finding must carry, or None
/// when the message is whole and the fix must stay).
const CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "action cut at the end, the CLI names the operation",
        "An error occurred (AccessDeniedException) when calling the DescribeCluster operation: User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:DescribeClu",
        Some("action"),
    ),
    (
        "action cut at the end, no operation: the catalog tells",
        "User: arn:aws:sts::210987654321:assumed-role/ci-deploy/run-88 is not authorized to perform: eks:ListNodegr",
        Some("action"),
    ),
    (
        "action cut inside a JSON log field",
        r#"{"level":"error","msg":"User: arn:aws:iam::210987654321:user/ana is not authorized to perform: iam:PassRo"}"#,
        Some("action"),
    ),
    (
        "action cut after the service",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:",
        Some("action"),
    ),
    (
        "action followed by a logger's truncation mark",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: cloudformation:DescribeSta...[truncated 812 bytes]",
        Some("action"),
    ),
    (
        "action followed by an ellipsis",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: ssm:GetParam\u{2026}",
        Some("action"),
    ),
    (
        "Go SDK names the operation the cut action starts",
        "operation error EKS: DescribeNodegroup, https response error StatusCode: 403, RequestID: 5c1d, AccessDeniedException: User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:DescribeNode",
        Some("action"),
    ),
    (
        "ARN cut at the end, Terraform names the whole cluster",
        "Error: reading EKS Cluster (payments-prod): operation error EKS: DescribeCluster, https response error StatusCode: 403, RequestID: 9f2e, AccessDeniedException: User: arn:aws:iam::210987654321:user/tf is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-central-1:210987654321:cluster/payments-pr",
        Some("resource"),
    ),
    (
        "ARN cut after the resource type",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-central-1:210987654321:cluster/",
        Some("resource"),
    ),
    (
        "ARN followed by an ellipsis",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::build-cache-eu/artifacts/rel\u{2026}",
        Some("resource"),
    ),
    (
        "ARN cut in the account id",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-central-1:21098765",
        Some("resource"),
    ),
    // Whole messages that stop on their action or ARN keep their fix.
    (
        "a whole action at the end",
        "An error occurred (AccessDeniedException) when calling the ListClusters operation: User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:ListClusters",
        None,
    ),
    (
        "a whole action that is the prefix of others",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:DescribeCluster",
        None,
    ),
    (
        "an action of a service outside the catalog",
        "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: codecommit:ListRepositories",
        None,
    ),
    (
        "S3's operation is longer than its action (GetObjectAttributes needs s3:GetObject)",
        "An error occurred (AccessDenied) when calling the GetObjectAttributes operation: User: arn:aws:iam::210987654321:user/ana is not authorized to perform: s3:GetObject",
        None,
    ),
    (
        "a whole ARN at the end, its name also elsewhere",
        "Error: reading EKS Cluster (payments-prod): operation error EKS: DescribeCluster, https response error StatusCode: 403, RequestID: 9f2e, AccessDeniedException: User: arn:aws:iam::210987654321:user/tf is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-central-1:210987654321:cluster/payments-prod",
        None,
    ),
    (
        "a whole ARN closing a JSON field",
        r#"{"msg":"User: arn:aws:iam::210987654321:user/ana is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-central-1:210987654321:cluster/payments"}"#,
        None,
    ),
];

#[test]
fn cut_values_make_the_fix_hold_back() {
    let mut failures = Vec::new();
    for (what, msg, doubt) in CASES {
        let fs = explain_text(msg);
        let Some(f) = fs.iter().find(|f| f.rule.starts_with("authz/")) else {
            failures.push(format!("{what}: no authz finding ({:?})", rules_of(&fs)));
            continue;
        };
        let uncertain: Vec<&str> = f
            .evidence
            .get("uncertain")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let fix = f.fix.as_ref().unwrap();
        match doubt {
            Some(field) => {
                if !uncertain.contains(field) {
                    failures.push(format!("{what}: want {field} uncertain, got {uncertain:?}"));
                }
                if !fix.commands.is_empty() || fix.policy.is_some() || fix.replacement.is_some() {
                    failures.push(format!("{what}: a fix was built from a cut value"));
                }
                if !fix.summary.starts_with("Check the pasted text first") {
                    failures.push(format!("{what}: summary {:?}", fix.summary));
                }
            }
            None => {
                if !uncertain.is_empty() {
                    failures.push(format!("{what}: nothing is cut, got {uncertain:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn rules_of(fs: &[Finding]) -> Vec<&str> {
    fs.iter().map(|f| f.rule).collect()
}

#[test]
fn a_cut_sentence_is_no_action() {
    let fs = explain_text(
        "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this",
    );
    for f in &fs {
        assert_ne!(f.evidence["parsed"]["action"], "this", "{f:#?}");
    }
}

#[test]
fn the_doubt_says_what_the_action_may_have_been() {
    let fs = explain_text(CASES[1].1);
    let detail = &fs[0].detail;
    assert!(detail.contains("eks:ListNodegroups"), "{detail}");
    let fs = explain_text(CASES[0].1);
    assert!(fs[0].detail.contains("DescribeCluster"), "{}", fs[0].detail);
    let fs = explain_text(CASES[7].1);
    assert!(fs[0].detail.contains("payments-prod"), "{}", fs[0].detail);
}

#[test]
fn a_cut_action_is_not_grouped_with_the_whole_one() {
    let text = format!(
        "{}\n{}\n",
        CASES[12].1,
        CASES[1].1.replace("ListNodegr", "DescribeClu")
    );
    let fs = explain_text(&text);
    let authz: Vec<_> = fs.iter().filter(|f| f.rule.starts_with("authz/")).collect();
    assert_eq!(authz.len(), 2, "{:#?}", rules_of(&fs));
}

/// The catalog (generated from the Service Authorization Reference) covers
/// the services beyond EKS, IAM, STS and ECR: an action cut where the
/// message stops is doubted, the whole action keeps its fix. (cut, whole).
const CATALOG_CASES: &[(&str, &str)] = &[
    ("ec2:DescribeInst", "ec2:DescribeInstances"),
    ("s3:GetBucketPol", "s3:GetBucketPolicy"),
    ("kms:GenerateDataK", "kms:GenerateDataKey"),
    (
        "cloudformation:DescribeSta",
        "cloudformation:DescribeStacks",
    ),
    (
        "autoscaling:SetDesiredCap",
        "autoscaling:SetDesiredCapacity",
    ),
    (
        "elasticloadbalancing:DescribeTargetGr",
        "elasticloadbalancing:DescribeTargetGroups",
    ),
    ("logs:PutLogEv", "logs:PutLogEvents"),
    ("ssm:GetParamet", "ssm:GetParameter"),
    (
        "secretsmanager:GetSecretVal",
        "secretsmanager:GetSecretValue",
    ),
    ("sns:Publ", "sns:Publish"),
    ("sqs:ReceiveMess", "sqs:ReceiveMessage"),
    ("lambda:InvokeFunc", "lambda:InvokeFunction"),
    ("dynamodb:BatchWriteIt", "dynamodb:BatchWriteItem"),
    ("organizations:ListAcc", "organizations:ListAccounts"),
    (
        "route53:ChangeResourceRecordS",
        "route53:ChangeResourceRecordSets",
    ),
    ("acm:DescribeCertif", "acm:DescribeCertificate"),
    ("ecs:DescribeServ", "ecs:DescribeServices"),
    ("rds:DescribeDBInst", "rds:DescribeDBInstances"),
];

#[test]
fn the_catalog_judges_cut_actions_of_more_services() {
    let mut failures = Vec::new();
    for (cut, whole) in CATALOG_CASES {
        for (action, want_cut) in [(cut, true), (whole, false)] {
            let msg = format!(
                "User: arn:aws:iam::210987654321:user/ana is not authorized to perform: {action}"
            );
            let fs = explain_text(&msg);
            let Some(f) = fs.iter().find(|f| f.rule.starts_with("authz/")) else {
                failures.push(format!("{action}: no authz finding ({:?})", rules_of(&fs)));
                continue;
            };
            let uncertain = f.evidence.contains_key("uncertain");
            if uncertain != want_cut {
                failures.push(format!("{action}: uncertain {uncertain}, want {want_cut}"));
            }
            if want_cut && !f.detail.contains(whole) {
                failures.push(format!(
                    "{action}: the doubt does not offer {whole}: {}",
                    f.detail
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
