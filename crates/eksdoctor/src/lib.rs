//! The `eksdoctor` command line: parses arguments, reads input, calls the
//! engine (`eksdoctor-core`), the live probes (`eksdoctor-aws`) or the
//! dashboard (`eksdoctor-tui`), and writes the report through the one
//! redacting output.

pub mod cli;
mod cmd;
pub mod error;
pub mod input;
pub mod output;
pub mod rule_pages;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Output;

/// Run the command line; returns the process exit status.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let out = Output::from_cli(&cli.global);
    match dispatch(&cli, &out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            e.exit_code()
        }
    }
}

fn dispatch(cli: &Cli, out: &Output) -> Result<i32, CliError> {
    match &cli.command {
        None => cmd::dashboard::run(cli, out),
        Some(Command::Explain(a)) => cmd::explain::run(a, out),
        Some(Command::Lint(l)) => match &l.target {
            cli::LintTarget::AwsAuth(a) => cmd::lint_aws_auth::run(a, out),
            cli::LintTarget::Sts(a) => cmd::lint_sts::run(a, &cli.global, out),
            cli::LintTarget::Irsa(a) => cmd::lint_irsa::run(a, out),
            cli::LintTarget::Kubeconfig(a) => cmd::lint_kubeconfig::run(a, &cli.global, out),
        },
        Some(Command::Policy(p)) => match &p.action {
            cli::PolicyCommand::Eval(a) => cmd::policy::run(a, out),
        },
        Some(Command::Keys(a)) => cmd::keys::run(a, &cli.global, out),
        Some(Command::Whoami) => cmd::whoami::run(&cli.global, out),
        Some(Command::Check(a)) => cmd::check::run(a, &cli.global, out),
        Some(Command::Rules(a)) => cmd::rules::run(a, out),
        Some(Command::Token(a)) => cmd::token::run(a, &cli.global, out),
    }
}
