//! `whoami`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(_global: &crate::cli::GlobalArgs, _out: &Output) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor whoami` is not implemented yet".to_owned(),
    ))
}
