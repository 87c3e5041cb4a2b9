//! `policy eval`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(_args: &crate::cli::PolicyEvalArgs, _out: &Output) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor policy eval` is not implemented yet".to_owned(),
    ))
}
