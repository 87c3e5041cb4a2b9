//! `explain [TEXT|-] [--input FILE]...`: diagnose pasted error text, a log, or
//! CloudTrail JSON (gzip too), streaming with flat memory.

use std::io::IsTerminal;
use std::path::Path;

use eksdoctor_core::explain::{Explainer, ReadError};
use eksdoctor_core::report::Report;

use crate::cli::{ExplainArgs, Format};
use crate::error::CliError;
use crate::input::open_sniffed;
use crate::output::Output;

pub fn run(args: &ExplainArgs, out: &Output) -> Result<i32, CliError> {
    let mut ex = Explainer::new();
    let mut bytes = 0u64;
    let mut warnings = Vec::new();
    let stdin_wanted =
        args.text.as_deref() == Some("-") || args.input.iter().any(|p| p.as_os_str() == "-");
    if args.text.is_none() && args.input.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "nothing to explain: give the error text as an argument (eksdoctor explain 'User: ... is not authorized ...'), pipe it in, or use --input FILE".to_owned(),
            ));
        }
        bytes += read_stdin(&mut ex, &mut warnings)?;
    } else if let Some(text) = args.text.as_deref().filter(|t| *t != "-") {
        bytes += text.len() as u64;
        ex.feed_text(text);
    } else if stdin_wanted && args.text.as_deref() == Some("-") {
        bytes += read_stdin(&mut ex, &mut warnings)?;
    }
    for path in &args.input {
        if path.as_os_str() == "-" {
            if args.text.as_deref() != Some("-") {
                bytes += read_stdin(&mut ex, &mut warnings)?;
            }
            continue;
        }
        bytes += read_file(&mut ex, path, &mut warnings)?;
    }
    for id in ex.tainted() {
        out.taint(id);
    }
    for w in &warnings {
        out.eprint(&format!("eksdoctor: warning: {w}"));
    }
    let dropped = ex.dropped();
    let long_lines = ex.long_lines();
    let grouped = ex.grouped_beyond_limit();
    let findings = ex.finish();
    if long_lines > 0 {
        out.eprint(&format!(
            "eksdoctor: note: {long_lines} line(s) longer than {} MiB were read whole, in pieces cut between messages",
            eksdoctor_core::explain::stream::MAX_LINE >> 20
        ));
    }
    if grouped > 0 {
        out.eprint(&format!(
            "eksdoctor: note: {grouped} denials beyond the first {} distinct findings are counted in grouped findings (by rule, action and resource pattern)",
            eksdoctor_core::explain::MAX_GROUPS
        ));
    }
    if dropped > 0 {
        out.eprint(&format!(
            "eksdoctor: note: {dropped} further distinct findings were not kept (limit {})",
            eksdoctor_core::explain::MAX_GROUPS
        ));
    }
    let nothing = if bytes == 0 {
        Some("the input is empty: nothing to explain".to_owned())
    } else if findings.is_empty() {
        Some(format!(
            "nothing recognised: no AWS or Kubernetes authorization error in the input ({bytes} bytes read)"
        ))
    } else {
        None
    };
    let mut report = Report::new(findings);
    if let Some(n) = nothing {
        out.eprint(&format!("eksdoctor: note: {n}"));
        if out.format == Format::Text {
            out.print(&format!("{n}\n\n"));
        } else {
            report = report.with("note", n.into());
        }
    }
    out.report(&report)
}

fn read_stdin(ex: &mut Explainer, warnings: &mut Vec<String>) -> Result<u64, CliError> {
    read_file(ex, Path::new("-"), warnings)
}

/// Through the shared reader (binary and corrupt gzip refused up front,
/// exit 2); the engine streams and decompresses.
fn read_file(ex: &mut Explainer, path: &Path, warnings: &mut Vec<String>) -> Result<u64, CliError> {
    let input = open_sniffed(path)?;
    match ex.read(Some(&input.name), input.reader) {
        Ok(stats) => Ok(stats.bytes),
        Err((stats, e)) => on_error(&input.name, stats.bytes, e, warnings),
    }
}

/// A truncated gzip keeps what was read (a warning); a gzip that gave no
/// text at all, or any other read error, is exit 2.
fn on_error(
    name: &str,
    bytes: u64,
    e: ReadError,
    warnings: &mut Vec<String>,
) -> Result<u64, CliError> {
    match e {
        ReadError::Gzip { text_bytes, .. } if text_bytes > 0 => {
            warnings.push(format!("{name}: {e}"));
            Ok(bytes.max(1))
        }
        ReadError::Gzip { .. } | ReadError::Io { .. } => Err(CliError::input(name, e)),
    }
}
