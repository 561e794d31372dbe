//! How a command fails, and its exit code.

/// Exit codes: 0 done (every threshold passed), 1 internal failure, 2 bad
/// input (nothing was sent), 97 setup failed (no load ran), 99 a threshold failed (k6's code, so CI
/// recipes carry over), 130 interrupted by SIGINT/SIGTERM (the report is
/// still written).
pub const EXIT_INTERNAL: u8 = 1;
/// A `setup:` step failed: no load ran (the report says why).
pub const EXIT_SETUP_FAILED: u8 = 97;
pub const EXIT_THRESHOLDS: u8 = 99;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The user's input is wrong: a one-line message, exit 2, before any load.
    #[error("{0}")]
    BadInput(String),
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl Failure {
    pub fn input(message: impl Into<String>) -> Self {
        Failure::BadInput(message.into())
    }

    pub fn internal(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }

    /// Bad input told where it came from ("FILE: …", "URL: …"); an
    /// internal failure unchanged.
    pub fn within(self, what: impl std::fmt::Display) -> Self {
        match self {
            Failure::BadInput(m) => Failure::BadInput(format!("{what}: {m}")),
            other => other,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => EXIT_BAD_INPUT,
            Failure::Internal(_) => EXIT_INTERNAL,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }
}
