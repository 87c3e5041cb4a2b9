//! docs/deploy/: the CloudFormation templates and the Kubernetes manifests
//! operators apply as they are, so they are checked like code.
//!
//! * The StackSet's permission policy and docs/eksdoctor-readonly-policy.json
//!   are the probe allowlist (crates/aws/src/guard.rs): a drift fails here.
//! * The manifests deserialize into k8s-openapi's types (the Kubernetes
//!   OpenAPI schema, v1.33) and serialize back to exactly what was written,
//!   so an unknown or misspelt field fails too (serde alone ignores them).
//! * The templates pass cfn-lint when it is installed (`cargo xtask setup`
//!   puts it in .venv-cfnlint); without it that test says so and skips, and
//!   the structural checks here still run.
//! * The pieces agree: role names, namespace, service account.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(workspace().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml_docs(rel: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&read(rel))
        .unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn yaml(rel: &str) -> Value {
    let mut docs = yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel}: one document");
    docs.remove(0)
}

const STACKSET: &str = "docs/deploy/eksdoctor-readonly-stackset.yaml";
const RUNNER: &str = "docs/deploy/eksdoctor-runner-role.yaml";
const TEMPLATES: [&str; 2] = [STACKSET, RUNNER];
const MANIFESTS: [&str; 4] = [
    "docs/deploy/kubernetes/cronjob.yaml",
    "docs/deploy/kubernetes/serviceaccount-irsa.yaml",
    "docs/deploy/kubernetes/serviceaccount-pod-identity.yaml",
    "docs/eksdoctor-readonly-clusterrole.yaml",
];

// ---- the policy never drifts from the allowlist -------------------------

/// Allowlisted actions only the runner calls, in its own account (listing
/// the organization, assuming the member roles): the member role leaves
/// them out. The same list as `RUNNER_ONLY` in xtask/src/deploy.rs.
const RUNNER_ONLY: &[&str] = &["organizations:*", "sts:AssumeRole"];

fn member_policy(mut p: Value) -> Value {
    let runner_only = |a: &str| {
        RUNNER_ONLY.iter().any(|r| match r.strip_suffix('*') {
            Some(prefix) => a.starts_with(prefix),
            None => a == *r,
        })
    };
    let statements = p["Statement"].as_array_mut().unwrap();
    for s in statements.iter_mut() {
        if let Some(actions) = s["Action"].as_array_mut() {
            actions.retain(|a| !a.as_str().is_some_and(runner_only));
        }
    }
    statements.retain(|s| s["Action"].as_array().is_none_or(|a| !a.is_empty()));
    p
}

#[test]
fn stackset_policy_is_the_probe_allowlist() {
    let allowlist = eksdoctor_aws::guard::readonly_policy();
    let t = yaml(STACKSET);
    let policies = &t["Resources"]["ReadOnlyRole"]["Properties"]["Policies"];
    assert_eq!(
        policies[0]["PolicyDocument"],
        member_policy(allowlist.clone()),
        "{STACKSET} does not grant exactly the probe allowlist (less the runner's own \
         actions): run `cargo xtask deploy-policy`"
    );
    let granted = policies[0]["PolicyDocument"].to_string();
    for action in ["sts:AssumeRole\"", "organizations:"] {
        assert!(
            !granted.contains(action),
            "the member role may not {action}"
        );
    }
    let shipped: Value =
        serde_json::from_str(&read("docs/eksdoctor-readonly-policy.json")).unwrap();
    assert_eq!(
        shipped, allowlist,
        "docs/eksdoctor-readonly-policy.json is stale: run `cargo xtask deploy-policy`"
    );
}

// ---- CloudFormation -----------------------------------------------------

const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Every `Ref`, `${X}` in `Fn::Sub`, `Fn::GetAtt` and `Condition` names
/// something the template defines.
fn check_references(name: &str, t: &Value) {
    let keys = |section: &str| -> Vec<String> {
        t[section]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let params = keys("Parameters");
    let resources = keys("Resources");
    let conditions = keys("Conditions");
    let known = |r: &str| {
        params.iter().any(|p| p == r) || resources.iter().any(|p| p == r) || PSEUDO.contains(&r)
    };
    let mut bad = Vec::new();
    fn walk(v: &Value, f: &mut dyn FnMut(&str, &Value)) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    f(k, x);
                    walk(x, f);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    walk(t, &mut |k, v| match (k, v) {
        ("Ref", Value::String(r)) if !known(r) => bad.push(format!("Ref {r}")),
        ("Fn::Sub", v) => {
            let s = v.as_str().or_else(|| v[0].as_str()).unwrap_or_default();
            for part in s.split("${").skip(1) {
                let var = part.split('}').next().unwrap_or_default();
                if !var.starts_with('!') && !known(var) {
                    bad.push(format!("${{{var}}}"));
                }
            }
        }
        ("Fn::GetAtt", Value::Array(a)) => {
            let r = a[0].as_str().unwrap_or_default();
            if !resources.iter().any(|x| x == r) {
                bad.push(format!("GetAtt {r}"));
            }
        }
        ("Condition", Value::String(c)) if !conditions.iter().any(|x| x == c) => {
            bad.push(format!("Condition {c}"));
        }
        ("Fn::If", Value::Array(a)) => {
            let c = a[0].as_str().unwrap_or_default();
            if !conditions.iter().any(|x| x == c) {
                bad.push(format!("Fn::If {c}"));
            }
        }
        _ => {}
    });
    assert!(bad.is_empty(), "{name}: undefined {bad:?}");
}

#[test]
fn templates_are_well_formed() {
    for name in TEMPLATES {
        let t = yaml(name);
        assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09", "{name}");
        let resources = t["Resources"].as_object().unwrap();
        assert!(!resources.is_empty(), "{name}");
        for (id, r) in resources {
            let ty = r["Type"].as_str().unwrap_or_default();
            assert!(ty.starts_with("AWS::"), "{name}: {id} has type {ty:?}");
            assert!(
                r["Properties"].is_object(),
                "{name}: {id} has no Properties"
            );
        }
        for (p, def) in t["Parameters"].as_object().unwrap() {
            assert!(def["Type"].is_string(), "{name}: parameter {p} has no Type");
        }
        check_references(name, &t);
    }
}

/// A template that references what it never defines is caught.
#[test]
fn the_reference_check_catches_an_undefined_name() {
    let t = serde_json::json!({
        "Parameters": {"A": {"Type": "String"}},
        "Resources": {"R": {"Type": "AWS::IAM::Role",
                            "Properties": {"RoleName": {"Fn::Sub": "${A}-${B}"}}}}
    });
    let caught = std::panic::catch_unwind(|| check_references("t", &t));
    assert!(caught.is_err());
}

fn cfn_lint() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EKSDOCTOR_CFN_LINT") {
        return Some(PathBuf::from(p));
    }
    let venv = workspace().join(".venv-cfnlint/bin/cfn-lint");
    if venv.exists() {
        return Some(venv);
    }
    // On PATH?
    std::process::Command::new("cfn-lint")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("cfn-lint"))
}

#[test]
fn templates_pass_cfn_lint() {
    let Some(lint) = cfn_lint() else {
        eprintln!(
            "SKIPPED templates_pass_cfn_lint: cfn-lint is not installed \
             (`cargo xtask setup` installs it into .venv-cfnlint, or set EKSDOCTOR_CFN_LINT)"
        );
        return;
    };
    let out = std::process::Command::new(&lint)
        .current_dir(workspace())
        .args(TEMPLATES)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", lint.display()));
    assert!(
        out.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- Kubernetes ---------------------------------------------------------

/// Where `written` and `typed` first differ: a member the schema does not
/// have (dropped by the round trip) or one of the wrong type.
fn first_difference(written: &Value, typed: &Value, path: &str) -> Option<String> {
    match (written, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    None => return Some(format!("{p} (not in the schema)")),
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, &p) {
                            return Some(d);
                        }
                    }
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k} (added)"))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]"))),
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: wrote {a}, the schema reads {b}")),
    }
}

fn schema_check<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    match first_difference(doc, &back, "") {
        None => Ok(()),
        Some(d) => Err(d),
    }
}

fn validate(doc: &Value) -> Result<(), String> {
    let api = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    match (api, kind) {
        ("v1", "Namespace") => schema_check::<Namespace>(doc),
        ("v1", "ServiceAccount") => schema_check::<ServiceAccount>(doc),
        ("batch/v1", "CronJob") => schema_check::<CronJob>(doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => schema_check::<ClusterRole>(doc),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            schema_check::<ClusterRoleBinding>(doc)
        }
        _ => Err(format!(
            "no schema here for {api} {kind}: add it to validate()"
        )),
    }
}

#[test]
fn manifests_match_the_kubernetes_schema() {
    for name in MANIFESTS {
        let docs = yaml_docs(name);
        assert!(!docs.is_empty(), "{name}: no documents");
        for doc in docs {
            if let Err(e) = validate(&doc) {
                panic!("{name}: {} {}: {e}", doc["kind"], doc["metadata"]["name"]);
            }
        }
    }
}

/// The check has teeth: a misspelt field, a wrong type, a missing required
/// member and an unknown kind are each caught.
#[test]
fn the_schema_check_catches_mistakes() {
    let cron = yaml_docs("docs/deploy/kubernetes/cronjob.yaml")
        .into_iter()
        .find(|d| d["kind"] == "CronJob")
        .unwrap();
    assert_eq!(validate(&cron), Ok(()));
    let mut typo = cron.clone();
    let spec = typo["spec"].as_object_mut().unwrap();
    let v = spec.remove("concurrencyPolicy").unwrap();
    spec.insert("concurencyPolicy".into(), v);
    assert!(validate(&typo).unwrap_err().contains("concurencyPolicy"));
    let mut wrong = cron.clone();
    wrong["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "two".into();
    assert!(validate(&wrong).is_err());
    let mut missing = cron.clone();
    missing["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("containers");
    assert!(validate(&missing).is_err());
    let mut unknown = cron;
    unknown["kind"] = "CronJobb".into();
    assert!(validate(&unknown).is_err());
}

// ---- the pieces agree ----------------------------------------------------

fn default_of(t: &Value, param: &str) -> String {
    t["Parameters"][param]["Default"]
        .as_str()
        .unwrap_or_else(|| panic!("parameter {param} has no default"))
        .to_owned()
}

#[test]
fn the_pieces_name_each_other_consistently() {
    let docs = yaml_docs("docs/deploy/kubernetes/cronjob.yaml");
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").unwrap();
    let ns = docs.iter().find(|d| d["kind"] == "Namespace").unwrap();
    let job = &cron["spec"]["jobTemplate"]["spec"];
    let pod = &job["template"]["spec"];
    let container = &pod["containers"][0];
    // What the issue asks the job to run.
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[..4], ["check", "--org", "--format", "json"]);
    // podFailurePolicy is only allowed with restartPolicy Never.
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(
        job["podFailurePolicy"]["rules"][0]["onExitCodes"]["containerName"],
        container["name"]
    );
    assert_eq!(cron["metadata"]["namespace"], ns["metadata"]["name"]);

    let runner = yaml(RUNNER);
    let stackset = yaml(STACKSET);
    let namespace = ns["metadata"]["name"].as_str().unwrap();
    let sa_name = pod["serviceAccountName"].as_str().unwrap();
    assert_eq!(default_of(&runner, "Namespace"), namespace);
    assert_eq!(default_of(&runner, "ServiceAccount"), sa_name);
    assert_eq!(
        default_of(&runner, "MemberRoleName"),
        default_of(&stackset, "RoleName")
    );
    assert_eq!(
        default_of(&runner, "RoleName"),
        default_of(&stackset, "TrustedRoleName")
    );

    let irsa = yaml("docs/deploy/kubernetes/serviceaccount-irsa.yaml");
    let podid = yaml("docs/deploy/kubernetes/serviceaccount-pod-identity.yaml");
    for sa in [&irsa, &podid] {
        assert_eq!(sa["metadata"]["name"], sa_name);
        assert_eq!(sa["metadata"]["namespace"], namespace);
    }
    let role_arn = irsa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap();
    assert!(
        role_arn.ends_with(&format!(":role/{}", default_of(&runner, "RoleName"))),
        "{role_arn}"
    );
    // With Pod Identity an IRSA annotation would win over the association.
    assert!(podid["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null());
}

/// The runner template's IRSA trust, with its substitutions made, passes
/// eksdoctor's own `lint irsa` for the CronJob's service account; and a
/// different service account is refused (the check has teeth).
#[test]
fn the_runner_irsa_trust_admits_the_cronjob_and_nothing_else() {
    let runner = yaml(RUNNER);
    let doc = &runner["Resources"]["RunnerRole"]["Properties"]["AssumeRolePolicyDocument"];
    let irsa = doc["Fn::If"][1]["Fn::Sub"].as_str().unwrap();
    let host = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
    let trust = irsa
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", "222233334444")
        .replace("${OidcIssuerHost}", host)
        .replace("${Namespace}", &default_of(&runner, "Namespace"))
        .replace("${ServiceAccount}", &default_of(&runner, "ServiceAccount"));
    assert!(!trust.contains("${"), "{trust}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trust.json");
    std::fs::write(&file, &trust).unwrap();
    let lint = |sa: &str| {
        assert_cmd::Command::cargo_bin("eksdoctor")
            .unwrap()
            .args(["lint", "irsa", "--format", "json", "--role-trust"])
            .arg(&file)
            .args([
                "--service-account",
                sa,
                "--issuer",
                &format!("https://{host}"),
            ])
            .output()
            .unwrap()
    };
    let sa = format!(
        "{}/{}",
        default_of(&runner, "Namespace"),
        default_of(&runner, "ServiceAccount")
    );
    let ok = lint(&sa);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let other = lint("default/other");
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stdout).contains("irsa/trust-mismatch"));
}
