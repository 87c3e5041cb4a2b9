//! The `eksdoctor` command line: parses arguments, reads input, calls the
//! engine (`eksdoctor-core`), the live probes (`eksdoctor-aws`) or the
//! dashboard (`eksdoctor-tui`), and writes the report through the one
//! redacting output.

pub mod cli;
mod cmd;
pub mod error;
pub mod export_out;
pub mod input;
pub mod output;
pub mod rule_pages;

/// `eksdoctor --version`: the version, the git commit and whether the tree
/// had uncommitted changes (set by build.rs).
pub const VERSION: &str = env!("EKSDOCTOR_VERSION");

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
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let mut cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            if code != 0 && wants_json(&args) {
                let text = e.to_string();
                let message = text
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                print!("{}", output::error_json("usage", message, code));
            }
            return code;
        }
    };
    cli.resolve_aws();
    let out = Output::from_cli(&cli.global);
    let result = if cli.global.format == cli::Format::Sarif && !has_sarif(cli.command.as_ref()) {
        Err(CliError::Usage(
            "--format sarif is for the lint commands (lint aws-auth, lint sts, lint irsa); use text or json"
                .to_owned(),
        ))
    } else if cli.global.format.is_export() && !matches!(cli.command, Some(Command::Check(_))) {
        Err(export_out::not_here())
    } else {
        dispatch(&cli, &out)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // With --format json this also prints the error object on stdout.
            out.error(&e);
            e.exit_code()
        }
    }
}

/// `--format json` or `--format=json` among raw arguments (for errors
/// before the arguments parse).
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json")
}

/// The commands with a SARIF rendering: the lint commands.
fn has_sarif(command: Option<&Command>) -> bool {
    matches!(command, Some(Command::Lint(_)))
}

fn dispatch(cli: &Cli, out: &Output) -> Result<i32, CliError> {
    if cli.command.is_some()
        && (cli.global.session_policy.is_some() || !cli.global.context.is_empty())
    {
        return Err(CliError::Usage(
            "--session-policy and --context before a command are the dashboard's: give them after `explain --live`".to_owned(),
        ));
    }
    match &cli.command {
        None => cmd::dashboard::run(cli, out),
        Some(Command::Explain(a)) if a.live => cmd::explain_live::run(a, &cli.global, out),
        Some(Command::Explain(a)) => cmd::explain::run(a, out),
        Some(Command::Lint(l)) => match &l.target {
            cli::LintTarget::AwsAuth(a) => cmd::lint_aws_auth::run(a, out),
            cli::LintTarget::Sts(a) => cmd::lint_sts::run(a, &cli.global, out),
            cli::LintTarget::Irsa(a) => cmd::lint_irsa::run(a, out),
            cli::LintTarget::Podid(a) => cmd::lint_podid::run(a, out),
            cli::LintTarget::Kubeconfig(a) => cmd::lint_kubeconfig::run(a, &cli.global, out),
        },
        Some(Command::Policy(p)) => match &p.action {
            cli::PolicyCommand::Eval(a) => cmd::policy::run(a, out),
        },
        Some(Command::Keys(a)) => cmd::keys::run(a, &cli.global, out),
        Some(Command::Whoami(_)) => cmd::whoami::run(&cli.global, out),
        Some(Command::Check(a)) => cmd::check::run(a, &cli.global, out),
        Some(Command::Rules(a)) => cmd::rules::run(a, out),
        Some(Command::Completions(a)) => cmd::completions::run(a, out),
        Some(Command::Man(a)) => cmd::completions::man(a, out),
        Some(Command::Token(a)) => cmd::token::run(a, &cli.global, out),
    }
}
