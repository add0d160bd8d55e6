//! The flows list, driven without a terminal.

use super::keys::{Command, FLOWS, FLOWS_FILTER};
use super::FlowsState;
use crate::core::Environment;
use crate::tui::app::action::{Effect, Stored};
use crate::tui::app::nav::{Nav, Returned, Route};
use crate::tui::app::screen::Screen;
use crate::tui::app::shared::Modal;
use crate::tui::app::testing::*;

fn with_inactive_flows() -> crate::core::Snapshot {
    let mut s = snapshot();
    let mut on_rejected = flow(
        "f2",
        "legacy-sync",
        Environment::Staging,
        &[("postgresql", "c2")],
    );
    on_rejected.active = false;
    let mut ready = flow("f3", "billing", Environment::Staging, &[("stripe", "c3")]);
    ready.active = false;
    s.flows.extend([on_rejected, ready]);
    s
}

#[test]
fn the_key_table_is_well_formed() {
    assert_tables_well_formed(&[&FLOWS, &FLOWS_FILTER]);
}

#[test]
fn a_flow_on_a_rejected_credential_is_not_activated() {
    let mut shared = unlocked_on(with_inactive_flows());
    let mut flows = FlowsState::open(&mut shared);
    // By name: billing, legacy-sync, nightly.
    quiet(flows.command(&mut shared, Command::Down));
    assert!(flows
        .command(&mut shared, Command::Activate)
        .effects
        .is_empty());
    let notice = shared.notice.as_ref().unwrap();
    assert!(notice.text.starts_with("Not activated") && notice.text.contains("rejected"));
    quiet(flows.command(&mut shared, Command::Up));
    let update = flows.command(&mut shared, Command::Activate);
    assert!(matches!(
        update.effects.as_slice(),
        [Effect::SetFlowActive { active: true, .. }]
    ));
    quiet(flows.command(&mut shared, Command::Down));
    quiet(flows.command(&mut shared, Command::Down));
    assert!(flows
        .command(&mut shared, Command::Activate)
        .effects
        .is_empty());
    assert!(notice_text(&shared).contains("already active"));
}

#[test]
fn it_leads_to_the_wizard_promotion_and_a_guarded_delete() {
    let mut shared = unlocked_on(with_inactive_flows());
    let mut flows = FlowsState::open(&mut shared);
    assert_eq!(
        nav_only(flows.command(&mut shared, Command::Add)),
        Some(Nav::Open(Route::Wizard { editing: None }))
    );
    assert_eq!(
        nav_only(flows.command(&mut shared, Command::Edit)),
        Some(Nav::Open(Route::Wizard {
            editing: Some(id("f3"))
        }))
    );
    assert_eq!(
        nav_only(flows.command(&mut shared, Command::Promote)),
        Some(Nav::Open(Route::Promote { flow: id("f3") }))
    );
    quiet(flows.command(&mut shared, Command::Delete));
    assert!(matches!(shared.modal, Some(Modal::ConfirmDelete { .. })));
}

#[test]
fn a_flow_saved_or_promoted_elsewhere_is_selected_here() {
    let mut shared = unlocked_on(with_inactive_flows());
    let mut flows = FlowsState::open(&mut shared);
    let _ = flows.returned(
        &mut shared,
        Some(Returned::FlowSaved {
            name: "nightly".into(),
        }),
    );
    assert_eq!(flows.selected, 2);
    assert!(flows
        .on_stored(
            &mut shared,
            &Stored::FlowPromoted {
                name: "legacy-sync".into()
            }
        )
        .is_some());
    assert_eq!(flows.selected, 1);
}

#[test]
fn slash_filters_the_flows_and_n_and_shift_n_step_through_the_matches_wrapping() {
    let mut shared = unlocked_on(with_inactive_flows());
    let mut flows = FlowsState::open(&mut shared);
    let selected = |f: &FlowsState, shared: &crate::tui::app::shared::Shared| {
        f.visible(shared)[f.selected].name.clone()
    };
    quiet(flows.command(&mut shared, Command::Filter));
    assert!(std::ptr::eq(flows.keys(&shared), &FLOWS_FILTER));
    // On a step's component: legacy-sync and nightly run on PostgreSQL, billing on Stripe.
    for c in "postgres".chars() {
        flows
            .focused_input()
            .unwrap()
            .handle(tui_input::InputRequest::InsertChar(c));
        flows.edited(&mut shared);
    }
    quiet(flows.command(&mut shared, Command::KeepFilter));
    let names: Vec<&str> = flows
        .visible(&shared)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["legacy-sync", "nightly"]);
    assert_eq!(selected(&flows, &shared), "legacy-sync");
    quiet(flows.command(&mut shared, Command::NextMatch));
    assert_eq!(selected(&flows, &shared), "nightly");
    quiet(flows.command(&mut shared, Command::NextMatch));
    assert_eq!(
        selected(&flows, &shared),
        "legacy-sync",
        "wraps to the first"
    );
    quiet(flows.command(&mut shared, Command::PrevMatch));
    assert_eq!(selected(&flows, &shared), "nightly", "wraps to the last");
    // Acts on the selected match.
    assert_eq!(
        nav_only(flows.command(&mut shared, Command::Promote)),
        Some(Nav::Open(Route::Promote { flow: id("f1") }))
    );
    // Esc clears the kept filter first, on the same flow; then goes back.
    assert_eq!(nav_only(flows.command(&mut shared, Command::Back)), None);
    assert_eq!(flows.visible(&shared).len(), 3);
    assert_eq!(selected(&flows, &shared), "nightly");
    assert_eq!(
        nav_only(flows.command(&mut shared, Command::Back)),
        Some(Nav::BACK)
    );
}
