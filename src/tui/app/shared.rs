//! What every screen reads and may change, apart from its own state: the unlocked vault as the
//! UI mirrors it, the catalogue, the clock, the verifications in flight, the latest notice and
//! the dialog over the screen. No I/O handles live here (the store and the verifiers belong to
//! the effect runner); the vault's contents are a `Snapshot` the edges replace after every write.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::catalog::Catalog;
use crate::core::expiry::{self, ExpiryState};
use crate::core::health::Health;
use crate::core::{Credential, RecordId};
use crate::tui::widgets::notice::Notice;
use crate::tui::widgets::theme::Theme;
use crate::vault::VaultError;

use super::action::{Clock, Effect, RequestId};
use super::keys::KeyHelp;
use super::vault_view::{Tally, VaultView};

/// The default of `ui.reveal_secs`.
pub const REVEAL_FOR: Duration = Duration::from_secs(10);
/// Spinner frame interval; the tick runs only while something animates.
pub const TICK: Duration = Duration::from_millis(100);

/// One verification in flight, for the status bar and the row spinners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// The stored credential being re-checked; None for a form's draft.
    pub credential: Option<RecordId>,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteTarget {
    Credential { id: RecordId, name: String },
    EmptyWorkspace { name: String },
    Flow { id: RecordId, name: String },
}

/// The dialog over the screen (dialogs.rs draws them and takes their keys).
#[derive(Debug)]
pub enum Modal {
    /// Every key of the table in force when `?` was pressed.
    Help { keys: &'static dyn KeyHelp },
    ConfirmDelete {
        target: DeleteTarget,
        /// Set when a rule refuses the delete; the dialog then only explains.
        refusal: Option<String>,
    },
    /// The `:` command line (command_line.rs), drawn on the footer's row.
    CommandLine(CommandLine),
    /// `Y`: what of the selected row to copy (its reason, its detail), each on a key.
    Yank(Vec<YankChoice>),
    /// `Y` (Ctrl-y in a form) while a secret is revealed: the reason and detail, and the
    /// secret, which asks first.
    YankWithSecret {
        choices: Vec<YankChoice>,
        secret: SecretOffer,
    },
    /// Copy this secret to the clipboard? (asked before it is copied)
    ConfirmYankSecret(SecretOffer),
    /// Show the stored secret of this field (its label)? The form asks before it reveals.
    ConfirmReveal(String),
    /// Esc with unsaved work; the text says what would be lost. "y" tells the screen on top.
    ConfirmDiscard(&'static str),
    /// `R`: rotate this credential's password? Names what the rotation touches.
    ConfirmRotate(Box<RotateConfirm>),
}

/// What the rotation dialog names: the server, the user and the active flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateConfirm {
    pub credential: RecordId,
    pub name: String,
    /// host:port
    pub server: String,
    pub user: String,
    pub active_flows: Vec<String>,
}

/// The `:` command line being typed (command_line.rs reads and runs it), and what the last
/// Enter or Tab had to say.
#[derive(Debug, Default)]
pub struct CommandLine {
    pub input: tui_input::Input,
    /// Why the last command did not run, or the completions Tab found.
    pub note: Option<String>,
}

/// A revealed secret `Y` offers to copy: the field's label, the value (redacted in Debug,
/// never drawn by the dialogs), and when its reveal ends: the offer ends with it, so a secret
/// is copied only while it is revealed.
#[derive(Debug, Clone)]
pub struct SecretOffer {
    pub label: String,
    pub value: secrecy::SecretString,
    pub until: std::time::Instant,
}

/// One thing `Y` offers to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YankChoice {
    /// "reason", "detail".
    pub what: &'static str,
    pub text: String,
}

/// What screens remember between visits (the audit's sort and filter), one value per type,
/// kept for the whole session.
#[derive(Debug, Default)]
pub struct Memory(HashMap<TypeId, Box<dyn Any + Send>>);

impl Memory {
    pub fn keep<T: Any + Send>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(value));
    }

    pub fn recall<T: Any + Send + Clone>(&self) -> Option<T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref::<T>().cloned()
    }
}

#[derive(Debug)]
pub struct Shared {
    pub vault_path: PathBuf,
    pub catalog: Catalog,
    pub theme: Theme,
    pub auto_lock: Option<Duration>,
    /// How long a revealed secret stays shown (config `ui.reveal_secs`).
    pub reveal_for: Duration,
    pub clock: Clock,
    pub last_input: Instant,
    /// The terminal size, so update and render agree on how many cards fit in a row.
    pub size: (u16, u16),
    /// The unlocked vault; None while locked.
    pub vault: Option<VaultView>,
    /// Expiry within this many days is flagged (config `audit.expiry_warning_days`).
    pub expiry_warning_days: u64,
    pub modal: Option<Modal>,
    pub verifying: BTreeMap<RequestId, InFlight>,
    pub next_request: RequestId,
    /// The latest message on a list screen (saved, deleted, refused...).
    pub notice: Option<Notice>,
    /// Spinner frames are counted from here, so a frame is a pure function of the clock.
    pub epoch: Instant,
    pub memory: Memory,
    pub quit: bool,
    /// A team vault's link to its server while unlocked (core::liveness): offline, it is
    /// read-only. None for a file vault, and while locked.
    pub live: Option<crate::core::liveness::Liveness>,
    /// A vault problem the UI cannot recover from (damaged, in use...): shown by the caller.
    pub fatal: Option<VaultError>,
}

impl Shared {
    /// Locked, on a terminal of 80x24 until the first resize.
    pub fn new(
        vault_path: PathBuf,
        catalog: Catalog,
        theme: Theme,
        auto_lock: Option<Duration>,
        clock: Clock,
    ) -> Shared {
        Shared {
            vault_path,
            catalog,
            theme,
            auto_lock,
            reveal_for: REVEAL_FOR,
            clock,
            last_input: clock.mono,
            size: (80, 24),
            vault: None,
            expiry_warning_days: 14,
            modal: None,
            verifying: BTreeMap::new(),
            next_request: 1,
            notice: None,
            epoch: clock.mono,
            memory: Memory::default(),
            quit: false,
            live: None,
            fatal: None,
        }
    }

    /// The open workspace's id, when one is open.
    pub fn workspace_id(&self) -> Option<&RecordId> {
        self.vault.as_ref().and_then(|v| v.workspace.as_ref())
    }

    /// Where `c`'s expiry stands against the warning window the config sets: by the same rule
    /// as `keyway audit` (core::expiry).
    pub fn expiry_of(&self, c: &Credential) -> ExpiryState {
        expiry::expiry_state(
            c,
            self.clock.wall,
            expiry::warning_window(self.expiry_warning_days),
        )
    }

    /// The expiry warning window the config sets.
    pub fn expiry_window(&self) -> Duration {
        expiry::warning_window(self.expiry_warning_days)
    }

    /// A credential's health by the one rule (core::health), its expiry included.
    pub fn health_of(&self, c: &Credential) -> Health {
        Health::of(c, self.expiry_of(c))
    }

    /// A group's health (the worst of its credentials) now; None when it has none.
    pub fn health_of_tally(&self, tally: &Tally) -> Option<Health> {
        tally.health(self.clock.wall, self.expiry_window())
    }

    pub fn spinner_frame(&self) -> usize {
        (self
            .clock
            .mono
            .saturating_duration_since(self.epoch)
            .as_millis()
            / TICK.as_millis()) as usize
    }

    /// `R` on a credential: the confirmation naming the server, the user and the active flows,
    /// or a notice saying why this one cannot be rotated.
    pub fn confirm_rotate(&mut self, id: &RecordId) {
        let Some(view) = self.vault.as_ref() else {
            return;
        };
        let Some(c) = view.snapshot.credential(id) else {
            return;
        };
        let rotatable = self
            .catalog
            .get(&c.component)
            .is_some_and(crate::core::rotation::is_rotatable);
        if !rotatable || !c.secrets.contains(crate::core::rotation::PASSWORD_FIELD) {
            self.notice = Some(Notice::error(format!(
                "'{}' cannot be rotated: R rotates database passwords (PostgreSQL, MySQL/MariaDB).",
                c.name
            )));
            return;
        }
        let mut active_flows: Vec<String> = view
            .snapshot
            .flows_using(id)
            .filter(|f| f.active)
            .map(|f| f.name.clone())
            .collect();
        active_flows.sort_unstable();
        let field = |name: &str| c.public.get(name).cloned().unwrap_or_default();
        self.modal = Some(Modal::ConfirmRotate(Box::new(RotateConfirm {
            credential: id.clone(),
            name: c.name.clone(),
            server: format!("{}:{}", field("host"), field("port")),
            user: field("user"),
            active_flows,
        })));
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

    /// `y`: the selected row's name to the clipboard, at once.
    pub fn yank(&mut self, what: &str, text: String) -> Vec<Effect> {
        self.notice = Some(Notice::info(format!("Copied the {what}: {text}")));
        vec![Effect::Copy { text }]
    }

    /// `Y`: a choice of the credential's last reason and detail (a secret is never offered
    /// here: it is not shown in a list).
    pub fn offer_yank(&mut self, c: &Credential) {
        let choices = yank_choices(c);
        if choices.is_empty() {
            self.notice = Some(Notice::info(format!(
                "'{}' was never verified: no reason or detail to copy",
                c.name
            )));
            return;
        }
        self.modal = Some(Modal::Yank(choices));
    }

    /// The delete dialog for `c`, guarded as everywhere: a rule that refuses (an active flow
    /// uses it) is said in the dialog, which then only explains.
    pub fn ask_delete_credential(&mut self, c: &Credential) {
        let refusal = self
            .vault
            .as_ref()
            .and_then(|v| v.snapshot.check_credential_delete(c).err())
            .map(|e| e.to_string());
        self.modal = Some(Modal::ConfirmDelete {
            target: DeleteTarget::Credential {
                id: c.id.clone(),
                name: c.name.clone(),
            },
            refusal,
        });
    }

    /// Re-verifies a stored credential (a list's or the detail view's `v`); the app records the
    /// result like any other (`update::recheck_finished`), and it shows in the status column
    /// and the history.
    pub fn verify_stored(&mut self, c: Credential) -> Vec<Effect> {
        let Some(component) = self.catalog.get(&c.component).cloned() else {
            self.notice = Some(Notice::error(format!(
                "Component '{}' is not in the catalogue",
                c.component
            )));
            return Vec::new();
        };
        let Some(request) = self.begin_verifying(&c) else {
            return Vec::new();
        };
        self.notice = Some(Notice::info(format!("Verifying '{}'…", c.name)));
        vec![Effect::Verify {
            request,
            component: Box::new(component),
            credential: Box::new(c),
        }]
    }
}

/// What of a credential `Y` can copy without asking: its last reason and detail.
pub fn yank_choices(c: &Credential) -> Vec<YankChoice> {
    let mut choices = Vec::new();
    if let Some(v) = &c.last_verification {
        choices.push(YankChoice {
            what: "reason",
            text: v.reason.clone(),
        });
        if let Some(d) = &v.detail {
            choices.push(YankChoice {
                what: "detail",
                text: d.clone(),
            });
        }
    }
    choices
}
