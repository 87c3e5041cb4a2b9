//! `keys`: access-key hygiene from saved `aws iam list-access-keys` JSON and
//! the credential report. All rule logic lives in `eksdoctor_core::keys`; the
//! live probes will feed the same [`AccessKey`] values through [`load_keys`].

use eksdoctor_core::finding::Finding;
use eksdoctor_core::keys::{self, AccessKey, KeyPolicy, saved};
use eksdoctor_core::report::Report;

use crate::cli::{Format, GlobalArgs, KeysArgs};
use crate::error::CliError;
use crate::input;
use crate::output::Output;

pub fn run(args: &KeysArgs, global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    let now = match &args.now {
        Some(t) => keys::credential_report::parse_timestamp(t)
            .map_err(|m| CliError::Usage(format!("--now: {m}")))?,
        None => jiff::Timestamp::now(),
    };
    let policy = KeyPolicy {
        max_age_days: args.max_age_days,
        unused_days: args.unused_days,
        now,
    };
    let mut findings = Vec::new();
    let mut all = load_keys(args, global, out, &mut findings)?;
    if let Some(user) = &args.user {
        all.retain(|k| &k.user_name == user);
    }
    let users = keys::table::summarize(&all, &policy);
    findings.extend(keys::check(&all, &policy));
    let report = Report::new(findings);
    match out.format {
        Format::Json => {
            let users = serde_json::to_value(&users).unwrap_or_default();
            out.report(&report.with("users", users))
        }
        _ => {
            if out.format == Format::Text {
                out.print(&keys::table::render(&users));
            }
            out.report(&report)
        }
    }
}

/// The keys to check: from `--input` files, or live from IAM (ListAccessKeys
/// and GetAccessKeyLastUsed for `--user`, else the caller's own user).
///
/// # Errors
/// An unreadable or malformed input (exit 2); live probing that cannot run (exit 3).
/// Findings about the inputs themselves (a secret in a file) go to `findings`.
pub fn load_keys(
    args: &KeysArgs,
    global: &GlobalArgs,
    out: &Output,
    findings: &mut Vec<Finding>,
) -> Result<Vec<AccessKey>, CliError> {
    if args.input.is_empty() {
        return crate::cmd::live::load_keys(args.user.as_deref(), global, out, findings);
    }
    let mut all = saved::SavedKeys::default();
    for path in &args.input {
        let text = input::read_text(path)?;
        let name = input::display_name(path);
        let one = saved::read(&text).map_err(|e| CliError::input(&name, e))?;
        for id in &one.paired_with_secret {
            out.taint(id);
            findings.push(keys::rules::secret_in_input(id, &name));
        }
        all.extend(one);
    }
    Ok(keys::merge::combine(&all))
}
