//! `lint irsa`: a role's trust policy against a service account's token.
//! Either `--role-trust FILE --service-account NS/NAME [--issuer URL]`, or
//! manifests whose service accounts carry `eks.amazonaws.com/role-arn` with
//! the roles' saved `aws iam get-role` output (`--role`, repeats). The logic
//! is `eksdoctor_core::irsa`.

use std::fmt::Write as _;
use std::path::Path;

use eksdoctor_core::finding::{Finding, Location};
use eksdoctor_core::irsa::{self, Issuer, RoleTrust, ServiceAccountRef, TrustSource, trust};
use eksdoctor_core::k8s;
use eksdoctor_core::report::Report;
use eksdoctor_core::sarif;
use serde_json::json;

use crate::cli::{Format, LintIrsaArgs};
use crate::error::CliError;
use crate::input;
use crate::output::Output;

const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";

pub fn run(args: &LintIrsaArgs, out: &Output) -> Result<i32, CliError> {
    let issuer = args
        .issuer
        .as_deref()
        .map(Issuer::parse)
        .transpose()
        .map_err(|m| CliError::Usage(format!("--issuer: {m}")))?;
    let mut findings = Vec::new();
    let mut rows = Vec::new();
    let mut nothing: Option<String> = None;
    if let Some(path) = &args.role_trust {
        let Some(sa) = &args.service_account else {
            return Err(CliError::Usage(
                "--role-trust needs --service-account NAMESPACE/NAME".to_owned(),
            ));
        };
        let sa = ServiceAccountRef::parse(sa)
            .map_err(|m| CliError::Usage(format!("--service-account {m}")))?;
        let name = input::display_name(path);
        let trust = read_trust(path)?;
        let issuer = require_issuer(issuer.as_ref(), &trust, &name)?;
        let role_name = role_name_of(&trust, None);
        let found = irsa::check(
            &trust,
            &issuer,
            &sa,
            &TrustSource {
                file: name.clone(),
                role_name: role_name.clone(),
            },
        );
        rows.push(row(&sa, &role_name, &name, &found));
        findings.extend(found);
    } else if !args.files.is_empty() {
        let mut seen_accounts = 0usize;
        let mut roles = Vec::new();
        for path in &args.role {
            roles.push((input::display_name(path), read_trust(path)?));
        }
        let paths = input::expand(&args.files, input::is_manifest_name)?;
        for path in &paths {
            let name = input::display_name(path);
            let text = input::read_text(path)?;
            let manifests = k8s::read_manifests(&text).map_err(|e| CliError::input(&name, e))?;
            seen_accounts += manifests.service_accounts.len();
            for sa in &manifests.service_accounts {
                let Some(role_arn) = sa.meta.annotation(irsa_role_annotation()) else {
                    continue;
                };
                let sa_ref = ServiceAccountRef {
                    namespace: sa.meta.namespace_or_default().to_owned(),
                    name: sa.meta.name.clone(),
                    audience: sa
                        .meta
                        .annotation(AUDIENCE_ANNOTATION)
                        .map_or_else(|| irsa::DEFAULT_AUDIENCE.to_owned(), |a| a.value.clone()),
                };
                let Some((role_file, trust)) = find_role(&roles, &role_arn.value) else {
                    rows.push(json!({
                        "service_account": format!("{}/{}", sa_ref.namespace, sa_ref.name),
                        "role": role_arn.value,
                        "trust": null,
                        "result": "not checked: pass the role's `aws iam get-role` output with --role",
                    }));
                    continue;
                };
                let issuer = require_issuer(issuer.as_ref(), trust, role_file)?;
                let role_name = role_name_of(trust, Some(&role_arn.value));
                let mut found = irsa::check(
                    trust,
                    &issuer,
                    &sa_ref,
                    &TrustSource {
                        file: role_file.clone(),
                        role_name: role_name.clone(),
                    },
                );
                for f in &mut found {
                    f.location = Some(Location {
                        file: name.clone(),
                        line: role_arn.line,
                        column: None,
                    });
                    f.evidence.insert("trust_file".to_owned(), json!(role_file));
                }
                rows.push(row(&sa_ref, &role_name, role_file, &found));
                findings.extend(found);
            }
        }
        if rows.is_empty() {
            let names: Vec<String> = args.files.iter().map(|p| input::display_name(p)).collect();
            nothing = Some(if seen_accounts == 0 {
                format!(
                    "no service accounts found in {}: nothing was checked",
                    names.join(", ")
                )
            } else {
                format!(
                    "{seen_accounts} service account{} found in {}, none annotated with {}: nothing was checked",
                    if seen_accounts == 1 { "" } else { "s" },
                    names.join(", "),
                    irsa_role_annotation()
                )
            });
        }
    } else {
        return Err(CliError::Usage(
            "lint irsa needs --role-trust FILE --service-account NS/NAME [--issuer URL], \
             or manifests with eks.amazonaws.com/role-arn and --role get-role.json"
                .to_owned(),
        ));
    }
    let unchecked = rows
        .iter()
        .filter(|r| {
            r["result"]
                .as_str()
                .is_some_and(|t| t.starts_with("not checked"))
        })
        .count();
    let mut report = Report::new(findings);
    if let Some(n) = &nothing {
        report = report.with("note", n.clone().into());
    }
    match out.format {
        Format::Json => out.report(&report.with("service_accounts", json!(rows))),
        Format::Text => {
            match &nothing {
                Some(n) => out.print(&format!("{n}\n\n")),
                None => out.print(&render(&rows)),
            }
            if unchecked > 0 {
                out.print(&format!(
                    "{unchecked} of {} service account{} not checked (see RESULT)\n\n",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                ));
            }
            out.report(&report)
        }
        Format::Sarif => {
            out.print(&sarif::to_string(&report, None));
            Ok(report.exit_code())
        }
        Format::Ocsf | Format::Asff => out.report(&report),
    }
}

fn irsa_role_annotation() -> &'static str {
    eksdoctor_core::sts::ROLE_ARN_ANNOTATION
}

fn read_trust(path: &Path) -> Result<RoleTrust, CliError> {
    let text = input::read_text(path)?;
    trust::read(&text).map_err(|e| CliError::input(input::display_name(path), e))
}

/// `--issuer`, required: the trust policy's own provider cannot stand in for
/// the cluster's (a trust naming another cluster's provider would then pass).
/// The message names the providers the trust policy federates, to compare.
fn require_issuer(
    given: Option<&Issuer>,
    trust: &RoleTrust,
    file: &str,
) -> Result<Issuer, CliError> {
    if let Some(i) = given {
        return Ok(i.clone());
    }
    let named: Vec<String> = irsa::issuers_in(trust)
        .iter()
        .map(|i| format!("https://{}", i.host_path))
        .collect();
    let named = if named.is_empty() {
        "it names no OIDC provider".to_owned()
    } else {
        format!("it trusts {}", named.join(", "))
    };
    Err(CliError::Usage(format!(
        "--issuer URL is needed to check {file} ({named}); the cluster's issuer: \
         aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer --output text"
    )))
}

/// The role name for commands: get-role's RoleName, else the last part of an ARN.
fn role_name_of(trust: &RoleTrust, annotated_arn: Option<&str>) -> String {
    trust
        .role_name
        .clone()
        .or_else(|| {
            trust
                .role_arn
                .as_deref()
                .or(annotated_arn)
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "ROLE_NAME".to_owned())
}

fn find_role<'a>(roles: &'a [(String, RoleTrust)], arn: &str) -> Option<&'a (String, RoleTrust)> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    roles.iter().find(|(_, t)| {
        t.role_arn
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(arn))
            || t.role_name.as_deref() == Some(name)
    })
}

fn row(
    sa: &ServiceAccountRef,
    role: &str,
    trust_file: &str,
    found: &[Finding],
) -> serde_json::Value {
    let problems: Vec<&str> = found
        .iter()
        .filter_map(|f| {
            f.evidence
                .get("problem")
                .and_then(serde_json::Value::as_str)
        })
        .collect();
    json!({
        "service_account": format!("{}/{}", sa.namespace, sa.name),
        "role": role,
        "trust": trust_file,
        "result": if problems.is_empty() { "ok".to_owned() } else { problems.join(", ") },
    })
}

/// The SERVICE ACCOUNT / ROLE / RESULT table (`lint irsa`, `lint podid`);
/// empty when there are no rows.
pub(super) fn render(rows: &[serde_json::Value]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let cell = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("-").to_owned();
    let w0 = rows
        .iter()
        .map(|r| cell(r, "service_account").len())
        .max()
        .unwrap_or(0)
        .max(15);
    let w1 = rows
        .iter()
        .map(|r| cell(r, "role").len())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(out, "{:<w0$}  {:<w1$}  RESULT", "SERVICE ACCOUNT", "ROLE");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {}",
            cell(r, "service_account"),
            cell(r, "role"),
            cell(r, "result")
        );
    }
    out.push('\n');
    out
}
