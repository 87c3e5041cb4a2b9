//! `check`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(
    _args: &crate::cli::CheckArgs,
    _global: &crate::cli::GlobalArgs,
    _out: &Output,
) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor check` is not implemented yet".to_owned(),
    ))
}
