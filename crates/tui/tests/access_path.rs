//! The access path on the Clusters panel, drawn for each way it can break
//! (and for the way it works), on a TestBackend at 100x30: the fed data is
//! hand-built per case, the rest of the dashboard is empty.
#![allow(clippy::unwrap_used)]

use eksdoctor_core::access_path::{CONSOLE_VERBS, KUBECTL_VERBS, RbacCheck};
use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::{
    AccessEntry, AccessPolicyAssociation, AuthenticationMode, CallerIdentity, Cluster, Mapping,
    Probe, ProbeUpdate,
};
use eksdoctor_tui::action::Action;
use eksdoctor_tui::{App, Feed, Options, Panel};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ARN: &str = "arn:aws:sts::111122223333:assumed-role/platform-dev/bob";

fn app() -> App {
    let mut app = App::new(Options {
        color: false,
        ascii: false,
        demo: true,
        now: "2026-11-29T06:00:00Z".parse().unwrap(),
        rotation_days: 90,
    });
    app.update(Action::GoPanel(Panel::Clusters));
    app
}

fn identity() -> Probe<CallerIdentity> {
    let mut id = CallerIdentity::from_sts(ARN, "111122223333", "AROAEXAMPLE:bob", None).unwrap();
    id.credential_source = Some("profile dev".to_owned());
    Probe::Ready(id)
}

fn cluster(mode: AuthenticationMode) -> Cluster {
    Cluster {
        name: "apps".into(),
        region: "eu-central-1".into(),
        arn: Some("arn:aws:eks:eu-central-1:111122223333:cluster/apps".into()),
        status: Some("ACTIVE".into()),
        version: Some("1.31".into()),
        endpoint_public_access: Some(true),
        endpoint_private_access: Some(false),
        authentication_mode: Some(mode),
        oidc_issuer: None,
        role_arn: None,
    }
}

fn entry(policies: &[&str], groups: &[&str]) -> Option<AccessEntry> {
    Some(AccessEntry {
        principal_arn: "arn:aws:iam::111122223333:role/platform-dev".into(),
        username: None,
        kubernetes_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        entry_type: Some("STANDARD".into()),
        access_policies: policies
            .iter()
            .map(|p| AccessPolicyAssociation {
                policy_arn: format!("arn:aws:eks::aws:cluster-access-policy/{p}"),
                scope: "cluster".into(),
                namespaces: vec![],
            })
            .collect(),
    })
}

fn feed(app: &mut App, updates: Vec<Feed>) {
    for u in updates {
        app.apply(0, u);
    }
    app.apply(0, Feed::Probe(ProbeUpdate::Done));
}

fn describe(c: Probe<Cluster>) -> Vec<Feed> {
    vec![
        Feed::Probe(ProbeUpdate::ClusterList {
            region: "eu-central-1".into(),
            clusters: Probe::Ready(vec!["apps".into()]),
        }),
        Feed::Probe(ProbeUpdate::Cluster {
            region: "eu-central-1".into(),
            name: "apps".into(),
            cluster: c,
        }),
    ]
}

fn entry_feed(e: Probe<Option<AccessEntry>>) -> Feed {
    Feed::Probe(ProbeUpdate::CallerAccessEntry {
        region: "eu-central-1".into(),
        name: "apps".into(),
        entry: e,
    })
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| f.render_widget(app, f.area())).unwrap();
    t.backend().to_string()
}

fn check(name: &str, app: &App, expect: &[&str]) {
    let s = screen(app);
    for e in expect {
        assert!(s.contains(e), "{name}: {e:?} missing\n{s}");
    }
    insta::assert_snapshot!(format!("path_{name}"), s);
}

#[test]
fn no_credentials() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(Probe::Failed {
        message: "no credentials found in the default chain".into(),
    }))];
    updates.extend(describe(Probe::Pending));
    feed(&mut app, updates);
    check(
        "no_credentials",
        &app,
        &[
            "✗ credentials",
            "aws sso login",
            "not reached: no credentials",
        ],
    );
}

#[test]
fn describe_cluster_denied() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(identity()))];
    updates.extend(describe(Probe::Denied {
        permission: "eks:DescribeCluster".into(),
    }));
    feed(&mut app, updates);
    check(
        "describe_denied",
        &app,
        &["✗ eks:DescribeCluster", "\"eks:DescribeCluster\""],
    );
}

#[test]
fn no_mapping() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(identity()))];
    updates.extend(describe(Probe::Ready(cluster(AuthenticationMode::Api))));
    updates.push(entry_feed(Probe::Ready(None)));
    feed(&mut app, updates);
    check(
        "no_mapping",
        &app,
        &[
            "✗ access entry",
            "no access entry for",
            "aws eks create-access-entry",
        ],
    );
}

#[test]
fn role_path_in_aws_auth() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(identity()))];
    updates.extend(describe(Probe::Ready(cluster(
        AuthenticationMode::ConfigMap,
    ))));
    updates.push(entry_feed(Probe::Ready(None)));
    updates.push(Feed::AwsAuthMapping {
        region: "eu-central-1".into(),
        name: "apps".into(),
        mapping: Probe::Ready(None),
    });
    updates.push(Feed::Probe(ProbeUpdate::Findings(vec![
        Finding::new(
            rules::AWS_AUTH_ROLE_PATH,
            "apps: rolearn has the path /teams/platform/",
        )
        .evidence("cluster", "apps")
        .evidence("path", "/teams/platform/")
        .evidence(
            "canonical_arn",
            "arn:aws:iam::111122223333:role/platform-dev",
        )
        .at("apps/kube-system/aws-auth", 9)
        .fix(
            Fix::new("the same ARN without the path")
                .replacement("rolearn: arn:aws:iam::111122223333:role/platform-dev"),
        ),
    ])));
    feed(&mut app, updates);
    check(
        "role_path",
        &app,
        &[
            "✗ aws-auth line 9",
            "/teams/platform/",
            "rolearn: arn:aws:iam::111122223333:role/platform-dev",
        ],
    );
    app.update(Action::CopyFix);
    let effects = app.take_effects();
    assert_eq!(
        effects,
        vec![eksdoctor_tui::app::Effect::Copy(
            "rolearn: arn:aws:iam::111122223333:role/platform-dev".into()
        )]
    );
}

fn rbac(console_allowed: bool) -> Feed {
    let console = CONSOLE_VERBS.iter().map(|v| (v, true));
    let kubectl = KUBECTL_VERBS.iter().map(|v| (v, false));
    Feed::Rbac {
        region: "eu-central-1".into(),
        name: "apps".into(),
        checks: Probe::Ready(
            console
                .chain(kubectl)
                .map(|((verb, resource), is_console)| RbacCheck {
                    verb: (*verb).into(),
                    resource: (*resource).into(),
                    namespace: None,
                    allowed: !is_console || console_allowed || *resource == "namespaces",
                    console: is_console,
                })
                .collect(),
        ),
    }
}

#[test]
fn rbac_forbidden() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(identity()))];
    updates.extend(describe(Probe::Ready(cluster(AuthenticationMode::Api))));
    updates.push(entry_feed(Probe::Ready(entry(&[], &["platform-devs"]))));
    updates.push(rbac(false));
    feed(&mut app, updates);
    check(
        "rbac_forbidden",
        &app,
        &["✗ RBAC", "denied list nodes", "associate-access-policy"],
    );
}

#[test]
fn rbac_unknown_says_what_would_answer_it() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(identity()))];
    updates.extend(describe(Probe::Ready(cluster(AuthenticationMode::Api))));
    updates.push(entry_feed(Probe::Ready(entry(&[], &["platform-devs"]))));
    feed(&mut app, updates);
    check(
        "rbac_unknown",
        &app,
        &["? RBAC", "would answer it: kubectl auth can-i"],
    );
}

#[test]
fn all_ok() {
    let mut app = app();
    let mut updates = vec![Feed::Probe(ProbeUpdate::Identity(identity()))];
    updates.extend(describe(Probe::Ready(cluster(
        AuthenticationMode::ApiAndConfigMap,
    ))));
    updates.push(entry_feed(Probe::Ready(None)));
    updates.push(Feed::AwsAuth {
        region: "eu-central-1".into(),
        name: "apps".into(),
        answer: Probe::Ready(eksdoctor_core::access_path::AwsAuthAnswer {
            mapping: Some(Mapping {
                source: "aws-auth",
                username: "platform:{{SessionName}}".into(),
                groups: vec!["platform-devs".into()],
                access_policies: vec![],
            }),
            line: Some(21),
        }),
    });
    updates.push(rbac(true));
    feed(&mut app, updates);
    let s = screen(&app);
    assert!(!s.contains('✗'), "{s}");
    check(
        "all_ok",
        &app,
        &[
            "✓ aws-auth line 21",
            "platform:bob",
            "the Resources tab and kubectl work",
        ],
    );
    app.update(Action::CopyFix);
    assert!(app.take_effects().is_empty());
}
