//! CLI failures and their exit codes (README, "Exit codes"): 0 ok; 1 refused or failed; 2 usage;
//! 3 wrong passphrase; 4 vault missing, corrupt, foreign or newer; 5 vault in use; 6 changed by another process; 7 the
//! team vault's server cannot be reached. `keyway run`
//! passes on its command's code and has its own: 125, 126, 127.

use crate::config::ConfigError;
use crate::store::StoreError;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input the user can fix by changing the command.
    #[error("{0}")]
    Usage(String),
    /// A rule said no, a verification failed, or an audit found problems.
    #[error("{0}")]
    Refused(String),
    /// Already reported on stdout/stderr (an audit table); only the exit code remains.
    #[error("")]
    Silent(i32),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tui(#[from] crate::tui::TuiError),
    #[error(transparent)]
    Rotate(#[from] crate::rotate::RotateError),
    /// Standard output could not be written (a full disk): the report is lost.
    #[error("cannot write to standard output: {0}")]
    Output(std::io::Error),
    /// `keyway run`: the command ran and exited with this code (128 + a signal that killed it).
    #[error("")]
    Child(i32),
    /// `keyway run`: the command could not be started (126 cannot run, 127 not found).
    #[error("{message}")]
    NotStarted { code: i32, message: String },
    /// `keyway run`: keyway failed before the command started (exit 125, so that it is never
    /// mistaken for the command's own code).
    #[error(transparent)]
    BeforeCommand(Box<CliError>),
    /// The change was durable before its report was printed; only the report is lost.
    #[error("the change was saved, but its report could not be written to standard output: {0}")]
    OutputAfterChange(std::io::Error),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Config(_) => 2,
            CliError::Refused(_) | CliError::Output(_) | CliError::OutputAfterChange(_) => 1,
            CliError::Silent(code) | CliError::Child(code) => *code,
            CliError::NotStarted { code, .. } => *code,
            CliError::BeforeCommand(_) => 125,
            CliError::Vault(v) => v.exit_code(),
            CliError::Store(s) => s.exit_code(),
            CliError::Tui(t) => t.exit_code(),
            CliError::Rotate(r) => r.exit_code(),
        }
    }
}

impl From<crate::core::RuleError> for CliError {
    fn from(e: crate::core::RuleError) -> Self {
        CliError::Store(StoreError::Rule(e))
    }
}
