//! `lint sts`: which STS endpoint each workload resolves to, and hard-coded
//! global-endpoint calls. The logic is `eksdoctor_core::sts`.

use eksdoctor_core::report::Report;
use eksdoctor_core::sarif;
use eksdoctor_core::snapshot::parse_k8s_version;
use eksdoctor_core::sts::{self, SourceFile, StsOptions};

use crate::cli::{Format, GlobalArgs, LintStsArgs};
use crate::error::CliError;
use crate::input;
use crate::output::Output;

pub fn run(args: &LintStsArgs, global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    let cluster_version = match &args.cluster_version {
        Some(v) => Some(parse_k8s_version(v).ok_or_else(|| {
            CliError::Usage(format!(
                "--cluster-version {v:?}: expected a Kubernetes version like 1.29"
            ))
        })?),
        None => None,
    };
    let region = global
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    let opts = StsOptions {
        cluster_version,
        region,
    };
    let mut files = Vec::new();
    for path in &args.files {
        let name = input::display_name(path);
        let text = input::read_text(path)?;
        files.push(SourceFile::classify(&name, text).map_err(|e| CliError::input(&name, e))?);
    }
    let rows = sts::resolve_all(&files, &opts);
    let report = Report::new(sts::rules::check(&files, &rows, &opts));
    match out.format {
        Format::Json => {
            let rows = serde_json::to_value(&rows).unwrap_or_default();
            out.report(&report.with("workloads", rows))
        }
        Format::Text => {
            out.print(&sts::render_table(&rows));
            out.report(&report)
        }
        Format::Sarif => {
            out.print(&sarif::to_string(&report, None));
            Ok(report.exit_code())
        }
    }
}
