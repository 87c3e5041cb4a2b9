//! `lint sts`: which STS endpoint each workload resolves to, and hard-coded
//! calls to the global endpoint that break once it resolves to a regional one.
//!
//! How a pod's endpoint is decided (EKS user guide, "Configure the AWS
//! Security Token Service endpoint for a service account", and the EKS pod
//! identity webhook):
//!
//! 1. `AWS_STS_REGIONAL_ENDPOINTS` set in the container's own `env` wins: the
//!    webhook never overwrites an env var the pod spec already sets, and the
//!    SDKs read the environment before the config file.
//! 2. Otherwise, for a service account with `eks.amazonaws.com/role-arn`
//!    (IRSA), the webhook injects `regional` when the annotation
//!    `eks.amazonaws.com/sts-regional-endpoints` is true, `legacy` when false;
//!    a value Go's `strconv.ParseBool` rejects is ignored.
//! 3. Otherwise the cluster's default: regional from Kubernetes 1.22
//!    (platform eks.1), global before.
//! 4. A service account without a role ARN is not mutated: the SDK's own
//!    default applies.
//!
//! The checks: [`rules`]. The inputs: [`SourceFile::classify`].

pub mod config_file;
pub mod endpoint;
pub mod rules;

use serde::Serialize;

use crate::k8s::{self, Manifests, ServiceAccount, Workload};

/// The annotation on service accounts.
pub const ANNOTATION: &str = "eks.amazonaws.com/sts-regional-endpoints";
/// The IRSA role annotation.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The environment variable the SDKs read.
pub const ENV_VAR: &str = "AWS_STS_REGIONAL_ENDPOINTS";

/// What an input file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Manifests(Manifests),
    AwsConfig(Vec<config_file::ProfileSettings>),
    /// Source code, logs, anything else: only scanned for the global endpoint.
    Other,
}

/// One input file, read and classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    pub kind: SourceKind,
}

impl SourceFile {
    /// Classify by name and content: `.yaml`/`.yml` (and JSON or text with
    /// `apiVersion` and `kind`) are manifests, INI with profile sections is an
    /// AWS config file, anything else is scanned as text.
    ///
    /// # Errors
    /// A manifest whose YAML does not parse.
    pub fn classify(name: &str, text: String) -> Result<Self, k8s::ManifestError> {
        let lower = name.to_ascii_lowercase();
        let yaml_name = lower.ends_with(".yaml") || lower.ends_with(".yml");
        let looks_k8s = text.contains("apiVersion") && text.contains("kind");
        let kind =
            if yaml_name || (looks_k8s && (lower.ends_with(".json") || text.contains("kind:"))) {
                SourceKind::Manifests(k8s::read_manifests(&text)?)
            } else if config_file::looks_like_aws_config(&text) {
                SourceKind::AwsConfig(config_file::read_profiles(&text))
            } else {
                SourceKind::Other
            };
        Ok(Self {
            name: name.to_owned(),
            text,
            kind,
        })
    }
}

/// `--cluster-version` and `--region`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StsOptions {
    pub cluster_version: Option<(u32, u32)>,
    pub region: Option<String>,
}

/// Endpoint type as the SDKs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointType {
    Regional,
    /// `legacy`: the global endpoint `sts.amazonaws.com` (in the commercial partition).
    Global,
    /// Nothing sets it: the SDK's own default (regional in every SDK major
    /// version released since July 2022; older ones use global).
    SdkDefault,
}

impl EndpointType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regional => "regional",
            Self::Global => "global",
            Self::SdkDefault => "sdk-default",
        }
    }
}

/// The annotation value as the webhook reads it (Go `strconv.ParseBool`).
#[must_use]
pub fn parse_annotation(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The env var value as the SDKs read it.
#[must_use]
pub fn parse_env(value: &str) -> Option<EndpointType> {
    match value.trim().to_ascii_lowercase().as_str() {
        "regional" => Some(EndpointType::Regional),
        "legacy" => Some(EndpointType::Global),
        _ => None,
    }
}

/// The endpoint type pods get by default on a cluster of this version.
#[must_use]
pub fn cluster_default(version: Option<(u32, u32)>) -> EndpointType {
    match version {
        Some(v) if v < (1, 22) => EndpointType::Global,
        _ => EndpointType::Regional,
    }
}

/// One workload's resolution: a row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointRow {
    pub file: String,
    pub line: usize,
    /// `Deployment/web`.
    pub workload: String,
    pub namespace: String,
    pub service_account: String,
    /// The annotation's value, if the service account was in the input and carries it.
    pub annotation: Option<String>,
    /// `AWS_STS_REGIONAL_ENDPOINTS` from the pod spec.
    pub env: Option<String>,
    pub effective: EndpointType,
    /// What decided `effective`.
    pub source: String,
    /// The endpoint the SDK calls: regional URL for the region, or the global one.
    pub endpoint: String,
}

/// The region a workload runs in: its own `AWS_REGION`/`AWS_DEFAULT_REGION`, else `--region`.
fn workload_region(w: &Workload, opts: &StsOptions) -> Option<String> {
    w.containers
        .iter()
        .filter(|c| !c.init)
        .find_map(|c| {
            c.env("AWS_REGION")
                .or_else(|| c.env("AWS_DEFAULT_REGION"))
                .and_then(|e| e.value.clone())
        })
        .or_else(|| opts.region.clone())
}

/// The URL a workload of this type calls in this region.
#[must_use]
pub fn endpoint_url(effective: EndpointType, region: Option<&str>) -> String {
    match (effective, region) {
        (EndpointType::Global, Some(r)) if !endpoint::partition_has_global_endpoint(r) => {
            endpoint::regional_url(r)
        }
        (EndpointType::Global, _) => format!("https://{}", endpoint::GLOBAL_HOST),
        (_, Some(r)) => endpoint::regional_url(r),
        (_, None) => "https://sts.REGION.amazonaws.com".to_owned(),
    }
}

/// Find the service account a workload runs as, across all inputs.
#[must_use]
pub fn find_service_account<'a>(
    files: &'a [SourceFile],
    namespace: &str,
    name: &str,
) -> Option<(&'a SourceFile, &'a ServiceAccount)> {
    files.iter().find_map(|f| match &f.kind {
        SourceKind::Manifests(m) => m
            .service_accounts
            .iter()
            .find(|sa| sa.meta.name == name && sa.meta.namespace_or_default() == namespace)
            .map(|sa| (f, sa)),
        _ => None,
    })
}

/// Resolve one workload.
#[must_use]
pub fn resolve(
    file: &SourceFile,
    w: &Workload,
    files: &[SourceFile],
    opts: &StsOptions,
) -> EndpointRow {
    let namespace = w.meta.namespace_or_default().to_owned();
    let sa = find_service_account(files, &namespace, &w.service_account).map(|(_, sa)| sa);
    let annotation = sa
        .and_then(|sa| sa.meta.annotation(ANNOTATION))
        .map(|a| a.value.clone());
    let env = w
        .containers
        .iter()
        .filter(|c| !c.init)
        .find_map(|c| c.env(ENV_VAR).and_then(|e| e.value.clone()));
    let irsa = sa.map(|sa| sa.meta.annotation(ROLE_ARN_ANNOTATION).is_some());
    let version_text = opts
        .cluster_version
        .map_or_else(|| "1.22+ assumed".to_owned(), |(a, b)| format!("{a}.{b}"));
    let (effective, source) = if let Some(t) = env.as_deref().and_then(parse_env) {
        (t, format!("{ENV_VAR} in the pod spec"))
    } else if irsa == Some(false) {
        (
            EndpointType::SdkDefault,
            "service account has no role-arn: not mutated, SDK default".to_owned(),
        )
    } else if let Some(b) = annotation.as_deref().and_then(parse_annotation) {
        let t = if b {
            EndpointType::Regional
        } else {
            EndpointType::Global
        };
        (t, "service account annotation".to_owned())
    } else {
        (
            cluster_default(opts.cluster_version),
            format!("cluster default ({version_text})"),
        )
    };
    let region = workload_region(w, opts);
    EndpointRow {
        file: file.name.clone(),
        line: w.line,
        workload: w.display_name(),
        namespace,
        service_account: w.service_account.clone(),
        annotation,
        env,
        effective,
        source,
        endpoint: endpoint_url(effective, region.as_deref()),
    }
}

/// Every workload of every input, resolved.
#[must_use]
pub fn resolve_all(files: &[SourceFile], opts: &StsOptions) -> Vec<EndpointRow> {
    let mut rows = Vec::new();
    for f in files {
        if let SourceKind::Manifests(m) = &f.kind {
            for w in &m.workloads {
                rows.push(resolve(f, w, files, opts));
            }
        }
    }
    rows
}

/// The text table.
#[must_use]
pub fn render_table(rows: &[EndpointRow]) -> String {
    use std::fmt::Write as _;
    if rows.is_empty() {
        return String::new();
    }
    let headers = [
        "WORKLOAD",
        "SERVICE ACCOUNT",
        "ANNOTATION",
        "ENV",
        "EFFECTIVE",
        "ENDPOINT",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.workload.clone(),
                format!("{}/{}", r.namespace, r.service_account),
                r.annotation.clone().unwrap_or_else(|| "-".to_owned()),
                r.env.clone().unwrap_or_else(|| "-".to_owned()),
                r.effective.as_str().to_owned(),
                r.endpoint.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for c in &cells {
        for (w, s) in widths.iter_mut().zip(c.iter()) {
            *w = (*w).max(s.chars().count());
        }
    }
    let mut out = String::new();
    let row = |out: &mut String, c: &[&str]| {
        let mut line = String::new();
        for (i, s) in c.iter().enumerate() {
            if i + 1 == c.len() {
                line.push_str(s);
            } else {
                let _ = write!(line, "{s:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    row(&mut out, &headers);
    for c in &cells {
        let refs: Vec<&str> = c.iter().map(String::as_str).collect();
        row(&mut out, &refs);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile::classify(name, text.to_owned()).unwrap()
    }

    const SA: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: uploader\n  namespace: media\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/uploader\n";

    fn deployment(env: Option<&str>) -> String {
        let env = env.map_or(String::new(), |v| {
            format!("          env:\n            - name: AWS_STS_REGIONAL_ENDPOINTS\n              value: {v}\n")
        });
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: media\nspec:\n  template:\n    spec:\n      serviceAccountName: uploader\n      containers:\n        - name: app\n{env}"
        )
    }

    #[test]
    fn precedence_env_then_annotation_then_cluster() {
        let opts = StsOptions {
            cluster_version: Some((1, 29)),
            region: Some("eu-west-1".into()),
        };
        let files = [file("sa.yaml", SA), file("d.yaml", &deployment(None))];
        let rows = resolve_all(&files, &opts);
        assert_eq!(rows[0].effective, EndpointType::Regional);
        assert_eq!(rows[0].endpoint, "https://sts.eu-west-1.amazonaws.com");
        assert!(rows[0].source.starts_with("cluster default"));

        let sa_false = format!("{SA}    eks.amazonaws.com/sts-regional-endpoints: \"false\"\n");
        let files = [
            file("sa.yaml", &sa_false),
            file("d.yaml", &deployment(None)),
        ];
        let rows = resolve_all(&files, &opts);
        assert_eq!(rows[0].effective, EndpointType::Global);
        assert_eq!(rows[0].annotation.as_deref(), Some("false"));
        assert_eq!(rows[0].endpoint, "https://sts.amazonaws.com");

        let files = [
            file("sa.yaml", &sa_false),
            file("d.yaml", &deployment(Some("regional"))),
        ];
        let rows = resolve_all(&files, &opts);
        assert_eq!(rows[0].effective, EndpointType::Regional, "env wins");

        let old = StsOptions {
            cluster_version: Some((1, 21)),
            region: Some("cn-north-1".into()),
        };
        let files = [file("sa.yaml", SA), file("d.yaml", &deployment(None))];
        let rows = resolve_all(&files, &old);
        assert_eq!(rows[0].effective, EndpointType::Global);
        assert_eq!(
            rows[0].endpoint, "https://sts.cn-north-1.amazonaws.com.cn",
            "no global endpoint in China"
        );
    }

    #[test]
    fn service_account_without_role_is_sdk_default() {
        let plain = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: uploader\n  namespace: media\n";
        let files = [file("sa.yaml", plain), file("d.yaml", &deployment(None))];
        let rows = resolve_all(&files, &StsOptions::default());
        assert_eq!(rows[0].effective, EndpointType::SdkDefault);
        let t = render_table(&rows);
        assert!(t.starts_with("WORKLOAD"), "{t}");
        assert!(t.contains("Deployment/web"), "{t}");
    }

    #[test]
    fn annotation_values_like_go() {
        assert_eq!(parse_annotation("True"), Some(true));
        assert_eq!(parse_annotation("0"), Some(false));
        assert_eq!(parse_annotation("yes"), None);
        assert_eq!(parse_env("Legacy"), Some(EndpointType::Global));
    }

    #[test]
    fn classification() {
        assert!(matches!(file("x.yaml", SA).kind, SourceKind::Manifests(_)));
        assert!(matches!(
            file("config", "[profile a]\nregion = x\n").kind,
            SourceKind::AwsConfig(_)
        ));
        assert!(matches!(
            file("main.py", "import boto3\n").kind,
            SourceKind::Other
        ));
        assert!(SourceFile::classify("bad.yaml", "a: [b\n".to_owned()).is_err());
    }
}
