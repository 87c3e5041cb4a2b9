//! Every command in every fix is valid POSIX shell whatever the input: each
//! value from the input is quoted (shlex), no `$(...)` is built from it.
//! Checked three ways: a shell-words parser (`shlex::split`) accepts every
//! command; no shell metacharacter that came from the input stands outside
//! quotes; and `bash -n` parses every command the corpus produces.

use proptest::prelude::*;

use super::*;

/// The commands of every finding.
fn commands(fs: &[Finding]) -> Vec<String> {
    fs.iter()
        .filter_map(|f| f.fix.as_ref())
        .flat_map(|f| f.commands.iter().cloned())
        .collect()
}

/// The text of `cmd` that stands outside single and double quotes.
fn unquoted(cmd: &str) -> String {
    let mut out = String::new();
    let mut q: Option<char> = None;
    let mut esc = false;
    for c in cmd.chars() {
        match q {
            Some('\'') => {
                if c == '\'' {
                    q = None;
                }
            }
            Some(_) => {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '"' {
                    q = None;
                }
            }
            None => {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '\'' || c == '"' {
                    q = Some(c);
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Input values are built around this marker; it must never touch a shell
/// metacharacter outside quotes.
const MARK: &str = "Q9";
const METAS: &[char] = &[
    '$', '(', ')', '`', ';', '|', '&', '<', '>', '{', '}', '*', '?', '~', '#', '!', '\\', '\'', '"',
];

fn assert_safe(cmd: &str, input: &str) {
    assert!(
        shlex::split(cmd).is_some(),
        "not valid shell words: {cmd}\n(input: {input})"
    );
    let bare = unquoted(cmd);
    for m in METAS {
        for bad in [format!("{MARK}{m}"), format!("{m}{MARK}")] {
            assert!(
                !bare.contains(&bad),
                "input metacharacter {m:?} outside quotes in: {cmd}\n(input: {input})"
            );
        }
    }
}

/// Messages of every kind with `v` (and `w`) placed where the input's values go.
fn messages(v: &str, w: &str) -> Vec<String> {
    vec![
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:210987654321:cluster/{w}"
        ),
        format!(
            "User: arn:aws:sts::210987654321:assumed-role/{v}/s is not authorized to perform: iam:PassRole on resource: role {w}"
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{w}/k\" with an explicit deny in a resource-based policy"
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:210987654321:key/{w} with an explicit deny in an identity-based policy: arn:aws:iam::210987654321:policy/{w}"
        ),
        format!(
            "User: arn:aws:sts::210987654321:assumed-role/{v}/x is not authorized to perform: eks:ListClusters with an explicit deny in a service control policy: arn:aws:organizations::210987654321:policy/o-1/service_control_policy/{w}"
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::345678901234:role/{w}"
        ),
        format!(
            "User: arn:aws:sts::210987654321:assumed-role/{v}/x is not authorized to perform: eks:ListClusters because no session policy allows the eks:ListClusters action"
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: eks:ListClusters because no permissions boundary allows the eks:ListClusters action"
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: sns:Publish on resource: arn:aws:sns:us-east-1:210987654321:{w} because no VPC endpoint policy allows the sns:Publish action"
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:210987654321:repository/{w} because no resource-based policy allows the ecr:BatchGetImage action"
        ),
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"{v}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{w}\""
        ),
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"arn:aws:sts::210987654321:assumed-role/{v}/s\" cannot get resource \"{w}\" in API group \"\" at the cluster scope"
        ),
        format!(
            "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: {v}abcdefghijklmnop{w}"
        ),
        format!("You are not authorized to use launch template lt-{v}"),
        format!(
            "An error occurred (InvalidParameterException) when calling the CreateAccessEntry operation: The specified principalArn is invalid: invalid principal arn:aws:iam::210987654321:role/{v}"
        ),
        format!(
            "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: Credential should be scoped to a valid region, not '{v}'."
        ),
        format!(
            "User: arn:aws:iam::210987654321:user/{v} is not authorized to perform: iam:CreateInstanceProfile on resource: arn:aws:iam::210987654321:instance-profile/{w} with an explicit deny. Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/EXAMPLE{w} for complete details"
        ),
        format!(
            "{{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"errorCode\":\"AccessDenied\",\"userIdentity\":{{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::210987654321:user/{v}\"}},\"requestParameters\":{{\"bucketName\":\"{w}\",\"key\":\"{v}\"}}}}"
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_command_stays_valid_shell_whatever_the_input(
        a in proptest::sample::select(METAS.to_vec()),
        b in proptest::sample::select(METAS.to_vec()),
        noise in "[a-zA-Z0-9_.:/@=-]{0,8}",
    ) {
        let v = format!("{MARK}{a}{noise}{b}{MARK}");
        let w = format!("{MARK}{b}{MARK}{a}{noise}");
        for m in messages(&v, &w) {
            for c in commands(&explain_text(&m)) {
                assert_safe(&c, &m);
            }
        }
    }

    #[test]
    fn commands_from_arbitrary_text_split_as_shell_words(text in "\\PC{0,300}") {
        for c in commands(&explain_text(&text)) {
            prop_assert!(shlex::split(&c).is_some(), "{c}");
            prop_assert!(!unquoted(&c).contains("$("), "{c}");
        }
    }
}

#[test]
fn bash_parses_every_command_of_the_corpus_and_of_hostile_input() {
    let mut script = String::from("set -n\n");
    for c in super::corpus_tests::cases() {
        for cmd in commands(&explain_text(&c.message)) {
            script.push_str(&cmd);
            script.push('\n');
        }
    }
    let mut carrying = 0;
    for m in METAS {
        let v = format!("{MARK}{m}{MARK}");
        for msg in messages(&v, &v) {
            for cmd in commands(&explain_text(&msg)) {
                assert_safe(&cmd, &msg);
                carrying += usize::from(cmd.contains(MARK));
                script.push_str(&cmd);
                script.push('\n');
            }
        }
    }
    // The hostile values do reach the commands (quoted).
    assert!(
        carrying > 200,
        "only {carrying} commands carry an input value"
    );
    let dir = std::env::temp_dir().join(format!("eksdoctor-bash-n-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fixes.sh");
    std::fs::write(&path, &script).unwrap();
    match std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "bash -n rejects a produced command: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("bash not available ({e}); shlex check only"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_pasted_session_is_revoked_not_rotated() {
    let fs = explain_text(
        "export AWS_ACCESS_KEY_ID=ASIAZ3EXAMPLEQRSTUVW\nexport AWS_SECRET_ACCESS_KEY=Tq8vY3Kx2LmN8pR4tW6yB1cD5fG7hJ0kQ2sU4vX6\nexport AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEXAMPLETOKENFORTESTSONLY\n",
    );
    let f = fs
        .iter()
        .find(|f| f.rule == "keys/secret-in-input")
        .unwrap();
    let fix = f.fix.as_ref().unwrap();
    assert!(
        fix.summary.contains("aws:TokenIssueTime"),
        "{}",
        fix.summary
    );
    assert!(
        fix.commands
            .iter()
            .all(|c| !c.contains("update-access-key") && !c.contains("create-access-key"))
    );
    assert_eq!(
        fix.policy.as_ref().unwrap()["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "REVOCATION_TIME_UTC"
    );
}

#[test]
fn rbac_for_a_session_username_binds_a_group() {
    let fs = explain_text(
        "Error from server (Forbidden): secrets is forbidden: User \"arn:aws:sts::210987654321:assumed-role/eks-dev/botocore-session-1733140000\" cannot get resource \"secrets\" in API group \"\" in the namespace \"orders\"",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    let yaml = fix.replacement.as_deref().unwrap();
    assert!(yaml.contains("kind: Group"), "{yaml}");
    assert!(!yaml.contains("botocore-session"), "{yaml}");
    assert!(
        fix.commands
            .iter()
            .any(|c| c.contains("--kubernetes-groups"))
    );
    // A stable username is bound as itself.
    let fs = explain_text(
        "Error from server (Forbidden): pods is forbidden: User \"alice\" cannot get pods in the namespace \"payments\"",
    );
    assert!(
        fs[0]
            .fix
            .as_ref()
            .unwrap()
            .replacement
            .as_deref()
            .unwrap()
            .contains("kind: User")
    );
}

#[test]
fn scope_claims_match_the_policy() {
    // PassRole on a named role: the summary names that role and the policy is scoped to it.
    let fs = explain_text(
        "User: arn:aws:iam::210987654321:user/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::210987654321:role/eks-node because no identity-based policy allows the iam:PassRole action",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(fix.summary.contains("role eks-node"), "{}", fix.summary);
    assert_eq!(
        fix.policy.as_ref().unwrap()["Statement"][0]["Resource"],
        "arn:aws:iam::210987654321:role/eks-node"
    );
    // No role named: the summary says role/* and to narrow it, not "this role".
    let fs = explain_text(
        "User: arn:aws:iam::210987654321:user/ci is not authorized to perform: iam:PassRole",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(!fix.summary.contains("this role"), "{}", fix.summary);
    assert!(fix.summary.contains("role/*"), "{}", fix.summary);
    // A CloudTrail S3 record with bucket and key: scoped to the object.
    let mut ex = Explainer::new();
    let rec: Value = serde_json::from_str(
        r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","errorCode":"AccessDenied","errorMessage":"Access Denied","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::210987654321:user/reader"},"requestParameters":{"bucketName":"media-assets","key":"img/logo.png"},"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::media-assets/img/logo.png"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::media-assets"}]}"#,
    )
    .unwrap();
    ex.feed_json(&rec, 1, None);
    let fs = ex.finish();
    assert_eq!(
        fs[0].fix.as_ref().unwrap().policy.as_ref().unwrap()["Statement"][0]["Resource"],
        "arn:aws:s3:::media-assets/img/logo.png"
    );
    let mut ex = Explainer::new();
    let rec: Value = serde_json::from_str(
        r#"{"eventSource":"s3.amazonaws.com","eventName":"PutObject","errorCode":"AccessDenied","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::210987654321:user/w"},"requestParameters":{"bucketName":"drop","key":"in/a.csv"}}"#,
    )
    .unwrap();
    ex.feed_json(&rec, 1, None);
    assert_eq!(
        ex.finish()[0].evidence["parsed"]["resource"],
        "arn:aws:s3:::drop/in/a.csv"
    );
}

#[test]
fn get_caller_identity_never_gets_a_policy() {
    for m in [
        "User: arn:aws:iam::210987654321:user/locked is not authorized to perform: sts:GetCallerIdentity with an explicit deny in an identity-based policy",
        "An error occurred (AccessDenied) when calling the GetCallerIdentity operation: User: arn:aws:sts::210987654321:assumed-role/r/s is not authorized to perform: sts:GetCallerIdentity",
    ] {
        let fs = explain_text(m);
        for f in &fs {
            let fix = f.fix.as_ref().unwrap();
            assert!(fix.policy.is_none(), "{m}");
            assert!(
                !fix.commands
                    .iter()
                    .any(|c| c.contains("put-") && c.contains("policy")),
                "{m}"
            );
        }
    }
}

#[test]
fn cut_short_fields_leave_the_commands_out() {
    let fs = explain_text(
        "User: arn:aws:iam::210987654321:user/ci is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:345678901234:reposit",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(fix.commands.is_empty());
    assert!(fix.policy.is_none());
    assert!(fix.summary.contains("cut short"), "{}", fix.summary);
}

#[test]
fn terraform_and_cloudformation_get_their_own_change() {
    let fs = explain_text(
        "│ Error: reading EKS Cluster (prod): operation error EKS: DescribeCluster, https response error StatusCode: 403, RequestID: x, api error AccessDeniedException: User: arn:aws:iam::210987654321:user/terraform is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:210987654321:cluster/prod",
    );
    let r = fs[0].fix.as_ref().unwrap().replacement.as_deref().unwrap();
    assert!(r.contains("resource \"aws_iam_user_policy\""), "{r}");
    assert!(r.contains("jsonencode("), "{r}");
    let fs = explain_text("API: ec2:CreateVpc You are not authorized to perform this operation.");
    let r = fs[0].fix.as_ref().unwrap().replacement.as_deref().unwrap();
    assert!(r.contains("PolicyDocument"), "{r}");
}

#[test]
fn placeholders_stay_and_are_named() {
    let fs = explain_text(
        "User: arn:aws:iam::<ACCOUNT_ID>:user/ci is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:<ACCOUNT_ID>:cluster/<CLUSTER-NAME>",
    );
    assert!(fs[0].detail.contains("<CLUSTER-NAME>"));
    assert_eq!(
        fs[0].evidence["placeholders"],
        serde_json::json!(["<ACCOUNT_ID>", "<CLUSTER-NAME>"])
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(fix.commands[0].contains("'"), "{}", fix.commands[0]);
    assert!(!unquoted(&fix.commands[0]).contains('<'));
}
