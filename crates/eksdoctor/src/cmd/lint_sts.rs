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
    // A directory is walked for manifests, AWS config files and source files.
    let paths = input::expand(&args.files, walked)?;
    let mut files = Vec::new();
    for path in &paths {
        let name = input::display_name(path);
        let text = input::read_text(path)?;
        files.push(SourceFile::classify(&name, text).map_err(|e| CliError::input(&name, e))?);
    }
    let rows = sts::resolve_all(&files, &opts);
    let report = Report::new(sts::rules::check(&files, &rows, &opts));
    // Nothing to resolve must not read as "all fine".
    let nothing = rows.is_empty().then(|| {
        let names: Vec<String> = args.files.iter().map(|p| input::display_name(p)).collect();
        if paths.is_empty() {
            format!("no files to read in {}", names.join(", "))
        } else {
            format!(
                "no workloads found in {} ({} file{} read): no endpoint was resolved",
                names.join(", "),
                paths.len(),
                if paths.len() == 1 { "" } else { "s" }
            )
        }
    });
    match out.format {
        Format::Json => {
            let rows = serde_json::to_value(&rows).unwrap_or_default();
            let mut report = report.with("workloads", rows);
            if let Some(n) = nothing {
                report = report.with("note", n.into());
            }
            out.report(&report)
        }
        Format::Text => {
            match nothing {
                Some(n) => out.print(&format!("{n}\n\n")),
                None => out.print(&sts::render_table(&rows)),
            }
            out.report(&report)
        }
        Format::Sarif => {
            out.print(&sarif::to_string(&report, None));
            Ok(report.exit_code())
        }
        Format::Ocsf | Format::Asff => out.report(&report),
    }
}

/// What a directory walk reads: manifests (`.yaml`, `.yml`, `.json`), AWS
/// config files (`config`, `credentials`, `*.ini`, `*.cfg`) and source files
/// that may hard-code an STS endpoint.
fn walked(p: &std::path::Path) -> bool {
    const SOURCE: &[&str] = &[
        "py",
        "go",
        "js",
        "mjs",
        "ts",
        "java",
        "kt",
        "rb",
        "cs",
        "php",
        "sh",
        "rs",
        "tf",
        "env",
        "ini",
        "cfg",
        "conf",
        "properties",
    ];
    if input::is_manifest_name(p) {
        return true;
    }
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    name == "config"
        || name == "credentials"
        || name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| SOURCE.contains(&ext))
}
