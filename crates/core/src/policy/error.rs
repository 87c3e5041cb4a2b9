//! Why a policy, a context value or a caller could not be read.

/// A position in a policy file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Bad input: the CLI exits 2 with this message after the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON at all.
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a policy IAM would accept.
    #[error("{}{message}", at.map(|p| format!("line {}, column {}: ", p.line, p.column)).unwrap_or_default())]
    Invalid {
        at: Option<Position>,
        message: String,
    },
    /// A `--context` value.
    #[error("--context {0}")]
    Context(String),
    /// The `--caller` value.
    #[error("--caller {0}")]
    Caller(String),
}

impl PolicyError {
    /// The line, when known.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Json { line, .. } => Some(*line),
            Self::Invalid { at, .. } => at.map(|p| p.line),
            _ => None,
        }
    }
}
