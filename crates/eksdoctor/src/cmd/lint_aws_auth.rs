//! `lint aws-auth`: read the ConfigMap, run the aws-auth rules, optionally
//! answer for one principal across access entries and aws-auth, print the
//! report (text, json, sarif) or the corrected ConfigMap (`--fix`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use eksdoctor_core::access::{self, Caller, RolePaths};
use eksdoctor_core::awsauth::{self, MigrateOptions, fixer};
use eksdoctor_core::finding::Location;
use eksdoctor_core::report::Report;
use eksdoctor_core::sarif;
use eksdoctor_core::snapshot::AuthenticationMode;

use crate::cli::{Format, LintAwsAuthArgs};
use crate::error::CliError;
use crate::input::{display_name, read_text};
use crate::output::Output;

pub fn run(args: &LintAwsAuthArgs, out: &Output) -> Result<i32, CliError> {
    if args.fix && out.format == Format::Sarif {
        // Refused before any work: --fix prints a ConfigMap, not findings.
        return Err(CliError::Usage(
            "--fix prints the corrected ConfigMap: use --format text or json (json: a report with the YAML in fix.yaml), not sarif".to_owned(),
        ));
    }
    let path = Path::new(&args.file);
    let name = display_name(path);
    let text = read_text(path)?;
    let role_paths = match &args.role_paths {
        Some(p) => RolePaths::parse(&read_text(p)?).map_err(|e| CliError::input(p.display(), e))?,
        None => RolePaths::default(),
    };
    let mode = args
        .authentication_mode
        .as_deref()
        .map(|m| {
            AuthenticationMode::parse(m).ok_or_else(|| {
                CliError::Usage(format!(
                    "--authentication-mode {m:?}: expected API, API_AND_CONFIG_MAP or CONFIG_MAP"
                ))
            })
        })
        .transpose()?;
    let caller = args
        .principal
        .as_deref()
        .map(|p| Caller::from_arn(p).map_err(|e| CliError::Usage(format!("--principal: {e}"))))
        .transpose()?;
    let entries = match &args.access_entries {
        Some(p) => Some(
            access::parse_access_entries(&read_text(p)?)
                .map_err(|e| CliError::input(p.display(), e))?,
        ),
        None => None,
    };
    let opts = MigrateOptions {
        cluster: args.cluster.clone(),
        role_paths,
        authentication_mode: mode,
    };
    let lint = awsauth::lint(&text, &name, &opts).map_err(|e| CliError::input(&name, e))?;

    if args.fix {
        return fix(args, out, &text, &name, &lint, &opts);
    }

    let mut findings = lint.findings;
    let main = lint.configmaps.first();
    let anchor = |line: usize| Location {
        file: name.clone(),
        line,
        column: None,
    };
    if let Some(entries) = &entries {
        let entries_file = args
            .access_entries
            .as_deref()
            .map(display_name)
            .unwrap_or_default();
        for mut f in access::check_entry_paths(entries, &opts.role_paths) {
            f.location = Some(Location {
                file: entries_file.clone(),
                line: 1,
                column: None,
            });
            findings.push(f);
        }
    }
    let mut mapping = None;
    if let Some(caller) = &caller {
        let hints = access::Hints {
            cluster: opts.cluster.clone(),
            role_paths: opts.role_paths.clone(),
        };
        let res = access::resolve_with(caller, mode, main, entries.as_deref(), &hints);
        mapping = res.mapping_json();
        let line = res
            .line
            .or(res.hint_line)
            .or(main.map(|a| a.data_line))
            .unwrap_or(1);
        for mut f in res.findings {
            if f.location.is_none() && !lint.configmaps.is_empty() {
                let at = if f.rule == "cluster/not-mapped" {
                    line
                } else {
                    main.map_or(1, |a| a.data_line)
                };
                f.location = Some(anchor(at));
            }
            if !res.notes.is_empty() {
                f = f.evidence("notes", res.notes.clone());
            }
            findings.push(f);
        }
        if let Some(m) = mapping.as_mut()
            && !res.notes.is_empty()
        {
            m["notes"] = serde_json::json!(res.notes);
        }
    } else if mode == Some(AuthenticationMode::ConfigMap) {
        let mut f = access::config_map_only_for(opts.cluster.as_deref(), false);
        f.location = main.map(|a| anchor(a.data_line));
        findings.push(f);
    }
    let mut report = Report::new(findings);
    if let Some(m) = mapping {
        report = report.with("mapping", m);
    }
    match out.format {
        Format::Sarif => {
            out.print(&sarif::to_string(&report, Some(&name)));
            Ok(report.exit_code())
        }
        Format::Text => {
            if let (Some(c), Some(m)) = (&caller, report.extra.get("mapping")) {
                out.print(&mapping_text(&c.canonical_arn, m));
            } else if let Some(c) = &caller
                && let Some(f) = report
                    .findings
                    .iter()
                    .find(|f| f.rule == "cluster/not-mapped")
            {
                let first = f
                    .evidence
                    .get("reasons")
                    .and_then(|r| r.get(0))
                    .and_then(serde_json::Value::as_str);
                out.print(&match first {
                    Some(r) => format!("not mapped: {r} ({})\n\n", c.canonical_arn),
                    None => format!("not mapped: {}\n\n", c.canonical_arn),
                });
            }
            out.report(&report)
        }
        Format::Json | Format::Ocsf | Format::Asff => out.report(&report),
    }
}

/// `ARN is mapped by aws-auth (line 8): username "x", groups [a, b]`, for text output.
fn mapping_text(arn: &str, m: &serde_json::Value) -> String {
    let s = |k: &str| m.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    let list = |k: &str| {
        m.get(k)
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let source = match m.get("line").and_then(serde_json::Value::as_u64) {
        Some(l) => format!("{} (line {l})", s("source")),
        None => s("source").to_owned(),
    };
    let mut text = format!(
        "mapped: {arn} is mapped by {source}: username {:?}, groups [{}]",
        s("username"),
        list("groups")
    );
    let policies = list("access_policies");
    if !policies.is_empty() {
        text.push_str(&format!(", access policies [{policies}]"));
    }
    let unresolved = list("unresolved");
    if !unresolved.is_empty() {
        text.push_str(&format!(
            "\n  not known offline: {unresolved} (rendered when the caller connects)"
        ));
    }
    for n in m
        .get("notes")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
    {
        text.push_str(&format!("\n  note: {n}"));
    }
    text.push_str("\n\n");
    text
}

fn fix(
    args: &LintAwsAuthArgs,
    out: &Output,
    text: &str,
    name: &str,
    lint: &awsauth::Lint,
    opts: &MigrateOptions,
) -> Result<i32, CliError> {
    if lint.configmaps.is_empty() {
        // Invalid YAML: nothing to fix safely; show the finding.
        out.eprint("eksdoctor: the file does not parse as YAML; nothing was fixed");
        let report = Report::new(lint.findings.clone());
        return match out.format {
            Format::Sarif => {
                out.print(&sarif::to_string(&report, Some(name)));
                Ok(report.exit_code())
            }
            _ => out.report(&report),
        };
    }
    let fixed = fixer::fix(text, name, opts);
    let after = awsauth::lint(&fixed.text, name, opts).map_err(|e| CliError::input(name, e))?;
    let remaining = Report::new(after.findings);
    if let Some(path) = &args.output_file {
        write_atomically(path, &fixed.text, args.force)?;
    }
    let left: Vec<String> = remaining
        .findings
        .iter()
        .filter(|f| f.rule != "aws-auth/migrate")
        .map(|f| match &f.location {
            Some(l) => format!("{} (line {})", f.rule, l.line),
            None => f.rule.to_owned(),
        })
        .collect();
    if out.format == Format::Json {
        // One JSON document on stdout: the findings left, and the fix.
        let mut fix = serde_json::json!({
            "fixed": fixed.fixed,
            "count": fixed.count,
            "access_changes": fixed.changes,
            "not_fixed": fixed.refused,
        });
        match &args.output_file {
            Some(p) => fix["output_file"] = serde_json::json!(p.display().to_string()),
            None => fix["yaml"] = serde_json::json!(fixed.text),
        }
        let report = remaining.with("fix", fix);
        out.print(&report.to_json());
        return Ok(report.exit_code());
    }
    if args.output_file.is_none() {
        out.print(&fixed.text);
    }
    let mut summary = format!(
        "eksdoctor: fixed {} finding{}",
        fixed.count,
        if fixed.count == 1 { "" } else { "s" }
    );
    if !fixed.fixed.is_empty() {
        summary.push_str(&format!(" ({})", fixed.fixed.join(", ")));
    }
    if !left.is_empty() {
        summary.push_str(&format!(
            "; {} left to fix by hand: {}",
            left.len(),
            left.join(", ")
        ));
    }
    if let Some(p) = &args.output_file {
        summary.push_str(&format!("; wrote {}", p.display()));
    }
    if fixed.changes.is_empty() {
        summary.push_str("\neksdoctor: no principal's mapping changes");
    } else {
        summary.push_str(&format!(
            "\neksdoctor: {} principal{} map differently after the fix (review before applying):",
            fixed.changes.len(),
            if fixed.changes.len() == 1 { "" } else { "s" }
        ));
        for c in &fixed.changes {
            summary.push_str(&format!("\n  {c}"));
        }
    }
    for r in &fixed.refused {
        summary.push_str(&format!("\neksdoctor: {r}"));
    }
    out.eprint(&summary);
    Ok(remaining.exit_code())
}

/// Write through a temporary file in the same directory and rename it into
/// place, so a reader never sees half a file. Refuses to replace an existing
/// file unless `force`.
fn write_atomically(path: &PathBuf, text: &str, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::input(
            path.display(),
            "already exists; pass --force to replace it",
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "aws-auth.yaml".to_owned());
    let tmp = dir.join(format!(".{file_name}.eksdoctor-{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if !force && path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; pass --force to replace it",
            ));
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::input(
            path.display(),
            crate::input::io_message(&e),
        ));
    }
    Ok(())
}
