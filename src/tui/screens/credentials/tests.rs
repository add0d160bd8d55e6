//! A component's credentials list, driven without a terminal.

use super::keys::{Command, CREDENTIALS, CREDENTIALS_FILTER};
use super::CredentialsState;
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::shared::{DeleteTarget, Modal};
use crate::tui::app::testing::*;

#[test]
fn the_key_table_is_well_formed() {
    assert_tables_well_formed(&[&CREDENTIALS, &CREDENTIALS_FILTER]);
}

#[test]
fn it_lists_the_component_by_name_and_opens_the_form_details_and_used_by() {
    let mut shared = unlocked();
    let mut list = CredentialsState::open(&mut shared, "postgresql".into(), None);
    let names: Vec<&str> = shared
        .vault
        .as_ref()
        .unwrap()
        .rows()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["legacy", "warehouse"]);
    assert_eq!(
        nav_only(list.command(&mut shared, Command::Add)),
        Some(Nav::Open(Route::Form {
            component: "postgresql".into(),
            editing: None,
            environment: "staging".into(),
            title: "components › postgresql › form".into(),
        }))
    );
    quiet(list.command(&mut shared, Command::Down));
    match nav_only(list.command(&mut shared, Command::Edit)) {
        Some(Nav::Open(Route::Form { editing, .. })) => assert_eq!(editing, Some(id("c1"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        nav_only(list.command(&mut shared, Command::Details)),
        Some(Nav::Open(Route::Detail {
            credential: id("c1")
        }))
    );
    assert_eq!(
        nav_only(list.command(&mut shared, Command::UsedBy)),
        Some(Nav::Open(Route::UsedBy {
            credential: id("c1")
        }))
    );
}

#[test]
fn deleting_a_credential_an_active_flow_uses_explains_the_refusal() {
    let mut shared = unlocked();
    let mut list = CredentialsState::open(&mut shared, "postgresql".into(), None);
    // warehouse, used by "nightly".
    quiet(list.command(&mut shared, Command::Down));
    quiet(list.command(&mut shared, Command::Delete));
    match &shared.modal {
        Some(Modal::ConfirmDelete {
            target: DeleteTarget::Credential { name, .. },
            refusal: Some(why),
        }) => {
            assert_eq!(name, "warehouse");
            assert!(why.contains("'nightly'"), "{why}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn verify_now_checks_the_selected_credential_once_at_a_time() {
    let mut shared = unlocked();
    let mut list = CredentialsState::open(&mut shared, "postgresql".into(), None);
    let update = list.command(&mut shared, Command::Verify);
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::Verify { credential, .. }] if credential.id == id("c2")
    ));
    assert!(list
        .command(&mut shared, Command::Verify)
        .effects
        .is_empty());
}

#[test]
fn a_saved_credential_is_selected() {
    let mut shared = unlocked();
    let mut list = CredentialsState::open(&mut shared, "postgresql".into(), None);
    let _ = list.returned(&mut shared, Some(Returned::CredentialSaved(id("c1"))));
    assert_eq!(list.selected, 1);
    // A deleted one leaves the selection within the list.
    list.selected = 5;
    assert!(list
        .on_stored(&mut shared, &Stored::CredentialDeleted)
        .is_some());
    assert_eq!(list.selected, 1);
}

#[test]
fn y_copies_the_name_and_big_y_offers_the_reason() {
    let mut shared = unlocked();
    let mut list = CredentialsState::open(&mut shared, "postgresql".into(), None);
    // legacy (rejected: "password rejected") is the first row.
    let fx = list.command(&mut shared, Command::Yank).effects;
    assert!(
        matches!(fx.as_slice(), [Effect::Copy { text }] if text == "legacy"),
        "{fx:?}"
    );
    assert!(notice_text(&shared).contains("Copied the name: legacy"));
    quiet(list.command(&mut shared, Command::YankMore));
    match &shared.modal {
        Some(Modal::Yank(choices)) => {
            assert_eq!(choices[0].what, "reason");
            assert_eq!(choices[0].text, "password rejected");
        }
        other => panic!("expected the copy choice, got {other:?}"),
    }
}

fn type_filter(
    list: &mut CredentialsState,
    shared: &mut crate::tui::app::shared::Shared,
    text: &str,
) {
    quiet(list.command(shared, Command::Filter));
    assert!(std::ptr::eq(list.keys(shared), &CREDENTIALS_FILTER));
    for c in text.chars() {
        list.focused_input()
            .expect("the filter has the keyboard")
            .handle(tui_input::InputRequest::InsertChar(c));
        list.edited(shared);
    }
}

fn selected_name(list: &CredentialsState, shared: &crate::tui::app::shared::Shared) -> String {
    let visible = list.visible(shared).unwrap();
    visible.get(list.selected).unwrap().name.clone()
}

#[test]
fn slash_filters_the_list_and_n_and_shift_n_step_through_the_matches_wrapping() {
    let mut shared = unlocked_on({
        let mut s = snapshot();
        for (i, name) in [("c7", "ware-2"), ("c8", "ware-3")] {
            s.credentials.push(credential(
                i,
                "w1",
                "postgresql",
                name,
                crate::core::Environment::Staging,
                None,
            ));
        }
        s
    });
    let mut list = CredentialsState::open(&mut shared, "postgresql".into(), None);
    assert_eq!(list.visible(&shared).unwrap().len(), 4);
    type_filter(&mut list, &mut shared, "WARE");
    // Enter keeps the filter and gives the keyboard back: n/N step, wrapping at both ends.
    quiet(list.command(&mut shared, Command::KeepFilter));
    assert!(!list.filter.typing && std::ptr::eq(list.keys(&shared), &CREDENTIALS));
    assert_eq!(list.visible(&shared).unwrap().len(), 3);
    assert_eq!(selected_name(&list, &shared), "ware-2");
    quiet(list.command(&mut shared, Command::NextMatch));
    assert_eq!(selected_name(&list, &shared), "ware-3");
    quiet(list.command(&mut shared, Command::NextMatch));
    assert_eq!(selected_name(&list, &shared), "warehouse");
    quiet(list.command(&mut shared, Command::NextMatch));
    assert_eq!(
        selected_name(&list, &shared),
        "ware-2",
        "wraps to the first"
    );
    quiet(list.command(&mut shared, Command::PrevMatch));
    assert_eq!(
        selected_name(&list, &shared),
        "warehouse",
        "wraps to the last"
    );
    // The row actions act on the match selected.
    match nav_only(list.command(&mut shared, Command::Edit)) {
        Some(Nav::Open(Route::Form { editing, .. })) => assert_eq!(editing, Some(id("c1"))),
        other => panic!("{other:?}"),
    }
    // Matched on status and reason too; every word must match.
    list.filter.clear();
    type_filter(&mut list, &mut shared, "rejected password");
    assert_eq!(list.visible(&shared).unwrap().len(), 1);
    assert_eq!(selected_name(&list, &shared), "legacy");
    // Esc while typing clears it; Esc with a kept filter clears it, the next Esc goes back.
    quiet(list.command(&mut shared, Command::ClearFilter));
    assert_eq!(list.visible(&shared).unwrap().len(), 4);
    type_filter(&mut list, &mut shared, "ware-3");
    quiet(list.command(&mut shared, Command::KeepFilter));
    assert_eq!(nav_only(list.command(&mut shared, Command::Back)), None);
    assert_eq!(list.filter.text(), "");
    assert_eq!(
        selected_name(&list, &shared),
        "ware-3",
        "the cursor stays on its row"
    );
    assert_eq!(
        nav_only(list.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
}
