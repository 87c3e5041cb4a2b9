//! Pod Identity checks. Trust cases follow the Amazon EKS User Guide page
//! "Create IAM role with trust policy required by EKS Pod Identity"
//! (pod-id-role) and "Access AWS Resources using EKS Pod Identity Target IAM
//! Roles" (pod-id-assign-target-role), in our own values.

use serde_json::{Value, json};

use super::*;

const CLUSTER_ARN: &str = "arn:aws:eks:us-west-2:111122223333:cluster/prod";

fn cluster() -> Cluster {
    Cluster::from_arn(CLUSTER_ARN).unwrap()
}

fn check(doc: &Value, subject: Option<(&str, &str)>) -> TrustCheck {
    let role = RoleTrust {
        file: "trust.json",
        document: doc,
        name: "web".to_owned(),
        arn: Some("arn:aws:iam::111122223333:role/web".to_owned()),
    };
    check_trust(&role, &cluster(), subject, true).unwrap()
}

fn trust(action: Value, condition: Option<Value>) -> Value {
    let mut st =
        json!({"Effect": "Allow", "Principal": {"Service": SERVICE_PRINCIPAL}, "Action": action});
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [st]})
}

fn problem(t: &TrustCheck) -> Option<&str> {
    t.findings
        .first()
        .and_then(|f| f.evidence["problem"].as_str())
}

#[test]
fn documented_trust_policy_passes() {
    let t = check(
        &trust(json!(["sts:AssumeRole", "sts:TagSession"]), None),
        None,
    );
    assert!(t.findings.is_empty() && t.undecided.is_empty(), "{t:?}");
    let t = check(&trust(json!("sts:*"), None), None);
    assert!(t.findings.is_empty());
}

#[test]
fn missing_tag_session_is_the_common_slip() {
    let t = check(&trust(json!("sts:AssumeRole"), None), None);
    assert_eq!(problem(&t), Some("missing-action"));
    let f = &t.findings[0];
    assert_eq!(f.rule, "podid/trust-mismatch");
    assert!(f.message.contains("not sts:TagSession"), "{}", f.message);
    let fix = f.fix.as_ref().unwrap();
    assert_eq!(
        fix.policy.as_ref().unwrap()["Statement"][0]["Action"],
        json!(["sts:AssumeRole", "sts:TagSession"])
    );
    assert!(fix.commands[0].starts_with("aws iam update-assume-role-policy --role-name web"));
    let t = check(&trust(json!("sts:TagSession"), None), None);
    assert!(t.findings[0].message.contains("not sts:AssumeRole"));
}

#[test]
fn wrong_service_principal() {
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
    let t = check(&doc, None);
    assert_eq!(problem(&t), Some("no-service-principal"));
    // The other statement is kept in the corrected policy.
    let fixed = t.findings[0].fix.as_ref().unwrap().policy.clone().unwrap();
    assert_eq!(fixed["Statement"].as_array().unwrap().len(), 2);
}

#[test]
fn source_account_and_arn_must_name_the_cluster() {
    let good = json!({"StringEquals": {"aws:SourceAccount": "111122223333"},
                      "ArnEquals": {"aws:SourceArn": CLUSTER_ARN}});
    assert!(
        check(
            &trust(json!(["sts:AssumeRole", "sts:TagSession"]), Some(good)),
            None
        )
        .findings
        .is_empty()
    );
    let bad = json!({"StringEquals": {"aws:SourceAccount": "444455556666"},
                     "ArnEquals": {"aws:SourceArn": "arn:aws:eks:us-west-2:111122223333:cluster/staging"}});
    let t = check(
        &trust(json!(["sts:AssumeRole", "sts:TagSession"]), Some(bad)),
        None,
    );
    assert_eq!(problem(&t), Some("condition-mismatch"));
    let fixed = t.findings[0].fix.as_ref().unwrap().policy.clone().unwrap();
    let c = &fixed["Statement"][0]["Condition"];
    assert_eq!(c["StringEquals"]["aws:SourceAccount"], "111122223333");
    assert_eq!(c["ArnEquals"]["aws:SourceArn"], CLUSTER_ARN);
    // A wildcard that already admits the cluster is kept.
    let like =
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:eks:us-west-2:111122223333:cluster/*"}});
    assert!(
        check(
            &trust(json!(["sts:AssumeRole", "sts:TagSession"]), Some(like)),
            None
        )
        .findings
        .is_empty()
    );
}

#[test]
fn session_tag_conditions() {
    let c = json!({"StringEquals": {"aws:RequestTag/kubernetes-namespace": "app",
                                     "aws:RequestTag/kubernetes-service-account": "web"}});
    let doc = trust(json!(["sts:AssumeRole", "sts:TagSession"]), Some(c));
    assert!(check(&doc, Some(("app", "web"))).findings.is_empty());
    let t = check(&doc, Some(("app", "jobs")));
    assert_eq!(problem(&t), Some("condition-mismatch"));
    let fixed = t.findings[0].fix.as_ref().unwrap().policy.clone().unwrap();
    assert_eq!(
        fixed["Statement"][0]["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"],
        "jobs"
    );
    // Without the service account, the answer depends on it: undecided, no finding.
    let t = check(&doc, None);
    assert!(t.findings.is_empty());
    assert!(!t.undecided.is_empty());
    // A tag Pod Identity never sets: the condition can never hold.
    let never = json!({"StringEquals": {"aws:RequestTag/team": "payments"}});
    let t = check(
        &trust(json!(["sts:AssumeRole", "sts:TagSession"]), Some(never)),
        None,
    );
    assert_eq!(problem(&t), Some("condition-mismatch"));
}

#[test]
fn explicit_deny_in_trust() {
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": SERVICE_PRINCIPAL}, "Action": ["sts:AssumeRole", "sts:TagSession"]},
        {"Effect": "Deny", "Principal": {"Service": SERVICE_PRINCIPAL}, "Action": "sts:TagSession"}]});
    assert_eq!(problem(&check(&doc, None)), Some("denied"));
}

#[test]
fn cluster_arn_is_validated() {
    assert!(Cluster::from_arn("arn:aws:eks:us-west-2:111122223333:cluster/prod").is_ok());
    for bad in [
        "prod",
        "arn:aws:eks:us-west-2:1111:cluster/prod",
        "arn:aws:iam::111122223333:role/x",
        "arn:aws:eks:us-west-2:111122223333:cluster/",
    ] {
        assert!(Cluster::from_arn(bad).is_err(), "{bad}");
    }
}

fn assoc(ns: &str, sa: &str, role: &str) -> Association {
    Association {
        namespace: ns.to_owned(),
        service_account: sa.to_owned(),
        role_arn: Some(role.to_owned()),
        ..Association::default()
    }
}

fn workload(ns: &str, sa: &str, windows: bool, fargate: bool) -> WorkloadInfo {
    WorkloadInfo {
        hint: ComputeHint {
            workload: format!("Deployment/{sa}"),
            namespace: Some(ns.to_owned()),
            service_account: sa.to_owned(),
            windows: windows.then(|| "nodeSelector kubernetes.io/os: windows".to_owned()),
            fargate: fargate.then(|| "label eks.amazonaws.com/fargate-profile: fp".to_owned()),
            agent_daemonset: false,
            line: 3,
        },
        file: "app.yaml".to_owned(),
    }
}

#[test]
fn associations_against_manifests() {
    let assocs = vec![
        assoc("app", "web", "arn:aws:iam::111122223333:role/web"),
        assoc("app", "win", "arn:aws:iam::111122223333:role/win"),
        assoc("app", "both", "arn:aws:iam::111122223333:role/pi"),
    ];
    let accounts = vec![ServiceAccountInfo {
        namespace: "app".to_owned(),
        name: "both".to_owned(),
        irsa_role: Some("arn:aws:iam::111122223333:role/irsa".to_owned()),
        file: "app.yaml".to_owned(),
        line: 7,
    }];
    let workloads = vec![
        workload("app", "web", false, false),
        workload("app", "win", true, false),
        workload("app", "orphan", false, false),
        workload("app", "orphan", false, false),
        workload("kube-system", "coredns", false, false),
    ];
    let f = check_associations(
        Some(assocs.as_slice()),
        &accounts,
        &workloads,
        &cluster(),
        Some(("other", "sa")),
    );
    let ids: Vec<&str> = f.iter().map(|f| f.rule).collect();
    assert_eq!(
        ids,
        [
            "podid/irsa-precedence",
            "podid/no-association",
            "podid/unsupported-compute",
            "podid/no-association"
        ],
        "{f:#?}"
    );
    assert!(
        f[0].message.contains("role/irsa"),
        "IRSA wins: {}",
        f[0].message
    );
    assert!(f[1].message.contains("other/sa"));
    assert!(f[3].message.contains("app/orphan"));
    assert!(f[3].fix.as_ref().unwrap().commands[0].contains("--cluster-name prod"));
    // No association input at all: nothing to say about workloads.
    assert!(check_associations(None, &[], &workloads, &cluster(), Some(("a", "b"))).is_empty());
    // An empty list is complete: every workload lacks an association.
    assert_eq!(
        check_associations(Some(&[]), &[], &workloads, &cluster(), None).len(),
        3
    );
}

#[test]
fn fargate_with_association() {
    let f = check_associations(
        Some(&[assoc("app", "web", "arn:aws:iam::111122223333:role/web")]),
        &[],
        &[workload("app", "web", false, true)],
        &cluster(),
        None,
    );
    assert_eq!(f[0].rule, "podid/unsupported-compute");
    assert!(f[0].message.contains("Fargate"));
}

#[test]
fn agent_addon() {
    let c = cluster();
    let listed = |names: &[&str]| Addons {
        listed: names.iter().map(|s| (*s).to_owned()).collect(),
        described: Vec::new(),
    };
    assert_eq!(
        check_agent(&listed(&["vpc-cni"]), false, &c)[0].rule,
        "podid/agent-missing"
    );
    assert!(
        check_agent(&listed(&["vpc-cni"]), true, &c).is_empty(),
        "self-managed DaemonSet"
    );
    assert!(check_agent(&listed(&["vpc-cni", AGENT_ADDON]), false, &c).is_empty());
    assert!(
        check_agent(&Addons::default(), false, &c).is_empty(),
        "nothing known"
    );
    let described = |status: &str| Addons {
        listed: Vec::new(),
        described: vec![(AGENT_ADDON.to_owned(), status.to_owned(), None)],
    };
    assert!(check_agent(&described("ACTIVE"), false, &c).is_empty());
    let f = check_agent(&described("DEGRADED"), false, &c);
    assert!(f[0].message.contains("DEGRADED"));
}

#[test]
fn cross_account_chain() {
    let mut a = assoc("app", "web", "arn:aws:iam::111122223333:role/web");
    a.target_role_arn = Some("arn:aws:iam::444455556666:role/reader".to_owned());
    a.external_id = Some("ext-123".to_owned());
    let good = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:role/web"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"}}}]});
    let allow_src = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "arn:aws:iam::444455556666:role/reader"}]});
    let src = vec![("web-policy.json".to_owned(), allow_src)];
    let t = check_cross_account(&a, Some(("target.json", &good)), &src).unwrap();
    assert!(t.findings.is_empty() && t.undecided.is_empty(), "{t:?}");
    // Only AssumeRole trusted: TagSession fails.
    let mut only = good.clone();
    only["Statement"][0]["Action"] = json!("sts:AssumeRole");
    let t = check_cross_account(&a, Some(("target.json", &only)), &src).unwrap();
    assert_eq!(t.findings[0].rule, "podid/cross-account");
    // The source role may not assume the target.
    let none = vec![(
        "web-policy.json".to_owned(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )];
    let t = check_cross_account(&a, Some(("target.json", &good)), &none).unwrap();
    assert_eq!(t.findings.len(), 1);
    // Wrong external id.
    a.external_id = Some("other".to_owned());
    let t = check_cross_account(&a, Some(("target.json", &good)), &src).unwrap();
    assert_eq!(t.findings.len(), 1);
    // Without the target trust: undecided, said.
    let t = check_cross_account(&a, None, &src).unwrap();
    assert!(t.findings.is_empty() && !t.undecided.is_empty());
}

#[test]
fn session_tags_relied_on() {
    let p = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::data/${aws:PrincipalTag/kubernetes-namespace}/*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payments", "s3:ExistingObjectTag/ns": "${aws:PrincipalTag/kubernetes-namespace}"}}}]});
    let u = session_tags(&[&p], false, &[]);
    assert_eq!(u.set, ["kubernetes-namespace"]);
    assert_eq!(u.not_set, ["team"]);
    let u = session_tags(&[&p], false, &["team".to_owned()]);
    assert!(u.not_set.is_empty());
    let u = session_tags(&[&p], true, &[]);
    assert_eq!(u.not_set, ["kubernetes-namespace", "team"]);
}
