//! `lint irsa`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(_args: &crate::cli::LintIrsaArgs, _out: &Output) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor lint irsa` is not implemented yet".to_owned(),
    ))
}
