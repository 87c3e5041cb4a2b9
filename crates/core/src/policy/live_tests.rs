//! The deciding statement and the smallest fix, per layer, from sources as
//! the live reader would return them. Each case re-evaluates with the fix
//! applied and expects allow; every command must parse as POSIX shell.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;
use crate::policy::{Caller, Context};

const ACCT: &str = "111122223333";

fn user_caller() -> FixCaller {
    FixCaller {
        arn: format!("arn:aws:iam::{ACCT}:user/alice"),
        user: Some("alice".to_owned()),
        role: None,
    }
}

fn req(action: &str, resource: &str, caller: &str) -> Request {
    Request::new(
        action,
        resource,
        Some(Caller::parse(caller, false).unwrap()),
        Context::new(),
    )
}

fn inline_user(name: &str, doc: serde_json::Value) -> Source {
    Source {
        origin: Origin::UserInline {
            user: "alice".to_owned(),
            name: name.to_owned(),
        },
        kind: PolicyKind::Identity,
        name: format!("inline policy '{name}' of user alice"),
        document: doc,
    }
}

fn allow_all() -> serde_json::Value {
    json!({"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}]})
}

fn scp(id: &str, target: &str, doc: serde_json::Value) -> Source {
    Source {
        origin: Origin::Organization {
            id: id.to_owned(),
            target: target.to_owned(),
        },
        kind: PolicyKind::ServiceControl,
        name: format!("SCP {id} (on {target})"),
        document: doc,
    }
}

fn managed(arn: &str, kind: PolicyKind, versions: usize, doc: serde_json::Value) -> Source {
    let versions: Vec<String> = (1..=versions).map(|v| format!("v{v}")).collect();
    Source {
        origin: Origin::Managed {
            arn: arn.to_owned(),
            default_version: versions.last().cloned().unwrap_or_default(),
            versions,
        },
        kind,
        name: arn.to_owned(),
        document: doc,
    }
}

fn decide(sources: &[Source], r: &Request) -> (Deciding, Evaluation, PolicySet) {
    let set = build_set(sources).unwrap();
    let ev = evaluate(&set, r);
    (deciding(&set, &ev), ev, set)
}

fn assert_shell(cmds: &[String]) {
    for c in cmds {
        let words = shlex::split(c).unwrap_or_else(|| panic!("not shell: {c}"));
        assert_eq!(words[0], "aws", "{c}");
        // Every JSON argument is one word that parses back.
        for w in &words {
            if w.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(w).unwrap();
            }
        }
    }
}

#[test]
fn scp_levels_are_alternatives_within_and_required_across() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req("s3:GetObject", "arn:aws:s3:::b/k", &alice);
    let eks_only = json!({"Statement":{"Effect":"Allow","Action":"eks:*","Resource":"*"}});
    // Root: FullAWSAccess; OU: one SCP that allows s3, one that does not: allowed.
    let sources = vec![
        inline_user("p", allow_all()),
        scp("p-full", "r-root", allow_all()),
        scp("p-eks", "ou-1", eks_only.clone()),
        scp(
            "p-s3",
            "ou-1",
            json!({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}),
        ),
    ];
    let (d, ev, _) = decide(&sources, &r);
    assert_eq!(ev.decision, Decision::Allow, "{d:?}");
    // Without the s3 SCP the OU level denies, and names it.
    let sources = sources[..3].to_vec();
    let (d, ev, set) = decide(&sources, &r);
    assert_eq!(ev.decision, Decision::ImplicitDeny);
    assert_eq!(d.layer, "service-control");
    assert_eq!(set.policies()[d.policies[0]].name, "SCP p-eks (on ou-1)");
    assert_eq!(d.rule.unwrap().id, "authz/service-control-policy");
    let (steps, _) = plan_fixes(&sources, &r, &user_caller());
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].decision_after, "allow");
    assert!(steps[0].commands[0].starts_with("aws organizations update-policy --policy-id p-eks "));
    assert!(steps[0].notes[0].contains("management account"));
    assert_shell(&steps[0].commands);
}

#[test]
fn explicit_deny_in_a_group_policy_is_narrowed_not_removed() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req(
        "eks:DescribeCluster",
        &format!("arn:aws:eks:us-west-2:{ACCT}:cluster/prod"),
        &alice,
    );
    let group = Source {
        origin: Origin::GroupInline {
            group: "devs".to_owned(),
            name: "no-prod".to_owned(),
        },
        kind: PolicyKind::Identity,
        name: "inline policy 'no-prod' of group devs".to_owned(),
        document: json!({"Version":"2012-10-17","Statement":[
            {"Sid":"Keep","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"},
            {"Sid":"NoProd","Effect":"Deny","Action":"eks:*","Resource":"arn:aws:eks:*:*:cluster/prod"}]}),
    };
    let sources = vec![inline_user("p", allow_all()), group];
    let (d, ev, set) = decide(&sources, &r);
    assert_eq!(ev.decision, Decision::ExplicitDeny);
    let at = d.statement.unwrap();
    assert_eq!(set.statement(at).unwrap().1.label(), "NoProd");
    let lines = statement_lines(&sources[at.policy].document, at.statement).unwrap();
    assert!(lines.contains("\"Sid\": \"NoProd\""), "{lines}");
    let (steps, after) = plan_fixes(&sources, &r, &user_caller());
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].decision_after, "allow");
    assert!(
        steps[0].commands[0]
            .starts_with("aws iam put-group-policy --group-name devs --policy-name no-prod ")
    );
    // The other statement is kept: merged, not replaced.
    assert_eq!(after[1].document["Statement"].as_array().unwrap().len(), 2);
    assert_eq!(
        steps[0].statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!([alice])
    );
    assert_shell(&steps[0].commands);
    // Someone else is still denied.
    let bob = req(
        "eks:DescribeCluster",
        &format!("arn:aws:eks:us-west-2:{ACCT}:cluster/prod"),
        &format!("arn:aws:iam::{ACCT}:user/bob"),
    );
    let set = build_set(&after).unwrap();
    assert_eq!(evaluate(&set, &bob).decision, Decision::ExplicitDeny);
}

#[test]
fn boundary_without_the_action_gets_a_new_version_within_the_limit() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req(
        "sqs:SendMessage",
        &format!("arn:aws:sqs:us-west-2:{ACCT}:q"),
        &alice,
    );
    let arn = format!("arn:aws:iam::{ACCT}:policy/boundary");
    for (versions, deletes) in [(2, false), (5, true)] {
        let sources = vec![
            inline_user("p", allow_all()),
            managed(
                &arn,
                PolicyKind::PermissionsBoundary,
                versions,
                json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"eks:*","Resource":"*"}}),
            ),
        ];
        let (d, _, _) = decide(&sources, &r);
        assert_eq!(d.layer, "boundary");
        let (steps, _) = plan_fixes(&sources, &r, &user_caller());
        assert_eq!(steps[0].decision_after, "allow");
        let cmds = &steps[0].commands;
        assert_eq!(cmds.len(), if deletes { 2 } else { 1 }, "{cmds:?}");
        if deletes {
            assert!(
                cmds[0].starts_with("aws iam delete-policy-version")
                    && cmds[0].ends_with("--version-id v1")
            );
        }
        assert!(cmds.last().unwrap().ends_with("--set-as-default"));
        // The single statement became a list of two.
        assert_eq!(steps[0].document["Statement"].as_array().unwrap().len(), 2);
        assert_shell(cmds);
    }
}

#[test]
fn key_policy_that_does_not_delegate_names_the_caller() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let key = format!("arn:aws:kms:us-west-2:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let r = req("kms:Decrypt", &key, &alice);
    let kp = Source {
        origin: Origin::KeyPolicy { key: key.clone() },
        kind: PolicyKind::ResourceBased,
        name: format!("key policy of {key}"),
        document: json!({"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow",
            "Principal":{"AWS":format!("arn:aws:iam::{ACCT}:role/key-admin")},"Action":"kms:*","Resource":"*"}]}),
    };
    let sources = vec![inline_user("p", allow_all()), kp];
    let (d, ev, _) = decide(&sources, &r);
    assert_eq!(ev.decision, Decision::ImplicitDeny);
    assert_eq!(d.layer, "key-policy");
    assert_eq!(d.rule.unwrap().id, "authz/resource-policy");
    let (steps, _) = plan_fixes(&sources, &r, &user_caller());
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].decision_after, "allow");
    assert!(steps[0].commands[0].starts_with("aws kms put-key-policy --key-id "));
    assert!(steps[0].commands[0].contains("--policy-name default"));
    assert_eq!(steps[0].document["Statement"].as_array().unwrap().len(), 2);
    assert_shell(&steps[0].commands);
}

#[test]
fn trust_that_names_the_role_arn_with_a_path() {
    // The caller is a session of role deploy (path /ci/); the target role's
    // trust names the role ARN without its path, which AWS does not match.
    let target = format!("arn:aws:iam::{ACCT}:role/app/target");
    let session = format!("arn:aws:sts::{ACCT}:assumed-role/deploy/run-1");
    let mut ctx = Context::new();
    ctx.insert(
        "aws:PrincipalArn",
        &format!("arn:aws:iam::{ACCT}:role/ci/deploy"),
    );
    let r = Request::new(
        "sts:AssumeRole",
        &target,
        Some(Caller::parse(&session, false).unwrap()),
        ctx,
    );
    let trust = Source {
        origin: Origin::Trust {
            role: "target".to_owned(),
        },
        kind: PolicyKind::Trust,
        name: format!("trust policy of {target}"),
        document: json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":format!("arn:aws:iam::{ACCT}:role/deploy")},"Action":"sts:AssumeRole"}]}),
    };
    let role_inline = Source {
        origin: Origin::RoleInline {
            role: "deploy".to_owned(),
            name: "p".to_owned(),
        },
        kind: PolicyKind::Identity,
        name: "inline policy 'p' of role deploy".to_owned(),
        document: allow_all(),
    };
    let sources = vec![role_inline, trust];
    let (d, ev, _) = decide(&sources, &r);
    assert_eq!(ev.decision, Decision::ImplicitDeny, "{:?}", ev.layers);
    assert_eq!(d.layer, "trust");
    let caller = FixCaller {
        arn: format!("arn:aws:iam::{ACCT}:role/ci/deploy"),
        user: None,
        role: Some("deploy".to_owned()),
    };
    let (steps, _) = plan_fixes(&sources, &r, &caller);
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].decision_after, "allow");
    assert!(steps[0].statement.get("Resource").is_none());
    assert_eq!(steps[0].statement["Principal"]["AWS"], caller.arn);
    assert!(
        steps[0].commands[0].starts_with("aws iam update-assume-role-policy --role-name target ")
    );
    assert_shell(&steps[0].commands);
    let hint = path_mismatch(&sources, &caller.arn).unwrap();
    assert!(hint.contains("must carry the role's path"), "{hint}");
    assert_eq!(
        path_mismatch(&sources, &format!("arn:aws:iam::{ACCT}:role/deploy")),
        None
    );
}

#[test]
fn no_identity_policy_gets_a_new_inline_policy_or_joins_the_existing_one() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req("eks:ListClusters", "*", &alice);
    let (steps, after) = plan_fixes(&[], &r, &user_caller());
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].decision_after, "allow");
    assert!(
        steps[0].commands[0]
            .starts_with("aws iam put-user-policy --user-name alice --policy-name eksdoctor-fix ")
    );
    assert_eq!(after.len(), 1);
    let sources = vec![inline_user(
        "mine",
        json!({"Version":"2012-10-17","Statement":[{"Sid":"AllowEksListClusters","Effect":"Allow","Action":"s3:*","Resource":"*"}]}),
    )];
    let (steps, _) = plan_fixes(&sources, &r, &user_caller());
    assert!(steps[0].commands[0].contains("--policy-name mine "));
    // The Sid is not reused.
    assert_eq!(steps[0].statement["Sid"], "AllowEksListClusters2");
    assert_shell(&steps[0].commands);
}

#[test]
fn chained_fixes_until_allowed() {
    // Deny + boundary without the action: two edits, in that order.
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req("s3:GetObject", "arn:aws:s3:::b/k", &alice);
    let sources = vec![
        inline_user(
            "p",
            json!({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}),
        ),
        managed(
            &format!("arn:aws:iam::{ACCT}:policy/b"),
            PolicyKind::PermissionsBoundary,
            1,
            json!({"Statement":{"Effect":"Allow","Action":"eks:*","Resource":"*"}}),
        ),
    ];
    let (steps, _) = plan_fixes(&sources, &r, &user_caller());
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert_eq!(steps[0].decision_after, "implicit-deny");
    assert_eq!(steps[1].decision_after, "allow");
}

#[test]
fn quotes_in_names_stay_one_word() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req("s3:GetObject", "arn:aws:s3:::b/it's", &alice);
    let (steps, _) = plan_fixes(
        &[inline_user("o'brien", json!({"Statement":[]}))],
        &r,
        &user_caller(),
    );
    assert_shell(&steps[0].commands);
    let words = shlex::split(&steps[0].commands[0]).unwrap();
    assert!(words.contains(&"o'brien".to_owned()));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the names and the resource hold (quotes, spaces, `$`,
        /// backslashes), each fix command splits back into the same words
        /// and the JSON argument parses to the planned document; adding the
        /// statement allows the request.
        #[test]
        fn fix_commands_are_shell_and_allow(
            user in "[A-Za-z0-9+=,.@_'$ -]{1,20}",
            policy in "[A-Za-z0-9+=,.@_'\\\\ -]{1,20}",
            svc in "[a-z]{2,8}",
            act in "[A-Z][A-Za-z]{1,15}",
            // No `$`: `${...}` in a Resource is a policy variable.
            res in "[ -#%-~]{0,40}",
        ) {
            let alice = format!("arn:aws:iam::{ACCT}:user/alice");
            let resource = format!("arn:aws:{svc}:::{res}");
            let action = format!("{svc}:{act}");
            let r = req(&action, &resource, &alice);
            let caller = FixCaller { arn: alice.clone(), user: Some(user.clone()), role: None };
            let src = Source {
                origin: Origin::UserInline { user: user.clone(), name: policy.clone() },
                kind: PolicyKind::Identity,
                name: "p".to_owned(),
                document: json!({"Version": "2012-10-17", "Statement": []}),
            };
            let (steps, _) = plan_fixes(&[src], &r, &caller);
            prop_assert_eq!(steps.len(), 1);
            prop_assert_eq!(steps[0].decision_after, "allow");
            let words = shlex::split(&steps[0].commands[0]).unwrap();
            prop_assert_eq!(&words[4], &user);
            prop_assert_eq!(&words[6], &policy);
            let d: serde_json::Value = serde_json::from_str(&words[8]).unwrap();
            prop_assert_eq!(&d, &steps[0].document);
        }
    }
}

/// Cross-account (IAM, "Cross-account policy evaluation logic"): the caller's
/// identity policy allows, the other account's resource policy does not
/// name it, so it is denied; the fix names the caller in the merged resource
/// policy (ECR without `Resource`), and same-account the identity policy
/// alone suffices.
#[test]
fn cross_account_resource_policies_must_allow_and_are_merged() {
    const OWNER: &str = "444455556666";
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let keep = json!({"Sid":"Owner","Effect":"Allow",
        "Principal":{"AWS":format!("arn:aws:iam::{OWNER}:root")},"Action":"*","Resource":"*"});
    let ecr_keep = json!({"Sid":"Owner","Effect":"Allow",
        "Principal":{"AWS":format!("arn:aws:iam::{OWNER}:root")},"Action":"ecr:*"});
    let region = "eu-west-1".to_owned();
    // (action, resource, origin, policy statement kept, command start, document flag)
    let cases = [
        (
            "ecr:BatchGetImage",
            format!("arn:aws:ecr:eu-west-1:{OWNER}:repository/team/app"),
            Origin::RepositoryPolicy {
                repository: "team/app".to_owned(),
                registry: OWNER.to_owned(),
                region: region.clone(),
                exists: true,
            },
            ecr_keep,
            "aws ecr set-repository-policy --repository-name team/app --registry-id 444455556666 --region eu-west-1 --policy-text ",
            "--policy-text",
        ),
        (
            "secretsmanager:GetSecretValue",
            format!("arn:aws:secretsmanager:eu-west-1:{OWNER}:secret:db-AbCdEf"),
            Origin::SecretPolicy {
                secret: format!("arn:aws:secretsmanager:eu-west-1:{OWNER}:secret:db-AbCdEf"),
                region: region.clone(),
                exists: true,
            },
            keep.clone(),
            "aws secretsmanager put-resource-policy --secret-id ",
            "--resource-policy",
        ),
        (
            "sns:Publish",
            format!("arn:aws:sns:eu-west-1:{OWNER}:alerts"),
            Origin::TopicPolicy {
                topic: format!("arn:aws:sns:eu-west-1:{OWNER}:alerts"),
                region: region.clone(),
                exists: true,
            },
            keep.clone(),
            "aws sns set-topic-attributes --topic-arn ",
            "--attribute-value",
        ),
        (
            "sqs:SendMessage",
            format!("arn:aws:sqs:eu-west-1:{OWNER}:jobs"),
            Origin::QueuePolicy {
                queue_url: format!("https://sqs.eu-west-1.amazonaws.com/{OWNER}/jobs"),
                region: region.clone(),
                exists: false,
            },
            keep.clone(),
            "aws sqs set-queue-attributes --queue-url ",
            "--attributes",
        ),
    ];
    for (action, resource, origin, kept, start, flag) in cases {
        let exists = !matches!(origin, Origin::QueuePolicy { exists: false, .. });
        let statements = if exists { vec![kept] } else { vec![] };
        let res = Source {
            origin,
            kind: PolicyKind::ResourceBased,
            name: format!("policy of {resource}"),
            document: json!({"Version":"2012-10-17","Statement":statements}),
        };
        let sources = vec![inline_user("p", allow_all()), res];
        let r = req(action, &resource, &alice);
        let (d, ev, _) = decide(&sources, &r);
        assert_eq!(ev.decision, Decision::ImplicitDeny, "{action}");
        assert_eq!(d.layer, "resource", "{action}");
        let (steps, _) = plan_fixes(&sources, &r, &user_caller());
        assert_eq!(steps.len(), 1, "{action}");
        assert_eq!(steps[0].decision_after, "allow", "{action}");
        let cmd = &steps[0].commands[0];
        assert!(cmd.starts_with(start), "{action}: {cmd}");
        assert_shell(&steps[0].commands);
        let words = shlex::split(cmd).unwrap();
        let at = words.iter().position(|w| w == flag).unwrap();
        let mut put: serde_json::Value = serde_json::from_str(&words[at + 1]).unwrap();
        if flag == "--attributes" {
            put = serde_json::from_str(put["Policy"].as_str().unwrap()).unwrap();
            assert!(
                steps[0].notes.iter().any(|n| n.contains("no policy yet")),
                "{action}"
            );
        }
        let added = put["Statement"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            put["Statement"].as_array().unwrap().len(),
            usize::from(exists) + 1,
            "{action}: merged, not replaced"
        );
        assert_eq!(added["Principal"]["AWS"], alice, "{action}");
        assert_eq!(
            added.get("Resource").is_none(),
            action.starts_with("ecr:"),
            "{action}: an ECR repository policy names no Resource"
        );
        // Same account: the identity policy alone suffices.
        let same = resource.replace(OWNER, ACCT);
        let (_, ev, _) = decide(&sources, &req(action, &same, &alice));
        assert_eq!(ev.decision, Decision::Allow, "{action} same account");
    }
}

#[test]
fn the_management_account_trace_says_scps_are_skipped() {
    let alice = format!("arn:aws:iam::{ACCT}:user/alice");
    let r = req("s3:GetObject", "arn:aws:s3:::b/k", &alice);
    let set = build_set(&[inline_user("p", allow_all())]).unwrap();
    let ev = evaluate(&set, &r);
    let t = trace_with(&set, &r, &ev, Some(ACCT));
    assert!(
        t[1].contains("skipped") && t[1].contains("management account"),
        "{t:?}"
    );
    assert!(trace(&set, &r, &ev)[1].contains("none"));
}
