//! `lint podid`: EKS Pod Identity from saved output and files. Role trust
//! policies (`--trust`, matched to associations by role ARN), associations
//! (`--associations`), the agent add-on (`--addon`), target-role trust
//! (`--target-trust`) and the association role's permission policies
//! (`--policy`), and manifests. The logic is `eksdoctor_core::podid`.

use std::fmt::Write as _;
use std::path::Path;

use eksdoctor_core::finding::Finding;
use eksdoctor_core::irsa::trust;
use eksdoctor_core::k8s;
use eksdoctor_core::podid::{
    self, Addons, Association, Cluster, RoleTrust, ServiceAccountInfo, WorkloadInfo,
};
use eksdoctor_core::report::Report;
use eksdoctor_core::sarif;
use serde_json::{Value, json};

use crate::cli::{Format, LintPodidArgs};
use crate::error::CliError;
use crate::input;
use crate::output::Output;

/// A role read from `--trust` / `--target-trust`.
struct Role {
    file: String,
    name: String,
    arn: Option<String>,
    document: Value,
    tags: Vec<String>,
}

impl Role {
    fn matches(&self, arn: &str) -> bool {
        match &self.arn {
            Some(a) => a.eq_ignore_ascii_case(arn),
            // A bare trust policy file: matched by the role name.
            None => arn.rsplit('/').next() == Some(self.name.as_str()),
        }
    }

    fn view(&self) -> RoleTrust<'_> {
        RoleTrust {
            file: &self.file,
            document: &self.document,
            name: self.name.clone(),
            arn: self.arn.clone(),
        }
    }
}

fn read_role(path: &Path) -> Result<Role, CliError> {
    let file = input::display_name(path);
    let text = input::read_text(path)?;
    let t = trust::read(&text).map_err(|e| CliError::input(&file, e))?;
    let tags = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}'))
        .ok()
        .and_then(|v| v["Role"]["Tags"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t["Key"].as_str().map(str::to_owned))
        .collect();
    let name = t
        .role_name
        .clone()
        .or_else(|| {
            t.role_arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            path.file_stem().map_or_else(
                || "ROLE_NAME".to_owned(),
                |s| s.to_string_lossy().into_owned(),
            )
        });
    Ok(Role {
        file,
        name,
        arn: t.role_arn,
        document: t.document,
        tags,
    })
}

fn parse_subject(text: &str) -> Result<(String, String), CliError> {
    match text.split_once('/') {
        Some((ns, sa)) if !ns.is_empty() && !sa.is_empty() && !sa.contains('/') => {
            Ok((ns.to_owned(), sa.to_owned()))
        }
        _ => Err(CliError::Usage(format!(
            "--service-account {text:?}: expected NAMESPACE/NAME"
        ))),
    }
}

pub fn run(args: &LintPodidArgs, out: &Output) -> Result<i32, CliError> {
    if args.trust.is_empty()
        && args.associations.is_empty()
        && args.addon.is_empty()
        && args.files.is_empty()
    {
        return Err(CliError::Usage(
            "lint podid needs input: --trust FILE (role trust or get-role), --associations FILE \
             (list-/describe-pod-identity-association), --addon FILE (describe-addon / list-addons), \
             or manifests"
                .to_owned(),
        ));
    }
    let mut cluster = match &args.cluster_arn {
        Some(a) => {
            Cluster::from_arn(a).map_err(|m| CliError::Usage(format!("--cluster-arn {m}")))?
        }
        None => Cluster::default(),
    };
    let wanted = args
        .service_account
        .as_deref()
        .map(parse_subject)
        .transpose()?;

    let mut assocs: Vec<Association> = Vec::new();
    for path in &args.associations {
        let name = input::display_name(path);
        let text = input::read_text(path)?;
        for a in podid::read_associations(&text).map_err(|e| CliError::input(&name, e))? {
            podid::reader::add(&mut assocs, a);
        }
    }
    for a in &assocs {
        cluster.learn(a);
    }
    let mut addons = Addons::default();
    for path in &args.addon {
        let name = input::display_name(path);
        let text = input::read_text(path)?;
        addons.extend(podid::read_addons(&text).map_err(|e| CliError::input(&name, e))?);
    }
    let roles = args
        .trust
        .iter()
        .map(|p| read_role(p))
        .collect::<Result<Vec<_>, _>>()?;
    let targets = args
        .target_trust
        .iter()
        .map(|p| read_role(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut policies: Vec<(String, Value)> = Vec::new();
    for path in &args.policy {
        let name = input::display_name(path);
        let text = input::read_text(path)?;
        let v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            CliError::input(
                &name,
                format!(
                    "line {}, column {}: invalid JSON: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        policies.push((name, v));
    }
    let mut accounts = Vec::new();
    let mut workloads = Vec::new();
    for path in &args.files {
        let name = input::display_name(path);
        let text = input::read_text(path)?;
        let m = k8s::read_manifests(&text).map_err(|e| CliError::input(&name, e))?;
        for sa in &m.service_accounts {
            accounts.push(ServiceAccountInfo {
                namespace: sa.meta.namespace_or_default().to_owned(),
                name: sa.meta.name.clone(),
                irsa_role: sa
                    .meta
                    .annotation(podid::IRSA_ANNOTATION)
                    .map(|a| a.value.clone()),
                file: name.clone(),
                line: sa.line,
            });
        }
        for hint in podid::read_compute(&text).map_err(|e| CliError::input(&name, e))? {
            workloads.push(WorkloadInfo {
                hint,
                file: name.clone(),
            });
        }
    }

    let mut findings: Vec<Finding> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut rows: Vec<Value> = Vec::new();
    let wanted_ref = wanted.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
    let policy_refs: Vec<&Value> = policies.iter().map(|(_, v)| v).collect();

    // Trust of each association's role, and its target-role chain.
    let mut used_roles = vec![false; roles.len()];
    for a in &assocs {
        let mut found = Vec::new();
        let role = a
            .role_arn
            .as_deref()
            .and_then(|arn| roles.iter().position(|r| r.matches(arn)))
            .or_else(|| {
                (roles.len() == 1
                    && assocs.len() == 1
                    && (a.role_arn.is_none() || roles[0].arn.is_none()))
                .then_some(0)
            });
        let subject = (a.namespace.as_str(), a.service_account.as_str());
        if let Some(i) = role {
            used_roles[i] = true;
            let r = &roles[i];
            let t = podid::check_trust(&r.view(), &cluster, Some(subject), !a.disable_session_tags)
                .map_err(|m| CliError::input(&r.file, m))?;
            notes.extend(t.undecided.iter().map(|u| format!("{}: {u}", a.subject())));
            found.extend(t.findings);
        }
        if let Some(target) = &a.target_role_arn {
            let tt = targets.iter().find(|r| r.matches(target));
            let t = podid::check_cross_account(
                a,
                tt.map(|r| (r.file.as_str(), &r.document)),
                &policies,
            )
            .map_err(|m| CliError::Input {
                path: "--target-trust/--policy".to_owned(),
                message: m,
            })?;
            notes.extend(t.undecided.iter().cloned());
            found.extend(t.findings);
            if policies.is_empty() && tt.is_some() {
                notes.push(format!(
                    "{}: the association role's permission policies were not given (--policy): assumed to allow sts:AssumeRole on {target}",
                    a.subject()
                ));
            }
        }
        let role_tags = role.map(|i| roles[i].tags.clone()).unwrap_or_default();
        let tags = podid::session_tags(&policy_refs, a.disable_session_tags, &role_tags);
        if a.disable_session_tags && !policies.is_empty() {
            let lost: Vec<&String> = tags
                .not_set
                .iter()
                .filter(|t| {
                    podid::SESSION_TAGS
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(t))
                })
                .collect();
            if !lost.is_empty() {
                notes.push(format!(
                    "{}: session tags are disabled on this association, but the policies rely on {}",
                    a.subject(),
                    lost.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        rows.push(json!({
            "service_account": a.subject(),
            "role": a.role_arn,
            "target_role": a.target_role_arn,
            "result": result_of(&found, role.is_some() || a.target_role_arn.is_some()),
            "session_tags": {"relied_on_set": tags.set, "relied_on_not_set": tags.not_set},
        }));
        findings.extend(found);
    }
    // Trust files no association names: check them on their own.
    for (i, r) in roles.iter().enumerate() {
        if used_roles[i] {
            continue;
        }
        let t = podid::check_trust(&r.view(), &cluster, wanted_ref, true)
            .map_err(|m| CliError::input(&r.file, m))?;
        notes.extend(t.undecided.iter().map(|u| format!("{}: {u}", r.name)));
        rows.push(json!({
            "service_account": wanted.as_ref().map(|(n, s)| format!("{n}/{s}")),
            "role": r.arn.clone().unwrap_or_else(|| r.name.clone()),
            "target_role": null,
            "result": result_of(&t.findings, true),
            "session_tags": null,
        }));
        findings.extend(t.findings);
    }
    if !policies.is_empty() {
        let tags = podid::session_tags(&policy_refs, false, &[]);
        if !tags.not_set.is_empty() {
            notes.push(format!(
                "the permission policies rely on principal tags Pod Identity does not set: {} (they match nothing unless the role itself carries those tags); it sets {}",
                tags.not_set.join(", "),
                podid::SESSION_TAGS.join(", ")
            ));
        }
    }
    let known = (!args.associations.is_empty()).then_some(assocs.as_slice());
    findings.extend(podid::check_associations(
        known, &accounts, &workloads, &cluster, wanted_ref,
    ));
    let self_managed = workloads.iter().any(|w| w.hint.agent_daemonset);
    findings.extend(podid::check_agent(&addons, self_managed, &cluster));

    let report = Report::new(findings);
    match out.format {
        Format::Json => out.report(
            &report
                .with("associations", json!(rows))
                .with("notes", json!(notes)),
        ),
        Format::Text => {
            out.print(&render(&rows, &notes));
            out.report(&report)
        }
        Format::Sarif => {
            out.print(&sarif::to_string(&report, None));
            Ok(report.exit_code())
        }
        Format::Ocsf | Format::Asff => out.report(&report),
    }
}

fn result_of(found: &[Finding], checked: bool) -> String {
    if !checked {
        return "trust not checked: pass the role's get-role output with --trust".to_owned();
    }
    if found.is_empty() {
        return "ok".to_owned();
    }
    found
        .iter()
        .map(|f| {
            f.evidence
                .get("problem")
                .and_then(Value::as_str)
                .map_or_else(|| f.rule.to_owned(), |p| format!("{} ({p})", f.rule))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(rows: &[Value], notes: &[String]) -> String {
    let mut out = super::lint_irsa::render(rows);
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    if !notes.is_empty() {
        out.push('\n');
    }
    out
}
