//! "Used by", driven without a terminal.

use super::keys::{Command, USED_BY};
use super::UsedByState;
use crate::core::Environment;
use crate::tui::app::action::Effect;
use crate::tui::app::nav::Nav;
use crate::tui::app::screen::Screen;
use crate::tui::app::testing::*;

#[test]
fn the_key_table_is_well_formed() {
    assert_tables_well_formed(&[&USED_BY]);
}

#[test]
fn it_rebinds_every_flow_to_another_credential_of_the_component() {
    let mut shared = unlocked();
    let mut u = UsedByState::open(&mut shared, id("c1"));
    let update = u.command(&mut shared, Command::Confirm);
    match update.effects.as_slice() {
        [Effect::RebindEverywhere { old, new, new_name }] => {
            assert_eq!(
                (old, new, new_name.as_str()),
                (&id("c1"), &id("c2"), "legacy")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_to_rebind_or_nothing_to_rebind_to_is_said() {
    let mut shared = unlocked();
    // legacy: no flow uses it.
    let mut u = UsedByState::open(&mut shared, id("c2"));
    assert!(u.command(&mut shared, Command::Confirm).effects.is_empty());
    assert!(notice_text(&shared).contains("No flow uses"));
    // billing: used, but the only Stripe credential.
    let mut s = snapshot();
    s.flows.push(flow(
        "f2",
        "billing-sync",
        Environment::Staging,
        &[("stripe", "c3")],
    ));
    let mut shared = unlocked_on(s);
    let mut u = UsedByState::open(&mut shared, id("c3"));
    assert!(u.command(&mut shared, Command::Confirm).effects.is_empty());
    assert!(notice_text(&shared).contains("add one first"));
}

#[test]
fn a_credential_deleted_meanwhile_closes_the_screen() {
    let mut shared = unlocked();
    let mut u = UsedByState::open(&mut shared, id("gone"));
    assert_eq!(
        nav_only(u.command(&mut shared, Command::Down)),
        Some(Nav::BACK)
    );
}
