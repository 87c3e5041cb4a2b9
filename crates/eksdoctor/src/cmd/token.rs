//! `token`: the EKS bearer token as an ExecCredential, so eksdoctor can be a
//! kubeconfig exec plugin in place of `aws eks get-token`.
//!
//! This is the one command whose stdout carries a secret on purpose: the
//! ExecCredential is written straight to stdout (kubectl reads it there), not
//! through the redacting [`Output`]; every message, error included, still
//! goes through it.

use std::io::Write as _;

use crate::cli::{GlobalArgs, TokenArgs};
use crate::cmd::live;
use crate::error::CliError;
use crate::output::Output;

pub fn run(args: &TokenArgs, global: &GlobalArgs, _out: &Output) -> Result<i32, CliError> {
    let cluster = args.cluster.trim();
    if cluster.is_empty() {
        return Err(CliError::Usage(
            "--cluster must name the cluster".to_owned(),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Live(format!("cannot start the async runtime: {e}")))?;
    let config = live::config(global, None);
    let token = rt
        .block_on(eksdoctor_aws::token::token(
            &config,
            cluster,
            args.role_arn.as_deref(),
        ))
        .map_err(|e| CliError::Live(format!("cannot build the EKS token: {e}")))?;
    let info = std::env::var("KUBERNETES_EXEC_INFO").ok();
    let credential = token.exec_credential(eksdoctor_aws::token::exec_api_version(info.as_deref()));
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{credential}")
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::Live(format!("cannot write the ExecCredential: {e}")))?;
    Ok(0)
}
