//! Unlock: the passphrase screen (open or create the vault), and what follows a successful or
//! failed unlock. It is the bottom of the stack while locked; unlocking replaces it with the
//! grid of the remembered (or only) workspace, else with the workspace picker.

pub mod keys;
mod view;

#[cfg(test)]
mod tests;

use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::Input;
use zeroize::Zeroize;

use crate::core::secret::check_new_passphrase;
use crate::core::{RecordId, Snapshot};
use crate::tui::app::action::{Action, Effect};
use crate::tui::app::keys::Keys;
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::{Screen, Update};
use crate::tui::app::shared::Shared;
use crate::tui::app::vault_view::VaultView;
use crate::tui::widgets::notice::Notice;
use crate::tui::widgets::text_field::{secret_input, take_secret};
use keys::{Command, CREATE, UNLOCK};

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

impl UnlockState {
    pub fn open(message: Option<Notice>) -> UnlockState {
        UnlockState {
            message,
            ..UnlockState::default()
        }
    }

    fn submit(&mut self) -> Update {
        if self.passphrase.value().is_empty() {
            self.focus = 0;
            self.message = Some(Notice::error("Type the passphrase first"));
            return Update::none();
        }
        if !self.creating {
            self.busy = true;
            self.message = None;
            return Update::effect(Effect::OpenVault {
                passphrase: take_secret(&mut self.passphrase),
            });
        }
        if let Err(why) = check_new_passphrase(self.passphrase.value()) {
            self.focus = 0;
            self.message = Some(Notice::error(capitalised(&why)));
            return Update::none();
        }
        if self.focus == 0 && self.confirm.value().is_empty() {
            self.focus = 1;
            return Update::none();
        }
        if self.passphrase.value() != self.confirm.value() {
            self.confirm.value_and_reset().zeroize();
            self.focus = 1;
            self.message = Some(Notice::error("The two passphrases differ: type it again"));
            return Update::none();
        }
        self.confirm.value_and_reset().zeroize();
        self.busy = true;
        self.focus = 0;
        self.message = None;
        Update::effect(Effect::CreateVault {
            passphrase: take_secret(&mut self.passphrase),
        })
    }

    fn failed(&mut self, shared: &mut Shared, error: crate::vault::VaultError) {
        use crate::vault::VaultError;
        self.busy = false;
        self.focus = 0;
        match error {
            VaultError::WrongPassphrase(_) => {
                self.message = Some(Notice::error("Wrong passphrase: try again"));
            }
            VaultError::Missing(_) => {
                self.creating = true;
                self.message = Some(Notice::info(
                    "No vault here yet: choose a passphrase (twice) to create one",
                ));
            }
            fatal => {
                shared.fatal = Some(fatal);
                shared.quit = true;
            }
        }
    }
}

/// The workspace to open after unlocking: the one remembered from last time, if it still
/// exists, else the only one there is.
fn workspace_to_open(snapshot: &Snapshot, remembered: Option<RecordId>) -> Option<RecordId> {
    remembered
        .filter(|id| snapshot.workspace(id).is_some())
        .or_else(|| match snapshot.workspaces.as_slice() {
            [only] => Some(only.id.clone()),
            _ => None,
        })
}

fn unlocked(shared: &mut Shared, snapshot: Snapshot, remembered: Option<RecordId>) -> Update {
    shared.last_input = shared.clock.mono;
    let pick = workspace_to_open(&snapshot, remembered);
    let mut view = VaultView::new(snapshot);
    view.select_workspace(pick.clone());
    shared.vault = Some(view);
    match pick {
        Some(id) => Update::effect(Effect::RememberWorkspace { id }).and(Nav::Replace(Route::Grid)),
        None => Update::nav(Nav::Replace(Route::Workspaces)),
    }
}

fn capitalised(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

impl Screen for UnlockState {
    type Command = Command;

    fn keys(&self, _shared: &Shared) -> &'static Keys<Command> {
        if self.creating {
            &CREATE
        } else {
            &UNLOCK
        }
    }

    fn command(&mut self, _shared: &mut Shared, command: Command) -> Update {
        if self.busy {
            return Update::none();
        }
        match command {
            Command::NextField if self.creating => {
                self.focus = 1 - self.focus.min(1);
                Update::none()
            }
            Command::NextField => Update::none(),
            Command::Submit => self.submit(),
        }
    }

    fn title(&self, _shared: &Shared) -> String {
        "unlock".to_string()
    }

    fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        view::render(self, shared, frame, area)
    }

    fn focused_input(&mut self) -> Option<&mut Input> {
        match (self.busy, self.focus) {
            (true, _) => None,
            (false, 1) => Some(&mut self.confirm),
            (false, _) => Some(&mut self.passphrase),
        }
    }

    fn on_action(&mut self, shared: &mut Shared, action: Action) -> Result<Update, Action> {
        match action {
            // A passphrase given by the caller (tests, scripted runs) instead of typed.
            Action::AutoUnlock(passphrase) => {
                self.busy = true;
                Ok(Update::effect(if self.creating {
                    Effect::CreateVault { passphrase }
                } else {
                    Effect::OpenVault { passphrase }
                }))
            }
            Action::Unlocked {
                snapshot,
                remembered,
            } => Ok(unlocked(shared, snapshot, remembered)),
            Action::UnlockFailed(error) => {
                self.failed(shared, error);
                Ok(Update::none())
            }
            other => Err(other),
        }
    }

    fn animating(&self) -> bool {
        self.busy
    }
}
