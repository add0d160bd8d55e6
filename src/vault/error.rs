//! Everything that can go wrong with a vault, each variant a sentence a person can act on.

use std::path::PathBuf;

use crate::core::Conflict;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    #[error("no vault at {0}: create one with `keyway init`")]
    Missing(PathBuf),
    #[error("a file already exists at {0}; keyway will not overwrite it")]
    AlreadyExists(PathBuf),
    #[error("{0} is not a keyway vault")]
    Foreign(PathBuf),
    /// The path names something that cannot be a vault file at all (a directory, a FIFO, a
    /// device, a loop of symbolic links); `what` says which.
    #[error("the vault path {path} is {what}, not a vault file")]
    NotAFile { path: PathBuf, what: String },
    #[error("the vault {path} is damaged: {detail}; the file was left untouched")]
    Corrupt { path: PathBuf, detail: String },
    /// Damage found once a write had begun on the file itself (a panic in redb there): the
    /// write stopped, and what it did to the file cannot be known.
    #[error("the vault {path} is damaged: {detail}; the write was stopped and may have changed the file: run a read (`keyway workspace list`), and restore the last backup if it fails")]
    DamagedWhileWriting { path: PathBuf, detail: String },
    #[error("the vault {path} was written by a newer keyway (format {found}); upgrade keyway to open it")]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("the vault {path} was refused: {detail}")]
    Unacceptable { path: PathBuf, detail: String },
    #[error("wrong passphrase for the vault {0}")]
    WrongPassphrase(PathBuf),
    /// Another program holds the whole file (an older keyway, which locked it exclusively).
    #[error("the vault {0} is in use by another keyway process (an older keyway, which locks the whole file): close it and try again")]
    InUse(PathBuf),
    /// Another process's write transaction did not end within `vault.lock_wait_secs`.
    #[error("the vault {path} is being written by another keyway process: waited {waited_secs} s for its write to finish (vault.lock_wait_secs), nothing was written")]
    Busy { path: PathBuf, waited_secs: u64 },
    /// A write based on an older revision of a record (see core::revision).
    #[error("{0}")]
    Conflict(Box<Conflict>),
    /// A conditional write found the stored record at another revision than it named. The
    /// vault checks revisions before it writes, so this means a bug or a concurrent writer
    /// that does not keep the rules.
    #[error("the vault {path}: the {table} record {id} changed while it was being written; nothing was written")]
    Stale {
        path: PathBuf,
        table: &'static str,
        id: String,
    },
    #[error(
        "the vault {0} was re-keyed by another process since this one unlocked it: unlock it again"
    )]
    Rekeyed(PathBuf),
    #[error(
        "the vault file {0} was replaced by another file since keyway opened it: unlock it again"
    )]
    Replaced(PathBuf),
    /// This member's identity has no slot in the team vault any more: another member removed
    /// it (and re-keyed), so what it unwrapped before opens nothing now.
    #[error("you were removed from the team vault {0}: this host's identity has no key slot in it any more (another member ran `keyway member rm`), so it opens nothing; ask a member to add you again")]
    Removed(PathBuf),
    /// A face that stays open (the TUI) found the team vault's server gone: it keeps what it
    /// showed and refuses writes until it reconnects, never queueing them.
    #[error("offline, read-only: nothing was saved, since the team vault's server cannot be reached ({0}); keyway reconnects by itself")]
    Offline(PathBuf),
    #[error("cannot use the vault file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the vault {path} could not be written: {detail}")]
    Storage { path: PathBuf, detail: String },
    #[error("this host's identity is not a member of the team vault {0}: give a member its public key (`keyway member keygen` prints it) to add with `keyway member add`")]
    NotAMember(PathBuf),
    #[error("{0}")]
    Identity(#[from] super::identity::IdentityError),
    #[error("the vault {0} is a file, not a team vault: members belong to a team vault (keyway init --url)")]
    NotTeam(PathBuf),
    #[error("the change log of {path} is broken at entry {seq}: {why}")]
    LogBroken {
        path: PathBuf,
        seq: u64,
        why: String,
    },
    #[error("the copy in {0} does not read back as its source: it is not to be used (delete it and copy again)")]
    CopyDiffers(PathBuf),
    #[error("a member named '{0}' is already in the team vault")]
    MemberExists(String),
    #[error("the team vault has no member named '{0}' (see `keyway member list`)")]
    NoSuchMember(String),
    #[error(
        "'{0}' is the team vault's last member; removing them would leave a vault nobody can open"
    )]
    LastMember(String),
    #[error("the database {0} already holds a keyway team vault; keyway will not overwrite it")]
    TeamVaultExists(PathBuf),
    /// A team vault's URL that keyway cannot use (checked before any connection).
    #[error("the team vault URL cannot be used: {0}")]
    BadUrl(String),
    /// The team vault's server cannot be reached (README, exit code 7).
    #[error("the team vault's server cannot be reached ({url}): {detail}")]
    Unreachable { url: PathBuf, detail: String },
    /// The team vault's server refused the login or the database.
    #[error("the team vault's server refused the connection ({url}): {detail}")]
    ServerRefused { url: PathBuf, detail: String },
}

impl VaultError {
    /// The exit code the CLI reports for this error (see README, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            VaultError::WrongPassphrase(_) | VaultError::NotAMember(_) | VaultError::Removed(_) => {
                3
            }
            VaultError::Identity(e) => match e {
                super::identity::IdentityError::WrongPassphrase(_) => 3,
                super::identity::IdentityError::Exists(_) => 1,
                _ => 2,
            },
            VaultError::NotTeam(_) | VaultError::BadUrl(_) => 2,
            VaultError::MemberExists(_)
            | VaultError::NoSuchMember(_)
            | VaultError::LastMember(_)
            | VaultError::CopyDiffers(_)
            | VaultError::LogBroken { .. } => 1,
            VaultError::Missing(_)
            | VaultError::Foreign(_)
            | VaultError::NotAFile { .. }
            | VaultError::Corrupt { .. }
            | VaultError::DamagedWhileWriting { .. }
            | VaultError::NewerFormat { .. }
            | VaultError::Unacceptable { .. } => 4,
            VaultError::InUse(_) | VaultError::Busy { .. } => 5,
            VaultError::Conflict(_)
            | VaultError::Stale { .. }
            | VaultError::Rekeyed(_)
            | VaultError::Replaced(_) => 6,
            VaultError::AlreadyExists(_)
            | VaultError::TeamVaultExists(_)
            | VaultError::Io { .. }
            | VaultError::Storage { .. }
            | VaultError::ServerRefused { .. } => 1,
            VaultError::Unreachable { .. } | VaultError::Offline(_) => 7,
        }
    }
}
