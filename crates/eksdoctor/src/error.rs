//! The binary's one error type: a plain message and an exit status.

/// Exit 2: bad usage or unreadable input. Exit 3: live probing could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or unreadable input (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An input file could not be read or parsed (exit 2).
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    /// Live probing could not run at all: no credentials, no network, no region (exit 3).
    #[error("{0}")]
    Live(String),
    /// Already reported on stdout (a creds/* report, say): exit with this status, print nothing more.
    #[error("")]
    Reported(i32),
}

impl CliError {
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) | Self::Input { .. } => 2,
            Self::Live(_) => 3,
            Self::Reported(code) => *code,
        }
    }

    /// `usage`, `input` or `live`, for the JSON error object.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::Input { .. } => "input",
            Self::Live(_) | Self::Reported(_) => "live",
        }
    }

    pub fn input(path: impl std::fmt::Display, message: impl std::fmt::Display) -> Self {
        Self::Input {
            path: path.to_string(),
            message: message.to_string(),
        }
    }
}
