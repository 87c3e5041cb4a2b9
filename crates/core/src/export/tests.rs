use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::finding::{Finding, Fix, Severity};
use crate::rules;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn ctx() -> ExportContext<'static> {
    let now: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let mut c = ExportContext::new("0.1.0", now, "eu-west-1");
    c.rule_page_base = Some("https://github.com/eksdoctor/eksdoctor/blob/main/docs/rules".into());
    c
}

fn scoped<'a>(
    f: &'a Finding,
    region: Option<&'a str>,
    cluster: Option<&'a str>,
) -> ScopedFinding<'a> {
    ScopedFinding {
        account_id: "111122223333",
        account_name: Some("payments-prod"),
        region,
        cluster,
        finding: f,
    }
}

fn old_key(user: &str, key: &str, age: i64) -> Finding {
    Finding::new(
        rules::KEYS_OLD,
        format!("{user}'s key {key} is {age} days old"),
    )
    .evidence("user", user)
    .evidence("access_key_id", key)
    .evidence("age_days", age)
}

#[test]
fn ids_survive_volatile_evidence_and_tell_subjects_apart() {
    // The key's age changes every day: the id must not.
    let a = old_key("alice", "AKIA************MPLE", 400);
    let b = old_key("alice", "AKIA************MPLE", 401);
    let c = old_key("bob", "AKIA************MPLE", 400);
    let id = |f: &Finding| stable_id(&scoped(f, None, None));
    assert_eq!(id(&a), id(&b));
    assert_ne!(id(&a), id(&c));
    assert!(id(&a).starts_with("eksdoctor/111122223333/global/-/keys/old/"));
    // Same rule and subject in two clusters: two findings.
    let n = Finding::new(rules::CLUSTER_NOT_MAPPED, "not mapped");
    assert_ne!(
        stable_id(&scoped(&n, Some("us-east-1"), Some("a"))),
        stable_id(&scoped(&n, Some("us-east-1"), Some("b")))
    );
    // FNV-1a's value is fixed by its definition: the empty input's offset basis.
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
}

#[test]
fn repeated_ids_in_one_run_are_suffixed() {
    let f = Finding::new(rules::CLUSTER_CONFIG_MAP_ONLY, "config map only");
    let list = [scoped(&f, Some("us-east-1"), Some("c")); 3];
    let ids = unique_ids(&list);
    assert_eq!(ids[1], format!("{}/2", ids[0]));
    assert_eq!(ids[2], format!("{}/3", ids[0]));
}

#[test]
fn truncation_counts_utf16_units_and_keeps_char_boundaries() {
    // Table: (input, max, expected).
    let cases = [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("abcdefghijk", 10, "abcdefghi…"),
        // U+1F600 is two UTF-16 units: it does not fit in the last slot.
        ("abcdefgh\u{1F600}x", 10, "abcdefgh…"),
        ("ééééé", 3, "éé…"),
        ("", 0, ""),
    ];
    for (input, max, want) in cases {
        let got = truncate_utf16(input, max);
        assert_eq!(got, want, "{input:?} to {max}");
        assert!(got.chars().map(char::len_utf16).sum::<usize>() <= max);
    }
}

#[test]
fn partitions() {
    for (region, p) in [
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ] {
        assert_eq!(partition(region), p);
    }
}

#[test]
fn asff_cluster_finding() {
    let f = Finding::new(rules::CLUSTER_NOT_MAPPED, "arn:aws:iam::111122223333:role/dev is not mapped")
        .detail("Neither an access entry nor aws-auth maps it.")
        .evidence("principal", "arn:aws:iam::111122223333:role/dev")
        .fix(Fix::new("Create an access entry.").command(
            "aws eks create-access-entry --cluster-name prod --principal-arn arn:aws:iam::111122223333:role/dev",
        ));
    let sf = scoped(&f, Some("us-west-2"), Some("prod"));
    let batches = asff::to_batches(&[sf], &ctx());
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].region, "us-west-2");
    let v = serde_json::to_value(&batches[0].findings[0]).unwrap();
    assert_eq!(v["SchemaVersion"], "2018-10-08");
    assert_eq!(
        v["ProductArn"],
        "arn:aws:securityhub:us-west-2:111122223333:product/111122223333/default"
    );
    assert_eq!(v["GeneratorId"], "cluster/not-mapped");
    assert_eq!(v["AwsAccountId"], "111122223333");
    assert_eq!(v["Severity"]["Label"], "HIGH");
    assert_eq!(v["RecordState"], "ACTIVE");
    assert_eq!(v["CreatedAt"], "2026-03-01T12:00:00Z");
    assert_eq!(
        v["Title"],
        "prod: arn:aws:iam::111122223333:role/dev is not mapped"
    );
    assert_eq!(
        v["Types"][0],
        "Software and Configuration Checks/AWS Security Best Practices/eksdoctor cluster"
    );
    assert_eq!(
        v["Resources"],
        json!([
            {"Type": "AwsEksCluster", "Id": "arn:aws:eks:us-west-2:111122223333:cluster/prod",
             "Partition": "aws", "Region": "us-west-2"},
            {"Type": "AwsIamRole", "Id": "arn:aws:iam::111122223333:role/dev",
             "Partition": "aws", "Region": "us-west-2"}
        ])
    );
    let rec = &v["Remediation"]["Recommendation"];
    assert!(
        rec["Text"]
            .as_str()
            .unwrap()
            .contains("$ aws eks create-access-entry")
    );
    assert_eq!(
        rec["Url"],
        "https://github.com/eksdoctor/eksdoctor/blob/main/docs/rules/cluster/not-mapped.md"
    );
}

#[test]
fn asff_account_wide_findings_go_to_the_home_region() {
    let key = old_key("alice", "AKIA************MPLE", 400);
    let root =
        Finding::new(rules::KEYS_ROOT_KEYS, "root has keys").evidence("user", "<root_account>");
    let list = [scoped(&key, None, None), scoped(&root, None, None)];
    let batches = asff::to_batches(&list, &ctx());
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].region, "eu-west-1");
    let key_v = serde_json::to_value(&batches[0].findings[0]).unwrap();
    assert_eq!(key_v["Resources"][0]["Type"], "AwsIamUser");
    assert_eq!(
        key_v["Resources"][0]["Id"],
        "arn:aws:iam::111122223333:user/alice"
    );
    assert_eq!(key_v["Severity"]["Label"], "MEDIUM");
    let root_v = serde_json::to_value(&batches[0].findings[1]).unwrap();
    assert_eq!(root_v["Resources"][0]["Type"], "AwsAccount");
    assert_eq!(root_v["Resources"][0]["Id"], "AWS::::Account:111122223333");
    assert_eq!(root_v["Severity"]["Label"], "CRITICAL");
}

#[test]
fn asff_batches_split_at_100_per_account_and_region() {
    let fs: Vec<Finding> = (0..250)
        .map(|i| old_key(&format!("user{i}"), "AKIA************MPLE", 400))
        .collect();
    let mut list: Vec<ScopedFinding<'_>> = fs.iter().map(|f| scoped(f, None, None)).collect();
    for sf in list.iter_mut().skip(200) {
        sf.account_id = "444455556666";
    }
    let batches = asff::to_batches(&list, &ctx());
    let sizes: Vec<(String, usize)> = batches
        .iter()
        .map(|b| (b.account_id.clone(), b.findings.len()))
        .collect();
    assert_eq!(
        sizes,
        [
            ("111122223333".to_owned(), 100),
            ("111122223333".to_owned(), 100),
            ("444455556666".to_owned(), 50)
        ]
    );
    for b in &batches {
        for f in &b.findings {
            assert_eq!(f.aws_account_id, b.account_id);
            assert!(f.product_arn.contains(&format!(
                ":{}:product/{}/default",
                b.account_id, b.account_id
            )));
        }
    }
}

#[test]
fn ocsf_event_shape() {
    let f = Finding::new(
        rules::IRSA_OIDC_PROVIDER_MISSING,
        "no OIDC provider for prod",
    )
    .detail("IRSA cannot work.")
    .evidence("issuer", "https://oidc.eks.us-west-2.amazonaws.com/id/ABC");
    let sf = scoped(&f, Some("us-west-2"), Some("prod"));
    let v = &ocsf::to_events(&[sf], &ctx())[0];
    assert_eq!(v["class_uid"], 2004);
    assert_eq!(v["category_uid"], 2);
    assert_eq!(v["activity_id"], 1);
    assert_eq!(v["type_uid"], 200_401);
    assert_eq!(v["severity_id"], 4);
    assert_eq!(v["severity"], "High");
    assert_eq!(v["status_id"], 1);
    assert_eq!(v["time"], 1_772_366_400_000_i64);
    assert_eq!(v["metadata"]["version"], "1.1.0");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "eksdoctor");
    assert_eq!(v["cloud"]["provider"], "AWS");
    assert_eq!(v["cloud"]["region"], "us-west-2");
    assert_eq!(v["cloud"]["account"]["uid"], "111122223333");
    assert_eq!(v["cloud"]["account"]["name"], "payments-prod");
    assert_eq!(v["finding_info"]["title"], "no OIDC provider for prod");
    assert_eq!(v["finding_info"]["desc"], "IRSA cannot work.");
    assert_eq!(
        v["finding_info"]["types"],
        json!(["irsa/oidc-provider-missing", "irsa"])
    );
    assert_eq!(v["finding_info"]["analytic"]["type_id"], 1);
    assert_eq!(v["resources"][0]["type"], "AWS::EKS::Cluster");
    assert_eq!(
        v["resources"][0]["uid"],
        "arn:aws:eks:us-west-2:111122223333:cluster/prod"
    );
    assert_eq!(
        v["remediation"]["desc"],
        "Run `eksdoctor rules irsa/oidc-provider-missing` for the fix."
    );
    assert_eq!(
        v["unmapped"]["eksdoctor"]["evidence"]["issuer"],
        "https://oidc.eks.us-west-2.amazonaws.com/id/ABC"
    );
    let id = v["finding_info"]["uid"].as_str().unwrap();
    assert!(id.starts_with("eksdoctor/111122223333/us-west-2/prod/irsa/oidc-provider-missing/"));
}

#[test]
fn ocsf_severities() {
    assert_eq!(
        ocsf::severity("keys/old", Severity::Info),
        (1, "Informational")
    );
    assert_eq!(ocsf::severity("keys/old", Severity::Warning), (3, "Medium"));
    assert_eq!(ocsf::severity("keys/old", Severity::Error), (4, "High"));
    assert_eq!(
        ocsf::severity("keys/secret-in-input", Severity::Error),
        (5, "Critical")
    );
}

// ---- the OCSF schema ---------------------------------------------------------

/// Detection Finding and every object it reaches, flattened from the OCSF
/// schema repository at v1.1.0 by tests/fixtures/ocsf/generate.py.
const OCSF_SCHEMA: &str =
    include_str!("../../../../tests/fixtures/ocsf/detection_finding-1.1.0.json");

/// Every problem the schema finds in an event: a member it does not
/// define, a wrong type, an enum value it does not list, a required member
/// missing (a profile's only when the event declares the profile).
fn ocsf_problems(event: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(OCSF_SCHEMA).unwrap();
    let profiles: Vec<&str> = event["metadata"]["profiles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut errs = Vec::new();
    ocsf_object(
        event,
        &schema["attributes"],
        &schema,
        "",
        &profiles,
        &mut errs,
    );
    for (k, want) in [
        ("class_uid", &schema["class_uid"]),
        ("category_uid", &schema["category_uid"]),
    ] {
        if &event[k] != want {
            errs.push(format!("{k} is {}, the class is {want}", event[k]));
        }
    }
    errs
}

fn ocsf_object(
    v: &Value,
    attrs: &Value,
    schema: &Value,
    path: &str,
    profiles: &[&str],
    errs: &mut Vec<String>,
) {
    let Some(obj) = v.as_object() else {
        errs.push(format!("{path}: not an object"));
        return;
    };
    for (k, x) in obj {
        let p = format!("{path}.{k}");
        match attrs.get(k) {
            None => errs.push(format!("{p}: not in the schema")),
            Some(a) if a["array"] == true => match x.as_array() {
                Some(items) => items.iter().enumerate().for_each(|(i, x)| {
                    ocsf_value(x, a, schema, &format!("{p}[{i}]"), profiles, errs)
                }),
                None => errs.push(format!("{p}: not an array")),
            },
            Some(a) => ocsf_value(x, a, schema, &p, profiles, errs),
        }
    }
    for (k, a) in attrs.as_object().unwrap() {
        let applies = a["profile"].as_str().is_none_or(|p| profiles.contains(&p));
        if a["requirement"] == "required" && applies && !obj.contains_key(k) {
            errs.push(format!("{path}.{k}: required, missing"));
        }
    }
}

fn ocsf_value(
    x: &Value,
    a: &Value,
    schema: &Value,
    path: &str,
    profiles: &[&str],
    errs: &mut Vec<String>,
) {
    if let Some(object) = a["object"].as_str() {
        match schema["objects"].get(object) {
            Some(o) => ocsf_object(x, &o["attributes"], schema, path, profiles, errs),
            None => errs.push(format!("{path}: object {object} not in the fixture")),
        }
        return;
    }
    let ok = match a["type"].as_str().unwrap_or("any") {
        "string" => x.is_string(),
        "integer" => x.is_i64() || x.is_u64(),
        "number" => x.is_number(),
        "boolean" => x.is_boolean(),
        _ => true,
    };
    if !ok {
        errs.push(format!("{path}: {x} is not {}", a["type"]));
    }
    // class_uid and category_uid carry placeholder enums in the schema
    // sources; the class's own ids are checked by value.
    let placeholder = path.ends_with("class_uid") || path.ends_with("category_uid");
    if let (Some(ids), false) = (a["enum"].as_array(), placeholder)
        && !ids.contains(x)
    {
        errs.push(format!("{path}: {x} is not one of {ids:?}"));
    }
}

#[test]
fn ocsf_events_match_the_schema() {
    let f = Finding::new(rules::CLUSTER_NOT_MAPPED, "not mapped")
        .detail("why")
        .evidence("principal", "arn:aws:iam::111122223333:role/dev")
        .at("aws-auth.yaml", 3)
        .fix(Fix::new("map it").command("aws eks create-access-entry"));
    let key = old_key("alice", "AKIA************MPLE", 400);
    let plain = Finding::new(rules::CREDS_PROBE_DENIED, "denied");
    let list = [
        scoped(&f, Some("us-west-2"), Some("prod")),
        scoped(&key, None, None),
        scoped(&plain, None, None),
    ];
    for e in ocsf::to_events(&list, &ctx()) {
        assert_eq!(ocsf_problems(&e), Vec::<String>::new(), "{e:#}");
    }
}

/// The schema check has teeth.
#[test]
fn the_ocsf_schema_check_catches_mistakes() {
    let f = Finding::new(rules::CLUSTER_NOT_MAPPED, "not mapped");
    let good = ocsf::to_events(&[scoped(&f, Some("us-west-2"), Some("prod"))], &ctx()).remove(0);
    type Breakage = fn(&mut Value);
    let cases: [(&str, Breakage); 6] = [
        ("finding_info.titel", |e| {
            e["finding_info"]["titel"] = json!("x")
        }),
        ("severity_id", |e| e["severity_id"] = json!(7)),
        ("time", |e| e["time"] = json!("yesterday")),
        ("finding_info.uid", |e| {
            e["finding_info"].as_object_mut().unwrap().remove("uid");
        }),
        ("cloud.provider", |e| {
            e["cloud"].as_object_mut().unwrap().remove("provider");
        }),
        ("class_uid", |e| e["class_uid"] = json!(2003)),
    ];
    for (what, break_it) in cases {
        let mut e = good.clone();
        break_it(&mut e);
        let problems = ocsf_problems(&e);
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "{what}: {problems:?}"
        );
    }
}

// ---- properties -------------------------------------------------------------

fn any_severity() -> impl Strategy<Value = Severity> {
    prop_oneof![
        Just(Severity::Info),
        Just(Severity::Warning),
        Just(Severity::Error)
    ]
}

/// Text that may carry the secret somewhere, possibly right at a limit.
fn text() -> impl Strategy<Value = String> {
    (
        "\\PC{0,40}",
        prop::option::of(0usize..1200),
        any::<bool>(),
        "\\PC{0,40}",
    )
        .prop_map(|(a, pad, with_secret, b)| {
            let mut s = a;
            if let Some(n) = pad {
                s.push_str(&"é".repeat(n));
            }
            if with_secret {
                s.push(' ');
                s.push_str(SECRET);
                s.push(' ');
            }
            s.push_str(&b);
            s
        })
}

prop_compose! {
    fn any_finding()(
        rule in 0..rules::CATALOG.len(),
        severity in any_severity(),
        message in text(),
        detail in text(),
        user in prop::option::of("[a-z+=,.@_-]{1,64}"),
        arn in prop::option::of("\\PC{0,80}"),
        ev in prop::option::of(text()),
        loc in prop::option::of(("\\PC{0,300}", 0usize..100_000)),
        fix in prop::option::of((text(), prop::collection::vec(text(), 0..4))),
    ) -> Finding {
        let mut f = Finding::new(rules::CATALOG[rule], message).detail(detail).severity(severity);
        if let Some(u) = user { f = f.evidence("user", u); }
        if let Some(a) = arn { f = f.evidence("arn", a); }
        if let Some(e) = ev { f = f.evidence("error", e.clone()).evidence("workload", e); }
        if let Some((file, line)) = loc { f = f.at(file, line); }
        if let Some((summary, commands)) = fix {
            let mut x = Fix::new(summary);
            for c in commands { x = x.command(c); }
            f = f.fix(x);
        }
        f
    }
}

fn region() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("us-east-1".to_owned()),
        Just("ap-southeast-2".to_owned()),
        Just("cn-northwest-1".to_owned()),
        Just("us-gov-west-1".to_owned()),
        "[a-z0-9-]{1,30}",
    ])
}

fn utf16(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

fn no_secret(text: &str) {
    // No 12-character window of the secret survives anywhere.
    for w in SECRET.as_bytes().windows(12) {
        let w = std::str::from_utf8(w).unwrap();
        assert!(!text.contains(w), "secret fragment {w:?} in output");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn asff_holds_its_limits(
        items in prop::collection::vec((any_finding(), region(), prop::option::of("\\PC{1,300}")), 1..40),
        accounts in prop::collection::vec("[0-9]{12}", 1..4),
    ) {
        let list: Vec<ScopedFinding<'_>> = items
            .iter()
            .enumerate()
            .map(|(i, (f, r, c))| ScopedFinding {
                account_id: &accounts[i % accounts.len()],
                account_name: None,
                region: r.as_deref(),
                cluster: c.as_deref(),
                finding: f,
            })
            .collect();
        let ctx = ctx();
        let json = asff::to_json(&list, &ctx);
        let parsed: Value = serde_json::from_str(&json).expect("valid JSON");
        no_secret(&json);
        let batches = asff::to_batches(&list, &ctx);
        let total: usize = batches.iter().map(|b| b.findings.len()).sum();
        prop_assert_eq!(total, list.len());
        prop_assert_eq!(parsed["batches"].as_array().map(Vec::len), Some(batches.len()));
        let mut ids = std::collections::HashSet::new();
        for b in &batches {
            prop_assert!(!b.findings.is_empty() && b.findings.len() <= asff::MAX_BATCH);
            for f in &b.findings {
                prop_assert!(ids.insert(f.id.clone()), "duplicate id {}", f.id);
                prop_assert_eq!(&f.aws_account_id, &b.account_id);
                let needle = format!(":{}:", b.region);
                prop_assert!(f.product_arn.contains(&needle));
                for (s, max) in [
                    (&f.id, asff::ID_MAX),
                    (&f.generator_id, asff::ID_MAX),
                    (&f.title, asff::TITLE_MAX),
                    (&f.description, asff::DESCRIPTION_MAX),
                    (&f.remediation.recommendation.text, asff::RECOMMENDATION_MAX),
                ] {
                    prop_assert!(utf16(s) <= max, "{} over {}", s, max);
                    prop_assert!(!s.trim().is_empty());
                }
                for v in f.product_fields.values() {
                    prop_assert!(utf16(v) <= asff::PRODUCT_FIELD_MAX);
                }
                prop_assert!(!f.resources.is_empty() && f.resources.len() <= asff::MAX_RESOURCES);
                for r in &f.resources {
                    prop_assert!(!r.id.trim().is_empty());
                    if let Some(reg) = &r.region {
                        prop_assert!(reg.len() <= asff::RESOURCE_REGION_MAX);
                    }
                }
                // Security Hub refuses findings over 240 KB.
                prop_assert!(serde_json::to_string(f).unwrap().len() < 240 * 1024);
            }
        }
    }

    #[test]
    fn ocsf_events_are_complete(
        items in prop::collection::vec((any_finding(), region(), prop::option::of("\\PC{1,40}")), 1..20),
    ) {
        let list: Vec<ScopedFinding<'_>> = items
            .iter()
            .map(|(f, r, c)| ScopedFinding {
                account_id: "111122223333",
                account_name: Some("a"),
                region: r.as_deref(),
                cluster: c.as_deref(),
                finding: f,
            })
            .collect();
        let json = ocsf::to_json(&list, &ctx());
        no_secret(&json);
        let events: Vec<Value> = serde_json::from_str(&json).expect("valid JSON");
        prop_assert_eq!(events.len(), list.len());
        for e in &events {
            for path in [
                "/activity_id", "/category_uid", "/class_uid", "/type_uid", "/severity_id",
                "/time", "/metadata/version", "/metadata/product/vendor_name",
                "/finding_info/uid", "/finding_info/title", "/cloud/provider",
                "/remediation/desc", "/finding_info/analytic/type_id",
            ] {
                prop_assert!(e.pointer(path).is_some_and(|v| !v.is_null()), "{} missing", path);
            }
            prop_assert_eq!(
                e["type_uid"].as_u64(),
                Some(e["class_uid"].as_u64().unwrap() * 100 + e["activity_id"].as_u64().unwrap())
            );
            prop_assert!([1, 3, 4, 5].contains(&e["severity_id"].as_u64().unwrap()));
            prop_assert!(!e["resources"].as_array().unwrap().is_empty());
            let problems = ocsf_problems(e);
            prop_assert!(problems.is_empty(), "{:?}", problems);
        }
    }
}

// ---- --previous: first seen kept, fixed findings closed ----------------------

use super::previous::{Previous, PreviousFormat};

fn ctx_at(when: &str) -> ExportContext<'static> {
    let mut c = ctx();
    c.now = when.parse().unwrap();
    c
}

const T1: &str = "2026-03-01T12:00:00Z";
const T2: &str = "2026-03-02T12:00:00Z";
const T3: &str = "2026-03-03T12:00:00Z";

/// A cluster finding in us-west-2 and an account-wide key finding.
fn two_findings() -> (Finding, Finding) {
    (
        Finding::new(rules::CLUSTER_NOT_MAPPED, "dev is not mapped in prod")
            .evidence("cluster", "prod")
            .evidence("principal", "arn:aws:iam::111122223333:role/dev"),
        old_key("alice", "AKIA************MPLE", 400),
    )
}

fn asff_findings(json: &str) -> Vec<(String, String, Value)> {
    let v: Value = serde_json::from_str(json).unwrap();
    v["batches"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| {
            let region = b["region"].as_str().unwrap().to_owned();
            b["findings"].as_array().unwrap().iter().map(move |f| {
                (
                    f["Id"].as_str().unwrap().to_owned(),
                    region.clone(),
                    f.clone(),
                )
            })
        })
        .collect()
}

#[test]
fn previous_reports_are_told_apart_by_shape_and_bad_ones_say_why() {
    let (a, _) = two_findings();
    let list = [scoped(&a, Some("us-west-2"), Some("prod"))];
    let asff_out = asff::to_json(&list, &ctx());
    let ocsf_out = ocsf::to_json(&list, &ctx());
    let json_ok = r#"{"findings": [{"id": "eksdoctor/1/global/-/keys/old/ab", "first_seen": "2026-03-01T12:00:00Z", "rule": "keys/old"}], "summary": {}}"#;
    // (input, the format it is, or words of the error)
    let cases: &[(&str, Result<PreviousFormat, &str>)] = &[
        (&asff_out, Ok(PreviousFormat::Asff)),
        (&ocsf_out, Ok(PreviousFormat::Ocsf)),
        (json_ok, Ok(PreviousFormat::Json)),
        (
            r#"{"findings": [], "summary": {}}"#,
            Ok(PreviousFormat::Json),
        ),
        ("[]", Ok(PreviousFormat::Ocsf)),
        (r#"{"batches": []}"#, Ok(PreviousFormat::Asff)),
        ("", Err("not JSON")),
        ("not json", Err("not JSON")),
        ("42", Err("not an eksdoctor report")),
        (r#"{"foo": 1}"#, Err("not an eksdoctor report")),
        (
            r#"{"error": {"kind": "live", "message": "x", "exit_code": 3}}"#,
            Err("error object of a failed run"),
        ),
        (
            r#"{"findings": [{"rule": "keys/old", "message": "m"}], "summary": {}}"#,
            Err("has no id"),
        ),
        (
            r#"{"findings": [{"id": "x", "first_seen": "yesterday"}]}"#,
            Err("not an RFC 3339 time"),
        ),
        (
            r#"{"findings": [{"id": "x", "first_seen": "2026-03-01T12:00:00Z"}, {"id": "x", "first_seen": "2026-03-01T12:00:00Z"}]}"#,
            Err("there twice"),
        ),
        (r#"[{"class_uid": 2003}]"#, Err("not a Detection Finding")),
        (
            r#"[{"class_uid": 2004, "finding_info": {}}]"#,
            Err("no finding_info.uid"),
        ),
        (
            r#"[{"class_uid": 2004, "finding_info": {"uid": "x", "created_time": "soon"}}]"#,
            Err("epoch milliseconds"),
        ),
        (
            r#"{"batches": [{"findings": []}]}"#,
            Err("lacks its account_id or region"),
        ),
        (
            r#"{"batches": [{"account_id": "1", "region": "r", "findings": [{"Id": "x"}]}]}"#,
            Err("no CreatedAt"),
        ),
        (r#"{"batches": 3}"#, Err("batches is not an array")),
    ];
    for (input, want) in cases {
        match (Previous::parse(input), want) {
            (Ok(p), Ok(f)) => assert_eq!(p.format, *f, "{input}"),
            (Err(e), Err(words)) => assert!(e.0.contains(words), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn asff_keeps_first_seen_and_archives_what_is_gone() {
    let (a, b) = two_findings();
    let both = [
        scoped(&a, Some("us-west-2"), Some("prod")),
        scoped(&b, None, None),
    ];
    let run1 = asff::to_json(&both, &ctx_at(T1));
    let prev1 = Previous::parse(&run1).unwrap();
    assert_eq!(prev1.findings.len(), 2);

    // Run 2: the key was rotated; the mapping is still missing.
    let run2 = asff::to_json_tracked(&both[..1], &ctx_at(T2), Some(&prev1));
    let got = asff_findings(&run2);
    assert_eq!(got.len(), 2, "{run2}");
    // Batches in (account, region) order: eu-west-1 (home) first.
    let (id_a, region_a, still) = &got[1];
    assert_eq!(id_a, &stable_id(&both[0]));
    assert_eq!(region_a, "us-west-2");
    assert_eq!(still["RecordState"], "ACTIVE");
    assert_eq!(still["CreatedAt"], T1);
    assert_eq!(still["FirstObservedAt"], T1);
    assert_eq!(still["UpdatedAt"], T2);
    assert_eq!(still["LastObservedAt"], T2);
    assert!(still.get("Workflow").is_none());
    let (id_b, region_b, gone) = &got[0];
    assert_eq!(
        id_b,
        &stable_id(&both[1]),
        "the same Id closes the same finding"
    );
    assert_eq!(
        region_b, "eu-west-1",
        "closed in the batch it was imported in"
    );
    assert_eq!(gone["RecordState"], "ARCHIVED");
    assert_eq!(gone["Workflow"], json!({"Status": "RESOLVED"}));
    assert_eq!(gone["CreatedAt"], T1);
    assert_eq!(gone["FirstObservedAt"], T1);
    assert_eq!(gone["LastObservedAt"], T1, "last seen in run 1");
    assert_eq!(gone["UpdatedAt"], T2);
    assert_eq!(
        gone["Title"],
        "alice's key AKIA************MPLE is 400 days old"
    );

    // Run 3 from run 2's file: the closed key is forgotten; the mapping is
    // fixed now and closed with its first-seen time of run 1.
    let prev2 = Previous::parse(&run2).unwrap();
    assert_eq!(
        prev2.findings.len(),
        1,
        "an archived finding is not carried"
    );
    let run3 = asff::to_json_tracked(&[], &ctx_at(T3), Some(&prev2));
    let got = asff_findings(&run3);
    assert_eq!(got.len(), 1, "{run3}");
    assert_eq!(got[0].0, *id_a);
    assert_eq!(got[0].2["RecordState"], "ARCHIVED");
    assert_eq!(got[0].2["FirstObservedAt"], T1);
    assert_eq!(got[0].2["LastObservedAt"], T2);
    assert_eq!(got[0].2["UpdatedAt"], T3);
    // Nothing open, nothing more to close.
    let run4 = asff::to_json_tracked(&[], &ctx_at(T3), Some(&Previous::parse(&run3).unwrap()));
    assert_eq!(run4, "{\n  \"batches\": []\n}\n");
}

#[test]
fn without_previous_the_output_is_unchanged() {
    let (a, b) = two_findings();
    let both = [
        scoped(&a, Some("us-west-2"), Some("prod")),
        scoped(&b, None, None),
    ];
    let empty = Previous::parse(r#"{"batches": []}"#).unwrap();
    assert_eq!(
        asff::to_json(&both, &ctx()),
        asff::to_json_tracked(&both, &ctx(), Some(&empty))
    );
    let empty = Previous::parse("[]").unwrap();
    assert_eq!(
        ocsf::to_json(&both, &ctx()),
        ocsf::to_json_tracked(&both, &ctx(), Some(&empty))
    );
}

#[test]
fn ocsf_updates_what_stays_and_closes_what_is_gone() {
    let (a, b) = two_findings();
    let both = [
        scoped(&a, Some("us-west-2"), Some("prod")),
        scoped(&b, None, None),
    ];
    let t1: jiff::Timestamp = T1.parse().unwrap();
    let t2: jiff::Timestamp = T2.parse().unwrap();
    let run1 = ocsf::to_json(&both, &ctx_at(T1));
    let prev = Previous::parse(&run1).unwrap();
    let run2 = ocsf::to_events_tracked(&both[..1], &ctx_at(T2), Some(&prev));
    assert_eq!(run2.len(), 2);
    let (still, gone) = (&run2[0], &run2[1]);
    assert_eq!(still["activity_id"], 2);
    assert_eq!(still["type_uid"], 200_402);
    assert_eq!(still["status_id"], 1);
    assert_eq!(
        still["finding_info"]["first_seen_time"],
        t1.as_millisecond()
    );
    assert_eq!(still["finding_info"]["created_time"], t1.as_millisecond());
    assert_eq!(still["finding_info"]["last_seen_time"], t2.as_millisecond());
    assert_eq!(still["time"], t2.as_millisecond());
    assert_eq!(gone["finding_info"]["uid"], stable_id(&both[1]).as_str());
    assert_eq!(gone["activity_id"], 3);
    assert_eq!(gone["activity_name"], "Close");
    assert_eq!(gone["type_uid"], 200_403);
    assert_eq!(gone["status_id"], 4);
    assert_eq!(gone["status"], "Resolved");
    assert_eq!(gone["time"], t2.as_millisecond());
    assert_eq!(gone["finding_info"]["first_seen_time"], t1.as_millisecond());
    assert_eq!(gone["finding_info"]["last_seen_time"], t1.as_millisecond());
    for e in &run2 {
        assert_eq!(ocsf_problems(e), Vec::<String>::new(), "{e}");
    }
    // The closed event is not carried into the next run.
    let text = serde_json::to_string(&run2).unwrap();
    let prev2 = Previous::parse(&text).unwrap();
    assert_eq!(prev2.findings.len(), 1);
    assert!(ocsf::to_events_tracked(&both[..1], &ctx_at(T3), Some(&prev2)).len() == 1);
}

#[test]
fn ids_do_not_depend_on_order_or_time() {
    let (a, b) = two_findings();
    let c = old_key("bob", "AKIA************BOB1", 10);
    let fwd = [
        scoped(&a, Some("us-west-2"), Some("prod")),
        scoped(&b, None, None),
        scoped(&c, None, None),
    ];
    let rev = [fwd[2], fwd[1], fwd[0]];
    let mut x = unique_ids(&fwd);
    let mut y = unique_ids(&rev);
    x.sort();
    y.sort();
    assert_eq!(x, y);
    // Another run's time: the same ids.
    let ids = |json: &str| {
        asff_findings(json)
            .into_iter()
            .map(|f| f.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&asff::to_json(&fwd, &ctx_at(T1))),
        ids(&asff::to_json(&fwd, &ctx_at(T3)))
    );
}

#[test]
fn an_account_not_checked_this_run_keeps_its_findings_open() {
    let (a, b) = two_findings();
    let mine = scoped(&a, Some("us-west-2"), Some("prod"));
    let other = ScopedFinding {
        account_id: "444455556666",
        ..scoped(&b, None, None)
    };
    let run1 = asff::to_json(&[mine, other], &ctx_at(T1));
    let mut prev = Previous::parse(&run1).unwrap();
    prev.hold_account("444455556666");
    // Run 2 reached neither finding; only the checked account's is fixed.
    let got = asff_findings(&asff::to_json_tracked(&[], &ctx_at(T2), Some(&prev)));
    let state = |id: &str| {
        let f = &got.iter().find(|f| f.0 == id).unwrap().2;
        (f["RecordState"].clone(), f["UpdatedAt"].clone())
    };
    assert_eq!(got.len(), 2);
    assert_eq!(state(&stable_id(&mine)), (json!("ARCHIVED"), json!(T2)));
    assert_eq!(
        state(&stable_id(&other)),
        (json!("ACTIVE"), json!(T1)),
        "held as it was"
    );
    // OCSF the same way.
    let mut prev = Previous::parse(&ocsf::to_json(&[mine, other], &ctx_at(T1))).unwrap();
    prev.hold_account("444455556666");
    let events = ocsf::to_events_tracked(&[], &ctx_at(T2), Some(&prev));
    let status: Vec<(&str, u64)> = events
        .iter()
        .map(|e| {
            (
                e["cloud"]["account"]["uid"].as_str().unwrap(),
                e["status_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(status, [("111122223333", 4), ("444455556666", 1)]);
    // The JSON report's held list is read back as open.
    let json = r#"{"findings": [], "held": [{"id": "eksdoctor/444455556666/global/-/keys/old/ab", "first_seen": "2026-03-01T12:00:00Z"}]}"#;
    assert_eq!(Previous::parse(json).unwrap().findings.len(), 1);
}
