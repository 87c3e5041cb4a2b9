//! What the live commands (`whoami`, `keys`, `check`) share: the runtime, the
//! live config from the global flags, and the exit-3 path when live probing
//! cannot run at all.

use std::time::Duration;

use eksdoctor_aws::{Live, LiveConfig, ProbeError};
use eksdoctor_core::report::Report;

use crate::cli::GlobalArgs;
use crate::error::CliError;
use crate::output::Output;

/// Exit status when live probing could not run at all.
pub const EXIT_LIVE: i32 = 3;

/// A multi-threaded tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
