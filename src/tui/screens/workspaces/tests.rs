//! The workspace picker's state, driven without a terminal.

use super::keys::{Command, PROMPT, WORKSPACES};
use super::{PromptKind, WorkspacesState};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::nav::{Nav, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::shared::Modal;
use crate::tui::app::testing::*;

#[test]
fn the_key_tables_are_well_formed() {
    assert_tables_well_formed(&[&WORKSPACES, &PROMPT]);
}

#[test]
fn it_opens_on_the_open_workspace_and_picking_one_starts_over_from_its_grid() {
    let mut shared = unlocked();
    shared
        .vault
        .as_mut()
        .unwrap()
        .select_workspace(Some(id("w2")));
    let mut ws = WorkspacesState::open(&shared);
    assert_eq!(ws.selected, 1, "globex sorts after acme");
    quiet(ws.command(&mut shared, Command::Up));
    let update = ws.command(&mut shared, Command::Open);
    assert_eq!(update.nav, Some(Nav::Reset(Route::Grid)));
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::RememberWorkspace { id: w }] if *w == id("w1")
    ));
    assert_eq!(shared.workspace_id(), Some(&id("w1")));
}

#[test]
fn back_needs_a_workspace_to_go_back_to() {
    let mut shared = unlocked();
    shared.vault.as_mut().unwrap().select_workspace(None);
    let mut ws = WorkspacesState::open(&shared);
    assert_eq!(nav_only(ws.command(&mut shared, Command::Back)), None);
    shared
        .vault
        .as_mut()
        .unwrap()
        .select_workspace(Some(id("w1")));
    assert_eq!(
        nav_only(ws.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
}

#[test]
fn the_prompt_checks_the_name_with_the_stores_rules_and_stays_open_when_refused() {
    let mut shared = unlocked();
    let mut ws = WorkspacesState::open(&shared);
    quiet(ws.command(&mut shared, Command::Add));
    assert!(
        std::ptr::eq(ws.keys(&shared), &PROMPT),
        "the prompt has the keys"
    );
    for c in "acme".chars() {
        ws.focused_input()
            .unwrap()
            .handle(tui_input::InputRequest::InsertChar(c));
    }
    assert!(ws.command(&mut shared, Command::Confirm).effects.is_empty());
    let prompt = ws.prompt.as_ref().expect("still open");
    assert!(prompt.error.as_deref().unwrap().contains("already exists"));
    ws.edited(&mut shared);
    assert!(
        ws.prompt.as_ref().unwrap().error.is_none(),
        "typing clears it"
    );
    quiet(ws.command(&mut shared, Command::Cancel));
    assert!(ws.prompt.is_none());
}

#[test]
fn deleting_asks_to_type_the_name_of_a_workspace_that_holds_records() {
    let mut shared = unlocked();
    let mut ws = WorkspacesState::open(&shared);
    quiet(ws.command(&mut shared, Command::Delete));
    assert_eq!(
        ws.prompt.as_ref().map(|p| &p.kind),
        Some(&PromptKind::DeleteWorkspace {
            name: "acme".into()
        })
    );
    ws.prompt = None;
    // An empty workspace is only confirmed.
    quiet(ws.command(&mut shared, Command::Down));
    quiet(ws.command(&mut shared, Command::Delete));
    assert!(ws.prompt.is_none());
    assert!(matches!(shared.modal, Some(Modal::ConfirmDelete { .. })));
}

#[test]
fn a_new_workspace_is_selected_once_stored() {
    let mut shared = unlocked();
    let mut ws = WorkspacesState::open(&shared);
    assert!(ws
        .on_stored(&mut shared, &Stored::WorkspaceAdded(id("w2")))
        .is_some());
    assert_eq!(ws.selected, 1);
    assert!(
        ws.on_stored(&mut shared, &Stored::FlowDeleted).is_none(),
        "not its own"
    );
}
