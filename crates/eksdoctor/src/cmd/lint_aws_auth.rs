//! `lint aws-auth`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(_args: &crate::cli::LintAwsAuthArgs, _out: &Output) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor lint aws-auth` is not implemented yet".to_owned(),
    ))
}
