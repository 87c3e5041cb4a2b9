//! `check --org`: the fleet run. Lists the organization's active accounts
//! (or takes `--accounts`), assumes the read-only role in each, runs every
//! probe of `check --all-clusters` and reads the credential report, all
//! under one `--concurrency` bound, and prints one report: the accounts
//! table first.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::Duration;

use eksdoctor_aws::fleet::{self, AccountTarget, FleetOptions};
use eksdoctor_aws::{ProbeError, RegionSelection};
use eksdoctor_core::fleet::FleetReport;
use eksdoctor_core::fleet::accounts::parse_account_list;
use eksdoctor_core::keys::{AccessKey, KeyPolicy};
use eksdoctor_core::snapshot::{Probe, ProbeUpdate};
use eksdoctor_tui::fleet::{FleetAccount, FleetView};
use eksdoctor_tui::{Feed, FeedSink, FeedSource};

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
    let previous = crate::export_out::load_previous(args.previous.as_deref(), out.format)?;
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
        // The management account's calls (ListAccounts, AssumeRole) are paced
        // and counted like the members'.
        let throttles = std::sync::Arc::new(eksdoctor_aws::fleet_pace::ThrottleCounter::default());
        let config = config.http_client(eksdoctor_aws::fleet_pace::PacedClient::wrap(
            eksdoctor_aws::config::https_client(),
            throttles.clone(),
        ));
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
                // AWS always lists the management account; nothing means no organization.
                Ok(t) if t.is_empty() => {
                    return Err(CliError::Live(
                        "cannot list the organization's accounts: ListAccounts returned no active \
                         account (is this account in an organization?). Name the accounts with \
                         --accounts ID,ID / --accounts-file FILE"
                            .to_owned(),
                    ));
                }
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
            throttles,
            follow_up: super::check_kube::fleet_prober(args)?,
        };
        if std::io::stderr().is_terminal() {
            out.eprint(&format!(
                "eksdoctor: checking {} account{} as {} ...",
                targets.len(),
                if targets.len() == 1 { "" } else { "s" },
                options.role_name
            ));
        }
        let mut run = fleet::run(&config, &management, targets, &options).await;
        let keys: BTreeMap<String, Vec<AccessKey>> = run
            .accounts
            .iter()
            .filter_map(|a| Some((a.account_id.clone(), a.keys.clone()?)))
            .collect();
        let snapshots = std::mem::take(&mut run.snapshots);
        let report = FleetReport::build(
            run.accounts,
            run.throttles,
            &KeyPolicy::new(jiff::Timestamp::now()),
        );
        // An account not checked this time keeps its previous findings open,
        // and so does what a probe could not see in a checked account.
        let mut previous = previous;
        if let Some(p) = previous.as_mut() {
            for a in &report.accounts {
                if a.status != "ok" {
                    p.hold_account(&a.account_id);
                    continue;
                }
                if let Some(snap) = snapshots.get(&a.account_id) {
                    crate::export_out::hold_unseen(p, &a.account_id, snap);
                }
                if !keys.contains_key(&a.account_id) {
                    p.hold_scope(&a.account_id, None, None, Some("keys/"));
                }
            }
        }
        if org.dashboard {
            return dashboard(&report, &snapshots, &keys, global, out).await;
        }
        match out.format {
            Format::Text => out.print(&report.to_text(out.style())),
            Format::Json => out.print(&crate::export_out::fleet_json(&report, previous.as_ref())),
            Format::Ocsf | Format::Asff => {
                let home = config
                    .region
                    .clone()
                    .unwrap_or_else(|| crate::export_out::FALLBACK_REGION.to_owned());
                let ctx = crate::export_out::context(out, &home);
                if let Some(text) = crate::export_out::render(
                    out.format,
                    &report.scoped_findings(),
                    &ctx,
                    previous.as_ref(),
                ) {
                    out.print(&text);
                }
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

/// `--dashboard`: the fleet run in the dashboard. Each account's panels
/// replay its round (identity, regions, clusters), its credential-report
/// keys and its findings; nothing is probed again from the dashboard.
async fn dashboard(
    report: &FleetReport,
    snapshots: &BTreeMap<String, eksdoctor_aws::LiveSnapshot>,
    keys: &BTreeMap<String, Vec<AccessKey>>,
    global: &GlobalArgs,
    out: &Output,
) -> Result<i32, CliError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "--dashboard needs a terminal; without it check --org prints the report".to_owned(),
        ));
    }
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = eksdoctor_tui::Options {
        color: !global.no_color
            && !no_color_env
            && std::env::var("TERM").ok().as_deref() != Some("dumb"),
        ascii: global.ascii || eksdoctor_tui::theme::ascii_wanted(|k| std::env::var(k).ok()),
        demo: false,
        now: jiff::Timestamp::now(),
        rotation_days: 90,
    };
    let accounts = report
        .accounts
        .iter()
        .map(|a| {
            let mut feed: Vec<Feed> = snapshots
                .get(&a.account_id)
                .map(fleet::replay)
                .unwrap_or_default()
                .into_iter()
                .map(Feed::from)
                .collect();
            if let Some(k) = keys.get(&a.account_id) {
                feed.push(ProbeUpdate::AccessKeys(Probe::Ready(k.clone())).into());
            }
            let findings = a
                .scoped_findings()
                .into_iter()
                .map(|s| s.finding.clone())
                .collect();
            feed.push(ProbeUpdate::Findings(findings).into());
            feed.push(ProbeUpdate::Done.into());
            FleetAccount::from_report(a, feed)
        })
        .collect();
    let mut app = eksdoctor_tui::App::new(options);
    app.redactor = out.redactor();
    app.set_fleet(FleetView::new(accounts, report.throttles.total));
    let exit = eksdoctor_tui::tui::run(app, Box::new(Replayed), None)
        .await
        .map_err(|e| CliError::Usage(format!("terminal: {e}")))?;
    Ok(exit.code())
}

/// The fleet dashboard's source: everything was fed before it started.
struct Replayed;

impl FeedSource for Replayed {
    fn start(&mut self, _sink: FeedSink) {}
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
