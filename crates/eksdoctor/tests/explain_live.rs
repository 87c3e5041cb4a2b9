//! `explain --live` as a user runs it: the real binary against moto (behind
//! the shared proxy), on the denial text AWS prints, for each kind of policy
//! that decides; then the fix applied in moto (by this test, with boto3, not
//! by eksdoctor) and a second run that must say the request is allowed.
//!
//! moto serves everything used here: IAM users, groups, roles, inline and
//! managed policies with versions, permissions boundaries, role trust, KMS
//! key policies, S3 bucket policies (none: NoSuchBucketPolicy), ECR
//! repository policies, Secrets Manager resource policies, SNS topic and SQS
//! queue policies, and Organizations with SCPs (FullAWSAccess attached to the
//! root and the account by moto itself; moto's default account creates the
//! organization, so it is the management account, which SCPs do not apply
//! to). Nothing is stubbed. moto does not enforce the policies: the
//! decisions are eksdoctor's evaluator on what it read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../aws/tests/common/mod.rs"]
mod common;

use std::process::Command as Process;

use assert_cmd::Command;
use common::{ACCOUNT, Faults, Moto, Proxy, REGION};
use serde_json::{Value, json};

/// Run boto3 calls against moto: `[{"service", "op", "args", "ignore_errors"}]`;
/// returns each call's answer (`tests/fixtures/live/boto_calls.py`, shared
/// with `cargo xtask bench explain-live`).
fn boto(moto: &Moto, calls: &Value) -> Vec<Value> {
    let script = common::workspace().join("tests/fixtures/live/boto_calls.py");
    let answer = moto.python(&[script.as_os_str()], calls);
    serde_json::from_value(answer).unwrap()
}

fn call(service: &str, op: &str, args: Value) -> Value {
    json!({"service": service, "op": op, "args": args})
}

fn doc(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

struct Account {
    moto: Moto,
    proxy: Proxy,
    key_id: String,
    secret: String,
    kms_key: String,
    scp_id: String,
}

fn arn(rest: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{rest}")
}

/// One account with every scenario in it.
fn account() -> Account {
    let moto = Moto::start();
    let allow = |a: &str| json!({"Effect": "Allow", "Action": a, "Resource": "*"});
    let open_trust = doc(
        json!([{"Effect": "Allow", "Principal": {"AWS": arn("root")}, "Action": "sts:AssumeRole"}]),
    );
    let calls = json!([
        // eksdoctor's own read-only caller.
        call("iam", "create_user", json!({"UserName": "reader"})),
        call("iam", "create_access_key", json!({"UserName": "reader"})),
        // alice: allowed eks/kms/s3 inline; her group denies prod.
        call("iam", "create_user", json!({"UserName": "alice"})),
        call(
            "iam",
            "put_user_policy",
            json!({"UserName": "alice", "PolicyName": "work",
            "PolicyDocument": doc(json!([allow("eks:*"), allow("kms:*"), allow("s3:*")]))})
        ),
        call("iam", "create_group", json!({"GroupName": "devs"})),
        call(
            "iam",
            "add_user_to_group",
            json!({"GroupName": "devs", "UserName": "alice"})
        ),
        call(
            "iam",
            "put_group_policy",
            json!({"GroupName": "devs", "PolicyName": "no-prod",
            "PolicyDocument": doc(json!([
                {"Sid": "ListAll", "Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"},
                {"Sid": "NoProd", "Effect": "Deny", "Action": "eks:*",
                 "Resource": format!("arn:aws:eks:*:{ACCOUNT}:cluster/prod")}]))})
        ),
        // A role whose boundary allows eks only.
        call(
            "iam",
            "create_policy",
            json!({"PolicyName": "eks-only-boundary",
            "PolicyDocument": doc(json!([allow("eks:*")]))})
        ),
        call(
            "iam",
            "create_role",
            json!({"RoleName": "bounded", "AssumeRolePolicyDocument": open_trust,
            "PermissionsBoundary": arn("policy/eks-only-boundary")})
        ),
        call(
            "iam",
            "put_role_policy",
            json!({"RoleName": "bounded", "PolicyName": "work",
            "PolicyDocument": doc(json!([allow("sqs:*"), allow("eks:*")]))})
        ),
        // A role with a path, and a target role whose trust names it without the path.
        call(
            "iam",
            "create_role",
            json!({"RoleName": "deploy", "Path": "/ci/", "AssumeRolePolicyDocument": open_trust})
        ),
        call(
            "iam",
            "put_role_policy",
            json!({"RoleName": "deploy", "PolicyName": "assume",
            "PolicyDocument": doc(json!([allow("sts:AssumeRole")]))})
        ),
        call(
            "iam",
            "create_role",
            json!({"RoleName": "target", "AssumeRolePolicyDocument":
            doc(json!([{"Sid": "Deploy", "Effect": "Allow", "Principal": {"AWS": arn("role/deploy")}, "Action": "sts:AssumeRole"}]))})
        ),
        // A KMS key whose policy names its admin role only (no delegation to the account).
        call(
            "kms",
            "create_key",
            json!({"Policy": doc(json!([{"Sid": "Admin", "Effect": "Allow",
            "Principal": {"AWS": arn("role/key-admin")}, "Action": "kms:*", "Resource": "*"}]))})
        ),
        // A bucket without a policy.
        call(
            "s3",
            "create_bucket",
            json!({"Bucket": "team-data", "CreateBucketConfiguration": {"LocationConstraint": REGION}})
        ),
        // The organization: an SCP on the account denies s3:GetObject.
        call(
            "organizations",
            "create_organization",
            json!({"FeatureSet": "ALL"})
        ),
        call("organizations", "list_roots", json!({})),
    ]);
    let got = boto(&moto, &calls);
    let key = &got[1]["AccessKey"];
    let kms_key = got[13]["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
    let root = got[16]["Roots"][0]["Id"].as_str().unwrap().to_owned();
    let scp = boto(
        &moto,
        &json!([
            {"service": "organizations", "op": "enable_policy_type", "ignore_errors": true,
             "args": {"RootId": root, "PolicyType": "SERVICE_CONTROL_POLICY"}},
            call("organizations", "create_policy", json!({"Name": "no-object-reads", "Description": "d",
                "Type": "SERVICE_CONTROL_POLICY",
                "Content": doc(json!([{"Sid": "NoGetObject", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]))})),
        ]),
    );
    let scp_id = scp[1]["Policy"]["PolicySummary"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    boto(
        &moto,
        &json!([call(
            "organizations",
            "attach_policy",
            json!({"PolicyId": scp_id, "TargetId": ACCOUNT})
        )]),
    );
    let proxy = Proxy::start(moto.addr, Faults::default());
    Account {
        key_id: key["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: key["SecretAccessKey"].as_str().unwrap().to_owned(),
        moto,
        proxy,
        kms_key,
        scp_id,
    }
}

/// `explain --live --format json TEXT`: the first finding, and the exit status.
fn explain_live(acct: &Account, text: &str, extra: &[&str]) -> (Value, i32, String) {
    explain_live_env(acct, text, extra, &[])
}

/// [`explain_live`] with more environment variables.
fn explain_live_env(
    acct: &Account,
    text: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Value, i32, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", &acct.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &acct.secret)
        .env("NO_COLOR", "1")
        .args([
            "explain",
            "--live",
            "--region",
            REGION,
            "--endpoint-url",
            &acct.proxy.url(),
        ])
        .args(extra)
        .arg(text)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!stdout.contains(&acct.secret), "the secret must never show");
    let v: Value = if extra.contains(&"json") {
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    } else {
        Value::Null
    };
    (
        v["findings"][0].clone(),
        out.status.code().unwrap_or(-1),
        stdout,
    )
}

fn denial(principal: &str, action: &str, resource: &str, why: &str) -> String {
    format!(
        "An error occurred (AccessDeniedException) when calling the X operation: User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"
    )
}

/// Every fix command parses as shell, and is an `aws` command.
fn check_commands(f: &Value) -> Vec<Vec<String>> {
    f["fix"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let words = shlex::split(c.as_str().unwrap()).expect("fix command is not shell");
            assert_eq!(words[0], "aws");
            words
        })
        .collect()
}

/// The value after `--flag` in a command's words.
fn flag<'a>(words: &'a [String], name: &str) -> &'a str {
    let i = words.iter().position(|w| w == name).unwrap();
    &words[i + 1]
}

#[test]
fn each_deciding_policy_is_named_and_its_fix_allows_on_a_second_run() {
    let acct = account();
    let json = ["--format", "json"];

    // 1. An explicit Deny in a group policy.
    let text = denial(
        &arn("user/alice"),
        "eks:DescribeCluster",
        &format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod"),
        "with an explicit deny in an identity-based policy",
    );
    let (f, code, _) = explain_live(&acct, &text, &json);
    assert_eq!(code, 1, "{f:#}");
    assert_eq!(f["rule"], "authz/explicit-deny");
    let live = &f["evidence"]["live"];
    assert_eq!(
        live["deciding"]["policy"],
        "inline policy 'no-prod' of group devs"
    );
    assert_eq!(live["deciding"]["statement"], "NoProd");
    assert!(
        live["deciding"]["lines"]
            .as_str()
            .unwrap()
            .contains("\"Effect\": \"Deny\"")
    );
    let cmds = check_commands(&f);
    assert_eq!(&cmds[0][..3], ["aws", "iam", "put-group-policy"]);
    // Merged: the Allow statement of that policy is still there.
    let put: Value = serde_json::from_str(flag(&cmds[0], "--policy-document")).unwrap();
    assert_eq!(put["Statement"].as_array().unwrap().len(), 2);
    assert_eq!(live["decision_after_fix"], "allow");
    boto(
        &acct.moto,
        &json!([call(
            "iam",
            "put_group_policy",
            json!({"GroupName": "devs",
        "PolicyName": flag(&cmds[0], "--policy-name"), "PolicyDocument": flag(&cmds[0], "--policy-document")})
        )]),
    );
    let (f, code, _) = explain_live(&acct, &text, &json);
    assert_eq!(
        (f["rule"].as_str(), code),
        (Some("authz/allowed-now"), 0),
        "{f:#}"
    );

    // 2. A permissions boundary without the action (a role session).
    let text = denial(
        &format!("arn:aws:sts::{ACCOUNT}:assumed-role/bounded/s1"),
        "sqs:SendMessage",
        &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"),
        "because no permissions boundary allows the sqs:SendMessage action",
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/permissions-boundary", "{f:#}");
    let live = &f["evidence"]["live"];
    assert_eq!(live["layer"], "boundary");
    assert_eq!(live["session_policy"]["assumed"], "none");
    assert!(live["notes"].to_string().contains("--session-policy"));
    let cmds = check_commands(&f);
    let last = cmds.last().unwrap();
    assert_eq!(&last[..3], ["aws", "iam", "create-policy-version"]);
    assert!(last.contains(&"--set-as-default".to_owned()));
    assert_eq!(flag(last, "--policy-arn"), arn("policy/eks-only-boundary"));
    boto(
        &acct.moto,
        &json!([call(
            "iam",
            "create_policy_version",
            json!({"PolicyArn": arn("policy/eks-only-boundary"),
        "PolicyDocument": flag(last, "--policy-document"), "SetAsDefault": true})
        )]),
    );
    let (f, code, _) = explain_live(&acct, &text, &json);
    assert_eq!(
        (f["rule"].as_str(), code),
        (Some("authz/allowed-now"), 0),
        "{f:#}"
    );
    // A session policy that does not allow it: both answers are shown.
    let dir = tempfile::tempdir().unwrap();
    let sp = dir.path().join("session.json");
    std::fs::write(
        &sp,
        doc(json!([{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}])),
    )
    .unwrap();
    let (f, _, _) = explain_live(
        &acct,
        &text,
        &["--format", "json", "--session-policy", sp.to_str().unwrap()],
    );
    assert_eq!(f["rule"], "authz/session-policy", "{f:#}");
    assert_eq!(
        f["evidence"]["live"]["session_policy"]["decision_without"],
        "allow"
    );

    // 3. A KMS key policy that does not delegate to the account.
    let text = denial(
        &arn("user/alice"),
        "kms:Decrypt",
        &acct.kms_key,
        "because no resource-based policy allows the kms:Decrypt action",
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/resource-policy", "{f:#}");
    assert_eq!(f["evidence"]["live"]["layer"], "key-policy");
    let cmds = check_commands(&f);
    assert_eq!(&cmds[0][..3], ["aws", "kms", "put-key-policy"]);
    let merged: Value = serde_json::from_str(flag(&cmds[0], "--policy")).unwrap();
    assert_eq!(
        merged["Statement"][0]["Sid"], "Admin",
        "the admin statement is kept"
    );
    boto(
        &acct.moto,
        &json!([call(
            "kms",
            "put_key_policy",
            json!({"KeyId": acct.kms_key,
        "PolicyName": "default", "Policy": flag(&cmds[0], "--policy")})
        )]),
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/allowed-now", "{f:#}");

    // 4. An SCP Deny on the organization's management account (moto's
    // default account created the organization): SCPs do not apply to it.
    let text = denial(
        &arn("user/alice"),
        "s3:GetObject",
        "arn:aws:s3:::team-data/report.csv",
        "with an explicit deny in a service control policy",
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/allowed-now", "{f:#}");
    let live = &f["evidence"]["live"];
    assert!(
        live["trace"]
            .to_string()
            .contains("is the organization's management account"),
        "{f:#}"
    );
    assert!(
        !live["policies_read"].to_string().contains(&acct.scp_id),
        "{f:#}"
    );
    // The bucket has no policy, and that is read as such (not as an error).
    assert!(
        live["policies_read"]
            .to_string()
            .contains("bucket policy of team-data")
    );

    // 5. A role trust that names the caller's role ARN without its path.
    let text = denial(
        &format!("arn:aws:sts::{ACCOUNT}:assumed-role/deploy/run-7"),
        "sts:AssumeRole",
        &arn("role/target"),
        "",
    );
    let (f, _, stdout_text) = explain_live(&acct, &text, &[]);
    assert!(
        stdout_text.contains("decided by: no statement of trust policy of"),
        "{stdout_text}"
    );
    assert!(
        stdout_text.contains("$ aws iam update-assume-role-policy --role-name target"),
        "{stdout_text}"
    );
    let _ = f;
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/role-trust", "{f:#}");
    assert!(
        f["evidence"]["live"]["notes"]
            .to_string()
            .contains("must carry the role's path"),
        "{f:#}"
    );
    let cmds = check_commands(&f);
    let trust: Value = serde_json::from_str(flag(&cmds[0], "--policy-document")).unwrap();
    assert_eq!(
        trust["Statement"][1]["Principal"]["AWS"],
        arn("role/ci/deploy")
    );
    boto(
        &acct.moto,
        &json!([call(
            "iam",
            "update_assume_role_policy",
            json!({"RoleName": "target",
        "PolicyDocument": flag(&cmds[0], "--policy-document")})
        )]),
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/allowed-now", "{f:#}");
}

#[test]
fn bad_input_is_exit_2_without_calling_aws() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("s.json");
    std::fs::write(&bad, "{not json").unwrap();
    let out = Command::cargo_bin("eksdoctor")
        .unwrap()
        .env("HOME", home.path())
        .args([
            "explain",
            "--live",
            "--session-policy",
            bad.to_str().unwrap(),
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::cargo_bin("eksdoctor")
        .unwrap()
        .args(["explain", "--live", "--context", "novalue", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    // Nothing to check live: the offline answer, without credentials or AWS.
    let out = Command::cargo_bin("eksdoctor")
        .unwrap()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "explain",
            "--live",
            "error: You must be logged in to the server (Unauthorized)",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cluster/unauthorized"));
}

#[test]
fn an_unreadable_scp_level_is_said_and_an_allow_is_not_trusted() {
    // moto enforcing IAM for eksdoctor's reader, which may read IAM but not
    // Organizations: the SCP level is not read, and the request the policies
    // read would allow keeps its offline diagnosis with the note.
    let moto = Moto::start();
    let calls = json!([
        call("iam", "create_user", json!({"UserName": "reader"})),
        call("iam", "create_access_key", json!({"UserName": "reader"})),
        call(
            "iam",
            "put_user_policy",
            json!({"UserName": "reader", "PolicyName": "read",
            "PolicyDocument": doc(json!([{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}]))})
        ),
        call("iam", "create_user", json!({"UserName": "alice"})),
        call(
            "iam",
            "put_user_policy",
            json!({"UserName": "alice", "PolicyName": "work",
            "PolicyDocument": doc(json!([{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]))})
        ),
        call(
            "organizations",
            "create_organization",
            json!({"FeatureSet": "ALL"})
        ),
    ]);
    let got = boto(&moto, &calls);
    let key = &got[1]["AccessKey"];
    // From here on moto checks every request against the caller's policies.
    let python = common::moto_server_path().with_file_name("python");
    let status = Process::new(python)
        .arg("-c")
        .arg("import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/reset-auth', data=b'0', method='POST', headers={'Content-Type': 'text/plain'})).read()")
        .arg(moto.url())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let proxy = Proxy::start(moto.addr, Faults::default());
    let acct = Account {
        key_id: key["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: key["SecretAccessKey"].as_str().unwrap().to_owned(),
        moto,
        proxy,
        kms_key: String::new(),
        scp_id: String::new(),
    };
    let text = denial(
        &arn("user/alice"),
        "eks:DescribeCluster",
        &format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod"),
        "with an explicit deny in a service control policy",
    );
    let (f, code, _) = explain_live(&acct, &text, &["--format", "json"]);
    let live = &f["evidence"]["live"];
    assert_eq!(live["decision"], "allow", "{f:#}");
    assert_eq!(live["complete"], false);
    assert!(
        live["notes"].to_string().contains("SCP level not read"),
        "{f:#}"
    );
    assert!(
        live["notes"]
            .to_string()
            .contains("organizations:ListParents")
    );
    // Not "allowed now": the SCP the message names was not read.
    assert_eq!(f["rule"], "authz/service-control-policy");
    assert_eq!(code, 1);
}

/// ECR, Secrets Manager, SNS and SQS resource policies: each one's Deny
/// decides; the fix narrows it in the merged document, which this test puts
/// back with boto3; the second run is allowed. A queue without a policy is
/// read as "no policy" (not as an error).
#[test]
fn resource_policies_of_repositories_secrets_topics_and_queues_decide_and_merge() {
    let moto = Moto::start();
    let bob = arn("user/bob");
    let deny = |sid: &str, action: &str, resource: Option<&str>| {
        let mut st =
            json!({"Sid": sid, "Effect": "Deny", "Principal": {"AWS": bob}, "Action": action});
        if let Some(r) = resource {
            st["Resource"] = json!(r);
        }
        st
    };
    let keep = |sid: &str, action: &str, resource: Option<&str>| {
        let mut st = json!({"Sid": sid, "Effect": "Allow", "Principal": {"AWS": arn("root")}, "Action": action});
        if let Some(r) = resource {
            st["Resource"] = json!(r);
        }
        st
    };
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:alerts");
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:jobs");
    let repo = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/app");
    let got = boto(
        &moto,
        &json!([
            call("iam", "create_user", json!({"UserName": "reader"})),
            call("iam", "create_access_key", json!({"UserName": "reader"})),
            call("iam", "create_user", json!({"UserName": "bob"})),
            call(
                "iam",
                "put_user_policy",
                json!({"UserName": "bob", "PolicyName": "work",
                "PolicyDocument": doc(json!([{"Effect": "Allow",
                    "Action": ["ecr:*", "secretsmanager:*", "sns:*", "sqs:*"], "Resource": "*"}]))})
            ),
            call(
                "ecr",
                "create_repository",
                json!({"repositoryName": "team/app"})
            ),
            // ECR repository policies name no Resource: the repository is it.
            call(
                "ecr",
                "set_repository_policy",
                json!({"repositoryName": "team/app",
                "policyText": doc(json!([keep("Pull", "ecr:BatchGetImage", None),
                                         deny("NoBob", "ecr:BatchGetImage", None)]))})
            ),
            call(
                "secretsmanager",
                "create_secret",
                json!({"Name": "db", "SecretString": "not-a-real-secret"})
            ),
            call("sns", "create_topic", json!({"Name": "alerts"})),
            call("sqs", "create_queue", json!({"QueueName": "jobs"})),
            call("sqs", "create_queue", json!({"QueueName": "open"})),
            // moto's default account creates it: the management account.
            call(
                "organizations",
                "create_organization",
                json!({"FeatureSet": "ALL"})
            ),
        ]),
    );
    let key = &got[1]["AccessKey"];
    let secret = got[6]["ARN"].as_str().unwrap().to_owned();
    let queue_url = got[8]["QueueUrl"].as_str().unwrap().to_owned();
    boto(
        &moto,
        &json!([
            call(
                "secretsmanager",
                "put_resource_policy",
                json!({"SecretId": secret,
                "ResourcePolicy": doc(json!([keep("Read", "secretsmanager:GetSecretValue", Some("*")),
                                             deny("NoBob", "secretsmanager:GetSecretValue", Some("*"))]))})
            ),
            call(
                "sns",
                "set_topic_attributes",
                json!({"TopicArn": topic, "AttributeName": "Policy",
                "AttributeValue": doc(json!([keep("Publish", "sns:Publish", Some(&topic)),
                                             deny("NoBob", "sns:Publish", Some(&topic))]))})
            ),
            call(
                "sqs",
                "set_queue_attributes",
                json!({"QueueUrl": queue_url, "Attributes": {"Policy":
                doc(json!([keep("Send", "sqs:SendMessage", Some(&queue)),
                           deny("NoBob", "sqs:SendMessage", Some(&queue))]))}})
            ),
        ]),
    );
    let proxy = Proxy::start(moto.addr, Faults::default());
    let acct = Account {
        key_id: key["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: key["SecretAccessKey"].as_str().unwrap().to_owned(),
        moto,
        proxy,
        kms_key: String::new(),
        scp_id: String::new(),
    };
    let json = ["--format", "json"];
    // (action, resource, policy name, command, the boto3 call that applies it)
    type Apply = fn(&[String]) -> Value;
    let cases: [(&str, &str, &str, [&str; 3], Apply); 4] = [
        (
            "ecr:BatchGetImage",
            &repo,
            "repository policy of team/app",
            ["aws", "ecr", "set-repository-policy"],
            |w| {
                call(
                    "ecr",
                    "set_repository_policy",
                    json!({"repositoryName": flag(w, "--repository-name"),
                    "registryId": flag(w, "--registry-id"), "policyText": flag(w, "--policy-text")}),
                )
            },
        ),
        (
            "secretsmanager:GetSecretValue",
            &secret,
            "resource policy of",
            ["aws", "secretsmanager", "put-resource-policy"],
            |w| {
                call(
                    "secretsmanager",
                    "put_resource_policy",
                    json!({"SecretId": flag(w, "--secret-id"),
                    "ResourcePolicy": flag(w, "--resource-policy")}),
                )
            },
        ),
        (
            "sns:Publish",
            &topic,
            "access policy of arn:aws:sns:",
            ["aws", "sns", "set-topic-attributes"],
            |w| {
                call(
                    "sns",
                    "set_topic_attributes",
                    json!({"TopicArn": flag(w, "--topic-arn"),
                    "AttributeName": flag(w, "--attribute-name"), "AttributeValue": flag(w, "--attribute-value")}),
                )
            },
        ),
        (
            "sqs:SendMessage",
            &queue,
            "access policy of arn:aws:sqs:",
            ["aws", "sqs", "set-queue-attributes"],
            |w| {
                let attributes: Value = serde_json::from_str(flag(w, "--attributes")).unwrap();
                call(
                    "sqs",
                    "set_queue_attributes",
                    json!({"QueueUrl": flag(w, "--queue-url"),
                    "Attributes": attributes}),
                )
            },
        ),
    ];
    for (action, resource, policy, command, apply) in cases {
        let text = denial(
            &bob,
            action,
            resource,
            "with an explicit deny in a resource-based policy",
        );
        let (f, code, _) = explain_live(&acct, &text, &json);
        assert_eq!(
            (f["rule"].as_str(), code),
            (Some("authz/explicit-deny"), 1),
            "{action}: {f:#}"
        );
        let live = &f["evidence"]["live"];
        assert!(
            live["deciding"]["policy"]
                .as_str()
                .unwrap()
                .starts_with(policy),
            "{action}: {f:#}"
        );
        assert_eq!(live["deciding"]["statement"], "NoBob", "{action}");
        assert_eq!(live["decision_after_fix"], "allow", "{action}: {f:#}");
        let cmds = check_commands(&f);
        assert_eq!(&cmds[0][..3], command, "{action}");
        assert_eq!(flag(&cmds[0], "--region"), REGION);
        // Merged: the other statement is still there.
        let doc_flag = match command[1] {
            "ecr" => "--policy-text",
            "secretsmanager" => "--resource-policy",
            "sns" => "--attribute-value",
            _ => "--attributes",
        };
        let mut merged: Value = serde_json::from_str(flag(&cmds[0], doc_flag)).unwrap();
        if command[1] == "sqs" {
            merged = serde_json::from_str(merged["Policy"].as_str().unwrap()).unwrap();
        }
        assert_eq!(
            merged["Statement"].as_array().unwrap().len(),
            2,
            "{action}: {merged:#}"
        );
        boto(&acct.moto, &json!([apply(&cmds[0])]));
        let (f, code, _) = explain_live(&acct, &text, &json);
        assert_eq!(
            (f["rule"].as_str(), code),
            (Some("authz/allowed-now"), 0),
            "{action} after the fix: {f:#}"
        );
    }

    // A queue without a policy: read as none, the identity policy decides.
    let text = denial(
        &bob,
        "sqs:SendMessage",
        &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:open"),
        "",
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/allowed-now", "{f:#}");
    assert!(
        f["evidence"]["live"]["policies_read"]
            .to_string()
            .contains("access policy of arn:aws:sqs:"),
        "{f:#}"
    );
    assert_eq!(f["evidence"]["live"]["complete"], true, "{f:#}");
}

/// The organization's levels are the right accounts': a caller in the
/// management account gets no SCP read at all (SCPs do not apply to it),
/// the RCPs of a resource in a member account come from that member's path
/// (AWS Organizations, "Resource control policies": they govern the
/// resources of member accounts, whoever asks); and a principal in another
/// account than the credentials' is not looked up in the credentials' one
/// (where a user of the same name would answer for it).
#[test]
fn org_levels_follow_the_accounts_and_a_foreign_principal_is_not_looked_up() {
    let moto = Moto::start();
    let got = boto(
        &moto,
        &json!([
            call("iam", "create_user", json!({"UserName": "reader"})),
            call("iam", "create_access_key", json!({"UserName": "reader"})),
            call("iam", "create_user", json!({"UserName": "alice"})),
            call(
                "iam",
                "put_user_policy",
                json!({"UserName": "alice", "PolicyName": "all",
                "PolicyDocument": doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]))})
            ),
            // moto's default account creates it: the management account.
            call(
                "organizations",
                "create_organization",
                json!({"FeatureSet": "ALL"})
            ),
            call("organizations", "list_roots", json!({})),
            call(
                "organizations",
                "create_account",
                json!({"Email": "member@example.com", "AccountName": "member"})
            ),
        ]),
    );
    let key = &got[1]["AccessKey"];
    let root = got[5]["Roots"][0]["Id"].as_str().unwrap().to_owned();
    let member = got[6]["CreateAccountStatus"]["AccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let rcp = boto(
        &moto,
        &json!([
            {"service": "organizations", "op": "enable_policy_type", "ignore_errors": true,
             "args": {"RootId": root, "PolicyType": "RESOURCE_CONTROL_POLICY"}},
            call("organizations", "create_policy", json!({"Name": "no-sends", "Description": "d",
                "Type": "RESOURCE_CONTROL_POLICY",
                "Content": doc(json!([{"Sid": "NoSends", "Effect": "Deny", "Principal": "*",
                    "Action": "sqs:SendMessage", "Resource": "*"}]))})),
        ]),
    );
    let rcp_id = rcp[1]["Policy"]["PolicySummary"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    boto(
        &moto,
        &json!([call(
            "organizations",
            "attach_policy",
            json!({"PolicyId": rcp_id, "TargetId": member})
        )]),
    );
    let proxy = Proxy::start(moto.addr, Faults::default());
    let acct = Account {
        key_id: key["AccessKeyId"].as_str().unwrap().to_owned(),
        secret: key["SecretAccessKey"].as_str().unwrap().to_owned(),
        moto,
        proxy,
        kms_key: String::new(),
        scp_id: String::new(),
    };
    let json = ["--format", "json"];

    // 1. The management account's alice sends to a queue of the member
    // account, whose RCP denies it.
    let text = denial(
        &arn("user/alice"),
        "sqs:SendMessage",
        &format!("arn:aws:sqs:{REGION}:{member}:jobs"),
        "with an explicit deny in a resource control policy",
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    let live = &f["evidence"]["live"];
    assert_eq!(live["decision"], "explicit-deny", "{f:#}");
    assert_eq!(live["deciding"]["statement"], "NoSends", "{f:#}");
    assert!(
        live["deciding"]["policy"]
            .as_str()
            .unwrap()
            .contains(&format!("attached to {member}")),
        "{f:#}"
    );
    // No SCP level for the management account's caller: only the member's
    // path was walked (one ListParents), and only its RCPs listed (root and
    // member).
    assert_eq!(acct.proxy.count("ListParents"), 1);
    assert_eq!(acct.proxy.count("ListPoliciesForTarget"), 2);
    assert!(!live["policies_read"].to_string().contains("SCP "), "{f:#}");

    // 2. The same request on a queue of the management account: neither
    // level applies, nothing of the organization is read but
    // DescribeOrganization.
    let walked = acct.proxy.count("ListParents") + acct.proxy.count("ListPoliciesForTarget");
    let text = denial(
        &arn("user/alice"),
        "sqs:SendMessage",
        &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"),
        "",
    );
    let (f, _, _) = explain_live(&acct, &text, &json);
    assert_eq!(f["rule"], "authz/allowed-now", "{f:#}");
    assert_eq!(
        acct.proxy.count("ListParents") + acct.proxy.count("ListPoliciesForTarget"),
        walked,
        "no organization read for the management account"
    );

    // 3. alice of another account: the credentials' account has an alice
    // who may do anything, and must not answer for her.
    let users_read = acct.proxy.count("GetUser");
    let policies_listed = acct.proxy.count("ListUserPolicies");
    let text = denial(
        "arn:aws:iam::111122223333:user/alice",
        "eks:DescribeCluster",
        &format!("arn:aws:eks:{REGION}:111122223333:cluster/prod"),
        "because no identity-based policy allows the eks:DescribeCluster action",
    );
    let (f, code, _) = explain_live(&acct, &text, &json);
    assert_eq!(acct.proxy.count("GetUser"), users_read, "not looked up");
    assert_eq!(
        acct.proxy.count("ListUserPolicies"),
        policies_listed,
        "not looked up"
    );
    let live = &f["evidence"]["live"];
    assert_eq!(live["decision"], "not-read", "{f:#}");
    assert_eq!(live["complete"], false);
    let notes = live["notes"].to_string();
    assert!(notes.contains("account 111122223333"), "{notes}");
    assert!(notes.contains("--profile"), "{notes}");
    // The offline diagnosis stands, not an "allowed now".
    assert_eq!(f["rule"], "authz/no-identity-policy", "{f:#}");
    assert_eq!(code, 1);
    assert!(
        f["detail"].as_str().unwrap().contains("Not checked live"),
        "{f:#}"
    );

    // 4. Credentials whose provider names their account (here
    // AWS_ACCOUNT_ID; IAM Identity Center and assumed roles do it too): no
    // GetCallerIdentity, and the same answers, for alice of this account and
    // of the other one.
    let asked = acct.proxy.count("GetCallerIdentity");
    let text = denial(
        &arn("user/alice"),
        "sqs:SendMessage",
        &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"),
        "",
    );
    let (f, _, _) = explain_live_env(&acct, &text, &json, &[("AWS_ACCOUNT_ID", ACCOUNT)]);
    assert_eq!(f["rule"], "authz/allowed-now", "{f:#}");
    let text = denial(
        "arn:aws:iam::111122223333:user/alice",
        "eks:DescribeCluster",
        &format!("arn:aws:eks:{REGION}:111122223333:cluster/prod"),
        "because no identity-based policy allows the eks:DescribeCluster action",
    );
    let (f, _, _) = explain_live_env(&acct, &text, &json, &[("AWS_ACCOUNT_ID", ACCOUNT)]);
    assert_eq!(f["evidence"]["live"]["decision"], "not-read", "{f:#}");
    assert_eq!(
        acct.proxy.count("GetCallerIdentity"),
        asked,
        "the provider's account id is used, not asked"
    );
}

/// The dashboard takes `--session-policy` and `--context` for its Explain
/// box's live answers, checked before the terminal is taken (exit 2 for a
/// bad one, whatever the terminal); before another command they are an
/// error, not silently dropped.
#[test]
fn the_dashboards_live_explain_flags_are_checked() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("s.json");
    std::fs::write(&bad, "{not json").unwrap();
    let run = |args: &[&str]| {
        Command::cargo_bin("eksdoctor")
            .unwrap()
            .env("HOME", home.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--session-policy", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("s.json"), "{err}");
    assert!(!err.contains("needs a terminal"), "{err}");
    let out = run(&["--context", "novalue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--context"));
    // Good flags: on to the terminal check (no terminal here).
    let good = home.path().join("good.json");
    std::fs::write(
        &good,
        doc(json!([{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}])),
    )
    .unwrap();
    let out = run(&[
        "--session-policy",
        good.to_str().unwrap(),
        "--context",
        "aws:SourceIp=10.0.0.1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
    // Before a command: said, not dropped.
    let out = run(&["--context", "a=b", "explain", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dashboard"));
}
