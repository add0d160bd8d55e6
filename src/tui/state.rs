//! The UI model: everything render draws and update changes. No I/O handles live here (the
//! store and the verifiers belong to the event loop's edges); the vault's contents are mirrored
//! as a `Snapshot` that the edges replace after every write.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tui_input::Input;

use crate::catalog::Catalog;
use crate::core::schema::Component;
use crate::core::time::Timestamp;
use crate::core::Snapshot;
use crate::core::{Credential, RecordId, Status, Verification};
use crate::vault::VaultError;

use super::action::RequestId;
use super::audit::AuditState;
use super::flows::{FlowsState, PromoteState, UsedByState};
use super::keys::Context;
use super::login::LoginState;
use super::widgets::theme::Theme;
use super::wizard::{WizardState, WizardStep};

/// How long a revealed secret stays visible.
pub const REVEAL_FOR: Duration = Duration::from_secs(10);
/// Spinner frame interval; the tick runs only while something animates.
pub const TICK: Duration = Duration::from_millis(100);

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Unlock,
    Workspaces,
    Grid,
    Credentials,
    Form,
    Flows,
    Wizard,
    Promote,
    UsedBy,
    Audit,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            kind: NoticeKind::Info,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            kind: NoticeKind::Error,
            text: text.into(),
        }
    }
}

/// Debug for an input field: its text, or `[REDACTED]` where it may hold a secret. The field's
/// kill ring (text deleted with Ctrl-W or Ctrl-U, kept for Ctrl-Y) is never shown: it can hold
/// a secret deleted from a field whose text is shown.
pub(crate) struct InputDebug<'a> {
    input: &'a Input,
    secret: bool,
}

impl std::fmt::Debug for InputDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            f.write_str("[REDACTED]")
        } else {
            std::fmt::Debug::fmt(self.input.value(), f)
        }
    }
}

pub(crate) fn secret_input(input: &Input) -> InputDebug<'_> {
    InputDebug {
        input,
        secret: true,
    }
}

#[derive(Default)]
pub struct UnlockState {
    /// The vault does not exist yet: the screen asks for a new passphrase twice.
    pub creating: bool,
    pub passphrase: Input,
    pub confirm: Input,
    /// 0: passphrase, 1: confirmation (create only).
    pub focus: usize,
    pub busy: bool,
    pub message: Option<Notice>,
}

impl std::fmt::Debug for UnlockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnlockState")
            .field("creating", &self.creating)
            .field("passphrase", &secret_input(&self.passphrase))
            .field("confirm", &secret_input(&self.confirm))
            .field("focus", &self.focus)
            .field("busy", &self.busy)
            .field("message", &self.message)
            .finish()
    }
}

#[derive(Debug, Default)]
pub struct WorkspacesState {
    pub selected: usize,
}

#[derive(Debug, Default)]
pub struct GridState {
    pub selected: usize,
    pub filter: Input,
    pub filtering: bool,
}

#[derive(Debug, Default)]
pub struct CredentialsState {
    pub component: String,
    pub selected: usize,
}

/// Which part of a credential a form field edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKey {
    Name,
    Environment,
    Field(String),
}

pub struct FormField {
    pub key: FieldKey,
    pub label: String,
    pub secret: bool,
    pub required: bool,
    pub help: Option<String>,
    pub input: Input,
    /// The value when the form opened; a change is what differs from it.
    pub original: String,
    /// Editing: a stored secret exists and is kept unless something is typed.
    pub has_stored_secret: bool,
    pub error: Option<String>,
}

impl std::fmt::Debug for FormField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let input = InputDebug {
            input: &self.input,
            secret: self.secret,
        };
        let original: &dyn std::fmt::Debug = if self.secret {
            &"[REDACTED]"
        } else {
            &self.original
        };
        f.debug_struct("FormField")
            .field("key", &self.key)
            .field("label", &self.label)
            .field("secret", &self.secret)
            .field("required", &self.required)
            .field("help", &self.help)
            .field("input", &input)
            .field("original", original)
            .field("has_stored_secret", &self.has_stored_secret)
            .field("error", &self.error)
            .finish()
    }
}

impl FormField {
    pub fn changed(&self) -> bool {
        self.input.value() != self.original
    }
}

/// Where a save stands.
#[derive(Debug)]
pub enum FormPhase {
    Editing,
    Verifying {
        request: RequestId,
    },
    /// The service said no (or the fields cannot form a request): nothing was saved.
    Refused {
        status: Status,
        reason: String,
    },
    /// The service could not be reached; the prepared credential and what the check found wait
    /// for "save as unverified".
    Unreachable {
        check: Verification,
        credential: Box<Credential>,
    },
    Saving,
}

/// Where the credential form returns when it is saved or closed: an inline add from the flow
/// wizard or the promotion screen goes back there, with the new credential picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOrigin {
    Credentials,
    /// The wizard's credential step for this flow step.
    Wizard {
        step: usize,
    },
    /// The promotion screen's step.
    Promote {
        step: usize,
    },
}

#[derive(Debug)]
pub struct FormState {
    pub origin: FormOrigin,
    pub component: String,
    pub editing: Option<RecordId>,
    pub fields: Vec<FormField>,
    pub focus: usize,
    /// The field whose secret is shown, and until when.
    pub revealed: Option<(usize, Instant)>,
    pub phase: FormPhase,
    pub message: Option<Notice>,
    /// An OAuth2 login started from this form (Ctrl-g / Ctrl-p), until its tokens arrive.
    pub login: Option<LoginState>,
}

impl FormState {
    pub fn changed(&self) -> bool {
        self.fields.iter().any(FormField::changed)
    }
    pub fn is_revealed(&self, index: usize) -> bool {
        self.revealed.is_some_and(|(i, _)| i == index)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    NewWorkspace,
    RenameWorkspace(RecordId),
    /// Deleting a workspace that holds records: the user types its name.
    DeleteWorkspace {
        name: String,
    },
}

#[derive(Debug)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: Input,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteTarget {
    Credential { id: RecordId, name: String },
    EmptyWorkspace { name: String },
    Flow { id: RecordId, name: String },
}

#[derive(Debug)]
pub enum Modal {
    Help {
        context: Context,
    },
    Prompt(Prompt),
    ConfirmDelete {
        target: DeleteTarget,
        /// Set when a rule refuses the delete; the dialog then only explains.
        refusal: Option<String>,
    },
    /// Esc with unsaved work: the credential form's, or the flow wizard's.
    ConfirmDiscard(Discard),
}

/// What a ConfirmDiscard dialog would throw away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    Form,
    Wizard,
}

/// The credential shown in the detail view, and where Esc returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailState {
    pub credential: RecordId,
    pub back: Screen,
    pub history: HistoryView,
}

/// The detail view's verification history, which the vault reads on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryView {
    Loading,
    /// Newest first.
    Loaded(Vec<Verification>),
    /// Why it could not be read (a damaged history entry, a storage error).
    Failed(String),
}

/// One verification in flight, for the status bar and the row spinners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// The stored credential being re-checked; None for a form's draft.
    pub credential: Option<RecordId>,
    pub label: String,
}

/// The unlocked vault as the UI sees it, with derived views cached so a frame never scans
/// 10,000 credentials.
#[derive(Debug, Default)]
pub struct VaultView {
    pub snapshot: Snapshot,
    pub workspace: Option<RecordId>,
    counts: HashMap<String, usize>,
    /// Indices into `snapshot.credentials` of the open component's list, sorted by name.
    rows: Vec<usize>,
    rows_component: String,
}

impl VaultView {
    pub fn new(snapshot: Snapshot) -> VaultView {
        VaultView {
            snapshot,
            ..VaultView::default()
        }
    }

    pub fn replace(&mut self, snapshot: Snapshot) {
        self.snapshot = snapshot;
        if let Some(w) = &self.workspace {
            if self.snapshot.workspace(w).is_none() {
                self.workspace = None;
            }
        }
        self.refresh();
    }

    pub fn select_workspace(&mut self, id: Option<RecordId>) {
        self.workspace = id;
        self.refresh();
    }

    pub fn show_component(&mut self, component: &str) {
        self.rows_component = component.to_string();
        self.refresh();
    }

    fn refresh(&mut self) {
        self.counts.clear();
        self.rows.clear();
        let Some(w) = &self.workspace else { return };
        for (i, c) in self.snapshot.credentials.iter().enumerate() {
            if &c.workspace != w {
                continue;
            }
            *self.counts.entry(c.component.clone()).or_insert(0) += 1;
            if c.component == self.rows_component {
                self.rows.push(i);
            }
        }
        let creds = &self.snapshot.credentials;
        self.rows
            .sort_by(|a, b| creds[*a].name.cmp(&creds[*b].name).then(a.cmp(b)));
    }

    pub fn count(&self, component: &str) -> usize {
        self.counts.get(component).copied().unwrap_or(0)
    }

    pub fn workspace_name(&self) -> Option<&str> {
        let id = self.workspace.as_ref()?;
        self.snapshot.workspace(id).map(|w| w.name.as_str())
    }

    /// The open component's credentials in display order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &Credential> + '_ {
        self.rows.iter().map(|i| &self.snapshot.credentials[*i])
    }

    pub fn row(&self, index: usize) -> Option<&Credential> {
        self.rows.get(index).map(|i| &self.snapshot.credentials[*i])
    }

    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
}

/// What the caller knows at start-up.
pub struct StateInit {
    pub vault_path: PathBuf,
    pub vault_exists: bool,
    pub catalog: Catalog,
    pub theme: Theme,
    /// None disables the idle lock.
    pub auto_lock: Option<Duration>,
    pub clock: Clock,
}

#[derive(Debug)]
pub struct State {
    pub vault_path: PathBuf,
    pub catalog: Catalog,
    pub theme: Theme,
    pub auto_lock: Option<Duration>,
    pub clock: Clock,
    pub last_input: Instant,
    pub screen: Screen,
    pub unlock: UnlockState,
    pub vault: Option<VaultView>,
    pub workspaces: WorkspacesState,
    pub grid: GridState,
    /// The terminal size, so update and render agree on how many cards fit in a row.
    pub size: (u16, u16),
    pub credentials: CredentialsState,
    pub form: Option<FormState>,
    pub flows: FlowsState,
    /// The flow wizard; kept while an inline credential form is open over it.
    pub wizard: Option<WizardState>,
    pub promote: Option<PromoteState>,
    pub used_by: Option<UsedByState>,
    pub audit: AuditState,
    pub detail: Option<DetailState>,
    /// Expiry within this many days is flagged (config `audit.expiry_warning_days`).
    pub expiry_warning_days: u64,
    pub modal: Option<Modal>,
    pub verifying: BTreeMap<RequestId, InFlight>,
    pub next_request: RequestId,
    /// The latest message on a list screen (saved, deleted, refused...).
    pub notice: Option<Notice>,
    /// Spinner frames are counted from here, so a frame is a pure function of the clock.
    pub epoch: Instant,
    pub quit: bool,
    /// A vault problem the UI cannot recover from (damaged, in use...): shown by the caller.
    pub fatal: Option<VaultError>,
}

impl State {
    pub fn new(init: StateInit) -> State {
        State {
            vault_path: init.vault_path,
            catalog: init.catalog,
            theme: init.theme,
            auto_lock: init.auto_lock,
            clock: init.clock,
            last_input: init.clock.mono,
            screen: Screen::Unlock,
            unlock: UnlockState {
                creating: !init.vault_exists,
                ..UnlockState::default()
            },
            vault: None,
            workspaces: WorkspacesState::default(),
            grid: GridState::default(),
            size: (80, 24),
            credentials: CredentialsState::default(),
            form: None,
            flows: FlowsState::default(),
            wizard: None,
            promote: None,
            used_by: None,
            audit: AuditState::default(),
            detail: None,
            expiry_warning_days: 14,
            modal: None,
            verifying: BTreeMap::new(),
            next_request: 1,
            notice: None,
            epoch: init.clock.mono,
            quit: false,
            fatal: None,
        }
    }

    /// The key context: a modal's, else the screen's.
    pub fn context(&self) -> Context {
        match &self.modal {
            Some(Modal::Help { .. }) => Context::Help,
            Some(Modal::Prompt(_)) => Context::Prompt,
            Some(Modal::ConfirmDelete { .. }) => Context::ConfirmDelete,
            Some(Modal::ConfirmDiscard(_)) => Context::ConfirmDiscard,
            None => match self.screen {
                Screen::Unlock => Context::Unlock,
                Screen::Workspaces => Context::Workspaces,
                Screen::Grid if self.grid.filtering => Context::GridFilter,
                Screen::Grid => Context::Grid,
                Screen::Credentials => Context::Credentials,
                Screen::Form => self.form_context(),
                Screen::Flows => Context::Flows,
                Screen::Wizard => match self.wizard.as_ref().map(|w| (w.step, w.in_chosen)) {
                    Some((WizardStep::Name, _)) | None => Context::WizardName,
                    Some((WizardStep::Components, false)) => Context::WizardComponents,
                    Some((WizardStep::Components, true)) => Context::WizardChosen,
                    Some((WizardStep::Credentials, _)) => Context::WizardCredentials,
                    Some((WizardStep::Review, _)) => Context::WizardReview,
                },
                Screen::Promote if self.promote.as_ref().is_some_and(|p| p.name_focused) => {
                    Context::PromoteName
                }
                Screen::Promote => Context::PromoteSteps,
                Screen::UsedBy => Context::UsedBy,
                Screen::Audit => Context::Audit,
                Screen::Detail => Context::Detail,
            },
        }
    }

    /// The form's keys depend on its component (only OAuth2 forms can log in) and on whether a
    /// browser login waits for the pasted address.
    fn form_context(&self) -> Context {
        let Some(form) = self.form.as_ref() else {
            return Context::Form;
        };
        if form.login.as_ref().is_some_and(LoginState::takes_paste) {
            return Context::LoginPaste;
        }
        let oauth = self
            .catalog
            .get(&form.component)
            .is_some_and(|c| c.kind == crate::core::schema::Kind::Oauth2);
        if oauth {
            Context::OAuthForm
        } else {
            Context::Form
        }
    }

    /// Components shown on the grid, after the filter.
    pub fn visible_components(&self) -> Vec<&Component> {
        self.catalog.matching(self.grid.filter.value())
    }

    /// Something on screen moves: a verification, an unlock, a save.
    pub fn animating(&self) -> bool {
        !self.verifying.is_empty()
            || self.unlock.busy
            || self.form.as_ref().is_some_and(|f| {
                matches!(f.phase, FormPhase::Saving)
                    || f.login.as_ref().is_some_and(|l| l.phase.is_waiting())
            })
    }

    /// When the loop must wake up even without input: the next spinner frame, a reveal's end,
    /// the idle lock.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        if self.animating() {
            consider(self.clock.mono + TICK);
        }
        if let Some((_, until)) = self.form.as_ref().and_then(|f| f.revealed) {
            consider(until);
        }
        if let (Some(after), Some(_)) = (self.auto_lock, &self.vault) {
            consider(self.last_input + after);
        }
        next
    }

    /// The open workspace's id, when one is open.
    pub fn workspace_id(&self) -> Option<&RecordId> {
        self.vault.as_ref().and_then(|v| v.workspace.as_ref())
    }

    pub fn spinner_frame(&self) -> usize {
        (self
            .clock
            .mono
            .saturating_duration_since(self.epoch)
            .as_millis()
            / TICK.as_millis()) as usize
    }

    pub fn allocate_request(&mut self) -> RequestId {
        let id = self.next_request;
        self.next_request += 1;
        id
    }

    /// Registers a re-check of stored credential `c` and returns its request id; None while
    /// one is already running for it (one run per credential at a time).
    pub fn begin_verifying(&mut self, c: &Credential) -> Option<RequestId> {
        if self
            .verifying
            .values()
            .any(|f| f.credential.as_ref() == Some(&c.id))
        {
            return None;
        }
        let request = self.allocate_request();
        self.verifying.insert(
            request,
            InFlight {
                credential: Some(c.id.clone()),
                label: c.name.clone(),
            },
        );
        Some(request)
    }
}
