//! End-to-end tests of the explain engine: text in, findings out.

use std::io::Write as _;

use proptest::prelude::*;
use serde_json::Value;

use super::*;

const MESSAGES: &str = include_str!("../../../../tests/fixtures/explain/messages.tsv");
const EXAMPLES: &str = include_str!("../../../../tests/fixtures/examples/errors.txt");

fn rules_of(fs: &[Finding]) -> Vec<&str> {
    fs.iter().map(|f| f.rule).collect()
}

fn all_text(f: &Finding) -> String {
    serde_json::to_string(f).unwrap()
}

#[test]
fn every_fixture_message_gets_its_rule() {
    let mut n = 0;
    for line in MESSAGES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (rule, msg) = line.split_once('\t').unwrap();
        let fs = explain_text(msg);
        assert!(!fs.is_empty(), "no finding for {msg}");
        assert_eq!(fs[0].rule, rule, "{msg}\n{:#?}", rules_of(&fs));
        // Every finding carries a parsed object of the contract's shape.
        for f in &fs {
            let p = &f.evidence["parsed"];
            for k in ["principal", "action", "resource", "denial", "count"] {
                assert!(p.get(k).is_some(), "{rule}: parsed.{k} missing");
            }
            for k in ["kind", "policy_type", "policy_arn"] {
                assert!(
                    p["denial"].get(k).is_some(),
                    "{rule}: parsed.denial.{k} missing"
                );
            }
            assert!(f.fix.is_some(), "{} has no fix", f.rule);
        }
        n += 1;
    }
    assert!(n >= 40, "only {n} fixture messages");
}

#[test]
fn the_shared_examples_all_diagnosed_at_once() {
    let fs = explain_text(EXAMPLES);
    let mut rules = rules_of(&fs);
    rules.sort_unstable();
    assert_eq!(
        rules,
        vec![
            "authz/no-identity-policy",
            "authz/pass-role",
            "cluster/console-no-k8s-access",
            "sts/global-endpoint"
        ]
    );
}

#[test]
fn parsed_principal_matches_the_contract() {
    let fs = explain_text(
        "User: arn:aws:sts::111122223333:assumed-role/eks-admin/alice@example.com is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-west-2:111122223333:cluster/my-cluster with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/NoEks",
    );
    let p = &fs[0].evidence["parsed"];
    assert_eq!(
        p["principal"],
        serde_json::json!({
            "arn": "arn:aws:sts::111122223333:assumed-role/eks-admin/alice@example.com",
            "kind": "assumed-role",
            "account": "111122223333",
            "name": "eks-admin",
            "path": "/",
            "session": "alice@example.com",
        })
    );
    assert_eq!(p["action"], "eks:DescribeCluster");
    assert_eq!(
        p["resource"],
        "arn:aws:eks:us-west-2:111122223333:cluster/my-cluster"
    );
    assert_eq!(
        p["denial"],
        serde_json::json!({"kind": "explicit", "policy_type": "identity-based", "policy_arn": "arn:aws:iam::111122223333:policy/NoEks"})
    );
    assert_eq!(p["count"], 1);
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(fix.summary.contains("cannot override"));
    assert!(
        fix.commands[1]
            .contains("get-policy-version --policy-arn arn:aws:iam::111122223333:policy/NoEks")
    );
    assert!(fs[0].detail.contains("Allow"));
}

#[test]
fn identity_fix_scopes_to_the_resource_and_attaches_to_the_principal() {
    let fs = explain_text(
        "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-west-2:111122223333:cluster/prod",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    let policy = fix.policy.as_ref().unwrap();
    assert_eq!(
        policy["Statement"][0]["Resource"],
        "arn:aws:eks:us-west-2:111122223333:cluster/prod"
    );
    assert_eq!(policy["Statement"][0]["Action"], "eks:DescribeCluster");
    assert!(fix.commands[0].starts_with("aws iam put-user-policy --user-name ci --policy-name eksdoctor-allow-eks-DescribeCluster --policy-document '{"));

    // Assumed role: put-role-policy on the role name.
    let fs = explain_text(
        "User: arn:aws:sts::111122223333:assumed-role/dev/alice is not authorized to perform: eks:ListClusters",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(fix.commands[0].starts_with("aws iam put-role-policy --role-name dev "));
    assert_eq!(
        fix.policy.as_ref().unwrap()["Statement"][0]["Resource"],
        "*"
    );

    // No resource: the narrowest pattern, partition-aware, and the detail says so.
    let fs = explain_text(
        "User: arn:aws-us-gov:iam::111122223333:user/ops is not authorized to perform: eks:DescribeCluster",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert_eq!(
        fix.policy.as_ref().unwrap()["Statement"][0]["Resource"],
        "arn:aws-us-gov:eks:*:111122223333:cluster/*"
    );
    assert!(fs[0].detail.contains("names no resource"));

    // SSO: the permission set, not the role.
    let fs = explain_text(
        "User: arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_0123456789abcdef/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-west-1:111122223333:cluster/prod",
    );
    let fix = fs[0].fix.as_ref().unwrap();
    assert!(
        fix.commands
            .iter()
            .any(|c| c.contains("put-inline-policy-to-permission-set"))
    );
    assert!(fs[0].detail.contains("permission set ReadOnly"));

    // Root and services: say what applies instead of an attach command.
    let fs = explain_text(
        "User: arn:aws:iam::111122223333:root is not authorized to perform: eks:DescribeCluster",
    );
    assert!(fs[0].fix.as_ref().unwrap().commands.is_empty());
    assert!(fs[0].detail.contains("root user"));
    let fs = explain_text(
        "User: eks.amazonaws.com is not authorized to perform: kms:CreateGrant on resource: arn:aws:kms:us-west-2:111122223333:key/k",
    );
    assert!(fs[0].detail.contains("\"Service\": \"eks.amazonaws.com\""));
    let fs = explain_text(
        "User: arn:aws:sts::111122223333:federated-user/bob is not authorized to perform: eks:ListClusters",
    );
    assert!(fs[0].detail.contains("GetFederationToken"));
}

#[test]
fn pass_role_condition_follows_the_role_and_operation() {
    let cond = |msg: &str| {
        let fs = explain_text(msg);
        assert_eq!(fs[0].rule, "authz/pass-role");
        fs[0].fix.as_ref().unwrap().policy.as_ref().unwrap()["Statement"][0]["Condition"]["StringEquals"]["iam:PassedToService"].clone()
    };
    assert_eq!(
        cond(
            "An error occurred (AccessDeniedException) when calling the CreateCluster operation: User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/my-role"
        ),
        "eks.amazonaws.com"
    );
    assert_eq!(
        cond(
            "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/AmazonEKSFargatePodExecutionRole"
        ),
        "eks-fargate-pods.amazonaws.com"
    );
    assert_eq!(
        cond(
            "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/team/eksNodeRole"
        ),
        "eks.amazonaws.com"
    );
    let both = cond(
        "User: arn:aws:iam::123456789012:user/marymajor is not authorized to perform: iam:PassRole",
    );
    assert_eq!(
        both,
        serde_json::json!(["eks.amazonaws.com", "eks-fargate-pods.amazonaws.com"])
    );
    let fs = explain_text(
        "User: arn:aws:iam::123456789012:user/marymajor is not authorized to perform: iam:PassRole",
    );
    assert!(fs[0].detail.contains("could not tell which service"));
    let res = &fs[0].fix.as_ref().unwrap().policy.as_ref().unwrap()["Statement"][0]["Resource"];
    assert_eq!(res, "arn:aws:iam::123456789012:role/*");
    // `on resource: role NAME` becomes the role's ARN.
    let fs = explain_text(
        "User: arn:aws:iam::111122223333:user/tester is not authorized to perform: iam:PassRole on resource: role TestReadOnly with an explicit deny",
    );
    let res = &fs[0].fix.as_ref().unwrap().policy.as_ref().unwrap()["Statement"][0]["Resource"];
    assert_eq!(res, "arn:aws:iam::111122223333:role/TestReadOnly");
    assert!(fs[0].detail.contains("explicit Deny"));
}

#[test]
fn organizations_policies_say_who_must_act() {
    let fs = explain_text(
        "User: arn:aws:iam::123456789012:user/Matt is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::123456789012:role/* with an explicit deny in a service control policy: arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd",
    );
    assert!(
        fs[0]
            .fix
            .as_ref()
            .unwrap()
            .summary
            .contains("management account")
    );
    assert!(
        fs[0].fix.as_ref().unwrap().commands[0].contains("describe-policy --policy-id p-2kgnabcd")
    );
    assert!(fs[0].detail.contains("not even by its root user"));
    let fs = explain_text(
        "User: arn:aws:iam::123456789012:user/John is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:* with an explicit deny in a resource control policy",
    );
    assert!(fs[0].fix.as_ref().unwrap().commands[0].contains("RESOURCE_CONTROL_POLICY"));
}

#[test]
fn role_trust_gives_the_statement_for_the_caller() {
    let fs = explain_text(
        "User: arn:aws:sts::123456789012:assumed-role/ci/job-42 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::987654321098:role/team/InfraDeployRole",
    );
    assert_eq!(fs[0].rule, "authz/role-trust");
    let fix = fs[0].fix.as_ref().unwrap();
    let st = &fix.policy.as_ref().unwrap()["Statement"][0];
    assert_eq!(st["Principal"]["AWS"], "arn:aws:iam::123456789012:role/ci");
    assert_eq!(st["Action"], "sts:AssumeRole");
    assert!(
        fix.commands
            .iter()
            .any(|c| c.contains("update-assume-role-policy --role-name InfraDeployRole"))
    );
    assert!(fs[0].detail.contains("another account"));
}

#[test]
fn encoded_message_and_authorization_id_give_their_commands() {
    let blob = "XQ_jqde5rHje6j9P-qke7-HNpHWzSWvxYobhcCPSpfOmLTkOylRBKd0eE4Xx4U_E_ldKR9tvnBpWYTze099CuiTFCVNOgC0ak83nVxE33wnOdmD";
    let fs = explain_text(&format!(
        "User: arn:aws:sts::999888777666:assumed-role/ReadOnly/Tom is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:999888777666:instance/* with an explicit deny in a service control policy. Encoded authorization failure message: {blob}"
    ));
    let enc = fs
        .iter()
        .find(|f| f.rule == "authz/encoded-message")
        .unwrap();
    assert_eq!(
        enc.fix.as_ref().unwrap().commands[0],
        format!(
            "aws sts decode-authorization-message --encoded-message {blob} --query DecodedMessage --output text | jq ."
        )
    );
    let fs = explain_text(
        "User: arn:aws:iam::123456789012:user/janedoe is not authorized to perform: iam:CreateInstanceProfile on resource: arn:aws:iam::123456789012:instance-profile/p with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/ExampleDenyPolicy. Go to https://eu-west-1.console.aws.amazon.com/iam/home?region=eu-west-1#/authorization-details/abc123def456 for complete details, or call the GetRequestAuthorizationDetails API with the following authorization id: abc123def456",
    );
    let id = fs
        .iter()
        .find(|f| f.rule == "authz/authorization-id")
        .unwrap();
    assert_eq!(
        id.fix.as_ref().unwrap().commands[0],
        "aws iam-toolbox get-request-authorization-details --authorization-id abc123def456 --region eu-west-1"
    );
}

#[test]
fn wrapped_messages_are_stitched() {
    let text = "An error occurred (AccessDenied) when calling the GetObject operation:\n  User: arn:aws:iam::123456789012:user/infrarunbook-admin is not authorized\n  to perform: s3:GetObject on resource:\n  arn:aws:s3:::infrarunbook-backups/configs/prod.tar.gz\n\nUser: arn:aws:iam::777788889999:user/John is not authorized to perform:\ncodecommit:ListRepositories with an explicit deny in a service control policy\n";
    let fs = explain_text(text);
    assert_eq!(
        rules_of(&fs),
        vec!["authz/no-identity-policy", "authz/service-control-policy"]
    );
    assert_eq!(
        fs[0].evidence["parsed"]["resource"],
        "arn:aws:s3:::infrarunbook-backups/configs/prod.tar.gz"
    );
    assert_eq!(fs[0].evidence["error_code"], "AccessDenied");
}

#[test]
fn identical_denials_group_most_frequent_first() {
    let a =
        "User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters\n";
    let b =
        "User: arn:aws:iam::111122223333:user/b is not authorized to perform: eks:ListClusters\n";
    let text = format!("{a}{b}{b}{b}INFO fine\n{a}");
    let mut ex = Explainer::new();
    ex.read(Some("app.log"), text.as_bytes()).unwrap();
    let fs = ex.finish();
    assert_eq!(fs.len(), 2);
    assert_eq!(fs[0].evidence["parsed"]["principal"]["name"], "b");
    assert_eq!(fs[0].evidence["parsed"]["count"], 3);
    assert_eq!(fs[0].location.as_ref().unwrap().line, 2);
    assert_eq!(fs[1].evidence["parsed"]["count"], 2);
    assert_eq!(fs[1].location.as_ref().unwrap().line, 1);
    let report = crate::report::Report::new(fs);
    assert!(
        report
            .to_text(crate::report::TextStyle::default())
            .contains("seen 3 times")
    );
}

const SECRET: &str = "Zq3v9Kx2LmN8pR4tW6yB1cD5fG7hJ0kQ2sU4vX6z";

#[test]
fn secrets_are_reported_and_never_shown() {
    let text = format!(
        "[default]\naws_access_key_id = AKIAZ3EXAMPLEABCDEFG\naws_secret_access_key = {SECRET}\nUser: arn:aws:iam::111122223333:user/ci is not authorized to perform: eks:ListClusters with key AKIAZ3EXAMPLEABCDEFG\n"
    );
    let mut ex = Explainer::new();
    ex.read(Some("creds.txt"), text.as_bytes()).unwrap();
    let tainted: Vec<String> = ex.tainted().map(str::to_owned).collect();
    assert!(tainted.iter().any(|t| t == "AKIAZ3EXAMPLEABCDEFG"));
    let fs = ex.finish();
    let s = fs
        .iter()
        .find(|f| f.rule == "keys/secret-in-input")
        .unwrap();
    assert_eq!(s.location.as_ref().unwrap().line, 3);
    assert_eq!(s.evidence["key_id"], "AKIA************DEFG");
    for f in &fs {
        let t = all_text(f);
        assert!(!t.contains(SECRET), "{t}");
        assert!(!t.contains("AKIAZ3EXAMPLEABCDEFG"), "{t}");
    }
    // The example placeholders.
    let fs = explain_text(
        "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    assert_eq!(fs[0].rule, "keys/example-key");
    assert!(
        !fs.iter()
            .any(|f| all_text(f).contains("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
    );
}

#[test]
fn cloudtrail_records_lines_and_lookup_events() {
    let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/dev/alice","accountId":"111122223333"},"eventTime":"2026-11-28T10:00:00Z","eventSource":"eks.amazonaws.com","eventName":"DescribeCluster","awsRegion":"us-west-2","errorCode":"AccessDeniedException","errorMessage":"User: arn:aws:sts::111122223333:assumed-role/dev/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-west-2:111122223333:cluster/prod"}"#;
    let bare = r#"{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},"eventSource":"iam.amazonaws.com","eventName":"ListRoles","awsRegion":"us-east-1","errorCode":"AccessDenied"}"#;
    let ok = r#"{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},"eventSource":"iam.amazonaws.com","eventName":"ListUsers"}"#;
    let wrapped = format!("{{\"Records\": [{record}, {bare}, {ok}, {record}]}}");
    let mut ex = Explainer::new();
    let stats = ex.read(Some("trail.json"), wrapped.as_bytes()).unwrap();
    assert_eq!(stats.json_values, 4);
    let fs = ex.finish();
    assert_eq!(fs.len(), 2);
    assert_eq!(fs[0].evidence["parsed"]["count"], 2);
    assert_eq!(fs[0].evidence["cloudtrail"]["eventName"], "DescribeCluster");
    assert_eq!(fs[1].evidence["parsed"]["action"], "iam:ListRoles");
    assert_eq!(fs[1].evidence["parsed"]["principal"]["name"], "bob");

    // One record a line, pretty-printed, and lookup-events output.
    for input in [
        format!("{record}\n{bare}\n"),
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(record).unwrap()).unwrap(),
        serde_json::json!({"Events": [{"EventId": "1", "CloudTrailEvent": record}]}).to_string(),
        format!("[{record}]"),
    ] {
        let mut ex = Explainer::new();
        ex.read(Some("t.json"), input.as_bytes()).unwrap();
        let fs = ex.finish();
        assert!(
            fs.iter()
                .any(|f| f.evidence["parsed"]["action"] == "eks:DescribeCluster"),
            "{input}"
        );
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_by_magic_and_truncated_gzip_keeps_findings() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("INFO request {i} served in 3ms\n"));
        if i % 100 == 0 {
            text.push_str("User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters\n");
        }
    }
    let gz = gzip(text.as_bytes());
    let mut ex = Explainer::new();
    let stats = ex.read(Some("app.log.gz"), &gz[..]).unwrap();
    assert!(stats.gzip);
    let fs = ex.finish();
    assert_eq!(fs[0].evidence["parsed"]["count"], 20);

    let mut ex = Explainer::new();
    let cut = &gz[..gz.len() * 2 / 3];
    let err = ex.read(Some("cut.gz"), cut).unwrap_err();
    assert!(matches!(err.1, ReadError::Gzip { .. }), "{err:?}");
    assert!(err.1.to_string().contains("truncated"));
    let fs = ex.finish();
    assert!(!fs.is_empty(), "findings before the cut are kept");
}

#[test]
fn bad_input_never_panics_and_stays_bounded() {
    // Invalid UTF-8 around a denial.
    let mut bytes = b"\xff\xfe garbage \xc3\x28\n".to_vec();
    bytes.extend_from_slice(b"User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters \xff\n");
    let mut ex = Explainer::new();
    ex.read(Some("bin"), &bytes[..]).unwrap();
    assert_eq!(ex.finish().len(), 1);
    // A line far longer than MAX_LINE with a denial early in it.
    let mut long =
        b"User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters "
            .to_vec();
    long.resize(3 * stream::MAX_LINE, b'x');
    long.extend_from_slice(b"\nerror: You must be logged in to the server (Unauthorized)\n");
    let mut ex = Explainer::new();
    let stats = ex.read(Some("long"), &long[..]).unwrap();
    assert_eq!(stats.long_lines, 1);
    let fs = ex.finish();
    assert_eq!(fs.len(), 2);
    let unauth = fs
        .iter()
        .find(|f| f.rule == "cluster/unauthorized")
        .unwrap();
    assert_eq!(unauth.location.as_ref().unwrap().line, 2);
    // Empty and whitespace-only input.
    assert!(explain_text("").is_empty());
    assert!(explain_text("\n\n   \n").is_empty());
    // JSON that is not CloudTrail is scanned as text.
    let fs = explain_text(
        "{\"level\":\"error\",\"msg\":\"error: You must be logged in to the server (Unauthorized)\"}",
    );
    assert_eq!(rules_of(&fs), vec!["cluster/unauthorized"]);
    // Broken JSON too.
    let fs = explain_text(
        "{\"msg\": \"User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters\"",
    );
    assert_eq!(rules_of(&fs), vec!["authz/no-identity-policy"]);
}

proptest! {
    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut ex = Explainer::new();
        let _ = ex.read(Some("x"), &bytes[..]);
        let _ = ex.finish();
    }

    #[test]
    fn parser_never_panics_on_message_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("User: ".to_owned()),
                Just(" is not authorized to perform: ".to_owned()),
                Just("Not authorized to perform".to_owned()),
                Just(" on resource: ".to_owned()),
                Just("\"".to_owned()),
                Just(" because no ".to_owned()),
                Just(" with an explicit deny in a ".to_owned()),
                Just("arn:aws:iam::111122223333:user/x".to_owned()),
                Just("eks:DescribeCluster".to_owned()),
                Just("Encoded authorization failure message: ".to_owned()),
                Just("authorization id: ".to_owned()),
                Just("\n".to_owned()),
                Just("{\"Records\":[".to_owned()),
                Just("is forbidden: User \"".to_owned()),
                "[ -~]{0,12}",
                "\\PC{0,6}",
            ],
            0..40,
        )
    ) {
        let text: String = parts.concat();
        let _ = explain_text(&text);
    }

    #[test]
    fn findings_never_carry_a_generated_secret(
        secret in "[A-Za-z0-9/+]{40}",
        id in "AKIA[A-Z0-9]{16}",
        form in 0..4usize,
    ) {
        let text = match form {
            0 => format!("aws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            1 => format!("{id},{secret}\n"),
            2 => format!("export AWS_SECRET_ACCESS_KEY=\"{secret}\"\nexport AWS_ACCESS_KEY_ID={id}\n"),
            _ => format!("{{\"AccessKeyId\": \"{id}\", \"SecretAccessKey\": \"{secret}\"}}\n"),
        };
        let text = format!("{text}User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters {id} {secret}\n");
        let mut ex = Explainer::new();
        ex.read(Some("in"), text.as_bytes()).unwrap();
        let tainted: Vec<String> = ex.tainted().map(str::to_owned).collect();
        prop_assert!(tainted.contains(&id));
        for f in ex.finish() {
            let t = all_text(&f);
            prop_assert!(!t.contains(&secret));
            prop_assert!(!t.contains(&id));
        }
    }
}

#[test]
fn fuzz_crashes_stay_fixed() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/explain/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut ex = Explainer::new();
        let _ = ex.read(Some("fuzz"), &bytes[..]);
        let _ = ex.finish();
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn repeated_log_lines_are_counted_through_the_line_memo() {
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!(
            "2026-11-28T10:00:{:02}.000Z ERROR User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters. Encoded authorization failure message: AbCdEfGhIjKlMnOp{}\n",
            i % 60,
            i % 2
        ));
    }
    // The same key id line twice: a secret on the second must still be seen.
    text.push_str("2026-11-28T10:01:00Z key AKIAZ3EXAMPLEABCDEFG\n");
    text.push_str(&format!(
        "2026-11-28T10:01:01Z key AKIAZ3EXAMPLEABCDEFG {SECRET}\n"
    ));
    let mut ex = Explainer::new();
    ex.read(Some("app.log"), text.as_bytes()).unwrap();
    let fs = ex.finish();
    let main = fs
        .iter()
        .find(|f| f.rule == "authz/no-identity-policy")
        .unwrap();
    assert_eq!(main.evidence["parsed"]["count"], 50);
    let enc = fs
        .iter()
        .find(|f| f.rule == "authz/encoded-message")
        .unwrap();
    assert_eq!(enc.evidence["parsed"]["count"], 50);
    assert!(fs.iter().any(|f| f.rule == "keys/secret-in-input"));
    assert_eq!(
        strip_log_prefix("2026-11-28T10:00:00.123Z [x] Token"),
        "x] Token"
    );
    assert_eq!(strip_log_prefix("Token has expired"), "Token has expired");
}

#[test]
fn past_the_kept_limit_repeats_still_count_in_their_finding() {
    // MAX_GROUPS distinct denials fill the kept findings; then a repeat of
    // the first (a kept one) and new ones, past the limit, in several shapes.
    let line = |i: usize| {
        format!(
            "User: arn:aws:iam::210987654321:user/u{i} is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:210987654321:cluster/c{i}\n"
        )
    };
    let mut text = String::new();
    for i in 0..MAX_GROUPS {
        text.push_str(&line(i));
    }
    let extra = 50;
    for i in MAX_GROUPS..MAX_GROUPS + extra {
        text.push_str(&line(i));
        // The same message inside a longer log line: not a repeat of a line,
        // but a repeat of a kept denial.
        text.push_str(&format!(
            "2026-12-02T10:00:00Z ERROR retry {i}: {}",
            line(0)
        ));
    }
    text.push_str("User: arn:aws:iam::210987654321:user/z is not authorized to perform: iam:PassRole on resource: arn:aws:iam::210987654321:role/r1 because no identity-based policy allows the iam:PassRole action\n");
    let mut ex = Explainer::new();
    ex.feed_text(&text);
    assert_eq!(ex.grouped_beyond_limit(), extra as u64 + 1);
    let fs = ex.finish();
    let first = fs
        .iter()
        .find(|f| f.evidence["parsed"]["principal"]["name"] == "u0")
        .unwrap();
    assert_eq!(first.evidence["parsed"]["count"], 1 + extra as u64);
    let grouped: Vec<_> = fs
        .iter()
        .filter(|f| f.evidence.contains_key("grouped_beyond_limit"))
        .map(|f| {
            (
                f.rule,
                f.evidence["parsed"]["resource"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                f.evidence["parsed"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        grouped.contains(&(
            "authz/no-identity-policy",
            "arn:aws:eks:us-east-1:210987654321:cluster/*".to_owned(),
            extra as u64
        )),
        "{grouped:?}"
    );
    assert!(
        grouped.contains(&(
            "authz/pass-role",
            "arn:aws:iam::210987654321:role/*".to_owned(),
            1
        )),
        "{grouped:?}"
    );
    let total: u64 = fs
        .iter()
        .filter(|f| f.rule.starts_with("authz/"))
        .map(|f| f.evidence["parsed"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, (MAX_GROUPS + 2 * extra + 1) as u64);
}
