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
    /// Columns text output wraps to: see [`text_width`].
    pub width: usize,
    redactor: Mutex<Redactor>,
}

/// The width text reports wrap to: the terminal's when stdout is a
/// terminal, else `COLUMNS` when set, else 100 (a file or a pipe). Never
/// below 40.
#[must_use]
pub fn text_width() -> usize {
    let tty = std::io::stdout()
        .is_terminal()
        .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .flatten();
    let columns = || {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|c| *c > 0)
    };
    tty.or_else(columns).unwrap_or(100).max(40)
}

impl Output {
    #[must_use]
    pub fn from_cli(g: &GlobalArgs) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            format: g.format,
            color: !g.no_color && !no_color_env && std::io::stdout().is_terminal(),
            ascii: g.ascii,
            width: text_width(),
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

    /// Print an error as `eksdoctor: error: ...` on stderr; with `--format
    /// json`, also as a JSON error object on stdout. An error already
    /// reported prints nothing.
    pub fn error(&self, e: &CliError) {
        if matches!(e, CliError::Reported(_)) {
            return;
        }
        self.eprint(&format!("eksdoctor: error: {e}"));
        if self.format == Format::Json {
            self.print(&error_json(e.kind(), &e.to_string(), e.exit_code()));
        }
    }

    /// The text style: colour and width.
    #[must_use]
    pub fn style(&self) -> TextStyle {
        TextStyle {
            color: self.color,
            width: self.width,
        }
    }

    /// Print a report in the chosen format; returns the exit status it implies.
    ///
    /// # Errors
    /// `--format sarif` for a command that has no SARIF rendering.
    pub fn report(&self, report: &Report) -> Result<i32, CliError> {
        match self.format {
            Format::Text => self.print(&report.to_text(self.style())),
            Format::Json => self.print(&report.to_json()),
            Format::Sarif => {
                return Err(CliError::Usage(
                    "--format sarif is for the lint commands".to_owned(),
                ));
            }
            // OCSF and ASFF file findings under an account (`check` prints
            // them itself); a report that never reached one (no
            // credentials) goes to stderr as text and stdout stays empty.
            Format::Ocsf | Format::Asff => {
                let text = report.to_text(TextStyle {
                    color: false,
                    width: self.width,
                });
                self.eprint(text.trim_end());
            }
        }
        Ok(report.exit_code())
    }
}

/// `{"error": {"kind", "message", "exit_code"}}`: what `--format json` prints
/// on stdout when a command fails before it has a report.
#[must_use]
pub fn error_json(kind: &str, message: &str, exit_code: i32) -> String {
    let mut s = serde_json::to_string_pretty(&serde_json::json!({
        "error": {"kind": kind, "message": message, "exit_code": exit_code}
    }))
    .unwrap_or_default();
    s.push('\n');
    s
}
