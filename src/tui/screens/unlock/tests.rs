//! The unlock screen's state, driven without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use secrecy::ExposeSecret;

use super::keys::{Command, CREATE, UNLOCK};
use super::UnlockState;
use crate::core::Snapshot;
use crate::tui::app::action::{Action, Effect};
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::testing::*;
use crate::vault::VaultError;

fn typed(u: &mut UnlockState, text: &str) {
    let input = u.focused_input().expect("a field has the keyboard");
    for c in text.chars() {
        input.handle(tui_input::InputRequest::InsertChar(c));
    }
}

#[test]
fn the_key_table_is_well_formed() {
    assert_tables_well_formed(&[&UNLOCK, &CREATE]);
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        UNLOCK.command_for(&enter),
        Some(crate::tui::app::keys::Bound::Screen(Command::Submit))
    );
}

#[test]
fn opening_asks_for_the_passphrase_and_takes_it_out_of_the_field() {
    let mut shared = locked();
    let mut u = UnlockState::default();
    let update = u.command(&mut shared, Command::Submit);
    assert!(update.effects.is_empty(), "nothing typed yet");
    assert!(u.message.is_some());
    typed(&mut u, "hunter2");
    let update = u.command(&mut shared, Command::Submit);
    match update.effects.as_slice() {
        [Effect::OpenVault { passphrase }] => assert_eq!(passphrase.expose_secret(), "hunter2"),
        other => panic!("{other:?}"),
    }
    assert!(u.busy && u.passphrase.value().is_empty());
    assert!(
        u.focused_input().is_none(),
        "no typing while the key is derived"
    );
}

#[test]
fn creating_needs_a_long_enough_passphrase_the_same_twice() {
    let mut shared = locked();
    let mut u = UnlockState {
        creating: true,
        ..UnlockState::default()
    };
    typed(&mut u, "short");
    assert!(u.command(&mut shared, Command::Submit).effects.is_empty());
    assert_eq!(
        u.focus, 0,
        "too short: said before the confirmation is asked for"
    );
    assert!(u
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("at least 8 characters"));
    typed(&mut u, " enough");
    assert!(u.command(&mut shared, Command::Submit).effects.is_empty());
    assert_eq!(u.focus, 1, "Enter moves to the confirmation");
    typed(&mut u, "something else");
    assert!(u.command(&mut shared, Command::Submit).effects.is_empty());
    assert!(
        u.confirm.value().is_empty(),
        "a wrong confirmation is wiped"
    );
    typed(&mut u, "short enough");
    let update = u.command(&mut shared, Command::Submit);
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::CreateVault { .. }]
    ));
}

#[test]
fn unlocking_replaces_the_screen_with_the_remembered_workspace_or_the_picker() {
    let mut shared = locked();
    let mut u = UnlockState::default();
    let update = u
        .on_action(
            &mut shared,
            Action::Unlocked {
                snapshot: snapshot(),
                remembered: Some(id("w2")),
            },
        )
        .unwrap();
    assert_eq!(update.nav, Some(Nav::Replace(Route::Grid)));
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::RememberWorkspace { id: w }] if *w == id("w2")
    ));
    assert_eq!(shared.workspace_id(), Some(&id("w2")));
    // A remembered workspace that is gone, with two to choose from: the picker.
    let mut shared = locked();
    let update = u
        .on_action(
            &mut shared,
            Action::Unlocked {
                snapshot: snapshot(),
                remembered: Some(id("gone")),
            },
        )
        .unwrap();
    assert_eq!(nav_only(update), Some(Nav::Replace(Route::Workspaces)));
    // The only workspace there is opens by itself.
    let mut one = Snapshot::default();
    one.workspaces.push(snapshot().workspaces[0].clone());
    let update = u
        .on_action(
            &mut shared,
            Action::Unlocked {
                snapshot: one,
                remembered: None,
            },
        )
        .unwrap();
    assert_eq!(update.nav, Some(Nav::Replace(Route::Grid)));
}

#[test]
fn a_wrong_passphrase_asks_again_and_a_damaged_vault_ends_the_ui() {
    let mut shared = locked();
    let mut u = UnlockState {
        busy: true,
        ..UnlockState::default()
    };
    let wrong = VaultError::WrongPassphrase(std::path::PathBuf::from("/v"));
    assert!(u
        .on_action(&mut shared, Action::UnlockFailed(wrong))
        .is_ok());
    assert!(!u.busy && u.message.is_some() && !shared.quit);
    let in_use = VaultError::InUse(std::path::PathBuf::from("/v"));
    assert!(u
        .on_action(&mut shared, Action::UnlockFailed(in_use))
        .is_ok());
    assert!(shared.quit && shared.fatal.is_some());
}
