//! `check --org`: the fleet run. Lists the organization's active accounts
//! (or takes `--accounts`), assumes the read-only role in each, runs every
//! probe of `check --all-clusters` and reads the credential report, all
//! under one `--concurrency` bound, and prints one report: the accounts
//! table first.

use std::io::IsTerminal as _;
use std::time::Duration;

use eksdoctor_aws::fleet::{self, AccountTarget, FleetOptions};
use eksdoctor_aws::{ProbeError, RegionSelection};
use eksdoctor_core::fleet::FleetReport;
use eksdoctor_core::fleet::accounts::parse_account_list;
use eksdoctor_core::keys::KeyPolicy;

use crate::cli::{CheckArgs, Format, GlobalArgs, OrgArgs};
use crate::cmd::live;
use crate::error::CliError;
use crate::output::Output;

/// The accounts `--accounts` / `--accounts-file` name (`None`: the whole organization).
fn listed_accounts(org: &OrgArgs) -> Result<Option<Vec<String>>, CliError> {
    if let Some(path) = &org.accounts_file {
        let text = crate::input::read_text(path)?;
        return parse_account_list(&text)
            .map(Some)
            .map_err(|e| CliError::input(path.display().to_string(), e.to_string()));
    }
    if org.accounts.is_empty() {
        return Ok(None);
    }
    parse_account_list(&org.accounts.join(","))
        .map(Some)
        .map_err(|e| CliError::Usage(format!("--accounts: {}", e.message)))
}

/// AWS's character rules for RoleSessionName (2-64 of `[\w+=,.@-]`),
/// ExternalId (2-1224 of `[\w+=,.@:/-]`) and a role name with its path.
fn check_names(org: &OrgArgs) -> Result<(), CliError> {
    let ok = |s: &str, extra: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) || extra.contains(c))
    };
    let n = org.session_name.chars().count();
    if !(2..=64).contains(&n) || !ok(&org.session_name, "") {
        return Err(CliError::Usage(format!(
            "--session-name {:?}: AWS takes 2 to 64 characters of letters, digits and _+=,.@-",
            org.session_name
        )));
    }
    if let Some(x) = &org.external_id {
        let n = x.chars().count();
        if !(2..=1224).contains(&n) || !ok(x, ":/") {
            return Err(CliError::Usage(
                "--external-id: AWS takes 2 to 1224 characters of letters, digits and _+=,.@:/-"
                    .to_owned(),
            ));
        }
    }
    let role = org.role_name.trim_matches('/');
    if role.is_empty() || role.len() > 512 || !ok(role, "/") {
        return Err(CliError::Usage(format!(
            "--role-name {:?}: a role name (letters, digits and _+=,.@-), optionally with its path",
            org.role_name
        )));
    }
    Ok(())
}

pub fn run(args: &CheckArgs, global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    let org = &args.org;
    check_names(org)?;
    let listed = listed_accounts(org)?;
    let regions =
        eksdoctor_aws::regions::parse_selection(&args.regions).map_err(CliError::Usage)?;
    let rt = live::runtime()?;
    rt.block_on(async {
        let mut config = live::config(global, Some(Duration::from_secs(u64::from(args.timeout))));
        if config.region.is_none()
            && let RegionSelection::List(l) = &regions
        {
            config.region = l.first().cloned();
        }
        let management = match live::connect(&config, out).await? {
            Ok(l) => l,
            Err(code) => return Ok(code),
        };
        let targets = match listed {
            Some(ids) => {
                // Names when the organization answers; the listed ids either way.
                let names = fleet::list_accounts(&management).await.unwrap_or_default();
                ids.into_iter()
                    .map(|id| AccountTarget {
                        name: names
                            .iter()
                            .find(|a| a.id == id)
                            .and_then(|a| a.name.clone()),
                        id,
                    })
                    .collect()
            }
            None => match fleet::list_accounts(&management).await {
                Ok(t) => t,
                Err(e) => return Err(list_failed(&e)),
            },
        };
        let options = FleetOptions {
            role_name: org.role_name.trim_matches('/').to_owned(),
            external_id: org.external_id.clone(),
            session_name: org.session_name.clone(),
            regions,
            concurrency: usize::from(args.concurrency),
            keys: true,
        };
        if std::io::stderr().is_terminal() {
            out.eprint(&format!(
                "eksdoctor: checking {} account{} as {} ...",
                targets.len(),
                if targets.len() == 1 { "" } else { "s" },
                options.role_name
            ));
        }
        let run = fleet::run(&config, &management, targets, &options).await;
        let report = FleetReport::build(
            run.accounts,
            run.throttles,
            &KeyPolicy::new(jiff::Timestamp::now()),
        );
        match out.format {
            Format::Text => out.print(&report.to_text(out.style())),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&report.to_json_value())
                    .unwrap_or_else(|_| "{}".to_owned());
                s.push('\n');
                out.print(&s);
            }
            Format::Sarif => {
                return Err(CliError::Usage(
                    "--format sarif is for the lint commands".to_owned(),
                ));
            }
        }
        Ok(i32::from(report.has_errors()))
    })
}

/// ListAccounts failed and no `--accounts` was given: nothing to check (exit 3).
fn list_failed(e: &ProbeError) -> CliError {
    match e {
        ProbeError::Denied { .. } => CliError::Live(format!(
            "cannot list the organization's accounts: {e}. Run from the management account or a \
             delegated administrator (aws organizations register-delegated-administrator), or name \
             the accounts with --accounts ID,ID / --accounts-file FILE"
        )),
        other => CliError::Live(format!(
            "cannot list the organization's accounts: {other}. Name them with --accounts ID,ID to \
             run without organizations:ListAccounts"
        )),
    }
}
