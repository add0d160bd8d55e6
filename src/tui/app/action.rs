//! The one action type (everything that can happen to the UI) and the effects `update` asks the
//! edges to perform. Results of effects come back as actions carrying a request id, so a result
//! for something the user has since abandoned is recognised and dropped.

use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use secrecy::SecretString;

use crate::audit::RunResults;
use crate::core::schema::Component;
use crate::core::time::Timestamp;
use crate::core::Snapshot;
use crate::core::{Conflict, Credential, Environment, Flow, FlowStep, RecordId, Verification};
use crate::store::{CredentialDraft, StoreError};
use crate::vault::{Changes, VaultError};
use crate::verify::{Outcome, TokenUpdate};

/// Identifies one request to the edges (a verification, a login), so a late answer to
/// something abandoned is recognised and dropped.
pub type RequestId = u64;

/// The time as the edges read it: wall time for records and "3m ago", monotonic for timers.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub wall: Timestamp,
    pub mono: Instant,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            wall: crate::clock::now(),
            mono: Instant::now(),
        }
    }
}

/// What the user needs to finish a device login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in: Duration,
    /// The latest word from the poll (slow down, retrying...).
    pub note: Option<String>,
}

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// Bracketed paste: the whole text at once, so a 10 KB paste is one edit, not 10,000. Held
    /// as a secret (redacted Debug, zeroed on drop): what is pasted is often a key or a token.
    Paste(SecretString),
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
    /// A write was refused because a record moved on since this process read it (another
    /// process wrote it): both versions, for the screen that asked to show. One no screen takes
    /// is told as a failed write.
    StoreConflict {
        event: Stored,
        conflict: Box<Conflict>,
    },
    /// Other processes changed the vault (seen by the poll while unlocked): the snapshot as it
    /// is now, and what changed, so screens keep their cursor and an open form can say its
    /// credential moved underneath.
    Refreshed {
        snapshot: Snapshot,
        changes: Changes,
    },
    /// The poll could not read the vault (the sentence says why); the view stays as it was.
    RefreshFailed(String),
    /// The team vault's change feed (its LISTEN connection) ended, or its server was found
    /// gone: the sentence says how. The UI goes offline, read-only.
    FeedLost(String),
    /// A vault operation failed because the team vault's server cannot be reached, found by
    /// the operation itself (a write on a connection that went silent or was cut, perhaps
    /// before the change feed noticed): `failure` reaches the screen that asked like any
    /// failure (a form keeps what was typed), then the UI goes offline as on `FeedLost(why)`.
    ServerLost {
        failure: Box<Action>,
        why: String,
    },
    /// A reconnection attempt (after `Effect::Listen { reconnecting: true }`'s wait) began.
    ReconnectStarted,
    /// The reconnection attempt failed; the sentence says why.
    ReconnectFailed(String),
    /// The change feed is connected again: the server is back.
    Reconnected,
    /// The vault can no longer be used with the keys held (re-keyed or replaced by another
    /// process): back to Unlock, saying why.
    Relock(String),
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
    /// A device login started: show where to go and the code to enter.
    LoginDevice {
        request: RequestId,
        device: DeviceInfo,
    },
    /// The device poll's latest word (slow down, retrying...).
    LoginProgress {
        request: RequestId,
        note: String,
    },
    /// A browser login: open `url`, then paste back the address the browser ended on.
    LoginPasteReady {
        request: RequestId,
        url: String,
    },
    /// The login ended: the new tokens, or why not (a sentence for the user).
    LoginFinished {
        request: RequestId,
        result: Result<TokenUpdate, String>,
    },
    /// A credential's verification history, read for the detail view (newest first).
    HistoryLoaded {
        credential: RecordId,
        result: Result<Vec<Verification>, String>,
    },
    /// A password rotation started `step` (rotate.rs's numbering).
    RotationProgress {
        name: String,
        step: crate::rotate::Step,
    },
    /// A password rotation ended: the vault as it is after it (None when nothing could be
    /// read), and what to say (a sentence for the panel).
    RotationFinished {
        credential: RecordId,
        snapshot: Option<Snapshot>,
        result: Result<String, String>,
    },
    /// Interrupted rotations settled after unlocking: the vault after, one line for each.
    RotationsResolved {
        snapshot: Snapshot,
        notes: Vec<String>,
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
    FlowSaved {
        name: String,
    },
    FlowActivated {
        name: String,
        active: bool,
    },
    FlowDeleted,
    FlowPromoted {
        name: String,
    },
    /// `rebind_everywhere` moved these flows to the credential named `to`.
    Rebound {
        flows: Vec<String>,
        to: String,
    },
    VerificationsRecorded,
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
    /// Read a credential's verification history; answers HistoryLoaded.
    LoadHistory {
        credential: RecordId,
    },
    /// Remember the selected workspace (its id only: names are encrypted in the vault).
    RememberWorkspace {
        id: RecordId,
    },
    /// Check the draft's rules, then verify it; answers DraftRefused or VerifyFinished.
    PrepareAndVerify {
        request: RequestId,
        draft: CredentialDraft,
        /// Editing: the credential as the form opened it. The draft applies to this copy and
        /// keeps its revision, so saving over a newer one is a conflict, never an overwrite.
        base: Option<Box<Credential>>,
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
    /// Build the OAuth2 client from the draft (through the store, so stored secrets of an
    /// edited credential count) and log in: device grant unless `paste` or the provider has no
    /// device endpoint. Answers LoginDevice / LoginPasteReady, then LoginFinished.
    StartLogin {
        request: RequestId,
        draft: CredentialDraft,
        editing: Option<RecordId>,
        paste: bool,
    },
    /// Exchange the pasted redirect address of a browser login; answers LoginFinished.
    ExchangeLogin {
        request: RequestId,
        pasted: SecretString,
    },
    /// Abort a login's task (closing the form, Esc, a restart).
    CancelLogin {
        request: RequestId,
    },
    SaveCredential {
        credential: Box<Credential>,
    },
    /// Rotate a stored database credential's password (rotate.rs); answers RotationProgress
    /// for each step, then RotationFinished.
    RotatePassword {
        credential: RecordId,
    },
    RecordVerification {
        id: RecordId,
        /// The revision the verification checked: its result belongs to that one only.
        revision: u64,
        outcome: Outcome,
        at: Timestamp,
    },
    DeleteCredential {
        id: RecordId,
    },
    AddFlow {
        workspace: RecordId,
        name: String,
        environment: Environment,
        steps: Vec<FlowStep>,
        active: bool,
    },
    /// Writes an edited flow (same id) through the store's checks.
    UpdateFlow {
        flow: Box<Flow>,
    },
    SetFlowActive {
        id: RecordId,
        active: bool,
    },
    DeleteFlow {
        id: RecordId,
    },
    PromoteFlow {
        id: RecordId,
        target: Environment,
        /// One credential of `target` per step, in step order.
        bindings: Vec<RecordId>,
        new_name: String,
        move_flow: bool,
    },
    /// Every flow using `old` switches to `new` in one transaction.
    RebindEverywhere {
        old: RecordId,
        new: RecordId,
        new_name: String,
    },
    /// A "verify all" run's results, each with the tokens its check obtained, in one commit.
    RecordVerifications {
        results: RunResults,
    },
    /// Drop the store (and with it the keys) and cancel all verifications.
    Lock,
    /// Listen for the team vault's changes on a connection of its own, after waiting `after`
    /// (the backoff); `reconnecting` once the server was lost (answers ReconnectStarted, then
    /// Reconnected or ReconnectFailed; a feed that ends answers FeedLost).
    Listen {
        after: Duration,
        reconnecting: bool,
    },
    /// Refuse every write at once (true: offline), or allow them again (false).
    ReadOnly(bool),
    /// Read what changed while offline; answers Refreshed when something did.
    Reload,
    /// Put `text` on the user's clipboard (OSC 52 through the terminal). Never a secret.
    Copy {
        text: String,
    },
    /// Put a revealed secret on the clipboard, after the user confirmed it (redacted in Debug;
    /// written to the terminal only, never to a log).
    CopySecret {
        secret: secrecy::SecretString,
    },
}
