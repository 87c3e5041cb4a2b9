//! `policy eval`: read the policy files, build one request, evaluate, explain.
//! Exit status: 0 allow, 1 explicit-deny / implicit-deny / indeterminate,
//! 2 bad input.

use std::path::Path;

use eksdoctor_core::policy::{
    self, Caller, Context, Policy, PolicyKind, PolicySet, Request, explain,
};

use crate::cli::{Format, PolicyEvalArgs};
use crate::error::CliError;
use crate::input;
use crate::output::Output;

pub fn run(args: &PolicyEvalArgs, out: &Output) -> Result<i32, CliError> {
    if out.format == Format::Sarif {
        return Err(CliError::Usage(
            "--format sarif is for the lint commands; use text or json".to_owned(),
        ));
    }
    let (set, req) = build(args)?;
    let ev = policy::evaluate(&set, &req);
    let reasons = explain::reasons(&set, &req, &ev);
    match out.format {
        Format::Json => {
            out.print(&explain::to_json(&set, &ev, &reasons));
        }
        _ => out.print(&explain::to_text(&set, &req, &ev, &reasons)),
    }
    Ok(ev.decision.exit_code())
}

/// The policy set and the request the arguments describe.
///
/// # Errors
/// Bad usage, unreadable or invalid policy files, bad --context or --caller.
pub fn build(args: &PolicyEvalArgs) -> Result<(PolicySet, Request), CliError> {
    if args.policy.is_empty() && args.trust.is_none() && args.resource_policy.is_none() {
        return Err(CliError::Usage(
            "policy eval needs policies: --policy FILE (repeats), or --trust FILE --caller ARN, or --resource-policy FILE".to_owned(),
        ));
    }
    if args.trust.is_some() && args.caller.is_none() {
        return Err(CliError::Usage(
            "--trust needs --caller ARN: whose access to the role should be checked?".to_owned(),
        ));
    }
    if args.trust.is_some() && args.resource_policy.is_some() {
        return Err(CliError::Usage(
            "--trust and --resource-policy are both resource-based policies: give one (the trust policy is the role's)".to_owned(),
        ));
    }
    let mut set = PolicySet::new();
    for p in &args.policy {
        set.add(load(p, PolicyKind::Identity)?);
    }
    if let Some(p) = &args.boundary {
        set.add(load(p, PolicyKind::PermissionsBoundary)?);
    }
    if let Some(p) = &args.session_policy {
        set.add(load(p, PolicyKind::Session)?);
    }
    for p in &args.scp {
        set.add(load(p, PolicyKind::ServiceControl)?);
    }
    for p in &args.rcp {
        set.add(load(p, PolicyKind::ResourceControl)?);
    }
    if let Some(p) = &args.resource_policy {
        set.add(load(p, PolicyKind::ResourceBased)?);
    }
    if let Some(p) = &args.trust {
        set.add(load(p, PolicyKind::Trust)?);
    }
    let action = args.action.trim();
    if action.is_empty() || (action != "*" && !action.contains(':')) {
        return Err(CliError::Usage(format!(
            "--action {action:?}: expected SERVICE:ACTION, e.g. eks:DescribeCluster"
        )));
    }
    let mut context = Context::new();
    context.set_all_absent(args.absent_keys);
    for c in &args.context {
        context
            .add_assignment(c)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    let federated = {
        let a = action.to_ascii_lowercase();
        a == "sts:assumerolewithwebidentity" || a == "sts:assumerolewithsaml"
    };
    let caller = args
        .caller
        .as_deref()
        .map(|c| Caller::parse(c, federated))
        .transpose()
        .map_err(|e| CliError::Usage(format!("--caller {e}")))?;
    let resource = args.resource.as_deref().unwrap_or("*");
    Ok((set, Request::new(action, resource, caller, context)))
}

fn load(path: &Path, kind: PolicyKind) -> Result<Policy, CliError> {
    let text = input::read_text(path)?;
    let name = input::display_name(path);
    Policy::parse(&name, kind, &text).map_err(|e| CliError::input(&name, e))
}
