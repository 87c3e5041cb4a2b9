//! The sts/ rules over classified inputs and resolved workloads.

use super::endpoint::{self, GlobalEndpointUse};
use super::{ANNOTATION, ENV_VAR, EndpointRow, EndpointType, SourceFile, SourceKind, StsOptions};
use crate::finding::{Finding, Fix};
use crate::rules as catalog;

/// Every sts/ finding.
#[must_use]
pub fn check(files: &[SourceFile], rows: &[EndpointRow], opts: &StsOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(bad_annotation(files));
    out.extend(global_endpoint(files, rows, opts));
    out.extend(legacy_global_default(files, rows, opts));
    out
}

/// sts/bad-annotation: the annotation is neither "true" nor "false".
#[must_use]
pub fn bad_annotation(files: &[SourceFile]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in files {
        let SourceKind::Manifests(m) = &f.kind else {
            continue;
        };
        for sa in &m.service_accounts {
            let Some(a) = sa.meta.annotation(ANNOTATION) else {
                continue;
            };
            if a.is_string && (a.value == "true" || a.value == "false") {
                continue;
            }
            let ns = sa.meta.namespace_or_default();
            let wanted = if super::parse_annotation(&a.value) == Some(false) {
                "false"
            } else {
                "true"
            };
            let why = if !a.is_string {
                format!(
                    "The value {} is a YAML {} here, not a string: Kubernetes rejects the object (annotation values \
                     must be strings), so kubectl apply fails. Quote it.",
                    a.value,
                    if a.value.is_empty() {
                        "null"
                    } else {
                        "scalar of another type"
                    }
                )
            } else if super::parse_annotation(&a.value).is_some() {
                format!(
                    "The pod identity webhook parses the value with Go's strconv.ParseBool, so {:?} happens to \
                     work, but EKS documents only \"true\" and \"false\"; other tools (and people) read it \
                     differently.",
                    a.value
                )
            } else {
                format!(
                    "The pod identity webhook cannot parse {:?} and ignores the annotation: pods fall back to \
                     the cluster's default endpoint type (regional from 1.22, global before), which is probably \
                     not what was meant.",
                    a.value
                )
            };
            out.push(
                Finding::new(
                    catalog::STS_BAD_ANNOTATION,
                    format!(
                        "ServiceAccount {ns}/{}: {ANNOTATION} is {:?}, not \"true\" or \"false\"",
                        sa.meta.name, a.value
                    ),
                )
                .detail(why)
                .evidence("service_account", format!("{ns}/{}", sa.meta.name))
                .evidence("value", a.value.clone())
                .evidence("is_string", a.is_string)
                .at(f.name.clone(), a.line)
                .fix(
                    Fix::new(format!(
                        "set the annotation to \"{wanted}\" (quoted), then restart the pods that use the service account"
                    ))
                    .command(format!(
                        "kubectl annotate serviceaccount -n {ns} {} {ANNOTATION}={wanted} --overwrite",
                        sa.meta.name
                    ))
                    .replacement(format!("{ANNOTATION}: \"{wanted}\"")),
                ),
            );
        }
    }
    out
}

/// The row of the workload whose manifest contains `line` (the last workload starting before it).
fn row_at<'a>(rows: &'a [EndpointRow], file: &str, line: usize) -> Option<&'a EndpointRow> {
    rows.iter()
        .filter(|r| r.file == file && r.line <= line)
        .max_by_key(|r| r.line)
}

/// sts/global-endpoint: a hard-coded global endpoint where the workload (or,
/// for files outside a manifest, the cluster) resolves to a regional one; and
/// the error text "Credential should be scoped to a valid region".
#[must_use]
pub fn global_endpoint(
    files: &[SourceFile],
    rows: &[EndpointRow],
    opts: &StsOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in files {
        for hit in endpoint::find_global_endpoint(&f.text) {
            let row = match &f.kind {
                SourceKind::Manifests(_) => row_at(rows, &f.name, hit.line),
                _ => None,
            };
            let effective = row.map_or_else(
                || super::cluster_default(opts.cluster_version),
                |r| r.effective,
            );
            if effective == EndpointType::Global {
                // Consistent: the SDK signs for us-east-1 and calls the global endpoint.
                continue;
            }
            out.push(global_finding(f, &hit, row, opts, false));
        }
        for hit in endpoint::find_scope_errors(&f.text) {
            out.push(global_finding(f, &hit, None, opts, true));
        }
    }
    out
}

fn global_finding(
    f: &SourceFile,
    hit: &GlobalEndpointUse,
    row: Option<&EndpointRow>,
    opts: &StsOptions,
    scope_error: bool,
) -> Finding {
    let region = row
        .and_then(|r| r.endpoint.strip_prefix("https://sts."))
        .and_then(|h| h.split('.').next())
        .filter(|r| *r != "REGION" && *r != "amazonaws")
        .map(str::to_owned)
        .or_else(|| opts.region.clone());
    let regional = region.as_deref().map_or_else(
        || "https://sts.REGION.amazonaws.com".to_owned(),
        endpoint::regional_url,
    );
    let regional_host = regional.trim_start_matches("https://").to_owned();
    let ns = row.map_or_else(|| "NAMESPACE".to_owned(), |r| r.namespace.clone());
    let message = if scope_error {
        "\"Credential should be scoped to a valid region\": a request signed for one region reached the global STS endpoint".to_owned()
    } else {
        match row {
            Some(r) => format!(
                "{} calls the global STS endpoint but its service account resolves to {}",
                r.workload,
                r.effective.as_str()
            ),
            None => "Hard-coded call to the global STS endpoint sts.amazonaws.com".to_owned(),
        }
    };
    let mut finding = Finding::new(catalog::STS_GLOBAL_ENDPOINT, message)
        .detail(format!(
            "With IRSA on clusters 1.22 and later (or the annotation {ANNOTATION}: \"true\") the webhook sets \
             {ENV_VAR}=regional and AWS_REGION, so the SDK signs requests for the pod's region. Code that forces \
             the global endpoint sts.amazonaws.com sends that region-scoped signature to an endpoint that expects \
             us-east-1, and STS answers SignatureDoesNotMatch: \"Credential should be scoped to a valid region\". \
             Three fixes: (1) drop the explicit endpoint and let the SDK pick the regional one; (2) call the \
             regional endpoint {regional} instead (partition-aware); (3) set the service account to the global \
             endpoint ({ANNOTATION}: \"false\") and restart its pods."
        ))
        .evidence("line", hit.text.clone())
        .at(f.name.clone(), hit.line);
    if let Some(r) = row {
        finding = finding
            .evidence("workload", r.workload.clone())
            .evidence(
                "service_account",
                format!("{}/{}", r.namespace, r.service_account),
            )
            .evidence("effective", r.effective.as_str());
    }
    let workload_restart = row.map_or_else(
        || format!("kubectl rollout restart deployment/WORKLOAD -n {ns}"),
        |r| {
            let (kind, name) = r
                .workload
                .split_once('/')
                .unwrap_or(("deployment", &r.workload));
            format!(
                "kubectl rollout restart {}/{name} -n {ns}",
                kind.to_ascii_lowercase()
            )
        },
    );
    // One direction per fix: regional. Going back to the global endpoint
    // (annotation "false") is the opposite change; the detail names it as
    // an alternative but it is never pasted in the same block.
    let fix = if scope_error {
        Fix::new(format!(
            "use the regional endpoint consistently: remove whatever forces sts.amazonaws.com (code, SDK \
             config, AWS_STS_REGIONAL_ENDPOINTS=legacy) so the SDK calls {regional}"
        ))
        .command("grep -rn 'sts.amazonaws.com' .")
        .command(workload_restart)
    } else {
        Fix::new(format!(
            "call the regional endpoint {regional} (or drop the endpoint override), then restart the workload"
        ))
        .replacement(hit.text.replace(endpoint::GLOBAL_HOST, &regional_host))
        .command(workload_restart)
    };
    finding.fix(fix)
}

/// sts/legacy-global-default: clusters before 1.22 default pods to the global
/// endpoint; also workloads and profiles that pin `legacy` themselves.
#[must_use]
pub fn legacy_global_default(
    files: &[SourceFile],
    rows: &[EndpointRow],
    opts: &StsOptions,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(v @ (major, minor)) = opts.cluster_version
        && v < (1, 22)
    {
        let affected: Vec<&str> = rows
            .iter()
            .filter(|r| {
                r.effective == EndpointType::Global && r.source.starts_with("cluster default")
            })
            .map(|r| r.workload.as_str())
            .collect();
        out.push(
            Finding::new(
                catalog::STS_LEGACY_GLOBAL_DEFAULT,
                format!("Kubernetes {major}.{minor}: IRSA pods default to the global STS endpoint"),
            )
            .detail(
                "Before Kubernetes 1.22 the EKS pod identity webhook leaves pods on the global endpoint \
                 sts.amazonaws.com unless the service account is annotated (and on platform versions too old \
                 for the annotation, global is the only choice). AWS recommends regional endpoints: lower \
                 latency, no dependency on us-east-1, session tokens valid in every region. Upgrade the cluster \
                 (1.22+ defaults to regional) or annotate each service account.",
            )
            .evidence("cluster_version", format!("{major}.{minor}"))
            .evidence("workloads", affected)
            .fix(
                Fix::new("annotate the service accounts for regional endpoints (or upgrade to 1.22+), then restart their pods")
                    .command(format!(
                        "kubectl annotate serviceaccount -n NAMESPACE SERVICE_ACCOUNT {ANNOTATION}=true --overwrite"
                    )),
            ),
        );
    }
    for r in rows
        .iter()
        .filter(|r| r.effective == EndpointType::Global && r.source.starts_with(ENV_VAR))
    {
        out.push(
            Finding::new(
                catalog::STS_LEGACY_GLOBAL_DEFAULT,
                format!("{} pins {ENV_VAR}=legacy: the global STS endpoint", r.workload),
            )
            .detail(
                "The env var in the pod spec overrides what the pod identity webhook would inject, so this \
                 workload calls sts.amazonaws.com whatever the service account says. AWS recommends regional.",
            )
            .evidence("workload", r.workload.clone())
            .at(r.file.clone(), r.line)
            .fix(Fix::new(format!("set {ENV_VAR} to regional in the pod spec (or remove it)")).replacement(
                format!("- name: {ENV_VAR}\n  value: regional"),
            )),
        );
    }
    for f in files {
        let SourceKind::AwsConfig(profiles) = &f.kind else {
            continue;
        };
        for p in profiles {
            let Some((value, line)) = &p.sts_regional_endpoints else {
                continue;
            };
            if super::parse_env(value) != Some(EndpointType::Global) {
                continue;
            }
            out.push(
                Finding::new(
                    catalog::STS_LEGACY_GLOBAL_DEFAULT,
                    format!("Profile {} sets sts_regional_endpoints = legacy: the global STS endpoint", p.name),
                )
                .detail(
                    "With legacy, SDKs that honour the setting send STS calls from the original regions to \
                     sts.amazonaws.com. AWS recommends regional; the environment variable \
                     AWS_STS_REGIONAL_ENDPOINTS overrides this file.",
                )
                .evidence("profile", p.name.clone())
                .at(f.name.clone(), *line)
                .fix(
                    Fix::new("use the regional endpoints")
                        .command(format!(
                            "aws configure set sts_regional_endpoints regional --profile {}",
                            p.name
                        ))
                        .replacement("sts_regional_endpoints = regional"),
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sts::resolve_all;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile::classify(name, text.to_owned()).unwrap()
    }

    fn rules_of(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule).collect()
    }

    const SA: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: prod\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n";

    #[test]
    fn bad_annotation_values() {
        for (value, fires) in [
            ("\"true\"", false),
            ("\"false\"", false),
            ("true", true),
            ("\"yes\"", true),
            ("\"True\"", true),
        ] {
            let f = file("sa.yaml", &format!("{SA}    {ANNOTATION}: {value}\n"));
            let found = bad_annotation(&[f]);
            assert_eq!(!found.is_empty(), fires, "{value}");
            if fires {
                assert_eq!(found[0].location.as_ref().unwrap().line, 8);
            }
        }
    }

    #[test]
    fn global_endpoint_in_workload_env_and_source() {
        let dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: prod\nspec:\n  template:\n    spec:\n      serviceAccountName: app\n      containers:\n        - name: api\n          env:\n            - name: AWS_ENDPOINT_URL_STS\n              value: https://sts.amazonaws.com\n";
        let opts = StsOptions {
            cluster_version: Some((1, 30)),
            region: Some("eu-west-1".into()),
        };
        let files = [
            file("sa.yaml", SA),
            file("dep.yaml", dep),
            file(
                "main.py",
                "c = boto3.client('sts', endpoint_url='https://sts.amazonaws.com')\n",
            ),
        ];
        let rows = resolve_all(&files, &opts);
        let f = check(&files, &rows, &opts);
        assert_eq!(rules_of(&f), ["sts/global-endpoint", "sts/global-endpoint"]);
        assert!(f[0].message.contains("Deployment/api"), "{}", f[0].message);
        assert_eq!(f[0].location.as_ref().unwrap().line, 14);
        let fix = f[0].fix.as_ref().unwrap();
        assert_eq!(
            fix.replacement.as_deref(),
            Some("value: https://sts.eu-west-1.amazonaws.com")
        );
        // Issue 18: one direction per fix; never the regional replacement
        // and the annotation "false" (global) in the same paste.
        assert_eq!(
            fix.commands,
            ["kubectl rollout restart deployment/api -n prod"]
        );
        for f in &f {
            let fix = f.fix.as_ref().unwrap();
            let all = format!("{} {:?} {:?}", fix.summary, fix.commands, fix.replacement);
            assert!(!all.contains("=false"), "{all}");
        }
        assert_eq!(f[1].location.as_ref().unwrap().file, "main.py");

        // On a pre-1.22 cluster the global endpoint is what the SDK signs for: no error.
        let old = StsOptions {
            cluster_version: Some((1, 21)),
            ..opts
        };
        let rows = resolve_all(&files, &old);
        let f = check(&files, &rows, &old);
        assert_eq!(rules_of(&f), ["sts/legacy-global-default"]);
    }

    #[test]
    fn legacy_env_and_profiles() {
        let cfg = file(
            "config",
            "[default]\nsts_regional_endpoints = legacy\n[profile x]\nsts_regional_endpoints = regional\n",
        );
        let f = check(&[cfg], &[], &StsOptions::default());
        assert_eq!(rules_of(&f), ["sts/legacy-global-default"]);
        assert_eq!(f[0].location.as_ref().unwrap().line, 2);
    }

    #[test]
    fn scope_error_in_logs() {
        let log = file(
            "app.log",
            "botocore.exceptions.ClientError: An error occurred (SignatureDoesNotMatch) when calling the AssumeRoleWithWebIdentity operation: Credential should be scoped to a valid region.\n",
        );
        let f = check(&[log], &[], &StsOptions::default());
        assert_eq!(rules_of(&f), ["sts/global-endpoint"]);
        let fix = f[0].fix.as_ref().unwrap();
        assert!(
            fix.commands.iter().all(|c| !c.contains("=false")),
            "{fix:?}"
        );
    }
}
