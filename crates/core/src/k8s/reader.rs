//! Reading manifests with `saphyr`'s marked nodes, so every object, annotation
//! and env var keeps its line.

use saphyr::{LoadableYamlNode as _, MarkedYaml, Scalar, YamlData};

use super::{
    Annotation, Container, EnvVar, ManifestError, Manifests, ObjectMeta, ServiceAccount, Workload,
    WorkloadKind,
};

/// `List` nesting deeper than this is not something kubectl prints.
const MAX_LIST_DEPTH: usize = 4;

/// Every object eksdoctor understands in one file's text.
///
/// # Errors
/// YAML that does not parse, with its line and column.
pub fn read_manifests(text: &str) -> Result<Manifests, ManifestError> {
    let docs = load(text)?;
    let mut out = Manifests::default();
    for doc in &docs {
        read_object(doc, &mut out, 0);
    }
    Ok(out)
}

/// Every document of a YAML text as marked nodes (lines kept).
///
/// # Errors
/// YAML that does not parse, with its line and column.
pub(crate) fn load(text: &str) -> Result<Vec<MarkedYaml<'_>>, ManifestError> {
    // saphyr 0.0.12 loops forever on a directive line (`%`, `%YAML`) that
    // ends the input without a newline; a final newline changes nothing else.
    let text: std::borrow::Cow<'_, str> = if text.ends_with('\n') {
        text.into()
    } else {
        format!("{text}\n").into()
    };
    MarkedYaml::load_from_str(&text).map_err(|e| ManifestError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    })
}

/// The node behind any tags (`!!map`, custom tags).
pub(crate) fn untag<'a, 'b>(node: &'a MarkedYaml<'b>) -> &'a MarkedYaml<'b> {
    let mut n = node;
    for _ in 0..8 {
        match &n.data {
            YamlData::Tagged(_, inner) => n = inner,
            _ => break,
        }
    }
    n
}

pub(crate) fn get<'a, 'b>(node: &'a MarkedYaml<'b>, key: &str) -> Option<&'a MarkedYaml<'b>> {
    untag(node).data.as_mapping_get(key).map(untag)
}

pub(crate) fn get_path<'a, 'b>(
    node: &'a MarkedYaml<'b>,
    path: &[&str],
) -> Option<&'a MarkedYaml<'b>> {
    let mut n = node;
    for key in path {
        n = get(n, key)?;
    }
    Some(n)
}

/// A scalar as text, and whether it was a YAML string.
fn scalar(node: &MarkedYaml<'_>) -> Option<(String, bool)> {
    match &untag(node).data {
        YamlData::Value(Scalar::String(s)) => Some((s.to_string(), true)),
        YamlData::Value(Scalar::Boolean(b)) => Some((b.to_string(), false)),
        YamlData::Value(Scalar::Integer(i)) => Some((i.to_string(), false)),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some((f.to_string(), false)),
        YamlData::Value(Scalar::Null) => Some((String::new(), false)),
        YamlData::Representation(s, _, _) => Some((s.to_string(), true)),
        _ => None,
    }
}

fn text(node: Option<&MarkedYaml<'_>>) -> Option<String> {
    node.and_then(scalar).map(|(s, _)| s)
}

fn items<'a, 'b>(node: Option<&'a MarkedYaml<'b>>) -> impl Iterator<Item = &'a MarkedYaml<'b>> {
    node.and_then(|n| untag(n).data.as_vec())
        .into_iter()
        .flatten()
        .map(untag)
}

fn line(node: &MarkedYaml<'_>) -> usize {
    node.span.start.line().max(1)
}

fn read_object(doc: &MarkedYaml<'_>, out: &mut Manifests, depth: usize) {
    let doc = untag(doc);
    if !doc.data.is_mapping() {
        return;
    }
    let Some(kind) = text(get(doc, "kind")) else {
        return;
    };
    if kind == "List" || kind.ends_with("List") && get(doc, "items").is_some() {
        if depth < MAX_LIST_DEPTH {
            for item in items(get(doc, "items")) {
                read_object(item, out, depth + 1);
            }
        }
        return;
    }
    let meta = read_meta(doc);
    if kind == "ServiceAccount" {
        out.service_accounts.push(ServiceAccount {
            meta,
            line: line(doc),
        });
        return;
    }
    let Some(wk) = WorkloadKind::parse(&kind) else {
        out.skipped.push((kind, line(doc)));
        return;
    };
    let pod_path: &[&str] = match wk {
        WorkloadKind::Pod => &["spec"],
        WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => &["spec", "template", "spec"],
    };
    let pod = get_path(doc, pod_path);
    let service_account = pod
        .and_then(|p| text(get(p, "serviceAccountName")).or_else(|| text(get(p, "serviceAccount"))))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let mut containers = Vec::new();
    if let Some(p) = pod {
        for (field, init) in [("initContainers", true), ("containers", false)] {
            for c in items(get(p, field)) {
                containers.push(read_container(c, init));
            }
        }
    }
    out.workloads.push(Workload {
        kind: wk,
        meta,
        service_account,
        containers,
        line: line(doc),
    });
}

fn read_meta(doc: &MarkedYaml<'_>) -> ObjectMeta {
    let Some(meta) = get(doc, "metadata") else {
        return ObjectMeta::default();
    };
    let mut annotations = Vec::new();
    if let Some(map) = get(meta, "annotations").and_then(|a| a.data.as_mapping()) {
        for (k, v) in map {
            let Some((key, _)) = scalar(k) else { continue };
            let Some((value, is_string)) = scalar(v) else {
                continue;
            };
            annotations.push(Annotation {
                key,
                value,
                is_string,
                line: line(k),
            });
        }
    }
    ObjectMeta {
        name: text(get(meta, "name")).unwrap_or_default(),
        namespace: text(get(meta, "namespace")).filter(|s| !s.is_empty()),
        annotations,
    }
}

fn read_container(c: &MarkedYaml<'_>, init: bool) -> Container {
    let env = items(get(c, "env"))
        .filter_map(|e| {
            let name = text(get(e, "name"))?;
            Some(EnvVar {
                name,
                value: text(get(e, "value")),
                line: line(e),
            })
        })
        .collect();
    Container {
        name: text(get(c, "name")).unwrap_or_default(),
        env,
        init,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MULTI: &str = r#"# a comment
apiVersion: v1
kind: ServiceAccount
metadata:
  name: uploader
  namespace: media
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/uploader
    eks.amazonaws.com/sts-regional-endpoints: true
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: media
spec:
  template:
    spec:
      serviceAccountName: uploader
      initContainers:
        - name: init
      containers:
        - name: app
          env:
            - name: AWS_STS_REGIONAL_ENDPOINTS
              value: legacy
            - name: FROM_SECRET
              valueFrom:
                secretKeyRef: {name: s, key: k}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
"#;

    #[test]
    fn reads_documents_with_lines() {
        let m = read_manifests(MULTI).unwrap();
        assert_eq!(m.service_accounts.len(), 1);
        let sa = &m.service_accounts[0];
        assert_eq!(sa.line, 2);
        assert_eq!(sa.meta.namespace.as_deref(), Some("media"));
        let ann = sa
            .meta
            .annotation("eks.amazonaws.com/sts-regional-endpoints")
            .unwrap();
        assert_eq!(ann.value, "true");
        assert!(!ann.is_string, "unquoted true is a YAML boolean");
        assert_eq!(ann.line, 9);
        let w = &m.workloads[0];
        assert_eq!(w.display_name(), "Deployment/web");
        assert_eq!(w.line, 11);
        assert_eq!(w.service_account, "uploader");
        assert_eq!(w.containers.len(), 2);
        let app = &w.containers[1];
        let env = app.env("AWS_STS_REGIONAL_ENDPOINTS").unwrap();
        assert_eq!(env.value.as_deref(), Some("legacy"));
        assert_eq!(env.line, 25);
        assert_eq!(app.env("FROM_SECRET").unwrap().value, None);
        assert_eq!(m.skipped, vec![("ConfigMap".to_owned(), 31)]);
    }

    #[test]
    fn lists_cronjobs_and_json() {
        let list = r#"{"apiVersion": "v1", "kind": "List", "items": [
  {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}},
  {"kind": "CronJob", "metadata": {"name": "cj"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "batch", "containers": [{"name": "c", "env": [{"name": "X", "value": "1"}]}]}}}}}}
]}"#;
        let m = read_manifests(list).unwrap();
        assert_eq!(m.workloads.len(), 2);
        assert_eq!(m.workloads[0].service_account, "default");
        assert_eq!(m.workloads[0].line, 2);
        assert_eq!(m.workloads[1].service_account, "batch");
        assert_eq!(
            m.workloads[1].containers[0]
                .env("X")
                .unwrap()
                .value
                .as_deref(),
            Some("1")
        );
    }

    #[test]
    fn bad_yaml_has_line_and_column() {
        let e = read_manifests("kind: Pod\nmetadata:\n  name: [unclosed\n").unwrap_err();
        assert!(e.line >= 3, "{e}");
        let e = read_manifests("a: b\nc: [d\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
    }

    #[test]
    fn odd_shapes_are_skipped() {
        for s in [
            "",
            "---\n",
            "- a\n- b\n",
            "kind: [x]\n",
            "just text",
            "kind: Pod\nspec: 3\n",
        ] {
            assert!(read_manifests(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn directive_at_end_of_input_terminates() {
        for s in ["%", "---\n%", "%YAML", "%Y"] {
            assert!(read_manifests(s).is_err(), "{s:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { timeout: 2000, ..ProptestConfig::default() })]
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = read_manifests(&s);
        }

        #[test]
        fn never_panics_on_yamlish(s in "[a-zA-Z:\\-\\[\\]{}\"' \n#&*!|>]{0,200}") {
            let _ = read_manifests(&s);
            let _ = read_manifests(&format!("kind: Deployment\nspec:\n  template:\n    spec:\n{s}"));
        }

        #[test]
        fn service_account_names_round_trip(name in "[a-z][a-z0-9-]{0,30}", ns in "[a-z][a-z0-9-]{0,20}") {
            let y = format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"{name}\"\n  namespace: \"{ns}\"\n");
            let m = read_manifests(&y).unwrap();
            prop_assert_eq!(&m.service_accounts[0].meta.name, &name);
            prop_assert_eq!(m.service_accounts[0].meta.namespace.as_deref(), Some(ns.as_str()));
        }
    }
}
