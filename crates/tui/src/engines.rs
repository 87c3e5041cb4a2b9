//! The dashboard's one seam to eksdoctor-core's engines. Panels never call an
//! engine directly: they go through here, so following an engine's changes
//! touches one file.

use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::{AccessEntry, AccessKey, CallerIdentity, Cluster, Mapping};
use eksdoctor_core::sts::{EndpointRow, EndpointType, SourceFile, StsOptions};

/// What Explain found in a paste.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Explained {
    pub findings: Vec<Finding>,
    /// Key ids that came with a secret: to be masked everywhere from now on.
    pub tainted: Vec<String>,
}

/// The findings for pasted error text: offline, immediate (`core::explain`).
#[must_use]
pub fn explain(text: &str) -> Explained {
    let mut ex = eksdoctor_core::explain::Explainer::new();
    ex.feed_text(text);
    let tainted = ex.tainted().map(str::to_owned).collect();
    Explained {
        findings: ex.finish(),
        tainted,
    }
}

/// How an aws-auth ConfigMap maps the caller on a cluster, and what is
/// wrong with it (`core::awsauth` lint + `core::access` resolution).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsAuthCheck {
    pub mapping: Option<Mapping>,
    /// The aws-auth line of the mapping entry.
    pub line: Option<usize>,
    pub findings: Vec<Finding>,
}

/// Lint a cluster's aws-auth and resolve the caller through it and the
/// caller's access entry, as the cluster's authentication mode says.
#[must_use]
pub fn check_aws_auth(
    configmap: &str,
    cluster: &Cluster,
    caller: &CallerIdentity,
    entry: Option<&AccessEntry>,
) -> AwsAuthCheck {
    let file = format!("{}/kube-system/aws-auth", cluster.name);
    let opts = eksdoctor_core::awsauth::MigrateOptions {
        cluster: Some(cluster.name.clone()),
        authentication_mode: cluster.authentication_mode,
        ..Default::default()
    };
    let mut out = AwsAuthCheck::default();
    let Ok(lint) = eksdoctor_core::awsauth::lint(configmap, &file, &opts) else {
        return out;
    };
    out.findings = lint.findings;
    let Ok(who) = eksdoctor_core::access::Caller::from_arn(&caller.arn) else {
        return out;
    };
    let entries: Vec<AccessEntry> = entry.cloned().into_iter().collect();
    let r = eksdoctor_core::access::resolve(
        &who,
        cluster.authentication_mode,
        lint.configmaps.first(),
        Some(&entries),
    );
    out.mapping = r.mapping;
    out.line = r.line;
    out.findings.extend(r.findings);
    tag_cluster(&mut out.findings, &cluster.name);
    out
}

/// Which STS endpoint a cluster's workloads resolve to, and the sts/
/// findings (`core::sts`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StsCheck {
    pub rows: Vec<EndpointRow>,
    pub findings: Vec<Finding>,
}

/// Resolve and check a cluster's workload manifests: `(file name, text)`.
#[must_use]
pub fn check_sts(cluster: &Cluster, manifests: &[(String, String)]) -> StsCheck {
    let files: Vec<SourceFile> = manifests
        .iter()
        .filter_map(|(name, text)| SourceFile::classify(name, text.clone()).ok())
        .collect();
    let opts = StsOptions {
        cluster_version: cluster.version_tuple(),
        region: Some(cluster.region.clone()),
    };
    let rows = eksdoctor_core::sts::resolve_all(&files, &opts);
    let mut findings = eksdoctor_core::sts::rules::check(&files, &rows, &opts);
    tag_cluster(&mut findings, &cluster.name);
    StsCheck { rows, findings }
}

/// The endpoint type pods get by default on a cluster of this version.
#[must_use]
pub fn sts_default(cluster: &Cluster) -> EndpointType {
    eksdoctor_core::sts::cluster_default(cluster.version_tuple())
}

/// `https://sts.REGION.amazonaws.com`, partition-aware.
#[must_use]
pub fn sts_regional_url(region: &str) -> String {
    eksdoctor_core::sts::endpoint::regional_url(region)
}

/// The dashboard lists every cluster's findings together: say whose.
fn tag_cluster(findings: &mut [Finding], cluster: &str) {
    for f in findings {
        f.message = format!("{cluster}: {}", f.message);
        f.evidence
            .entry("cluster".to_owned())
            .or_insert_with(|| cluster.to_owned().into());
    }
}

pub use eksdoctor_core::keys::rotation::RotationPlan;

/// The rotation plan for each user holding keys (`core::keys`).
#[must_use]
pub fn rotation_plans(keys: &[AccessKey]) -> Vec<RotationPlan> {
    eksdoctor_core::keys::rotation_plans(keys)
}

/// The keys/ findings for these keys at `now` (`core::keys`).
#[must_use]
pub fn key_findings(keys: &[AccessKey], now: jiff::Timestamp, rotation_days: u32) -> Vec<Finding> {
    let mut policy = eksdoctor_core::keys::KeyPolicy::new(now);
    policy.max_age_days = rotation_days;
    eksdoctor_core::keys::check(keys, &policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_a_pass_role_denial() {
        let e = explain(
            "User: arn:aws:iam::123456789012:user/marymajor is not authorized to perform: iam:PassRole",
        );
        assert_eq!(e.findings.len(), 1);
        assert_eq!(
            e.findings[0].rule,
            eksdoctor_core::rules::AUTHZ_PASS_ROLE.id
        );
        assert!(explain("hello").findings.is_empty());
    }
}
