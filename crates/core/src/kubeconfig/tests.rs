//! Table-driven cases. The exec argument shapes are those `aws eks
//! update-kubeconfig` writes (awscli customizations/eks/update_kubeconfig.py:
//! `--region R eks get-token --cluster-name N [--role-arn A]`, AWS_PROFILE in
//! `env`) and aws-iam-authenticator's README (`token -i N [-r ROLE]`), in our
//! own values.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

use super::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

fn exec(command: &str, args: &[&str], env: &[(&str, &str)], version: &str) -> UserAuth {
    UserAuth::Exec(Exec {
        api_version: Some(version.to_owned()),
        command: command.to_owned(),
        args: s(args),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
}

const V1B1: &str = "client.authentication.k8s.io/v1beta1";
const CTX: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";

fn one(auth: UserAuth) -> Kubeconfig {
    Kubeconfig {
        current_context: Some(CTX.to_owned()),
        contexts: vec![Context {
            name: CTX.to_owned(),
            cluster: Some(CTX.to_owned()),
            user: Some(CTX.to_owned()),
        }],
        clusters: vec![Cluster {
            name: CTX.to_owned(),
            server: Some("https://ABCD.gr7.eu-west-1.eks.amazonaws.com".to_owned()),
        }],
        users: vec![User {
            name: CTX.to_owned(),
            auth,
        }],
    }
}

fn ids(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.rule).collect()
}

fn run(kc: &Kubeconfig, profile: Option<&str>) -> Vec<Finding> {
    let opts = Options {
        context: None,
        profile,
        source: "kubeconfig",
    };
    lint(kc, &opts, &|_| true)
}

#[test]
fn parses_the_exec_shapes_of_each_tool() {
    let cases: &[(
        &str,
        &[&str],
        &[(&str, &str)],
        TokenTool,
        &str,
        Option<&str>,
        Option<&str>,
        Option<&str>,
    )] = &[
        (
            "aws",
            &[
                "--region",
                "eu-west-1",
                "eks",
                "get-token",
                "--cluster-name",
                "prod",
            ],
            &[],
            TokenTool::AwsCli,
            "prod",
            Some("eu-west-1"),
            None,
            None,
        ),
        (
            "/usr/local/bin/aws",
            &[
                "eks",
                "get-token",
                "--cluster-name=prod",
                "--role-arn",
                "arn:aws:iam::111122223333:role/admin",
                "--output",
                "json",
            ],
            &[("AWS_PROFILE", "ops")],
            TokenTool::AwsCli,
            "prod",
            None,
            Some("arn:aws:iam::111122223333:role/admin"),
            Some("ops"),
        ),
        (
            "aws",
            &[
                "eks",
                "get-token",
                "--cluster-id",
                "0123-outpost",
                "--profile",
                "dev",
            ],
            &[("AWS_PROFILE", "ignored")],
            TokenTool::AwsCli,
            "0123-outpost",
            None,
            None,
            Some("dev"),
        ),
        (
            "aws-iam-authenticator",
            &[
                "token",
                "-i",
                "prod",
                "-r",
                "arn:aws:iam::111122223333:role/x",
            ],
            &[("AWS_REGION", "us-east-2")],
            TokenTool::Authenticator,
            "prod",
            Some("us-east-2"),
            Some("arn:aws:iam::111122223333:role/x"),
            None,
        ),
        (
            "eksdoctor",
            &["token", "--cluster", "prod", "--region", "eu-west-1"],
            &[],
            TokenTool::Eksdoctor,
            "prod",
            Some("eu-west-1"),
            None,
            None,
        ),
    ];
    for (cmd, args, env, tool, cluster, region, role, profile) in cases {
        let UserAuth::Exec(e) = exec(cmd, args, env, V1B1) else {
            unreachable!()
        };
        let got = EksExec::from_exec(&e).unwrap();
        assert_eq!(got.tool, *tool, "{cmd} {args:?}");
        assert_eq!(got.cluster.as_deref(), Some(*cluster), "{cmd} {args:?}");
        assert_eq!(got.region.as_deref(), *region, "{cmd} {args:?}");
        assert_eq!(got.role_arn.as_deref(), *role, "{cmd} {args:?}");
        assert_eq!(got.profile.as_deref(), *profile, "{cmd} {args:?}");
    }
    let UserAuth::Exec(e) = exec("gke-gcloud-auth-plugin", &[], &[], V1B1) else {
        unreachable!()
    };
    assert_eq!(EksExec::from_exec(&e), None);
}

#[test]
fn a_good_entry_has_no_findings() {
    let kc = one(exec(
        "aws",
        &[
            "--region",
            "eu-west-1",
            "eks",
            "get-token",
            "--cluster-name",
            "prod",
        ],
        &[],
        V1B1,
    ));
    assert!(run(&kc, None).is_empty());
}

#[test]
fn v1alpha1_is_an_error_with_the_update_kubeconfig_fix() {
    let kc = one(exec(
        "aws",
        &[
            "--region",
            "eu-west-1",
            "eks",
            "get-token",
            "--cluster-name",
            "prod",
            "--role-arn",
            "arn:aws:iam::111122223333:role/admin",
        ],
        &[],
        "client.authentication.k8s.io/v1alpha1",
    ));
    let f = run(&kc, None);
    assert_eq!(ids(&f), ["kubeconfig/exec-api-version"]);
    assert_eq!(
        f[0].fix.as_ref().unwrap().commands,
        [
            "aws eks update-kubeconfig --name prod --region eu-west-1 --role-arn arn:aws:iam::111122223333:role/admin"
        ]
    );
}

#[test]
fn command_not_on_path() {
    let kc = one(exec(
        "aws-iam-authenticator",
        &["token", "-i", "prod"],
        &[],
        V1B1,
    ));
    let opts = Options {
        context: None,
        profile: None,
        source: "k",
    };
    let f = lint(&kc, &opts, &|c| c != "aws-iam-authenticator");
    assert_eq!(ids(&f), ["kubeconfig/exec-command-missing"]);
    // Region from the server URL when the args have none.
    assert_eq!(
        f[0].fix.as_ref().unwrap().commands,
        ["aws eks update-kubeconfig --name prod --region eu-west-1"]
    );
}

#[test]
fn wrong_profile_is_a_mismatch_for_the_current_context() {
    let cases: &[(&[&str], &[(&str, &str)], Option<&str>, bool)] = &[
        (
            &[
                "eks",
                "get-token",
                "--cluster-name",
                "prod",
                "--profile",
                "ops",
            ],
            &[],
            Some("dev"),
            true,
        ),
        (
            &["eks", "get-token", "--cluster-name", "prod"],
            &[("AWS_PROFILE", "ops")],
            Some("dev"),
            true,
        ),
        (
            &["eks", "get-token", "--cluster-name", "prod"],
            &[("AWS_PROFILE", "ops")],
            None,
            true,
        ),
        (
            &["eks", "get-token", "--cluster-name", "prod"],
            &[("AWS_PROFILE", "dev")],
            Some("dev"),
            false,
        ),
        // No profile in the entry: the shell's (the one diagnosed) is used.
        (
            &["eks", "get-token", "--cluster-name", "prod"],
            &[],
            Some("dev"),
            false,
        ),
        (
            &[
                "eks",
                "get-token",
                "--cluster-name",
                "prod",
                "--profile",
                "default",
            ],
            &[],
            None,
            false,
        ),
    ];
    for (args, env, diagnosing, mismatch) in cases {
        let kc = one(exec("aws", args, env, V1B1));
        let f = run(&kc, *diagnosing);
        assert_eq!(
            ids(&f) == ["kubeconfig/identity-mismatch"],
            *mismatch,
            "{args:?} {env:?} {diagnosing:?}: {f:?}"
        );
        if *mismatch {
            let cmd = &f[0].fix.as_ref().unwrap().commands[0];
            assert!(
                cmd.starts_with("aws eks update-kubeconfig --name prod --region eu-west-1"),
                "{cmd}"
            );
            if let Some(p) = diagnosing {
                assert!(cmd.ends_with(&format!("--profile {p}")), "{cmd}");
            }
        }
    }
}

#[test]
fn missing_entries_and_contexts() {
    let mut kc = one(exec(
        "aws",
        &["eks", "get-token", "--cluster-name", "prod"],
        &[],
        V1B1,
    ));
    kc.users.clear();
    let f = run(&kc, None);
    assert_eq!(ids(&f), ["kubeconfig/missing-entry"]);
    assert!(f[0].message.contains("user"), "{}", f[0].message);
    assert_eq!(
        f[0].fix.as_ref().unwrap().commands,
        ["aws eks update-kubeconfig --name prod --region eu-west-1"]
    );

    let mut kc = one(UserAuth::Token);
    kc.current_context = None;
    assert_eq!(
        ids(&run(&kc, None)),
        ["kubeconfig/missing-entry", "kubeconfig/not-eks"]
    );

    let kc = one(UserAuth::ClientCertificate);
    let opts = Options {
        context: Some("arn:aws:eks:us-east-1:111122223333:cluster/gone"),
        profile: None,
        source: "k",
    };
    let f = lint(&kc, &opts, &|_| true);
    assert_eq!(ids(&f), ["kubeconfig/missing-entry"]);
    assert_eq!(
        f[0].fix.as_ref().unwrap().commands,
        ["aws eks update-kubeconfig --name gone --region us-east-1"]
    );
}

#[test]
fn non_eks_users_are_info_only() {
    for auth in [
        UserAuth::Token,
        UserAuth::ClientCertificate,
        UserAuth::AuthProvider("oidc".into()),
        exec("kubelogin", &["get-token"], &[], V1B1),
    ] {
        let f = run(&one(auth.clone()), None);
        assert_eq!(ids(&f), ["kubeconfig/not-eks"], "{auth:?}");
    }
}

#[test]
fn server_regions() {
    for (server, want) in [
        (
            "https://ABCD.gr7.eu-west-1.eks.amazonaws.com",
            Some("eu-west-1"),
        ),
        (
            "https://abcd.yl4.us-east-1.eks.amazonaws.com:443/",
            Some("us-east-1"),
        ),
        (
            "https://abcd.sk1.cn-north-1.eks.amazonaws.com.cn",
            Some("cn-north-1"),
        ),
        ("https://127.0.0.1:6443", None),
        ("https://kubernetes.default.svc", None),
    ] {
        assert_eq!(region_of_server(server).as_deref(), want, "{server}");
    }
}
