//! The one way anything reaches the operator: every byte written to stdout or
//! stderr passes through the [`Redactor`], so no secret access key or session
//! token is ever shown, whatever the input held.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use eksdoctor_core::mask::Redactor;
use eksdoctor_core::report::{Report, TextStyle};

use crate::cli::{Format, GlobalArgs};
use crate::error::CliError;

/// Redacting stdout/stderr writer plus the chosen format.
#[derive(Debug)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    pub ascii: bool,
    redactor: Mutex<Redactor>,
}

impl Output {
    #[must_use]
    pub fn from_cli(g: &GlobalArgs) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            format: g.format,
            color: !g.no_color && !no_color_env && std::io::stdout().is_terminal(),
            ascii: g.ascii,
            redactor: Mutex::new(Redactor::new()),
        }
    }

    /// Mask this access key id everywhere from now on: it arrived with its secret.
    pub fn taint(&self, key_id: &str) {
        if let Ok(mut r) = self.redactor.lock() {
            r.taint(key_id);
        }
    }

    /// A copy of the redactor, for code that renders elsewhere (the dashboard).
    #[must_use]
    pub fn redactor(&self) -> Redactor {
        self.redactor.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Redact and write to stdout.
    pub fn print(&self, text: &str) {
        let red = self.redactor();
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(red.redact(text).as_bytes());
        let _ = stdout.flush();
    }

    /// Redact and write a line to stderr (progress, warnings).
    pub fn eprint(&self, text: &str) {
        let red = self.redactor();
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", red.redact(text));
    }

    /// Print an error as `eksdoctor: error: ...` on stderr.
    pub fn error(&self, e: &CliError) {
        self.eprint(&format!("eksdoctor: error: {e}"));
    }

    /// Print a report in the chosen format; returns the exit status it implies.
    ///
    /// # Errors
    /// `--format sarif` for a command that has no SARIF rendering.
    pub fn report(&self, report: &Report) -> Result<i32, CliError> {
        match self.format {
            Format::Text => self.print(&report.to_text(TextStyle { color: self.color })),
            Format::Json => self.print(&report.to_json()),
            Format::Sarif => {
                return Err(CliError::Usage(
                    "--format sarif is for the lint commands".to_owned(),
                ));
            }
        }
        Ok(report.exit_code())
    }
}
