use super::*;
use crate::snapshot::KeyStatus;

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn policy() -> KeyPolicy {
    KeyPolicy::new(ts("2026-06-01T00:00:00Z"))
}

fn key(user: &str, id: &str, created: &str) -> AccessKey {
    AccessKey {
        user_name: user.to_owned(),
        access_key_id: id.to_owned(),
        status: KeyStatus::Active,
        created: ts(created),
        last_used: None,
        last_used_known: true,
    }
}

fn cluster_finding(rule: crate::rules::Rule, region: &str, cluster: &str) -> Finding {
    Finding::new(rule, format!("cluster {cluster}: something"))
        .evidence("region", region)
        .evidence("cluster", cluster)
}

fn account(id: &str, name: &str) -> AccountInput {
    AccountInput {
        account_id: id.to_owned(),
        account_name: Some(name.to_owned()),
        role_arn: role_arn("aws", id, "EksDoctorReadOnly"),
        assume_error: None,
        regions: vec![
            RegionInput {
                region: "us-east-1".to_owned(),
                error: None,
                clusters: vec![ClusterFacts {
                    name: "web".to_owned(),
                    ..ClusterFacts::default()
                }],
            },
            RegionInput {
                region: "eu-west-1".to_owned(),
                error: None,
                clusters: Vec::new(),
            },
        ],
        findings: Vec::new(),
        keys: None,
    }
}

#[test]
fn findings_land_under_their_cluster_region_or_account() {
    let mut a = account("111111111111", "prod");
    a.findings = vec![
        cluster_finding(rules::IRSA_OIDC_PROVIDER_MISSING, "us-east-1", "web"),
        // A region it names but a cluster it does not: the region's.
        Finding::new(rules::CREDS_PROBE_DENIED, "x").evidence("region", "eu-west-1"),
        // No scope: the account's.
        Finding::new(rules::CREDS_PROBE_DENIED, "y"),
    ];
    let r = FleetReport::build(vec![a], Throttles::default(), &policy());
    let acc = &r.accounts[0];
    assert_eq!(acc.findings.len(), 1);
    let east = acc
        .regions
        .iter()
        .find(|r| r.region == "us-east-1")
        .unwrap();
    assert_eq!(
        east.clusters[0].findings[0].rule,
        "irsa/oidc-provider-missing"
    );
    let west = acc
        .regions
        .iter()
        .find(|r| r.region == "eu-west-1")
        .unwrap();
    assert_eq!(west.findings.len(), 1);

    let scoped = r.scoped_findings();
    assert_eq!(scoped.len(), 3);
    let irsa = scoped
        .iter()
        .find(|s| s.finding.rule == "irsa/oidc-provider-missing")
        .unwrap();
    assert_eq!(
        (
            irsa.account_id,
            irsa.account_name,
            irsa.region,
            irsa.cluster
        ),
        ("111111111111", Some("prod"), Some("us-east-1"), Some("web"))
    );
    assert_eq!(r.summary.clusters, 1);
    assert_eq!(r.summary.regions, 2);
    assert_eq!(r.summary.error, 1);
    assert_eq!(r.summary.warning, 2);
}

#[test]
fn an_account_whose_role_cannot_be_assumed_is_a_finding_not_a_failure() {
    let mut broken = account("222222222222", "sandbox");
    broken.assume_error = Some("AccessDenied: not authorized to perform sts:AssumeRole".into());
    let ok = account("111111111111", "prod");
    let r = FleetReport::build(vec![broken, ok], Throttles::default(), &policy());
    // Sorted by account id.
    assert_eq!(r.accounts[0].account_id, "111111111111");
    let b = &r.accounts[1];
    assert_eq!(b.status, "assume-failed");
    assert!(b.regions.is_empty());
    assert_eq!(b.worst().unwrap().rule, "fleet/assume-failed");
    assert_eq!(
        b.findings[0].evidence["role_arn"],
        "arn:aws:iam::222222222222:role/EksDoctorReadOnly"
    );
    assert_eq!(r.summary.accounts, 2);
    assert_eq!(r.summary.accounts_unreachable, 1);
    assert!(r.has_errors());
    assert_eq!(
        r.summary.by_rule["fleet/assume-failed"][&Severity::Error],
        1
    );
}

#[test]
fn keys_from_the_credential_report_get_the_keys_rules_and_a_rotation_plan() {
    let mut a = account("111111111111", "prod");
    a.keys = Some(vec![
        key("ci", "AKIAIOSFODNN7CIKEY01", "2024-01-01T00:00:00Z"),
        key("ci", "AKIAIOSFODNN7CIKEY02", "2026-05-01T00:00:00Z"),
    ]);
    let r = FleetReport::build(vec![a], Throttles::default(), &policy());
    let acc = &r.accounts[0];
    let rules: Vec<&str> = acc.findings.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&"keys/limit-reached"), "{rules:?}");
    assert!(rules.contains(&"keys/old"), "{rules:?}");
    assert_eq!(acc.rotation.len(), 1);
    assert_eq!(acc.rotation[0].user, "ci");
    assert_eq!(acc.users.len(), 1);
}

#[test]
fn worst_finding_is_by_severity_then_rule() {
    let mut a = account("111111111111", "prod");
    a.findings = vec![
        cluster_finding(rules::STS_LEGACY_GLOBAL_DEFAULT, "us-east-1", "web"),
        cluster_finding(rules::IRSA_OIDC_PROVIDER_MISSING, "us-east-1", "web"),
        cluster_finding(rules::CLUSTER_CONFIG_MAP_ONLY, "us-east-1", "web"),
    ];
    let r = FleetReport::build(vec![a], Throttles::default(), &policy());
    assert_eq!(
        r.accounts[0].worst().unwrap().rule,
        "irsa/oidc-provider-missing"
    );
    assert_eq!(r.accounts[0].counts(), (1, 0, 2));
    let empty = FleetReport::build(vec![account("3", "x")], Throttles::default(), &policy());
    assert!(empty.accounts[0].worst().is_none());
    assert!(!empty.has_errors());
}

#[test]
fn role_arns_keep_a_path_and_the_partition() {
    assert_eq!(
        role_arn("aws-cn", "123456789012", "/audit/EksDoctorReadOnly"),
        "arn:aws-cn:iam::123456789012:role/audit/EksDoctorReadOnly"
    );
}

#[test]
fn the_json_report_carries_scope_summary_and_throttles() {
    let t = Throttles {
        total: 3,
        by_service: [("eks".to_owned(), 3)].into(),
        exhausted: 0,
    };
    let r = FleetReport::build(vec![account("111111111111", "prod")], t, &policy());
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["throttles"]["by_service"]["eks"], 3);
    assert_eq!(v["summary"]["accounts"], 1);
    assert_eq!(v["accounts"][0]["regions"][0]["region"], "eu-west-1");
    assert_eq!(v["accounts"][0]["regions"][1]["clusters"][0]["name"], "web");
}

#[test]
fn text_puts_the_accounts_table_first_then_findings_by_scope() {
    let mut a = account("111111111111", "prod");
    a.findings = vec![cluster_finding(
        rules::IRSA_OIDC_PROVIDER_MISSING,
        "us-east-1",
        "web",
    )];
    let mut b = account("222222222222", "sandbox");
    b.assume_error = Some("AccessDenied".into());
    let r = FleetReport::build(vec![a, b], Throttles::default(), &policy());
    let text = r.to_text(crate::report::TextStyle::default());
    let table = text.find("ACCOUNT").unwrap();
    let first_finding = text.find("== account").unwrap();
    assert!(table < first_finding, "{text}");
    assert!(text.contains("-- us-east-1 / web"), "{text}");
    assert!(text.contains("222222222222  sandbox"), "{text}");
    assert!(text.contains("fleet/assume-failed"), "{text}");
    assert!(
        text.trim_end().ends_with("2 errors, 0 warnings, 0 info"),
        "{text}"
    );
}

#[test]
fn json_findings_carry_their_scope_and_the_common_summary() {
    let mut a = account("111111111111", "prod");
    a.findings = vec![cluster_finding(
        rules::IRSA_OIDC_PROVIDER_MISSING,
        "us-east-1",
        "web",
    )];
    let v = FleetReport::build(vec![a], Throttles::default(), &policy()).to_json_value();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "irsa/oidc-provider-missing");
    assert_eq!(f["scope"]["account_id"], "111111111111");
    assert_eq!(f["scope"]["cluster"], "web");
    assert_eq!(v["summary"]["error"], 1);
    assert_eq!(
        v["summary"]["by_rule"]["irsa/oidc-provider-missing"]["error"],
        1
    );
}
