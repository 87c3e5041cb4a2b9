//! `keys`.

use crate::error::CliError;
use crate::output::Output;

pub fn run(
    _args: &crate::cli::KeysArgs,
    _global: &crate::cli::GlobalArgs,
    _out: &Output,
) -> Result<i32, CliError> {
    Err(CliError::Usage(
        "`eksdoctor keys` is not implemented yet".to_owned(),
    ))
}
