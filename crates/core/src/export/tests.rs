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
