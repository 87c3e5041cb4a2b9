//! `(dashboard)`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(_cli: &crate::cli::Cli, _out: &Output) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor (dashboard)` is not implemented yet".to_owned(),
    ))
}
