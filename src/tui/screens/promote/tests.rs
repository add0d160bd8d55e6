//! Promotion, driven without a terminal.

use super::keys::{Command, PROMOTE_NAME, PROMOTE_STEPS};
use super::PromoteState;
use crate::core::Environment;
use crate::tui::app::action::Stored;
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::testing::*;

/// The staging flow "sync" (PostgreSQL legacy, Stripe billing), and a staging Stripe key.
fn staged() -> crate::core::Snapshot {
    let mut s = snapshot();
    s.flows.push(flow(
        "f2",
        "sync",
        Environment::Staging,
        &[("postgresql", "c2"), ("stripe", "c3")],
    ));
    s
}

#[test]
fn the_key_tables_are_well_formed() {
    assert_tables_well_formed(&[&PROMOTE_STEPS, &PROMOTE_NAME]);
}

#[test]
fn a_flow_already_in_production_is_not_promoted() {
    let mut shared = unlocked_on(staged());
    assert!(PromoteState::open(&mut shared, &id("f1")).is_none());
    assert!(notice_text(&shared).contains("already in production"));
}

#[test]
fn each_step_needs_a_production_credential_before_it_promotes() {
    let mut shared = unlocked_on(staged());
    let mut p = PromoteState::open(&mut shared, &id("f2")).unwrap();
    // Two production PostgreSQL credentials: asked. No production Stripe one: none.
    assert_eq!(p.picks[0].candidates.len(), 2);
    assert!(p.picks[0].chosen.is_none() && p.picks[1].candidates.is_empty());
    assert!(p.command(&mut shared, Command::Save).effects.is_empty());
    assert_eq!(p.cursor, 0);
    quiet(p.command(&mut shared, Command::Right));
    assert!(p.picks[0].chosen.is_some());
    quiet(p.command(&mut shared, Command::Save));
    assert_eq!(p.cursor, 1, "the step still without one");
    assert!(p
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("press a to add one"));
}

#[test]
fn a_credential_added_inline_serves_its_step_only_if_it_is_production() {
    let mut shared = unlocked_on(staged());
    let mut p = PromoteState::open(&mut shared, &id("f2")).unwrap();
    quiet(p.command(&mut shared, Command::Down));
    match nav_only(p.command(&mut shared, Command::Add)) {
        Some(Nav::Open(Route::Form {
            component,
            environment,
            ..
        })) => assert_eq!(
            (component.as_str(), environment.as_str()),
            ("stripe", "production")
        ),
        other => panic!("{other:?}"),
    }
    // Saved in staging: refused for the step.
    let _ = p.returned(&mut shared, Some(Returned::CredentialSaved(id("c3"))));
    assert!(p.picks[1].chosen.is_none());
    assert!(p.message.as_ref().unwrap().text.contains("not production"));
    // Saved in production: chosen.
    let mut s = staged();
    s.credentials.push(credential(
        "c9",
        "w1",
        "stripe",
        "live",
        Environment::Production,
        None,
    ));
    shared.vault.as_mut().unwrap().replace(s);
    assert!(matches!(
        nav_only(p.command(&mut shared, Command::Add)),
        Some(Nav::Open(Route::Form { .. }))
    ));
    let _ = p.returned(&mut shared, Some(Returned::CredentialSaved(id("c9"))));
    assert_eq!(p.picks[1].chosen, Some(id("c9")));
    // Closing the form without saving binds nothing.
    assert!(matches!(
        nav_only(p.command(&mut shared, Command::Add)),
        Some(Nav::Open(Route::Form { .. }))
    ));
    let _ = p.returned(&mut shared, None);
    assert_eq!(p.picks[1].chosen, Some(id("c9")));
}

#[test]
fn once_promoted_it_closes_on_the_new_flow_and_a_refusal_keeps_it_open() {
    let mut shared = unlocked_on(staged());
    let mut p = PromoteState::open(&mut shared, &id("f2")).unwrap();
    p.saving = true;
    let event = Stored::FlowPromoted {
        name: "sync-production".into(),
    };
    assert!(p.on_store_failed(&mut shared, &event, "name taken"));
    assert!(!p.saving && p.message.as_ref().unwrap().text.contains("name taken"));
    let update = p.on_stored(&mut shared, &event).unwrap();
    assert_eq!(
        nav_only(update),
        Some(Nav::Back(Some(Returned::FlowPromoted {
            name: "sync-production".into()
        })))
    );
}

#[test]
fn the_name_proposed_up_front_is_free() {
    let mut s = staged();
    // Promoted once already: "sync-production" exists, so the next promotion offers -2.
    s.flows.push(flow(
        "f3",
        "sync-production",
        Environment::Production,
        &[("postgresql", "c1")],
    ));
    let mut shared = unlocked_on(s);
    let p = PromoteState::open(&mut shared, &id("f2")).unwrap();
    assert_eq!(p.name.value(), "sync-production-2");
    let mut shared = unlocked_on(staged());
    let p = PromoteState::open(&mut shared, &id("f2")).unwrap();
    assert_eq!(p.name.value(), "sync-production");
}
