//! `explain`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(_args: &crate::cli::ExplainArgs, _out: &Output) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor explain` is not implemented yet".to_owned(),
    ))
}
