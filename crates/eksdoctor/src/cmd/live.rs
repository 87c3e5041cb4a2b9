//! What the live commands (`whoami`, `keys`, `check`) share: the runtime, the
//! live config from the global flags, and the exit-3 path when live probing
//! cannot run at all.

use std::time::Duration;

use eksdoctor_aws::{Live, LiveConfig, ProbeError};
use eksdoctor_core::arn::{Principal, PrincipalKind};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::report::Report;
use eksdoctor_core::snapshot::AccessKey;

use crate::cli::GlobalArgs;
use crate::error::CliError;
use crate::output::Output;

/// Exit status when live probing could not run at all.
pub const EXIT_LIVE: i32 = 3;

/// A multi-threaded tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // The main thread's size: deep SDK futures polled from a spawned
        // task must not overflow the 2 MiB default.
        .thread_stack_size(8 * 1024 * 1024)
        .enable_all()
        .build()
        .map_err(|e| CliError::Live(format!("cannot start the async runtime: {e}")))
}

/// The live config from the global flags.
#[must_use]
pub fn config(global: &GlobalArgs, probe_timeout: Option<Duration>) -> LiveConfig {
    let mut c = LiveConfig::new(
        global.profile.as_deref(),
        global.region.as_deref(),
        global.endpoint_url.as_deref(),
    );
    if let Some(t) = probe_timeout {
        c = c.probe_timeout(t);
    }
    c
}

/// Connect, or report why live probing cannot run: the creds/* finding as a
/// report (exit 3), or a plain error (no region, no network: exit 3).
pub async fn connect(config: &LiveConfig, out: &Output) -> Result<Result<Live, i32>, CliError> {
    match config.connect().await {
        Ok(live) => Ok(Ok(live)),
        Err(e) => fatal(&e, &config.credential_source().await, out).map(Err),
    }
}

/// Report a fatal probe error: creds/* findings print as a report and
/// return exit 3; anything else is a `CliError::Live`.
pub fn fatal(
    e: &ProbeError,
    source: &eksdoctor_aws::source::CredentialSource,
    out: &Output,
) -> Result<i32, CliError> {
    let findings = eksdoctor_aws::findings::for_connect_error(e, source);
    if findings.is_empty() {
        return Err(CliError::Live(match e {
            ProbeError::Unreachable(m) => format!("cannot reach AWS: {m}"),
            other => other.to_string(),
        }));
    }
    out.report(&Report::new(findings))?;
    Ok(EXIT_LIVE)
}

/// The identity probe (sts:GetCallerIdentity) did not answer: live probing
/// cannot run (exit 3), and the message says why.
#[must_use]
pub fn identity_failed(e: &ProbeError) -> CliError {
    CliError::Live(format!(
        "live probing could not run: the identity probe failed: {e}"
    ))
}

/// `keys` live: the keys of `user`, else of the caller (an IAM user).
/// A denied probe becomes creds/probe-denied in `findings` (the table is then
/// empty: unknown); credentials that do not work print their creds/* report
/// and fail with exit 3.
///
/// # Errors
/// Exit 3 when live probing cannot run; exit 2 when the caller is not an IAM
/// user and no `--user` was given.
pub fn load_keys(
    user: Option<&str>,
    global: &GlobalArgs,
    out: &Output,
    findings: &mut Vec<Finding>,
) -> Result<Vec<AccessKey>, CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        // The creds/* report is already printed: exit 3 without a second message.
        let cannot_run = || CliError::Reported(EXIT_LIVE);
        let config = config(global, None);
        let live = match connect(&config, out).await? {
            Ok(l) => l,
            Err(_) => return Err(cannot_run()),
        };
        let id = match eksdoctor_aws::sts::caller_identity(&live).await {
            Ok(id) => id,
            Err(e) if e.is_fatal() => {
                fatal(&e, live.credential_source(), out)?;
                return Err(cannot_run());
            }
            Err(e) => return Err(identity_failed(&e)),
        };
        let user = match user {
            Some(u) => u.to_owned(),
            None if id.kind == PrincipalKind::User => Principal::parse(&id.arn)
                .map(|p| p.name)
                .map_err(|e| CliError::Live(e.to_string()))?,
            None => {
                return Err(CliError::Usage(format!(
                    "the caller is {} ({}), not an IAM user: pass --user NAME to list a user's keys",
                    id.arn, id.kind
                )));
            }
        };
        findings.extend(eksdoctor_aws::findings::long_term_credentials(
            &id,
            live.access_key_id(),
        ));
        match eksdoctor_aws::iam::access_keys(&live, Some(&user)).await {
            Ok(keys) => Ok(keys),
            Err(e @ ProbeError::Denied { .. }) => {
                findings.extend(eksdoctor_aws::findings::probe_denied(&[e]));
                Ok(Vec::new())
            }
            Err(ProbeError::NotFound(_)) => Err(CliError::Usage(format!("no IAM user {user:?}"))),
            Err(e) if e.is_fatal() => {
                fatal(&e, live.credential_source(), out)?;
                Err(cannot_run())
            }
            Err(e) => Err(CliError::Live(format!("listing {user}'s access keys: {e}"))),
        }
    })
}
