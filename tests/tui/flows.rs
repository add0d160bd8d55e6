//! Flows, the wizard, promotion and used-by (issue 5).

use crossterm::event::KeyCode;
use keyway::core::{Environment, RecordId};
use keyway::tui::app::action::Stored;
use keyway::tui::app::pages::ScreenId as Screen;
use keyway::tui::app::shared::Modal;
use keyway::tui::{Action, Effect};
use ratatui::style::Color;

use super::harness::*;

fn offered_ids(h: &Harness) -> Vec<String> {
    h.wizard()
        .current_candidates(&h.state.shared)
        .iter()
        .map(|c| c.id.0.clone())
        .collect()
}

#[test]
fn wizard_builds_a_flow_with_an_inline_credential() {
    use keyway::tui::screens::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    assert_eq!(h.state.screen(), Screen::Flows);
    h.key(KeyCode::Char('c'));
    assert_eq!(h.state.screen(), Screen::Wizard);
    // Step 1: a taken name is refused; the environment defaults to staging.
    h.typed("billing-sync");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    assert_eq!(h.wizard().step, WizardStep::Name);
    assert!(
        h.screen(100, 24).contains("already"),
        "{}",
        h.screen(100, 24)
    );
    h.key(KeyCode::Tab);
    h.typed("-v2");
    assert_screen!("wizard_step1_name", h.screen(100, 24));
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components);

    // Step 2: fewer than two components cannot proceed.
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components);
    h.typed("stripe");
    h.key(KeyCode::Enter);
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components, "one is not enough");
    assert!(h
        .screen(100, 24)
        .contains("Pick two or more components (1 chosen)"));
    h.typed("git");
    h.key(KeyCode::Enter); // GitHub, to be removed again
    h.typed("postg");
    h.key(KeyCode::Enter);
    // Reorder and remove in the chosen list: GitHub goes.
    h.key(KeyCode::Tab);
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('d'));
    let chosen: Vec<&str> = h
        .wizard()
        .picks
        .iter()
        .map(|p| p.component.as_str())
        .collect();
    assert_eq!(chosen, ["stripe", "postgresql"]);
    h.key(KeyCode::Char('K'));
    h.key(KeyCode::Char('J'));
    h.key(KeyCode::Tab);
    h.typed("sl");
    assert_screen!("wizard_step2_components", h.screen(100, 24));
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Credentials);

    // Step 3: only this workspace's Stripe credentials, the flow's environment (staging) first.
    assert_eq!(h.wizard().step_cursor, 0);
    assert_eq!(offered_ids(&h), ["c7", "c5"]);
    assert_screen!("wizard_step3_credentials", h.screen(100, 24));
    h.key(KeyCode::Enter); // billing-test
    assert_eq!(h.wizard().picks[0].credential, Some(id("c7")));
    assert_eq!(h.wizard().step_cursor, 1, "moves on to the unbound step");
    // All of them production: sorted by name.
    assert_eq!(offered_ids(&h), ["c2", "c3", "c4", "c1"]);
    for c in h.wizard().current_candidates(&h.state.shared) {
        assert_eq!(
            (c.workspace.0.as_str(), c.component.as_str()),
            ("w1", "postgresql")
        );
    }

    // Inline add, cancelled: back in the wizard with nothing lost.
    h.key(KeyCode::Char('a'));
    assert_eq!(h.state.screen(), Screen::Form);
    assert_eq!(h.form().unwrap().fields[1].input.value(), "staging");
    h.typed("half-typed");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('y'));
    assert_eq!(h.state.screen(), Screen::Wizard);
    assert_eq!(h.wizard().step, WizardStep::Credentials);
    assert_eq!(h.wizard().picks[0].credential, Some(id("c7")));
    assert_eq!(h.wizard().picks[1].credential, None);

    // Inline add, verified and saved: back with the new credential picked.
    h.key(KeyCode::Char('a'));
    h.fill_pg("analytics");
    assert_screen!("wizard_inline_form", h.screen(100, 24));
    let saved = h.verify_and_store(flow_snapshot());
    assert_eq!(h.state.screen(), Screen::Wizard);
    assert_eq!(h.wizard().picks[1].credential, Some(saved.id.clone()));
    assert_eq!(saved.environment, Environment::Staging);

    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Review);
    assert_screen!("wizard_step4_review", h.screen(100, 24));
    let fx = h.key(KeyCode::Enter);
    match fx.as_slice() {
        [Effect::AddFlow {
            workspace,
            name,
            environment,
            steps,
            active,
        }] => {
            assert_eq!(workspace, &id("w1"));
            assert_eq!(name, "billing-sync-v2");
            assert_eq!(environment, &Environment::Staging);
            assert!(*active);
            let bound: Vec<(&str, &RecordId)> = steps
                .iter()
                .map(|s| (s.component.as_str(), &s.credential))
                .collect();
            assert_eq!(bound, [("stripe", &id("c7")), ("postgresql", &saved.id)]);
        }
        other => panic!("expected AddFlow, got {other:?}"),
    }
}

#[test]
fn flows_list_marks_a_failing_step_and_refuses_activation() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    // billing-sync (inactive, its PostgreSQL step on the rejected "legacy") is first by name.
    let screen = h.screen(100, 24);
    assert!(screen.contains("✗ postgresql:legacy"), "{screen}");
    assert_screen!("flows_list", screen);
    let colours = fg_of(&h.draw(100, 24), "✗ postgresql:legacy");
    assert_eq!(colours.first(), Some(&Color::Red));
    // Activation is refused with the rule's words; nothing is written.
    assert!(h.key(KeyCode::Char('a')).is_empty());
    let screen = h.screen(100, 24);
    assert!(
        screen.contains("Not activated") && screen.contains("rejected"),
        "{screen}"
    );
    // Deactivating the active one and deleting ask the store.
    h.key(KeyCode::Down); // nightly-etl
    assert!(matches!(
        h.key(KeyCode::Char('x')).as_slice(),
        [Effect::SetFlowActive { active: false, .. }]
    ));
    h.key(KeyCode::Char('d'));
    assert!(h.screen(100, 24).contains("Delete the flow 'nightly-etl'?"));
    assert!(matches!(
        h.key(KeyCode::Char('y')).as_slice(),
        [Effect::DeleteFlow { .. }]
    ));
}

#[test]
fn an_active_flow_cannot_be_saved_on_a_rejected_credential() {
    use keyway::tui::screens::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    // Edit billing-sync: the wizard opens at its credentials, bound as stored.
    h.key(KeyCode::Char('e'));
    assert_eq!(h.wizard().step, WizardStep::Credentials);
    assert_eq!(h.wizard().picks[1].credential, Some(id("c2")));
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Review);
    h.key(KeyCode::Char(' ')); // inactive -> active
    assert!(h.wizard().active);
    assert!(h.key(KeyCode::Enter).is_empty(), "refused before any write");
    let screen = h.screen(100, 24);
    assert!(
        screen.contains("Not saved") && screen.contains("rejected"),
        "{screen}"
    );
    // The store's own refusal (e.g. a race) is shown the same way and keeps the wizard.
    h.key(KeyCode::Char(' ')); // inactive again: allowed
    assert!(matches!(
        h.key(KeyCode::Enter).as_slice(),
        [Effect::UpdateFlow { .. }]
    ));
    h.act(Action::StoreFailed {
        event: Stored::FlowSaved {
            name: "billing-sync".into(),
        },
        message: "flow 'billing-sync' cannot be active: step 2 uses credential 'legacy'".into(),
    });
    assert_eq!(h.state.screen(), Screen::Wizard);
    assert!(h.screen(100, 24).contains("Not saved: flow 'billing-sync'"));
}

#[test]
fn leaving_the_wizard_with_unsaved_work_asks_first() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    // Nothing typed yet: Esc just leaves.
    h.key(KeyCode::Char('c'));
    h.key(KeyCode::Esc);
    assert_eq!(h.state.screen(), Screen::Flows);
    assert!(h.state.shared.modal.is_none());
    // A name typed: Esc asks; n keeps the wizard as it was, y drops it.
    h.key(KeyCode::Char('c'));
    h.typed("nightly-sync");
    h.key(KeyCode::Esc);
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::ConfirmDiscard(_))
    ));
    assert!(h.screen(100, 24).contains("The flow has not been saved."));
    h.key(KeyCode::Char('n'));
    assert!(h.state.shared.modal.is_none());
    assert_eq!(h.state.screen(), Screen::Wizard);
    assert_eq!(h.wizard().name.value(), "nightly-sync");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('y'));
    assert_eq!(h.state.screen(), Screen::Flows);
    assert!(h
        .state
        .page::<keyway::tui::screens::wizard::WizardState>()
        .is_none());
}

#[test]
fn leaving_an_edited_flow_whose_activity_was_toggled_asks_first() {
    use keyway::tui::screens::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('e')); // billing-sync, inactive
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Review);
    h.key(KeyCode::Char(' ')); // inactive -> active: the only change
    assert!(h.wizard().active);
    while h.wizard().step != WizardStep::Name {
        h.key(KeyCode::Esc);
    }
    h.key(KeyCode::Esc);
    assert!(matches!(
        h.state.shared.modal,
        Some(Modal::ConfirmDiscard(_))
    ));
    assert_eq!(h.state.screen(), Screen::Wizard);
}

#[test]
fn promote_asks_where_several_production_credentials_exist() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('p'));
    assert_eq!(h.state.screen(), Screen::Promote);
    let p = h.promote().unwrap();
    // Stripe: exactly one production credential (billing): automatic.
    assert!(p.picks[0].automatic);
    assert_eq!(p.picks[0].chosen, Some(id("c5")));
    // PostgreSQL: four production credentials: asked.
    assert!(!p.picks[1].automatic);
    assert_eq!(p.picks[1].candidates.len(), 4);
    assert_eq!(p.picks[1].chosen, None);
    assert_eq!(p.name.value(), "billing-sync-production");
    assert_eq!(p.cursor, 1, "the cursor starts on the step to answer");
    assert_screen!("promote_ask", h.screen(100, 24));
    // Not before every step has a credential.
    assert!(h.key(KeyCode::Enter).is_empty());
    assert!(h.screen(100, 24).contains("Step 2 (postgresql)"));
    h.key(KeyCode::Right);
    let chosen = h.promote().unwrap().picks[1].chosen.clone();
    assert!(chosen.is_some());
    match h.key(KeyCode::Enter).as_slice() {
        [Effect::PromoteFlow {
            id: flow,
            bindings,
            new_name,
            move_flow,
            ..
        }] => {
            assert_eq!(flow, &id("f2"));
            assert_eq!(bindings, &vec![id("c5"), chosen.unwrap()]);
            assert_eq!(new_name, "billing-sync-production");
            assert!(!move_flow, "the staging flow is kept by default");
        }
        other => panic!("expected PromoteFlow, got {other:?}"),
    }
}

#[test]
fn promote_adds_a_missing_production_credential_inline() {
    let mut snap = flow_snapshot();
    // No production PostgreSQL credential at all.
    snap.credentials
        .retain(|c| !(c.component == "postgresql" && c.id != id("c2")));
    snap.flows.retain(|f| f.id != id("f1"));
    for c in snap.credentials.iter_mut().filter(|c| c.id == id("c2")) {
        c.environment = Environment::Staging;
    }
    let mut h = Harness::with_snapshot(snap.clone());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('p'));
    assert!(h.screen(100, 24).contains("none in production"));
    h.key(KeyCode::Char('a'));
    assert_eq!(h.state.screen(), Screen::Form);
    assert_eq!(h.form().unwrap().fields[1].input.value(), "production");
    h.fill_pg("warehouse-prod");
    let saved = h.verify_and_store(snap);
    assert_eq!(h.state.screen(), Screen::Promote);
    assert_eq!(h.promote().unwrap().picks[1].chosen, Some(saved.id));
}

#[test]
fn used_by_lists_flows_and_rebinds_everywhere() {
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.open_postgres();
    // legacy (first by name) is used by billing-sync.
    h.key(KeyCode::Char('u'));
    assert_eq!(h.state.screen(), Screen::UsedBy);
    let screen = h.screen(90, 24);
    assert!(screen.contains("billing-sync"), "{screen}");
    assert_screen!("used_by", screen);
    h.key(KeyCode::Down); // scratch
    match h.key(KeyCode::Enter).as_slice() {
        [Effect::RebindEverywhere { old, new, new_name }] => {
            assert_eq!(old, &id("c2"));
            assert_eq!(new, &id("c4"));
            assert_eq!(new_name, "scratch");
        }
        other => panic!("expected RebindEverywhere, got {other:?}"),
    }
    let mut snap = flow_snapshot();
    snap.flows[1].steps[1].credential = id("c4");
    h.act(Action::Stored {
        snapshot: snap,
        event: Stored::Rebound {
            flows: vec!["billing-sync".into()],
            to: "scratch".into(),
        },
    });
    let screen = h.screen(90, 24);
    assert!(screen.contains("Rebound 1 flow(s) to 'scratch': billing-sync"));
    assert!(screen.contains("No flow uses this credential"));
}

/// `?` on the wizard's catalogue is help, not a typed character, until the filter has the
/// keyboard (`/` or a typed letter); there `?` is text and F1 is help.
#[test]
fn question_mark_in_the_wizard_opens_help_unless_the_filter_is_focused() {
    use keyway::tui::screens::wizard::WizardStep;
    let mut h = Harness::with_snapshot(flow_snapshot());
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('c'));
    h.typed("nightly");
    h.ctrl('n');
    assert_eq!(h.wizard().step, WizardStep::Components);
    h.key(KeyCode::Char('?'));
    assert!(
        matches!(h.state.shared.modal, Some(Modal::Help { .. })),
        "? opens help on the catalogue"
    );
    assert_eq!(
        h.wizard().filter.value(),
        "",
        "nothing typed into the filter"
    );
    h.key(KeyCode::Esc);
    assert!(h.state.shared.modal.is_none());
    // A letter gives the filter the keyboard: now `?` is typed, F1 is help.
    h.typed("st?");
    assert!(h.state.shared.modal.is_none());
    assert_eq!(h.wizard().filter.value(), "st?");
    h.key(KeyCode::F(1));
    assert!(matches!(h.state.shared.modal, Some(Modal::Help { .. })));
    h.key(KeyCode::Esc);
    // Esc empties the filter and lets go of the keyboard; `?` is help again, `/` focuses.
    h.key(KeyCode::Esc);
    assert_eq!(h.wizard().filter.value(), "");
    assert_eq!(h.wizard().step, WizardStep::Components);
    h.key(KeyCode::Char('?'));
    assert!(matches!(h.state.shared.modal, Some(Modal::Help { .. })));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('/'));
    h.typed("?");
    assert_eq!(h.wizard().filter.value(), "?");
}
