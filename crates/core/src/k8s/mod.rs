//! Kubernetes manifests as operators hold them: multi-document YAML, `List`s,
//! `kubectl get -o yaml` (or `-o json`) output; workloads, pod specs and
//! service accounts, each with the line it starts on.
//!
//! [`read_manifests`] returns the objects eksdoctor understands
//! (ServiceAccount, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
//! CronJob); any other kind is skipped, not an error. Only YAML that does not
//! parse is an error ([`ManifestError`], with line and column).

pub(crate) mod reader;

pub use reader::read_manifests;

/// An annotation, label-like `key: value` with the line it sits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub key: String,
    /// The value as written (a YAML scalar rendered as text).
    pub value: String,
    /// Whether the value was a YAML string. Kubernetes rejects annotations
    /// whose values are not strings (`true` unquoted is a boolean).
    pub is_string: bool,
    pub line: usize,
}

/// Name, namespace and annotations of any object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    /// `None`: not set in the manifest (the namespace of the kubectl context applies).
    pub namespace: Option<String>,
    pub annotations: Vec<Annotation>,
}

impl ObjectMeta {
    /// The annotation `key`, if present.
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<&Annotation> {
        self.annotations.iter().find(|a| a.key == key)
    }

    /// The namespace, `default` when unset.
    #[must_use]
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// A ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub meta: ObjectMeta,
    /// Line of the object's first key (`apiVersion` or `kind`).
    pub line: usize,
}

/// An environment variable with a literal value (`valueFrom` ones have `value: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub line: usize,
}

/// A container (or init container) of a pod spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub env: Vec<EnvVar>,
    pub init: bool,
}

impl Container {
    /// The literal value of env var `name`, with its line.
    #[must_use]
    pub fn env(&self, name: &str) -> Option<&EnvVar> {
        self.env.iter().find(|e| e.name == name)
    }
}

/// Kinds of objects that carry a pod spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
}

impl WorkloadKind {
    #[must_use]
    pub fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "Pod" => Self::Pod,
            "Deployment" => Self::Deployment,
            "StatefulSet" => Self::StatefulSet,
            "DaemonSet" => Self::DaemonSet,
            "ReplicaSet" => Self::ReplicaSet,
            "Job" => Self::Job,
            "CronJob" => Self::CronJob,
            _ => return None,
        })
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pod => "Pod",
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::ReplicaSet => "ReplicaSet",
            Self::Job => "Job",
            Self::CronJob => "CronJob",
        }
    }
}

/// An object with a pod spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub meta: ObjectMeta,
    /// `serviceAccountName` (or the deprecated `serviceAccount`); `default` when unset.
    pub service_account: String,
    pub containers: Vec<Container>,
    pub line: usize,
}

impl Workload {
    /// `Deployment/web`.
    #[must_use]
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.meta.name)
    }
}

/// Everything understood in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifests {
    pub service_accounts: Vec<ServiceAccount>,
    pub workloads: Vec<Workload>,
    /// Kinds skipped, with their line (for a note, never an error).
    pub skipped: Vec<(String, usize)>,
}

/// YAML that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {message}")]
pub struct ManifestError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}
