//! `lint kubeconfig`: how kubectl will reach each EKS cluster and as whom,
//! offline. Files are read and merged by kube-rs's kubeconfig types
//! (`eksdoctor_kube::kubeconfig`); the rules are `eksdoctor_core::kubeconfig`.

use std::path::{Path, PathBuf};

use eksdoctor_core::kubeconfig::{self, Options};
use eksdoctor_core::report::Report;
use eksdoctor_core::sarif;
use eksdoctor_kube::kubeconfig as reader;

use crate::cli::{Format, GlobalArgs, LintKubeconfigArgs};
use crate::error::CliError;
use crate::input;
use crate::output::Output;

pub fn run(args: &LintKubeconfigArgs, global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    let (kc, source) = match &args.file {
        Some(path) => {
            let name = input::display_name(path);
            let text = input::read_text(path)?;
            let kc =
                reader::from_text(&text, &name).map_err(|e| CliError::input(&e.path, e.message))?;
            (kc, name)
        }
        None => {
            let env = std::env::var_os("KUBECONFIG");
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let paths = reader::default_paths(env.as_deref(), home.as_deref());
            let from_env = env.is_some_and(|v| !v.is_empty());
            let kc = reader::read_merged(&paths, from_env)
                .map_err(|e| CliError::input(&e.path, e.message))?;
            let shown = paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":");
            (kc, shown)
        }
    };
    let facts = reader::facts(&kc);
    let opts = Options {
        context: args.context.as_deref(),
        profile: global.profile.as_deref().filter(|p| !p.is_empty()),
        source: &source,
    };
    let report = Report::new(kubeconfig::lint(&facts, &opts, &on_path));
    match out.format {
        Format::Sarif => {
            out.print(&sarif::to_string(&report, Some(&source)));
            Ok(report.exit_code())
        }
        _ => out.report(&report),
    }
}

/// Whether kubectl could run `command`: a path that exists, or a name found on PATH.
fn on_path(command: &str) -> bool {
    if command.contains('/') || command.contains('\\') {
        return Path::new(command).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(command).is_file()))
}
