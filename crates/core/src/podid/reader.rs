//! Reading what operators save for Pod Identity: `aws eks
//! list-pod-identity-associations` / `describe-pod-identity-association`
//! output, `aws eks describe-addon` / `list-addons` output, and the compute
//! hints of workload manifests (Windows node selectors, Fargate markers) that
//! the shared manifest reader does not keep.

use saphyr::{MarkedYaml, Scalar, YamlData};

use crate::k8s::reader::{get, get_path, load, untag};
use serde_json::Value;

/// Input that is not what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// One Pod Identity association, from list (no role) or describe output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Association {
    pub association_id: Option<String>,
    pub association_arn: Option<String>,
    pub cluster_name: Option<String>,
    pub namespace: String,
    pub service_account: String,
    /// `roleArn`: only describe-pod-identity-association gives it.
    pub role_arn: Option<String>,
    /// `targetRoleArn`: the role chained to (cross-account Pod Identity).
    pub target_role_arn: Option<String>,
    /// `externalId` EKS uses when it assumes the target role.
    pub external_id: Option<String>,
    pub disable_session_tags: bool,
}

impl Association {
    /// The cluster's ARN, derived from the association ARN
    /// (`arn:aws:eks:REGION:ACCT:podidentityassociation/CLUSTER/ID`).
    #[must_use]
    pub fn cluster_arn(&self) -> Option<String> {
        let arn = self.association_arn.as_deref()?;
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, partition, _, region, account, resource] = parts.as_slice() else {
            return None;
        };
        let cluster = resource
            .strip_prefix("podidentityassociation/")?
            .split('/')
            .next()?;
        Some(format!(
            "arn:{partition}:eks:{region}:{account}:cluster/{cluster}"
        ))
    }

    /// `namespace/serviceAccount`.
    #[must_use]
    pub fn subject(&self) -> String {
        format!("{}/{}", self.namespace, self.service_account)
    }

    /// Merge what another record of the same association knows.
    fn merge(&mut self, other: Self) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        fill!(
            association_id,
            association_arn,
            cluster_name,
            role_arn,
            target_role_arn,
            external_id
        );
        self.disable_session_tags |= other.disable_session_tags;
    }
}

fn parse_json(text: &str, what: &str) -> Result<Value, ReadError> {
    let t = text.trim_start_matches('\u{feff}').trim();
    serde_json::from_str(t).map_err(|e| {
        ReadError(format!(
            "not JSON (line {} column {}): {e}; expected saved `aws eks {what} --output json`",
            e.line(),
            e.column()
        ))
    })
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn one_association(v: &Value) -> Result<Association, ReadError> {
    if !v.is_object() {
        return Err(ReadError(
            "an association must be an object with namespace and serviceAccount".to_owned(),
        ));
    }
    let need = |k: &str| {
        string(v, k).ok_or_else(|| {
            ReadError(format!(
                "an association has no {k:?} (expected list-pod-identity-associations or describe-pod-identity-association output)"
            ))
        })
    };
    Ok(Association {
        association_id: string(v, "associationId"),
        association_arn: string(v, "associationArn"),
        cluster_name: string(v, "clusterName"),
        namespace: need("namespace")?,
        service_account: need("serviceAccount")?,
        role_arn: string(v, "roleArn"),
        target_role_arn: string(v, "targetRoleArn"),
        external_id: string(v, "externalId"),
        disable_session_tags: v
            .get("disableSessionTags")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Associations in saved `list-pod-identity-associations`
/// (`{"associations": [...]}`) or `describe-pod-identity-association`
/// (`{"association": {...}}`) output, or a JSON list of either. Records of
/// one association (same id, or same namespace and service account) merge.
///
/// # Errors
/// Not JSON, or not one of those shapes.
pub fn read_associations(text: &str) -> Result<Vec<Association>, ReadError> {
    let v = parse_json(text, "list-pod-identity-associations")?;
    let mut out = Vec::new();
    collect_associations(&v, &mut out, 0)?;
    Ok(out)
}

fn collect_associations(
    v: &Value,
    out: &mut Vec<Association>,
    depth: usize,
) -> Result<(), ReadError> {
    if depth > 2 {
        return Err(ReadError("associations nested too deeply".to_owned()));
    }
    match v {
        Value::Array(items) => {
            for i in items {
                collect_associations(i, out, depth + 1)?;
            }
        }
        Value::Object(m) if m.contains_key("associations") => match &m["associations"] {
            Value::Array(items) => {
                for i in items {
                    add(out, one_association(i)?);
                }
            }
            _ => return Err(ReadError("\"associations\" must be a list".to_owned())),
        },
        Value::Object(m) if m.contains_key("association") => {
            add(out, one_association(&m["association"])?);
        }
        Value::Object(m) if m.contains_key("namespace") => add(out, one_association(v)?),
        _ => {
            return Err(ReadError(
                "expected {\"associations\": [...]} (list-pod-identity-associations) or {\"association\": {...}} (describe-pod-identity-association)".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Add, merging with an earlier record of the same association.
pub fn add(out: &mut Vec<Association>, a: Association) {
    let same = out
        .iter_mut()
        .find(|b| match (&a.association_id, &b.association_id) {
            (Some(x), Some(y)) => x == y,
            _ => a.namespace == b.namespace && a.service_account == b.service_account,
        });
    match same {
        Some(b) => b.merge(a),
        None => out.push(a),
    }
}

/// What saved add-on output says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addons {
    /// Names from `list-addons`.
    pub listed: Vec<String>,
    /// `(name, status, version)` from `describe-addon`.
    pub described: Vec<(String, String, Option<String>)>,
}

impl Addons {
    /// Add another file's content.
    pub fn extend(&mut self, other: Self) {
        self.listed.extend(other.listed);
        self.described.extend(other.described);
    }

    /// Whether anything was read at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.described.is_empty()
    }
}

/// `describe-addon` (`{"addon": {"addonName", "status", ...}}`) or
/// `list-addons` (`{"addons": ["vpc-cni", ...]}`) output.
///
/// # Errors
/// Not JSON, or neither shape.
pub fn read_addons(text: &str) -> Result<Addons, ReadError> {
    let v = parse_json(text, "describe-addon")?;
    let mut out = Addons::default();
    if let Some(a) = v.get("addon") {
        let name = string(a, "addonName")
            .ok_or_else(|| ReadError("\"addon\" has no addonName".to_owned()))?;
        let status = string(a, "status").unwrap_or_else(|| "UNKNOWN".to_owned());
        out.described
            .push((name, status, string(a, "addonVersion")));
    } else if let Some(list) = v.get("addons").and_then(Value::as_array) {
        for n in list {
            let name = n
                .as_str()
                .map(str::to_owned)
                .or_else(|| string(n, "addonName"))
                .ok_or_else(|| {
                    ReadError("\"addons\" must list add-on names (list-addons output)".to_owned())
                })?;
            out.listed.push(name);
        }
    } else {
        return Err(ReadError(
            "expected {\"addon\": {...}} (describe-addon) or {\"addons\": [...]} (list-addons)"
                .to_owned(),
        ));
    }
    Ok(out)
}

/// Where a workload's pods run, as far as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeHint {
    /// `Deployment/web`.
    pub workload: String,
    pub namespace: Option<String>,
    pub service_account: String,
    /// Why the pods run on Windows nodes (`nodeSelector kubernetes.io/os: windows`).
    pub windows: Option<String>,
    /// Why the pods run on Fargate (label, scheduler or node name).
    pub fargate: Option<String>,
    /// An `eks-pod-identity-agent` DaemonSet (self-managed agent).
    pub agent_daemonset: bool,
    pub line: usize,
}

const MAX_LIST_DEPTH: usize = 4;
const POD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// The compute hints of every workload in a manifest file.
///
/// # Errors
/// YAML that does not parse (line and column).
pub fn read_compute(text: &str) -> Result<Vec<ComputeHint>, ReadError> {
    let docs = load(text).map_err(|e| {
        ReadError(format!(
            "line {} column {}: {}",
            e.line, e.column, e.message
        ))
    })?;
    let mut out = Vec::new();
    for d in &docs {
        compute_of(d, &mut out, 0);
    }
    Ok(out)
}

fn text(node: Option<&MarkedYaml<'_>>) -> Option<String> {
    match &untag(node?).data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

fn compute_of(doc: &MarkedYaml<'_>, out: &mut Vec<ComputeHint>, depth: usize) {
    let doc = untag(doc);
    if !doc.data.is_mapping() {
        return;
    }
    let Some(kind) = text(get(doc, "kind")) else {
        return;
    };
    if kind.ends_with("List") {
        if depth < MAX_LIST_DEPTH
            && let Some(items) = get(doc, "items").and_then(|i| untag(i).data.as_vec())
        {
            for i in items {
                compute_of(i, out, depth + 1);
            }
        }
        return;
    }
    if !POD_KINDS.contains(&kind.as_str()) {
        return;
    }
    let (pod_path, tmpl_path): (&[&str], &[&str]) = match kind.as_str() {
        "Pod" => (&["spec"], &["metadata"]),
        "CronJob" => (
            &["spec", "jobTemplate", "spec", "template", "spec"],
            &["spec", "jobTemplate", "spec", "template", "metadata"],
        ),
        _ => (
            &["spec", "template", "spec"],
            &["spec", "template", "metadata"],
        ),
    };
    let pod = get_path(doc, pod_path);
    let name = text(get_path(doc, &["metadata", "name"])).unwrap_or_default();
    let service_account = pod
        .and_then(|p| text(get(p, "serviceAccountName")).or_else(|| text(get(p, "serviceAccount"))))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let selector = |key: &str| pod.and_then(|p| text(get_path(p, &["nodeSelector", key])));
    let windows = ["kubernetes.io/os", "beta.kubernetes.io/os"]
        .iter()
        .find_map(|k| {
            selector(k)
                .filter(|v| v.eq_ignore_ascii_case("windows"))
                .map(|v| format!("nodeSelector {k}: {v}"))
        });
    let label =
        |key: &str| text(get_path(doc, tmpl_path).and_then(|m| get_path(m, &["labels", key])));
    let fargate = if let Some(p) = label("eks.amazonaws.com/fargate-profile") {
        Some(format!("label eks.amazonaws.com/fargate-profile: {p}"))
    } else if let Some(s) = pod
        .and_then(|p| text(get(p, "schedulerName")))
        .filter(|s| s == "fargate-scheduler")
    {
        Some(format!("schedulerName: {s}"))
    } else if let Some(n) = pod
        .and_then(|p| text(get(p, "nodeName")))
        .filter(|n| n.starts_with("fargate-"))
    {
        Some(format!("nodeName: {n}"))
    } else {
        selector("eks.amazonaws.com/compute-type")
            .filter(|v| v == "fargate")
            .map(|v| format!("nodeSelector eks.amazonaws.com/compute-type: {v}"))
    };
    out.push(ComputeHint {
        workload: format!("{kind}/{name}"),
        namespace: text(get_path(doc, &["metadata", "namespace"])).filter(|s| !s.is_empty()),
        service_account,
        windows,
        fargate,
        agent_daemonset: kind == "DaemonSet" && name == super::AGENT_ADDON,
        line: doc.span.start.line().max(1),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn list_and_describe_merge() {
        let list = r#"{"associations": [
          {"clusterName": "prod", "namespace": "app", "serviceAccount": "web",
           "associationArn": "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-abc",
           "associationId": "a-abc"},
          {"clusterName": "prod", "namespace": "app", "serviceAccount": "jobs", "associationId": "a-def"}]}"#;
        let mut all = read_associations(list).unwrap();
        let describe = r#"{"association": {"clusterName": "prod", "namespace": "app",
          "serviceAccount": "web", "roleArn": "arn:aws:iam::111122223333:role/web",
          "associationId": "a-abc", "targetRoleArn": "arn:aws:iam::444455556666:role/reader",
          "externalId": "x-1", "disableSessionTags": false}}"#;
        for a in read_associations(describe).unwrap() {
            add(&mut all, a);
        }
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0].role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/web")
        );
        assert_eq!(all[0].external_id.as_deref(), Some("x-1"));
        assert_eq!(
            all[0].cluster_arn().as_deref(),
            Some("arn:aws:eks:us-west-2:111122223333:cluster/prod")
        );
        assert_eq!(all[1].role_arn, None);
        assert_eq!(all[1].subject(), "app/jobs");
    }

    #[test]
    fn bad_association_input_is_a_plain_error() {
        for bad in [
            "",
            "{",
            "[]x",
            "{\"associations\": 3}",
            "{\"associations\": [{\"namespace\": \"a\"}]}",
            "{\"foo\": 1}",
            "[[[[{\"namespace\": \"a\"}]]]]",
        ] {
            let e = read_associations(bad).unwrap_err();
            assert!(!e.0.is_empty(), "{bad}");
        }
        assert!(read_associations("[]").unwrap().is_empty());
    }

    #[test]
    fn addons() {
        let d = read_addons(r#"{"addon": {"addonName": "eks-pod-identity-agent", "status": "DEGRADED", "addonVersion": "v1.3.4-eksbuild.1"}}"#).unwrap();
        assert_eq!(d.described[0].1, "DEGRADED");
        let l = read_addons(r#"{"addons": ["vpc-cni", "coredns"]}"#).unwrap();
        assert_eq!(l.listed, ["vpc-cni", "coredns"]);
        assert!(read_addons(r#"{"addons": [1]}"#).is_err());
        assert!(read_addons("{}").is_err());
    }

    #[test]
    fn compute_hints() {
        let y = r"
apiVersion: apps/v1
kind: Deployment
metadata: {name: win, namespace: app}
spec:
  template:
    spec:
      serviceAccountName: web
      nodeSelector:
        kubernetes.io/os: windows
---
apiVersion: v1
kind: Pod
metadata:
  name: fg
  labels:
    eks.amazonaws.com/fargate-profile: default
spec:
  containers: [{name: c}]
---
kind: DaemonSet
metadata: {name: eks-pod-identity-agent, namespace: kube-system}
spec: {template: {spec: {}}}
---
kind: ConfigMap
metadata: {name: x}
";
        let h = read_compute(y).unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].workload, "Deployment/win");
        assert!(h[0].windows.is_some() && h[0].fargate.is_none());
        assert_eq!(h[0].service_account, "web");
        assert!(h[1].fargate.as_deref().unwrap().contains("fargate-profile"));
        assert_eq!(h[1].service_account, "default");
        assert!(h[2].agent_daemonset);
        assert!(read_compute("kind: Pod\nspec: [unclosed\n").is_err());
        assert!(read_compute("%").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { timeout: 2000, ..ProptestConfig::default() })]
        #[test]
        fn readers_never_panic(s in "\\PC{0,200}") {
            let _ = read_associations(&s);
            let _ = read_addons(&s);
            let _ = read_compute(&s);
        }

        #[test]
        fn jsonish_never_panics(s in "[\\[\\]{}\":,a-zA-Z0-9 ]{0,120}") {
            let _ = read_associations(&s);
            let _ = read_associations(&format!("{{\"associations\": [{s}]}}"));
            let _ = read_addons(&format!("{{\"addon\": {s}}}"));
        }

        #[test]
        fn associations_round_trip(ns in "[a-z][a-z0-9-]{0,20}", sa in "[a-z][a-z0-9-]{0,20}", id in "a-[a-z0-9]{4,10}") {
            let j = serde_json::json!({"associations": [{"namespace": ns, "serviceAccount": sa, "associationId": id}]});
            let a = read_associations(&j.to_string()).unwrap();
            prop_assert_eq!(a.len(), 1);
            prop_assert_eq!(&a[0].namespace, &ns);
            prop_assert_eq!(&a[0].service_account, &sa);
        }
    }
}
