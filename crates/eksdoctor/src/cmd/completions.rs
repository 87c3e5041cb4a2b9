//! `completions SHELL` prints a completion script and `man DIR` writes the
//! man pages, so an operator who copied only the binary (or ran `cargo
//! install`) can still install both; `cargo xtask dist` ships both, made by
//! the shipped binary itself.

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionShell, CompletionsArgs, ManArgs};
use crate::error::CliError;
use crate::output::Output;

pub fn run(args: &CompletionsArgs, out: &Output) -> Result<i32, CliError> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "eksdoctor", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| CliError::Usage(format!("completion script is not UTF-8: {e}")))?;
    out.print(&script);
    Ok(0)
}

pub fn man(args: &ManArgs, out: &Output) -> Result<i32, CliError> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).map_err(|e| CliError::input(dir.display(), e))?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(|e| CliError::input(dir.display(), e))?;
    out.eprint(&format!("man pages written to {}", dir.display()));
    Ok(0)
}
