//! The one action type (everything that can happen to the UI) and the effects `update` asks the
//! edges to perform. Results of effects come back as actions carrying a request id, so a result
//! for something the user has since abandoned is recognised and dropped.

use crossterm::event::KeyEvent;
use secrecy::SecretString;

use crate::catalog::Component;
use crate::core::rules::Snapshot;
use crate::core::time::Timestamp;
use crate::core::{Credential, RecordId};
use crate::store::{CredentialDraft, StoreError};
use crate::vault::VaultError;
use crate::verify::Outcome;

use super::state::Clock;

/// Identifies one verification request.
pub type RequestId = u64;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// Bracketed paste: the whole text at once, so a 10 KB paste is one edit, not 10,000.
    Paste(String),
    Resize(u16, u16),
    /// Time passed: expires revealed secrets, drives the spinner and the idle auto-lock.
    Clock(Clock),
    /// A passphrase given by the caller (tests, scripted runs) instead of typed.
    AutoUnlock(SecretString),
    Unlocked {
        snapshot: Snapshot,
        remembered: Option<RecordId>,
    },
    UnlockFailed(VaultError),
    /// A write succeeded; the snapshot is the vault's state after it.
    Stored {
        snapshot: Snapshot,
        event: Stored,
    },
    StoreFailed {
        event: Stored,
        message: String,
    },
    /// The draft failed a rule or field check before any verification ran.
    DraftRefused {
        request: RequestId,
        error: StoreError,
    },
    VerifyFinished {
        request: RequestId,
        credential: Box<Credential>,
        outcome: Outcome,
    },
    /// SIGTERM or SIGHUP: leave cleanly.
    Terminate,
}

/// Which write finished (or failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    WorkspaceAdded(RecordId),
    WorkspaceRenamed,
    WorkspaceDeleted,
    CredentialSaved(RecordId),
    VerificationRecorded,
    CredentialDeleted,
}

#[derive(Debug)]
pub enum Effect {
    OpenVault {
        passphrase: SecretString,
    },
    CreateVault {
        passphrase: SecretString,
    },
    AddWorkspace {
        name: String,
    },
    RenameWorkspace {
        id: RecordId,
        name: String,
    },
    DeleteWorkspace {
        name: String,
        force: bool,
    },
    /// Remember the selected workspace (its id only: names are encrypted in the vault).
    RememberWorkspace {
        id: RecordId,
    },
    /// Check the draft's rules, then verify it; answers DraftRefused or VerifyFinished.
    PrepareAndVerify {
        request: RequestId,
        draft: CredentialDraft,
        editing: Option<RecordId>,
    },
    /// Verify a stored credential; answers VerifyFinished.
    Verify {
        request: RequestId,
        component: Box<Component>,
        credential: Box<Credential>,
    },
    CancelVerify {
        request: RequestId,
    },
    SaveCredential {
        credential: Box<Credential>,
    },
    RecordVerification {
        id: RecordId,
        outcome: Outcome,
        at: Timestamp,
    },
    DeleteCredential {
        id: RecordId,
    },
    /// Drop the store (and with it the keys) and cancel all verifications.
    Lock,
}
