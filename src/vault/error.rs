//! Everything that can go wrong with a vault, each variant a sentence a person can act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    #[error("no vault at {0}: create one with `keyway init`")]
    Missing(PathBuf),
    #[error("a file already exists at {0}; keyway will not overwrite it")]
    AlreadyExists(PathBuf),
    #[error("{0} is not a keyway vault")]
    Foreign(PathBuf),
    #[error("the vault {path} is damaged: {detail}; the file was left untouched")]
    Corrupt { path: PathBuf, detail: String },
    #[error("the vault {path} was written by a newer keyway (format {found}); upgrade keyway to open it")]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("the vault {path} was refused: {detail}")]
    Unacceptable { path: PathBuf, detail: String },
    #[error("wrong passphrase for the vault {0}")]
    WrongPassphrase(PathBuf),
    #[error("the vault {0} is in use by another keyway process")]
    InUse(PathBuf),
    #[error("cannot use the vault file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the vault {path} could not be written: {detail}")]
    Storage { path: PathBuf, detail: String },
}

impl VaultError {
    /// The exit code the CLI reports for this error (see README, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            VaultError::WrongPassphrase(_) => 3,
            VaultError::Missing(_)
            | VaultError::Foreign(_)
            | VaultError::Corrupt { .. }
            | VaultError::NewerFormat { .. }
            | VaultError::Unacceptable { .. } => 4,
            VaultError::InUse(_) => 5,
            VaultError::AlreadyExists(_) | VaultError::Io { .. } | VaultError::Storage { .. } => 1,
        }
    }
}
