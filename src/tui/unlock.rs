//! Unlocking: the passphrase screen (open or create the vault) and what follows a
//! successful or failed unlock.

use zeroize::Zeroize;

use crate::core::secret::check_new_passphrase;
use crate::core::RecordId;
use crate::core::Snapshot;
use crate::vault::VaultError;

use super::action::Effect;
use super::keys::Command;
use super::state::*;
use super::{update, workspaces};

pub(super) fn unlock_command(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    let u = &mut state.unlock;
    if u.busy {
        return;
    }
    match command {
        Command::NextField if u.creating => u.focus = 1 - u.focus.min(1),
        Command::Submit => {
            if u.passphrase.value().is_empty() {
                u.focus = 0;
                u.message = Some(Notice::error("Type the passphrase first"));
                return;
            }
            if !u.creating {
                u.busy = true;
                u.message = None;
                fx.push(Effect::OpenVault {
                    passphrase: update::take_secret(&mut u.passphrase),
                });
                return;
            }
            if let Err(why) = check_new_passphrase(u.passphrase.value()) {
                u.focus = 0;
                u.message = Some(Notice::error(capitalised(&why)));
                return;
            }
            if u.focus == 0 && u.confirm.value().is_empty() {
                u.focus = 1;
                return;
            }
            if u.passphrase.value() != u.confirm.value() {
                u.confirm.value_and_reset().zeroize();
                u.focus = 1;
                u.message = Some(Notice::error("The two passphrases differ: type it again"));
                return;
            }
            u.confirm.value_and_reset().zeroize();
            u.busy = true;
            u.focus = 0;
            u.message = None;
            fx.push(Effect::CreateVault {
                passphrase: update::take_secret(&mut u.passphrase),
            });
        }
        _ => {}
    }
}

pub(super) fn on_unlock_failed(state: &mut State, error: VaultError) {
    let u = &mut state.unlock;
    u.busy = false;
    u.focus = 0;
    match error {
        VaultError::WrongPassphrase(_) => {
            u.message = Some(Notice::error("Wrong passphrase: try again"));
        }
        VaultError::Missing(_) => {
            u.creating = true;
            u.message = Some(Notice::info(
                "No vault here yet: choose a passphrase (twice) to create one",
            ));
        }
        fatal => {
            state.fatal = Some(fatal);
            state.quit = true;
        }
    }
}

pub(super) fn on_unlocked(
    state: &mut State,
    snapshot: Snapshot,
    remembered: Option<RecordId>,
    fx: &mut Vec<Effect>,
) {
    state.unlock = UnlockState::default();
    state.last_input = state.clock.mono;
    let workspaces = workspaces::sorted_workspaces(&snapshot);
    let pick = remembered
        .filter(|id| snapshot.workspace(id).is_some())
        .or_else(|| match workspaces.as_slice() {
            [only] => Some(only.id.clone()),
            _ => None,
        });
    drop(workspaces);
    let mut view = VaultView::new(snapshot);
    match pick {
        Some(id) => {
            view.select_workspace(Some(id.clone()));
            fx.push(Effect::RememberWorkspace { id });
            state.screen = Screen::Grid;
        }
        None => {
            view.select_workspace(None);
            state.screen = Screen::Workspaces;
        }
    }
    state.vault = Some(view);
    state.grid = GridState::default();
    state.workspaces.selected = 0;
}

fn capitalised(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
