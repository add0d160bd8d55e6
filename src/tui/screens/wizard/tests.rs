//! The flow wizard, driven without a terminal.

use tui_input::InputRequest;

use super::keys::{
    Command, WIZARD_CATALOGUE, WIZARD_CHOSEN, WIZARD_COMPONENTS, WIZARD_CREDENTIALS, WIZARD_NAME,
    WIZARD_REVIEW,
};
use super::{WizardState, WizardStep};
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::shared::Modal;
use crate::tui::app::testing::*;

fn typed(w: &mut WizardState, shared: &mut crate::tui::app::shared::Shared, text: &str) {
    for c in text.chars() {
        w.focused_input()
            .expect("a field has the keyboard")
            .handle(InputRequest::InsertChar(c));
        w.edited(shared);
    }
}

#[test]
fn the_key_tables_are_well_formed() {
    assert_tables_well_formed(&[
        &WIZARD_NAME,
        &WIZARD_CATALOGUE,
        &WIZARD_COMPONENTS,
        &WIZARD_CHOSEN,
        &WIZARD_CREDENTIALS,
        &WIZARD_REVIEW,
    ]);
}

#[test]
fn a_new_flow_is_named_composed_bound_and_saved() {
    let mut shared = unlocked();
    let mut w = WizardState::open(&mut shared, None).unwrap();
    typed(&mut w, &mut shared, "nightly");
    quiet(w.command(&mut shared, Command::NextStep));
    assert_eq!(w.step, WizardStep::Name, "the name is taken");
    typed(&mut w, &mut shared, "-2");
    quiet(w.command(&mut shared, Command::NextStep));
    assert_eq!(w.step, WizardStep::Components);
    for component in ["postgres", "stripe"] {
        typed(&mut w, &mut shared, component);
        quiet(w.command(&mut shared, Command::Add));
    }
    quiet(w.command(&mut shared, Command::NextStep));
    assert_eq!(w.step, WizardStep::Credentials);
    // The flow is staging: no staging PostgreSQL credential, so production ones, by name.
    let offered: Vec<&str> = w
        .current_candidates(&shared)
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(offered, ["legacy", "warehouse"]);
    quiet(w.command(&mut shared, Command::Down));
    quiet(w.command(&mut shared, Command::Open));
    assert_eq!(w.step_cursor, 1, "on to the step still unbound");
    quiet(w.command(&mut shared, Command::Open));
    quiet(w.command(&mut shared, Command::NextStep));
    assert_eq!(w.step, WizardStep::Review);
    quiet(w.command(&mut shared, Command::Toggle));
    let update = w.command(&mut shared, Command::Save);
    match update.effects.as_slice() {
        [Effect::AddFlow {
            name,
            steps,
            active,
            ..
        }] => {
            assert_eq!(name, "nightly-2");
            assert_eq!(steps[0].credential, id("c1"));
            assert_eq!(steps[1].credential, id("c3"));
            assert!(!active);
        }
        other => panic!("{other:?}"),
    }
    assert!(w.saving);
    assert!(
        w.command(&mut shared, Command::Back).effects.is_empty(),
        "busy"
    );
    let update = w
        .on_stored(
            &mut shared,
            &Stored::FlowSaved {
                name: "nightly-2".into(),
            },
        )
        .unwrap();
    assert_eq!(
        nav_only(update),
        Some(Nav::Back(Some(Returned::FlowSaved {
            name: "nightly-2".into()
        })))
    );
}

#[test]
fn a_credential_added_inline_binds_the_step_it_was_added_for() {
    let mut shared = unlocked();
    let flow = shared.vault.as_ref().unwrap().snapshot.flows[0].clone();
    let mut w = WizardState::edit_flow(&flow);
    w.picks.push(super::WizardPick {
        component: "stripe".into(),
        credential: None,
    });
    w.step_cursor = 1;
    match nav_only(w.command(&mut shared, Command::Add)) {
        Some(Nav::Open(Route::Form {
            component,
            environment,
            title,
            ..
        })) => {
            assert_eq!(
                (component.as_str(), environment.as_str()),
                ("stripe", "production")
            );
            assert_eq!(title, "flows › wizard › new stripe credential");
        }
        other => panic!("{other:?}"),
    }
    let _ = w.returned(&mut shared, Some(Returned::CredentialSaved(id("c3"))));
    assert_eq!(w.picks[1].credential, Some(id("c3")));
}

#[test]
fn leaving_with_unsaved_work_asks_first() {
    let mut shared = unlocked();
    let mut w = WizardState::open(&mut shared, None).unwrap();
    assert_eq!(
        nav_only(w.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
    typed(&mut w, &mut shared, "half");
    assert_eq!(nav_only(w.command(&mut shared, Command::Back)), None);
    assert!(matches!(shared.modal, Some(Modal::ConfirmDiscard(_))));
    assert_eq!(nav_only(w.discard_confirmed(&mut shared)), Some(Nav::BACK));
    // An edit whose only change is its active toggle counts as changed.
    let flow = shared.vault.as_ref().unwrap().snapshot.flows[0].clone();
    let mut w = WizardState::edit_flow(&flow);
    w.active = !w.active;
    w.step = WizardStep::Name;
    shared.modal = None;
    assert_eq!(nav_only(w.command(&mut shared, Command::Back)), None);
    assert!(shared.modal.is_some());
}

#[test]
fn the_review_warns_of_a_credential_of_another_environment() {
    let shared = unlocked();
    let mut w = WizardState::new_flow();
    w.name = tui_input::Input::new("billing-sync".into());
    // A staging flow (the default) on warehouse, a production credential.
    w.picks.push(super::WizardPick {
        component: "postgresql".into(),
        credential: Some(id("c1")),
    });
    w.step = WizardStep::Review;
    let backend = ratatui::backend::TestBackend::new(100, 20);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|f| Screen::view(&w, &shared, f, f.area()))
        .unwrap();
    let text = terminal.backend().to_string();
    assert!(
        text.contains("⚠ 'warehouse' is a production credential in a staging flow"),
        "{text}"
    );
    // Billing (staging) in a staging flow: no warning.
    w.picks[0] = super::WizardPick {
        component: "stripe".into(),
        credential: Some(id("c3")),
    };
    terminal
        .draw(|f| Screen::view(&w, &shared, f, f.area()))
        .unwrap();
    assert!(!terminal.backend().to_string().contains('⚠'));
}
